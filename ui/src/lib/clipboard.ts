/**
 * Copies text to the clipboard; false when the webview refuses (no
 * permission, no clipboard), so the caller can say to copy it by hand.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (!globalThis.navigator?.clipboard) return false;
    await globalThis.navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
