/**
 * The sources with their unread counts and live state, for the sidebar and
 * the sources screen, and the screen's two quick actions: pause/resume and
 * remove.
 */
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

  /**
   * Pauses or resumes a source. The switch moves at once; the state the
   * engine reports follows with the reload. Throws if the backend refuses,
   * after putting the switch back.
   */
  async setEnabled(id: number, enabled: boolean): Promise<void> {
    const previous = this.list;
    this.list = this.list.map((source) =>
      source.id === id ? { ...source, enabled, state: enabled ? "connecting" : "disabled", retry_at: null } : source,
    );
    try {
      await this.backend.setSourceEnabled(id, enabled);
    } catch (reason) {
      this.list = previous;
      throw BackendError.from(reason);
    }
    await this.load();
  }

  /** Removes a source, and its messages when asked; resolves to how many messages went with it. */
  async remove(id: number, deleteMessages: boolean): Promise<number> {
    let deleted: number;
    try {
      deleted = await this.backend.removeSource(id, deleteMessages);
    } catch (reason) {
      throw BackendError.from(reason);
    }
    this.list = this.list.filter((source) => source.id !== id);
    await this.load();
    return deleted;
  }

  byId(id: number | null): SourceView | undefined {
    return id === null ? undefined : this.list.find((source) => source.id === id);
  }

  dispose(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    // A cleared timer left in place would turn every later refresh away.
    this.refreshTimer = null;
  }
}
