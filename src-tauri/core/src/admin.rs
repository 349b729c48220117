//! Adding, editing and removing sources: one validation and one sequence of
//! store and keyring steps, shared by the CLI and the window so that both
//! accept exactly the same sources and word their errors the same way.
//!
//! These functions block (the keyring talks D-Bus, the store waits for its
//! writer): call them from the CLI or from `spawn_blocking`. Restarting the
//! source's task in a running engine is the caller's part.

use std::path::PathBuf;

use crate::config::{normalize_url, parse_header, Credentials, SourceConfig};
use crate::i18n::text;
use crate::model::{now_ms, Protocol, SourceId};
use crate::source::SourceSpec;
use crate::store::{self, NewSource, SourceRecord, Store, StoreError};

/// A source as a user describes it, before it is checked.
#[derive(Debug, Clone)]
pub struct SourceDraft {
    pub name: String,
    pub protocol: Protocol,
    pub url: String,
    pub enabled: bool,
    pub config: SourceConfig,
}

/// A value the user has to fix. `field` names the input, in the form's
/// terms (`name`, `url`, `headers`, `map`, `resume_url`, `ca_file`, …); the
/// CLI turns it into its flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The smallest read timeout and frame limit accepted: below these a
/// source would reconnect or reject all the time.
pub const MIN_READ_TIMEOUT_SECS: u64 = 2;
pub const MIN_FRAME_BYTES: usize = 1024;
/// Frames above 64 MiB are not notifications.
pub const MAX_FRAME_BYTES: usize = 64 * 1024 * 1024;

impl SourceDraft {
    /// Checks everything that can be checked without connecting and
    /// normalises the URL (`https://host/topic` becomes `wss://host/topic/ws`).
    pub fn validate(self) -> Result<NewSource, FieldError> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err(field_error("name", text("field.name_required", &[])));
        }
        if name.chars().count() > 80 {
            return Err(field_error("name", text("field.name_too_long", &[])));
        }
        if self.protocol == Protocol::Local {
            return Err(field_error("protocol", text("field.protocol_local", &[])));
        }
        let url =
            normalize_url(self.protocol, &self.url).map_err(|error| field_error("url", error.0))?;
        let mut config = self.config;
        for (name, value) in &config.headers {
            parse_header(&format!("{name}: {value}"))
                .map_err(|error| field_error("headers", error.0))?;
        }
        check_broker_settings(self.protocol, &mut config)?;
        if self.protocol != Protocol::Json {
            if config.subscribe_frame.is_some() {
                return Err(field_error(
                    "subscribe_frame",
                    text("field.json_only_subscribe_frame", &[]),
                ));
            }
            if config.text_frames {
                return Err(field_error(
                    "text_frames",
                    text("field.json_only_text_frames", &[]),
                ));
            }
            if config.resume_url.is_some() {
                return Err(field_error(
                    "resume_url",
                    text("field.json_only_resume_url", &[]),
                ));
            }
            if !is_broker(self.protocol) {
                // ntfy and Gotify have fixed message shapes; a mapping is unused.
                config.map = Default::default();
            }
        }
        for pointer in [
            &config.map.id,
            &config.map.title,
            &config.map.body,
            &config.map.priority,
            &config.map.time,
            &config.map.tags,
            &config.map.url,
            &config.map.group,
        ]
        .into_iter()
        .flatten()
        {
            if !pointer.starts_with('/') {
                return Err(field_error(
                    "map",
                    text("field.map_pointer", &[("pointer", &format!("{pointer:?}"))]),
                ));
            }
        }
        if let Some(template) = &config.resume_url {
            crate::source::json::connect_url(&url, Some(template), Some(&Default::default()))
                .map_err(|error| field_error("resume_url", error.to_string()))?;
        }
        if let Some(ca_file) = &config.ca_file {
            let absolute = std::path::absolute(ca_file).unwrap_or_else(|_| ca_file.clone());
            crate::source::tls::client_config(Some(&absolute))
                .map_err(|error| field_error("ca_file", error))?;
            config.ca_file = Some(absolute);
        }
        if config.read_timeout_secs < MIN_READ_TIMEOUT_SECS {
            return Err(field_error(
                "read_timeout_secs",
                text(
                    "field.read_timeout",
                    &[("min", &MIN_READ_TIMEOUT_SECS.to_string())],
                ),
            ));
        }
        if !(MIN_FRAME_BYTES..=MAX_FRAME_BYTES).contains(&config.max_frame_bytes) {
            return Err(field_error(
                "max_frame_bytes",
                text(
                    "field.max_frame_bytes",
                    &[
                        ("min", &MIN_FRAME_BYTES.to_string()),
                        ("max", &(MAX_FRAME_BYTES >> 20).to_string()),
                    ],
                ),
            ));
        }
        Ok(NewSource {
            name,
            protocol: self.protocol,
            url: url.to_string(),
            enabled: self.enabled,
            config,
        })
    }
}

