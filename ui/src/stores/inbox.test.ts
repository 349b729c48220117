import { describe, expect, it } from "vitest";
import { MockBackend } from "../api/mock";
import { InboxStore } from "./inbox.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(count = 300) {
  const mock = new MockBackend({ count, now: () => NOW });
  const inbox = new InboxStore(mock, { clock: () => NOW, pageSize: 50 });
  await inbox.reload();
  return { mock, inbox };
}

describe("InboxStore", () => {
  it("loads the first page and pages on with `before` = the last row's id", async () => {
    const { mock, inbox } = await setup();
    expect(inbox.rows).toHaveLength(50);
    const last = inbox.rows[49]!.id;
    await inbox.loadMore();
    expect(mock.queries.at(-1)?.before).toBe(last);
    expect(inbox.rows).toHaveLength(100);
    expect(new Set(inbox.rows.map((row) => row.id)).size).toBe(100);
  });

  it("merges new messages at the top, paging through a burst bigger than a page", async () => {
    const { mock, inbox } = await setup();
    const oldTop = inbox.rows[0]!.id;
    mock.receive(120);
    const added = await inbox.mergeNew();
    expect(added).toBe(120);
    expect(inbox.rows[120]!.id).toBe(oldTop);
    expect(inbox.rows.slice(0, 120).every((row) => row.id > oldTop)).toBe(true);
  });

  it("drops archived rows from the inbox and moves the cursor to the next row", async () => {
    const { mock, inbox } = await setup();
    const [first, second] = inbox.rows;
    inbox.cursorId = first!.id;
    await inbox.toggleArchive();
    expect(inbox.rows[0]!.id).toBe(second!.id);
    expect(inbox.cursorId).toBe(second!.id);
    expect(mock.messages.find((message) => message.id === first!.id)?.archivedAt).not.toBeNull();
  });

  it("rolls back and reports when the backend refuses", async () => {
    const mock = new MockBackend({ count: 50, now: () => NOW, failing: ["set_starred"] });
    const inbox = new InboxStore(mock, { clock: () => NOW });
    await inbox.reload();
    const row = inbox.rows.find((candidate) => !candidate.starred)!;
    await inbox.toggleStar([row.id]);
    expect(inbox.rows.find((candidate) => candidate.id === row.id)?.starred).toBe(false);
    expect(inbox.notice?.message).toMatch(/set_starred/);
  });

  it("opens a message, marking it read, and updates the open message on triage", async () => {
    const { inbox } = await setup();
    const unread = inbox.rows.find((row) => !row.read)!;
    await inbox.open(unread.id);
    expect(inbox.detail?.row.id).toBe(unread.id);
    expect(inbox.rows.find((row) => row.id === unread.id)?.read).toBe(true);
    await inbox.setStarred([unread.id], true);
    expect(inbox.detail?.row.starred).toBe(true);
  });

  it("ticks ranges with shift and applies bulk actions to the ticked rows", async () => {
    const { mock, inbox } = await setup();
    const ids = inbox.rows.slice(2, 6).map((row) => row.id);
    inbox.toggleChecked(ids[0]!);
    inbox.toggleChecked(ids[3]!, true);
    expect([...inbox.checked].sort()).toEqual([...ids].sort());
    await inbox.delete(inbox.targets());
    expect(inbox.rows.some((row) => ids.includes(row.id))).toBe(false);
    expect(inbox.checked.size).toBe(0);
    expect(mock.messages.some((message) => ids.includes(message.id))).toBe(false);
  });

  it("drops the answer to an older query", async () => {
    const { inbox } = await setup();
    const first = inbox.setView("starred");
    const second = inbox.setView("archived");
    await Promise.all([first, second]);
    expect(inbox.view).toBe("archived");
    expect(inbox.rows.every((row) => row.archived)).toBe(true);
  });

  it("shows a failed load as an error state with the backend's message", async () => {
    const mock = new MockBackend({ count: 10, failing: ["list_messages"] });
    const inbox = new InboxStore(mock);
    await inbox.reload();
    expect(inbox.status).toBe("error");
    expect(inbox.error?.message).toBe("the mock backend was told to fail list_messages");
  });

  it("filters by minimum priority and tag, and clears the filters", async () => {
    const { mock, inbox } = await setup(400);
    await inbox.setMinPriority(4);
    expect(mock.queries.at(-1)).toMatchObject({ min_priority: 4, tag: null });
    expect(inbox.rows.length).toBeGreaterThan(0);
    expect(inbox.rows.every((row) => row.priority >= 4)).toBe(true);

    await inbox.setTag("  warning ");
    expect(inbox.tag).toBe("warning");
    expect(mock.queries.at(-1)).toMatchObject({ min_priority: 4, tag: "warning" });
    expect(inbox.rows.every((row) => row.priority >= 4 && row.tags.some((tag) => tag.name === "warning"))).toBe(true);
    expect(inbox.filtered).toBe(true);

    // Paging keeps the filters.
    await inbox.loadMore();
    expect(mock.queries.at(-1)).toMatchObject({ min_priority: 4, tag: "warning" });

    // "Any" is null, and so is 1: every message is at least 1.
    await inbox.setMinPriority(1);
    expect(inbox.minPriority).toBeNull();
    const asked = mock.queries.length;
    await inbox.setTag("warning");
    expect(mock.queries.length, "the same tag again does not reload").toBe(asked);

    await inbox.clearFilters();
    expect(inbox.filtered).toBe(false);
    expect(mock.queries.at(-1)).toMatchObject({ min_priority: null, tag: null });
  });

  it("focuses a message: a new one in the current list, an archived one by widening to every message", async () => {
    const { mock, inbox } = await setup();
    const [fresh] = mock.receive(1);
    await inbox.focus(fresh!.id);
    expect(inbox.view, "a new message is merged into the inbox it belongs to").toBe("inbox");
    expect(inbox.rows[0]?.id).toBe(fresh!.id);
    expect([inbox.openId, inbox.cursorId, inbox.detail?.row.id]).toEqual([fresh!.id, fresh!.id, fresh!.id]);

    await mock.archive([fresh!.id], true);
    const elsewhere = mock.sources.find((source) => source.id !== fresh!.sourceId)!.id;
    await inbox.setSource(elsewhere);
    await inbox.setSearch("order");
    await inbox.focus(fresh!.id);
    expect(inbox).toMatchObject({ view: "all", source: null, search: "", minPriority: null, tag: null });
    expect(inbox.indexOf(fresh!.id)).toBeGreaterThanOrEqual(0);
    expect(inbox.detail?.row).toMatchObject({ id: fresh!.id, archived: true });
  });
});
