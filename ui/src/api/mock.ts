/**
 * An in-memory backend with generated data. Unit tests drive it directly;
 * `npm run dev` in an ordinary browser uses it instead of Tauri, so the UI can
 * be developed and looked at without the Rust side. It follows the commands'
 * contracts: newest first, keyset paging with `before`, views as the store
 * defines them, search by substring with character highlight ranges; and
 * for the admin screens, the source rules of `lib/source-rules.ts` with
 * Rust's wording, write-only secrets, a probe answered from the URL
 * (`mock-admin.ts`), retention that prunes, and JSON Lines export/import;
 * the local publish API (a token made on first enable or on regeneration,
 * and a "local" source its messages are filed under); and routing rules,
 * the notification policy and do-not-disturb (`mock-rules.ts`), with the
 * rules applied to the messages it receives; and the database's health
 * (a damaged file set aside at start, writes that fail).
 */
import type { ActionView } from "../bindings/ActionView";
import type { AttachmentView } from "../bindings/AttachmentView";
import type { DeliveryFailureView } from "../bindings/DeliveryFailureView";
import type { ExportView } from "../bindings/ExportView";
import type { Highlighted } from "../bindings/Highlighted";
import type { ImportView } from "../bindings/ImportView";
import type { ListQuery } from "../bindings/ListQuery";
import type { MessageDetail } from "../bindings/MessageDetail";
import type { MessagePage } from "../bindings/MessagePage";
import type { MessageRow } from "../bindings/MessageRow";
import type { PauseInput } from "../bindings/PauseInput";
import type { PolicyInput } from "../bindings/PolicyInput";
import type { ProbeView } from "../bindings/ProbeView";
import type { PublishApiChange } from "../bindings/PublishApiChange";
import type { PublishApiInput } from "../bindings/PublishApiInput";
import type { PublishApiView } from "../bindings/PublishApiView";
import type { QuietView } from "../bindings/QuietView";
import type { RuleInput } from "../bindings/RuleInput";
import type { RulePreview } from "../bindings/RulePreview";
import type { RuleView } from "../bindings/RuleView";
import type { SettingsView } from "../bindings/SettingsView";
import type { LanguageView } from "../bindings/LanguageView";
import type { SourceInput } from "../bindings/SourceInput";
import type { SourceSettings } from "../bindings/SourceSettings";
import type { SourceView } from "../bindings/SourceView";
import type { StorageView } from "../bindings/StorageView";
import { findCharRanges } from "../lib/highlight";
import { RENDERED_BODY_CHARS } from "../lib/limits";
import { DEFAULT_PUBLISH_PORT, PUBLISH_PORT_RANGE } from "../lib/publish-api";
import { checkSource, DEFAULT_MAP, isBroker, normalizeSourceUrl, usesFieldMap } from "../lib/source-rules";
import { BackendError, type Backend } from "./backend";
import type { HeraldEvent } from "./events";
import {
  caFileError,
  effectiveCredentials,
  exportLine,
  parseExportLine,
  problemError,
  simulateProbe,
  type ExportLine,
} from "./mock-admin";
import { MockRouting } from "./mock-rules";
import {
  copySource,
  DEMO_SOURCES,
  MessageFactory,
  TAG_EMOJI,
  plainText,
  renderBody,
  type MockMessage,
  type MockSource,
} from "./mock-data";

export type MockOptions = {
  /** How many messages to generate; 0 with `sources: false` is a first run. */
  count?: number;
  /** Start with the demo sources (true) or none at all (false, a first run). */
  sources?: boolean;
  seed?: number;
  /** "Now" for generated timestamps and snooze checks; a clock for tests. */
  now?: () => number;
  /** Delay every call by this many ms, to see loading states. */
  latencyMs?: number;
  /** Command names (e.g. "list_messages") that fail, to see error states. */
  failing?: string[];
  /** Open links with `window.open` (in a browser) as well as recording them. */
  openInBrowser?: boolean;
  /** Starting settings; the rest take the defaults of a fresh install. */
  settings?: Partial<SettingsView>;
  /** The stored language choice (default `system`), and the OS locale `system` means (default the browser's). */
  language?: { choice?: string; system?: string };
  /** Start with the demo's routing rules (the default when there are demo sources). */
  rules?: boolean;
  /** Why desktop notifications cannot be shown, as `QuietView.notifier_error`. */
  notifierError?: string | null;
  /**
   * Start as Herald does after finding its database damaged: what SQLite
   * said, as `StorageView.set_aside_reason`; the file is "moved" beside the
   * new one. Pair it with `sources: false`, since the new database is empty.
   */
  damagedDatabase?: string | null;
  /** Why received messages cannot be saved, as `StorageView.write_trouble`. */
  writeTrouble?: string | null;
};

const DEFAULT_SETTINGS: SettingsView = {
  max_age_days: null,
  max_per_source: null,
  autostart: false,
  data_dir: "/home/you/.local/share/herald",
  export_dir: "/home/you/Downloads",
};

/** What SQLite says about a damaged file, for `?storage=damaged`. */
export const DAMAGED_DATABASE_REASON = "database error: database disk image is malformed";

/** The writer's words for a full disk, for `?storage=full`. */
export const DISK_FULL_TROUBLE =
  "the disk holding the database is full; free some space; 12 received messages are waiting to be saved, and Herald keeps trying";

/** A port the mock pretends another program listens on, to show the API's "retrying" state. */
export const TAKEN_PUBLISH_PORT = 8080;

const PREVIEW_CHARS = 160;
const MINUTE = 60_000;

