//! The database's health as the window shows it: a damaged file that was
//! set aside at start, and writes that fail now (a full disk, a read-only
//! file, a lock held by another program). Both reach the window as a banner.

use herald_core::store::{SetAside, Store};
use tauri::{AppHandle, Emitter, State};

use super::events::EVENT;
use super::{AppError, AppState};
use crate::dto::{StorageView, UiEvent};

/// Tells the window whenever the writer's trouble starts or ends.
pub fn forward(app: AppHandle, store: &Store) {
    let mut trouble = store.write_trouble();
    tauri::async_runtime::spawn(async move {
        while trouble.changed().await.is_ok() {
            let _ = app.emit(EVENT, UiEvent::StorageChanged);
        }
    });
}

pub fn view(store: &Store, set_aside: Option<&SetAside>) -> StorageView {
    StorageView {
        database: store.path().display().to_string(),
        set_aside_to: set_aside.map(|set_aside| set_aside.kept_at.display().to_string()),
        set_aside_reason: set_aside.map(|set_aside| set_aside.reason.clone()),
        write_trouble: store.write_trouble().borrow().clone(),
    }
}

#[tauri::command]
pub async fn get_storage(state: State<'_, AppState>) -> Result<StorageView, AppError> {
    Ok(view(&state.store, state.set_aside.as_ref()))
}
