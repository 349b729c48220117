import { describe, expect, it } from "vitest";
import { clip, clipHighlighted } from "./clip";
import { segments } from "./highlight";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Code-unit offsets where graphemes start in the first `max` units of
 * `text`, and the end of those. The code point after them is included, as
 * a boundary depends on it; the rest is not (segmenting a megabyte is slow).
 */
function graphemeBoundaries(text: string, max: number): Set<number> {
  const head = text.slice(0, max + 2);
  const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  const boundaries = new Set(Array.from(segmenter.segment(head), (segment) => segment.index));
  boundaries.add(head.length);
  return boundaries;
}

describe("clip", () => {
  const check = (name: string, text: string, max: number, expected: string) => {
    const clipped = clip(text, max);
    expect(clipped, name).toBe(expected);
    const kept = clipped.endsWith("…") && clipped !== text ? clipped.slice(0, -1) : clipped;
    expect(text.startsWith(kept), `${name}: what is shown is the start of the text`).toBe(true);
    expect(kept.length, `${name}: at most max code units before the ellipsis`).toBeLessThanOrEqual(max);
    expect(LONE_SURROGATE.test(clipped), `${name}: no half of a surrogate pair`).toBe(false);
    expect(graphemeBoundaries(text, max).has(kept.length), `${name}: the cut falls between graphemes`).toBe(true);
  };

  it("leaves text that fits alone", () => {
    check("short", "Disk full", 300, "Disk full");
    check("exactly max", "a".repeat(300), 300, "a".repeat(300));
    check("emoji that fits: 7 code units", "🚨 库存告警", 7, "🚨 库存告警");
  });

  it("cuts between graphemes whatever sits at the cut", () => {
    const lead = "a".repeat(8);
    // The cut is asked for at code unit 10: at or inside each of these.
    check("astral emoji right at the cut", `${lead}xy😀z`, 10, `${lead}xy…`);
    check("surrogate pair across the cut", `${lead}x😀`.padEnd(20, "z"), 10, `${lead}x…`);
    check("CJK extension B ideograph", `${lead}x𠀀𠀁𠀂`, 10, `${lead}x…`);
    check("family emoji joined with ZWJ", `${lead}👨‍👩‍👧‍👦 and more`, 10, `${lead}…`);
    check("flag of two regional indicators", `${lead}🇨🇳🇺🇸`, 10, `${lead}…`);
    check("skin-tone modifier", `${lead}x👍🏽 ok`, 10, `${lead}x…`);
    check("combining accent", `${lead}xe\u0301\u0301 ok`, 10, `${lead}x…`);
    check("BMP CJK at the cut", "库存告警通知".repeat(3), 10, "库存告警通知库存告警…");
  });

  it("cuts a megabyte title without spaces to one line's worth", () => {
    const title = `${"库".repeat(299)}😀${"x".repeat(1_000_000)}`;
    check("megabyte", title, 300, `${"库".repeat(299)}…`);
  });

  it("cuts one grapheme longer than max at a code point boundary", () => {
    // A zalgo letter is one grapheme; cutting it is better than showing none of it.
    expect(clip(`Z${"\u0301".repeat(50)}`, 10)).toBe(`Z${"\u0301".repeat(9)}…`);
    const clipped = clip(`😀${"\u0301".repeat(50)}`, 1);
    expect(clipped, "never half of the emoji's surrogate pair").toBe("…");
  });
});

describe("clipHighlighted", () => {
  it("keeps marks inside the cut and clamps those past it", () => {
    const text = `🚨 ${"库".repeat(20)}disk`;
    const clipped = clipHighlighted({ text, ranges: [[0, 1], [22, 26]] }, 10);
    expect(clipped.text).toBe(`🚨 ${"库".repeat(7)}…`);
    expect(segments(clipped).filter((segment) => segment.mark).map((segment) => segment.text), "a match past the cut is dropped").toEqual(["🚨"]);
  });

  it("returns the same object when nothing is cut", () => {
    const highlighted = { text: "short", ranges: [[0, 2]] as [number, number][] };
    expect(clipHighlighted(highlighted, 300)).toBe(highlighted);
  });
});
