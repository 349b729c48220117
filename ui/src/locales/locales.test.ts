import { describe, expect, it } from "vitest";
import en from "./en.json";
import zhCN from "./zh-CN.json";

type Tree = { [key: string]: string | Tree };

/** Every leaf as `dotted.key → value`; plural forms are leaves like `x.one`. */
function leaves(tree: Tree, prefix = ""): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") found.set(path, value);
    else for (const [leaf, text] of leaves(value, path)) found.set(leaf, text);
  }
  return found;
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

const catalogs = { en: leaves(en as Tree), "zh-CN": leaves(zhCN as Tree) };

describe("locale files", () => {
  it("have exactly the same keys", () => {
    const english = [...catalogs.en.keys()].sort();
    const chinese = [...catalogs["zh-CN"].keys()].sort();
    // Listing the differences makes a failure say which key is missing where.
    expect(english.filter((key) => !catalogs["zh-CN"].has(key)), "keys missing from zh-CN.json").toEqual([]);
    expect(chinese.filter((key) => !catalogs.en.has(key)), "keys missing from en.json").toEqual([]);
  });

  it("have no empty values", () => {
    for (const [language, catalog] of Object.entries(catalogs)) {
      const empty = [...catalog].filter(([, value]) => value.trim() === "").map(([key]) => key);
      expect(empty, `empty strings in ${language}`).toEqual([]);
    }
  });

  it("use the same placeholders in both languages", () => {
    const mismatched = [...catalogs.en]
      .filter(([key, value]) => JSON.stringify(placeholders(value)) !== JSON.stringify(placeholders(catalogs["zh-CN"].get(key) ?? "")))
      .map(([key]) => key);
    expect(mismatched, "a translation dropped or renamed a {placeholder}").toEqual([]);
  });

  it("give every plural both `one` and `other`", () => {
    for (const catalog of Object.values(catalogs)) {
      for (const key of catalog.keys()) {
        if (key.endsWith(".one")) expect(catalog.has(key.replace(/\.one$/, ".other")), key).toBe(true);
        if (key.endsWith(".other")) expect(catalog.has(key.replace(/\.other$/, ".one")), key).toBe(true);
      }
    }
  });
});
