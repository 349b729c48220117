//! Notification policy: which stored messages become OS notifications, and
//! when many become one. Rules decide *whether* a message wants to notify;
//! the policy decides whether this is a good moment, and keeps a person from
//! being flooded.
//!
//! Pure and stateful: [`Gate`] is fed candidates and the time (Unix ms and
//! the local wall clock) and answers with [`Notice`]s; it never reads a
//! clock or shows anything itself, so quiet hours over midnight, bypasses
//! and bursts are tested with plain numbers.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::i18n::text;
use crate::model::{MessageId, Priority, SourceId};
use crate::rules::{LocalTime, TimeWindow, Urgency};

/// The settings an admin chooses. Stored as JSON under [`Policy::SETTING`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Messages below this priority (1–5) are stored without notifying.
    pub min_priority: u8,
    /// A per-source minimum that replaces the global one.
    pub source_min_priority: BTreeMap<SourceId, u8>,
    /// Scheduled do-not-disturb windows.
    pub quiet_hours: Vec<TimeWindow>,
    /// While do-not-disturb is on, messages of at least this priority still
    /// notify. `None` lets nothing through.
    pub bypass_priority: Option<u8>,
    /// More than this many notifications from one source within
    /// `coalesce_seconds` become one summary. 0 turns coalescing off.
    pub coalesce_count: u32,
    pub coalesce_seconds: u32,
    /// Messages a source fetches after reconnecting become one
    /// "N messages while you were away" notification.
    pub summarize_catch_up: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_priority: 1,
            source_min_priority: BTreeMap::new(),
            quiet_hours: Vec::new(),
            bypass_priority: Some(5),
            coalesce_count: 3,
            coalesce_seconds: 10,
            summarize_catch_up: true,
        }
    }
}

impl Policy {
    pub const SETTING: &'static str = "notification_policy";

    /// Checks values a form or a hand-edited setting may get wrong.
    pub fn validate(&self) -> Result<(), String> {
        let priority_ok = |value: u8| (1..=5).contains(&value);
        if !priority_ok(self.min_priority)
            || !self.source_min_priority.values().all(|&p| priority_ok(p))
        {
            return Err(text("policy.min_priority", &[]));
        }
        if self.bypass_priority.is_some_and(|p| !priority_ok(p)) {
            return Err(text("policy.bypass_priority", &[]));
        }
        if self.coalesce_count > 0 && !(1..=3600).contains(&self.coalesce_seconds) {
            return Err(text("policy.coalesce_seconds", &[]));
        }
        for window in &self.quiet_hours {
            window.validate()?;
        }
        Ok(())
    }

    fn min_priority_for(&self, source: SourceId) -> u8 {
        self.source_min_priority
            .get(&source)
            .copied()
            .unwrap_or(self.min_priority)
    }
}

/// What the user switched on from the tray or the window: do not disturb
/// and per-source mutes. Stored as JSON under [`Quiet::SETTING`] so a
/// restart keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Quiet {
    /// Unix ms when do-not-disturb ends; [`FOREVER`] until turned off.
    pub dnd_until: Option<i64>,
    /// Per source: Unix ms when its mute ends, or [`FOREVER`].
    pub mutes: BTreeMap<SourceId, i64>,
    /// Every source is disconnected until resumed (the tray's "Pause all sources").
    pub sources_paused: bool,
}

/// An "until turned off" deadline.
pub const FOREVER: i64 = i64::MAX;

impl Quiet {
    pub const SETTING: &'static str = "notification_quiet";

    pub fn dnd_active(&self, now: i64) -> bool {
        self.dnd_until.is_some_and(|until| now < until)
    }

    pub fn muted(&self, source: SourceId, now: i64) -> bool {
        self.mutes.get(&source).is_some_and(|&until| now < until)
    }

    /// Forgets deadlines that have passed.
    pub fn expire(&mut self, now: i64) {
        if !self.dnd_active(now) {
            self.dnd_until = None;
        }
        self.mutes.retain(|_, until| now < *until);
    }
}

/// The urgency a priority maps to: 1–2 low, 3 normal, 4–5 critical (Gotify's
/// 0–3, 4–7 and 8–10 land in the same bands, see [`Priority::from_gotify`]).
pub fn urgency_for(priority: Priority) -> Urgency {
    match priority.get() {
        0..=2 => Urgency::Low,
        3 => Urgency::Normal,
        _ => Urgency::Critical,
    }
}

