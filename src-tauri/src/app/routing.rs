//! Commands for routing rules, the notification policy and quiet state
//! (do not disturb, mutes, paused sources). Rules are checked by the core
//! before they are stored; every change reloads the engine's rules or wakes
//! the notifier, and tells the window and the tray.

use std::collections::HashMap;

use herald_core::model::{now_ms, SourceId};
use herald_core::policy::Quiet;
use herald_core::rules::RuleSet;
use herald_core::store::rules as stored;
use herald_core::store::StoreError;
use tauri::{AppHandle, Emitter, State};

use super::{AppError, AppState};
use crate::dto::{
    preview_rows, DeliveryFailureView, PauseInput, PolicyInput, QuietView, RuleInput, RulePreview,
    RuleView, UiEvent,
};

type Result<T> = std::result::Result<T, AppError>;

/// Preview at most this many of the newest messages.
const MAX_PREVIEW: u32 = 5000;

fn rules_changed(app: &AppHandle) {
    let _ = app.emit(super::events::EVENT, UiEvent::RulesChanged);
}

/// Tells the window, the tray and the notifier that quiet state changed.
pub(super) fn quiet_changed(app: &AppHandle, state: &AppState) {
    state.notifier.reload();
    let _ = app.emit(super::events::EVENT, UiEvent::QuietChanged);
    super::tray::refresh(app);
}

#[tauri::command]
pub async fn list_rules(state: State<'_, AppState>) -> Result<Vec<RuleView>> {
    let rules = state.store.read_async(stored::list_rules).await?;
    Ok(rules.iter().map(RuleView::from).collect())
}

/// Adds (`id` null) or replaces a rule; resolves to its id.
#[tauri::command]
pub async fn save_rule(app: AppHandle, state: State<'_, AppState>, rule: RuleInput) -> Result<i64> {
    if rule.name.trim().is_empty() {
        return Err(AppError::Field {
            field: "name",
            message: crate::i18n::text("error.rule_name_required", &[]),
        });
    }
    let new = rule.to_core().map_err(AppError::Invalid)?;
    let now = now_ms();
    let id = match rule.id {
        None => {
            state
                .store
                .write_async(move |transaction| stored::insert_rule(transaction, &new, now))
                .await
        }
        Some(id) => state
            .store
            .write_async(move |transaction| stored::update_rule(transaction, id, &new, now))
            .await
            .map(|()| id),
    }
    .map_err(|error| match error {
        StoreError::Duplicate { .. } => AppError::Field {
            field: "name",
            message: error.to_string(),
        },
        other => AppError::Store(other),
    })?;
    state.engine.reload_rules().await?;
    rules_changed(&app);
    Ok(id)
}

#[tauri::command]
pub async fn remove_rule(app: AppHandle, state: State<'_, AppState>, id: i64) -> Result<()> {
    state
        .store
        .write_async(move |transaction| stored::remove_rule(transaction, id))
        .await?;
    state.engine.reload_rules().await?;
    rules_changed(&app);
    Ok(())
}

#[tauri::command]
pub async fn set_rule_enabled(
    app: AppHandle,
    state: State<'_, AppState>,
    id: i64,
    enabled: bool,
) -> Result<()> {
    state
        .store
        .write_async(move |transaction| {
            stored::set_rule_enabled(transaction, id, enabled, now_ms())
        })
        .await?;
    state.engine.reload_rules().await?;
    rules_changed(&app);
    Ok(())
}

/// Moves a rule to `position` (1 = evaluated first).
#[tauri::command]
pub async fn move_rule(
    app: AppHandle,
    state: State<'_, AppState>,
    id: i64,
    position: usize,
) -> Result<()> {
    state
        .store
        .write_async(move |transaction| stored::move_rule(transaction, id, position))
        .await?;
    state.engine.reload_rules().await?;
    rules_changed(&app);
    Ok(())
}

/// Which of the newest stored messages a draft rule, or (with `rule` null)
/// the saved rules, would match. Nothing is changed.
#[tauri::command]
pub async fn preview_rules(
    state: State<'_, AppState>,
    rule: Option<RuleInput>,
    limit: u32,
) -> Result<RulePreview> {
    let rules = match rule {
        Some(draft) => {
            let new = draft.to_core().map_err(AppError::Invalid)?;
            vec![herald_core::rules::Rule {
                id: draft.id.unwrap_or(0),
                name: if new.name.is_empty() {
                    "—".into()
                } else {
                    new.name
                },
                // A draft is previewed even while it is switched off.
                enabled: true,
                matcher: new.matcher,
                actions: new.actions,
                stop: new.stop,
            }]
        }
        None => state.store.read_async(stored::list_rules).await?,
    };
    let names: HashMap<i64, String> = rules
        .iter()
        .map(|rule| (rule.id, rule.name.clone()))
        .collect();
    let set = RuleSet::compile(rules).map_err(|error| AppError::Invalid(error.problem))?;
    let limit = limit.clamp(1, MAX_PREVIEW) as usize;
    let preview = state
        .store
        .read_async(move |connection| stored::preview(connection, &set, limit, now_ms()))
        .await?;
    Ok(preview_rows(&preview, &names))
}

