/**
 * Keyboard shortcuts, as a pure mapping from a key event to an action so
 * the rules (never while typing, never mid IME composition, never with a
 * modifier held) are tested without a DOM to type into.
 */
export type ShortcutAction =
  | "next"
  | "previous"
  | "open"
  | "toggleRead"
  | "star"
  | "archive"
  | "delete"
  | "search"
  | "help";

/** What the shortcuts dialog lists, in order, with the keys shown for each. */
export const SHORTCUTS: { action: ShortcutAction; keys: string[] }[] = [
  { action: "next", keys: ["j", "↓"] },
  { action: "previous", keys: ["k", "↑"] },
  { action: "open", keys: ["enter"] },
  { action: "toggleRead", keys: ["u"] },
  { action: "star", keys: ["s"] },
  { action: "archive", keys: ["e"] },
  { action: "delete", keys: ["#"] },
  { action: "search", keys: ["/"] },
  { action: "help", keys: ["?"] },
];

const KEYS: Record<string, ShortcutAction> = {
  j: "next",
  ArrowDown: "next",
  k: "previous",
  ArrowUp: "previous",
  Enter: "open",
  u: "toggleRead",
  s: "star",
  e: "archive",
  "#": "delete",
  "/": "search",
  "?": "help",
};

/** True where a key press belongs to the user's typing, not to the app. */
export function isEditable(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
}

/** Elements that act on Enter themselves (a focused button, a link). */
function activatesOnEnter(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.closest("button, a[href], summary, [role='button'], [role='menuitem']") !== null;
}

export function shortcutFor(event: KeyboardEvent): ShortcutAction | null {
  // During IME composition (Chinese pinyin, Japanese kana…) keys pick
  // candidates; 229 is what some browsers report for those key presses.
  if (event.isComposing || event.keyCode === 229) return null;
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  if (isEditable(event.target)) return null;
  const action = KEYS[event.key];
  if (!action) return null;
  if (action === "open" && activatesOnEnter(event.target)) return null;
  return action;
}
