import { fireEvent, render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it } from "vitest";
import type { MessageRow } from "../bindings/MessageRow";
import { MockBackend } from "../api/mock";
import { InboxStore } from "../stores/inbox.svelte";
import { SourcesStore } from "../stores/sources.svelte";
import { FALLBACK_VIEWPORT_HEIGHT, FOOTER_HEIGHT, OVERSCAN, ROW_HEIGHT } from "./list-geometry";
import MessageList from "./MessageList.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

function row(id: number): MessageRow {
  return {
    id,
    source_id: 1,
    source_name: "Orders",
    title: `Message ${id}`,
    preview: "preview",
    priority: 3,
    tags: [],
    sent_at: NOW - id * 1000,
    read: true,
    starred: false,
    archived: false,
    snoozed_until: null,
    title_match: null,
    body_match: null,
  };
}

function viewportOf(container: HTMLElement): HTMLElement {
  const viewport = container.querySelector<HTMLElement>(".viewport");
  if (!viewport) throw new Error("the list did not render its viewport");
  return viewport;
}

async function scrollTo(viewport: HTMLElement, top: number) {
  viewport.scrollTop = top;
  await fireEvent.scroll(viewport);
  await tick();
}

const renderedIds = (container: HTMLElement) =>
  Array.from(container.querySelectorAll<HTMLElement>(".row")).map((element) => Number(element.dataset.id));

describe("MessageList", () => {
  it("renders only a window of rows out of 100,000", async () => {
    const mock = new MockBackend({ count: 0, now: () => NOW });
    const inbox = new InboxStore(mock, { clock: () => NOW });
    inbox.rows = Array.from({ length: 100_000 }, (_, index) => row(100_000 - index));
    inbox.status = "ready";
    const { container } = render(MessageList, { inbox, sources: new SourcesStore(mock) });
    await tick();

    const viewport = viewportOf(container);
    const maxRendered = Math.ceil(FALLBACK_VIEWPORT_HEIGHT / ROW_HEIGHT) + 2 * OVERSCAN + 1;
    expect(renderedIds(container).length).toBeLessThanOrEqual(maxRendered);
    expect(container.querySelector<HTMLElement>(".spacer")?.style.height).toBe(`${100_000 * ROW_HEIGHT + FOOTER_HEIGHT}px`);

    // Jump to the middle: the rows there are rendered, and still only a window.
    await scrollTo(viewport, 50_000 * ROW_HEIGHT);
    const ids = renderedIds(container);
    expect(ids).toContain(100_000 - 50_000);
    expect(ids.length).toBeLessThanOrEqual(maxRendered);
    expect(container.querySelector<HTMLElement>(".window")?.style.transform).toBe(
      `translateY(${(50_000 - OVERSCAN) * ROW_HEIGHT}px)`,
    );
  });

  it("loads the next page with `before` = the last row's id when scrolled near the end", async () => {
    const mock = new MockBackend({ count: 1_000, now: () => NOW });
    const inbox = new InboxStore(mock, { clock: () => NOW, pageSize: 100 });
    await inbox.reload();
    const { container } = render(MessageList, { inbox, sources: new SourcesStore(mock) });
    await tick();
    expect(mock.queries).toHaveLength(1);

    const lastId = inbox.rows[99]!.id;
    await scrollTo(viewportOf(container), 100 * ROW_HEIGHT - FALLBACK_VIEWPORT_HEIGHT);
    await vi_waitFor(() => inbox.rows.length === 200);
    expect(mock.queries[1]?.before).toBe(lastId);
    expect(inbox.rows[100]!.id).toBe(lastId - 1);
  });

  it("keeps the scroll anchor when new messages arrive above, and offers a pill back to the top", async () => {
    const mock = new MockBackend({ count: 500, now: () => NOW });
    const inbox = new InboxStore(mock, { clock: () => NOW });
    await inbox.reload();
    const { container } = render(MessageList, { inbox, sources: new SourcesStore(mock) });
    await tick();
    const viewport = viewportOf(container);

    await scrollTo(viewport, 20 * ROW_HEIGHT);
    const reading = inbox.rows[20]!.id;
    mock.receive(3);
    expect(await inbox.mergeNew()).toBe(3);
    await tick();

    expect(viewport.scrollTop).toBe(23 * ROW_HEIGHT);
    // The row at the top of the viewport is still the one the user was reading.
    expect(inbox.rows[viewport.scrollTop / ROW_HEIGHT]!.id).toBe(reading);
    const pill = screen.getByRole("button", { name: "3 new messages" });

    await fireEvent.click(pill);
    expect(viewport.scrollTop).toBe(0);
    expect(screen.queryByRole("button", { name: /new message/ })).toBeNull();
  });

  it("shows new messages in place when the user is already at the top", async () => {
    const mock = new MockBackend({ count: 50, now: () => NOW });
    const inbox = new InboxStore(mock, { clock: () => NOW });
    await inbox.reload();
    const { container } = render(MessageList, { inbox, sources: new SourcesStore(mock) });
    await tick();
    mock.receive(2);
    await inbox.mergeNew();
    await tick();
    expect(viewportOf(container).scrollTop).toBe(0);
    expect(renderedIds(container)[0]).toBe(inbox.rows[0]!.id);
    expect(screen.queryByRole("button", { name: /new message/ })).toBeNull();
  });

  it("draws search matches as <mark> text, never as HTML", async () => {
    const mock = new MockBackend({ count: 0, now: () => NOW });
    const inbox = new InboxStore(mock, { clock: () => NOW });
    inbox.rows = [{ ...row(1), title: "<b>库存</b>", title_match: { text: "🚨<b>库存</b>", ranges: [[4, 6]] } }];
    inbox.status = "ready";
    const { container } = render(MessageList, { inbox, sources: new SourcesStore(mock) });
    await tick();
    const title = container.querySelector(".title")!;
    expect(title.querySelector("b")).toBeNull();
    expect(title.textContent).toBe("🚨<b>库存</b>");
    expect(Array.from(title.querySelectorAll("mark")).map((mark) => mark.textContent)).toEqual(["库存"]);
  });

  it("shows loading, empty and error states", async () => {
    const mock = new MockBackend({ count: 0, now: () => NOW, failing: ["list_messages"] });
    const inbox = new InboxStore(mock, { clock: () => NOW });
    render(MessageList, { inbox, sources: new SourcesStore(mock) });
    const loading = inbox.reload();
    await tick();
    expect(screen.getByText("Loading messages…")).toBeTruthy();
    await loading;
    await tick();
    expect(screen.getByRole("alert").textContent).toContain("the mock backend was told to fail list_messages");

    const empty = new InboxStore(new MockBackend({ count: 0, now: () => NOW }), { clock: () => NOW });
    await empty.setSearch("nothing matches this");
    render(MessageList, { inbox: empty, sources: new SourcesStore(mock) });
    await tick();
    expect(screen.getByText("No messages match “nothing matches this”")).toBeTruthy();
  });
});

async function vi_waitFor(condition: () => boolean, timeoutMs = 2_000) {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
    await tick();
  }
}
