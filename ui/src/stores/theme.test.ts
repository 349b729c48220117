import { afterEach, describe, expect, it, vi } from "vitest";
import { ThemeStore } from "./theme.svelte";

/** A stand-in for `matchMedia("(prefers-color-scheme: dark)")` whose answer the test changes. */
function fakeSystem(dark: boolean) {
  const listeners: ((event: MediaQueryListEvent) => void)[] = [];
  const query = {
    matches: dark,
    addEventListener: (_type: string, listener: (event: MediaQueryListEvent) => void) => listeners.push(listener),
  };
  vi.stubGlobal("matchMedia", () => query);
  return (next: boolean) => {
    query.matches = next;
    for (const listener of listeners) listener({ matches: next } as MediaQueryListEvent);
  };
}

const classes = () => [...document.documentElement.classList].sort();

describe("ThemeStore", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("puts the theme in effect on <html>, following the system while the choice is system", () => {
    const switchSystem = fakeSystem(true);
    const theme = new ThemeStore("system");
    expect(theme.effective).toBe("dark");
    expect(classes()).toEqual(["dark"]);
    switchSystem(false);
    expect(classes()).toEqual(["light"]);

    theme.set("dark");
    expect(classes()).toEqual(["dark"]);
    // An explicit choice ignores the system.
    switchSystem(false);
    expect(classes()).toEqual(["dark"]);
    expect(localStorage.getItem("herald.theme")).toBe("dark");
  });

  it("reads the saved choice and works without matchMedia", () => {
    localStorage.setItem("herald.theme", "light");
    const theme = new ThemeStore();
    expect(theme.choice).toBe("light");
    expect(classes()).toEqual(["light"]);
  });
});

/**
 * app.css as text. jsdom computes no styles and Vitest blanks CSS imports
 * (even `?raw`), so the file is read from disk; the specifier is built so
 * the UI's type check, which has no Node types, sees a plain `any`.
 */
async function stylesheet(): Promise<string> {
  const fs = await import(/* @vite-ignore */ ["node", "fs"].join(":"));
  const directory = (import.meta as { dirname?: string }).dirname;
  return fs.readFileSync(`${directory}/../app.css`, "utf8") as string;
}

/** The declarations of every top-level rule in `css` whose selector list names `selector`. */
function rulesFor(stylesheet: string, selector: string): string[] {
  const css = stylesheet.replace(/\/\*[\s\S]*?\*\//g, "");
  return [...css.matchAll(/([^{}]+)\{([^{}]*)\}/g)]
    .filter(([, selectors]) => selectors!.split(",").some((part) => part.trim() === selector))
    .map(([, , body]) => body!);
}

describe("the stylesheet's themes", () => {
  // jsdom computes no styles, so this reads app.css: the class ThemeStore
  // sets must also switch `color-scheme`, or native controls stay light.
  it("gives each theme class its color-scheme", async () => {
    const css = await stylesheet();
    expect(rulesFor(css, "html.light").join("")).toMatch(/color-scheme:\s*light;/);
    expect(rulesFor(css, "html.dark").join("")).toMatch(/color-scheme:\s*dark;/);
  });

  it("draws checkboxes and radio buttons itself, since WebKitGTK paints them light in either scheme", async () => {
    const css = await stylesheet();
    for (const selector of ['input[type="checkbox"]', 'input[type="radio"]']) {
      expect(rulesFor(css, selector).join(""), selector).toMatch(/(^|\s|;)appearance:\s*none;/);
    }
  });
});
