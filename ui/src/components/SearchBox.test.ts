import { fireEvent, render, screen } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import SearchBox from "./SearchBox.svelte";

function setup() {
  const onsearch = vi.fn();
  render(SearchBox, { onsearch });
  const input = screen.getByRole("searchbox") as HTMLInputElement;
  const type = (value: string, isComposing = false) => {
    input.value = value;
    return fireEvent(input, new InputEvent("input", { bubbles: true, isComposing }));
  };
  return { onsearch, input, type };
}

describe("SearchBox", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("debounces typing into one search", async () => {
    const { onsearch, type } = setup();
    await type("d");
    await type("di");
    vi.advanceTimersByTime(100);
    await type("dis");
    vi.advanceTimersByTime(149);
    expect(onsearch).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onsearch.mock.calls).toEqual([["dis"]]);
  });

  it("never searches mid composition, then searches the composed text", async () => {
    const { onsearch, input, type } = setup();
    await fireEvent.compositionStart(input);
    await type("k", true);
    await type("ku", true);
    await type("库", true);
    // Enter picks a candidate in the IME; it must not search either.
    await fireEvent.keyDown(input, { key: "Enter", isComposing: true });
    vi.advanceTimersByTime(1_000);
    expect(onsearch).not.toHaveBeenCalled();

    input.value = "库存";
    await fireEvent.compositionEnd(input);
    vi.advanceTimersByTime(150);
    expect(onsearch.mock.calls).toEqual([["库存"]]);
  });

  it("searches at once on Enter and clears on Escape", async () => {
    const { onsearch, input, type } = setup();
    await type("backup");
    await fireEvent.keyDown(input, { key: "Enter" });
    expect(onsearch.mock.calls).toEqual([["backup"]]);
    await fireEvent.keyDown(input, { key: "Escape" });
    expect(onsearch.mock.calls.at(-1)).toEqual([""]);
    expect(input.value).toBe("");
    vi.advanceTimersByTime(1_000);
    expect(onsearch).toHaveBeenCalledTimes(2);
  });
});
