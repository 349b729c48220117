/** The snooze menu's choices, computed from "now" in local time. */
export type SnoozeChoice = { key: "oneHour" | "tonight" | "tomorrow" | "nextWeek"; until: number };

const HOUR = 3_600_000;

function at(base: Date, dayOffset: number, hour: number): number {
  return new Date(base.getFullYear(), base.getMonth(), base.getDate() + dayOffset, hour, 0, 0, 0).getTime();
}

export function snoozeChoices(now: Date): SnoozeChoice[] {
  const choices: SnoozeChoice[] = [{ key: "oneHour", until: now.getTime() + HOUR }];
  const tonight = at(now, 0, 18);
  // "Tonight" is only offered while it is still some time away.
  if (tonight - now.getTime() > HOUR / 2) choices.push({ key: "tonight", until: tonight });
  choices.push({ key: "tomorrow", until: at(now, 1, 9) });
  // Monday is day 1; "next week" is the coming Monday, a week on if today is Monday.
  const daysToMonday = (8 - now.getDay()) % 7 || 7;
  choices.push({ key: "nextWeek", until: at(now, daysToMonday, 9) });
  return choices;
}

/** Parses an `<input type="datetime-local">` value as local time; null if invalid. */
export function parseLocalDateTime(value: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute] = match.map(Number) as [number, number, number, number, number, number];
  const date = new Date(year, month - 1, day, hour, minute, 0, 0);
  return Number.isNaN(date.getTime()) ? null : date.getTime();
}

/** Formats a time for `datetime-local`'s `min`/`value`: "2026-03-03T14:05". */
export function toLocalDateTime(time: number): string {
  const date = new Date(time);
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
