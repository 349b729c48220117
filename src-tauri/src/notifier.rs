//! OS notifications for new messages (freedesktop notifications over the
//! session bus, through notify-rust). The engine reports what it stored;
//! the rules have already said which messages want a notification; the
//! policy ([`herald_core::policy::Gate`]) decides which are shown now, which
//! are held or summarised. This module only turns the gate's notices into
//! notifications and a click back into an action.
//!
//! Without a session bus or a notification server Herald keeps running:
//! the reason is logged once and shown by the window (`QuietView`).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use herald_core::engine::EngineEvent;
use herald_core::model::{now_ms, MessageId, SourceId};
use herald_core::policy::{self, Candidate, Gate, Notice, Policy, Quiet, SummaryKind};
use herald_core::render;
use herald_core::rules::Urgency;
use herald_core::store::{self, Store, StoredMessage};
use tokio::sync::{broadcast, mpsc, Notify};

use crate::i18n;

/// What a person did with a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Clicked it: show this message.
    Open(MessageId),
    /// Pressed "Mark read".
    MarkRead(MessageId),
}

/// Shared with the window: what the notifier is holding back and whether
/// it can show anything at all.
#[derive(Debug, Clone, Default)]
pub struct NotifierStatus {
    pub held: u64,
    /// Why notifications cannot be shown; `None` once one was shown.
    pub error: Option<String>,
    pub shown: u64,
}

/// A handle to the running notifier.
#[derive(Clone)]
pub struct Notifier {
    status: Arc<Mutex<NotifierStatus>>,
    wake: Arc<Notify>,
}

impl Notifier {
    pub fn status(&self) -> NotifierStatus {
        self.status
            .lock()
            .map(|status| status.clone())
            .unwrap_or_default()
    }

    /// Reads the policy and do-not-disturb again now (after a change), and
    /// shows what their change released.
    pub fn reload(&self) {
        self.wake.notify_one();
    }
}

/// A message counts as catch-up when it was sent this long before it arrived.
const CATCH_UP_AGE_MS: i64 = 120_000;
/// How often the policy is re-read and pending summaries are checked.
const TICK: Duration = Duration::from_secs(1);
/// Notification bodies are cut to this many characters.
const BODY_CHARS: usize = 300;
const SUMMARY_CHARS: usize = 120;
/// Notifications whose clicks are still listened for; older ones stop
/// routing clicks (each holds a bus connection).
const LISTENED: usize = 32;

/// Starts the notifier. `reactions` receives clicks and actions;
/// `status_changed` is called when held counts or availability change.
pub fn start(
    store: Store,
    events: broadcast::Receiver<EngineEvent>,
    icon: Option<PathBuf>,
    reactions: mpsc::UnboundedSender<Reaction>,
    status_changed: impl Fn() + Send + Sync + 'static,
) -> Notifier {
    let notifier = Notifier {
        status: Arc::new(Mutex::new(NotifierStatus::default())),
        wake: Arc::new(Notify::new()),
    };
    let (show, shows) = mpsc::unbounded_channel();
    let status_changed: Arc<dyn Fn() + Send + Sync> = Arc::new(status_changed);
    tokio::spawn(shower(
        shows,
        icon,
        reactions,
        notifier.status.clone(),
        status_changed.clone(),
    ));
    tokio::spawn(route(store, events, show, notifier.clone(), status_changed));
    notifier
}

/// One notification, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub message: MessageId,
    pub summary: String,
    pub body: String,
    pub urgency: Urgency,
    pub sound: Option<String>,
    /// When the frame was read off the socket, for the latency log.
    pub received: Option<std::time::Instant>,
    /// The message's place in its sender's thread of updates: a later
    /// notification with the same key replaces this one.
    pub thread: Option<(SourceId, String)>,
}

/// What the rules chose for a message the gate let through.
struct Pending {
    thread: (SourceId, String),
    urgency: Option<Urgency>,
    sound: Option<String>,
    received: std::time::Instant,
    summary: String,
    body: String,
}

