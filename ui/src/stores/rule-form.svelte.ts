/**
 * The add/edit rule form: what is typed, turned into a `RuleInput`; the
 * rules of `lib/routing-rules.ts` checked before anything is sent; the
 * backend's own `invalid` errors put next to the field they name; saving;
 * and the live preview of which recent messages the draft would match.
 *
 * Every action row keeps the fields of every kind, so switching a row's
 * type and back does not lose what was typed.
 */
import type { RuleActionInput } from "../bindings/RuleActionInput";
import type { RuleInput } from "../bindings/RuleInput";
import type { RulePreview } from "../bindings/RulePreview";
import type { RuleView } from "../bindings/RuleView";
import type { TextMatchInput } from "../bindings/TextMatchInput";
import { BackendError, type Backend } from "../api/backend";
import {
  checkRule,
  DEFAULT_TIMEOUT_SECS,
  joinList,
  parseList,
  RULE_FIELDS,
  TIMEOUT_RANGE,
  type ActionKind,
  type RuleField,
  type RuleProblem,
  type TextKind,
} from "../lib/routing-rules";
import { draftFromWindow, EVERY_DAY, windowFromDraft, type WindowDraft } from "../lib/time-window";
import { FieldForm, withoutKey } from "./field-form.svelte";
import { t } from "./i18n.svelte";

/** How many of the newest messages the preview tries. */
export const PREVIEW_LIMIT = 500;

export type HeaderRow = { key: number; name: string; value: string };
export type ArgRow = { key: number; value: string };

export type ActionRow = {
  key: number;
  kind: ActionKind;
  /** "" keeps the urgency the message's priority gives. */
  urgency: string;
  sound: string;
  tag: string;
  group: string;
  url: string;
  headers: HeaderRow[];
  program: string;
  args: ArgRow[];
  /** Seconds, as typed; webhooks and commands only. */
  timeout: string;
};

const WHOLE = /^\d+$/;
/** The fields of the match: a problem there means the preview cannot say what the rule matches. */
const MATCH_FIELDS: readonly RuleProblem["field"][] = ["priority", "title", "body", "time"];

function problemText(problem: RuleProblem): string {
  switch (problem.rule) {
    case "priorityRange":
      return t("ruleForm.errors.priorityRange", { min: problem.min, max: problem.max });
    case "regex":
      return t("ruleForm.errors.regex", { error: problem.error });
    case "urgency":
      return t("ruleForm.errors.urgency", { urgency: problem.urgency });
    case "webhookUrl":
    case "webhookScheme":
      return t(`ruleForm.errors.${problem.rule}`, { url: problem.url });
    case "headerName":
    case "headerValue":
      return t(`ruleForm.errors.${problem.rule}`, { name: problem.name });
    case "timeout":
      return t("ruleForm.errors.timeout", TIMEOUT_RANGE);
    default:
      return t(`ruleForm.errors.${problem.rule}`);
  }
}

function textCondition(kind: TextKind, value: string): TextMatchInput | null {
  return value.trim() === "" ? null : { kind, value: kind === "contains" ? value.trim() : value };
}

function priority(text: string): number | null {
  return text === "" ? null : Number(text);
}

export class RuleFormStore extends FieldForm<RuleField> {
  id: number | null;
  name = $state("");
  enabled = $state(true);
  stop = $state(false);

  /** Source ids; none ticked means every source. */
  sources = $state<number[]>([]);
  /** Comma-separated, as typed. */
  topics = $state("");
  tagsAny = $state("");
  tagsAll = $state("");
  /** "" for any, or "1"–"5". */
  minPriority = $state("");
  maxPriority = $state("");
  titleKind = $state<TextKind>("contains");
  title = $state("");
  bodyKind = $state<TextKind>("contains");
  body = $state("");
  timeOn = $state(false);
  time = $state<WindowDraft>({ start: "09:00", end: "17:00", weekdays: EVERY_DAY });

  actions = $state<ActionRow[]>([]);

  /** One message per action row, by the row's key. */
  actionErrors = $state.raw<Record<number, string>>({});

  preview = $state.raw<RulePreview | null>(null);
  previewStatus = $state<"idle" | "loading" | "ready" | "error">("idle");
  previewError = $state.raw<BackendError | null>(null);

  private readonly backend: Backend;
  private nextKey = 1;
  private previewGeneration = 0;