/// A stored message that the rules want to notify about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: MessageId,
    pub source: SourceId,
    pub priority: Priority,
    /// Fetched on reconnecting rather than pushed live.
    pub catch_up: bool,
    /// Updates an earlier message, so its notification replaces that one's
    /// instead of adding to the screen: never part of a burst.
    pub update: bool,
}

/// Why a summary was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryKind {
    /// Many messages from one source in a short time.
    Burst,
    /// Messages a source fetched after reconnecting.
    CatchUp,
    /// Messages held back while do-not-disturb was on.
    Held,
}

/// What to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// One message, on its own.
    Message(Candidate),
    /// Several messages as one notification. `source` is `None` for a
    /// summary across sources (held while do-not-disturb was on).
    Summary {
        kind: SummaryKind,
        source: Option<SourceId>,
        count: u64,
        /// The newest message it covers, opened by a click.
        latest: MessageId,
    },
}

/// What happened to a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Shown now.
    Shown,
    /// Part of a burst or a catch-up; a summary follows.
    Coalesced,
    /// Held by do-not-disturb; counted for the summary when it ends.
    Held,
    /// Below the minimum priority for its source.
    BelowMinimum,
    /// Its source is muted.
    Muted,
}

/// Catch-up messages are summarised once a source has sent none for this long.
const CATCH_UP_SETTLE_MS: i64 = 1500;

struct Burst {
    opened_at: i64,
    shown: u32,
    coalesced: u64,
    latest: MessageId,
}

struct CatchUp {
    last_at: i64,
    count: u64,
    first: Candidate,
    latest: MessageId,
}

/// Counts of what the policy did, for the status the UI shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GateCounts {
    pub shown: u64,
    pub summaries: u64,
    pub held: u64,
    pub filtered: u64,
}

/// The notification policy's running state.
#[derive(Default)]
pub struct Gate {
    bursts: HashMap<SourceId, Burst>,
    catch_ups: HashMap<SourceId, CatchUp>,
    held: u64,
    held_latest: Option<MessageId>,
    counts: GateCounts,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn counts(&self) -> GateCounts {
        self.counts
    }

    /// Messages held by do-not-disturb that have not been summarised yet.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// Whether do-not-disturb (switched on, or a quiet-hours window) is on.
    pub fn quiet_now(policy: &Policy, quiet: &Quiet, now: i64, local: LocalTime) -> bool {
        quiet.dnd_active(now) || policy.quiet_hours.iter().any(|w| w.contains(local))
    }

    /// Decides about one candidate; what to show now goes into `out`.
    pub fn admit(
        &mut self,
        candidate: Candidate,
        policy: &Policy,
        quiet: &Quiet,
        now: i64,
        local: LocalTime,
        out: &mut Vec<Notice>,
    ) -> Verdict {
        let verdict = self.judge(candidate, policy, quiet, now, local, out);
        match verdict {
            Verdict::Shown => self.counts.shown += 1,
            Verdict::Held => self.counts.held += 1,
            Verdict::BelowMinimum | Verdict::Muted => self.counts.filtered += 1,
            Verdict::Coalesced => {}
        }
        verdict
    }

    fn judge(
        &mut self,
        candidate: Candidate,
        policy: &Policy,
        quiet: &Quiet,
        now: i64,
        local: LocalTime,
        out: &mut Vec<Notice>,
    ) -> Verdict {
        let priority = candidate.priority.get();
        if priority < policy.min_priority_for(candidate.source) {
            return Verdict::BelowMinimum;
        }
        if quiet.muted(candidate.source, now) {
            return Verdict::Muted;
        }
        if Gate::quiet_now(policy, quiet, now, local)
            && policy
                .bypass_priority
                .is_none_or(|bypass| priority < bypass)
        {
            self.held += 1;
            self.held_latest = Some(candidate.id);
            return Verdict::Held;
        }
        if candidate.update {
            out.push(Notice::Message(candidate));
            return Verdict::Shown;
        }
        if candidate.catch_up && policy.summarize_catch_up {
            let id = candidate.id;
            self.catch_ups
                .entry(candidate.source)
                .and_modify(|pending| {
                    pending.count += 1;
                    pending.last_at = now;
                    pending.latest = id;
                })
                .or_insert(CatchUp {
                    last_at: now,
                    count: 1,
                    first: candidate,
                    latest: id,
                });
            return Verdict::Coalesced;
        }
        if policy.coalesce_count > 0 {
            let window = i64::from(policy.coalesce_seconds) * 1000;
            let burst = self.bursts.entry(candidate.source).or_insert(Burst {
                opened_at: now,
                shown: 0,
                coalesced: 0,
                latest: candidate.id,
            });
            if now - burst.opened_at >= window && burst.coalesced == 0 {
                // The last window ended quietly: start a new one.
                burst.opened_at = now;
                burst.shown = 0;
            }
            burst.latest = candidate.id;
            if burst.shown >= policy.coalesce_count {
                burst.coalesced += 1;
                return Verdict::Coalesced;
            }
            burst.shown += 1;
        }
        out.push(Notice::Message(candidate));
        Verdict::Shown
    }