async fn route(
    store: Store,
    mut events: broadcast::Receiver<EngineEvent>,
    show: mpsc::UnboundedSender<Shown>,
    notifier: Notifier,
    status_changed: Arc<dyn Fn() + Send + Sync>,
) {
    let mut gate = Gate::new();
    let (mut policy, mut quiet) = load(&store).await;
    let mut names: HashMap<SourceId, String> = HashMap::new();
    // Text of messages the gate may still show (catch-ups settle later).
    let mut pending: HashMap<MessageId, Pending> = HashMap::new();
    let mut pending_order: VecDeque<MessageId> = VecDeque::new();
    let mut tick = tokio::time::interval(TICK);
    let mut notices = Vec::new();
    loop {
        let now = now_ms();
        tokio::select! {
            event = events.recv() => match event {
                Ok(EngineEvent::Stored(stored)) => {
                    let local = herald_core::clock::local_time(now);
                    for message in stored.iter().filter(|m| m.decision.notify && !m.decision.drop) {
                        if !names.contains_key(&message.source_id) {
                            names = store
                                .read_async(store::source_names)
                                .await
                                .unwrap_or_default();
                        }
                        let source = names.get(&message.source_id).map_or("", String::as_str);
                        tracing::debug!(
                            target: "herald::latency",
                            message = message.id.0,
                            frame_to_notifier_us = message.received.elapsed().as_micros() as u64,
                            "considered for a notification"
                        );
                        pending.insert(message.id, pending_text(message, source));
                        pending_order.push_back(message.id);
                        gate.admit(candidate(message), &policy, &quiet, now, local, &mut notices);
                    }
                }
                Ok(EngineEvent::State(..)) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the notifier fell behind; some messages were not considered for notifications");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => {
                (policy, quiet) = load(&store).await;
                gate.tick(&policy, &quiet, now, herald_core::clock::local_time(now), &mut notices);
            }
            _ = notifier.wake.notified() => {
                (policy, quiet) = load(&store).await;
                gate.tick(&policy, &quiet, now, herald_core::clock::local_time(now), &mut notices);
            }
        }
        for notice in notices.drain(..) {
            if let Some(shown) = render_notice(notice, &mut pending, &names) {
                let _ = show.send(shown);
            }
        }
        // Forget the text of messages that can no longer be shown.
        while pending.len() > 4096 {
            if let Some(old) = pending_order.pop_front() {
                pending.remove(&old);
            }
        }
        if pending_order.len() > pending.len() * 2 + 64 {
            pending_order.retain(|id| pending.contains_key(id));
        }
        let held = gate.held();
        let changed = notifier
            .status
            .lock()
            .map(|mut status| std::mem::replace(&mut status.held, held) != held)
            .unwrap_or(false);
        if changed {
            status_changed();
        }
    }
}

async fn load(store: &Store) -> (Policy, Quiet) {
    let loaded = store
        .read_async(|connection| {
            Ok((
                store::rules::policy(connection)?,
                store::rules::quiet(connection)?,
            ))
        })
        .await;
    match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            tracing::warn!(%error, "cannot read the notification policy; using the defaults");
            (Policy::default(), Quiet::default())
        }
    }
}

fn candidate(message: &StoredMessage) -> Candidate {
    Candidate {
        id: message.id,
        source: message.source_id,
        priority: message.message.priority,
        catch_up: message.received_at - message.message.sent_at > CATCH_UP_AGE_MS,
        update: message.message.updates.is_some(),
    }
}

fn pending_text(message: &StoredMessage, source: &str) -> Pending {
    let title = render::display_safe(message.message.title.trim());
    let source = render::display_safe(source);
    let summary = if title.is_empty() {
        source.clone()
    } else if source.is_empty() {
        title
    } else {
        format!("{source}: {title}")
    };
    let thread = message
        .message
        .updates
        .clone()
        .unwrap_or_else(|| message.message.remote_id.clone());
    Pending {
        thread: (message.source_id, thread),
        urgency: message.decision.urgency,
        sound: message.decision.sound.clone(),
        received: message.received,
        summary: crate::output::truncate(&summary, SUMMARY_CHARS),
        body: render::plain_text(&message.message.body, message.message.format, BODY_CHARS),
    }
}

fn render_notice(
    notice: Notice,
    pending: &mut HashMap<MessageId, Pending>,
    names: &HashMap<SourceId, String>,
) -> Option<Shown> {
    match notice {
        Notice::Message(candidate) => {
            let text = pending.remove(&candidate.id)?;
            Some(Shown {
                message: candidate.id,
                summary: text.summary,
                body: text.body,
                urgency: text
                    .urgency
                    .unwrap_or_else(|| policy::urgency_for(candidate.priority)),
                sound: text.sound,
                received: Some(text.received),
                thread: Some(text.thread),
            })
        }
        Notice::Summary {
            kind,
            source,
            count,
            latest,
        } => {
            let source = source
                .and_then(|id| names.get(&id))
                .map(|name| render::display_safe(name))
                .unwrap_or_default();
            let key = match kind {
                SummaryKind::Burst => "notify.burst",
                SummaryKind::CatchUp => "notify.catch_up",
                SummaryKind::Held => "notify.held",
            };
            let summary = i18n::count(key, count, &[("source", source.as_str())]);
            Some(Shown {
                message: latest,
                summary: crate::output::truncate(&summary, SUMMARY_CHARS),
                body: i18n::text("notify.summary_body", &[]),
                urgency: Urgency::Normal,
                sound: None,
                received: None,
                thread: None,
            })
        }
    }
}

