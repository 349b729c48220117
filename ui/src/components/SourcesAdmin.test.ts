import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { MockBackend } from "../api/mock";
import { i18n } from "../stores/i18n.svelte";
import { InboxStore } from "../stores/inbox.svelte";
import { QuietStore } from "../stores/quiet.svelte";
import { SourcesStore } from "../stores/sources.svelte";
import SourcesAdmin from "./SourcesAdmin.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(options: { failing?: string[]; prepare?: (mock: MockBackend) => Promise<unknown> } = {}) {
  const { prepare, ...mockOptions } = options;
  const mock = new MockBackend({ count: 200, now: () => NOW, ...mockOptions });
  await prepare?.(mock);
  const sources = new SourcesStore(mock);
  const inbox = new InboxStore(mock, { clock: () => NOW });
  const quiet = new QuietStore(mock, { clock: () => NOW });
  await Promise.all([sources.load(), inbox.reload(), quiet.load()]);
  const ontoast = vi.fn();
  const onopenpublishapi = vi.fn();
  render(SourcesAdmin, { backend: mock, sources, inbox, quiet, ontoast, onopenpublishapi, clock: () => NOW });
  await screen.findByTestId("sources-admin");
  return { mock, sources, inbox, quiet, ontoast, onopenpublishapi };
}

function row(name: string): HTMLElement {
  const found = screen.getAllByTestId("source-row").find((element) => element.dataset.sourceName === name);
  if (!found) throw new Error(`no row for ${name}`);
  return found;
}

