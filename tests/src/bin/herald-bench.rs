//! `herald-bench`: a benchmark that prints figures (it is not a timed test).
//!
//! ```text
//! cargo run --release -p herald-tests --bin herald-bench -- [ingest|search|all] [options]
//! ```
//!
//! (a) raw SQLite inserts with Herald's schema and statements, (b) Herald's
//! engine fed by a loopback ntfy WebSocket server, on tmpfs and on disk, and
//! (c) search latency over a large inbox. `--help` lists the options.

mod herald_bench;

fn main() -> std::process::ExitCode {
    herald_bench::main()
}
