//! Secrets: a token and a password planted in sources must reach their
//! servers and nothing else: not the logs (at trace level), not `source
//! list`, `stats`, `check` or an export, not an error message, and, with a
//! keyring on the session bus, not the database file either. Files are
//! private: the database 0600 in a 0700 directory. Every listener Herald
//! opens is on loopback.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald_tests::ntfy::{NtfyAuth, NtfyServer};
use herald_tests::{Herald, WAIT};
use serde_json::json;

const TOKEN: &str = "tk_PLANTED7mVBoFD37zQVN29RhuMz";
const PASSWORD: &str = "pw-PLANTED-correct-horse";
const WRONG_PASSWORD: &str = "pw-PLANTED-wrong-staple";

/// The planted secrets, as typed and as they travel in a Basic header.
fn secrets() -> Vec<String> {
    use base64::Engine;
    let basic = |password: &str| {
        base64::engine::general_purpose::STANDARD.encode(format!("phil:{password}"))
    };
    vec![
        TOKEN.to_string(),
        PASSWORD.to_string(),
        WRONG_PASSWORD.to_string(),
        basic(PASSWORD),
        basic(WRONG_PASSWORD),
    ]
}

/// Fails if any planted secret shows up in `text`.
fn assert_clean(what: &str, text: &str) {
    for secret in secrets() {
        assert!(!text.contains(&secret), "{what} shows a secret:\n{text}");
    }
}

