/**
 * An in-memory backend with generated data. Unit tests drive it directly;
 * `npm run dev` in an ordinary browser uses it instead of Tauri, so the UI can
 * be developed and looked at without the Rust side. It follows the commands'
 * contracts: newest first, keyset paging with `before`, views as the store
 * defines them, search by substring with character highlight ranges.
 */
import type { Highlighted } from "../bindings/Highlighted";
import type { ListQuery } from "../bindings/ListQuery";
import type { MessageDetail } from "../bindings/MessageDetail";
import type { MessagePage } from "../bindings/MessagePage";
import type { MessageRow } from "../bindings/MessageRow";
import type { SourceView } from "../bindings/SourceView";
import { findCharRanges } from "../lib/highlight";
import { BackendError, type Backend } from "./backend";
import type { HeraldEvent } from "./events";
import {
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
};

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
    this.sources = withSources ? DEMO_SOURCES.map((source) => ({ ...source })) : [];
    if (withSources) this.generate(options.count ?? 500);
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
    const live = this.sources.filter((source) => source.enabled && source.state === "connected");
    if (live.length === 0) return [];
    const added: MockMessage[] = [];
    for (let index = 0; index < count; index += 1) {
      const from = sourceId ?? live[(this.nextId + index) % live.length]!.id;
      const message = this.factory.make(this.nextId, this.now(), from);
      this.nextId += 1;
      this.messages.push(message);
      added.push(message);
    }
    this.emit({ kind: "messages_added", count, sources: [...new Set(added.map((message) => message.sourceId))] });
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
    return this.sources.map((source) => ({
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
      this.sources = DEMO_SOURCES.map((source) => ({ ...source }));
      this.generate(300);
      for (const source of this.sources) this.emit({ kind: "source_status", source: source.id });
      this.emit({ kind: "messages_added", count: 300, sources: this.sources.map((source) => source.id) });
      this.emit({ kind: "counts_changed" });
    }
  }

  async onEvent(handler: (event: HeraldEvent) => void): Promise<() => void> {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
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

/**
 * Options from the dev page's query string: `?mock=20000` messages,
 * `?mock=empty` for a first run, `?latency=300`, `?fail=list_messages`.
 */
export function mockOptionsFromUrl(search: string): MockOptions {
  const params = new URLSearchParams(search);
  const mock = params.get("mock");
  const count = mock && /^\d+$/.test(mock) ? Number(mock) : 100_000;
  return {
    count,
    sources: mock !== "empty",
    latencyMs: Number(params.get("latency") ?? 80),
    failing: params.get("fail")?.split(",").filter(Boolean) ?? [],
    openInBrowser: true,
  };
}
