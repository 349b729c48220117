import type { UiEvent } from "../bindings/UiEvent";

/**
 * The one event the backend emits, `herald://event`: the Rust enum `UiEvent`
 * in `src-tauri/src/dto.rs`, whose type is generated into `bindings/`.
 * Bursts are coalesced on the Rust side, so one `messages_added` may stand
 * for many rows. `focus_message` asks the window to show one message (its
 * notification was clicked); `quiet_changed` and `rules_changed` say that
 * do-not-disturb state or the routing rules changed, wherever they were
 * changed (this window included); `storage_changed` that saving received
 * messages started or stopped failing.
 */
export const EVENT_NAME = "herald://event";

export type HeraldEvent = UiEvent;

/** Narrows an untyped payload to a `HeraldEvent`, dropping anything else. */
export function parseEvent(payload: unknown): HeraldEvent | null {
  if (typeof payload !== "object" || payload === null) return null;
  const record = payload as Record<string, unknown>;
  switch (record.kind) {
    case "messages_added": {
      const count = typeof record.count === "number" ? record.count : 0;
      const sources = Array.isArray(record.sources)
        ? record.sources.filter((source): source is number => typeof source === "number")
        : [];
      return { kind: "messages_added", count, sources };
    }
    case "source_status":
      return typeof record.source === "number"
        ? { kind: "source_status", source: record.source }
        : null;
    case "counts_changed":
      return { kind: "counts_changed" };
    case "focus_message":
      return typeof record.id === "number" ? { kind: "focus_message", id: record.id } : null;
    case "quiet_changed":
      return { kind: "quiet_changed" };
    case "rules_changed":
      return { kind: "rules_changed" };
    case "storage_changed":
      return { kind: "storage_changed" };
    default:
      return null;
  }
}
