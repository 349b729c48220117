/**
 * The rules a source's settings must follow, as the Rust side checks them
 * (`herald_core::config` and the `save_source` command): a TypeScript mirror
 * so the form can point at a mistake before a round trip, and the mock
 * backend can refuse what the real one refuses. Problems are codes with
 * parameters, not text: the form words them from the locale files, the mock
 * in Rust's English.
 */
import type { FieldMapInput } from "../bindings/FieldMapInput";
import type { HeaderInput } from "../bindings/HeaderInput";
import type { ProtocolView } from "../bindings/ProtocolView";
import type { SourceInput } from "../bindings/SourceInput";

/** The `SourceInput` fields a problem can be about (`UiError.field`). */
export type SourceField =
  | "name"
  | "url"
  | "headers"
  | "map"
  | "resume_url"
  | "ca_file"
  | "credentials"
  | "subscribe_frame"
  | "read_timeout_secs"
  | "max_frame_bytes"
  | "subscriptions"
  | "virtual_host"
  | "client_id"
  | "qos"
  | "durable"
  | "id_header"
  | "allow_plain_credentials";

export const SOURCE_FIELDS: readonly SourceField[] = [
  "name",
  "url",
  "headers",
  "map",
  "resume_url",
  "ca_file",
  "credentials",
  "subscribe_frame",
  "read_timeout_secs",
  "max_frame_bytes",
  "subscriptions",
  "virtual_host",
  "client_id",
  "qos",
  "durable",
  "id_header",
  "allow_plain_credentials",
];

/** Every protocol a source can speak, as `ProtocolView` lists them. */
export const PROTOCOLS: readonly ProtocolView[] = ["ntfy", "gotify", "json", "stomp", "mqtt", "local"];

/** The protocols the source form offers: the local publish API is set up in the settings instead. */
export type FormProtocol = Exclude<ProtocolView, "local">;
export const FORM_PROTOCOLS: readonly FormProtocol[] = ["ntfy", "gotify", "json", "stomp", "mqtt"];

/** Message brokers: they subscribe to destinations or topic filters and sign in with a username and password. */
export type BrokerProtocol = "stomp" | "mqtt";

export function isBroker(protocol: ProtocolView): protocol is BrokerProtocol {
  return protocol === "stomp" || protocol === "mqtt";
}

/** Whether a source's frames are mapped with JSON Pointers: JSON feeds, and broker messages that carry JSON. */
export function usesFieldMap(protocol: ProtocolView): boolean {
  return protocol === "json" || isBroker(protocol);
}

/** A protocol `ProtocolView` knows, for a `SourceView.protocol` (a string). */
export function knownProtocol(protocol: string): ProtocolView | null {
  return (PROTOCOLS as readonly string[]).includes(protocol) ? (protocol as ProtocolView) : null;
}

export type MapField = keyof FieldMapInput;

export const MAP_FIELDS: readonly MapField[] = ["id", "title", "body", "priority", "time", "tags", "url", "group"];

/** `FieldMap::default()` in Rust: common names, so a plain feed works unmapped. */
export const DEFAULT_MAP: Readonly<FieldMapInput> = {
  id: "/id",
  title: "/title",
  body: "/message",
  priority: "/priority",
  time: "/time",
  tags: "/tags",
  url: "/url",
  group: "/group",
};

export const DEFAULT_READ_TIMEOUT_SECS = 90;
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
export const READ_TIMEOUT_RANGE = { min: 1, max: 86_400 } as const;
/** tungstenite's own ceiling is 64 MiB; Herald's limit must stay under it. */
export const MAX_FRAME_RANGE = { min: 1024, max: 64 * 1024 * 1024 } as const;

export type SourceProblem =
  | { field: "name"; rule: "nameRequired" }
  | { field: "name"; rule: "nameTaken"; name: string }
  | { field: "url"; rule: "urlRequired" }
  | { field: "url"; rule: "urlInvalid"; url: string }
  | { field: "url"; rule: "urlScheme"; scheme: string }
  | { field: "url"; rule: "urlHost"; url: string }
  | { field: "url"; rule: "ntfyTopic" }
  | { field: "headers"; rule: "headerNameRequired" }
  | { field: "headers"; rule: "headerName"; name: string }
  | { field: "headers"; rule: "headerValue"; name: string }
  | { field: "headers"; rule: "headerValueRequired"; name: string }
  | { field: "map"; rule: "pointer"; mapField: MapField; pointer: string }
  | { field: "map" | "subscribe_frame" | "resume_url"; rule: "jsonOnly" }
  | { field: "resume_url"; rule: "resumeUrl"; url: string }
  | { field: "ca_file"; rule: "caAbsolute"; path: string }
  | { field: "credentials"; rule: "gotifyBasic" }
  | { field: "credentials"; rule: "tokenRequired" }
  | { field: "credentials"; rule: "basicRequired" }
  | { field: "credentials"; rule: "brokerToken" }
  | { field: "read_timeout_secs"; rule: "readTimeout" }
  | { field: "max_frame_bytes"; rule: "maxFrame" }
  | { field: "subscriptions"; rule: "subscriptionsRequired"; protocol: BrokerProtocol }
  | { field: "subscriptions"; rule: SubscriptionRule; subscription: string }
  | { field: BrokerField; rule: "brokerOnly" }
  | { field: "qos"; rule: "qos" }
  | { field: "virtual_host"; rule: "mqttVirtualHost" }
  | { field: "id_header"; rule: "mqttIdHeader" }
  | { field: "id_header"; rule: "idHeader"; header: string }
  | { field: "client_id"; rule: "clientId" }
  | { field: "allow_plain_credentials"; rule: "plainCredentials"; host: string };

