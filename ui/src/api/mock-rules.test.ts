import { describe, expect, it } from "vitest";
import type { RuleInput } from "../bindings/RuleInput";
import { DEFAULT_POLICY, emptyMatch, newRuleInput } from "../lib/routing-rules";
import { MockBackend } from "./mock";
import { rejection } from "./testing";
import { nextMidnight } from "./mock-rules";

const NOW = Date.UTC(2026, 10, 28, 12, 0);
const HOUR = 3_600_000;

function mock(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  let now = NOW;
  const backend = new MockBackend({ count: 300, now: () => now, ...options });
  return { backend, advance: (ms: number) => (now += ms) };
}

function rule(changes: Partial<RuleInput> = {}, match: Partial<RuleInput["match"]> = {}): RuleInput {
  return {
    ...newRuleInput(),
    name: "Disk alerts",
    actions: [{ action: "notify", urgency: "critical", sound: null }],
    ...changes,
    match: { ...emptyMatch(), ...match },
  };
}

const names = async (backend: MockBackend) => (await backend.listRules()).map((candidate) => candidate.name);

describe("MockBackend rules", () => {
  it("starts with the demo's rules in order, and with none on a first run", async () => {
    expect(await names(mock().backend)).toEqual(["Risk alerts to on-call", "Quiet passing builds", "冷库夜间告警", "Drop backup chatter"]);
    expect(await mock({ sources: false, count: 0 }).backend.listRules()).toEqual([]);
    expect(await mock({ rules: false }).backend.listRules()).toEqual([]);
  });

  it("adds a rule last and updates it in place, trimming what was typed", async () => {
    const { backend } = mock();
    const events: string[] = [];
    await backend.onEvent((event) => events.push(event.kind));
    const id = await backend.saveRule(rule({ name: "  Disk alerts " }, { topics: [" disk ", ""] }));
    const listed = await backend.listRules();
    expect(listed.at(-1)).toMatchObject({ id, name: "Disk alerts", match: { topics: ["disk"] } });
    expect(events).toContain("rules_changed");

    await backend.saveRule(rule({ id, name: "Disk warnings", stop: true }));
    expect((await backend.listRules()).at(-1)).toMatchObject({ id, name: "Disk warnings", stop: true });
    expect(await backend.listRules()).toHaveLength(listed.length);
  });

  it("refuses what Rust refuses, with `field` only for the name", async () => {
    const { backend } = mock();
    const cases: [RuleInput, string | null, RegExp][] = [
      [rule({ name: " " }), "name", /name must not be empty/],
      [rule({ actions: [] }), null, /at least one action/],
      [rule({}, { title: { kind: "regex", value: "disk (full" } }), null, /invalid regular expression "disk \(full"/],
      [rule({}, { min_priority: 5, max_priority: 2 }), null, /priority range 5–2 is empty/],
      [rule({ actions: [{ action: "webhook", url: "hooks.example.com", headers: [], timeout_secs: 10 }] }), null, /webhook url "hooks.example.com" is not valid/],
      [rule({ actions: [{ action: "webhook", url: "ftp://x.example/h", headers: [], timeout_secs: 10 }] }), null, /must be an http or https address/],
      [rule({ actions: [{ action: "command", program: "", args: [], timeout_secs: 10 }] }), null, /needs a program/],
      [rule({ actions: [{ action: "command", program: "/bin/true", args: [], timeout_secs: 0 }] }), null, /between 1 and 600 seconds/],
    ];
    for (const [input, field, message] of cases) {
      const error = await rejection(backend.saveRule(input));
      expect(error.code, JSON.stringify(input)).toBe("invalid");
      expect(error.field, JSON.stringify(input)).toBe(field);
      expect(error.message, JSON.stringify(input)).toMatch(message);
    }
    expect(await backend.listRules()).toHaveLength(4);
    expect((await rejection(backend.saveRule(rule({ id: 99 })))).code).toBe("not_found");
  });

  it("enables, moves (1-based) and removes rules", async () => {
    const { backend } = mock();
    await backend.setRuleEnabled(4, true);
    expect((await backend.listRules()).find((candidate) => candidate.id === 4)?.enabled).toBe(true);
    await backend.moveRule(4, 1);
    expect((await backend.listRules()).map((candidate) => candidate.id)).toEqual([4, 1, 2, 3]);
    await backend.moveRule(4, 3);
    expect((await backend.listRules()).map((candidate) => candidate.id)).toEqual([1, 2, 4, 3]);
    await backend.moveRule(1, 99);
    expect((await backend.listRules()).map((candidate) => candidate.id), "past the end is last").toEqual([2, 4, 3, 1]);
    await backend.removeRule(4);
    expect((await backend.listRules()).map((candidate) => candidate.id)).toEqual([2, 3, 1]);
    expect((await rejection(backend.removeRule(4))).code).toBe("not_found");
    expect((await rejection(backend.moveRule(2, 0))).code).toBe("invalid");
  });

  it("previews a draft against the newest messages, as if it were on", async () => {
    const { backend } = mock({ rules: false });
    const preview = await backend.previewRules(
      rule({ enabled: false, actions: [{ action: "drop" }] }, { sources: [4], title: { kind: "contains", value: "FAILED" } }),
      100,
    );
    const newest = backend.messages.slice(-100);
    const expected = newest.filter((message) => message.sourceId === 4 && message.title.includes("failed"));
    expect(preview.scanned).toBe(100);
    expect(preview.matched.map((row) => row.message.id)).toEqual(expected.map((message) => message.id).reverse());
    expect(preview.matched.every((row) => row.dropped && !row.notify && row.rules[0] === "Disk alerts")).toBe(true);
    expect(backend.previews.at(-1)?.limit).toBe(100);
    // No rule is stored by a preview, and a nameless draft can still be tried.
    expect(await backend.listRules()).toEqual([]);
    expect((await backend.previewRules(rule({ name: "" }), 10)).scanned).toBe(10);
    expect((await rejection(backend.previewRules(rule({}, { body: { kind: "regex", value: "(" } }), 10))).code).toBe("invalid");
  });

  it("previews every saved rule with null, naming the ones that matched", async () => {
    const { backend } = mock();
    const preview = await backend.previewRules(null, 500);
    const builds = preview.matched.filter((row) => row.rules.includes("Quiet passing builds"));
    expect(builds.length).toBeGreaterThan(0);
    expect(builds.every((row) => row.message.title.includes("passed") && !row.notify && !row.dropped)).toBe(true);
    // The disabled rule matches nothing.
    expect(preview.matched.some((row) => row.rules.includes("Drop backup chatter"))).toBe(false);
  });

  it("applies the rules to messages it receives, counting dropped ones per source", async () => {
    const { backend } = mock({ rules: false });
    await backend.saveRule(rule({ name: "Drop CI", actions: [{ action: "drop" }] }, { sources: [4] }));
    await backend.saveRule(rule({ name: "Star orders", actions: [{ action: "star" }, { action: "add_tag", tag: "vip" }] }, { sources: [1] }));
    expect(backend.receive(3, 4)).toEqual([]);
    expect((await backend.listSources()).find((source) => source.id === 4)?.messages_dropped).toBe(3);
    const [order] = backend.receive(1, 1);
    expect(order).toMatchObject({ starred: true });
    expect(order?.tags).toContain("vip");
  });

  it("lists delivery failures newest first", async () => {
    const { backend } = mock();
    const [failure] = await backend.listDeliveryFailures(20);
    expect(failure).toMatchObject({ rule_name: "Risk alerts to on-call", kind: "webhook", attempts: 3 });
    expect(backend.messages.find((message) => message.id === failure?.message_id)?.sourceId).toBe(3);
    expect(await mock({ rules: false }).backend.listDeliveryFailures(20)).toEqual([]);
  });
});

