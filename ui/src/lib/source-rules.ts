/**
 * The rules a source's settings must follow, as the Rust side checks them
 * (`herald_core::config` and the `save_source` command): a TypeScript mirror
 * so the form can point at a mistake before a round trip, and the mock
 * backend can refuse what the real one refuses. Problems are codes with
 * parameters, not text: the form words them from the locale files, the mock
 * in Rust's English.
 */
import type { FieldMapInput } from "../bindings/FieldMapInput";
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
  | "max_frame_bytes";

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
];

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
  | { field: "read_timeout_secs"; rule: "readTimeout" }
  | { field: "max_frame_bytes"; rule: "maxFrame" };

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
};

/** Every problem with `input`, in form order. */
export function checkSource(input: SourceInput, context: SourceContext): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const name = input.name.trim();
  if (name === "") problems.push({ field: "name", rule: "nameRequired" });
  else if (context.otherNames.includes(name)) problems.push({ field: "name", rule: "nameTaken", name });

  const url = normalizeSourceUrl(input.protocol, input.url);
  if ("problem" in url) problems.push(url.problem);

  const credentials = input.credentials;
  if (credentials.kind === "basic" && input.protocol === "gotify") {
    problems.push({ field: "credentials", rule: "gotifyBasic" });
  } else if (credentials.kind === "token" && credentials.token.trim() === "") {
    problems.push({ field: "credentials", rule: "tokenRequired" });
  } else if (credentials.kind === "basic" && (credentials.username.trim() === "" || credentials.password === "")) {
    problems.push({ field: "credentials", rule: "basicRequired" });
  }

  const json = input.protocol === "json";
  if (json) {
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
