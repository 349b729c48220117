//! Routing rules: what happens to a new message, decided before it is
//! stored. Rules are ordered; each has a match and actions, and may stop the
//! evaluation. Pure: the message, the rules and the local time are
//! arguments, so the same function serves ingestion, the rule tester and
//! tests.
//!
//! A rule set is checked once, when it is compiled ([`RuleSet::compile`]):
//! a bad regex or an empty rule is an error naming the rule, never a
//! surprise while messages arrive.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::i18n::text;
use crate::model::{Message, NewMessage, Priority, SourceId};

/// How a text field is matched. Both are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum TextMatch {
    Contains(String),
    Regex(String),
}

/// Minutes of the local day and days of the week a rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Start, in minutes after local midnight (0–1439).
    pub start_minute: u16,
    /// End, exclusive; smaller than the start for a window over midnight
    /// (22:00–07:00).
    pub end_minute: u16,
    /// Bit 0 = Monday … bit 6 = Sunday; the day the window *starts*.
    pub weekdays: u8,
}

impl TimeWindow {
    pub const EVERY_DAY: u8 = 0b111_1111;

    /// Checks the minutes are within a day and at least one weekday is set.
    pub fn validate(&self) -> Result<(), String> {
        if self.start_minute >= 1440 || self.end_minute > 1440 || self.weekdays == 0 {
            return Err(text("rule.time_window", &[]));
        }
        Ok(())
    }

    pub fn contains(&self, now: LocalTime) -> bool {
        let day_bit = |weekday: u8| self.weekdays & (1 << (weekday % 7)) != 0;
        if self.start_minute <= self.end_minute {
            day_bit(now.weekday) && (self.start_minute..self.end_minute).contains(&now.minute)
        } else if now.minute >= self.start_minute {
            day_bit(now.weekday)
        } else {
            // After midnight: the window started the day before.
            now.minute < self.end_minute && day_bit((now.weekday + 6) % 7)
        }
    }
}

/// The local wall-clock time a rule is evaluated at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// Minutes after local midnight.
    pub minute: u16,
}

/// What a message must be for a rule to apply. Empty lists and `None`
/// match anything; everything given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Match {
    pub sources: Vec<SourceId>,
    /// ntfy topic or Gotify application.
    pub topics: Vec<String>,
    pub min_priority: Option<u8>,
    pub max_priority: Option<u8>,
    /// At least one of these tags.
    pub tags_any: Vec<String>,
    /// Every one of these tags.
    pub tags_all: Vec<String>,
    pub title: Option<TextMatch>,
    pub body: Option<TextMatch>,
    pub time: Option<TimeWindow>,
}

/// Notification urgency, as the freedesktop specification names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

/// What a rule does to a message it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Show a notification, optionally with another urgency or sound.
    Notify {
        urgency: Option<Urgency>,
        sound: Option<String>,
    },
    /// Store without notifying.
    StoreSilently,
    MarkRead,
    Star,
    AddTag {
        tag: String,
    },
    SetGroup {
        group: String,
    },
    /// Do not store the message at all (it is counted).
    Drop,
    /// POST the message as JSON.
    Webhook {
        url: String,
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default = "default_timeout_secs")]
        timeout_secs: u32,
    },
    /// Run a program with the message in environment variables and as JSON
    /// on stdin; never through a shell.
    Command {
        program: String,
        #[serde(default)]
        args: Vec<String>,
        #[serde(default = "default_timeout_secs")]
        timeout_secs: u32,
    },
}

fn default_timeout_secs() -> u32 {
    10
}

