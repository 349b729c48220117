/**
 * The inbox: which messages are listed (view, source, search, minimum
 * priority, tag), the rows
 * loaded so far with keyset paging, the keyboard cursor, the checked rows
 * for bulk actions, the open message, and triage. Triage updates rows at
 * once and rolls back if the backend refuses.
 */
import type { InboxView } from "../bindings/InboxView";
import type { ListQuery } from "../bindings/ListQuery";
import type { MessageDetail } from "../bindings/MessageDetail";
import type { MessageRow } from "../bindings/MessageRow";
import { BackendError, type Backend } from "../api/backend";

export const PAGE_SIZE = 100;

type Status = "idle" | "loading" | "ready" | "error";

/** Whether a message with these flags still belongs in a view's list. */
export function belongsIn(view: InboxView, row: MessageRow, now: number): boolean {
  const awake = row.snoozed_until === null || row.snoozed_until <= now;
  switch (view) {
    case "inbox":
      return !row.archived && awake;
    case "unread":
      // A message read while the user looks at "Unread" stays until the
      // list reloads, so it does not vanish from under the cursor.
      return !row.archived && awake;
    case "starred":
      return true;
    case "archived":
      return row.archived;
    case "all":
      return true;
  }
}

export class InboxStore {
  view = $state<InboxView>("inbox");
  source = $state<number | null>(null);
  search = $state("");
  /** Only messages of at least this priority (1–5); null for any. */
  minPriority = $state<number | null>(null);
  /** Only messages with this tag; null for any. */
  tag = $state<string | null>(null);
  /** Whether a priority or tag filter narrows the list. */
  filtered = $derived(this.minPriority !== null || this.tag !== null);

  rows = $state.raw<MessageRow[]>([]);
  hasMore = $state(false);
  status = $state<Status>("idle");
  loadingMore = $state(false);
  /** Why the list failed to load; shown in place of the list. */
  error = $state.raw<BackendError | null>(null);
  /** Why a triage action or paging failed; shown as a dismissible notice. */
  notice = $state.raw<BackendError | null>(null);

  /** The keyboard cursor: the row j/k move and Enter opens. */
  cursorId = $state<number | null>(null);
  /** Rows ticked for bulk actions. */
  checked = $state.raw<ReadonlySet<number>>(new Set());
  private lastCheckedId: number | null = null;

  openId = $state<number | null>(null);
  detail = $state.raw<MessageDetail | null>(null);
  detailStatus = $state<Status>("idle");
  detailError = $state.raw<BackendError | null>(null);

  private readonly backend: Backend;
  private readonly clock: () => number;
  private readonly pageSize: number;
  /** Bumped by every reload so answers to an older query are dropped. */
  private generation = 0;
  /** Paging and merging both change `rows`; they take turns. */
  private rowsQueue: Promise<unknown> = Promise.resolve();
  /** The query the current rows answer. */
  private loadedKey = "";

  constructor(backend: Backend, options: { clock?: () => number; pageSize?: number } = {}) {
    this.backend = backend;
    this.clock = options.clock ?? (() => Date.now());
    this.pageSize = options.pageSize ?? PAGE_SIZE;
  }

  query(before: number | null, limit = this.pageSize): ListQuery {
    const search = this.search.trim();
    return {
      view: this.view,
      source: this.source,
      min_priority: this.minPriority,
      tag: this.tag,
      search: search === "" ? null : search,
      before,
      limit,
    };
  }

  indexOf(id: number | null): number {
    return id === null ? -1 : this.rows.findIndex((row) => row.id === id);
  }

  setView(view: InboxView): Promise<void> {
    this.view = view;
    return this.reload();
  }

  setSource(source: number | null): Promise<void> {
    this.source = source;
    return this.reload();
  }

  /** 1 and null both mean "any": every message has a priority of at least 1. */
  setMinPriority(level: number | null): Promise<void> {
    const next = level === null || level <= 1 ? null : Math.min(5, Math.round(level));
    if (next === this.minPriority) return Promise.resolve();
    this.minPriority = next;
    return this.reload();
  }

