//! The engine: starts a task per enabled source, funnels what they receive
//! into the store's writer, and reports each commit's new messages and
//! each source's state to whoever subscribes (the CLI, later the window).
//!
//! ```text
//! source tasks ──SourceEvent (bounded)──> hub: rules ──IngestBatch──> writer thread
//!                                          │                              │
//!                              states ─────┘              IngestReport ───┘
//!                                 │                             │
//!                                 │          webhooks, commands <┤ (dispatch)
//!                                 └──────> broadcast EngineEvent <┘
//! ```
//!
//! The routing rules run in the hub, before the writer: a dropped message
//! is never written (its cursor still moves past it), and tags, group,
//! read and star are stored with the row in the same transaction.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::dispatch::Dispatcher;
use crate::model::SourceId;
use crate::rules::RuleSet;
use crate::source::{self, SourceContext, SourceEvent, SourceSpec, SourceState};
use crate::store::{
    self, FrameCounters, IngestBatch, IngestReport, SourceRecord, Store, StoreError, StoredMessage,
};

/// What the engine announces.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// Messages committed by one transaction that were not stored before.
    Stored(Arc<Vec<StoredMessage>>),
    /// A source's connection state changed.
    State(SourceId, SourceState),
}

/// Live state of every source the engine knows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusBoard {
    pub states: HashMap<SourceId, SourceState>,
}

