/**
 * Generated messages for the mock backend: several sources, English and
 * Chinese, markdown bodies, tags, priorities, actions and attachments. A
 * seeded generator makes the same data every run, so tests can rely on it.
 */
import type { ActionView } from "../bindings/ActionView";
import type { AttachmentView } from "../bindings/AttachmentView";
import type { FieldMapInput } from "../bindings/FieldMapInput";
import type { ProtocolView } from "../bindings/ProtocolView";
import { DEFAULT_MAP, DEFAULT_MAX_FRAME_BYTES, DEFAULT_QOS, DEFAULT_READ_TIMEOUT_SECS } from "../lib/source-rules";

export type MockMessage = {
  id: number;
  sourceId: number;
  /** The sender's id, unique per source: what imports dedup on. */
  remoteId: string;
  topic: string | null;
  title: string;
  body: string;
  markdown: boolean;
  priority: number;
  tags: string[];
  sentAt: number;
  receivedAt: number;
  read: boolean;
  starred: boolean;
  archivedAt: number | null;
  snoozedUntil: number | null;
  click: string | null;
  actions: ActionView[];
  attachment: AttachmentView | null;
};

/** Stored credentials: never sent to the UI, only compared by the mock's "server". */
export type MockCredentials = { token?: string; username?: string; password?: string };

export type MockSource = {
  id: number;
  name: string;
  protocol: ProtocolView;
  enabled: boolean;
  state: string;
  retryAt: number | null;
  lastError: string | null;
  framesRejected: number;
  framesMalformed: number;
  /** Messages routing rules dropped instead of storing. */
  messagesDropped: number;
  /** Normalised, as Rust stores it (`wss://…/topic/ws`, `…/stream`). */
  url: string;
  authInQuery: boolean;
  headers: [string, string][];
  map: FieldMapInput;
  subscribeFrame: string;
  resumeUrl: string;
  textFrames: boolean;
  caFile: string;
  readTimeoutSecs: number;
  maxFrameBytes: number;
  credentials: MockCredentials;
  /** STOMP destinations or MQTT topic filters. */
  subscriptions: string[];
  virtualHost: string;
  clientId: string;
  qos: number;
  durable: boolean;
  idHeader: string;
  /** The user confirmed sending the credentials over plain ws:// to another machine. */
  allowPlainCredentials: boolean;
  /** "none", "keyring" or "database", as `SourceSettings.secret_store`. */
  secretStore: string;
  /** Removed sources keep their row (and name) for the messages they left behind. */
  removedAt: number | null;
};

/** The ntfy short codes the mock uses, with the emoji Rust would attach. */
export const TAG_EMOJI: Record<string, string> = {
  warning: "⚠️",
  rotating_light: "🚨",
  white_check_mark: "✅",
  x: "❌",
  package: "📦",
  moneybag: "💰",
  fire: "🔥",
  thermometer: "🌡️",
  zap: "⚡",
  tada: "🎉",
  lock: "🔒",
  chart_with_upwards_trend: "📈",
  truck: "🚚",
  floppy_disk: "💾",
  snowflake: "❄️",
};

