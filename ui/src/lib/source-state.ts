/**
 * How a source's live state is shown: the coloured dot and the locale key of
 * its label, shared by the sidebar and the sources screen, and the retry
 * countdown. States come from Rust as strings; one this UI does not know
 * yet reads "unknown" rather than showing a raw identifier.
 */
export const KNOWN_STATES = ["connected", "connecting", "retrying", "auth_failed", "disabled", "stopped", "idle"] as const;
export type KnownState = (typeof KNOWN_STATES)[number];

export function stateKey(state: string): KnownState | "unknown" {
  return (KNOWN_STATES as readonly string[]).includes(state) ? (state as KnownState) : "unknown";
}

export type Dot = "ok" | "pending" | "failed" | "off";

export function dotClass(state: string): Dot {
  if (state === "connected") return "ok";
  if (state === "connecting" || state === "retrying") return "pending";
  if (state === "auth_failed") return "failed";
  return "off";
}

/** Whole minutes and seconds left until `until`, rounded up; null once it has passed. */
export function countdown(until: number, now: number): { minutes: number; seconds: number } | null {
  const remaining = Math.ceil((until - now) / 1000);
  if (remaining <= 0) return null;
  return { minutes: Math.floor(remaining / 60), seconds: remaining % 60 };
}