/// Why notifications cannot be shown, in words a person can act on; the
/// technical error goes to the log.
fn unavailable_reason(error: &str) -> String {
    let key = if error.contains("ServiceUnknown") || error.contains("org.freedesktop.Notifications")
    {
        "notify.no_server"
    } else if error.contains("DBUS_SESSION_BUS_ADDRESS")
        || error.contains("No such file")
        || error.contains("Connection refused")
        || error.contains("Address")
    {
        "notify.no_bus"
    } else {
        return error.chars().take(300).collect();
    };
    i18n::text(key, &[])
}

/// Escapes text for servers that read the body as markup.
fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Notifications being sent at once. A slow server (one that redraws a
/// long stack before it answers) must not hold the next one back.
const IN_FLIGHT: usize = 8;

async fn shower(
    mut shows: mpsc::UnboundedReceiver<Shown>,
    icon: Option<PathBuf>,
    reactions: mpsc::UnboundedSender<Reaction>,
    status: Arc<Mutex<NotifierStatus>>,
    status_changed: Arc<dyn Fn() + Send + Sync>,
) {
    let mut capabilities: Option<Vec<String>> = None;
    // Set by a failed show: ask the (perhaps new) server again.
    let stale = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sending = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let threads = Arc::new(Mutex::new(Threads::default()));
    let mut listening: VecDeque<tokio::task::JoinHandle<()>> = VecDeque::new();
    while let Some(shown) = shows.recv().await {
        if capabilities.is_none() || stale.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let asked = tokio::task::spawn_blocking(notify_rust::get_capabilities).await;
            tracing::debug!(target: "herald::notify", ?asked, "notification server capabilities");
            capabilities = asked.ok().and_then(Result::ok);
        }
        let markup = capabilities
            .as_ref()
            .is_some_and(|all| all.iter().any(|c| c == "body-markup"));
        let mut notification = build(&shown, markup, icon.as_deref());
        if let Some(previous) = shown
            .thread
            .as_ref()
            .and_then(|key| threads.lock().ok()?.get(key))
        {
            notification.id(previous);
        }
        let Ok(permit) = sending.clone().acquire_owned().await else {
            return;
        };
        let task = Shower {
            reactions: reactions.clone(),
            status: status.clone(),
            status_changed: status_changed.clone(),
            stale: stale.clone(),
            threads: threads.clone(),
        };
        listening.push_back(tokio::spawn(task.show(notification, shown, permit)));
        listening.retain(|task| !task.is_finished());
        while listening.len() > LISTENED {
            if let Some(oldest) = listening.pop_front() {
                oldest.abort();
            }
        }
    }
}

fn build(shown: &Shown, markup: bool, icon: Option<&std::path::Path>) -> notify_rust::Notification {
    let body = if markup {
        escape_markup(&shown.body)
    } else {
        shown.body.clone()
    };
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("Herald")
        .summary(&shown.summary)
        .body(&body)
        .urgency(match shown.urgency {
            Urgency::Low => notify_rust::Urgency::Low,
            Urgency::Normal => notify_rust::Urgency::Normal,
            Urgency::Critical => notify_rust::Urgency::Critical,
        })
        .hint(notify_rust::Hint::Category("im.received".into()))
        .action("default", &i18n::text("notify.open", &[]))
        .action("read", &i18n::text("notify.mark_read", &[]));
    if let Some(icon) = icon {
        notification.icon(&icon.to_string_lossy());
    }
    if let Some(sound) = &shown.sound {
        notification.hint(notify_rust::Hint::SoundName(sound.clone()));
    }
    notification
}

/// What one notification's task needs.
struct Shower {
    reactions: mpsc::UnboundedSender<Reaction>,
    status: Arc<Mutex<NotifierStatus>>,
    status_changed: Arc<dyn Fn() + Send + Sync>,
    stale: Arc<std::sync::atomic::AtomicBool>,
    threads: Arc<Mutex<Threads>>,
}