  setTag(tag: string | null): Promise<void> {
    const next = tag?.trim() || null;
    if (next === this.tag) return Promise.resolve();
    this.tag = next;
    return this.reload();
  }

  clearFilters(): Promise<void> {
    if (!this.filtered) return Promise.resolve();
    this.minPriority = null;
    this.tag = null;
    return this.reload();
  }

  setSearch(search: string): Promise<void> {
    if (search.trim() === this.search.trim()) {
      this.search = search;
      return Promise.resolve();
    }
    this.search = search;
    return this.reload();
  }

  /** Reloads the first page. Rows of the same query stay on screen meanwhile; another query's are cleared at once. */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    const key = JSON.stringify(this.query(null));
    if (key !== this.loadedKey) {
      this.rows = [];
      this.hasMore = false;
      this.checked = new Set();
      this.lastCheckedId = null;
      this.loadedKey = key;
    }
    this.status = "loading";
    this.error = null;
    try {
      const page = await this.backend.listMessages(this.query(null));
      if (generation !== this.generation) return;
      this.rows = page.rows;
      this.hasMore = page.has_more;
      this.status = "ready";
      if (this.indexOf(this.cursorId) < 0) this.cursorId = page.rows[0]?.id ?? null;
    } catch (reason) {
      if (generation !== this.generation) return;
      this.rows = [];
      this.hasMore = false;
      this.loadedKey = "";
      this.error = BackendError.from(reason);
      this.status = "error";
    }
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.rowsQueue.then(task, task);
    this.rowsQueue = run.catch(() => undefined);
    return run;
  }

  /** Loads the page after the last row (`before` = its id). */
  loadMore(): Promise<void> {
    if (!this.hasMore || this.loadingMore || this.status !== "ready") return Promise.resolve();
    this.loadingMore = true;
    const generation = this.generation;
    return this.serially(async () => {
      try {
        const last = this.rows[this.rows.length - 1];
        if (!last || generation !== this.generation) return;
        const page = await this.backend.listMessages(this.query(last.id));
        if (generation !== this.generation) return;
        const known = new Set(this.rows.map((row) => row.id));
        this.rows = this.rows.concat(page.rows.filter((row) => !known.has(row.id)));
        this.hasMore = page.has_more;
      } catch (reason) {
        if (generation !== this.generation) return;
        this.notice = BackendError.from(reason);
        // Stop asking until something changes, or every scroll would retry.
        this.hasMore = false;
      } finally {
        this.loadingMore = false;
      }
    });
  }

  /**
   * Puts messages newer than the top row at the top, keeping every loaded
   * row and the cursor where they are. Returns how many were added, so the
   * list can keep what the user is reading in place.
   */
  mergeNew(): Promise<number> {
    if (this.status !== "ready") {
      if (this.status === "idle" || this.status === "error") return this.reload().then(() => 0);
      return Promise.resolve(0);
    }
    const generation = this.generation;
    return this.serially(async () => {
      if (generation !== this.generation) return 0;
      const top = this.rows[0];
      if (!top) {
        await this.reload();
        return 0;
      }
      const fresh: MessageRow[] = [];
      let before: number | null = null;
      try {
        // Page down from the newest until the current top row is reached,
        // so a burst larger than one page leaves no gap.
        for (;;) {
          const page = await this.backend.listMessages(this.query(before));
          if (generation !== this.generation) return 0;
          const newer = page.rows.filter((row) => row.id > top.id);
          fresh.push(...newer);
          const last = page.rows[page.rows.length - 1];
          if (newer.length < page.rows.length || !page.has_more || !last) break;
          before = last.id;
        }
      } catch (reason) {
        this.notice = BackendError.from(reason);
        return 0;
      }
      if (fresh.length === 0) return 0;
      const known = new Set(this.rows.map((row) => row.id));
      const added = fresh.filter((row) => !known.has(row.id));
      this.rows = added.concat(this.rows);
      return added.length;
    });
  }

  // --- cursor, selection and the open message ---------------------------

  moveCursor(step: number): void {
    if (this.rows.length === 0) return;
    const index = this.indexOf(this.cursorId);
    const next = index < 0 ? 0 : Math.min(this.rows.length - 1, Math.max(0, index + step));
    this.cursorId = this.rows[next]!.id;
    if (next >= this.rows.length - 5) void this.loadMore();
  }

  toggleChecked(id: number, extendRange = false): void {
    const checked = new Set(this.checked);
    const turnOn = !checked.has(id);
    const anchor = this.indexOf(this.lastCheckedId);
    const target = this.indexOf(id);
    if (extendRange && anchor >= 0 && target >= 0) {
      const [from, to] = anchor < target ? [anchor, target] : [target, anchor];
      for (const row of this.rows.slice(from, to + 1)) {
        if (turnOn) checked.add(row.id);
        else checked.delete(row.id);
      }
    } else if (turnOn) {
      checked.add(id);
    } else {
      checked.delete(id);
    }
    this.lastCheckedId = id;
    this.checked = checked;
  }

  checkAllLoaded(): void {
    this.checked = new Set(this.rows.map((row) => row.id));
  }

  clearChecked(): void {
    this.checked = new Set();
    this.lastCheckedId = null;
  }

  /** What triage applies to: the checked rows, or else the cursor's row. */
  targets(): number[] {
    if (this.checked.size > 0) return [...this.checked];
    return this.cursorId === null ? [] : [this.cursorId];
  }

  async open(id: number): Promise<void> {
    this.cursorId = id;
    this.openId = id;
    this.detailStatus = "loading";
    this.detailError = null;
    try {
      const detail = await this.backend.getMessage(id);
      if (this.openId !== id) return;
      this.detail = detail;
      this.detailStatus = "ready";
      if (!detail.row.read) void this.setRead([id], true);
    } catch (reason) {
      if (this.openId !== id) return;
      this.detail = null;
      this.detailError = BackendError.from(reason);
      this.detailStatus = "error";
    }
  }

  /**
   * Shows message `id` because its notification was clicked. A new message
   * may not be merged into the list yet, so that is tried first; if the
   * list still lacks it (another view, source, search or filter hides it),
   * the list widens to every message. Then it opens in the detail pane.
   */
  async focus(id: number): Promise<void> {
    if (this.indexOf(id) < 0) await this.mergeNew();
    if (this.indexOf(id) < 0) {
      this.view = "all";
      this.source = null;
      this.search = "";
      this.minPriority = null;
      this.tag = null;
      await this.reload();
    }
    await this.open(id);
  }

  close(): void {
    this.openId = null;
    this.detail = null;
    this.detailStatus = "idle";
    this.detailError = null;
  }

  openCursor(): Promise<void> {
    return this.cursorId === null ? Promise.resolve() : this.open(this.cursorId);
  }

  // --- triage -----------------------------------------------------------

  private rowsById(ids: readonly number[]): MessageRow[] {
    const wanted = new Set(ids);
    const found = this.rows.filter((row) => wanted.has(row.id));
    const detailRow = this.detail?.row;
    if (detailRow && wanted.has(detailRow.id) && !found.some((row) => row.id === detailRow.id)) {
      found.push(detailRow);
    }
    return found;
  }

  /**
   * Applies `change` to the rows with these ids (and the open message),
   * drops rows that no longer belong in the view, runs the command, and
   * restores the previous rows if it fails.
   */
  private async triage(
    ids: readonly number[],
    change: (row: MessageRow) => MessageRow,
    command: () => Promise<void>,
    removeAll = false,
  ): Promise<void> {
    if (ids.length === 0) return;
    const wanted = new Set(ids);
    const previous = {
      rows: this.rows,
      detail: this.detail,
      detailStatus: this.detailStatus,
      openId: this.openId,
      cursorId: this.cursorId,
      checked: this.checked,
    };
    const now = this.clock();
    const changed: MessageRow[] = [];
    const removed = new Set<number>();
    for (const row of previous.rows) {
      if (!wanted.has(row.id)) changed.push(row);
      else {
        const updated = change(row);
        if (!removeAll && belongsIn(this.view, updated, now)) changed.push(updated);
        else removed.add(row.id);
      }
    }
    if (removeAll) for (const id of ids) removed.add(id);
    if (removed.size > 0) this.forgetRemoved(removed);
    this.rows = changed;
    if (this.detail && wanted.has(this.detail.row.id)) {
      this.detail = { ...this.detail, row: change(this.detail.row) };
    }
    try {
      await command();
    } catch (reason) {
      this.rows = previous.rows;
      this.detail = previous.detail;
      this.detailStatus = previous.detailStatus;
      this.openId = previous.openId;
      this.cursorId = previous.cursorId;
      this.checked = previous.checked;
      this.notice = BackendError.from(reason);
      throw this.notice;
    }
  }

  /** Closes and unchecks removed rows; the cursor moves to the next row that stays, or the one before. */
  private forgetRemoved(removed: ReadonlySet<number>): void {
    if (this.openId !== null && removed.has(this.openId)) this.close();
    this.checked = new Set([...this.checked].filter((id) => !removed.has(id)));
    if (this.cursorId === null || !removed.has(this.cursorId)) return;
    const index = this.indexOf(this.cursorId);
    const after = this.rows.slice(index + 1).find((row) => !removed.has(row.id));
    const before = this.rows
      .slice(0, index)
      .reverse()
      .find((row) => !removed.has(row.id));
    this.cursorId = (after ?? before)?.id ?? null;
  }

  private quietly(run: Promise<void>): Promise<void> {
    // The failure is already in `notice`; callers that await only need to know it finished.
    return run.catch(() => undefined);
  }

  setRead(ids: readonly number[], read: boolean): Promise<void> {
    return this.quietly(
      this.triage(ids, (row) => ({ ...row, read }), () => this.backend.setRead([...ids], read)),
    );
  }

  /** Marks them read, unless all already are: then unread. */
  toggleRead(ids = this.targets()): Promise<void> {
    const rows = this.rowsById(ids);
    return this.setRead(ids, rows.some((row) => !row.read));
  }

  setStarred(ids: readonly number[], starred: boolean): Promise<void> {
    return this.quietly(
      this.triage(ids, (row) => ({ ...row, starred }), () => this.backend.setStarred([...ids], starred)),
    );
  }

  toggleStar(ids = this.targets()): Promise<void> {
    const rows = this.rowsById(ids);
    return this.setStarred(ids, rows.some((row) => !row.starred));
  }

  archive(ids: readonly number[], archived: boolean): Promise<void> {
    return this.quietly(
      this.triage(ids, (row) => ({ ...row, archived }), () => this.backend.archive([...ids], archived)),
    );
  }

  /** Archives them; in the Archived view, moves them back to the inbox. */
  toggleArchive(ids = this.targets()): Promise<void> {
    const rows = this.rowsById(ids);
    return this.archive(ids, rows.some((row) => !row.archived));
  }

  snooze(ids: readonly number[], until: number | null): Promise<void> {
    return this.quietly(
      this.triage(ids, (row) => ({ ...row, snoozed_until: until }), () => this.backend.snooze([...ids], until)),
    );
  }

  delete(ids: readonly number[]): Promise<void> {
    return this.quietly(
      this.triage(ids, (row) => row, () => this.backend.deleteMessages([...ids]), true),
    );
  }

  async markAllRead(source: number | null): Promise<void> {
    const previous = this.rows;
    this.rows = this.rows.map((row) => (!row.read && (source === null || row.source_id === source) ? { ...row, read: true } : row));
    try {
      await this.backend.markAllRead(source);
    } catch (reason) {
      this.rows = previous;
      this.notice = BackendError.from(reason);
    }
  }

  async runHttpAction(index: number): Promise<boolean> {
    const detail = this.detail;
    if (!detail) return false;
    try {
      await this.backend.runHttpAction(detail.row.id, index);
      return true;
    } catch (reason) {
      this.notice = BackendError.from(reason);
      return false;
    }
  }

  async openLink(url: string): Promise<void> {
    try {
      await this.backend.openLink(url);
    } catch (reason) {
      this.notice = BackendError.from(reason);
    }
  }

  dismissNotice(): void {
    this.notice = null;
  }
}