export class MockBackend implements Backend {
  /** Ascending by id, which is also the order they arrived in. */
  messages: MockMessage[] = [];
  sources: MockSource[];
  /** Every URL `openLink` was asked to open. */
  readonly openedLinks: string[] = [];
  /** Every `runHttpAction` call. */
  readonly httpActions: { messageId: number; index: number }[] = [];
  /** Every `listMessages` query, for tests of paging. */
  readonly queries: ListQuery[] = [];
  /** Every `saveSource` and `testSource` input, for tests of the form. */
  readonly savedInputs: SourceInput[] = [];
  readonly testedInputs: SourceInput[] = [];
  settings: SettingsView;
  /** The stored language choice, as the backend keeps it. */
  languageChoice: string;
  private readonly systemLocale: string;
  /** How many times the UI said its first screen is painted. */
  windowReadyCalls = 0;
  /** What the last `exportMessages` "wrote", so a test can import it back. */
  lastExport: { path: string; contents: string } | null = null;
  /** Rules, policy and quiet state. */
  readonly routing: MockRouting;
  /** Every `saveRule` input and `previewRules` call, for tests of the rule form. */
  readonly savedRules: RuleInput[] = [];
  readonly previews: { rule: RuleInput | null; limit: number }[] = [];
  /** The local publish API; `token` is what a script must send, never shown again after it is made. */
  publishApi: { enabled: boolean; port: number; token: string | null; sourceId: number | null } = {
    enabled: false,
    port: DEFAULT_PUBLISH_PORT,
    token: null,
    sourceId: null,
  };
  /** Every `setPublishApi` input, for tests of the settings. */
  readonly publishInputs: PublishApiInput[] = [];
  /** The database's health as `get_storage` reports it; `setWriteTrouble` changes it as the writer would. */
  storage: StorageView;

  private readonly factory: MessageFactory;
  private readonly now: () => number;
  private readonly latencyMs: number;
  private readonly failing: Set<string>;
  private readonly openInBrowser: boolean;
  private readonly handlers = new Set<(event: HeraldEvent) => void>();
  private liveTimer: ReturnType<typeof setInterval> | null = null;
  private nextId = 1;

  constructor(options: MockOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.latencyMs = options.latencyMs ?? 0;
    this.failing = new Set(options.failing ?? []);
    this.openInBrowser = options.openInBrowser ?? false;
    this.factory = new MessageFactory(options.seed ?? 7);
    const withSources = options.sources ?? true;
    this.sources = withSources ? DEMO_SOURCES.map(copySource) : [];
    this.settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this.languageChoice = options.language?.choice ?? "system";
    this.systemLocale = options.language?.system ?? globalThis.navigator?.language ?? "en";
    const database = `${this.settings.data_dir}/herald.db`;
    const damaged = options.damagedDatabase ?? null;
    this.storage = {
      database,
      set_aside_to: damaged === null ? null : `${database}.damaged-${fileStamp(this.now())}`,
      set_aside_reason: damaged,
      write_trouble: options.writeTrouble ?? null,
    };
    this.routing = new MockRouting({
      now: this.now,
      demo: withSources && (options.rules ?? true),
      notifierError: options.notifierError ?? null,
    });
    if (withSources) this.generate(options.count ?? 500);
    if (this.routing.rules.length > 0) {
      const urgentRisk = [...this.messages].reverse().find((message) => message.sourceId === 3 && message.priority === 5);
      this.routing.addDemoFailure(urgentRisk);
    }
  }

  /** Adds `count` older messages spread over the last weeks, newest last. */
  private generate(count: number): void {
    const now = this.now();
    // Roughly one message every few minutes, going back from now.
    const spacing = Math.max(1_000, Math.floor((30 * 24 * 60 * MINUTE) / Math.max(count, 1)));
    const start = now - count * spacing;
    for (let index = 0; index < count; index += 1) {
      const sentAt = start + index * spacing + Math.floor(spacing / 3);
      const message = this.factory.make(this.nextId, sentAt);
      // The newest few dozen are still unread, as after a morning away.
      if (count - index <= 40) message.read = index % 3 === 0;
      if (count - index <= 40) message.archivedAt = null;
      this.messages.push(message);
      this.nextId += 1;
    }
    for (const source of this.sources) {
      if (source.state === "retrying") source.retryAt = now + 42_000;
    }
  }

  /**
   * Adds `count` new messages as a live source would, and emits the events
   * the Rust side emits. Returns the new messages.
   */
  receive(count = 1, sourceId?: number): MockMessage[] {
    // While writes fail nothing is stored: the sources wait, as they do behind the real writer.
    if (this.routing.sourcesPaused || this.storage.write_trouble !== null) return [];
    const live = this.sources.filter((source) => source.enabled && source.state === "connected");
    if (live.length === 0) return [];
    const added: MockMessage[] = [];
    for (let index = 0; index < count; index += 1) {
      const from = sourceId ?? live[(this.nextId + index) % live.length]!.id;
      const message = this.factory.make(this.nextId, this.now(), from);
      this.nextId += 1;
      // As the engine does: the rules decide before the message is stored.
      const decision = this.routing.decide(message);
      if (decision.drop) {
        const source = this.sources.find((candidate) => candidate.id === from);
        if (source) source.messagesDropped += 1;
        continue;
      }
      if (decision.markRead) message.read = true;
      if (decision.star) message.starred = true;
      message.tags = [...message.tags, ...decision.addTags];
      this.routing.holdIfQuiet(message, decision);
      this.messages.push(message);
      added.push(message);
    }
    if (added.length > 0) {
      this.emit({ kind: "messages_added", count: added.length, sources: [...new Set(added.map((message) => message.sourceId))] });
    }
    this.emit({ kind: "counts_changed" });
    return added;
  }

