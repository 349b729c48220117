//! The desktop window: the Tauri builder, the state commands reach through
//! `State<AppState>`, and the bridge from engine events to UI events. The
//! engine runs on Tauri's async runtime; closing the window quits and shuts
//! the engine down gracefully (the tray, which keeps it running, comes later).

mod commands;
mod error;
mod events;

use std::path::Path;

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
}

/// Opens the window over the engine and runs until the window closes.
pub fn run(data_dir: &Path) -> anyhow::Result<()> {
    let database = data_dir.join("herald.db");
    let store = Store::open(&database, BatchLimits::default())
        .with_context(|| format!("cannot open the database {}", database.display()))?;
    let app = tauri::Builder::default()
        // First, so a second launch focuses this window instead of starting twice.
        .plugin(tauri_plugin_single_instance::init(
            |app, _arguments, _directory| {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.unminimize();
                    let _ = window.show();
                    let _ = window.set_focus();
                }
            },
        ))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_opener::init())
        .setup(move |app| {
            let engine = tauri::async_runtime::block_on(Engine::start(store.clone()))?;
            events::forward(app.handle().clone(), engine.subscribe());
            app.manage(AppState {
                store,
                engine,
                demo: tokio::sync::Mutex::new(None),
            });
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
        ])
        .build(tauri::generate_context!())
        .context("cannot start the window")?;
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
