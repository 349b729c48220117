//! herald-bench: prints ingest and search figures for Herald's engine.
//! See the usage text in [`USAGE`].

/// Returns an error built like `format!`.
macro_rules! bail {
    ($($message:tt)*) => {
        return Err(format!($($message)*).into())
    };
}

/// Returns an error unless the condition holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)*) => {
        if !$condition {
            bail!($($message)*);
        }
    };
}

pub mod broker;
pub mod callgrind;
pub mod corpus;
pub mod error;
pub mod idle;
pub mod ingest;
pub mod machine;
pub mod notify;
pub mod peers;
pub mod raw;
pub mod search;
pub mod stats;
pub mod window;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use error::{Context, Result};
use herald_core::store::BatchLimits;
use serde_json::json;

use ingest::EngineRun;
use machine::Filesystem;
use peers::PeerRun;
use raw::RawRun;
use stats::median;

pub const USAGE: &str = "\
usage: herald-bench [ingest|search|window|notify|broker|all] [options]

  ingest                 (a) raw SQLite vs (b) Herald's engine, on tmpfs and on disk
  search                 (c) search latency over a large inbox (built once, then reused)
  window                 (d) the window under Xvfb: launch to painted inbox, idle memory
                         (needs Xvfb and `cargo build --release -p herald` first)
  notify                 (e) latency from frame to commit, to the notifier and to its Notify
                         call on the session bus, at 10, 1,000 and 10,000 messages/s, and
                         (h) idle CPU with 100 connected sources (needs dunst and the
                         release `herald`)
  broker                 (f) messages through a private RabbitMQ node (STOMP and MQTT) into
                         the release `herald`, committed and acknowledged (needs rabbitmq-server)
  callgrind              (g) instructions per message ingested and per search, counted by
                         valgrind --tool=callgrind (repeatable on a busy machine)
  all                    all of them (the default)

options:
  --messages N           messages per ingest run (default 200000)
  --broker-messages N    messages per protocol for the broker figure (default 20000)
  --search-messages N    size of the search corpus (default 1000000)
  --window-messages N,M  inbox sizes for the launch figures (default 100000,1000000)
  --window-runs N        launches per inbox size; the median is reported (default 5)
  --scroll-rows-per-frame R
                         scrolling speed for the frame-time figure (default 5: a fast fling)
  --tmpfs-dir DIR        memory-backed directory (default /dev/shm/herald-bench)
  --disk-dir DIR         directory on a real disk (default $CARGO_TARGET_DIR/../herald-bench,
                         else ./target/herald-bench)
  --no-disk              skip the disk runs
  --peers LIST           peers to run beside Herald in every ingest round, comma-separated:
                         node, python, rust, or none (default: all three; installed first
                         by tests/benchmarks/peers/install)
  --only raw|engine      run only (a) or only (b) of ingest (for profiling)
  --repeat N             runs per ingest figure; the median is reported (default 3)
  --sweep                also sweep BatchLimits (max_rows x max_delay) for (b) on tmpfs
  --max-rows N, --max-delay-ms N
                         BatchLimits for (b) and rows per transaction for (a') (default:
                         BatchLimits::default())
  --iterations N         timed searches per query, after 20 warm-up (default 200)
  --query TEXT           also time this search (repeatable; reported, not judged)
  --seed N               corpus seed (default 0x4e52414c44; decimal or 0x-hex)
  --json FILE            also write the results as JSON
  --strict               exit with status 2 when a target is missed
  --experiment-fts-prefix \"1 2\"
                         what-if: recreate messages_fts with this FTS5 prefix= option in every
                         database the run creates (measures a proposed schema change)
  --experiment-fts-hashsize BYTES
                         what-if: set messages_fts's FTS5 hashsize (SQLite's default is 1048576)
  --experiment-cache-mib N
                         what-if: PRAGMA cache_size of the writing connection, in MiB (default 2)
  --experiment-wal-autocheckpoint PAGES
                         what-if: PRAGMA wal_autocheckpoint of the writing connection (default 1000)
  --experiment-rules N   what-if: N routing rules (ten kinds, cycled) evaluated by the engine

Build and run with: cargo run --release -p herald-tests --bin herald-bench -- all";

/// Ingest through Herald must reach this share of the raw SQLite rate (tmpfs).
const INGEST_TARGET: f64 = 0.9;
/// Search p95 must stay under this.
const SEARCH_TARGET_MS: f64 = 5.0;
/// Launch to painted inbox with 1,000,000 messages (issue 7's target).
const LAUNCH_TARGET_MS: f64 = 1000.0;
/// Idle PSS of the whole process tree with 100,000 messages.
const PSS_TARGET_MIB: f64 = 250.0;
/// How long the window sits before its memory is read.
const IDLE_BEFORE_PSS: Duration = Duration::from_secs(15);
/// Scrolling: rows scrolled, and the frame-time target (one 60 Hz frame).
const SCROLL_ROWS: usize = 10_000;
const FRAME_TARGET_MS: f64 = 16.7;
/// Notification latency: (rate per second, messages, default coalescing on)
/// and the p99 target at 10/s.
const NOTIFY_RATES: [(u32, usize, bool); 4] = [
    (10, 100, false),
    (1000, 3000, false),
    (1000, 3000, true),
    (10_000, 20_000, true),
];
const NOTIFY_TARGET_MS: f64 = 50.0;
/// Idle CPU with 100 connected sources, in percent of one core.
const IDLE_CPU_TARGET_PERCENT: f64 = 1.0;
/// Frame to the notifier's decision (shown, or counted for a summary) at
/// 1,000 messages/s with the default policy.
const BUSY_NOTIFY_TARGET_MS: f64 = 250.0;
/// Burst: messages arriving at once, and the input-latency target.
const BURST_MESSAGES: usize = 10_000;
const INPUT_TARGET_MS: f64 = 50.0;

const SWEEP_ROWS: [usize; 3] = [1000, 4096, 16_384];
const SWEEP_DELAYS_MS: [u64; 3] = [2, 4, 20];
/// The light load of the sweep: this many frames, one every LIGHT_PACE.
const LIGHT_FRAMES: usize = 1000;
const LIGHT_PACE: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Ingest,
    Search,
    Window,
    Notify,
    Broker,
    Callgrind,
    All,
}

impl Mode {
    fn runs(&self, part: Mode) -> bool {
        *self == Mode::All || *self == part
    }
}

