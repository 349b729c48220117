import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { MockBackend } from "../api/mock";
import { DEFAULT_POLICY } from "../lib/routing-rules";
import NotificationSettings from "./NotificationSettings.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const mock = new MockBackend({ count: 20, now: () => NOW, ...options });
  const onsaved = vi.fn();
  render(NotificationSettings, { backend: mock, onsaved });
  await screen.findByTestId("policy-save");
  return { mock, onsaved };
}

const field = <T extends HTMLElement = HTMLInputElement>(id: string) => screen.getByTestId(id) as T;
const type = (id: string, value: string, inside: HTMLElement = document.body) =>
  fireEvent.input(inside.querySelector(`[data-testid="${id}"]`)!, { target: { value } });
const save = () => fireEvent.click(field("policy-save"));
const quietRows = () => screen.queryAllByTestId("policy-quiet-row");
const sourceMin = (id: number) =>
  screen.getAllByTestId<HTMLSelectElement>("policy-source-min").find((select) => select.dataset.sourceId === String(id))!;

/** A mock whose stored policy already has these per-source minimums. */
async function withSourceMinimums(pairs: [number, number][]) {
  const mock = new MockBackend({ count: 20, now: () => NOW });
  await mock.setPolicy({ ...DEFAULT_POLICY, source_min_priority: pairs });
  return mock;
}

