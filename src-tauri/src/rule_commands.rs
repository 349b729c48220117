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
use crate::i18n;
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
            println!(
                "{}",
                i18n::text("cli.rule.removed", &[("id", &id.to_string())])
            );
        }
        RuleCommand::Enable { id } => {
            store.write(move |transaction| {
                stored::set_rule_enabled(transaction, id, true, now_ms())
            })?;
            println!(
                "{}",
                i18n::text("cli.rule.enabled", &[("id", &id.to_string())])
            );
        }
        RuleCommand::Disable { id } => {
            store.write(move |transaction| {
                stored::set_rule_enabled(transaction, id, false, now_ms())
            })?;
            println!(
                "{}",
                i18n::text("cli.rule.disabled", &[("id", &id.to_string())])
            );
        }
        RuleCommand::Move { id, to } => {
            store.write(move |transaction| stored::move_rule(transaction, id, to))?;
            let position = to.max(1).to_string();
            println!(
                "{}",
                i18n::text(
                    "cli.rule.moved",
                    &[("id", &id.to_string()), ("position", &position)]
                )
            );
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
        bail!(i18n::text("error.rule_needs_action", &[]));
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
    let (start, end) = between.split_once('-').ok_or_else(|| {
        anyhow!(i18n::text(
            "error.between",
            &[("between", &format!("{between:?}"))]
        ))
    })?;
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
    let bad = || {
        anyhow!(i18n::text(
            "error.time_of_day",
            &[("text", &format!("{text:?}"))]
        ))
    };
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
        .ok_or_else(|| anyhow!(i18n::text("error.weekday", &[("day", &format!("{day:?}"))])))
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
        parts.push(i18n::text(
            "cli.rule.match.sources",
            &[("ids", &ids.join("|"))],
        ));
    }
    if !matcher.topics.is_empty() {
        let topics = matcher.topics.join("|");
        parts.push(i18n::text("cli.rule.match.topics", &[("topics", &topics)]));
    }
    let min = matcher.min_priority.map(|min| min.to_string());
    let max = matcher.max_priority.map(|max| max.to_string());
    match (min.as_deref(), max.as_deref()) {
        (Some(min), Some(max)) => parts.push(i18n::text(
            "cli.rule.match.priority_between",
            &[("min", min), ("max", max)],
        )),
        (Some(min), None) => parts.push(i18n::text("cli.rule.match.priority_min", &[("min", min)])),
        (None, Some(max)) => parts.push(i18n::text("cli.rule.match.priority_max", &[("max", max)])),
        (None, None) => {}
    }
    if !matcher.tags_any.is_empty() {
        let tags = matcher.tags_any.join("|");
        parts.push(i18n::text("cli.rule.match.any_tag", &[("tags", &tags)]));
    }
    if !matcher.tags_all.is_empty() {
        let tags = matcher.tags_all.join("+");
        parts.push(i18n::text("cli.rule.match.all_tags", &[("tags", &tags)]));
    }
    let texts = [
        (
            &matcher.title,
            "cli.rule.match.title_contains",
            "cli.rule.match.title_regex",
        ),
        (
            &matcher.body,
            "cli.rule.match.body_contains",
            "cli.rule.match.body_regex",
        ),
    ];
    for (text, contains, regex) in texts {
        match text {
            Some(TextMatch::Contains(needle)) => {
                parts.push(i18n::text(contains, &[("needle", &format!("{needle:?}"))]))
            }
            Some(TextMatch::Regex(pattern)) => {
                parts.push(i18n::text(regex, &[("pattern", pattern)]))
            }
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
        i18n::text("cli.rule.match.every_message", &[])
    } else {
        parts.join(", ")
    }
}

fn describe_action(action: &Action) -> String {
    match action {
        Action::Notify { urgency, sound } => {
            let mut text = match urgency {
                None => i18n::text("cli.rule.action.notify", &[]),
                Some(urgency) => {
                    let urgency = match urgency {
                        Urgency::Low => "cli.rule.urgency.low",
                        Urgency::Normal => "cli.rule.urgency.normal",
                        Urgency::Critical => "cli.rule.urgency.critical",
                    };
                    let urgency = i18n::text(urgency, &[]);
                    i18n::text("cli.rule.action.notify_urgency", &[("urgency", &urgency)])
                }
            };
            if let Some(sound) = sound {
                let sound = i18n::text("cli.rule.action.sound", &[("sound", sound)]);
                text.push_str(&format!(" {sound}"));
            }
            text
        }
        Action::StoreSilently => i18n::text("cli.rule.action.silent", &[]),
        Action::MarkRead => i18n::text("cli.rule.action.mark_read", &[]),
        Action::Star => i18n::text("cli.rule.action.star", &[]),
        Action::AddTag { tag } => tag_text(tag),
        Action::SetGroup { group } => group_text(group),
        Action::Drop => i18n::text("cli.rule.action.drop", &[]),
        Action::Webhook { url, .. } => {
            let url = url::Url::parse(url)
                .map(|url| herald_core::source::http::redacted(&url))
                .unwrap_or_default();
            i18n::text("cli.rule.action.webhook", &[("url", &url)])
        }
        Action::Command { program, args, .. } => i18n::text(
            "cli.rule.action.command",
            &[("program", program), ("args", &args.join(" "))],
        ),
    }
}

