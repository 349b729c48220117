//! Where source credentials live: the OS keyring (Secret Service on Linux)
//! when one answers, otherwise the database, whose file is readable by its
//! owner only. `source list` says which, per source.
//!
//! Keyring calls block (they talk D-Bus), so call these from a blocking
//! context: the CLI, or `spawn_blocking` on the runtime.

use crate::config::Credentials;
use crate::i18n::text;
use crate::model::SourceId;
use crate::store::{self, SecretStore, Store, StoreError};

const SERVICE: &str = "herald";

/// Set `HERALD_KEYRING=off` to keep secrets in the database even where a
/// keyring exists (tests, or a user who prefers one file to back up).
fn keyring_enabled() -> bool {
    std::env::var("HERALD_KEYRING").map_or(true, |value| value != "off")
}

fn entry(store: &Store, id: SourceId) -> Option<keyring::Entry> {
    // The database path is part of the key, so two data directories never
    // share (or overwrite) each other's secrets.
    let user = format!("{}#source-{}", store.path().display(), id.0);
    keyring::Entry::new(SERVICE, &user).ok()
}

/// Saves credentials (or clears them when empty) and records where.
pub fn save(
    store: &Store,
    id: SourceId,
    credentials: &Credentials,
) -> Result<SecretStore, StoreError> {
    let previous = store
        .read(move |connection| store::get_source(connection, id))?
        .secret_store;
    if previous == SecretStore::Keyring {
        if let Some(entry) = entry(store, id) {
            let _ = entry.delete_credential();
        }
    }
    if credentials.is_empty() {
        store.write(move |transaction| {
            store::set_source_secret(transaction, id, SecretStore::None, None)
        })?;
        return Ok(SecretStore::None);
    }
    let serialized = serde_json::to_string(credentials)
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    if keyring_enabled() {
        if let Some(entry) = entry(store, id) {
            // Read it back: some keyrings accept a write they cannot return.
            let stored = entry.set_password(&serialized).is_ok()
                && entry.get_password().ok().as_deref() == Some(serialized.as_str());
            if stored {
                store.write(move |transaction| {
                    store::set_source_secret(transaction, id, SecretStore::Keyring, None)
                })?;
                return Ok(SecretStore::Keyring);
            }
        }
    }
    store.write(move |transaction| {
        store::set_source_secret(transaction, id, SecretStore::Database, Some(&serialized))
    })?;
    Ok(SecretStore::Database)
}

/// Loads a source's credentials from wherever they were saved.
pub fn load(store: &Store, id: SourceId, kept_in: SecretStore) -> Result<Credentials, StoreError> {
    let serialized = match kept_in {
        SecretStore::None => return Ok(Credentials::default()),
        SecretStore::Database => {
            store.read(move |connection| store::source_secret(connection, id))?
        }
        SecretStore::Keyring => {
            let entry = entry(store, id)
                .ok_or_else(|| StoreError::Invalid(text("error.keyring_unavailable", &[])))?;
            Some(entry.get_password().map_err(|error| {
                StoreError::Invalid(text(
                    "error.keyring_read",
                    &[("id", &id.to_string()), ("error", &error.to_string())],
                ))
            })?)
        }
    };
    match serialized {
        Some(json) => serde_json::from_str(&json).map_err(|error| {
            StoreError::Invalid(text(
                "error.credentials_unreadable",
                &[("id", &id.to_string()), ("error", &error.to_string())],
            ))
        }),
        None => Ok(Credentials::default()),
    }
}

/// Forgets a source's credentials in the keyring (the database row goes with the source).
pub fn forget(store: &Store, id: SourceId, kept_in: SecretStore) {
    if kept_in == SecretStore::Keyring {
        if let Some(entry) = entry(store, id) {
            let _ = entry.delete_credential();
        }
    }
}
