//! Routing rules, notification policy and quiet state as the UI sees them.
//! They mirror the core's types field for field (so the JSON is the same),
//! with numbers typed for TypeScript.

use herald_core::model::SourceId;
use herald_core::policy::{Policy, Quiet, FOREVER};
use herald_core::rules::{Action, Match, Rule, TextMatch, TimeWindow, Urgency};
use herald_core::store::rules::{DeliveryFailure, NewRule};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::MessageRow;

/// A title or body condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TextMatchInput {
    /// `contains` (case-insensitive) or `regex`.
    pub kind: String,
    pub value: String,
}

/// Minutes of the day (0–1440) and weekdays (bit 0 = Monday … bit 6 = Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimeWindowInput {
    pub start_minute: u16,
    pub end_minute: u16,
    pub weekdays: u8,
}

/// What a message must be for a rule to apply; empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct MatchInput {
    #[ts(type = "Array<number>")]
    pub sources: Vec<i64>,
    pub topics: Vec<String>,
    pub min_priority: Option<u8>,
    pub max_priority: Option<u8>,
    pub tags_any: Vec<String>,
    pub tags_all: Vec<String>,
    pub title: Option<TextMatchInput>,
    pub body: Option<TextMatchInput>,
    pub time: Option<TimeWindowInput>,
}

/// One action of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RuleActionInput {
    /// `urgency`: `low`, `normal` or `critical`; null keeps the priority's.
    Notify {
        urgency: Option<String>,
        sound: Option<String>,
    },
    StoreSilently,
    MarkRead,
    Star,
    AddTag {
        tag: String,
    },
    SetGroup {
        group: String,
    },
    Drop,
    Webhook {
        url: String,
        headers: Vec<(String, String)>,
        timeout_secs: u32,
    },
    Command {
        program: String,
        args: Vec<String>,
        timeout_secs: u32,
    },
}

/// A rule to save: `id` null adds it last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RuleInput {
    #[ts(type = "number | null")]
    pub id: Option<i64>,
    pub name: String,
    pub enabled: bool,
    pub stop: bool,
    #[serde(rename = "match")]
    #[ts(rename = "match")]
    pub matcher: MatchInput,
    pub actions: Vec<RuleActionInput>,
}

/// A stored rule, in evaluation order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RuleView {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub stop: bool,
    #[serde(rename = "match")]
    #[ts(rename = "match")]
    pub matcher: MatchInput,
    pub actions: Vec<RuleActionInput>,
}

/// Which stored messages a rule (or all rules) would match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RulePreview {
    /// How many of the newest messages were tried.
    pub scanned: u32,
    pub matched: Vec<RulePreviewRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RulePreviewRow {
    pub message: MessageRow,
    /// Names of the rules that matched, in order.
    pub rules: Vec<String>,
    pub dropped: bool,
    pub notify: bool,
}

/// A webhook or command that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeliveryFailureView {
    #[ts(type = "number")]
    pub id: i64,
    pub rule_name: String,
    #[ts(type = "number | null")]
    pub message_id: Option<i64>,
    /// `webhook` or `command`.
    pub kind: String,
    pub target: String,
    pub attempts: u32,
    pub error: String,
    #[ts(type = "number")]
    pub failed_at: i64,
}

/// The notification policy (settings screen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PolicyInput {
    pub min_priority: u8,
    /// `[source id, minimum priority]` pairs replacing the global minimum.
    #[ts(type = "Array<[number, number]>")]
    pub source_min_priority: Vec<(i64, u8)>,
    pub quiet_hours: Vec<TimeWindowInput>,
    pub bypass_priority: Option<u8>,
    pub coalesce_count: u32,
    pub coalesce_seconds: u32,
    pub summarize_catch_up: bool,
}

/// Pausing notifications or muting a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PauseInput {
    /// Resume now.
    Off,
    For {
        minutes: u32,
    },
    UntilTomorrow,
    /// Until resumed.
    Forever,
}

/// What is quiet now, for the indicator in the window and the tray.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct QuietView {
    /// Notifications are paused (by hand or by quiet hours).
    pub dnd_active: bool,
    /// Paused by hand until this Unix ms; null when not, or when until resumed.
    #[ts(type = "number | null")]
    pub dnd_until: Option<i64>,
    /// Paused by hand until resumed.
    pub dnd_forever: bool,
    /// Quiet hours are on now.
    pub quiet_hours_now: bool,
    /// Muted sources: `[id, until Unix ms or null for until unmuted]`.
    #[ts(type = "Array<[number, number | null]>")]
    pub mutes: Vec<(i64, Option<i64>)>,
    /// Messages held back, summarised when the pause ends.
    #[ts(type = "number")]
    pub held: u64,
    /// Every enabled source is paused.
    pub sources_paused: bool,
    /// Why OS notifications cannot be shown, if they cannot.
    pub notifier_error: Option<String>,
}

