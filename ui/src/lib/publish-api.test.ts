import { describe, expect, it } from "vitest";
import { parsePort, PUBLISH_PORT_RANGE } from "./publish-api";

describe("parsePort", () => {
  it("takes whole numbers from 1024 to 65535", () => {
    expect(parsePort("8765")).toBe(8765);
    expect(parsePort(" 1024 ")).toBe(PUBLISH_PORT_RANGE.min);
    expect(parsePort("65535")).toBe(PUBLISH_PORT_RANGE.max);
  });

  it("refuses anything else", () => {
    for (const text of ["", "80", "1023", "65536", "8765.5", "-8765", "87 65", "port", "1e4"]) {
      expect(parsePort(text), text).toBeNull();
    }
  });
});
