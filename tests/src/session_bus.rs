//! What a desktop session adds on its bus for notification and tray tests:
//! a real notification server (dunst), a tray host
//! (status-notifier-watcher), and a recorder of the `Notify` calls on the
//! bus (dbus-monitor), plus readers for the tray's menu over DBus.
//!
//! Each is started in the [`Desktop`]'s environment and stopped with it.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::desktop::Desktop;
use crate::WAIT;

/// One `org.freedesktop.Notifications.Notify` call, as dbus-monitor saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyCall {
    pub app_name: String,
    pub summary: String,
    pub body: String,
    /// Action keys and labels, alternating.
    pub actions: Vec<String>,
    /// The `urgency` hint: 0 low, 1 normal, 2 critical.
    pub urgency: Option<u8>,
    /// The notification this one replaces (0 for none).
    pub replaces: u32,
    /// The id the server answered with.
    pub id: Option<u32>,
    /// When dbus-monitor saw the call (Unix seconds, microsecond precision).
    pub at: f64,
}

impl Desktop {
    /// Starts dunst (every notification sticky, so none closes by itself)
    /// and waits until it owns `org.freedesktop.Notifications`.
    pub fn start_dunst(&mut self) {
        self.start_dunst_with(
            "[global]\n    sticky_history = yes\n    history_length = 1000\n    notification_limit = 0\n\
             dmenu = \"/usr/bin/grep -m1 -F 'Mark read'\"\n\
             [urgency_low]\n    timeout = 0\n[urgency_normal]\n    timeout = 0\n[urgency_critical]\n    timeout = 0\n",
        );
    }

    /// Starts dunst as a desktop runs it: notifications time out (after 10 s,
    /// critical ones stay) and at most 20 are on screen, the rest queued.
    pub fn start_dunst_like_a_desktop(&mut self) {
        self.start_dunst_with("[global]\n    notification_limit = 20\n");
    }

