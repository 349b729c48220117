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
  /** Subscribes to `herald://event`; resolves to the unsubscribe function. */
  onEvent(handler: (event: HeraldEvent) => void): Promise<() => void>;
}

/** A failed command, as `{ code, message }` from Rust's `UiError`. */
export class BackendError extends Error implements UiError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "BackendError";
    this.code = code;
  }

  /**
   * Turns whatever a command rejected with into a `BackendError`. Commands
   * reject with a `UiError`; IPC failures (an unknown command, a dropped
   * window) reject with a bare string or an `Error`, which keep their text
   * under the code `"ipc"`. Nothing is ever shown as raw JSON.
   */
  static from(reason: unknown): BackendError {
    if (reason instanceof BackendError) return reason;
    if (isUiError(reason)) return new BackendError(reason.code, reason.message);
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