impl Action {
    /// Checks what can be checked before a message arrives: the webhook's
    /// URL and headers, the command's program, timeouts, non-empty names.
    pub fn validate(&self) -> Result<(), String> {
        let timeout_ok = |secs: u32| {
            if (1..=600).contains(&secs) {
                Ok(())
            } else {
                Err(text("rule.timeout_range", &[("secs", &secs.to_string())]))
            }
        };
        match self {
            Action::AddTag { tag } if tag.trim().is_empty() => Err(text("rule.tag_empty", &[])),
            Action::SetGroup { group } if group.trim().is_empty() => {
                Err(text("rule.group_empty", &[]))
            }
            Action::Webhook {
                url,
                headers,
                timeout_secs,
            } => {
                let quoted = format!("{url:?}");
                let parsed = url::Url::parse(url).map_err(|error| {
                    text(
                        "rule.webhook_url_invalid",
                        &[("url", &quoted), ("error", &error.to_string())],
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(text("rule.webhook_url_scheme", &[("url", &quoted)]));
                }
                for (name, value) in headers {
                    crate::config::parse_header(&format!("{name}: {value}"))
                        .map_err(|error| error.to_string())?;
                }
                timeout_ok(*timeout_secs)
            }
            Action::Command {
                program,
                args,
                timeout_secs,
            } => {
                if program.trim().is_empty() {
                    return Err(text("rule.program_required", &[]));
                }
                if program.contains('\0') || args.iter().any(|arg| arg.contains('\0')) {
                    return Err(text("rule.command_nul", &[]));
                }
                timeout_ok(*timeout_secs)
            }
            _ => Ok(()),
        }
    }
}

/// One rule, as stored and edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    #[serde(rename = "match")]
    pub matcher: Match,
    pub actions: Vec<Action>,
    /// Later rules are not evaluated for a message this rule matched.
    pub stop: bool,
}

/// A rule that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub name: String,
    pub problem: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text(
            "rule.error",
            &[
                ("name", &format!("{:?}", self.name)),
                ("problem", &self.problem),
            ],
        ))
    }
}

impl std::error::Error for RuleError {}

enum CompiledText {
    Contains(String),
    Regex(regex::Regex),
}

impl CompiledText {
    fn compile(matcher: &TextMatch) -> Result<CompiledText, String> {
        match matcher {
            TextMatch::Contains(needle) => Ok(CompiledText::Contains(needle.to_lowercase())),
            TextMatch::Regex(pattern) => regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                // A hostile message must not make a rule slow: bounded automata.
                .size_limit(1 << 20)
                .build()
                .map(CompiledText::Regex)
                .map_err(|error| {
                    text(
                        "rule.regex_invalid",
                        &[
                            ("pattern", &format!("{pattern:?}")),
                            ("error", &error.to_string()),
                        ],
                    )
                }),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            CompiledText::Contains(needle) => text.to_lowercase().contains(needle.as_str()),
            CompiledText::Regex(regex) => regex.is_match(text),
        }
    }
}

struct CompiledRule {
    rule: Rule,
    title: Option<CompiledText>,
    body: Option<CompiledText>,
}

/// Rules ready to evaluate, in order.
pub struct RuleSet {
    rules: Vec<CompiledRule>,
}

/// The parts of a message rules look at, borrowed from a new or a stored one.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub source: SourceId,
    pub topic: Option<&'a str>,
    pub priority: Priority,
    pub tags: &'a [String],
    pub title: &'a str,
    pub body: &'a str,
}

impl<'a> Subject<'a> {
    pub fn new_message(source: SourceId, message: &'a NewMessage) -> Subject<'a> {
        Subject {
            source,
            topic: message.topic.as_deref(),
            priority: message.priority,
            tags: &message.tags,
            title: &message.title,
            body: &message.body,
        }
    }

    pub fn stored(message: &'a Message) -> Subject<'a> {
        Subject {
            source: message.source_id,
            topic: message.topic.as_deref(),
            priority: message.priority,
            tags: &message.tags,
            title: &message.title,
            body: &message.body,
        }
    }
}

/// What the rules decided for one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Ids of the rules that matched, in order.
    pub matched: Vec<i64>,
    /// Not stored at all.
    pub drop: bool,
    /// Notify unless a rule said to store silently.
    pub notify: bool,
    /// Set when a rule chose them; otherwise the policy's defaults apply.
    pub urgency: Option<Urgency>,
    pub sound: Option<String>,
    pub mark_read: bool,
    pub star: bool,
    pub add_tags: Vec<String>,
    pub group: Option<String>,
    /// Webhook and command actions to carry out once the message is stored.
    pub deliveries: Vec<Delivery>,
}

/// A webhook or command action of a matched rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub rule_id: i64,
    pub rule_name: String,
    pub action: Action,
}

