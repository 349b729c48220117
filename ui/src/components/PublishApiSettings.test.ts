import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BackendError, type HeraldEvent } from "../api/backend";
import { MockBackend } from "../api/mock";
import { i18n } from "../stores/i18n.svelte";
import PublishApiSettings from "./PublishApiSettings.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(options: { prepare?: (mock: MockBackend) => Promise<unknown>; focus?: boolean } = {}) {
  const mock = new MockBackend({ count: 20, now: () => NOW });
  await options.prepare?.(mock);
  render(PublishApiSettings, { backend: mock, focus: options.focus ?? false });
  await screen.findByTestId("publish-api-enabled");
  return { mock };
}

const field = <T extends HTMLElement = HTMLInputElement>(id: string) => screen.getByTestId(id) as T;
const enable = () => fireEvent.click(field("publish-api-enabled"));

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("PublishApiSettings", () => {
  it("follows the listener's state as its source reports it", async () => {
    let deliver: ((event: HeraldEvent) => void) | null = null;
    const { mock } = await setup({
      prepare: async (mock) =>
        vi.spyOn(mock, "onEvent").mockImplementation(async (handler) => {
          deliver = handler;
          return () => {};
        }),
    });
    await enable();
    await screen.findByTestId("publish-api-token");
    const listening = await mock.getPublishApi();
    const reads = vi.spyOn(mock, "getPublishApi").mockResolvedValue({
      ...listening,
      state: "retrying",
      last_error: "cannot listen on 127.0.0.1:8765: Address in use",
    });
    deliver!({ kind: "source_status", source: (listening.source_id ?? 0) + 1000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(reads, "another source's event reads nothing").not.toHaveBeenCalled();
    deliver!({ kind: "source_status", source: listening.source_id! });
    await waitFor(() => expect(field("publish-api-last-error").textContent).toContain("Address in use"));
    expect(field("publish-api-state").textContent!.trim()).toBe("Status: waiting to reconnect");
    expect(screen.getByTestId("publish-api-token"), "the one-time token stays until dismissed").toBeTruthy();
  });

  it("is off on port 8765 at first, with its endpoint and an example", async () => {
    await setup();
    const section = screen.getByTestId("settings-publish-api");
    expect(within(section).getByRole("heading").textContent).toBe("Local publish API");
    expect(field("publish-api-enabled").checked).toBe(false);
    expect(field("publish-api-port").value).toBe("8765");
    expect(field("publish-api-url").textContent).toBe("http://127.0.0.1:8765/publish");
    expect(field("publish-api-state").textContent!.trim()).toBe("Off: not listening");
    expect(field("publish-api-example").textContent).toBe(
      'curl -H "Authorization: Bearer <token>" -d "Backup finished" http://127.0.0.1:8765/publish/backups\n' +
        'herald publish backups "Backup finished"',
    );
    expect(screen.queryByTestId("publish-api-token"), "no token is ever read back").toBeNull();
    expect(screen.queryByTestId("publish-api-regenerate"), "nothing to regenerate while it is off").toBeNull();
  });

  it("shows the token made by the first switch-on once, until dismissed", async () => {
    const { mock } = await setup();
    await enable();
    const token = await screen.findByTestId<HTMLInputElement>("publish-api-token");
    expect(mock.publishInputs).toEqual([{ enabled: true, port: 8765 }]);
    expect(token.value).toBe(mock.publishApi.token);
    expect(token.readOnly).toBe(true);
    expect(screen.getByTestId("publish-api-new-token").textContent).toContain(
      "Shown only now; herald publish on this computer finds it by itself.",
    );
    expect(field("publish-api-enabled").checked).toBe(true);
    expect(field("publish-api-state").textContent!.trim()).toBe("Listening on 127.0.0.1:8765");

    await fireEvent.click(field("publish-api-dismiss-token"));
    expect(screen.queryByTestId("publish-api-token")).toBeNull();

    // Off and on again: the token stays, and is not shown again.
    await enable();
    await waitFor(() => expect(field("publish-api-enabled").checked).toBe(false));
    await enable();
    await waitFor(() => expect(mock.publishInputs).toHaveLength(3));
    await waitFor(() => expect(field("publish-api-state").textContent!.trim()).toBe("Listening on 127.0.0.1:8765"));
    expect(screen.queryByTestId("publish-api-token")).toBeNull();
  });

  it("asks before regenerating the token, then shows the new one", async () => {
    const { mock } = await setup({ prepare: (mock) => mock.setPublishApi({ enabled: true, port: 8765 }) });
    const old = mock.publishApi.token;
    expect(screen.queryByTestId("publish-api-token")).toBeNull();

    await fireEvent.click(field("publish-api-regenerate"));
    const dialog = await screen.findByRole("dialog");
    expect(dialog.textContent).toContain("Regenerate the token?");
    expect(dialog.textContent).toContain("The current token stops working at once.");
    await fireEvent.click(within(dialog).getByTestId("publish-api-regenerate-cancel"));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(mock.publishApi.token, "cancelling changes nothing").toBe(old);

    await fireEvent.click(field("publish-api-regenerate"));
    await fireEvent.click(within(await screen.findByRole("dialog")).getByTestId("publish-api-regenerate-confirm"));
    const token = await screen.findByTestId<HTMLInputElement>("publish-api-token");
    expect(token.value).toBe(mock.publishApi.token);
    expect(token.value).not.toBe(old);
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
  });

  it("refuses a port out of range on the field, and sends nothing", async () => {
    const { mock } = await setup();
    await fireEvent.input(field("publish-api-port"), { target: { value: "80" } });
    await fireEvent.click(field("publish-api-apply"));
    expect(field("publish-api-error-port").textContent).toBe("Enter a whole number from 1024 to 65535");
    expect(field("publish-api-port").getAttribute("aria-invalid")).toBe("true");
    await enable();
    expect(field("publish-api-enabled").checked, "the switch stays off").toBe(false);
    expect(mock.publishInputs).toEqual([]);
    await fireEvent.input(field("publish-api-port"), { target: { value: "9000" } });
    expect(screen.queryByTestId("publish-api-error-port"), "typing clears the error").toBeNull();
  });

  it("puts the backend's port error on the field", async () => {
    const { mock } = await setup();
    vi.spyOn(mock, "setPublishApi").mockRejectedValueOnce(new BackendError("invalid", "port 9000 is reserved", "port"));
    await fireEvent.input(field("publish-api-port"), { target: { value: "9000" } });
    await enable();
    await waitFor(() => expect(field("publish-api-error-port").textContent).toBe("port 9000 is reserved"));
    expect(field("publish-api-port").getAttribute("aria-invalid")).toBe("true");
    expect(field("publish-api-enabled").checked).toBe(false);
    expect(screen.queryByTestId("publish-api-token")).toBeNull();
  });

  it("moves the port and says when it is taken", async () => {
    const { mock } = await setup({ prepare: (mock) => mock.setPublishApi({ enabled: true, port: 8765 }) });
    expect(field<HTMLButtonElement>("publish-api-apply").disabled, "nothing to apply yet").toBe(true);
    await fireEvent.input(field("publish-api-port"), { target: { value: "8080" } });
    await fireEvent.click(field("publish-api-apply"));
    await waitFor(() => expect(field("publish-api-url").textContent).toBe("http://127.0.0.1:8080/publish"));
    expect(mock.publishInputs.at(-1)).toEqual({ enabled: true, port: 8080 });
    expect(field("publish-api-state").textContent!.trim()).toBe("Status: waiting to reconnect");
    expect(field("publish-api-last-error").textContent).toContain("Address already in use");
    expect(field("publish-api-example").textContent).toContain("http://127.0.0.1:8080/publish/backups");
  });

  it("copies the endpoint and the token", async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    await setup();
    await fireEvent.click(field("publish-api-copy-url"));
    await waitFor(() => expect(field("publish-api-copied-url").textContent).toBe("Copied"));
    expect(writeText).toHaveBeenCalledWith("http://127.0.0.1:8765/publish");
    await enable();
    const token = await screen.findByTestId<HTMLInputElement>("publish-api-token");
    await fireEvent.click(field("publish-api-copy-token"));
    await waitFor(() => expect(writeText).toHaveBeenLastCalledWith(token.value));
    expect(field("publish-api-copied-token").textContent).toBe("Copied");

    writeText.mockRejectedValueOnce(new Error("denied"));
    await fireEvent.click(field("publish-api-copy-url"));
    await waitFor(() => expect(field("publish-api-copied-url").textContent).toBe("Couldn't copy; select the text and copy it yourself."));
  });

  it("says why the backend refused to regenerate", async () => {
    const { mock } = await setup({ prepare: (mock) => mock.setPublishApi({ enabled: true, port: 8765 }) });
    vi.spyOn(mock, "regeneratePublishToken").mockRejectedValueOnce(new BackendError("storage", "keyring is locked"));
    await fireEvent.click(field("publish-api-regenerate"));
    await fireEvent.click(within(await screen.findByRole("dialog")).getByTestId("publish-api-regenerate-confirm"));
    await waitFor(() => expect(field("publish-api-error").textContent).toBe("keyring is locked"));
    expect(screen.queryByTestId("publish-api-token")).toBeNull();
  });

  it("focuses its heading when opened for it", async () => {
    await setup({ focus: true });
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("heading", { name: "Local publish API" })));
  });

  it("speaks Chinese", async () => {
    i18n.lang = "zh-CN";
    await setup();
    expect(screen.getByRole("heading").textContent).toBe("本地发布 API");
    expect(field("publish-api-example").textContent).toContain('-d "备份完成"');
  });
});