fn text_input(text: &TextMatch) -> TextMatchInput {
    match text {
        TextMatch::Contains(value) => TextMatchInput {
            kind: "contains".into(),
            value: value.clone(),
        },
        TextMatch::Regex(value) => TextMatchInput {
            kind: "regex".into(),
            value: value.clone(),
        },
    }
}

fn text_match(input: &TextMatchInput) -> Result<TextMatch, String> {
    match input.kind.as_str() {
        "contains" => Ok(TextMatch::Contains(input.value.clone())),
        "regex" => Ok(TextMatch::Regex(input.value.clone())),
        other => Err(format!("unknown text match {other:?}")),
    }
}

fn window_input(window: &TimeWindow) -> TimeWindowInput {
    TimeWindowInput {
        start_minute: window.start_minute,
        end_minute: window.end_minute,
        weekdays: window.weekdays,
    }
}

fn window(input: &TimeWindowInput) -> TimeWindow {
    TimeWindow {
        start_minute: input.start_minute,
        end_minute: input.end_minute,
        weekdays: input.weekdays,
    }
}

fn urgency_name(urgency: Urgency) -> String {
    match urgency {
        Urgency::Low => "low",
        Urgency::Normal => "normal",
        Urgency::Critical => "critical",
    }
    .into()
}

fn urgency(name: &str) -> Result<Urgency, String> {
    match name {
        "low" => Ok(Urgency::Low),
        "normal" => Ok(Urgency::Normal),
        "critical" => Ok(Urgency::Critical),
        other => Err(format!(
            "unknown urgency {other:?}; use low, normal or critical"
        )),
    }
}

impl From<&Match> for MatchInput {
    fn from(matcher: &Match) -> Self {
        MatchInput {
            sources: matcher.sources.iter().map(|id| id.0).collect(),
            topics: matcher.topics.clone(),
            min_priority: matcher.min_priority,
            max_priority: matcher.max_priority,
            tags_any: matcher.tags_any.clone(),
            tags_all: matcher.tags_all.clone(),
            title: matcher.title.as_ref().map(text_input),
            body: matcher.body.as_ref().map(text_input),
            time: matcher.time.as_ref().map(window_input),
        }
    }
}

impl MatchInput {
    pub fn to_core(&self) -> Result<Match, String> {
        Ok(Match {
            sources: self.sources.iter().copied().map(SourceId).collect(),
            topics: clean(&self.topics),
            min_priority: self.min_priority,
            max_priority: self.max_priority,
            tags_any: clean(&self.tags_any),
            tags_all: clean(&self.tags_all),
            title: self.title.as_ref().map(text_match).transpose()?,
            body: self.body.as_ref().map(text_match).transpose()?,
            time: self.time.as_ref().map(window),
        })
    }
}

/// Trimmed, without empty entries.
fn clean(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .collect()
}

impl From<&Action> for RuleActionInput {
    fn from(action: &Action) -> Self {
        match action {
            Action::Notify { urgency, sound } => RuleActionInput::Notify {
                urgency: urgency.map(urgency_name),
                sound: sound.clone(),
            },
            Action::StoreSilently => RuleActionInput::StoreSilently,
            Action::MarkRead => RuleActionInput::MarkRead,
            Action::Star => RuleActionInput::Star,
            Action::AddTag { tag } => RuleActionInput::AddTag { tag: tag.clone() },
            Action::SetGroup { group } => RuleActionInput::SetGroup {
                group: group.clone(),
            },
            Action::Drop => RuleActionInput::Drop,
            Action::Webhook {
                url,
                headers,
                timeout_secs,
            } => RuleActionInput::Webhook {
                url: url.clone(),
                headers: headers.clone(),
                timeout_secs: *timeout_secs,
            },
            Action::Command {
                program,
                args,
                timeout_secs,
            } => RuleActionInput::Command {
                program: program.clone(),
                args: args.clone(),
                timeout_secs: *timeout_secs,
            },
        }
    }
}

impl RuleActionInput {
    pub fn to_core(&self) -> Result<Action, String> {
        Ok(match self {
            RuleActionInput::Notify {
                urgency: level,
                sound,
            } => Action::Notify {
                urgency: level.as_deref().map(urgency).transpose()?,
                sound: sound.clone().filter(|sound| !sound.trim().is_empty()),
            },
            RuleActionInput::StoreSilently => Action::StoreSilently,
            RuleActionInput::MarkRead => Action::MarkRead,
            RuleActionInput::Star => Action::Star,
            RuleActionInput::AddTag { tag } => Action::AddTag {
                tag: tag.trim().to_string(),
            },
            RuleActionInput::SetGroup { group } => Action::SetGroup {
                group: group.trim().to_string(),
            },
            RuleActionInput::Drop => Action::Drop,
            RuleActionInput::Webhook {
                url,
                headers,
                timeout_secs,
            } => Action::Webhook {
                url: url.trim().to_string(),
                headers: headers.clone(),
                timeout_secs: *timeout_secs,
            },
            RuleActionInput::Command {
                program,
                args,
                timeout_secs,
            } => Action::Command {
                program: program.trim().to_string(),
                args: args.clone(),
                timeout_secs: *timeout_secs,
            },
        })
    }
}

