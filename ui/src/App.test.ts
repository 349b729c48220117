import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it, vi } from "vitest";
import { DAMAGED_DATABASE_REASON, DISK_FULL_TROUBLE, MockBackend } from "./api/mock";
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

describe("App inbox filters", () => {
  const priorities = () => [...document.querySelectorAll(".row .priority")].map((badge) => Number(badge.textContent?.trim().slice(1)));

  it("filters by minimum priority and shows the filter as a chip to clear", async () => {
    await setup();
    await fireEvent.change(screen.getByTestId("filter-priority"), { target: { value: "4" } });
    await waitFor(() => expect(priorities().length).toBeGreaterThan(0));
    expect(priorities().every((level) => level >= 4)).toBe(true);
    const chip = screen.getByTestId("filter-chip-priority");
    expect(chip.textContent).toContain("Priority ≥ 4");
    // Shortcuts still work on a filtered list.
    const first = cursorId();
    await key("j");
    expect(cursorId()).toBeLessThan(first);

    await fireEvent.click(screen.getByTestId("filter-clear-priority"));
    await waitFor(() => expect(screen.queryByTestId("filter-active")).toBeNull());
    expect((screen.getByTestId("filter-priority") as HTMLSelectElement).value).toBe("");
    await waitFor(() => expect(priorities().some((level) => level < 4)).toBe(true));
  });

  it("filters by a tag chip in the open message, and clears every filter at once", async () => {
    const mock = await setup();
    const tagged = [...mock.messages].reverse().find((message) => message.tags.includes("warning") && message.archivedAt === null)!;
    await fireEvent.click(document.querySelector(`.row[data-id="${tagged.id}"]`) ?? document.querySelector(".row")!);
    const detail = await screen.findByRole("region", { name: "Message" });
    const chipButton = await within(detail).findAllByTestId("detail-tag");
    const name = chipButton[0]!.dataset.tag!;
    await fireEvent.click(chipButton[0]!);
    await waitFor(() => expect(screen.getByTestId("filter-chip-tag").textContent).toContain(`Tag: ${name}`));
    expect((screen.getByTestId("filter-tag") as HTMLInputElement).value).toBe(name);
    await waitFor(() => expect(mock.queries.at(-1)?.tag).toBe(name));
    expect(within(detail).getAllByTestId("detail-tag")[0]!.getAttribute("aria-pressed")).toBe("true");

    await fireEvent.change(screen.getByTestId("filter-priority"), { target: { value: "5" } });
    await fireEvent.click(screen.getByTestId("filter-clear-all"));
    await waitFor(() => expect(mock.queries.at(-1)).toMatchObject({ tag: null, min_priority: null }));
    expect((screen.getByTestId("filter-tag") as HTMLInputElement).value).toBe("");
  });

  it("applies a typed tag on Enter, never mid-composition, and offers to clear an empty result", async () => {
    const mock = await setup();
    const box = screen.getByTestId("filter-tag") as HTMLInputElement;
    await fireEvent.compositionStart(box);
    await fireEvent.input(box, { target: { value: "库" } });
    await fireEvent.keyDown(box, { key: "Enter", isComposing: true });
    expect(mock.queries.at(-1)?.tag).toBeNull();
    await fireEvent.compositionEnd(box, { target: { value: "库存" } });
    await fireEvent.keyDown(box, { key: "Enter" });
    await waitFor(() => expect(mock.queries.at(-1)?.tag).toBe("库存"));

    await fireEvent.input(box, { target: { value: "no-such-tag" } });
    await fireEvent.keyDown(box, { key: "Enter" });
    await waitFor(() => expect(screen.getByText("No messages match the filters")).toBeTruthy());
    await fireEvent.click(screen.getByTestId("list-clear-filters"));
    await waitFor(() => expect(document.querySelectorAll(".row").length).toBeGreaterThan(0));
    expect(box.value).toBe("");
  });
});

