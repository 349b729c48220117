//! `source test`: connect once, listen briefly, and report what was found,
//! without storing anything.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message as Frame;

use super::{
    connect, connection_target, parse_frame, tls, Parsed, SessionEnd, SourceContext, SourceEvent,
    SourceSpec, SourceState,
};
use crate::model::{now_ms, Protocol};

/// What a connection test found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    pub connected: bool,
    pub auth_failed: bool,
    /// Milliseconds from starting to connect to the websocket being open.
    pub connect_ms: Option<u64>,
    pub frames: u64,
    pub messages: u64,
    pub malformed: u64,
    /// Title (or body) of the first message seen, to show the mapping works.
    pub first_message: Option<String>,
    pub error: Option<String>,
}

/// Connects with `spec`, reads for up to `listen`, and disconnects.
pub async fn probe(spec: &SourceSpec, listen: Duration) -> ProbeReport {
    let mut report = ProbeReport::default();
    let tls = match tls::client_config(spec.config.ca_file.as_deref()) {
        Ok(tls) => tls,
        Err(error) => {
            report.error = Some(error);
            return report;
        }
    };
    if matches!(spec.protocol, Protocol::Stomp | Protocol::Mqtt) {
        return probe_session(spec, &tls, listen, report).await;
    }
    if spec.protocol == Protocol::Local {
        report.error = Some(crate::i18n::text("probe.publish_api", &[]));
        return report;
    }
    let (url, headers) = match connection_target(spec, None) {
        Ok(target) => target,
        Err(error) => {
            report.error = Some(error);
            return report;
        }
    };
    let started = Instant::now();
    let mut socket = match connect(spec, &tls, &url, &headers).await {
        Ok(socket) => socket,
        Err(SessionEnd::AuthFailed(error)) => {
            report.auth_failed = true;
            report.error = Some(error);
            return report;
        }
        Err(SessionEnd::Failed { error, .. }) => {
            report.error = Some(error);
            return report;
        }
        Err(SessionEnd::Shutdown) => return report,
    };
    report.connected = true;
    report.connect_ms = Some(started.elapsed().as_millis() as u64);
    let deadline = tokio::time::Instant::now() + listen;
    while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, socket.next()).await {
        let text = match frame {
            Ok(Frame::Text(text)) => text.to_string(),
            Ok(Frame::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(Frame::Close(_)) => break,
            Ok(_) => continue,
            Err(error) => {
                report.error = Some(super::connection_error(&error));
                break;
            }
        };
        report.frames += 1;
        match parse_frame(spec.protocol, &spec.config, &text, now_ms()) {
            Ok(Parsed::Messages(messages)) => {
                if report.first_message.is_none() {
                    report.first_message = messages
                        .first()
                        .map(|message| {
                            if message.title.is_empty() {
                                message.body.clone()
                            } else {
                                message.title.clone()
                            }
                        })
                        .map(|text| text.chars().take(120).collect());
                }
                report.messages += messages.len() as u64;
            }
            Ok(_) => {}
            Err(error) => {
                report.malformed += 1;
                report.error.get_or_insert(error.0);
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
    report
}

/// Brokers: runs a real session (login and subscriptions included) without a
/// store. Nothing is committed, so nothing is acknowledged: the messages seen
/// stay with the broker for the source itself. The test uses a client id of
/// its own and no durable subscription or persistent session, so testing a
/// running source neither takes its MQTT session over nor leaves a session
/// or queue behind on the broker.
async fn probe_session(
    spec: &SourceSpec,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    listen: Duration,
    mut report: ProbeReport,
) -> ProbeReport {
    let mut spec = spec.clone();
    spec.config.durable = false;
    spec.config.client_id = Some(format!(
        "{}-test",
        spec.config.client_id.as_deref().unwrap_or("herald")
    ));
    let spec = &spec;
    let (events, mut incoming) = tokio::sync::mpsc::channel(4096);
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut context = SourceContext {
        events,
        store: None,
        shutdown,
    };
    let started = Instant::now();
    let mut last_seen = None;
    let session = super::session(spec, tls, None, &mut context, &mut last_seen);
    tokio::pin!(session);
    // Connecting (WebSocket, then the broker's login) has this long at most.
    let give_up = tokio::time::Instant::now() + super::CONNECT_TIMEOUT * 2;
    let mut listen_until: Option<tokio::time::Instant> = None;
    let end = loop {
        let stop_at = listen_until.unwrap_or(give_up);
        tokio::select! {
            end = &mut session => break end,
            Some(event) = incoming.recv() => match event {
                SourceEvent::State(_, SourceState::Connected { .. }) => {
                    report.connected = true;
                    report.connect_ms = Some(started.elapsed().as_millis() as u64);
                    listen_until = Some(tokio::time::Instant::now() + listen);
                }
                SourceEvent::Message(envelope) => {
                    report.frames += 1;
                    report.messages += 1;
                    if report.first_message.is_none() {
                        let message = &envelope.message;
                        let text = if message.title.is_empty() { &message.body } else { &message.title };
                        report.first_message = Some(text.chars().take(120).collect());
                    }
                }
                SourceEvent::Counters(_, counters) => {
                    report.frames += counters.frames_received;
                    report.malformed += counters.frames_malformed + counters.frames_rejected;
                    if let Some((error, _)) = counters.last_error {
                        report.error.get_or_insert(error);
                    }
                }
                SourceEvent::State(..) => {}
            },
            _ = tokio::time::sleep_until(stop_at) => {
                let _ = stop.send(true);
            }
        }
    };
    match end {
        SessionEnd::AuthFailed(error) => {
            report.auth_failed = true;
            report.error = Some(error);
        }
        SessionEnd::Failed { error, .. } => report.error = Some(error),
        SessionEnd::Shutdown => {}
    }
    report
}