/** mulberry32: small, fast and good enough for made-up inboxes. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export const DEMO_SOURCES: MockSource[] = [
  source(1, "Orders", "ntfy", "connected", {
    url: "wss://ntfy.example.com/orders,inventory/ws",
    credentials: { token: "tk_demo0rders" },
    secretStore: "keyring",
  }),
  source(2, "仓库传感器", "json", "connected", {
    url: "wss://iot.example.cn/v1/stream",
    headers: [["X-Api-Key", "k-2f9a"]],
    map: { id: "/event_id", title: "/summary", body: "/detail", priority: "/level", time: "/ts", tags: "/labels", url: "", group: "/site" },
    subscribeFrame: '{"op":"subscribe","topics":["cold-room","humidity"]}',
    resumeUrl: "wss://iot.example.cn/v1/stream?since={last_time_ms}",
  }),
  source(3, "Risk monitor", "gotify", "retrying", {
    url: "wss://risk.example.com/stream",
    credentials: { token: "C7riskclient" },
    secretStore: "database",
  }),
  source(4, "CI", "ntfy", "connected", {
    url: "wss://ntfy.sh/ci-builds/ws",
    credentials: { username: "ci-bot", password: "demo-password" },
    secretStore: "keyring",
  }),
  source(5, "Home server", "gotify", "auth_failed", {
    url: "wss://home.example.net/gotify/stream",
    // Dropped while the demo's "Drop backup chatter" rule was still on.
    messagesDropped: 12,
    credentials: { token: "wrong" },
    secretStore: "keyring",
    caFile: "/etc/ssl/certs/home-ca.pem",
  }),
  source(6, "Legacy broker", "json", "disabled", {
    url: "ws://legacy.internal:8080/events",
    textFrames: true,
    readTimeoutSecs: 300,
  }),
  source(7, "Order events", "stomp", "connected", {
    url: "wss://rabbit.example.com:15673/ws",
    subscriptions: ["/exchange/amq.topic/orders.#", "/queue/alerts"],
    virtualHost: "/shop",
    clientId: "herald-order-events",
    durable: true,
    credentials: { username: "herald", password: "demo-passcode" },
    secretStore: "keyring",
  }),
  source(8, "Cold rooms", "mqtt", "connected", {
    url: "ws://mqtt.warehouse.lan:15675/ws",
    subscriptions: ["sensors/+/alarm", "cold-room/#"],
    clientId: "herald-cold-rooms",
    map: { ...DEFAULT_MAP, title: "/alarm", body: "/detail" },
  }),
];

function source(
  id: number,
  name: string,
  protocol: MockSource["protocol"],
  state: string,
  config: Partial<MockSource> = {},
): MockSource {
  return {
    id,
    name,
    protocol,
    enabled: state !== "disabled",
    state,
    retryAt: null,
    lastError:
      state === "auth_failed"
        ? "401 unauthorized: check the token in the source settings"
        : state === "retrying"
          ? "connection reset by peer (os error 104)"
          : null,
    framesRejected: state === "retrying" ? 1 : 0,
    framesMalformed: state === "retrying" ? 2 : 0,
    messagesDropped: 0,
    url: "",
    authInQuery: false,
    headers: [],
    map: { ...DEFAULT_MAP },
    subscribeFrame: "",
    resumeUrl: "",
    textFrames: false,
    caFile: "",
    readTimeoutSecs: DEFAULT_READ_TIMEOUT_SECS,
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    credentials: {},
    subscriptions: [],
    virtualHost: "",
    clientId: "",
    qos: DEFAULT_QOS,
    durable: protocol === "mqtt",
    idHeader: "",
    allowPlainCredentials: false,
    secretStore: "none",
    removedAt: null,
    ...config,
  };
}

/** A deep enough copy that a mock can change its sources without touching the demo's. */
export function copySource(source: MockSource): MockSource {
  return {
    ...source,
    headers: source.headers.map(([name, value]) => [name, value]),
    map: { ...source.map },
    credentials: { ...source.credentials },
    subscriptions: [...source.subscriptions],
  };
}

type Template = (pick: Picker) => Omit<MockMessage, "id" | "sourceId" | "remoteId" | "sentAt" | "receivedAt" | "read" | "starred" | "archivedAt" | "snoozedUntil">;

type Picker = {
  int(min: number, max: number): number;
  one<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
};

/** "1234567" → "1,234,567", without the cost of toLocaleString on every message. */
function grouped(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+$)/g, ",");
}

const SKUS = ["A-1042", "B-2210", "C-0077", "KX-19", "茶具-08"];
const CITIES = ["Shanghai", "Berlin", "Austin", "深圳", "杭州"];

const chartSvg =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="120" viewBox="0 0 320 120">' +
      '<rect width="320" height="120" fill="#eef2f7"/>' +
      '<polyline fill="none" stroke="#3b6fd8" stroke-width="3" points="0,100 40,90 80,95 120,60 160,70 200,40 240,45 280,20 320,30"/>' +
      "</svg>",
  );

