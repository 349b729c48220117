//! # herald-core
//!
//! Herald's engine: it receives messages from WebSocket feeds, stores them
//! in a local SQLite inbox and serves queries over it. It knows nothing of
//! windows, Tauri or the UI; the `herald` binary wraps it.
//!
//! # Layout
//! - [`model`]: domain types (messages, priorities, sources, cursors).
//! - [`config`]: source configuration, secrets, validation.
//! - [`admin`]: adding, editing and removing sources (CLI and window alike).
//! - [`rules`]: routing rules: which new messages notify, are tagged, dropped, forwarded.
//! - [`policy`]: notification policy: minimum priority, do not disturb, mutes, coalescing.
//! - [`dispatch`]: rule outputs: webhooks and local commands.
//! - [`i18n`]: the language choice and the English and Chinese text catalogs.
//! - [`clock`]: the local wall clock rules and quiet hours are evaluated in.
//! - [`render`]: message bodies as sanitised HTML or plain text; tag emoji.
//! - [`search_text`]: text folding for English and Chinese search, snippets.
//! - [`store`]: SQLite: migrations, the writer thread, queries, export/import.
//! - [`source`]: the WebSocket clients, one adapter per protocol, and the
//!   supervisor that reconnects them.
//! - [`engine`]: ties sources to the store and reports what was stored.
//! - [`secrets`]: the OS keyring, with the database as the fallback.
//! - [`demo`]: a loopback ntfy-compatible feed of sample messages.

pub mod admin;
pub mod clock;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod engine;
pub mod i18n;
pub mod model;
pub mod policy;
pub mod render;
pub mod rules;
pub mod search_text;
pub mod secrets;
pub mod source;
pub mod store;
