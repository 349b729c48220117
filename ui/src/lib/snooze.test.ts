import { describe, expect, it } from "vitest";
import { parseLocalDateTime, snoozeChoices, toLocalDateTime } from "./snooze";

const local = (...parts: [number, number, number, number, number]) => new Date(...parts).getTime();

describe("snoozeChoices", () => {
  it("offers an hour, tonight, tomorrow morning and next Monday on a Wednesday afternoon", () => {
    // 2026-03-04 is a Wednesday.
    const choices = snoozeChoices(new Date(2026, 2, 4, 14, 0));
    expect(choices).toEqual([
      { key: "oneHour", until: local(2026, 2, 4, 15, 0) },
      { key: "tonight", until: local(2026, 2, 4, 18, 0) },
      { key: "tomorrow", until: local(2026, 2, 5, 9, 0) },
      { key: "nextWeek", until: local(2026, 2, 9, 9, 0) },
    ]);
  });

  it("drops 'tonight' once evening has come", () => {
    const keys = snoozeChoices(new Date(2026, 2, 4, 17, 45)).map((choice) => choice.key);
    expect(keys).toEqual(["oneHour", "tomorrow", "nextWeek"]);
  });

  it("means the Monday a week on when today is Monday, and crosses month ends", () => {
    const monday = snoozeChoices(new Date(2026, 2, 30, 8, 0));
    expect(monday.find((choice) => choice.key === "nextWeek")?.until).toBe(local(2026, 3, 6, 9, 0));
    const sunday = snoozeChoices(new Date(2026, 2, 29, 8, 0));
    expect(sunday.find((choice) => choice.key === "nextWeek")?.until).toBe(local(2026, 2, 30, 9, 0));
  });
});

describe("datetime-local values", () => {
  it("round-trip in local time", () => {
    const time = local(2026, 10, 28, 9, 5);
    expect(toLocalDateTime(time)).toBe("2026-11-28T09:05");
    expect(parseLocalDateTime("2026-11-28T09:05")).toBe(time);
  });

  it("reject anything else", () => {
    expect(parseLocalDateTime("")).toBeNull();
    expect(parseLocalDateTime("tomorrow")).toBeNull();
  });
});
