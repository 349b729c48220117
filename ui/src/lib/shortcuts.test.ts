import { describe, expect, it } from "vitest";
import { shortcutFor } from "./shortcuts";

function press(key: string, options: KeyboardEventInit & { target?: HTMLElement; keyCode?: number } = {}) {
  const target = options.target ?? document.body;
  let seen: KeyboardEvent | null = null;
  const listener = (event: Event) => (seen = event as KeyboardEvent);
  target.addEventListener("keydown", listener);
  const event = new KeyboardEvent("keydown", { key, bubbles: true, ...options });
  if (options.keyCode !== undefined) Object.defineProperty(event, "keyCode", { value: options.keyCode });
  target.dispatchEvent(event);
  target.removeEventListener("keydown", listener);
  return shortcutFor(seen!);
}

describe("shortcutFor", () => {
  it("maps the documented keys", () => {
    expect(press("j")).toBe("next");
    expect(press("k")).toBe("previous");
    expect(press("ArrowDown")).toBe("next");
    expect(press("Enter")).toBe("open");
    expect(press("u")).toBe("toggleRead");
    expect(press("s")).toBe("star");
    expect(press("e")).toBe("archive");
    expect(press("#", { shiftKey: true })).toBe("delete");
    expect(press("/")).toBe("search");
    expect(press("?", { shiftKey: true })).toBe("help");
    expect(press("x")).toBeNull();
  });

  it("ignores keys typed into fields", () => {
    const input = document.body.appendChild(document.createElement("input"));
    const textarea = document.body.appendChild(document.createElement("textarea"));
    const editable = document.body.appendChild(document.createElement("div"));
    editable.contentEditable = "true";
    // jsdom does not compute isContentEditable; a browser does.
    Object.defineProperty(editable, "isContentEditable", { value: true });
    expect(press("j", { target: input })).toBeNull();
    expect(press("#", { target: textarea })).toBeNull();
    expect(press("s", { target: editable })).toBeNull();
  });

  it("ignores keys during IME composition", () => {
    expect(press("j", { isComposing: true })).toBeNull();
    expect(press("Enter", { isComposing: true })).toBeNull();
    // Some browsers report candidate selection as keyCode 229 without isComposing.
    expect(press("u", { keyCode: 229 })).toBeNull();
  });

  it("leaves modified keys to the system and the browser", () => {
    expect(press("s", { ctrlKey: true })).toBeNull();
    expect(press("e", { metaKey: true })).toBeNull();
    expect(press("j", { altKey: true })).toBeNull();
  });

  it("lets a focused button handle Enter itself", () => {
    const button = document.body.appendChild(document.createElement("button"));
    expect(press("Enter", { target: button })).toBeNull();
    expect(press("j", { target: button })).toBe("next");
  });
});
