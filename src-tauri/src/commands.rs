//! What each subcommand does, in terms of `herald-core`. Output formatting
//! lives in [`crate::output`]; engine logic lives in the core.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use herald_core::admin;
use herald_core::config::{parse_header, AuthPlacement, Credentials, Secret, SourceConfig};
use herald_core::engine::{Engine, EngineEvent};
use herald_core::model::{now_ms, MessageId, Priority, Protocol, SourceId};
use herald_core::source::{SourceSpec, SourceState};
use herald_core::store::{self, BatchLimits, MessageFilter, Retention, Selection, Store, View};
use serde::Serialize;

use crate::app::WindowOptions;
use crate::cli::{
    Cli, Command, DemoArgs, ListArgs, MessagesCommand, ProtocolArg, RetentionArgs, RunArgs,
    SearchArgs, SourceAddArgs, SourceCommand,
};
use crate::i18n;
use crate::output;

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    herald_core::clock::init_local_offset();
    let data_dir = data_dir(cli.data_dir)?;
    let window = match &cli.command {
        None => Some(WindowOptions {
            started,
            ..WindowOptions::default()
        }),
        Some(Command::Run(args)) if !args.headless => Some(WindowOptions {
            exit_after: args.exit_after.map(Duration::from_secs),
            started,
            ..WindowOptions::default()
        }),
        Some(Command::Demo(args)) if !args.headless => Some(WindowOptions {
            demo: true,
            exit_after: args.exit_after.map(Duration::from_secs),
            started,
        }),
        Some(_) => None,
    };
    if let Some(options) = window {
        crate::app::run(&data_dir, options)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(command) = cli.command else {
        return Ok(ExitCode::SUCCESS);
    };
    // Only the long-running engine sets a damaged database aside; a quick
    // command stops with the reason instead of moving the user's file.
    let long_running = matches!(command, Command::Run(_) | Command::Demo(_));
    let store = open_store(&data_dir, long_running)?;
    let outcome = match command {
        Command::Source(command) => source(&store, command),
        Command::Rule(command) => crate::rule_commands::rule(&store, command),
        Command::Dnd(args) => crate::rule_commands::dnd(&store, args),
        Command::Publish(args) => crate::publish_commands::publish(&store, args),
        Command::PublishApi(args) => crate::publish_commands::publish_api(&store, args),
        Command::Run(args) => run(&store, args),
        Command::Demo(args) => demo(&store, args),
        Command::Messages(command) => messages(&store, command),
        Command::Search(args) => search(&store, args),
        Command::Export { file } => export(&store, &file),
        Command::Import { file } => import(&store, &file),
        Command::Stats { json } => stats(&store, json),
        Command::Retention(args) => retention(&store, args),
        Command::Prune => prune(&store),
        Command::Check { json } => check(&store, json),
    };
    store.close();
    outcome
}

fn data_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    dirs::data_dir()
        .map(|dir| dir.join("herald"))
        .ok_or_else(|| anyhow!(i18n::text("error.no_data_dir", &[])))
}

fn open_store(data_dir: &Path, set_aside_damage: bool) -> Result<Store> {
    let path = data_dir.join("herald.db");
    let context = || {
        i18n::text(
            "error.open_database",
            &[("path", &path.display().to_string())],
        )
    };
    let (store, set_aside) = if set_aside_damage {
        Store::open_or_set_aside(&path, BatchLimits::default()).with_context(context)?
    } else {
        Store::open(&path, BatchLimits::default())
            .map_err(|error| {
                let message = if error.is_damage() {
                    i18n::text("error.damaged_database", &[("error", &error.to_string())])
                } else {
                    error.to_string()
                };
                anyhow!(message).context(context())
            })
            .map(|store| (store, None))?
    };
    // From here on, the command speaks the language chosen in the window
    // (before it, the OS locale's).
    i18n::apply_stored(&store);
    if let Some(set_aside) = set_aside {
        let notice = set_aside_notice(&path, &set_aside);
        eprintln!("{}", i18n::text("cli.prefixed", &[("message", &notice)]));
    }
    Ok(store)
}

