/**
 * Splits highlighted text into plain and marked segments for rendering as
 * text nodes (never as HTML). Rust gives `[start, end)` ranges in Unicode
 * scalar values (`char`s); JavaScript strings index UTF-16 code units, so an
 * emoji or a rare CJK ideograph outside the BMP counts once in Rust and twice
 * here. Offsets are converted before slicing.
 */
import type { Highlighted } from "../bindings/Highlighted";

export type Segment = { text: string; mark: boolean };

/**
 * `offsets[i]` is the code-unit offset of the i-th character; the last entry
 * is the string's length, so `offsets[charCount]` is valid.
 */
export function charToUnitOffsets(text: string): number[] {
  const offsets: number[] = [];
  let unit = 0;
  for (const character of text) {
    offsets.push(unit);
    unit += character.length;
  }
  offsets.push(unit);
  return offsets;
}

export function segments(highlighted: Highlighted): Segment[] {
  const { text } = highlighted;
  if (text.length === 0) return [];
  const offsets = charToUnitOffsets(text);
  const charCount = offsets.length - 1;
  // Ranges from an older index or a truncated snippet may overlap, arrive
  // out of order or run past the end; clamp and merge rather than trust.
  const ranges = highlighted.ranges
    .map(([start, end]): [number, number] => [
      Math.max(0, Math.min(start, charCount)),
      Math.max(0, Math.min(end, charCount)),
    ])
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([range[0], range[1]]);
  }
  const result: Segment[] = [];
  let cursor = 0;
  for (const [start, end] of merged) {
    const from = offsets[start] ?? text.length;
    const to = offsets[end] ?? text.length;
    if (from > cursor) result.push({ text: text.slice(cursor, from), mark: false });
    result.push({ text: text.slice(from, to), mark: true });
    cursor = to;
  }
  if (cursor < text.length) result.push({ text: text.slice(cursor), mark: false });
  return result;
}

/** Character ranges of every case-insensitive occurrence of `needle`, for the mock's search. */
export function findCharRanges(text: string, needle: string): [number, number][] {
  const haystack = Array.from(text.toLowerCase());
  const wanted = Array.from(needle.toLowerCase());
  // Lower-casing can change the length of a few characters (İ); only trust
  // it when the character count is unchanged.
  if (wanted.length === 0 || haystack.length !== Array.from(text).length) return [];
  const ranges: [number, number][] = [];
  for (let index = 0; index + wanted.length <= haystack.length; ) {
    let matches = true;
    for (let offset = 0; offset < wanted.length; offset += 1) {
      if (haystack[index + offset] !== wanted[offset]) {
        matches = false;
        break;
      }
    }
    if (matches) {
      ranges.push([index, index + wanted.length]);
      index += wanted.length;
    } else {
      index += 1;
    }
  }
  return ranges;
}
