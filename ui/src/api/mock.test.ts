import { describe, expect, it } from "vitest";
import type { ListQuery } from "../bindings/ListQuery";
import { segments } from "../lib/highlight";
import { DAMAGED_DATABASE_REASON, DISK_FULL_TROUBLE, excerpt, MockBackend, mockOptionsFromUrl } from "./mock";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

const query = (changes: Partial<ListQuery> = {}): ListQuery => ({
  view: "all",
  source: null,
  min_priority: null,
  tag: null,
  search: null,
  before: null,
  limit: 50,
  ...changes,
});

describe("MockBackend", () => {
  it("pages newest first with `before`, without gaps or repeats", async () => {
    const mock = new MockBackend({ count: 180, now: () => NOW });
    const seen: number[] = [];
    let before: number | null = null;
    for (;;) {
      const page = await mock.listMessages(query({ before }));
      seen.push(...page.rows.map((row) => row.id));
      if (!page.has_more) break;
      before = page.rows[page.rows.length - 1]!.id;
    }
    expect(seen).toEqual(Array.from({ length: 180 }, (_, index) => 180 - index));
  });

  it("generates the same inbox for the same seed", async () => {
    const first = await new MockBackend({ count: 50, now: () => NOW }).listMessages(query());
    const second = await new MockBackend({ count: 50, now: () => NOW }).listMessages(query());
    expect(first).toEqual(second);
  });

  it("filters by view and source", async () => {
    const mock = new MockBackend({ count: 400, now: () => NOW });
    const unread = await mock.listMessages(query({ view: "unread", limit: 500 }));
    expect(unread.rows.every((row) => !row.read && !row.archived)).toBe(true);
    const archived = await mock.listMessages(query({ view: "archived", limit: 500 }));
    expect(archived.rows.length).toBeGreaterThan(0);
    expect(archived.rows.every((row) => row.archived)).toBe(true);
    const ci = await mock.listMessages(query({ source: 4, limit: 500 }));
    expect(ci.rows.every((row) => row.source_id === 4 && row.source_name === "CI")).toBe(true);
  });

  it("searches by substring and marks matches as character ranges", async () => {
    const mock = new MockBackend({ count: 400, now: () => NOW });
    const page = await mock.listMessages(query({ search: "库存", limit: 500 }));
    expect(page.rows.length).toBeGreaterThan(0);
    for (const row of page.rows) {
      const marked = [row.title_match, row.body_match]
        .flatMap((highlighted) => (highlighted ? segments(highlighted) : []))
        .filter((segment) => segment.mark)
        .map((segment) => segment.text);
      expect(marked.length).toBeGreaterThan(0);
      expect(new Set(marked)).toEqual(new Set(["库存"]));
    }
  });

  it("keeps excerpt ranges on the match after an ellipsis and astral characters", () => {
    const text = "🚨".repeat(30) + " 库存不足";
    const snippet = excerpt(text, [[31, 33]], 5, 20);
    expect(segments(snippet).filter((segment) => segment.mark).map((segment) => segment.text)).toEqual(["库存"]);
  });

  it("updates flags, emits events and counts unread per source", async () => {
    const mock = new MockBackend({ count: 100, now: () => NOW });
    const events: string[] = [];
    await mock.onEvent((event) => events.push(event.kind));
    const before = (await mock.listSources()).reduce((sum, source) => sum + source.unread, 0);
    const { rows } = await mock.listMessages(query({ view: "unread", limit: 3 }));
    await mock.setRead(rows.map((row) => row.id), true);
    const after = (await mock.listSources()).reduce((sum, source) => sum + source.unread, 0);
    expect(after).toBe(before - rows.length);
    expect(events).toContain("counts_changed");
  });

  it("starts with no sources on a first run and adds them with the demo", async () => {
    const mock = new MockBackend({ sources: false, now: () => NOW });
    expect(await mock.listSources()).toEqual([]);
    await mock.startDemo();
    expect((await mock.listSources()).length).toBeGreaterThan(0);
    expect((await mock.listMessages(query())).rows.length).toBeGreaterThan(0);
  });

  it("fails the commands it is told to, as a BackendError", async () => {
    const mock = new MockBackend({ count: 10, failing: ["list_messages"] });
    await expect(mock.listMessages(query())).rejects.toMatchObject({ code: "mock_failure" });
  });
});

describe("MockBackend storage", () => {
  it("stores nothing while writes fail, and says so only when that starts or stops", async () => {
    const mock = new MockBackend({ count: 10, now: () => NOW });
    const kinds: string[] = [];
    await mock.onEvent((event) => kinds.push(event.kind));
    mock.setWriteTrouble(DISK_FULL_TROUBLE);
    mock.setWriteTrouble(DISK_FULL_TROUBLE);
    expect(mock.receive(3), "received messages wait, as behind the real writer").toEqual([]);
    expect(mock.messages).toHaveLength(10);
    expect((await mock.getStorage()).write_trouble).toBe(DISK_FULL_TROUBLE);
    mock.setWriteTrouble(null);
    expect(mock.receive(2)).toHaveLength(2);
    expect(kinds.filter((kind) => kind === "storage_changed"), "one event when it starts, one when it ends").toHaveLength(2);
  });
});

describe("mockOptionsFromUrl", () => {
  it("reads ?storage= as a damaged database set aside (leaving an empty one) and a full disk", () => {
    expect(mockOptionsFromUrl("")).toMatchObject({ sources: true, damagedDatabase: null, writeTrouble: null });
    expect(mockOptionsFromUrl("?storage=damaged")).toMatchObject({ sources: false, damagedDatabase: DAMAGED_DATABASE_REASON, writeTrouble: null });
    expect(mockOptionsFromUrl("?storage=full")).toMatchObject({ sources: true, damagedDatabase: null, writeTrouble: DISK_FULL_TROUBLE });
    expect(mockOptionsFromUrl("?storage=damaged,full")).toMatchObject({ damagedDatabase: DAMAGED_DATABASE_REASON, writeTrouble: DISK_FULL_TROUBLE });
  });
});
