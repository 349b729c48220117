//! Herald's real window, driven through WebDriver (tauri-driver and
//! WebKitWebDriver) on a private Xvfb display: the built `herald` binary,
//! loopback ntfy servers publishing while the window is open, and the
//! database read back with rusqlite to check that what the window shows is
//! what was stored. Besides the inbox (live messages, search, triage,
//! hostile content), the admin screens: sources added, tested, edited,
//! paused and removed through their forms, with a token that must never
//! come back to the page; and settings (retention, export and import,
//! start at login).
//!
//! The tests take turns ([`SERIAL`]): each starts an X server, a webview and
//! the app, and the machines that run them have two cores.
//!
//! Screenshots go to `$HERALD_SCREENSHOTS` (default:
//! `<temp>/herald-window-screenshots`).

use std::path::Path;
use std::time::{Duration, Instant};

use herald_tests::broker::{RabbitNode, StompPublisher, PASSWORD, USER};
use herald_tests::desktop::Desktop;
use herald_tests::ntfy::{NtfyAuth, NtfyServer};
use herald_tests::webdriver::{Element, Session};
use herald_tests::{free_port, now_ms, wait_for, Herald, WAIT};
use serde::Deserialize;
use serde_json::json;

/// One window test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The rows the virtual list has rendered, top to bottom.
const ROWS_JS: &str = r#"
    return [...document.querySelectorAll(".list [role=option][data-id]")].map((row) => ({
        id: Number(row.dataset.id),
        title: row.querySelector(".title")?.textContent.trim() ?? "",
        preview: row.querySelector(".preview")?.textContent.trim() ?? "",
        unread: row.classList.contains("unread"),
        starred: row.querySelector("[data-action=star]")?.getAttribute("aria-pressed") === "true",
        marks: [...row.querySelectorAll("mark")].map((mark) => mark.textContent),
    }));
"#;

/// The open message, or `null`. Long bodies are cut: the 1 MB one would
/// otherwise cross the wire on every poll.
const DETAIL_JS: &str = r#"
    const article = document.querySelector(".detail article.message");
    if (!article) return null;
    const body = article.querySelector(".body");
    const text = body ? body.innerText : "";
    return {
        title: article.querySelector("h1.title")?.textContent ?? "",
        body_text: text.slice(0, 4000),
        body_length: text.length,
        tags: [...article.querySelectorAll(".tags .tag")].map((tag) => tag.textContent.trim()),
        buttons: [...article.querySelectorAll("button")].map((button) => button.textContent.trim()),
    };
"#;

/// The first element matching `arguments[0]` whose text is `arguments[1]`.
const BY_TEXT_JS: &str = r#"
    const [selector, text] = arguments;
    return [...document.querySelectorAll(selector)].find((element) => element.textContent.trim() === text) ?? null;
"#;

/// The title cell of the rendered row titled `arguments[0]`.
const ROW_TITLE_JS: &str = r#"
    const [title] = arguments;
    return [...document.querySelectorAll(".list [role=option][data-id] .title")]
        .find((cell) => cell.textContent.trim() === title) ?? null;
"#;

#[derive(Debug, Clone, Deserialize)]
struct Row {
    id: i64,
    title: String,
    preview: String,
    unread: bool,
    starred: bool,
    marks: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Detail {
    title: String,
    body_text: String,
    body_length: usize,
    tags: Vec<String>,
    buttons: Vec<String>,
}

async fn rows(session: &Session) -> Vec<Row> {
    let value = session.execute(ROWS_JS, &[]).await;
    serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("rows in an unexpected shape ({error}): {value}"))
}

fn titles(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|row| row.title.as_str()).collect()
}

/// Waits until `probe(rows)` says yes.
async fn wait_rows<T>(session: &Session, what: &str, probe: impl Fn(&[Row]) -> Option<T>) -> T {
    let probe = &probe;
    session
        .wait_for(what, WAIT, || async move {
            let rows = rows(session).await;
            probe(&rows).ok_or_else(|| format!("rows {:?}", titles(&rows)))
        })
        .await
}

/// Waits until the list shows exactly these titles, in this order.
async fn wait_titles(session: &Session, expected: &[&str]) -> Vec<Row> {
    wait_rows(session, &format!("the list to show {expected:?}"), |rows| {
        (titles(rows) == expected).then(|| rows.to_vec())
    })
    .await
}

async fn detail(session: &Session) -> Option<Detail> {
    let value = session.execute(DETAIL_JS, &[]).await;
    serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("the detail in an unexpected shape ({error}): {value}"))
}

/// Scrolls the list on by most of a screen, or back to the top from its
/// end: the virtual list only renders the rows in view.
const SCROLL_ON_JS: &str = r#"
    const viewport = document.querySelector(".list [role=listbox]");
    if (!viewport) return;
    const atEnd = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - 1;
    viewport.scrollTop = atEnd ? 0 : viewport.scrollTop + Math.floor(viewport.clientHeight * 0.8);
"#;

/// Clicks the row titled `title` (scrolling the list until it is rendered)
/// and waits for its detail.
async fn open_message(session: &Session, title: &str) -> Detail {
    let cell = session
        .wait_for(&format!("a row titled {title:?}"), WAIT, || async {
            match session.find_by_script(ROW_TITLE_JS, &[json!(title)]).await {
                Some(cell) => Ok(cell),
                None => {
                    let shown = titles(&rows(session).await).join(" | ");
                    session.execute(SCROLL_ON_JS, &[]).await;
                    Err(format!("rows {shown}"))
                }
            }
        })
        .await;
    cell.click().await;
    session
        .wait_for(&format!("the detail of {title:?}"), WAIT, || async {
            match detail(session).await {
                Some(detail) if detail.title == title => Ok(detail),
                other => Err(format!("{other:?}")),
            }
        })
        .await
}

/// The first element matching `selector` whose text is `text`, waiting
/// (bounded) for it.
async fn find_text<'s>(session: &'s Session, selector: &str, text: &str) -> Element<'s> {
    session
        .wait_for(
            &format!("`{selector}` with the text {text:?}"),
            WAIT,
            || async {
                session
                    .find_by_script(BY_TEXT_JS, &[json!(selector), json!(text)])
                    .await
                    .ok_or_else(|| "not there".to_string())
            },
        )
        .await
}

async fn click_text(session: &Session, selector: &str, text: &str) {
    find_text(session, selector, text).await.click().await;
}

/// Chooses a view (Inbox, Starred, Archived…) in the sidebar.
async fn choose_view(session: &Session, label: &str) {
    click_text(session, "nav.sidebar button.item .label", label).await;
}

/// Types `query` into the search box (after clearing it) and waits until
/// every row highlights it (and only it), which only its results do.
async fn search(session: &Session, query: &str) -> Vec<Row> {
    clear_search(session).await;
    session
        .find("input[type=search]")
        .await
        .send_keys(query)
        .await;
    let wanted = query.to_lowercase();
    wait_rows(
        session,
        &format!("results for {query:?} with highlights"),
        |rows| {
            let highlighted = rows.iter().all(|row| {
                !row.marks.is_empty() && row.marks.iter().all(|mark| mark.to_lowercase() == wanted)
            });
            (!rows.is_empty() && highlighted).then(|| rows.to_vec())
        },
    )
    .await
}

async fn clear_search(session: &Session) {
    if let Ok(Some(clear)) = session.try_find(".search button.clear").await {
        clear.click().await;
    }
}

/// Sets local-storage keys (the theme) and reloads the page.
async fn reload_with(session: &Session, settings: &[(&str, &str)]) {
    for (key, value) in settings {
        session
            .execute(
                "localStorage.setItem(arguments[0], arguments[1]);",
                &[json!(key), json!(value)],
            )
            .await;
    }
    session
        .execute("window.__e2eBeforeReload = true;", &[])
        .await;
    session.refresh().await;
    session
        .wait_script(
            "the reloaded ui to mount",
            WAIT,
            "return window.__e2eBeforeReload === undefined && document.querySelector('.app .main') && !document.querySelector('.app .main > .loading')",
            &[],
        )
        .await;
}

/// A message's triage state, read from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    id: i64,
    read: bool,
    starred: bool,
    snoozed_until: Option<i64>,
    archived: bool,
}

/// The message titled `title`, read from the database without writing to
/// it (the app may be running and is the only writer).
fn stored(database: &Path, title: &str) -> Result<Option<Stored>, String> {
    let connection = rusqlite::Connection::open_with_flags(
        database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| format!("cannot open {}: {error}", database.display()))?;
    let mut statement = connection
        .prepare(
            "SELECT id, read, starred, snoozed_until, archived_at IS NOT NULL \
             FROM messages WHERE title = ?1",
        )
        .map_err(|error| error.to_string())?;
    let mut found = statement
        .query_map([title], |row| {
            Ok(Stored {
                id: row.get(0)?,
                read: row.get(1)?,
                starred: row.get(2)?,
                snoozed_until: row.get(3)?,
                archived: row.get(4)?,
            })
        })
        .map_err(|error| error.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| error.to_string())?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(format!(
            "{title:?} is stored {} times: {found:?}",
            found.len()
        )),
    }
}

/// Waits until the stored state of `title` satisfies `probe`.
async fn wait_stored(
    database: &Path,
    title: &str,
    what: &str,
    probe: impl Fn(Option<&Stored>) -> bool,
) -> Option<Stored> {
    let probe = &probe;
    herald_tests::wait_for(
        &format!("the database to show {title:?} {what}"),
        WAIT,
        || async move {
            let state = stored(database, title)?;
            if probe(state.as_ref()) {
                Ok(state)
            } else {
                Err(format!("{state:?}"))
            }
        },
    )
    .await
}

/// Publishes a plain message with this title.
fn publish(server: &NtfyServer, title: &str, message: &str) {
    server.publish(json!({ "title": title, "message": message }));
}

/// How soon the sidebar's counts must follow a change made in the window:
/// at once, give or take the UI's 200 ms refresh and a loaded machine, and
/// well before anything else (a new message, a reload) would refresh them.
const COUNTS_FOLLOW: Duration = Duration::from_secs(3);

/// The badge on the sidebar item labelled `arguments[0]`: its text, `""`
/// when the item has none, `null` when there is no such item.
const SIDEBAR_BADGE_JS: &str = r#"
    const [label] = arguments;
    const item = [...document.querySelectorAll("nav.sidebar button.item")]
        .find((item) => item.querySelector(".label")?.textContent.trim() === label);
    if (!item) return null;
    return item.querySelector(".badge")?.textContent.trim() ?? "";
"#;

/// The sources listed in the sidebar (not "Every source", which has no status).
const SIDEBAR_SOURCES_JS: &str = r#"
    return [...document.querySelectorAll("nav.sidebar ul.sources button.item[title] .label")]
        .map((label) => label.textContent.trim());
"#;

/// Where `arguments[0]` occurs in the page: its markup, the values of its
/// form controls, its text, and the webview's storage.
const PAGE_HOLDS_JS: &str = r#"
    const [needle] = arguments;
    const places = [];
    if (document.documentElement.outerHTML.includes(needle)) places.push("the markup");
    if (document.body.innerText.includes(needle)) places.push("the text");
    for (const control of document.querySelectorAll("input, textarea, select")) {
        if (control.value.includes(needle)) places.push(`the value of ${control.dataset.testid ?? control.tagName}`);
    }
    if (JSON.stringify({ ...localStorage }).includes(needle)) places.push("localStorage");
    if (JSON.stringify({ ...sessionStorage }).includes(needle)) places.push("sessionStorage");
    return places;
"#;

/// Calls a backend command as the UI does; `window.__e2eInvoke` holds the
/// outcome until [`invoke`] reads it.
const INVOKE_JS: &str = r#"
    const [command, args] = arguments;
    window.__e2eInvoke = { pending: true };
    window.__TAURI_INTERNALS__.invoke(command, args).then(
        (value) => { window.__e2eInvoke = { ok: value ?? null }; },
        (error) => { window.__e2eInvoke = { err: error ?? null }; },
    );
