//! A private, headless desktop for driving Herald's real window: an Xvfb
//! display, a session bus of its own (dbus-daemon, with no service
//! activation, so nothing else starts on it), and tauri-driver (in
//! front of WebKitWebDriver) on free loopback ports. The window's app is the
//! built `herald` binary with a data directory the test chooses.
//!
//! Everything the desktop starts sees a home directory of its own (so the
//! window-state file and the webview's local storage never touch the real
//! ones), English as its language, X11 as GTK's backend, no accessibility
//! bus, `WEBKIT_DISABLE_DMABUF_RENDERER=1` and `HERALD_KEYRING=off`.
//!
//! Dropping a [`Desktop`] stops what it started: the app with SIGTERM, then
//! tauri-driver with SIGTERM (never SIGKILL: tauri-driver kills
//! WebKitWebDriver only on a signal it can catch, and a SIGKILLed one leaves
//! WebKitWebDriver holding its port), then the bus and the X server.
//!
//! A missing tool is a test failure that names it, not a skip: CI installs
//! them with `.ci/install`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;

use crate::herald::herald_binary;
use crate::webdriver::{Client, Session};
use crate::WAIT;

/// The X screen: wider than the window (1200×780), so nothing is clipped.
const SCREEN: &str = "1280x800x24";

/// How long a stopped process may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The programs the desktop needs, found on this machine.
struct Tools {
    xvfb: PathBuf,
    dbus_daemon: PathBuf,
    tauri_driver: PathBuf,
    webkit_webdriver: PathBuf,
}

impl Tools {
    /// Finds every tool, or fails naming each one that is missing and how
    /// to install it.
    fn find() -> Tools {
        let cargo_bin = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
            .map(|home| home.join("bin"));
        let wanted = [
            ("Xvfb", "apt-get install xvfb"),
            ("dbus-daemon", "apt-get install dbus"),
            (
                "tauri-driver",
                "cargo install tauri-driver --locked --version ^2",
            ),
            ("WebKitWebDriver", "apt-get install webkit2gtk-driver"),
        ];
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for (name, install) in wanted {
            let extra = if name == "tauri-driver" {
                cargo_bin.as_deref()
            } else {
                None
            };
            match find_program(name, extra) {
                Some(path) => {
                    found.insert(name, path);
                }
                None => missing.push(format!("{name} (install: {install})")),
            }
        }
        assert!(
            missing.is_empty(),
            "the window tests need programs that are missing: {}; \
             `bash .ci/install` installs all of them",
            missing.join(", ")
        );
        let mut take = |name: &str| found.remove(name).expect("every tool was found");
        Tools {
            xvfb: take("Xvfb"),
            dbus_daemon: take("dbus-daemon"),
            tauri_driver: take("tauri-driver"),
            webkit_webdriver: take("WebKitWebDriver"),
        }
    }
}

