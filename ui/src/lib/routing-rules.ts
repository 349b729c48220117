/**
 * The rules a routing rule and the notification policy must follow, as the
 * Rust side checks them (`herald_core::rules::RuleSet::compile`,
 * `Action::validate` and `Policy::validate`): a TypeScript mirror so the
 * forms can point at a mistake before a round trip, and the mock backend can
 * refuse what the real one refuses. Problems are codes with parameters, not
 * text: the forms word them from the locale files, the mock in Rust's
 * English.
 */
import type { MatchInput } from "../bindings/MatchInput";
import type { PolicyInput } from "../bindings/PolicyInput";
import type { RuleActionInput } from "../bindings/RuleActionInput";
import type { RuleInput } from "../bindings/RuleInput";
import { validHeaderName } from "./source-rules";
import { checkWindow, type WindowProblem } from "./time-window";

export type ActionKind = RuleActionInput["action"];

/** In the order the form's type menu offers them. */
export const ACTION_KINDS: readonly ActionKind[] = [
  "notify",
  "store_silently",
  "mark_read",
  "star",
  "add_tag",
  "set_group",
  "drop",
  "webhook",
  "command",
];

export const PRIORITIES = [1, 2, 3, 4, 5] as const;
/** freedesktop's urgencies; a notify action without one keeps the priority's. */
export const URGENCIES = ["low", "normal", "critical"] as const;
export const TEXT_KINDS = ["contains", "regex"] as const;
export type TextKind = (typeof TEXT_KINDS)[number];

/** Webhooks and commands are given up on after this long (`Action::validate`). */
export const TIMEOUT_RANGE = { min: 1, max: 600 } as const;
export const DEFAULT_TIMEOUT_SECS = 10;
export const COALESCE_SECONDS_RANGE = { min: 1, max: 3600 } as const;
/** A `u32` in Rust. */
const MAX_COUNT = 4_294_967_295;

/** `Policy::default()` in Rust. */
export const DEFAULT_POLICY: Readonly<PolicyInput> = {
  min_priority: 1,
  source_min_priority: [],
  quiet_hours: [],
  bypass_priority: 5,
  coalesce_count: 3,
  coalesce_seconds: 10,
  summarize_catch_up: true,
};

/** A match that takes every message. */
export function emptyMatch(): MatchInput {
  return {
    sources: [],
    topics: [],
    min_priority: null,
    max_priority: null,
    tags_any: [],
    tags_all: [],
    title: null,
    body: null,
    time: null,
  };
}

/** A blank rule, as the add form starts. */
export function newRuleInput(): RuleInput {
  return { id: null, name: "", enabled: true, stop: false, match: emptyMatch(), actions: [] };
}

/** An action of this kind with empty fields. */
export function newAction(kind: ActionKind): RuleActionInput {
  switch (kind) {
    case "notify":
      return { action: "notify", urgency: null, sound: null };
    case "add_tag":
      return { action: "add_tag", tag: "" };
    case "set_group":
      return { action: "set_group", group: "" };
    case "webhook":
      return { action: "webhook", url: "", headers: [], timeout_secs: DEFAULT_TIMEOUT_SECS };
    case "command":
      return { action: "command", program: "", args: [], timeout_secs: DEFAULT_TIMEOUT_SECS };
    default:
      return { action: kind };
  }
}

/**
 * Topics and tags as typed in one box: separated by commas (the Chinese
 * full-width comma too), trimmed, without empty or repeated entries.
 */
export function parseList(text: string): string[] {
  const values = text
    .split(/[,，]/)
    .map((value) => value.trim())
    .filter((value) => value !== "");
  return [...new Set(values)];
}

export function joinList(values: readonly string[]): string {
  return values.join(", ");
}

/** Where a problem is shown: a field of the form, or one action (by index). */
export type RuleField = "name" | "priority" | "title" | "body" | "time" | "actions";

export const RULE_FIELDS: readonly RuleField[] = ["name", "priority", "title", "body", "time", "actions"];

export type ActionRule =
  | { rule: "tagRequired" | "groupRequired" | "programRequired" | "nul" }
  | { rule: "urgency"; urgency: string }
  | { rule: "webhookUrl"; url: string }
  | { rule: "webhookScheme"; url: string }
  | { rule: "headerName"; name: string }
  | { rule: "headerValue"; name: string }
  | { rule: "timeout"; secs: number };

export type RuleProblem =
  | { field: "name"; rule: "nameRequired" }
  | { field: "priority"; rule: "priorityValue" }
  | { field: "priority"; rule: "priorityRange"; min: number; max: number }
  | { field: "title" | "body"; rule: "regex"; pattern: string; error: string }
  | { field: "time"; rule: WindowProblem }
  | { field: "actions"; rule: "actionsRequired" }
  | ({ field: "action"; index: number } & ActionRule);

