/**
 * The mock backend's routing, notification policy and quiet state, standing
 * in for `herald_core::rules`, `herald_core::policy` and the commands over
 * them: rules kept in order and refused with Rust's wording (checked by
 * `lib/routing-rules.ts`), decided as `RuleSet::decide` decides, previews
 * over the stored messages, and do-not-disturb, mutes and paused sources
 * with deadlines from the mock's clock.
 */
import type { DeliveryFailureView } from "../bindings/DeliveryFailureView";
import type { MessageRow } from "../bindings/MessageRow";
import type { PauseInput } from "../bindings/PauseInput";
import type { PolicyInput } from "../bindings/PolicyInput";
import type { QuietView } from "../bindings/QuietView";
import type { RuleInput } from "../bindings/RuleInput";
import type { RulePreview } from "../bindings/RulePreview";
import type { RuleView } from "../bindings/RuleView";
import type { TextMatchInput } from "../bindings/TextMatchInput";
import {
  checkPolicy,
  checkRule,
  COALESCE_SECONDS_RANGE,
  DEFAULT_POLICY,
  emptyMatch,
  TIMEOUT_RANGE,
  type PolicyProblem,
  type RuleProblem,
} from "../lib/routing-rules";
import { localTime, windowContains, type LocalTime, type WindowProblem } from "../lib/time-window";
import { BackendError } from "./backend";
import type { MockMessage } from "./mock-data";

/** Rust's "until turned off" deadline (`policy::FOREVER`). */
export const FOREVER = Number.POSITIVE_INFINITY;

function windowText(problem: WindowProblem): string {
  return problem === "timeEmpty"
    ? "a time window must not start and end at the same minute"
    : "a time window needs minutes within a day and at least one weekday";
}

/** The English text Rust would send for a rule problem. */
export function englishRuleProblem(problem: RuleProblem): string {
  switch (problem.rule) {
    case "nameRequired":
      return "name must not be empty";
    case "priorityValue":
      return "a priority must be between 1 and 5";
    case "priorityRange":
      return `the priority range ${problem.min}–${problem.max} is empty`;
    case "regex":
      return `invalid regular expression ${JSON.stringify(problem.pattern)}: ${problem.error}`;
    case "timeInvalid":
    case "timeEmpty":
    case "weekdaysRequired":
      return windowText(problem.rule);
    case "actionsRequired":
      return "a rule needs at least one action";
    case "tagRequired":
      return "the tag to add is empty";
    case "groupRequired":
      return "the group to set is empty";
    case "programRequired":
      return "the command needs a program to run";
    case "nul":
      return "the command contains a NUL character";
    case "urgency":
      return `unknown urgency ${JSON.stringify(problem.urgency)}; use low, normal or critical`;
    case "webhookUrl":
      return `the webhook url ${JSON.stringify(problem.url)} is not valid: relative URL without a base`;
    case "webhookScheme":
      return `the webhook url ${JSON.stringify(problem.url)} must be an http or https address`;
    case "headerName":
      return `header name ${JSON.stringify(problem.name)} is not a valid HTTP header name`;
    case "headerValue":
      return `header ${problem.name} has a line break or NUL in its value`;
    case "timeout":
      return `a timeout must be between ${TIMEOUT_RANGE.min} and ${TIMEOUT_RANGE.max} seconds, not ${problem.secs}`;
  }
}

/** As `save_rule` refuses: `field` is "name" for the name, null for the rest. */
export function ruleError(name: string, problem: RuleProblem): BackendError {
  if (problem.field === "name") return new BackendError("invalid", englishRuleProblem(problem), "name");
  return new BackendError("invalid", `rule ${JSON.stringify(name.trim())}: ${englishRuleProblem(problem)}`, null);
}

export function englishPolicyProblem(problem: PolicyProblem): string {
  switch (problem.rule) {
    case "priorityValue":
      return problem.field === "bypass_priority"
        ? "the bypass priority must be between 1 and 5"
        : "a minimum priority must be between 1 and 5";
    case "countValue":
      return "the coalescing count must be a whole number";
    case "coalesceSeconds":
      return `the coalescing window must be between ${COALESCE_SECONDS_RANGE.min} and ${COALESCE_SECONDS_RANGE.max} seconds`;
    default:
      return windowText(problem.rule);
  }
}

