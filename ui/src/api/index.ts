/**
 * Picks the backend: the Tauri commands inside the app, the in-memory mock
 * in an ordinary browser (`npm run dev`). Both are loaded lazily, so the
 * app's bundle never runs mock code and a browser never touches Tauri's IPC.
 */
import type { Backend } from "./backend";

export function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

export async function chooseBackend(): Promise<Backend> {
  if (insideTauri()) {
    const { tauriBackend } = await import("./tauri");
    return tauriBackend();
  }
  const { MockBackend, mockOptionsFromUrl } = await import("./mock");
  const mock = new MockBackend(mockOptionsFromUrl(window.location.search));
  // `?live=0` keeps the mock inbox still, for screenshots.
  if (new URLSearchParams(window.location.search).get("live") !== "0") mock.startLiveFeed();
  return mock;
}
