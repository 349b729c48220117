import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { BackendError } from "../api/backend";
import { MockBackend } from "../api/mock";
import type { RuleView } from "../bindings/RuleView";
import { SourcesStore } from "../stores/sources.svelte";
import RuleForm from "./RuleForm.svelte";

const NOW = Date.UTC(2026, 10, 28, 12, 0);

async function setup(options: { rule?: RuleView | null; previewDelayMs?: number; mock?: MockBackend } = {}) {
  const mock = options.mock ?? new MockBackend({ count: 300, now: () => NOW, rules: false });
  const sources = new SourcesStore(mock);
  await sources.load();
  const onsaved = vi.fn();
  const onclose = vi.fn();
  render(RuleForm, { backend: mock, sources, rule: options.rule ?? null, previewDelayMs: options.previewDelayMs ?? 0, onsaved, onclose });
  await screen.findByTestId("rule-field-name");
  return { mock, onsaved, onclose };
}

const byTestId = <T extends HTMLElement = HTMLInputElement>(id: string) => screen.getByTestId(id) as T;
const type = (id: string, value: string, within: HTMLElement = document.body) =>
  fireEvent.input(within.querySelector(`[data-testid="${id}"]`)!, { target: { value } });
const choose = (element: HTMLElement, value: string) => fireEvent.change(element, { target: { value } });
const save = () => fireEvent.click(byTestId("rule-save"));
const actions = () => screen.queryAllByTestId("rule-action");

async function addAction(kind: string): Promise<HTMLElement> {
  await fireEvent.click(byTestId("rule-add-action"));
  const row = actions().at(-1)!;
  await choose(within(row).getByTestId("rule-action-type"), kind);
  return actions().at(-1)!;
}

describe("RuleForm: checking", () => {
  it("shows what is missing next to each field, sends nothing and focuses the first problem", async () => {
    const { mock, onsaved } = await setup();
    await save();
    expect(byTestId("rule-error-name").textContent).toBe("Enter a name");
    expect(byTestId("rule-error-actions").textContent).toBe("Add at least one action");
    expect(byTestId("rule-form-error").textContent).toBe("Some fields need attention.");
    expect(byTestId("rule-field-name").getAttribute("aria-invalid")).toBe("true");
    await waitFor(() => expect(document.activeElement).toBe(byTestId("rule-field-name")));
    expect(mock.savedRules).toEqual([]);
    expect(onsaved).not.toHaveBeenCalled();

    await type("rule-field-name", "Disk");
    expect(screen.queryByTestId("rule-error-name"), "typing clears the field's error").toBeNull();
    await fireEvent.click(byTestId("rule-add-action"));
    expect(screen.queryByTestId("rule-error-actions"), "adding an action clears the error").toBeNull();
  });

  it("checks a regular expression as it is typed into the match, and holds the preview until it is fixed", async () => {
    const { mock } = await setup();
    await type("rule-field-name", "Disk");
    await choose(byTestId("rule-field-body-kind"), "regex");
    await type("rule-field-body", "disk (full");
    await waitFor(() =>
      expect(screen.getByTestId("rule-preview-blocked").textContent).toMatch(/^The preview waits until the rule is fixed: Not a valid regular expression: /),
    );
    await save();
    expect(byTestId("rule-error-body").textContent).toMatch(/^Not a valid regular expression: /);
    expect(byTestId("rule-field-body").getAttribute("aria-invalid")).toBe("true");
    expect(mock.previews.some((call) => call.rule?.match.body?.value === "disk (full"), "a broken regex is never previewed").toBe(false);

    await type("rule-field-body", "disk (full|low)");
    await waitFor(() => expect(mock.previews.at(-1)?.rule?.match.body).toEqual({ kind: "regex", value: "disk (full|low)" }));
  });

  it("wants a priority range that is not empty and a time window with a day", async () => {
    await setup();
    await choose(byTestId("rule-field-min_priority"), "4");
    await choose(byTestId("rule-field-max_priority"), "2");
    await fireEvent.click(byTestId("rule-field-time"));
    for (const day of ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) await fireEvent.click(byTestId(`rule-field-time-weekday-${day}`));
    await save();
    expect(byTestId("rule-error-priority").textContent).toBe("No priority is both at least 4 and at most 2");
    expect(byTestId("rule-error-time").textContent).toBe("Tick at least one day");
  });

  it("puts the backend's refusals next to the name, or above the buttons", async () => {
    const mock = new MockBackend({ count: 50, now: () => NOW, rules: false });
    const saveRule = vi
      .spyOn(mock, "saveRule")
      .mockRejectedValueOnce(new BackendError("invalid", "a rule named “Disk” already exists", "name"))
      .mockRejectedValueOnce(new BackendError("invalid", 'rule "Disk": the webhook url is not reachable', null));
    await setup({ mock });
    await type("rule-field-name", "Disk");
    await addAction("drop");
    await save();
    await waitFor(() => expect(byTestId("rule-error-name").textContent).toBe("a rule named “Disk” already exists"));
    await save();
    await waitFor(() => expect(byTestId("rule-form-error").textContent).toBe('rule "Disk": the webhook url is not reachable'));
    expect(saveRule).toHaveBeenCalledTimes(2);
  });
});

