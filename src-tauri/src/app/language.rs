//! The language setting. The window, the tray, notifications and the
//! command line share one choice, kept in the database: changing it in the
//! window relabels the tray at once and words the next notification in the
//! new language, without a restart.

use herald_core::store::rules as stored;
use tauri::{AppHandle, State};

use super::{tray, AppError, AppState};
use crate::dto::LanguageView;
use crate::i18n::{self, Choice};

fn view(choice: Choice) -> LanguageView {
    LanguageView {
        choice: choice.as_str().to_string(),
        language: choice.resolve().tag().to_string(),
    }
}

/// The language in use: the stored choice, applied when Herald started or
/// when it was last changed.
#[tauri::command]
pub fn get_language() -> LanguageView {
    view(i18n::choice())
}

/// Stores `choice` (`system`, `en` or `zh-CN`) and switches to it.
#[tauri::command]
pub async fn set_language(
    app: AppHandle,
    state: State<'_, AppState>,
    choice: String,
) -> Result<LanguageView, AppError> {
    let choice = Choice::parse(&choice).ok_or_else(|| {
        AppError::Invalid(i18n::text("error.unknown_language", &[("choice", &choice)]))
    })?;
    state
        .store
        .write_async(move |transaction| stored::set_language(transaction, choice))
        .await?;
    i18n::choose(choice);
    tray::refresh(&app);
    Ok(view(choice))
}
