//! Notifications and the tray through the real app on a private desktop:
//! dunst as the notification server, status-notifier-watcher as the tray
//! host, dbus-monitor recording every `Notify` call on the bus.
//!
//! One scenario, in order: a new message notifies with the right summary,
//! body and urgency; clicking it (dunst's default action) opens the message
//! in the window; "Mark read" marks it read; a burst of 500 messages makes
//! a handful of notifications; "Pause notifications ▸ For 1 hour" from the
//! tray menu (clicked over DBus) holds notifications back and "Resume"
//! shows one summary of what was held; "Mark all read" empties the unread
//! count; "Quit" exits cleanly.

use std::time::{Duration, Instant};

use herald_tests::desktop::Desktop;
use herald_tests::ntfy::NtfyServer;
use herald_tests::session_bus::NotifyCall;
use herald_tests::{wait_for, Herald, WAIT};
use serde_json::json;

/// The tray item's object path (`tray_icon_tray_app_<tray id>`).
const TRAY_PATH: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_herald";

fn unread(database: &std::path::Path) -> i64 {
    let connection = rusqlite::Connection::open(database).expect("open the database");
    connection
        .query_row("SELECT count(*) FROM messages WHERE read = 0", [], |row| {
            row.get(0)
        })
        .expect("count unread")
}

fn read_flag(database: &std::path::Path, remote_id: &str) -> bool {
    let connection = rusqlite::Connection::open(database).expect("open the database");
    connection
        .query_row(
            "SELECT read FROM messages WHERE remote_id = ?1",
            [remote_id],
            |row| row.get(0),
        )
        .expect("the message is stored")
}

async fn wait_calls(
    desktop: &Desktop,
    what: &str,
    probe: impl Fn(&[NotifyCall]) -> bool,
) -> Vec<NotifyCall> {
    let probe = &probe;
    wait_for(what, WAIT, || async move {
        let calls = desktop.notify_calls();
        if probe(&calls) {
            Ok(calls)
        } else {
            Err(format!(
                "{:#?}",
                calls.iter().map(|c| &c.summary).collect::<Vec<_>>()
            ))
        }
    })
    .await
}

fn labels(menu: &[(i32, String)]) -> Vec<&str> {
    menu.iter().map(|(_, label)| label.as_str()).collect()
}

