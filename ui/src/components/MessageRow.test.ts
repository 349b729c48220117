import { render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it } from "vitest";
import type { MessageRow as Row } from "../bindings/MessageRow";
import type { TagView } from "../bindings/TagView";
import { ONE_LINE_CHARS } from "../lib/clip";
import { i18n } from "../stores/i18n.svelte";
import MessageRow from "./MessageRow.svelte";
import { isolationOf } from "./testing";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

function renderRow(changes: Partial<Row>) {
  const row: Row = {
    id: 1,
    source_id: 1,
    source_name: "Orders",
    title: "Order shipped",
    preview: "preview",
    priority: 3,
    tags: [],
    sent_at: NOW,
    read: false,
    starred: false,
    archived: false,
    snoozed_until: null,
    title_match: null,
    body_match: null,
    ...changes,
  };
  return render(MessageRow, { row, cursor: false, checked: false, open: false }).container;
}

function manyTags(count: number): TagView[] {
  return Array.from({ length: count }, (_, index) => ({ name: `tag${index}`, emoji: null }));
}

const nodeCount = (container: HTMLElement) => container.querySelectorAll("*").length;

describe("MessageRow with hostile content", () => {
  it("isolates the source, title, preview and tags from the text around them", () => {
    // Rust turns these controls into U+FFFD; the row must hold even if one gets through.
    const fields = {
      source_name: "\u202Eops-feed",
      title: "invoice\u202Efdp.exe",
      preview: "\u2067שלום\u2066 body",
      tag: "\u202Bdeploy",
    };
    const container = renderRow({ ...fields, tags: [{ name: fields.tag, emoji: null }] });
    for (const [field, text] of Object.entries(fields)) {
      expect(isolationOf(container, text), `${field} is in an element of its own with dir="auto"`).not.toBeNull();
    }
  });

  it("isolates a search match's title with its marks", () => {
    const text = "invoice\u202Efdp.exe";
    const container = renderRow({ title: text, title_match: { text, ranges: [[0, 7]] } });
    const title = isolationOf(container, text);
    expect(title, "the highlighted title is isolated as a whole").not.toBeNull();
    expect(Array.from(title!.querySelectorAll("mark"), (mark) => mark.textContent)).toEqual(["invoice"]);
  });

  it("cuts a megabyte title with no spaces to one line's worth, between graphemes", () => {
    // A woman technologist with a skin tone: five code points, seven code units, straddling the cut.
    const title = `${"库".repeat(ONE_LINE_CHARS - 1)}👩🏽‍💻${"x".repeat(1_000_000)}`;
    const container = renderRow({ title });
    const shown = `${"库".repeat(ONE_LINE_CHARS - 1)}…`;
    expect(screen.getByTestId("row-title").textContent, "the emoji at the cut goes whole, not in part").toBe(shown);
    const check = container.querySelector<HTMLInputElement>("[data-testid=row-check]")!;
    expect(check.getAttribute("aria-label"), "the checkbox names the row by the cut title too").toBe(`Select “${shown}”`);
  });

  it("cuts a megabyte search match too, keeping the marks before the cut", () => {
    const text = `库存${"y".repeat(1_000_000)}`;
    renderRow({ title: text, title_match: { text, ranges: [[0, 2], [500_000, 500_010]] } });
    const title = screen.getByTestId("row-title");
    expect(title.textContent).toBe(`库存${"y".repeat(ONE_LINE_CHARS - 2)}…`);
    expect(Array.from(title.querySelectorAll("mark"), (mark) => mark.textContent), "a match past the cut is not drawn").toEqual(["库存"]);
  });

  it("shows three of 100,000 tags and a count of the rest, in as many nodes as four tags", async () => {
    const few = nodeCount(renderRow({ tags: manyTags(4) }));
    const container = renderRow({ tags: manyTags(100_000) });
    expect(nodeCount(container), "the DOM does not grow with the tags").toBeLessThanOrEqual(few);
    const more = container.querySelector<HTMLElement>("[data-testid=tag-more]")!;
    expect(more.textContent).toBe("+99,997");
    expect(more.title).toBe("99,997 more tags");

    i18n.lang = "zh-CN";
    await tick();
    expect(more.title).toBe("还有 99,997 个标签");
  });

  it("renders NUL, BEL and an escape sequence in a title as plain text", () => {
    const title = "a\u0000b\u0007c\u001b[2Jd\u0085e";
    const container = renderRow({ title, preview: "\u0000" });
    const shown = screen.getByTestId("row-title");
    expect(shown.textContent, "the characters are text, not markup, and nothing throws").toBe(title);
    expect(shown.children, "no element is made from them").toHaveLength(0);
    expect(isolationOf(container, title)).not.toBeNull();
  });
});
