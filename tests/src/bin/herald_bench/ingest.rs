//! (b) Herald's engine end to end: a loopback ntfy-compatible WebSocket
//! server sends pre-serialized frames as fast as the socket takes them, and
//! the real engine (source task, hub, writer thread) stores them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use herald_core::config::SourceConfig;
use herald_core::engine::{Engine, EngineEvent};
use herald_core::model::{now_ms, Protocol};
use herald_core::store::{self, BatchLimits, NewSource, Store};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Message as Frame, Utf8Bytes};

use crate::herald_bench::error::{Context, Error, Result};
use crate::herald_bench::machine::{self, CpuSample};
use crate::herald_bench::raw::{remove_database, Experiment};
use crate::herald_bench::stats::percentile;

/// How long one run may take before it is declared stuck.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// Frames ready to send; cloning one only bumps a reference count.
pub type Frames = Arc<Vec<Utf8Bytes>>;

pub fn prepare_frames(frames: Vec<String>) -> Frames {
    Arc::new(frames.into_iter().map(Utf8Bytes::from).collect())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineRun {
    pub rows: usize,
    pub max_rows: usize,
    pub max_delay_ms: f64,
    /// First frame sent to the last row's commit being announced.
    pub seconds: f64,
    pub rows_per_sec: f64,
    /// First frame sent to the server's last frame written to the socket.
    pub send_seconds: f64,
    /// First frame sent to the source task reading the last frame.
    pub read_seconds: f64,
    /// Frame read off the socket to its commit being announced.
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    /// `Stored` events seen (one per batch per commit).
    pub events: usize,
    /// Share of the machine's CPU other processes used meanwhile.
    pub other_cpu: f64,
    /// Most messages read off the socket but not yet announced as committed
    /// at any one time: what the engine's queues held.
    pub max_in_flight: usize,
    /// CPU seconds of the writer thread, and of the whole process, from the
    /// first frame to the last commit (the process includes the server).
    pub writer_cpu_seconds: f64,
    pub process_cpu_seconds: f64,
    /// MiB the writer thread read and wrote through system calls.
    pub writer_read_mib: f64,
    pub writer_written_mib: f64,
}

/// What the benchmark saw of one run, summarized after it ends.
struct Observed {
    /// When each stored message was read off the socket, in announcement order.
    received: Vec<Instant>,
    /// When each stored message's commit was announced.
    announced: Vec<Instant>,
    /// Each `Stored` event: when, and the running total of rows.
    events: Vec<(Instant, usize)>,
}

impl Observed {
    fn summarize(self, timing: &SendTiming, limits: BatchLimits, other_cpu: f64) -> EngineRun {
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        let mut latencies: Vec<Duration> = self
            .received
            .iter()
            .zip(&self.announced)
            .map(|(read, announced)| announced.saturating_duration_since(*read))
            .collect();
        latencies.sort_unstable();
        let mut reads = self.received.clone();
        reads.sort_unstable();
        // At each announcement: messages read by then, minus rows announced.
        let max_in_flight = self
            .events
            .iter()
            .map(|&(at, stored)| {
                reads
                    .partition_point(|read| *read <= at)
                    .saturating_sub(stored)
            })
            .max()
            .unwrap_or(0);
        let rows = self.received.len();
        let done = self.events.last().map_or(timing.first, |&(at, _)| at);
        let seconds = done.duration_since(timing.first).as_secs_f64();
        EngineRun {
            rows,
            max_rows: limits.max_rows,
            max_delay_ms: ms(limits.max_delay),
            seconds,
            rows_per_sec: rows as f64 / seconds,
            send_seconds: timing.last.duration_since(timing.first).as_secs_f64(),
            read_seconds: reads.last().map_or(f64::NAN, |last| {
                last.saturating_duration_since(timing.first).as_secs_f64()
            }),
            latency_p50_ms: ms(percentile(&latencies, 0.50)),
            latency_p99_ms: ms(percentile(&latencies, 0.99)),
            latency_max_ms: ms(latencies.last().copied().unwrap_or_default()),
            events: self.events.len(),
            other_cpu,
            max_in_flight,
            writer_cpu_seconds: f64::NAN,
            process_cpu_seconds: f64::NAN,
            writer_read_mib: f64::NAN,
            writer_written_mib: f64::NAN,
        }
    }
}

/// One run of (b) with a fresh database at `path`.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    path: &Path,
    frames: &Frames,
    limits: BatchLimits,
    experiment: &Experiment,
) -> Result<EngineRun> {
    run_paced(runtime, path, frames, limits, experiment, None)
}