/** The settings only brokers take; another protocol must leave them empty (and `durable` off). */
export type BrokerField = "subscriptions" | "virtual_host" | "client_id" | "id_header" | "durable";

/** A client id is kept to this many printable characters. */
export const MAX_CLIENT_ID_CHARS = 64;

/** What can be wrong with one STOMP destination or MQTT topic filter. */
export type SubscriptionRule = "subscriptionEmpty" | "stompDestination" | "mqttHash" | "mqttPlus";

/**
 * Checks one STOMP destination (it starts with `/`: `/queue/alerts`,
 * `/topic/alerts`, `/exchange/amq.topic/orders.#`) or MQTT topic filter
 * (not empty; `#` only as the whole last level, `+` only as a whole level:
 * `alerts/#`, `sensors/+/alarm`). Null when it is fine.
 */
export function subscriptionProblem(protocol: BrokerProtocol, subscription: string): SubscriptionRule | null {
  if (subscription === "") return "subscriptionEmpty";
  if (protocol === "stomp") return subscription.startsWith("/") && !/[\r\n\0]/.test(subscription) ? null : "stompDestination";
  const levels = subscription.split("/");
  for (const [index, level] of levels.entries()) {
    if (level.includes("#") && (level !== "#" || index !== levels.length - 1)) return "mqttHash";
    if (level.includes("+") && level !== "+") return "mqttPlus";
  }
  return null;
}

/**
 * Every problem with a broker source's subscriptions, in order. Each is
 * trimmed and blank ones are left out, as the backend does; at least one
 * must remain.
 */
export function checkSubscriptions(protocol: BrokerProtocol, subscriptions: readonly string[]): SourceProblem[] {
  const given = subscriptions.map((subscription) => subscription.trim()).filter((subscription) => subscription !== "");
  if (given.length === 0) return [{ field: "subscriptions", rule: "subscriptionsRequired", protocol }];
  const problems: SourceProblem[] = [];
  for (const subscription of given) {
    const rule = subscriptionProblem(protocol, subscription);
    if (rule !== null) problems.push({ field: "subscriptions", rule, subscription });
  }
  return problems;
}

/** The MQTT quality of service a source may ask for. */
export const QOS_LEVELS = [0, 1] as const;
export const DEFAULT_QOS = 1;

/** A blank source of this protocol, as the add form starts. */
export function newSourceInput(protocol: ProtocolView = "ntfy"): SourceInput {
  return {
    id: null,
    name: "",
    protocol,
    url: "",
    enabled: true,
    auth_in_query: false,
    headers: [],
    map: { ...DEFAULT_MAP },
    subscribe_frame: "",
    resume_url: "",
    text_frames: false,
    ca_file: "",
    read_timeout_secs: DEFAULT_READ_TIMEOUT_SECS,
    max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
    credentials: { kind: "none" },
    subscriptions: [],
    virtual_host: "",
    client_id: "",
    qos: DEFAULT_QOS,
    // A persistent session is what MQTT sources start with; a STOMP durable subscription is asked for.
    durable: protocol === "mqtt",
    id_header: "",
    allow_plain_credentials: false,
  };
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** Whether `value` is a valid HTTP header name (an RFC 9110 token). */
export function validHeaderName(value: string): boolean {
  return HEADER_NAME.test(value);
}

/** A path that does not depend on a working directory, which a window has none of. */
export function isAbsolutePath(path: string): boolean {
  return /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(path);
}

/** True when the map is Rust's default or entirely unset, i.e. says nothing of its own. */
export function isDefaultMap(map: FieldMapInput): boolean {
  return MAP_FIELDS.every((field) => map[field] === DEFAULT_MAP[field]) || MAP_FIELDS.every((field) => map[field] === "");
}

/**
 * `normalize_url` in Rust: checks a URL for its protocol and returns it in
 * the form the source connects to (`http(s)` → `ws(s)`, ntfy gets `/ws`,
 * Gotify `/stream`), or the problem with it.
 */
export function normalizeSourceUrl(protocol: ProtocolView, text: string): { url: string } | { problem: SourceProblem } {
  const trimmed = text.trim();
  if (trimmed === "") return { problem: { field: "url", rule: "urlRequired" } };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { problem: { field: "url", rule: "urlInvalid", url: trimmed } };
  }
  const scheme = url.protocol.replace(/:$/, "");
  const target = { ws: "ws", http: "ws", wss: "wss", https: "wss" }[scheme];
  if (!target) return { problem: { field: "url", rule: "urlScheme", scheme } };
  if (url.hostname === "") return { problem: { field: "url", rule: "urlHost", url: trimmed } };
  url.protocol = `${target}:`;
  if (protocol === "ntfy") {
    const topicsPath = url.pathname.replace(/\/+$/, "").replace(/\/ws$/, "");
    const topicList = topicsPath.split("/").pop() ?? "";
    if (topicList.split(",").some((topic) => topic.trim() === "")) {
      return { problem: { field: "url", rule: "ntfyTopic" } };
    }
    url.pathname = `${topicsPath}/ws`;
  } else if (protocol === "gotify") {
    const path = url.pathname.replace(/\/+$/, "");
    if (!path.endsWith("/stream")) url.pathname = `${path}/stream`;
  }
  return { url: url.toString() };
}

