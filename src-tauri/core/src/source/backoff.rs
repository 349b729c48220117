//! Reconnect delays: exponential backoff with full jitter, so a fleet of
//! clients that lost the same server does not come back in lockstep.

use std::time::Duration;

/// Backoff state for one source.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// About 1 s growing to 5 minutes.
    pub fn standard() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(300))
    }

    /// The next delay: uniform in `[0, min(cap, base · 2^failures)]`.
    /// `unit` is a random number in `[0, 1)`, passed in so tests are exact.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        ceiling
            .mul_f64(unit.clamp(0.0, 1.0))
            .max(Duration::from_millis(100))
    }

    /// After a connection has been stable for a while, start again from the base.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut backoff = Backoff::standard();
        let ceilings: Vec<u64> = (0..12).map(|_| backoff.next_delay(1.0).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        backoff.reset();
        assert_eq!(backoff.next_delay(1.0), Duration::from_secs(1));
    }

    #[test]
    fn jitter_spreads_the_whole_range_with_a_small_floor() {
        let mut backoff = Backoff::standard();
        for _ in 0..5 {
            backoff.next_delay(0.5);
        }
        assert_eq!(
            backoff.next_delay(0.5),
            Duration::from_secs(16),
            "half of 32 s"
        );
        assert_eq!(
            backoff.next_delay(0.0),
            Duration::from_millis(100),
            "never a busy loop"
        );
    }
}
