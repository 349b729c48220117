import { describe, expect, it } from "vitest";
import type { SourceInput } from "../bindings/SourceInput";
import {
  checkSource,
  checkSubscriptions,
  FORM_PROTOCOLS,
  isThisMachine,
  newSourceInput,
  normalizeSourceUrl,
  plainTextHost,
  subscriptionProblem,
  type SourceContext,
} from "./source-rules";

const context: SourceContext = { otherNames: ["Orders"], storedHeaders: ["X-Api-Key"], credentialsStored: false };

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

describe("subscriptionProblem", () => {
  it("wants STOMP destinations that start with a slash", () => {
    for (const good of ["/exchange/amq.topic/orders.#", "/queue/alerts", "/topic/alerts", "/amq/queue/herald"]) {
      expect(subscriptionProblem("stomp", good), good).toBeNull();
    }
    expect(subscriptionProblem("stomp", "queue/alerts")).toBe("stompDestination");
    expect(subscriptionProblem("stomp", "alerts")).toBe("stompDestination");
    expect(subscriptionProblem("stomp", "")).toBe("subscriptionEmpty");
  });

  it("allows MQTT wildcards only as whole levels, # only last", () => {
    for (const good of ["alerts/#", "sensors/+/alarm", "#", "+", "+/+", "a//b", "/leading", "cold-room/3", "告警/+"]) {
      expect(subscriptionProblem("mqtt", good), good).toBeNull();
    }
    expect(subscriptionProblem("mqtt", "")).toBe("subscriptionEmpty");
    expect(subscriptionProblem("mqtt", "alerts/#/more")).toBe("mqttHash");
    expect(subscriptionProblem("mqtt", "alerts#")).toBe("mqttHash");
    expect(subscriptionProblem("mqtt", "alerts/a#")).toBe("mqttHash");
    expect(subscriptionProblem("mqtt", "#/alerts")).toBe("mqttHash");
    expect(subscriptionProblem("mqtt", "sensors/a+/alarm")).toBe("mqttPlus");
    expect(subscriptionProblem("mqtt", "sensors+")).toBe("mqttPlus");
    expect(subscriptionProblem("mqtt", "++")).toBe("mqttPlus");
  });
});

describe("checkSubscriptions", () => {
  it("needs at least one, and reports each bad one", () => {
    expect(checkSubscriptions("stomp", [])).toEqual([{ field: "subscriptions", rule: "subscriptionsRequired", protocol: "stomp" }]);
    expect(checkSubscriptions("mqtt", ["alerts/#", "a/#/b", "x+"])).toEqual([
      { field: "subscriptions", rule: "mqttHash", subscription: "a/#/b" },
      { field: "subscriptions", rule: "mqttPlus", subscription: "x+" },
    ]);
    expect(checkSubscriptions("stomp", ["/topic/a", "/queue/b"])).toEqual([]);
  });

  it("trims them and leaves blank ones out, as the backend does", () => {
    expect(checkSubscriptions("mqtt", [" ", ""])).toEqual([{ field: "subscriptions", rule: "subscriptionsRequired", protocol: "mqtt" }]);
    expect(checkSubscriptions("stomp", ["  /topic/a ", " "])).toEqual([]);
  });
});

describe("brokers in checkSource", () => {
  // A broker on this machine, so a password over plain ws:// needs no confirmation.
  const stomp = (changes: Partial<SourceInput> = {}) =>
    checkSource(
      { ...newSourceInput("stomp"), name: "Orders", url: "ws://127.0.0.1:15674/ws", subscriptions: ["/topic/orders"], ...changes },
      { otherNames: [], storedHeaders: [], credentialsStored: false },
    ).map((problem) => problem.rule);

  it("accepts a broker source with subscriptions and a field map", () => {
    expect(stomp()).toEqual([]);
    expect(stomp({ map: { ...newSourceInput().map, title: "/subject" } })).toEqual([]);
    expect(stomp({ credentials: { kind: "basic", username: "guest", password: "guest" } })).toEqual([]);
  });

  it("needs subscriptions, a username and password rather than a token, and QoS 0 or 1", () => {
    expect(stomp({ subscriptions: [] })).toEqual(["subscriptionsRequired"]);
    expect(stomp({ subscriptions: ["topic/orders"] })).toEqual(["stompDestination"]);
    expect(stomp({ credentials: { kind: "token", token: "tk" } })).toEqual(["brokerToken"]);
    expect(stomp({ qos: 2 })).toEqual(["qos"]);
    expect(stomp({ id_header: "x-id: 1" })).toEqual(["idHeader"]);
    expect(stomp({ client_id: "c".repeat(65) })).toEqual(["clientId"]);
    expect(stomp({ client_id: "bad\u0007id" })).toEqual(["clientId"]);
    expect(stomp({ client_id: "客".repeat(64), virtual_host: "/shop", id_header: "x-id", durable: true })).toEqual([]);
    expect(stomp({ map: { ...newSourceInput().map, title: "subject" } })).toEqual(["pointer"]);
    // Text frames stay a JSON feed's setting: broker bodies that are not JSON are always text.
    expect(stomp({ text_frames: true })).toEqual(["jsonOnly"]);
  });

  it("gives MQTT no virtual host or message id header", () => {
    const mqtt = (changes: Partial<SourceInput>) =>
      checkSource(
        { ...newSourceInput("mqtt"), name: "Rooms", url: "ws://broker:15675/ws", subscriptions: ["rooms/#"], ...changes },
        context,
      ).map((problem) => problem.rule);
    expect(mqtt({})).toEqual([]);
    expect(mqtt({ virtual_host: "/shop" })).toEqual(["mqttVirtualHost"]);
    expect(mqtt({ id_header: "x-id" })).toEqual(["mqttIdHeader"]);
  });

  it("keeps broker settings off other protocols", () => {
    expect(rules({ subscriptions: [] })).toEqual([]);
    expect(rules({ qos: 0 }), "QoS is a broker's only").toEqual([]);
    const problems = checkSource(input({ subscriptions: ["a"], virtual_host: "/", client_id: "c", id_header: "h", durable: true }), context);
    expect(problems.map((problem) => [problem.field, problem.rule])).toEqual([
      ["subscriptions", "brokerOnly"],
      ["virtual_host", "brokerOnly"],
      ["client_id", "brokerOnly"],
      ["id_header", "brokerOnly"],
      ["durable", "brokerOnly"],
    ]);
  });
});

