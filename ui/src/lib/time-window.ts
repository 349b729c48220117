/**
 * Time windows as routing rules and quiet hours use them
 * (`TimeWindowInput`): minutes after local midnight and a weekday bitmask,
 * bit 0 = Monday … bit 6 = Sunday, counting the day a window starts. An end
 * before the start crosses midnight (22:00–07:00). This converts to and
 * from `<input type="time">` values and decides whether a local time falls
 * in a window, as `herald_core::rules::TimeWindow::contains` does.
 */
import type { TimeWindowInput } from "../bindings/TimeWindowInput";

export const MINUTES_PER_DAY = 1440;
export const EVERY_DAY = 0b111_1111;
/** Monday first, as the bitmask counts; the names are locale keys (`weekdays.mon`). */
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A window as a form holds it: the time inputs' text and the weekday bits. */
export type WindowDraft = { start: string; end: string; weekdays: number };

/** What can be wrong with a window. */
export type WindowProblem = "timeInvalid" | "timeEmpty" | "weekdaysRequired";

const CLOCK = /^(\d{1,2}):(\d{2})$/;

/** "07:30" → 450; NaN when the text is not a time of day. */
export function clockToMinutes(text: string): number {
  const match = CLOCK.exec(text.trim());
  if (!match) return Number.NaN;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (hours > 23 || minutes > 59) return Number.NaN;
  return hours * 60 + minutes;
}

/** 450 → "07:30". The end of the day (1440) is written as a time input writes midnight, "00:00". */
export function minutesToClock(minutes: number): string {
  const inDay = ((minutes % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${pad(Math.floor(inDay / 60))}:${pad(inDay % 60)}`;
}

/**
 * A window from a form. A time input cannot say 24:00, so an end of
 * "00:00" means midnight at the end of the day (1440): 22:00–00:00 is the
 * last two hours of a day, and 00:00–00:00 the whole of it.
 */
export function windowFromDraft(draft: WindowDraft): TimeWindowInput {
  const end = clockToMinutes(draft.end);
  return {
    start_minute: clockToMinutes(draft.start),
    end_minute: end === 0 ? MINUTES_PER_DAY : end,
    weekdays: draft.weekdays,
  };
}

export function draftFromWindow(window: TimeWindowInput): WindowDraft {
  return { start: minutesToClock(window.start_minute), end: minutesToClock(window.end_minute), weekdays: window.weekdays };
}

/** The usual quiet hours, for a new window: 22:00–07:00 every day. */
export function newWindowDraft(): WindowDraft {
  return { start: "22:00", end: "07:00", weekdays: EVERY_DAY };
}

export function hasWeekday(bits: number, index: number): boolean {
  return (bits & (1 << index)) !== 0;
}

export function withWeekday(bits: number, index: number, on: boolean): number {
  return on ? bits | (1 << index) : bits & ~(1 << index);
}

/** Rust's `TimeWindow::validate`, and one more: a window that starts where it ends is empty. */
export function checkWindow(window: TimeWindowInput): WindowProblem | null {
  const { start_minute: start, end_minute: end } = window;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start >= MINUTES_PER_DAY || end < 0 || end > MINUTES_PER_DAY) {
    return "timeInvalid";
  }
  if (start === end) return "timeEmpty";
  if ((window.weekdays & EVERY_DAY) === 0) return "weekdaysRequired";
  return null;
}

/** A moment in local wall-clock terms: 0 = Monday … 6 = Sunday, and minutes after midnight. */
export type LocalTime = { weekday: number; minute: number };

export function localTime(time: number): LocalTime {
  const date = new Date(time);
  return { weekday: (date.getDay() + 6) % 7, minute: date.getHours() * 60 + date.getMinutes() };
}

export function windowContains(window: TimeWindowInput, now: LocalTime): boolean {
  const onDay = (weekday: number) => hasWeekday(window.weekdays, weekday % 7);
  const { start_minute: start, end_minute: end } = window;
  if (start <= end) return onDay(now.weekday) && now.minute >= start && now.minute < end;
  if (now.minute >= start) return onDay(now.weekday);
  // After midnight: the window started the day before.
  return now.minute < end && onDay(now.weekday + 6);
}
