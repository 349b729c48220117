// Text from a feed is untrusted. Svelte escapes every `{expression}`; only
// `{@html}` and the DOM's HTML sinks parse a string as markup. The message
// body, which Rust renders and sanitises (ammonia), is the one string let
// through. This test fails when another sink appears anywhere in `src`, so
// that whoever adds one has to look at what reaches it and list it here.
import { describe, expect, it } from "vitest";

/** Every source file's text, by path from here: `./components/Toolbar.svelte`. */
const SOURCES = import.meta.glob<string>(["./**/*.svelte", "./**/*.ts", "!./**/*.test.ts", "!**/node_modules/**"], {
  query: "?raw",
  import: "default",
  eager: true,
});

/** Every place a string is parsed as HTML, as `path: code`. */
const ALLOWED = ["components/MessageDetail.svelte: {@html detail.body_html}"];

const SINKS = [
  /\{\s*@html\b/,
  /innerHTML/,
  /outerHTML/,
  /insertAdjacentHTML/,
  /document\.write/,
  /\bsrcdoc\b/,
  /createContextualFragment/,
  /DOMParser/,
  /setHTMLUnsafe|parseHTMLUnsafe/,
];

function sinkLines(source: string): string[] {
  return source
    .split("\n")
    .filter((line) => SINKS.some((sink) => sink.test(line)))
    .map((line) => line.trim());
}

describe("raw HTML", () => {
  it("is rendered in one place only: the body Rust sanitised", () => {
    const paths = Object.keys(SOURCES);
    expect(paths, "the scan sees the components").toContain("./components/MessageDetail.svelte");
    const found = paths.flatMap((path) => sinkLines(SOURCES[path]!).map((code) => `${path.slice(2)}: ${code}`));
    expect(found, "a new HTML sink: render feed text as {text}, or sanitise it in Rust and list it here").toEqual(ALLOWED);
  });

  it("finds each kind of sink, so the scan cannot pass by finding nothing", () => {
    const samples = [
      "{@html row.title}",
      "{ @html row.title }",
      "<div bind:innerHTML={html} contenteditable></div>",
      "node.outerHTML = text;",
      'node.insertAdjacentHTML("beforeend", text);',
      "document.write(text);",
      "<iframe srcdoc={text}></iframe>",
      "range.createContextualFragment(text);",
      'new DOMParser().parseFromString(text, "text/html");',
      "node.setHTMLUnsafe(text);",
    ];
    for (const sample of samples) expect(sinkLines(sample), sample).toEqual([sample]);
    expect(sinkLines("<h1>{row.title}</h1>\n{@const html = 1}"), "text interpolation is not a sink").toEqual([]);
  });
});