  /** In the browser: a message every few seconds, so the live path can be seen. */
  startLiveFeed(intervalMs = 7_000): void {
    this.stopLiveFeed();
    this.liveTimer = setInterval(() => this.receive(1 + Math.floor(Math.random() * 2)), intervalMs);
  }

  stopLiveFeed(): void {
    if (this.liveTimer !== null) clearInterval(this.liveTimer);
    this.liveTimer = null;
  }

  private emit(event: HeraldEvent): void {
    for (const handler of this.handlers) handler(event);
  }

  private async enter(command: string): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    if (this.failing.has(command)) {
      throw new BackendError("mock_failure", `the mock backend was told to fail ${command}`);
    }
  }

  private sourceName(id: number): string {
    return this.sources.find((source) => source.id === id)?.name ?? "?";
  }

  private matchesView(message: MockMessage, view: ListQuery["view"], now: number): boolean {
    const awake = message.snoozedUntil === null || message.snoozedUntil <= now;
    switch (view) {
      case "inbox":
        return message.archivedAt === null && awake;
      case "unread":
        return !message.read && message.archivedAt === null && awake;
      case "starred":
        return message.starred;
      case "archived":
        return message.archivedAt !== null;
      case "all":
        return true;
    }
  }

  private toRow(message: MockMessage): MessageRow {
    return {
      id: message.id,
      source_id: message.sourceId,
      source_name: this.sourceName(message.sourceId),
      title: message.title,
      preview: Array.from(this.plainOf(message).plain).slice(0, PREVIEW_CHARS).join(""),
      priority: message.priority,
      tags: message.tags.map((name) => ({ name, emoji: TAG_EMOJI[name] ?? null })),
      sent_at: message.sentAt,
      read: message.read,
      starred: message.starred,
      archived: message.archivedAt !== null,
      snoozed_until: message.snoozedUntil,
      title_match: null,
      body_match: null,
    };
  }

  async listMessages(query: ListQuery): Promise<MessagePage> {
    this.queries.push(query);
    await this.enter("list_messages");
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 500);
    const needle = query.search?.trim() ?? "";
    const now = this.now();
    const rows: MessageRow[] = [];
    let index = this.messages.length - 1;
    if (query.before !== null) {
      // Keyset paging: ids are ascending, so find the first id below `before`.
      let low = 0;
      let high = this.messages.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        if (this.messages[middle]!.id < query.before) low = middle + 1;
        else high = middle;
      }
      index = low - 1;
    }
    let hasMore = false;
    for (; index >= 0; index -= 1) {
      const message = this.messages[index]!;
      if (!this.matchesView(message, query.view, now)) continue;
      if (query.source !== null && message.sourceId !== query.source) continue;
      if (query.min_priority !== null && message.priority < query.min_priority) continue;
      if (query.tag && !message.tags.includes(query.tag)) continue;
      let row: MessageRow;
      if (needle) {
        const hit = this.search(message, needle);
        if (!hit) continue;
        row = { ...this.toRow(message), ...hit };
      } else {
        row = this.toRow(message);
      }
      if (rows.length === limit) {
        hasMore = true;
        break;
      }
      rows.push(row);
    }
    return { rows, has_more: hasMore };
  }

  /** Plain bodies and lower-cased search text, made once per message on first use. */
  private readonly plainCache = new Map<number, { plain: string; lower: string }>();

  private plainOf(message: MockMessage): { plain: string; lower: string } {
    let cached = this.plainCache.get(message.id);
    if (!cached) {
      const plain = plainText(message.body, message.markdown);
      cached = { plain, lower: `${message.title}\n${plain}`.toLowerCase() };
      this.plainCache.set(message.id, cached);
    }
    return cached;
  }

  private search(message: MockMessage, needle: string): Pick<MessageRow, "title_match" | "body_match"> | null {
    const { plain, lower } = this.plainOf(message);
    if (!lower.includes(needle.toLowerCase())) return null;
    const titleRanges = findCharRanges(message.title, needle);
    const bodyRanges = findCharRanges(plain, needle);
    if (titleRanges.length === 0 && bodyRanges.length === 0) return null;
    return {
      title_match: { text: message.title, ranges: titleRanges },
      body_match: excerpt(plain, bodyRanges),
    };
  }

  async getMessage(id: number): Promise<MessageDetail> {
    await this.enter("get_message");
    const message = this.find(id);
    return {
      row: this.toRow(message),
      topic: message.topic,
      body_html: renderBody(message.body, message.markdown),
      body_text: plainText(message.body, message.markdown),
      body_truncated: [...message.body].length > RENDERED_BODY_CHARS,
      markdown: message.markdown,
      click: message.click,
      actions: message.actions.map((action) => ({ ...action })),
      attachment: message.attachment ? { ...message.attachment } : null,
      received_at: message.receivedAt,
      expires_at: null,
    };
  }

  async listSources(): Promise<SourceView[]> {
    await this.enter("list_sources");
    const unread = new Map<number, number>();
    const stored = new Map<number, number>();
    for (const message of this.messages) {
      stored.set(message.sourceId, (stored.get(message.sourceId) ?? 0) + 1);
      if (!message.read && message.archivedAt === null) {
        unread.set(message.sourceId, (unread.get(message.sourceId) ?? 0) + 1);
      }
    }
    return this.liveSources().map((source) => ({
      id: source.id,
      name: source.name,
      protocol: source.protocol,
      enabled: source.enabled,
      state: source.state,
      retry_at: source.retryAt,
      last_error: source.lastError,
      unread: unread.get(source.id) ?? 0,
      stored: stored.get(source.id) ?? 0,
      frames_rejected: source.framesRejected,
      frames_malformed: source.framesMalformed,
      messages_dropped: source.messagesDropped,
    }));
  }

  private find(id: number): MockMessage {
    const message = this.messages.find((candidate) => candidate.id === id);
    if (!message) throw new BackendError("not_found", `message ${id} does not exist; it may have been deleted`);
    return message;
  }

  private update(ids: number[], change: (message: MockMessage) => void): void {
    const wanted = new Set(ids);
    for (const message of this.messages) if (wanted.has(message.id)) change(message);
    this.emit({ kind: "counts_changed" });
  }

  async setRead(ids: number[], read: boolean): Promise<void> {
    await this.enter("set_read");
    this.update(ids, (message) => (message.read = read));
  }

  async markAllRead(source: number | null): Promise<void> {
    await this.enter("mark_all_read");
    for (const message of this.messages) {
      if (source === null || message.sourceId === source) message.read = true;
    }
    this.emit({ kind: "counts_changed" });
  }

  async setStarred(ids: number[], starred: boolean): Promise<void> {
    await this.enter("set_starred");
    this.update(ids, (message) => (message.starred = starred));
  }

  async archive(ids: number[], archived: boolean): Promise<void> {
    await this.enter("set_archived");
    const now = this.now();
    this.update(ids, (message) => (message.archivedAt = archived ? now : null));
  }

  async snooze(ids: number[], until: number | null): Promise<void> {
    await this.enter("snooze");
    this.update(ids, (message) => (message.snoozedUntil = until));
  }

  async deleteMessages(ids: number[]): Promise<void> {
    await this.enter("delete_messages");
    const doomed = new Set(ids);
    this.messages = this.messages.filter((message) => !doomed.has(message.id));
    this.emit({ kind: "counts_changed" });
  }

  async openLink(url: string): Promise<void> {
    await this.enter("open_link");
    if (!/^(https?:|mailto:)/i.test(url)) {
      throw new BackendError("unsafe_link", `only http, https and mailto links open; refused ${url.split(":")[0]}:`);
    }
    this.openedLinks.push(url);
    if (this.openInBrowser && typeof window !== "undefined") window.open(url, "_blank", "noopener,noreferrer");
  }

  async runHttpAction(messageId: number, index: number): Promise<void> {
    await this.enter("run_http_action");
    const action = this.find(messageId).actions[index];
    if (!action || action.kind !== "http") {
      throw new BackendError("not_found", `message ${messageId} has no http action ${index}`);
    }
    this.httpActions.push({ messageId, index });
  }

  async startDemo(): Promise<void> {
    await this.enter("start_demo");
    if (this.sources.length === 0) {
      this.sources = DEMO_SOURCES.map(copySource);
      this.generate(300);
      for (const source of this.sources) this.emit({ kind: "source_status", source: source.id });
      this.emit({ kind: "messages_added", count: 300, sources: this.sources.map((source) => source.id) });
      this.emit({ kind: "counts_changed" });
    }
  }

  // --- sources: the admin screen ------------------------------------------

  private liveSources(): MockSource[] {
    return this.sources.filter((source) => source.removedAt === null);
  }

  private findSource(id: number): MockSource {
    const source = this.liveSources().find((candidate) => candidate.id === id);
    if (!source) throw new BackendError("not_found", `source ${id} does not exist; it may have been removed`);
    return source;
  }

  /**
   * Checks a form's input as `save_source` does and returns the URL it
   * would connect to. Throws the first problem as an `invalid` error with
   * its field.
   */
  private checkInput(input: SourceInput, options: { saving: boolean }): string {
    if (input.protocol === "local") {
      throw new BackendError("invalid", "the publish api is set up in the settings (or with `herald publish-api`)", "protocol");
    }
    const existing = input.id === null ? undefined : this.findSource(input.id);
    const problems = checkSource(input, {
      otherNames: this.liveSources()
        .filter((source) => source.id !== input.id)
        .map((source) => source.name),
      storedHeaders: existing?.headers.map(([name]) => name) ?? [],
      credentialsStored: existing !== undefined && existing.secretStore !== "none",
    }).filter(
      // A test needs no name, and hears about credentials it may not send
      // in plain text from the connection itself, as Rust's probe does.
      (problem) => options.saving || (problem.field !== "name" && problem.field !== "allow_plain_credentials"),
    );
    const first = problems[0];
    if (first) throw problemError(first);
    const caProblem = caFileError(input.ca_file.trim());
    if (caProblem) throw new BackendError("invalid", caProblem, "ca_file");
    const normalized = normalizeSourceUrl(input.protocol, input.url);
    if ("problem" in normalized) throw problemError(normalized.problem);
    return normalized.url;
  }

  async getSource(id: number): Promise<SourceSettings> {
    await this.enter("get_source");
    const source = this.findSource(id);
    const { token, username } = source.credentials;
    const stored = token ? "token" : username ? "basic" : "none";
    return {
      input: {
        id: source.id,
        name: source.name,
        protocol: source.protocol,
        url: source.url,
        enabled: source.enabled,
        auth_in_query: source.authInQuery,
        // Header values are write-only, like the credentials.
        headers: source.headers.map(([name]) => ({ name, value: null })),
        map: { ...source.map },
        subscribe_frame: source.subscribeFrame,
        resume_url: source.resumeUrl,
        text_frames: source.textFrames,
        ca_file: source.caFile,
        read_timeout_secs: source.readTimeoutSecs,
        max_frame_bytes: source.maxFrameBytes,
        credentials: { kind: "keep" },
        ...brokerFields(source),
        allow_plain_credentials: source.allowPlainCredentials,
      },
      stored_credentials: stored,
      username: stored === "basic" ? (username ?? null) : null,
      secret_store: stored === "none" ? "none" : source.secretStore,
    };
  }

  /** Where a source ends up after (re)connecting with these settings. */
  private connect(source: MockSource): void {
    source.retryAt = null;
    source.lastError = null;
    source.framesRejected = 0;
    source.framesMalformed = 0;
    if (!source.enabled) {
      source.state = "disabled";
      return;
    }
    const probe = simulateProbe(this.inputOf(source), source.url, source.credentials);
    if (probe.connected) {
      source.state = "connected";
    } else if (probe.auth_failed) {
      source.state = "auth_failed";
      source.lastError = probe.error;
    } else {
      source.state = "retrying";
      source.retryAt = this.now() + 5_000;
      source.lastError = probe.error;
    }
  }

  private inputOf(source: MockSource): SourceInput {
    return {
      id: source.id,
      name: source.name,
      protocol: source.protocol,
      url: source.url,
      enabled: source.enabled,
      auth_in_query: source.authInQuery,
      headers: source.headers.map(([name, value]) => ({ name, value })),
      map: source.map,
      subscribe_frame: source.subscribeFrame,
      resume_url: source.resumeUrl,
      text_frames: source.textFrames,
      ca_file: source.caFile,
      read_timeout_secs: source.readTimeoutSecs,
      max_frame_bytes: source.maxFrameBytes,
      credentials: { kind: "keep" },
      ...brokerFields(source),
      allow_plain_credentials: source.allowPlainCredentials,
    };
  }

  async saveSource(input: SourceInput): Promise<number> {
    this.savedInputs.push(structuredClone(input));
    await this.enter("save_source");
    const url = this.checkInput(input, { saving: true });
    const existing = input.id === null ? undefined : this.findSource(input.id);
    const credentials = effectiveCredentials(input, existing?.credentials ?? {});
    const storedHeaders = new Map(existing?.headers ?? []);
    const json = input.protocol === "json";
    const broker = isBroker(input.protocol);
    const source: MockSource = {
      ...(existing ?? {
        id: Math.max(0, ...this.sources.map((candidate) => candidate.id)) + 1,
        state: "connecting",
        retryAt: null,
        lastError: null,
        framesRejected: 0,
        framesMalformed: 0,
        messagesDropped: 0,
        removedAt: null,
      }),
      name: input.name.trim(),
      protocol: input.protocol,
      url,
      enabled: input.enabled,
      authInQuery: input.auth_in_query,
      headers: input.headers.map((header) => [header.name.trim(), header.value ?? storedHeaders.get(header.name.trim()) ?? ""]),
      map: usesFieldMap(input.protocol) ? { ...input.map } : { ...DEFAULT_MAP },
      subscribeFrame: json ? input.subscribe_frame : "",
      resumeUrl: json ? input.resume_url.trim() : "",
      textFrames: json && input.text_frames,
      caFile: input.ca_file.trim(),
      readTimeoutSecs: input.read_timeout_secs,
      maxFrameBytes: input.max_frame_bytes,
      credentials,
      subscriptions: broker ? input.subscriptions.map((subscription) => subscription.trim()).filter((subscription) => subscription !== "") : [],
      virtualHost: input.protocol === "stomp" ? input.virtual_host.trim() : "",
      // As the backend does: a broker saved without a client id gets one, which the form then sends back.
      clientId: broker ? input.client_id.trim() || madeUpClientId() : "",
      qos: input.qos,
      durable: broker && input.durable,
      idHeader: input.protocol === "stomp" ? input.id_header.trim() : "",
      allowPlainCredentials: input.allow_plain_credentials,
      secretStore: Object.keys(credentials).length === 0 ? "none" : existing && existing.secretStore !== "none" ? existing.secretStore : "keyring",
    };
    this.connect(source);
    if (existing) this.sources = this.sources.map((candidate) => (candidate.id === source.id ? source : candidate));
    else this.sources = [...this.sources, source];
    this.emit({ kind: "source_status", source: source.id });
    return source.id;
  }

  async testSource(input: SourceInput): Promise<ProbeView> {
    this.testedInputs.push(structuredClone(input));
    await this.enter("test_source");
    const url = this.checkInput(input, { saving: false });
    // A probe listens for a few seconds; a little of that shows the waiting state in a browser.
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs * 8));
    const stored = input.id === null ? {} : this.findSource(input.id).credentials;
    return simulateProbe(input, url, effectiveCredentials(input, stored));
  }

  async setSourceEnabled(id: number, enabled: boolean): Promise<void> {
    await this.enter("set_source_enabled");
    const source = this.findSource(id);
    source.enabled = enabled;
    this.connect(source);
    this.sources = [...this.sources];
    this.emit({ kind: "source_status", source: id });
  }

  async removeSource(id: number, deleteMessages: boolean): Promise<number> {
    await this.enter("remove_source");
    const source = this.findSource(id);
    source.removedAt = this.now();
    source.enabled = false;
    source.state = "stopped";
    source.credentials = {};
    let deleted = 0;
    if (deleteMessages) {
      const before = this.messages.length;
      this.messages = this.messages.filter((message) => message.sourceId !== id);
      deleted = before - this.messages.length;
    }
    this.emit({ kind: "source_status", source: id });
    this.emit({ kind: "counts_changed" });
    return deleted;
  }

  // --- settings -------------------------------------------------------------

  async getSettings(): Promise<SettingsView> {
    await this.enter("get_settings");
    return { ...this.settings };
  }

  async setRetention(maxAgeDays: number | null, maxPerSource: number | null): Promise<void> {
    await this.enter("set_retention");
    for (const [value, what] of [
      [maxAgeDays, "max age in days"],
      [maxPerSource, "messages per source"],
    ] as const) {
      if (value !== null && (!Number.isInteger(value) || value < 1 || value > 4_294_967_295)) {
        throw new BackendError("invalid", `${what} must be a whole number of at least 1, or none`);
      }
    }
    this.settings = { ...this.settings, max_age_days: maxAgeDays, max_per_source: maxPerSource };
    if (this.prune() > 0) this.emit({ kind: "counts_changed" });
  }

  /** `store::prune`: too old or beyond the per-source limit, starred ones never. */
  private prune(): number {
    const { max_age_days: days, max_per_source: keep } = this.settings;
    const cutoff = days === null ? null : this.now() - days * 86_400_000;
    const rank = new Map<number, number>();
    const doomed = new Set<number>();
    for (let index = this.messages.length - 1; index >= 0; index -= 1) {
      const message = this.messages[index]!;
      const position = (rank.get(message.sourceId) ?? 0) + 1;
      rank.set(message.sourceId, position);
      if (message.starred) continue;
      if ((cutoff !== null && message.receivedAt < cutoff) || (keep !== null && position > keep)) doomed.add(message.id);
    }
    if (doomed.size > 0) this.messages = this.messages.filter((message) => !doomed.has(message.id));
    return doomed.size;
  }

  async setAutostart(enabled: boolean): Promise<void> {
    await this.enter("set_autostart");
    this.settings = { ...this.settings, autostart: enabled };
  }

  private languageView(): LanguageView {
    const system = this.systemLocale.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
    return { choice: this.languageChoice, language: this.languageChoice === "system" ? system : this.languageChoice };
  }

  async getLanguage(): Promise<LanguageView> {
    await this.enter("get_language");
    return this.languageView();
  }

  async setLanguage(choice: string): Promise<LanguageView> {
    await this.enter("set_language");
    if (!["system", "en", "zh-CN"].includes(choice)) throw new BackendError("invalid", `unknown language ${JSON.stringify(choice)}`);
    this.languageChoice = choice;
    return this.languageView();
  }

  async exportMessages(): Promise<ExportView> {
    await this.enter("export_messages");
    const stamp = new Date(this.now()).toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
    const path = `${this.settings.export_dir}/herald-export-${stamp}.jsonl`;
    const lines = this.messages.map((message) => {
      const source = this.sources.find((candidate) => candidate.id === message.sourceId);
      return JSON.stringify(exportLine(message, source ?? { name: "?", protocol: "json", url: "" }));
    });
    this.lastExport = { path, contents: lines.map((line) => `${line}\n`).join("") };
    return { path, messages: lines.length };
  }

  async importMessages(contents: string): Promise<ImportView> {
    await this.enter("import_messages");
    const report: ImportView = { imported: 0, duplicates: 0, sources_created: [] };
    const known = new Set(this.messages.map((message) => `${message.sourceId}\u0000${message.remoteId}`));
    const lines = contents.split(/\r?\n/);
    let failure: BackendError | null = null;
    for (const [index, text] of lines.entries()) {
      if (text.trim() === "") continue;
      const line = parseExportLine(text);
      if (typeof line === "string") {
        // As in Rust: what came before the bad line stays imported.
        failure = new BackendError("invalid", `line ${index + 1} is not a herald export line: ${line}`);
        break;
      }
      const source = this.sourceForImport(line, report);
      const key = `${source.id}\u0000${line.remote_id}`;
      if (known.has(key)) {
        report.duplicates += 1;
        continue;
      }
      known.add(key);
      this.messages.push(this.messageFromLine(line, source.id));
      report.imported += 1;
    }
    if (report.imported > 0) {
      this.emit({ kind: "messages_added", count: report.imported, sources: [] });
      this.emit({ kind: "counts_changed" });
    }
    if (failure) throw failure;
    return report;
  }

  private sourceForImport(line: ExportLine, report: ImportView): MockSource {
    const existing = this.liveSources().find((source) => source.name === line.source);
    if (existing) return existing;
    const created = copySource({
      ...DEMO_SOURCES[0]!,
      id: Math.max(0, ...this.sources.map((source) => source.id)) + 1,
      name: line.source,
      protocol: line.source_protocol,
      url: line.source_url,
      enabled: false,
      state: "disabled",
      lastError: null,
      credentials: {},
      secretStore: "none",
      headers: [],
      map: { ...DEFAULT_MAP },
      subscribeFrame: "",
      resumeUrl: "",
      textFrames: false,
      caFile: "",
      subscriptions: [],
      virtualHost: "",
      clientId: "",
      durable: false,
      idHeader: "",
    });
    this.sources = [...this.sources, created];
    report.sources_created.push(created.name);
    this.emit({ kind: "source_status", source: created.id });
    return created;
  }

  private messageFromLine(line: ExportLine, sourceId: number): MockMessage {
    const id = this.nextId;
    this.nextId += 1;
    return {
      id,
      sourceId,
      remoteId: line.remote_id,
      topic: line.topic ?? null,
      title: line.title,
      body: line.body,
      markdown: line.format === "markdown",
      priority: line.priority,
      tags: line.tags,
      sentAt: line.sent_at,
      receivedAt: line.received_at,
      read: line.read,
      starred: line.starred,
      archivedAt: line.archived_at ?? null,
      snoozedUntil: line.snoozed_until ?? null,
      click: line.click ?? null,
      actions: Array.isArray(line.actions) ? (line.actions as ActionView[]) : [],
      attachment: (line.attachment as AttachmentView | null) ?? null,
    };
  }

  // --- the local publish API ---------------------------------------------------

  private publishView(): PublishApiView {
    const { enabled, port } = this.publishApi;
    const source = this.publishSource();
    return {
      enabled,
      port,
      url: `http://127.0.0.1:${port}/publish`,
      source_id: source?.id ?? null,
      state: source?.state ?? "disabled",
      last_error: source?.lastError ?? null,
    };
  }

  private publishSource(): MockSource | undefined {
    const id = this.publishApi.sourceId;
    return id === null ? undefined : this.liveSources().find((candidate) => candidate.id === id);
  }

  /**
   * The "local" source, made the first time the API is set (on or off),
   * listens while the API is on; a port another program holds keeps it retrying.
   */
  private listen(): void {
    const { enabled, port } = this.publishApi;
    let source = this.publishSource();
    if (!source) {
      const taken = this.liveSources().some((candidate) => candidate.name === "Local");
      source = copySource({
        ...DEMO_SOURCES[0]!,
        id: Math.max(0, ...this.sources.map((candidate) => candidate.id)) + 1,
        name: taken ? "Local (publish api)" : "Local",
        protocol: "local",
        credentials: {},
        secretStore: "none",
        messagesDropped: 0,
      });
      this.sources = [...this.sources, source];
      this.publishApi.sourceId = source.id;
    }
    source.url = `http://127.0.0.1:${port}/`;
    source.enabled = enabled;
    source.retryAt = null;
    source.lastError = null;
    if (!enabled) {
      source.state = "disabled";
    } else if (port === TAKEN_PUBLISH_PORT) {
      source.state = "retrying";
      source.retryAt = this.now() + 5_000;
      source.lastError = `cannot listen on 127.0.0.1:${port}: Address already in use (os error 98)`;
    } else {
      source.state = "connected";
    }
    this.sources = [...this.sources];
    this.emit({ kind: "source_status", source: source.id });
  }

  private newPublishToken(): string {
    const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let token = "hp_";
    for (let index = 0; index < 32; index += 1) token += alphabet[Math.floor(Math.random() * alphabet.length)];
    return token;
  }

  async getPublishApi(): Promise<PublishApiView> {
    await this.enter("get_publish_api");
    return this.publishView();
  }

  async setPublishApi(input: PublishApiInput): Promise<PublishApiChange> {
    this.publishInputs.push({ ...input });
    await this.enter("set_publish_api");
    const { min, max } = PUBLISH_PORT_RANGE;
    // A port is a u16 on the way in; serde refuses anything else before the command runs.
    if (!Number.isInteger(input.port) || input.port < 0 || input.port > max) {
      throw new BackendError("ipc", `invalid args \`input\` for command \`set_publish_api\`: invalid value: integer \`${input.port}\`, expected u16`);
    }
    if (input.port < min) throw new BackendError("invalid", `pick a port from ${min} to ${max}`, "port");
    // The first time it is turned on, a token is made and shown; after that it is only ever regenerated.
    let newToken: string | null = null;
    if (input.enabled && this.publishApi.token === null) {
      newToken = this.newPublishToken();
      this.publishApi.token = newToken;
    }
    this.publishApi.enabled = input.enabled;
    this.publishApi.port = input.port;
    this.listen();
    return { api: this.publishView(), new_token: newToken };
  }

  async regeneratePublishToken(): Promise<PublishApiChange> {
    await this.enter("regenerate_publish_token");
    if (!this.publishSource()) throw new BackendError("invalid", "turn the publish api on first", "enabled");
    const token = this.newPublishToken();
    this.publishApi.token = token;
    return { api: this.publishView(), new_token: token };
  }

  // --- routing: rules, notification policy, quiet -----------------------------

  async listRules(): Promise<RuleView[]> {
    await this.enter("list_rules");
    return this.routing.list();
  }

  async saveRule(rule: RuleInput): Promise<number> {
    this.savedRules.push(structuredClone(rule));
    await this.enter("save_rule");
    const id = this.routing.save(rule);
    this.emit({ kind: "rules_changed" });
    return id;
  }

  async removeRule(id: number): Promise<void> {
    await this.enter("remove_rule");
    this.routing.remove(id);
    this.emit({ kind: "rules_changed" });
  }

  async setRuleEnabled(id: number, enabled: boolean): Promise<void> {
    await this.enter("set_rule_enabled");
    this.routing.setEnabled(id, enabled);
    this.emit({ kind: "rules_changed" });
  }

  async moveRule(id: number, position: number): Promise<void> {
    await this.enter("move_rule");
    this.routing.move(id, position);
    this.emit({ kind: "rules_changed" });
  }

  async previewRules(rule: RuleInput | null, limit: number): Promise<RulePreview> {
    this.previews.push({ rule: rule === null ? null : structuredClone(rule), limit });
    await this.enter("preview_rules");
    return this.routing.preview(rule, limit, this.messages, (message) => this.toRow(message));
  }

  async listDeliveryFailures(limit: number): Promise<DeliveryFailureView[]> {
    await this.enter("list_delivery_failures");
    return this.routing.failuresNewestFirst(limit);
  }

  async getPolicy(): Promise<PolicyInput> {
    await this.enter("get_policy");
    return structuredClone(this.routing.policy);
  }

  async setPolicy(policy: PolicyInput): Promise<PolicyInput> {
    await this.enter("set_policy");
    const saved = this.routing.setPolicy(policy);
    // Quiet hours may have started or ended with the change.
    this.emit({ kind: "quiet_changed" });
    return saved;
  }

  async getQuiet(): Promise<QuietView> {
    await this.enter("get_quiet");
    return this.routing.quiet();
  }

  async pauseNotifications(pause: PauseInput): Promise<QuietView> {
    await this.enter("pause_notifications");
    const quiet = this.routing.pause(pause);
    this.emit({ kind: "quiet_changed" });
    return quiet;
  }

  async muteSource(id: number, pause: PauseInput): Promise<QuietView> {
    await this.enter("mute_source");
    this.findSource(id);
    const quiet = this.routing.mute(id, pause);
    this.emit({ kind: "quiet_changed" });
    return quiet;
  }

  async setSourcesPaused(paused: boolean): Promise<QuietView> {
    await this.enter("set_sources_paused");
    this.routing.sourcesPaused = paused;
    this.emit({ kind: "quiet_changed" });
    return this.routing.quiet();
  }

  async getStorage(): Promise<StorageView> {
    await this.enter("get_storage");
    return { ...this.storage };
  }

  /** Saving starts (a text) or stops (null) failing; the window hears of it only when that changes. */
  setWriteTrouble(trouble: string | null): void {
    if (trouble === this.storage.write_trouble) return;
    this.storage = { ...this.storage, write_trouble: trouble };
    this.emit({ kind: "storage_changed" });
  }

  /** What a click on a notification does: asks the window to show the message. */
  focus(id: number): void {
    this.emit({ kind: "focus_message", id });
  }

  async windowReady(): Promise<void> {
    await this.enter("window_ready");
    this.windowReadyCalls += 1;
  }

  async onEvent(handler: (event: HeraldEvent) => void): Promise<() => void> {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
}