describe("RuleForm: actions", () => {
  it("adds actions of every kind with their own fields, and checks each one", async () => {
    const { mock, onsaved } = await setup();
    await type("rule-field-name", "On-call");
    const notify = await addAction("notify");
    expect(document.activeElement, "a new action's type menu takes focus").toBe(within(notify).getByTestId("rule-action-type"));
    expect(within(notify).getByTestId<HTMLSelectElement>("rule-action-urgency").value).toBe("");
    await choose(within(notify).getByTestId("rule-action-urgency"), "critical");
    await type("rule-action-sound", "alarm-clock-elapsed", notify);

    const webhook = await addAction("webhook");
    expect(webhook.dataset.action).toBe("webhook");
    await type("rule-action-url", "hooks.example.com/herald", webhook);
    await fireEvent.click(within(webhook).getByTestId("rule-action-add-header"));
    await fireEvent.click(within(webhook).getByTestId("rule-action-add-header"));
    const headers = within(webhook).getAllByTestId("rule-action-header-row");
    await type("rule-action-header-name", "X-Team", headers[0]!);
    await type("rule-action-header-value", "risk", headers[0]!);
    await fireEvent.click(within(headers[1]!).getByTestId("rule-action-remove-header"));
    expect(within(webhook).getAllByTestId("rule-action-header-row")).toHaveLength(1);

    const command = await addAction("command");
    expect(command.textContent).toContain("never through a shell");
    expect(command.textContent).toContain("HERALD_*");
    await fireEvent.click(within(command).getByTestId("rule-action-add-arg"));
    await fireEvent.click(within(command).getByTestId("rule-action-add-arg"));
    const args = within(command).getAllByTestId("rule-action-arg");
    await fireEvent.input(args[0]!, { target: { value: "--room" } });
    await fireEvent.input(args[1]!, { target: { value: "cold room" } });
    await type("rule-action-timeout", "0", command);

    await save();
    expect(within(webhook).getByTestId("rule-action-error").textContent).toBe(
      "“hooks.example.com/herald” is not a complete URL; write it like https://host/path",
    );
    expect(within(command).getByTestId("rule-action-error").textContent).toBe("Enter the program to run");
    expect(within(notify).queryByTestId("rule-action-error")).toBeNull();
    expect(mock.savedRules).toEqual([]);

    await type("rule-action-url", "https://hooks.example.com/herald", webhook);
    expect(within(webhook).queryByTestId("rule-action-error"), "editing an action clears its error").toBeNull();
    await type("rule-action-program", "/usr/local/bin/page-facilities", command);
    await save();
    expect(within(command).getByTestId("rule-action-error").textContent).toBe("Enter whole seconds from 1 to 600");
    await type("rule-action-timeout", "30", command);
    await save();

    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: expect.any(Number), name: "On-call", added: true }));
    expect(mock.savedRules[0]!.actions).toEqual([
      { action: "notify", urgency: "critical", sound: "alarm-clock-elapsed" },
      { action: "webhook", url: "https://hooks.example.com/herald", headers: [["X-Team", "risk"]], timeout_secs: 10 },
      { action: "command", program: "/usr/local/bin/page-facilities", args: ["--room", "cold room"], timeout_secs: 30 },
    ]);
  });

  it("keeps what was typed when an action's type changes and changes back, and removes actions", async () => {
    await setup();
    const row = await addAction("add_tag");
    await type("rule-action-tag", "vip", row);
    await choose(within(row).getByTestId("rule-action-type"), "set_group");
    expect(within(actions()[0]!).queryByTestId("rule-action-tag")).toBeNull();
    await choose(within(actions()[0]!).getByTestId("rule-action-type"), "add_tag");
    expect(within(actions()[0]!).getByTestId<HTMLInputElement>("rule-action-tag").value).toBe("vip");
    await fireEvent.click(within(actions()[0]!).getByTestId("rule-action-remove"));
    expect(actions()).toHaveLength(0);
  });
});