struct RunningSource {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// A running engine. Dropping it without [`Engine::shutdown`] aborts the
/// tasks; shutting down flushes everything received to disk first.
pub struct Engine {
    store: Store,
    events: broadcast::Sender<EngineEvent>,
    states: Arc<Mutex<StatusBoard>>,
    sources: Mutex<HashMap<SourceId, RunningSource>>,
    /// Taken (and so closed) at shutdown, which lets the hub drain and stop.
    source_events: Mutex<Option<mpsc::Sender<SourceEvent>>>,
    background: Mutex<Option<Background>>,
    stop_pruner: watch::Sender<bool>,
    rules: SharedRules,
    /// "Pause all sources": no source connects until resumed.
    paused: std::sync::atomic::AtomicBool,
}

/// The rules the hub applies, swapped whole when they change.
type SharedRules = Arc<RwLock<Arc<RuleSet>>>;

/// The engine's own tasks, awaited in order at shutdown.
struct Background {
    hub: JoinHandle<()>,
    reporter: JoinHandle<()>,
    pruner: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    watcher: JoinHandle<()>,
}

/// How often the retention settings are applied while the engine runs.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Room for this many received messages between the sources and the writer;
/// when it fills, sources stop reading their sockets until the writer catches up.
const SOURCE_CHANNEL: usize = 16_384;

impl Engine {
    /// Starts the engine over `store` and connects every enabled source.
    pub async fn start(store: Store) -> Result<Engine, StoreError> {
        let (events, _) = broadcast::channel(1024);
        let (source_events, incoming) = mpsc::channel(SOURCE_CHANNEL);
        let (reports, report_stream) = mpsc::unbounded_channel();
        let states = Arc::new(Mutex::new(StatusBoard::default()));
        let rules: SharedRules = Arc::new(RwLock::new(Arc::new(load_rules(&store).await?)));
        let hub = tokio::spawn(hub(
            incoming,
            store.clone(),
            reports,
            states.clone(),
            events.clone(),
            rules.clone(),
        ));
        let (deliveries, dispatcher) = Dispatcher::start(store.clone());
        let reporter = tokio::spawn(reporter(
            report_stream,
            events.clone(),
            deliveries,
            store.clone(),
        ));
        let (stop_pruner, pruner_stopped) = watch::channel(false);
        let watcher = tokio::spawn(watch_rules(
            store.clone(),
            rules.clone(),
            pruner_stopped.clone(),
        ));
        let pruner = tokio::spawn(pruner(store.clone(), pruner_stopped));
        let engine = Engine {
            store,
            events,
            states,
            sources: Mutex::new(HashMap::new()),
            source_events: Mutex::new(Some(source_events)),
            background: Mutex::new(Some(Background {
                hub,
                reporter,
                pruner,
                dispatcher,
                watcher,
            })),
            stop_pruner,
            rules,
            paused: std::sync::atomic::AtomicBool::new(false),
        };
        let paused = engine
            .store
            .read_async(store::rules::quiet)
            .await
            .map(|quiet| quiet.sources_paused)
            .unwrap_or(false);
        engine
            .paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
        let records = engine.store.read_async(store::list_sources).await?;
        for record in records {
            engine.start_source(record).await?;
        }
        Ok(engine)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    pub fn status(&self) -> StatusBoard {
        self.states
            .lock()
            .map(|board| board.clone())
            .unwrap_or_default()
    }

    /// Reads the rules again; call it after any change to them. Messages
    /// already on their way to the writer keep the rules they were routed by.
    pub async fn reload_rules(&self) -> Result<(), StoreError> {
        let rules = Arc::new(load_rules(&self.store).await?);
        if let Ok(mut slot) = self.rules.write() {
            *slot = rules;
        }
        Ok(())
    }

    /// Starts (or restarts) a source from its stored configuration: call it
    /// after adding, editing or enabling one.
    pub async fn reload_source(&self, id: SourceId) -> Result<(), StoreError> {
        self.stop_source(id).await;
        let record = self
            .store
            .read_async(move |connection| store::get_source(connection, id))
            .await?;
        self.start_source(record).await
    }

    /// Stops a source's task (after disabling or before removing it).
    pub async fn stop_source(&self, id: SourceId) {
        let running = self
            .sources
            .lock()
            .ok()
            .and_then(|mut sources| sources.remove(&id));
        if let Some(running) = running {
            let _ = running.stop.send(true);
            if tokio::time::timeout(Duration::from_secs(5), running.task)
                .await
                .is_err()
            {
                tracing::warn!(source = %id, "source task did not stop in time");
            }
        }
        if let Ok(mut board) = self.states.lock() {
            board.states.remove(&id);
        }
    }

    /// Whether every source is paused.
    pub fn paused(&self) -> bool {
        self.paused.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Pauses every source (they disconnect and show as stopped) or resumes
    /// the enabled ones. The choice is kept across restarts by the caller
    /// (`Quiet::sources_paused`).
    pub async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        self.paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
        let records = self.store.read_async(store::list_sources).await?;
        for record in records {
            if paused {
                self.stop_source(record.id).await;
                let state = if record.enabled {
                    SourceState::Stopped
                } else {
                    SourceState::Disabled
                };
                self.set_state(record.id, state);
            } else {
                self.reload_source(record.id).await?;
            }
        }
        Ok(())
    }

    async fn start_source(&self, record: SourceRecord) -> Result<(), StoreError> {
        let id = record.id;
        if !record.enabled {
            self.set_state(id, SourceState::Disabled);
            return Ok(());
        }
        if self.paused() {
            self.set_state(id, SourceState::Stopped);
            return Ok(());
        }
        let store = self.store.clone();
        let kept_in = record.secret_store;
        let credentials =
            tokio::task::spawn_blocking(move || crate::secrets::load(&store, id, kept_in))
                .await
                .map_err(|join| {
                    StoreError::Invalid(crate::i18n::text(
                        "error.load_credentials",
                        &[("error", &join.to_string())],
                    ))
                })?;
        let credentials = match credentials {
            Ok(credentials) => credentials,
            Err(error) => {
                // One source's unreadable secret must not stop the others.
                tracing::error!(source = %record.name, %error, "cannot start source");
                let counters = FrameCounters {
                    last_error: Some((error.to_string(), crate::model::now_ms())),
                    ..FrameCounters::default()
                };
                if let Some(events) = self.sender() {
                    let _ = events.send(SourceEvent::Counters(id, counters)).await;
                    let _ = events
                        .send(SourceEvent::State(id, SourceState::Stopped))
                        .await;
                }
                return Ok(());
            }
        };
        let url = match crate::config::normalize_url(record.protocol, &record.url) {
            Ok(url) => url,
            Err(error) => {
                tracing::error!(source = %record.name, %error, "cannot start source");
                return Ok(());
            }
        };
        let spec = SourceSpec {
            id,
            name: record.name,
            protocol: record.protocol,
            url,
            config: record.config,
            credentials,
        };
        let Some(events) = self.sender() else {
            // Shutting down: start nothing new.
            return Ok(());
        };
        let (stop, shutdown) = watch::channel(false);
        let context = SourceContext {
            events,
            store: Some(self.store.clone()),
            shutdown,
        };
        let task = tokio::spawn(source::run(spec, context));
        if let Ok(mut sources) = self.sources.lock() {
            sources.insert(id, RunningSource { stop, task });
        }
        Ok(())
    }

    fn sender(&self) -> Option<mpsc::Sender<SourceEvent>> {
        self.source_events
            .lock()
            .ok()
            .and_then(|events| events.clone())
    }

    fn set_state(&self, id: SourceId, state: SourceState) {
        if let Ok(mut board) = self.states.lock() {
            board.states.insert(id, state.clone());
        }
        let _ = self.events.send(EngineEvent::State(id, state));
    }

    /// Stops every source, commits everything received, and closes the store.
    /// Later calls do nothing.
    pub async fn shutdown(&self) {
        let running: Vec<RunningSource> = self
            .sources
            .lock()
            .map(|mut sources| sources.drain().map(|(_, running)| running).collect())
            .unwrap_or_default();
        for source in &running {
            let _ = source.stop.send(true);
        }
        for source in running {
            if tokio::time::timeout(Duration::from_secs(5), source.task)
                .await
                .is_err()
            {
                tracing::warn!("a source task did not stop in time");
            }
        }
        let Some(background) = self
            .background
            .lock()
            .ok()
            .and_then(|mut tasks| tasks.take())
        else {
            return;
        };
        let _ = self.stop_pruner.send(true);
        let _ = background.pruner.await;
        let _ = background.watcher.await;
        drop(
            self.source_events
                .lock()
                .ok()
                .and_then(|mut events| events.take()),
        );
        let _ = background.hub.await;
        let _ = background.reporter.await;
        // Deliveries under way get a moment to finish; a slow one is stopped
        // (its command killed) rather than holding the exit up.
        let mut dispatcher = background.dispatcher;
        if tokio::time::timeout(Duration::from_secs(5), &mut dispatcher)
            .await
            .is_err()
        {
            tracing::warn!("stopped webhook and command deliveries still under way");
            dispatcher.abort();
        }
        let store = self.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.close()).await;
    }
}

/// The stored rules, compiled. A rule that no longer compiles (stored by a
/// Herald with another regex engine, say) is left out and logged rather
/// than stopping the others.
async fn load_rules(store: &Store) -> Result<RuleSet, StoreError> {
    let rules = store.read_async(store::rules::list_rules).await?;
    match RuleSet::compile(rules.clone()) {
        Ok(set) => Ok(set),
        Err(error) => {
            tracing::error!(%error, "a routing rule cannot be used; it is skipped");
            let usable = rules
                .into_iter()
                .filter(|rule| RuleSet::compile(vec![rule.clone()]).is_ok())
                .collect();
            Ok(RuleSet::compile(usable).unwrap_or_else(|_| RuleSet::empty()))
        }
    }
}

/// Collects source events into batches for the writer. The writer does the
/// group commit; the hub only keeps the channel short and the counters summed.
async fn hub(
    mut incoming: mpsc::Receiver<SourceEvent>,
    store: Store,
    reports: mpsc::UnboundedSender<IngestReport>,
    states: Arc<Mutex<StatusBoard>>,
    events: broadcast::Sender<EngineEvent>,
    rules: SharedRules,
) {
    let mut buffer = Vec::with_capacity(4096);
    loop {
        if incoming.recv_many(&mut buffer, 4096).await == 0 {
            return;
        }
        let rules = rules
            .read()
            .map(|slot| slot.clone())
            .unwrap_or_else(|_| Arc::new(RuleSet::empty()));
        let local = (!rules.is_empty()).then(|| crate::clock::local_time(crate::model::now_ms()));
        let mut batch = IngestBatch {
            envelopes: Vec::with_capacity(buffer.len()),
            report_to: Some(reports.clone()),
            ..IngestBatch::default()
        };
        for event in buffer.drain(..) {
            match event {
                SourceEvent::Message(mut envelope) => {
                    let counters = batch.counters.entry(envelope.source_id).or_default();
                    counters.frames_received += 1;
                    if let Some(local) = local {
                        let subject = crate::rules::Subject::new_message(
                            envelope.source_id,
                            &envelope.message,
                        );
                        let decision = rules.decide(&subject, local);
                        if decision.drop {
                            counters.messages_dropped += 1;
                        }
                        envelope.route(decision);
                    }
                    batch.envelopes.push(envelope);
                }
                SourceEvent::Counters(id, counters) => {
                    batch.counters.entry(id).or_default().merge(counters)
                }
                SourceEvent::State(id, state) => {
                    batch.states.insert(id, state.record());
                    if let Ok(mut board) = states.lock() {
                        board.states.insert(id, state.clone());
                    }
                    let _ = events.send(EngineEvent::State(id, state));
                }
            }
        }
        if let Err(error) = store.ingest(batch).await {
            tracing::error!(%error, "the store stopped accepting messages");
            return;
        }
    }
}

async fn reporter(
    mut reports: mpsc::UnboundedReceiver<IngestReport>,
    events: broadcast::Sender<EngineEvent>,
    deliveries: Dispatcher,
    store: Store,
) {
    let mut names = HashMap::new();
    while let Some(report) = reports.recv().await {
        if report.stored.is_empty() {
            continue;
        }
        let wanted = |message: &StoredMessage| !message.decision.deliveries.is_empty();
        if report.stored.iter().any(wanted) {
            if report
                .stored
                .iter()
                .any(|message| wanted(message) && !names.contains_key(&message.source_id))
            {
                names = store
                    .read_async(store::source_names)
                    .await
                    .unwrap_or_default();
            }
            deliveries.send(&report.stored, &names);
        }
        log_commit_latency(&report);
        let _ = events.send(EngineEvent::Stored(Arc::new(report.stored)));
    }
}

/// With `HERALD_LOG=herald::latency=debug`: each message's time from its
/// frame being read to its commit (the first stage of the latency figures
/// in the README; the notifier logs the next ones).
fn log_commit_latency(report: &store::IngestReport) {
    if !tracing::enabled!(target: "herald::latency", tracing::Level::DEBUG) {
        return;
    }
    let Some(committed) = report.committed else {
        return;
    };
    for message in &report.stored {
        tracing::debug!(
            target: "herald::latency",
            message = message.id.0,
            frame_to_commit_us = committed.saturating_duration_since(message.received).as_micros() as u64,
            "committed"
        );
    }
}

/// How often a running engine looks for rules changed by another process.
const RULES_POLL: Duration = Duration::from_secs(2);

/// Reloads the rules when another process (the CLI) changed them.
async fn watch_rules(store: Store, rules: SharedRules, mut stopped: watch::Receiver<bool>) {
    let fingerprint = || store.read_async(store::rules::rules_fingerprint);
    let mut seen = fingerprint().await.ok();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RULES_POLL) => {}
            _ = crate::source::stopped(&mut stopped) => return,
        }
        let Ok(now) = fingerprint().await else {
            continue;
        };
        if seen.as_ref() == Some(&now) {
            continue;
        }
        seen = Some(now);
        match load_rules(&store).await {
            Ok(loaded) => {
                if let Ok(mut slot) = rules.write() {
                    *slot = Arc::new(loaded);
                }
                tracing::info!("routing rules reloaded");
            }
            Err(error) => tracing::warn!(%error, "could not reload the routing rules"),
        }
    }
}

/// Applies the retention settings at start and then every [`PRUNE_EVERY`].
async fn pruner(store: Store, mut stopped: watch::Receiver<bool>) {
    loop {
        let outcome = async {
            let retention = store.read_async(store::retention).await?;
            if retention == store::Retention::default() {
                return Ok(0);
            }
            store
                .write_async(move |transaction| {
                    store::prune(transaction, &retention, crate::model::now_ms())
                })
                .await
        }
        .await;
        match outcome {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned messages past retention"),
            Err(error) => tracing::warn!(%error, "pruning failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = crate::source::stopped(&mut stopped) => return,
        }
    }
}
