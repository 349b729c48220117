#!/usr/bin/env node
// Fails when a .svelte file shows user-facing text that is not from the
// locale files: a text node with letters in it, or a literal with letters in
// an attribute people read (placeholder, title, aria-label, alt…). Text from
// `{expressions}` is fine: that is where `t("…")` goes. Scripts, styles and
// comments are not markup and are skipped.
//
//   node scripts/check-strings.mjs [dir]    (default: src)

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Attributes whose values are read or heard by people. */
export const READ_ATTRIBUTES = new Set([
  "placeholder",
  "title",
  "alt",
  "label",
  "aria-label",
  "aria-description",
  "aria-placeholder",
  "aria-roledescription",
  "aria-valuetext",
]);

const LETTER = /\p{L}/u;
const ENTITY = /&(?:#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);/gi;

/** Replaces a match with spaces, keeping newlines so line numbers stay right. */
function blank(text) {
  return text.replace(/[^\n]/g, " ");
}

function stripNonMarkup(source) {
  return source
    .replace(/<!--[\s\S]*?-->/g, blank)
    .replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, blank)
    .replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, blank);
}

/** Index just past the `}` that closes the `{` at `start`, skipping strings. */
function skipExpression(text, start) {
  let depth = 0;
  for (let index = start; index < text.length; index += 1) {
    const character = text[index];
    if (character === '"' || character === "'" || character === "`") {
      index = skipString(text, index);
    } else if (character === "{") {
      depth += 1;
    } else if (character === "}") {
      depth -= 1;
      if (depth === 0) return index + 1;
    }
  }
  return text.length;
}

function skipString(text, start) {
  const quote = text[start];
  for (let index = start + 1; index < text.length; index += 1) {
    const character = text[index];
    if (character === "\\") index += 1;
    else if (quote === "`" && character === "$" && text[index + 1] === "{") index = skipExpression(text, index + 1) - 1;
    else if (character === quote) return index;
  }
  return text.length;
}

function hasLetters(literal) {
  return LETTER.test(literal.replace(ENTITY, ""));
}

function lineOf(text, index) {
  let line = 1;
  for (let position = 0; position < index; position += 1) if (text[position] === "\n") line += 1;
  return line;
}

/**
 * Parses one tag starting at `<`; reports literal read attributes. Returns
 * the index after `>`.
 */
function scanTag(text, start, report) {
  let index = start + 1;
  while (index < text.length && text[index] !== ">") {
    const character = text[index];
    if (character === "{") {
      index = skipExpression(text, index);
      continue;
    }
    const name = /^[^\s=>/{"']+/.exec(text.slice(index))?.[0];
    if (!name) {
      index += 1;
      continue;
    }
    index += name.length;
    while (/\s/.test(text[index] ?? "")) index += 1;
    if (text[index] !== "=") continue;
    index += 1;
    while (/\s/.test(text[index] ?? "")) index += 1;
    const valueStart = index;
    let literal = "";
    if (text[index] === '"' || text[index] === "'") {
      const quote = text[index];
      index += 1;
      while (index < text.length && text[index] !== quote) {
        if (text[index] === "{") index = skipExpression(text, index);
        else literal += text[index++];
      }
      index += 1;
    } else if (text[index] === "{") {
      index = skipExpression(text, index);
    } else {
      const unquoted = /^[^\s>]+/.exec(text.slice(index))?.[0] ?? "";
      literal = unquoted;
      index += unquoted.length;
    }
    if (READ_ATTRIBUTES.has(name.toLowerCase()) && hasLetters(literal)) {
      report(valueStart, `${name}="${literal.trim()}"`);
    }
  }
  return index + 1;
}

/** Every user-facing literal in a .svelte source: `{ line, text }`. */
export function findLiterals(source) {
  const text = stripNonMarkup(source);
  const found = [];
  const report = (index, literal) => found.push({ line: lineOf(text, index), text: literal });
  let pending = "";
  let pendingStart = 0;
  const flush = () => {
    if (hasLetters(pending)) report(pendingStart + pending.search(/\S/), pending.trim());
    pending = "";
  };
  for (let index = 0; index < text.length; ) {
    const character = text[index];
    if (character === "{") {
      flush();
      index = skipExpression(text, index);
    } else if (character === "<" && /[a-zA-Z/!]/.test(text[index + 1] ?? "")) {
      flush();
      index = scanTag(text, index, report);
    } else {
      if (pending === "") pendingStart = index;
      pending += character;
      index += 1;
    }
  }
  flush();
  return found;
}

function svelteFiles(directory) {
  const files = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...svelteFiles(path));
    else if (entry.name.endsWith(".svelte")) files.push(path);
  }
  return files;
}

function main() {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const directory = process.argv[2] ?? join(root, "src");
  const files = svelteFiles(directory);
  let problems = 0;
  for (const file of files) {
    for (const { line, text } of findLiterals(readFileSync(file, "utf8"))) {
      problems += 1;
      console.error(`${relative(root, file)}:${line}: user-facing text outside the locale files: ${text}`);
    }
  }
  if (problems > 0) {
    console.error(`check-strings: ${problems} literal string(s); move them to src/locales/*.json and use t("…")`);
    process.exit(1);
  }
  console.log(`check-strings: ${files.length} .svelte files, no literal user-facing text`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