describe("RuleForm: saving the match", () => {
  it("sends sources, topics, priorities, tags, text and time as the backend takes them", async () => {
    const { mock, onsaved } = await setup();
    await type("rule-field-name", " Cold rooms at night ");
    const sensors = screen.getAllByTestId("rule-field-source").find((box) => box.dataset.sourceId === "2")!;
    await fireEvent.click(sensors);
    await type("rule-field-topics", "sensors/cold-room， sensors/humidity,");
    await choose(byTestId("rule-field-min_priority"), "4");
    await type("rule-field-tags_any", "thermometer, snowflake");
    await type("rule-field-tags_all", "");
    await type("rule-field-title", "  冷库 ");
    await fireEvent.click(byTestId("rule-field-time"));
    await type("rule-field-time-start", "18:00");
    await type("rule-field-time-end", "00:00");
    await fireEvent.click(byTestId("rule-field-time-weekday-sun"));
    await fireEvent.click(byTestId("rule-field-stop"));
    await addAction("mark_read");
    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalled());
    expect(mock.savedRules[0]).toEqual({
      id: null,
      name: "Cold rooms at night",
      enabled: true,
      stop: true,
      match: {
        sources: [2],
        topics: ["sensors/cold-room", "sensors/humidity"],
        min_priority: 4,
        max_priority: null,
        tags_any: ["thermometer", "snowflake"],
        tags_all: [],
        title: { kind: "contains", value: "冷库" },
        body: null,
        time: { start_minute: 18 * 60, end_minute: 1440, weekdays: 0b011_1111 },
      },
      actions: [{ action: "mark_read" }],
    });
  });

  it("starts from a stored rule, keeping a source that has been removed since", async () => {
    const mock = new MockBackend({ count: 50, now: () => NOW });
    const rule = { ...(await mock.listRules())[2]!, match: { ...(await mock.listRules())[2]!.match, sources: [2, 42] } };
    const { onsaved } = await setup({ mock, rule });
    expect(byTestId("rule-field-name").value).toBe("冷库夜间告警");
    const ticked = screen.getAllByTestId<HTMLInputElement>("rule-field-source").filter((box) => box.checked);
    expect(ticked.map((box) => box.dataset.sourceId)).toEqual(["2", "42"]);
    expect(ticked[1]!.parentElement!.textContent).toContain("Removed source #42");
    expect(byTestId("rule-field-title").value).toBe("冷库");
    expect(byTestId<HTMLInputElement>("rule-field-time").checked).toBe(true);
    expect(byTestId("rule-field-time-start").value).toBe("18:00");
    expect(byTestId("rule-field-time-end").value).toBe("08:00");
    expect(byTestId<HTMLInputElement>("rule-field-time-weekday-fri").checked).toBe(true);
    expect(byTestId<HTMLInputElement>("rule-field-time-weekday-sat").checked).toBe(false);
    expect(actions().map((row) => row.dataset.action)).toEqual(["add_tag", "command"]);
    expect(within(actions()[1]!).getAllByTestId<HTMLInputElement>("rule-action-arg").map((arg) => arg.value)).toEqual(["--room", "cold"]);
    expect(byTestId("rule-save").textContent?.trim()).toBe("Save");

    await save();
    await waitFor(() => expect(onsaved).toHaveBeenCalledWith({ id: 3, name: "冷库夜间告警", added: false }));
    expect(mock.savedRules[0]).toMatchObject({ id: 3, match: { sources: [2, 42] } });
  });
});

