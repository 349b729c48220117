import { afterEach, describe, expect, it, vi } from "vitest";
import { MockBackend } from "../api/mock";
import { SourcesStore } from "./sources.svelte";

afterEach(() => {
  vi.useRealTimers();
});

describe("SourcesStore", () => {
  it("coalesces a burst of refreshes into one reload", async () => {
    vi.useFakeTimers();
    const mock = new MockBackend({ count: 5 });
    const listSources = vi.spyOn(mock, "listSources");
    const sources = new SourcesStore(mock);
    for (let i = 0; i < 10; i++) sources.refreshSoon();
    await vi.advanceTimersByTimeAsync(250);
    expect(listSources).toHaveBeenCalledTimes(1);
  });

  it("still refreshes after a pending refresh was cancelled", async () => {
    vi.useFakeTimers();
    const mock = new MockBackend({ count: 5 });
    const listSources = vi.spyOn(mock, "listSources");
    const sources = new SourcesStore(mock);
    sources.refreshSoon();
    sources.dispose();
    await vi.advanceTimersByTimeAsync(250);
    expect(listSources).not.toHaveBeenCalled();
    // A cancelled timer must not turn later refreshes away.
    sources.refreshSoon();
    await vi.advanceTimersByTimeAsync(250);
    expect(listSources).toHaveBeenCalledTimes(1);
  });
});