/** What the rules need to know besides the input itself. */
export type SourceContext = {
  /** Names of the other live sources (not this one). */
  otherNames: readonly string[];
  /** Header names that have a stored value, so `value: null` can keep it. */
  storedHeaders: readonly string[];
  /** Whether the source has credentials stored, which `credentials: keep` sends again. */
  credentialsStored: boolean;
};

/** Every problem with `input`, in form order. */
export function checkSource(input: SourceInput, context: SourceContext): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const name = input.name.trim();
  if (name === "") problems.push({ field: "name", rule: "nameRequired" });
  else if (context.otherNames.includes(name)) problems.push({ field: "name", rule: "nameTaken", name });

  const url = normalizeSourceUrl(input.protocol, input.url);
  if ("problem" in url) problems.push(url.problem);

  problems.push(...checkBrokerSettings(input));
  const broker = isBroker(input.protocol);

  const credentials = input.credentials;
  if (credentials.kind === "basic" && input.protocol === "gotify") {
    problems.push({ field: "credentials", rule: "gotifyBasic" });
  } else if (credentials.kind === "token" && broker) {
    problems.push({ field: "credentials", rule: "brokerToken" });
  } else if (credentials.kind === "token" && credentials.token.trim() === "") {
    problems.push({ field: "credentials", rule: "tokenRequired" });
  } else if (credentials.kind === "basic" && (credentials.username.trim() === "" || credentials.password === "")) {
    problems.push({ field: "credentials", rule: "basicRequired" });
  }
  const plain = plainCredentialsProblem(input, sendsCredentials(input.credentials, context.credentialsStored));
  if (plain) problems.push(plain);

  const json = input.protocol === "json";
  if (usesFieldMap(input.protocol)) {
    for (const field of MAP_FIELDS) {
      const pointer = input.map[field];
      if (pointer !== "" && !pointer.startsWith("/")) problems.push({ field: "map", rule: "pointer", mapField: field, pointer });
    }
  } else if (!isDefaultMap(input.map)) {
    problems.push({ field: "map", rule: "jsonOnly" });
  }
  if (!json && (input.subscribe_frame.trim() !== "" || input.text_frames)) {
    problems.push({ field: "subscribe_frame", rule: "jsonOnly" });
  }
  if (input.resume_url.trim() !== "") {
    if (!json) problems.push({ field: "resume_url", rule: "jsonOnly" });
    else if (!validResumeUrl(input.resume_url)) problems.push({ field: "resume_url", rule: "resumeUrl", url: input.resume_url.trim() });
  }

  for (const header of input.headers) {
    const headerName = header.name.trim();
    if (headerName === "") {
      problems.push({ field: "headers", rule: "headerNameRequired" });
    } else if (!validHeaderName(headerName)) {
      problems.push({ field: "headers", rule: "headerName", name: headerName });
    } else if (header.value === null && !context.storedHeaders.includes(headerName)) {
      problems.push({ field: "headers", rule: "headerValueRequired", name: headerName });
    } else if (header.value !== null && /[\r\n\0]/.test(header.value)) {
      problems.push({ field: "headers", rule: "headerValue", name: headerName });
    }
  }

  const caFile = input.ca_file.trim();
  if (caFile !== "" && !isAbsolutePath(caFile)) problems.push({ field: "ca_file", rule: "caAbsolute", path: caFile });

  if (!inRange(input.read_timeout_secs, READ_TIMEOUT_RANGE)) problems.push({ field: "read_timeout_secs", rule: "readTimeout" });
  if (!inRange(input.max_frame_bytes, MAX_FRAME_RANGE)) problems.push({ field: "max_frame_bytes", rule: "maxFrame" });
  return problems;
}