/// The notification shown last for each thread of updates (bounded).
#[derive(Default)]
struct Threads {
    ids: HashMap<(SourceId, String), u32>,
    order: VecDeque<(SourceId, String)>,
}

/// How many threads are remembered for replacing their notification.
const THREADS: usize = 1024;

impl Threads {
    fn get(&self, key: &(SourceId, String)) -> Option<u32> {
        self.ids.get(key).copied()
    }

    fn remember(&mut self, key: (SourceId, String), id: u32) {
        if self.ids.insert(key.clone(), id).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > THREADS {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
    }
}

impl Shower {
    /// Sends one notification, then listens for what the person does with it.
    async fn show(
        self,
        notification: notify_rust::Notification,
        shown: Shown,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let sent = notification.show_async().await;
        drop(permit);
        let handle = match sent {
            Ok(handle) => handle,
            Err(error) => {
                self.stale.store(true, std::sync::atomic::Ordering::SeqCst);
                let reason = unavailable_reason(&error.to_string());
                let first = self
                    .status
                    .lock()
                    .map(|mut status| status.error.replace(reason.clone()).is_none())
                    .unwrap_or(false);
                if first {
                    tracing::warn!(%error, "{}", i18n::text("notify.unavailable", &[("error", &reason)]));
                    (self.status_changed)();
                }
                return;
            }
        };
        if let Some(received) = shown.received {
            tracing::debug!(
                target: "herald::latency",
                message = shown.message.0,
                frame_to_shown_us = received.elapsed().as_micros() as u64,
                "notification shown"
            );
        }
        let recovered = self
            .status
            .lock()
            .map(|mut status| {
                status.shown += 1;
                status.error.take().is_some()
            })
            .unwrap_or(false);
        if recovered {
            tracing::info!("desktop notifications work again");
            (self.status_changed)();
        }
        if let (Some(key), Ok(mut threads)) = (shown.thread, self.threads.lock()) {
            threads.remember(key, handle.id());
        }
        let message = shown.message;
        let reactions = self.reactions;
        tracing::debug!(target: "herald::notify", notification = handle.id(), message = message.0, "listening for actions");
        handle
            .wait_for_action_async(|response| {
                tracing::debug!(target: "herald::notify", ?response, message = message.0, "notification answered");
                let reaction = match response {
                    notify_rust::NotificationResponse::Default => Some(Reaction::Open(message)),
                    notify_rust::NotificationResponse::Action(action) if action == "read" => {
                        Some(Reaction::MarkRead(message))
                    }
                    _ => None,
                };
                if let Some(reaction) = reaction {
                    let _ = reactions.send(reaction);
                }
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::model::{NewMessage, Priority};

    fn stored(title: &str, body: &str) -> StoredMessage {
        StoredMessage {
            id: MessageId(7),
            source_id: SourceId(1),
            received_at: 1_000_000,
            message: NewMessage {
                title: title.into(),
                body: body.into(),
                format: herald_core::model::BodyFormat::Markdown,
                priority: Priority::HIGH,
                sent_at: 1_000_000,
                ..NewMessage::default()
            },
            received: std::time::Instant::now(),
            decision: herald_core::rules::Decision::pass(),
        }
    }

    #[test]
    fn notification_text_is_plain_bounded_and_safe() {
        let long = "x".repeat(10_000);
        let message = stored(
            "Disk \u{202E}full<script>",
            &format!("**bold** <b>html</b> [link](javascript:x)\n{long}"),
        );
        let text = pending_text(&message, "Ops");
        assert!(
            text.summary.starts_with("Ops: Disk \u{FFFD}full"),
            "{}",
            text.summary
        );
        assert!(text.summary.chars().count() <= SUMMARY_CHARS + 1);
        assert!(!text.body.contains("**"), "{}", text.body);
        assert!(
            text.body.chars().count() <= BODY_CHARS + 1,
            "{}",
            text.body.len()
        );
        assert_eq!(escape_markup("<b>&</b>"), "&lt;b&gt;&amp;&lt;/b&gt;");
        let no_server = unavailable_reason("org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.Notifications was not provided by any .service files");
        assert_eq!(no_server, i18n::text("notify.no_server", &[]));
        assert!(!no_server.contains("freedesktop"));
    }

    #[test]
    fn old_messages_count_as_catch_up() {
        let mut message = stored("t", "b");
        assert!(!candidate(&message).catch_up);
        message.message.sent_at = message.received_at - CATCH_UP_AGE_MS - 1;
        assert!(candidate(&message).catch_up);
    }
}
