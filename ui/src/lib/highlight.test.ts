import { describe, expect, it } from "vitest";
import { charToUnitOffsets, findCharRanges, segments } from "./highlight";

const marked = (text: string, ranges: [number, number][]) =>
  segments({ text, ranges })
    .filter((segment) => segment.mark)
    .map((segment) => segment.text);

describe("segments", () => {
  it("marks ASCII ranges and keeps the text between them", () => {
    expect(segments({ text: "disk full on db-1", ranges: [[0, 4], [13, 17]] })).toEqual([
      { text: "disk", mark: true },
      { text: " full on ", mark: false },
      { text: "db-1", mark: true },
    ]);
  });

  it("counts Chinese characters as one each", () => {
    expect(marked("订单库存告警：库存不足", [[2, 4], [7, 9]])).toEqual(["库存", "库存"]);
  });

  it("reads ranges as characters, not UTF-16 units, after an astral emoji", () => {
    // "🚨" is one character in Rust but two code units in JavaScript; a naive
    // slice would mark "告" and half of the next character.
    const text = "🚨 库存告警";
    expect(marked(text, [[2, 4]])).toEqual(["库存"]);
    expect(marked(text, [[0, 1]])).toEqual(["🚨"]);
  });

  it("handles astral ideographs inside the match", () => {
    expect(marked("a𠀋b𠀋c", [[1, 4]])).toEqual(["𠀋b𠀋"]);
  });

  it("merges overlapping ranges, sorts them and clamps those past the end", () => {
    expect(segments({ text: "abcdef", ranges: [[4, 99], [1, 3], [2, 4]] })).toEqual([
      { text: "a", mark: false },
      { text: "bcdef", mark: true },
    ]);
  });

  it("drops empty and inverted ranges", () => {
    expect(segments({ text: "abc", ranges: [[2, 2], [2, 1]] })).toEqual([{ text: "abc", mark: false }]);
  });

  it("returns nothing for empty text", () => {
    expect(segments({ text: "", ranges: [[0, 1]] })).toEqual([]);
  });
});

describe("charToUnitOffsets", () => {
  it("ends with the string's length", () => {
    expect(charToUnitOffsets("a😀b")).toEqual([0, 1, 3, 4]);
  });
});

describe("findCharRanges", () => {
  it("finds case-insensitive matches in character offsets", () => {
    expect(findCharRanges("🔥 Disk DISK disk", "disk")).toEqual([[2, 6], [7, 11], [12, 16]]);
  });

  it("finds Chinese substrings", () => {
    expect(findCharRanges("库存告警：库存不足", "库存")).toEqual([[0, 2], [5, 7]]);
  });
});