/** What the rules decided for one message (`rules::Decision`, the parts the mock uses). */
export type MockDecision = {
  /** The rules that matched, in order. */
  matched: RuleView[];
  drop: boolean;
  notify: boolean;
  markRead: boolean;
  star: boolean;
  addTags: string[];
};

function textMatches(condition: TextMatchInput | null, text: string): boolean {
  if (condition === null) return true;
  if (condition.kind === "regex") {
    try {
      return new RegExp(condition.value, "i").test(text);
    } catch {
      return false;
    }
  }
  return text.toLowerCase().includes(condition.value.toLowerCase());
}

function ruleMatches(rule: RuleView, message: MockMessage, now: LocalTime): boolean {
  const match = rule.match;
  const tags = message.tags.map((tag) => tag.toLowerCase());
  const hasTag = (wanted: string) => tags.includes(wanted.toLowerCase());
  const topic = message.topic?.toLowerCase();
  return (
    (match.sources.length === 0 || match.sources.includes(message.sourceId)) &&
    (match.topics.length === 0 || (topic !== undefined && match.topics.some((wanted) => wanted.toLowerCase() === topic))) &&
    (match.min_priority === null || message.priority >= match.min_priority) &&
    (match.max_priority === null || message.priority <= match.max_priority) &&
    (match.tags_any.length === 0 || match.tags_any.some(hasTag)) &&
    match.tags_all.every(hasTag) &&
    textMatches(match.title, message.title) &&
    textMatches(match.body, message.body) &&
    (match.time === null || windowContains(match.time, now))
  );
}

/** `RuleSet::decide`: the enabled rules in order, until one that stops. */
export function decide(rules: readonly RuleView[], message: MockMessage, now: LocalTime): MockDecision {
  const decision: MockDecision = { matched: [], drop: false, notify: true, markRead: false, star: false, addTags: [] };
  for (const rule of rules) {
    if (!rule.enabled || !ruleMatches(rule, message, now)) continue;
    decision.matched.push(rule);
    for (const action of rule.actions) {
      switch (action.action) {
        case "notify":
          decision.notify = true;
          break;
        case "store_silently":
          decision.notify = false;
          break;
        case "mark_read":
          decision.markRead = true;
          break;
        case "star":
          decision.star = true;
          break;
        case "add_tag":
          if (!message.tags.includes(action.tag) && !decision.addTags.includes(action.tag)) decision.addTags.push(action.tag);
          break;
        case "drop":
          decision.drop = true;
          break;
        default:
          break;
      }
    }
    if (rule.stop) break;
  }
  // A dropped message is not stored, so nothing else applies to it.
  if (decision.drop) return { matched: decision.matched, drop: true, notify: false, markRead: false, star: false, addTags: [] };
  return decision;
}

/** Trimmed, without empty entries, as `dto::routing::clean` keeps lists. */
function clean(values: readonly string[]): string[] {
  return values.map((value) => value.trim()).filter((value) => value !== "");
}

/** A rule as `save_rule` stores it: the name and lists trimmed. */
function stored(id: number, input: RuleInput): RuleView {
  const text = (condition: TextMatchInput | null) => (condition === null ? null : { ...condition });
  return {
    id,
    name: input.name.trim(),
    enabled: input.enabled,
    stop: input.stop,
    match: {
      ...input.match,
      sources: [...input.match.sources],
      topics: clean(input.match.topics),
      tags_any: clean(input.match.tags_any),
      tags_all: clean(input.match.tags_all),
      title: text(input.match.title),
      body: text(input.match.body),
      time: input.match.time ? { ...input.match.time } : null,
    },
    actions: structuredClone(input.actions),
  };
}

/** The local midnight after `now`: "until tomorrow" (`clock::next_midnight`). */
export function nextMidnight(now: number): number {
  const date = new Date(now);
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + 1).getTime();
}

/** When a pause ends, from `now`; null resumes (`PauseInput::deadline`). */
export function deadline(pause: PauseInput, now: number): number | null {
  switch (pause.kind) {
    case "off":
      return null;
    case "for":
      return now + Math.max(1, pause.minutes) * 60_000;
    case "until_tomorrow":
      return nextMidnight(now);
    case "forever":
      return FOREVER;
  }
}

const shown = (until: number) => (until === FOREVER ? null : until);

