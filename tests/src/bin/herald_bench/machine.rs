//! What the benchmark ran on: CPU, memory, kernel, date, commit, and which
//! filesystem each directory lives on (read from /proc/self/mounts).

use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub date_utc: String,
    pub commit: String,
    pub sqlite: String,
    pub profile: &'static str,
}

pub fn describe() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let memory_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("MemTotal:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        cpu_model,
        memory_gib: memory_kib / (1024.0 * 1024.0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|text| text.trim().to_string())
            .unwrap_or_else(|_| "unknown".into()),
        date_utc: utc_now(),
        commit: commit(),
        sqlite: rusqlite::version().to_string(),
        profile: if cfg!(debug_assertions) {
            "debug (numbers are meaningless; use --release)"
        } else {
            "release"
        },
    }
}

fn commit() -> String {
    let run = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    match run(&["rev-parse", "--short", "HEAD"]) {
        Some(hash) => {
            let dirty = run(&["status", "--porcelain", "--untracked-files=normal"])
                .is_some_and(|status| !status.is_empty());
            if dirty {
                format!("{hash} (with uncommitted changes)")
            } else {
                hash
            }
        }
        None => "unknown (not a git checkout)".into(),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` without a date library.
fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The filesystem a directory is on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Filesystem {
    pub path: String,
    pub fs_type: String,
    pub device: String,
    pub mount_point: String,
}

impl Filesystem {
    pub fn is_memory(&self) -> bool {
        matches!(self.fs_type.as_str(), "tmpfs" | "ramfs")
    }
}

/// Finds the mount holding `dir` (which must exist): the longest mount point
/// that is a prefix of its canonical path.
pub fn filesystem(dir: &Path) -> Filesystem {
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut best: Option<(usize, Filesystem)> = None;
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [device, mount_point, fs_type, ..] = fields[..] else {
            continue;
        };
        let mount_point = unescape(mount_point);
        if canonical.starts_with(&mount_point) {
            let length = mount_point.len();
            if best.as_ref().is_none_or(|(longest, _)| length >= *longest) {
                best = Some((
                    length,
                    Filesystem {
                        path: canonical.display().to_string(),
                        fs_type: fs_type.to_string(),
                        device: unescape(device),
                        mount_point,
                    },
                ));
            }
        }
    }
    best.map(|(_, fs)| fs).unwrap_or_else(|| Filesystem {
        path: canonical.display().to_string(),
        fs_type: "unknown".into(),
        device: "unknown".into(),
        mount_point: "?".into(),
    })
}

/// /proc/self/mounts writes space, tab, newline and backslash as octal escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\' && index + 4 <= bytes.len() {
            let digits = std::str::from_utf8(&bytes[index + 1..index + 4]).unwrap_or("");
            if let Ok(value) = u8::from_str_radix(digits, 8) {
                out.push(value);
                index += 4;
                continue;
            }
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CPU time counters, to tell how much of the machine other processes used
/// while a figure was measured (a busy neighbour skews every number).
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    busy: u64,
    total: u64,
    own: u64,
}

impl CpuSample {
    /// Reads /proc/stat and /proc/self/stat (both in clock ticks).
    pub fn now() -> CpuSample {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest is inside user).
        let get = |index: usize| fields.get(index).copied().unwrap_or(0);
        let busy = get(0) + get(1) + get(2) + get(5) + get(6) + get(7);
        let total = busy + get(3) + get(4);
        let own_stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let own = own_stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                // After the command: state is field 3, utime 14, stime 15.
                let tick = |index: usize| {
                    fields
                        .get(index)
                        .and_then(|value| value.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                tick(11) + tick(12)
            })
            .unwrap_or(0);
        CpuSample { busy, total, own }
    }

    /// Share of all CPUs used by other processes since `self`.
    pub fn others_since(&self) -> f64 {
        let now = CpuSample::now();
        let total = now.total.saturating_sub(self.total);
        if total == 0 {
            return 0.0;
        }
        let busy = now.busy.saturating_sub(self.busy);
        let own = now.own.saturating_sub(self.own);
        busy.saturating_sub(own) as f64 / total as f64
    }
}

/// CPU seconds used so far by this process's threads named `name`, and by
/// the whole process (from /proc/self/task/*/stat; assumes USER_HZ = 100).
pub fn thread_cpu_seconds(name: &str) -> (f64, f64) {
    let mut named = 0u64;
    let mut all = 0u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (f64::NAN, f64::NAN);
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, comm)| comm);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let tick = |index: usize| {
            fields
                .get(index)
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let ticks = tick(11) + tick(12);
        all += ticks;
        if comm == name {
            named += ticks;
        }
    }
    (named as f64 / 100.0, all as f64 / 100.0)
}

/// Bytes read and written through system calls (`rchar`, `wchar` of
/// /proc/<task>/io) by this process's threads named `name`: for the writer
/// thread, that is what SQLite read and wrote, WAL and checkpoints included.
pub fn thread_io(name: &str) -> (u64, u64) {
    let mut totals = (0, 0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return totals;
    };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let (read, written) = io_of(&task.path().join("io"));
        totals.0 += read;
        totals.1 += written;
    }
    totals
}

/// `rchar` and `wchar` of the calling thread.
pub fn current_thread_io() -> (u64, u64) {
    io_of(Path::new("/proc/thread-self/io"))
}

fn io_of(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|value| value.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("rchar:"), field("wchar:"))
}
