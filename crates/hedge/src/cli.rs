//! Command-line arguments: what each command does, as `--help` shows it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

/// A bad configuration or bad usage: `hedge` exits with status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a usage error (exit status 2) from the current function.
#[macro_export]
macro_rules! usage {
    ($($arg:tt)*) => { return Err(anyhow::Error::new($crate::cli::UsageError(format!($($arg)*)))) };
}

#[derive(Debug, Parser)]
#[command(
    name = "hedge",
    version,
    about = "A DNS filtering resolver for public-access networks",
    long_about = "hedge gives every user profile (Adult, Child, Walled Garden, ...) its own DNS listener, \
checks every query against a compressed index of categorised domains, answers blocked names with a \
sinkhole that says why, and resolves the rest by full recursion or forwarding.\n\n\
Start here:\n  hedge serve                       run with the built-in three-profile setup on 127.0.0.1:5300-5302\n  \
hedge lists update --out x.hidx   download the lists of lists/sources.toml and build an index\n  \
hedge lists compile --out x.hidx  build an index from local copies of the lists\n  \
hedge lookup --index x.hidx NAME  which categories is NAME in, and which list said so?",
    after_help = "Exit status: 0 success, 1 runtime failure, 2 bad configuration or usage.\nLogging: HEDGE_LOG=debug (tracing filter syntax) or -v/-q."
)]
pub struct Cli {
    /// More log output (-v info→debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The log filter of `-q`, the default and `-v`/`-vv`. The first two keep hickory's
    /// recursor to errors: it warns on every NS probe that finds no records, which is most
    /// cache misses (`www.example.com` is not a zone), and hedge reports upstream failures
    /// itself (SERVFAIL with an EDE, the metrics and statistics).
    pub fn log_filter(&self) -> &'static str {
        match (self.quiet, self.verbose) {
            (true, _) => "warn,hickory_resolver::recursor=error",
            (_, 0) => "info,hickory_resolver::recursor=error",
            (_, 1) => "debug",
            _ => "trace",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile, verify and inspect category list indexes.
    #[command(subcommand)]
    Lists(ListsCommand),
    /// Which categories is a name in, and which list said so?
    ///
    /// Finds the longest listed suffix of each name (a listed name covers its subdomains).
    /// Names may be Unicode; they are converted to punycode first.
    Lookup(LookupArgs),
    /// Run the resolver.
    ///
    /// With no --config, runs the built-in setup: profiles adult, child and walled-garden on
    /// 127.0.0.1:5300, 5301 and 5302 (UDP and TCP), the built-in starter index, and full
    /// recursion from the root. SIGHUP reloads the configuration and index (a failed reload
    /// keeps the running ones); a changed index file is picked up within 2 seconds.
    Serve {
        /// The configuration file (see deploy/hedge.toml).
        #[arg(long, short, env = "HEDGE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Check a configuration: everything `serve` does except binding sockets.
    ///
    /// Loads the index, checks every category id, path, listener and subnet, and warns when
    /// one setting defeats another. Exit status 0 when hedge would start, 2 when it would not.
    CheckConfig {
        /// The configuration file (default: --config, else the built-in configuration).
        file: Option<PathBuf>,
        /// The configuration file, as the other commands take it; FILE wins.
        #[arg(long, short, env = "HEDGE_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Explain the decision for a name: profile → rule or category → source list → index version.
    ///
    /// An allowed name is resolved through the configured upstream, as `serve` does, and
    /// every CNAME target in its answer decided too: the verdict is the one `serve` gives.
    /// `--offline` decides from the index and custom lists alone. Exit status 0; 1 when the
    /// upstream failed (the offline decision is then printed, marked as such).
    Explain(ExplainArgs),
    /// Query statistics for Freedom of Information answers, from the aggregates hedge keeps.
    #[command(verbatim_doc_comment)]
    ///
    /// Counts are rolled up the category tree (a root's row includes its children). Examples:
    ///   hedge report --from 2025-01 --to 2025-12 --by month,category --action blocked
    ///   hedge report --from 2025-01 --to 2025-12 --top-domains 50 --format csv
    ///   hedge report --from 2025-01 --to 2025-12 --by month --suppress-below 10
    ///   hedge report changes --from 2025-01 --to 2025-06 --category gambling --format csv
    Report(ReportCommand),
    /// What each profile blocks: categories as a tree, custom entries, walled garden, actions.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Unblock requests from the block page, and the staff's decisions on them.
    ///
    /// Requests, grants, local recategorisations and the audit log live in the statistics
    /// file (`[stats] path`, or --db). A running `hedge serve` applies a grant or a
    /// recategorisation within a second. Decisions are recorded with the staff member's name:
    /// --as NAME, else the user who ran sudo ($SUDO_USER), else the Unix user.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// Staff accounts for the portal's staff pages (`[portal] staff_listen`).
    ///
    /// Accounts live in the statistics file (`[stats] path`, or --db): argon2id password
    /// hashes, and the lockout after repeated failed logins. The password is read from the
    /// terminal without echo, or from the first line of standard input with
    /// --password-stdin. Adding, changing and removing an account go into the audit log.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// DHCP and VLAN interface files from the listeners' `[listener.network]` tables.
    ///
    /// Each VLAN's DHCP hands out its listener's port-53 addresses as DNS servers (IPv6:
    /// DHCPv6 and RDNSS in router advertisements). The configuration is checked first, as
    /// check-config does. Files are written into --out, and named on standard output.
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Write the man pages or shell completions (for packagers; hidden from --help).
    #[command(hide = true)]
    Generate {
        /// What to write.
        what: Generated,
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// DHCP server configuration: kea (kea-dhcp4.conf, kea-dhcp6.conf, radvd.conf), dnsmasq
    /// (one file, DNS off), isc (dhcpd.conf, dhcpd6.conf, radvd.conf).
    Dhcp {
        #[arg(long, value_enum)]
        format: crate::network::DhcpFormat,
        #[command(flatten)]
        args: NetworkArgs,
    },
    /// The hedge host's VLAN interfaces with the listener addresses on them.
    Interfaces {
        #[arg(long, value_enum)]
        format: crate::network::InterfacesFormat,
        #[command(flatten)]
        args: NetworkArgs,
    },
}

#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// The configuration file (default: the built-in configuration).
    #[arg(long, short, env = "HEDGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The trunk interface the VLANs are on; VLAN 20 becomes `<parent>.20`.
    #[arg(long)]
    pub parent: String,
    /// The folder to write into (created if missing; files of the same name are replaced).
    #[arg(long, short)]
    pub out: PathBuf,
}

/// What `hedge generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// One page per command: hedge.1, hedge-serve.1, hedge-lists-update.1, ...
    Man,
    /// hedge.bash, _hedge (zsh) and hedge.fish.
    Completions,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the live policy from the configuration (always current: generated, not written).
    Show {
        /// The configuration file (default: the built-in configuration).
        #[arg(long, short, env = "HEDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Only this profile.
        #[arg(long, short)]
        profile: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PolicyFormat::Markdown)]
        format: PolicyFormat,
    },
    /// What a new configuration would change, per profile: categories, custom domains,
    /// schedules and block actions; and, from the stored counts of a period (default: last
    /// month), the blocked queries it would have allowed and the allowed queries it would
    /// have blocked, with the top domains.
    Diff(PolicyDiffArgs),
}