fn assert_file_clean(path: &Path) {
    if let Ok(bytes) = std::fs::read(path) {
        for secret in secrets() {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{} holds a secret",
                path.display()
            );
        }
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Sources with a token, a password and a wrong password; returns their ids.
async fn planted(
    herald: &Herald,
    bearer: &NtfyServer,
    basic: &NtfyServer,
    wrong: &NtfyServer,
) -> [i64; 3] {
    [
        herald
            .add_source("Bearer", "ntfy", &bearer.topic_url(), &["--token", TOKEN])
            .await,
        herald
            .add_source(
                "Basic",
                "ntfy",
                &basic.topic_url(),
                &["--username", "phil", "--password", PASSWORD],
            )
            .await,
        herald
            .add_source(
                "Wrong",
                "ntfy",
                &wrong.topic_url(),
                &["--username", "phil", "--password", WRONG_PASSWORD],
            )
            .await,
    ]
}

async fn servers() -> (NtfyServer, NtfyServer, NtfyServer) {
    let basic_auth = NtfyAuth::Basic {
        username: "phil".into(),
        password: PASSWORD.into(),
    };
    let bearer = NtfyServer::start_with_auth("bearer", NtfyAuth::Bearer(TOKEN.into())).await;
    let basic = NtfyServer::start_with_auth("basic", basic_auth.clone()).await;
    let wrong = NtfyServer::start_with_auth("wrong", basic_auth).await;
    for server in [&bearer, &basic, &wrong] {
        server.publish(json!({ "message": "behind a login" }));
    }
    (bearer, basic, wrong)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_reach_their_servers_and_nothing_else() {
    let (bearer, basic, wrong) = servers().await;
    // Everything Herald and its libraries log, at the most verbose level.
    let herald = Herald::new().env("HERALD_LOG", "trace");
    let [bearer_id, basic_id, wrong_id] = planted(&herald, &bearer, &basic, &wrong).await;

    // The publish API is the listener Herald opens; its token is a secret too.
    let port = herald_tests::free_port().to_string();
    let enabled = herald.ok(&["publish-api", "on", "--port", &port]).await;
    let publish_token = enabled
        .split_whitespace()
        .find(|word| word.starts_with("hp_"))
        .unwrap_or_else(|| panic!("the new token is shown once:\n{enabled}"))
        .to_string();
    let mut running = herald.start(&[]);
    herald.wait_stored(bearer_id, 1, WAIT).await;
    herald.wait_stored(basic_id, 1, WAIT).await;
    herald.wait_state(wrong_id, "auth_failed").await;
    running.assert_running();
    let pid = running.pid();
    assert_listeners_on_loopback(pid);

    let mut outputs = vec![
        ("source list", herald.ok(&["source", "list"]).await),
        (
            "source list --json",
            herald.ok(&["source", "list", "--json"]).await,
        ),
        ("stats --json", herald.ok(&["stats", "--json"]).await),
        ("check --json", herald.ok(&["check", "--json"]).await),
        (
            "messages list --json",
            herald.ok(&["messages", "list", "--json"]).await,
        ),
    ];
    // A message through the publish API, so its request is logged too.
    herald.ok(&["publish", "secrets", "through the api"]).await;
    let test = herald
        .exec(&["source", "test", &wrong_id.to_string()])
        .await;
    outputs.push((
        "source test (refused)",
        format!("{}{}", test.stdout, test.stderr),
    ));
    let export = herald.scratch("export.jsonl");
    herald.ok(&["export", &export.to_string_lossy()]).await;
    outputs.push((
        "export",
        std::fs::read_to_string(&export).expect("the export is written"),
    ));
    let (status, stdout, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.lines().count() > 20,
        "trace logging is on:\n{stderr}"
    );
    outputs.push(("run's stdout", stdout.join("\n")));
    outputs.push(("run's log (trace)", stderr));
    for (what, text) in &outputs {
        assert_clean(what, text);
        assert!(
            !text.contains(&publish_token),
            "{what} shows the publish token:\n{text}"
        );
    }

    // The database is private, and so is its directory.
    assert_eq!(mode(herald.data_dir()), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", herald.database().display());
        if Path::new(&path).exists() {
            assert_eq!(mode(Path::new(&path)), 0o600, "{path}");
        }
    }
}

/// Every TCP socket the process listens on is bound to 127.0.0.1 or ::1.
fn assert_listeners_on_loopback(pid: u32) {
    let output = Command::new("ss")
        .args(["-Hltnp"])
        .output()
        .expect("ss (iproute2) runs");
    let listing = String::from_utf8_lossy(&output.stdout);
    let ours: Vec<&str> = listing
        .lines()
        .filter(|line| line.contains(&format!("pid={pid},")))
        .collect();
    assert!(!ours.is_empty(), "the publish api listens:\n{listing}");
    for line in ours {
        let local = line.split_whitespace().nth(3).unwrap_or_default();
        assert!(
            local.starts_with("127.0.0.1:") || local.starts_with("[::1]:"),
            "a listener off loopback: {line}"
        );
    }
}

/// A private session bus with gnome-keyring's Secret Service, unlocked.
struct Keyring {
    home: tempfile::TempDir,
    address: String,
    bus: Child,
    daemon: Child,
}

impl Keyring {
    fn start() -> Option<Keyring> {
        let found = |program: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .output()
                .is_ok_and(|output| output.status.success())
        };
        if !found("gnome-keyring-daemon") || !found("dbus-daemon") {
            eprintln!("notice: skipped: gnome-keyring-daemon is not installed (.ci/install installs it); the keyring test did not run");
            return None;
        }
        let home = tempfile::Builder::new()
            .prefix("herald-keyring-")
            .tempdir()
            .expect("a temporary directory");
        let runtime = home.path().join("runtime");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
            .expect("private runtime dir");
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("piped"))
            .read_line(&mut address)
            .expect("dbus-daemon prints its address");
        let address = address.trim().to_string();
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon starts");
        // --unlock reads the login keyring's password from stdin, to EOF.
        daemon
            .stdin
            .take()
            .expect("piped")
            .write_all(b"keyring-test-password")
            .expect("the password is written");
        let keyring = Keyring {
            home,
            address,
            bus,
            daemon,
        };
        let deadline = Instant::now() + WAIT;
        while !keyring.serving() {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring never took org.freedesktop.secrets"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(keyring)
    }

    fn serving(&self) -> bool {
        Command::new("gdbus")
            .args([
                "call",
                "--address",
                &self.address,
                "--dest",
                "org.freedesktop.DBus",
                "--object-path",
                "/org/freedesktop/DBus",
                "--method",
                "org.freedesktop.DBus.NameHasOwner",
                "org.freedesktop.secrets",
            ])
            .output()
            .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("true"))
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
        let _ = &self.home;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_keyring_the_database_file_holds_no_secret() {
    let Some(keyring) = Keyring::start() else {
        return;
    };
    let (bearer, basic, wrong) = servers().await;
    let herald = Herald::new()
        .env("HERALD_KEYRING", "on")
        .env("DBUS_SESSION_BUS_ADDRESS", keyring.address.clone());
    let [bearer_id, basic_id, wrong_id] = planted(&herald, &bearer, &basic, &wrong).await;
    for source in herald.sources().await {
        assert_eq!(source["secret_store"], "keyring", "{source}");
    }

    // Read back from the keyring: the servers see the right credentials.
    let running = herald.start(&[]);
    herald.wait_stored(bearer_id, 1, WAIT).await;
    herald.wait_stored(basic_id, 1, WAIT).await;
    herald.wait_state(wrong_id, "auth_failed").await;
    let (status, _, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
    assert_clean("run's log", &stderr);
    for suffix in ["", "-wal", "-shm"] {
        assert_file_clean(Path::new(&format!(
            "{}{suffix}",
            herald.database().display()
        )));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_go_over_plain_ws_to_another_machine_only_when_confirmed() {
    let herald = Herald::new();
    // Nothing connects: the address is only validated (example.com never resolves here).
    let add = |name: &'static str, url: &'static str, more: &'static [&'static str]| {
        let mut args = vec!["source", "add", "--name", name, "--protocol", "ntfy"];
        args.extend(["--url", url, "--token", TOKEN]);
        args.extend(more);
        args
    };
    let plain = "http://ntfy.example.com/alerts";
    let refused = herald.exec(&add("Plain", plain, &[])).await;
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("--allow-plain-credentials")
            && refused.stderr.contains("unencrypted"),
        "{}",
        refused.stderr
    );
    assert_clean("the refusal", &refused.stderr);
    let confirmed: &[&str] = &["--allow-plain-credentials", "--disabled"];
    herald.ok(&add("Plain", plain, confirmed)).await;
    // TLS, or this machine, needs no confirmation.
    herald
        .ok(&add(
            "Tls",
            "https://ntfy.example.com/alerts",
            &["--disabled"],
        ))
        .await;
    herald
        .ok(&add("Here", "http://127.0.0.1:9/alerts", &["--disabled"]))
        .await;
}