/** A client id as the backend makes one up: `herald` and 12 hex digits. */
function madeUpClientId(): string {
  const digits = Array.from({ length: 12 }, () => Math.floor(Math.random() * 16).toString(16)).join("");
  return `herald${digits}`;
}

/** A stored source's broker settings, as `SourceInput` carries them. */
function brokerFields(source: MockSource): Pick<SourceInput, "subscriptions" | "virtual_host" | "client_id" | "qos" | "durable" | "id_header"> {
  return {
    subscriptions: [...source.subscriptions],
    virtual_host: source.virtualHost,
    client_id: source.clientId,
    qos: source.qos,
    durable: source.durable,
    id_header: source.idHeader,
  };
}

/**
 * An excerpt of `text` around its first match, as Rust's snippet does:
 * some context before, more after, an ellipsis where it was cut, and the
 * ranges moved to the excerpt's own character offsets.
 */
export function excerpt(text: string, ranges: [number, number][], before = 24, length = 120): Highlighted {
  const characters = Array.from(text);
  const first = ranges[0];
  const start = first ? Math.max(0, first[0] - before) : 0;
  const end = Math.min(characters.length, start + length);
  const prefix = start > 0 ? "…" : "";
  const suffix = end < characters.length ? "…" : "";
  const shift = prefix.length - start;
  return {
    text: prefix + characters.slice(start, end).join("") + suffix,
    ranges: ranges
      .filter(([rangeStart, rangeEnd]) => rangeStart >= start && rangeEnd <= end)
      .map(([rangeStart, rangeEnd]): [number, number] => [rangeStart + shift, rangeEnd + shift]),
  };
}

