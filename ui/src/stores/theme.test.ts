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
