//! The command line. These names and flags are a contract for scripts and
//! tests: add to them, never rename.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Herald: a desktop notification center for ntfy, Gotify, JSON WebSocket feeds and STOMP/MQTT brokers"
)]
pub struct Cli {
    /// Where Herald keeps its database (default: the platform data directory, e.g. ~/.local/share/herald).
    #[arg(long, global = true, env = "HERALD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Log more to stderr (-v info, -vv debug); or set HERALD_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Without a command, Herald opens its window.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, list, remove, enable, disable and test sources.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Add, list, order, test and remove routing rules.
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Pause notifications (do not disturb) or resume them.
    Dnd(DndArgs),
    /// Post a message to the local publish API of the running Herald.
    Publish(PublishArgs),
    /// Show the local publish API, turn it on or off, move it, or make a new token.
    PublishApi(PublishApiArgs),
    /// Run the engine: connect every enabled source and store what arrives.
    Run(RunArgs),
    /// Start a demo feed on loopback, subscribe to it, and run the engine.
    Demo(DemoArgs),
    /// List and triage stored messages.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Full-text search, newest first (English and Chinese).
    Search(SearchArgs),
    /// Export every message as JSON Lines.
    Export { file: PathBuf },
    /// Import messages from a JSON Lines export; messages already stored are skipped.
    Import { file: PathBuf },
    /// Counts per source and in total.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Show or set how long messages are kept.
    Retention(RetentionArgs),
    /// Delete messages that the retention settings no longer keep.
    Prune,
    /// Check the database and its search index.
    Check {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    Ntfy,
    Gotify,
    Json,
    Stomp,
    Mqtt,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a source and print its id.
    Add(Box<SourceAddArgs>),
    /// List sources with their state and where their secrets are kept.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a source and its messages.
    Remove {
        id: i64,
        /// Keep the source's messages in the inbox.
        #[arg(long)]
        keep_messages: bool,
    },
    /// Enable a source.
    Enable { id: i64 },
    /// Disable a source (its messages stay).
    Disable { id: i64 },
    /// Connect once, listen briefly, and report what the server sent.
    Test {
        id: i64,
        /// Seconds to listen after connecting.
        #[arg(long, default_value_t = 3)]
        listen: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SourceAddArgs {
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum)]
    pub protocol: ProtocolArg,
    /// ws://, wss://, http:// or https://; for ntfy the topic URL, for Gotify the server URL,
    /// for brokers the WebSocket endpoint (RabbitMQ: ws://host:15674/ws STOMP, :15675/ws MQTT).
    #[arg(long)]
    pub url: String,
    /// Access token (ntfy tk_…, Gotify client token, or a Bearer token for json).
    /// Brokers log in with --username and --password.
    #[arg(long)]
    pub token: Option<String>,
    #[arg(long, requires = "password")]
    pub username: Option<String>,
    #[arg(long, requires = "username")]
    pub password: Option<String>,
    /// Send credentials in the URL (ntfy ?auth=, Gotify ?token=) instead of a header.
    #[arg(long)]
    pub auth_in_query: bool,
    /// Extra header, 'Name: value'; repeatable.
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// json, stomp, mqtt: field=/json/pointer for id, title, body, priority, time, tags, url,
    /// group; repeatable. Broker headers are under /$headers/NAME.
    #[arg(long = "map", value_name = "FIELD=/POINTER")]
    pub map: Vec<String>,
    /// json: a text frame to send after connecting (e.g. a subscribe request).
    #[arg(long)]
    pub subscribe_frame: Option<String>,
    /// json: URL used when resuming, with {last_id}, {last_time} or {last_time_ms}.
    #[arg(long)]
    pub resume_url: Option<String>,
    /// json: take text frames that are not JSON as plain message bodies.
    #[arg(long)]
    pub text_frames: bool,
    /// PEM file of extra certificate authorities to trust.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Reconnect when nothing arrives for this many seconds.
    #[arg(long, default_value_t = 90)]
    pub read_timeout: u64,
    /// Reject (and count) frames larger than this many bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_frame_bytes: usize,
    /// stomp: a destination (/queue/alerts, /exchange/amq.topic/orders.#); mqtt: a topic
    /// filter (alerts/#); repeatable.
    #[arg(long = "subscribe", value_name = "DESTINATION|FILTER")]
    pub subscriptions: Vec<String>,
    /// stomp: the virtual host (the CONNECT host header).
    #[arg(long)]
    pub vhost: Option<String>,
    /// mqtt: the client id; stomp: names durable subscriptions. Made up when left out.
    #[arg(long)]
    pub client_id: Option<String>,
    /// mqtt: quality of service, 0 or 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,
    /// stomp: a durable subscription; mqtt: a persistent session. Messages sent while
    /// Herald is off are delivered when it is back.
    #[arg(long)]
    pub durable: bool,
    /// stomp: the header that identifies a message across redeliveries (default amqp-message-id).
    #[arg(long)]
    pub id_header: Option<String>,
    /// Send the credentials even over plain ws:// or http:// to another
    /// machine, where anyone on the network path can read them.
    #[arg(long)]
    pub allow_plain_credentials: bool,
    /// Add the source disabled.
    #[arg(long)]
    pub disabled: bool,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Letters, digits, '-', '_' or '.'.
    pub topic: String,
    /// The message text; read from stdin when left out.
    pub message: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    /// 1 (min) to 5 (urgent), or min, low, default, high, urgent.
    #[arg(long)]
    pub priority: Option<String>,
    /// Comma-separated tags.
    #[arg(long)]
    pub tags: Option<String>,
    /// A link opened when the message is clicked (http, https or mailto).
    #[arg(long)]
    pub click: Option<String>,
    /// Render the message as markdown.
    #[arg(long)]
    pub markdown: bool,
    /// An id that makes a repeated publish a duplicate instead of a second message.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PublishApiArgs {
    /// on, off, or token (make a new one and print it); without one, show the state.
    #[arg(value_enum)]
    pub action: Option<PublishApiAction>,
    /// The port to listen on (1024–65535), with on.
    #[arg(long)]
    pub port: Option<u16>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PublishApiAction {
    On,
    Off,
    Token,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run without a window, printing one line per new message.
    #[arg(long)]
    pub headless: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<u64>,
    /// Print nothing per message.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run without a window, printing one line per new message.
    #[arg(long)]
    pub headless: bool,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub exit_after: Option<u64>,
    /// Milliseconds between new demo messages.
    #[arg(long, default_value_t = 4000)]
    pub interval_ms: u64,
}

#[derive(Debug, Args, Default)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[arg(long)]
    pub source: Option<i64>,
    /// Only unread messages.
    #[arg(long, conflicts_with_all = ["starred", "archived", "all"])]
    pub unread: bool,
    #[arg(long, conflicts_with_all = ["archived", "all"])]
    pub starred: bool,
    #[arg(long, conflicts_with = "all")]
    pub archived: bool,
    /// Include archived and snoozed messages.
    #[arg(long)]
    pub all: bool,
    /// 1 (min) to 5 (urgent).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub min_priority: Option<u8>,
    #[arg(long)]
    pub tag: Option<String>,
    /// Only messages matching this full-text query.
    #[arg(long)]
    pub search: Option<String>,
    /// Only messages older than this message id (to page on).
    #[arg(long)]
    pub before: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List messages, newest first.
    List(ListArgs),
    /// Mark messages read.
    Read(Selection),
    /// Mark messages unread.
    Unread(Selection),
    Star {
        ids: Vec<i64>,
    },
    Unstar {
        ids: Vec<i64>,
    },
    /// Archive messages (marks them read).
    Archive {
        ids: Vec<i64>,
    },
    Unarchive {
        ids: Vec<i64>,
    },
    /// Hide messages until a time: +30m, +2h, +1d, or RFC 3339.
    Snooze {
        ids: Vec<i64>,
        #[arg(long)]
        until: String,
    },
    /// Delete messages.
    Delete(Selection),
}

#[derive(Debug, Args)]
pub struct Selection {
    pub ids: Vec<i64>,
    /// Every message (or every message of --source).
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    #[arg(long, requires = "all")]
    pub source: Option<i64>,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    pub query: String,
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct RetentionArgs {
    /// Delete messages older than this many days (0 keeps them forever).
    #[arg(long)]
    pub max_age_days: Option<u32>,
    /// Keep at most this many messages per source (0 for no limit).
    #[arg(long)]
    pub max_per_source: Option<u32>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Add a rule (evaluated after the existing ones) and print its id.
    Add(Box<RuleAddArgs>),
    /// List rules in the order they are evaluated.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a rule.
    Remove { id: i64 },
    /// Enable a rule.
    Enable { id: i64 },
    /// Disable a rule (it is kept, but not evaluated).
    Disable { id: i64 },
    /// Move a rule to a position (1 = evaluated first).
    Move {
        id: i64,
        #[arg(long)]
        to: usize,
    },
    /// Show what the rules would do with the newest stored messages.
    Test {
        /// Only this rule (even if it is disabled).
        #[arg(long)]
        rule: Option<i64>,
        /// How many of the newest messages to try.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Webhooks and commands that failed, newest first.
    Failures {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UrgencyArg {
    Low,
    Normal,
    Critical,
}

#[derive(Debug, Args)]
pub struct RuleAddArgs {
    #[arg(long)]
    pub name: String,
    /// Add the rule disabled.
    #[arg(long)]
    pub disabled: bool,
    /// Do not evaluate later rules for a message this rule matched.
    #[arg(long)]
    pub stop: bool,

    // ---- match (everything given must hold)
    /// Only messages of this source id; repeatable.
    #[arg(long = "source", value_name = "ID", help_heading = "Match")]
    pub sources: Vec<i64>,
    /// ntfy topic or Gotify application; repeatable.
    #[arg(long = "topic", help_heading = "Match")]
    pub topics: Vec<String>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5), help_heading = "Match")]
    pub min_priority: Option<u8>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5), help_heading = "Match")]
    pub max_priority: Option<u8>,
    /// Has at least one of these tags; repeatable.
    #[arg(long = "tag-any", help_heading = "Match")]
    pub tags_any: Vec<String>,
    /// Has every one of these tags; repeatable.
    #[arg(long = "tag-all", help_heading = "Match")]
    pub tags_all: Vec<String>,
    /// Title contains this text (case-insensitive).
    #[arg(long, conflicts_with = "title_regex", help_heading = "Match")]
    pub title: Option<String>,
    /// Title matches this regular expression (case-insensitive).
    #[arg(long, help_heading = "Match")]
    pub title_regex: Option<String>,
    /// Body contains this text (case-insensitive).
    #[arg(long, conflicts_with = "body_regex", help_heading = "Match")]
    pub body: Option<String>,
    /// Body matches this regular expression (case-insensitive).
    #[arg(long, help_heading = "Match")]
    pub body_regex: Option<String>,
    /// Local time window, HH:MM-HH:MM (22:00-07:00 crosses midnight).
    #[arg(long, value_name = "HH:MM-HH:MM", help_heading = "Match")]
    pub between: Option<String>,
    /// Weekdays the time window starts on: mon,tue,… (default every day).
    #[arg(
        long,
        requires = "between",
        value_name = "DAYS",
        help_heading = "Match"
    )]
    pub days: Option<String>,

    // ---- actions (at least one)
    /// Notify (the default for every message); with --urgency or --sound to override them.
    #[arg(long, help_heading = "Actions")]
    pub notify: bool,
    #[arg(long, value_enum, help_heading = "Actions")]
    pub urgency: Option<UrgencyArg>,
    #[arg(long, help_heading = "Actions")]
    pub sound: Option<String>,
    /// Store without notifying.
    #[arg(long, help_heading = "Actions")]
    pub silent: bool,
    #[arg(long, help_heading = "Actions")]
    pub mark_read: bool,
    #[arg(long, help_heading = "Actions")]
    pub star: bool,
    /// Add this tag; repeatable.
    #[arg(long = "add-tag", help_heading = "Actions")]
    pub add_tags: Vec<String>,
    /// Put the message in this group.
    #[arg(long, help_heading = "Actions")]
    pub group: Option<String>,
    /// Do not store the message (it is counted per source).
    #[arg(long, help_heading = "Actions")]
    pub drop: bool,
    /// POST the message as JSON to this http(s) URL.
    #[arg(long, help_heading = "Actions")]
    pub webhook: Option<String>,
    /// A header for the webhook, 'Name: value'; repeatable.
    #[arg(
        long = "webhook-header",
        requires = "webhook",
        value_name = "'NAME: VALUE'",
        help_heading = "Actions"
    )]
    pub webhook_headers: Vec<String>,
    /// Run this program with the message in HERALD_* variables and JSON on stdin (no shell).
    #[arg(long, help_heading = "Actions")]
    pub command: Option<String>,
    /// An argument for --command, passed as is; repeatable.
    #[arg(
        long = "arg",
        requires = "command",
        allow_hyphen_values = true,
        help_heading = "Actions"
    )]
    pub args: Vec<String>,
    /// Seconds a webhook or command may take.
    #[arg(long, default_value_t = 10, help_heading = "Actions")]
    pub timeout: u32,
}

#[derive(Debug, Args)]
pub struct DndArgs {
    /// `on` (until resumed), `off`, a duration (`30m`, `1h`, `2d`) or `tomorrow`.
    pub state: Option<String>,
    #[arg(long)]
    pub json: bool,
}
