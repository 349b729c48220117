//! `herald rule …` and `herald dnd`: routing rules and do-not-disturb from
//! the command line. A running Herald picks the changes up within seconds.

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use herald_core::model::{now_ms, SourceId};
use herald_core::policy::FOREVER;
use herald_core::rules::{Action, Match, Rule, RuleSet, TextMatch, TimeWindow, Urgency};
use herald_core::store::rules::{self as stored, NewRule};
use herald_core::store::Store;
use serde::Serialize;

use crate::cli::{DndArgs, RuleAddArgs, RuleCommand, UrgencyArg};
use crate::output;

pub fn rule(store: &Store, command: RuleCommand) -> Result<ExitCode> {
    match command {
        RuleCommand::Add(args) => {
            let rule = new_rule(*args)?;
            let id = store
                .write(move |transaction| stored::insert_rule(transaction, &rule, now_ms()))?;
            println!("{id}");
        }
        RuleCommand::List { json } => list(store, json)?,
        RuleCommand::Remove { id } => {
            store.write(move |transaction| stored::remove_rule(transaction, id))?;
            println!("removed rule {id}");
        }
        RuleCommand::Enable { id } => {
            store.write(move |transaction| {
                stored::set_rule_enabled(transaction, id, true, now_ms())
            })?;
            println!("enabled rule {id}");
        }
        RuleCommand::Disable { id } => {
            store.write(move |transaction| {
                stored::set_rule_enabled(transaction, id, false, now_ms())
            })?;
            println!("disabled rule {id}");
        }
        RuleCommand::Move { id, to } => {
            store.write(move |transaction| stored::move_rule(transaction, id, to))?;
            println!("moved rule {id} to position {}", to.max(1));
        }
        RuleCommand::Test { rule, limit, json } => test(store, rule, limit, json)?,
        RuleCommand::Failures { limit, json } => failures(store, limit, json)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn text(contains: Option<String>, regex: Option<String>) -> Option<TextMatch> {
    contains
        .map(TextMatch::Contains)
        .or(regex.map(TextMatch::Regex))
}

fn new_rule(args: RuleAddArgs) -> Result<NewRule> {
    let time = args
        .between
        .as_deref()
        .map(|between| time_window(between, args.days.as_deref()))
        .transpose()?;
    let matcher = Match {
        sources: args.sources.into_iter().map(SourceId).collect(),
        topics: args.topics,
        min_priority: args.min_priority,
        max_priority: args.max_priority,
        tags_any: args.tags_any,
        tags_all: args.tags_all,
        title: text(args.title, args.title_regex),
        body: text(args.body, args.body_regex),
        time,
    };
    let mut actions = Vec::new();
    if args.notify || args.urgency.is_some() || args.sound.is_some() {
        actions.push(Action::Notify {
            urgency: args.urgency.map(|urgency| match urgency {
                UrgencyArg::Low => Urgency::Low,
                UrgencyArg::Normal => Urgency::Normal,
                UrgencyArg::Critical => Urgency::Critical,
            }),
            sound: args.sound,
        });
    }
    if args.silent {
        actions.push(Action::StoreSilently);
    }
    if args.mark_read {
        actions.push(Action::MarkRead);
    }
    if args.star {
        actions.push(Action::Star);
    }
    actions.extend(args.add_tags.into_iter().map(|tag| Action::AddTag { tag }));
    if let Some(group) = args.group {
        actions.push(Action::SetGroup { group });
    }
    if args.drop {
        actions.push(Action::Drop);
    }
    if let Some(url) = args.webhook {
        let headers = args
            .webhook_headers
            .iter()
            .map(|header| herald_core::config::parse_header(header).map_err(|e| anyhow!("{e}")))
            .collect::<Result<_>>()?;
        actions.push(Action::Webhook {
            url,
            headers,
            timeout_secs: args.timeout,
        });
    }
    if let Some(program) = args.command {
        actions.push(Action::Command {
            program,
            args: args.args,
            timeout_secs: args.timeout,
        });
    }
    if actions.is_empty() {
        bail!("a rule needs at least one action: --notify, --silent, --mark-read, --star, --add-tag, --group, --drop, --webhook or --command");
    }
    Ok(NewRule {
        name: args.name,
        enabled: !args.disabled,
        matcher,
        actions,
        stop: args.stop,
    })
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `22:00-07:00` and `mon,tue` (or `mon-fri`) into a window.
pub fn time_window(between: &str, days: Option<&str>) -> Result<TimeWindow> {
    let (start, end) = between
        .split_once('-')
        .ok_or_else(|| anyhow!("--between must look like 22:00-07:00, not {between:?}"))?;
    let weekdays = match days {
        None => TimeWindow::EVERY_DAY,
        Some(days) => parse_days(days)?,
    };
    let window = TimeWindow {
        start_minute: minute_of_day(start)?,
        end_minute: minute_of_day(end)?,
        weekdays,
    };
    window.validate().map_err(|problem| anyhow!(problem))?;
    Ok(window)
}

fn minute_of_day(text: &str) -> Result<u16> {
    let bad = || anyhow!("{text:?} is not a time of day like 07:30");
    let (hour, minute) = text.trim().split_once(':').ok_or_else(bad)?;
    let hour: u16 = hour.parse().map_err(|_| bad())?;
    let minute: u16 = minute.parse().map_err(|_| bad())?;
    if hour > 24 || minute > 59 || (hour == 24 && minute > 0) {
        return Err(bad());
    }
    Ok(hour * 60 + minute)
}

fn day_index(day: &str) -> Result<u8> {
    let day = day.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|name| day.starts_with(name))
        .map(|index| index as u8)
        .ok_or_else(|| anyhow!("{day:?} is not a weekday; use mon, tue, wed, thu, fri, sat, sun"))
}

fn parse_days(text: &str) -> Result<u8> {
    let mut bits = 0u8;
    for part in text.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day_index(from)?, day_index(to)?);
                let mut day = from;
                loop {
                    bits |= 1 << day;
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => bits |= 1 << day_index(part)?,
        }
    }
    Ok(bits)
}

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn describe_match(matcher: &Match) -> String {
    let mut parts = Vec::new();
    if !matcher.sources.is_empty() {
        let ids: Vec<String> = matcher.sources.iter().map(|id| id.0.to_string()).collect();
        parts.push(format!("source {}", ids.join("|")));
    }
    if !matcher.topics.is_empty() {
        parts.push(format!("topic {}", matcher.topics.join("|")));
    }
    match (matcher.min_priority, matcher.max_priority) {
        (Some(min), Some(max)) => parts.push(format!("priority {min}–{max}")),
        (Some(min), None) => parts.push(format!("priority ≥ {min}")),
        (None, Some(max)) => parts.push(format!("priority ≤ {max}")),
        (None, None) => {}
    }
    if !matcher.tags_any.is_empty() {
        parts.push(format!("any tag {}", matcher.tags_any.join("|")));
    }
    if !matcher.tags_all.is_empty() {
        parts.push(format!("all tags {}", matcher.tags_all.join("+")));
    }
    for (field, text) in [("title", &matcher.title), ("body", &matcher.body)] {
        match text {
            Some(TextMatch::Contains(needle)) => parts.push(format!("{field} contains {needle:?}")),
            Some(TextMatch::Regex(pattern)) => parts.push(format!("{field} ~ /{pattern}/")),
            None => {}
        }
    }
    if let Some(window) = matcher.time {
        let days: Vec<&str> = (0..7)
            .filter(|day| window.weekdays & (1 << day) != 0)
            .map(|day| DAYS[day])
            .collect();
        parts.push(format!(
            "{}–{} {}",
            clock(window.start_minute),
            clock(window.end_minute),
            days.join(",")
        ));
    }
    if parts.is_empty() {
        "every message".into()
    } else {
        parts.join(", ")
    }
}