describe("App screens", () => {
  it("opens the sources, settings and rules screens from the sidebar, without inbox shortcuts there", async () => {
    const mock = await setup();
    await fireEvent.click(screen.getByTestId("nav-manage-sources"));
    expect(await screen.findByTestId("sources-admin")).toBeTruthy();
    expect(screen.getByTestId("nav-manage-sources").getAttribute("aria-current")).toBe("page");
    const starred = mock.messages.map((message) => message.starred);
    await key("s");
    await key("?", { shiftKey: true });
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(mock.messages.map((message) => message.starred)).toEqual(starred);

    await fireEvent.click(screen.getByTestId("add-source"));
    expect(await screen.findByTestId("source-form")).toBeTruthy();
    // The sidebar entry leads back to the list.
    await fireEvent.click(screen.getByTestId("nav-manage-sources"));
    expect(await screen.findByTestId("sources-admin")).toBeTruthy();

    await fireEvent.click(screen.getByTestId("nav-settings"));
    expect(await screen.findByTestId("settings-view")).toBeTruthy();
    expect(await screen.findByTestId("settings-notifications")).toBeTruthy();

    await fireEvent.click(screen.getByTestId("nav-rules"));
    expect(await screen.findByTestId("rules-admin")).toBeTruthy();
    expect(screen.getByTestId("nav-rules").getAttribute("aria-current")).toBe("page");
    await waitFor(() => expect(screen.getAllByTestId("rule-row")).toHaveLength(4));
    await fireEvent.click(screen.getByTestId("add-rule"));
    expect(await screen.findByTestId("rule-form")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("nav-rules"));
    expect(await screen.findByTestId("rules-admin")).toBeTruthy();

    await fireEvent.click(screen.getByRole("button", { name: /^Inbox/ }));
    await waitFor(() => expect(document.querySelectorAll(".row").length).toBeGreaterThan(0));
  });

  it("edits the local publish API's source in the settings", async () => {
    const mock = await setup();
    const { api } = await mock.setPublishApi({ enabled: true, port: 8765 });
    await fireEvent.click(screen.getByTestId("nav-manage-sources"));
    await screen.findByTestId("sources-admin");
    const local = await waitFor(() => {
      const found = screen.getAllByTestId("source-row").find((row) => row.dataset.sourceId === String(api.source_id));
      expect(found).toBeTruthy();
      return found!;
    });
    await fireEvent.click(within(local).getByTestId("source-edit"));
    expect(await screen.findByTestId("settings-view")).toBeTruthy();
    expect(screen.getByTestId("nav-settings").getAttribute("aria-current")).toBe("page");
    const heading = await screen.findByRole("heading", { name: "Local publish API" });
    await waitFor(() => expect(document.activeElement).toBe(heading));
    expect(screen.getByTestId<HTMLInputElement>("publish-api-enabled").checked).toBe(true);
  });

  it("reloads the rules screen when the rules change elsewhere", async () => {
    const mock = await setup();
    await fireEvent.click(screen.getByTestId("nav-rules"));
    await waitFor(() => expect(screen.getAllByTestId("rule-row")).toHaveLength(4));
    // As the command line or another window would: the backend emits `rules_changed`.
    await mock.removeRule(2);
    await waitFor(() => expect(screen.getAllByTestId("rule-row").map((row) => row.dataset.ruleId)).toEqual(["1", "3", "4"]));
  });
});

describe("App notifications", () => {
  it("opens a message whose notification was clicked, from any screen and view", async () => {
    const mock = await setup();
    const archived = [...mock.messages].reverse().find((message) => message.archivedAt !== null)!;
    await fireEvent.click(screen.getByTestId("nav-settings"));
    await screen.findByTestId("settings-view");
    mock.focus(archived.id);
    await waitFor(() => expect(screen.getByTestId("detail-title").textContent).toBe(archived.title));
    expect(screen.getByTestId("nav-view-all").getAttribute("aria-current")).toBe("page");
    expect(document.querySelector(".row.cursor")?.getAttribute("data-id")).toBe(String(archived.id));
  });

  it("opens the message of a failed delivery from the rules screen", async () => {
    const mock = await setup();
    await fireEvent.click(screen.getByTestId("nav-rules"));
    await fireEvent.click(await screen.findByTestId("delivery-failure-message"));
    const message = mock.messages.find((candidate) => candidate.id === mock.routing.failures[0]!.message_id)!;
    await waitFor(() => expect(screen.getByTestId("detail-title").textContent).toBe(message.title));
  });

  it("shows do-not-disturb in the sidebar and follows changes made elsewhere", async () => {
    const mock = await setup();
    const indicator = await screen.findByTestId("dnd-indicator");
    expect(indicator.closest("nav")).not.toBeNull();
    expect(indicator.dataset.state).toBe("off");
    // As the tray would: the backend emits `quiet_changed`.
    await mock.pauseNotifications({ kind: "forever" });
    await waitFor(() => expect(screen.getByTestId("dnd-indicator").dataset.state).toBe("on"));
    expect(screen.getByTestId("dnd-text").textContent).toContain("Notifications paused until resumed");
    await fireEvent.click(screen.getByTestId("dnd-resume"));
    await waitFor(() => expect(screen.getByTestId("dnd-indicator").dataset.state).toBe("off"));
  });

  it("says once that desktop notifications are unavailable", async () => {
    const mock = await setup({ notifierError: "no notification daemon on the session bus" });
    const notice = await screen.findByTestId("notifier-error");
    expect(notice.textContent).toContain("Desktop notifications are unavailable: no notification daemon on the session bus");
    await fireEvent.click(within(notice).getByTestId("notifier-error-dismiss"));
    expect(screen.queryByTestId("notifier-error")).toBeNull();
    await mock.pauseNotifications({ kind: "forever" });
    await waitFor(() => expect(screen.getByTestId("dnd-indicator").dataset.state).toBe("on"));
    expect(screen.queryByTestId("notifier-error"), "a refresh does not bring it back").toBeNull();
  });
});

