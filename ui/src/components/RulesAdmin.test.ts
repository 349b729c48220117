import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { MockBackend } from "../api/mock";
import { RulesStore } from "../stores/rules.svelte";
import { SourcesStore } from "../stores/sources.svelte";
import RulesAdmin from "./RulesAdmin.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const mock = new MockBackend({ count: 200, now: () => NOW, ...options });
  const sources = new SourcesStore(mock);
  const rules = new RulesStore(mock);
  await Promise.all([sources.load(), rules.load()]);
  const ontoast = vi.fn();
  const onopenmessage = vi.fn();
  render(RulesAdmin, { backend: mock, rules, sources, ontoast, onopenmessage, previewDelayMs: 0 });
  await screen.findByTestId("rules-admin");
  return { mock, rules, ontoast, onopenmessage };
}

const rows = () => screen.getAllByTestId("rule-row");
const order = () => rows().map((element) => Number(element.dataset.ruleId));
const row = (id: number) => rows().find((element) => element.dataset.ruleId === String(id))!;

describe("RulesAdmin", () => {
  it("lists the rules in order, saying in words what each matches and does", async () => {
    await setup();
    expect(rows().map((element) => element.dataset.ruleName)).toEqual([
      "Risk alerts to on-call",
      "Quiet passing builds",
      "冷库夜间告警",
      "Drop backup chatter",
    ]);
    expect(within(row(1)).getByTestId("rule-match").textContent).toContain("from Risk monitor · priority 5 or higher");
    expect(within(row(1)).getByTestId("rule-actions").textContent).toContain("Notify (Critical), Star, Webhook to oncall.example.com");
    expect(within(row(1)).getByText("Stops here")).toBeTruthy();
    expect(within(row(2)).getByTestId("rule-match").textContent).toContain("title matches /^Build #\\d+ passed/");
    expect(within(row(3)).getByTestId("rule-match").textContent).toContain("18:00–08:00, Mon, Tue, Wed, Thu, Fri");
    expect(within(row(3)).getByTestId("rule-actions").textContent).toContain("Add tag “after-hours”, Run /usr/local/bin/page-facilities");
    expect(row(4).dataset.enabled).toBe("false");
    expect(within(row(4)).getByTestId<HTMLInputElement>("rule-toggle").checked).toBe(false);
  });

  it("switches a rule on and off", async () => {
    const { mock } = await setup();
    const toggle = within(row(4)).getByTestId<HTMLInputElement>("rule-toggle");
    expect(toggle.getAttribute("aria-label")).toBe("Use rule “Drop backup chatter”");
    await fireEvent.click(toggle);
    await waitFor(() => expect(mock.routing.rules.find((rule) => rule.id === 4)?.enabled).toBe(true));
    expect(row(4).dataset.enabled).toBe("true");
  });

  it("puts the switch back and says why when the backend refuses", async () => {
    await setup({ failing: ["set_rule_enabled"] });
    await fireEvent.click(within(row(1)).getByTestId("rule-toggle"));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Couldn't change rule “Risk alerts to on-call”"));
    expect(within(row(1)).getByTestId<HTMLInputElement>("rule-toggle").checked).toBe(true);
  });

  it("moves rules with the up and down buttons, keeping focus on the button pressed", async () => {
    const { mock } = await setup();
    expect(within(row(1)).getByTestId<HTMLButtonElement>("rule-move-up").disabled, "the first rule cannot go up").toBe(true);
    expect(within(row(4)).getByTestId<HTMLButtonElement>("rule-move-down").disabled, "the last rule cannot go down").toBe(true);

    const down = within(row(1)).getByTestId("rule-move-down");
    expect(down.getAttribute("aria-label")).toBe("Move “Risk alerts to on-call” down");
    down.focus();
    await fireEvent.click(down);
    await waitFor(() => expect(mock.routing.rules.map((rule) => rule.id)).toEqual([2, 1, 3, 4]));
    expect(order()).toEqual([2, 1, 3, 4]);
    expect(document.activeElement).toBe(within(row(1)).getByTestId("rule-move-down"));
    await waitFor(() => expect(screen.getByText("“Risk alerts to on-call” is now rule 2 of 4")).toBeTruthy());

    const up = within(row(3)).getByTestId("rule-move-up");
    up.focus();
    await fireEvent.click(up);
    expect(order(), "the list moves before the backend answers").toEqual([2, 3, 1, 4]);
    await fireEvent.click(within(row(3)).getByTestId("rule-move-up"));
    await waitFor(() => expect(mock.routing.rules.map((rule) => rule.id)).toEqual([3, 2, 1, 4]));
    // At the top the up button is disabled, so focus moves to its twin.
    expect(document.activeElement).toBe(within(row(3)).getByTestId("rule-move-down"));
  });

  it("moves a rule by dragging it onto another", async () => {
    const { mock } = await setup();
    await fireEvent.dragStart(row(4));
    expect(row(4).classList.contains("dragging")).toBe(true);
    await fireEvent.dragOver(row(1));
    expect(row(1).classList.contains("drop-above")).toBe(true);
    await fireEvent.drop(row(1));
    await waitFor(() => expect(mock.routing.rules.map((rule) => rule.id)).toEqual([4, 1, 2, 3]));
    expect(order()).toEqual([4, 1, 2, 3]);
    expect(row(4).classList.contains("dragging")).toBe(false);

    await fireEvent.dragStart(row(4));
    await fireEvent.dragOver(row(2));
    expect(row(2).classList.contains("drop-below")).toBe(true);
    await fireEvent.drop(row(2));
    await waitFor(() => expect(mock.routing.rules.map((rule) => rule.id)).toEqual([1, 2, 4, 3]));
  });

  it("deletes a rule only after asking", async () => {
    const { mock, ontoast } = await setup();
    await fireEvent.click(within(row(2)).getByTestId("rule-delete"));
    const dialog = await screen.findByRole("dialog");
    expect(dialog.textContent).toContain("Delete rule “Quiet passing builds”?");
    await fireEvent.click(within(dialog).getByTestId("rule-delete-cancel"));
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(mock.routing.rules).toHaveLength(4);

    await fireEvent.click(within(row(2)).getByTestId("rule-delete"));
    await fireEvent.click(within(await screen.findByRole("dialog")).getByTestId("rule-delete-confirm"));
    await waitFor(() => expect(ontoast).toHaveBeenCalledWith("Deleted rule “Quiet passing builds”"));
    expect(order()).toEqual([1, 3, 4]);
    expect(mock.routing.rules.map((rule) => rule.id)).toEqual([1, 3, 4]);
  });

  it("lists recent delivery failures and opens the message one was for", async () => {
    const { mock, onopenmessage } = await setup();
    const failures = screen.getByTestId("delivery-failures");
    const [failure] = within(failures).getAllByTestId("delivery-failure");
    expect(failure!.textContent).toContain("https://oncall.example.com/hooks/herald");
    expect(failure!.textContent).toContain("Rule “Risk alerts to on-call”");
    expect(failure!.textContent).toContain("3 attempts");
    expect(failure!.textContent).toContain("Connection refused");
    await fireEvent.click(within(failure!).getByTestId("delivery-failure-message"));
    expect(onopenmessage).toHaveBeenCalledWith(mock.routing.failures[0]!.message_id);
  });

  it("says there are no rules yet, and shows no failures section without failures", async () => {
    await setup({ rules: false });
    expect(screen.getByText("No rules yet")).toBeTruthy();
    expect(screen.queryByTestId("rule-row")).toBeNull();
    expect(screen.queryByTestId("delivery-failures")).toBeNull();
  });

  it("adds a rule through the form and returns to the list", async () => {
    const { mock, ontoast } = await setup();
    await fireEvent.click(screen.getByTestId("add-rule"));
    expect((await screen.findByTestId("rule-form")).textContent).toContain("Add a rule");
    await fireEvent.input(screen.getByTestId("rule-field-name"), { target: { value: "Star deploys" } });
    await fireEvent.input(screen.getByTestId("rule-field-title"), { target: { value: "部署" } });
    await fireEvent.click(screen.getByTestId("rule-add-action"));
    await fireEvent.change(screen.getByTestId("rule-action-type"), { target: { value: "star" } });
    await fireEvent.click(screen.getByTestId("rule-save"));
    await waitFor(() => expect(ontoast).toHaveBeenCalledWith("Added rule “Star deploys”"));
    await waitFor(() => expect(rows().at(-1)?.dataset.ruleName).toBe("Star deploys"));
    expect(mock.routing.rules.at(-1)).toMatchObject({ name: "Star deploys", match: { title: { kind: "contains", value: "部署" } }, actions: [{ action: "star" }] });
  });

  it("edits a rule in the form, starting from what is stored", async () => {
    const { ontoast } = await setup();
    await fireEvent.click(within(row(3)).getByTestId("rule-edit"));
    expect((await screen.findByTestId("rule-form")).textContent).toContain("Edit rule “冷库夜间告警”");
    expect(screen.getByTestId<HTMLInputElement>("rule-field-name").value).toBe("冷库夜间告警");
    await fireEvent.input(screen.getByTestId("rule-field-name"), { target: { value: "冷库告警" } });
    await fireEvent.click(screen.getByTestId("rule-save"));
    await waitFor(() => expect(ontoast).toHaveBeenCalledWith("Saved rule “冷库告警”"));
    await waitFor(() => expect(row(3).dataset.ruleName).toBe("冷库告警"));

    await fireEvent.click(within(row(3)).getByTestId("rule-edit"));
    await fireEvent.click(await screen.findByTestId("rule-cancel"));
    expect(await screen.findByTestId("rules-admin")).toBeTruthy();
  });
});