  /** `rule`: the stored rule to edit; null to add one. */
  constructor(backend: Backend, rule: RuleView | null = null) {
    super(RULE_FIELDS, "ruleForm.fixErrors");
    this.backend = backend;
    this.id = rule?.id ?? null;
    if (rule) this.fill(rule);
  }

  get editing(): boolean {
    return this.id !== null;
  }

  private fill(rule: RuleView): void {
    const match = rule.match;
    this.name = rule.name;
    this.enabled = rule.enabled;
    this.stop = rule.stop;
    this.sources = [...match.sources];
    this.topics = joinList(match.topics);
    this.tagsAny = joinList(match.tags_any);
    this.tagsAll = joinList(match.tags_all);
    this.minPriority = match.min_priority === null ? "" : String(match.min_priority);
    this.maxPriority = match.max_priority === null ? "" : String(match.max_priority);
    this.titleKind = match.title?.kind === "regex" ? "regex" : "contains";
    this.title = match.title?.value ?? "";
    this.bodyKind = match.body?.kind === "regex" ? "regex" : "contains";
    this.body = match.body?.value ?? "";
    this.timeOn = match.time !== null;
    if (match.time) this.time = draftFromWindow(match.time);
    this.actions = rule.actions.map((action) => this.rowFrom(action));
  }

  private emptyRow(kind: ActionKind): ActionRow {
    return {
      key: this.nextKey++,
      kind,
      urgency: "",
      sound: "",
      tag: "",
      group: "",
      url: "",
      headers: [],
      program: "",
      args: [],
      timeout: String(DEFAULT_TIMEOUT_SECS),
    };
  }

  private rowFrom(action: RuleActionInput): ActionRow {
    const row = this.emptyRow(action.action);
    switch (action.action) {
      case "notify":
        return { ...row, urgency: action.urgency ?? "", sound: action.sound ?? "" };
      case "add_tag":
        return { ...row, tag: action.tag };
      case "set_group":
        return { ...row, group: action.group };
      case "webhook":
        return {
          ...row,
          url: action.url,
          headers: action.headers.map(([name, value]) => ({ key: this.nextKey++, name, value })),
          timeout: String(action.timeout_secs),
        };
      case "command":
        return {
          ...row,
          program: action.program,
          args: action.args.map((value) => ({ key: this.nextKey++, value })),
          timeout: String(action.timeout_secs),
        };
      default:
        return row;
    }
  }

  private actionFrom(row: ActionRow): RuleActionInput {
    const timeout = WHOLE.test(row.timeout.trim()) ? Number(row.timeout.trim()) : Number.NaN;
    switch (row.kind) {
      case "notify":
        return { action: "notify", urgency: row.urgency === "" ? null : row.urgency, sound: row.sound.trim() === "" ? null : row.sound.trim() };
      case "add_tag":
        return { action: "add_tag", tag: row.tag.trim() };
      case "set_group":
        return { action: "set_group", group: row.group.trim() };
      case "webhook":
        return {
          action: "webhook",
          url: row.url.trim(),
          headers: row.headers
            .filter((header) => header.name.trim() !== "" || header.value !== "")
            .map((header): [string, string] => [header.name.trim(), header.value]),
          timeout_secs: timeout,
        };
      case "command":
        return { action: "command", program: row.program.trim(), args: row.args.map((arg) => arg.value), timeout_secs: timeout };
      default:
        return { action: row.kind };
    }
  }

  /** The form as the backend takes it. */
  toInput(): RuleInput {
    return {
      id: this.id,
      name: this.name.trim(),
      enabled: this.enabled,
      stop: this.stop,
      match: {
        sources: [...this.sources],
        topics: parseList(this.topics),
        min_priority: priority(this.minPriority),
        max_priority: priority(this.maxPriority),
        tags_any: parseList(this.tagsAny),
        tags_all: parseList(this.tagsAll),
        title: textCondition(this.titleKind, this.title),
        body: textCondition(this.bodyKind, this.body),
        time: this.timeOn ? windowFromDraft(this.time) : null,
      },
      actions: this.actions.map((row) => this.actionFrom(row)),
    };
  }

  /**
   * What keeps the draft from being previewed: the first problem with its
   * match (a broken regex, an empty priority range, a bad time window), in
   * words; null when it can be previewed.
   */
  previewBlocker(): string | null {
    const problem = checkRule(this.toInput()).find((candidate) => MATCH_FIELDS.includes(candidate.field));
    return problem ? problemText(problem) : null;
  }

