import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { svelteTesting } from "@testing-library/svelte/vite";

// The same policy as `src-tauri/tauri.conf.json`, so `npm run preview`
// shows the built UI under the restrictions it will meet in the app.
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: data:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-src 'none'",
  "form-action 'none'",
].join("; ");

export default defineConfig({
  plugins: [svelte(), ...(process.env.VITEST ? [svelteTesting()] : [])],
  // Tauri serves `ui/dist` from its own origin; relative asset paths keep
  // the bundle independent of where it is mounted.
  base: "./",
  clearScreen: false,
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
  },
  preview: {
    host: "127.0.0.1",
    port: 4173,
    headers: { "Content-Security-Policy": contentSecurityPolicy },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Svelte's inline-style fallbacks and Vite's preload helper must not
    // depend on inline code: the CSP forbids it.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "scripts/**/*.test.mjs"],
    setupFiles: ["src/test-setup.ts"],
    restoreMocks: true,
  },
});