"#;

/// `[data-testid=…]`: a control the UI names for these tests.
fn testid(id: &str) -> String {
    format!("[data-testid={id}]")
}

/// The card of the source named `name` on the sources screen.
fn source_row(name: &str) -> String {
    format!("[data-testid=source-row][data-source-name=\"{name}\"]")
}

/// Empties the input with this test id and types `text` into it.
async fn fill(session: &Session, id: &str, text: &str) {
    let input = session.find(&testid(id)).await;
    input.clear().await;
    if !text.is_empty() {
        input.send_keys(text).await;
    }
    let value = input.property("value").await;
    assert_eq!(
        value.as_str(),
        Some(text),
        "the input `{id}` holds what was typed"
    );
}

/// Waits (at most `timeout`) until the sidebar item labelled `label` shows
/// the badge `expected` (`""`: no badge).
async fn wait_badge(session: &Session, label: &str, expected: &str, timeout: Duration) {
    session
        .wait_for(
            &format!("the sidebar's {label:?} badge to read {expected:?}"),
            timeout,
            || async {
                let badge = session.execute(SIDEBAR_BADGE_JS, &[json!(label)]).await;
                if badge == json!(expected) {
                    Ok(())
                } else {
                    Err(format!("{badge}"))
                }
            },
        )
        .await;
}

async fn sidebar_sources(session: &Session) -> Vec<String> {
    let value = session.execute(SIDEBAR_SOURCES_JS, &[]).await;
    serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("sidebar sources in an unexpected shape ({error}): {value}"))
}

/// Waits until the sidebar lists exactly these sources, in this order.
/// Removes the source `name` on the sources screen, answering the dialog
/// with `choice` (`remove-keep-messages` or `remove-delete-messages`), and
/// waits until its card is gone.
async fn remove_source(session: &Session, name: &str, choice: &str) {
    session
        .click(&format!("{} {}", source_row(name), testid("source-remove")))
        .await;
    session.find(&testid("remove-source-dialog")).await;
    session.click(&testid(choice)).await;
    session.click(&testid("remove-confirm")).await;
    session
        .wait_script(
            &format!("the {name} card to go"),
            WAIT,
            "return ![...document.querySelectorAll('[data-testid=source-row]')].some((row) => row.dataset.sourceName === arguments[0])",
            &[json!(name)],
        )
        .await;
}

async fn wait_sidebar_sources(session: &Session, expected: &[&str]) {
    session
        .wait_for(
            &format!("the sidebar to list the sources {expected:?}"),
            WAIT,
            || async {
                let shown = sidebar_sources(session).await;
                if shown == expected {
                    Ok(())
                } else {
                    Err(format!("{shown:?}"))
                }
            },
        )
        .await;
}

/// Waits until the card of the source `name` reports `state`
/// (`connected`, `disabled`…).
async fn wait_row_state(session: &Session, name: &str, state: &str) {
    let row = source_row(name);
    session
        .wait_for(
            &format!("the source {name:?} to be {state}"),
            WAIT,
            || async {
                match session.try_find(&row).await {
                    Ok(Some(card)) => {
                        let shown = card.attribute("data-state").await;
                        if shown.as_deref() == Some(state) {
                            Ok(())
                        } else {
                            Err(format!("state {shown:?}"))
                        }
                    }
                    Ok(None) => Err("no such card".into()),
                    Err(error) => Err(error.to_string()),
                }
            },
        )
        .await;
}

/// Opens the sources screen and its form for a new source.
async fn open_new_source_form(session: &Session) {
    session.click(&testid("nav-manage-sources")).await;
    session.find(&testid("sources-admin")).await;
    session.click(&testid("add-source")).await;
    session.find(&testid("source-form")).await;
}

/// Clicks "Test connection" and waits for the probe to report `expected`
/// (`connected`, `auth_failed`…). The probe listens for a few seconds after
/// it connects.
async fn test_connection(session: &Session, expected: &str) {
    session.click(&testid("source-test")).await;
    session
        .wait_for(
            &format!("Test connection to report {expected}"),
            WAIT,
            || async {
                let probe = session.find(&testid("source-probe-result")).await;
                let state = probe.attribute("data-state").await;
                if state.as_deref() == Some(expected) {
                    Ok(())
                } else {
                    Err(format!("state {state:?}: {:?}", probe.text().await))
                }
            },
        )
        .await;
}

/// Calls a backend command as the UI does: `Ok` with what it resolved to,
/// `Err` with what it rejected with.
async fn invoke(
    session: &Session,
    command: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    session.execute(INVOKE_JS, &[json!(command), args]).await;
    let outcome = session
        .wait_script(
            &format!("`{command}` to answer"),
            WAIT,
            "return window.__e2eInvoke.pending ? null : window.__e2eInvoke",
            &[],
        )
        .await;
    match outcome.get("ok") {
        Some(value) => Ok(value.clone()),
        None => Err(outcome["err"].clone()),
    }
}

