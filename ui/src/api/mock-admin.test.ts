import { describe, expect, it } from "vitest";
import type { SourceInput } from "../bindings/SourceInput";
import { newSourceInput } from "../lib/source-rules";
import { MockBackend } from "./mock";
import { rejection } from "./testing";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

function mock(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  return new MockBackend({ count: 300, now: () => NOW, ...options });
}

function ntfy(changes: Partial<SourceInput> = {}): SourceInput {
  return { ...newSourceInput("ntfy"), name: "Alerts", url: "https://ntfy.example.com/alerts", ...changes };
}

describe("MockBackend sources", () => {
  it("returns a source for editing with its secrets withheld", async () => {
    const backend = mock();
    const sensors = await backend.getSource(2);
    expect(sensors.input.headers).toEqual([{ name: "X-Api-Key", value: null }]);
    expect(sensors.input.credentials).toEqual({ kind: "keep" });
    expect(sensors.input.map.title).toBe("/summary");
    const ci = await backend.getSource(4);
    expect(ci.stored_credentials).toBe("basic");
    expect(ci.username).toBe("ci-bot");
    expect(JSON.stringify(ci)).not.toContain("demo-password");
    const orders = await backend.getSource(1);
    expect(orders.stored_credentials).toBe("token");
    expect(JSON.stringify(orders)).not.toContain("tk_demo0rders");
  });

  it("adds a source with a normalised URL, and lists it connected", async () => {
    const backend = mock();
    const id = await backend.saveSource(ntfy({ credentials: { kind: "token", token: "tk_new" } }));
    const listed = (await backend.listSources()).find((source) => source.id === id);
    expect(listed).toMatchObject({ name: "Alerts", protocol: "ntfy", state: "connected", enabled: true });
    const stored = await backend.getSource(id);
    expect(stored.input.url).toBe("wss://ntfy.example.com/alerts/ws");
    expect(stored.stored_credentials).toBe("token");
  });

  it("refuses invalid input with the field it is about", async () => {
    const backend = mock();
    const cases: [Partial<SourceInput>, string][] = [
      [{ name: "" }, "name"],
      [{ name: "Orders" }, "name"],
      [{ url: "ftp://x.example/a" }, "url"],
      [{ url: "https://ntfy.example.com/" }, "url"],
      [{ headers: [{ name: "Bad Name", value: "1" }] }, "headers"],
      [{ subscribe_frame: "{}" }, "subscribe_frame"],
      [{ ca_file: "relative.pem" }, "ca_file"],
      [{ ca_file: "/etc/ssl/missing-ca.pem" }, "ca_file"],
      [{ read_timeout_secs: 0 }, "read_timeout_secs"],
      [{ max_frame_bytes: 10 }, "max_frame_bytes"],
      [{ protocol: "gotify", credentials: { kind: "basic", username: "a", password: "b" } }, "credentials"],
      [{ protocol: "json", url: "wss://f.example/x", map: { ...ntfy().map, body: "message" } }, "map"],
      [{ protocol: "json", url: "wss://f.example/x", resume_url: "not a url {last_id}" }, "resume_url"],
    ];
    for (const [changes, field] of cases) {
      const error = await rejection(backend.saveSource(ntfy(changes)));
      expect(error.code, JSON.stringify(changes)).toBe("invalid");
      expect(error.field, JSON.stringify(changes)).toBe(field);
      expect(error.message.length).toBeGreaterThan(0);
    }
    expect((await backend.listSources()).some((source) => source.name === "Alerts")).toBe(false);
  });

  it("keeps stored secrets and header values when the form sends keep and null", async () => {
    const backend = mock();
    const sensors = await backend.getSource(2);
    await backend.saveSource({ ...sensors.input, name: "Warehouse sensors" });
    const source = backend.sources.find((candidate) => candidate.id === 2)!;
    expect(source.headers).toEqual([["X-Api-Key", "k-2f9a"]]);
    expect(source.name).toBe("Warehouse sensors");

    const ci = await backend.getSource(4);
    await backend.saveSource(ci.input);
    expect(backend.sources.find((candidate) => candidate.id === 4)!.credentials).toEqual({
      username: "ci-bot",
      password: "demo-password",
    });
    await backend.saveSource({ ...ci.input, credentials: { kind: "none" } });
    expect((await backend.getSource(4)).stored_credentials).toBe("none");
  });

  it("tests a connection without storing anything", async () => {
    const backend = mock();
    const ok = await backend.testSource(ntfy({ name: "" }));
    expect(ok).toMatchObject({ connected: true, auth_failed: false, error: null });
    expect(ok.connect_ms).toBeGreaterThan(0);
    expect(ok.first_message).toBeTruthy();

    const refused = await backend.testSource(ntfy({ credentials: { kind: "token", token: "wrong" } }));
    expect(refused).toMatchObject({ connected: false, auth_failed: true });
    const gotify = await backend.testSource({ ...ntfy(), protocol: "gotify", url: "https://push.example.com" });
    expect(gotify.auth_failed).toBe(true);
    const unknown = await backend.testSource(ntfy({ url: "https://nowhere.invalid/alerts" }));
    expect(unknown).toMatchObject({ connected: false, auth_failed: false });
    expect(unknown.error).toMatch(/nowhere\.invalid/);
    // The stored token of the demo's "Home server" is the one that is refused.
    const home = await backend.getSource(5);
    expect((await backend.testSource(home.input)).auth_failed).toBe(true);

    expect((await backend.listSources()).some((source) => source.name === "Alerts")).toBe(false);
    expect((await rejection(backend.testSource(ntfy({ url: "nope" })))).field).toBe("url");
  });

  it("sends credentials over plain ws:// to another machine only when the user confirmed it", async () => {
    const backend = mock();
    const plain = ntfy({ url: "http://ntfy.example.com/alerts", credentials: { kind: "token", token: "tk_new" } });
    const refused = await rejection(backend.saveSource(plain));
    expect(refused.field).toBe("allow_plain_credentials");
    expect(refused.message).toBe(
      "this source would send its credentials unencrypted to ntfy.example.com over ws://; use wss:// if the server offers it, or confirm sending them in plain text for this source",
    );
    // No credentials, TLS, or this machine: nothing to confirm.
    await backend.saveSource(ntfy({ name: "Open", url: "http://ntfy.example.com/alerts" }));
    await backend.saveSource({ ...plain, name: "Local", url: "http://127.0.0.1:8080/alerts" });
    const id = await backend.saveSource({ ...plain, allow_plain_credentials: true });
    const stored = await backend.getSource(id);
    expect(stored.input.allow_plain_credentials, "the confirmation comes back to the form").toBe(true);
    expect((await backend.listSources()).find((source) => source.id === id)!.state).toBe("connected");

    // Kept credentials count: the demo's "Orders" has a stored token.
    const orders = await backend.getSource(1);
    const moved = { ...orders.input, url: "http://ntfy.example.com/orders" };
    expect((await rejection(backend.saveSource(moved))).field).toBe("allow_plain_credentials");
    // A test is not refused: the connection does not send them, as Rust's probe reports.
    const probe = await backend.testSource(moved);
    expect(probe).toMatchObject({ connected: false, auth_failed: true });
    expect(probe.error).toMatch(/^this source would send its credentials unencrypted to ntfy\.example\.com over ws:\/\//);
    expect((await backend.testSource({ ...moved, allow_plain_credentials: true })).connected).toBe(true);
  });

  it("pauses and resumes a source", async () => {
    const backend = mock();
    const events: string[] = [];
    await backend.onEvent((event) => events.push(event.kind));
    await backend.setSourceEnabled(1, false);
    expect((await backend.listSources()).find((source) => source.id === 1)).toMatchObject({ enabled: false, state: "disabled" });
    await backend.setSourceEnabled(1, true);
    expect((await backend.listSources()).find((source) => source.id === 1)?.state).toBe("connected");
    expect(events).toContain("source_status");
  });

  it("removes a source, keeping or deleting its messages", async () => {
    const backend = mock();
    const ofSource = (id: number) => backend.messages.filter((message) => message.sourceId === id).length;
    const kept = ofSource(1);
    expect(await backend.removeSource(1, false)).toBe(0);
    expect(ofSource(1)).toBe(kept);
    expect((await backend.listSources()).some((source) => source.id === 1)).toBe(false);
    // Its name is free again, and its messages still say where they came from.
    const row = (await backend.listMessages({ view: "all", source: 1, min_priority: null, tag: null, search: null, before: null, limit: 1 })).rows[0];
    expect(row?.source_name).toBe("Orders");
    await backend.saveSource(ntfy({ name: "Orders" }));

    const doomed = ofSource(4);
    expect(doomed).toBeGreaterThan(0);
    expect(await backend.removeSource(4, true)).toBe(doomed);
    expect(ofSource(4)).toBe(0);
    expect((await rejection(backend.removeSource(4, true))).code).toBe("not_found");
  });
});

describe("MockBackend settings", () => {
  it("keeps settings and prunes at once by age and count, never starred ones", async () => {
    const backend = mock({ count: 400 });
    expect(await backend.getSettings()).toMatchObject({ max_age_days: null, max_per_source: null, autostart: false });
    const starred = backend.messages.filter((message) => message.starred).map((message) => message.id);
    await backend.setRetention(7, null);
    expect(backend.messages.every((message) => message.starred || message.receivedAt >= NOW - 7 * 86_400_000)).toBe(true);
    await backend.setRetention(null, 10);
    for (const id of [1, 2, 3, 4, 5]) {
      expect(backend.messages.filter((message) => message.sourceId === id && !message.starred).length).toBeLessThanOrEqual(10);
    }
    expect(starred.every((id) => backend.messages.some((message) => message.id === id))).toBe(true);
    expect(await backend.getSettings()).toMatchObject({ max_age_days: null, max_per_source: 10 });
    expect((await rejection(backend.setRetention(0, null))).code).toBe("invalid");

    await backend.setAutostart(true);
    expect((await backend.getSettings()).autostart).toBe(true);
  });

  it("exports JSON Lines that import back as duplicates, and creates missing sources", async () => {
    const backend = mock({ count: 50 });
    const exported = await backend.exportMessages();
    expect(exported.messages).toBe(50);
    expect(exported.path).toMatch(/^\/home\/you\/Downloads\/herald-export-\d{8}-\d{6}\.jsonl$/);
    const contents = backend.lastExport!.contents;
    expect(contents.trim().split("\n")).toHaveLength(50);

    expect(await backend.importMessages(contents)).toEqual({ imported: 0, duplicates: 50, sources_created: [] });

    const fresh = mock({ sources: false, count: 0 });
    const report = await fresh.importMessages(contents);
    expect(report.imported).toBe(50);
    expect(report.sources_created.length).toBeGreaterThan(0);
    expect((await fresh.listSources()).every((source) => !source.enabled)).toBe(true);
  });

  it("stops at a bad line, keeping what came before it", async () => {
    const backend = mock({ count: 3 });
    await backend.exportMessages();
    const [first] = backend.lastExport!.contents.split("\n");
    const line = { ...JSON.parse(first!), remote_id: "imported-1" };
    const error = await rejection(backend.importMessages(`${JSON.stringify(line)}\n{"source":"x"}\n`));
    expect(error.code).toBe("invalid");
    expect(error.message).toMatch(/^line 2 is not a herald export line: missing field/);
    expect(backend.messages.some((message) => message.remoteId === "imported-1")).toBe(true);
  });
});

describe("MockBackend broker sources", () => {
  const mqtt = (changes: Partial<SourceInput> = {}): SourceInput => ({
    ...newSourceInput("mqtt"),
    name: "Freezers",
    url: "http://mqtt.example.com:15675/ws",
    subscriptions: ["freezers/+/alarm"],
    ...changes,
  });

  it("stores a broker's settings and makes up a client id when none is given", async () => {
    const backend = mock();
    const id = await backend.saveSource(mqtt({ qos: 0, subscriptions: [" freezers/+/alarm ", " "] }));
    const stored = await backend.getSource(id);
    expect(stored.input).toMatchObject({
      protocol: "mqtt",
      url: "ws://mqtt.example.com:15675/ws",
      subscriptions: ["freezers/+/alarm"],
      qos: 0,
      durable: true,
      virtual_host: "",
      id_header: "",
    });
    expect(stored.input.client_id).toMatch(/^herald[0-9a-f]{12}$/);
    // The form sends it back, so it stays.
    await backend.saveSource(stored.input);
    expect((await backend.getSource(id)).input.client_id).toBe(stored.input.client_id);
  });

  it("refuses broker settings the rules refuse, with the field", async () => {
    const backend = mock();
    const cases: [Partial<SourceInput>, string][] = [
      [{ subscriptions: [] }, "subscriptions"],
      [{ subscriptions: ["a/#/b"] }, "subscriptions"],
      [{ protocol: "stomp", subscriptions: ["queue/x"] }, "subscriptions"],
      [{ credentials: { kind: "token", token: "tk" } }, "credentials"],
      [{ qos: 2 }, "qos"],
      [{ virtual_host: "/shop" }, "virtual_host"],
      [{ id_header: "message-id" }, "id_header"],
      [{ protocol: "stomp", subscriptions: ["/queue/x"], id_header: "x:y" }, "id_header"],
      [{ client_id: "x".repeat(65) }, "client_id"],
      [{ protocol: "json", url: "wss://f.example/x", subscriptions: ["a/#"] }, "subscriptions"],
      [{ protocol: "json", url: "wss://f.example/x", subscriptions: [], durable: true }, "durable"],
      [{ protocol: "local", url: "http://127.0.0.1:8765/" }, "protocol"],
    ];
    for (const [changes, field] of cases) {
      const error = await rejection(backend.saveSource(mqtt(changes)));
      expect([error.code, error.field], JSON.stringify(changes)).toEqual(["invalid", field]);
    }
  });

  it("tests a broker connection", async () => {
    const backend = mock();
    expect(await backend.testSource(mqtt())).toMatchObject({ connected: true });
    const refused = await backend.testSource(mqtt({ credentials: { kind: "basic", username: "herald", password: "wrong" } }));
    expect(refused).toMatchObject({ connected: false, auth_failed: true });
  });
});

describe("MockBackend publish API", () => {
  it("is off on port 8765, with no source, until it is first set", async () => {
    const backend = mock();
    expect(await backend.getPublishApi()).toEqual({
      enabled: false,
      port: 8765,
      url: "http://127.0.0.1:8765/publish",
      source_id: null,
      state: "disabled",
      last_error: null,
    });
    expect((await backend.listSources()).some((source) => source.protocol === "local")).toBe(false);
    expect((await rejection(backend.regeneratePublishToken())).field, "nothing to regenerate yet").toBe("enabled");
  });

  it("makes a token the first time it is turned on, and only then", async () => {
    const backend = mock();
    const first = await backend.setPublishApi({ enabled: true, port: 8765 });
    expect(first.new_token).toMatch(/^\S{16,}$/);
    expect(first.api).toMatchObject({ enabled: true, state: "connected", source_id: expect.any(Number) });
    const local = (await backend.listSources()).find((source) => source.id === first.api.source_id);
    expect(local).toMatchObject({ name: "Local", protocol: "local", enabled: true, state: "connected" });

    const off = await backend.setPublishApi({ enabled: false, port: 8765 });
    expect(off.new_token).toBeNull();
    expect(off.api).toMatchObject({ enabled: false, state: "disabled", source_id: first.api.source_id });
    const again = await backend.setPublishApi({ enabled: true, port: 9123 });
    expect(again.new_token).toBeNull();
    expect(again.api.url).toBe("http://127.0.0.1:9123/publish");
    expect(backend.publishApi.token).toBe(first.new_token);
  });

  it("regenerates a token every time it is asked", async () => {
    const backend = mock();
    const { new_token: first } = await backend.setPublishApi({ enabled: true, port: 8765 });
    const { new_token: second } = await backend.regeneratePublishToken();
    const { new_token: third } = await backend.regeneratePublishToken();
    expect(new Set([first, second, third]).size).toBe(3);
    expect(backend.publishApi.token).toBe(third);
  });

  it("refuses a port below 1024 with field port", async () => {
    const backend = mock();
    for (const port of [0, 80, 1023]) {
      const error = await rejection(backend.setPublishApi({ enabled: true, port }));
      expect([error.code, error.field, error.message], String(port)).toEqual(["invalid", "port", "pick a port from 1024 to 65535"]);
    }
    // Beyond a u16 the command is never reached.
    expect((await rejection(backend.setPublishApi({ enabled: true, port: 65_536 }))).code).toBe("ipc");
    expect(backend.publishApi).toMatchObject({ enabled: false, token: null, sourceId: null });
  });

  it("makes its source when first set, even off, without a token", async () => {
    const backend = mock();
    const off = await backend.setPublishApi({ enabled: false, port: 8765 });
    expect(off).toMatchObject({ new_token: null, api: { enabled: false, state: "disabled", source_id: expect.any(Number) } });
    const on = await backend.setPublishApi({ enabled: true, port: 8765 });
    expect(on.new_token).not.toBeNull();
  });
});

describe("MockBackend import of broker sources", () => {
  it("accepts export lines from every protocol", async () => {
    const backend = mock({ count: 1 });
    await backend.exportMessages();
    const line = JSON.parse(backend.lastExport!.contents.split("\n")[0]!);
    const report = await backend.importMessages(`${JSON.stringify({ ...line, source: "Bus", source_protocol: "stomp", remote_id: "s-1" })}\n`);
    expect(report).toMatchObject({ imported: 1, sources_created: ["Bus"] });
    const error = await rejection(backend.importMessages(`${JSON.stringify({ ...line, source_protocol: "amqp" })}\n`));
    expect(error.message).toContain("expected one of `ntfy`, `gotify`, `json`, `stomp`, `mqtt`, `local`");
  });
});