    /// Emits the summaries that are due at `now`: bursts whose window has
    /// closed, catch-ups that have settled, and what was held once
    /// do-not-disturb is over. Call it about once a second.
    pub fn tick(
        &mut self,
        policy: &Policy,
        quiet: &Quiet,
        now: i64,
        local: LocalTime,
        out: &mut Vec<Notice>,
    ) {
        let window = i64::from(policy.coalesce_seconds) * 1000;
        let before = out.len();
        self.bursts.retain(|&source, burst| {
            if now - burst.opened_at < window {
                return true;
            }
            if burst.coalesced > 0 {
                out.push(Notice::Summary {
                    kind: SummaryKind::Burst,
                    source: Some(source),
                    count: burst.coalesced,
                    latest: burst.latest,
                });
            }
            false
        });
        let settled: Vec<SourceId> = self
            .catch_ups
            .iter()
            .filter(|(_, pending)| now - pending.last_at >= CATCH_UP_SETTLE_MS)
            .map(|(&source, _)| source)
            .collect();
        for source in settled {
            let Some(pending) = self.catch_ups.remove(&source) else {
                continue;
            };
            if pending.count == 1 {
                out.push(Notice::Message(pending.first));
                self.counts.shown += 1;
                continue;
            }
            out.push(Notice::Summary {
                kind: SummaryKind::CatchUp,
                source: Some(source),
                count: pending.count,
                latest: pending.latest,
            });
        }
        if self.held > 0 && !Gate::quiet_now(policy, quiet, now, local) {
            if let Some(latest) = self.held_latest.take() {
                out.push(Notice::Summary {
                    kind: SummaryKind::Held,
                    source: None,
                    count: self.held,
                    latest,
                });
            }
            self.held = 0;
        }
        self.counts.summaries += out[before..]
            .iter()
            .filter(|notice| matches!(notice, Notice::Summary { .. }))
            .count() as u64;
    }

