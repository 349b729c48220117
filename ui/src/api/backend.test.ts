import { describe, expect, it, vi } from "vitest";
import { BackendError } from "./backend";
import { parseEvent } from "./events";

const invoke = vi.fn();
const listen = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
vi.mock("@tauri-apps/api/event", () => ({ listen: (...args: unknown[]) => listen(...args) }));

describe("BackendError.from", () => {
  it("keeps a UiError's code and message", () => {
    const error = BackendError.from({ code: "not_found", message: "message 7 does not exist" });
    expect(error).toBeInstanceOf(BackendError);
    expect([error.code, error.message]).toEqual(["not_found", "message 7 does not exist"]);
  });

  it("turns IPC strings and errors into readable messages, never JSON", () => {
    expect(BackendError.from("command list_messages not found").message).toBe("command list_messages not found");
    expect(BackendError.from(new Error("window closed")).code).toBe("ipc");
    expect(BackendError.from({ weird: true }).message).toBe("");
  });
});

describe("tauriBackend", () => {
  it("calls each command by its Rust name with camelCase arguments", async () => {
    invoke.mockResolvedValue(undefined);
    const { tauriBackend } = await import("./tauri");
    const backend = tauriBackend();
    const query = { view: "inbox", source: null, min_priority: null, tag: null, search: null, before: 42, limit: 100 } as const;
    await backend.listMessages(query);
    await backend.getMessage(7);
    await backend.listSources();
    await backend.setRead([1, 2], true);
    await backend.markAllRead(null);
    await backend.setStarred([3], false);
    await backend.archive([4], true);
    await backend.snooze([5], 1_700_000_000_000);
    await backend.deleteMessages([6]);
    await backend.openLink("https://example.com");
    await backend.runHttpAction(8, 1);
    await backend.startDemo();
    expect(invoke.mock.calls).toEqual([
      ["list_messages", { query }],
      ["get_message", { id: 7 }],
      ["list_sources", undefined],
      ["set_read", { ids: [1, 2], read: true }],
      ["mark_all_read", { source: null }],
      ["set_starred", { ids: [3], starred: false }],
      ["set_archived", { ids: [4], archived: true }],
      ["snooze", { ids: [5], until: 1_700_000_000_000 }],
      ["delete_messages", { ids: [6] }],
      ["open_link", { url: "https://example.com" }],
      ["run_http_action", { messageId: 8, index: 1 }],
      ["start_demo", undefined],
    ]);
  });

  it("calls the routing, policy, quiet and storage commands by their Rust names", async () => {
    invoke.mockClear();
    invoke.mockResolvedValue(undefined);
    const { tauriBackend } = await import("./tauri");
    const backend = tauriBackend();
    const rule = {
      id: null,
      name: "Disk alerts",
      enabled: true,
      stop: false,
      match: { sources: [], topics: [], min_priority: null, max_priority: null, tags_any: [], tags_all: [], title: null, body: null, time: null },
      actions: [{ action: "drop" as const }],
    };
    const policy = { min_priority: 2, source_min_priority: [], quiet_hours: [], bypass_priority: null, coalesce_count: 0, coalesce_seconds: 10, summarize_catch_up: false };
    await backend.listRules();
    await backend.saveRule(rule);
    await backend.removeRule(3);
    await backend.setRuleEnabled(3, false);
    await backend.moveRule(3, 1);
    await backend.previewRules(rule, 500);
    await backend.previewRules(null, 200);
    await backend.listDeliveryFailures(20);
    await backend.getPolicy();
    await backend.setPolicy(policy);
    await backend.getQuiet();
    await backend.pauseNotifications({ kind: "for", minutes: 60 });
    await backend.muteSource(4, { kind: "until_tomorrow" });
    await backend.setSourcesPaused(true);
    await backend.getStorage();
    expect(invoke.mock.calls).toEqual([
      ["list_rules", undefined],
      ["save_rule", { rule }],
      ["remove_rule", { id: 3 }],
      ["set_rule_enabled", { id: 3, enabled: false }],
      ["move_rule", { id: 3, position: 1 }],
      ["preview_rules", { rule, limit: 500 }],
      ["preview_rules", { rule: null, limit: 200 }],
      ["list_delivery_failures", { limit: 20 }],
      ["get_policy", undefined],
      ["set_policy", { policy }],
      ["get_quiet", undefined],
      ["pause_notifications", { pause: { kind: "for", minutes: 60 } }],
      ["mute_source", { id: 4, pause: { kind: "until_tomorrow" } }],
      ["set_sources_paused", { paused: true }],
      ["get_storage", undefined],
    ]);
  });

  it("calls the local publish API's commands by their Rust names", async () => {
    invoke.mockClear();
    invoke.mockResolvedValue(undefined);
    const { tauriBackend } = await import("./tauri");
    const backend = tauriBackend();
    await backend.getPublishApi();
    await backend.setPublishApi({ enabled: true, port: 8765 });
    await backend.regeneratePublishToken();
    expect(invoke.mock.calls).toEqual([
      ["get_publish_api", undefined],
      ["set_publish_api", { input: { enabled: true, port: 8765 } }],
      ["regenerate_publish_token", undefined],
    ]);
  });

  it("rejects with a BackendError carrying the UiError", async () => {
    invoke.mockRejectedValueOnce({ code: "store", message: "database is locked" });
    const { tauriBackend } = await import("./tauri");
    await expect(tauriBackend().listSources()).rejects.toMatchObject({ name: "BackendError", code: "store", message: "database is locked" });
  });

  it("subscribes to herald://event and passes on only well-formed events", async () => {
    const unlisten = vi.fn();
    let deliver: (event: { payload: unknown }) => void = () => {};
    listen.mockImplementation(async (_name: string, handler: typeof deliver) => {
      deliver = handler;
      return unlisten;
    });
    const { tauriBackend } = await import("./tauri");
    const seen: unknown[] = [];
    const stop = await tauriBackend().onEvent((event) => seen.push(event));
    expect(listen.mock.calls[0]?.[0]).toBe("herald://event");
    deliver({ payload: { kind: "messages_added", count: 3, sources: [1, 2] } });
    deliver({ payload: { kind: "mystery" } });
    deliver({ payload: { kind: "counts_changed" } });
    expect(seen).toEqual([{ kind: "messages_added", count: 3, sources: [1, 2] }, { kind: "counts_changed" }]);
    stop();
    expect(unlisten).toHaveBeenCalled();
  });
});

describe("parseEvent", () => {
  it("accepts every kind and drops malformed ones", () => {
    expect(parseEvent({ kind: "source_status", source: 4 })).toEqual({ kind: "source_status", source: 4 });
    expect(parseEvent({ kind: "source_status" })).toBeNull();
    expect(parseEvent({ kind: "focus_message", id: 42 })).toEqual({ kind: "focus_message", id: 42 });
    expect(parseEvent({ kind: "focus_message", id: "42" })).toBeNull();
    expect(parseEvent({ kind: "quiet_changed" })).toEqual({ kind: "quiet_changed" });
    expect(parseEvent({ kind: "rules_changed", extra: 1 })).toEqual({ kind: "rules_changed" });
    expect(parseEvent({ kind: "storage_changed" })).toEqual({ kind: "storage_changed" });
    expect(parseEvent(null)).toBeNull();
    expect(parseEvent("counts_changed")).toBeNull();
  });
});
