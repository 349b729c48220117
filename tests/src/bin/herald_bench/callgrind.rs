//! (g) Instruction counts of the hot paths under `valgrind --tool=callgrind`.
//! Unlike times, they repeat exactly for the same binary and inputs whatever
//! else the machine is doing, so a regression of a few percent shows.
//!
//! Each figure is the difference of two runs of this binary under callgrind,
//! one doing N units of work and one doing none after the same setup, divided
//! by N: process start, corpus generation and opening the database cancel
//! out without marking functions.
//!
//! - ingest: what Herald does per message on one core, minus the network:
//!   the ntfy parser, the derived columns (search folding, JSON), and the
//!   writer's `Inserter` in transactions of `BatchLimits::default()` rows.
//! - search: `store::search` (newest 50, all views) for each judged query
//!   over a corpus built natively beforehand.

use std::path::{Path, PathBuf};
use std::process::Command;

use herald_core::model::{now_ms, DerivedColumns};
use herald_core::store::{self, BatchLimits, Inserter, MessageFilter, View};

use crate::herald_bench::corpus::{self, Generator};
use crate::herald_bench::error::{Context, Result};
use crate::herald_bench::raw::{self, Experiment};
use crate::herald_bench::search;

/// Messages ingested under callgrind (about 25 s there).
pub const INGEST_MESSAGES: usize = 4096;
/// Messages in the search corpus, and searches per query under callgrind.
pub const SEARCH_CORPUS: usize = 50_000;
pub const SEARCHES: usize = 50;
/// Searches run in both runs first, so page-cache misses cancel out.
const WARM_UP: usize = 3;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Count {
    pub path: String,
    pub unit: &'static str,
    pub units: usize,
    pub instructions_per_unit: f64,
    pub instructions_total: u64,
    pub baseline_total: u64,
}

/// Runs every figure; `dir` keeps the callgrind output files for
/// `callgrind_annotate`.
pub fn measure(seed: u64, dir: &Path) -> Result<Vec<Count>> {
    ensure!(
        Command::new("valgrind").arg("--version").output().is_ok(),
        "valgrind is not installed (apt install valgrind)"
    );
    std::fs::create_dir_all(dir)?;
    let mut counts = Vec::new();
    let ingest = |units: usize| vec!["ingest".to_string(), seed.to_string(), units.to_string()];
    counts.push(difference(
        dir,
        "ingest",
        "message",
        INGEST_MESSAGES,
        &ingest(INGEST_MESSAGES),
        &ingest(0),
    )?);
    let corpus_path = dir.join("search-corpus.db");
    search::prepare(&corpus_path, seed, SEARCH_CORPUS, &Experiment::default())?;
    for (label, query) in search::queries() {
        let args = |units: usize| {
            vec![
                "search".to_string(),
                corpus_path.display().to_string(),
                query.clone(),
                units.to_string(),
            ]
        };
        counts.push(difference(
            dir,
            &format!("search {label}: {query}"),
            "query",
            SEARCHES,
            &args(SEARCHES),
            &args(0),
        )?);
    }
    Ok(counts)
}

fn difference(
    dir: &Path,
    path: &str,
    unit: &'static str,
    units: usize,
    measured: &[String],
    baseline: &[String],
) -> Result<Count> {
    eprintln!("callgrind: {path}…");
    let slug: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let total = instructions(&dir.join(format!("{slug}.out")), measured)?;
    let base = instructions(&dir.join(format!("{slug}.baseline.out")), baseline)?;
    ensure!(
        total > base,
        "{path}: the measured run counted {total} instructions, the baseline {base}"
    );
    Ok(Count {
        path: path.to_string(),
        unit,
        units,
        instructions_per_unit: (total - base) as f64 / units as f64,
        instructions_total: total,
        baseline_total: base,
    })
}

/// Runs this binary's hidden `__callgrind` mode under callgrind and returns
/// the instructions it executed (all threads).
fn instructions(out: &PathBuf, args: &[String]) -> Result<u64> {
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(std::env::current_exe()?)
        .arg("__callgrind")
        .args(args)
        .status()
        .context("running valgrind")?;
    ensure!(status.success(), "callgrind run {args:?} failed: {status}");
    let text = std::fs::read_to_string(out)?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("totals: ")
                .or(line.strip_prefix("summary: "))
        })
        .and_then(|numbers| numbers.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .with_context(|| format!("no instruction total in {}", out.display()))
}

/// The child side: `__callgrind ingest SEED N` or `__callgrind search DB QUERY N`.
pub fn child(args: &[String]) -> Result<()> {
    match args {
        [mode, seed, units] if mode == "ingest" => ingest(seed.parse()?, units.parse()?),
        [mode, db, query, units] if mode == "search" => {
            search_only(Path::new(db), query, units.parse()?)
        }
        _ => bail!("usage: __callgrind ingest SEED N | __callgrind search DB QUERY N"),
    }
}

fn ingest(seed: u64, units: usize) -> Result<()> {
    let mut generator = Generator::new(seed);
    let frames: Vec<String> = (0..INGEST_MESSAGES)
        .map(|_| generator.next_frame())
        .collect();
    let dir = tempfile::TempDir::new_in("/dev/shm").or_else(|_| tempfile::TempDir::new())?;
    let (mut connection, source) =
        raw::create(&dir.path().join("callgrind.db"), &Experiment::default())?;
    let received_at = now_ms();
    for chunk in frames[..units].chunks(BatchLimits::default().max_rows) {
        let parsed: Vec<_> = chunk
            .iter()
            .map(|frame| {
                let message = corpus::parse(frame)?;
                let derived = DerivedColumns::new(&message);
                Ok((message, derived))
            })
            .collect::<Result<_>>()?;
        let transaction = connection.transaction()?;
        {
            let mut inserter = Inserter::new(&transaction)?;
            for (message, derived) in &parsed {
                inserter.insert_message(source, message, derived, received_at, None)?;
            }
            inserter.finish(received_at)?;
        }
        transaction.commit()?;
    }
    Ok(())
}

fn search_only(db: &Path, query: &str, units: usize) -> Result<()> {
    let connection = store::open_connection(db)?;
    let filter = MessageFilter {
        view: View::All,
        ..MessageFilter::default()
    };
    let now = now_ms();
    for _ in 0..WARM_UP + units {
        std::hint::black_box(store::search(&connection, query, &filter, 50, now)?);
    }
    Ok(())
}