/** The demo's rules: one of each kind of thing a rule does, on the demo sources. */
function demoRules(): RuleView[] {
  const rule = (id: number, name: string, changes: Partial<RuleView>): RuleView => ({
    id,
    name,
    enabled: true,
    stop: false,
    match: emptyMatch(),
    actions: [],
    ...changes,
  });
  return [
    rule(1, "Risk alerts to on-call", {
      stop: true,
      match: { ...emptyMatch(), sources: [3], min_priority: 5 },
      actions: [
        { action: "notify", urgency: "critical", sound: "alarm-clock-elapsed" },
        { action: "star" },
        { action: "webhook", url: "https://oncall.example.com/hooks/herald", headers: [["X-Team", "risk"]], timeout_secs: 10 },
      ],
    }),
    rule(2, "Quiet passing builds", {
      match: { ...emptyMatch(), sources: [4], title: { kind: "regex", value: "^Build #\\d+ passed" } },
      actions: [{ action: "store_silently" }, { action: "mark_read" }],
    }),
    rule(3, "冷库夜间告警", {
      match: {
        ...emptyMatch(),
        sources: [2],
        title: { kind: "contains", value: "冷库" },
        time: { start_minute: 18 * 60, end_minute: 8 * 60, weekdays: 0b001_1111 },
      },
      actions: [
        { action: "add_tag", tag: "after-hours" },
        { action: "command", program: "/usr/local/bin/page-facilities", args: ["--room", "cold"], timeout_secs: 30 },
      ],
    }),
    rule(4, "Drop backup chatter", {
      enabled: false,
      match: { ...emptyMatch(), sources: [5], max_priority: 1 },
      actions: [{ action: "drop" }],
    }),
  ];
}

export class MockRouting {
  rules: RuleView[];
  policy: PolicyInput = structuredClone(DEFAULT_POLICY) as PolicyInput;
  /** Unix ms when do-not-disturb ends; `FOREVER` until resumed. */
  dndUntil: number | null = null;
  /** Per source: when its mute ends, or `FOREVER`. */
  readonly mutes = new Map<number, number>();
  sourcesPaused = false;
  /** Messages held back while quiet, summarised when it ends. */
  held = 0;
  notifierError: string | null;
  failures: DeliveryFailureView[] = [];

  private readonly now: () => number;
  private nextRuleId: number;

  constructor(options: { now: () => number; demo: boolean; notifierError?: string | null }) {
    this.now = options.now;
    this.notifierError = options.notifierError ?? null;
    this.rules = options.demo ? demoRules() : [];
    this.nextRuleId = Math.max(0, ...this.rules.map((rule) => rule.id)) + 1;
  }

  /** A failed webhook to show, for the demo's newest urgent risk message. */
  addDemoFailure(message: MockMessage | undefined): void {
    const now = this.now();
    this.failures = [
      {
        id: 1,
        rule_name: "Risk alerts to on-call",
        message_id: message?.id ?? null,
        kind: "webhook",
        target: "https://oncall.example.com/hooks/herald",
        attempts: 3,
        error: "connect to oncall.example.com:443: Connection refused (os error 111)",
        failed_at: now - 25 * 60_000,
      },
    ];
  }

  list(): RuleView[] {
    return structuredClone(this.rules);
  }

  private find(id: number): RuleView {
    const rule = this.rules.find((candidate) => candidate.id === id);
    if (!rule) throw new BackendError("not_found", `rule ${id} does not exist; it may have been removed`);
    return rule;
  }

  /** Checks as `RuleSet::compile` does, throwing the first problem. */
  private check(input: RuleInput, options: { requireName: boolean }): void {
    const first = checkRule(input).find((problem) => options.requireName || problem.field !== "name");
    if (first) throw ruleError(input.name, first);
  }

  save(input: RuleInput): number {
    this.check(input, { requireName: true });
    if (input.id === null) {
      const id = this.nextRuleId++;
      this.rules = [...this.rules, stored(id, input)];
      return id;
    }
    this.find(input.id);
    this.rules = this.rules.map((rule) => (rule.id === input.id ? stored(rule.id, input) : rule));
    return input.id;
  }

  remove(id: number): void {
    this.find(id);
    this.rules = this.rules.filter((rule) => rule.id !== id);
  }

  setEnabled(id: number, enabled: boolean): void {
    this.find(id);
    this.rules = this.rules.map((rule) => (rule.id === id ? { ...rule, enabled } : rule));
  }