    fn start_dunst_with(&mut self, dunstrc: &str) {
        let config = self.home().join("dunstrc");
        std::fs::write(&config, dunstrc).expect("dunstrc can be written");
        let log = self.log_path("dunst.log");
        let mut command = self.command(Path::new("dunst"));
        command
            .arg("-conf")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("dunst log"));
        self.keep("dunst", command);
        self.wait_for_name("org.freedesktop.Notifications");
    }

    /// Starts a tray host and waits until it owns its well-known name.
    pub fn start_tray_host(&mut self) {
        let mut command = self.command(Path::new("status-notifier-watcher"));
        command.stdout(Stdio::null()).stderr(Stdio::null());
        self.keep("status-notifier-watcher", command);
        self.wait_for_name("org.kde.StatusNotifierWatcher");
    }

    /// Starts recording `Notify` calls (and their replies) on the bus.
    pub fn start_notify_monitor(&mut self) {
        let log = self.log_path("notify-monitor.log");
        let mut command = self.command(Path::new("dbus-monitor"));
        command
            .args([
                "--session",
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
                "type='method_return'",
            ])
            .stdout(std::fs::File::create(&log).expect("monitor log"))
            .stderr(Stdio::null());
        self.keep("dbus-monitor", command);
        // dbus-monitor is listening once it has printed its own NameAcquired.
        let started = std::time::Instant::now();
        while std::fs::read_to_string(&log).unwrap_or_default().is_empty() {
            assert!(started.elapsed() < WAIT, "dbus-monitor did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every `Notify` call recorded so far, oldest first.
    pub fn notify_calls(&self) -> Vec<NotifyCall> {
        parse_monitor(
            &std::fs::read_to_string(self.log_path("notify-monitor.log")).unwrap_or_default(),
        )
    }

    fn wait_for_name(&self, name: &str) {
        let started = std::time::Instant::now();
        while !self
            .bus_call("org.freedesktop.DBus.NameHasOwner", name)
            .contains("true")
        {
            assert!(
                started.elapsed() < WAIT,
                "nothing took the bus name {name} within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Calls `method` of the bus daemon itself with one string argument.
    fn bus_call(&self, method: &str, argument: &str) -> String {
        self.gdbus(&[
            "call",
            "--session",
            "--dest",
            "org.freedesktop.DBus",
            "--object-path",
            "/org/freedesktop/DBus",
            "--method",
            method,
            argument,
        ])
    }

    /// Runs `gdbus` with `args` on this desktop's bus; its stdout.
    pub fn gdbus(&self, args: &[&str]) -> String {
        let output = self
            .command(Path::new("gdbus"))
            // gdbus prints in the locale's charset: UTF-8 always, so
            // Chinese labels read as they are on any desktop locale.
            .env("LC_ALL", "C.UTF-8")
            .args(args)
            .output()
            .expect("gdbus runs (apt-get install libglib2.0-bin)");
        assert!(
            output.status.success(),
            "gdbus {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    }

    /// Runs `dunstctl` with `args` on this desktop's bus; its stdout.
    pub fn dunstctl(&self, args: &[&str]) -> String {
        let output = self
            .command(Path::new("dunstctl"))
            .args(args)
            .output()
            .expect("dunstctl runs");
        String::from_utf8_lossy(&output.stdout).to_string()
    }

    /// The bus name of the tray item registered by process `pid`.
    pub fn tray_item_of(&self, pid: i32) -> Option<String> {
        let items = self.gdbus(&[
            "call",
            "--session",
            "--dest",
            "org.kde.StatusNotifierWatcher",
            "--object-path",
            "/StatusNotifierWatcher",
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        ]);
        quoted(&items).into_iter().find_map(|item| {
            // Entries are a bus name, or a bus name followed by a path.
            let name = item.split('/').next()?.to_string();
            let owner = self.bus_call("org.freedesktop.DBus.GetConnectionUnixProcessID", &name);
            owner.contains(&format!("uint32 {pid},")).then_some(name)
        })
    }

    /// A string property of the tray item `item` at `path` (`XAyatanaLabel`,
    /// the title shown next to the icon; `IconName`, the icon's file).
    pub fn tray_property(&self, item: &str, path: &str, name: &str) -> String {
        let answer = self.gdbus(&[
            "call",
            "--session",
            "--dest",
            item,
            "--object-path",
            path,
            "--method",
            "org.freedesktop.DBus.Properties.Get",
            "org.kde.StatusNotifierItem",
            name,
        ]);
        quoted(&answer).into_iter().next().unwrap_or_default()
    }

    /// The tray menu of `item` (at `path`): every entry's numeric id and label.
    pub fn tray_menu(&self, item: &str, path: &str) -> Vec<(i32, String)> {
        menu_entries(&self.dbusmenu(item, path, "GetLayout", &["0", "-1", "[]"]))
    }

    /// Clicks the tray menu entry with `id`.
    pub fn click_tray_entry(&self, item: &str, path: &str, id: i32) {
        self.dbusmenu(
            item,
            path,
            "Event",
            &[&id.to_string(), "clicked", "<int32 0>", "0"],
        );
    }

    /// Calls `com.canonical.dbusmenu.<method>` on the menu of a tray item
    /// (`--` first, so negative numbers are not read as options).
    fn dbusmenu(&self, item: &str, path: &str, method: &str, args: &[&str]) -> String {
        let object = format!("{path}/Menu");
        let method = format!("com.canonical.dbusmenu.{method}");
        let mut call = vec![
            "call",
            "--session",
            "--dest",
            item,
            "--object-path",
            &object,
            "--method",
            &method,
            "--",
        ];
        call.extend_from_slice(args);
        self.gdbus(&call)
    }

    /// Asks the top-level windows of process `pid` to close the way a window
    /// manager's close button does (a `WM_DELETE_WINDOW` message), which
    /// needs no window manager. Returns how many windows were asked.
    pub fn close_windows_of(&self, pid: i32) -> usize {
        const SCRIPT: &str = r#"
import sys
from Xlib import X, display, protocol
d = display.Display()
root = d.screen().root
pid_atom = d.intern_atom("_NET_WM_PID")
protocols = d.intern_atom("WM_PROTOCOLS")
delete = d.intern_atom("WM_DELETE_WINDOW")
asked = 0
for window in root.query_tree().children:
    prop = window.get_full_property(pid_atom, X.AnyPropertyType)
    if prop is None or int(prop.value[0]) != int(sys.argv[1]):
        continue
    if window.get_attributes().map_state != X.IsViewable:
        continue
    event = protocol.event.ClientMessage(window=window, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
    window.send_event(event)
    asked += 1
d.flush()
print(asked)
"#;
        let output = self
            // Debian's python3, which python3-xlib installs into.
            .command(Path::new("/usr/bin/python3"))
            .args(["-c", SCRIPT, &pid.to_string()])
            .output()
            .expect("python3 runs (apt-get install python3-xlib)");
        assert!(
            output.status.success(),
            "asking the window to close failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// Opens dunst's context menu, whose "menu" (dunst's `dmenu` setting,
    /// here a grep) picks the "Mark read" action: the server then invokes it
    /// as a person's click would.
    pub fn dunst_choose_mark_read(&self) {
        let _ = self.dunstctl(&["context"]);
    }
}

/// Every single-quoted string in gdbus output.
fn quoted(text: &str) -> Vec<String> {
    text.split('\'')
        .enumerate()
        .filter(|(index, _)| index % 2 == 1)
        .map(|(_, part)| part.to_string())
        .collect()
}

/// `(id, {… 'label': <'Text'> …}` pairs of a dbusmenu layout.
fn menu_entries(layout: &str) -> Vec<(i32, String)> {
    let mut entries = Vec::new();
    let mut rest = layout;
    while let Some(start) = rest.find("'label': <'") {
        let before = &rest[..start];
        let id = before
            .rfind('(')
            .and_then(|open| before[open + 1..].split(',').next())
            .and_then(|number| number.trim().parse().ok());
        let after = &rest[start + "'label': <'".len()..];
        let end = after.find("'>").unwrap_or(after.len());
        if let Some(id) = id {
            entries.push((id, after[..end].to_string()));
        }
        rest = &after[end..];
    }
    entries
}

/// The `string "…"` value of a dbus-monitor line.
fn string_value(line: &str) -> Option<String> {
    let start = line.find("string \"")? + "string \"".len();
    let end = line.rfind('"')?;
    (end >= start).then(|| line[start..end].to_string())
}

fn parse_monitor(log: &str) -> Vec<NotifyCall> {
    // Serials are per connection: a reply is matched by (connection, serial).
    let mut calls: Vec<((String, u64), NotifyCall)> = Vec::new();
    let mut replies: Vec<((String, u64), u32)> = Vec::new();
    let blocks = log.split("\nmethod ").skip(1);
    for block in blocks {
        let mut lines = block.lines();
        let header = lines.next().unwrap_or_default();
        let field = |name: &str| -> Option<String> {
            header
                .split(' ')
                .find_map(|part| part.strip_prefix(&format!("{name}=")))
                .map(str::to_string)
        };
        let body: Vec<&str> = lines.collect();
        if header.starts_with("call") && header.contains("member=Notify") {
            let serial = field("serial").and_then(|s| s.parse().ok()).unwrap_or(0);
            let serial = (field("sender").unwrap_or_default(), serial);
            let at = field("time").and_then(|s| s.parse().ok()).unwrap_or(0.0);
            let strings: Vec<String> = body.iter().filter_map(|line| string_value(line)).collect();
            let urgency = body
                .iter()
                .position(|line| line.contains("string \"urgency\""))
                .and_then(|index| body.get(index + 1))
                .and_then(|line| line.split_whitespace().last())
                .and_then(|value| value.parse().ok());
            // app name, icon, summary, body, then actions (and hint keys).
            let action_count = body
                .iter()
                .skip_while(|line| !line.trim_start().starts_with("array ["))
                .take_while(|line| !line.trim_start().starts_with(']'))
                .filter(|line| line.contains("string \""))
                .count();
            calls.push((
                serial,
                NotifyCall {
                    app_name: strings.first().cloned().unwrap_or_default(),
                    summary: strings.get(2).cloned().unwrap_or_default(),
                    body: strings.get(3).cloned().unwrap_or_default(),
                    actions: strings.iter().skip(4).take(action_count).cloned().collect(),
                    urgency,
                    replaces: body
                        .iter()
                        .find_map(|line| line.trim().strip_prefix("uint32 "))
                        .and_then(|value| value.trim().parse().ok())
                        .unwrap_or(0),
                    id: None,
                    at,
                },
            ));
        } else if header.starts_with("return") {
            let serial = field("reply_serial")
                .and_then(|s| s.parse().ok())
                .map(|serial| (field("destination").unwrap_or_default(), serial));
            let id = body
                .iter()
                .find_map(|line| line.trim().strip_prefix("uint32 "))
                .and_then(|value| value.trim().parse().ok());
            if let (Some(serial), Some(id)) = (serial, id) {
                replies.push((serial, id));
            }
        }
    }
    calls
        .into_iter()
        .map(|(serial, mut call)| {
            call.id = replies
                .iter()
                .find(|(reply_serial, _)| *reply_serial == serial)
                .map(|(_, id)| *id);
            call
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_layouts_are_read() {
        let layout = "((uint32 3, (0, {'children-display': <'submenu'>}, [<(1, {'label': <'Open Herald'>, 'enabled': <true>}, @av [])>, <(2, {'type': <'separator'>}, @av [])>, <(3, {'label': <'Pause notifications'>, 'children-display': <'submenu'>}, [<(4, {'label': <'For 1 hour'>}, @av [])>])>])),)";
        assert_eq!(
            menu_entries(layout),
            [
                (1, "Open Herald".to_string()),
                (3, "Pause notifications".to_string()),
                (4, "For 1 hour".to_string())
            ]
        );
    }
}
