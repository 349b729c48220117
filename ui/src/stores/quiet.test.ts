import { afterEach, describe, expect, it, vi } from "vitest";
import { MockBackend } from "../api/mock";
import { QuietStore } from "./quiet.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  let now = NOW;
  const clock = () => now;
  const mock = new MockBackend({ count: 10, now: clock, ...options });
  const quiet = new QuietStore(mock, { clock });
  return { mock, quiet, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("QuietStore", () => {
  it("reloads when a pause runs out, so the indicator does not say paused after it ended", async () => {
    vi.useFakeTimers();
    const { quiet, advance } = setup();
    await quiet.pause({ kind: "for", minutes: 1 });
    expect(quiet.view?.dnd_active).toBe(true);
    advance(61_000);
    await vi.advanceTimersByTimeAsync(61_000);
    expect(quiet.view?.dnd_active).toBe(false);
    quiet.dispose();
  });

  it("knows which sources are muted and until when", async () => {
    const { quiet } = setup();
    await quiet.mute(4, { kind: "for", minutes: 30 });
    await quiet.mute(1, { kind: "forever" });
    expect(quiet.muteOf(4)).toEqual({ until: NOW + 30 * 60_000 });
    expect(quiet.muteOf(1)).toEqual({ until: null });
    expect(quiet.muteOf(2)).toBeNull();
    await quiet.mute(4, { kind: "off" });
    expect(quiet.muteOf(4)).toBeNull();
    quiet.dispose();
  });

  it("shows a notifier error until it is dismissed, and never again after", async () => {
    const { mock, quiet } = setup({ notifierError: "no notification daemon on the session bus" });
    await quiet.load();
    expect(quiet.notifierNotice).toBe("no notification daemon on the session bus");
    quiet.dismissNotifierError();
    expect(quiet.notifierNotice).toBeNull();

    const again = new QuietStore(mock);
    await again.load();
    expect(again.notifierNotice, "a new window remembers the dismissal").toBeNull();
    mock.routing.notifierError = "the notification service crashed";
    await again.load();
    expect(again.notifierNotice, "a different problem is shown").toBe("the notification service crashed");
  });
});
