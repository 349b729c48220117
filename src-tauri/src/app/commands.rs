//! The window's IPC commands: thin, async, each a call into the core. Store
//! work hops to blocking threads through `read_async`/`write_async`.

use std::time::Duration;

use herald_core::model::{now_ms, MessageId, SourceId};
use herald_core::store::{self, Selection};
use tauri::{AppHandle, Emitter, State};
use tauri_plugin_opener::OpenerExt;

use super::{AppError, AppState};
use crate::dto::{
    safe_link, ListQuery, MessageDetail, MessagePage, MessageRow, SourceView, UiEvent,
};
use crate::i18n;

type Result<T> = std::result::Result<T, AppError>;

/// Tells every listener that read/unread counts may have changed, so the
/// sidebar's badges follow triage at once instead of at the next message.
pub(super) fn counts_changed(app: &AppHandle) {
    let _ = app.emit(super::events::EVENT, UiEvent::CountsChanged);
    super::tray::refresh(app);
}

fn ids(ids: Vec<i64>) -> Result<Selection> {
    if ids.is_empty() {
        return Err(AppError::Invalid(i18n::text("error.no_selection", &[])));
    }
    Ok(Selection::Ids(ids.into_iter().map(MessageId).collect()))
}

#[tauri::command]
pub async fn list_messages(state: State<'_, AppState>, query: ListQuery) -> Result<MessagePage> {
    tracing::debug!(target: "herald::launch", "list_messages at {} ms", state.started.elapsed().as_millis());
    let limit = query.limit();
    let filter = query.filter();
    let search = query.search.clone().filter(|text| !text.trim().is_empty());
    // One extra row tells whether there is another page.
    let rows: Vec<MessageRow> = state
        .store
        .read_async(move |connection| match search {
            Some(text) => Ok(
                store::search(connection, &text, &filter, limit + 1, now_ms())?
                    .into_iter()
                    .map(MessageRow::from_hit)
                    .collect(),
            ),
            None => Ok(
                store::list_messages(connection, &filter, limit + 1, now_ms())?
                    .iter()
                    .map(MessageRow::from_message)
                    .collect(),
            ),
        })
        .await?;
    let has_more = rows.len() > limit;
    Ok(MessagePage {
        rows: rows.into_iter().take(limit).collect(),
        has_more,
    })
}

#[tauri::command]
pub async fn get_message(state: State<'_, AppState>, id: i64) -> Result<MessageDetail> {
    let message = state
        .store
        .read_async(move |connection| store::get_message(connection, MessageId(id)))
        .await?;
    // Remote images stay off until sources can allow them (a per-source setting).
    Ok(MessageDetail::from_message(&message, false))
}

#[tauri::command]
pub async fn list_sources(state: State<'_, AppState>) -> Result<Vec<SourceView>> {
    tracing::debug!(target: "herald::launch", "list_sources at {} ms", state.started.elapsed().as_millis());
    let sources = state.store.read_async(store::source_stats).await?;
    Ok(sources.iter().map(SourceView::from).collect())
}

#[tauri::command]
pub async fn set_read(
    app: AppHandle,
    state: State<'_, AppState>,
    ids: Vec<i64>,
    read: bool,
) -> Result<usize> {
    let selection = self::ids(ids)?;
    let changed = state
        .store
        .write_async(move |transaction| store::set_read(transaction, &selection, read))
        .await?;
    counts_changed(&app);
    Ok(changed)
}

#[tauri::command]
pub async fn mark_all_read(
    app: AppHandle,
    state: State<'_, AppState>,
    source: Option<i64>,
) -> Result<usize> {
    let selection = source.map_or(Selection::All, |source| Selection::Source(SourceId(source)));
    let changed = state
        .store
        .write_async(move |transaction| store::set_read(transaction, &selection, true))
        .await?;
    counts_changed(&app);
    Ok(changed)
}

#[tauri::command]
pub async fn set_starred(
    app: AppHandle,
    state: State<'_, AppState>,
    ids: Vec<i64>,
    starred: bool,
) -> Result<usize> {
    let selection = self::ids(ids)?;
    let changed = state
        .store
        .write_async(move |transaction| store::set_starred(transaction, &selection, starred))
        .await?;
    counts_changed(&app);
    Ok(changed)
}

#[tauri::command]
pub async fn set_archived(
    app: AppHandle,
    state: State<'_, AppState>,
    ids: Vec<i64>,
    archived: bool,
) -> Result<usize> {
    let selection = self::ids(ids)?;
    let changed = state
        .store
        .write_async(move |transaction| {
            store::set_archived(transaction, &selection, archived, now_ms())
        })
        .await?;
    counts_changed(&app);
    Ok(changed)
}

