import { fireEvent, render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it, vi } from "vitest";
import type { MessageDetail as Detail } from "../bindings/MessageDetail";
import type { MessageRow } from "../bindings/MessageRow";
import { MockBackend } from "../api/mock";
import { i18n } from "../stores/i18n.svelte";
import { InboxStore } from "../stores/inbox.svelte";
import MessageDetail from "./MessageDetail.svelte";
import { TAG_LIMIT } from "./TagList.svelte";
import { isolationOf } from "./testing";

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

async function setup(changes: Partial<Detail> = {}, rowChanges: Partial<MessageRow> = {}) {
  const mock = new MockBackend({ count: 20, now: () => NOW });
  const inbox = new InboxStore(mock, { clock: () => NOW });
  await inbox.reload();
  const id = inbox.rows[0]!.id;
  await inbox.open(id);
  const opened = inbox.detail!;
  inbox.detail = {
    ...opened,
    body_html: `<p>${LINKS.map(([name, href]) => `<a href="${href}">${name}</a>`).join(" ")} <a>no href</a> <a href="https://example.com/x"><strong>nested</strong></a></p>`,
    ...changes,
    row: { ...opened.row, ...rowChanges },
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

  it("says when the body is cut, and that nothing is lost", async () => {
    await setup({ body_truncated: true });
    const notice = screen.getByTestId("detail-truncated");
    expect(notice.textContent?.trim()).toBe(
      "This message is longer than Herald shows; the first 200,000 characters are shown. Export keeps all of it.",
    );
    expect(notice.getAttribute("role")).toBe("note");
    expect(
      screen.getByTestId("detail-body").compareDocumentPosition(notice) & Node.DOCUMENT_POSITION_FOLLOWING,
      "the notice sits under the body, where the text stops",
    ).toBeTruthy();

    i18n.lang = "zh-CN";
    await tick();
    expect(notice.textContent).toContain("只显示前 200,000 个字符");
  });

  it("shows no notice for a body shown whole", async () => {
    await setup({ body_truncated: false });
    expect(screen.queryByTestId("detail-truncated")).toBeNull();
  });

  it("shows a bounded number of a message's 100,000 tags, wrapping, and starts over for the next message", async () => {
    const { inbox } = await setup();
    const tags = Array.from({ length: 100_000 }, (_, index) => ({ name: `tag${index}`, emoji: null }));
    const first = inbox.detail!;
    inbox.detail = { ...first, row: { ...first.row, tags: [] } };
    await tick();
    const untagged = document.querySelectorAll(".detail *").length;
    inbox.detail = { ...first, row: { ...first.row, tags } };
    await tick();
    expect(screen.getAllByTestId("detail-tag")).toHaveLength(TAG_LIMIT);
    expect(
      document.querySelectorAll(".detail *").length - untagged,
      "the pane's DOM grows by the chips shown (a label in each) and the count, not by the tags",
    ).toBeLessThanOrEqual(2 * TAG_LIMIT + 4);
    expect(document.querySelector(".detail .tags .wrap"), "tags wrap in the detail pane").not.toBeNull();
    const more = screen.getByTestId("tag-more");
    expect(more.textContent).toBe("+99,950 more");
    await fireEvent.click(more);
    expect(screen.getAllByTestId("detail-tag")).toHaveLength(2 * TAG_LIMIT);

    const other = inbox.rows.find((row) => row.id !== first.row.id)!;
    inbox.detail = { ...first, row: { ...other, tags } };
    await tick();
    expect(screen.getAllByTestId("detail-tag"), "tags revealed for one message stay with it").toHaveLength(TAG_LIMIT);
  });

  it("isolates the source, title, tags, action labels and attachment name from the text around them", async () => {
    // Rust turns these controls into U+FFFD; the pane must hold even if one gets through.
    const fields = {
      source: "\u202Eops-feed",
      title: "invoice\u202Efdp.exe",
      tag: "\u2067deploy",
      action: "\u202BOpen order",
      attachment: "report\u202Efdp.exe",
    };
    await setup(
      {
        topic: "\u202Ealerts",
        actions: [{ kind: "view", label: fields.action, url: "https://shop.example.com/1", method: null }],
        attachment: { name: fields.attachment, mime: "application/pdf", size: 10, url: "https://example.com/r", preview: false },
      },
      { source_name: fields.source, title: fields.title, tags: [{ name: fields.tag, emoji: null }] },
    );
    const pane = screen.getByTestId("detail-body").closest("article")!;
    for (const [field, text] of Object.entries(fields)) {
      expect(isolationOf(pane, text), `${field} is in an element of its own with dir="auto"`).not.toBeNull();
    }
    // The topic sits in a sentence of the UI's ("Topic: …"); the sentence is isolated as a whole.
    expect(pane.querySelector(".topic")?.getAttribute("dir"), "the topic line is isolated").toBe("auto");
  });

  it("shows a megabyte title with no spaces whole, for CSS to wrap anywhere", async () => {
    const title = `${"库".repeat(500_000)}😀${"x".repeat(500_000)}`;
    await setup({}, { title });
    expect(screen.getByTestId("detail-title").textContent, "the reading pane is where the whole title is read").toBe(title);
  });

  it("renders NUL, BEL and an escape sequence in a title as plain text", async () => {
    const title = "a\u0000b\u0007c\u001b[2Jd";
    await setup({}, { title });
    const shown = screen.getByTestId("detail-title");
    expect(shown.textContent).toBe(title);
    expect(shown.children, "no element is made from them").toHaveLength(0);
  });

  it("shows click and action links it will not open as text, with nothing to click", async () => {
    const refused = {
      click: " JaVaScRiPt:alert(1)",
      data: "data:text/html,<script>alert(1)</script>",
      vbscript: "\tVBScript:msgbox(1)",
      hook: "javascript:fetch('//evil.example')",
    };
    const { mock, onrequesthttp } = await setup({
      click: refused.click,
      actions: [
        { kind: "view", label: "Data", url: refused.data, method: null },
        { kind: "view", label: "VB", url: refused.vbscript, method: null },
        { kind: "http", label: "Hook", url: refused.hook, method: "POST" },
        { kind: "view", label: "Fine", url: "https://example.com/ok", method: null },
      ],
    });
    const actions = screen.getByRole("group", { name: "Actions" });
    expect(Array.from(actions.querySelectorAll("button"), (button) => button.textContent?.trim()), "only the https action is a button").toEqual(["Fine"]);
    expect(actions.querySelector("a, [href], [onclick], [tabindex]"), "nothing else can be clicked or focused").toBeNull();

    const shown = screen.getAllByTestId("refused-link");
    expect(shown.map((element) => element.querySelector("code")?.textContent)).toEqual([refused.click, refused.data, refused.vbscript, refused.hook]);
    expect(shown.map((element) => element.querySelector("span")?.textContent)).toEqual(["Link", "Data", "VB", "Hook"]);
    expect(shown[0]!.title).toBe("Not opened: Herald opens only http, https and mailto links");
    for (const element of shown) await fireEvent.click(element.querySelector("code")!);
    expect(mock.openedLinks).toEqual([]);
    expect(onrequesthttp).not.toHaveBeenCalled();

    i18n.lang = "zh-CN";
    await tick();
    expect(shown[0]!.title).toBe("未打开：Herald 只打开 http、https 和 mailto 链接");
  });

  it("triages the open message and asks before deleting", async () => {
    const { inbox, id, onrequestdelete } = await setup();
    await fireEvent.click(screen.getByRole("button", { name: "Star" }));
    expect(inbox.detail?.row.starred).toBe(true);
    await fireEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(onrequestdelete).toHaveBeenCalledWith([id]);
  });
});
