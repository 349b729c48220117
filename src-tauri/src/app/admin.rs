//! The admin screens' commands: sources (add, edit, test, enable, remove)
//! and settings (retention, start at login, export and import). Validation
//! and the store/keyring sequence live in `herald_core::admin`, shared with
//! the CLI; these only translate the form and keep the engine in step.
//!
//! Secrets are write-only: nothing here sends a token, password or header
//! value back to the window.

use std::path::PathBuf;
use std::time::Duration;

use herald_core::admin::{self, AdminError, CredentialsChange, SourceDraft};
use herald_core::config::{AuthPlacement, Credentials, FieldMap, Secret, SourceConfig};
use herald_core::model::{now_ms, SourceId};
use herald_core::store::{self, Retention, SourceRecord};
use tauri::State;
use tauri_plugin_autostart::ManagerExt;

use super::{AppError, AppState};
use crate::dto::{
    CredentialsInput, ExportView, FieldMapInput, HeaderInput, ImportView, ProbeView,
    PublishApiChange, PublishApiInput, PublishApiView, SettingsView, SourceInput, SourceSettings,
    SourceView, StoredCredentials,
};
use crate::i18n;

type Result<T> = std::result::Result<T, AppError>;

/// How long "Test connection" listens after connecting.
const PROBE_LISTEN: Duration = Duration::from_secs(3);

/// Imports larger than this are refused (use `herald import FILE`).
const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

impl From<AdminError> for AppError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Field(error) => AppError::Field {
                field: error.field,
                message: error.message,
            },
            AdminError::Store(error) => AppError::Store(error),
        }
    }
}

impl From<admin::FieldError> for AppError {
    fn from(error: admin::FieldError) -> Self {
        AppError::from(AdminError::Field(error))
    }
}

