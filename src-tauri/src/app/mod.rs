//! The desktop window: the Tauri builder, the state commands reach through
//! `State<AppState>`, and the bridge from engine events to UI events. The
//! engine runs on Tauri's async runtime. Closing the window hides it to the
//! tray when a tray host is there to bring it back, and quits otherwise;
//! quitting shuts the engine down gracefully (`herald run --headless` runs
//! the engine, rules and notifications without a window).

mod admin;
mod commands;
mod error;
mod events;
mod language;
mod routing;
mod storage;
mod tray;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use herald_core::demo::DemoFeed;
use herald_core::engine::Engine;
use herald_core::store::{BatchLimits, Store};
use tauri::Manager;

pub use error::AppError;

/// What every command can reach.
pub struct AppState {
    pub store: Store,
    pub engine: Engine,
    /// The loopback demo feed, once the user starts it from the first-run screen.
    pub demo: tokio::sync::Mutex<Option<DemoFeed>>,
    pub data_dir: PathBuf,
    /// When `herald` started, for the "inbox painted" log line.
    pub started: Instant,
    /// The window starts hidden and is shown once the UI has painted the
    /// inbox (no blank white frame), or after `SHOW_ANYWAY` regardless.
    pub shown: AtomicBool,
    pub notifier: crate::notifier::Notifier,
    /// The damaged database moved aside at start, if any.
    pub set_aside: Option<herald_core::store::SetAside>,
}

/// Shows the window even if the UI never reports that it painted.
const SHOW_ANYWAY: Duration = Duration::from_secs(3);

/// Shows and focuses the main window once; logs how long launch took.
pub fn show_main_window(app: &tauri::AppHandle, reason: &str) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    if state.shown.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.set_focus();
    }
    tracing::info!(
        target: "herald::launch",
        "window shown ({reason}) {} ms after launch",
        state.started.elapsed().as_millis()
    );
}

/// Shows, unminimises and focuses the main window.
pub fn reveal(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Acts on a click on a notification or its "Mark read" button.
async fn react(
    app: tauri::AppHandle,
    mut reactions: tokio::sync::mpsc::UnboundedReceiver<crate::notifier::Reaction>,
) {
    use crate::notifier::Reaction;
    use tauri::Emitter;
    while let Some(reaction) = reactions.recv().await {
        match reaction {
            Reaction::Open(id) => {
                reveal(&app);
                let _ = app.emit(
                    events::EVENT,
                    crate::dto::UiEvent::FocusMessage { id: id.0 },
                );
                tray::refresh(&app);
            }
            Reaction::MarkRead(id) => {
                let Some(state) = app.try_state::<AppState>() else {
                    continue;
                };
                let selection = herald_core::store::Selection::Ids(vec![id]);
                let marked = state
                    .store
                    .write_async(move |transaction| {
                        herald_core::store::set_read(transaction, &selection, true)
                    })
                    .await;
                match marked {
                    Ok(_) => commands::counts_changed(&app),
                    Err(error) => tracing::warn!(%error, "could not mark the message read"),
                }
            }
        }
    }
}

/// The app icon as a file, for notification servers that take a path.
pub fn notification_icon(data_dir: &Path) -> Option<PathBuf> {
    let path = data_dir.join("herald-icon.png");
    if !path.exists() {
        std::fs::write(&path, include_bytes!("../../../icons/128x128.png")).ok()?;
    }
    Some(path)
}

impl AppState {
    pub fn export_dir(&self) -> PathBuf {
        admin::export_dir(&self.data_dir)
    }
}

/// How the window was asked to start.
#[derive(Debug, Clone)]
pub struct WindowOptions {
    /// Start the loopback demo feed and subscribe to it (`herald demo`).
    pub demo: bool,
    /// Quit after this long (benchmarks and smoke tests).
    pub exit_after: Option<Duration>,
    /// When the process started, as near as the caller knows.
    pub started: Instant,
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            demo: false,
            exit_after: None,
            started: Instant::now(),
        }
    }
}

/// What "start at login" runs Herald with: the data directory, unless it
/// is the default one, so login opens the inbox this window shows.
fn autostart_args(data_dir: &Path) -> Vec<String> {
    let default = dirs::data_dir().map(|directory| directory.join("herald"));
    if default.as_deref() == Some(data_dir) {
        return Vec::new();
    }
    let path = data_dir.display().to_string();
    // The login entry is a desktop file's Exec line: quote a path with spaces.
    let path = if path.contains(char::is_whitespace) {
        format!("\"{}\"", path.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        path
    };
    vec!["--data-dir".into(), path]
}

/// Resolves on SIGTERM or Ctrl+C; false if signals cannot be watched.
async fn shutdown_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            return false;
        };
        tokio::select! {
            _ = terminate.recv() => true,
            result = tokio::signal::ctrl_c() => result.is_ok(),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

/// A clear error instead of GTK's when there is no display to open a window on.
fn require_display() -> anyhow::Result<()> {
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        anyhow::bail!(crate::i18n::text("error.no_display", &[]));
    }
    Ok(())
}

