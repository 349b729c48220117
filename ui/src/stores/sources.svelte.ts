/** The sidebar's sources with their unread counts and live state. */
import type { SourceView } from "../bindings/SourceView";
import { BackendError, type Backend } from "../api/backend";

export class SourcesStore {
  list = $state.raw<SourceView[]>([]);
  status = $state<"loading" | "ready" | "error">("loading");
  error = $state.raw<BackendError | null>(null);
  totalUnread = $derived(this.list.reduce((sum, source) => sum + source.unread, 0));

  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;

  private readonly backend: Backend;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    const generation = ++this.generation;
    try {
      const list = await this.backend.listSources();
      if (generation !== this.generation) return;
      this.list = list;
      this.status = "ready";
      this.error = null;
    } catch (reason) {
      if (generation !== this.generation) return;
      this.error = BackendError.from(reason);
      // Keep showing the last good list; only a first failure is an error state.
      if (this.list.length === 0) this.status = "error";
    }
  }

  /** Coalesces a burst of events into one reload. */
  refreshSoon(delayMs = 200): void {
    if (this.refreshTimer !== null) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.load();
    }, delayMs);
  }

  byId(id: number | null): SourceView | undefined {
    return id === null ? undefined : this.list.find((source) => source.id === id);
  }

  dispose(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
  }
}
