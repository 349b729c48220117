import { fireEvent, render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it, vi } from "vitest";
import type { TagView } from "../bindings/TagView";
import { ONE_LINE_CHARS } from "../lib/clip";
import { i18n } from "../stores/i18n.svelte";
import TagList, { TAG_LIMIT } from "./TagList.svelte";

const LONG = `release-${"x".repeat(200)}`;

function manyTags(count: number): TagView[] {
  return Array.from({ length: count }, (_, index) => ({ name: `tag${index}`, emoji: null }));
}

const chips = (container: HTMLElement) => Array.from(container.querySelectorAll<HTMLElement>(".tag"));

describe("TagList", () => {
  it("keeps a long tag whole in its text and tooltip, for the ellipsis to cut", () => {
    const { container } = render(TagList, { tags: [{ name: "warning", emoji: "⚠️" }, { name: LONG, emoji: null }], limit: 3 });
    const [emoji, long] = chips(container);
    expect(emoji?.textContent, "an ntfy short code shows as its emoji in a row").toBe("⚠️");
    expect(emoji?.title).toBe("warning");
    expect(long?.title, "the whole tag is in the tooltip").toBe(LONG);
    expect(long?.querySelector(".text")?.textContent, "the label holds the whole tag; CSS ends it in an ellipsis").toBe(LONG);
    expect(screen.queryByTestId("tag-more")).toBeNull();
  });

  it("cuts a megabyte tag to one line's worth, between graphemes", () => {
    const huge = `${"x".repeat(ONE_LINE_CHARS - 1)}🏷️${"y".repeat(1_000_000)}`;
    const { container } = render(TagList, { tags: [{ name: huge, emoji: null }], limit: 3 });
    const [chip] = chips(container);
    expect(chip?.querySelector(".text")?.textContent, "the emoji at the cut goes whole").toBe(`${"x".repeat(ONE_LINE_CHARS - 1)}…`);
    expect(chip?.title).toBe(`${"x".repeat(ONE_LINE_CHARS - 1)}…`);
  });

  it("renders the first few of 100,000 tags and counts the rest in a chip", async () => {
    const { container } = render(TagList, { tags: manyTags(100_000), limit: 3 });
    const rendered = chips(container);
    expect(rendered.map((chip) => chip.textContent)).toEqual(["tag0", "tag1", "tag2", "+99,997"]);
    const more = screen.getByTestId("tag-more");
    expect(more.tagName, "in a row the chip is not a control: the row opens on click").toBe("SPAN");
    expect(more.title).toBe("99,997 more tags");

    i18n.lang = "zh-CN";
    await tick();
    expect(more.title).toBe("还有 99,997 个标签");
  });

  it("caps the tags by default, whatever the caller passes", () => {
    const { container } = render(TagList, { tags: manyTags(100_000) });
    expect(chips(container)).toHaveLength(TAG_LIMIT + 1);
    expect(container.querySelectorAll("*").length, "nodes stay bounded").toBeLessThan(3 * (TAG_LIMIT + 1));
  });

  it("reveals more tags a batch at a time when expandable", async () => {
    const onselect = vi.fn();
    const { container } = render(TagList, { tags: manyTags(120), names: true, wrap: true, expandable: true, onselect });
    expect(container.querySelector(".tags")?.classList.contains("wrap")).toBe(true);
    expect(screen.getAllByTestId("detail-tag")).toHaveLength(TAG_LIMIT);
    const more = screen.getByRole("button", { name: `+${120 - TAG_LIMIT} more` });
    expect(more.title).toBe(`Show ${TAG_LIMIT} more tags`);

    await fireEvent.click(more);
    expect(screen.getAllByTestId("detail-tag")).toHaveLength(2 * TAG_LIMIT);
    expect(screen.getByTestId("tag-more").textContent).toBe(`+${120 - 2 * TAG_LIMIT} more`);
    await fireEvent.click(screen.getByTestId("tag-more"));
    expect(screen.getAllByTestId("detail-tag")).toHaveLength(120);
    expect(screen.queryByTestId("tag-more")).toBeNull();
    expect(onselect, "revealing tags is not choosing one").not.toHaveBeenCalled();
  });

  it("says how many are left in Chinese too", async () => {
    i18n.lang = "zh-CN";
    render(TagList, { tags: manyTags(60), expandable: true, onselect: () => {} });
    await tick();
    expect(screen.getByTestId("tag-more").textContent).toBe("还有 10 个");
  });

  it("shows a repeated tag as often as the feed sent it", () => {
    const { container } = render(TagList, { tags: [{ name: "db", emoji: null }, { name: "db", emoji: null }, { name: "ops", emoji: null }] });
    expect(chips(container).map((chip) => chip.textContent)).toEqual(["db", "db", "ops"]);
  });
});