impl Decision {
    /// What happens without rules: stored, and notified.
    pub fn pass() -> Decision {
        Decision {
            notify: true,
            ..Decision::default()
        }
    }
}

impl RuleSet {
    /// Checks and prepares `rules`; disabled rules are kept out.
    pub fn compile(rules: Vec<Rule>) -> Result<RuleSet, RuleError> {
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in rules {
            let fail = |problem: String| RuleError {
                name: rule.name.clone(),
                problem,
            };
            if rule.actions.is_empty() {
                return Err(fail(text("rule.actions_required", &[])));
            }
            for action in &rule.actions {
                action.validate().map_err(fail)?;
            }
            if let (Some(min), Some(max)) = (rule.matcher.min_priority, rule.matcher.max_priority) {
                if min > max {
                    return Err(fail(text(
                        "rule.priority_range_empty",
                        &[("min", &min.to_string()), ("max", &max.to_string())],
                    )));
                }
            }
            if let Some(window) = rule.matcher.time {
                window.validate().map_err(fail)?;
            }
            let title = rule
                .matcher
                .title
                .as_ref()
                .map(CompiledText::compile)
                .transpose()
                .map_err(fail)?;
            let body = rule
                .matcher
                .body
                .as_ref()
                .map(CompiledText::compile)
                .transpose()
                .map_err(fail)?;
            if rule.enabled {
                compiled.push(CompiledRule { rule, title, body });
            }
        }
        Ok(RuleSet { rules: compiled })
    }

