import { fireEvent, render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it, vi } from "vitest";
import type { MessageDetail as Detail } from "../bindings/MessageDetail";
import { MockBackend } from "../api/mock";
import { InboxStore } from "../stores/inbox.svelte";
import MessageDetail from "./MessageDetail.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

const LINKS = [
  ["web", "https://example.com/orders/1"],
  ["plain", "http://example.com/plain"],
  ["mail", "mailto:ops@example.com"],
  ["script", "javascript:alert(1)"],
  ["data", "data:text/html,<b>x</b>"],
  ["file", "file:///etc/passwd"],
  ["relative", "/settings"],
] as const;

async function setup(changes: Partial<Detail> = {}) {
  const mock = new MockBackend({ count: 20, now: () => NOW });
  const inbox = new InboxStore(mock, { clock: () => NOW });
  await inbox.reload();
  const id = inbox.rows[0]!.id;
  await inbox.open(id);
  inbox.detail = {
    ...inbox.detail!,
    body_html: `<p>${LINKS.map(([name, href]) => `<a href="${href}">${name}</a>`).join(" ")} <a>no href</a> <a href="https://example.com/x"><strong>nested</strong></a></p>`,
    ...changes,
  };
  const onrequestdelete = vi.fn();
  const onrequesthttp = vi.fn();
  render(MessageDetail, { inbox, onrequestdelete, onrequesthttp });
  await tick();
  return { mock, inbox, id, onrequestdelete, onrequesthttp };
}

describe("MessageDetail", () => {
  it("opens only http, https and mailto links from the body, and never navigates", async () => {
    const { mock } = await setup();
    const prevented: string[] = [];
    for (const [name] of [...LINKS, ["no href"], ["nested"]] as const) {
      const link = screen.getByText(name);
      const event = new MouseEvent("click", { bubbles: true, cancelable: true });
      link.dispatchEvent(event);
      if (event.defaultPrevented) prevented.push(name);
    }
    await tick();
    expect(mock.openedLinks).toEqual([
      "https://example.com/orders/1",
      "http://example.com/plain",
      "mailto:ops@example.com",
      "https://example.com/x",
    ]);
    expect(prevented, "every link click is cancelled, openable or not").toHaveLength(LINKS.length + 2);
  });

  it("asks for confirmation before an http action and opens view actions directly", async () => {
    const { mock, onrequesthttp } = await setup({
      actions: [
        { kind: "view", label: "Open order", url: "https://shop.example.com/1", method: null },
        { kind: "http", label: "Acknowledge", url: "https://ops.example.com/ack", method: "POST" },
      ],
    });
    await fireEvent.click(screen.getByRole("button", { name: "Open order" }));
    await fireEvent.click(screen.getByRole("button", { name: "Acknowledge" }));
    expect(mock.openedLinks).toEqual(["https://shop.example.com/1"]);
    expect(onrequesthttp).toHaveBeenCalledWith(1, expect.objectContaining({ kind: "http", url: "https://ops.example.com/ack" }));
    expect(mock.httpActions).toEqual([]);
  });

  it("shows an image attachment preview only when allowed", async () => {
    await setup({ attachment: { name: "chart.png", mime: "image/png", size: 2048, url: "https://example.com/c.png", preview: false } });
    expect(screen.getByText("chart.png")).toBeTruthy();
    expect(screen.getByText("2 kB")).toBeTruthy();
    expect(document.querySelector("img")).toBeNull();
  });

  it("triages the open message and asks before deleting", async () => {
    const { inbox, id, onrequestdelete } = await setup();
    await fireEvent.click(screen.getByRole("button", { name: "Star" }));
    expect(inbox.detail?.row.starred).toBe(true);
    await fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(onrequestdelete).toHaveBeenCalledWith([id]);
  });
});
