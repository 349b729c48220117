//! Storage faults: a damaged database file at start, a full disk, a
//! read-only disk and a database locked by another program. Herald must not
//! crash, must not lose what it already stored, and must say what is wrong.
//!
//! The disk faults need a small filesystem of their own: a tmpfs mounted
//! over the data directory, which needs root (CI runs as root). Elsewhere
//! those tests print a notice and pass without running.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use herald_tests::ntfy::NtfyServer;
use herald_tests::{by_remote_id, wait_for, Herald, WAIT};
use serde_json::json;

/// A tmpfs of `size` mounted at a path until dropped.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(path)
            .status();
        if !matches!(status, Ok(status) if status.success()) {
            eprintln!("notice: skipped: cannot mount a tmpfs here (needs root); the disk-fault tests did not run");
            return None;
        }
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.path)
            .status()
            .expect("mount runs");
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fills the filesystem holding `dir` until writing fails; returns the file.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let block = vec![0x5a; 64 << 10];
    // Bounded: the filesystems here are a few MiB.
    for _ in 0..10_000 {
        if file
            .write_all(&block)
            .and_then(|()| file.sync_all())
            .is_err()
        {
            break;
        }
    }
    // Whatever fits in the last partial block, too.
    for _ in 0..10_000 {
        if file
            .write_all(&[0x5a; 512])
            .and_then(|()| file.sync_all())
            .is_err()
        {
            break;
        }
    }
    path
}

fn orders(count: usize, body_bytes: usize) -> Vec<serde_json::Value> {
    (0..count)
        .map(|index| {
            json!({
                "title": format!("Order {index} paid"),
                "message": format!("{index}: {}", "¥1,299.00 微信支付 ".repeat(body_bytes / 24)),
                "tags": ["orders"],
            })
        })
        .collect()
}

/// An "Orders" ntfy source on a new server, herald running, and `count`
/// orders of about `body_bytes` stored: what each disk test starts from.
async fn ingesting(
    herald: &Herald,
    count: usize,
    body_bytes: usize,
) -> (NtfyServer, i64, herald_tests::Running, HashSet<String>) {
    let server = NtfyServer::start("orders").await;
    let id = herald
        .add_source("Orders", "ntfy", &server.topic_url(), &[])
        .await;
    let running = herald.start(&[]);
    let expected: HashSet<String> = server
        .publish_many(orders(count, body_bytes))
        .into_iter()
        .map(|published| published.id)
        .collect();
    herald.wait_stored(id, count as u64, WAIT).await;
    (server, id, running, expected)
}

async fn assert_exactly(herald: &Herald, source: i64, expected: &HashSet<String>) {
    let messages = herald.messages_of(source).await;
    let stored: HashSet<String> = by_remote_id(&messages).into_keys().collect();
    assert_eq!(messages.len(), stored.len(), "no message twice");
    assert_eq!(&stored, expected, "every message, nothing else");
    let check = herald.check().await;
    assert_eq!(check["sqlite"], "ok", "{check}");
    assert_eq!(check["search_index"], "ok", "{check}");
}

