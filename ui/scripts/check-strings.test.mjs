import { describe, expect, it } from "vitest";
import { findLiterals } from "./check-strings.mjs";

const texts = (source) => findLiterals(source).map((found) => found.text);

describe("check-strings", () => {
  it("flags text nodes with letters, in any script", () => {
    expect(texts("<p>Hello</p>\n<span>你好</span>")).toEqual(["Hello", "你好"]);
  });

  it("accepts expressions, symbols, digits and entities", () => {
    expect(texts('<p>{t("nav.inbox")}</p><span>★ · 42 &times; {count}</span>')).toEqual([]);
  });

  it("flags literal read attributes but not expressions or other attributes", () => {
    expect(texts('<input placeholder="Search" class="search box" aria-label={t("a")} title="{x} items" />')).toEqual([
      'placeholder="Search"',
      'title="items"',
    ]);
  });

  it("skips script, style, comments and block syntax", () => {
    const source = `<script lang="ts">const label = "Inbox";</script>
<!-- A comment with words -->
{#if open}{@html body}{:else}{"text in an expression"}{/if}
<style>.a::after { content: "Words"; }</style>`;
    expect(texts(source)).toEqual([]);
  });

  it("handles braces and quotes inside expressions", () => {
    expect(texts('<b>{fn({ a: "}" }, `${"{"}`)}</b><i>Left</i>')).toEqual(["Left"]);
  });

  it("reports line numbers", () => {
    expect(findLiterals("<div>\n\n  <p>Oops</p>\n</div>")).toEqual([{ line: 3, text: "Oops" }]);
  });
});
