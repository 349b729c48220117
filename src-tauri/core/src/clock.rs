//! The local wall clock. The UTC offset can only be read safely while the
//! process is single-threaded, so it is read once at start
//! ([`init_local_offset`]) and used from then on; a daylight-saving change
//! while Herald runs is picked up at the next start.

use std::sync::OnceLock;

use crate::rules::LocalTime;

static LOCAL_OFFSET: OnceLock<time::UtcOffset> = OnceLock::new();

/// Reads the local UTC offset. Call once, before any thread starts.
pub fn init_local_offset() {
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

/// The offset read at start, or UTC when it was not read.
pub fn local_offset() -> time::UtcOffset {
    LOCAL_OFFSET.get().copied().unwrap_or(time::UtcOffset::UTC)
}

/// `unix_ms` as a date and time in the local zone.
pub fn local_datetime(unix_ms: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .ok()
        .map(|moment| moment.to_offset(local_offset()))
}

/// The weekday and minute of the day at `unix_ms`, for rules and quiet hours.
pub fn local_time(unix_ms: i64) -> LocalTime {
    at_offset(unix_ms, local_offset())
}

/// The weekday and minute of the day at `unix_ms` in a given zone.
pub fn at_offset(unix_ms: i64, offset: time::UtcOffset) -> LocalTime {
    let moment = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    LocalTime {
        weekday: moment.weekday().number_days_from_monday(),
        minute: u16::from(moment.hour()) * 60 + u16::from(moment.minute()),
    }
}

/// Unix ms of the next local midnight after `unix_ms` ("until tomorrow").
pub fn next_midnight(unix_ms: i64) -> i64 {
    let local = at_offset(unix_ms, local_offset());
    let into_day_ms = i64::from(local.minute) * 60_000 + unix_ms.rem_euclid(60_000);
    unix_ms - into_day_ms + 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_follows_the_offset() {
        // 2026-11-30 is a Monday; 23:30 UTC.
        let monday_late = 1_796_081_400_000;
        assert_eq!(
            at_offset(monday_late, time::UtcOffset::UTC),
            LocalTime {
                weekday: 0,
                minute: 23 * 60 + 30
            }
        );
        let east = time::UtcOffset::from_hms(8, 0, 0).expect("offset");
        assert_eq!(
            at_offset(monday_late, east),
            LocalTime {
                weekday: 1,
                minute: 7 * 60 + 30
            }
        );
    }

    #[test]
    fn next_midnight_is_the_start_of_the_next_local_day() {
        let monday_late = 1_796_081_400_000;
        let midnight = next_midnight(monday_late);
        assert_eq!(midnight - monday_late, 30 * 60_000);
        assert_eq!(at_offset(midnight, local_offset()).minute, 0);
    }
}
