//! Herald's real window, driven through WebDriver (tauri-driver and
//! WebKitWebDriver) on a private Xvfb display: the built `herald` binary,
//! loopback ntfy servers publishing while the window is open, and the
//! database read back with rusqlite to check that what the window shows is
//! what was stored.
//!
//! The tests take turns ([`SERIAL`]): each starts an X server, a webview and
//! the app, and the machines that run them have two cores.
//!
//! Screenshots go to `$HERALD_SCREENSHOTS` (default:
//! `<temp>/herald-window-screenshots`).

use std::path::Path;
use std::time::{Duration, Instant};

use herald_tests::desktop::Desktop;
use herald_tests::ntfy::NtfyServer;
use herald_tests::webdriver::{Element, Session};
use herald_tests::{now_ms, Herald, WAIT};
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

/// Sets local-storage keys (theme, language) and reloads the page.
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

    // Light theme, inbox and an open message.
    reload_with(
        &session,
        &[("herald.theme", "light"), ("herald.language", "en")],
    )
    .await;
    wait_rows(&session, "the inbox after reloading", |rows| {
        (rows.len() >= 8).then_some(())
    })
    .await;
    let classes = session
        .execute("return document.documentElement.className", &[])
        .await;
    assert!(
        classes.as_str().unwrap_or_default().contains("light"),
        "the stored theme is applied as a class on <html>: {classes}"
    );
    session
        .screenshot(&desktop.screenshot_path("inbox-light.png"))
        .await;
    let freezer = open_message(&session, "Freezer 3 temperature high").await;
    assert!(
        freezer.body_text.contains("Door sensor: closed"),
        "the demo's markdown list is in the body: {freezer:?}"
    );
    session
        .screenshot(&desktop.screenshot_path("detail-light.png"))
        .await;

    // Dark theme.
    reload_with(&session, &[("herald.theme", "dark")]).await;
    wait_rows(&session, "the inbox after reloading", |rows| {
        (rows.len() >= 8).then_some(())
    })
    .await;
    let classes = session
        .execute("return document.documentElement.className", &[])
        .await;
    assert!(
        classes.as_str().unwrap_or_default().contains("dark"),
        "the dark theme is a class on <html>: {classes}"
    );
    session
        .screenshot(&desktop.screenshot_path("inbox-dark.png"))
        .await;
    open_message(&session, "仓库 A3 库存告警").await;
    session
        .screenshot(&desktop.screenshot_path("detail-dark.png"))
        .await;

    // Chinese interface, Chinese search.
    reload_with(
        &session,
        &[("herald.theme", "light"), ("herald.language", "zh-CN")],
    )
    .await;
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
    eprintln!("screenshots: {}", desktop.screenshot_path("").display());

    desktop.quit(session).await;
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

    // The detail: title, markdown rendered to HTML, tags.
    let disk = open_message(&session, "Disk full on db-1").await;
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
    // <input> is allowed for markdown task lists; what an <input> may be is
    // checked on its own (see the hostile test).
    const dangerous = "script, iframe, frame, frameset, object, embed, applet, form, button, textarea, select, style, link, meta, base, svg, math, template, noscript";
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
         - [x] a task list item\n\n\
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
    let bidi_title = "XSS-3 invoice \u{202E}fdp.exe";
    publish(
        &server,
        bidi_title,
        "bidi \u{202E}override\u{202C} in the body",
    );
    let big_line = "the quick brown fox jumps over the lazy dog, again and again\n";
    let big_body: String = big_line.chars().cycle().take(1_000_000).collect();
    publish(&server, "XSS-4 a 1 MB body", &big_body);

    let shown = wait_rows(&session, "the hostile messages, live", |rows| {
        let newest = [
            "XSS-4 a 1 MB body",
            bidi_title,
            plain_title.as_str(),
            markdown_title.as_str(),
        ];
        (titles(rows).get(..4) == Some(&newest[..])).then(|| rows.to_vec())
    })
    .await;
    assert_inert(&session, "after the hostile messages arrived").await;
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
            "return [...document.querySelectorAll('.detail .body input')].map((input) => `${input.type}${input.disabled ? ' disabled' : ' enabled'}`);",
            &[],
        )
        .await;
    eprintln!("inputs the sanitiser let into the body: {inputs}");
    assert!(
        inputs
            .as_array()
            .is_some_and(|inputs| inputs.contains(&json!("checkbox disabled"))),
        "a markdown task list item is a disabled checkbox: {inputs}"
    );
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

    // Bidi override: shown, and what a reader sees is recorded.
    let bidi = open_message(&session, bidi_title).await;
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
    eprintln!("bidi override in a title: {order} (detail {bidi:?})");
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