describe("credentials over plain ws://", () => {
  const token = { kind: "token" as const, token: "tk_abc" };

  it("knows this machine as Rust does: 127.0.0.0/8, ::1, localhost and *.localhost", () => {
    const check = (url: string, expected: boolean) => expect(isThisMachine(new URL(url).hostname), url).toBe(expected);
    check("ws://127.0.0.1:8080/a", true);
    check("ws://127.255.0.9/a", true);
    check("ws://127.1/a", true);
    check("ws://[::1]:8080/a", true);
    check("ws://[0:0:0:0:0:0:0:1]/a", true);
    check("ws://LOCALHOST/a", true);
    check("ws://ntfy.localhost/a", true);
    check("ws://128.0.0.1/a", false);
    check("ws://127.0.0.1.nip.io/a", false);
    check("ws://localhost.example.com/a", false);
    check("ws://[::ffff:127.0.0.1]/a", false);
    check("ws://10.0.0.5/a", false);
  });

  it("finds the host reached over plain ws:// (http:// means ws://), only for another machine", () => {
    expect(plainTextHost("ntfy", "http://ntfy.example.com/alerts")).toBe("ntfy.example.com");
    expect(plainTextHost("json", "ws://10.0.0.5:8080/feed")).toBe("10.0.0.5");
    expect(plainTextHost("ntfy", "https://ntfy.example.com/alerts")).toBeNull();
    expect(plainTextHost("ntfy", "wss://ntfy.example.com/alerts")).toBeNull();
    expect(plainTextHost("ntfy", "http://localhost:8080/alerts")).toBeNull();
    expect(plainTextHost("ntfy", "http://ntfy.example.com/")).toBeNull();
  });

  it("wants the user's confirmation for a token, a password or a secret header", () => {
    const plain = { url: "http://ntfy.example.com/alerts" };
    expect(checkSource(input({ ...plain, credentials: token }), context)).toEqual([
      { field: "allow_plain_credentials", rule: "plainCredentials", host: "ntfy.example.com" },
    ]);
    expect(rules({ ...plain, credentials: { kind: "basic", username: "ops", password: "pw" } })).toEqual(["plainCredentials"]);
    expect(rules({ ...plain, headers: [{ name: " authorization ", value: "Bearer x" }] })).toEqual(["plainCredentials"]);
    expect(rules({ ...plain, headers: [{ name: "Cookie", value: "session=1" }] })).toEqual(["plainCredentials"]);
    // An empty token is refused for itself, and would still be sent in plain text.
    expect(rules({ ...plain, credentials: { kind: "token", token: "" } })).toEqual(["tokenRequired", "plainCredentials"]);
    expect(rules({ ...plain, credentials: token, allow_plain_credentials: true })).toEqual([]);
  });

  it("counts stored credentials only when the form keeps them", () => {
    const plain = input({ url: "http://ntfy.example.com/alerts", credentials: { kind: "keep" } });
    expect(checkSource(plain, { ...context, credentialsStored: true }).map((problem) => problem.rule)).toEqual(["plainCredentials"]);
    expect(checkSource(plain, context)).toEqual([]);
    const removed = { ...plain, credentials: { kind: "none" as const } };
    expect(checkSource(removed, { ...context, credentialsStored: true })).toEqual([]);
  });

  it("leaves TLS, this machine and sources with nothing secret alone", () => {
    expect(rules({ url: "https://ntfy.example.com/alerts", credentials: token })).toEqual([]);
    expect(rules({ url: "http://127.0.0.1:8080/alerts", credentials: token })).toEqual([]);
    expect(rules({ url: "http://[::1]:8080/alerts", credentials: token })).toEqual([]);
    expect(rules({ url: "http://ntfy.example.com/alerts" })).toEqual([]);
    expect(rules({ url: "http://ntfy.example.com/alerts", headers: [{ name: "X-Api-Key", value: "k" }] })).toEqual([]);
  });
});

describe("newSourceInput", () => {
  it("starts every protocol with the broker defaults, a persistent session for MQTT only", () => {
    for (const protocol of FORM_PROTOCOLS) {
      expect(newSourceInput(protocol), protocol).toMatchObject({
        protocol,
        subscriptions: [],
        virtual_host: "",
        client_id: "",
        qos: 1,
        durable: protocol === "mqtt",
        id_header: "",
        allow_plain_credentials: false,
      });
    }
  });

  it("normalises broker URLs like JSON feeds': http becomes ws, the path stays", () => {
    expect(normalizeSourceUrl("stomp", "http://broker:15674/ws")).toEqual({ url: "ws://broker:15674/ws" });
    expect(normalizeSourceUrl("mqtt", "wss://broker.example.com:15676/ws")).toEqual({ url: "wss://broker.example.com:15676/ws" });
  });
});
