// Every test starts from English and no saved preferences.
import { beforeEach } from "vitest";
import { i18n } from "./stores/i18n.svelte";

beforeEach(() => {
  localStorage.clear();
  i18n.lang = "en";
  i18n.choice = "system";
  i18n.now = Date.now();
  document.documentElement.className = "";
});
