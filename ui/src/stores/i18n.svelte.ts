/**
 * Translations and locale-aware formatting. Every string the UI shows comes
 * from `locales/<lang>.json`; `{name}` placeholders are filled from params,
 * and a value shaped `{ one, other }` is a plural chosen by `params.count`
 * with `Intl.PluralRules`. Dates and relative times use `Intl` in the chosen
 * language. Reading `lang` or `now` inside a component makes it follow them.
 *
 * The choice of language belongs to the backend, which shares it with the
 * tray, notifications and the command line: the window reads it before its
 * first paint (`apply`) and sends changes there (Settings).
 */
import en from "../locales/en.json";
import zhCN from "../locales/zh-CN.json";
import type { LanguageView } from "../bindings/LanguageView";

export const LANGUAGES = ["en", "zh-CN"] as const;
export type Language = (typeof LANGUAGES)[number];
/** What the user picks: a language, or the operating system's. */
export const LANGUAGE_CHOICES = ["system", ...LANGUAGES] as const;
export type LanguageChoice = (typeof LANGUAGE_CHOICES)[number];

type PluralForms = { one: string; other: string };
type Catalog = typeof en;

/** Every key of the English catalog, dotted: `"list.empty.inbox"`. */
type KeyPaths<T> = {
  [K in keyof T & string]: T[K] extends string
    ? K
    : T[K] extends PluralForms
      ? K
      : `${K}.${KeyPaths<T[K]>}`;
}[keyof T & string];
export type MessageKey = KeyPaths<Catalog>;

export type Params = Record<string, string | number>;

/**
 * A piece of a translated sentence: the translation's own text
 * (`param: null`) or the value filled in for the placeholder `param`.
 */
export type Part = { text: string; param: string | null };

const CATALOGS: Record<Language, unknown> = { en, "zh-CN": zhCN };

