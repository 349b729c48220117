import { describe, expect, it } from "vitest";
import { openableUrl } from "./links";

describe("openableUrl", () => {
  it("accepts absolute http, https and mailto URLs", () => {
    expect(openableUrl("https://example.com/a b")).toBe("https://example.com/a%20b");
    expect(openableUrl(" HTTP://Example.com ")).toBe("http://example.com/");
    expect(openableUrl("mailto:ops@example.com")).toBe("mailto:ops@example.com");
  });

  it("refuses script and data schemes however they are spelled or padded", () => {
    const disguised = [
      " JaVaScRiPt:alert(1)",
      "\tjavascript:alert(1)",
      "\u0000javascript:alert(1)",
      "java\nscript:alert(1)",
      "java\tscript:alert(1)",
      "javascript\u0000:alert(1)",
      "JAVASCRIPT:alert(1)",
      "vbscript:msgbox(1)",
      " VBScript:msgbox(1)",
      "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      " DATA:text/html,<script>alert(1)</script>",
      "blob:https://example.com/0f1e",
    ];
    for (const href of disguised) expect(openableUrl(href), JSON.stringify(href)).toBeNull();
  });

  it("refuses every other scheme, relative links and junk", () => {
    for (const href of ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "ftp://example.com", "/settings", "#top", "", null]) {
      expect(openableUrl(href), String(href)).toBeNull();
    }
  });
});
