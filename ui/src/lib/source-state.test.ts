import { describe, expect, it } from "vitest";
import { countdown, dotClass, stateKey } from "./source-state";

describe("source state", () => {
  it("reads an unknown state as unknown and colours each state", () => {
    expect(stateKey("auth_failed")).toBe("auth_failed");
    expect(stateKey("warming_up")).toBe("unknown");
    expect(["connected", "retrying", "auth_failed", "disabled"].map(dotClass)).toEqual(["ok", "pending", "failed", "off"]);
  });

  it("counts down in whole seconds, rounded up, until the time has passed", () => {
    expect(countdown(42_000, 0)).toEqual({ minutes: 0, seconds: 42 });
    expect(countdown(41_200, 0)).toEqual({ minutes: 0, seconds: 42 });
    expect(countdown(185_000, 0)).toEqual({ minutes: 3, seconds: 5 });
    expect(countdown(1_000, 1_000)).toBeNull();
  });
});