describe("SourcesAdmin", () => {
  it("lists every source with its live state, countdown, errors and counts", async () => {
    const { mock } = await setup();
    expect(screen.getAllByTestId("source-row").map((element) => element.dataset.sourceName)).toEqual([
      "Orders",
      "仓库传感器",
      "Risk monitor",
      "CI",
      "Home server",
      "Legacy broker",
      "Order events",
      "Cold rooms",
    ]);
    expect(screen.getAllByTestId("source-protocol").map((badge) => badge.textContent)).toEqual([
      "ntfy",
      "JSON feed",
      "Gotify",
      "ntfy",
      "Gotify",
      "JSON feed",
      "STOMP",
      "MQTT",
    ]);
    expect(within(row("Orders")).getByTestId("source-state").textContent).toBe("connected");
    // The demo's retrying source reconnects 42 s after "now".
    expect(within(row("Risk monitor")).getByTestId("source-state").textContent).toBe("waiting to reconnect · reconnecting in 42 s");
    expect(within(row("Risk monitor")).getByTestId("source-last-error").textContent).toContain("connection reset by peer");
    expect(within(row("Risk monitor")).getByTestId("source-counts").textContent).toContain("2 frames not understood");
    expect(within(row("Home server")).getByTestId("source-last-error").textContent).toContain("The server refused the credentials");
    const stored = mock.messages.filter((message) => message.sourceId === 4).length;
    expect(within(row("CI")).getByTestId("source-counts").textContent).toContain(`${stored} messages stored`);
    expect(within(row("Legacy broker")).getByTestId<HTMLInputElement>("source-enabled").checked).toBe(false);
  });

  it("pauses and resumes a source with its switch", async () => {
    const { mock } = await setup();
    const toggle = within(row("Orders")).getByTestId<HTMLInputElement>("source-enabled");
    expect(toggle.getAttribute("aria-label")).toBe("Receive messages from Orders");
    await fireEvent.click(toggle);
    await waitFor(() => expect(within(row("Orders")).getByTestId("source-state").textContent).toBe("paused"));
    expect(mock.sources.find((source) => source.id === 1)!.enabled).toBe(false);
    await fireEvent.click(within(row("Orders")).getByTestId("source-enabled"));
    await waitFor(() => expect(within(row("Orders")).getByTestId("source-state").textContent).toBe("connected"));
  });

  it("puts the switch back and says why when the backend refuses", async () => {
    await setup({ failing: ["set_source_enabled"] });
    const toggle = within(row("Orders")).getByTestId<HTMLInputElement>("source-enabled");
    await fireEvent.click(toggle);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Couldn't change “Orders”"));
    expect(within(row("Orders")).getByTestId<HTMLInputElement>("source-enabled").checked).toBe(true);
  });

  it("removes a source and keeps its messages unless told otherwise", async () => {
    const { mock, ontoast } = await setup();
    const before = mock.messages.filter((message) => message.sourceId === 1).length;
    await fireEvent.click(within(row("Orders")).getByTestId("source-remove"));
    const dialog = await screen.findByRole("dialog");
    expect(dialog.textContent).toContain("Remove “Orders”?");
    expect(within(dialog).getByTestId<HTMLInputElement>("remove-keep-messages").checked, "keeping is the default").toBe(true);
    expect(within(dialog).getByTestId("remove-keep-messages").parentElement!.textContent).toContain(`Keep its ${before} messages`);
    await fireEvent.click(within(dialog).getByTestId("remove-confirm"));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(screen.getAllByTestId("source-row").some((element) => element.dataset.sourceName === "Orders")).toBe(false);
    expect(mock.messages.filter((message) => message.sourceId === 1)).toHaveLength(before);
    expect(ontoast).toHaveBeenCalledWith("Removed “Orders”");
  });

  it("deletes the messages too when that is chosen", async () => {
    const { mock, inbox, ontoast } = await setup();
    await inbox.setSource(4);
    const doomed = mock.messages.filter((message) => message.sourceId === 4).length;
    await fireEvent.click(within(row("CI")).getByTestId("source-remove"));
    const dialog = await screen.findByRole("dialog");
    await fireEvent.click(within(dialog).getByTestId("remove-delete-messages"));
    await fireEvent.click(within(dialog).getByTestId("remove-confirm"));
    await waitFor(() => expect(ontoast).toHaveBeenCalledWith(`Removed “CI” and ${doomed} messages`));
    expect(mock.messages.some((message) => message.sourceId === 4)).toBe(false);
    // The inbox no longer shows a source that is gone.
    expect(inbox.source).toBeNull();
  });

  it("cancels a removal without touching anything", async () => {
    const { mock } = await setup();
    await fireEvent.click(within(row("CI")).getByTestId("source-remove"));
    await fireEvent.click(within(await screen.findByRole("dialog")).getByTestId("remove-cancel"));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(mock.sources.find((source) => source.id === 4)!.removedAt).toBeNull();
  });

  it("opens the form to add and to edit, and returns to the list after saving", async () => {
    const { mock, ontoast } = await setup();
    await fireEvent.click(screen.getByTestId("add-source"));
    expect((await screen.findByTestId("source-form")).textContent).toContain("Add a source");
    await fireEvent.input(screen.getByTestId("source-field-name"), { target: { value: "Pager" } });
    await fireEvent.input(screen.getByTestId("source-field-url"), { target: { value: "https://ntfy.example.com/pager" } });
    await fireEvent.click(screen.getByTestId("source-save"));
    await waitFor(() => expect(ontoast).toHaveBeenCalledWith("Added “Pager”"));
    await waitFor(() => expect(row("Pager").dataset.state).toBe("connected"));
    expect(mock.sources.some((source) => source.name === "Pager")).toBe(true);

    await fireEvent.click(within(row("Home server")).getByTestId("source-edit"));
    expect((await screen.findByTestId("source-form")).textContent).toContain("Edit “Home server”");
    await fireEvent.click(screen.getByTestId("source-cancel"));
    expect(await screen.findByTestId("sources-admin")).toBeTruthy();
  });

  it("mutes a source for an hour, shows until when, and unmutes it", async () => {
    const { mock } = await setup();
    i18n.now = NOW;
    const orders = () => row("Orders");
    expect(within(orders()).queryByTestId("source-muted")).toBeNull();
    const menu = within(orders()).getByTestId("source-mute-menu");
    expect(menu.getAttribute("aria-label")).toBe("Mute notifications from Orders");
    await fireEvent.click(menu);
    await fireEvent.click(within(orders()).getByTestId("mute-option-60"));
    await waitFor(() => expect(within(orders()).getByTestId("source-muted").textContent).toBe(`Muted until ${i18n.time(NOW + 3_600_000)}`));
    expect(mock.routing.mutes.get(1)).toBe(NOW + 3_600_000);
    expect(orders().dataset.muted).toBe("true");
    expect(within(orders()).queryByTestId("source-mute-menu"), "a muted source offers Unmute instead").toBeNull();

    await fireEvent.click(within(orders()).getByTestId("source-unmute"));
    await waitFor(() => expect(within(orders()).queryByTestId("source-muted")).toBeNull());
    expect(mock.routing.mutes.has(1)).toBe(false);

    await fireEvent.click(within(row("CI")).getByTestId("source-mute-menu"));
    expect(
      within(row("CI"))
        .getAllByRole("menuitem")
        .map((item) => item.dataset.testid),
    ).toEqual(["mute-option-60", "mute-option-tomorrow", "mute-option-forever"]);
    await fireEvent.click(within(row("CI")).getByTestId("mute-option-forever"));
    await waitFor(() => expect(within(row("CI")).getByTestId("source-muted").textContent).toBe("Muted"));
  });

  it("says why a mute failed", async () => {
    await setup({ failing: ["mute_source"] });
    await fireEvent.click(within(row("Orders")).getByTestId("source-mute-menu"));
    await fireEvent.click(within(row("Orders")).getByTestId("mute-option-tomorrow"));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Couldn't mute “Orders”"));
  });

  it("counts the messages rules dropped, only when there are any", async () => {
    await setup();
    expect(within(row("Home server")).getByTestId("source-dropped").textContent).toBe("12 dropped by rules");
    expect(within(row("Orders")).queryByTestId("source-dropped")).toBeNull();
  });

  it("lists the local publish API's source and sends its Edit to the settings", async () => {
    // Turning the publish API on makes its "local" source.
    const { mock, onopenpublishapi } = await setup({ prepare: (mock) => mock.setPublishApi({ enabled: true, port: 8765 }) });
    const local = row("Local");
    expect(local.dataset.sourceId).toBe(String(mock.publishApi.sourceId));
    expect(within(local).getByTestId("source-protocol").textContent).toBe("Local publish API");
    expect(within(local).getByTestId("source-state").textContent).toBe("connected");
    expect(within(local).getByTestId("source-local-hint").textContent).toContain("Settings ▸ Local publish API");
    // It is turned on and off, and never removed, from the settings.
    expect(within(local).queryByTestId("source-enabled")).toBeNull();
    expect(within(local).queryByTestId("source-remove")).toBeNull();
    const edit = within(local).getByTestId("source-edit");
    expect(edit.getAttribute("aria-label")).toBe("Set up Local in Settings");
    await fireEvent.click(edit);
    expect(onopenpublishapi).toHaveBeenCalledTimes(1);
    expect(screen.queryByTestId("source-form"), "no source form for it").toBeNull();
    expect(screen.getByTestId("sources-admin")).toBeTruthy();

    // Other sources still open their form.
    await fireEvent.click(within(row("Cold rooms")).getByTestId("source-edit"));
    expect((await screen.findByTestId("source-form")).textContent).toContain("Edit “Cold rooms”");
    expect(onopenpublishapi).toHaveBeenCalledTimes(1);
  });

  it("shows the local source paused while the publish API is off", async () => {
    await setup({
      prepare: async (mock) => {
        await mock.setPublishApi({ enabled: true, port: 8765 });
        await mock.setPublishApi({ enabled: false, port: 8765 });
      },
    });
    expect(within(row("Local")).getByTestId("source-state").textContent).toBe("paused");
    expect(row("Local").dataset.state).toBe("disabled");
  });

  it("has no local source until the publish API is first turned on", async () => {
    await setup();
    expect(screen.getAllByTestId("source-protocol").some((badge) => badge.textContent === "Local publish API")).toBe(false);
  });
});
