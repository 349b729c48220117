/**
 * The settings screen's backend half: retention, start at login, export and
 * import, and the language (shared with the tray, notifications and the
 * command line, so kept by the backend; `i18n` follows it). The theme is
 * the browser-side `ThemeStore`'s, kept in localStorage, since Rust never
 * needs it.
 */
import type { ExportView } from "../bindings/ExportView";
import type { ImportView } from "../bindings/ImportView";
import type { SettingsView } from "../bindings/SettingsView";
import { i18n, type LanguageChoice } from "./i18n.svelte";
import { BackendError, type Backend } from "../api/backend";
import { parseLimit } from "../lib/form";

type Task<T> = { busy: boolean; result: T | null; error: BackendError | null };

function idle<T>(): Task<T> {
  return { busy: false, result: null, error: null };
}

export class SettingsStore {
  view = $state.raw<SettingsView | null>(null);
  status = $state<"loading" | "ready" | "error">("loading");
  loadError = $state.raw<BackendError | null>(null);

  /** The retention inputs as typed: whole days and a count, empty for no limit. */
  maxAge = $state("");
  maxPerSource = $state("");
  retentionInvalid = $state.raw<{ maxAge: boolean; maxPerSource: boolean }>({ maxAge: false, maxPerSource: false });
  retention = $state.raw<Task<true>>(idle());
  autostart = $state.raw<Task<true>>(idle());
  language = $state.raw<Task<true>>(idle());
  exported = $state.raw<Task<ExportView>>(idle());
  imported = $state.raw<Task<ImportView>>(idle());

  private readonly backend: Backend;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    this.status = "loading";
    try {
      const view = await this.backend.getSettings();
      this.view = view;
      this.maxAge = view.max_age_days === null ? "" : String(view.max_age_days);
      this.maxPerSource = view.max_per_source === null ? "" : String(view.max_per_source);
      this.status = "ready";
    } catch (reason) {
      this.loadError = BackendError.from(reason);
      this.status = "error";
    }
  }

  /** Whether the inputs differ from what is saved. */
  get retentionChanged(): boolean {
    if (!this.view) return false;
    return (
      parseLimit(this.maxAge) !== this.view.max_age_days || parseLimit(this.maxPerSource) !== this.view.max_per_source
    );
  }

  /** Saves (and at once applies) the retention limits; true when they were saved. */
  async applyRetention(): Promise<boolean> {
    const maxAge = parseLimit(this.maxAge);
    const maxPerSource = parseLimit(this.maxPerSource);
    this.retentionInvalid = { maxAge: maxAge === undefined, maxPerSource: maxPerSource === undefined };
    if (maxAge === undefined || maxPerSource === undefined || !this.view) return false;
    this.retention = { busy: true, result: null, error: null };
    try {
      await this.backend.setRetention(maxAge, maxPerSource);
      this.view = { ...this.view, max_age_days: maxAge, max_per_source: maxPerSource };
      this.retention = { busy: false, result: true, error: null };
      return true;
    } catch (reason) {
      this.retention = { busy: false, result: null, error: BackendError.from(reason) };
      return false;
    }
  }

  /** The switch moves at once and moves back if the backend refuses. */
  async setAutostart(enabled: boolean): Promise<void> {
    if (!this.view) return;
    const previous = this.view;
    this.view = { ...previous, autostart: enabled };
    this.autostart = { busy: true, result: null, error: null };
    try {
      await this.backend.setAutostart(enabled);
      this.autostart = { busy: false, result: true, error: null };
    } catch (reason) {
      this.view = { ...this.view, autostart: previous.autostart };
      this.autostart = { busy: false, result: null, error: BackendError.from(reason) };
    }
  }

  /** Switches the whole app (window, tray, notifications, CLI) to `choice`; the window follows once the backend has it. */
  async setLanguage(choice: LanguageChoice): Promise<void> {
    this.language = { busy: true, result: null, error: null };
    try {
      i18n.apply(await this.backend.setLanguage(choice));
      this.language = { busy: false, result: true, error: null };
    } catch (reason) {
      this.language = { busy: false, result: null, error: BackendError.from(reason) };
    }
  }

  async exportAll(): Promise<void> {
    this.exported = { busy: true, result: null, error: null };
    try {
      this.exported = { busy: false, result: await this.backend.exportMessages(), error: null };
    } catch (reason) {
      this.exported = { busy: false, result: null, error: BackendError.from(reason) };
    }
  }

  /** Imports an export's text; true when anything changed (so lists should reload). */
  async importText(contents: string): Promise<boolean> {
    this.imported = { busy: true, result: null, error: null };
    try {
      const result = await this.backend.importMessages(contents);
      this.imported = { busy: false, result, error: null };
      return result.imported > 0 || result.sources_created.length > 0;
    } catch (reason) {
      this.imported = { busy: false, result: null, error: BackendError.from(reason) };
      // A bad line stops an import part way; what came before it is kept.
      return true;
    }
  }

  /** A file that could not be read at all never reaches the backend. */
  importFailed(error: BackendError): void {
    this.imported = { busy: false, result: null, error };
  }
}
