/**
 * The notification policy on the settings screen: minimum priority, the
 * per-source minimums, what gets through do-not-disturb, quiet hours,
 * coalescing and the summary after reconnecting. Inputs are kept as typed
 * and checked with `lib/routing-rules.ts` before saving.
 */
import type { PolicyInput } from "../bindings/PolicyInput";
import type { SourceView } from "../bindings/SourceView";
import { BackendError, type Backend } from "../api/backend";
import { checkPolicy, COALESCE_SECONDS_RANGE, type PolicyField, type PolicyProblem } from "../lib/routing-rules";
import { draftFromWindow, newWindowDraft, windowFromDraft, type WindowDraft } from "../lib/time-window";
import { withoutKey } from "./field-form.svelte";
import { t } from "./i18n.svelte";

/** A quiet-hours row; `key` keeps its inputs when another row is removed. */
export type QuietRow = WindowDraft & { key: number };

/** A source's own minimum: "" for the same as all sources, or "1"–"5". */
export type SourceMinimumRow = { id: number; name: string; minimum: string };

const WHOLE = /^\d+$/;

function whole(text: string): number {
  return WHOLE.test(text.trim()) ? Number(text.trim()) : Number.NaN;
}

function problemText(problem: PolicyProblem): string {
  if (problem.rule === "coalesceSeconds") return t("policy.errors.coalesceSeconds", COALESCE_SECONDS_RANGE);
  if (problem.field === "quiet_hours") return t(`ruleForm.errors.${problem.rule}`);
  return t(`policy.errors.${problem.rule}`);
}

export class PolicyStore {
  status = $state<"loading" | "ready" | "error">("loading");
  loadError = $state.raw<BackendError | null>(null);

  /** "1"–"5". */
  minPriority = $state("1");
  /** "" for nothing gets through, or "1"–"5". */
  bypass = $state("5");
  /**
   * One row per source that exists, in the sources' list order. Minimums
   * the backend keeps for removed sources have no row, so saving drops them.
   */
  sourceMinimums = $state<SourceMinimumRow[]>([]);
  quietHours = $state<QuietRow[]>([]);
  coalesceCount = $state("3");
  coalesceSeconds = $state("10");
  summarize = $state(true);

  errors = $state.raw<Partial<Record<Exclude<PolicyField, "quiet_hours">, string>>>({});
  /** One message per quiet-hours row, by the row's key. */
  quietErrors = $state.raw<Record<number, string>>({});
  saving = $state(false);
  saveError = $state.raw<BackendError | null>(null);
  /** Set after a save until the next edit, for "Saved". */
  saved = $state(false);

  private sources: readonly Pick<SourceView, "id" | "name">[] = [];
  private readonly backend: Backend;
  private nextKey = 1;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    this.status = "loading";
    try {
      const [policy, sources] = await Promise.all([this.backend.getPolicy(), this.backend.listSources()]);
      this.sources = sources.map(({ id, name }) => ({ id, name }));
      this.fill(policy);
      this.status = "ready";
    } catch (reason) {
      this.loadError = BackendError.from(reason);
      this.status = "error";
    }
  }

  private fill(policy: PolicyInput): void {
    this.minPriority = String(policy.min_priority);
    const minimums = new Map(policy.source_min_priority);
    this.sourceMinimums = this.sources.map(({ id, name }) => ({ id, name, minimum: String(minimums.get(id) ?? "") }));
    this.bypass = policy.bypass_priority === null ? "" : String(policy.bypass_priority);
    this.quietHours = policy.quiet_hours.map((window) => ({ key: this.nextKey++, ...draftFromWindow(window) }));
    this.coalesceCount = String(policy.coalesce_count);
    this.coalesceSeconds = String(policy.coalesce_seconds);
    this.summarize = policy.summarize_catch_up;
  }

  toInput(): PolicyInput {
    return {
      min_priority: Number(this.minPriority),
      // By source id, as the backend keeps them (a `BTreeMap`), so a saved policy reads back equal.
      source_min_priority: this.sourceMinimums
        .filter((row) => row.minimum !== "")
        .map((row): [number, number] => [row.id, Number(row.minimum)])
        .sort(([a], [b]) => a - b),
      quiet_hours: this.quietHours.map((row) => windowFromDraft(row)),
      bypass_priority: this.bypass === "" ? null : Number(this.bypass),
      coalesce_count: whole(this.coalesceCount),
      coalesce_seconds: whole(this.coalesceSeconds),
      summarize_catch_up: this.summarize,
    };
  }

  /** Any edit: "Saved" no longer describes the form. */
  edited(): void {
    this.saved = false;
    this.saveError = null;
  }

  addQuietHours(): void {
    this.quietHours = [...this.quietHours, { key: this.nextKey++, ...newWindowDraft() }];
    this.edited();
  }

  removeQuietHours(key: number): void {
    this.quietHours = this.quietHours.filter((row) => row.key !== key);
    this.clearQuietError(key);
    this.edited();
  }

  clearError(field: Exclude<PolicyField, "quiet_hours">): void {
    this.edited();
    this.errors = withoutKey(this.errors, field);
  }

  clearQuietError(key: number): void {
    this.edited();
    this.quietErrors = withoutKey(this.quietErrors, key);
  }

  validate(): boolean {
    const problems = checkPolicy(this.toInput());
    const errors: Partial<Record<Exclude<PolicyField, "quiet_hours">, string>> = {};
    const quietErrors: Record<number, string> = {};
    for (const problem of problems) {
      if (problem.field === "quiet_hours") {
        const key = this.quietHours[problem.index]?.key;
        if (key !== undefined) quietErrors[key] ??= problemText(problem);
      } else {
        errors[problem.field] ??= problemText(problem);
      }
    }
    this.errors = errors;
    this.quietErrors = quietErrors;
    return problems.length === 0;
  }

  /** Saves; true when the backend took it. */
  async save(): Promise<boolean> {
    if (this.saving || !this.validate()) return false;
    this.saving = true;
    this.saveError = null;
    try {
      this.fill(await this.backend.setPolicy(this.toInput()));
      this.saved = true;
      return true;
    } catch (reason) {
      this.saveError = BackendError.from(reason);
      return false;
    } finally {
      this.saving = false;
    }
  }
}
