//! (c) Search latency over a large inbox, built with the raw path and kept
//! between runs (a marker setting records the seed and size it was built with).

use std::path::Path;
use std::time::{Duration, Instant};

use herald_core::model::now_ms;
use herald_core::store::{self, MessageFilter, View};

use crate::herald_bench::corpus::{self, Generator};
use crate::herald_bench::error::Result;
use crate::herald_bench::raw::{self, Experiment};
use crate::herald_bench::stats::percentile;

const MARKER_KEY: &str = "herald_bench_corpus";
pub const WARM_UP: usize = 20;
pub const COUNT_ITERATIONS: usize = 20;

fn marker(seed: u64, count: usize, experiment: &Experiment) -> String {
    // The schema version too: a corpus built before a migration changed the
    // index would measure the old schema.
    format!(
        "v{} schema={} seed={seed:#x} count={count}{}",
        corpus::VERSION,
        store::migrations::MIGRATIONS.len(),
        experiment.tag()
    )
}

/// How the corpus database was obtained.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Corpus {
    pub reused: bool,
    pub build_seconds: f64,
    pub build_rows_per_sec: f64,
    pub file_bytes: u64,
}

/// Reuses the database at `path` if it holds exactly this corpus, else builds it.
pub fn prepare(path: &Path, seed: u64, count: usize, experiment: &Experiment) -> Result<Corpus> {
    let wanted = marker(seed, count, experiment);
    if path.exists() {
        let found = store::open_connection(path).and_then(|connection| {
            let marker = store::get_setting(&connection, MARKER_KEY)?;
            let rows: usize =
                connection.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
            Ok((marker, rows))
        });
        if let Ok((Some(marker), rows)) = found {
            if marker == wanted && rows == count {
                return Ok(Corpus {
                    reused: true,
                    build_seconds: 0.0,
                    build_rows_per_sec: 0.0,
                    file_bytes: std::fs::metadata(path)?.len(),
                });
            }
        }
    }
    eprintln!(
        "building the search corpus: {count} messages into {}",
        path.display()
    );
    let (mut connection, source) = raw::create(path, experiment)?;
    let mut generator = Generator::new(seed);
    let started = Instant::now();
    let mut chunk = Vec::with_capacity(raw::ROWS_PER_TRANSACTION);
    let mut done = 0;
    while done < count {
        chunk.clear();
        let take = raw::ROWS_PER_TRANSACTION.min(count - done);
        for _ in 0..take {
            chunk.push(corpus::parse(&generator.next_frame())?);
        }
        raw::insert_transaction(&mut connection, source, &chunk)?;
        done += take;
        if done % 100_000 == 0 {
            eprintln!("  {done} / {count}");
        }
    }
    let transaction = connection.transaction()?;
    store::set_setting(&transaction, MARKER_KEY, &wanted)?;
    transaction.commit()?;
    let build_seconds = started.elapsed().as_secs_f64();
    drop(connection);
    Ok(Corpus {
        reused: false,
        build_seconds,
        build_rows_per_sec: count as f64 / build_seconds,
        file_bytes: std::fs::metadata(path)?.len(),
    })
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct QueryRun {
    pub label: String,
    pub query: String,
    pub matches: u64,
    pub match_share: f64,
    pub hits: usize,
    pub iterations: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub count_p50_ms: f64,
}

/// The judged queries: (label, query).
pub fn queries() -> Vec<(String, String)> {
    [
        ("common English (~30%)", corpus::COMMON_EN),
        ("rare English (~0.01%)", corpus::RARE_EN),
        ("common Chinese 2-char", corpus::COMMON_ZH),
        ("Chinese 1-char (prefix)", corpus::SINGLE_ZH),
    ]
    .into_iter()
    .map(|(label, query)| (label.to_string(), query.to_string()))
    .collect()
}

/// Times `store::search` (50 newest hits, all views) and `count_search`.
pub fn run(
    path: &Path,
    queries: &[(String, String)],
    corpus_rows: usize,
    iterations: usize,
) -> Result<Vec<QueryRun>> {
    let connection = store::open_connection(path)?;
    let filter = MessageFilter {
        view: View::All,
        ..MessageFilter::default()
    };
    let now = now_ms();
    let mut results = Vec::new();
    for (label, query) in queries {
        let mut hits = 0;
        for _ in 0..WARM_UP {
            hits = store::search(&connection, query, &filter, 50, now)?.len();
        }
        let mut samples: Vec<Duration> = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            let found = store::search(&connection, query, &filter, 50, now)?;
            samples.push(started.elapsed());
            ensure!(found.len() == hits, "search results changed between runs");
        }
        samples.sort_unstable();
        let mut matches = store::count_search(&connection, query)?;
        let mut counts: Vec<Duration> = Vec::with_capacity(COUNT_ITERATIONS);
        for _ in 0..COUNT_ITERATIONS {
            let started = Instant::now();
            matches = store::count_search(&connection, query)?;
            counts.push(started.elapsed());
        }
        counts.sort_unstable();
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        results.push(QueryRun {
            label: label.clone(),
            query: query.to_string(),
            matches,
            match_share: matches as f64 / corpus_rows.max(1) as f64,
            hits,
            iterations,
            p50_ms: ms(percentile(&samples, 0.50)),
            p95_ms: ms(percentile(&samples, 0.95)),
            p99_ms: ms(percentile(&samples, 0.99)),
            max_ms: ms(samples.last().copied().unwrap_or_default()),
            count_p50_ms: ms(percentile(&counts, 0.50)),
        });
    }
    Ok(results)
}
