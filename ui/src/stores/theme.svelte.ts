/**
 * Light, dark or the system's choice. The theme in effect is a class on
 * <html> (`light` or `dark`), which is the one place the stylesheet reads:
 * for "system" this store follows `prefers-color-scheme` and keeps the class
 * in step when the system switches.
 */
export const THEMES = ["system", "light", "dark"] as const;
export type Theme = (typeof THEMES)[number];

const STORAGE_KEY = "herald.theme";
const DARK_QUERY = "(prefers-color-scheme: dark)";

function storedTheme(): Theme | null {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    return stored && (THEMES as readonly string[]).includes(stored) ? (stored as Theme) : null;
  } catch {
    return null;
  }
}

function systemQuery(): MediaQueryList | null {
  return typeof window !== "undefined" && typeof window.matchMedia === "function" ? window.matchMedia(DARK_QUERY) : null;
}

export class ThemeStore {
  choice = $state<Theme>("system");
  /** What the system prefers; only matters while the choice is "system". */
  systemDark = $state(false);
  /** The theme in effect. */
  effective = $derived<"light" | "dark">(this.choice === "system" ? (this.systemDark ? "dark" : "light") : this.choice);

  constructor(initial?: Theme) {
    this.choice = initial ?? storedTheme() ?? "system";
    const query = systemQuery();
    if (query) {
      this.systemDark = query.matches;
      // The store lives as long as the page, so the listener does too.
      query.addEventListener("change", (event) => {
        this.systemDark = event.matches;
        this.apply();
      });
    }
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
    root.classList.toggle("light", this.effective === "light");
    root.classList.toggle("dark", this.effective === "dark");
  }
}
