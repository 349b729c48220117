/**
 * What is quiet now (`QuietView`): do-not-disturb by hand or by quiet
 * hours, muted sources, every source paused, and why desktop notifications
 * may not work at all. The indicator in the sidebar and the sources screen
 * read it; `quiet_changed` events and the passing of a deadline reload it.
 */
import type { PauseInput } from "../bindings/PauseInput";
import type { QuietView } from "../bindings/QuietView";
import { BackendError, type Backend } from "../api/backend";

/** Where the notifier error the user dismissed is remembered, so it is shown once. */
const DISMISSED_KEY = "herald.notifierErrorDismissed";

/** How a source is muted: until a time, or (`until: null`) until unmuted. */
export type Mute = { until: number | null };

function storedDismissal(): string | null {
  try {
    return globalThis.localStorage?.getItem(DISMISSED_KEY) ?? null;
  } catch {
    return null;
  }
}

export class QuietStore {
  view = $state.raw<QuietView | null>(null);
  /** Why the last pause or resume failed. */
  error = $state.raw<BackendError | null>(null);
  busy = $state(false);
  private dismissed = $state<string | null>(storedDismissal());

  /** The notifier error to show, until it is dismissed. */
  notifierNotice = $derived(
    this.view?.notifier_error && this.view.notifier_error !== this.dismissed ? this.view.notifier_error : null,
  );
  /** Paused by hand (not only by quiet hours): the pause a Resume button ends. */
  pausedByHand = $derived(this.view !== null && (this.view.dnd_forever || this.view.dnd_until !== null));

  private readonly backend: Backend;
  private readonly clock: () => number;
  private generation = 0;
  private expiryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(backend: Backend, options: { clock?: () => number } = {}) {
    this.backend = backend;
    this.clock = options.clock ?? (() => Date.now());
  }

  async load(): Promise<void> {
    const generation = ++this.generation;
    try {
      const view = await this.backend.getQuiet();
      if (generation === this.generation) this.show(view);
    } catch {
      // The indicator keeps what it last knew (or stays hidden); a failed refresh is not worth a notice.
    }
  }

  private show(view: QuietView): void {
    this.view = view;
    this.scheduleExpiry(view);
  }

  /**
   * Reloads just after the next deadline passes, so "paused until 14:30"
   * and a muted badge go away on time even if no event says so.
   */
  private scheduleExpiry(view: QuietView): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    const deadlines = [view.dnd_until, ...view.mutes.map(([, until]) => until)].filter((until): until is number => until !== null);
    if (deadlines.length === 0) return;
    // setTimeout's delay is a 32-bit number of ms; a pause weeks away is checked again later.
    const delay = Math.min(Math.max(0, Math.min(...deadlines) - this.clock()) + 1_000, 2_147_000_000);
    this.expiryTimer = setTimeout(() => {
      this.expiryTimer = null;
      void this.load();
    }, delay);
  }

  /**
   * Runs a change and shows the state it answers with. A failure is
   * returned, and kept in `error` for the indicator when `report` is set
   * (the sources screen words a failed mute itself).
   */
  private async change(command: () => Promise<QuietView>, report: boolean): Promise<BackendError | null> {
    this.busy = true;
    if (report) this.error = null;
    ++this.generation;
    try {
      this.show(await command());
      return null;
    } catch (reason) {
      const error = BackendError.from(reason);
      if (report) this.error = error;
      return error;
    } finally {
      this.busy = false;
    }
  }

  /** Pauses notifications; `{kind: "off"}` resumes them. */
  pause(pause: PauseInput): Promise<BackendError | null> {
    return this.change(() => this.backend.pauseNotifications(pause), true);
  }

  resume(): Promise<BackendError | null> {
    return this.pause({ kind: "off" });
  }

  setSourcesPaused(paused: boolean): Promise<BackendError | null> {
    return this.change(() => this.backend.setSourcesPaused(paused), true);
  }

  /** Mutes one source's notifications; `{kind: "off"}` unmutes it. */
  mute(source: number, pause: PauseInput): Promise<BackendError | null> {
    return this.change(() => this.backend.muteSource(source, pause), false);
  }

  muteOf(source: number): Mute | null {
    const entry = this.view?.mutes.find(([id]) => id === source);
    return entry ? { until: entry[1] } : null;
  }

  dismissNotifierError(): void {
    const text = this.view?.notifier_error ?? null;
    this.dismissed = text;
    try {
      if (text !== null) globalThis.localStorage?.setItem(DISMISSED_KEY, text);
    } catch {
      // Without storage the notice stays dismissed for this session only.
    }
  }

  dismissError(): void {
    this.error = null;
  }

  dispose(): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
  }
}
