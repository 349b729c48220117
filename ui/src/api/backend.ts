/**
 * What the UI needs from the backend: one method per Tauri command, typed
 * with the bindings generated from `src-tauri/src/dto.rs`. `tauri.ts` is the
 * real implementation and `mock.ts` an in-memory one for tests and for
 * `vite dev` in an ordinary browser.
 */
import type { ListQuery } from "../bindings/ListQuery";
import type { MessageDetail } from "../bindings/MessageDetail";
import type { MessagePage } from "../bindings/MessagePage";
import type { SourceView } from "../bindings/SourceView";
import type { UiError } from "../bindings/UiError";
import type { ExportView } from "../bindings/ExportView";
import type { ImportView } from "../bindings/ImportView";
import type { ProbeView } from "../bindings/ProbeView";
import type { PublishApiChange } from "../bindings/PublishApiChange";
import type { PublishApiInput } from "../bindings/PublishApiInput";
import type { PublishApiView } from "../bindings/PublishApiView";
import type { SettingsView } from "../bindings/SettingsView";
import type { LanguageView } from "../bindings/LanguageView";
import type { SourceInput } from "../bindings/SourceInput";
import type { SourceSettings } from "../bindings/SourceSettings";
import type { DeliveryFailureView } from "../bindings/DeliveryFailureView";
import type { PauseInput } from "../bindings/PauseInput";
import type { PolicyInput } from "../bindings/PolicyInput";
import type { QuietView } from "../bindings/QuietView";
import type { RuleInput } from "../bindings/RuleInput";
import type { RulePreview } from "../bindings/RulePreview";
import type { RuleView } from "../bindings/RuleView";
import type { StorageView } from "../bindings/StorageView";
import type { HeraldEvent } from "./events";

export type { HeraldEvent } from "./events";