#[derive(Debug, Clone)]
struct Options {
    mode: Mode,
    messages: usize,
    broker_messages: usize,
    search_messages: usize,
    window_messages: Vec<usize>,
    window_runs: usize,
    scroll_rows_per_frame: f64,
    tmpfs_dir: PathBuf,
    disk_dir: PathBuf,
    disk: bool,
    /// For profiling: run only the raw path or only the engine path.
    only: Option<String>,
    /// Peers run beside Herald in every ingest round.
    peers: Vec<peers::Peer>,
    experiment: raw::Experiment,
    /// BatchLimits for (b) (the sweep tries its own).
    limits: BatchLimits,
    /// Extra search terms, measured for information (not judged).
    extra_queries: Vec<String>,
    repeat: usize,
    sweep: bool,
    iterations: usize,
    seed: u64,
    json: Option<PathBuf>,
    strict: bool,
}

fn default_disk_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) if !target.is_empty() => {
            let target = PathBuf::from(target);
            target
                .parent()
                .map(|parent| parent.join("herald-bench"))
                .unwrap_or_else(|| target.join("herald-bench"))
        }
        _ => PathBuf::from("target/herald-bench"),
    }
}

fn parse_number(text: &str) -> Result<u64> {
    let text = text.replace('_', "");
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.with_context(|| format!("{text:?} is not a number"))
}