/// Runs blocking admin work (keyring over D-Bus, store round trips) off the
/// async runtime.
async fn blocking<R: Send + 'static>(
    job: impl FnOnce() -> Result<R> + Send + 'static,
) -> Result<R> {
    tauri::async_runtime::spawn_blocking(job)
        .await
        .map_err(|error| {
            AppError::Invalid(i18n::text(
                "error.task_failed",
                &[("error", &error.to_string())],
            ))
        })?
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn field_map(input: &FieldMapInput) -> FieldMap {
    FieldMap {
        id: optional(&input.id),
        title: optional(&input.title),
        body: optional(&input.body),
        priority: optional(&input.priority),
        time: optional(&input.time),
        tags: optional(&input.tags),
        url: optional(&input.url),
        group: optional(&input.group),
    }
}

fn field_map_input(map: &FieldMap) -> FieldMapInput {
    let text = |pointer: &Option<String>| pointer.clone().unwrap_or_default();
    FieldMapInput {
        id: text(&map.id),
        title: text(&map.title),
        body: text(&map.body),
        priority: text(&map.priority),
        time: text(&map.time),
        tags: text(&map.tags),
        url: text(&map.url),
        group: text(&map.group),
    }
}

/// The form as a draft. A header sent back with `value: null` keeps the
/// value stored under that name in `existing`.
fn draft(input: &SourceInput, existing: Option<&SourceConfig>) -> Result<SourceDraft> {
    let mut headers = Vec::with_capacity(input.headers.len());
    for header in &input.headers {
        let name = header.name.trim().to_string();
        if name.is_empty() && header.value.as_deref().is_none_or(str::is_empty) {
            continue;
        }
        let value = match &header.value {
            Some(value) => value.trim().to_string(),
            None => existing
                .and_then(|config| {
                    config
                        .headers
                        .iter()
                        .find(|(stored, _)| stored.eq_ignore_ascii_case(&name))
                })
                .map(|(_, value)| value.clone())
                .ok_or_else(|| AppError::Field {
                    field: "headers",
                    message: i18n::text(
                        "error.header_needs_value",
                        &[("name", &format!("{name:?}"))],
                    ),
                })?,
        };
        headers.push((name, value));
    }
    let config = SourceConfig {
        headers,
        auth: if input.auth_in_query {
            AuthPlacement::Query
        } else {
            AuthPlacement::Header
        },
        map: field_map(&input.map),
        subscribe_frame: optional(&input.subscribe_frame),
        resume_url: optional(&input.resume_url),
        text_frames: input.text_frames,
        ca_file: admin::absolute_path(&input.ca_file),
        read_timeout_secs: u64::from(input.read_timeout_secs),
        max_frame_bytes: input.max_frame_bytes as usize,
        subscriptions: input.subscriptions.clone(),
        virtual_host: optional(&input.virtual_host),
        client_id: optional(&input.client_id),
        qos: input.qos,
        durable: input.durable,
        id_header: optional(&input.id_header),
        allow_plain_credentials: input.allow_plain_credentials,
    };
    Ok(SourceDraft {
        name: input.name.clone(),
        protocol: input.protocol.into(),
        url: input.url.clone(),
        enabled: input.enabled,
        config,
    })
}

fn credentials_change(input: &CredentialsInput) -> CredentialsChange {
    match input {
        CredentialsInput::Keep => CredentialsChange::Keep,
        CredentialsInput::None => CredentialsChange::Set(Credentials::default()),
        CredentialsInput::Token { token } => CredentialsChange::Set(Credentials {
            token: Some(Secret::new(token.trim())),
            ..Credentials::default()
        }),
        CredentialsInput::Basic { username, password } => CredentialsChange::Set(Credentials {
            token: None,
            username: Some(username.trim().to_string()),
            password: Some(Secret::new(password.as_str())),
        }),
    }
}

fn settings_of(record: &SourceRecord, credentials: &Credentials) -> SourceSettings {
    let config = &record.config;
    SourceSettings {
        input: SourceInput {
            id: Some(record.id.0),
            name: record.name.clone(),
            protocol: record.protocol.into(),
            url: record.url.clone(),
            enabled: record.enabled,
            auth_in_query: config.auth == AuthPlacement::Query,
            headers: config
                .headers
                .iter()
                .map(|(name, _)| HeaderInput {
                    name: name.clone(),
                    value: None,
                })
                .collect(),
            map: field_map_input(&config.map),
            subscribe_frame: config.subscribe_frame.clone().unwrap_or_default(),
            resume_url: config.resume_url.clone().unwrap_or_default(),
            text_frames: config.text_frames,
            ca_file: config
                .ca_file
                .as_ref()
                .map(|path| path.display().to_string())
                .unwrap_or_default(),
            read_timeout_secs: u32::try_from(config.read_timeout_secs).unwrap_or(u32::MAX),
            max_frame_bytes: u32::try_from(config.max_frame_bytes).unwrap_or(u32::MAX),
            credentials: CredentialsInput::Keep,
            subscriptions: config.subscriptions.clone(),
            virtual_host: config.virtual_host.clone().unwrap_or_default(),
            client_id: config.client_id.clone().unwrap_or_default(),
            qos: config.qos,
            durable: config.durable,
            id_header: config.id_header.clone().unwrap_or_default(),
            allow_plain_credentials: config.allow_plain_credentials,
        },
        stored_credentials: if credentials.token.is_some() {
            StoredCredentials::Token
        } else if credentials.username.is_some() {
            StoredCredentials::Basic
        } else {
            StoredCredentials::None
        },
        username: credentials.username.clone(),
        secret_store: record.secret_store.as_str().to_string(),
    }
}

#[tauri::command]
pub async fn get_source(state: State<'_, AppState>, id: i64) -> Result<SourceSettings> {
    let store = state.store.clone();
    blocking(move || {
        let id = SourceId(id);
        let record = store.read(move |connection| store::get_source(connection, id))?;
        // An unreadable keyring still lets the form open; the kind shows as none.
        let credentials =
            herald_core::secrets::load(&store, id, record.secret_store).unwrap_or_default();
        Ok(settings_of(&record, &credentials))
    })
    .await
}

/// Adds or updates a source, then (re)starts or stops its connection.
#[tauri::command]
pub async fn save_source(state: State<'_, AppState>, source: SourceInput) -> Result<i64> {
    let store = state.store.clone();
    let id = blocking(move || match source.id {
        None => {
            let credentials = match credentials_change(&source.credentials) {
                CredentialsChange::Keep => Credentials::default(),
                CredentialsChange::Set(credentials) => credentials,
            };
            let draft = draft(&source, None)?;
            Ok(admin::add(&store, draft, &credentials)?)
        }
        Some(id) => {
            let id = SourceId(id);
            let record = store.read(move |connection| store::get_source(connection, id))?;
            let draft = draft(&source, Some(&record.config))?;
            admin::update(&store, id, draft, credentials_change(&source.credentials))?;
            Ok(id)
        }
    })
    .await?;
    state.engine.reload_source(id).await?;
    Ok(id.0)
}

/// Connects once with the form's values (stored secrets filled in where the
/// form keeps them), listens briefly and reports; stores nothing.
#[tauri::command]
pub async fn test_source(state: State<'_, AppState>, source: SourceInput) -> Result<ProbeView> {
    let store = state.store.clone();
    let spec = blocking(move || {
        let stored = match source.id {
            Some(id) => {
                let id = SourceId(id);
                let record = store.read(move |connection| store::get_source(connection, id))?;
                let credentials = herald_core::secrets::load(&store, id, record.secret_store)?;
                Some((record, credentials))
            }
            None => None,
        };
        let draft = draft(&source, stored.as_ref().map(|(record, _)| &record.config))?;
        let credentials = match credentials_change(&source.credentials) {
            CredentialsChange::Keep => stored
                .map(|(_, credentials)| credentials)
                .unwrap_or_default(),
            CredentialsChange::Set(credentials) => credentials,
        };
        Ok(admin::draft_spec(draft, credentials)?)
    })
    .await?;
    let report = herald_core::source::probe::probe(&spec, PROBE_LISTEN).await;
    Ok(ProbeView {
        connected: report.connected,
        auth_failed: report.auth_failed,
        connect_ms: report.connect_ms,
        frames: report.frames,
        messages: report.messages,
        malformed: report.malformed,
        first_message: report.first_message,
        error: report.error,
        listened_secs: PROBE_LISTEN.as_secs() as u32,
    })
}

#[tauri::command]
pub async fn set_source_enabled(state: State<'_, AppState>, id: i64, enabled: bool) -> Result<()> {
    let id = SourceId(id);
    state
        .store
        .write_async(move |transaction| {
            store::set_source_enabled(transaction, id, enabled, now_ms())
        })
        .await?;
    if enabled {
        state.engine.reload_source(id).await?;
    } else {
        state.engine.stop_source(id).await;
    }
    Ok(())
}

/// Removes a source; its messages go too when `delete_messages`.
#[tauri::command]
pub async fn remove_source(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    id: i64,
    delete_messages: bool,
) -> Result<usize> {
    let id = SourceId(id);
    state.engine.stop_source(id).await;
    let store = state.store.clone();
    let deleted = blocking(move || Ok(admin::remove(&store, id, delete_messages)?)).await?;
    super::commands::counts_changed(&app);
    Ok(deleted)
}

/// The local publish API as the settings show it.
async fn publish_api_view(state: &AppState) -> Result<PublishApiView> {
    let store = state.store.clone();
    let record = blocking(move || Ok(admin::publish_source(&store)?)).await?;
    let port = admin::publish_port(record.as_ref());
    let stats = match &record {
        Some(record) => {
            let id = record.id;
            state
                .store
                .read_async(store::source_stats)
                .await?
                .into_iter()
                .find(|stats| stats.id == id)
        }
        None => None,
    };
    Ok(PublishApiView {
        enabled: record.as_ref().is_some_and(|record| record.enabled),
        port,
        url: format!("http://127.0.0.1:{port}/publish"),
        source_id: record.as_ref().map(|record| record.id.0),
        state: stats
            .as_ref()
            .map(|stats| SourceView::from(stats).state)
            .unwrap_or_else(|| "disabled".into()),
        last_error: stats.and_then(|stats| stats.last_error),
    })
}

#[tauri::command]
pub async fn get_publish_api(state: State<'_, AppState>) -> Result<PublishApiView> {
    publish_api_view(&state).await
}

/// Turns the publish API on or off or moves it, and restarts its listener.
#[tauri::command]
pub async fn set_publish_api(
    state: State<'_, AppState>,
    input: PublishApiInput,
) -> Result<PublishApiChange> {
    let store = state.store.clone();
    let (id, new_token) =
        blocking(move || Ok(admin::set_publish_api(&store, input.enabled, input.port)?)).await?;
    state.engine.reload_source(id).await?;
    Ok(PublishApiChange {
        api: publish_api_view(&state).await?,
        new_token,
    })
}

/// Makes a new token for the publish API; the old one stops working.
#[tauri::command]
pub async fn regenerate_publish_token(state: State<'_, AppState>) -> Result<PublishApiChange> {
    let store = state.store.clone();
    let (id, token) = blocking(move || Ok(admin::regenerate_publish_token(&store)?)).await?;
    state.engine.reload_source(id).await?;
    Ok(PublishApiChange {
        api: publish_api_view(&state).await?,
        new_token: Some(token),
    })
}

#[tauri::command]
pub async fn get_settings(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
) -> Result<SettingsView> {
    let retention = state.store.read_async(store::retention).await?;
    Ok(SettingsView {
        max_age_days: retention.max_age_days,
        max_per_source: retention.max_per_source,
        autostart: app.autolaunch().is_enabled().unwrap_or(false),
        data_dir: state.data_dir.display().to_string(),
        export_dir: state.export_dir().display().to_string(),
    })
}

/// Sets how long messages are kept and prunes at once.
#[tauri::command]
pub async fn set_retention(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    max_age_days: Option<u32>,
    max_per_source: Option<u32>,
) -> Result<usize> {
    if max_age_days == Some(0) || max_per_source == Some(0) {
        return Err(AppError::Invalid(i18n::text("error.retention_limit", &[])));
    }
    let retention = Retention {
        max_age_days,
        max_per_source,
    };
    let pruned = state
        .store
        .write_async(move |transaction| {
            store::set_retention(transaction, &retention)?;
            store::prune(transaction, &retention, now_ms())
        })
        .await?;
    super::commands::counts_changed(&app);
    Ok(pruned)
}

#[tauri::command]
pub async fn set_autostart(app: tauri::AppHandle, enabled: bool) -> Result<()> {
    let autolaunch = app.autolaunch();
    let result = if enabled {
        autolaunch.enable()
    } else {
        autolaunch.disable()
    };
    result.map_err(|error| {
        AppError::Invalid(i18n::text(
            "error.autostart",
            &[("error", &error.to_string())],
        ))
    })
}

/// Writes every message as JSON Lines into the export folder.
#[tauri::command]
pub async fn export_messages(state: State<'_, AppState>) -> Result<ExportView> {
    let directory = state.export_dir();
    let store = state.store.clone();
    blocking(move || {
        std::fs::create_dir_all(&directory).map_err(|error| {
            AppError::Invalid(i18n::text(
                "error.create_directory",
                &[
                    ("path", &directory.display().to_string()),
                    ("error", &error.to_string()),
                ],
            ))
        })?;
        let stamp = time::OffsetDateTime::now_utc();
        let name = format!(
            "herald-export-{:04}{:02}{:02}-{:02}{:02}{:02}.jsonl",
            stamp.year(),
            u8::from(stamp.month()),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second()
        );
        let path = directory.join(name);
        let messages = store::export_jsonl(&store, &path)?;
        Ok(ExportView {
            path: path.display().to_string(),
            messages,
        })
    })
    .await
}

/// Imports a Herald export the window read from a file the user picked.
#[tauri::command]
pub async fn import_messages(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    contents: String,
) -> Result<ImportView> {
    if contents.len() > MAX_IMPORT_BYTES {
        return Err(AppError::Invalid(i18n::text(
            "error.import_too_large",
            &[("size", &(MAX_IMPORT_BYTES >> 20).to_string())],
        )));
    }
    let store = state.store.clone();
    let report = blocking(move || {
        let report = store::import_from(
            &store,
            std::io::Cursor::new(contents.as_bytes()),
            &i18n::text("error.import_origin", &[]),
            now_ms(),
        )?;
        Ok(ImportView {
            imported: report.imported,
            duplicates: report.duplicates,
            sources_created: report.sources_created,
        })
    })
    .await;
    super::commands::counts_changed(&app);
    report
}

/// Where exports go: the user's Downloads folder, else the data folder.
pub fn export_dir(data_dir: &std::path::Path) -> PathBuf {
    dirs::download_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join("Downloads")))
        .filter(|directory| directory.is_dir())
        .unwrap_or_else(|| data_dir.join("exports"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::ProtocolView;

    fn input() -> SourceInput {
        SourceInput {
            id: Some(1),
            name: "Orders".into(),
            protocol: ProtocolView::Json,
            url: "wss://example.com/feed".into(),
            enabled: true,
            auth_in_query: false,
            headers: vec![HeaderInput {
                name: "X-Api-Key".into(),
                value: None,
            }],
            map: FieldMapInput {
                title: "/data/title".into(),
                ..FieldMapInput::default()
            },
            subscribe_frame: "  ".into(),
            resume_url: String::new(),
            text_frames: false,
            ca_file: String::new(),
            read_timeout_secs: 90,
            max_frame_bytes: 1 << 20,
            credentials: CredentialsInput::Keep,
            subscriptions: Vec::new(),
            virtual_host: String::new(),
            client_id: String::new(),
            qos: 1,
            durable: false,
            id_header: String::new(),
            allow_plain_credentials: false,
        }
    }

    #[test]
    fn broker_settings_travel_both_ways() {
        let mut form = input();
        form.protocol = ProtocolView::Stomp;
        form.url = "ws://127.0.0.1:15674/ws".into();
        form.subscriptions = vec!["/topic/orders.#".into(), " ".into()];
        form.virtual_host = " ops ".into();
        form.durable = true;
        form.id_header = "x-order-id".into();
        form.headers.clear();
        let draft = draft(&form, None).expect("draft");
        let source = draft.validate().expect("a valid stomp source");
        assert_eq!(source.config.subscriptions, ["/topic/orders.#"]);
        assert_eq!(source.config.virtual_host.as_deref(), Some("ops"));
        assert_eq!(source.config.id_header.as_deref(), Some("x-order-id"));
        assert!(
            source.config.client_id.is_some(),
            "a client id is made up once"
        );
        let record = SourceRecord {
            id: SourceId(3),
            name: source.name.clone(),
            protocol: source.protocol,
            url: source.url.clone(),
            enabled: true,
            config: source.config.clone(),
            secret_store: herald_core::store::SecretStore::None,
            created_at: 0,
            updated_at: 0,
        };
        let back = settings_of(&record, &Credentials::default()).input;
        assert_eq!(back.subscriptions, ["/topic/orders.#"]);
        assert_eq!(back.virtual_host, "ops");
        assert!(back.durable);
        assert_eq!(back.client_id, source.config.client_id.unwrap_or_default());
    }

    #[test]
    fn a_header_sent_back_without_a_value_keeps_the_stored_one() {
        let stored = SourceConfig {
            headers: vec![("x-api-key".into(), "k-123".into())],
            ..SourceConfig::default()
        };
        let draft = draft(&input(), Some(&stored)).expect("draft");
        assert_eq!(
            draft.config.headers,
            vec![("X-Api-Key".to_string(), "k-123".to_string())]
        );
        // Empty text means unset; unmapped fields stay unmapped.
        assert_eq!(draft.config.subscribe_frame, None);
        assert_eq!(draft.config.map.title.as_deref(), Some("/data/title"));
        assert_eq!(draft.config.map.body, None);
    }

    #[test]
    fn a_new_header_needs_a_value() {
        match draft(&input(), None) {
            Err(AppError::Field { field, .. }) => assert_eq!(field, "headers"),
            other => panic!("expected a headers error, got {other:?}"),
        }
    }

    #[test]
    fn settings_never_carry_secrets() {
        let record = SourceRecord {
            id: SourceId(7),
            name: "Alerts".into(),
            protocol: herald_core::model::Protocol::Ntfy,
            url: "wss://ntfy.example.com/alerts/ws".into(),
            enabled: true,
            config: SourceConfig {
                headers: vec![("Authorization".into(), "Bearer planted-secret".into())],
                ..SourceConfig::default()
            },
            secret_store: store::SecretStore::Database,
            created_at: 0,
            updated_at: 0,
        };
        let credentials = Credentials {
            token: None,
            username: Some("phil".into()),
            password: Some(Secret::new("planted-password")),
        };
        let settings = settings_of(&record, &credentials);
        let json = serde_json::to_string(&settings).expect("json");
        assert!(!json.contains("planted"), "{json}");
        assert_eq!(settings.stored_credentials, StoredCredentials::Basic);
        assert_eq!(settings.username.as_deref(), Some("phil"));
        assert_eq!(settings.input.credentials, CredentialsInput::Keep);
    }

    #[test]
    fn credentials_input_maps_onto_changes() {
        assert!(matches!(
            credentials_change(&CredentialsInput::Keep),
            CredentialsChange::Keep
        ));
        match credentials_change(&CredentialsInput::None) {
            CredentialsChange::Set(credentials) => assert!(credentials.is_empty()),
            CredentialsChange::Keep => panic!("none must clear"),
        }
        match credentials_change(&CredentialsInput::Token {
            token: " tk_abc ".into(),
        }) {
            CredentialsChange::Set(credentials) => {
                assert_eq!(
                    credentials.token.as_ref().map(Secret::expose),
                    Some("tk_abc")
                )
            }
            CredentialsChange::Keep => panic!("token must set"),
        }
    }
}
