import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { tick } from "svelte";
import { describe, expect, it } from "vitest";
import { DAMAGED_DATABASE_REASON, DISK_FULL_TROUBLE, MockBackend } from "../api/mock";
import { i18n } from "../stores/i18n.svelte";
import { StorageStore } from "../stores/storage.svelte";
import StorageBanner from "./StorageBanner.svelte";
import { isolationOf } from "./testing";

const NOW = Date.UTC(2026, 10, 28, 12, 0);
const SET_ASIDE_TO = "/home/you/.local/share/herald/herald.db.damaged-20261128-120000";

async function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const mock = new MockBackend({ count: 0, sources: false, now: () => NOW, ...options });
  const storage = new StorageStore(mock);
  await storage.load();
  render(StorageBanner, { storage });
  await tick();
  return { mock, storage };
}

describe("StorageBanner", () => {
  it("shows nothing while the database is healthy", async () => {
    await setup();
    expect(screen.queryByTestId("storage-set-aside")).toBeNull();
    expect(screen.queryByTestId("storage-trouble")).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("says where the damaged database went and what to do, until dismissed", async () => {
    await setup({ damagedDatabase: DAMAGED_DATABASE_REASON });
    const banner = screen.getByTestId("storage-set-aside");
    expect(banner.getAttribute("role")).toBe("alert");
    expect(banner.textContent).toContain(
      `Herald's database was damaged (${DAMAGED_DATABASE_REASON}). It was moved to ${SET_ASIDE_TO} untouched, ` +
        "and a new, empty one was started: add your sources again. The old file can be recovered with sqlite3's .recover.",
    );
    await fireEvent.click(within(banner).getByTestId("storage-set-aside-dismiss"));
    expect(screen.queryByTestId("storage-set-aside")).toBeNull();
  });

  it("words the set-aside banner without a reason when Rust gave none", async () => {
    const { storage } = await setup({ damagedDatabase: DAMAGED_DATABASE_REASON });
    storage.view = { ...storage.view!, set_aside_reason: null };
    await tick();
    const text = screen.getByTestId("storage-set-aside").textContent;
    expect(text).toContain(`Herald's database was damaged. It was moved to ${SET_ASIDE_TO} untouched`);
    expect(text).not.toContain("()");
  });

  it("says why messages cannot be saved, with no way to dismiss it, until writes work again", async () => {
    const { mock, storage } = await setup({ writeTrouble: DISK_FULL_TROUBLE });
    const banner = screen.getByTestId("storage-trouble");
    expect(banner.getAttribute("role")).toBe("alert");
    expect(banner.textContent?.trim()).toBe(`Messages cannot be saved: ${DISK_FULL_TROUBLE}`);
    expect(within(banner).queryByRole("button"), "it goes away only when the trouble does").toBeNull();
    mock.setWriteTrouble(null);
    await storage.load();
    await tick();
    expect(screen.queryByTestId("storage-trouble")).toBeNull();
  });

  it("keeps paths and reasons from Rust apart from the sentence, for bidi, in either language", async () => {
    // A file name can hold anything: right-to-left text and an override that, unisolated, would flip the sentence.
    const hostile = "\u202Eقاعدة";
    const { storage } = await setup({ damagedDatabase: `database error: ${hostile}`, writeTrouble: `locked by ${hostile}` });
    storage.view = { ...storage.view!, set_aside_to: `/data/${hostile}.db` };
    for (const language of ["en", "zh-CN"] as const) {
      i18n.lang = language;
      await tick();
      const setAside = screen.getByTestId("storage-set-aside");
      for (const text of [`/data/${hostile}.db`, `database error: ${hostile}`]) {
        expect(isolationOf(setAside, text), `${text} is in a <bdi> of its own (${language})`).not.toBeNull();
      }
      const trouble = screen.getByTestId("storage-trouble");
      expect(isolationOf(trouble, `locked by ${hostile}`), `the trouble is in a <bdi> of its own (${language})`).not.toBeNull();
    }
    expect(screen.getByTestId("storage-trouble").textContent?.trim()).toBe(`消息无法保存：locked by ${hostile}`);
  });
});
