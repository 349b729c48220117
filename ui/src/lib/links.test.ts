import { describe, expect, it } from "vitest";
import { openableUrl } from "./links";

describe("openableUrl", () => {
  it("accepts absolute http, https and mailto URLs", () => {
    expect(openableUrl("https://example.com/a b")).toBe("https://example.com/a%20b");
    expect(openableUrl(" HTTP://Example.com ")).toBe("http://example.com/");
    expect(openableUrl("mailto:ops@example.com")).toBe("mailto:ops@example.com");
  });

  it("refuses every other scheme, relative links and junk", () => {
    for (const href of ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "ftp://example.com", "/settings", "#top", "", null]) {
      expect(openableUrl(href), String(href)).toBeNull();
    }
  });
});
