/**
 * The mock backend's stand-ins for what Rust does behind the admin screens:
 * validation errors worded as `herald_core::config` words them, a connection
 * probe that answers from the URL and credentials alone, and the JSON Lines
 * format of `store::export`.
 */
import type { ProbeView } from "../bindings/ProbeView";
import type { ProtocolView } from "../bindings/ProtocolView";
import type { SourceInput } from "../bindings/SourceInput";
import {
  MAX_CLIENT_ID_CHARS,
  MAX_FRAME_RANGE,
  plainCredentialsProblem,
  PROTOCOLS,
  READ_TIMEOUT_RANGE,
  type BrokerField,
  type SourceProblem,
} from "../lib/source-rules";
import { BackendError } from "./backend";
import type { MockCredentials, MockMessage } from "./mock-data";

/** How Rust names a broker setting given to another protocol. */
const BROKER_FIELD_NAMES: Record<BrokerField, string> = {
  subscriptions: "destinations and topic filters",
  virtual_host: "a virtual host",
  client_id: "a client id",
  id_header: "a message id header",
  durable: "a durable subscription",
};

/** The English text Rust would send for a problem. */
export function englishProblem(problem: SourceProblem): string {
  switch (problem.rule) {
    case "nameRequired":
      return "name must not be empty";
    case "nameTaken":
      return `a source named ${JSON.stringify(problem.name)} already exists; choose another name`;
    case "urlRequired":
      return "url must not be empty; write it like wss://host/path";
    case "urlInvalid":
      return `invalid url ${JSON.stringify(problem.url)}: relative URL without a base; write it like wss://host/path`;
    case "urlScheme":
      return `url scheme ${JSON.stringify(problem.scheme)} is not supported; use ws://, wss://, http:// or https://`;
    case "urlHost":
      return `url ${JSON.stringify(problem.url)} has no host`;
    case "ntfyTopic":
      return "ntfy url needs a topic, e.g. wss://ntfy.example.com/alerts (several: /alerts,backups)";
    case "headerNameRequired":
      return "a header has no name";
    case "headerName":
      return `header name ${JSON.stringify(problem.name)} is not a valid HTTP header name`;
    case "headerValue":
      return `header ${problem.name} has a line break or NUL in its value`;
    case "headerValueRequired":
      return `header ${problem.name} has no stored value; enter one`;
    case "pointer":
      return `json pointer ${JSON.stringify(problem.pointer)} for ${problem.mapField} must start with '/' (e.g. /data/title)`;
    case "jsonOnly":
      return "the field map, subscribe frame, resume url and text frames apply to json sources only";
    case "resumeUrl":
      return `resume url ${JSON.stringify(problem.url)} is invalid: relative URL without a base`;
    case "caAbsolute":
      return `ca file ${JSON.stringify(problem.path)} must be an absolute path`;
    case "gotifyBasic":
      return "gotify sources authenticate with a client token; enter a token instead of a username and password";
    case "tokenRequired":
      return "the token must not be empty";
    case "basicRequired":
      return "username and password must not be empty";
    case "brokerToken":
      return "brokers log in with a username and password, not a token";
    case "subscriptionsRequired":
      return problem.protocol === "stomp"
        ? "subscribe to at least one destination, e.g. /exchange/amq.topic/alerts.#"
        : "subscribe to at least one topic filter, e.g. alerts/#";
    case "subscriptionEmpty":
    case "mqttHash":
    case "mqttPlus":
      return `${JSON.stringify(problem.subscription)} is not valid: '#' may only be the last level and '+' a whole level, e.g. sensors/+/alarm`;
    case "stompDestination":
      return `${JSON.stringify(problem.subscription)} is not valid: a destination starts with '/', e.g. /queue/alerts or /topic/orders.#`;
    case "brokerOnly":
      return `${BROKER_FIELD_NAMES[problem.field]} apply to stomp and mqtt sources only`;
    case "qos":
      return "the quality of service is 0 or 1";
    case "mqttVirtualHost":
      return "mqtt has no virtual host; RabbitMQ reads it from the username (vhost:user)";
    case "mqttIdHeader":
      return "mqtt 3.1.1 messages have no headers; map an id from the payload instead";
    case "idHeader":
      return `${JSON.stringify(problem.header)} is not a header name`;
    case "clientId":
      return `keep the client id to ${MAX_CLIENT_ID_CHARS} printable characters`;
    case "plainCredentials":
      return `this source would send its credentials unencrypted to ${problem.host} over ws://; use wss:// if the server offers it, or confirm sending them in plain text for this source`;
    case "readTimeout":
      return `read timeout must be between ${READ_TIMEOUT_RANGE.min} and ${READ_TIMEOUT_RANGE.max} seconds`;
    case "maxFrame":
      return `max frame size must be between ${MAX_FRAME_RANGE.min} bytes and 64 MiB`;
  }
}

