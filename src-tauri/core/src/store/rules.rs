//! Routing rules on disk: one row per rule, ordered by `position`. A rule
//! is checked (compiled) before it is written, so the table only ever holds
//! rules the engine can use.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::{Item, Named, Result, StoreError};
use crate::i18n::text;
use crate::policy::{Policy, Quiet};
use crate::rules::{Action, Match, Rule, RuleSet};

/// What is stored in `rules.definition`.
#[derive(Serialize, Deserialize)]
struct Definition {
    #[serde(rename = "match")]
    matcher: Match,
    actions: Vec<Action>,
    stop: bool,
}

/// A rule to add; it goes last.
#[derive(Debug, Clone)]
pub struct NewRule {
    pub name: String,
    pub enabled: bool,
    pub matcher: Match,
    pub actions: Vec<Action>,
    pub stop: bool,
}

fn check(rule: &Rule) -> Result<()> {
    if rule.name.trim().is_empty() {
        return Err(StoreError::Invalid(text("rule.name_required", &[])));
    }
    RuleSet::compile(vec![rule.clone()])
        .map(drop)
        .map_err(|error| StoreError::Invalid(error.to_string()))
}

fn definition(rule: &Rule) -> Result<String> {
    serde_json::to_string(&Definition {
        matcher: rule.matcher.clone(),
        actions: rule.actions.clone(),
        stop: rule.stop,
    })
    .map_err(|error| StoreError::Invalid(error.to_string()))
}

/// Every rule, in evaluation order.
pub fn list_rules(connection: &Connection) -> Result<Vec<Rule>> {
    let mut statement = connection
        .prepare_cached("SELECT id, name, enabled, definition FROM rules ORDER BY position, id")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, bool>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    let mut rules = Vec::new();
    for row in rows {
        let (id, name, enabled, json) = row?;
        let definition: Definition = serde_json::from_str(&json).map_err(|error| {
            StoreError::Invalid(text(
                "error.rule_unreadable",
                &[
                    ("name", &format!("{name:?}")),
                    ("error", &error.to_string()),
                ],
            ))
        })?;
        rules.push(Rule {
            id,
            name,
            enabled,
            matcher: definition.matcher,
            actions: definition.actions,
            stop: definition.stop,
        });
    }
    Ok(rules)
}

/// The rule `rule` would be stored as under `id` (0 for a new one): checked,
/// and with a name no other rule has.
fn candidate(transaction: &Transaction<'_>, id: i64, rule: &NewRule) -> Result<Rule> {
    let candidate = Rule {
        id,
        name: rule.name.trim().to_string(),
        enabled: rule.enabled,
        matcher: rule.matcher.clone(),
        actions: rule.actions.clone(),
        stop: rule.stop,
    };
    check(&candidate)?;
    let taken: Option<i64> = transaction
        .query_row(
            "SELECT id FROM rules WHERE name = ?1 AND id != ?2",
            params![candidate.name, id],
            |row| row.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Err(StoreError::Duplicate {
            item: Named::Rule,
            name: candidate.name,
        });
    }
    Ok(candidate)
}

/// Adds a rule after the others and returns its id.
pub fn insert_rule(transaction: &Transaction<'_>, rule: &NewRule, now: i64) -> Result<i64> {
    let candidate = candidate(transaction, 0, rule)?;
    let position: i64 = transaction.query_row(
        "SELECT coalesce(max(position), 0) + 1 FROM rules",
        [],
        |row| row.get(0),
    )?;
    transaction.execute(
        "INSERT INTO rules (position, name, enabled, definition, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![position, candidate.name, candidate.enabled, definition(&candidate)?, now],
    )?;
    Ok(transaction.last_insert_rowid())
}

/// Replaces a rule's name, match, actions and flags; its place is kept.
pub fn update_rule(transaction: &Transaction<'_>, id: i64, rule: &NewRule, now: i64) -> Result<()> {
    let candidate = candidate(transaction, id, rule)?;
    let changed = transaction.execute(
        "UPDATE rules SET name = ?2, enabled = ?3, definition = ?4, updated_at = ?5 WHERE id = ?1",
        params![
            id,
            candidate.name,
            candidate.enabled,
            definition(&candidate)?,
            now
        ],
    )?;
    require_rule(changed, id)
}

/// A webhook or command that could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryFailure {
    pub id: i64,
    pub rule_id: Option<i64>,
    pub rule_name: String,
    pub message_id: Option<i64>,
    /// `webhook` or `command`.
    pub kind: String,
    /// The URL (without credentials) or the program.
    pub target: String,
    pub attempts: u32,
    pub error: String,
    pub failed_at: i64,
}

/// How many failures are kept; older ones are deleted as new ones come.
pub const DELIVERY_FAILURES_KEPT: i64 = 500;