export interface Backend {
  /** `list_messages {query}`: newest first; page on with `before`. */
  listMessages(query: ListQuery): Promise<MessagePage>;
  /** `get_message {id}` */
  getMessage(id: number): Promise<MessageDetail>;
  /** `list_sources` */
  listSources(): Promise<SourceView[]>;
  /** `set_read {ids, read}` */
  setRead(ids: number[], read: boolean): Promise<void>;
  /** `mark_all_read {source}`: every source when `source` is null. */
  markAllRead(source: number | null): Promise<void>;
  /** `set_starred {ids, starred}` */
  setStarred(ids: number[], starred: boolean): Promise<void>;
  /** `set_archived {ids, archived}` */
  archive(ids: number[], archived: boolean): Promise<void>;
  /** `snooze {ids, until}`: Unix milliseconds, or null to wake them now. */
  snooze(ids: number[], until: number | null): Promise<void>;
  /** `delete_messages {ids}` */
  deleteMessages(ids: number[]): Promise<void>;
  /** `open_link {url}`: the backend opens http, https and mailto only. */
  openLink(url: string): Promise<void>;
  /** `run_http_action {messageId, index}`: the action's request, without the source's credentials. */
  runHttpAction(messageId: number, index: number): Promise<void>;
  /** `start_demo`: adds the built-in demo feed as a source. */
  startDemo(): Promise<void>;
  /** `get_source {id}`: a stored source for the edit form; secrets withheld. */
  getSource(id: number): Promise<SourceSettings>;
  /**
   * `save_source {source}`: adds (`id` null) or updates a source and
   * (re)connects it; resolves to its id. A bad value rejects with
   * `code: "invalid"` and `field` naming the input.
   */
  saveSource(source: SourceInput): Promise<number>;
  /** `test_source {source}`: connects once with the form's values and listens briefly; stores nothing. */
  testSource(source: SourceInput): Promise<ProbeView>;
  /** `set_source_enabled {id, enabled}` */
  setSourceEnabled(id: number, enabled: boolean): Promise<void>;
  /** `remove_source {id, deleteMessages}`: resolves to how many messages were deleted. */
  removeSource(id: number, deleteMessages: boolean): Promise<number>;
  /** `get_settings` */
  getSettings(): Promise<SettingsView>;
  /** `set_retention {maxAgeDays, maxPerSource}`: null for no limit; prunes at once. */
  setRetention(maxAgeDays: number | null, maxPerSource: number | null): Promise<void>;
  /** `set_autostart {enabled}`: start Herald at login. */
  setAutostart(enabled: boolean): Promise<void>;
  /** `get_language`: the chosen language and what it means now; the tray, notifications and CLI share it. */
  getLanguage(): Promise<LanguageView>;
  /** `set_language {choice}`: `system`, `en` or `zh-CN`; the tray and notifications follow at once. */
  setLanguage(choice: string): Promise<LanguageView>;
  /** `get_publish_api`: the local publish API's settings and state; never its token. */
  getPublishApi(): Promise<PublishApiView>;
  /**
   * `set_publish_api {input}`: turns the local publish API on or off or
   * moves its port. The first time it is turned on a token is made and
   * returned in `new_token` (the only time it is sent); otherwise
   * `new_token` is null. A bad port rejects with `code: "invalid"` and
   * `field: "port"`.
   */
  setPublishApi(input: PublishApiInput): Promise<PublishApiChange>;
  /** `regenerate_publish_token`: replaces the token (the old one stops working) and returns the new one in `new_token`. */
  regeneratePublishToken(): Promise<PublishApiChange>;
  /** `export_messages`: writes every message as JSON Lines into `export_dir`. */
  exportMessages(): Promise<ExportView>;
  /** `import_messages {contents}`: a Herald export's text; duplicates are skipped. */
  importMessages(contents: string): Promise<ImportView>;
  /** `list_rules`: the routing rules in evaluation order. */
  listRules(): Promise<RuleView[]>;
  /**
   * `save_rule {rule}`: adds (`id` null, evaluated last) or updates a rule;
   * resolves to its id. A bad value rejects with `code: "invalid"`, and
   * `field: "name"` when the name is the problem (else null; the message
   * names it, e.g. an invalid regex or webhook URL).
   */
  saveRule(rule: RuleInput): Promise<number>;
  /** `remove_rule {id}` */
  removeRule(id: number): Promise<void>;
  /** `set_rule_enabled {id, enabled}` */
  setRuleEnabled(id: number, enabled: boolean): Promise<void>;
  /** `move_rule {id, position}`: 1-based; 1 is evaluated first. */
  moveRule(id: number, position: number): Promise<void>;
  /**
   * `preview_rules {rule, limit}`: which of the newest `limit` stored
   * messages the draft `rule` matches, or with null all saved rules, and
   * what would happen to each. Stores nothing.
   */
  previewRules(rule: RuleInput | null, limit: number): Promise<RulePreview>;
  /** `list_delivery_failures {limit}`: failed webhooks and commands, newest first. */
  listDeliveryFailures(limit: number): Promise<DeliveryFailureView[]>;
  /** `get_policy`: the notification policy. */
  getPolicy(): Promise<PolicyInput>;
  /** `set_policy {policy}`: resolves to the policy as stored; a bad value rejects with `code: "invalid"`. */
  setPolicy(policy: PolicyInput): Promise<PolicyInput>;
  /** `get_quiet`: do not disturb, quiet hours, muted and paused sources. */
  getQuiet(): Promise<QuietView>;
  /** `pause_notifications {pause}`: do not disturb for a while, until resumed, or (`kind: "off"`) resume. */
  pauseNotifications(pause: PauseInput): Promise<QuietView>;
  /** `mute_source {id, pause}`: no notifications from one source; `kind: "off"` unmutes. */
  muteSource(id: number, pause: PauseInput): Promise<QuietView>;
  /** `set_sources_paused {paused}`: stops (or resumes) receiving from every source. */
  setSourcesPaused(paused: boolean): Promise<QuietView>;
  /**
   * `get_storage`: the database's health. `set_aside_to` is where a damaged
   * database was moved at start (a new, empty one is in use); `write_trouble`
   * says why received messages cannot be saved now, null while they can.
   * `storage_changed` events say when to ask again.
   */
  getStorage(): Promise<StorageView>;
  /** `window_ready`: the first screen is painted; the window shows itself (it starts hidden). */
  windowReady(): Promise<void>;
  /** Subscribes to `herald://event`; resolves to the unsubscribe function. */
  onEvent(handler: (event: HeraldEvent) => void): Promise<() => void>;
}

/** A failed command, as `{ code, message }` from Rust's `UiError`. */
export class BackendError extends Error implements UiError {
  readonly code: string;
  /** For a form: the input the message is about. */
  readonly field: string | null;

  constructor(code: string, message: string, field: string | null = null) {
    super(message);
    this.name = "BackendError";
    this.code = code;
    this.field = field;
  }

  /**
   * Turns whatever a command rejected with into a `BackendError`. Commands
   * reject with a `UiError`; IPC failures (an unknown command, a dropped
   * window) reject with a bare string or an `Error`, which keep their text
   * under the code `"ipc"`. Nothing is ever shown as raw JSON.
   */
  static from(reason: unknown): BackendError {
    if (reason instanceof BackendError) return reason;
    if (isUiError(reason)) return new BackendError(reason.code, reason.message, reason.field ?? null);
    if (typeof reason === "string") return new BackendError("ipc", reason);
    if (reason instanceof Error) return new BackendError("ipc", reason.message);
    return new BackendError("unknown", "");
  }
}

function isUiError(value: unknown): value is UiError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>).code === "string" &&
    typeof (value as Record<string, unknown>).message === "string"
  );
}