export function problemError(problem: SourceProblem): BackendError {
  return new BackendError("invalid", englishProblem(problem), problem.field);
}

/**
 * A CA file the mock pretends to read: absolute paths that end like a
 * certificate exist, unless they say they are missing.
 */
export function caFileError(path: string): string | null {
  if (path === "") return null;
  if (/missing|nonexistent/i.test(path)) return `cannot read ca file ${path}: No such file or directory (os error 2)`;
  if (!/\.(pem|crt|cer)$/i.test(path)) return `ca file ${path} has no PEM certificates in it`;
  return null;
}

/** Credentials as the connection would use them: `keep` resolves to the stored ones. */
export function effectiveCredentials(input: SourceInput, stored: MockCredentials): MockCredentials {
  switch (input.credentials.kind) {
    case "keep":
      return { ...stored };
    case "none":
      return {};
    case "token":
      return { token: input.credentials.token };
    case "basic":
      return { username: input.credentials.username, password: input.credentials.password };
  }
}

/** A small stable number from a string, so the same URL probes the same way. */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (const character of text) value = Math.imul(value ^ character.codePointAt(0)!, 0x01000193) >>> 0;
  return value;
}

const FIRST_MESSAGES: Record<ProtocolView, string[]> = {
  ntfy: ["Order #418230 paid", "Build #5120 passed on main", "库存告警：A-1042 库存不足"],
  gotify: ["Backup finished", "磁盘空间不足：/var 剩余 4%", "Unusual transfer: ¥182,400"],
  json: ["冷库 3 号温度 -2°C", "Humidity sensor H-42 offline"],
  stomp: ["Order #418231 shipped", "支付回调失败：订单 #418232"],
  mqtt: ["sensors/cold-room-3/alarm: -1.5°C", "门禁 B2 被强制打开"],
  local: ["Backup finished"],
};

/**
 * What "Test connection" finds, decided from the URL (already normalised)
 * and the credentials: credentials for another machine over plain ws://
 * without the user's confirmation are not sent (Rust checks that at every
 * connection), hosts under `.invalid` do not resolve, `offline` or port 9
 * refuse, the token or password `wrong` is refused, a Gotify source without
 * a token is refused; anything else connects and hears a message.
 */