describe("NotificationSettings", () => {
  it("shows the stored policy", async () => {
    await setup();
    const section = screen.getByTestId("settings-notifications");
    expect(within(section).getByRole("heading").textContent).toBe("Notifications");
    expect(field<HTMLSelectElement>("policy-min-priority").value).toBe("1");
    expect(field<HTMLSelectElement>("policy-bypass").value).toBe("5");
    expect(field<HTMLSelectElement>("policy-bypass").selectedOptions[0]!.textContent).toBe("P5 (urgent) and above");
    expect(field("policy-coalesce-count").value).toBe("3");
    expect(field("policy-coalesce-seconds").value).toBe("10");
    expect(field("policy-summarize").checked).toBe(true);
    expect(quietRows()).toHaveLength(0);
    expect(screen.getByText("No quiet hours.")).toBeTruthy();
  });

  it("adds quiet hours over midnight on some days and saves the whole policy", async () => {
    const { mock, onsaved } = await setup();
    await fireEvent.change(field("policy-min-priority"), { target: { value: "2" } });
    await fireEvent.change(field("policy-bypass"), { target: { value: "" } });
    await fireEvent.click(field("policy-add-quiet-hours"));
    const [row] = quietRows();
    expect(within(row!).getByTestId<HTMLInputElement>("policy-quiet-start").value).toBe("22:00");
    expect(within(row!).getByTestId<HTMLInputElement>("policy-quiet-end").value).toBe("07:00");
    await type("policy-quiet-start", "23:30", row);
    await fireEvent.click(within(row!).getByTestId("policy-quiet-weekday-sat"));
    await fireEvent.click(within(row!).getByTestId("policy-quiet-weekday-sun"));
    await type("policy-coalesce-count", "0");
    await fireEvent.click(field("policy-summarize"));
    await save();
    await waitFor(() => expect(field("policy-status").textContent).toContain("Notification settings saved"));
    expect(mock.routing.policy).toEqual({
      ...DEFAULT_POLICY,
      min_priority: 2,
      bypass_priority: null,
      quiet_hours: [{ start_minute: 23 * 60 + 30, end_minute: 7 * 60, weekdays: 0b001_1111 }],
      coalesce_count: 0,
      summarize_catch_up: false,
    });
    expect(onsaved).toHaveBeenCalled();

    await type("policy-coalesce-count", "5");
    expect(field("policy-status").textContent, "an edit after saving is not saved yet").not.toContain("saved");
  });

  it("removes quiet hours", async () => {
    const mock = new MockBackend({ count: 20, now: () => NOW });
    await mock.setPolicy({
      ...DEFAULT_POLICY,
      quiet_hours: [
        { start_minute: 0, end_minute: 360, weekdays: 127 },
        { start_minute: 1320, end_minute: 1440, weekdays: 1 },
      ],
    });
    render(NotificationSettings, { backend: mock });
    await waitFor(() => expect(quietRows()).toHaveLength(2));
    expect(within(quietRows()[1]!).getByTestId<HTMLInputElement>("policy-quiet-end").value, "the end of the day reads as midnight").toBe("00:00");
    const remove = within(quietRows()[0]!).getByTestId("policy-remove-quiet-hours");
    expect(remove.getAttribute("aria-label")).toBe("Remove quiet hours 1");
    await fireEvent.click(remove);
    await save();
    await waitFor(() => expect(mock.routing.policy.quiet_hours).toEqual([{ start_minute: 1320, end_minute: 1440, weekdays: 1 }]));
  });

  it("lists every source under its name, at first the same as all sources", async () => {
    const { mock } = await setup();
    const selects = screen.getAllByTestId<HTMLSelectElement>("policy-source-min");
    const listed = await mock.listSources();
    expect(selects.map((select) => Number(select.dataset.sourceId))).toEqual(listed.map((source) => source.id));
    expect(selects.every((select) => select.value === ""), "no source has its own minimum yet").toBe(true);
    expect(sourceMin(2).selectedOptions[0]!.textContent).toBe("Same as all sources");
    expect(screen.getByLabelText("仓库传感器"), "the source's name labels its select").toBe(sourceMin(2));
    expect([...sourceMin(2).options].map((option) => option.value)).toEqual(["", "1", "2", "3", "4", "5"]);
  });

  it("sends a per-source minimum that was chosen", async () => {
    const { mock, onsaved } = await setup();
    const setPolicy = vi.spyOn(mock, "setPolicy");
    await fireEvent.change(sourceMin(4), { target: { value: "4" } });
    await fireEvent.change(sourceMin(1), { target: { value: "2" } });
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalled());
    expect(setPolicy.mock.calls[0]![0].source_min_priority, "by source id, only the sources given their own").toEqual([
      [1, 2],
      [4, 4],
    ]);
    expect(mock.routing.policy).toEqual({ ...DEFAULT_POLICY, source_min_priority: [[1, 2], [4, 4]] });
    expect(sourceMin(4).value, "the form shows what was saved").toBe("4");
  });

  it("removes a source's own minimum when set back to the same as all sources", async () => {
    const mock = await withSourceMinimums([
      [1, 3],
      [4, 2],
    ]);
    const setPolicy = vi.spyOn(mock, "setPolicy");
    render(NotificationSettings, { backend: mock });
    await waitFor(() => expect(sourceMin(4).value).toBe("2"));
    expect(sourceMin(1).value).toBe("3");
    await fireEvent.change(sourceMin(4), { target: { value: "" } });
    await save();
    await waitFor(() => expect(setPolicy).toHaveBeenCalled());
    expect(setPolicy.mock.calls[0]![0].source_min_priority).toEqual([[1, 3]]);
    await waitFor(() => expect(mock.routing.policy.source_min_priority).toEqual([[1, 3]]));
  });

  it("drops the minimums of sources that were removed", async () => {
    const mock = await withSourceMinimums([
      [1, 3],
      [4, 2],
    ]);
    await mock.removeSource(4, false);
    render(NotificationSettings, { backend: mock });
    await waitFor(() => expect(sourceMin(1).value).toBe("3"));
    expect(sourceMin(4), "a removed source has no row").toBeUndefined();
    await save();
    await waitFor(() => expect(mock.routing.policy.source_min_priority).toEqual([[1, 3]]));
  });

  it("shows a source's name as text", async () => {
    const mock = new MockBackend({ count: 20, now: () => NOW });
    mock.sources.find((source) => source.id === 1)!.name = "<img src=x onerror=alert(1)> Orders";
    render(NotificationSettings, { backend: mock });
    await screen.findByTestId("policy-save");
    const label = screen.getByText("<img src=x onerror=alert(1)> Orders");
    expect(label.querySelector("img"), "markup in a name is not parsed").toBeNull();
    expect(screen.getByLabelText("<img src=x onerror=alert(1)> Orders")).toBe(sourceMin(1));
  });

  it("says when there are no sources to set", async () => {
    await setup({ sources: false, count: 0 });
    expect(screen.queryAllByTestId("policy-source-min")).toHaveLength(0);
    expect(screen.getByText("No sources yet.")).toBeTruthy();
  });

  it("shows mistakes next to the fields and sends nothing", async () => {
    const { mock } = await setup();
    const setPolicy = vi.spyOn(mock, "setPolicy");
    await type("policy-coalesce-seconds", "0");
    await fireEvent.click(field("policy-add-quiet-hours"));
    const [row] = quietRows();
    for (const day of ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) {
      await fireEvent.click(within(row!).getByTestId(`policy-quiet-weekday-${day}`));
    }
    await save();
    expect(field("policy-error-coalesce-seconds").textContent).toBe("Enter whole seconds from 1 to 3600");
    expect(field("policy-coalesce-seconds").getAttribute("aria-invalid")).toBe("true");
    expect(within(row!).getByTestId("policy-quiet-error").textContent).toBe("Tick at least one day");
    expect(field("policy-status").textContent).toContain("Some fields need attention.");
    await type("policy-coalesce-count", "three");
    await save();
    expect(field("policy-error-coalesce-count").textContent).toBe("Enter a whole number; 0 turns combining off");
    expect(setPolicy).not.toHaveBeenCalled();
  });

  it("says why the backend refused", async () => {
    await setup({ failing: ["set_policy"] });
    await save();
    await waitFor(() => expect(field("policy-status").textContent).toContain("the mock backend was told to fail set_policy"));
  });
});
