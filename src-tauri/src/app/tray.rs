//! The tray icon: unread count in the tooltip and title, a dot on the icon
//! while anything is unread, and a menu of quick actions whose labels follow
//! the current state. Without a tray host (no StatusNotifierWatcher) the
//! icon is invisible and Herald works as before; closing the window then
//! quits instead of hiding to a tray nobody can see.
//!
//! On Linux the tray host shows the menu on any click (libappindicator
//! reports no clicks), so "Open Herald" is the first item; elsewhere a left
//! click shows or hides the window.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use herald_core::model::now_ms;
use herald_core::policy::FOREVER;
use herald_core::store::{self, rules as stored};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};
use tokio::sync::Notify;

use super::AppState;
use crate::dto::PauseInput;
use crate::i18n::{self, text, Language};

/// The tray's id; the Linux item's DBus path ends in `tray_icon_tray_app_herald`.
pub const TRAY_ID: &str = "herald";

/// The menu's items, by id. These ids are a contract for tests that click
/// them over DBus: add, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    Open,
    MarkAllRead,
    PauseHour,
    PauseTomorrow,
    PauseForever,
    Resume,
    ToggleSources,
    Quit,
}

impl TrayAction {
    const ALL: [TrayAction; 8] = [
        TrayAction::Open,
        TrayAction::MarkAllRead,
        TrayAction::PauseHour,
        TrayAction::PauseTomorrow,
        TrayAction::PauseForever,
        TrayAction::Resume,
        TrayAction::ToggleSources,
        TrayAction::Quit,
    ];

    pub fn id(self) -> &'static str {
        match self {
            TrayAction::Open => "open",
            TrayAction::MarkAllRead => "mark-all-read",
            TrayAction::PauseHour => "pause-1h",
            TrayAction::PauseTomorrow => "pause-tomorrow",
            TrayAction::PauseForever => "pause-forever",
            TrayAction::Resume => "resume",
            TrayAction::ToggleSources => "toggle-sources",
            TrayAction::Quit => "quit",
        }
    }

    pub fn from_id(id: &str) -> Option<TrayAction> {
        TrayAction::ALL.into_iter().find(|action| action.id() == id)
    }
}

const ICON: &[u8] = include_bytes!("../../../icons/tray.png");
const ICON_UNREAD: &[u8] = include_bytes!("../../../icons/tray-unread.png");

/// The tray and its items: some labels follow the state, and all of them
/// follow the language.
pub struct Tray {
    icon: TrayIcon<Wry>,
    open: MenuItem<Wry>,
    mark_all: MenuItem<Wry>,
    pause: Submenu<Wry>,
    hour: MenuItem<Wry>,
    tomorrow: MenuItem<Wry>,
    forever: MenuItem<Wry>,
    resume: MenuItem<Wry>,
    sources: MenuItem<Wry>,
    quit: MenuItem<Wry>,
    /// The language the fixed labels are in.
    language: Mutex<Language>,
    dirty: Arc<Notify>,
}

impl Tray {
    /// Relabels the items whose text never changes otherwise, when the
    /// language has changed since they were labelled.
    fn follow_language(&self) {
        let now = i18n::language();
        let Ok(mut labelled) = self.language.lock() else {
            return;
        };
        if *labelled == now {
            return;
        }
        *labelled = now;
        let _ = self.mark_all.set_text(text("tray.mark_all_read", &[]));
        let _ = self.pause.set_text(text("tray.pause", &[]));
        let _ = self.hour.set_text(text("tray.pause_hour", &[]));
        let _ = self.tomorrow.set_text(text("tray.pause_tomorrow", &[]));
        let _ = self.forever.set_text(text("tray.pause_forever", &[]));
        let _ = self.quit.set_text(text("tray.quit", &[]));
    }
}

fn item(app: &AppHandle, action: TrayAction, label: &str) -> tauri::Result<MenuItem<Wry>> {
    MenuItem::with_id(app, action.id(), label, true, None::<&str>)
}

/// Builds the tray and starts keeping it current.
pub fn install(app: &AppHandle) -> tauri::Result<()> {
    let open = item(app, TrayAction::Open, &text("tray.open", &[]))?;
    let mark_all = item(
        app,
        TrayAction::MarkAllRead,
        &text("tray.mark_all_read", &[]),
    )?;
    let hour = item(app, TrayAction::PauseHour, &text("tray.pause_hour", &[]))?;
    let tomorrow = item(
        app,
        TrayAction::PauseTomorrow,
        &text("tray.pause_tomorrow", &[]),
    )?;
    let forever = item(
        app,
        TrayAction::PauseForever,
        &text("tray.pause_forever", &[]),
    )?;
    let resume = item(app, TrayAction::Resume, &text("tray.resume", &[]))?;
    let pause = Submenu::with_items(
        app,
        text("tray.pause", &[]),
        true,
        &[
            &hour,
            &tomorrow,
            &forever,
            &PredefinedMenuItem::separator(app)?,
            &resume,
        ],
    )?;
    let sources = item(
        app,
        TrayAction::ToggleSources,
        &text("tray.pause_sources", &[]),
    )?;
    let quit = item(app, TrayAction::Quit, &text("tray.quit", &[]))?;
    let menu = Menu::with_items(
        app,
        &[
            &open,
            &mark_all,
            &PredefinedMenuItem::separator(app)?,
            &pause,
            &sources,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id(TRAY_ID)
        .icon(Image::from_bytes(ICON)?)
        .tooltip(text("tray.tooltip", &[]))
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| {
            if let Some(action) = TrayAction::from_id(event.id().as_ref()) {
                let app = app.clone();
                tauri::async_runtime::spawn(async move { act(&app, action).await });
            }
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                toggle_window(tray.app_handle());
            }
        })
        .build(app)?;
    let dirty = Arc::new(Notify::new());
    app.manage(Tray {
        icon,
        open,
        mark_all,
        pause,
        hour,
        tomorrow,
        forever,
        resume,
        sources,
        quit,
        language: Mutex::new(i18n::language()),
        dirty: dirty.clone(),
    });
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            update(&handle).await;
            // At most one update a second, the first at once: counting the
            // unread messages reads an index as large as the inbox (issue 7
            // keeps counts up to date instead). A change during the pause
            // leaves a permit, so it is shown right after.
            tokio::time::sleep(Duration::from_secs(1)).await;
            dirty.notified().await;
        }
    });
    Ok(())
}