/// Runs `query` on the database opened read-only: the app may be running
/// and is its only writer.
fn try_query<T>(
    database: &Path,
    query: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T, String> {
    let connection = rusqlite::Connection::open_with_flags(
        database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| format!("cannot open {}: {error}", database.display()))?;
    query(&connection).map_err(|error| format!("reading {} failed: {error}", database.display()))
}

fn query<T>(
    database: &Path,
    query: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> T {
    try_query(database, query).unwrap_or_else(|error| panic!("{error}"))
}

/// A source as stored, including what the window must never be sent.
#[derive(Debug, Clone)]
struct StoredSource {
    id: i64,
    name: String,
    protocol: String,
    url: String,
    enabled: bool,
    config: String,
    secret_store: String,
    secret: Option<String>,
    removed: bool,
}

/// Every source row, removed ones included, oldest first.
fn stored_sources(database: &Path) -> Vec<StoredSource> {
    query(database, |connection| {
        connection
            .prepare(
                "SELECT id, name, protocol, url, enabled, config, secret_store, secret, \
                 removed_at IS NOT NULL FROM sources ORDER BY id",
            )?
            .query_map([], |row| {
                Ok(StoredSource {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    protocol: row.get(2)?,
                    url: row.get(3)?,
                    enabled: row.get(4)?,
                    config: row.get(5)?,
                    secret_store: row.get(6)?,
                    secret: row.get(7)?,
                    removed: row.get(8)?,
                })
            })?
            .collect()
    })
}

/// The titles stored for source `source`, oldest first.
fn stored_titles(database: &Path, source: i64) -> Vec<String> {
    query(database, |connection| {
        connection
            .prepare("SELECT title FROM messages WHERE source_id = ?1 ORDER BY id")?
            .query_map([source], |row| row.get(0))?
            .collect()
    })
}

fn message_count(database: &Path) -> i64 {
    query(database, |connection| {
        connection.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_starts_the_demo_and_the_screens_look_right() {
    let _serial = SERIAL.lock().await;
    let desktop = Desktop::start().await;
    let herald = Herald::new();
    let session = desktop.launch(herald.data_dir()).await;

    // No sources yet: the welcome screen, not an empty inbox.
    let welcome = session.find(".first-run h1").await.text().await;
    assert_eq!(
        welcome, "Welcome to Herald",
        "a database without sources opens on the first-run screen"
    );
    assert!(
        session.try_find(".list").await.expect("lookup").is_none(),
        "the first-run screen replaces the message list"
    );
    session
        .screenshot(&desktop.screenshot_path("first-run.png"))
        .await;

    let start = find_text(&session, ".first-run button", "Start the demo feed").await;
    start.click().await;
    // The demo feed sends the last hour's samples at once.
    let demo_rows = wait_rows(&session, "the demo's messages", |rows| {
        (rows.len() >= 8).then(|| rows.to_vec())
    })
    .await;
    assert!(
        session
            .try_find(".first-run")
            .await
            .expect("lookup")
            .is_none(),
        "the first-run screen gives way to the inbox once a source exists"
    );
    find_text(&session, "nav.sidebar button.item .label", "Demo feed").await;
    assert!(
        demo_rows.iter().any(|row| row.title.contains("订单")),
        "the demo mixes Chinese and English: {:?}",
        titles(&demo_rows)
    );

    // Light theme, inbox and an open message; then the dark theme.
    show_theme(&session, &desktop, "light", &[]).await;
    let freezer = open_message(&session, "Freezer 3 temperature high").await;
    assert!(
        freezer.body_text.contains("Door sensor: closed"),
        "the demo's markdown list is in the body: {freezer:?}"
    );
    session
        .screenshot(&desktop.screenshot_path("detail-light.png"))
        .await;
    show_theme(&session, &desktop, "dark", &[]).await;
    open_message(&session, "仓库 A3 库存告警").await;
    session
        .screenshot(&desktop.screenshot_path("detail-dark.png"))
        .await;

    // Chinese interface, Chinese search. The backend keeps the language
    // (the tray and notifications share it), so it survives a reload.
    let chosen = invoke(&session, "set_language", json!({ "choice": "zh-CN" })).await;
    assert_eq!(
        chosen,
        Ok(json!({ "choice": "zh-CN", "language": "zh-CN" }))
    );
    reload_with(&session, &[("herald.theme", "light")]).await;
    let label = session
        .find("input[type=search]")
        .await
        .attribute("aria-label")
        .await;
    assert_eq!(
        label.as_deref(),
        Some("搜索消息"),
        "the stored language applies after a reload"
    );
    let hits = search(&session, "订单").await;
    assert!(
        hits.len() >= 2,
        "the demo has several orders in Chinese: {:?}",
        titles(&hits)
    );
    session
        .screenshot(&desktop.screenshot_path("search-zh-CN.png"))
        .await;
    // The same search in the dark theme (the language stays Chinese).
    reload_with(&session, &[("herald.theme", "dark")]).await;
    let hits = search(&session, "订单").await;
    assert!(
        hits.len() >= 2,
        "the search finds the same orders after a reload: {:?}",
        titles(&hits)
    );
    session
        .screenshot(&desktop.screenshot_path("search-zh-dark.png"))
        .await;
    eprintln!("screenshots: {}", desktop.screenshot_path("").display());

    desktop.quit(session).await;
}

/// Stores `theme` (and `more` settings), reloads, checks that the theme is
/// the class on <html>, and saves `inbox-<theme>.png`.
async fn show_theme(session: &Session, desktop: &Desktop, theme: &str, more: &[(&str, &str)]) {
    let mut settings = vec![("herald.theme", theme)];
    settings.extend_from_slice(more);
    reload_with(session, &settings).await;
    wait_rows(session, "the inbox after reloading", |rows| {
        (rows.len() >= 8).then_some(())
    })
    .await;
    let classes = session
        .execute("return document.documentElement.className", &[])
        .await;
    assert!(
        classes.as_str().unwrap_or_default().contains(theme),
        "the stored theme {theme} is applied as a class on <html>: {classes}"
    );
    session
        .screenshot(&desktop.screenshot_path(&format!("inbox-{theme}.png")))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_messages_appear_without_a_reload() {
    let _serial = SERIAL.lock().await;
    let server = NtfyServer::start("alerts").await;
    publish(&server, "Cached one", "sent before the window opened");
    publish(&server, "Cached two", "also sent before");
    let herald = Herald::new();
    herald
        .add_source("Alerts", "ntfy", &server.topic_url(), &[])
        .await;
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    wait_titles(&session, &["Cached two", "Cached one"]).await;
    // Gone after any reload: proves the rows below arrived live.
    session.execute("window.__e2eSamePage = true;", &[]).await;

    let mut expected = vec!["Cached two", "Cached one"];
    for title in ["Live 1", "Live 2", "Live 3"] {
        publish(&server, title, "published while the window is open");
        expected.insert(0, title);
        let shown = wait_titles(&session, &expected).await;
        assert!(
            shown[0].unread,
            "a new message arrives unread: {:?}",
            shown[0]
        );
    }
    let same_page = session
        .execute("return window.__e2eSamePage === true", &[])
        .await;
    assert_eq!(
        same_page,
        json!(true),
        "new messages are merged into the open page, not loaded by a reload"
    );
    let unread_badge = session
        .wait_script(
            "the unread badge to count 5",
            WAIT,
            "const badge = [...document.querySelectorAll('nav.sidebar button.item')].find((item) => item.querySelector('.label')?.textContent.trim() === 'Unread')?.querySelector('.badge'); return badge?.textContent.trim() === '5' ? badge.textContent.trim() : null;",
            &[],
        )
        .await;
    assert_eq!(unread_badge, json!("5"));

    // A second launch hands over to the running window and exits; the
    // first keeps its page (no reload, no second engine on the database).
    let mut second = desktop
        .command(&herald_tests::herald::herald_binary())
        .arg("--data-dir")
        .arg(herald.data_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("a second herald starts");
    let exited = herald_tests::wait_for("the second launch to exit", WAIT, || {
        let status = second.try_wait();
        async move {
            match status {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err("still running".to_string()),
                Err(error) => Err(error.to_string()),
            }
        }
    })
    .await;
    assert!(
        exited.success(),
        "the second launch exits cleanly: {exited}"
    );
    assert_eq!(
        desktop.app_pids().len(),
        1,
        "one herald runs after a second launch"
    );
    let same_page = session
        .execute("return window.__e2eSamePage === true", &[])
        .await;
    assert_eq!(
        same_page,
        json!(true),
        "the first window keeps its page when a second launch focuses it"
    );
    desktop.quit(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_english_and_chinese_with_highlights() {
    let _serial = SERIAL.lock().await;
    let server = NtfyServer::start("shop").await;
    let messages = [
        ("Order #10482 paid", "$249.00 by card, 3 items"),
        (
            "Disk almost full",
            "db-1 /var at 91%, order of cleanup: logs first",
        ),
        ("订单 #10483 已支付", "金额 ¥1,299.00,微信支付"),
        ("仓库 A3 库存告警", "SKU-1142 库存 12 件,低于安全库存"),
        ("风控提醒", "订单 #10485 付款后 26 小时未发货"),
        ("Build passed", "nothing to see here"),
    ];
    for (title, message) in messages {
        publish(&server, title, message);
    }
    let herald = Herald::new();
    herald
        .add_source("Shop", "ntfy", &server.topic_url(), &[])
        .await;
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    wait_rows(&session, "all six messages", |rows| {
        (rows.len() == 6).then_some(())
    })
    .await;

    let check = |query: &str, hits: &[Row], expected: &[&str]| {
        let mut found: Vec<&str> = titles(hits);
        found.sort_unstable();
        let mut wanted = expected.to_vec();
        wanted.sort_unstable();
        assert_eq!(found, wanted, "the rows that match {query:?}");
    };
    // English, case-insensitive, in titles and bodies.
    let hits = search(&session, "order").await;
    check("order", &hits, &["Order #10482 paid", "Disk almost full"]);
    let disk = hits
        .iter()
        .find(|row| row.title == "Disk almost full")
        .expect("checked above");
    assert!(
        disk.preview.contains("order of cleanup"),
        "a body match shows the snippet around it: {disk:?}"
    );
    // Chinese two-character words, in titles and bodies.
    let hits = search(&session, "订单").await;
    check("订单", &hits, &["订单 #10483 已支付", "风控提醒"]);
    let hits = search(&session, "告警").await;
    check("告警", &hits, &["仓库 A3 库存告警"]);
    let hits = search(&session, "库存").await;
    check("库存", &hits, &["仓库 A3 库存告警"]);

    // Nothing found: an empty state that says so, then back to everything.
    clear_search(&session).await;
    session
        .find("input[type=search]")
        .await
        .send_keys("nonexistentword")
        .await;
    session
        .wait_script(
            "the no-match message",
            WAIT,
            "return document.querySelector('.list .empty-title')?.textContent.includes('nonexistentword') || null",
            &[],
        )
        .await;
    clear_search(&session).await;
    wait_rows(
        &session,
        "every message after clearing the search",
        |rows| (rows.len() == 6 && rows.iter().all(|row| row.marks.is_empty())).then_some(()),
    )
    .await;
    desktop.quit(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_in_the_window_is_stored_and_survives_a_restart() {
    let _serial = SERIAL.lock().await;
    let server = NtfyServer::start("ops").await;
    server.publish(json!({
        "title": "Disk full on db-1",
        "message": "**/var** is at 99%\n\n- clean `/var/log`\n- read the [runbook](https://example.com/runbook)",
        "content_type": "text/markdown",
        "tags": ["warning", "db"],
        "priority": 5,
    }));
    for title in ["Star me", "Snooze me", "Archive me", "Delete me"] {
        publish(&server, title, "a message to triage");
    }
    let herald = Herald::new();
    herald
        .add_source("Ops", "ntfy", &server.topic_url(), &[])
        .await;
    let database = herald.database();
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    let all = [
        "Delete me",
        "Archive me",
        "Snooze me",
        "Star me",
        "Disk full on db-1",
    ];
    let shown = wait_titles(&session, &all).await;
    assert!(
        shown.iter().all(|row| row.unread && !row.starred),
        "everything starts unread and unstarred: {shown:?}"
    );
    wait_badge(&session, "Unread", "5", WAIT).await;
    wait_badge(&session, "Ops", "5", WAIT).await;

    // The detail: title, markdown rendered to HTML, tags.
    let opened_at = Instant::now();
    let disk = open_message(&session, "Disk full on db-1").await;
    // Opening reads it, and the sidebar's counts follow at once (the
    // backend's `counts_changed`), not at the next message, which in this
    // test never comes.
    wait_badge(&session, "Unread", "4", COUNTS_FOLLOW).await;
    wait_badge(&session, "Ops", "4", COUNTS_FOLLOW).await;
    eprintln!(
        "the unread badges dropped {:?} after the click that read a message",
        opened_at.elapsed()
    );
    let body = session
        .execute(
            "const body = document.querySelector('.detail .body'); return { strong: body.querySelector('strong')?.textContent, items: [...body.querySelectorAll('li')].map((item) => item.textContent), code: body.querySelector('code')?.textContent, link: body.querySelector('a')?.getAttribute('href') };",
            &[],
        )
        .await;
    assert_eq!(
        body,
        json!({
            "strong": "/var",
            "items": ["clean /var/log", "read the runbook"],
            "code": "/var/log",
            "link": "https://example.com/runbook",
        }),
        "the body is the markdown rendered: {disk:?}"
    );
    assert!(
        disk.tags.iter().any(|tag| tag.contains("warning"))
            && disk.tags.iter().any(|tag| tag == "db"),
        "the tags are shown: {:?}",
        disk.tags
    );
    // Opening a message reads it.
    wait_stored(&database, "Disk full on db-1", "read", |state| {
        state.is_some_and(|state| state.read)
    })
    .await;
    click_text(&session, ".detail .triage button", "Mark unread").await;
    wait_stored(&database, "Disk full on db-1", "unread", |state| {
        state.is_some_and(|state| !state.read)
    })
    .await;
    wait_badge(&session, "Unread", "5", COUNTS_FOLLOW).await;
    wait_badge(&session, "Ops", "5", COUNTS_FOLLOW).await;
    wait_rows(&session, "the row to show unread", |rows| {
        rows.iter()
            .any(|row| row.title == "Disk full on db-1" && row.unread)
            .then_some(())
    })
    .await;
    click_text(&session, ".detail .triage button", "Mark read").await;
    wait_stored(&database, "Disk full on db-1", "read again", |state| {
        state.is_some_and(|state| state.read)
    })
    .await;
    wait_badge(&session, "Unread", "4", COUNTS_FOLLOW).await;
    wait_badge(&session, "Ops", "4", COUNTS_FOLLOW).await;
    click_text(&session, ".detail .triage button", "Mark unread").await;
    wait_stored(&database, "Disk full on db-1", "unread again", |state| {
        state.is_some_and(|state| !state.read)
    })
    .await;

    // Star.
    open_message(&session, "Star me").await;
    click_text(&session, ".detail .triage button", "Star").await;
    wait_stored(&database, "Star me", "starred", |state| {
        state.is_some_and(|state| state.starred)
    })
    .await;
    wait_rows(&session, "the row's star to be on", |rows| {
        rows.iter()
            .any(|row| row.title == "Star me" && row.starred)
            .then_some(())
    })
    .await;
    find_text(&session, ".detail .triage button", "Unstar").await;

    // Snooze for an hour: it leaves the inbox until then.
    open_message(&session, "Snooze me").await;
    session
        .click(".detail .triage button[aria-haspopup=menu]")
        .await;
    let snoozed_at = now_ms();
    click_text(&session, "[role=menu] [role=menuitem]", "In 1 hour").await;
    let snoozed = wait_stored(&database, "Snooze me", "snoozed", |state| {
        state.is_some_and(|state| state.snoozed_until.is_some())
    })
    .await
    .expect("the probe saw it");
    let until = snoozed.snoozed_until.expect("the probe saw it");
    let hour = 3_600_000;
    assert!(
        (snoozed_at + hour - 60_000..=now_ms() + hour + 60_000).contains(&until),
        "\"In 1 hour\" snoozes for an hour: {until} vs clicked at {snoozed_at}"
    );
    wait_rows(&session, "the snoozed row to leave the inbox", |rows| {
        (!titles(rows).contains(&"Snooze me")).then_some(())
    })
    .await;

    // Archive: out of the inbox, into Archived.
    open_message(&session, "Archive me").await;
    click_text(&session, ".detail .triage button", "Archive").await;
    wait_stored(&database, "Archive me", "archived", |state| {
        state.is_some_and(|state| state.archived && state.read)
    })
    .await;
    wait_rows(&session, "the archived row to leave the inbox", |rows| {
        (!titles(rows).contains(&"Archive me")).then_some(())
    })
    .await;

    // Delete asks first; Cancel keeps the message.
    open_message(&session, "Delete me").await;
    session.click(".detail .triage button.danger").await;
    let dialog_title = session.find("[role=dialog] h2").await.text().await;
    assert_eq!(dialog_title, "Delete 1 message?");
    click_text(&session, "[role=dialog] button", "Cancel").await;
    session
        .wait_script(
            "the dialog to close",
            WAIT,
            "return !document.querySelector('[role=dialog]')",
            &[],
        )
        .await;
    assert!(
        stored(&database, "Delete me")
            .expect("the database reads")
            .is_some(),
        "Cancel deletes nothing"
    );
    session.click(".detail .triage button.danger").await;
    click_text(&session, "[role=dialog] button", "Delete").await;
    wait_stored(&database, "Delete me", "deleted", |state| state.is_none()).await;
    wait_rows(&session, "the deleted row to go", |rows| {
        (!titles(rows).contains(&"Delete me")).then_some(())
    })
    .await;

    let expected_inbox = ["Star me", "Disk full on db-1"];
    let before = wait_titles(&session, &expected_inbox).await;
    let states_before: Vec<Option<Stored>> = all
        .iter()
        .map(|title| stored(&database, title).expect("the database reads"))
        .collect();

    // Restart: a new window on the same data directory shows the same state.
    desktop.quit(session).await;
    let session = desktop.launch(herald.data_dir()).await;
    let after = wait_titles(&session, &expected_inbox).await;
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(
            (before.id, before.unread, before.starred),
            (after.id, after.unread, after.starred),
            "a row looks the same after a restart"
        );
    }
    assert!(after[1].unread, "the message marked unread stays unread");
    assert!(after[0].starred, "the star stays");
    choose_view(&session, "Archived").await;
    wait_titles(&session, &["Archive me"]).await;
    choose_view(&session, "Starred").await;
    wait_titles(&session, &["Star me"]).await;
    choose_view(&session, "All messages").await;
    wait_titles(
        &session,
        &["Archive me", "Snooze me", "Star me", "Disk full on db-1"],
    )
    .await;
    let states_after: Vec<Option<Stored>> = all
        .iter()
        .map(|title| stored(&database, title).expect("the database reads"))
        .collect();
    assert_eq!(
        states_before, states_after,
        "opening the window again changes nothing that is stored"
    );
    desktop.quit(session).await;
}

/// Sets `window.__pwned` when it runs; every payload below tries to.
const TRIP: &str = "window.__pwned=true;document.title='PWNED'";

/// Installed before the hostile messages arrive; [`TRIPWIRE_CHECK_JS`]
/// reads it back. A content-security-policy violation means something got
/// past the sanitiser and only the CSP stopped it, so those count too.
const TRIPWIRE_JS: &str = r#"
    window.__pwned = false;
    window.__e2eTripwire = true;
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
        window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample || ""}`);
    });
"#;

const TRIPWIRE_CHECK_JS: &str = r#"
    const suspicious = [];
    for (const element of document.querySelectorAll("body *")) {
        for (const attribute of element.attributes) {
            const name = attribute.name.toLowerCase();
            const value = attribute.value.replace(/[\s\u0000-\u001f]/g, "").toLowerCase();
            if (name.startsWith("on") || name === "srcdoc" || name === "formaction") {
                suspicious.push(`${element.tagName}[${name}]`);
            }
            if (/^(javascript|vbscript|data:text\/html)/.test(value)) {
                suspicious.push(`${element.tagName}[${name}=${attribute.value}]`);
            }
        }
    }
    const body = document.querySelector(".detail .body");
    // No form control of any kind: a task list's boxes are characters.
    const dangerous = "script, iframe, frame, frameset, object, embed, applet, form, button, input, textarea, select, style, link, meta, base, svg, math, template, noscript";
    for (const element of body ? body.querySelectorAll(dangerous) : []) {
        suspicious.push(`<${element.tagName.toLowerCase()}> in the body`);
    }
    for (const element of document.querySelectorAll("body script, iframe, frame, object, embed")) {
        suspicious.push(`<${element.tagName.toLowerCase()}> in the page`);
    }
    return {
        tripwire: window.__e2eTripwire === true,
        pwned: window.__pwned,
        title: document.title,
        href: location.href,
        violations: window.__violations ?? [],
        suspicious,
    };
"#;

/// Fails if a bidirectional embedding, override or isolate control
/// (U+202A–U+202E, U+2066–U+2069) is anywhere in the page's text.
async fn assert_no_bidi_controls(session: &Session, moment: &str) {
    let found = session
        .execute(
            r#"
            const text = document.body.textContent;
            return [...text.matchAll(/[\u202A-\u202E\u2066-\u2069]/g)]
                .map((match) => text.slice(Math.max(0, match.index - 20), match.index + 20));
            "#,
            &[],
        )
        .await;
    assert_eq!(
        found,
        json!([]),
        "{moment}: bidi controls reached the page, where they reorder what a reader sees"
    );
}

/// Fails if anything ran, navigated, or got into the DOM live.
async fn assert_inert(session: &Session, moment: &str) {
    let state = session.execute(TRIPWIRE_CHECK_JS, &[]).await;
    assert_eq!(
        state["tripwire"],
        json!(true),
        "{moment}: the page was replaced (navigated or reloaded): {state}"
    );
    assert_eq!(
        state["pwned"],
        json!(false),
        "{moment}: a payload ran: {state}"
    );
    assert_eq!(
        state["title"],
        json!("Herald"),
        "{moment}: a payload changed the title: {state}"
    );
    assert_eq!(
        state["violations"],
        json!([]),
        "{moment}: something reached the page that only the CSP stopped: {state}"
    );
    assert_eq!(
        state["suspicious"],
        json!([]),
        "{moment}: live markup got into the page: {state}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_credentials_in_plain_text_to_another_machine_takes_confirmation() {
    let _serial = SERIAL.lock().await;
    let herald = Herald::new();
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    open_new_source_form(&session).await;
    fill(&session, "source-field-name", "Remote").await;
    session
        .select_option(&testid("source-field-protocol"), "ntfy")
        .await;
    fill(
        &session,
        "source-field-url",
        "http://ntfy.example.com/alerts",
    )
    .await;
    session
        .select_option(&testid("source-field-credentials"), "token")
        .await;
    fill(&session, "source-field-token", "tk_plain_secret").await;
    let warning = session
        .find(&testid("source-plain-credentials-warning"))
        .await
        .text()
        .await;
    assert!(warning.contains("ntfy.example.com"), "{warning}");

    // Saving without the confirmation is refused next to the checkbox.
    session.click(&testid("source-save")).await;
    let refusal = session
        .wait_script(
            "the refusal next to the checkbox",
            WAIT,
            "return document.querySelector('[data-testid=source-error-allow_plain_credentials]')?.textContent || null",
            &[],
        )
        .await;
    assert!(
        refusal.to_string().contains("ntfy.example.com"),
        "{refusal}"
    );
    assert!(
        stored_sources(&herald.database()).is_empty(),
        "nothing saved"
    );
    session
        .screenshot(&desktop.screenshot_path("source-form-plain-credentials.png"))
        .await;

    // Confirmed: saved, and the choice is stored with the source.
    session
        .click(&testid("source-field-allow_plain_credentials"))
        .await;
    session.click(&testid("source-save")).await;
    session.find(&source_row("Remote")).await;
    let stored = stored_sources(&herald.database());
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0]
            .config
            .contains("\"allow_plain_credentials\":true"),
        "{}",
        stored[0].config
    );
    desktop.quit(session).await;
}

/// Reports content-security-policy violations, then tries to run an inline
/// script as an injection would; `window.__inlineRan` tells whether it ran.
const CSP_PROBE_JS: &str = r#"
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
        window.__cspViolations.push(event.violatedDirective);
    });
    const script = document.createElement("script");
    script.textContent = "window.__inlineRan = true;";
    document.body.appendChild(script);
    script.remove();
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_is_set_aside_and_the_window_says_where() {
    let _serial = SERIAL.lock().await;
    let herald = Herald::new();
    std::fs::create_dir_all(herald.data_dir()).expect("the data directory");
    let garbage = b"the remains of a database a failing disk gave back ".repeat(300);
    std::fs::write(herald.database(), &garbage).expect("the damaged file");
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;

    let banner = session
        .wait_script(
            "the damaged-database banner",
            WAIT,
            "return document.querySelector('[data-testid=storage-set-aside]')?.textContent ?? null",
            &[],
        )
        .await;
    let banner = banner.as_str().unwrap_or_default().to_string();
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(herald.data_dir())
        .expect("the data directory lists")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        banner.contains(&kept[0].display().to_string()) && banner.contains("damaged"),
        "the banner says what happened and where the file is: {banner}"
    );
    assert_eq!(
        std::fs::read(&kept[0]).expect("the kept file reads"),
        garbage,
        "kept untouched"
    );
    // The new database works: the first-run screen offers the demo.
    session.find(".first-run h1").await;
    session
        .screenshot(&desktop.screenshot_path("storage-set-aside.png"))
        .await;

    // The CSP is in force in the built app: an injected inline script does
    // not run, and the browser reports the violation.
    session.execute(CSP_PROBE_JS, &[]).await;
    let violations = session
        .wait_script(
            "the csp to report the inline script",
            WAIT,
            "return window.__cspViolations.length ? window.__cspViolations : null",
            &[],
        )
        .await;
    assert!(
        violations.to_string().contains("script-src"),
        "{violations}"
    );
    let ran = session
        .execute("return window.__inlineRan === true", &[])
        .await;
    assert_eq!(ran, json!(false), "an inline script ran despite the csp");

    session
        .click("[data-testid=storage-set-aside-dismiss]")
        .await;
    session
        .wait_script(
            "the banner to go",
            WAIT,
            "return document.querySelector('[data-testid=storage-set-aside]') === null",
            &[],
        )
        .await;
    desktop.quit(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_stay_inert_readable_and_usable() {
    let _serial = SERIAL.lock().await;
    let server = NtfyServer::start("inbox").await;
    // Enough benign rows that the list has to scroll.
    for index in 1..=40 {
        publish(
            &server,
            &format!("Filler {index:02}"),
            "an ordinary message",
        );
    }
    let herald = Herald::new();
    herald
        .add_source("Inbox", "ntfy", &server.topic_url(), &[])
        .await;
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    wait_rows(&session, "the filler messages", |rows| {
        titles(rows).contains(&"Filler 40").then_some(())
    })
    .await;
    session.execute(TRIPWIRE_JS, &[]).await;

    let markdown_title = format!("XSS-1 <script>{TRIP}</script><img src=x onerror=\"{TRIP}\">");
    let markdown_body = format!(
        "before-payload-1\n\n\
         <script>{TRIP}</script>\n\n\
         <img src=x onerror=\"{TRIP}\">\n\n\
         <svg onload=\"{TRIP}\"><circle r=\"5\"/></svg>\n\n\
         <iframe src=\"javascript:parent.__pwned=true\" srcdoc=\"<script>parent.__pwned=true</script>\"></iframe>\n\n\
         [a markdown javascript link](javascript:{TRIP})\n\n\
         <a href=\"javascript:{TRIP}\">raw javascript anchor</a>\n\n\
         <a href=\"&#106;avascript:{TRIP}\">entity javascript anchor</a>\n\n\
         <details open ontoggle=\"{TRIP}\"><summary>details summary</summary>details text</details>\n\n\
         <object data=\"javascript:{TRIP}\"></object><embed src=\"javascript:{TRIP}\">\n\n\
         <form action=\"javascript:{TRIP}\"><button>submit</button></form>\n\n\
         <style>body {{ display: none }}</style>\n\n\
         <meta http-equiv=\"refresh\" content=\"0;url=javascript:{TRIP}\">\n\n\
         <base href=\"javascript:{TRIP}//\">\n\n\
         <math><mtext><table><mglyph><style><img src=x onerror=\"{TRIP}\"></style></mglyph></table></mtext></math>\n\n\
         <input autofocus onfocus=\"{TRIP}\">\n\n\
         <video><source onerror=\"{TRIP}\"></video>\n\n\
         <p style=\"background:url(javascript:{TRIP})\">styled paragraph</p>\n\n\
         ![an image](javascript:{TRIP})\n\n\
         <input type=\"password\"> <input type=\"file\">\n\n\
         - [x] a task list item\n\
         - [ ] an open task item\n\n\
         after-payload-1"
    );
    let hostile_tag = format!("<img src=x onerror={TRIP}>");
    server.publish(json!({
        "title": markdown_title,
        "message": markdown_body,
        "content_type": "text/markdown",
        "tags": [hostile_tag, "<script>document.title='PWNED'</script>", "warning"],
        "click": format!("javascript:{TRIP}"),
        "icon": format!("javascript:{TRIP}"),
        "actions": [
            {"action": "view", "label": format!("<img src=x onerror={TRIP}> View"), "url": format!("javascript:{TRIP}")},
            {"action": "http", "label": "<b>Send</b>", "url": format!("javascript:{TRIP}"), "method": "POST"},
        ],
        "attachment": {"name": format!("<img src=x onerror={TRIP}>.png"), "type": "image/png",
                        "url": format!("javascript:{TRIP}"), "size": 10},
    }));
    let plain_title = format!("XSS-2 <img src=x onerror=\"{TRIP}\">");
    let plain_body = format!("<script>{TRIP}</script> plain <b>not bold</b>");
    publish(&server, &plain_title, &plain_body);
    // A right-to-left override would make this read "invoiceexe.pdf"; it is
    // shown as U+FFFD instead, in the list and in the detail.
    let bidi_title = "XSS-3 invoice\u{202E}fdp.exe";
    let bidi_shown = "XSS-3 invoice\u{FFFD}fdp.exe";
    publish(
        &server,
        bidi_title,
        "bidi \u{202E}override\u{202C} in the body",
    );
    server.publish(json!({
        "title": "XSS-5 a markdown excerpt",
        "message": "Quarterly **revenue** grew; see [the *summary*](https://example.com/q3) and `q3.csv` for __details__",
        "content_type": "text/markdown",
    }));
    let big_line = "the quick brown fox jumps over the lazy dog, again and again\n";
    let big_body: String = big_line.chars().cycle().take(1_000_000).collect();
    publish(&server, "XSS-4 a 1 MB body", &big_body);

    let shown = wait_rows(&session, "the hostile messages, live", |rows| {
        let newest = [
            "XSS-4 a 1 MB body",
            "XSS-5 a markdown excerpt",
            bidi_shown,
            plain_title.as_str(),
            markdown_title.as_str(),
        ];
        (titles(rows).get(..5) == Some(&newest[..])).then(|| rows.to_vec())
    })
    .await;
    assert_inert(&session, "after the hostile messages arrived").await;
    assert_no_bidi_controls(&session, "in the list").await;
    let big_row = &shown[0];
    assert!(
        big_row.preview.chars().count() <= 200,
        "a row previews a huge body in one short line: {} characters",
        big_row.preview.chars().count()
    );

    // The markdown message: readable as text, nothing live.
    let opened = open_message(&session, &markdown_title).await;
    assert_inert(&session, "after opening the markdown payloads").await;
    for visible in [
        "before-payload-1",
        "after-payload-1",
        "raw javascript anchor",
        "entity javascript anchor",
        "a markdown javascript link",
        "styled paragraph",
    ] {
        assert!(
            opened.body_text.contains(visible),
            "the text around the payloads stays readable ({visible:?}): {opened:?}"
        );
    }
    assert!(
        opened.tags.iter().any(|tag| tag == &hostile_tag),
        "a hostile tag is shown as its text: {:?}",
        opened.tags
    );
    let inputs = session
        .execute(
            "return [...document.querySelectorAll('.detail .body input')].map((input) => input.outerHTML);",
            &[],
        )
        .await;
    assert_eq!(
        inputs,
        json!([]),
        "no <input> reaches a body: not the raw password and file inputs, not a task list's checkbox"
    );
    for item in ["☑ a task list item", "☐ an open task item"] {
        assert!(
            opened.body_text.contains(item),
            "a task list item shows its box as a character ({item:?}): {opened:?}"
        );
    }
    assert!(
        !opened.buttons.iter().any(|button| button == "Open link"),
        "a javascript: click URL gets no Open link button: {:?}",
        opened.buttons
    );
    session
        .screenshot(&desktop.screenshot_path("hostile-detail.png"))
        .await;
    // Clicking every link and action button in it does nothing harmful.
    let links = session.find_all(".detail .body a").await;
    for link in &links {
        link.click().await;
        assert_inert(&session, "after clicking a link in the body").await;
    }
    // Actions and attachments with javascript: URLs are not offered at all.
    for label in [
        format!("<img src=x onerror={TRIP}> View"),
        "<b>Send</b>".to_string(),
    ] {
        assert!(
            !opened.buttons.contains(&label),
            "an action with a javascript: URL gets no button ({label:?}): {:?}",
            opened.buttons
        );
    }
    assert!(
        !opened
            .buttons
            .iter()
            .any(|button| button == "Open attachment"),
        "an attachment with a javascript: URL cannot be opened: {:?}",
        opened.buttons
    );
    let layout = session
        .execute(
            "const detail = document.querySelector('.detail'); return { detail_overflows_sideways: detail.scrollWidth > detail.clientWidth, attachment: document.querySelector('.detail .attachment-name')?.textContent ?? null };",
            &[],
        )
        .await;
    eprintln!("the hostile message's layout: {layout}");
    // The backend refuses such links on its own, whatever the UI does.
    session
        .execute(
            "window.__openLink = 'pending'; window.__TAURI_INTERNALS__.invoke('open_link', { url: arguments[0] }).then(() => { window.__openLink = 'opened'; }, (error) => { window.__openLink = JSON.stringify(error); });",
            &[json!(format!("javascript:{TRIP}"))],
        )
        .await;
    let refusal = session
        .wait_script(
            "open_link to answer",
            WAIT,
            "return window.__openLink === 'pending' ? null : window.__openLink",
            &[],
        )
        .await;
    assert_ne!(
        refusal,
        json!("opened"),
        "open_link refuses javascript: URLs"
    );

    // Plain text: markup shows as the characters it is made of.
    let plain = open_message(&session, &plain_title).await;
    assert!(
        plain.body_text.contains(&plain_body),
        "a plain-text body is shown verbatim: {plain:?}"
    );
    assert_inert(&session, "after opening the plain-text payloads").await;

    // Bidi override: replaced, so the title reads in its stored order.
    let bidi = open_message(&session, bidi_shown).await;
    assert!(
        bidi.body_text
            .contains("bidi \u{FFFD}override\u{FFFD} in the body"),
        "bidi controls in a body are replaced too: {bidi:?}"
    );
    assert_no_bidi_controls(&session, "with the bidi message open").await;
    let order = session
        .execute(
            r#"
            const title = document.querySelector(".detail h1.title");
            const node = [...title.childNodes].find((child) => child.nodeType === Node.TEXT_NODE);
            const text = node.textContent;
            const x = (index) => { const range = document.createRange(); range.setStart(node, index); range.setEnd(node, index + 1); return range.getBoundingClientRect().left; };
            const f = text.indexOf("fdp");
            return { reversed: x(f) > x(text.length - 1), unicodeBidi: getComputedStyle(title).unicodeBidi };
            "#,
            &[],
        )
        .await;
    assert_eq!(
        order["reversed"],
        json!(false),
        "\"fdp\" is laid out before \".exe\", as stored: {order}"
    );
    session
        .screenshot(&desktop.screenshot_path("hostile-bidi.png"))
        .await;

    // The 1 MB body opens in bounded time and the window stays usable.
    let started = Instant::now();
    let big = open_message(&session, "XSS-4 a 1 MB body").await;
    let took = started.elapsed();
    // The window renders a long body's beginning (render::MAX_RENDERED_CHARS)
    // and the store keeps all of it.
    assert!(
        big.body_length >= 100_000,
        "a long body is readable well past its first screen: {} characters shown",
        big.body_length
    );
    let stored_length: i64 = rusqlite::Connection::open_with_flags(
        herald.database(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .and_then(|connection| {
        connection.query_row(
            "SELECT length(body) FROM messages WHERE title = 'XSS-4 a 1 MB body'",
            [],
            |row| row.get(0),
        )
    })
    .expect("the database reads");
    assert_eq!(stored_length, 1_000_000, "the store keeps the whole body");
    eprintln!(
        "a 1 MB body: {} characters shown in the window, {stored_length} stored",
        big.body_length
    );
    assert!(
        took < Duration::from_secs(15),
        "a 1 MB message opens in {took:?}"
    );
    eprintln!("a 1 MB body opened in {took:?}");
    assert_inert(&session, "after opening the 1 MB body").await;

    // Search: a markdown body is excerpted as read, without its markup, and
    // a highlighted title keeps the override replaced.
    let hits = search(&session, "revenue").await;
    assert_eq!(titles(&hits), ["XSS-5 a markdown excerpt"]);
    let excerpt = &hits[0].preview;
    assert!(
        excerpt.contains("Quarterly revenue grew; see the summary and q3.csv for details"),
        "the excerpt is the text as read: {excerpt:?}"
    );
    for markup in ["**", "__", "](", "`", "*"] {
        assert!(
            !excerpt.contains(markup),
            "no markdown markup ({markup:?}) in a search excerpt: {excerpt:?}"
        );
    }
    let hits = search(&session, "invoice").await;
    assert_eq!(
        titles(&hits),
        [bidi_shown],
        "a highlighted title shows U+FFFD for the override"
    );
    assert_no_bidi_controls(&session, "in search results").await;
    session
        .screenshot(&desktop.screenshot_path("hostile-search.png"))
        .await;
    clear_search(&session).await;
    wait_rows(&session, "the whole list after the search", |rows| {
        (rows.len() > 2 && rows.iter().all(|row| row.marks.is_empty())).then_some(())
    })
    .await;

    // The list still scrolls to its oldest row and back, and another
    // message still opens.
    session
        .execute(
            "const viewport = document.querySelector('.list [role=listbox]'); viewport.scrollTop = viewport.scrollHeight;",
            &[],
        )
        .await;
    wait_rows(&session, "the oldest row after scrolling down", |rows| {
        titles(rows).contains(&"Filler 01").then_some(())
    })
    .await;
    open_message(&session, "Filler 01").await;
    session
        .execute(
            "document.querySelector('.list [role=listbox]').scrollTop = 0;",
            &[],
        )
        .await;
    wait_rows(&session, "the newest row after scrolling up", |rows| {
        titles(rows).contains(&"XSS-4 a 1 MB body").then_some(())
    })
    .await;
    assert_inert(&session, "at the end").await;
    desktop.quit(session).await;
}

/// The token the authenticated fixture accepts; searched for everywhere it
/// must not be.
const TOKEN: &str = "tk_e2e_Zq7xW2mRv9Lp4sNa";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_are_added_edited_paused_and_removed_in_the_window() {
    let _serial = SERIAL.lock().await;
    let alerts = NtfyServer::start_with_auth("alerts", NtfyAuth::Bearer(TOKEN.into())).await;
    let builds = NtfyServer::start("builds").await;
    let herald = Herald::new();
    let database = herald.database();
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    session.find(".first-run").await;

    open_new_source_form(&session).await;

    // A URL Herald cannot subscribe to: the error sits under the field and
    // nothing is stored.
    fill(&session, "source-field-name", "Alerts").await;
    session
        .select_option(&testid("source-field-protocol"), "ntfy")
        .await;
    fill(&session, "source-field-url", "ftp://x").await;
    session.click(&testid("source-save")).await;
    let url_error = session.find(&testid("source-error-url")).await.text().await;
    assert!(
        url_error.contains("ftp"),
        "the error names the scheme it refuses: {url_error:?}"
    );
    let placement = session
        .execute(
            r#"
            const error = document.querySelector("[data-testid=source-error-url]");
            const input = document.querySelector("[data-testid=source-field-url]");
            return {
                same_field: error.parentElement === input.parentElement,
                invalid: input.getAttribute("aria-invalid"),
                described: (input.getAttribute("aria-describedby") ?? "").split(" ").includes(error.id),
                other_errors: [...document.querySelectorAll(".source-form .field-error")].length,
            };
            "#,
            &[],
        )
        .await;
    assert_eq!(
        placement,
        json!({ "same_field": true, "invalid": "true", "described": true, "other_errors": 1 }),
        "the error is the URL field's, and only the URL field's"
    );
    assert!(
        stored_sources(&database).is_empty(),
        "a refused form stores nothing"
    );
    // The backend refuses it on its own too, naming the field.
    let refused = invoke(
        &session,
        "save_source",
        json!({ "source": {
            "id": null, "name": "Sneaky", "protocol": "ntfy", "url": "ftp://x", "enabled": true,
            "auth_in_query": false, "headers": [],
            "map": { "id": "", "title": "", "body": "", "priority": "", "time": "", "tags": "", "url": "", "group": "" },
            "subscribe_frame": "", "resume_url": "", "text_frames": false, "ca_file": "",
            "read_timeout_secs": 90, "max_frame_bytes": 1_048_576, "credentials": { "kind": "none" },
            "subscriptions": [], "virtual_host": "", "client_id": "", "qos": 1, "durable": false, "id_header": "",
        }}),
    )
    .await;
    let refusal = refused.expect_err("save_source refuses an ftp:// URL");
    assert_eq!(
        (refusal["code"].as_str(), refusal["field"].as_str()),
        (Some("invalid"), Some("url")),
        "the backend's refusal names the URL field: {refusal}"
    );
    assert!(stored_sources(&database).is_empty(), "nothing was stored");

    // A wrong token: Test connection says the server refused it.
    fill(&session, "source-field-url", &alerts.topic_url()).await;
    session
        .select_option(&testid("source-field-credentials"), "token")
        .await;
    fill(&session, "source-field-token", "tk_wrong").await;
    test_connection(&session, "auth_failed").await;
    // The right one connects.
    fill(&session, "source-field-token", TOKEN).await;
    test_connection(&session, "connected").await;
    let report = session
        .find(&testid("source-probe-result"))
        .await
        .text()
        .await;
    eprintln!("Test connection on a quiet ntfy topic: {report:?}");
    session
        .screenshot(&desktop.screenshot_path("source-form.png"))
        .await;
    assert!(
        stored_sources(&database).is_empty(),
        "Test connection stores nothing"
    );
    session.click(&testid("source-save")).await;
    session.find(&source_row("Alerts")).await;
    wait_row_state(&session, "Alerts", "connected").await;
    wait_sidebar_sources(&session, &["Alerts"]).await;

    let sources = stored_sources(&database);
    assert_eq!(sources.len(), 1, "one source is stored: {sources:?}");
    let saved = &sources[0];
    let alerts_id = saved.id;
    assert_eq!(
        (
            saved.name.as_str(),
            saved.protocol.as_str(),
            saved.url.as_str(),
            saved.enabled
        ),
        ("Alerts", "ntfy", alerts.topic_url().as_str(), true),
        "the form's values are stored"
    );
    for (column, value) in [("config", &saved.config), ("url", &saved.url)] {
        assert!(
            !value.contains(TOKEN),
            "the token is not in the {column} column: {value}"
        );
    }
    // HERALD_KEYRING=off: the secret goes to its own column, never `config`.
    eprintln!(
        "the token is kept in: {} (secret column set: {})",
        saved.secret_store,
        saved.secret.is_some()
    );
    let accepted = alerts
        .requests()
        .into_iter()
        .filter(|request| request.status == 101)
        .count();
    assert!(
        accepted >= 1,
        "the saved source connects with the token: {:?}",
        alerts.requests()
    );

    // Published while the window is open: they appear live.
    choose_view(&session, "Inbox").await;
    for title in ["Alert 1", "Alert 2", "Alert 3"] {
        publish(&alerts, title, "from the source added in the window");
    }
    wait_titles(&session, &["Alert 3", "Alert 2", "Alert 1"]).await;
    wait_badge(&session, "Alerts", "3", WAIT).await;

    // The edit form: the token stays write-only.
    session.click(&testid("nav-manage-sources")).await;
    session
        .click(&format!(
            "{} {}",
            source_row("Alerts"),
            testid("source-edit")
        ))
        .await;
    session
        .wait_script(
            "the edit form to load",
            WAIT,
            "return document.querySelector('[data-testid=source-field-name]')?.value === 'Alerts' || null",
            &[],
        )
        .await;
    let token_input = session.find(&testid("source-field-token")).await;
    assert_eq!(
        token_input.property("value").await,
        json!(""),
        "the token input starts empty when editing"
    );
    let placeholder = token_input
        .attribute("placeholder")
        .await
        .unwrap_or_default();
    assert!(
        placeholder.contains("stored"),
        "the token input says a token is stored: {placeholder:?}"
    );
    let found = session.execute(PAGE_HOLDS_JS, &[json!(TOKEN)]).await;
    assert_eq!(
        found,
        json!([]),
        "the stored token reaches no part of the page"
    );
    let settings = invoke(&session, "get_source", json!({ "id": alerts_id }))
        .await
        .expect("get_source answers");
    assert!(
        !settings.to_string().contains(TOKEN),
        "get_source never sends the token: {settings}"
    );
    assert_eq!(settings["stored_credentials"], json!("token"));
    // Test connection uses the stored token the window never saw.
    test_connection(&session, "connected").await;

    // Rename: the stored token is kept and still works.
    fill(&session, "source-field-name", "Alerts (prod)").await;
    session.click(&testid("source-save")).await;
    session.find(&source_row("Alerts (prod)")).await;
    wait_sidebar_sources(&session, &["Alerts (prod)"]).await;
    wait_row_state(&session, "Alerts (prod)", "connected").await;
    let renamed = stored_sources(&database);
    assert_eq!(
        (renamed.len(), renamed[0].name.as_str()),
        (1, "Alerts (prod)"),
        "the rename is stored: {renamed:?}"
    );
    assert!(
        !renamed[0].config.contains(TOKEN),
        "saving the edit form keeps the token out of config"
    );
    publish(&alerts, "Alert 4", "after the rename");
    wait_stored(&database, "Alert 4", "stored", |state| state.is_some()).await;

    // Pause: the connection closes and what is published now is not stored.
    session
        .click(&format!(
            "{} {}",
            source_row("Alerts (prod)"),
            testid("source-enabled")
        ))
        .await;
    wait_row_state(&session, "Alerts (prod)", "disabled").await;
    herald_tests::wait_for("the paused source to disconnect", WAIT, || async {
        match alerts.active() {
            0 => Ok(()),
            open => Err(format!("{open} connections open")),
        }
    })
    .await;
    assert!(!stored_sources(&database)[0].enabled, "the pause is stored");
    publish(
        &alerts,
        "While paused",
        "published while the source was paused",
    );
    // An absence can only be watched for a while; with no connection open,
    // a second is plenty for anything that could still arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        stored(&database, "While paused").expect("the database reads"),
        None,
        "a paused source stores nothing"
    );
    assert_eq!(alerts.active(), 0, "a paused source stays disconnected");

    // Resume: it reconnects from its cursor and catches up.
    session
        .click(&format!(
            "{} {}",
            source_row("Alerts (prod)"),
            testid("source-enabled")
        ))
        .await;
    wait_row_state(&session, "Alerts (prod)", "connected").await;
    wait_stored(
        &database,
        "While paused",
        "caught up after resuming",
        |state| state.is_some(),
    )
    .await;
    assert!(stored_sources(&database)[0].enabled, "the resume is stored");

    // A second source, without credentials.
    session.click(&testid("add-source")).await;
    fill(&session, "source-field-name", "Builds").await;
    fill(&session, "source-field-url", &builds.topic_url()).await;
    session.click(&testid("source-save")).await;
    wait_row_state(&session, "Builds", "connected").await;
    publish(&builds, "Build 1", "green");
    publish(&builds, "Build 2", "green again");
    wait_stored(&database, "Build 2", "stored", |state| state.is_some()).await;
    let builds_id = stored_sources(&database)
        .iter()
        .find(|source| source.name == "Builds")
        .map(|source| source.id)
        .expect("Builds is stored");
    session
        .wait_script(
            "both cards to count their messages",
            WAIT,
            "return [...document.querySelectorAll('[data-testid=source-counts]')].map((counts) => counts.textContent).join(' | ').match(/5 messages stored.*2 messages stored/) || null",
            &[],
        )
        .await;
    session
        .screenshot(&desktop.screenshot_path("sources-admin.png"))
        .await;

    // Remove Builds, keeping its messages.
    remove_source(&session, "Builds", "remove-keep-messages").await;
    wait_sidebar_sources(&session, &["Alerts (prod)"]).await;
    assert_eq!(
        stored_titles(&database, builds_id),
        ["Build 1", "Build 2"],
        "\"keep messages\" keeps them"
    );
    choose_view(&session, "All messages").await;
    wait_titles(
        &session,
        &[
            "Build 2",
            "Build 1",
            "While paused",
            "Alert 4",
            "Alert 3",
            "Alert 2",
            "Alert 1",
        ],
    )
    .await;

    // Remove Alerts with its messages.
    session.click(&testid("nav-manage-sources")).await;
    remove_source(&session, "Alerts (prod)", "remove-delete-messages").await;
    wait_sidebar_sources(&session, &[]).await;
    assert_eq!(
        stored_titles(&database, alerts_id),
        Vec::<String>::new(),
        "\"delete messages\" deletes them"
    );
    assert_eq!(
        stored_titles(&database, builds_id),
        ["Build 1", "Build 2"],
        "removing another source leaves these alone"
    );
    let removed = stored_sources(&database);
    assert!(
        removed.iter().all(|source| source.removed),
        "both sources are removed: {removed:?}"
    );
    assert!(
        removed
            .iter()
            .all(|source| source.secret.is_none() && !source.config.contains(TOKEN)),
        "a removed source keeps no credentials: {removed:?}"
    );
    herald_tests::wait_for("the removed source to disconnect", WAIT, || async {
        match alerts.active() + builds.active() {
            0 => Ok(()),
            open => Err(format!("{open} connections open")),
        }
    })
    .await;
    // What the window offers now: the kept messages, or the first-run screen.
    session
        .click("nav.sidebar button.item .view-icon.all")
        .await;
    let shown = session
        .execute(
            "return { first_run: !!document.querySelector('.first-run'), rows: [...document.querySelectorAll('.list [role=option][data-id] .title')].map((title) => title.textContent.trim()) };",
            &[],
        )
        .await;
    assert_eq!(
        shown["first_run"],
        json!(false),
        "messages kept from a removed source make an inbox, not a first run: {shown}"
    );
    let titles = session
        .wait_script(
            "the kept messages in the list",
            WAIT,
            "const titles = [...document.querySelectorAll('.list [role=option][data-id] .title')].map((title) => title.textContent.trim()); return titles.includes('Build 1') && titles.includes('Build 2') ? titles : null;",
            &[],
        )
        .await;
    eprintln!("after removing every source (Builds' messages kept): {titles}");
    desktop.quit(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_keep_retention_export_import_and_start_at_login() {
    let _serial = SERIAL.lock().await;
    let server = NtfyServer::start("reports").await;
    server.publish(json!({
        "title": "Weekly report",
        "message": "**All** green, see [the dashboard](https://example.com/d)",
        "content_type": "text/markdown",
        "tags": ["report"],
        "priority": 2,
    }));
    for title in [
        "订单 #7 已发货",
        "Backup done",
        "Disk at 80%",
        "Login from a new device",
    ] {
        publish(&server, title, "a message to export");
    }
    let herald = Herald::new();
    herald
        .add_source("Reports", "ntfy", &server.topic_url(), &[])
        .await;
    let database = herald.database();
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    wait_rows(&session, "the five messages", |rows| {
        (rows.len() == 5).then_some(())
    })
    .await;

    session.click(&testid("nav-settings")).await;
    session.find(&testid("settings-view")).await;

    // Retention: stored as one setting, and nothing recent is pruned.
    fill(&session, "settings-max-age", "30").await;
    session.click(&testid("settings-retention-apply")).await;
    session
        .wait_script(
            "the retention to be saved",
            WAIT,
            "return document.querySelector('[data-testid=settings-retention-status]')?.textContent.includes('Retention saved') || null",
            &[],
        )
        .await;
    let retention: String = query(&database, |connection| {
        connection.query_row(
            "SELECT value FROM settings WHERE key = 'retention'",
            [],
            |row| row.get(0),
        )
    });
    let retention: serde_json::Value =
        serde_json::from_str(&retention).expect("the retention setting is json");
    assert_eq!(
        retention,
        json!({ "max_age_days": 30, "max_per_source": null }),
        "the retention setting is what the form applied"
    );
    assert_eq!(
        message_count(&database),
        5,
        "a 30-day limit prunes nothing received today"
    );

    // Export: a JSON Lines file, one line per stored message.
    session.click(&testid("settings-export")).await;
    let path = session
        .wait_script(
            "the export's path",
            WAIT,
            "return document.querySelector('[data-testid=settings-export-result] code.path')?.textContent.trim() || null",
            &[],
        )
        .await;
    let export = std::path::PathBuf::from(path.as_str().expect("a path is text"));
    assert!(
        export.starts_with(herald.data_dir().join("exports")),
        "without a Downloads folder, exports go to the data folder: {}",
        export.display()
    );
    let exported = std::fs::read_to_string(&export)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", export.display()));
    let lines: Vec<serde_json::Value> = exported
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("an export line is not json ({error}): {line}"))
        })
        .collect();
    assert_eq!(
        lines.len() as i64,
        message_count(&database),
        "one line per stored message"
    );
    let result = session
        .find(&testid("settings-export-result"))
        .await
        .text()
        .await;
    assert!(
        result.contains("Wrote 5 messages"),
        "the window says how many it wrote: {result:?}"
    );

    // Start at login: an XDG autostart entry under $HOME, and gone again.
    let entry = desktop.home().join(".config/autostart/Herald.desktop");
    assert!(!entry.exists(), "no autostart entry to begin with");
    session.click(&testid("settings-autostart")).await;
    herald_tests::wait_for("the autostart entry to be written", WAIT, || async {
        std::fs::read_to_string(&entry).map_err(|error| error.to_string())
    })
    .await;
    let contents = std::fs::read_to_string(&entry).expect("the entry was just read");
    eprintln!("the autostart entry:\n{contents}");
    assert!(
        contents.contains("[Desktop Entry]")
            && contents.contains("Exec=")
            && contents.contains("herald"),
        "the entry starts Herald: {contents}"
    );
    assert!(
        contents.contains("--data-dir"),
        "login opens the inbox this window shows, not the default one: {contents}"
    );
    assert_eq!(
        session
            .find(&testid("settings-autostart"))
            .await
            .property("checked")
            .await,
        json!(true)
    );
    session
        .screenshot(&desktop.screenshot_path("settings.png"))
        .await;
    session.click(&testid("settings-autostart")).await;
    herald_tests::wait_for("the autostart entry to be removed", WAIT, || async {
        if entry.exists() {
            Err("still there".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    assert_eq!(
        session
            .find(&testid("settings-autostart"))
            .await
            .property("checked")
            .await,
        json!(false)
    );
    desktop.quit(session).await;

    // Import that file into another installation, through the file input.
    let second = Herald::new();
    let session = desktop.launch(second.data_dir()).await;
    session.find(".first-run").await;
    session.click(&testid("nav-settings")).await;
    let export_path = export.to_str().expect("a utf-8 path");
    session
        .find(&testid("settings-import"))
        .await
        .send_keys(export_path)
        .await;
    session
        .wait_script(
            "the import to finish",
            WAIT,
            "return document.querySelector('[data-testid=settings-import-result]')?.textContent.includes('5 messages imported') || null",
            &[],
        )
        .await;
    let imported = second.database();
    assert_eq!(
        message_count(&imported),
        5,
        "every exported message is imported"
    );
    let titles_of = |database: &Path| {
        query(database, |connection| {
            connection
                .prepare(
                    "SELECT title, body, read, starred, priority FROM messages ORDER BY title",
                )?
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, bool>(2)?,
                        row.get::<_, bool>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
    };
    assert_eq!(
        titles_of(&imported),
        titles_of(&database),
        "the import holds what was exported"
    );
    // The same file again: everything is already there.
    session
        .find(&testid("settings-import"))
        .await
        .send_keys(export_path)
        .await;
    session
        .wait_script(
            "the second import to finish",
            WAIT,
            "return document.querySelector('[data-testid=settings-import-result]')?.textContent.match(/0 messages imported.*5 already here/) || null",
            &[],
        )
        .await;
    assert_eq!(message_count(&imported), 5, "a second import adds nothing");
    // The imported messages are in the inbox, under a paused source.
    choose_view(&session, "All messages").await;
    wait_rows(&session, "the imported messages", |rows| {
        (rows.len() == 5).then_some(())
    })
    .await;
    wait_sidebar_sources(&session, &["Reports"]).await;
    desktop.quit(session).await;
}

/// A saved setting, parsed, or `null` while there is none.
fn setting(database: &Path, key: &str) -> serde_json::Value {
    let text: Option<String> = query(database, |connection| {
        use rusqlite::OptionalExtension;
        connection
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
    });
    text.map(|text| serde_json::from_str(&text).expect("settings are json"))
        .unwrap_or(serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_notification_settings_and_do_not_disturb_in_the_window() {
    let _serial = SERIAL.lock().await;
    let server = NtfyServer::start("shop").await;
    publish(
        &server,
        "Refund requested for #1",
        "the customer wants the money back",
    );
    publish(&server, "Order #2 paid", "all good");
    publish(&server, "Refund requested for #3", "arrived damaged");
    let herald = Herald::new();
    let source = herald
        .add_source("Shop", "ntfy", &server.topic_url(), &[])
        .await;
    let database = herald.database();
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    wait_rows(&session, "the three messages", |rows| {
        (rows.len() == 3).then_some(())
    })
    .await;

    // No notification server on this desktop: said once, in words, dismissible.
    let notice = session.find(&testid("notifier-error")).await.text().await;
    assert!(
        notice.contains("no notification server is running"),
        "{notice}"
    );
    session.click(&testid("notifier-error-dismiss")).await;

    // A rule through the form, with its live preview of stored messages.
    session.click(&testid("nav-rules")).await;
    session.click(&testid("add-rule")).await;
    fill(&session, "rule-field-name", "Star refunds").await;
    fill(&session, "rule-field-title", "refund").await;
    session
        .wait_script(
            "the preview to find the two refunds",
            WAIT,
            "return document.querySelector('[data-testid=rule-preview]')?.dataset.count === '2' || null",
            &[],
        )
        .await;
    if session
        .try_find(&testid("rule-action"))
        .await
        .ok()
        .flatten()
        .is_none()
    {
        session.click(&testid("rule-add-action")).await;
    }
    let action_type = format!("{} {}", testid("rule-action"), testid("rule-action-type"));
    session.select_option(&action_type, "star").await;
    session.click(&testid("rule-add-action")).await;
    let second_type = format!(
        "{}:nth-of-type(2) {}",
        testid("rule-action"),
        testid("rule-action-type")
    );
    session.select_option(&second_type, "add_tag").await;
    fill(&session, "rule-action-tag", "refund").await;
    session
        .screenshot(&desktop.screenshot_path("rule-form.png"))
        .await;
    session.click(&testid("rule-save")).await;
    session.find(&testid("rule-row")).await;
    let rules: Vec<(String, String)> = query(&database, |connection| {
        connection
            .prepare("SELECT name, definition FROM rules ORDER BY position")?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect()
    });
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0].0, "Star refunds");
    let definition: serde_json::Value = serde_json::from_str(&rules[0].1).expect("json");
    assert_eq!(
        definition["match"]["title"],
        json!({"kind": "contains", "value": "refund"})
    );
    assert_eq!(
        definition["actions"],
        json!([{"action": "star"}, {"action": "add_tag", "tag": "refund"}])
    );
    // The running engine applies it to the next message at once.
    publish(&server, "Refund requested for #4", "wrong size");
    wait_stored(
        &database,
        "Refund requested for #4",
        "starred by the rule",
        |state| state.is_some_and(|state| state.starred),
    )
    .await;
    assert!(
        !stored(&database, "Refund requested for #1")
            .expect("read")
            .expect("stored")
            .starred,
        "rules apply to new messages, not to what was stored before"
    );
    // A second rule, then reordering puts it first.
    session.click(&testid("add-rule")).await;
    fill(&session, "rule-field-name", "Quiet orders").await;
    fill(&session, "rule-field-title", "order").await;
    if session
        .try_find(&testid("rule-action"))
        .await
        .ok()
        .flatten()
        .is_none()
    {
        session.click(&testid("rule-add-action")).await;
    }
    session.select_option(&action_type, "store_silently").await;
    session.click(&testid("rule-save")).await;
    session
        .wait_script(
            "two rules",
            WAIT,
            "return document.querySelectorAll('[data-testid=rule-row]').length === 2 || null",
            &[],
        )
        .await;
    let second_up = format!(
        "{}:nth-of-type(2) {}",
        testid("rule-row"),
        testid("rule-move-up")
    );
    session.click(&second_up).await;
    herald_tests::wait_for("the new order to be stored", WAIT, || async {
        let names: Vec<String> = query(&database, |connection| {
            connection
                .prepare("SELECT name FROM rules ORDER BY position")?
                .query_map([], |row| row.get(0))?
                .collect()
        });
        if names == ["Quiet orders", "Star refunds"] {
            Ok(())
        } else {
            Err(format!("{names:?}"))
        }
    })
    .await;
    session
        .screenshot(&desktop.screenshot_path("rules.png"))
        .await;

    // Notification settings: a minimum priority and quiet hours, stored.
    session.click(&testid("nav-settings")).await;
    session.find(&testid("settings-notifications")).await;
    session
        .select_option(&testid("policy-min-priority"), "3")
        .await;
    session.click(&testid("policy-add-quiet-hours")).await;
    session.click(&testid("policy-save")).await;
    let policy = herald_tests::wait_for("the policy to be saved", WAIT, || async {
        let policy = setting(&database, "notification_policy");
        if policy["min_priority"] == 3 {
            Ok(policy)
        } else {
            Err(policy.to_string())
        }
    })
    .await;
    assert_eq!(
        policy["quiet_hours"].as_array().map(Vec::len),
        Some(1),
        "{policy}"
    );
    session
        .execute(
            "document.querySelector('[data-testid=settings-notifications]').scrollIntoView();",
            &[],
        )
        .await;
    session
        .screenshot(&desktop.screenshot_path("settings-notifications.png"))
        .await;

    // Do not disturb from the window: on for an hour, shown, stored, resumed.
    session.click(&testid("pause-menu")).await;
    session.click(&testid("pause-option-60")).await;
    session
        .wait_script("the indicator to show the pause", WAIT,
            "return document.querySelector('[data-testid=dnd-indicator]')?.dataset.state === 'on' || null", &[])
        .await;
    let quiet = setting(&database, "notification_quiet");
    let until = quiet["dnd_until"].as_i64().expect("a deadline");
    assert!((until - now_ms() - 3_600_000).abs() < 120_000, "{quiet}");
    session.click(&testid("dnd-resume")).await;
    session
        .wait_script("the indicator to show notifications on", WAIT,
            "return document.querySelector('[data-testid=dnd-indicator]')?.dataset.state === 'off' || null", &[])
        .await;
    assert!(setting(&database, "notification_quiet")["dnd_until"].is_null());

    // Mute a source until unmuted, from the sources screen.
    session.click(&testid("nav-manage-sources")).await;
    session.click(&testid("source-mute-menu")).await;
    session.click(&testid("mute-option-forever")).await;
    session.find(&testid("source-muted")).await;
    let quiet = setting(&database, "notification_quiet");
    assert_eq!(quiet["mutes"][source.to_string()], i64::MAX, "{quiet}");
    session.click(&testid("source-unmute")).await;
    herald_tests::wait_for("the mute to end", WAIT, || async {
        let quiet = setting(&database, "notification_quiet");
        if quiet["mutes"]
            .as_object()
            .is_some_and(|mutes| mutes.is_empty())
        {
            Ok(())
        } else {
            Err(quiet.to_string())
        }
    })
    .await;
    desktop.quit(session).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_source_and_the_publish_api_in_the_window() {
    let _serial = SERIAL.lock().await;
    let node = RabbitNode::start().await;
    let herald = Herald::new();
    let database = herald.database();
    let desktop = Desktop::start().await;
    let session = desktop.launch(herald.data_dir()).await;
    session.find(".first-run").await;

    // A STOMP source through the form: a destination is required, the
    // login is tested for real, and what RabbitMQ delivers shows live.
    open_new_source_form(&session).await;
    fill(&session, "source-field-name", "Orders").await;
    session
        .select_option(&testid("source-field-protocol"), "stomp")
        .await;
    fill(&session, "source-field-url", &node.web_stomp_url()).await;
    session
        .select_option(&testid("source-field-credentials"), "basic")
        .await;
    fill(&session, "source-field-username", USER).await;
    fill(&session, "source-field-password", "wrong").await;
    session.click(&testid("source-save")).await;
    let missing = session
        .find(&testid("source-error-subscriptions"))
        .await
        .text()
        .await;
    assert!(!missing.is_empty(), "a broker source needs a destination");
    fill(&session, "source-field-subscription", "/topic/orders.#").await;
    test_connection(&session, "auth_failed").await;
    fill(&session, "source-field-password", PASSWORD).await;
    session.click(&testid("source-field-durable")).await;
    test_connection(&session, "connected").await;
    session
        .execute(
            "document.querySelector('[data-testid=source-field-url]').scrollIntoView({ block: 'start' });",
            &[],
        )
        .await;
    session
        .screenshot(&desktop.screenshot_path("source-form-stomp.png"))
        .await;
    session.click(&testid("source-save")).await;
    wait_row_state(&session, "Orders", "connected").await;
    let saved = stored_sources(&database);
    assert_eq!(saved.len(), 1, "{saved:?}");
    let config: serde_json::Value = serde_json::from_str(&saved[0].config).expect("config json");
    assert_eq!(
        config["subscriptions"],
        json!(["/topic/orders.#"]),
        "{config}"
    );
    assert_eq!(config["durable"], true, "{config}");
    assert!(
        !saved[0].config.contains(PASSWORD),
        "the password is not in the config"
    );

    choose_view(&session, "Inbox").await;
    let mut publisher = StompPublisher::connect(node.stomp_port()).await;
    for index in 1..=3 {
        let body = json!({"title": format!("Order {index} paid"), "message": "¥99.00"}).to_string();
        let id = format!("order-{index}");
        publisher
            .send("/topic/orders.cn", &[("amqp-message-id", &id)], &body)
            .await;
    }
    publisher.flush().await;
    wait_titles(&session, &["Order 3 paid", "Order 2 paid", "Order 1 paid"]).await;

    // The publish API: switched on in the settings, its token shown once,
    // and a script's message in the inbox.
    let port = free_port();
    session.click(&testid("nav-settings")).await;
    session.find(&testid("settings-publish-api")).await;
    fill(&session, "publish-api-port", &port.to_string()).await;
    session.click(&testid("publish-api-enabled")).await;
    let token = session
        .find(&testid("publish-api-token"))
        .await
        .property("value")
        .await;
    let token = token
        .as_str()
        .filter(|token| token.starts_with("hp_"))
        .unwrap_or_else(|| panic!("the new token is shown: {token}"))
        .to_string();
    session
        .wait_script(
            "the publish api to listen",
            WAIT,
            "const s = document.querySelector('[data-testid=publish-api-state]'); return !!s && s.dataset.state === 'connected';",
            &[],
        )
        .await;
    session
        .execute(
            "document.querySelector('[data-testid=settings-publish-api]').scrollIntoView({ block: 'start' });",
            &[],
        )
        .await;
    session
        .screenshot(&desktop.screenshot_path("settings-publish-api.png"))
        .await;
    let output = std::process::Command::new("curl")
        .args([
            "-s",
            "-H",
            &format!("Authorization: Bearer {token}"),
            "-H",
            "Title: Backup finished",
        ])
        .args([
            "-d",
            "42 GB in 3 min",
            &format!("http://127.0.0.1:{port}/publish/backups"),
        ])
        .output()
        .expect("curl runs");
    let answer = String::from_utf8_lossy(&output.stdout);
    assert!(
        answer.contains("\"id\""),
        "the publish api stored it: {answer}"
    );
    session.click(&testid("publish-api-dismiss-token")).await;
    session.refresh().await;
    session.click(&testid("nav-settings")).await;
    session.find(&testid("settings-publish-api")).await;
    assert!(
        session
            .try_find(&testid("publish-api-new-token"))
            .await
            .ok()
            .flatten()
            .is_none(),
        "the token is not shown again"
    );
    session.click(&testid("nav-manage-sources")).await;
    wait_row_state(&session, "Local", "connected").await;
    choose_view(&session, "Inbox").await;
    wait_titles(
        &session,
        &[
            "Backup finished",
            "Order 3 paid",
            "Order 2 paid",
            "Order 1 paid",
        ],
    )
    .await;
}

/// The tray menu's labels, once they are in the expected language.
async fn wait_tray_labels(desktop: &Desktop, item: &str, wanted: &str) -> Vec<String> {
    wait_for(
        &format!("the tray menu to offer {wanted:?}"),
        WAIT,
        || async {
            let labels: Vec<String> = desktop
                .tray_menu(item, TRAY_PATH)
                .into_iter()
                .map(|(_, label)| label)
                .collect();
            if labels.iter().any(|label| label == wanted) {
                Ok(labels)
            } else {
                Err(format!("{labels:?}"))
            }
        },
    )
    .await
}

/// The tray item's object path (`tray_icon_tray_app_<tray id>`).
const TRAY_PATH: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_herald";

/// Issue 8, end to end on a desktop whose locale is zh_CN: with no language
/// chosen, the window, the tray and notifications are in Chinese; a one-
/// character Chinese query finds and opens a Chinese message; a burst is
/// summed up in Chinese on the notification server; and switching to
/// English in Settings relabels the window and the tray without a restart.
/// Screenshots of the main views in Chinese go to the README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chinese_desktop_reads_chinese_everywhere() {
    let _serial = SERIAL.lock().await;
    let mut desktop = Desktop::start_in("zh_CN.UTF-8").await;
    desktop.start_notify_monitor();
    desktop.start_dunst();
    desktop.start_tray_host();
    let server = NtfyServer::start("orders").await;
    for message in [
        json!({ "title": "Build passed", "message": "main is green", "tags": ["ci"] }),
        json!({ "title": "支付网关延迟升高", "message": "p95 达到 870 毫秒，超过 500 毫秒的阈值", "priority": 4, "tags": ["warning", "支付"] }),
        json!({ "title": "新订单 #20931", "message": "客户：上海某某科技有限公司，金额 ¥12,800.00", "tags": ["订单"] }),
        json!({ "title": "数据库 db-3 磁盘使用率 91%", "message": "剩余空间 18 GB，预计 3 天内写满", "priority": 5, "tags": ["rotating_light"] }),
        json!({ "title": "仓库 A3 库存告警", "message": "螺丝刀库存低于阈值：剩余 3 件", "priority": 4, "tags": ["仓储"] }),
    ] {
        server.publish(message);
    }
    let published = 5;
    let herald = Herald::new().env("LANG", "zh_CN.UTF-8");
    let source = herald
        .add_source("订单", "ntfy", &server.topic_url(), &[])
        .await;
    // The command line follows the locale too, until a language is chosen.
    let missing = herald.exec(&["source", "enable", "999"]).await;
    assert!(!missing.status.success());
    assert!(
        missing.stderr.contains("不存在") && !missing.stderr.contains("does not exist"),
        "a Chinese error: {}",
        missing.stderr
    );
    let session = desktop.launch(herald.data_dir()).await;
    let pid = *desktop.app_pids().first().expect("herald runs");

    // 1. The OS locale chose Chinese: labels, the document's language.
    let label = session
        .find("input[type=search]")
        .await
        .attribute("aria-label")
        .await;
    assert_eq!(label.as_deref(), Some("搜索消息"));
    find_text(&session, "nav.sidebar button.item .label", "收件箱").await;
    let lang = session
        .execute("return document.documentElement.lang", &[])
        .await;
    assert_eq!(
        lang,
        json!("zh-CN"),
        "CJK fonts and line breaking follow lang"
    );
    wait_rows(&session, "the messages", |rows| {
        (rows.len() == published).then_some(())
    })
    .await;
    session
        .screenshot(&desktop.screenshot_path("inbox-zh-CN.png"))
        .await;

    // 2. One character finds the Chinese message, highlighted, and opens it.
    let hits = search(&session, "库").await;
    assert_eq!(
        titles(&hits),
        ["仓库 A3 库存告警", "数据库 db-3 磁盘使用率 91%"],
        "every message with 库 in it, newest first, and no other"
    );
    let detail = open_message(&session, "仓库 A3 库存告警").await;
    assert!(
        detail.body_text.contains("剩余 3 件"),
        "the Chinese body renders whole: {detail:?}"
    );
    session
        .screenshot(&desktop.screenshot_path("detail-zh-CN.png"))
        .await;
    clear_search(&session).await;

    // 3. The tray speaks Chinese.
    let item = wait_for("the tray item to register", WAIT, || async {
        desktop
            .tray_item_of(pid)
            .ok_or_else(|| "not registered".to_string())
    })
    .await;
    let labels = wait_tray_labels(&desktop, &item, "退出 Herald").await;
    assert!(
        labels.iter().any(|label| label == "全部标为已读"),
        "{labels:?}"
    );

    // 4. A burst is summed up in Chinese on the notification server.
    server.publish_many(
        (1..=60).map(
            |n| json!({ "title": format!("订单 {n} 已付款"), "message": format!("金额 ¥{n}") }),
        ),
    );
    herald
        .wait_stored(source, published as u64 + 60, WAIT)
        .await;
    let summary = wait_for("a Chinese burst summary on the bus", WAIT, || async {
        let calls = desktop.notify_calls();
        calls
            .iter()
            .map(|call| call.summary.clone())
            .find(|summary| summary.starts_with("来自 订单 的 ") && summary.ends_with(" 条新消息"))
            .ok_or_else(|| format!("{:?}", calls.iter().map(|c| &c.summary).collect::<Vec<_>>()))
    })
    .await;
    eprintln!("burst summary: {summary}");

    // 5. The main screens in Chinese, for the README.
    session.click(&testid("nav-manage-sources")).await;
    find_text(&session, "h1", "消息源").await;
    session
        .screenshot(&desktop.screenshot_path("sources-admin-zh-CN.png"))
        .await;
    session.click(&testid("nav-rules")).await;
    session
        .screenshot(&desktop.screenshot_path("rules-zh-CN.png"))
        .await;
    session.click(&testid("nav-settings")).await;
    find_text(&session, "h1", "设置").await;
    session
        .screenshot(&desktop.screenshot_path("settings-zh-CN.png"))
        .await;

    // 6. English in Settings: the window and the tray follow, no restart;
    // and the choice is stored for the next start and the command line.
    session
        .select_option(&testid("settings-language"), "en")
        .await;
    find_text(&session, "h1", "Settings").await;
    let labels = wait_tray_labels(&desktop, &item, "Quit Herald").await;
    assert!(
        labels.iter().any(|label| label == "Mark all read"),
        "{labels:?}"
    );
    assert_eq!(
        setting(&herald.database(), "language"),
        json!("en"),
        "the choice is in the database"
    );
    let missing = herald.exec(&["source", "enable", "999"]).await;
    assert!(
        missing.stderr.contains("does not exist"),
        "the command line follows the stored choice, not the Chinese locale: {}",
        missing.stderr
    );

    desktop.quit(session).await;
}