/// `name` in `PATH` (or in `extra`), if it is an executable file there.
fn find_program(name: &str, extra: Option<&Path>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.map(Path::to_path_buf))
        .map(|directory| directory.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// An Xvfb display, a session bus and tauri-driver, stopped on drop.
pub struct Desktop {
    /// Home, XDG directories and logs; removed on drop.
    home: tempfile::TempDir,
    display: String,
    bus_address: String,
    /// Declared in the order they are stopped.
    driver: Option<Child>,
    /// Helpers started on the bus (a notification server, a tray host).
    extras: Vec<(&'static str, Child)>,
    bus: Option<Child>,
    xvfb: Option<Child>,
    client: Client,
    driver_log: PathBuf,
    herald: PathBuf,
    screenshots: PathBuf,
    /// `LANG` of everything started here; `LANGUAGE` follows it.
    locale: &'static str,
}

impl Desktop {
    /// Starts the display, the bus and the driver; fails the test (naming
    /// it) when a tool is missing or does not come up.
    pub async fn start() -> Desktop {
        Desktop::start_in("C.UTF-8").await
    }

    /// `start` on a desktop whose locale is `locale` (`zh_CN.UTF-8`): the
    /// app, the driver and the helpers all see it as `LANG`.
    pub async fn start_in(locale: &'static str) -> Desktop {
        match tokio::task::spawn_blocking(move || Desktop::start_blocking(locale)).await {
            Ok(desktop) => desktop,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("starting the desktop was cancelled: {error}"),
        }
    }

    fn start_blocking(locale: &'static str) -> Desktop {
        let tools = Tools::find();
        let herald = herald_binary();
        let home = tempfile::Builder::new()
            .prefix("herald-desktop-")
            .tempdir()
            .expect("a temporary directory");
        for directory in ["config", "data", "cache", "runtime"] {
            std::fs::create_dir_all(home.path().join(directory))
                .expect("the home directory is writable");
        }
        {
            use std::os::unix::fs::PermissionsExt;
            // The XDG spec requires the runtime directory to be private.
            std::fs::set_permissions(
                home.path().join("runtime"),
                std::fs::Permissions::from_mode(0o700),
            )
            .expect("the runtime directory's mode can be set");
        }
        let mut desktop = Desktop {
            display: String::new(),
            bus_address: String::new(),
            driver: None,
            extras: Vec::new(),
            bus: None,
            xvfb: None,
            client: Client::new(0),
            driver_log: home.path().join("driver.log"),
            herald,
            screenshots: screenshots_dir(),
            home,
            locale,
        };
        desktop.start_xvfb(&tools);
        desktop.start_bus(&tools);
        desktop.start_driver(&tools);
        desktop
    }

    /// The environment of everything started here (and of the app, which
    /// inherits it through tauri-driver and WebKitWebDriver).
    fn environment(&self, command: &mut Command) {
        let home = self.home.path();
        command
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_RUNTIME_DIR", home.join("runtime"))
            .env("LANG", self.locale)
            .env(
                "LANGUAGE",
                if self.locale.starts_with("zh") {
                    "zh_CN"
                } else {
                    "en_US"
                },
            )
            .env("GDK_BACKEND", "x11")
            // GTK's accessibility bridge would look for an AT-SPI bus;
            // nothing here reads one.
            .env("NO_AT_BRIDGE", "1")
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("HERALD_KEYRING", "off")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("HERALD_DATA_DIR")
            .env_remove("HERALD_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        if !self.display.is_empty() {
            command.env("DISPLAY", &self.display);
        }
        if !self.bus_address.is_empty() {
            command.env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address);
        }
        // To see what herald logs, in the driver log a failure prints:
        // HERALD_E2E_LOG=debug cargo test -p herald-tests --test window
        if let Ok(filter) = std::env::var("HERALD_E2E_LOG") {
            command.env("HERALD_LOG", filter);
        }
    }

    fn start_xvfb(&mut self, tools: &Tools) {
        let mut command = Command::new(&tools.xvfb);
        // `-displayfd 1`: Xvfb picks a free display itself and prints its
        // number once it accepts connections, so there is no race for a
        // display number with other X servers on the machine.
        command
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                SCREEN,
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(self.log_file("xvfb.log"));
        self.environment(&mut command);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", tools.xvfb.display()));
        // Kept before waiting, so a failure below still stops it on drop.
        let xvfb = self.xvfb.insert(child);
        let first_line = first_line_of("Xvfb", xvfb, WAIT);
        let number = first_line.trim().parse::<u32>().unwrap_or_else(|_| {
            panic!(
                "Xvfb printed {first_line:?} instead of its display number; its log:\n{}",
                self.log("xvfb.log")
            )
        });
        self.display = format!(":{number}");
    }

    fn start_bus(&mut self, tools: &Tools) {
        // A session bus without service activation: nothing on it starts
        // behind the test's back (an accessibility bus, a notification
        // daemon, a keyring), and what asks for a service that is not
        // there gets an error at once.
        let config = self.home.path().join("bus.conf");
        let socket = self.home.path().join("bus.socket");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("the bus configuration can be written");
        let mut command = Command::new(&tools.dbus_daemon);
        command
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(self.log_file("dbus.log"));
        self.environment(&mut command);
        let child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot start {}: {error}", tools.dbus_daemon.display())
        });
        let bus = self.bus.insert(child);
        let address = first_line_of("dbus-daemon", bus, WAIT).trim().to_string();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?} instead of its address; its log:\n{}",
            self.log("dbus.log")
        );
        self.bus_address = address;
    }

    fn start_driver(&mut self, tools: &Tools) {
        let (port, native_port) = two_free_ports();
        let log = File::create(&self.driver_log).expect("the driver log can be created");
        let mut command = Command::new(&tools.tauri_driver);
        command
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(&tools.webkit_webdriver)
            .stdout(log.try_clone().expect("the log file handle can be cloned"))
            .stderr(log);
        self.environment(&mut command);
        let child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot start {}: {error}", tools.tauri_driver.display())
        });
        self.driver = Some(child);
        self.client = Client::new(port);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the readiness check");
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .driver
                .as_mut()
                .and_then(|child| child.try_wait().ok()?)
            {
                panic!(
                    "tauri-driver exited at once with {status}; its log:\n{}",
                    self.driver_log_tail(40)
                );
            }
            if runtime.block_on(self.client.ready()).unwrap_or(false) {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "tauri-driver on port {port} was not ready within {WAIT:?}; its log:\n{}",
                self.driver_log_tail(40)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_file(&self, name: &str) -> File {
        File::create(self.home.path().join(name))
            .unwrap_or_else(|error| panic!("cannot create the log {name}: {error}"))
    }

    /// Where a log named `name` of this desktop is written.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// Starts `command` and keeps it running until the desktop stops.
    pub fn keep(&mut self, name: &'static str, mut command: Command) {
        let child = command.spawn().unwrap_or_else(|error| {
            panic!("cannot start {name}: {error}; `bash .ci/install` installs it")
        });
        self.extras.push((name, child));
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.home.path().join(name)).unwrap_or_default()
    }

    /// The last `lines` lines of what tauri-driver, WebKitWebDriver and the
    /// app printed.
    pub fn driver_log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.driver_log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The home directory everything on this desktop sees (`$HOME`), removed
    /// with the desktop: what the app writes under it (start-at-login
    /// entries, the window state) can be checked there.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// A command for `program` in this desktop's environment (display,
    /// session bus, temporary home), for processes started without the
    /// driver: a second instance, or a launch timed from its own spawn.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        self.environment(&mut command);
        command
    }

    /// The X display, e.g. `:3`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Where screenshots go: `$HERALD_SCREENSHOTS`, or
    /// `<temp>/herald-window-screenshots`. Kept after the test, to look at.
    pub fn screenshot_path(&self, name: &str) -> PathBuf {
        self.screenshots.join(name)
    }

    /// Opens Herald's window on `data_dir` and waits until its UI is up.
    pub async fn launch(&self, data_dir: &Path) -> Session {
        let running = self.app_pids();
        assert!(
            running.is_empty(),
            "herald is still running (pids {running:?}); quit the previous session first"
        );
        let capabilities = json!({
            "browserName": "wry",
            "tauri:options": {
                "application": self.herald,
                "args": ["--data-dir", data_dir],
            },
        });
        let session = self
            .client
            .new_session(capabilities)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "the window did not open: {error}\nthe driver's log:\n{}",
                    self.driver_log_tail(40)
                )
            });
        // The UI is up once the app shell is mounted and done loading sources.
        session
            .wait_script(
                "the ui to mount",
                WAIT,
                "return document.querySelector('.app .main') && !document.querySelector('.app .main > .loading')",
                &[],
            )
            .await;
        session
    }

    /// Ends the session (the window closes, and with it the app) and waits
    /// until the app has exited; an app that lingers gets SIGTERM.
    pub async fn quit(&self, session: Session) {
        if let Err(error) = session.delete().await {
            eprintln!("ending the webdriver session failed: {error}");
        }
        let exited = crate::try_wait_for(EXIT_TIMEOUT, || async {
            let running = self.app_pids();
            if running.is_empty() {
                Ok(())
            } else {
                Err(format!("{running:?}"))
            }
        })
        .await;
        if let Err(running) = exited {
            eprintln!(
                "herald (pids {running}) still ran {EXIT_TIMEOUT:?} after its window closed; \
                 sending SIGTERM"
            );
            self.terminate_app();
        }
    }

    /// Pids of the running `herald` processes this desktop's driver started.
    pub fn app_pids(&self) -> Vec<i32> {
        let Some(driver) = self.driver.as_ref() else {
            return Vec::new();
        };
        let table = process_table();
        descendants(&table, i32::try_from(driver.id()).expect("pids fit in i32"))
            .into_iter()
            .filter(|pid| {
                table
                    .get(pid)
                    .is_some_and(|process| process.alive && process.name == "herald")
            })
            .collect()
    }

    /// SIGTERM to every app process, waiting (bounded) for them to exit.
    fn terminate_app(&self) {
        let pids = self.app_pids();
        for &pid in &pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let started = Instant::now();
        while !self.app_pids().is_empty() && started.elapsed() < EXIT_TIMEOUT {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "what tauri-driver, WebKitWebDriver and herald printed (last 60 lines):\n{}",
                self.driver_log_tail(60)
            );
        }
        self.terminate_app();
        for (name, mut child) in self.extras.drain(..).rev() {
            stop(name, &mut child);
        }
        for (name, child) in [
            ("tauri-driver", self.driver.take()),
            ("dbus-daemon", self.bus.take()),
            ("Xvfb", self.xvfb.take()),
        ] {
            if let Some(mut child) = child {
                stop(name, &mut child);
            }
        }
    }
}

