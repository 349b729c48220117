/** Small helpers for accessible forms. */

/**
 * The `aria-describedby` of an input whose hint and error (rendered by
 * `FormField` as `<id>-hint` and `<id>-error`) are present; undefined when
 * neither is, so no attribute points at an element that does not exist.
 */
export function describedBy(id: string, parts: { hint?: unknown; error?: unknown }): string | undefined {
  const ids = [parts.error ? `${id}-error` : null, parts.hint ? `${id}-hint` : null].filter(Boolean);
  return ids.length > 0 ? ids.join(" ") : undefined;
}

/**
 * A form value that is a whole number of at least 1, or empty for "no
 * limit": the number, null for empty, or undefined when it is neither.
 */
export function parseLimit(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (!/^\d+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value >= 1 && value <= 4_294_967_295 ? value : undefined;
}

/**
 * A form's keydown handler: Enter that picks an input method's candidate
 * (pinyin…) must not submit the form.
 */
export function keepImeEnter(event: KeyboardEvent): void {
  if (event.key === "Enter" && (event.isComposing || event.keyCode === 229)) event.preventDefault();
}