/** A set-aside file's suffix as Rust writes it: `20261128-120000`, in UTC. */
function fileStamp(time: number): string {
  const date = new Date(time);
  const two = (value: number) => String(value).padStart(2, "0");
  const day = `${date.getUTCFullYear()}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}`;
  return `${day}-${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}`;
}

/**
 * Options from the dev page's query string: `?mock=20000` messages,
 * `?mock=empty` for a first run, `?latency=300`, `?fail=list_messages`,
 * `?storage=damaged` (a damaged database was set aside: a first run with
 * the banner), `?storage=full` (received messages cannot be saved), or both
 * as `?storage=damaged,full`.
 */
export function mockOptionsFromUrl(search: string): MockOptions {
  const params = new URLSearchParams(search);
  const mock = params.get("mock");
  const count = mock && /^\d+$/.test(mock) ? Number(mock) : 100_000;
  const storage = new Set(params.get("storage")?.split(",") ?? []);
  const damaged = storage.has("damaged");
  return {
    count,
    // A database set aside leaves a new, empty one: no sources, no messages.
    sources: mock !== "empty" && !damaged,
    latencyMs: Number(params.get("latency") ?? 80),
    failing: params.get("fail")?.split(",").filter(Boolean) ?? [],
    openInBrowser: true,
    damagedDatabase: damaged ? DAMAGED_DATABASE_REASON : null,
    writeTrouble: storage.has("full") ? DISK_FULL_TROUBLE : null,
  };
}