fn parse_options() -> Result<Options> {
    let mut options = Options {
        mode: Mode::All,
        messages: 200_000,
        broker_messages: 20_000,
        search_messages: 1_000_000,
        window_messages: vec![100_000, 1_000_000],
        window_runs: 5,
        scroll_rows_per_frame: window::ROWS_PER_FRAME,
        tmpfs_dir: PathBuf::from("/dev/shm/herald-bench"),
        disk_dir: default_disk_dir(),
        disk: true,
        only: None,
        peers: peers::ALL.to_vec(),
        experiment: raw::Experiment::default(),
        extra_queries: Vec::new(),
        limits: BatchLimits::default(),
        repeat: 3,
        sweep: false,
        iterations: 200,
        seed: 0x4e_5241_4c44,
        json: None,
        strict: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "ingest" => options.mode = Mode::Ingest,
            "search" => options.mode = Mode::Search,
            "window" => options.mode = Mode::Window,
            "notify" => options.mode = Mode::Notify,
            "broker" => options.mode = Mode::Broker,
            "callgrind" => options.mode = Mode::Callgrind,
            "--broker-messages" => options.broker_messages = parse_number(&value(&arg)?)? as usize,
            "--window-messages" => {
                options.window_messages = value(&arg)?
                    .split(',')
                    .map(|count| parse_number(count.trim()).map(|count| count as usize))
                    .collect::<Result<_>>()?;
            }
            "--scroll-rows-per-frame" => {
                options.scroll_rows_per_frame = value(&arg)?
                    .parse::<f64>()
                    .ok()
                    .filter(|rows| *rows > 0.0)
                    .context("--scroll-rows-per-frame takes a positive number")?;
            }
            "--window-runs" => options.window_runs = (parse_number(&value(&arg)?)? as usize).max(1),
            "all" => options.mode = Mode::All,
            "--messages" => options.messages = parse_number(&value(&arg)?)? as usize,
            "--search-messages" => options.search_messages = parse_number(&value(&arg)?)? as usize,
            "--tmpfs-dir" => options.tmpfs_dir = PathBuf::from(value(&arg)?),
            "--disk-dir" => options.disk_dir = PathBuf::from(value(&arg)?),
            "--no-disk" => options.disk = false,
            "--peers" => {
                options.peers = value(&arg)?
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty() && *name != "none")
                    .map(|name| match name {
                        "node" => Ok(peers::Peer::Node),
                        "python" => Ok(peers::Peer::Python),
                        "rust" => Ok(peers::Peer::Rust),
                        other => Err(
                            format!("unknown peer {other:?}: node, python, rust or none").into(),
                        ),
                    })
                    .collect::<Result<_>>()?;
            }
            "--only" => {
                let which = value(&arg)?;
                ensure!(
                    which == "raw" || which == "engine",
                    "--only takes raw or engine"
                );
                options.only = Some(which);
            }
            "--repeat" => options.repeat = (parse_number(&value(&arg)?)? as usize).max(1),
            "--sweep" => options.sweep = true,
            "--iterations" => options.iterations = (parse_number(&value(&arg)?)? as usize).max(1),
            "--seed" => options.seed = parse_number(&value(&arg)?)?,
            "--json" => options.json = Some(PathBuf::from(value(&arg)?)),
            "--strict" => options.strict = true,
            "--query" => options.extra_queries.push(value(&arg)?),
            "--max-rows" => {
                options.limits.max_rows = (parse_number(&value(&arg)?)? as usize).max(1)
            }
            "--max-delay-ms" => {
                options.limits.max_delay = Duration::from_millis(parse_number(&value(&arg)?)?)
            }
            "--experiment-fts-prefix" => {
                let prefix = value(&arg)?;
                ensure!(
                    !prefix.trim().is_empty()
                        && prefix.chars().all(|c| c.is_ascii_digit() || c == ' '),
                    "--experiment-fts-prefix takes lengths like \"1 2\""
                );
                options.experiment.fts_prefix = Some(prefix.trim().to_string());
            }
            "--experiment-wal-autocheckpoint" => {
                options.experiment.wal_autocheckpoint = Some(parse_number(&value(&arg)?)?);
            }
            "--experiment-rules" => {
                options.experiment.routing_rules = parse_number(&value(&arg)?)? as usize;
            }
            "--experiment-cache-mib" => {
                options.experiment.cache_mib = Some(parse_number(&value(&arg)?)?);
            }
            "--experiment-fts-hashsize" => {
                options.experiment.fts_hashsize = Some(parse_number(&value(&arg)?)?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    ensure!(options.messages > 0, "--messages must be at least 1");
    ensure!(
        options.search_messages > 0,
        "--search-messages must be at least 1"
    );
    Ok(options)
}

pub fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__callgrind") {
        return match callgrind::child(&args[1..]) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("herald-bench __callgrind: {error:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match run() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(2),
        Err(error) => {
            eprintln!("herald-bench: FAILED: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Thousands separators for the tables.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

fn describe_fs(fs: &Filesystem) -> String {
    format!(
        "{}  [{} on {} ({})]",
        fs.path, fs.fs_type, fs.mount_point, fs.device
    )
}

/// The median run of several, by throughput.
fn median_run<T: Clone>(runs: &[T], rate: impl Fn(&T) -> f64) -> Option<T> {
    let mut sorted: Vec<&T> = runs.iter().collect();
    sorted.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    sorted.get(sorted.len() / 2).map(|run| (*run).clone())
}

/// Pads `text` to `width` terminal columns (CJK characters take two).
fn pad(text: &str, width: usize) -> String {
    let columns: usize = text
        .chars()
        .map(|c| {
            if herald_core::search_text::is_cjk(c) {
                2
            } else {
                1
            }
        })
        .sum();
    format!("{text}{}", " ".repeat(width.saturating_sub(columns)))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn rates<T>(runs: &[T], rate: impl Fn(&T) -> f64) -> f64 {
    median(&runs.iter().map(rate).collect::<Vec<_>>())
}

/// Above this share of the CPU used by other processes, a run is noisy.
const BUSY_MACHINE: f64 = 0.10;

/// The largest `other_cpu` of any timed run in the report.
fn busiest_neighbour(report: &serde_json::Value) -> f64 {
    fn walk(value: &serde_json::Value, max: &mut f64) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    if key == "other_cpu" {
                        *max = max.max(value.as_f64().unwrap_or(0.0));
                    } else {
                        walk(value, max);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, max)),
            _ => {}
        }
    }
    let mut max = 0.0;
    walk(report, &mut max);
    max
}

/// The ingest figures measured on one filesystem.
struct FsIngest {
    label: &'static str,
    fs: Filesystem,
    raw: Vec<RawRun>,
    /// Raw SQLite with the engine's commit size, on tmpfs only (for reading).
    raw_large: Vec<RawRun>,
    engine: Vec<EngineRun>,
    /// Each peer's runs, in the rounds' order.
    peers: Vec<(peers::Peer, Vec<PeerRun>)>,
}

impl FsIngest {
    fn raw_rate(&self) -> f64 {
        rates(&self.raw, |run| run.rows_per_sec)
    }
    fn raw_large_rate(&self) -> f64 {
        rates(&self.raw_large, |run| run.rows_per_sec)
    }
    fn engine_rate(&self) -> f64 {
        rates(&self.engine, |run| run.rows_per_sec)
    }
    /// (b)/(a) of each round: the two ran back to back, so a machine that
    /// speeds up or slows down between rounds does not skew the comparison.
    fn round_ratios(&self, raw: &[RawRun]) -> Vec<f64> {
        self.engine
            .iter()
            .zip(raw)
            .map(|(engine, raw)| engine.rows_per_sec / raw.rows_per_sec)
            .collect()
    }
    /// The judged figure: the median of the per-round ratios.
    fn ratio(&self) -> f64 {
        median(&self.round_ratios(&self.raw))
    }
    fn large_ratio(&self) -> f64 {
        median(&self.round_ratios(&self.raw_large))
    }
    fn judged(&self) -> bool {
        self.label == "tmpfs"
    }
    fn pass(&self) -> bool {
        self.ratio() >= INGEST_TARGET
    }
    /// Herald's rate over the peer's, per round (they ran in the same round).
    fn lead_over(&self, runs: &[PeerRun]) -> Vec<f64> {
        self.engine
            .iter()
            .zip(runs)
            .map(|(engine, peer)| engine.rows_per_sec / peer.rows_per_sec)
            .collect()
    }
    /// The peer's rate over the raw limit, per round.
    fn peer_ratios(&self, runs: &[PeerRun]) -> Vec<f64> {
        runs.iter()
            .zip(&self.raw)
            .map(|(peer, raw)| peer.rows_per_sec / raw.rows_per_sec)
            .collect()
    }
    fn leads(&self, peer: peers::Peer, runs: &[PeerRun]) -> bool {
        median(&self.lead_over(runs)) >= peer.target()
    }
}

fn run() -> Result<bool> {
    let options = parse_options()?;
    let machine = machine::describe();
    let mut report = json!({
        "machine": machine,
        "seed": format!("{:#x}", options.seed),
        "targets": {
            "ingest_ratio_tmpfs": INGEST_TARGET,
            "search_p95_ms": SEARCH_TARGET_MS,
            "launch_ms": LAUNCH_TARGET_MS,
            "idle_pss_mib": PSS_TARGET_MIB,
        },
        "experiment": options.experiment.describe(),
    });
    std::fs::create_dir_all(&options.tmpfs_dir)
        .with_context(|| format!("creating {}", options.tmpfs_dir.display()))?;
    let tmpfs = machine::filesystem(&options.tmpfs_dir);
    let disk = if options.disk && options.mode.runs(Mode::Ingest) {
        std::fs::create_dir_all(&options.disk_dir)
            .with_context(|| format!("creating {}", options.disk_dir.display()))?;
        Some(machine::filesystem(&options.disk_dir))
    } else {
        None
    };

    let mut out = String::new();
    writeln!(out, "== Herald benchmark ==")?;
    writeln!(
        out,
        "machine    {} CPUs, {}, {:.1} GiB RAM, Linux {}",
        machine.cpus, machine.cpu_model, machine.memory_gib, machine.kernel
    )?;
    writeln!(out, "date       {}", machine.date_utc)?;
    writeln!(out, "commit     {}", machine.commit)?;
    writeln!(
        out,
        "sqlite     {} (bundled)   build: {}",
        machine.sqlite, machine.profile
    )?;
    writeln!(out, "load avg   {} (at start)", load_average())?;
    writeln!(out, "seed       {:#x}", options.seed)?;
    writeln!(out, "tmpfs dir  {}", describe_fs(&tmpfs))?;
    if !tmpfs.is_memory() {
        writeln!(
            out,
            "           WARNING: not memory-backed; the \"tmpfs\" figures are disk figures"
        )?;
    }
    if let Some(disk) = &disk {
        writeln!(out, "disk dir   {}", describe_fs(disk))?;
        if disk.is_memory() {
            writeln!(
                out,
                "           WARNING: memory-backed; pass --disk-dir on a real disk"
            )?;
        }
    }
    if let Some(experiment) = options.experiment.describe() {
        writeln!(
            out,
            "EXPERIMENT {experiment}: not Herald's schema; figures are what-if"
        )?;
    }
    report["filesystems"] = json!({ "tmpfs": tmpfs, "disk": disk });
    print!("{out}");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut all_pass = true;
    let mut summary: Vec<String> = Vec::new();

    if options.mode.runs(Mode::Ingest) {
        all_pass &= ingest_section(
            &options,
            &runtime,
            &tmpfs,
            disk.as_ref(),
            &mut report,
            &mut summary,
        )?;
    }
    if options.mode.runs(Mode::Search) {
        all_pass &= search_section(&options, &mut report, &mut summary)?;
    }
    if options.mode.runs(Mode::Window) {
        all_pass &= window_section(&options, &runtime, &mut report, &mut summary)?;
    }
    if options.mode.runs(Mode::Notify) {
        all_pass &= notify_section(&options, &runtime, &mut report, &mut summary)?;
    }
    if options.mode.runs(Mode::Broker) {
        broker_section(&options, &runtime, &mut report, &mut summary)?;
    }
    if options.mode.runs(Mode::Callgrind) {
        callgrind_section(&options, &mut report, &mut summary)?;
    }

    println!("\n== Summary ==");
    for line in &summary {
        println!("{line}");
    }
    println!("load avg   {} (at end)", load_average());
    let busiest = busiest_neighbour(&report);
    if busiest > BUSY_MACHINE {
        println!(
            "WARNING    other processes used up to {:.0}% of the CPU during a timed run: the figures are unreliable; rerun on a quiet machine",
            busiest * 100.0
        );
    }
    println!(
        "overall    {}",
        if all_pass { "PASS" } else { "MISS (see above)" }
    );
    report["pass"] = json!(all_pass);
    report["busiest_other_cpu"] = json!(busiest);
    if let Some(path) = &options.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("JSON report written to {}", path.display());
    }
    Ok(all_pass || !options.strict)
}

fn ingest_section(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    tmpfs: &Filesystem,
    disk: Option<&Filesystem>,
    report: &mut serde_json::Value,
    summary: &mut Vec<String>,
) -> Result<bool> {
    let count = options.messages;
    let experiment = &options.experiment;
    let default_limits = options.limits;
    println!("\n== Ingest: {} messages ==", grouped(count as f64));
    let started = Instant::now();
    let (frames, messages) = corpus::build(options.seed, count)?;
    let shape = corpus::shape(&frames, &messages);
    println!(
        "corpus     generated in {:.1} s: title {}–{} chars (avg {:.0}), body {}–{} chars (avg {:.0}), frame {:.0} B avg",
        started.elapsed().as_secs_f64(),
        shape.title_min,
        shape.title_max,
        shape.title_chars,
        shape.body_min,
        shape.body_max,
        shape.body_chars,
        shape.frame_bytes
    );
    println!(
        "           {:.0}% with click URL, {:.0}% with tags, {:.0}% with Chinese text",
        shape.with_click * 100.0,
        shape.with_tags * 100.0,
        shape.with_chinese * 100.0
    );
    // How fast one core turns frames into messages, for reading (b)'s pipeline.
    let started = Instant::now();
    for frame in &frames {
        std::hint::black_box(corpus::parse(frame)?);
    }
    let parse_rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "parse only herald_core::source::ntfy::parse, one core: {} frames/s",
        grouped(parse_rate)
    );
    println!(
        "method     {} run(s) per figure, median shown; (a) {} rows/transaction; (b) BatchLimits {} rows / {} ms{}",
        options.repeat,
        raw::ROWS_PER_TRANSACTION,
        default_limits.max_rows,
        default_limits.max_delay.as_millis(),
        if default_limits.max_rows == BatchLimits::default().max_rows
            && default_limits.max_delay == BatchLimits::default().max_delay
        {
            " (the default)"
        } else {
            " (NOT the default)"
        }
    );
    println!(
        "           (b) is timed from the first frame sent to the announcement of the last commit"
    );
    let frames = ingest::prepare_frames(frames);

    let mut places: Vec<(&'static str, Filesystem, PathBuf)> =
        vec![("tmpfs", tmpfs.clone(), options.tmpfs_dir.clone())];
    if let Some(disk) = disk {
        places.push(("disk", disk.clone(), options.disk_dir.clone()));
    }
    let run_raw = options.only.as_deref() != Some("engine");
    let run_engine = options.only.as_deref() != Some("raw");
    let run_peers: &[peers::Peer] = if options.only.is_some() {
        &[]
    } else {
        &options.peers
    };
    if !run_peers.is_empty() {
        println!("peers      installing or checking: tests/benchmarks/peers/install");
        peers::install()?;
    }
    let mut results: Vec<FsIngest> = Vec::new();
    for (label, fs, dir) in &places {
        let mut result = FsIngest {
            label,
            fs: fs.clone(),
            raw: Vec::new(),
            raw_large: Vec::new(),
            engine: Vec::new(),
            peers: run_peers.iter().map(|peer| (*peer, Vec::new())).collect(),
        };
        let raw_path = dir.join("ingest-raw.db");
        let engine_path = dir.join("ingest-engine.db");
        for round in 1..=options.repeat {
            let progress =
                |what: &str| eprintln!("{label}: round {round}/{}: {what}…", options.repeat);
            if run_raw {
                progress("(a) raw SQLite");
                result.raw.push(raw::run(
                    &raw_path,
                    &messages,
                    raw::ROWS_PER_TRANSACTION,
                    experiment,
                )?);
                raw::remove_database(&raw_path)?;
            }
            if run_engine {
                progress("(b) Herald engine");
                result.engine.push(ingest::run(
                    runtime,
                    &engine_path,
                    &frames,
                    default_limits,
                    experiment,
                )?);
                raw::remove_database(&engine_path)?;
            }
            for (peer, runs) in &mut result.peers {
                progress(&format!("(p) {}", peer.label()));
                let path = dir.join("ingest-peer.db");
                runs.push(peers::run(runtime, *peer, &path, &frames, experiment)?);
                raw::remove_database(&path)?;
            }
            if run_raw && *label == "tmpfs" {
                progress("(a') raw SQLite, engine-sized transactions");
                result.raw_large.push(raw::run(
                    &raw_path,
                    &messages,
                    default_limits.max_rows,
                    experiment,
                )?);
                raw::remove_database(&raw_path)?;
            }
        }
        results.push(result);
    }

    println!();
    println!(
        "{:<6} {:<44} {:>9} {:>8} {:>7} {:>8}  result",
        "fs", "path", "rows/s", "seconds", "(b)/(a)", "target"
    );
    let mut pass = true;
    for result in &results {
        let raw_median = median_run(&result.raw, |run| run.rows_per_sec);
        let engine_median = median_run(&result.engine, |run| run.rows_per_sec);
        println!(
            "{:<6} {:<44} {:>9} {:>8.2}",
            result.label,
            format!("(a) raw SQLite, {} rows/txn", raw::ROWS_PER_TRANSACTION),
            grouped(result.raw_rate()),
            raw_median.as_ref().map_or(f64::NAN, |run| run.seconds),
        );
        let (target, outcome) = if result.judged() {
            pass &= result.pass();
            (format!(">= {INGEST_TARGET:.2}"), verdict(result.pass()))
        } else {
            ("(info)".to_string(), "")
        };
        println!(
            "{:<6} {:<44} {:>9} {:>8.2} {:>7.3} {:>8}  {}",
            result.label,
            "(b) Herald engine, ntfy over loopback WS",
            grouped(result.engine_rate()),
            engine_median.as_ref().map_or(f64::NAN, |run| run.seconds),
            result.ratio(),
            target,
            outcome
        );
        if !result.raw_large.is_empty() {
            let large_median = median_run(&result.raw_large, |run| run.rows_per_sec);
            println!(
                "{:<6} {:<44} {:>9} {:>8.2} {:>7.3} {:>8}",
                result.label,
                format!("(a') raw SQLite, {} rows/txn", default_limits.max_rows),
                grouped(result.raw_large_rate()),
                large_median.as_ref().map_or(f64::NAN, |run| run.seconds),
                result.large_ratio(),
                "(info)"
            );
        }
        let list = |values: Vec<f64>| {
            values
                .into_iter()
                .map(grouped)
                .collect::<Vec<_>>()
                .join(" ")
        };
        for (peer, runs) in &result.peers {
            let leads = result.leads(*peer, runs);
            pass &= leads;
            let peer_median = median_run(runs, |run| run.rows_per_sec);
            println!(
                "{:<6} {:<44} {:>9} {:>8.2} {:>7.3} {:>8}  Herald {:.2}x: {}",
                result.label,
                format!("(p) {}", peer.label()),
                grouped(rates(runs, |run| run.rows_per_sec)),
                peer_median.as_ref().map_or(f64::NAN, |run| run.seconds),
                median(&result.peer_ratios(runs)),
                format!(">= {:.2}x", peer.target()),
                median(&result.lead_over(runs)),
                verdict(leads)
            );
            println!(
                "       {:<44} every run, rows/s: {}; SQLite {}",
                "",
                list(runs.iter().map(|run| run.rows_per_sec).collect()),
                runs.first().map_or("?", |run| run.sqlite.as_str())
            );
        }
        println!(
            "       (b)/(a) is the median of each round's ratio: {}",
            result
                .round_ratios(&result.raw)
                .iter()
                .map(|ratio| format!("{ratio:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "       every run, rows/s: (a) {}   (b) {}{}",
            list(result.raw.iter().map(|run| run.rows_per_sec).collect()),
            list(result.engine.iter().map(|run| run.rows_per_sec).collect()),
            if result.raw_large.is_empty() {
                String::new()
            } else {
                format!(
                    "   (a') {}",
                    list(
                        result
                            .raw_large
                            .iter()
                            .map(|run| run.rows_per_sec)
                            .collect()
                    )
                )
            }
        );
        let busiest = result
            .raw
            .iter()
            .map(|run| run.other_cpu)
            .chain(result.raw_large.iter().map(|run| run.other_cpu))
            .chain(result.engine.iter().map(|run| run.other_cpu))
            .fold(0.0, f64::max);
        println!(
            "       other processes used at most {:.0}% of the machine's CPU during these runs",
            busiest * 100.0
        );
        if let Some(run) = &engine_median {
            println!(
                "       (b) median run: server wrote every frame by {:.2} s, the source read the last by {:.2} s, last commit at {:.2} s",
                run.send_seconds, run.read_seconds, run.seconds
            );
            println!(
                "           frame read -> commit announced: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {} Stored events, {:.0} rows each",
                run.latency_p50_ms,
                run.latency_p99_ms,
                run.latency_max_ms,
                run.events,
                run.rows as f64 / run.events.max(1) as f64
            );
            println!(
                "           at most {} messages were read but not yet committed at once (queued in the engine)",
                grouped(run.max_in_flight as f64)
            );
            println!(
                "           CPU during the run: writer thread {:.1} s ({:.0}% of the run), whole process {:.1} s (server included)",
                run.writer_cpu_seconds,
                run.writer_cpu_seconds / run.seconds * 100.0,
                run.process_cpu_seconds
            );
            if result.fs.is_memory() {
                println!(
                    "           rows per writer CPU-second: {} ({:.3} of (a)); unlike rows/s, CPU contention does not move this",
                    grouped(run.rows as f64 / run.writer_cpu_seconds),
                    run.rows as f64 / run.writer_cpu_seconds / result.raw_rate()
                );
            }
            let raw_io = median_run(&result.raw, |run| run.rows_per_sec);
            println!(
                "           SQLite file I/O: (b) writer read {:.0} MiB, wrote {:.0} MiB; (a) read {:.0} MiB, wrote {:.0} MiB",
                run.writer_read_mib,
                run.writer_written_mib,
                raw_io.as_ref().map_or(f64::NAN, |raw| raw.read_mib),
                raw_io.as_ref().map_or(f64::NAN, |raw| raw.written_mib)
            );
        }
        for (peer, runs) in &result.peers {
            summary.push(format!(
                "ingest {:<5}  Herald over {}: {:.2}x  target >= {:.2}x: {}",
                result.label,
                peer.label(),
                median(&result.lead_over(runs)),
                peer.target(),
                verdict(result.leads(*peer, runs))
            ));
        }
        summary.push(format!(
            "ingest {:<5}  (a) {:>7} rows/s  (b) {:>7} rows/s  (b)/(a) {:.3}  {}",
            result.label,
            grouped(result.raw_rate()),
            grouped(result.engine_rate()),
            result.ratio(),
            if result.judged() {
                format!("target >= {INGEST_TARGET:.2}: {}", verdict(result.pass()))
            } else {
                "(info)".into()
            }
        ));
    }
    println!("           verified after every (b) run: exactly {count} messages, {count} search rows, counters match");
    report["ingest"] = json!({
        "messages": count,
        "corpus": shape,
        "parse_only_frames_per_sec": parse_rate,
        "repeat": options.repeat,
        "raw_rows_per_transaction": raw::ROWS_PER_TRANSACTION,
        "limits": { "max_rows": default_limits.max_rows, "max_delay_ms": default_limits.max_delay.as_secs_f64() * 1000.0 },
        "results": results.iter().map(|result| json!({
            "fs": result.label,
            "filesystem": result.fs,
            "raw_rows_per_sec": result.raw_rate(),
            "raw_engine_sized_rows_per_sec": if result.raw_large.is_empty() { json!(null) } else { json!(result.raw_large_rate()) },
            "engine_rows_per_sec": result.engine_rate(),
            "ratio": result.ratio(),
            "round_ratios": result.round_ratios(&result.raw),
            "ratio_engine_sized": if result.raw_large.is_empty() { json!(null) } else { json!(result.large_ratio()) },
            "pass": if result.judged() { json!(result.pass()) } else { json!(null) },
            "raw_runs": result.raw,
            "raw_engine_sized_runs": result.raw_large,
            "engine_runs": result.engine,
            "peers": result.peers.iter().map(|(peer, runs)| json!({
                "peer": peer,
                "label": peer.label(),
                "rows_per_sec": rates(runs, |run| run.rows_per_sec),
                "ratio_to_raw": median(&result.peer_ratios(runs)),
                "herald_lead": median(&result.lead_over(runs)),
                "herald_lead_per_round": result.lead_over(runs),
                "target_lead": peer.target(),
                "pass": result.leads(*peer, runs),
                "runs": runs,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });

    if options.sweep {
        let raw_rate = results.first().map_or(f64::NAN, FsIngest::raw_rate);
        report["sweep"] = sweep(options, runtime, &frames, raw_rate)?;
    }
    Ok(pass)
}

/// (b) on tmpfs for each BatchLimits pair, to justify the defaults: a burst
/// (every frame as fast as possible: throughput, and how long rows queue)
/// and a light load (frames paced: latency when the writer is idle).
fn sweep(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    frames: &ingest::Frames,
    raw_rate: f64,
) -> Result<serde_json::Value> {
    let light: ingest::Frames =
        std::sync::Arc::new(frames.iter().take(LIGHT_FRAMES).cloned().collect());
    println!(
        "\n== BatchLimits sweep: (b) on tmpfs; burst = {} frames at once ({} run(s), median), light = {} frames at {} per second ==",
        grouped(frames.len() as f64),
        options.repeat,
        light.len(),
        1000 / LIGHT_PACE.as_millis().max(1)
    );
    println!("   (a) = {} rows/s", grouped(raw_rate));
    println!(
        "{:>8} {:>9} | {:>9} {:>7} {:>8} {:>8} {:>8} {:>6} | {:>9} {:>9} {:>9}",
        "max_rows",
        "max_delay",
        "rows/s",
        "(b)/(a)",
        "lat p50",
        "lat p99",
        "queued",
        "other",
        "light p50",
        "light p99",
        "light max"
    );
    let default = BatchLimits::default();
    let path = options.tmpfs_dir.join("ingest-sweep.db");
    let mut sweep = Vec::new();
    for max_rows in SWEEP_ROWS {
        for delay in SWEEP_DELAYS_MS {
            let limits = BatchLimits {
                max_rows,
                max_delay: Duration::from_millis(delay),
            };
            let mut runs = Vec::new();
            for round in 1..=options.repeat {
                eprintln!(
                    "sweep {max_rows} rows / {delay} ms: burst {round}/{}…",
                    options.repeat
                );
                runs.push(ingest::run(
                    runtime,
                    &path,
                    frames,
                    limits,
                    &options.experiment,
                )?);
                raw::remove_database(&path)?;
            }
            eprintln!("sweep {max_rows} rows / {delay} ms: light load…");
            let paced = ingest::run_paced(
                runtime,
                &path,
                &light,
                limits,
                &options.experiment,
                Some(LIGHT_PACE),
            )?;
            raw::remove_database(&path)?;
            let rate = rates(&runs, |run| run.rows_per_sec);
            let middle = median_run(&runs, |run| run.rows_per_sec);
            let (p50, p99, queued) = middle.as_ref().map_or((f64::NAN, f64::NAN, 0), |run| {
                (run.latency_p50_ms, run.latency_p99_ms, run.max_in_flight)
            });
            let other = runs.iter().map(|run| run.other_cpu).fold(0.0, f64::max);
            let marker = if default.max_rows == max_rows && default.max_delay == limits.max_delay {
                "  <- default"
            } else {
                ""
            };
            println!(
                "{:>8} {:>6} ms | {:>9} {:>7.3} {:>5.0} ms {:>5.0} ms {:>8} {:>5.0}% | {:>6.1} ms {:>6.1} ms {:>6.1} ms{marker}",
                max_rows,
                delay,
                grouped(rate),
                rate / raw_rate,
                p50,
                p99,
                grouped(queued as f64),
                other * 100.0,
                paced.latency_p50_ms,
                paced.latency_p99_ms,
                paced.latency_max_ms,
            );
            sweep.push(json!({
                "max_rows": max_rows,
                "max_delay_ms": delay,
                "rows_per_sec": rate,
                "ratio": rate / raw_rate,
                "runs": runs,
                "light_load": paced,
            }));
        }
    }
    println!("   lat = frame read -> commit announced; queued = most rows read but not yet committed at once; other = CPU share used by other processes");
    Ok(json!(sweep))
}

fn search_section(
    options: &Options,
    report: &mut serde_json::Value,
    summary: &mut Vec<String>,
) -> Result<bool> {
    let count = options.search_messages;
    println!("\n== Search: {} messages ==", grouped(count as f64));
    let path: PathBuf = options
        .tmpfs_dir
        .join(format!("search-{count}{}.db", options.experiment.tag()));
    let prepared = search::prepare(&path, options.seed, count, &options.experiment)?;
    if prepared.reused {
        println!(
            "corpus     reused {} ({:.0} MiB; built earlier with the same seed, size and schema)",
            path.display(),
            prepared.file_bytes as f64 / 1_048_576.0
        );
    } else {
        println!(
            "corpus     built {} with the raw path in {:.1} s ({} rows/s), {:.0} MiB",
            path.display(),
            prepared.build_seconds,
            grouped(prepared.build_rows_per_sec),
            prepared.file_bytes as f64 / 1_048_576.0
        );
    }
    println!(
        "method     store::search(view All, limit 50): {} warm-up + {} timed per query; count_search: {} timed",
        search::WARM_UP,
        options.iterations,
        search::COUNT_ITERATIONS
    );
    let judged = search::queries();
    let mut queries = judged.clone();
    queries.extend(
        options
            .extra_queries
            .iter()
            .map(|query| ("extra (not judged)".to_string(), query.clone())),
    );
    let results = search::run(&path, &queries, count, options.iterations)?;
    println!();
    println!(
        "{} {} {:>9} {:>7} {:>5} {:>7} {:>7} {:>7} {:>7} {:>9}  p95 < {SEARCH_TARGET_MS} ms",
        pad("query", 24),
        pad("term", 12),
        "matches",
        "share",
        "hits",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "count p50"
    );
    let mut pass = true;
    for (index, result) in results.iter().enumerate() {
        let is_judged = index < judged.len();
        let ok = result.p95_ms < SEARCH_TARGET_MS;
        if is_judged {
            pass &= ok;
        }
        println!(
            "{} {} {:>9} {:>6.2}% {:>5} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>6.1} ms  {}",
            pad(&result.label, 24),
            pad(&format!("{:?}", result.query), 12),
            grouped(result.matches as f64),
            result.match_share * 100.0,
            result.hits,
            result.p50_ms,
            result.p95_ms,
            result.p99_ms,
            result.max_ms,
            result.count_p50_ms,
            if is_judged { verdict(ok) } else { "(info)" }
        );
        if is_judged {
            summary.push(format!(
                "search {} p95 {:>7.2} ms  target < {SEARCH_TARGET_MS} ms: {}",
                pad(&format!("{:?}", result.query), 12),
                result.p95_ms,
                verdict(ok)
            ));
        }
    }
    report["search"] = json!({
        "messages": count,
        "path": path.display().to_string(),
        "corpus": prepared,
        "warm_up": search::WARM_UP,
        "iterations": options.iterations,
        "queries": results,
        "judged_queries": judged.len(),
    });
    Ok(pass)
}

fn window_section(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    report: &mut serde_json::Value,
    summary: &mut Vec<String>,
) -> Result<bool> {
    println!("\n== Window (release build under Xvfb) ==");
    let binary = window::herald_binary()?;
    let desktop = runtime.block_on(herald_tests::desktop::Desktop::start());
    println!(
        "method     spawn `herald` to its log line \"window shown (painted)\" (the UI reports the inbox's first page on screen); {} runs per size, median",
        options.window_runs
    );
    let mut pass = true;
    let mut launches = Vec::new();
    let mut memory = None;
    for &count in &options.window_messages {
        let (data_dir, corpus) = window::prepare_inbox(&options.tmpfs_dir, options.seed, count)?;
        if !corpus.reused {
            println!(
                "corpus     built {count} messages in {:.1} s",
                corpus.build_seconds
            );
        }
        // One unmeasured launch warms the page cache and WebKit's own caches.
        window::time_launches(&binary, &data_dir, &desktop, count, 1)?;
        let result =
            window::time_launches(&binary, &data_dir, &desktop, count, options.window_runs)?;
        let judged = count >= 1_000_000;
        let ok = !judged || result.median_ms < LAUNCH_TARGET_MS;
        pass &= ok;
        println!(
            "launch     {:>9} messages: median {:.0} ms, max {:.0} ms{}",
            grouped(count as f64),
            result.median_ms,
            result.max_ms,
            if judged {
                format!(
                    "  (target < {LAUNCH_TARGET_MS:.0} ms: {})",
                    if ok { "PASS" } else { "MISS" }
                )
            } else {
                String::new()
            }
        );
        summary.push(format!(
            "launch     {} messages: {:.0} ms to painted inbox{}",
            grouped(count as f64),
            result.median_ms,
            if judged {
                if ok {
                    " PASS"
                } else {
                    " MISS"
                }
            } else {
                ""
            }
        ));
        if memory.is_none() && count <= 100_000 {
            let mut window = window::Window::launch(&binary, &data_dir, &desktop)?;
            let painted = window.wait_painted();
            std::thread::sleep(IDLE_BEFORE_PSS);
            let measured = window::tree_memory(window.pid());
            window.stop();
            painted?;
            let ok = measured.total_mib < PSS_TARGET_MIB;
            pass &= ok;
            println!(
                "memory     idle {} s with {} messages: PSS {:.0} MiB for the process tree (target < {PSS_TARGET_MIB:.0}: {})",
                IDLE_BEFORE_PSS.as_secs(),
                grouped(count as f64),
                measured.total_mib,
                if ok { "PASS" } else { "MISS" }
            );
            for (name, mib) in &measured.processes {
                println!("           {name:<24} {mib:>6.1} MiB");
            }
            summary.push(format!(
                "memory     idle PSS {:.0} MiB (target < {PSS_TARGET_MIB:.0}) {}",
                measured.total_mib,
                if ok { "PASS" } else { "MISS" }
            ));
            memory = Some(measured);
        }
        launches.push(result);
    }

    // Scrolling and a burst, driven through WebDriver on the smallest inbox
    // of at least 100,000 messages (enough rows to scroll 10,000).
    let count = options
        .window_messages
        .iter()
        .copied()
        .filter(|count| *count >= SCROLL_ROWS * 2)
        .min()
        .unwrap_or(100_000);
    let (data_dir, _) = window::prepare_inbox(&options.tmpfs_dir, options.seed, count)?;
    let scratch = options.tmpfs_dir.join("window-burst");
    let (scroll, burst) = runtime.block_on(async {
        let scroll = window::scroll(
            &desktop,
            &data_dir,
            SCROLL_ROWS,
            options.scroll_rows_per_frame,
        )
        .await;
        let burst =
            window::burst(&desktop, &data_dir, &scratch, BURST_MESSAGES, options.seed).await;
        (scroll, burst)
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let scroll = scroll?;
    let scroll_ok = scroll.frames.p95_ms < FRAME_TARGET_MS;
    pass &= scroll_ok;
    println!(
        "scroll     {:.0} rows of {} in {:.1} s ({} rows a frame, paging as it goes): frame p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.0} ms; {} of {} frames long (> 1.5x median)  (target p95 < {FRAME_TARGET_MS} ms: {})",
        scroll.rows_scrolled,
        grouped(count as f64),
        scroll.seconds,
        options.scroll_rows_per_frame,
        scroll.frames.p50_ms,
        scroll.frames.p95_ms,
        scroll.frames.p99_ms,
        scroll.frames.max_ms,
        scroll.long_frames,
        scroll.frames.samples,
        if scroll_ok { "PASS" } else { "MISS" },
    );
    summary.push(format!(
        "scroll     frame time p95 {:.1} ms (target < {FRAME_TARGET_MS}) {}",
        scroll.frames.p95_ms,
        if scroll_ok { "PASS" } else { "MISS" }
    ));
    let burst = burst?;
    let burst_ok = burst.latency.p95_ms < INPUT_TARGET_MS;
    pass &= burst_ok;
    println!(
        "burst      {} messages stored in {:.1} s with the window open; key press to next frame: p50 {:.1} ms, p95 {:.1} ms, max {:.0} ms over {} presses  (target p95 < {INPUT_TARGET_MS} ms: {})",
        grouped(burst.messages as f64),
        burst.ingest_seconds,
        burst.latency.p50_ms,
        burst.latency.p95_ms,
        burst.latency.max_ms,
        burst.latency.samples,
        if burst_ok { "PASS" } else { "MISS" }
    );
    summary.push(format!(
        "burst      input latency p95 {:.1} ms during {} messages (target < {INPUT_TARGET_MS}) {}",
        burst.latency.p95_ms,
        grouped(burst.messages as f64),
        if burst_ok { "PASS" } else { "MISS" }
    ));
    report["window"] = json!({
        "launches": launches,
        "memory": memory,
        "scroll": scroll,
        "burst": burst,
        "pass": pass,
    });
    Ok(pass)
}

fn callgrind_section(
    options: &Options,
    report: &mut serde_json::Value,
    summary: &mut Vec<String>,
) -> Result<()> {
    println!(
        "\n== Instructions (valgrind --tool=callgrind): ingest {} messages, search {} times over {} ==",
        grouped(callgrind::INGEST_MESSAGES as f64),
        callgrind::SEARCHES,
        grouped(callgrind::SEARCH_CORPUS as f64)
    );
    let dir = options.tmpfs_dir.join("callgrind");
    let counts = callgrind::measure(options.seed, &dir)?;
    println!("{:<52} {:>16}", "hot path", "instructions");
    for count in &counts {
        println!(
            "{} {:>16}",
            pad(&count.path, 52),
            format!(
                "{} per {}",
                grouped(count.instructions_per_unit),
                count.unit
            )
        );
        summary.push(format!(
            "callgrind  {} {:>12} instructions per {}",
            pad(&count.path, 40),
            grouped(count.instructions_per_unit),
            count.unit
        ));
    }
    println!(
        "           callgrind output kept in {} (callgrind_annotate FILE)",
        dir.display()
    );
    report["callgrind"] = json!(counts);
    Ok(())
}

fn broker_section(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    report: &mut serde_json::Value,
    summary: &mut Vec<String>,
) -> Result<()> {
    println!("\n== Brokers (release build, headless, a private RabbitMQ node) ==");
    println!("method     published through RabbitMQ's own STOMP and MQTT listeners; timed from the first publish to the last row committed (each acknowledged after its commit)");
    let runs = runtime.block_on(broker::measure(options.broker_messages))?;
    for run in &runs {
        println!(
            "broker     {:<5} {} messages  published in {:.2} s  stored in {:.2} s  {:.0} rows/s  (info)",
            run.protocol, run.messages, run.publish_secs, run.total_secs, run.rows_per_sec
        );
        summary.push(format!(
            "broker     {} {:.0} rows/s ({} messages through RabbitMQ)",
            run.protocol, run.rows_per_sec, run.messages
        ));
    }
    report["broker"] = json!({ "runs": runs });
    Ok(())
}

fn notify_section(
    options: &Options,
    runtime: &tokio::runtime::Runtime,
    report: &mut serde_json::Value,
    summary: &mut Vec<String>,
) -> Result<bool> {
    println!("\n== Notifications (release build, headless, dunst on a private bus) ==");
    println!("method     loopback ntfy publish to the Notify call seen by dbus-monitor; dunst as a desktop runs it; coalescing off (every message notified and timed) or on (the default policy)");
    let binary = window::herald_binary()?;
    let scratch = options.tmpfs_dir.join("notify");
    let mut pass = true;
    let mut results = Vec::new();
    for (rate, messages, coalescing) in NOTIFY_RATES {
        let result = runtime.block_on(notify::measure(
            &binary, &scratch, rate, messages, coalescing,
        ))?;
        // At 10/s every message is shown: judge publish to Notify. At
        // 1,000/s with the default policy, judge frame to the notifier's
        // decision (a burst is summarised by design, after its window).
        let (judged, ok, target) = if rate <= 10 {
            (
                true,
                result.p99_ms < NOTIFY_TARGET_MS,
                format!("publish -> Notify p99 < {NOTIFY_TARGET_MS} ms"),
            )
        } else if rate == 1000 && coalescing {
            (
                true,
                result.frame_to_notifier.p99_ms < BUSY_NOTIFY_TARGET_MS,
                format!("frame -> notifier p99 < {BUSY_NOTIFY_TARGET_MS} ms"),
            )
        } else {
            (false, true, String::new())
        };
        pass &= ok;
        println!(
            "notify     {rate:>5}/s  coalescing {:<3}  {} of {} notified one by one, {} notifications in all  p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  {}",
            if coalescing { "on" } else { "off" },
            result.notified,
            result.messages,
            result.notify_calls,
            result.p50_ms,
            result.p99_ms,
            result.max_ms,
            if judged {
                format!("(target {target}: {})", verdict(ok))
            } else {
                "(info)".into()
            }
        );
        for (stage, figures) in [
            ("frame -> committed", &result.frame_to_commit),
            ("frame -> notifier", &result.frame_to_notifier),
            ("frame -> Notify returned", &result.frame_to_shown),
        ] {
            println!(
                "           {stage:<26} {:>6} messages  p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
                figures.messages, figures.p50_ms, figures.p99_ms, figures.max_ms
            );
        }
        summary.push(format!(
            "notify     {rate}/s coalescing {} publish to Notify p99 {:.1} ms, frame to commit p99 {:.1} ms, to notifier p99 {:.1} ms, {} notifications{}",
            if coalescing { "on" } else { "off" },
            result.p99_ms,
            result.frame_to_commit.p99_ms,
            result.frame_to_notifier.p99_ms,
            result.notify_calls,
            if judged {
                format!(" (target {target}) {}", verdict(ok))
            } else {
                String::new()
            }
        ));
        results.push(result);
    }
    let idle = runtime.block_on(idle::measure(&binary, &scratch))?;
    let idle_ok = idle.cpu_percent < IDLE_CPU_TARGET_PERCENT;
    pass &= idle_ok;
    println!(
        "idle       {} ntfy sources connected, nothing arriving, {:.0} s: {:.2}% of one core (target < {IDLE_CPU_TARGET_PERCENT}%: {}); RSS {:.0} MiB, PSS {:.0} MiB, {} threads",
        idle.sources,
        idle.seconds,
        idle.cpu_percent,
        verdict(idle_ok),
        idle.rss_mib,
        idle.pss_mib,
        idle.threads
    );
    summary.push(format!(
        "idle       {} sources: {:.2}% CPU (target < {IDLE_CPU_TARGET_PERCENT}%) {}; headless PSS {:.0} MiB",
        idle.sources,
        idle.cpu_percent,
        verdict(idle_ok),
        idle.pss_mib
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    report["notify"] = json!({ "rates": results, "pass": pass });
    report["idle"] = json!(idle);
    Ok(pass)
}