fn is_broker(protocol: Protocol) -> bool {
    matches!(protocol, Protocol::Stomp | Protocol::Mqtt)
}

/// Subscriptions, QoS, virtual host, client id and id header: checked for
/// brokers, refused elsewhere. A broker source without a client id gets one
/// here, once, so its durable subscription or persistent session is found
/// again after a restart.
fn check_broker_settings(protocol: Protocol, config: &mut SourceConfig) -> Result<(), FieldError> {
    let trim = |value: &mut Option<String>| {
        *value = value
            .take()
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty());
    };
    trim(&mut config.virtual_host);
    trim(&mut config.client_id);
    trim(&mut config.id_header);
    config.subscriptions = config
        .subscriptions
        .iter()
        .map(|subscription| subscription.trim().to_string())
        .filter(|subscription| !subscription.is_empty())
        .collect();
    if !is_broker(protocol) {
        let (field, key) = if !config.subscriptions.is_empty() {
            ("subscriptions", "field.broker_only_subscriptions")
        } else if config.virtual_host.is_some() {
            ("virtual_host", "field.broker_only_virtual_host")
        } else if config.client_id.is_some() {
            ("client_id", "field.broker_only_client_id")
        } else if config.id_header.is_some() {
            ("id_header", "field.broker_only_id_header")
        } else if config.durable {
            ("durable", "field.broker_only_durable")
        } else {
            return Ok(());
        };
        return Err(field_error(field, text(key, &[])));
    }
    if config.subscriptions.is_empty() {
        let key = if protocol == Protocol::Stomp {
            "field.stomp_subscriptions_required"
        } else {
            "field.mqtt_subscriptions_required"
        };
        return Err(field_error("subscriptions", text(key, &[])));
    }
    for subscription in &config.subscriptions {
        let valid = match protocol {
            Protocol::Stomp => {
                subscription.starts_with('/') && !subscription.contains(['\n', '\r', '\0'])
            }
            _ => crate::source::mqtt::valid_filter(subscription),
        };
        if !valid {
            let key = if protocol == Protocol::Stomp {
                "field.stomp_destination_invalid"
            } else {
                "field.mqtt_filter_invalid"
            };
            return Err(field_error(
                "subscriptions",
                text(key, &[("subscription", &format!("{subscription:?}"))]),
            ));
        }
    }
    if config.qos > 1 {
        return Err(field_error("qos", text("field.qos", &[])));
    }
    if protocol == Protocol::Mqtt {
        if config.virtual_host.is_some() {
            return Err(field_error(
                "virtual_host",
                text("field.mqtt_virtual_host", &[]),
            ));
        }
        if config.id_header.is_some() {
            return Err(field_error("id_header", text("field.mqtt_id_header", &[])));
        }
    }
    if let Some(header) = &config.id_header {
        if header.contains([':', '\n', '\r']) {
            return Err(field_error(
                "id_header",
                text(
                    "field.id_header_invalid",
                    &[("header", &format!("{header:?}"))],
                ),
            ));
        }
    }
    if let Some(client_id) = &config.client_id {
        if client_id.chars().count() > 64 || client_id.contains(char::is_control) {
            return Err(field_error("client_id", text("field.client_id", &[])));
        }
    } else {
        config.client_id = Some(format!("herald{:012x}", rand::random::<u64>() >> 16));
    }
    Ok(())
}