const TEMPLATES: Record<number, Template[]> = {
  1: [
    (p) => {
      const order = p.int(100000, 999999);
      return {
        topic: "orders",
        title: `Order #${order} paid`,
        body: `**Order #${order}** was paid by a customer in ${p.one(CITIES)}.\n\n- Items: ${p.int(1, 9)}\n- Total: $${p.int(12, 900)}.${p.int(10, 99)}\n- Shipping: ${p.one(["express", "standard", "pickup"])}\n\n[Open in the shop admin](https://shop.example.com/orders/${order})`,
        markdown: true,
        priority: 3,
        tags: ["moneybag"],
        click: `https://shop.example.com/orders/${order}`,
        actions: [{ kind: "view", label: "Open order", url: `https://shop.example.com/orders/${order}`, method: null }],
        attachment: null,
      };
    },
    (p) => {
      const sku = p.one(SKUS);
      const left = p.int(0, 9);
      return {
        topic: "inventory",
        title: `库存告警：${sku} 库存不足`,
        body: `## 库存告警\n\n商品 **${sku}** 当前库存仅剩 **${left}** 件，低于安全库存 20 件。\n\n1. 检查采购单是否已下达\n2. 通知仓库盘点\n\n详情见 [库存面板](https://shop.example.com/inventory/${encodeURIComponent(sku)})。`,
        markdown: true,
        priority: left === 0 ? 5 : 4,
        tags: ["warning", "库存"],
        click: null,
        actions: [
          { kind: "view", label: "打开库存面板", url: `https://shop.example.com/inventory/${encodeURIComponent(sku)}`, method: null },
          { kind: "http", label: "创建补货单", url: "https://ops.example.com/restock", method: "POST" },
        ],
        attachment: null,
      };
    },
    (p) => {
      const order = p.int(100000, 999999);
      return {
        topic: "orders",
        title: `订单 #${order} 已发货`,
        body: `订单 #${order} 已由 ${p.one(["顺丰", "中通", "DHL"])} 揽收，预计 ${p.int(1, 4)} 天送达。`,
        markdown: false,
        priority: 2,
        tags: ["truck", "订单"],
        click: null,
        actions: [],
        attachment: null,
      };
    },
  ],
  2: [
    (p) => {
      const room = p.int(1, 6);
      const temperature = p.int(-12, 4);
      return {
        topic: "sensors/cold-room",
        title: `冷库 ${room} 号温度 ${temperature}°C`,
        body: `冷库 **${room}** 号的温度为 \`${temperature}°C\`（目标 -18°C 至 -15°C）。\n\n> 传感器 T-${room}0${p.int(1, 9)} 连续 ${p.int(3, 15)} 分钟超出范围。`,
        markdown: true,
        priority: temperature > -5 ? 5 : 4,
        tags: ["thermometer", "snowflake"],
        click: null,
        actions: [{ kind: "http", label: "Acknowledge", url: `https://iot.example.com/alarms/cold-${room}/ack`, method: "POST" }],
        attachment: null,
      };
    },
    (p) => ({
      topic: "sensors/humidity",
      title: `Humidity sensor H-${p.int(10, 99)} offline`,
      body: `No reading for ${p.int(5, 50)} minutes. Last value: ${p.int(30, 70)}% RH.\n\nThe gateway is still answering pings.`,
      markdown: false,
      priority: 3,
      tags: ["zap", "eu-west"],
      click: null,
      actions: [],
      attachment: null,
    }),
  ],
  3: [
    (p) => {
      const amount = p.int(10000, 900000);
      return {
        topic: null,
        title: `Unusual transfer: ¥${grouped(amount)}`,
        body: `A transfer of **¥${grouped(amount)}** from account \`62-${p.int(1000, 9999)}\` to a new payee scored **${p.int(80, 99)}** (threshold 75).\n\n| Check | Result |\n|---|---|\n| Device | new |\n| Location | ${p.one(CITIES)} |\n\nReview it in the [risk console](https://risk.example.com/cases/${p.int(1000, 9999)}).`,
        markdown: true,
        priority: 5,
        tags: ["rotating_light", "lock"],
        click: `https://risk.example.com/cases/${p.int(1000, 9999)}`,
        actions: [],
        attachment: p.chance(0.5)
          ? { name: "score-trend.svg", mime: "image/svg+xml", size: 1834, url: chartSvg, preview: true }
          : null,
      };
    },
    (p) => ({
      topic: null,
      title: `风控：账户 ${p.int(1000, 9999)} 异常登录`,
      body: `检测到账户在 ${p.one(CITIES)} 的新设备登录，距离上次登录地点 ${p.int(300, 3000)} 公里。\n\n**建议：** 暂时冻结提现并联系客户确认。`,
      markdown: true,
      priority: 4,
      tags: ["lock"],
      click: null,
      actions: [{ kind: "http", label: "冻结提现", url: "https://risk.example.com/freeze", method: "POST" }],
      attachment: null,
    }),
  ],
  4: [
    (p) => {
      const build = p.int(1000, 9999);
      const passed = p.chance(0.7);
      return {
        topic: "ci",
        title: passed ? `Build #${build} passed on main` : `Build #${build} failed on main`,
        body: passed
          ? `All ${p.int(200, 900)} tests passed in ${p.int(3, 14)} min.`
          : `### Failing tests\n\n- \`store::tests::replay_dedups\`\n- \`source::ntfy::parses_actions\`\n\nSee the [build log](https://ci.example.com/builds/${build}) for details.`,
        markdown: !passed,
        priority: passed ? 2 : 4,
        tags: passed ? ["white_check_mark", "nightly"] : ["x", "nightly"],
        click: `https://ci.example.com/builds/${build}`,
        actions: [{ kind: "view", label: "Build log", url: `https://ci.example.com/builds/${build}`, method: null }],
        attachment: passed
          ? null
          : { name: `build-${build}.log`, mime: "text/plain", size: p.int(20000, 900000), url: `https://ci.example.com/builds/${build}/log`, preview: false },
      };
    },
    (p) => ({
      topic: "deploy",
      title: `部署完成：v1.${p.int(0, 20)}.${p.int(0, 9)} 🎉`,
      body: `生产环境已更新，耗时 ${p.int(2, 9)} 分钟，无回滚。`,
      markdown: false,
      priority: 3,
      tags: ["tada", "prod"],
      click: null,
      actions: [],
      attachment: null,
    }),
  ],
  5: [
    (p) => ({
      topic: null,
      title: `磁盘空间不足：/var 剩余 ${p.int(2, 9)}%`,
      body: `主机 \`nas-01\` 的 /var 分区剩余 ${p.int(2, 9)}%。最大的目录：\n\n- /var/log/journal — ${p.int(5, 40)} GB\n- /var/lib/docker — ${p.int(20, 90)} GB`,
      markdown: true,
      priority: 4,
      tags: ["floppy_disk", "warning"],
      click: null,
      actions: [],
      attachment: null,
    }),
    (p) => ({
      topic: null,
      title: "Backup finished",
      body: `Nightly backup of ${p.int(3, 12)} volumes finished in ${p.int(10, 80)} minutes. ${p.int(1, 900)} MB transferred.`,
      markdown: false,
      priority: 1,
      tags: ["package"],
      click: null,
      actions: [],
      attachment: null,
    }),
  ],
  // The broker sources only hear live messages; the generated history has none from them.
  7: [
    (p) => {
      const order = p.int(100000, 999999);
      return {
        topic: "/exchange/amq.topic/orders.shipped",
        title: `Order #${order} shipped`,
        body: `Order #${order} left the ${p.one(CITIES)} warehouse with ${p.one(["SF Express", "DHL", "UPS"])}.`,
        markdown: false,
        priority: 2,
        tags: ["package"],
        click: `https://shop.example.com/orders/${order}`,
        actions: [],
        attachment: null,
      };
    },
  ],
  8: [
    (p) => {
      const room = p.int(1, 6);
      return {
        topic: `sensors/cold-room-${room}/alarm`,
        title: `冷库 ${room} 号门未关`,
        body: `冷库 ${room} 号的门已打开 ${p.int(2, 12)} 分钟。`,
        markdown: false,
        priority: 4,
        tags: ["warning"],
        click: null,
        actions: [],
        attachment: null,
      };
    },
  ],
};

