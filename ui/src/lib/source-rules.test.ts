import { describe, expect, it } from "vitest";
import type { SourceInput } from "../bindings/SourceInput";
import { checkSource, newSourceInput, normalizeSourceUrl, type SourceContext } from "./source-rules";

const context: SourceContext = { otherNames: ["Orders"], storedHeaders: ["X-Api-Key"] };

function input(changes: Partial<SourceInput> = {}): SourceInput {
  return { ...newSourceInput("ntfy"), name: "Alerts", url: "https://ntfy.sh/alerts", ...changes };
}

/** The rule codes `checkSource` finds for an input, in form order. */
const rules = (changes: Partial<SourceInput>) => checkSource(input(changes), context).map((problem) => problem.rule);

describe("normalizeSourceUrl", () => {
  it("normalises URLs as Rust's normalize_url does", () => {
    const check = (protocol: SourceInput["protocol"], text: string, expected: string) =>
      expect(normalizeSourceUrl(protocol, text), text).toEqual({ url: expected });
    check("ntfy", "https://ntfy.sh/alerts", "wss://ntfy.sh/alerts/ws");
    check("ntfy", "ws://127.0.0.1:8080/a,b/ws", "ws://127.0.0.1:8080/a,b/ws");
    check("gotify", "http://push.example.com", "ws://push.example.com/stream");
    check("gotify", "wss://push.example.com/gotify/", "wss://push.example.com/gotify/stream");
    check("json", "wss://feed.example.com/v1?x=1", "wss://feed.example.com/v1?x=1");
  });

  it("says what is wrong with a URL it refuses", () => {
    const problem = (protocol: SourceInput["protocol"], text: string) => {
      const result = normalizeSourceUrl(protocol, text);
      return "problem" in result ? result.problem.rule : null;
    };
    expect(problem("json", "")).toBe("urlRequired");
    expect(problem("json", "not a url")).toBe("urlInvalid");
    expect(problem("json", "ntfy.sh/alerts")).toBe("urlInvalid");
    expect(problem("json", "ftp://host/x")).toBe("urlScheme");
    expect(problem("ntfy", "https://ntfy.sh/")).toBe("ntfyTopic");
    expect(problem("ntfy", "https://ntfy.sh/ws")).toBe("ntfyTopic");
    expect(problem("ntfy", "https://ntfy.sh/a,,b")).toBe("ntfyTopic");
  });
});

describe("checkSource", () => {
  it("accepts a plain valid source", () => {
    expect(rules({})).toEqual([]);
  });

  it("wants a unique, non-empty name", () => {
    expect(rules({ name: "  " })).toEqual(["nameRequired"]);
    expect(rules({ name: " Orders " })).toEqual(["nameTaken"]);
  });

  it("checks credentials for the protocol", () => {
    expect(rules({ credentials: { kind: "token", token: " " } })).toEqual(["tokenRequired"]);
    expect(rules({ credentials: { kind: "basic", username: "ops", password: "" } })).toEqual(["basicRequired"]);
    expect(
      rules({ protocol: "gotify", url: "https://push.example.com", credentials: { kind: "basic", username: "a", password: "b" } }),
    ).toEqual(["gotifyBasic"]);
    expect(rules({ credentials: { kind: "keep" } })).toEqual([]);
  });

  it("allows JSON-only settings on JSON sources only", () => {
    expect(rules({ subscribe_frame: '{"op":"sub"}' })).toEqual(["jsonOnly"]);
    expect(rules({ text_frames: true })).toEqual(["jsonOnly"]);
    expect(rules({ resume_url: "wss://x.example/{last_id}" })).toEqual(["jsonOnly"]);
    expect(rules({ map: { ...input().map, title: "/subject" } })).toEqual(["jsonOnly"]);
    const json = { protocol: "json" as const, url: "wss://feed.example.com/v1" };
    expect(rules({ ...json, subscribe_frame: '{"op":"sub"}', resume_url: "wss://x.example/?since={last_time}" })).toEqual([]);
  });

  it("wants JSON Pointers that start with a slash, or nothing", () => {
    const json = { protocol: "json" as const, url: "wss://feed.example.com/v1" };
    const problems = checkSource(input({ ...json, map: { ...input().map, title: "data/title", url: "" } }), context);
    expect(problems).toEqual([{ field: "map", rule: "pointer", mapField: "title", pointer: "data/title" }]);
  });

  it("checks header names and values, and keeps only headers that are stored", () => {
    expect(rules({ headers: [{ name: "X-Api-Key", value: null }] })).toEqual([]);
    expect(rules({ headers: [{ name: "X-Other", value: null }] })).toEqual(["headerValueRequired"]);
    expect(rules({ headers: [{ name: "Bad Name", value: "x" }] })).toEqual(["headerName"]);
    expect(rules({ headers: [{ name: "X-Ok", value: "a\r\nInjected: b" }] })).toEqual(["headerValue"]);
    expect(rules({ headers: [{ name: "", value: "x" }] })).toEqual(["headerNameRequired"]);
  });

  it("wants an absolute CA path and numbers in range", () => {
    expect(rules({ ca_file: "certs/ca.pem" })).toEqual(["caAbsolute"]);
    expect(rules({ ca_file: "/etc/ssl/ca.pem" })).toEqual([]);
    expect(rules({ read_timeout_secs: 0 })).toEqual(["readTimeout"]);
    expect(rules({ read_timeout_secs: Number.NaN })).toEqual(["readTimeout"]);
    expect(rules({ max_frame_bytes: 1023 })).toEqual(["maxFrame"]);
    expect(rules({ max_frame_bytes: 65 * 1024 * 1024 })).toEqual(["maxFrame"]);
  });
});