/// Asks for the tray to be brought up to date (cheap; coalesced).
pub fn refresh(app: &AppHandle) {
    if let Some(tray) = app.try_state::<Tray>() {
        tray.dirty.notify_one();
    }
}

async fn update(app: &AppHandle) {
    let (Some(tray), Some(state)) = (app.try_state::<Tray>(), app.try_state::<AppState>()) else {
        return;
    };
    let read = state
        .store
        .read_async(|connection| {
            let unread: u64 = store::unread_counts(connection)?
                .iter()
                .map(|(_, count)| count)
                .sum();
            Ok((unread, stored::quiet(connection)?))
        })
        .await;
    let Ok((unread, quiet)) = read else {
        return;
    };
    tray.follow_language();
    let now = now_ms();
    let count = unread.to_string();
    if unread > 0 {
        let _ = tray
            .icon
            .set_tooltip(Some(text("tray.tooltip_unread", &[("count", &count)])));
        let _ = tray.icon.set_title(Some(&count));
        let _ = tray.icon.set_icon(Image::from_bytes(ICON_UNREAD).ok());
    } else {
        let _ = tray.icon.set_tooltip(Some(text("tray.tooltip", &[])));
        let _ = tray.icon.set_title(None::<&str>);
        let _ = tray.icon.set_icon(Image::from_bytes(ICON).ok());
    }
    // The submenu's own title stays put (tray hosts do not all follow a
    // submenu's label changing); its "Resume" entry says until when.
    let paused = quiet.dnd_active(now);
    let until = quiet.dnd_until.map(|until| {
        crate::output::local_time(until)
            .get(11..16)
            .unwrap_or("")
            .to_string()
    });
    let resume_label = match (quiet.dnd_until, until) {
        (Some(FOREVER), _) if paused => text("tray.resume_paused", &[]),
        (Some(_), Some(time)) if paused => text("tray.resume_paused_until", &[("time", &time)]),
        _ => text("tray.resume", &[]),
    };
    let _ = tray.resume.set_text(resume_label);
    let _ = tray.resume.set_enabled(paused);
    let _ = tray.sources.set_text(if state.engine.paused() {
        text("tray.resume_sources", &[])
    } else {
        text("tray.pause_sources", &[])
    });
    let visible = app
        .get_webview_window("main")
        .and_then(|window| window.is_visible().ok())
        .unwrap_or(false);
    let _ = tray.open.set_text(if visible {
        text("tray.hide", &[])
    } else {
        text("tray.open", &[])
    });
}

/// Shows the window (focused) if hidden, hides it if shown.
pub fn toggle_window(app: &AppHandle) {
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    if window.is_visible().unwrap_or(false) && window.is_focused().unwrap_or(false) {
        let _ = window.hide();
    } else {
        super::reveal(app);
    }
    refresh(app);
}

async fn act(app: &AppHandle, action: TrayAction) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    tracing::info!(action = action.id(), "tray");
    let outcome = match action {
        TrayAction::Open => {
            toggle_window(app);
            Ok(())
        }
        TrayAction::MarkAllRead => state
            .store
            .write_async(|transaction| {
                store::set_read(transaction, &store::Selection::All, true).map(drop)
            })
            .await
            .map(|()| super::commands::counts_changed(app))
            .map_err(super::AppError::from),
        TrayAction::PauseHour => pause(app, &state, PauseInput::For { minutes: 60 }).await,
        TrayAction::PauseTomorrow => pause(app, &state, PauseInput::UntilTomorrow).await,
        TrayAction::PauseForever => pause(app, &state, PauseInput::Forever).await,
        TrayAction::Resume => pause(app, &state, PauseInput::Off).await,
        TrayAction::ToggleSources => {
            super::routing::pause_sources(app, &state, !state.engine.paused())
                .await
                .map(drop)
        }
        TrayAction::Quit => {
            app.exit(0);
            Ok(())
        }
    };
    if let Err(error) = outcome {
        tracing::warn!(%error, action = action.id(), "tray action failed");
    }
}

async fn pause(
    app: &AppHandle,
    state: &AppState,
    pause: PauseInput,
) -> Result<(), super::AppError> {
    super::routing::pause_notifications_now(app, state, pause)
        .await
        .map(drop)
}

/// Whether a tray host (a StatusNotifierWatcher) is on the session bus, so
/// an icon would be visible. Asked once at start.
pub async fn host_present() -> bool {
    let ask = async {
        let connection = zbus::Connection::session().await.ok()?;
        let proxy = zbus::fdo::DBusProxy::new(&connection).await.ok()?;
        let name = zbus::names::BusName::try_from("org.kde.StatusNotifierWatcher").ok()?;
        proxy.name_has_owner(name).await.ok()
    };
    tokio::time::timeout(Duration::from_secs(2), ask)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