fn describe_action(action: &Action) -> String {
    match action {
        Action::Notify { urgency, sound } => {
            let mut text = "notify".to_string();
            if let Some(urgency) = urgency {
                text.push_str(&format!(" ({urgency:?})").to_lowercase());
            }
            if let Some(sound) = sound {
                text.push_str(&format!(" sound {sound}"));
            }
            text
        }
        Action::StoreSilently => "silent".into(),
        Action::MarkRead => "mark read".into(),
        Action::Star => "star".into(),
        Action::AddTag { tag } => format!("tag {tag}"),
        Action::SetGroup { group } => format!("group {group}"),
        Action::Drop => "drop".into(),
        Action::Webhook { url, .. } => format!(
            "webhook {}",
            url::Url::parse(url)
                .map(|url| herald_core::source::http::redacted(&url))
                .unwrap_or_default()
        ),
        Action::Command { program, args, .. } => format!("run {program} {}", args.join(" ")),
    }
}

fn list(store: &Store, json: bool) -> Result<()> {
    let rules = store.read(stored::list_rules)?;
    if json {
        return output::print_json(&rules);
    }
    if rules.is_empty() {
        println!(
            "no rules yet: every message is stored and notified; add one with `herald rule add`"
        );
        return Ok(());
    }
    for (position, rule) in rules.iter().enumerate() {
        let actions: Vec<String> = rule.actions.iter().map(describe_action).collect();
        println!(
            "{:>2}. #{:<4} {:<3} {}{}",
            position + 1,
            rule.id,
            if rule.enabled { "on" } else { "off" },
            output::terminal_safe(&rule.name),
            if rule.stop { "  (stop)" } else { "" }
        );
        println!(
            "          when {} → {}",
            output::terminal_safe(&describe_match(&rule.matcher)),
            output::terminal_safe(&actions.join(", "))
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct Tested {
    id: i64,
    source_id: i64,
    source_name: String,
    title: String,
    rules: Vec<String>,
    decision: herald_core::rules::Decision,
}

fn test(store: &Store, only: Option<i64>, limit: usize, json: bool) -> Result<()> {
    let mut rules = store.read(stored::list_rules)?;
    if let Some(id) = only {
        rules.retain(|rule| rule.id == id);
        if rules.is_empty() {
            bail!("there is no rule {id}; see `herald rule list`");
        }
        rules[0].enabled = true;
    }
    let names: std::collections::HashMap<i64, String> = rules
        .iter()
        .map(|rule: &Rule| (rule.id, rule.name.clone()))
        .collect();
    let set = RuleSet::compile(rules).map_err(|error| anyhow!("{error}"))?;
    let preview = store.read(|connection| stored::preview(connection, &set, limit, now_ms()))?;
    let tested: Vec<Tested> = preview
        .matched
        .into_iter()
        .map(|(message, decision)| Tested {
            id: message.id.0,
            source_id: message.source_id.0,
            source_name: message.source_name,
            title: message.title,
            rules: decision
                .matched
                .iter()
                .filter_map(|id| names.get(id).cloned())
                .collect(),
            decision,
        })
        .collect();
    if json {
        return output::print_json(&serde_json::json!({
            "scanned": preview.scanned,
            "matched": tested,
        }));
    }
    println!(
        "{} of the newest {} messages match",
        tested.len(),
        preview.scanned
    );
    for message in &tested {
        let decision = &message.decision;
        let mut effects = Vec::new();
        if decision.drop {
            effects.push("drop".to_string());
        } else {
            effects.push(if decision.notify { "notify" } else { "silent" }.to_string());
            if decision.mark_read {
                effects.push("mark read".into());
            }
            if decision.star {
                effects.push("star".into());
            }
            effects.extend(decision.add_tags.iter().map(|tag| format!("tag {tag}")));
            if let Some(group) = &decision.group {
                effects.push(format!("group {group}"));
            }
            effects.extend(
                decision
                    .deliveries
                    .iter()
                    .map(|d| describe_action(&d.action)),
            );
        }
        println!(
            "{:>8}  {:<24} {}",
            message.id,
            output::terminal_safe(&output::truncate(&message.title, 24)),
            output::terminal_safe(&format!(
                "{} → {}",
                message.rules.join(", "),
                effects.join(", ")
            ))
        );
    }
    Ok(())
}

fn failures(store: &Store, limit: u32, json: bool) -> Result<()> {
    let failures = store.read(|connection| stored::delivery_failures(connection, limit))?;
    if json {
        return output::print_json(&failures);
    }
    if failures.is_empty() {
        println!("no failed deliveries");
    }
    for failure in &failures {
        println!(
            "{}  {} {} (rule {}, message {}, {} attempts): {}",
            output::local_time(failure.failed_at),
            failure.kind,
            output::terminal_safe(&failure.target),
            output::terminal_safe(&failure.rule_name),
            failure.message_id.unwrap_or_default(),
            failure.attempts,
            output::terminal_safe(&failure.error)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- dnd

#[derive(Serialize)]
struct DndState {
    on: bool,
    /// Unix ms; null while off or until resumed.
    until: Option<i64>,
}

pub fn dnd(store: &Store, args: DndArgs) -> Result<ExitCode> {
    let now = now_ms();
    if let Some(state) = &args.state {
        let until = match state.as_str() {
            "off" => None,
            "on" => Some(FOREVER),
            "tomorrow" => Some(herald_core::clock::next_midnight(now)),
            duration => Some(now + parse_duration_ms(duration)?),
        };
        store.write(move |transaction| {
            let mut quiet = stored::quiet(transaction)?;
            quiet.dnd_until = until;
            stored::set_quiet(transaction, &quiet)
        })?;
    }
    let quiet = store.read(stored::quiet)?;
    let state = DndState {
        on: quiet.dnd_active(now),
        until: quiet
            .dnd_until
            .filter(|&until| quiet.dnd_active(now) && until != FOREVER),
    };
    if args.json {
        output::print_json(&state)?;
    } else if !state.on {
        println!("notifications are on");
    } else if let Some(until) = state.until {
        println!(
            "notifications are paused until {}",
            output::local_time(until)
        );
    } else {
        println!("notifications are paused until you resume them (`herald dnd off`)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `30m`, `2h`, `1d` (or a bare number of minutes) in milliseconds.
fn parse_duration_ms(text: &str) -> Result<i64> {
    let bad = || anyhow!("{text:?} is not on, off, tomorrow or a duration like 30m, 2h, 1d");
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let amount: i64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "" | "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    if amount == 0 || amount > 366 * 86_400_000 / unit_ms {
        return Err(bad());
    }
    Ok(amount * unit_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_and_days_parse() {
        let night = time_window("22:00-07:00", Some("mon-fri")).expect("valid");
        assert_eq!((night.start_minute, night.end_minute), (1320, 420));
        assert_eq!(night.weekdays, 0b001_1111);
        let weekend = time_window("9:30-24:00", Some("sat,sun")).expect("valid");
        assert_eq!(
            (weekend.start_minute, weekend.end_minute, weekend.weekdays),
            (570, 1440, 0b110_0000)
        );
        assert_eq!(parse_days("fri-mon").expect("wraps"), 0b111_0001);
        assert!(time_window("25:00-07:00", None).is_err());
        assert!(time_window("22:00", None).is_err());
        assert!(parse_days("someday").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration_ms("30m").expect("ok"), 1_800_000);
        assert_eq!(parse_duration_ms("2h").expect("ok"), 7_200_000);
        assert_eq!(parse_duration_ms("45").expect("ok"), 2_700_000);
        for bad in ["", "0m", "1w", "h", "-1h"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