/// Credentials that make sense for the protocol: Gotify authenticates with a
/// client token only, and a username needs a password.
pub fn validate_credentials(
    protocol: Protocol,
    credentials: &Credentials,
) -> Result<(), FieldError> {
    if credentials.username.is_some() != credentials.password.is_some() {
        return Err(field_error(
            "credentials",
            text("field.credentials_pair", &[]),
        ));
    }
    if protocol == Protocol::Gotify && credentials.username.is_some() {
        return Err(field_error(
            "credentials",
            text("field.gotify_password", &[]),
        ));
    }
    if is_broker(protocol) && credentials.token.is_some() {
        return Err(field_error("credentials", text("field.broker_token", &[])));
    }
    if credentials
        .token
        .as_ref()
        .is_some_and(|token| token.expose().trim().is_empty())
    {
        return Err(field_error("credentials", text("field.token_empty", &[])));
    }
    Ok(())
}

/// Credentials go over plain ws:// or http:// only to this machine, or with
/// the user's confirmation for the source.
fn check_plain_credentials(source: &NewSource, has_credentials: bool) -> Result<(), FieldError> {
    let Ok(url) = url::Url::parse(&source.url) else {
        return Ok(());
    };
    match crate::source::plain_credentials_refusal(&url, &source.config, has_credentials) {
        Some(refusal) => Err(field_error("allow_plain_credentials", refusal)),
        None => Ok(()),
    }
}

/// What to do with a source's stored credentials when it is edited.
#[derive(Debug, Clone)]
pub enum CredentialsChange {
    Keep,
    /// Replace them; empty credentials remove them.
    Set(Credentials),
}

fn name_is_free(store: &Store, name: &str, except: Option<SourceId>) -> Result<(), AdminError> {
    let wanted = name.to_string();
    let existing = store.read(move |connection| store::find_source_by_name(connection, &wanted))?;
    match existing {
        Some(other) if Some(other.id) != except => Err(field_error(
            "name",
            text("field.source_name_taken", &[("name", &format!("{name:?}"))]),
        )
        .into()),
        _ => Ok(()),
    }
}

/// Adds a source and saves its credentials (in the keyring when one
/// answers). If the credentials cannot be saved the source is removed again,
/// so no source is left behind that cannot authenticate.
pub fn add(
    store: &Store,
    draft: SourceDraft,
    credentials: &Credentials,
) -> Result<SourceId, AdminError> {
    let source = draft.validate()?;
    validate_credentials(source.protocol, credentials)?;
    check_plain_credentials(&source, !credentials.is_empty())?;
    name_is_free(store, &source.name, None)?;
    let id =
        store.write(move |transaction| store::insert_source(transaction, &source, now_ms()))?;
    if let Err(error) = crate::secrets::save(store, id, credentials) {
        let _ =
            store.write(move |transaction| store::remove_source(transaction, id, false, now_ms()));
        return Err(error.into());
    }
    Ok(id)
}

/// Replaces a source's name, URL, settings and, unless `Keep`, credentials.
/// Its protocol cannot change: that is a different source.
pub fn update(
    store: &Store,
    id: SourceId,
    draft: SourceDraft,
    credentials: CredentialsChange,
) -> Result<(), AdminError> {
    let record = store.read(move |connection| store::get_source(connection, id))?;
    if draft.protocol != record.protocol {
        return Err(field_error("protocol", text("field.protocol_fixed", &[])).into());
    }
    let source = draft.validate()?;
    let has_credentials = match &credentials {
        CredentialsChange::Set(credentials) => {
            validate_credentials(source.protocol, credentials)?;
            !credentials.is_empty()
        }
        CredentialsChange::Keep => record.secret_store != store::SecretStore::None,
    };
    check_plain_credentials(&source, has_credentials)?;
    name_is_free(store, &source.name, Some(id))?;
    store.write(move |transaction| {
        let now = now_ms();
        store::update_source(transaction, id, &source.url, &source.config, now)?;
        store::rename_source(transaction, id, &source.name, now)?;
        if source.enabled != record.enabled {
            store::set_source_enabled(transaction, id, source.enabled, now)?;
        }
        Ok(())
    })?;
    if let CredentialsChange::Set(credentials) = credentials {
        crate::secrets::save(store, id, &credentials)?;
    }
    Ok(())
}

/// Removes a source and forgets its credentials. With `delete_messages`
/// its messages go too; otherwise they stay in the inbox. Returns how many
/// messages were deleted.
pub fn remove(store: &Store, id: SourceId, delete_messages: bool) -> Result<usize, StoreError> {
    let record = store.read(move |connection| store::get_source(connection, id))?;
    let deleted = store.write(move |transaction| {
        store::remove_source(transaction, id, !delete_messages, now_ms())
    })?;
    crate::secrets::forget(store, id, record.secret_store);
    Ok(deleted)
}

