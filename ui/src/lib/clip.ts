/**
 * Cuts text from an untrusted feed for a place that shows one line of it.
 * A feed may send a title of a megabyte with no spaces; CSS ends a line in an
 * ellipsis, but the browser still lays out all of it, in every row. Cutting
 * first keeps a row as cheap as any other. The cut falls between graphemes
 * (an emoji with its modifiers, a letter with its accents), so it never
 * leaves half a surrogate pair or a bare combining mark behind.
 */
import type { Highlighted } from "../bindings/Highlighted";

/**
 * UTF-16 code units of a title kept for one line (a list row): far more
 * than the widest window shows, so the cut is only ever seen as CSS's
 * ellipsis.
 */
export const ONE_LINE_CHARS = 300;

const graphemes = typeof Intl.Segmenter === "function" ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;

/** `text` if it has at most `max` code units; otherwise its start, cut between graphemes, and "…". */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, cutPoint(text, Math.max(0, max)))}…`;
}

/**
 * A highlighted text clipped like `clip`. Ranges are kept as they are:
 * `segments` clamps those that now run past the end, so a match that goes
 * on beyond the cut marks the ellipsis, which is where it continues.
 */
export function clipHighlighted(highlighted: Highlighted, max: number): Highlighted {
  const text = clip(highlighted.text, max);
  return text === highlighted.text ? highlighted : { text, ranges: highlighted.ranges };
}

/**
 * The last grapheme boundary at or before `max`. Whether a position is a
 * boundary depends on the text before it and the code point at it, so the
 * segmenter is given only that much: its cost grows with what it is given.
 * One grapheme longer than `max` (a letter under hundreds of combining
 * marks) is cut at a code point boundary instead.
 */
function cutPoint(text: string, max: number): number {
  const start = graphemes?.segment(text.slice(0, max + 2)).containing(max)?.index ?? 0;
  if (start > 0) return start;
  const unit = text.charCodeAt(max);
  const lowSurrogate = unit >= 0xdc00 && unit <= 0xdfff;
  return lowSurrogate && max > 0 ? max - 1 : max;
}