export function simulateProbe(input: SourceInput, url: string, credentials: MockCredentials): ProbeView {
  const parsed = new URL(url);
  const failed = (error: string, authFailed = false): ProbeView => ({
    connected: false,
    auth_failed: authFailed,
    connect_ms: null,
    frames: 0,
    messages: 0,
    malformed: 0,
    first_message: null,
    error,
    listened_secs: 0,
  });
  const plain = plainCredentialsProblem({ ...input, url }, Object.keys(credentials).length > 0);
  if (plain) return failed(`${englishProblem(plain)} (in the window: Sources, Edit)`, true);
  const port = parsed.port || (parsed.protocol === "wss:" ? "443" : "80");
  if (parsed.hostname.endsWith(".invalid") || parsed.hostname.includes("unreachable")) {
    return failed(`failed to look up ${parsed.hostname}: Name or service not known`);
  }
  if (parsed.hostname.includes("offline") || port === "9") {
    return failed(`cannot connect to ${parsed.hostname}:${port}: Connection refused (os error 111)`);
  }
  const secret = credentials.token ?? credentials.password;
  if (secret === "wrong" || secret?.startsWith("bad")) {
    return failed("401 Unauthorized: the server refused the credentials", true);
  }
  if (input.protocol === "gotify" && !credentials.token) {
    return failed("401 Unauthorized: gotify needs a client token", true);
  }
  if (input.protocol === "ntfy" && parsed.pathname.includes("private") && !secret) {
    return failed("403 Forbidden: this topic needs an access token", true);
  }
  const seed = hash(url);
  const frames = 2 + (seed % 4);
  const unmapped = input.protocol === "json" && !input.text_frames && !input.map.title && !input.map.body;
  const messages = unmapped ? 0 : frames - 1;
  const choices = FIRST_MESSAGES[input.protocol];
  return {
    connected: true,
    auth_failed: false,
    connect_ms: 35 + (seed % 160),
    frames,
    messages,
    malformed: unmapped ? frames - 1 : 0,
    first_message: messages > 0 ? choices[seed % choices.length]! : null,
    error: null,
    listened_secs: 3,
  };
}

/** One line of an export, as `store::export::Line` serialises it. */
export type ExportLine = {
  source: string;
  source_protocol: ProtocolView;
  source_url: string;
  received_at: number;
  remote_id: string;
  sent_at: number;
  expires_at: number | null;
  topic: string | null;
  title: string;
  body: string;
  format: "text" | "markdown";
  priority: number;
  raw_priority: number | null;
  tags: string[];
  click: string | null;
  icon: string | null;
  actions: unknown;
  attachment: unknown;
  group_key: string | null;
  extras: unknown;
  read: boolean;
  starred: boolean;
  snoozed_until: number | null;
  archived_at: number | null;
};

export function exportLine(message: MockMessage, source: { name: string; protocol: ProtocolView; url: string }): ExportLine {
  return {
    source: source.name,
    source_protocol: source.protocol,
    source_url: source.url,
    received_at: message.receivedAt,
    remote_id: message.remoteId,
    sent_at: message.sentAt,
    expires_at: null,
    topic: message.topic,
    title: message.title,
    body: message.body,
    format: message.markdown ? "markdown" : "text",
    priority: message.priority,
    raw_priority: null,
    tags: message.tags,
    click: message.click,
    icon: null,
    actions: message.actions.length > 0 ? message.actions : null,
    attachment: message.attachment,
    group_key: null,
    extras: null,
    read: message.read,
    starred: message.starred,
    snoozed_until: message.snoozedUntil,
    archived_at: message.archivedAt,
  };
}

const REQUIRED: [keyof ExportLine, "string" | "number" | "boolean" | "array"][] = [
  ["source", "string"],
  ["source_protocol", "string"],
  ["source_url", "string"],
  ["received_at", "number"],
  ["remote_id", "string"],
  ["sent_at", "number"],
  ["title", "string"],
  ["body", "string"],
  ["format", "string"],
  ["priority", "number"],
  ["tags", "array"],
  ["read", "boolean"],
  ["starred", "boolean"],
];

/** Parses one line, or says what serde would say about it. */
export function parseExportLine(text: string): ExportLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (reason) {
    return reason instanceof Error ? reason.message : "expected a JSON object";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "invalid type: expected struct Line";
  const record = value as Record<string, unknown>;
  for (const [key, type] of REQUIRED) {
    if (!(key in record)) return `missing field \`${key}\``;
    const actual = Array.isArray(record[key]) ? "array" : typeof record[key];
    if (actual !== type) return `invalid type for \`${key}\`: expected ${type}`;
  }
  if (!(PROTOCOLS as readonly unknown[]).includes(record.source_protocol)) {
    const expected = PROTOCOLS.map((protocol) => `\`${protocol}\``).join(", ");
    return `unknown variant \`${String(record.source_protocol)}\`, expected one of ${expected}`;
  }
  const priority = record.priority as number;
  if (!Number.isInteger(priority) || priority < 1 || priority > 5) return `priority ${priority} is outside 1–5`;
  return record as ExportLine;
}
