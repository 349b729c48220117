import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it } from "vitest";
import { MockBackend } from "./api/mock";
import App from "./App.svelte";
import { ThemeStore } from "./stores/theme.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const mock = new MockBackend({ count: 200, now: () => NOW, ...options });
  render(App, { backend: mock, theme: new ThemeStore("light") });
  if (options.sources !== false) await waitFor(() => expect(document.querySelectorAll(".row").length).toBeGreaterThan(0));
  return mock;
}

const key = (key: string, init: KeyboardEventInit = {}) => fireEvent.keyDown(document.activeElement ?? document.body, { key, ...init });
const cursorId = () => Number(document.querySelector<HTMLElement>(".row.cursor")?.dataset.id);

describe("App keyboard shortcuts", () => {
  it("moves with j/k, opens with Enter, and triages with u, s and e", async () => {
    const mock = await setup();
    const first = cursorId();
    await key("j");
    await key("j");
    await key("k");
    const second = cursorId();
    expect(second).toBeLessThan(first);

    await key("Enter");
    await waitFor(() => expect(document.querySelector(".detail h1")).not.toBeNull());
    const message = () => mock.messages.find((candidate) => candidate.id === second)!;
    await waitFor(() => expect(message().read).toBe(true));

    await key("u");
    await waitFor(() => expect(message().read).toBe(false));
    const starred = message().starred;
    await key("s");
    await waitFor(() => expect(message().starred).toBe(!starred));
    await key("e");
    await waitFor(() => expect(message().archivedAt).not.toBeNull());
    expect(document.querySelector(`.row[data-id="${second}"]`)).toBeNull();
  });

  it("asks before deleting with #", async () => {
    const mock = await setup();
    const id = cursorId();
    await key("#", { shiftKey: true });
    const dialog = await screen.findByRole("dialog");
    expect(dialog.textContent).toContain("Delete 1 message?");
    // Shortcuts are off while the dialog is open.
    await key("j");
    expect(cursorId()).toBe(id);
    await fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(mock.messages.some((message) => message.id === id)).toBe(false));
  });

  it("focuses the search with / and shows the shortcuts with ?", async () => {
    await setup();
    await key("/");
    const search = screen.getByRole("searchbox");
    expect(document.activeElement).toBe(search);
    // Typing in the search box is text, not shortcuts.
    const before = cursorId();
    await fireEvent.keyDown(search, { key: "j" });
    expect(cursorId()).toBe(before);

    (search as HTMLInputElement).blur();
    await key("?", { shiftKey: true });
    expect((await screen.findByRole("dialog")).textContent).toContain("Keyboard shortcuts");
    await key("Escape");
    await tick();
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("fires nothing during IME composition", async () => {
    const mock = await setup();
    const id = cursorId();
    const starred = mock.messages.find((message) => message.id === id)!.starred;
    await key("j", { isComposing: true });
    await key("s", { isComposing: true });
    await tick();
    expect(cursorId()).toBe(id);
    expect(mock.messages.find((message) => message.id === id)!.starred).toBe(starred);
  });
});

describe("App first run", () => {
  it("offers the demo feed when there are no sources, and starts it", async () => {
    const mock = await setup({ sources: false });
    const start = await screen.findByRole("button", { name: "Start the demo feed" });
    await fireEvent.click(screen.getByRole("button", { name: "Add a source" }));
    expect(screen.getByText(/admin screen/)).toBeTruthy();
    await fireEvent.click(start);
    await waitFor(() => expect(document.querySelectorAll(".row").length).toBeGreaterThan(0));
    expect(mock.sources.length).toBeGreaterThan(0);
  });
});
