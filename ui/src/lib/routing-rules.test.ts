import { describe, expect, it } from "vitest";
import type { PolicyInput } from "../bindings/PolicyInput";
import type { RuleActionInput } from "../bindings/RuleActionInput";
import type { RuleInput } from "../bindings/RuleInput";
import {
  ACTION_KINDS,
  checkPolicy,
  checkRule,
  DEFAULT_POLICY,
  emptyMatch,
  newAction,
  newRuleInput,
  parseList,
  regexError,
} from "./routing-rules";

const notify: RuleActionInput = { action: "notify", urgency: null, sound: null };

function rule(changes: Partial<RuleInput> = {}, match: Partial<RuleInput["match"]> = {}): RuleInput {
  return { ...newRuleInput(), name: "Night builds", actions: [notify], ...changes, match: { ...emptyMatch(), ...match } };
}

/** The rule codes `checkRule` finds, in form order. */
const rules = (changes: Partial<RuleInput>, match: Partial<RuleInput["match"]> = {}) =>
  checkRule(rule(changes, match)).map((problem) => problem.rule);

const withAction = (action: RuleActionInput) => checkRule(rule({ actions: [notify, action] }));

describe("checkRule", () => {
  it("accepts a named rule with an action and an empty match", () => {
    expect(rules({})).toEqual([]);
  });

  it("wants a name and at least one action", () => {
    expect(rules({ name: " ", actions: [] })).toEqual(["nameRequired", "actionsRequired"]);
  });

  it("wants priorities within 1–5 and a range that is not empty", () => {
    expect(rules({}, { min_priority: 4, max_priority: 2 })).toEqual(["priorityRange"]);
    expect(rules({}, { min_priority: 3, max_priority: 3 })).toEqual([]);
    expect(rules({}, { min_priority: 0 })).toEqual(["priorityValue"]);
    expect(rules({}, { max_priority: 6 })).toEqual(["priorityValue"]);
  });

  it("compiles regular expressions and says what is wrong with one", () => {
    expect(rules({}, { title: { kind: "regex", value: "^build #\\d+ (failed|passed)" } })).toEqual([]);
    const [problem] = checkRule(rule({}, { body: { kind: "regex", value: "disk (full" } }));
    expect(problem).toMatchObject({ field: "body", rule: "regex", pattern: "disk (full" });
    expect(problem && "error" in problem ? problem.error : "").not.toBe("");
    // "(" is fine as text to look for.
    expect(rules({}, { title: { kind: "contains", value: "(" } })).toEqual([]);
    expect(regexError("[")).not.toBeNull();
  });

  it("checks the time window", () => {
    expect(rules({}, { time: { start_minute: 1320, end_minute: 420, weekdays: 0 } })).toEqual(["weekdaysRequired"]);
    expect(rules({}, { time: { start_minute: Number.NaN, end_minute: 420, weekdays: 1 } })).toEqual(["timeInvalid"]);
  });

  it("checks each action and says which one is wrong", () => {
    expect(withAction({ action: "add_tag", tag: " " })).toEqual([{ field: "action", index: 1, rule: "tagRequired" }]);
    expect(withAction({ action: "set_group", group: "" })[0]?.rule).toBe("groupRequired");
    expect(withAction({ action: "notify", urgency: "loud", sound: null })[0]).toMatchObject({ rule: "urgency", urgency: "loud" });
    const webhook = (changes: Partial<Extract<RuleActionInput, { action: "webhook" }>>) =>
      withAction({ action: "webhook", url: "https://hooks.example.com/herald", headers: [], timeout_secs: 10, ...changes }).map(
        (problem) => problem.rule,
      );
    expect(webhook({})).toEqual([]);
    expect(webhook({ url: "hooks.example.com" })).toEqual(["webhookUrl"]);
    expect(webhook({ url: "ftp://hooks.example.com/x" })).toEqual(["webhookScheme"]);
    expect(webhook({ headers: [["Bad Name", "x"]] })).toEqual(["headerName"]);
    expect(webhook({ headers: [["X-Token", "a\r\nInjected: b"]] })).toEqual(["headerValue"]);
    expect(webhook({ timeout_secs: 0 })).toEqual(["timeout"]);
    expect(webhook({ timeout_secs: 601 })).toEqual(["timeout"]);
    const command = (changes: Partial<Extract<RuleActionInput, { action: "command" }>>) =>
      withAction({ action: "command", program: "/usr/bin/logger", args: ["-t", "herald"], timeout_secs: 10, ...changes }).map(
        (problem) => problem.rule,
      );
    expect(command({})).toEqual([]);
    expect(command({ program: "  " })).toEqual(["programRequired"]);
    expect(command({ args: ["a\0b"] })).toEqual(["nul"]);
    expect(command({ timeout_secs: Number.NaN })).toEqual(["timeout"]);
  });

  it("starts every kind of action blank, and such actions are flagged where they need a value", () => {
    const needsValue = ACTION_KINDS.filter((kind) => checkRule(rule({ actions: [newAction(kind)] })).length > 0);
    expect(needsValue).toEqual(["add_tag", "set_group", "webhook", "command"]);
  });
});

describe("parseList", () => {
  it("splits on commas of either width, trims and drops empty and repeated entries", () => {
    expect(parseList(" alerts, backups,,alerts ")).toEqual(["alerts", "backups"]);
    expect(parseList("库存，订单")).toEqual(["库存", "订单"]);
    expect(parseList("  ")).toEqual([]);
  });
});

describe("checkPolicy", () => {
  const policyRules = (changes: Partial<PolicyInput>) => checkPolicy({ ...DEFAULT_POLICY, ...changes }).map((problem) => problem.rule);

  it("accepts Rust's defaults", () => {
    expect(policyRules({})).toEqual([]);
  });

  it("wants priorities within 1–5", () => {
    expect(policyRules({ min_priority: 0 })).toEqual(["priorityValue"]);
    expect(policyRules({ bypass_priority: 6 })).toEqual(["priorityValue"]);
    expect(policyRules({ bypass_priority: null })).toEqual([]);
    expect(policyRules({ source_min_priority: [[1, 9]] })).toEqual(["priorityValue"]);
  });

  it("wants a coalescing window of 1–3600 seconds only while coalescing is on", () => {
    expect(policyRules({ coalesce_count: 3, coalesce_seconds: 0 })).toEqual(["coalesceSeconds"]);
    expect(policyRules({ coalesce_count: 3, coalesce_seconds: 3601 })).toEqual(["coalesceSeconds"]);
    expect(policyRules({ coalesce_count: 0, coalesce_seconds: 0 })).toEqual([]);
    expect(policyRules({ coalesce_count: -1 })).toEqual(["countValue"]);
    expect(policyRules({ coalesce_count: 0, coalesce_seconds: Number.NaN })).toEqual(["coalesceSeconds"]);
  });

  it("says which quiet-hours window is wrong", () => {
    const problems = checkPolicy({
      ...DEFAULT_POLICY,
      quiet_hours: [
        { start_minute: 1320, end_minute: 420, weekdays: 127 },
        { start_minute: 600, end_minute: 660, weekdays: 0 },
      ],
    });
    expect(problems).toEqual([{ field: "quiet_hours", index: 1, rule: "weekdaysRequired" }]);
  });
});