#[tauri::command]
pub async fn snooze(
    app: AppHandle,
    state: State<'_, AppState>,
    ids: Vec<i64>,
    until: Option<i64>,
) -> Result<usize> {
    if until.is_some_and(|until| until <= now_ms()) {
        return Err(AppError::Invalid(i18n::text("error.snooze_past", &[])));
    }
    let selection = self::ids(ids)?;
    let changed = state
        .store
        .write_async(move |transaction| store::snooze(transaction, &selection, until))
        .await?;
    counts_changed(&app);
    Ok(changed)
}

#[tauri::command]
pub async fn delete_messages(
    app: AppHandle,
    state: State<'_, AppState>,
    ids: Vec<i64>,
) -> Result<usize> {
    let selection = self::ids(ids)?;
    let changed = state
        .store
        .write_async(move |transaction| store::delete_messages(transaction, &selection))
        .await?;
    counts_changed(&app);
    Ok(changed)
}

/// Opens a link in the system browser; only http, https and mailto.
#[tauri::command]
pub async fn open_link(app: AppHandle, url: String) -> Result<()> {
    let url =
        safe_link(&url).ok_or_else(|| AppError::Invalid(i18n::text("error.unsafe_link", &[])))?;
    app.opener().open_url(url, None::<&str>).map_err(|error| {
        AppError::Invalid(i18n::text(
            "error.open_link",
            &[("error", &error.to_string())],
        ))
    })
}

/// Sends a message's `http` action. The UI asks the user first. Only the
/// action's own URL, method, headers and body are sent: never the source's
/// credentials or headers.
#[tauri::command]
pub async fn run_http_action(
    state: State<'_, AppState>,
    message_id: i64,
    index: usize,
) -> Result<u16> {
    let message = state
        .store
        .read_async(move |connection| store::get_message(connection, MessageId(message_id)))
        .await?;
    let action = message
        .actions
        .as_ref()
        .and_then(serde_json::Value::as_array)
        .and_then(|actions| actions.get(index))
        .filter(|action| action.get("action").and_then(serde_json::Value::as_str) == Some("http"))
        .ok_or_else(|| AppError::Invalid(i18n::text("error.no_http_action", &[])))?;
    let url = action
        .get("url")
        .and_then(serde_json::Value::as_str)
        .and_then(safe_link)
        .filter(|url| url.starts_with("http"))
        .ok_or_else(|| AppError::Invalid(i18n::text("error.action_url", &[])))?;
    let url = url::Url::parse(&url).map_err(|error| AppError::Invalid(error.to_string()))?;
    let method = action
        .get("method")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("POST")
        .to_ascii_uppercase();
    let headers: Vec<(String, String)> = action
        .get("headers")
        .and_then(serde_json::Value::as_object)
        .map(|headers| {
            headers
                .iter()
                .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_string())))
                .filter(|(name, value)| {
                    herald_core::config::parse_header(&format!("{name}: {value}")).is_ok()
                })
                .collect()
        })
        .unwrap_or_default();
    let body = action
        .get("body")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .as_bytes()
        .to_vec();
    let tls = herald_core::source::tls::client_config(None).map_err(AppError::Network)?;
    let response = herald_core::source::http::request(
        &method,
        &url,
        &headers,
        Some(&body),
        &tls,
        Duration::from_secs(15),
        1 << 20,
    )
    .await
    .map_err(AppError::Network)?;
    Ok(response.status)
}

/// The UI has painted its first screen: show the window.
#[tauri::command]
pub fn window_ready(app: AppHandle) {
    super::show_main_window(&app, "painted");
}

/// Starts the loopback demo feed and subscribes to it (first-run screen).
#[tauri::command]
pub async fn start_demo(state: State<'_, AppState>) -> Result<i64> {
    start_demo_feed(&state).await
}

/// Starts the demo feed once per run and points the "Demo feed" source at it.
pub async fn start_demo_feed(state: &AppState) -> Result<i64> {
    let mut demo = state.demo.lock().await;
    if demo.is_none() {
        let feed = herald_core::demo::DemoFeed::start(Duration::from_secs(4), now_ms() / 1000)
            .await
            .map_err(|error| {
                AppError::Network(i18n::text(
                    "error.demo_feed_failed",
                    &[("error", &error.to_string())],
                ))
            })?;
        *demo = Some(feed);
    }
    let url = demo
        .as_ref()
        .map(herald_core::demo::DemoFeed::url)
        .unwrap_or_default();
    let id = herald_core::demo::ensure_source(&state.store, url).await?;
    state.engine.reload_source(id).await?;
    Ok(id.0)
}