/// [`run`], with the server sending one frame every `pace` instead of as
/// fast as the socket takes them (to see latency under a light load).
pub fn run_paced(
    runtime: &tokio::runtime::Runtime,
    path: &Path,
    frames: &Frames,
    limits: BatchLimits,
    experiment: &Experiment,
    pace: Option<Duration>,
) -> Result<EngineRun> {
    remove_database(path)?;
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let store = Store::open(path, limits).with_context(|| format!("opening {}", path.display()))?;
    if !experiment.is_empty() {
        let experiment = experiment.clone();
        store.write(move |transaction| Ok(experiment.apply(transaction)?))?;
    }
    if experiment.routing_rules > 0 {
        let count = experiment.routing_rules;
        store.write(move |transaction| {
            for rule in bench_rules(count) {
                store::rules::insert_rule(transaction, &rule, 0)?;
            }
            Ok(())
        })?;
    }
    store.write(move |transaction| {
        store::insert_source(
            transaction,
            &NewSource {
                name: "bench".into(),
                protocol: Protocol::Ntfy,
                url: format!("ws://{addr}/bench/ws"),
                enabled: true,
                config: SourceConfig::default(),
            },
            now_ms(),
        )
    })?;
    let expected = frames.len();
    let outcome = runtime.block_on(async {
        let (go, go_signal) = oneshot::channel();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, frames.clone(), pace, go_signal, stopped));
        let engine = Engine::start(store.clone()).await?;
        let mut events = engine.subscribe();
        let cpu = CpuSample::now();
        let (writer_before, process_before) = machine::thread_cpu_seconds("herald-writer");
        let io_before = machine::thread_io("herald-writer");
        let _ = go.send(());
        let counted = tokio::time::timeout(RUN_TIMEOUT, async {
            let mut seen = Observed {
                received: Vec::with_capacity(expected),
                announced: Vec::with_capacity(expected),
                events: Vec::new(),
            };
            let mut stored = 0usize;
            while stored < expected {
                match events.recv().await {
                    Ok(EngineEvent::Stored(batch)) => {
                        let now = Instant::now();
                        stored += batch.len();
                        seen.events.push((now, stored));
                        for message in batch.iter() {
                            seen.received.push(message.received);
                            seen.announced.push(now);
                        }
                    }
                    Ok(EngineEvent::State(..)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        bail!("the benchmark fell {missed} events behind the engine")
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        bail!("the engine stopped after {stored} of {expected} rows")
                    }
                }
            }
            Ok::<_, Error>(seen)
        })
        .await;
        let other_cpu = cpu.others_since();
        let (writer_after, process_after) = machine::thread_cpu_seconds("herald-writer");
        let io_after = machine::thread_io("herald-writer");
        let _ = stop.send(true);
        engine.shutdown().await;
        let timing = match tokio::time::timeout(Duration::from_secs(10), server).await {
            Ok(joined) => joined.context("server task")??,
            Err(_) => bail!("the loopback server never finished (did the source connect?)"),
        };
        let seen = match counted {
            Ok(result) => result?,
            Err(_) => bail!("not all rows were stored within {RUN_TIMEOUT:?}"),
        };
        ensure!(
            seen.received.len() == expected,
            "the engine announced {} rows, expected {expected}",
            seen.received.len()
        );
        let mut run = seen.summarize(&timing, limits, other_cpu);
        run.writer_cpu_seconds = writer_after - writer_before;
        run.process_cpu_seconds = process_after - process_before;
        run.writer_read_mib = mib(io_after.0.saturating_sub(io_before.0));
        run.writer_written_mib = mib(io_after.1.saturating_sub(io_before.1));
        Ok::<_, Error>(run)
    });
    drop(store);
    let run = outcome?;
    verify(path, expected)?;
    Ok(run)
}