describe("RuleForm: preview", () => {
  it("previews the draft once typing pauses, against the newest 500 messages", async () => {
    const { mock } = await setup({ previewDelayMs: 120 });
    await waitFor(() => expect(mock.previews).toHaveLength(1));
    // A draft without actions changes nothing, so it previews with a plain "notify".
    expect(mock.previews[0]).toMatchObject({ limit: 500, rule: { name: "New rule", enabled: true, actions: [{ action: "notify" }] } });
    await waitFor(() => expect(byTestId("rule-preview").dataset.count).toBe("300"));
    expect(byTestId("rule-preview-count").textContent).toContain("300 of 300 recent messages match");

    await type("rule-field-title", "B");
    await type("rule-field-title", "Bu");
    await type("rule-field-title", "Build");
    await waitFor(() => expect(mock.previews.at(-1)?.rule?.match.title?.value).toBe("Build"));
    expect(mock.previews.map((call) => call.rule?.match.title?.value ?? ""), "the keystrokes between pauses are not sent").toEqual(["", "Build"]);

    const builds = mock.messages.slice(-500).filter((message) => message.title.toLowerCase().includes("build"));
    await waitFor(() => expect(byTestId("rule-preview").dataset.count).toBe(String(builds.length)));
    const shown = screen.getAllByTestId("rule-preview-row");
    expect(shown.length).toBe(Math.min(builds.length, 50));
    expect(shown[0]!.textContent).toContain(builds.at(-1)!.title);
    expect(shown[0]!.textContent).toContain("CI");
    expect(shown[0]!.dataset.outcome).toBe("notified");
  });

  it("says what would happen to each message", async () => {
    await setup();
    await type("rule-field-title", "Build");
    const drop = await addAction("drop");
    await waitFor(() => expect(screen.getAllByTestId("rule-preview-row")[0]!.dataset.outcome).toBe("dropped"));
    expect(screen.getAllByTestId("rule-preview-row")[0]!.textContent).toContain("Dropped");
    await choose(within(drop).getByTestId("rule-action-type"), "store_silently");
    await waitFor(() => expect(screen.getAllByTestId("rule-preview-row")[0]!.textContent).toContain("Stored silently"));
  });

  it("leaves out actions still being filled in, which do not change what a preview shows", async () => {
    const { mock } = await setup();
    await type("rule-field-title", "Build");
    await addAction("command");
    await addAction("drop");
    await waitFor(() => expect(mock.previews.at(-1)?.rule?.actions).toEqual([{ action: "drop" }]));
    expect(screen.queryByTestId("rule-preview-blocked")).toBeNull();
    await waitFor(() => expect(screen.getAllByTestId("rule-preview-row")[0]!.dataset.outcome).toBe("dropped"));
  });

  it("shows why a preview failed", async () => {
    await setup({ mock: new MockBackend({ count: 50, now: () => NOW, failing: ["preview_rules"] }) });
    await waitFor(() => expect(screen.getByTestId("rule-preview").textContent).toContain("Couldn't preview the rule: the mock backend was told to fail preview_rules"));
  });
});