describe("App storage", () => {
  it("shows no storage banner while the database is healthy", async () => {
    const mock = new MockBackend({ count: 50, now: () => NOW });
    const asked = vi.spyOn(mock, "getStorage");
    render(App, { backend: mock, theme: new ThemeStore("light") });
    await waitFor(() => expect(asked).toHaveBeenCalledOnce());
    await asked.mock.results[0]!.value;
    await tick();
    expect(screen.queryByTestId("storage-set-aside")).toBeNull();
    expect(screen.queryByTestId("storage-trouble")).toBeNull();
  });

  it("says a damaged database was set aside above the first-run screen, until dismissed", async () => {
    await setup({ sources: false, damagedDatabase: DAMAGED_DATABASE_REASON });
    const banner = await screen.findByTestId("storage-set-aside");
    expect(banner.textContent).toContain(`It was moved to /home/you/.local/share/herald/herald.db.damaged-20261128-120000 untouched`);
    expect(await screen.findByTestId("first-run-add-source"), "the new database is empty: a first run").toBeTruthy();
    await fireEvent.click(within(banner).getByTestId("storage-set-aside-dismiss"));
    expect(screen.queryByTestId("storage-set-aside")).toBeNull();
  });

  it("shows write trouble while the backend reports it, on any screen", async () => {
    const mock = await setup();
    await fireEvent.click(screen.getByTestId("nav-settings"));
    await screen.findByTestId("settings-view");
    // As the writer would: the backend emits `storage_changed` when saving starts failing, and again when it works.
    mock.setWriteTrouble(DISK_FULL_TROUBLE);
    const banner = await screen.findByTestId("storage-trouble");
    expect(banner.textContent).toContain(`Messages cannot be saved: ${DISK_FULL_TROUBLE}`);
    mock.setWriteTrouble(null);
    await waitFor(() => expect(screen.queryByTestId("storage-trouble")).toBeNull());
  });
});

