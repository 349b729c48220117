/**
 * Light, dark or the system's choice. The choice is a class on <html>
 * (`light` or `dark`); with neither, the stylesheet follows
 * `prefers-color-scheme`, which also keeps the first paint right before any
 * script has run.
 */
export const THEMES = ["system", "light", "dark"] as const;
export type Theme = (typeof THEMES)[number];

const STORAGE_KEY = "herald.theme";

function storedTheme(): Theme | null {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    return stored && (THEMES as readonly string[]).includes(stored) ? (stored as Theme) : null;
  } catch {
    return null;
  }
}

export class ThemeStore {
  choice = $state<Theme>("system");

  constructor(initial?: Theme) {
    this.choice = initial ?? storedTheme() ?? "system";
    this.apply();
  }

  set(theme: Theme): void {
    this.choice = theme;
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, theme);
    } catch {
      // Without storage the choice lasts for this session only.
    }
    this.apply();
  }

  private apply(): void {
    if (typeof document === "undefined") return;
    const root = document.documentElement;
    root.classList.toggle("light", this.choice === "light");
    root.classList.toggle("dark", this.choice === "dark");
  }
}
