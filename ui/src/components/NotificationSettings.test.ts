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