/** Which sources produce messages, weighted: orders and CI are the chattiest. */
const SOURCE_WEIGHTS: [number, number][] = [
  [1, 0.34],
  [2, 0.16],
  [3, 0.12],
  [4, 0.28],
  [5, 0.1],
];

export class MessageFactory {
  private readonly random: () => number;
  private readonly picker: Picker;

  constructor(seed: number) {
    this.random = seededRandom(seed);
    const random = this.random;
    this.picker = {
      int: (min, max) => min + Math.floor(random() * (max - min + 1)),
      one: (items) => items[Math.floor(random() * items.length)]!,
      chance: (probability) => random() < probability,
    };
  }

  /** A message with the given id; `age` is how long ago (ms) it was sent. */
  make(id: number, sentAt: number, sourceId?: number): MockMessage {
    const chosen = sourceId ?? this.pickSource();
    const templates = TEMPLATES[chosen] ?? TEMPLATES[1]!;
    const content = this.picker.one(templates)(this.picker);
    const old = this.random();
    return {
      id,
      sourceId: chosen,
      remoteId: `mock-${id}`,
      sentAt,
      receivedAt: sentAt + this.picker.int(20, 900),
      // Older messages are mostly read, starred now and then, and some archived.
      read: sourceId === undefined && old < 0.985,
      starred: this.picker.chance(0.04),
      archivedAt: sourceId === undefined && this.picker.chance(0.15) ? sentAt + 60_000 : null,
      snoozedUntil: null,
      ...content,
    };
  }