/// `hedge policy diff`.
#[derive(Debug, Args)]
pub struct PolicyDiffArgs {
    /// The new configuration file.
    #[arg(long, short)]
    pub config: PathBuf,
    /// The configuration in use (default: the built-in configuration).
    #[arg(long, env = "HEDGE_CONFIG")]
    pub current: Option<PathBuf>,
    /// The index both configurations are checked against (default: the current one's).
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// The statistics file (default: `[stats] path` of the current configuration).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// First month (YYYY-MM) or day of the counts (default: last month).
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Last month or day, inclusive.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// The most-blocked domains listed per profile.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// List no domain blocked fewer than K times (as `hedge report --suppress-below`).
    #[arg(long, value_name = "K")]
    pub suppress_below: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// `hedge policy diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Markdown,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add an account.
    Add {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The login name: letters, digits, '.', '-', '_' or '@'.
        name: String,
        #[command(flatten)]
        password: PasswordArg,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Change an account's password (this also unlocks it).
    Passwd {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The login name.
        name: String,
        #[command(flatten)]
        password: PasswordArg,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Remove an account.
    Remove {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The login name.
        name: String,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// The accounts, with their lockouts.
    List {
        #[command(flatten)]
        store: StatsFileArgs,
    },
}

#[derive(Debug, Args)]
pub struct PasswordArg {
    /// Read the password from the first line of standard input (for scripts).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// The requests, oldest first (the queue: --status open).
    List {
        #[command(flatten)]
        store: StatsFileArgs,
        /// Only requests in this state.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only requests for this name.
        #[arg(long)]
        name: Option<String>,
        /// Only the newest N.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Output format (default: table on a terminal, csv otherwise).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// One request in full, with the contacts left for it (personal data: for replying).
    Show {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The request's number.
        id: i64,
    },
    /// Allow an open request's name on one or more profiles, at once and until --until.
    Grant {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The request's number.
        id: i64,
        /// A profile to allow it on (repeat for several); checked against the configuration.
        #[arg(long, required = true)]
        profile: Vec<String>,
        /// When the grant ends by itself: a date (the end of that day, in `timezone`), a time
        /// (2026-06-01T17:00:00Z) or a length of time from now (2h, 7d, 1 month).
        #[arg(long, value_name = "WHEN")]
        until: Option<String>,
        /// Why, for the record.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Refuse an open request, saying why.
    Deny {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The request's number.
        id: i64,
        /// Why (required).
        #[arg(long, required = true)]
        note: String,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Close an open request without a decision (asked by mistake, no longer needed).
    Withdraw {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The request's number.
        id: i64,
        /// Why, for the record.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// End a live grant now (`hedge policy show` lists them with their numbers).
    Revoke {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The grant's number.
        grant: i64,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Put a name into a category for every profile, or take it out (--remove); --clear
    /// drops the local decision so the lists decide again.
    Recategorise {
        #[command(flatten)]
        store: StatsFileArgs,
        /// The name (its subdomains follow it).
        name: String,
        /// The category id (as `hedge policy show` lists them); checked against the index.
        #[arg(long)]
        category: String,
        /// Take the name out of the category instead.
        #[arg(long, conflicts_with = "clear")]
        remove: bool,
        /// Drop the local recategorisation.
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        actor: ActorArg,
    },
    /// The requests of a period for publication (FOI Q6 and Q7): name, category, profile,
    /// times requested, decision and its date; nothing about who asked.
    Export {
        #[command(flatten)]
        store: StatsFileArgs,
        /// First month (YYYY-MM) or day (YYYY-MM-DD) a request was made in.
        #[arg(long)]
        from: String,
        /// Last month or day, inclusive.
        #[arg(long)]
        to: String,
        /// Leave out names asked for fewer than K times (counted in one line per decision)
        /// and hide counts that would give them away.
        #[arg(long, value_name = "K")]
        suppress_below: Option<u64>,
        /// Output format (default: table on a terminal, csv otherwise).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
    /// Who did what: every decision, revocation and recategorisation, oldest first.
    Audit {
        #[command(flatten)]
        store: StatsFileArgs,
        /// From this day (YYYY-MM-DD) on.
        #[arg(long)]
        since: Option<String>,
        /// At most the newest N entries.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: usize,
        /// Output format (default: table on a terminal, csv otherwise).
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

/// A request's state, as `--status` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Open,
    Granted,
    Denied,
    Withdrawn,
}

/// Who is deciding, for the audit log.
#[derive(Debug, Args)]
pub struct ActorArg {
    /// The staff member to record (default: $SUDO_USER, else the Unix user).
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    Markdown,
    Csv,
    Json,
}

/// `hedge report [changes]`: the counts report, or the list changes one.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportCommand {
    #[command(subcommand)]
    pub command: Option<ReportSubcommand>,
    #[command(flatten)]
    pub counts: ReportArgs,
}

#[derive(Debug, Subcommand)]
pub enum ReportSubcommand {
    /// Which sites were added, removed or recategorised in a period, by name.
    ///
    /// Reads what `hedge lists compile` and `hedge lists update` record at each compile (in
    /// the statistics file beside the index, or their --stats-db). Exit status 1 when the
    /// file holds no list changes in the period.
    Changes(ChangesArgs),
}

/// Which statistics file a report reads.
#[derive(Debug, Args)]
pub struct StatsFileArgs {
    /// The configuration file whose statistics to read (default: the built-in configuration).
    #[arg(long, short, env = "HEDGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The statistics file (default: `[stats] path` of the configuration).
    #[arg(long)]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    #[command(flatten)]
    pub store: StatsFileArgs,
    /// First month (YYYY-MM) or day (YYYY-MM-DD).
    #[arg(long)]
    pub from: String,
    /// Last month or day, inclusive.
    #[arg(long)]
    pub to: String,
    /// Only this category and its children.
    #[arg(long)]
    pub category: Option<String>,
    /// Output format (default: table on a terminal, csv otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StatsFileArgs,
    /// First month (YYYY-MM) or day (YYYY-MM-DD).
    #[arg(long, required = true)]
    pub from: Option<String>,
    /// Last month or day, inclusive.
    #[arg(long, required = true)]
    pub to: Option<String>,
    /// Break down by: month, day, profile, category, action (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    /// Only this profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// Only this category and its children.
    #[arg(long)]
    pub category: Option<String>,
    /// Only this action: allowed, blocked, rewritten, refused, servfail.
    #[arg(long)]
    pub action: Option<String>,
    /// Also list the N most-blocked domains.
    #[arg(long)]
    pub top_domains: Option<usize>,
    /// Print counts below K as `<K`, so a published table cannot single anyone out.
    #[arg(long)]
    pub suppress_below: Option<u64>,
    /// Output format (default: table on a terminal, csv otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The configuration file (default: the built-in configuration).
    #[arg(long, short, env = "HEDGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The profile to decide for.
    #[arg(long, short)]
    pub profile: String,
    /// The name to explain.
    pub name: String,
    /// The query type (the decision is the same for every type; the answer's shape is not).
    #[arg(default_value = "A")]
    pub qtype: String,
    /// Decide from the index and custom lists alone, without resolving the name (CNAME
    /// targets, which `serve` also checks, are then not seen).
    #[arg(long)]
    pub offline: bool,
    /// Decide as at this time, for schedules: `2026-12-07T10:00` (local, in the configured
    /// `timezone`) or `2026-12-07T10:00:00Z`. Default: now.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ListsCommand {
    /// Compile the sources of a manifest into one index file.
    ///
    /// Reads every source (plain, hosts, adblock, UT1 directories, RPZ; plain, .gz or .zst),
    /// normalises names (case, trailing dot, IDNA), and writes the index atomically: a failed
    /// compile never leaves a half-written file. Bad lines are counted warnings naming file:line.
    Compile(CompileArgs),
    /// Download every source with a `url`, then compile and replace the index if anything changed.
    ///
    /// Conditional GETs (ETag, Last-Modified) keep a copy of each source in --cache; UT1's
    /// .tar.gz is unpacked there (links skipped; paths out of the folder, devices and
    /// oversized members refused). The compile fails closed as `lists compile` does, and a
    /// failed download or compile leaves the index and the cached copies as they were.
    /// Exit status 0 ("updated" or "unchanged"), 1 when a source or the compile failed.
    Update(UpdateArgs),
    /// The indexes kept in the history folder: date, sources and their versions, names per category.
    ///
    /// `lists compile` and `lists update` keep a copy of each new index, and a record of it,
    /// in `history/` beside --out (the newest --keep-history of them).
    History {
        /// The index whose history to show (its folder's `history/`).
        #[arg(long, short, required_unless_present = "dir", conflicts_with = "dir")]
        out: Option<PathBuf>,
        /// The history folder itself.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Check an index file: header, format version, checksum, metadata.
    Verify {
        /// The index file.
        file: PathBuf,
    },
    /// What changed between two indexes: names added, removed and recategorised per category.
    Diff {
        /// The older index.
        old: PathBuf,
        /// The newer index.
        new: PathBuf,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        /// Example names to list per category.
        #[arg(long, default_value_t = 20)]
        names: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Names per category and per source list in an index.
    Stats {
        /// The index file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The source manifest.
    #[arg(long, default_value = "lists/sources.toml")]
    pub sources: PathBuf,
    /// The taxonomy (default: the one built into hedge, lists/categories.toml).
    #[arg(long)]
    pub taxonomy: Option<PathBuf>,
    /// Where to write the index.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Where to record what changed against the previous index at --out (default:
    /// hedge-stats.sqlite beside the index; `-` to skip).
    #[arg(long, env = "HEDGE_STATS_DB")]
    pub stats_db: Option<PathBuf>,
    /// Warnings to print (all are counted).
    #[arg(long, default_value_t = 20)]
    pub show_warnings: usize,
    /// Store every listed name. By default a name with the same categories and sources as a
    /// listed parent (www.example.com under example.com) is folded into it: it is blocked
    /// the same, but lookups, explanations and statistics name the parent. On the shipped
    /// lists that is a fifth of the names and 6% of the index.
    #[arg(long)]
    pub keep_covered: bool,
    /// Refuse to replace the index at --out when a category would lose more than this
    /// share of its names (percent): a broken download looks like a category emptied.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_shrink: u8,
    /// Replace the index even when categories shrink past --max-shrink (they are still listed).
    #[arg(long)]
    pub allow_shrink: bool,
    /// How many indexes to keep in `history/` beside --out, with a record of each (`hedge
    /// lists history`); the oldest beyond are deleted. 0 keeps none.
    #[arg(long, default_value_t = 12, value_name = "N")]
    pub keep_history: usize,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Where downloaded copies and their ETags are kept (default: lists-cache beside --out).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Seconds to establish a connection.
    #[arg(long, default_value_t = 15, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: u64,
    /// Seconds without a byte before a download is abandoned (a hung server).
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub stall_timeout: u64,
    /// Seconds for one whole download (a server that trickles forever).
    #[arg(long, default_value_t = 900, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Retries after a transient failure (5xx, 429, a lost or timed-out connection), waiting
    /// 2 s, then 4 s, 8 s…; a 4xx is not retried.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Size cap of each download in bytes, unless the source sets `max_size`; also the cap of
    /// each file unpacked from an archive.
    #[arg(long, default_value_t = 512 << 20, value_name = "BYTES")]
    pub max_size: u64,
    /// Cap on the bytes one archive unpacks to (a gzip bomb stops here).
    #[arg(long, default_value_t = 4 << 30, value_name = "BYTES")]
    pub max_unpacked: u64,
    /// Also trust this CA certificate (PEM) for https, e.g. a council's own mirror.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The index file (default: the built-in starter index).
    #[arg(long, env = "HEDGE_INDEX")]
    pub index: Option<PathBuf>,
    /// Output format. tsv prints a header and one line per name:
    /// name, matched suffix (or -), categories, sources (comma-separated). json prints one
    /// object per line.
    #[arg(long, value_enum, default_value_t = LookupFormat::Text)]
    pub format: LookupFormat,
    /// Names to look up; `-` reads names from standard input, one per line.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LookupFormat {
    Text,
    Tsv,
    Json,
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;

    use super::*;

    fn filter(args: &[&str]) -> Targets {
        let cli = Cli::parse_from(["hedge"].iter().chain(args).chain(&[
            "explain",
            "--profile",
            "p",
            "x",
        ]));
        cli.log_filter()
            .parse()
            .expect("every level's filter parses")
    }

    #[test]
    fn default_levels_keep_the_recursors_per_miss_warnings_out() {
        let recursor = "hickory_resolver::recursor::handle";
        for args in [&[][..], &["-q"]] {
            let f = filter(args);
            assert!(!f.would_enable(recursor, &Level::WARN), "{args:?}");
            assert!(f.would_enable(recursor, &Level::ERROR), "{args:?}");
            assert!(
                f.would_enable("hedge::cmd::serve", &Level::WARN),
                "{args:?}"
            );
        }
        assert!(filter(&[]).would_enable("hedge_dns::udp", &Level::INFO));
        assert!(!filter(&["-q"]).would_enable("hedge_dns::udp", &Level::INFO));
        assert!(filter(&["-v"]).would_enable(recursor, &Level::DEBUG));
        assert!(filter(&["-vv"]).would_enable(recursor, &Level::TRACE));
    }
}