describe("MockBackend policy and quiet", () => {
  it("keeps the policy and refuses a bad one", async () => {
    const { backend } = mock();
    expect(await backend.getPolicy()).toEqual(DEFAULT_POLICY);
    const policy = { ...DEFAULT_POLICY, min_priority: 3, quiet_hours: [{ start_minute: 1320, end_minute: 420, weekdays: 127 }] };
    expect(await backend.setPolicy(policy)).toEqual(policy);
    expect(await backend.getPolicy()).toEqual(policy);
    const error = await rejection(backend.setPolicy({ ...policy, coalesce_count: 2, coalesce_seconds: 0 }));
    expect([error.code, error.message]).toEqual(["invalid", "the coalescing window must be between 1 and 3600 seconds"]);
    expect(await backend.getPolicy()).toEqual(policy);
  });

  it("keeps one minimum per source, by source id, as Rust's map does", async () => {
    const { backend } = mock();
    const saved = await backend.setPolicy({ ...DEFAULT_POLICY, source_min_priority: [[4, 2], [1, 3], [4, 5]] });
    expect(saved.source_min_priority).toEqual([[1, 3], [4, 5]]);
    expect((await backend.getPolicy()).source_min_priority).toEqual([[1, 3], [4, 5]]);
    const error = await rejection(backend.setPolicy({ ...DEFAULT_POLICY, source_min_priority: [[1, 0]] }));
    expect(error.message, "a per-source minimum is checked like the global one").toBe("a minimum priority must be between 1 and 5");
  });

  it("pauses for a while, until tomorrow, until resumed, and resumes", async () => {
    const { backend, advance } = mock();
    const events: string[] = [];
    await backend.onEvent((event) => events.push(event.kind));
    expect(await backend.getQuiet()).toMatchObject({ dnd_active: false, dnd_until: null, dnd_forever: false, mutes: [] });

    expect(await backend.pauseNotifications({ kind: "for", minutes: 60 })).toMatchObject({ dnd_active: true, dnd_until: NOW + HOUR });
    expect(events).toContain("quiet_changed");
    advance(HOUR);
    expect((await backend.getQuiet()).dnd_active, "the pause ends on its own").toBe(false);

    expect((await backend.pauseNotifications({ kind: "until_tomorrow" })).dnd_until).toBe(nextMidnight(NOW + HOUR));
    expect(await backend.pauseNotifications({ kind: "forever" })).toMatchObject({ dnd_active: true, dnd_until: null, dnd_forever: true });
    expect(await backend.pauseNotifications({ kind: "off" })).toMatchObject({ dnd_active: false, dnd_forever: false });
  });

  it("reports quiet hours that are on now", async () => {
    const { backend } = mock();
    // 00:00–00:00 every day is on whatever the test machine's time zone.
    await backend.setPolicy({ ...DEFAULT_POLICY, quiet_hours: [{ start_minute: 0, end_minute: 1440, weekdays: 127 }] });
    expect(await backend.getQuiet()).toMatchObject({ dnd_active: true, quiet_hours_now: true, dnd_until: null, dnd_forever: false });
  });

  it("mutes and unmutes a source, and pauses every source", async () => {
    const { backend } = mock();
    expect((await backend.muteSource(4, { kind: "for", minutes: 30 })).mutes).toEqual([[4, NOW + 30 * 60_000]]);
    expect((await backend.muteSource(1, { kind: "forever" })).mutes).toEqual([
      [4, NOW + 30 * 60_000],
      [1, null],
    ]);
    expect((await backend.muteSource(4, { kind: "off" })).mutes).toEqual([[1, null]]);
    expect((await rejection(backend.muteSource(99, { kind: "forever" }))).code).toBe("not_found");

    expect((await backend.setSourcesPaused(true)).sources_paused).toBe(true);
    expect(backend.receive(5)).toEqual([]);
    expect((await backend.setSourcesPaused(false)).sources_paused).toBe(false);
    expect(backend.receive(1)).toHaveLength(1);
  });

  it("holds messages back during do-not-disturb unless they reach the bypass priority", async () => {
    const { backend } = mock({ rules: false });
    await backend.pauseNotifications({ kind: "forever" });
    const received = backend.receive(20);
    const held = received.filter((message) => message.priority < 5).length;
    expect((await backend.getQuiet()).held).toBe(held);
    expect((await backend.pauseNotifications({ kind: "off" })).held).toBe(0);
  });

  it("reports why desktop notifications cannot be shown", async () => {
    const { backend } = mock({ notifierError: "no notification daemon on the session bus" });
    expect((await backend.getQuiet()).notifier_error).toBe("no notification daemon on the session bus");
  });
});