async fn wait_for_stderr(running: &herald_tests::Running, what: &str, needle: &str) {
    wait_for(what, WAIT, || async {
        let stderr = running.stderr();
        if stderr.contains(needle) {
            Ok(())
        } else {
            Err(stderr)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_is_set_aside_at_start_and_never_deleted() {
    let herald = Herald::new();
    std::fs::create_dir_all(herald.data_dir()).expect("create the data directory");
    let garbage = b"half of a database copied off a failing disk ".repeat(500);
    std::fs::write(herald.database(), &garbage).expect("write the file");

    // A quick command stops with the reason and what to do, and moves nothing.
    let listed = herald.exec(&["messages", "list"]).await;
    assert!(!listed.status.success());
    assert!(
        listed.stderr.contains("not a database") && listed.stderr.contains("herald run"),
        "{}",
        listed.stderr
    );
    assert_eq!(
        std::fs::read(herald.database()).expect("read the file"),
        garbage
    );

    // The engine sets it aside, says where, and starts a new database
    // (which has no sources yet; `run` waits for some, so it is told to stop).
    let started = herald
        .exec(&["run", "--headless", "--exit-after", "1"])
        .await;
    let stderr = started.stderr;
    assert!(stderr.contains("was damaged"), "{stderr}");
    let kept: Vec<PathBuf> = std::fs::read_dir(herald.data_dir())
        .expect("list the data directory")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        stderr.contains(&kept[0].display().to_string()),
        "the notice names where the file went:\n{stderr}"
    );
    assert_eq!(
        std::fs::read(&kept[0]).expect("read the file"),
        garbage,
        "kept untouched"
    );

    // The new database works.
    let server = NtfyServer::start("after").await;
    let id = herald
        .add_source("After", "ntfy", &server.topic_url(), &[])
        .await;
    let running = herald.start(&[]);
    let published = server.publish(json!({ "title": "fresh start" }));
    herald.wait_stored(id, 1, WAIT).await;
    assert_exactly(&herald, id, &HashSet::from([published.id])).await;
    running.terminate().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_holds_new_messages_until_there_is_room_and_loses_nothing() {
    let herald = Herald::new();
    let Some(_disk) = Tmpfs::mount(herald.data_dir(), "6m") else {
        return;
    };
    let (server, id, running, mut expected) = ingesting(&herald, 100, 1_000).await;

    let filler = fill(herald.data_dir());
    expected.extend(
        server
            .publish_many(orders(400, 4_000))
            .into_iter()
            .map(|published| published.id),
    );
    wait_for_stderr(&running, "herald to meet the full disk", "could not commit").await;
    let stderr = running.stderr();
    assert!(
        stderr.contains("full"),
        "the log names the cause:\n{stderr}"
    );

    // Room again, within the writer's patience: everything arrives once.
    std::fs::remove_file(filler).expect("remove the filler");
    herald.wait_stored(id, 500, Duration::from_secs(60)).await;
    let (status, _, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
    assert_exactly(&herald, id, &expected).await;
    println!(
        "full disk: 100 stored before, 400 received while full, {} after room came back",
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_disk_stops_herald_with_the_reason_and_keeps_the_inbox() {
    let herald = Herald::new();
    let Some(disk) = Tmpfs::mount(herald.data_dir(), "8m") else {
        return;
    };
    let (_server, id, running, expected) = ingesting(&herald, 50, 500).await;
    running.terminate().await;
    let before = std::fs::read(herald.database()).expect("read the file");

    disk.remount("ro");
    let refused = herald.exec(&["run", "--headless"]).await;
    assert!(!refused.status.success(), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Read-only file system") || refused.stderr.contains("readonly"),
        "the reason, in words:\n{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read(herald.database()).expect("read the file"),
        before,
        "nothing touched"
    );

    disk.remount("rw");
    assert_exactly(&herald, id, &expected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_program_delays_saving_but_loses_nothing() {
    let herald = Herald::new();
    let (server, id, running, mut expected) = ingesting(&herald, 20, 200).await;

    // Another program takes the write lock for longer than SQLite's busy
    // timeout (10 s), so the writer's own retry has to carry the batch.
    let database = herald.database();
    let mut locker = tokio::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, time\n\
             db = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             db.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep(14)\n\
             db.execute('COMMIT')\n",
        )
        .arg(&database)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs");
    {
        use tokio::io::AsyncBufReadExt;
        let stdout = locker.stdout.take().expect("piped");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let first = tokio::time::timeout(WAIT, lines.next_line()).await;
        assert!(
            matches!(first, Ok(Ok(Some(ref line))) if line == "locked"),
            "{first:?}"
        );
    }
    expected.extend(
        server
            .publish_many(orders(200, 200))
            .into_iter()
            .map(|published| published.id),
    );
    wait_for_stderr(&running, "the lock to be noticed", "could not commit").await;
    let status = tokio::time::timeout(Duration::from_secs(30), locker.wait())
        .await
        .expect("the locker ends")
        .expect("python3 ran");
    assert!(status.success());
    herald.wait_stored(id, 220, Duration::from_secs(60)).await;
    let (status, _, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
    assert_exactly(&herald, id, &expected).await;
}