  /**
   * The draft as the preview sends it, or null while its match has a
   * problem. A preview shows what the rule would match once switched on,
   * so it is sent enabled, and an unnamed draft gets a placeholder name.
   * Actions still being filled in are left out: the preview reports only
   * whether a message would be dropped or notified, which they do not
   * change. A draft left with no actions gets a plain "notify", which
   * changes nothing, just as no actions would.
   */
  previewInput(): RuleInput | null {
    const input = this.toInput();
    const problems = checkRule(input);
    if (problems.some((problem) => MATCH_FIELDS.includes(problem.field))) return null;
    const unfinished = new Set(problems.flatMap((problem) => (problem.field === "action" ? [problem.index] : [])));
    const actions = input.actions.filter((_, index) => !unfinished.has(index));
    return {
      ...input,
      enabled: true,
      name: input.name === "" ? t("ruleForm.untitled") : input.name,
      actions: actions.length > 0 ? actions : [{ action: "notify", urgency: null, sound: null }],
    };
  }

  toggleSource(id: number, on: boolean): void {
    this.sources = on ? [...new Set([...this.sources, id])] : this.sources.filter((source) => source !== id);
  }

  addAction(kind: ActionKind = "notify"): void {
    this.actions = [...this.actions, this.emptyRow(kind)];
    this.clearError("actions");
  }

  removeAction(key: number): void {
    this.actions = this.actions.filter((row) => row.key !== key);
    this.clearActionError(key);
  }

  setActionKind(key: number, kind: ActionKind): void {
    const row = this.actions.find((candidate) => candidate.key === key);
    if (row) row.kind = kind;
    this.clearActionError(key);
  }

  addHeader(key: number): void {
    const row = this.actions.find((candidate) => candidate.key === key);
    row?.headers.push({ key: this.nextKey++, name: "", value: "" });
  }

  removeHeader(key: number, headerKey: number): void {
    const row = this.actions.find((candidate) => candidate.key === key);
    if (row) row.headers = row.headers.filter((header) => header.key !== headerKey);
    this.clearActionError(key);
  }

  addArg(key: number): void {
    const row = this.actions.find((candidate) => candidate.key === key);
    row?.args.push({ key: this.nextKey++, value: "" });
  }

  removeArg(key: number, argKey: number): void {
    const row = this.actions.find((candidate) => candidate.key === key);
    if (row) row.args = row.args.filter((arg) => arg.key !== argKey);
    this.clearActionError(key);
  }

  clearActionError(key: number): void {
    this.actionErrors = withoutKey(this.actionErrors, key);
  }

  /** Checks the rules and shows the first problem of each field and action; true when there is none. */
  validate(): boolean {
    const problems = checkRule(this.toInput());
    const errors: Partial<Record<RuleField, string>> = {};
    const actionErrors: Record<number, string> = {};
    for (const problem of problems) {
      if (problem.field === "action") {
        const key = this.actions[problem.index]?.key;
        if (key !== undefined) actionErrors[key] ??= problemText(problem);
      } else {
        errors[problem.field] ??= problemText(problem);
      }
    }
    this.errors = errors;
    this.actionErrors = actionErrors;
    this.formError = problems.length > 0 ? t("ruleForm.fixErrors") : null;
    return problems.length === 0;
  }

  /** Saves; resolves to the rule's id, or null when something needs fixing. */
  save(): Promise<number | null> {
    return this.saveWith(() => this.backend.saveRule(this.toInput()));
  }

  /** Asks which recent messages `input` matches; an answer to an older draft is dropped. */
  async runPreview(input: RuleInput): Promise<void> {
    const generation = ++this.previewGeneration;
    this.previewStatus = "loading";
    try {
      const preview = await this.backend.previewRules(input, PREVIEW_LIMIT);
      if (generation !== this.previewGeneration) return;
      this.preview = preview;
      this.previewError = null;
      this.previewStatus = "ready";
    } catch (reason) {
      if (generation !== this.previewGeneration) return;
      this.previewError = BackendError.from(reason);
      this.previewStatus = "error";
    }
  }

  /** The draft cannot be previewed as it is; an answer still on its way is dropped. */
  holdPreview(): void {
    ++this.previewGeneration;
  }
}
