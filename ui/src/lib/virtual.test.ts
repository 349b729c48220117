import { describe, expect, it } from "vitest";
import { scrollToReveal, visibleWindow } from "./virtual";

describe("visibleWindow", () => {
  it("covers the viewport plus overscan", () => {
    expect(visibleWindow(0, 600, 60, 100_000, 5)).toEqual({ start: 0, end: 15 });
    expect(visibleWindow(60_000, 600, 60, 100_000, 5)).toEqual({ start: 995, end: 1015 });
  });

  it("clamps at the end and for empty lists", () => {
    expect(visibleWindow(6_000, 600, 60, 100, 5)).toEqual({ start: 95, end: 100 });
    expect(visibleWindow(0, 600, 60, 0, 5)).toEqual({ start: 0, end: 0 });
  });
});

describe("scrollToReveal", () => {
  it("scrolls only when the row is out of view", () => {
    expect(scrollToReveal(5, 0, 600, 60)).toBeNull();
    expect(scrollToReveal(20, 0, 600, 60)).toBe(660);
    expect(scrollToReveal(2, 600, 600, 60)).toBe(120);
  });
});