/// Fails loudly unless exactly `expected` messages (and search rows) are stored.
fn verify(path: &Path, expected: usize) -> Result<()> {
    let connection = store::open_connection(path)?;
    let (messages, indexed) = stored_and_indexed(&connection)?;
    let (frames, stored_counter): (usize, usize) = connection.query_row(
        "SELECT frames_received, messages_stored FROM source_stats",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if messages != expected || indexed != expected || stored_counter != expected {
        bail!(
            "VERIFY FAILED for {}: {messages} messages, {indexed} indexed, messages_stored counter {stored_counter}; expected exactly {expected}",
            path.display()
        );
    }
    // The `open` event counts as a received frame too.
    if frames != expected + 1 {
        bail!(
            "VERIFY FAILED for {}: frames_received is {frames}, expected {}",
            path.display(),
            expected + 1
        );
    }
    Ok(())
}

/// Rows in `messages`, and documents in the search index.
pub fn stored_and_indexed(connection: &rusqlite::Connection) -> Result<(usize, usize)> {
    let messages = connection.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
    let indexed = connection.query_row("SELECT count(*) FROM messages_fts_docsize", [], |row| {
        row.get(0)
    })?;
    Ok((messages, indexed))
}

/// When the server sent its first and last frame.
pub struct SendTiming {
    pub first: Instant,
    pub last: Instant,
}

/// Accepts one client on `/bench/ws`, sends `open`, waits for `go`, then
/// every frame; keeps the connection open until `stopped`.
pub async fn serve(
    listener: TcpListener,
    frames: Frames,
    pace: Option<Duration>,
    go: oneshot::Receiver<()>,
    mut stopped: watch::Receiver<bool>,
) -> Result<SendTiming> {
    let (stream, _) = listener.accept().await?;
    stream.set_nodelay(true)?;
    let socket = tokio_tungstenite::accept_hdr_async(stream, check_path).await?;
    let (mut sink, mut incoming) = socket.split();
    let open = format!(
        r#"{{"id":"open0","time":{},"event":"open","topic":"bench"}}"#,
        now_ms() / 1000
    );
    sink.send(Frame::text(open)).await?;
    go.await.context("the benchmark never said go")?;
    let first = Instant::now();
    match pace {
        None => {
            for frame in frames.iter() {
                sink.feed(Frame::Text(frame.clone())).await?;
            }
            sink.flush().await?;
        }
        Some(pace) => {
            let mut ticks = tokio::time::interval(pace);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for frame in frames.iter() {
                ticks.tick().await;
                sink.send(Frame::Text(frame.clone())).await?;
            }
        }
    }
    let last = Instant::now();
    // Answer pings and notice the close until the run is over.
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            next = incoming.next() => match next {
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
    }
    let _ = sink.close().await;
    Ok(SendTiming { first, last })
}

/// Refuses any path but the benchmark topic's. Tungstenite's callback
/// signature fixes the (large) error type.
#[allow(clippy::result_large_err)]
fn check_path(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() == "/bench/ws" {
        Ok(response)
    } else {
        let mut refusal = ErrorResponse::new(Some("no such topic".into()));
        *refusal.status_mut() = StatusCode::NOT_FOUND;
        Err(refusal)
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// `count` routing rules of the kinds people write, cycling through ten
/// (regexes, substrings in English and Chinese, tags, priorities, a time
/// window); about a third of the corpus matches one of them.
pub fn bench_rules(count: usize) -> Vec<store::rules::NewRule> {
    use herald_core::rules::{Action, Match, TextMatch, TimeWindow};
    let kinds: [(Match, Action); 10] = [
        (
            Match {
                title: Some(TextMatch::Regex(
                    r"^(deploy|build)\b.*\b(failed|passed)$".into(),
                )),
                ..Match::default()
            },
            Action::AddTag { tag: "ci".into() },
        ),
        (
            Match {
                tags_any: vec!["warning".into(), "urgent".into()],
                min_priority: Some(4),
                ..Match::default()
            },
            Action::Star,
        ),
        (
            Match {
                body: Some(TextMatch::Contains("refund".into())),
                ..Match::default()
            },
            Action::SetGroup {
                group: "refunds".into(),
            },
        ),
        (
            Match {
                topics: vec!["alerts".into()],
                max_priority: Some(2),
                ..Match::default()
            },
            Action::StoreSilently,
        ),
        (
            Match {
                title: Some(TextMatch::Contains("库存".into())),
                ..Match::default()
            },
            Action::AddTag {
                tag: "inventory".into(),
            },
        ),
        (
            Match {
                time: Some(TimeWindow {
                    start_minute: 22 * 60,
                    end_minute: 7 * 60,
                    weekdays: TimeWindow::EVERY_DAY,
                }),
                ..Match::default()
            },
            Action::StoreSilently,
        ),
        (
            Match {
                body: Some(TextMatch::Regex(r"\b\d{3}-\d{4}\b".into())),
                ..Match::default()
            },
            Action::MarkRead,
        ),
        (
            Match {
                tags_all: vec!["ci".into(), "rocket".into()],
                ..Match::default()
            },
            Action::Notify {
                urgency: Some(herald_core::rules::Urgency::Low),
                sound: None,
            },
        ),
        (
            Match {
                title: Some(TextMatch::Contains("payment".into())),
                min_priority: Some(3),
                ..Match::default()
            },
            Action::AddTag {
                tag: "finance".into(),
            },
        ),
        (
            Match {
                body: Some(TextMatch::Contains("告警".into())),
                ..Match::default()
            },
            Action::Star,
        ),
    ];
    (0..count)
        .map(|index| {
            let (matcher, action) = kinds[index % kinds.len()].clone();
            store::rules::NewRule {
                name: format!("bench rule {index}"),
                enabled: true,
                matcher,
                actions: vec![action],
                stop: false,
            }
        })
        .collect()
}
