import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { chooseBackend, insideTauri } from "./api";
import { i18n, LANGUAGES, type Language } from "./stores/i18n.svelte";
import { ThemeStore, THEMES, type Theme } from "./stores/theme.svelte";

// In a browser with the mock backend, `?lang=zh-CN&theme=dark` picks the
// language and theme for this page, for screenshots and quick checks.
function devOverrides(theme: ThemeStore): void {
  if (insideTauri()) return;
  const params = new URLSearchParams(window.location.search);
  const lang = params.get("lang");
  if (lang && (LANGUAGES as readonly string[]).includes(lang)) i18n.lang = lang as Language;
  const chosen = params.get("theme");
  if (chosen && (THEMES as readonly string[]).includes(chosen)) theme.set(chosen as Theme);
}

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

const theme = new ThemeStore();
devOverrides(theme);
const backend = await chooseBackend();
// The first paint is in the chosen language: the backend keeps the choice,
// shared with the tray and notifications. A `?lang=` override (browser
// preview) wins, and a failure leaves the browser's language.
if (insideTauri() || !new URLSearchParams(window.location.search).has("lang")) {
  await backend
    .getLanguage()
    .then((view) => i18n.apply(view))
    .catch((reason: unknown) => console.error("get_language failed", reason));
}
// The window starts hidden so it never flashes an empty frame; it shows
// itself once the first screen's data is in the DOM. A timer, not an
// animation frame: a hidden webview may never run animation frames.
function onready(): void {
  setTimeout(() => {
    backend.windowReady().catch((reason: unknown) => console.error("window_ready failed", reason));
  }, 0);
}
mount(App, { target, props: { backend, theme, onready } });
