/**
 * The settings screen's "Local publish API" section: turning it on or off,
 * its port, and its token. The token is never read back from the backend:
 * it arrives once, in a `PublishApiChange`, when it is made (the first time
 * the API is turned on, or on regeneration), and is kept here only until
 * the user dismisses it.
 */
import type { PublishApiChange } from "../bindings/PublishApiChange";
import type { PublishApiView } from "../bindings/PublishApiView";
import { BackendError, type Backend } from "../api/backend";
import { parsePort, PUBLISH_PORT_RANGE } from "../lib/publish-api";
import { t } from "./i18n.svelte";

export class PublishApiStore {
  status = $state<"loading" | "ready" | "error">("loading");
  loadError = $state.raw<BackendError | null>(null);
  view = $state.raw<PublishApiView | null>(null);

  /** The port as typed. */
  port = $state("");
  /** What is wrong with the port, from the form's check or the backend's `field: "port"`. */
  portError = $state<string | null>(null);
  /** A refusal that is not about the port. */
  error = $state.raw<BackendError | null>(null);
  busy = $state(false);
  regenerating = $state(false);
  /** A token just made; shown until dismissed, never fetched again. */
  newToken = $state<string | null>(null);

  private readonly backend: Backend;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    this.status = "loading";
    try {
      this.show(await this.backend.getPublishApi());
      this.status = "ready";
    } catch (reason) {
      this.loadError = BackendError.from(reason);
      this.status = "error";
    }
  }

  /**
   * Reads the view again after the source's state changed (it started
   * listening, or its port is taken), keeping a port the user is typing.
   */
  async refresh(): Promise<void> {
    if (this.status !== "ready") return;
    try {
      const view = await this.backend.getPublishApi();
      const typing = this.portChanged;
      this.view = view;
      if (!typing) this.port = String(view.port);
    } catch {
      // The next event or a reload tries again; the shown state stays.
    }
  }

  /** Whether an event about `source` concerns the API's source. */
  concerns(source: number): boolean {
    return this.view !== null && (this.view.source_id === null || this.view.source_id === source);
  }

  private show(view: PublishApiView): void {
    this.view = view;
    this.port = String(view.port);
  }

  /** Whether the typed port differs from the one in use. */
  get portChanged(): boolean {
    return this.view !== null && this.port.trim() !== String(this.view.port);
  }

  clearPortError(): void {
    this.portError = null;
  }

  /** The switch: turns the API on or off with the typed port. */
  setEnabled(enabled: boolean): Promise<boolean> {
    return this.apply(enabled);
  }

  /** The port's Apply button. */
  applyPort(): Promise<boolean> {
    return this.apply(this.view?.enabled ?? false);
  }

  /** Sends the switch and the port; true when the backend took them. */
  private async apply(enabled: boolean): Promise<boolean> {
    if (!this.view || this.busy) return false;
    const port = parsePort(this.port);
    if (port === null) {
      this.portError = t("publishApi.portError", PUBLISH_PORT_RANGE);
      return false;
    }
    const previous = this.view;
    // The switch moves at once and moves back if the backend refuses.
    this.view = { ...previous, enabled };
    this.busy = true;
    this.error = null;
    this.portError = null;
    try {
      this.take(await this.backend.setPublishApi({ enabled, port }));
      return true;
    } catch (reason) {
      this.view = previous;
      const error = BackendError.from(reason);
      if (error.code === "invalid" && error.field === "port") this.portError = error.message || t("error.generic");
      else this.error = error;
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Makes a new token; the old one stops working. Asked for after a confirmation. */
  async regenerate(): Promise<boolean> {
    if (this.regenerating) return false;
    this.regenerating = true;
    this.error = null;
    try {
      this.take(await this.backend.regeneratePublishToken());
      return true;
    } catch (reason) {
      this.error = BackendError.from(reason);
      return false;
    } finally {
      this.regenerating = false;
    }
  }

  private take(change: PublishApiChange): void {
    this.show(change.api);
    if (change.new_token !== null) this.newToken = change.new_token;
  }

  /** "Done": the token is not shown again. */
  dismissToken(): void {
    this.newToken = null;
  }
}