fn entry(menu: &[(i32, String)], label: &str) -> i32 {
    menu.iter()
        .find(|(_, text)| text == label)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("no tray entry {label:?} in {:?}", labels(menu)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_and_tray_follow_messages_and_policy() {
    let mut desktop = Desktop::start().await;
    desktop.start_notify_monitor();
    desktop.start_dunst();
    desktop.start_tray_host();
    let server = NtfyServer::start("ops").await;
    let herald = Herald::new();
    let source = herald
        .add_source("Ops", "ntfy", &server.topic_url(), &[])
        .await;
    let database = herald.database();
    let session = desktop.launch(herald.data_dir()).await;
    let pid = *desktop.app_pids().first().expect("herald runs");

    // 1. One message, one notification: "source: title", plain body, urgency.
    let published = Instant::now();
    server.publish(json!({
        "title": "Disk full",
        "message": "**db-3** is at <b>99%</b>",
        "content_type": "text/markdown",
        "priority": 5,
    }));
    let calls = wait_calls(&desktop, "a notification for the message", |calls| {
        calls.iter().any(|call| call.summary == "Ops: Disk full")
    })
    .await;
    let seen = published.elapsed();
    let call = calls
        .iter()
        .find(|call| call.summary == "Ops: Disk full")
        .expect("call");
    assert_eq!(call.app_name, "Herald");
    assert_eq!(call.urgency, Some(2), "priority 5 is critical");
    // Plain text: markdown and inline HTML gone (dunst here reads no markup;
    // where a server does, the text is escaped).
    assert_eq!(call.body, "db-3 is at 99%");
    assert!(
        call.actions.contains(&"default".to_string()) && call.actions.contains(&"read".to_string())
    );
    eprintln!("publish to Notify on the bus: {seen:?}");
    assert!(call.id.is_some(), "dunst answered with an id");

    // 2. A click (dunst's default action) opens the message in the window.
    let _ = desktop.dunstctl(&["action", "0"]);
    session
        .wait_script(
            "the clicked message to open",
            WAIT,
            "return document.querySelector('[data-testid=detail-title]')?.textContent.includes('Disk full') ?? false",
            &[],
        )
        .await;
    session
        .screenshot(&desktop.screenshot_path("notify-click-opens-message.png"))
        .await;

    // 3. "Mark read" (a server's ActionInvoked signal) marks it read.
    let low =
        server.publish(json!({"title": "Backup finished", "message": "nightly", "priority": 2}));
    let calls = wait_calls(&desktop, "the low-priority notification", |calls| {
        calls
            .iter()
            .any(|call| call.summary == "Ops: Backup finished")
    })
    .await;
    let backup = calls
        .iter()
        .find(|call| call.summary == "Ops: Backup finished")
        .expect("call");
    assert_eq!(backup.urgency, Some(0), "priority 2 is low");
    assert!(!read_flag(&database, &low.id));
    assert!(backup.id.is_some());
    desktop.dunst_choose_mark_read();
    wait_for("the action to mark it read", WAIT, || async {
        if read_flag(&database, &low.id) {
            Ok(())
        } else {
            Err("unread".to_string())
        }
    })
    .await;

    // 3b. An update (ntfy's sequence_id) replaces its message's notification.
    let progress = server.publish(json!({"title": "Backup 50 %", "message": "copying"}));
    let calls = wait_calls(&desktop, "the first progress notification", |calls| {
        calls
            .iter()
            .any(|call| call.summary == "Ops: Backup 50 %" && call.id.is_some())
    })
    .await;
    let first = calls
        .iter()
        .find(|call| call.summary == "Ops: Backup 50 %")
        .and_then(|call| call.id)
        .expect("an id");
    server.publish(json!({"title": "Backup 100 %", "message": "done", "sequence_id": progress.id}));
    let calls = wait_calls(&desktop, "the updated progress notification", |calls| {
        calls.iter().any(|call| call.summary == "Ops: Backup 100 %")
    })
    .await;
    let update = calls
        .iter()
        .find(|call| call.summary == "Ops: Backup 100 %")
        .expect("call");
    assert_eq!(
        update.replaces, first,
        "the update replaces the notification it updates"
    );
    assert_eq!(update.id, Some(first));

    // 4. A burst of 500: a few notifications and one summary, not 500.
    let before = desktop.notify_calls().len();
    server
        .publish_many((0..500).map(|n| json!({"title": format!("Order {n}"), "message": "paid"})));
    herald.wait_stored(source, 504, WAIT).await;
    let calls = wait_calls(&desktop, "the burst summary", |calls| {
        calls[before..]
            .iter()
            .any(|call| call.summary.contains("new messages from Ops"))
    })
    .await;
    let burst = &calls[before..];
    assert!(
        burst.len() <= 5,
        "a burst of 500 made {} notifications: {:?}",
        burst.len(),
        burst.iter().map(|c| &c.summary).collect::<Vec<_>>()
    );

    // The window's badge follows the burst (it is the database's count).
    let stored_unread = unread(&database);
    session
        .wait_script(
            "the unread badge to count the burst",
            WAIT,
            "return document.querySelector('[data-testid=nav-view-unread] [data-testid=unread-badge]')?.textContent.trim() === String(arguments[0])",
            &[json!(stored_unread)],
        )
        .await;

    // 5. The tray: registered, with the menu, unread count in the title.
    let item = wait_for("the tray item to register", WAIT, || async {
        desktop
            .tray_item_of(pid)
            .ok_or_else(|| "not registered".to_string())
    })
    .await;
    let menu = desktop.tray_menu(&item, TRAY_PATH);
    // The unread count is the item's label; the icon carries a dot.
    let unread_label = wait_for("the tray label to show the unread count", WAIT, || async {
        let label = desktop.tray_property(&item, TRAY_PATH, "XAyatanaLabel");
        if label == unread(&database).to_string() {
            Ok(label)
        } else {
            Err(label)
        }
    })
    .await;
    assert_ne!(unread_label, "0");
    let dotted_icon = desktop.tray_property(&item, TRAY_PATH, "IconName");
    for wanted in [
        "Mark all read",
        "Pause notifications",
        "For 1 hour",
        "Until tomorrow",
        "Until I resume",
        "Resume notifications",
        "Pause all sources",
        "Quit Herald",
    ] {
        assert!(
            labels(&menu).contains(&wanted),
            "{wanted:?} missing from {:?}",
            labels(&menu)
        );
    }

    // 6. Pause for an hour from the tray: nothing shows; resume: one summary.
    desktop.click_tray_entry(&item, TRAY_PATH, entry(&menu, "For 1 hour"));
    session
        .wait_script(
            "the window to show notifications are paused",
            WAIT,
            "return document.querySelector('[data-testid=dnd-indicator]')?.dataset.state === 'on'",
            &[],
        )
        .await;
    let paused_menu = wait_for("the tray label to follow", WAIT, || async {
        let menu = desktop.tray_menu(&item, TRAY_PATH);
        if labels(&menu)
            .iter()
            .any(|label| label.starts_with("Resume notifications (paused until "))
        {
            Ok(menu)
        } else {
            Err(format!("{:?}", labels(&menu)))
        }
    })
    .await;
    session
        .screenshot(&desktop.screenshot_path("notify-paused.png"))
        .await;
    let before = desktop.notify_calls().len();
    server.publish_many([
        json!({"title": "Held one", "message": "x", "priority": 4}),
        json!({"title": "Held two", "message": "y", "priority": 3}),
    ]);
    herald.wait_stored(source, 506, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        desktop.notify_calls().len(),
        before,
        "nothing notifies while paused"
    );
    let resume = paused_menu
        .iter()
        .find(|(_, label)| label.starts_with("Resume notifications (paused until "))
        .map(|(id, _)| *id)
        .expect("the resume entry");
    desktop.click_tray_entry(&item, TRAY_PATH, resume);
    let calls = wait_calls(&desktop, "the summary of what was held", |calls| {
        calls[before..]
            .iter()
            .any(|call| call.summary == "2 messages arrived while notifications were paused")
    })
    .await;
    assert_eq!(
        calls.len(),
        before + 1,
        "one summary, not the held messages one by one"
    );

    // 7. Mark all read from the tray.
    assert!(unread(&database) > 0);
    desktop.click_tray_entry(&item, TRAY_PATH, entry(&menu, "Mark all read"));
    wait_for("every message to be read", WAIT, || async {
        match unread(&database) {
            0 => Ok(()),
            n => Err(format!("{n} unread")),
        }
    })
    .await;
    wait_for("the tray to show nothing unread", WAIT, || async {
        let label = desktop.tray_property(&item, TRAY_PATH, "XAyatanaLabel");
        let icon = desktop.tray_property(&item, TRAY_PATH, "IconName");
        if label.is_empty() && icon != dotted_icon {
            Ok(())
        } else {
            Err(format!("label {label:?}, icon {icon}"))
        }
    })
    .await;

    // 7b. A hostile message notifies as bounded plain text: no markup, no
    // bidi controls, no NUL, the summary and body cut to their limits.
    let before = desktop.notify_calls().len();
    server.publish(json!({
        "title": format!("XSS <script>alert(1)</script> invoice\u{202E}fdp.exe {}", "长".repeat(500)),
        "message": format!("<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1)) {}\u{0}", "x".repeat(50_000)),
        "content_type": "text/markdown",
        "priority": 4,
    }));
    let calls = wait_calls(&desktop, "the hostile message's notification", |calls| {
        calls[before..]
            .iter()
            .any(|call| call.summary.starts_with("Ops: XSS"))
    })
    .await;
    let hostile = calls[before..]
        .iter()
        .find(|call| call.summary.starts_with("Ops: XSS"))
        .expect("call");
    assert!(
        hostile.summary.chars().count() <= 121,
        "{}",
        hostile.summary
    );
    assert!(
        hostile.body.chars().count() <= 301,
        "{} chars",
        hostile.body.chars().count()
    );
    for text in [&hostile.summary, &hostile.body] {
        assert!(
            !text.contains(['\u{202E}', '\u{0}'])
                && !text.contains("onerror")
                && !text.contains("<img"),
            "{text}"
        );
    }
    assert!(hostile.body.starts_with("bold link"), "{}", hostile.body);

    // 8. Closing the window hides it to the tray; "Open Herald" brings it back.
    assert_eq!(
        desktop.close_windows_of(pid),
        1,
        "one window was asked to close"
    );
    let hidden = wait_for("the window to hide", WAIT, || async {
        let menu = desktop.tray_menu(&item, TRAY_PATH);
        if labels(&menu).contains(&"Open Herald") {
            Ok(menu)
        } else {
            Err(format!("{:?}", labels(&menu)))
        }
    })
    .await;
    assert_eq!(
        desktop.app_pids(),
        [pid],
        "closing the window leaves Herald running"
    );
    desktop.click_tray_entry(&item, TRAY_PATH, entry(&hidden, "Open Herald"));
    wait_for("the window to show again", WAIT, || async {
        let menu = desktop.tray_menu(&item, TRAY_PATH);
        if labels(&menu).contains(&"Hide Herald") {
            Ok(())
        } else {
            Err(format!("{:?}", labels(&menu)))
        }
    })
    .await;

    // 9. Quit from the tray: the app exits and its database is whole.
    desktop.click_tray_entry(&item, TRAY_PATH, entry(&menu, "Quit Herald"));
    wait_for("herald to exit", WAIT, || async {
        let running = desktop.app_pids();
        if running.is_empty() {
            Ok(())
        } else {
            Err(format!("{running:?}"))
        }
    })
    .await;
    drop(session);
    let check = herald.check().await;
    assert_eq!(check["sqlite"], "ok", "{check}");
}