fn tag_text(tag: &str) -> String {
    i18n::text("cli.rule.action.tag", &[("tag", tag)])
}

fn group_text(group: &str) -> String {
    i18n::text("cli.rule.action.group", &[("group", group)])
}

fn list(store: &Store, json: bool) -> Result<()> {
    let rules = store.read(stored::list_rules)?;
    if json {
        return output::print_json(&rules);
    }
    if rules.is_empty() {
        println!("{}", i18n::text("cli.rule.none", &[]));
        return Ok(());
    }
    let (on, off) = (
        i18n::text("cli.rule.on", &[]),
        i18n::text("cli.rule.off", &[]),
    );
    let state_columns = output::width(&on).max(output::width(&off));
    for (position, rule) in rules.iter().enumerate() {
        let actions: Vec<String> = rule.actions.iter().map(describe_action).collect();
        let state = if rule.enabled { &on } else { &off };
        let stop = if rule.stop {
            format!("  {}", i18n::text("cli.rule.stop", &[]))
        } else {
            String::new()
        };
        println!(
            "{:>2}. #{:<4} {} {}{}",
            position + 1,
            rule.id,
            output::column(state, state_columns),
            output::terminal_safe(&rule.name),
            stop
        );
        let when = output::terminal_safe(&describe_match(&rule.matcher));
        let actions = output::terminal_safe(&actions.join(", "));
        println!(
            "          {}",
            i18n::text("cli.rule.when", &[("match", &when), ("actions", &actions)])
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
            bail!(i18n::text("error.no_rule", &[("id", &id.to_string())]));
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
        "{}",
        i18n::text(
            "cli.rule.test_summary",
            &[
                ("matched", &tested.len().to_string()),
                ("scanned", &preview.scanned.to_string()),
            ],
        )
    );
    for message in &tested {
        let decision = &message.decision;
        let mut effects = Vec::new();
        if decision.drop {
            effects.push(i18n::text("cli.rule.action.drop", &[]));
        } else {
            let delivery = if decision.notify {
                "cli.rule.action.notify"
            } else {
                "cli.rule.action.silent"
            };
            effects.push(i18n::text(delivery, &[]));
            if decision.mark_read {
                effects.push(i18n::text("cli.rule.action.mark_read", &[]));
            }
            if decision.star {
                effects.push(i18n::text("cli.rule.action.star", &[]));
            }
            effects.extend(decision.add_tags.iter().map(|tag| tag_text(tag)));
            if let Some(group) = &decision.group {
                effects.push(group_text(group));
            }
            effects.extend(
                decision
                    .deliveries
                    .iter()
                    .map(|d| describe_action(&d.action)),
            );
        }
        println!(
            "{:>8}  {} {}",
            message.id,
            output::column(&output::terminal_safe(&message.title), 24),
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
        println!("{}", i18n::text("cli.rule.no_failures", &[]));
    }
    for failure in &failures {
        println!(
            "{}",
            i18n::count(
                "cli.rule.failure",
                failure.attempts.into(),
                &[
                    ("time", &output::local_time(failure.failed_at)),
                    ("kind", &failure.kind),
                    ("target", &output::terminal_safe(&failure.target)),
                    ("rule", &output::terminal_safe(&failure.rule_name)),
                    (
                        "message",
                        &failure.message_id.unwrap_or_default().to_string()
                    ),
                    ("error", &output::terminal_safe(&failure.error)),
                ],
            )
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
        println!("{}", i18n::text("cli.dnd.off", &[]));
    } else if let Some(until) = state.until {
        let time = output::local_time(until);
        println!("{}", i18n::text("cli.dnd.until", &[("time", &time)]));
    } else {
        println!("{}", i18n::text("cli.dnd.on", &[]));
    }
    Ok(ExitCode::SUCCESS)
}

/// `30m`, `2h`, `1d` (or a bare number of minutes) in milliseconds.
fn parse_duration_ms(text: &str) -> Result<i64> {
    let bad = || {
        anyhow!(i18n::text(
            "error.dnd_state",
            &[("text", &format!("{text:?}"))]
        ))
    };
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