  private pickSource(): number {
    let roll = this.random();
    for (const [id, weight] of SOURCE_WEIGHTS) {
      roll -= weight;
      if (roll <= 0) return id;
    }
    return 1;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function inline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/\[([^\]]+)\]\((https?:[^)\s]+)\)/g, '<a href="$2" rel="noopener noreferrer">$1</a>');
}

/**
 * A small markdown subset turned into HTML, standing in for Rust's
 * pulldown-cmark + ammonia so the detail pane has something realistic.
 */
export function renderBody(body: string, markdown: boolean): string {
  if (!markdown) {
    return body
      .split(/\n{2,}/)
      .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, "<br>")}</p>`)
      .join("");
  }
  const html: string[] = [];
  for (const block of body.split(/\n{2,}/)) {
    const lines = block.split("\n");
    const heading = /^(#{1,6})\s+(.*)$/.exec(block);
    if (heading) {
      const level = Math.min(heading[1]!.length + 1, 6);
      html.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
    } else if (lines.every((line) => /^[-*]\s/.test(line))) {
      html.push(`<ul>${lines.map((line) => `<li>${inline(line.slice(2))}</li>`).join("")}</ul>`);
    } else if (lines.every((line) => /^\d+\.\s/.test(line))) {
      html.push(`<ol>${lines.map((line) => `<li>${inline(line.replace(/^\d+\.\s/, ""))}</li>`).join("")}</ol>`);
    } else if (lines.every((line) => line.startsWith(">"))) {
      html.push(`<blockquote><p>${inline(lines.map((line) => line.replace(/^>\s?/, "")).join(" "))}</p></blockquote>`);
    } else if (lines.length >= 2 && lines.every((line) => line.startsWith("|"))) {
      const cells = (line: string) => line.split("|").slice(1, -1).map((cell) => cell.trim());
      const [head, , ...rest] = lines;
      html.push(
        `<table><thead><tr>${cells(head!).map((cell) => `<th>${inline(cell)}</th>`).join("")}</tr></thead><tbody>` +
          rest.map((line) => `<tr>${cells(line).map((cell) => `<td>${inline(cell)}</td>`).join("")}</tr>`).join("") +
          "</tbody></table>",
      );
    } else {
      html.push(`<p>${inline(block).replace(/\n/g, "<br>")}</p>`);
    }
  }
  return html.join("");
}

/** Markdown removed, as Rust's `render::plain_text` does for previews and search. */
export function plainText(body: string, markdown: boolean): string {
  if (!markdown) return body.replace(/\s+/g, " ").trim();
  return body
    .replace(/^#{1,6}\s+/gm, "")
    .replace(/^\|?[-|\s]+\|?$/gm, "")
    .replace(/\|/g, " ")
    .replace(/^[-*]\s+|^\d+\.\s+|^>\s?/gm, "")
    .replace(/\*\*([^*]+)\*\*/g, "$1")
    .replace(/`([^`]+)`/g, "$1")
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}