    /// Forgets what was held without a summary (the user asked to skip it).
    pub fn forget_held(&mut self) {
        self.held = 0;
        self.held_latest = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY_NOON: LocalTime = LocalTime {
        weekday: 0,
        minute: 12 * 60,
    };

    fn candidate(id: i64, source: i64, priority: u8) -> Candidate {
        Candidate {
            id: MessageId(id),
            source: SourceId(source),
            priority: Priority::clamped(i64::from(priority)),
            catch_up: false,
            update: false,
        }
    }

    fn at(weekday: u8, hour: u16, minute: u16) -> LocalTime {
        LocalTime {
            weekday,
            minute: hour * 60 + minute,
        }
    }

    /// A gate with its settings, fed at Monday noon: `admit` and `tick`
    /// collect what is shown in `out`.
    struct Run {
        gate: Gate,
        policy: Policy,
        quiet: Quiet,
        out: Vec<Notice>,
    }

    impl Run {
        fn new(policy: Policy, quiet: Quiet) -> Run {
            Run {
                gate: Gate::new(),
                policy,
                quiet,
                out: Vec::new(),
            }
        }

        fn admit(&mut self, candidate: Candidate, now: i64) -> Verdict {
            let Run {
                gate,
                policy,
                quiet,
                out,
            } = self;
            gate.admit(candidate, policy, quiet, now, MONDAY_NOON, out)
        }

        fn tick(&mut self, now: i64) {
            let Run {
                gate,
                policy,
                quiet,
                out,
            } = self;
            gate.tick(policy, quiet, now, MONDAY_NOON, out);
        }
    }

    fn night_quiet_hours() -> Policy {
        Policy {
            quiet_hours: vec![TimeWindow {
                start_minute: 22 * 60,
                end_minute: 7 * 60,
                // Nights starting Monday to Friday.
                weekdays: 0b001_1111,
            }],
            ..Policy::default()
        }
    }

    #[test]
    fn priority_maps_to_urgency_in_bands() {
        let urgency = |p: u8| urgency_for(Priority::clamped(i64::from(p)));
        assert_eq!(
            (1..=5).map(urgency).collect::<Vec<_>>(),
            [
                Urgency::Low,
                Urgency::Low,
                Urgency::Normal,
                Urgency::Critical,
                Urgency::Critical
            ]
        );
        let gotify = |raw: i64| urgency_for(Priority::from_gotify(raw));
        assert!((0..=3).all(|raw| gotify(raw) == Urgency::Low));
        assert!((4..=7).all(|raw| gotify(raw) == Urgency::Normal));
        assert!((8..=10).all(|raw| gotify(raw) == Urgency::Critical));
    }

    #[test]
    fn minimum_priority_is_global_or_per_source() {
        let mut policy = Policy {
            min_priority: 3,
            ..Policy::default()
        };
        policy.source_min_priority.insert(SourceId(2), 1);
        let mut gate = Gate::new();
        let mut out = Vec::new();
        let quiet = Quiet::default();
        let low = |id, source| candidate(id, source, 2);
        assert_eq!(
            gate.admit(low(1, 1), &policy, &quiet, 0, MONDAY_NOON, &mut out),
            Verdict::BelowMinimum
        );
        assert_eq!(
            gate.admit(low(2, 2), &policy, &quiet, 0, MONDAY_NOON, &mut out),
            Verdict::Shown
        );
        assert_eq!(out, [Notice::Message(low(2, 2))]);
        assert_eq!(gate.counts().filtered, 1);
    }

    #[test]
    fn quiet_hours_cross_midnight_and_follow_the_starting_weekday() {
        let policy = night_quiet_hours();
        let quiet = Quiet::default();
        let is_quiet = |local| Gate::quiet_now(&policy, &quiet, 0, local);
        assert!(is_quiet(at(0, 23, 0)), "Monday night");
        assert!(
            is_quiet(at(1, 6, 59)),
            "early Tuesday belongs to Monday night"
        );
        assert!(!is_quiet(at(1, 7, 0)), "the window's end is exclusive");
        assert!(!is_quiet(at(1, 21, 59)));
        assert!(is_quiet(at(4, 22, 0)), "Friday night");
        assert!(
            is_quiet(at(5, 3, 0)),
            "early Saturday belongs to Friday night"
        );
        assert!(
            !is_quiet(at(5, 23, 0)),
            "Saturday night is not in the schedule"
        );
        assert!(
            !is_quiet(at(0, 3, 0)),
            "early Monday belongs to Sunday night"
        );
    }

    #[test]
    fn do_not_disturb_holds_until_it_ends_then_summarises_once() {
        let quiet = Quiet {
            dnd_until: Some(60_000),
            ..Quiet::default()
        };
        let mut run = Run::new(Policy::default(), quiet);
        for id in 1..=4 {
            assert_eq!(run.admit(candidate(id, 1, 3), 1000), Verdict::Held);
        }
        // Priority 5 passes the default bypass.
        let urgent = candidate(5, 1, 5);
        assert_eq!(run.admit(urgent.clone(), 2000), Verdict::Shown);
        assert_eq!(run.out, [Notice::Message(urgent)]);
        run.out.clear();
        run.tick(30_000);
        assert!(run.out.is_empty(), "still quiet: nothing is summarised yet");
        run.tick(60_000);
        assert_eq!(
            run.out,
            [Notice::Summary {
                kind: SummaryKind::Held,
                source: None,
                count: 4,
                latest: MessageId(4)
            }]
        );
        run.out.clear();
        run.tick(61_000);
        assert!(run.out.is_empty(), "the summary comes once");
    }

    #[test]
    fn no_bypass_holds_even_urgent_messages() {
        let policy = Policy {
            bypass_priority: None,
            ..night_quiet_hours()
        };
        let mut gate = Gate::new();
        let mut out = Vec::new();
        let verdict = gate.admit(
            candidate(1, 1, 5),
            &policy,
            &Quiet::default(),
            0,
            at(2, 23, 30),
            &mut out,
        );
        assert_eq!(verdict, Verdict::Held);
        gate.tick(&policy, &Quiet::default(), 0, at(3, 7, 0), &mut out);
        assert!(matches!(
            out[..],
            [Notice::Summary {
                kind: SummaryKind::Held,
                count: 1,
                ..
            }]
        ));
    }

    #[test]
    fn a_muted_source_is_silent_until_the_mute_ends() {
        let policy = Policy::default();
        let mut quiet = Quiet::default();
        quiet.mutes.insert(SourceId(7), 10_000);
        let mut gate = Gate::new();
        let mut out = Vec::new();
        let verdict = |gate: &mut Gate, now, out: &mut Vec<Notice>| {
            gate.admit(candidate(now, 7, 5), &policy, &quiet, now, MONDAY_NOON, out)
        };
        assert_eq!(verdict(&mut gate, 9_999, &mut out), Verdict::Muted);
        assert_eq!(verdict(&mut gate, 10_000, &mut out), Verdict::Shown);
        let mut forever = Quiet::default();
        forever.mutes.insert(SourceId(7), FOREVER);
        forever.expire(i64::MAX - 1);
        assert!(forever.muted(SourceId(7), i64::MAX - 1));
    }

    #[test]
    fn a_burst_shows_the_first_few_and_then_one_summary() {
        let policy = Policy {
            coalesce_count: 3,
            coalesce_seconds: 10,
            ..Policy::default()
        };
        let mut run = Run::new(policy, Quiet::default());
        for id in 1..=500 {
            run.admit(candidate(id, 1, 3), id);
        }
        // Another source is not held back by the first one's burst.
        run.admit(candidate(501, 2, 3), 600);
        assert_eq!(run.out.len(), 4);
        run.tick(9_000);
        assert_eq!(run.out.len(), 4, "the window is still open");
        run.tick(10_001);
        assert_eq!(
            run.out[4..],
            [Notice::Summary {
                kind: SummaryKind::Burst,
                source: Some(SourceId(1)),
                count: 497,
                latest: MessageId(500)
            }]
        );
        assert_eq!(
            run.out.len(),
            5,
            "the other source's quiet window closes without a summary"
        );
        // After the window, the source notifies one by one again.
        assert_eq!(run.admit(candidate(502, 1, 3), 20_000), Verdict::Shown);
    }

    #[test]
    fn updates_replace_a_notification_and_are_never_coalesced() {
        let mut run = Run::new(Policy::default(), Quiet::default());
        for id in 1..=3 {
            run.admit(candidate(id, 1, 3), id);
        }
        let mut update = candidate(4, 1, 3);
        update.update = true;
        assert_eq!(
            run.admit(update, 5),
            Verdict::Shown,
            "the burst's limit is reached, but an update adds nothing"
        );
        assert_eq!(run.admit(candidate(5, 1, 3), 6), Verdict::Coalesced);
        run.quiet = Quiet {
            dnd_until: Some(100),
            ..Quiet::default()
        };
        let mut late = candidate(6, 1, 3);
        late.update = true;
        assert_eq!(
            run.admit(late, 50),
            Verdict::Held,
            "do not disturb holds updates too"
        );
    }

    #[test]
    fn a_slow_trickle_is_never_coalesced() {
        let mut run = Run::new(Policy::default(), Quiet::default());
        for id in 0..20 {
            let now = id * 11_000;
            run.tick(now);
            assert_eq!(run.admit(candidate(id, 1, 3), now), Verdict::Shown);
        }
        assert_eq!(run.out.len(), 20);
    }

    #[test]
    fn a_catch_up_becomes_one_summary_or_the_message_itself() {
        let mut run = Run::new(Policy::default(), Quiet::default());
        for id in 1..=40 {
            let mut old = candidate(id, 1, 3);
            old.catch_up = true;
            run.admit(old, 1000 + id);
        }
        let mut single = candidate(41, 2, 3);
        single.catch_up = true;
        run.admit(single.clone(), 1000);
        run.tick(1500);
        assert!(run.out.is_empty(), "still arriving");
        run.tick(3000);
        run.out
            .sort_by_key(|notice| matches!(notice, Notice::Message(_)));
        assert_eq!(
            run.out,
            [
                Notice::Summary {
                    kind: SummaryKind::CatchUp,
                    source: Some(SourceId(1)),
                    count: 40,
                    latest: MessageId(40)
                },
                Notice::Message(single)
            ]
        );
    }

    #[test]
    fn policy_validation_names_the_problem() {
        let bad = Policy {
            min_priority: 0,
            ..Policy::default()
        };
        assert!(bad
            .validate()
            .expect_err("priority 0 is refused")
            .contains("minimum priority"));
        let bad_window = Policy {
            quiet_hours: vec![TimeWindow {
                start_minute: 1500,
                end_minute: 0,
                weekdays: 1,
            }],
            ..Policy::default()
        };
        assert!(bad_window.validate().is_err());
        assert!(Policy::default().validate().is_ok());
    }
}
