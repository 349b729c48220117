import { describe, expect, it } from "vitest";
import { I18n, languageFor } from "./i18n.svelte";

const NOW = new Date(2026, 2, 3, 14, 5).getTime();

function make(language: "en" | "zh-CN") {
  const i18n = new I18n(language);
  i18n.now = NOW;
  return i18n;
}

describe("i18n", () => {
  it("fills placeholders", () => {
    expect(make("en").t("detail.topic", { topic: "orders" })).toBe("Topic: orders");
    expect(make("zh-CN").t("detail.topic", { topic: "orders" })).toBe("主题：orders");
  });

  it("chooses English plural forms by count and formats the count", () => {
    const i18n = make("en");
    expect(i18n.t("list.newMessages", { count: 1 })).toBe("1 new message");
    expect(i18n.t("list.newMessages", { count: 3 })).toBe("3 new messages");
    expect(i18n.t("list.newMessages", { count: 12345 })).toBe("12,345 new messages");
    expect(i18n.t("confirm.deleteTitle", { count: 0 })).toBe("Delete 0 messages?");
  });

  it("uses the `other` form for Chinese, which has no singular", () => {
    expect(make("zh-CN").t("list.newMessages", { count: 1 })).toBe("1 条新消息");
  });

  it("splits a sentence into its own text and the values filled in, where the language puts them", () => {
    const params = { reason: "disk full", path: "/tmp/a.db" };
    expect(make("en").parts("storage.writeTrouble", { reason: "disk full" })).toEqual([
      { text: "Messages cannot be saved: ", param: null },
      { text: "disk full", param: "reason" },
    ]);
    const chinese = make("zh-CN").parts("storage.setAside", params);
    expect(chinese.filter((part) => part.param !== null)).toEqual([
      { text: "disk full", param: "reason" },
      { text: "/tmp/a.db", param: "path" },
    ]);
    expect(chinese.map((part) => part.text).join(""), "the parts make up what `t` says").toBe(make("zh-CN").t("storage.setAside", params));
    expect(make("en").parts("list.newMessages", { count: 1200 }), "plurals pick their form and format the count").toEqual([
      { text: "1,200", param: "count" },
      { text: " new messages", param: null },
    ]);
    expect(make("en").parts("detail.topic", {}), "a placeholder without a value stays text").toEqual([{ text: "Topic: {topic}", param: null }]);
  });

  it("falls back to the key itself for an unknown key", () => {
    expect(make("en").t("no.such.key" as never)).toBe("no.such.key");
  });

  it("switches language at runtime to what the backend says", () => {
    const i18n = make("en");
    expect(i18n.t("nav.inbox")).toBe("Inbox");
    i18n.apply({ choice: "system", language: "zh-CN" });
    expect(i18n.t("nav.inbox")).toBe("收件箱");
    expect(i18n.choice).toBe("system");
    expect(document.documentElement.lang).toBe("zh-CN");
    i18n.apply({ choice: "en", language: "en" });
    expect([i18n.choice, i18n.lang]).toEqual(["en", "en"]);
    i18n.apply({ choice: "tlh", language: "tlh" });
    expect([i18n.choice, i18n.lang], "an unknown choice from a newer backend reads as the system's, in English").toEqual(["system", "en"]);
  });

  it("sorts as the language does", () => {
    const names = ["重庆", "北京", "上海", "item 10", "item 9"];
    // By pinyin (bei, chong, shang), not by code point (上 < 北 < 重), and numbers by value.
    expect([...names].sort(make("zh-CN").compare)).toEqual(["北京", "重庆", "上海", "item 9", "item 10"]);
  });

  it("reads every Chinese browser language as Simplified Chinese", () => {
    expect(languageFor("zh")).toBe("zh-CN");
    expect(languageFor("zh-TW")).toBe("zh-CN");
    expect(languageFor("zh-Hans-CN")).toBe("zh-CN");
    expect(languageFor("en-GB")).toBe("en");
    expect(languageFor("fr")).toBe("en");
    expect(languageFor(undefined)).toBe("en");
  });

  it("formats relative times in the chosen language", () => {
    const en = make("en");
    const zh = make("zh-CN");
    expect(en.relative(NOW - 10_000)).toBe("now");
    expect(en.relative(NOW - 5 * 60_000)).toBe("5 minutes ago");
    expect(zh.relative(NOW - 5 * 60_000)).toBe("5分钟前");
    expect(en.relative(NOW + 2 * 3_600_000)).toBe("in 2 hours");
    expect(en.relative(NOW - 24 * 3_600_000)).toBe("yesterday");
    expect(zh.relative(NOW - 24 * 3_600_000)).toBe("昨天");
    // Over a week away it is a date, with the year only when it differs.
    expect(en.relative(new Date(2026, 0, 15).getTime())).toBe("Jan 15");
    expect(en.relative(new Date(2024, 0, 15).getTime())).toBe("Jan 15, 2024");
    expect(zh.relative(new Date(2026, 0, 15).getTime())).toBe("1月15日");
  });

  it("formats sizes", () => {
    const en = make("en");
    expect(en.bytes(512)).toBe("512 B");
    expect(en.bytes(1834)).toBe("1.8 kB");
    expect(en.bytes(5 * 1024 * 1024)).toBe("5 MB");
  });

  it("words a deadline by how far away it is", () => {
    const i18n = make("en");
    const at = (dayOffset: number, hour: number, minute = 0) => new Date(2026, 2, 3 + dayOffset, hour, minute).getTime();
    expect(i18n.deadline(at(0, 15, 5))).toBe(i18n.time(at(0, 15, 5)));
    expect(i18n.deadline(at(1, 0))).toBe("midnight");
    expect(i18n.deadline(at(1, 9))).toBe(`tomorrow ${i18n.time(at(1, 9))}`);
    expect(i18n.deadline(at(5, 9))).toBe(`${i18n.date(at(5, 9))} ${i18n.time(at(5, 9))}`);
    expect(make("zh-CN").deadline(at(1, 0))).toBe("午夜");
  });
});
