import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { MockBackend } from "../api/mock";
import { DEFAULT_POLICY } from "../lib/routing-rules";
import { i18n } from "../stores/i18n.svelte";
import { QuietStore } from "../stores/quiet.svelte";
import QuietIndicator from "./QuietIndicator.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);
const HOUR = 3_600_000;

async function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const mock = new MockBackend({ count: 20, now: () => NOW, ...options });
  const quiet = new QuietStore(mock, { clock: () => NOW });
  i18n.now = NOW;
  render(QuietIndicator, { quiet });
  await quiet.load();
  await screen.findByTestId("dnd-indicator");
  return { mock, quiet };
}

const indicator = () => screen.getByTestId("dnd-indicator");
const text = () => screen.getByTestId("dnd-text").textContent?.trim();

async function pauseWith(option: string) {
  await fireEvent.click(screen.getByTestId("pause-menu"));
  await fireEvent.click(screen.getByTestId(option));
}

describe("QuietIndicator", () => {
  it("says notifications are on and offers the pause menu", async () => {
    await setup();
    expect(indicator().dataset.state).toBe("off");
    expect(text()).toBe("Notifications on");
    expect(screen.queryByTestId("dnd-resume")).toBeNull();
    const toggle = screen.getByTestId("pause-menu");
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    await fireEvent.click(toggle);
    const menu = screen.getByRole("menu", { name: "Pause notifications" });
    expect(within(menu).getAllByRole("menuitem").map((item) => item.dataset.testid)).toEqual([
      "pause-option-60",
      "pause-option-tomorrow",
      "pause-option-forever",
      "pause-option-sources",
    ]);
    expect(document.activeElement, "the first choice takes focus").toBe(screen.getByTestId("pause-option-60"));
    await fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(document.activeElement).toBe(screen.getByTestId("pause-option-tomorrow"));
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.queryByRole("menu")).toBeNull();
    expect(document.activeElement).toBe(toggle);
  });

  it("pauses for an hour, says until when, and resumes", async () => {
    const { mock } = await setup();
    await pauseWith("pause-option-60");
    await waitFor(() => expect(indicator().dataset.state).toBe("on"));
    expect(text()).toBe(`Notifications paused until ${i18n.time(NOW + HOUR)}`);
    expect(mock.routing.dndUntil).toBe(NOW + HOUR);
    await fireEvent.click(screen.getByTestId("dnd-resume"));
    await waitFor(() => expect(indicator().dataset.state).toBe("off"));
    expect(mock.routing.dndUntil).toBeNull();
  });

  it("pauses until tomorrow and until resumed", async () => {
    await setup();
    await pauseWith("pause-option-tomorrow");
    await waitFor(() => expect(text()).toBe("Notifications paused until midnight"));
    await pauseWith("pause-option-forever");
    await waitFor(() => expect(text()).toBe("Notifications paused until resumed"));
    expect(screen.getByTestId("dnd-resume")).toBeTruthy();
  });

  it("says when quiet hours hold notifications back, with no Resume to press", async () => {
    const { mock, quiet } = await setup();
    // 00:00–00:00 every day is on whatever the test machine's time zone.
    await mock.setPolicy({ ...DEFAULT_POLICY, quiet_hours: [{ start_minute: 0, end_minute: 1440, weekdays: 127 }] });
    mock.routing.held = 4;
    await quiet.load();
    await waitFor(() => expect(indicator().dataset.state).toBe("on"));
    expect(text()).toContain("Quiet hours");
    expect(text()).toContain("4 held back");
    expect(screen.queryByTestId("dnd-resume")).toBeNull();
  });

  it("pauses and resumes every source", async () => {
    const { mock } = await setup();
    expect(screen.queryByTestId("sources-paused")).toBeNull();
    await pauseWith("pause-option-sources");
    const paused = await screen.findByTestId("sources-paused");
    expect(paused.textContent).toContain("Sources paused");
    expect(mock.routing.sourcesPaused).toBe(true);
    await fireEvent.click(within(paused).getByTestId("sources-resume"));
    await waitFor(() => expect(screen.queryByTestId("sources-paused")).toBeNull());
    expect(mock.routing.sourcesPaused).toBe(false);
  });

  it("says why a pause failed", async () => {
    await setup({ failing: ["pause_notifications"] });
    await pauseWith("pause-option-forever");
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Couldn't change do-not-disturb"));
    expect(indicator().dataset.state).toBe("off");
  });
});