/// Everything needed to connect to a stored source, credentials included.
pub fn spec(store: &Store, id: SourceId) -> Result<SourceSpec, StoreError> {
    let record = store.read(move |connection| store::get_source(connection, id))?;
    let credentials = crate::secrets::load(store, id, record.secret_store)?;
    spec_from(record, credentials)
}

/// A spec from a stored record and its credentials.
pub fn spec_from(record: SourceRecord, credentials: Credentials) -> Result<SourceSpec, StoreError> {
    let url = normalize_url(record.protocol, &record.url)
        .map_err(|error| StoreError::Invalid(error.0))?;
    Ok(SourceSpec {
        id: record.id,
        url,
        name: record.name,
        protocol: record.protocol,
        config: record.config,
        credentials,
    })
}

/// A spec for a source that is not stored (yet): "Test connection" in a form.
pub fn draft_spec(draft: SourceDraft, credentials: Credentials) -> Result<SourceSpec, FieldError> {
    let source = draft.validate()?;
    validate_credentials(source.protocol, &credentials)?;
    let url =
        url::Url::parse(&source.url).map_err(|error| field_error("url", error.to_string()))?;
    Ok(SourceSpec {
        id: SourceId(0),
        url,
        name: source.name,
        protocol: source.protocol,
        config: source.config,
        credentials,
    })
}

/// The local publish API's source, once it has been turned on.
pub fn publish_source(store: &Store) -> Result<Option<SourceRecord>, StoreError> {
    let sources = store.read(store::list_sources)?;
    Ok(sources
        .into_iter()
        .find(|source| source.protocol == Protocol::Local))
}

/// The publish API's port: its source's, or the default.
pub fn publish_port(source: Option<&SourceRecord>) -> u16 {
    source
        .and_then(|source| url::Url::parse(&source.url).ok())
        .and_then(|url| url.port())
        .unwrap_or(crate::source::publish::DEFAULT_PORT)
}

/// The source the publish API files its messages under.
const PUBLISH_SOURCE_NAME: &str = "Local";

/// Turns the publish API on or off, or moves it to another port. The first
/// time it is turned on (or when its token is missing) a token is made and
/// returned: the only time it leaves Herald, apart from `herald publish`
/// reading it on this machine.
pub fn set_publish_api(
    store: &Store,
    enabled: bool,
    port: u16,
) -> Result<(SourceId, Option<String>), AdminError> {
    if port < 1024 {
        return Err(field_error("port", text("field.port_range", &[])).into());
    }
    let url = format!("http://127.0.0.1:{port}/");
    let existing = publish_source(store)?;
    let (id, has_token) = match existing {
        Some(record) => {
            let id = record.id;
            let config = record.config.clone();
            let url = url.clone();
            store.write(move |transaction| {
                let now = now_ms();
                store::update_source(transaction, id, &url, &config, now)?;
                if record.enabled != enabled {
                    store::set_source_enabled(transaction, id, enabled, now)?;
                }
                Ok(())
            })?;
            let credentials = crate::secrets::load(store, id, record.secret_store)?;
            (id, credentials.token.is_some())
        }
        None => {
            let mut name = PUBLISH_SOURCE_NAME.to_string();
            if name_is_free(store, &name, None).is_err() {
                name = format!("{PUBLISH_SOURCE_NAME} (publish api)");
            }
            let source = NewSource {
                name,
                protocol: Protocol::Local,
                url,
                enabled,
                config: SourceConfig::default(),
            };
            let id = store
                .write(move |transaction| store::insert_source(transaction, &source, now_ms()))?;
            (id, false)
        }
    };
    if has_token || !enabled {
        return Ok((id, None));
    }
    let token = regenerate_publish_token_for(store, id)?;
    Ok((id, Some(token)))
}

/// Replaces the publish API's token; the old one stops working at once
/// (once the source is restarted by the caller).
pub fn regenerate_publish_token(store: &Store) -> Result<(SourceId, String), AdminError> {
    let record = publish_source(store)?
        .ok_or_else(|| field_error("enabled", text("field.publish_api_off", &[])))?;
    let token = regenerate_publish_token_for(store, record.id)?;
    Ok((record.id, token))
}