/** Why `pattern` is not a regular expression, or null when it is one. */
export function regexError(pattern: string): string | null {
  try {
    new RegExp(pattern, "i");
    return null;
  } catch (reason) {
    return reason instanceof Error ? reason.message : String(reason);
  }
}

function validPriority(value: number | null): boolean {
  return value === null || (Number.isInteger(value) && value >= 1 && value <= 5);
}

function inRange(value: number, range: { min: number; max: number }): boolean {
  return Number.isInteger(value) && value >= range.min && value <= range.max;
}

/** An http(s) URL with a host, as `Action::validate` wants for a webhook. */
function webhookProblem(text: string): ActionRule | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { rule: "webhookUrl", url: text.trim() };
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    return { rule: "webhookScheme", url: text.trim() };
  }
  return null;
}

function actionProblem(action: RuleActionInput): ActionRule | null {
  switch (action.action) {
    case "notify":
      return action.urgency !== null && !(URGENCIES as readonly string[]).includes(action.urgency)
        ? { rule: "urgency", urgency: action.urgency }
        : null;
    case "add_tag":
      return action.tag.trim() === "" ? { rule: "tagRequired" } : null;
    case "set_group":
      return action.group.trim() === "" ? { rule: "groupRequired" } : null;
    case "webhook": {
      const url = webhookProblem(action.url);
      if (url) return url;
      for (const [name, value] of action.headers) {
        if (!validHeaderName(name.trim())) return { rule: "headerName", name: name.trim() };
        if (/[\r\n\0]/.test(value)) return { rule: "headerValue", name: name.trim() };
      }
      return inRange(action.timeout_secs, TIMEOUT_RANGE) ? null : { rule: "timeout", secs: action.timeout_secs };
    }
    case "command":
      if (action.program.trim() === "") return { rule: "programRequired" };
      if (action.program.includes("\0") || action.args.some((arg) => arg.includes("\0"))) return { rule: "nul" };
      return inRange(action.timeout_secs, TIMEOUT_RANGE) ? null : { rule: "timeout", secs: action.timeout_secs };
    default:
      return null;
  }
}

/** Every problem with `rule`, in form order. */
export function checkRule(rule: RuleInput): RuleProblem[] {
  const problems: RuleProblem[] = [];
  if (rule.name.trim() === "") problems.push({ field: "name", rule: "nameRequired" });

  const { min_priority: min, max_priority: max } = rule.match;
  if (!validPriority(min) || !validPriority(max)) problems.push({ field: "priority", rule: "priorityValue" });
  else if (min !== null && max !== null && min > max) problems.push({ field: "priority", rule: "priorityRange", min, max });

  for (const field of ["title", "body"] as const) {
    const text = rule.match[field];
    if (text?.kind !== "regex") continue;
    const error = regexError(text.value);
    if (error !== null) problems.push({ field, rule: "regex", pattern: text.value, error });
  }

  if (rule.match.time) {
    const problem = checkWindow(rule.match.time);
    if (problem) problems.push({ field: "time", rule: problem });
  }

  if (rule.actions.length === 0) problems.push({ field: "actions", rule: "actionsRequired" });
  rule.actions.forEach((action, index) => {
    const problem = actionProblem(action);
    if (problem) problems.push({ field: "action", index, ...problem });
  });
  return problems;
}

export type PolicyField = "min_priority" | "bypass_priority" | "quiet_hours" | "coalesce_count" | "coalesce_seconds";

export type PolicyProblem =
  | { field: "min_priority" | "bypass_priority"; rule: "priorityValue" }
  | { field: "quiet_hours"; index: number; rule: WindowProblem }
  | { field: "coalesce_count"; rule: "countValue" }
  | { field: "coalesce_seconds"; rule: "coalesceSeconds" };

/** Every problem with `policy`, in form order. */
export function checkPolicy(policy: PolicyInput): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  if (!validPriority(policy.min_priority) || policy.source_min_priority.some(([, min]) => !validPriority(min))) {
    problems.push({ field: "min_priority", rule: "priorityValue" });
  }
  if (!validPriority(policy.bypass_priority)) problems.push({ field: "bypass_priority", rule: "priorityValue" });
  policy.quiet_hours.forEach((window, index) => {
    const problem = checkWindow(window);
    if (problem) problems.push({ field: "quiet_hours", index, rule: problem });
  });
  if (!inRange(policy.coalesce_count, { min: 0, max: MAX_COUNT })) {
    problems.push({ field: "coalesce_count", rule: "countValue" });
  }
  // The window only matters while coalescing is on, but it is stored either way, so it must be a number.
  const seconds = policy.coalesce_count > 0 ? COALESCE_SECONDS_RANGE : { min: 0, max: MAX_COUNT };
  if (!inRange(policy.coalesce_seconds, seconds)) problems.push({ field: "coalesce_seconds", rule: "coalesceSeconds" });
  return problems;
}
