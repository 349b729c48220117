//! `herald publish` and `herald publish-api`: the local publish API from the
//! command line. `publish` posts to the running Herald's listener with the
//! token it reads from this machine's keyring (or database), so scripts
//! never need to hold the token themselves.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use herald_core::admin;
use herald_core::source::http;
use herald_core::store::Store;
use serde::Serialize;

use crate::cli::{PublishApiAction, PublishApiArgs, PublishArgs};
use crate::i18n;
use crate::output;

/// Most bytes read from stdin for a message.
const MAX_STDIN: u64 = 4 << 20;

pub fn publish(store: &Store, args: PublishArgs) -> Result<ExitCode> {
    let record = admin::publish_source(store)?
        .filter(|record| record.enabled)
        .ok_or_else(|| anyhow!(i18n::text("error.publish_api_off", &[])))?;
    let credentials = herald_core::secrets::load(store, record.id, record.secret_store)?;
    let token = credentials
        .token
        .ok_or_else(|| anyhow!(i18n::text("error.publish_api_no_token", &[])))?;
    let body = match args.message {
        Some(message) => message,
        None if args.title.is_some() => String::new(),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .take(MAX_STDIN)
                .read_to_string(&mut text)
                .with_context(|| i18n::text("error.read_stdin", &[]))?;
            text
        }
    };
    let port = admin::publish_port(Some(&record));
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/publish/"))?
        .join(&args.topic)
        .map_err(|error| {
            let topic = format!("{:?}", args.topic);
            let error = error.to_string();
            anyhow!(i18n::text(
                "error.topic",
                &[("topic", &topic), ("error", &error)]
            ))
        })?;
    let mut headers = vec![
        (
            "Authorization".to_string(),
            format!("Bearer {}", token.expose()),
        ),
        (
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        ),
    ];
    let optional = [
        ("Title", args.title),
        ("Priority", args.priority),
        ("Tags", args.tags),
        ("Click", args.click),
        ("Message-Id", args.id),
        ("Markdown", args.markdown.then(|| "yes".to_string())),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            // Header values cannot carry line breaks; a title with one is
            // folded onto one line rather than refused.
            let value = value.replace(['\r', '\n'], " ");
            headers.push((name.to_string(), value));
        }
    }
    let tls = herald_core::source::tls::client_config(None).map_err(|error| anyhow!(error))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = runtime
        .block_on(http::request(
            "POST",
            &url,
            &headers,
            Some(body.as_bytes()),
            &tls,
            Duration::from_secs(40),
            1 << 20,
        ))
        .map_err(|error| {
            anyhow!(i18n::text(
                "error.publish_unreachable",
                &[("error", &error.to_string())]
            ))
        })?;
    let answer: serde_json::Value =
        serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null);
    if response.status != 200 {
        let reason = answer
            .get("error")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(&response.body).into_owned());
        bail!(i18n::text(
            "error.publish_refused",
            &[
                ("status", &response.status.to_string()),
                ("reason", &reason)
            ]
        ));
    }
    if args.json {
        output::print_json(&answer)?;
    } else if let Some(id) = answer.get("id") {
        let id = id.to_string();
        println!("{}", i18n::text("cli.publish.stored", &[("id", &id)]));
    } else if answer.get("duplicate").is_some() {
        println!("{}", i18n::text("cli.publish.duplicate", &[]));
    } else {
        println!("{}", i18n::text("cli.publish.dropped", &[]));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct ApiListing {
    enabled: bool,
    port: u16,
    url: String,
    source_id: Option<i64>,
    /// Only when a token was just made: the one time it is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

pub fn publish_api(store: &Store, args: PublishApiArgs) -> Result<ExitCode> {
    let current = admin::publish_source(store)?;
    let port = args
        .port
        .unwrap_or_else(|| admin::publish_port(current.as_ref()));
    let field_error = |error: admin::AdminError| match error {
        admin::AdminError::Field(error) => anyhow!("{}", error.message),
        admin::AdminError::Store(error) => anyhow::Error::new(error),
    };
    let token = match args.action {
        None => None,
        Some(PublishApiAction::On) => {
            admin::set_publish_api(store, true, port)
                .map_err(field_error)?
                .1
        }
        Some(PublishApiAction::Off) => {
            admin::set_publish_api(store, false, port)
                .map_err(field_error)?
                .1
        }
        Some(PublishApiAction::Token) => Some(
            admin::regenerate_publish_token(store)
                .map_err(field_error)?
                .1,
        ),
    };
    let record = admin::publish_source(store)?;
    let port = admin::publish_port(record.as_ref());
    let listing = ApiListing {
        enabled: record.as_ref().is_some_and(|record| record.enabled),
        port,
        url: format!("http://127.0.0.1:{port}/publish/<topic>"),
        source_id: record.as_ref().map(|record| record.id.0),
        token,
    };
    if args.json {
        output::print_json(&listing)?;
        return Ok(ExitCode::SUCCESS);
    }
    let status = if listing.enabled {
        "cli.publish_api.on"
    } else {
        "cli.publish_api.off"
    };
    println!("{}", i18n::text(status, &[("url", &listing.url)]));
    if let Some(token) = &listing.token {
        println!(
            "{}",
            i18n::text("cli.publish_api.token", &[("token", token)])
        );
        println!("{}", i18n::text("cli.publish_api.token_hint", &[]));
    }
    if args.action.is_some() {
        println!("{}", i18n::text("cli.publish_api.applies_later", &[]));
    }
    Ok(ExitCode::SUCCESS)
}