/// What the user reads when a damaged database was replaced.
pub fn set_aside_notice(path: &Path, set_aside: &herald_core::store::SetAside) -> String {
    i18n::text(
        "error.database_set_aside",
        &[
            ("path", &path.display().to_string()),
            ("reason", &set_aside.reason),
            ("kept_at", &set_aside.kept_at.display().to_string()),
        ],
    )
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

// ---------------------------------------------------------------- sources

fn source(store: &Store, command: SourceCommand) -> Result<ExitCode> {
    match command {
        SourceCommand::Add(args) => {
            let id = add_source(store, *args)?;
            println!("{id}");
        }
        SourceCommand::List { json } => list_sources(store, json)?,
        SourceCommand::Remove { id, keep_messages } => {
            let id = SourceId(id);
            let deleted = admin::remove(store, id, !keep_messages)?;
            let id = id.to_string();
            if keep_messages {
                println!("{}", i18n::text("cli.source.removed_keep", &[("id", &id)]));
            } else {
                let removed = i18n::count("cli.source.removed", deleted as u64, &[("id", &id)]);
                println!("{removed}");
            }
        }
        SourceCommand::Enable { id } => set_enabled(store, SourceId(id), true)?,
        SourceCommand::Disable { id } => set_enabled(store, SourceId(id), false)?,
        SourceCommand::Test { id, listen, json } => {
            return test_source(store, SourceId(id), listen, json)
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn protocol(arg: ProtocolArg) -> Protocol {
    match arg {
        ProtocolArg::Ntfy => Protocol::Ntfy,
        ProtocolArg::Gotify => Protocol::Gotify,
        ProtocolArg::Json => Protocol::Json,
        ProtocolArg::Stomp => Protocol::Stomp,
        ProtocolArg::Mqtt => Protocol::Mqtt,
    }
}

fn add_source(store: &Store, args: SourceAddArgs) -> Result<SourceId> {
    let protocol = protocol(args.protocol);
    let mut config = SourceConfig {
        auth: if args.auth_in_query {
            AuthPlacement::Query
        } else {
            AuthPlacement::Header
        },
        subscribe_frame: args.subscribe_frame,
        resume_url: args.resume_url,
        text_frames: args.text_frames,
        ca_file: args.ca_file,
        read_timeout_secs: args.read_timeout,
        max_frame_bytes: args.max_frame_bytes,
        subscriptions: args.subscriptions,
        virtual_host: args.vhost,
        client_id: args.client_id,
        qos: args.qos,
        durable: args.durable,
        id_header: args.id_header,
        allow_plain_credentials: args.allow_plain_credentials,
        ..SourceConfig::default()
    };
    for header in &args.headers {
        config.headers.push(parse_header(header)?);
    }
    let mapped = matches!(protocol, Protocol::Json | Protocol::Stomp | Protocol::Mqtt);
    if !mapped && !args.map.is_empty() {
        bail!(i18n::text("error.map_not_mapped", &[]));
    }
    for assignment in &args.map {
        config.map.set(assignment)?;
    }
    let draft = admin::SourceDraft {
        name: args.name,
        protocol,
        url: args.url,
        enabled: !args.disabled,
        config,
    };
    let credentials = Credentials {
        token: args.token.map(Secret::new),
        username: args.username,
        password: args.password.map(Secret::new),
    };
    admin::add(store, draft, &credentials).map_err(|error| match error {
        admin::AdminError::Field(error) => anyhow!("{}: {}", flag_for(error.field), error.message),
        admin::AdminError::Store(error) => {
            anyhow::Error::new(error).context(i18n::text("error.add_source", &[]))
        }
    })
}

/// The `source add` flag that sets a form field, for error messages.
fn flag_for(field: &str) -> &'static str {
    match field {
        "name" => "--name",
        "url" => "--url",
        "headers" => "--header",
        "map" => "--map",
        "subscribe_frame" => "--subscribe-frame",
        "resume_url" => "--resume-url",
        "text_frames" => "--text-frames",
        "ca_file" => "--ca-file",
        "read_timeout_secs" => "--read-timeout",
        "max_frame_bytes" => "--max-frame-bytes",
        "subscriptions" => "--subscribe",
        "virtual_host" => "--vhost",
        "client_id" => "--client-id",
        "qos" => "--qos",
        "durable" => "--durable",
        "id_header" => "--id-header",
        "allow_plain_credentials" => "--allow-plain-credentials",
        "protocol" => "--protocol",
        _ => "--token/--username/--password",
    }
}

/// `source list --json`: configuration without secrets, with live counters.
#[derive(Serialize)]
struct SourceListing {
    id: SourceId,
    name: String,
    protocol: Protocol,
    url: String,
    enabled: bool,
    /// "none", "keyring" or "database".
    secret_store: store::SecretStore,
    auth: AuthPlacement,
    /// Header names only: values may be keys.
    headers: Vec<String>,
    state: String,
    state_since: Option<i64>,
    retry_at: Option<i64>,
    attempts: u32,
    last_error: Option<String>,
    frames_received: u64,
    frames_rejected: u64,
    frames_malformed: u64,
    messages_stored: u64,
    messages_dropped: u64,
    stored: u64,
    unread: u64,
}

fn list_sources(store: &Store, json: bool) -> Result<()> {
    let (records, stats) = store
        .read(|connection| Ok((store::list_sources(connection)?, store::stats(connection)?)))?;
    let listings: Vec<SourceListing> = records
        .into_iter()
        .map(|record| {
            let counts = stats
                .sources
                .iter()
                .find(|source| source.id == record.id)
                .cloned()
                .unwrap_or_default();
            SourceListing {
                id: record.id,
                url: redact_url(&record.url),
                name: record.name,
                protocol: record.protocol,
                enabled: record.enabled,
                secret_store: record.secret_store,
                auth: record.config.auth,
                headers: record
                    .config
                    .headers
                    .iter()
                    .map(|(name, _)| name.clone())
                    .collect(),
                state: counts.state,
                state_since: counts.state_since,
                retry_at: counts.retry_at,
                attempts: counts.attempts,
                last_error: counts.last_error,
                frames_received: counts.frames_received,
                frames_rejected: counts.frames_rejected,
                frames_malformed: counts.frames_malformed,
                messages_stored: counts.messages_stored,
                messages_dropped: counts.messages_dropped,
                stored: counts.stored,
                unread: counts.unread,
            }
        })
        .collect();
    if json {
        return output::print_json(&listings);
    }
    if listings.is_empty() {
        println!("{}", i18n::text("cli.source.none", &[]));
        return Ok(());
    }
    for source in &listings {
        let secrets = match source.secret_store {
            store::SecretStore::None => "cli.source.secrets_none",
            store::SecretStore::Keyring => "cli.source.secrets_keyring",
            store::SecretStore::Database => "cli.source.secrets_database",
        };
        println!(
            "{:>4}  {} {:<6} {} {}",
            source.id.0,
            output::column(&output::terminal_safe(&source.name), 20),
            source.protocol,
            output::column(&state_text(source.enabled, &source.state), 9),
            output::terminal_safe(&source.url)
        );
        println!(
            "      {}",
            i18n::text(
                "cli.source.counts",
                &[
                    ("stored", &source.stored.to_string()),
                    ("unread", &source.unread.to_string()),
                    ("frames", &source.frames_received.to_string()),
                    ("rejected", &source.frames_rejected.to_string()),
                    ("malformed", &source.frames_malformed.to_string()),
                    ("secrets", &i18n::text(secrets, &[])),
                ],
            )
        );
        if let Some(error) = &source.last_error {
            let error = output::terminal_safe(error);
            println!(
                "      {}",
                i18n::text("cli.source.last_error", &[("error", &error)])
            );
        }
    }
    Ok(())
}

/// A source's state as `source list` shows it.
fn state_text(enabled: bool, state: &str) -> String {
    let key = match state {
        _ if !enabled => "cli.source.state.disabled",
        "idle" => "cli.source.state.idle",
        "connecting" => "cli.source.state.connecting",
        "connected" => "cli.source.state.connected",
        "retrying" => "cli.source.state.retrying",
        "auth_failed" => "cli.source.state.auth_failed",
        "disabled" => "cli.source.state.disabled",
        "stopped" => "cli.source.state.stopped",
        other => return other.to_string(),
    };
    i18n::text(key, &[])
}

/// Hides query values that look like credentials.
fn redact_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return text.to_string();
    };
    const SENSITIVE: [&str; 7] = [
        "token", "auth", "key", "apikey", "api_key", "password", "secret",
    ];
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let hidden = SENSITIVE.contains(&key.to_ascii_lowercase().as_str());
            (
                key.into_owned(),
                if hidden {
                    "redacted".to_string()
                } else {
                    value.into_owned()
                },
            )
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let _ = url.set_password(None);
    url.to_string()
}

fn set_enabled(store: &Store, id: SourceId, enabled: bool) -> Result<()> {
    store
        .write(move |transaction| store::set_source_enabled(transaction, id, enabled, now_ms()))?;
    let key = if enabled {
        "cli.source.enabled"
    } else {
        "cli.source.disabled"
    };
    println!("{}", i18n::text(key, &[("id", &id.to_string())]));
    Ok(())
}

fn load_spec(store: &Store, id: SourceId) -> Result<SourceSpec> {
    Ok(admin::spec(store, id)?)
}

fn test_source(store: &Store, id: SourceId, listen: u64, json: bool) -> Result<ExitCode> {
    let spec = load_spec(store, id)?;
    let report = runtime()?.block_on(herald_core::source::probe::probe(
        &spec,
        Duration::from_secs(listen),
    ));
    if json {
        output::print_json(&report)?;
    } else if report.connected {
        println!(
            "{}",
            i18n::text(
                "cli.source.test_connected",
                &[
                    ("url", &redact_url(spec.url.as_str())),
                    ("ms", &report.connect_ms.unwrap_or(0).to_string()),
                    ("frames", &report.frames.to_string()),
                    ("messages", &report.messages.to_string()),
                    ("malformed", &report.malformed.to_string()),
                    ("listen", &listen.to_string()),
                ],
            )
        );
        if let Some(first) = &report.first_message {
            let first = output::terminal_safe(first);
            println!(
                "{}",
                i18n::text("cli.source.test_first", &[("message", &first)])
            );
        }
        if let Some(error) = &report.error {
            let error = output::terminal_safe(error);
            println!(
                "{}",
                i18n::text("cli.source.test_problem", &[("error", &error)])
            );
        }
    } else {
        let error = report
            .error
            .clone()
            .unwrap_or_else(|| i18n::text("error.connection_failed", &[]));
        let error = output::terminal_safe(&error);
        eprintln!("{}", i18n::text("cli.prefixed", &[("message", &error)]));
    }
    Ok(if report.connected && report.malformed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

// ----------------------------------------------------------------- engine

/// `run --headless`: the engine without a window.
fn run(store: &Store, args: RunArgs) -> Result<ExitCode> {
    runtime()?.block_on(run_engine(store.clone(), args.exit_after, args.quiet))?;
    Ok(ExitCode::SUCCESS)
}

/// `demo --headless`: the demo feed and the engine, without a window.
fn demo(store: &Store, args: DemoArgs) -> Result<ExitCode> {
    runtime()?.block_on(async {
        let feed = herald_core::demo::DemoFeed::start(
            Duration::from_millis(args.interval_ms.max(100)),
            now_ms() / 1000,
        )
        .await
        .with_context(|| i18n::text("error.demo_feed", &[]))?;
        herald_core::demo::ensure_source(store, feed.url()).await?;
        eprintln!(
            "{}",
            i18n::text("cli.demo.running", &[("url", &feed.url().to_string())])
        );
        let outcome = run_engine(store.clone(), args.exit_after, false).await;
        feed.stop().await;
        outcome
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the engine until Ctrl+C, SIGTERM or `exit_after` seconds, printing
/// one line per new message, then shuts down gracefully (everything received
/// is committed, sockets are closed).
async fn run_engine(store: Store, exit_after: Option<u64>, quiet: bool) -> Result<()> {
    let names = store.read_async(store::source_names).await?;
    let engine = Engine::start(store.clone()).await?;
    // Notifications work without a window too; a click has no window to
    // open, but "Mark read" does what it says.
    let (reactions, mut reaction_stream) = tokio::sync::mpsc::unbounded_channel();
    let icon = store
        .path()
        .parent()
        .and_then(crate::app::notification_icon);
    let _notifier =
        crate::notifier::start(store.clone(), engine.subscribe(), icon, reactions, || {});
    let marker = store.clone();
    tokio::spawn(async move {
        while let Some(reaction) = reaction_stream.recv().await {
            if let crate::notifier::Reaction::MarkRead(id) = reaction {
                let selection = Selection::Ids(vec![id]);
                let _ = marker
                    .write_async(move |transaction| store::set_read(transaction, &selection, true))
                    .await;
            }
        }
    });
    let enabled = store
        .read_async(|connection| {
            Ok(store::list_sources(connection)?
                .iter()
                .filter(|source| source.enabled)
                .count())
        })
        .await?;
    if enabled == 0 {
        eprintln!("{}", i18n::text("cli.run.no_sources", &[]));
    }
    let mut events = engine.subscribe();
    let deadline = async {
        match exit_after {
            Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut stdout = std::io::stdout();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(EngineEvent::Stored(stored)) if !quiet => {
                    use std::io::Write;
                    let mut lines = String::new();
                    for message in stored.iter() {
                        let name = names.get(&message.source_id).map(String::as_str).unwrap_or("?");
                        lines.push_str(&output::message_line(name, &message.message, message.message.sent_at));
                        lines.push('\n');
                    }
                    let _ = stdout.write_all(lines.as_bytes());
                    let _ = stdout.flush();
                }
                Ok(EngineEvent::State(id, state)) if !quiet => {
                    let name = names.get(&id).map(String::as_str).unwrap_or("?");
                    report_state(name, &state);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(skipped)) => {
                    if !quiet {
                        eprintln!("{}", i18n::count("cli.run.lagged", skipped, &[]));
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            _ = &mut deadline => break,
        }
    }
    engine.shutdown().await;
    Ok(())
}

fn report_state(name: &str, state: &SourceState) {
    let name = output::terminal_safe(name);
    match state {
        SourceState::Connected { .. } => {
            eprintln!("{}", i18n::text("cli.run.connected", &[("name", &name)]))
        }
        SourceState::Retrying { at, .. } => {
            let seconds = ((at - now_ms()) as f64 / 1000.0).max(0.0);
            let seconds = format!("{seconds:.1}");
            eprintln!(
                "{}",
                i18n::text(
                    "cli.run.reconnecting",
                    &[("name", &name), ("seconds", &seconds)]
                )
            );
        }
        SourceState::AuthFailed { .. } => {
            eprintln!("{}", i18n::text("cli.run.auth_failed", &[("name", &name)]))
        }
        _ => {}
    }
}

// --------------------------------------------------------------- messages

fn filter_from(args: &ListArgs) -> MessageFilter {
    let view = if args.unread {
        View::Unread
    } else if args.starred {
        View::Starred
    } else if args.archived {
        View::Archived
    } else if args.all || args.search.is_some() {
        View::All
    } else {
        View::Inbox
    };
    MessageFilter {
        view,
        source: args.source.map(SourceId),
        min_priority: args
            .min_priority
            .map(|priority| Priority::clamped(i64::from(priority))),
        tag: args.tag.clone(),
        before: args.before.map(MessageId),
        ..MessageFilter::default()
    }
}

fn selection(ids: &[i64], all: bool, source: Option<i64>) -> Result<Selection> {
    if all {
        return Ok(source.map_or(Selection::All, |source| Selection::Source(SourceId(source))));
    }
    if ids.is_empty() {
        bail!(i18n::text("error.no_ids", &[]));
    }
    Ok(Selection::Ids(ids.iter().copied().map(MessageId).collect()))
}

fn messages(store: &Store, command: MessagesCommand) -> Result<ExitCode> {
    let changed = match command {
        MessagesCommand::List(args) => {
            list_messages(store, &args)?;
            return Ok(ExitCode::SUCCESS);
        }
        MessagesCommand::Read(pick) => {
            let selection = selection(&pick.ids, pick.all, pick.source)?;
            store.write(move |transaction| store::set_read(transaction, &selection, true))?
        }
        MessagesCommand::Unread(pick) => {
            let selection = selection(&pick.ids, pick.all, pick.source)?;
            store.write(move |transaction| store::set_read(transaction, &selection, false))?
        }
        MessagesCommand::Star { ids } => {
            let selection = selection(&ids, false, None)?;
            store.write(move |transaction| store::set_starred(transaction, &selection, true))?
        }
        MessagesCommand::Unstar { ids } => {
            let selection = selection(&ids, false, None)?;
            store.write(move |transaction| store::set_starred(transaction, &selection, false))?
        }
        MessagesCommand::Archive { ids } => {
            let selection = selection(&ids, false, None)?;
            store.write(move |transaction| {
                store::set_archived(transaction, &selection, true, now_ms())
            })?
        }
        MessagesCommand::Unarchive { ids } => {
            let selection = selection(&ids, false, None)?;
            store.write(move |transaction| {
                store::set_archived(transaction, &selection, false, now_ms())
            })?
        }
        MessagesCommand::Snooze { ids, until } => {
            let until = parse_until(&until, now_ms())?;
            let selection = selection(&ids, false, None)?;
            store.write(move |transaction| store::snooze(transaction, &selection, Some(until)))?
        }
        MessagesCommand::Delete(pick) => {
            let selection = selection(&pick.ids, pick.all, pick.source)?;
            store.write(move |transaction| store::delete_messages(transaction, &selection))?
        }
    };
    println!(
        "{}",
        i18n::count("cli.messages.changed", changed as u64, &[])
    );
    Ok(ExitCode::SUCCESS)
}

/// `+30m`, `+2h`, `+1d`, `+1w` from now, or an RFC 3339 time.
fn parse_until(text: &str, now: i64) -> Result<i64> {
    let quoted = format!("{text:?}");
    let bad = |key| anyhow!(i18n::text(key, &[("text", &quoted)]));
    if let Some(relative) = text.strip_prefix('+') {
        let (number, unit) = relative.split_at(
            relative
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(relative.len()),
        );
        let amount: i64 = number.parse().map_err(|_| bad("error.until_number"))?;
        let unit_ms = match unit {
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => return Err(bad("error.until_unit")),
        };
        return Ok(now + amount * unit_ms);
    }
    let moment = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad("error.until_time"))?;
    Ok((moment.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn list_messages(store: &Store, args: &ListArgs) -> Result<()> {
    let filter = filter_from(args);
    let limit = args.limit;
    if let Some(query) = args.search.clone() {
        let hits = store
            .read(move |connection| store::search(connection, &query, &filter, limit, now_ms()))?;
        let messages: Vec<_> = hits.into_iter().map(|hit| hit.message).collect();
        return print_messages(&messages, args.json);
    }
    let messages =
        store.read(move |connection| store::list_messages(connection, &filter, limit, now_ms()))?;
    print_messages(&messages, args.json)
}

fn print_messages(messages: &[herald_core::model::Message], json: bool) -> Result<()> {
    if json {
        return output::print_json(messages);
    }
    if messages.is_empty() {
        println!("{}", i18n::text("cli.messages.none", &[]));
    }
    for message in messages {
        println!("{}", output::message_row(message));
    }
    Ok(())
}

fn search(store: &Store, args: SearchArgs) -> Result<ExitCode> {
    let query = args.query.clone();
    let limit = args.limit;
    let hits = store.read(move |connection| {
        store::search(
            connection,
            &query,
            &MessageFilter {
                view: View::All,
                ..Default::default()
            },
            limit,
            now_ms(),
        )
    })?;
    if args.json {
        output::print_json(&hits)?;
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        let query = format!("{:?}", output::terminal_safe(&args.query));
        println!("{}", i18n::text("cli.search.none", &[("query", &query)]));
    }
    let bold = std::io::IsTerminal::is_terminal(&std::io::stdout());
    for hit in &hits {
        println!("{}", output::message_row(&hit.message));
        // Private-use markers survive terminal_safe; they become bold only on a terminal.
        let excerpt = output::terminal_safe(&hit.snippet.marked("\u{E000}", "\u{E001}"));
        let (open, close) = if bold {
            ("\u{1b}[1m", "\u{1b}[0m")
        } else {
            ("", "")
        };
        println!(
            "          {}",
            excerpt.replace('\u{E000}', open).replace('\u{E001}', close)
        );
    }
    Ok(ExitCode::SUCCESS)
}

// ------------------------------------------------------------ maintenance

fn export(store: &Store, file: &Path) -> Result<ExitCode> {
    let path = file.display().to_string();
    let count = store::export_jsonl(store, file)
        .with_context(|| i18n::text("error.export", &[("path", &path)]))?;
    println!(
        "{}",
        i18n::count("cli.export.done", count, &[("path", &path)])
    );
    Ok(ExitCode::SUCCESS)
}

fn import(store: &Store, file: &Path) -> Result<ExitCode> {
    let report = store::import_jsonl(store, file, now_ms())
        .with_context(|| i18n::text("error.import", &[("path", &file.display().to_string())]))?;
    println!(
        "{}",
        i18n::count(
            "cli.import.done",
            report.imported,
            &[("duplicates", &report.duplicates.to_string())],
        )
    );
    for name in &report.sources_created {
        let name = format!("{:?}", output::terminal_safe(name));
        println!(
            "{}",
            i18n::text("cli.import.source_created", &[("name", &name)])
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn stats(store: &Store, json: bool) -> Result<ExitCode> {
    let stats = store.read(store::stats)?;
    if json {
        output::print_json(&stats)?;
        return Ok(ExitCode::SUCCESS);
    }
    for source in &stats.sources {
        let name = output::column(&output::terminal_safe(&source.name), 20);
        println!(
            "{}",
            i18n::text(
                "cli.stats.source",
                &[
                    ("id", &format!("{:>4}", source.id.0)),
                    ("name", &name),
                    ("stored", &format!("{:>9}", source.stored)),
                    ("unread", &format!("{:>9}", source.unread)),
                    ("rejected", &format!("{:>7}", source.frames_rejected)),
                    ("malformed", &format!("{:>7}", source.frames_malformed)),
                ],
            )
        );
    }
    println!(
        "{}",
        i18n::text(
            "cli.stats.total",
            &[
                ("stored", &stats.totals.stored.to_string()),
                ("unread", &stats.totals.unread.to_string()),
                ("rejected", &stats.totals.frames_rejected.to_string()),
                ("malformed", &stats.totals.frames_malformed.to_string()),
            ],
        )
    );
    Ok(ExitCode::SUCCESS)
}

fn retention(store: &Store, args: RetentionArgs) -> Result<ExitCode> {
    let mut current = store.read(store::retention)?;
    if args.max_age_days.is_some() || args.max_per_source.is_some() {
        if let Some(days) = args.max_age_days {
            current.max_age_days = (days > 0).then_some(days);
        }
        if let Some(count) = args.max_per_source {
            current.max_per_source = (count > 0).then_some(count);
        }
        let saved: Retention = current;
        store.write(move |transaction| store::set_retention(transaction, &saved))?;
    }
    if args.json {
        output::print_json(&current)?;
    } else {
        let age = current.max_age_days.map_or_else(
            || i18n::text("cli.retention.forever", &[]),
            |days| i18n::count("cli.retention.days", days.into(), &[]),
        );
        let count = current.max_per_source.map_or_else(
            || i18n::text("cli.retention.no_limit", &[]),
            |count| i18n::count("cli.retention.per_source", count.into(), &[]),
        );
        println!(
            "{}",
            i18n::text("cli.retention.kept", &[("age", &age), ("count", &count)])
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn prune(store: &Store) -> Result<ExitCode> {
    let retention = store.read(store::retention)?;
    let deleted =
        store.write(move |transaction| store::prune(transaction, &retention, now_ms()))?;
    println!("{}", i18n::count("cli.prune.done", deleted as u64, &[]));
    Ok(ExitCode::SUCCESS)
}

fn check(store: &Store, json: bool) -> Result<ExitCode> {
    let report = store.read(store::check_integrity)?;
    if json {
        output::print_json(&report)?;
    } else {
        println!(
            "{}",
            i18n::text(
                "cli.check.report",
                &[
                    ("database", &report.sqlite),
                    ("search_index", &report.search_index),
                    ("counts", &report.counts),
                    ("messages", &report.messages.to_string()),
                    ("indexed", &report.indexed.to_string()),
                ],
            )
        );
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_accepts_offsets_and_times() {
        assert_eq!(parse_until("+2h", 1_000).expect("valid"), 1_000 + 7_200_000);
        assert_eq!(parse_until("+30m", 0).expect("valid"), 1_800_000);
        assert_eq!(
            parse_until("2026-01-01T00:00:00Z", 0).expect("valid"),
            1_767_225_600_000
        );
        assert!(parse_until("+2y", 0).is_err());
        assert!(parse_until("tomorrow", 0).is_err());
    }

    #[test]
    fn urls_lose_their_credentials_when_listed() {
        assert_eq!(
            redact_url("wss://h/stream?token=abc&x=1"),
            "wss://h/stream?token=redacted&x=1"
        );
        assert_eq!(redact_url("wss://u:pw@h/a/ws"), "wss://u@h/a/ws");
    }
}