/// SIGTERM, then a bounded wait for the exit (reaping the child).
fn stop(name: &str, child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let started = Instant::now();
    while started.elapsed() < EXIT_TIMEOUT {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "{name} (pid {}) did not exit within {EXIT_TIMEOUT:?} of SIGTERM",
        child.id()
    );
}

/// The first line a child prints on stdout, waiting at most `timeout`. The
/// rest of its output is drained on a thread, so it never blocks (or dies
/// of SIGPIPE) writing to a full or closed pipe.
fn first_line_of(name: &str, child: &mut Child, timeout: Duration) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = sender.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    match receiver.recv_timeout(timeout) {
        Ok(line) => line,
        Err(_) => panic!("{name} printed nothing within {timeout:?}"),
    }
}

/// Two distinct free loopback ports. Another process could take one
/// between this check and tauri-driver binding it; tauri-driver would then
/// exit, which [`Desktop::start`] reports.
fn two_free_ports() -> (u16, u16) {
    let first = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let second = std::net::TcpListener::bind("127.0.0.1:0").expect("a second free port");
    let port = |listener: &std::net::TcpListener| {
        listener
            .local_addr()
            .expect("a bound listener has an address")
            .port()
    };
    (port(&first), port(&second))
}

fn screenshots_dir() -> PathBuf {
    std::env::var_os("HERALD_SCREENSHOTS")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("herald-window-screenshots"))
}