impl From<&Rule> for RuleView {
    fn from(rule: &Rule) -> Self {
        RuleView {
            id: rule.id,
            name: rule.name.clone(),
            enabled: rule.enabled,
            stop: rule.stop,
            matcher: MatchInput::from(&rule.matcher),
            actions: rule.actions.iter().map(RuleActionInput::from).collect(),
        }
    }
}

impl RuleInput {
    pub fn to_core(&self) -> Result<NewRule, String> {
        Ok(NewRule {
            name: self.name.trim().to_string(),
            enabled: self.enabled,
            matcher: self.matcher.to_core()?,
            actions: self
                .actions
                .iter()
                .map(RuleActionInput::to_core)
                .collect::<Result<_, _>>()?,
            stop: self.stop,
        })
    }
}

impl From<&DeliveryFailure> for DeliveryFailureView {
    fn from(failure: &DeliveryFailure) -> Self {
        DeliveryFailureView {
            id: failure.id,
            rule_name: herald_core::render::display_safe(&failure.rule_name),
            message_id: failure.message_id,
            kind: failure.kind.clone(),
            target: herald_core::render::display_safe(&failure.target),
            attempts: failure.attempts,
            error: herald_core::render::display_safe(&failure.error),
            failed_at: failure.failed_at,
        }
    }
}

impl From<&Policy> for PolicyInput {
    fn from(policy: &Policy) -> Self {
        PolicyInput {
            min_priority: policy.min_priority,
            source_min_priority: policy
                .source_min_priority
                .iter()
                .map(|(id, min)| (id.0, *min))
                .collect(),
            quiet_hours: policy.quiet_hours.iter().map(window_input).collect(),
            bypass_priority: policy.bypass_priority,
            coalesce_count: policy.coalesce_count,
            coalesce_seconds: policy.coalesce_seconds,
            summarize_catch_up: policy.summarize_catch_up,
        }
    }
}

impl PolicyInput {
    pub fn to_core(&self) -> Policy {
        Policy {
            min_priority: self.min_priority,
            source_min_priority: self
                .source_min_priority
                .iter()
                .map(|(id, min)| (SourceId(*id), *min))
                .collect(),
            quiet_hours: self.quiet_hours.iter().map(window).collect(),
            bypass_priority: self.bypass_priority,
            coalesce_count: self.coalesce_count,
            coalesce_seconds: self.coalesce_seconds,
            summarize_catch_up: self.summarize_catch_up,
        }
    }
}

impl PauseInput {
    /// The deadline this pause sets, from `now`; `None` resumes.
    pub fn deadline(self, now: i64) -> Option<i64> {
        match self {
            PauseInput::Off => None,
            PauseInput::For { minutes } => Some(now + i64::from(minutes.max(1)) * 60_000),
            PauseInput::UntilTomorrow => Some(herald_core::clock::next_midnight(now)),
            PauseInput::Forever => Some(FOREVER),
        }
    }
}

/// A deadline for the UI: `null` for "until resumed".
pub fn shown_deadline(until: i64) -> Option<i64> {
    (until != FOREVER).then_some(until)
}

impl QuietView {
    pub fn new(quiet: &Quiet, policy: &Policy, now: i64) -> QuietView {
        let quiet_hours_now = policy
            .quiet_hours
            .iter()
            .any(|window| window.contains(herald_core::clock::local_time(now)));
        QuietView {
            dnd_active: quiet.dnd_active(now) || quiet_hours_now,
            dnd_until: quiet
                .dnd_until
                .filter(|_| quiet.dnd_active(now))
                .and_then(shown_deadline),
            dnd_forever: quiet.dnd_until == Some(FOREVER),
            quiet_hours_now,
            mutes: quiet
                .mutes
                .iter()
                .filter(|(_, until)| now < **until)
                .map(|(id, until)| (id.0, shown_deadline(*until)))
                .collect(),
            held: 0,
            sources_paused: false,
            notifier_error: None,
        }
    }
}

/// Rows of a preview.
pub fn preview_rows(
    preview: &herald_core::store::rules::Preview,
    names: &std::collections::HashMap<i64, String>,
) -> RulePreview {
    RulePreview {
        scanned: preview.scanned as u32,
        matched: preview
            .matched
            .iter()
            .map(|(message, decision)| RulePreviewRow {
                message: MessageRow::from_message(message),
                rules: decision
                    .matched
                    .iter()
                    .filter_map(|id| names.get(id).cloned())
                    .collect(),
                dropped: decision.drop,
                notify: decision.notify && !decision.drop,
            })
            .collect(),
    }
}