    /// No rules: every message is stored and notified as it is.
    pub fn empty() -> RuleSet {
        RuleSet { rules: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Applies the rules in order to `subject` at local time `now`.
    pub fn decide(&self, subject: &Subject<'_>, now: LocalTime) -> Decision {
        let mut decision = Decision::pass();
        for compiled in &self.rules {
            if !compiled.matches(subject, now) {
                continue;
            }
            decision.matched.push(compiled.rule.id);
            for action in &compiled.rule.actions {
                match action {
                    Action::Notify { urgency, sound } => {
                        decision.notify = true;
                        decision.urgency = urgency.or(decision.urgency);
                        if sound.is_some() {
                            decision.sound.clone_from(sound);
                        }
                    }
                    Action::StoreSilently => decision.notify = false,
                    Action::MarkRead => decision.mark_read = true,
                    Action::Star => decision.star = true,
                    Action::AddTag { tag } => {
                        if !subject.tags.contains(tag) && !decision.add_tags.contains(tag) {
                            decision.add_tags.push(tag.clone());
                        }
                    }
                    Action::SetGroup { group } => decision.group = Some(group.clone()),
                    Action::Drop => decision.drop = true,
                    Action::Webhook { .. } | Action::Command { .. } => {
                        decision.deliveries.push(Delivery {
                            rule_id: compiled.rule.id,
                            rule_name: compiled.rule.name.clone(),
                            action: action.clone(),
                        })
                    }
                }
            }
            if compiled.rule.stop {
                break;
            }
        }
        if decision.drop {
            // A dropped message is not stored, so nothing else applies to it.
            let matched = std::mem::take(&mut decision.matched);
            return Decision {
                matched,
                drop: true,
                ..Decision::default()
            };
        }
        decision
    }
}

impl CompiledRule {
    fn matches(&self, subject: &Subject<'_>, now: LocalTime) -> bool {
        let matcher = &self.rule.matcher;
        let priority = subject.priority.get();
        let has_tag = |wanted: &String| {
            subject
                .tags
                .iter()
                .any(|tag| tag.eq_ignore_ascii_case(wanted))
        };
        (matcher.sources.is_empty() || matcher.sources.contains(&subject.source))
            && (matcher.topics.is_empty()
                || subject.topic.is_some_and(|topic| {
                    matcher
                        .topics
                        .iter()
                        .any(|wanted| wanted.eq_ignore_ascii_case(topic))
                }))
            && matcher.min_priority.is_none_or(|min| priority >= min)
            && matcher.max_priority.is_none_or(|max| priority <= max)
            && (matcher.tags_any.is_empty() || matcher.tags_any.iter().any(has_tag))
            && matcher.tags_all.iter().all(has_tag)
            && self
                .title
                .as_ref()
                .is_none_or(|text| text.matches(subject.title))
            && self
                .body
                .as_ref()
                .is_none_or(|text| text.matches(subject.body))
            && matcher.time.is_none_or(|window| window.contains(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON_MONDAY: LocalTime = LocalTime {
        weekday: 0,
        minute: 12 * 60,
    };

    fn rule(id: i64, matcher: Match, actions: Vec<Action>) -> Rule {
        Rule {
            id,
            name: format!("rule {id}"),
            enabled: true,
            matcher,
            actions,
            stop: false,
        }
    }

    fn message(title: &str, priority: u8, tags: &[&str]) -> NewMessage {
        NewMessage {
            remote_id: "m".into(),
            title: title.into(),
            body: "Disk usage at 91 % on db-3".into(),
            topic: Some("ops".into()),
            priority: Priority::clamped(i64::from(priority)),
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            ..NewMessage::default()
        }
    }

    fn decide(rules: Vec<Rule>, message: &NewMessage, now: LocalTime) -> Decision {
        RuleSet::compile(rules)
            .expect("valid rules")
            .decide(&Subject::new_message(SourceId(1), message), now)
    }

    #[test]
    fn without_rules_a_message_is_stored_and_notified() {
        let decision = decide(Vec::new(), &message("Disk", 3, &[]), NOON_MONDAY);
        assert!(decision.notify && !decision.drop && decision.matched.is_empty());
    }

    #[test]
    fn every_condition_given_must_hold() {
        let matcher = Match {
            sources: vec![SourceId(1)],
            topics: vec!["OPS".into()],
            min_priority: Some(4),
            tags_any: vec!["disk".into(), "cpu".into()],
            tags_all: vec!["prod".into()],
            title: Some(TextMatch::Contains("DISK".into())),
            body: Some(TextMatch::Regex(r"\b9\d %".into())),
            ..Match::default()
        };
        let rules = || vec![rule(1, matcher.clone(), vec![Action::Star])];
        let hit = message("Disk almost full", 5, &["Disk", "prod"]);
        assert_eq!(decide(rules(), &hit, NOON_MONDAY).matched, vec![1]);
        for miss in [
            message("Disk almost full", 3, &["disk", "prod"]),
            message("Disk almost full", 5, &["disk"]),
            message("Disk almost full", 5, &["net", "prod"]),
            message("Memory", 5, &["disk", "prod"]),
        ] {
            assert!(
                decide(rules(), &miss, NOON_MONDAY).matched.is_empty(),
                "{miss:?}"
            );
        }
        let other_source = RuleSet::compile(rules())
            .expect("valid")
            .decide(&Subject::new_message(SourceId(2), &hit), NOON_MONDAY);
        assert!(other_source.matched.is_empty());
    }

    #[test]
    fn actions_accumulate_in_order_until_a_rule_stops() {
        let mut quiet = rule(
            1,
            Match {
                tags_any: vec!["ci".into()],
                ..Match::default()
            },
            vec![
                Action::StoreSilently,
                Action::MarkRead,
                Action::AddTag {
                    tag: "build".into(),
                },
            ],
        );
        quiet.stop = true;
        let never = rule(2, Match::default(), vec![Action::Star]);
        let decision = decide(
            vec![quiet, never],
            &message("Build", 3, &["ci"]),
            NOON_MONDAY,
        );
        assert_eq!(decision.matched, vec![1], "rule 2 is never reached");
        assert!(!decision.notify && decision.mark_read && !decision.star);
        assert_eq!(decision.add_tags, vec!["build".to_string()]);
    }

    #[test]
    fn drop_wins_over_everything_else() {
        let rules = vec![
            rule(1, Match::default(), vec![Action::Star]),
            rule(
                2,
                Match {
                    title: Some(TextMatch::Contains("heartbeat".into())),
                    ..Match::default()
                },
                vec![Action::Drop],
            ),
        ];
        let decision = decide(rules, &message("Heartbeat ok", 1, &[]), NOON_MONDAY);
        assert!(decision.drop && !decision.star && !decision.notify);
        assert_eq!(decision.matched, vec![1, 2]);
    }

    #[test]
    fn time_windows_cross_midnight_and_respect_weekdays() {
        let night = TimeWindow {
            start_minute: 22 * 60,
            end_minute: 7 * 60,
            weekdays: 0b001_1111, // starting Monday to Friday
        };
        let at = |weekday, hour: u16| LocalTime {
            weekday,
            minute: hour * 60,
        };
        assert!(night.contains(at(0, 23)), "Monday 23:00");
        assert!(
            night.contains(at(1, 6)),
            "Tuesday 06:00, the night of Monday"
        );
        assert!(!night.contains(at(1, 12)), "Tuesday noon");
        assert!(
            !night.contains(at(5, 23)),
            "Saturday 23:00: not a listed day"
        );
        assert!(night.contains(at(5, 3)), "Saturday 03:00 is Friday's night");
        assert!(
            !night.contains(at(6, 3)),
            "Sunday 03:00 is Saturday's night"
        );
        let office = TimeWindow {
            start_minute: 9 * 60,
            end_minute: 17 * 60,
            weekdays: TimeWindow::EVERY_DAY,
        };
        assert!(office.contains(at(6, 9)) && !office.contains(at(6, 17)));
    }

    #[test]
    fn bad_rules_are_refused_by_name() {
        let bad_regex = rule(
            1,
            Match {
                title: Some(TextMatch::Regex("([".into())),
                ..Match::default()
            },
            vec![Action::Star],
        );
        let error = RuleSet::compile(vec![bad_regex]).err().expect("refused");
        assert!(
            error.to_string().contains("rule 1") && error.problem.contains("regular expression"),
            "{error}"
        );
        assert!(RuleSet::compile(vec![rule(2, Match::default(), Vec::new())]).is_err());
        let empty_range = rule(
            3,
            Match {
                min_priority: Some(5),
                max_priority: Some(2),
                ..Match::default()
            },
            vec![Action::Star],
        );
        assert!(RuleSet::compile(vec![empty_range]).is_err());
    }

    #[test]
    fn disabled_rules_do_nothing() {
        let mut off = rule(1, Match::default(), vec![Action::Drop]);
        off.enabled = false;
        assert!(!decide(vec![off], &message("x", 3, &[]), NOON_MONDAY).drop);
    }

    #[test]
    fn rules_round_trip_through_json() {
        let stored = rule(
            7,
            Match {
                body: Some(TextMatch::Regex("fail(ed|ure)".into())),
                time: Some(TimeWindow {
                    start_minute: 0,
                    end_minute: 60,
                    weekdays: TimeWindow::EVERY_DAY,
                }),
                ..Match::default()
            },
            vec![
                Action::Notify {
                    urgency: Some(Urgency::Critical),
                    sound: None,
                },
                Action::Command {
                    program: "/usr/bin/logger".into(),
                    args: vec!["-t".into(), "herald".into()],
                    timeout_secs: 5,
                },
            ],
        );
        let text = serde_json::to_string(&stored).expect("serialise");
        assert!(
            text.contains("\"match\"") && text.contains("\"action\":\"command\""),
            "{text}"
        );
        let back: Rule = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, stored);
    }
}
