/** Helpers for the components' tests with hostile feed content. */

/**
 * The element that isolates `text` from the text around it, for bidi: the
 * closest element holding it that has `dir="auto"` or is a <bdi>. Null when
 * there is none, or when that element holds more than `text`: it would then
 * isolate the UI's own text together with the feed's, and a right-to-left
 * override in the feed's text could still reorder the UI's.
 */
export function isolationOf(root: Element, text: string): Element | null {
  const holders = Array.from(root.querySelectorAll("*")).filter((element) => element.textContent?.includes(text));
  const innermost = holders.find((element) => !Array.from(element.children).some((child) => child.textContent?.includes(text)));
  const isolating = innermost?.closest('[dir="auto"], bdi');
  return isolating && root.contains(isolating) && isolating.textContent?.trim() === text ? isolating : null;
}
