import { describe, expect, it } from "vitest";
import { DAMAGED_DATABASE_REASON, DISK_FULL_TROUBLE, MockBackend } from "../api/mock";
import type { StorageView } from "../bindings/StorageView";
import { StorageStore } from "./storage.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const mock = new MockBackend({ count: 10, now: () => NOW, ...options });
  const storage = new StorageStore(mock);
  // As App does: every `storage_changed` reloads the store.
  void mock.onEvent((event) => {
    if (event.kind === "storage_changed") void storage.load();
  });
  return { mock, storage };
}

/** Lets the reload an event started answer. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("StorageStore", () => {
  it("has nothing to say about a healthy database", async () => {
    const { storage } = setup();
    await storage.load();
    expect(storage.view?.database).toBe("/home/you/.local/share/herald/herald.db");
    expect(storage.setAside).toBeNull();
    expect(storage.writeTrouble).toBeNull();
  });

  it("follows write trouble as storage_changed events report it starting and ending", async () => {
    const { mock, storage } = setup();
    await storage.load();
    mock.setWriteTrouble(DISK_FULL_TROUBLE);
    await settle();
    expect(storage.writeTrouble, "the event alone brings the trouble in").toBe(DISK_FULL_TROUBLE);
    mock.setWriteTrouble(null);
    await settle();
    expect(storage.writeTrouble, "and takes it away when writes work again").toBeNull();
  });

  it("tells where a damaged database went until that is dismissed", async () => {
    const { storage } = setup({ sources: false, damagedDatabase: DAMAGED_DATABASE_REASON });
    await storage.load();
    expect(storage.setAside).toEqual({
      to: "/home/you/.local/share/herald/herald.db.damaged-20261128-120000",
      reason: DAMAGED_DATABASE_REASON,
    });
    storage.dismissSetAside();
    expect(storage.setAside).toBeNull();
    await storage.load();
    expect(storage.setAside, "a reload does not bring a dismissed banner back").toBeNull();
  });

  it("shows only the answer to the latest load when answers cross", async () => {
    const answers: ((view: StorageView) => void)[] = [];
    const backend = { getStorage: () => new Promise<StorageView>((resolve) => answers.push(resolve)) };
    const storage = new StorageStore(backend as unknown as MockBackend);
    const view = (trouble: string | null): StorageView => ({ database: "herald.db", set_aside_to: null, set_aside_reason: null, write_trouble: trouble });
    const first = storage.load();
    const second = storage.load();
    answers[1]!(view(null));
    answers[0]!(view(DISK_FULL_TROUBLE));
    await Promise.all([first, second]);
    expect(storage.writeTrouble, "the older answer, arriving last, is stale").toBeNull();
  });
});