pub fn record_delivery_failure(
    transaction: &Transaction<'_>,
    failure: &DeliveryFailure,
) -> Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO delivery_failures (rule_id, rule_name, message_id, kind, target, attempts, error, failed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            failure.rule_id,
            failure.rule_name,
            failure.message_id,
            failure.kind,
            failure.target,
            failure.attempts,
            failure.error,
            failure.failed_at
        ])?;
    transaction
        .prepare_cached(
            "DELETE FROM delivery_failures WHERE id <= (SELECT max(id) FROM delivery_failures) - ?1",
        )?
        .execute([DELIVERY_FAILURES_KEPT])?;
    Ok(())
}

/// The newest delivery failures first.
pub fn delivery_failures(connection: &Connection, limit: u32) -> Result<Vec<DeliveryFailure>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, rule_id, rule_name, message_id, kind, target, attempts, error, failed_at
         FROM delivery_failures ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = statement.query_map([limit], |row| {
        Ok(DeliveryFailure {
            id: row.get(0)?,
            rule_id: row.get(1)?,
            rule_name: row.get(2)?,
            message_id: row.get(3)?,
            kind: row.get(4)?,
            target: row.get(5)?,
            attempts: row.get(6)?,
            error: row.get(7)?,
            failed_at: row.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The result of trying rules on stored messages.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// How many stored messages were tried (the newest first).
    pub scanned: usize,
    /// The messages some rule matched, newest first, with what would happen.
    pub matched: Vec<(crate::model::Message, crate::rules::Decision)>,
}

/// What `rules` would do with the newest `limit` stored messages, each
/// judged at the local time it was received. Nothing is changed.
pub fn preview(
    connection: &Connection,
    rules: &RuleSet,
    limit: usize,
    now: i64,
) -> Result<Preview> {
    let filter = super::MessageFilter {
        view: super::View::All,
        ..super::MessageFilter::default()
    };
    let messages = super::list_messages(connection, &filter, limit, now)?;
    let scanned = messages.len();
    let matched = messages
        .into_iter()
        .filter_map(|message| {
            let local = crate::clock::local_time(message.received_at);
            let decision = rules.decide(&crate::rules::Subject::stored(&message), local);
            (!decision.matched.is_empty()).then_some((message, decision))
        })
        .collect();
    Ok(Preview { scanned, matched })
}

/// Changes whenever a rule is added, edited, enabled, moved or removed, so
/// a running engine notices changes made by another process (the CLI).
pub fn rules_fingerprint(connection: &Connection) -> Result<String> {
    Ok(connection.query_row(
        "SELECT coalesce(group_concat(id || ':' || enabled || ':' || updated_at, ','), '')
         FROM (SELECT id, enabled, updated_at FROM rules ORDER BY position, id)",
        [],
        |row| row.get(0),
    )?)
}

/// The notification policy; the defaults until one is saved. An unreadable
/// setting (edited by hand) is reported, not silently replaced.
pub fn policy(connection: &Connection) -> Result<Policy> {
    read_setting(connection, Policy::SETTING)
}

pub fn set_policy(transaction: &Transaction<'_>, policy: &Policy) -> Result<()> {
    policy.validate().map_err(StoreError::Invalid)?;
    write_setting(transaction, Policy::SETTING, policy)
}

/// Do not disturb and mutes, as last switched.
pub fn quiet(connection: &Connection) -> Result<Quiet> {
    read_setting(connection, Quiet::SETTING)
}

pub fn set_quiet(transaction: &Transaction<'_>, quiet: &Quiet) -> Result<()> {
    write_setting(transaction, Quiet::SETTING, quiet)
}

/// The language the user chose in settings; [`Choice::System`] until they
/// choose, or if the stored value is one this build does not know.
///
/// [`Choice::System`]: crate::i18n::Choice::System
pub fn language(connection: &Connection) -> Result<crate::i18n::Choice> {
    let stored = super::get_setting(connection, crate::i18n::SETTING)?;
    Ok(stored
        .and_then(|text| serde_json::from_str::<String>(&text).ok())
        .and_then(|tag| crate::i18n::Choice::parse(&tag))
        .unwrap_or_default())
}

pub fn set_language(transaction: &Transaction<'_>, choice: crate::i18n::Choice) -> Result<()> {
    write_setting(transaction, crate::i18n::SETTING, &choice.as_str())
}

fn read_setting<T: Default + serde::de::DeserializeOwned>(
    connection: &Connection,
    key: &str,
) -> Result<T> {
    match super::get_setting(connection, key)? {
        None => Ok(T::default()),
        Some(json) => serde_json::from_str(&json).map_err(|error| {
            StoreError::Invalid(text(
                "error.setting_unreadable",
                &[("key", key), ("error", &error.to_string())],
            ))
        }),
    }
}

fn write_setting<T: Serialize>(transaction: &Transaction<'_>, key: &str, value: &T) -> Result<()> {
    let text =
        serde_json::to_string(value).map_err(|error| StoreError::Invalid(error.to_string()))?;
    super::set_setting(transaction, key, &text)
}

fn require_rule(changed: usize, id: i64) -> Result<()> {
    if changed == 0 {
        return Err(StoreError::NotFound {
            item: Item::Rule,
            id,
        });
    }
    Ok(())
}

pub fn remove_rule(transaction: &Transaction<'_>, id: i64) -> Result<()> {
    let changed = transaction.execute("DELETE FROM rules WHERE id = ?1", [id])?;
    require_rule(changed, id)
}

pub fn set_rule_enabled(
    transaction: &Transaction<'_>,
    id: i64,
    enabled: bool,
    now: i64,
) -> Result<()> {
    let changed = transaction.execute(
        "UPDATE rules SET enabled = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, enabled, now],
    )?;
    require_rule(changed, id)
}

/// Moves a rule to `position` (1 = evaluated first; past the end = last)
/// and renumbers the rest, keeping their order.
pub fn move_rule(transaction: &Transaction<'_>, id: i64, position: usize) -> Result<()> {
    let mut order: Vec<i64> = transaction
        .prepare("SELECT id FROM rules ORDER BY position, id")?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let index =
        order
            .iter()
            .position(|&candidate| candidate == id)
            .ok_or(StoreError::NotFound {
                item: Item::Rule,
                id,
            })?;
    let moved = order.remove(index);
    let target = position.saturating_sub(1).min(order.len());
    order.insert(target, moved);
    let mut statement = transaction.prepare("UPDATE rules SET position = ?2 WHERE id = ?1")?;
    for (index, rule) in order.iter().enumerate() {
        statement.execute(params![rule, index as i64 + 1])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::TextMatch;
    use crate::store::{BatchLimits, Store};

    fn new_rule(name: &str) -> NewRule {
        NewRule {
            name: name.into(),
            enabled: true,
            matcher: Match {
                title: Some(TextMatch::Contains(name.into())),
                ..Match::default()
            },
            actions: vec![Action::Star],
            stop: false,
        }
    }

    #[test]
    fn rules_keep_their_order_and_only_valid_ones_are_written() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&directory.path().join("h.db"), BatchLimits::default()).expect("open");
        let ids: Vec<i64> = ["a", "b", "c"]
            .iter()
            .map(|name| {
                let rule = new_rule(name);
                store
                    .write(move |transaction| insert_rule(transaction, &rule, 0))
                    .expect("insert")
            })
            .collect();
        let names = |store: &Store| -> Vec<String> {
            store
                .read(list_rules)
                .expect("list")
                .into_iter()
                .map(|rule| rule.name)
                .collect()
        };
        assert_eq!(names(&store), ["a", "b", "c"]);

        let last = ids[2];
        store
            .write(move |transaction| move_rule(transaction, last, 1))
            .expect("move");
        assert_eq!(names(&store), ["c", "a", "b"]);
        let first = ids[2];
        store
            .write(move |transaction| move_rule(transaction, first, 99))
            .expect("move to the end");
        assert_eq!(names(&store), ["a", "b", "c"]);

        let duplicate = new_rule("a");
        assert!(store
            .write(move |transaction| insert_rule(transaction, &duplicate, 0))
            .is_err());
        let mut bad = new_rule("bad");
        bad.matcher.body = Some(TextMatch::Regex("(".into()));
        let error = store
            .write(move |transaction| insert_rule(transaction, &bad, 0))
            .expect_err("an invalid regex is refused");
        assert!(error.to_string().contains("regular expression"), "{error}");

        let middle = ids[1];
        store
            .write(move |transaction| set_rule_enabled(transaction, middle, false, 1))
            .expect("disable");
        let rules = store.read(list_rules).expect("list");
        assert!(!rules[1].enabled && rules[1].actions == vec![Action::Star]);
        store
            .write(move |transaction| remove_rule(transaction, middle))
            .expect("remove");
        assert_eq!(names(&store), ["a", "c"]);
        assert!(store
            .write(move |transaction| remove_rule(transaction, middle))
            .is_err());
    }

    fn open() -> (tempfile::TempDir, Store) {
        let directory = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&directory.path().join("h.db"), BatchLimits::default()).expect("open");
        (directory, store)
    }

    #[test]
    fn a_rule_is_edited_in_place_and_names_stay_unique() {
        let (_directory, store) = open();
        let first = new_rule("first");
        let a = store
            .write(move |transaction| insert_rule(transaction, &first, 0))
            .expect("insert");
        let second = new_rule("second");
        store
            .write(move |transaction| insert_rule(transaction, &second, 0))
            .expect("insert");
        let before = store.read(rules_fingerprint).expect("fingerprint");
        let mut edited = new_rule("renamed");
        edited.actions = vec![Action::MarkRead, Action::AddTag { tag: "x".into() }];
        store
            .write(move |transaction| update_rule(transaction, a, &edited, 5))
            .expect("update");
        let rules = store.read(list_rules).expect("list");
        assert_eq!(rules[0].id, a, "the edited rule keeps its place");
        assert_eq!(rules[0].name, "renamed");
        assert_eq!(rules[0].actions.len(), 2);
        assert_ne!(store.read(rules_fingerprint).expect("fingerprint"), before);
        let clash = new_rule("second");
        let error = store
            .write(move |transaction| update_rule(transaction, a, &clash, 6))
            .expect_err("the name is taken");
        assert!(
            matches!(&error, StoreError::Duplicate { item: Named::Rule, name } if name == "second"),
            "{error}"
        );
        let missing = new_rule("ghost");
        assert!(store
            .write(move |transaction| update_rule(transaction, 999, &missing, 6))
            .is_err());
    }

    #[test]
    fn the_language_choice_round_trips_and_an_unknown_one_reads_as_system() {
        use crate::i18n::{Choice, Language};
        let (_directory, store) = open();
        assert_eq!(store.read(language).expect("read"), Choice::System);
        let chinese = Choice::Fixed(Language::Chinese);
        store
            .write(move |transaction| set_language(transaction, chinese))
            .expect("write");
        assert_eq!(store.read(language).expect("read"), chinese);
        store
            .write(|transaction| {
                super::super::set_setting(transaction, crate::i18n::SETTING, "\"tlh\"")
            })
            .expect("write");
        assert_eq!(store.read(language).expect("read"), Choice::System);
    }

    #[test]
    fn policy_and_quiet_state_round_trip() {
        use crate::model::SourceId;
        let (_directory, store) = open();
        assert_eq!(store.read(policy).expect("default"), Policy::default());
        let mut chosen = Policy {
            min_priority: 2,
            bypass_priority: None,
            ..Policy::default()
        };
        chosen.source_min_priority.insert(SourceId(7), 4);
        let saved = chosen.clone();
        store
            .write(move |transaction| set_policy(transaction, &saved))
            .expect("save");
        assert_eq!(store.read(policy).expect("read"), chosen);
        let invalid = Policy {
            min_priority: 9,
            ..Policy::default()
        };
        assert!(store
            .write(move |transaction| set_policy(transaction, &invalid))
            .is_err());

        let mut hush = Quiet {
            dnd_until: Some(crate::policy::FOREVER),
            sources_paused: true,
            ..Quiet::default()
        };
        hush.mutes.insert(SourceId(3), 1_000);
        let saved = hush.clone();
        store
            .write(move |transaction| set_quiet(transaction, &saved))
            .expect("save");
        assert_eq!(store.read(quiet).expect("read"), hush);
    }

    #[test]
    fn the_preview_reports_matches_without_changing_anything() {
        use crate::model::{Cursor, Envelope, NewMessage, Protocol};
        use crate::store::NewSource;
        let (_directory, store) = open();
        let source = store
            .write(|transaction| {
                crate::store::insert_source(
                    transaction,
                    &NewSource {
                        name: "Ops".into(),
                        protocol: Protocol::Ntfy,
                        url: "wss://example.com/ops".into(),
                        enabled: true,
                        config: crate::config::SourceConfig::default(),
                    },
                    0,
                )
            })
            .expect("source");
        let envelopes: Vec<Envelope> = ["alpha one", "beta", "alpha two"]
            .iter()
            .enumerate()
            .map(|(index, title)| {
                Envelope::new(
                    source,
                    NewMessage {
                        remote_id: format!("m{index}"),
                        title: (*title).into(),
                        ..NewMessage::default()
                    },
                    Cursor::default(),
                )
            })
            .collect();
        store
            .write(move |transaction| {
                let mut inserter = crate::store::Inserter::new(transaction)?;
                inserter.insert_envelopes(&envelopes, 0)?;
                inserter.finish(0)
            })
            .expect("stored");
        let set = RuleSet::compile(vec![Rule {
            id: 1,
            name: "alpha".into(),
            enabled: true,
            matcher: Match {
                title: Some(crate::rules::TextMatch::Contains("ALPHA".into())),
                ..Match::default()
            },
            actions: vec![Action::Star],
            stop: false,
        }])
        .expect("compile");
        let preview = store
            .read(|connection| preview(connection, &set, 100, 0))
            .expect("preview");
        assert_eq!(preview.scanned, 3);
        let titles: Vec<&str> = preview
            .matched
            .iter()
            .map(|(message, _)| message.title.as_str())
            .collect();
        assert_eq!(titles, ["alpha two", "alpha one"]);
        assert!(preview
            .matched
            .iter()
            .all(|(message, decision)| decision.star && !message.starred));
    }
}
