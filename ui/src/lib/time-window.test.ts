import { describe, expect, it } from "vitest";
import type { TimeWindowInput } from "../bindings/TimeWindowInput";
import {
  checkWindow,
  clockToMinutes,
  draftFromWindow,
  EVERY_DAY,
  localTime,
  minutesToClock,
  windowContains,
  windowFromDraft,
  withWeekday,
} from "./time-window";

const MONDAY = 0;
const SUNDAY = 6;
const WEEKDAYS_ONLY = 0b001_1111;

const window = (start: string, end: string, weekdays = EVERY_DAY): TimeWindowInput => windowFromDraft({ start, end, weekdays });

describe("time inputs", () => {
  it("reads and writes times of day as minutes after midnight", () => {
    const check = (text: string, minutes: number) => expect(clockToMinutes(text), text).toBe(minutes);
    check("00:00", 0);
    check("07:30", 450);
    check("7:05", 425);
    check("23:59", 1439);
    for (const bad of ["", "24:00", "12:60", "noon", "12"]) expect(clockToMinutes(bad), bad).toBeNaN();
    expect(minutesToClock(450)).toBe("07:30");
    expect(minutesToClock(1440), "the end of the day reads as a time input writes midnight").toBe("00:00");
  });

  it("takes an end of 00:00 as midnight at the end of the day", () => {
    expect(window("22:00", "00:00")).toEqual({ start_minute: 1320, end_minute: 1440, weekdays: EVERY_DAY });
    expect(window("00:00", "00:00").end_minute, "00:00–00:00 is the whole day").toBe(1440);
    expect(draftFromWindow({ start_minute: 1320, end_minute: 1440, weekdays: 3 })).toEqual({ start: "22:00", end: "00:00", weekdays: 3 });
  });

  it("sets and clears weekday bits, Monday first", () => {
    expect(withWeekday(0, MONDAY, true)).toBe(1);
    expect(withWeekday(EVERY_DAY, SUNDAY, false)).toBe(0b011_1111);
  });
});

describe("checkWindow", () => {
  it("wants times within a day, a non-empty window and a weekday", () => {
    expect(checkWindow(window("22:00", "07:00"))).toBeNull();
    expect(checkWindow(window("", "07:00"))).toBe("timeInvalid");
    expect(checkWindow({ start_minute: 1440, end_minute: 10, weekdays: 1 })).toBe("timeInvalid");
    expect(checkWindow(window("08:00", "08:00"))).toBe("timeEmpty");
    expect(checkWindow(window("08:00", "09:00", 0))).toBe("weekdaysRequired");
  });
});

describe("windowContains", () => {
  const at = (weekday: number, clock: string) => ({ weekday, minute: clockToMinutes(clock) });

  it("covers [start, end) on the days it starts", () => {
    const office = window("09:00", "17:00", WEEKDAYS_ONLY);
    expect(windowContains(office, at(MONDAY, "09:00"))).toBe(true);
    expect(windowContains(office, at(MONDAY, "17:00")), "the end is exclusive").toBe(false);
    expect(windowContains(office, at(SUNDAY, "12:00"))).toBe(false);
  });

  it("crosses midnight, counting the day the window started", () => {
    // Friday night only: 22:00 Friday until 07:00 Saturday.
    const friday = window("22:00", "07:00", 1 << 4);
    expect(windowContains(friday, at(4, "23:30"))).toBe(true);
    expect(windowContains(friday, at(5, "06:59")), "Saturday morning belongs to Friday's window").toBe(true);
    expect(windowContains(friday, at(5, "23:30")), "Saturday night is not Friday").toBe(false);
    expect(windowContains(friday, at(MONDAY, "03:00"))).toBe(false);
  });

  it("turns a timestamp into the local weekday and minute", () => {
    const time = new Date(2026, 10, 30, 8, 15).getTime(); // a Monday
    expect(localTime(time)).toEqual({ weekday: MONDAY, minute: 8 * 60 + 15 });
  });
});
