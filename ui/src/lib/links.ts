/**
 * Links in a message body never navigate the webview. A click on one is
 * cancelled, and only http, https and mailto links are handed to the
 * backend, which opens them in the system browser or mail client.
 */
const OPENABLE = new Set(["http:", "https:", "mailto:"]);

/** The URL if it is absolute and http, https or mailto; otherwise null. */
export function openableUrl(href: string | null | undefined): string | null {
  if (!href) return null;
  try {
    const url = new URL(href.trim());
    return OPENABLE.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * A Svelte action for the body container: every click or middle click on
 * a link inside it is stopped; openable ones go to `open`.
 */
export function interceptLinks(node: HTMLElement, open: (url: string) => void) {
  let handler = open;
  const listener = (event: MouseEvent) => {
    const target = event.target instanceof Element ? event.target : null;
    const anchor = target?.closest("a");
    if (!anchor || !node.contains(anchor)) return;
    event.preventDefault();
    if (event.type === "auxclick" && event.button !== 1) return;
    const url = openableUrl(anchor.getAttribute("href"));
    if (url) handler(url);
  };
  node.addEventListener("click", listener);
  node.addEventListener("auxclick", listener);
  return {
    update(next: (url: string) => void) {
      handler = next;
    },
    destroy() {
      node.removeEventListener("click", listener);
      node.removeEventListener("auxclick", listener);
    },
  };
}
