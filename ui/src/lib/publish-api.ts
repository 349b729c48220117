/**
 * The local publish API's rules, shared by the settings section and the
 * mock backend: the ports it may listen on (`set_publish_api` refuses
 * others with `field: "port"`).
 */

/** The port a fresh install uses. */
export const DEFAULT_PUBLISH_PORT = 8765;
/** Below 1024 needs root; 65535 is the last port there is. */
export const PUBLISH_PORT_RANGE = { min: 1024, max: 65_535 } as const;

/** A port as typed: the number, or null when it is not a whole number in range. */
export function parsePort(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return null;
  const port = Number(trimmed);
  return port >= PUBLISH_PORT_RANGE.min && port <= PUBLISH_PORT_RANGE.max ? port : null;
}