/**
 * The broker settings: subscriptions, QoS, virtual host (STOMP), client id
 * and message id header (STOMP), as `save_source` checks them; none of them
 * on another protocol.
 */
export function checkBrokerSettings(input: SourceInput): SourceProblem[] {
  const protocol = input.protocol;
  const virtualHost = input.virtual_host.trim();
  const clientId = input.client_id.trim();
  const idHeader = input.id_header.trim();
  if (!isBroker(protocol)) {
    const given: [BrokerField, boolean][] = [
      ["subscriptions", input.subscriptions.some((subscription) => subscription.trim() !== "")],
      ["virtual_host", virtualHost !== ""],
      ["client_id", clientId !== ""],
      ["id_header", idHeader !== ""],
      ["durable", input.durable],
    ];
    return given.filter(([, set]) => set).map(([field]) => ({ field, rule: "brokerOnly" }));
  }
  const problems = checkSubscriptions(protocol, input.subscriptions);
  if (!(QOS_LEVELS as readonly number[]).includes(input.qos)) problems.push({ field: "qos", rule: "qos" });
  if (protocol === "mqtt" && virtualHost !== "") problems.push({ field: "virtual_host", rule: "mqttVirtualHost" });
  if (protocol === "mqtt" && idHeader !== "") problems.push({ field: "id_header", rule: "mqttIdHeader" });
  else if (/[:\r\n]/.test(idHeader)) problems.push({ field: "id_header", rule: "idHeader", header: idHeader });
  if ([...clientId].length > MAX_CLIENT_ID_CHARS || /[\u0000-\u001f\u007f-\u009f]/.test(clientId)) {
    problems.push({ field: "client_id", rule: "clientId" });
  }
  return problems;
}

/**
 * Whether `host` (a URL's host name, as `URL.hostname` gives it) is this
 * machine: 127.0.0.0/8, ::1, `localhost` and names under `.localhost`, as
 * `plain_credentials_refusal` in Rust decides. The URL parser has already
 * turned `127.1` into `127.0.0.1` and `[0::1]` into `[::1]`.
 */
export function isThisMachine(host: string): boolean {
  const name = host.toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost") || name === "[::1]") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * The host a source's URL would reach over plain ws:// (`http://` is typed
 * for ws://), when that host is another machine; null for wss://, for this
 * machine, and for a URL with a problem of its own.
 */
export function plainTextHost(protocol: ProtocolView, url: string): string | null {
  const normalized = normalizeSourceUrl(protocol, url);
  if ("problem" in normalized) return null;
  const parsed = new URL(normalized.url);
  return parsed.protocol === "ws:" && !isThisMachine(parsed.hostname) ? parsed.hostname : null;
}

/**
 * Whether the connection would carry a token or a username and password:
 * what the form sends (even empty, which another rule refuses), or what is
 * stored when it sends `keep`.
 */
export function sendsCredentials(credentials: SourceInput["credentials"], credentialsStored: boolean): boolean {
  return credentials.kind === "keep" ? credentialsStored : credentials.kind !== "none";
}

/** Headers whose value is as good as a password: `Authorization` and `Cookie`. */
export function hasSecretHeader(headers: readonly HeaderInput[]): boolean {
  return headers.some((header) => ["authorization", "cookie"].includes(header.name.trim().toLowerCase()));
}

/**
 * Credentials (or an `Authorization`/`Cookie` header) sent over plain ws://
 * to another machine can be read by anyone on the way, so that takes the
 * user's confirmation: `allow_plain_credentials`. `sends` says whether the
 * connection carries credentials (`sendsCredentials`).
 */
export function plainCredentialsProblem(input: SourceInput, sends: boolean): SourceProblem | null {
  if (input.allow_plain_credentials || !(sends || hasSecretHeader(input.headers))) return null;
  const host = plainTextHost(input.protocol, input.url);
  return host === null ? null : { field: "allow_plain_credentials", rule: "plainCredentials", host };
}

function inRange(value: number, range: { min: number; max: number }): boolean {
  return Number.isInteger(value) && value >= range.min && value <= range.max;
}

/** The resume template with sample values must still be a URL, as `json::connect_url` requires. */
function validResumeUrl(template: string): boolean {
  const filled = template
    .trim()
    .replaceAll("{last_id}", "0")
    .replaceAll("{last_time_ms}", "0")
    .replaceAll("{last_time}", "0");
  try {
    new URL(filled);
    return true;
  } catch {
    return false;
  }
}
