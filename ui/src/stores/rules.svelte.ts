/**
 * The routing rules in evaluation order, for the rules screen, with its
 * quick actions (enable, move, remove) and the recent delivery failures
 * shown under the list. Changes show at once and are put back if the
 * backend refuses.
 */
import type { DeliveryFailureView } from "../bindings/DeliveryFailureView";
import type { RuleView } from "../bindings/RuleView";
import { BackendError, type Backend } from "../api/backend";

/** How many recent delivery failures the screen lists. */
export const FAILURE_LIMIT = 20;

export class RulesStore {
  list = $state.raw<RuleView[]>([]);
  status = $state<"loading" | "ready" | "error">("loading");
  error = $state.raw<BackendError | null>(null);
  failures = $state.raw<DeliveryFailureView[]>([]);

  private readonly backend: Backend;
  private generation = 0;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  async load(): Promise<void> {
    const generation = ++this.generation;
    const [rules, failures] = await Promise.allSettled([
      this.backend.listRules(),
      this.backend.listDeliveryFailures(FAILURE_LIMIT),
    ]);
    if (generation !== this.generation) return;
    if (rules.status === "fulfilled") {
      this.list = rules.value;
      this.status = "ready";
      this.error = null;
    } else {
      this.error = BackendError.from(rules.reason);
      // Keep showing the last good list; only a first failure is an error state.
      if (this.status !== "ready") this.status = "error";
    }
    // The failures are a footnote: if they cannot be read, the last ones stay.
    if (failures.status === "fulfilled") this.failures = failures.value;
  }

  byId(id: number): RuleView | undefined {
    return this.list.find((rule) => rule.id === id);
  }

  /** Runs `command` with `optimistic` already shown; puts the list back and throws if it fails. */
  private async change(optimistic: RuleView[], command: () => Promise<void>): Promise<void> {
    const previous = this.list;
    // An answer to a load that started before the change is stale.
    ++this.generation;
    this.list = optimistic;
    try {
      await command();
    } catch (reason) {
      this.list = previous;
      throw BackendError.from(reason);
    }
    await this.load();
  }

  setEnabled(id: number, enabled: boolean): Promise<void> {
    return this.change(
      this.list.map((rule) => (rule.id === id ? { ...rule, enabled } : rule)),
      () => this.backend.setRuleEnabled(id, enabled),
    );
  }

  /** Moves a rule to a 1-based position: 1 is evaluated first. */
  move(id: number, position: number): Promise<void> {
    const rule = this.byId(id);
    const others = this.list.filter((candidate) => candidate.id !== id);
    const index = Math.min(Math.max(position - 1, 0), others.length);
    if (!rule || this.list.indexOf(rule) === index) return Promise.resolve();
    return this.change([...others.slice(0, index), rule, ...others.slice(index)], () => this.backend.moveRule(id, index + 1));
  }

  remove(id: number): Promise<void> {
    return this.change(
      this.list.filter((rule) => rule.id !== id),
      () => this.backend.removeRule(id),
    );
  }
}