describe("App test ids", () => {
  // The WebDriver tests through the real window find the inbox by these
  // ids; renaming one breaks them, so this lists every one of them.
  const ids = (prefix: string) =>
    [...document.querySelectorAll<HTMLElement>(`[data-testid^="${prefix}"]`)].map((element) => element.dataset.testid);

  it("marks the list, the sidebar and the search", async () => {
    const mock = await setup();
    const rows = screen.getAllByTestId("message-row");
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(Number(row.dataset.id), "a row keeps its message id").toBeGreaterThan(0);
      for (const part of ["row-title", "row-star", "row-check"]) expect(within(row).getByTestId(part)).toBeTruthy();
    }
    expect(ids("nav-view-")).toEqual(["nav-view-inbox", "nav-view-unread", "nav-view-starred", "nav-view-archived", "nav-view-all"]);
    expect(ids("nav-").filter((id) => !id?.startsWith("nav-view-") && id !== "nav-source" && id !== "nav-all-sources")).toEqual([
      "nav-manage-sources",
      "nav-rules",
      "nav-settings",
    ]);
    const shown = mock.sources.filter((source) => source.removedAt === null).map((source) => source.id);
    expect(screen.getAllByTestId("nav-source").map((item) => Number(item.dataset.sourceId))).toEqual(shown);
    await waitFor(() => expect(screen.getAllByTestId("unread-badge").length).toBeGreaterThan(1));
    expect(within(screen.getByTestId("nav-view-unread")).getByTestId("unread-badge")).toBeTruthy();
    expect(screen.getByTestId("mark-all-read")).toBeTruthy();

    expect(screen.queryByTestId("search-clear")).toBeNull();
    await fireEvent.input(screen.getByTestId("search-input"), { target: { value: "disk" } });
    expect(screen.getByTestId("search-clear")).toBeTruthy();
  });

  it("marks the detail pane, its triage buttons, the snooze menu and the delete dialog", async () => {
    await setup();
    await fireEvent.click(within(screen.getAllByTestId("message-row")[0]!).getByTestId("row-title"));
    await screen.findByTestId("detail-title");
    expect(screen.getByTestId("detail-body")).toBeTruthy();
    expect(screen.queryByTestId("detail-truncated"), "only a cut body has the notice").toBeNull();
    expect(ids("triage-")).toEqual(["triage-read", "triage-star", "triage-snooze", "triage-archive", "triage-delete"]);

    await fireEvent.click(screen.getByTestId("triage-snooze"));
    const options = ids("snooze-option-");
    // "Tonight" is offered only while evening is still some time away.
    expect(options.filter((id) => id !== "snooze-option-tonight")).toEqual([
      "snooze-option-oneHour",
      "snooze-option-tomorrow",
      "snooze-option-nextWeek",
      "snooze-option-custom",
    ]);
    await fireEvent.click(screen.getByTestId("triage-snooze"));

    await fireEvent.click(screen.getByTestId("triage-delete"));
    expect(screen.getByTestId("confirm-delete").textContent).toBe("Delete");
    await fireEvent.click(screen.getByTestId("confirm-cancel"));
    expect(screen.queryByRole("dialog")).toBeNull();
  });

  it("marks the bulk bar and its actions", async () => {
    await setup();
    expect(screen.queryByTestId("bulk-bar")).toBeNull();
    await fireEvent.click(within(screen.getAllByTestId("message-row")[0]!).getByTestId("row-check"));
    const bar = await screen.findByTestId("bulk-bar");
    expect(ids("bulk-").filter((id) => id !== "bulk-bar")).toEqual([
      "bulk-read",
      "bulk-unread",
      "bulk-star",
      "bulk-archive",
      "bulk-delete",
      "bulk-clear",
    ]);
    expect(within(bar).getByTestId("bulk-read").textContent).toBe("Mark read");
  });
});

describe("App first run", () => {
  it("opens the add-source form from the welcome screen", async () => {
    const mock = await setup({ sources: false });
    await fireEvent.click(await screen.findByTestId("first-run-add-source"));
    expect((await screen.findByTestId("source-form")).textContent).toContain("Add a source");
    await fireEvent.input(screen.getByTestId("source-field-name"), { target: { value: "Alerts" } });
    await fireEvent.input(screen.getByTestId("source-field-url"), { target: { value: "https://ntfy.example.com/alerts" } });
    await fireEvent.click(screen.getByTestId("source-save"));
    await waitFor(() => expect(screen.getAllByTestId("source-row").map((row) => row.dataset.sourceName)).toEqual(["Alerts"]));
    expect(mock.sources).toHaveLength(1);
    expect(screen.getByRole("status").textContent).toBe("Added “Alerts”");
  });

  it("offers the demo feed when there are no sources, and starts it", async () => {
    const mock = await setup({ sources: false });
    const start = await screen.findByRole("button", { name: "Start the demo feed" });
    expect(start.dataset.testid).toBe("first-run-start-demo");
    await fireEvent.click(start);
    await waitFor(() => expect(document.querySelectorAll(".row").length).toBeGreaterThan(0));
    expect(mock.sources.length).toBeGreaterThan(0);
  });
});

describe("App first paint", () => {
  it("reports ready once, after the first page of rows is in the DOM", async () => {
    const mock = new MockBackend({ count: 50, now: () => NOW });
    const rowsWhenReady: number[] = [];
    render(App, {
      backend: mock,
      theme: new ThemeStore("light"),
      onready: () => rowsWhenReady.push(document.querySelectorAll(".row").length),
    });
    await waitFor(() => expect(rowsWhenReady.length).toBe(1));
    expect(rowsWhenReady[0]).toBeGreaterThan(0);
    await tick();
    expect(rowsWhenReady.length).toBe(1);
  });
});