fn regenerate_publish_token_for(store: &Store, id: SourceId) -> Result<String, AdminError> {
    let token = crate::source::publish::new_token();
    let credentials = Credentials {
        token: Some(crate::config::Secret::new(token.clone())),
        ..Credentials::default()
    };
    crate::secrets::save(store, id, &credentials)?;
    Ok(token)
}

/// The absolute form of a user-given path, for settings that hold paths.
pub fn absolute_path(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    (!text.is_empty()).then(|| {
        let path = PathBuf::from(text);
        std::path::absolute(&path).unwrap_or(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::store::BatchLimits;

    fn draft(protocol: Protocol, url: &str) -> SourceDraft {
        SourceDraft {
            name: "Orders".into(),
            protocol,
            url: url.into(),
            enabled: true,
            config: SourceConfig::default(),
        }
    }

    fn field(result: Result<NewSource, FieldError>) -> &'static str {
        result.expect_err("should be rejected").field
    }

    #[test]
    fn a_valid_draft_is_normalised() {
        let source = draft(Protocol::Ntfy, "https://ntfy.example.com/orders")
            .validate()
            .expect("valid");
        assert_eq!(source.url, "wss://ntfy.example.com/orders/ws");
        assert_eq!(source.name, "Orders");
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let mut unnamed = draft(Protocol::Ntfy, "wss://h/t");
        unnamed.name = "   ".into();
        assert_eq!(field(unnamed.validate()), "name");
        assert_eq!(field(draft(Protocol::Ntfy, "ftp://h/t").validate()), "url");
        assert_eq!(field(draft(Protocol::Ntfy, "wss://h/").validate()), "url");

        let mut framed = draft(Protocol::Gotify, "wss://h");
        framed.config.subscribe_frame = Some("{}".into());
        assert_eq!(field(framed.validate()), "subscribe_frame");

        let mut header = draft(Protocol::Json, "wss://h/feed");
        header.config.headers.push(("Bad Name".into(), "x".into()));
        assert_eq!(field(header.validate()), "headers");

        let mut pointer = draft(Protocol::Json, "wss://h/feed");
        pointer.config.map.title = Some("data.title".into());
        assert_eq!(field(pointer.validate()), "map");

        let mut ca = draft(Protocol::Json, "wss://h/feed");
        ca.config.ca_file = Some("/nonexistent/ca.pem".into());
        assert_eq!(field(ca.validate()), "ca_file");

        let mut timeout = draft(Protocol::Json, "wss://h/feed");
        timeout.config.read_timeout_secs = 1;
        assert_eq!(field(timeout.validate()), "read_timeout_secs");

        let mut frames = draft(Protocol::Json, "wss://h/feed");
        frames.config.max_frame_bytes = 10;
        assert_eq!(field(frames.validate()), "max_frame_bytes");
    }

    #[test]
    fn credentials_fit_the_protocol() {
        let basic = Credentials {
            token: None,
            username: Some("me".into()),
            password: Some(Secret::new("pw")),
        };
        assert!(validate_credentials(Protocol::Ntfy, &basic).is_ok());
        assert_eq!(
            validate_credentials(Protocol::Gotify, &basic)
                .expect_err("gotify takes tokens")
                .field,
            "credentials"
        );
        let half = Credentials {
            password: None,
            ..basic
        };
        assert!(validate_credentials(Protocol::Ntfy, &half).is_err());
    }

    /// A store on a new file (secrets kept in it) and a token credential.
    fn store_and_token() -> (tempfile::TempDir, Store, Credentials) {
        std::env::set_var("HERALD_KEYRING", "off");
        let directory = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&directory.path().join("h.db"), BatchLimits::default()).expect("open");
        let token = Credentials {
            token: Some(Secret::new("tk_secret")),
            ..Credentials::default()
        };
        (directory, store, token)
    }

    #[test]
    fn credentials_travel_in_plain_text_only_to_this_machine_or_when_confirmed() {
        let (_directory, store, token) = store_and_token();
        let named = |name: &str, url: &str| {
            let mut draft = draft(Protocol::Ntfy, url);
            draft.name = name.into();
            draft
        };
        // http:// becomes ws://: a token for a host across the network is refused.
        match add(
            &store,
            named("Plain", "http://ntfy.example.com/alerts"),
            &token,
        ) {
            Err(AdminError::Field(error)) => {
                assert_eq!(error.field, "allow_plain_credentials");
                assert!(error.message.contains("wss://"), "{}", error.message);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A secret header counts as a credential too.
        let mut header = named("Header", "ws://ntfy.example.com/alerts");
        header
            .config
            .headers
            .push(("Authorization".into(), "Bearer x".into()));
        assert!(add(&store, header, &Credentials::default()).is_err());
        // Fine: no credentials, TLS, this machine, or the user's confirmation.
        let anonymous = add(
            &store,
            named("Open", "http://ntfy.example.com/alerts"),
            &Credentials::default(),
        )
        .expect("nothing secret to send");
        add(
            &store,
            named("Tls", "https://ntfy.example.com/alerts"),
            &token,
        )
        .expect("tls");
        for (name, url) in [
            ("Loop4", "http://127.0.0.1:8080/alerts"),
            ("Loop6", "http://[::1]:8080/alerts"),
            ("Local", "http://localhost:8080/alerts"),
        ] {
            add(&store, named(name, url), &token).unwrap_or_else(|error| panic!("{url}: {error}"));
        }
        let mut confirmed = named("Confirmed", "http://ntfy.example.com/alerts");
        confirmed.config.allow_plain_credentials = true;
        add(&store, confirmed, &token).expect("confirmed");

        // Giving the open source a token later is held to the same rule,
        // and so is moving a source with a stored token onto plain ws://.
        let open_draft = named("Open", "http://ntfy.example.com/alerts");
        assert!(update(
            &store,
            anonymous,
            open_draft,
            CredentialsChange::Set(token.clone())
        )
        .is_err());
        let tls = store
            .read(|connection| store::find_source_by_name(connection, "Tls"))
            .expect("read")
            .expect("the tls source");
        assert!(matches!(
            update(
                &store,
                tls.id,
                named("Tls", "http://ntfy.example.com/alerts"),
                CredentialsChange::Keep
            ),
            Err(AdminError::Field(_))
        ));
    }

    #[test]
    fn add_update_and_remove_keep_names_unique_and_secrets_in_step() {
        let (_directory, store, token) = store_and_token();
        let orders = add(&store, draft(Protocol::Ntfy, "wss://h/orders"), &token).expect("add");
        let mut other = draft(Protocol::Ntfy, "wss://h/alerts");
        other.name = "Alerts".into();
        let alerts = add(&store, other.clone(), &Credentials::default()).expect("add");

        // A second "Orders" is refused, by field.
        match add(&store, draft(Protocol::Ntfy, "wss://h/x"), &token) {
            Err(AdminError::Field(error)) => assert_eq!(error.field, "name"),
            other => panic!("expected a name error, got {other:?}"),
        }
        // Renaming onto another source's name is refused too; keeping one's own is fine.
        let mut clash = other.clone();
        clash.name = "Orders".into();
        assert!(matches!(
            update(&store, alerts, clash, CredentialsChange::Keep),
            Err(AdminError::Field(_))
        ));
        let mut edited = draft(Protocol::Ntfy, "wss://h/orders2");
        edited.enabled = false;
        update(&store, orders, edited, CredentialsChange::Keep).expect("update");
        let stored = spec(&store, orders).expect("spec");
        assert_eq!(stored.url.as_str(), "wss://h/orders2/ws");
        assert_eq!(
            stored.credentials.token.as_ref().map(Secret::expose),
            Some("tk_secret"),
            "Keep leaves the secret alone"
        );
        let record = store
            .read(move |connection| store::get_source(connection, orders))
            .expect("record");
        assert!(!record.enabled);

        // The protocol is fixed.
        assert!(matches!(
            update(
                &store,
                orders,
                draft(Protocol::Gotify, "wss://h"),
                CredentialsChange::Keep
            ),
            Err(AdminError::Field(FieldError {
                field: "protocol",
                ..
            }))
        ));

        // Empty credentials remove them.
        update(
            &store,
            orders,
            draft(Protocol::Ntfy, "wss://h/orders2"),
            CredentialsChange::Set(Credentials::default()),
        )
        .expect("update");
        assert!(spec(&store, orders).expect("spec").credentials.is_empty());

        remove(&store, orders, true).expect("remove");
        assert!(spec(&store, orders).is_err());
    }
}
