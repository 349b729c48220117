//! # herald
//!
//! The `herald` binary: the command line for scripts and tests, and (in a
//! later version) the desktop window. It parses arguments and calls into
//! `herald-core`; it holds no engine logic of its own.
//!
//! # Layout
//! - [`app`]: the desktop window (Tauri): state, commands, UI events.
//! - [`cli`]: the subcommands and their flags (the scripting contract).
//! - [`commands`]: what each subcommand does, in terms of the core.
//! - [`dto`]: the types that cross into the UI, with generated TypeScript bindings.
//! - [`output`]: human and JSON output, and terminal-safe text.

pub mod app;
pub mod cli;
pub mod commands;
pub mod dto;
pub mod i18n;
pub mod notifier;
pub mod output;
pub mod publish_commands;
pub mod rule_commands;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

/// Parses the command line, runs the command, and turns an error into one
/// line on stderr and a non-zero exit.
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    init_logging(cli.verbose);
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            let mut line = error.to_string();
            for cause in error.chain().skip(1) {
                line.push_str(": ");
                line.push_str(&cause.to_string());
            }
            let line = output::terminal_safe(&line);
            eprintln!("{}", i18n::text("cli.prefixed", &[("message", &line)]));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,herald=info,herald_core=info",
        _ => "debug",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("HERALD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Libraries that print whole requests, credentials included, at trace
    // level never get there, whatever HERALD_LOG asks for.
    for directive in ["tungstenite::handshake=debug", "hyper=debug", "h2=debug"] {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Help and version print as usual; a usage mistake becomes one line that
/// says what was wrong and where to look.
fn usage_error(error: clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(error.exit_code().clamp(0, 255) as u8);
    }
    // The first paragraph of clap's message, on one line.
    let rendered = error.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .skip_while(|line| line.trim().is_empty())
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = paragraph.join(" ");
    let message = message.trim_start_matches("error: ").trim();
    eprintln!("{}", i18n::text("cli.usage_error", &[("message", message)]));
    ExitCode::from(2)
}
