/**
 * The database's health (`StorageView`): a damaged database that was set
 * aside at start, and received messages that cannot be saved now. The
 * banners above every screen read it; `storage_changed` events reload it.
 */
import type { StorageView } from "../bindings/StorageView";
import type { Backend } from "../api/backend";

/** A damaged database moved aside at start: where it is now, and what SQLite said about it. */
export type SetAside = { to: string; reason: string | null };

export class StorageStore {
  view = $state.raw<StorageView | null>(null);
  /**
   * The set-aside file the user dismissed the banner for. Memory is
   * enough: closing only hides the window, and only the run that set the
   * file aside reports it, so the banner cannot come back after a restart.
   */
  private dismissed = $state<string | null>(null);

  /** The damaged database to tell about, until the banner is dismissed. */
  setAside = $derived.by((): SetAside | null => {
    const to = this.view?.set_aside_to ?? null;
    if (to === null || to === this.dismissed) return null;
    return { to, reason: this.view?.set_aside_reason ?? null };
  });
  /** Why received messages cannot be saved; null while they can. */
  writeTrouble = $derived(this.view?.write_trouble ?? null);

  private readonly backend: Backend;
  private generation = 0;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    // Events can come in bursts (trouble starts, ends, starts again); only
    // the answer to the last request is shown.
    const generation = ++this.generation;
    try {
      const view = await this.backend.getStorage();
      if (generation === this.generation) this.view = view;
    } catch {
      // The banners keep what they last knew; the next `storage_changed` asks again.
    }
  }

  dismissSetAside(): void {
    this.dismissed = this.view?.set_aside_to ?? null;
  }
}
