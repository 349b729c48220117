import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { MockBackend } from "../api/mock";
import { i18n } from "../stores/i18n.svelte";
import { ThemeStore } from "../stores/theme.svelte";
import SettingsPanel from "./SettingsPanel.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const mock = new MockBackend({ count: 300, now: () => NOW, ...options });
  const theme = new ThemeStore("system");
  const onchanged = vi.fn();
  render(SettingsPanel, { backend: mock, theme, onchanged });
  await screen.findByTestId("settings-max-age");
  return { mock, theme, onchanged };
}

const input = (id: string) => screen.getByTestId(id) as HTMLInputElement;

describe("SettingsPanel", () => {
  it("shows the saved retention, empty meaning keep forever, and the data folder", async () => {
    await setup({ settings: { max_per_source: 5000 } });
    expect(input("settings-max-age").value).toBe("");
    expect(input("settings-max-age").placeholder).toBe("Keep forever");
    expect(input("settings-max-per-source").value).toBe("5000");
    expect(screen.getByTestId("settings-data-dir").textContent).toBe("/home/you/.local/share/herald");
    expect((screen.getByTestId("settings-retention-apply") as HTMLButtonElement).disabled, "nothing changed yet").toBe(true);
  });

  it("refuses a retention that is not a whole number, then applies a good one at once", async () => {
    const { mock, onchanged } = await setup();
    await fireEvent.input(input("settings-max-age"), { target: { value: "1.5" } });
    await fireEvent.click(screen.getByTestId("settings-retention-apply"));
    expect(screen.getByTestId("settings-error-max-age").textContent).toBe("Enter a whole number of at least 1, or leave it empty");
    expect(mock.settings.max_age_days).toBeNull();

    await fireEvent.input(input("settings-max-age"), { target: { value: "7" } });
    await fireEvent.click(screen.getByTestId("settings-retention-apply"));
    await waitFor(() => expect(screen.getByTestId("settings-retention-status").textContent).toContain("Retention saved"));
    expect(mock.settings).toMatchObject({ max_age_days: 7, max_per_source: null });
    expect(mock.messages.every((message) => message.starred || message.receivedAt >= NOW - 7 * 86_400_000)).toBe(true);
    expect(onchanged).toHaveBeenCalled();

    await fireEvent.input(input("settings-max-age"), { target: { value: "" } });
    await fireEvent.click(screen.getByTestId("settings-retention-apply"));
    await waitFor(() => expect(mock.settings.max_age_days).toBeNull());
  });

  it("switches theme and language through their stores", async () => {
    const { theme, mock } = await setup();
    await fireEvent.change(screen.getByTestId("settings-theme"), { target: { value: "dark" } });
    expect(theme.choice).toBe("dark");
    expect(document.documentElement.classList.contains("dark")).toBe(true);
    expect(localStorage.getItem("herald.theme")).toBe("dark");
    await fireEvent.change(screen.getByTestId("settings-language"), { target: { value: "zh-CN" } });
    await waitFor(() => expect(i18n.lang).toBe("zh-CN"));
    expect(mock.languageChoice, "the backend keeps the choice, for the tray and notifications").toBe("zh-CN");
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("设置");
    await fireEvent.change(screen.getByTestId("settings-language"), { target: { value: "system" } });
    await waitFor(() => expect(i18n.choice).toBe("system"));
    expect(mock.languageChoice).toBe("system");
  });

  it("keeps the language when the backend refuses to switch", async () => {
    await setup({ failing: ["set_language"] });
    await fireEvent.change(screen.getByTestId("settings-language"), { target: { value: "zh-CN" } });
    await waitFor(() => expect(screen.getByTestId("settings-language-error")).toBeTruthy());
    expect(i18n.lang).toBe("en");
  });

  it("turns start at login on", async () => {
    const { mock } = await setup();
    await fireEvent.click(input("settings-autostart"));
    await waitFor(() => expect(mock.settings.autostart).toBe(true));
    expect(input("settings-autostart").checked).toBe(true);
  });

  it("puts the start-at-login switch back when the backend refuses", async () => {
    await setup({ failing: ["set_autostart"] });
    await fireEvent.click(input("settings-autostart"));
    await waitFor(() => expect(screen.getByTestId("settings-autostart-error").textContent).toContain("set_autostart"));
    expect(input("settings-autostart").checked).toBe(false);
  });

  it("exports and shows where the file went", async () => {
    const { mock } = await setup({ count: 12 });
    await fireEvent.click(screen.getByTestId("settings-export"));
    await waitFor(() => expect(screen.getByTestId("settings-export-result").textContent).toContain("Wrote 12 messages to"));
    expect(screen.getByTestId("settings-export-result").textContent).toContain(mock.lastExport!.path);
  });

  it("imports a chosen file and reports what it did", async () => {
    const source = new MockBackend({ count: 20, now: () => NOW });
    await source.exportMessages();
    const { mock, onchanged } = await setup({ sources: false, count: 0 });
    const file = new File([source.lastExport!.contents], "herald.jsonl", { type: "application/jsonl" });
    const picker = input("settings-import");
    expect(picker.accept).toBe(".jsonl,.json");
    await fireEvent.change(picker, { target: { files: [file] } });
    const result = screen.getByTestId("settings-import-result");
    await waitFor(() => expect(result.textContent).toContain("20 messages imported"));
    expect(result.textContent).toContain("0 already here, skipped");
    expect(result.textContent).toMatch(/New sources, added paused: .*Orders/);
    expect(mock.messages).toHaveLength(20);
    expect(onchanged).toHaveBeenCalled();
  });

  it("shows why an import stopped", async () => {
    await setup();
    const file = new File(['{"not":"an export"}\n'], "notes.json");
    await fireEvent.change(input("settings-import"), { target: { files: [file] } });
    await waitFor(() =>
      expect(screen.getByTestId("settings-import-result").textContent).toMatch(/line 1 is not a herald export line/),
    );
  });
});