/// One line of `/proc/<pid>/stat`, the parts used here.
struct ProcessInfo {
    parent: i32,
    name: String,
    /// Neither a zombie nor dead.
    alive: bool,
}

/// Every process on the machine, by pid.
fn process_table() -> HashMap<i32, ProcessInfo> {
    let mut table = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return table;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …"; comm may itself hold spaces and parens.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let mut fields = stat[close + 1..].split_whitespace();
        let state = fields.next().unwrap_or("?");
        let parent = fields
            .next()
            .and_then(|parent| parent.parse().ok())
            .unwrap_or(0);
        table.insert(
            pid,
            ProcessInfo {
                parent,
                name,
                alive: state != "Z" && state != "X",
            },
        );
    }
    table
}

/// `root` and every live descendant: a process tree, e.g. the app and its
/// WebKit processes.
pub fn process_tree(root: i32) -> Vec<i32> {
    let table = process_table();
    let mut tree = vec![root];
    tree.extend(
        descendants(&table, root)
            .into_iter()
            .filter(|pid| table.get(pid).is_some_and(|process| process.alive)),
    );
    tree
}

/// Every descendant of `root` (children, their children…).
fn descendants(table: &HashMap<i32, ProcessInfo>, root: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    // Bounded by the table: each pid is visited once.
    while let Some(parent) = frontier.pop() {
        for (&pid, process) in table {
            if process.parent == parent && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}