/** `zh`, `zh-TW`, `zh-Hans-CN`… all read Simplified Chinese; everything else English. */
export function languageFor(tag: string | undefined | null): Language {
  return tag?.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

function lookup(catalog: unknown, key: string): unknown {
  let node: unknown = catalog;
  for (const part of key.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

const PLACEHOLDER = /\{(\w+)\}/g;

function interpolate(template: string, params: Params): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export class I18n {
  lang = $state<Language>("en");
  /** What the user chose; `lang` is what it means now. */
  choice = $state<LanguageChoice>("system");
  /** Wall-clock "now" for relative times, ticking every 30 s while the app runs. */
  now = $state(Date.now());

  private plurals = new Map<Language, Intl.PluralRules>();
  /** Intl formatters are costly to build and rows format on every scroll; keep them. */
  private formatters = new Map<string, unknown>();

  constructor(initial?: Language) {
    this.lang = initial ?? languageFor(globalThis.navigator?.language);
    this.applyToDocument();
  }

  /** Takes the backend's word on the language: the stored choice and what it resolves to. */
  apply(view: LanguageView): void {
    this.choice = (LANGUAGE_CHOICES as readonly string[]).includes(view.choice) ? (view.choice as LanguageChoice) : "system";
    this.lang = languageFor(view.language);
    this.applyToDocument();
  }

  private applyToDocument(): void {
    if (typeof document !== "undefined") document.documentElement.lang = this.lang;
  }

  /** Starts the clock behind relative times; returns the function that stops it. */
  startClock(intervalMs = 30_000): () => void {
    const timer = setInterval(() => (this.now = Date.now()), intervalMs);
    return () => clearInterval(timer);
  }

  t(key: MessageKey, params?: Params): string {
    const found = this.template(key, params);
    return found ? interpolate(found.template, found.params) : key;
  }

  /**
   * `t` in parts, for a sentence that holds text from outside the UI (a
   * path, an error from Rust): each filled-in placeholder is a part of its
   * own, so the markup can put it in a `<bdi>`, where its bidi controls or
   * right-to-left text cannot reorder the sentence around it. The
   * translation decides where the placeholders go.
   */
  parts(key: MessageKey, params: Params): Part[] {
    const found = this.template(key, params);
    if (!found) return [{ text: key, param: null }];
    const { template, params: values } = found;
    const parts: Part[] = [];
    let start = 0;
    for (const match of template.matchAll(PLACEHOLDER)) {
      const name = match[1]!;
      // An unknown placeholder stays in the text, as `t` leaves it.
      if (!(name in values)) continue;
      if (match.index > start) parts.push({ text: template.slice(start, match.index), param: null });
      parts.push({ text: String(values[name]), param: name });
      start = match.index + match[0].length;
    }
    if (start < template.length) parts.push({ text: template.slice(start), param: null });
    return parts;
  }

  /** The translation of `key` in the current language (the plural form `count` needs) and its params. */
  private template(key: MessageKey, params: Params = {}): { template: string; params: Params } | null {
    const value = lookup(CATALOGS[this.lang], key) ?? lookup(CATALOGS.en, key);
    if (typeof value === "string") return { template: value, params };
    if (typeof value === "object" && value !== null) {
      const forms = value as Record<string, string>;
      const count = Number(params.count ?? 0);
      const category = this.pluralRules().select(count);
      const form = forms[category] ?? forms.other;
      if (typeof form === "string") return { template: form, params: { ...params, count: this.number(count) } };
    }
    return null;
  }

  private pluralRules(): Intl.PluralRules {
    let rules = this.plurals.get(this.lang);
    if (!rules) {
      rules = new Intl.PluralRules(this.lang);
      this.plurals.set(this.lang, rules);
    }
    return rules;
  }

  private cached<T>(kind: string, options: object, make: () => T): T {
    const key = `${this.lang}|${kind}|${JSON.stringify(options)}`;
    let formatter = this.formatters.get(key) as T | undefined;
    if (formatter === undefined) {
      formatter = make();
      this.formatters.set(key, formatter);
    }
    return formatter;
  }

  private dateFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
    return this.cached("date", options, () => new Intl.DateTimeFormat(this.lang, options));
  }

  /** Orders text as the language does (Chinese by pinyin), for sorting: `names.sort(i18n.compare)`. */
  compare = (a: string, b: string): number =>
    this.cached("collator", {}, () => new Intl.Collator(this.lang, { numeric: true })).compare(a, b);

  number(value: number): string {
    return this.cached("number", {}, () => new Intl.NumberFormat(this.lang)).format(value);
  }

  /** "5 minutes ago", "in 2 hours", "yesterday"; a date once it is over a week away. */
  relative(time: number, style: "long" | "short" = "long"): string {
    const difference = time - this.now;
    const distance = Math.abs(difference);
    const format = this.cached("relative", { style }, () => new Intl.RelativeTimeFormat(this.lang, { numeric: "auto", style }));
    if (distance < 45 * SECOND) return format.format(0, "second");
    if (distance < 45 * MINUTE) return format.format(Math.round(difference / MINUTE), "minute");
    if (distance < 22 * HOUR) return format.format(Math.round(difference / HOUR), "hour");
    if (distance < 7 * DAY) return format.format(Math.round(difference / DAY), "day");
    return this.date(time);
  }

  /** A short date: "Mar 3" this year, "Mar 3, 2024" otherwise. */
  date(time: number): string {
    const sameYear = new Date(time).getFullYear() === new Date(this.now).getFullYear();
    return this.dateFormat(sameYear ? { month: "short", day: "numeric" } : { month: "short", day: "numeric", year: "numeric" }).format(time);
  }

  /** Full date and time: "Tue, Mar 3, 2026, 14:05". */
  dateTime(time: number): string {
    return this.dateFormat({ dateStyle: "medium", timeStyle: "short" }).format(time);
  }

  /** Hours and minutes: "18:00" / "下午6:00", as the language writes them. */
  time(time: number): string {
    return this.dateFormat({ hour: "numeric", minute: "2-digit" }).format(time);
  }

  /**
   * When something quiet ends, to follow "until": "14:30" today,
   * "midnight" at the end of today, "tomorrow 09:00", else date and time.
   */
  deadline(time: number): string {
    const startOfDay = (value: number) => {
      const date = new Date(value);
      return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
    };
    // Rounded, so a day of 23 or 25 hours (a clock change) still counts as one.
    const days = Math.round((startOfDay(time) - startOfDay(this.now)) / DAY);
    if (days === 1 && startOfDay(time) === time) return this.t("deadline.midnight");
    if (days === 0) return this.time(time);
    if (days === 1) return this.t("deadline.tomorrow", { time: this.time(time) });
    return this.t("deadline.dayTime", { day: this.date(time), time: this.time(time) });
  }

  bytes(size: number): string {
    const units = ["kilobyte", "megabyte", "gigabyte"] as const;
    if (size < 1024) return this.t("size.bytes", { value: this.number(size) });
    let value = size / 1024;
    let unit: (typeof units)[number] = units[0];
    for (const next of units.slice(1)) {
      if (value < 1024) break;
      value /= 1024;
      unit = next;
    }
    const options = { style: "unit", unit, maximumFractionDigits: value < 10 ? 1 : 0 } as const;
    return this.cached("number", options, () => new Intl.NumberFormat(this.lang, options)).format(value);
  }
}

export const i18n = new I18n();

/** Shorthand for templates: `t("nav.inbox")`. */
export function t(key: MessageKey, params?: Params): string {
  return i18n.t(key, params);
}