  /** Moves a rule to a 1-based position; positions past the end mean last. */
  move(id: number, position: number): void {
    const rule = this.find(id);
    if (!Number.isInteger(position) || position < 1) {
      throw new BackendError("invalid", `position ${position} is not valid; the first rule is at position 1`);
    }
    const others = this.rules.filter((candidate) => candidate.id !== id);
    const index = Math.min(position - 1, others.length);
    this.rules = [...others.slice(0, index), rule, ...others.slice(index)];
  }

  decide(message: MockMessage, rules: readonly RuleView[] = this.rules): MockDecision {
    return decide(rules, message, localTime(message.receivedAt));
  }

  /**
   * `preview_rules`: the newest `limit` messages tried against the draft
   * (as if it were on) or every saved rule, at the local time each arrived.
   */
  preview(rule: RuleInput | null, limit: number, messages: readonly MockMessage[], toRow: (message: MockMessage) => MessageRow): RulePreview {
    if (!Number.isInteger(limit) || limit < 1) throw new BackendError("invalid", "the preview limit must be at least 1");
    let rules = this.rules;
    if (rule !== null) {
      this.check(rule, { requireName: false });
      rules = [{ ...stored(rule.id ?? 0, rule), enabled: true }];
    }
    const newest = messages.slice(Math.max(0, messages.length - limit)).reverse();
    const matched: RulePreview["matched"] = [];
    for (const message of newest) {
      const decision = this.decide(message, rules);
      if (decision.matched.length === 0) continue;
      matched.push({
        message: toRow(message),
        rules: decision.matched.map((candidate) => candidate.name),
        dropped: decision.drop,
        notify: decision.notify && !decision.drop,
      });
    }
    return { scanned: newest.length, matched };
  }

  failuresNewestFirst(limit: number): DeliveryFailureView[] {
    return [...this.failures].sort((a, b) => b.failed_at - a.failed_at).slice(0, Math.max(0, limit));
  }

  setPolicy(policy: PolicyInput): PolicyInput {
    const first = checkPolicy(policy)[0];
    if (first) throw new BackendError("invalid", englishPolicyProblem(first), null);
    // Rust keeps per-source minimums in a `BTreeMap`: one per source (the last wins), by id.
    const sourceMinimums = [...new Map(policy.source_min_priority)].sort(([a], [b]) => a - b);
    this.policy = { ...structuredClone(policy), source_min_priority: sourceMinimums };
    return structuredClone(this.policy);
  }

  /** `QuietView::new`: passed deadlines are forgotten. */
  quiet(): QuietView {
    const now = this.now();
    if (this.dndUntil !== null && now >= this.dndUntil) this.dndUntil = null;
    for (const [id, until] of this.mutes) if (now >= until) this.mutes.delete(id);
    const quietHoursNow = this.policy.quiet_hours.some((window) => windowContains(window, localTime(now)));
    return {
      dnd_active: this.dndUntil !== null || quietHoursNow,
      dnd_until: this.dndUntil === null ? null : shown(this.dndUntil),
      dnd_forever: this.dndUntil === FOREVER,
      quiet_hours_now: quietHoursNow,
      mutes: [...this.mutes].map(([id, until]): [number, number | null] => [id, shown(until)]),
      held: this.held,
      sources_paused: this.sourcesPaused,
      notifier_error: this.notifierError,
    };
  }

  pause(pause: PauseInput): QuietView {
    this.dndUntil = deadline(pause, this.now());
    // Resuming summarises what was held back; the mock just forgets it.
    if (this.dndUntil === null) this.held = 0;
    return this.quiet();
  }

  mute(id: number, pause: PauseInput): QuietView {
    const until = deadline(pause, this.now());
    if (until === null) this.mutes.delete(id);
    else this.mutes.set(id, until);
    return this.quiet();
  }

  /**
   * Counts a new message that wanted to notify but arrived during
   * do-not-disturb below the bypass priority: it is held for the summary.
   */
  holdIfQuiet(message: MockMessage, decision: MockDecision): void {
    if (!decision.notify || decision.drop) return;
    const quiet = this.quiet();
    const bypass = this.policy.bypass_priority;
    if (quiet.dnd_active && (bypass === null || message.priority < bypass)) this.held += 1;
  }
}
