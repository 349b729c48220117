//! Engine events → UI events. Bursts are coalesced: everything stored within
//! one window of [`COALESCE`] becomes a single `messages_added`, so a flood
//! of 10,000 messages reaches the webview as a few events.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_core::engine::EngineEvent;
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast;

use crate::dto::UiEvent;

/// The one event name the UI listens to.
pub const EVENT: &str = "herald://event";

const COALESCE: Duration = Duration::from_millis(100);

pub fn forward(app: AppHandle, mut engine_events: broadcast::Receiver<EngineEvent>) {
    tauri::async_runtime::spawn(async move {
        let mut added = 0u32;
        let mut sources = BTreeSet::new();
        // The earliest frame among the messages not yet announced.
        let mut oldest: Option<std::time::Instant> = None;
        let mut tick = tokio::time::interval(COALESCE);
        loop {
            tokio::select! {
                event = engine_events.recv() => match event {
                    Ok(EngineEvent::Stored(stored)) => {
                        added = added.saturating_add(stored.len() as u32);
                        sources.extend(stored.iter().map(|message| message.source_id.0));
                        oldest = stored.iter().map(|message| message.received).chain(oldest).min();
                    }
                    Ok(EngineEvent::State(id, _)) => {
                        let _ = app.emit(EVENT, UiEvent::SourceStatus { source: id.0 });
                    }
                    // Missed batches still mean "something new": reload.
                    Err(broadcast::error::RecvError::Lagged(_)) => added = added.max(1),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    if added > 0 {
                        let event = UiEvent::MessagesAdded { count: added, sources: std::mem::take(&mut sources).into_iter().collect() };
                        tracing::debug!(target: "herald::events", count = added, "messages_added");
                        if let Some(oldest) = oldest.take() {
                            tracing::debug!(
                                target: "herald::latency",
                                count = added,
                                oldest_frame_to_ui_us = oldest.elapsed().as_micros() as u64,
                                "announced to the window"
                            );
                        }
                        let _ = app.emit(EVENT, event);
                        added = 0;
                        super::tray::refresh(&app);
                    }
                }
            }
        }
    });
}