/// Opens the window over the engine and runs until the window closes.
pub fn run(data_dir: &Path, options: WindowOptions) -> anyhow::Result<()> {
    require_display()?;
    let database = data_dir.join("herald.db");
    let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let (store, set_aside) = Store::open_or_set_aside(&database, BatchLimits::default())
        .with_context(|| {
            crate::i18n::text(
                "error.open_database",
                &[("path", &database.display().to_string())],
            )
        })?;
    crate::i18n::apply_stored(&store);
    if let Some(set_aside) = &set_aside {
        let notice = crate::commands::set_aside_notice(&database, set_aside);
        eprintln!(
            "{}",
            crate::i18n::text("cli.prefixed", &[("message", &notice)])
        );
    }
    let app = tauri::Builder::default()
        // First, so a second launch focuses this window instead of starting twice.
        .plugin(tauri_plugin_single_instance::init(
            |app, _arguments, _directory| reveal(app),
        ))
        // Everything but visibility: the window shows itself once painted.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::all()
                        - tauri_plugin_window_state::StateFlags::VISIBLE,
                )
                .build(),
        )
        .plugin(tauri_plugin_opener::init())
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .args(autostart_args(&data_dir))
                .build(),
        )
        .setup(move |app| {
            let started = options.started;
            tracing::debug!(target: "herald::launch", "setup at {} ms", started.elapsed().as_millis());
            let engine = tauri::async_runtime::block_on(Engine::start(store.clone()))?;
            tracing::debug!(target: "herald::launch", "engine started at {} ms", started.elapsed().as_millis());
            events::forward(app.handle().clone(), engine.subscribe());
            storage::forward(app.handle().clone(), &store);
            let (reactions, reaction_stream) = tokio::sync::mpsc::unbounded_channel();
            let status_handle = app.handle().clone();
            let notifier = tauri::async_runtime::block_on(async {
                crate::notifier::start(
                    store.clone(),
                    engine.subscribe(),
                    notification_icon(&data_dir),
                    reactions,
                    move || {
                        use tauri::Emitter;
                        let _ = status_handle.emit(events::EVENT, crate::dto::UiEvent::QuietChanged);
                    },
                )
            });
            tauri::async_runtime::spawn(react(app.handle().clone(), reaction_stream));
            app.manage(AppState {
                store,
                engine,
                demo: tokio::sync::Mutex::new(None),
                data_dir,
                started: options.started,
                shown: AtomicBool::new(false),
                notifier,
                set_aside,
            });
            // A tray that cannot be made (no tray support at all) is not fatal.
            if let Err(error) = tray::install(app.handle()) {
                tracing::warn!(%error, "no tray icon");
            }
            // Asked off the start-up path: a session bus that is slow to
            // answer must not delay the window.
            let hides_to_tray = std::sync::Arc::new(AtomicBool::new(false));
            let answer = hides_to_tray.clone();
            tauri::async_runtime::spawn(async move {
                let present = tray::host_present().await;
                tracing::info!(hides_to_tray = present, "tray host");
                answer.store(present, Ordering::SeqCst);
            });
            if let Some(window) = app.get_webview_window("main") {
                let handle = app.handle().clone();
                window.on_window_event(move |event| {
                    if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                        if hides_to_tray.load(Ordering::SeqCst) {
                            api.prevent_close();
                            if let Some(window) = handle.get_webview_window("main") {
                                let _ = window.hide();
                            }
                            tray::refresh(&handle);
                        }
                    }
                });
            }
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(SHOW_ANYWAY).await;
                show_main_window(&handle, "timeout: the ui did not report");
            });
            if options.demo {
                let state = app.state::<AppState>();
                tauri::async_runtime::block_on(commands::start_demo_feed(&state))
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
            }
            // SIGTERM and Ctrl+C close the window the graceful way: the
            // engine commits what it received before the process ends.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                if shutdown_signal().await {
                    handle.exit(0);
                }
            });
            if let Some(after) = options.exit_after {
                let handle = app.handle().clone();
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(after).await;
                    handle.exit(0);
                });
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::list_messages,
            commands::get_message,
            commands::list_sources,
            commands::set_read,
            commands::mark_all_read,
            commands::set_starred,
            commands::set_archived,
            commands::snooze,
            commands::delete_messages,
            commands::open_link,
            commands::run_http_action,
            commands::start_demo,
            commands::window_ready,
            admin::get_source,
            admin::save_source,
            admin::test_source,
            admin::set_source_enabled,
            admin::remove_source,
            admin::get_settings,
            admin::get_publish_api,
            admin::set_publish_api,
            admin::regenerate_publish_token,
            admin::set_retention,
            admin::set_autostart,
            admin::export_messages,
            admin::import_messages,
            routing::list_rules,
            routing::save_rule,
            routing::remove_rule,
            routing::set_rule_enabled,
            routing::move_rule,
            routing::preview_rules,
            routing::list_delivery_failures,
            routing::get_policy,
            routing::set_policy,
            routing::get_quiet,
            routing::pause_notifications,
            routing::mute_source,
            routing::set_sources_paused,
            storage::get_storage,
            language::get_language,
            language::set_language,
        ])
        .build(tauri::generate_context!())
        .with_context(|| crate::i18n::text("error.start_window", &[]))?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            if let Some(state) = handle.try_state::<AppState>() {
                tauri::async_runtime::block_on(async {
                    state.engine.shutdown().await;
                    if let Some(feed) = state.demo.lock().await.take() {
                        feed.stop().await;
                    }
                });
            }
        }
    });
    Ok(())
}