#[tauri::command]
pub async fn list_delivery_failures(
    state: State<'_, AppState>,
    limit: u32,
) -> Result<Vec<DeliveryFailureView>> {
    let failures = state
        .store
        .read_async(move |connection| stored::delivery_failures(connection, limit.min(500)))
        .await?;
    Ok(failures.iter().map(DeliveryFailureView::from).collect())
}

#[tauri::command]
pub async fn get_policy(state: State<'_, AppState>) -> Result<PolicyInput> {
    let policy = state.store.read_async(stored::policy).await?;
    Ok(PolicyInput::from(&policy))
}

#[tauri::command]
pub async fn set_policy(
    app: AppHandle,
    state: State<'_, AppState>,
    policy: PolicyInput,
) -> Result<PolicyInput> {
    let policy = policy.to_core();
    policy.validate().map_err(AppError::Invalid)?;
    let saved = policy.clone();
    state
        .store
        .write_async(move |transaction| stored::set_policy(transaction, &saved))
        .await?;
    quiet_changed(&app, &state);
    Ok(PolicyInput::from(&policy))
}

/// The quiet state now, with what the notifier holds and whether it works.
pub(super) async fn quiet_view(state: &AppState) -> Result<QuietView> {
    let (quiet, policy) = state
        .store
        .read_async(|connection| Ok((stored::quiet(connection)?, stored::policy(connection)?)))
        .await?;
    let mut view = QuietView::new(&quiet, &policy, now_ms());
    let status = state.notifier.status();
    view.held = status.held;
    view.notifier_error = status.error;
    view.sources_paused = state.engine.paused();
    Ok(view)
}

#[tauri::command]
pub async fn get_quiet(state: State<'_, AppState>) -> Result<QuietView> {
    quiet_view(&state).await
}

/// Changes the stored quiet state in one write and tells everyone.
pub(super) async fn change_quiet(
    app: &AppHandle,
    state: &AppState,
    change: impl FnOnce(&mut Quiet) + Send + 'static,
) -> Result<QuietView> {
    state
        .store
        .write_async(move |transaction| {
            let mut quiet = stored::quiet(transaction)?;
            quiet.expire(now_ms());
            change(&mut quiet);
            stored::set_quiet(transaction, &quiet)
        })
        .await?;
    quiet_changed(app, state);
    quiet_view(state).await
}

#[tauri::command]
pub async fn pause_notifications(
    app: AppHandle,
    state: State<'_, AppState>,
    pause: PauseInput,
) -> Result<QuietView> {
    pause_notifications_now(&app, &state, pause).await
}

/// Pauses or resumes notifications; the window and the tray both come here.
pub(super) async fn pause_notifications_now(
    app: &AppHandle,
    state: &AppState,
    pause: PauseInput,
) -> Result<QuietView> {
    let until = pause.deadline(now_ms());
    change_quiet(app, state, move |quiet| quiet.dnd_until = until).await
}

#[tauri::command]
pub async fn mute_source(
    app: AppHandle,
    state: State<'_, AppState>,
    id: i64,
    pause: PauseInput,
) -> Result<QuietView> {
    let until = pause.deadline(now_ms());
    change_quiet(&app, &state, move |quiet| match until {
        Some(until) => {
            quiet.mutes.insert(SourceId(id), until);
        }
        None => {
            quiet.mutes.remove(&SourceId(id));
        }
    })
    .await
}

#[tauri::command]
pub async fn set_sources_paused(
    app: AppHandle,
    state: State<'_, AppState>,
    paused: bool,
) -> Result<QuietView> {
    pause_sources(&app, &state, paused).await
}

/// Pauses or resumes every source, remembered across restarts; the window
/// and the tray both come here.
pub(super) async fn pause_sources(
    app: &AppHandle,
    state: &AppState,
    paused: bool,
) -> Result<QuietView> {
    change_quiet(app, state, move |quiet| quiet.sources_paused = paused).await?;
    state.engine.set_paused(paused).await?;
    // Again, now that the engine has acted on it.
    quiet_changed(app, state);
    quiet_view(state).await
}
