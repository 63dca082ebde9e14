//! `wiretap`: run a scenario of carrier networks with a compromised intercept chain and report
//! what the adversary recovered, what it could not, and why.
//!
//! This is the CLI edge: it reads files, parses flags, sets up tracing, and is the only place
//! `anyhow` appears. Everything it calls is deterministic given (scenario, seed).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::prelude::*;

mod alloc;
mod explain;
mod live_cmd;
mod memory;
mod progress;

/// An error caused by the user's input (a scenario or sweep file, a flag, a pattern, an output
/// path that cannot be written): the command exits with code 2. Every other error is a run
/// failure, code 1. It is attached to an error as context, so the message reads
/// "<this>: <the cause>".
#[derive(Debug)]
pub(crate) struct BadInput(pub(crate) String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// `BadInput` context for an output that could not be created or written.
pub(crate) fn unwritable(path: &Path) -> BadInput {
    BadInput(format!(
        "cannot write {} (hint: choose a directory you can write to, on a disk with space)",
        path.display()
    ))
}

/// What an adversary inside a carrier's wiretap systems can and cannot recover.
#[derive(Parser, Debug)]
#[command(name = "wiretap", version, about, long_about = None)]
struct Cli {
    /// Write structured JSON trace events to this file, one per line, each in a `node` span with
    /// the node's name and the simulated time `t_ns` (RUST_LOG sets the level; default debug:
    /// every message's lifecycle; trace adds packets and timers).
    #[arg(long, global = true, value_name = "FILE")]
    trace: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (default: the embedded `salt-typhoon`) and print the report.
    Run(RunArgs),
    /// Run a scenario live, in real time: every node a tokio task with its own UDP socket on
    /// 127.0.0.1, the modelled network an intercepting proxy between them (docs/live.md);
    /// print the same report as `run` (default: the embedded `salt-typhoon-live`).
    Live(live_cmd::LiveArgs),
    /// Check a scenario file (or a sweep file: every grid point, and the sweep's work) and
    /// print its errors with file:line:column.
    Validate {
        /// A scenario file, the name of a built-in scenario, or a sweep file (docs/sweep.md).
        scenario: String,
        /// Work budget: estimated messages plus voice media frames allowed (docs/scenario.md).
        #[arg(long, value_name = "N", default_value_t = scenario::DEFAULT_MAX_WORK)]
        max_work: u64,
        /// Sweep files: work budget of the whole sweep, over all its runs (docs/sweep.md).
        #[arg(long, value_name = "N", default_value_t = sweep::DEFAULT_MAX_SWEEP_WORK)]
        max_sweep_work: u64,
        /// Check the scenario with every carrier's subscribers (and random warrant count)
        /// multiplied by F, as `run --scale F` runs it.
        #[arg(long, value_name = "F", value_parser = parse_scale)]
        scale: Option<f64>,
    },
    /// List the built-in scenarios.
    List,
    /// Derive the Noise security levels (spec rev 34, 7.7 and 7.8) by attacking each pattern.
    Matrix(MatrixArgs),
    /// Run a grid of scenario parameters × seeds in parallel (docs/sweep.md); write runs.csv,
    /// runs.jsonl, summary.csv, summary.jsonl, SVG charts with 95% intervals, sweep.html and
    /// sweep.json.
    Sweep(SweepArgs),
    /// Join the --out directories of `wiretap sweep --shard` into the files of one whole run.
    Merge(MergeArgs),
    /// In plain words, what a Noise pattern's messages protect against (derived by attacking
    /// it), or what a profile (sms, carrier-encrypted, signal, signal+pq) leaves to a tapped
    /// core (measured by simulation).
    Explain {
        /// A Noise pattern (`XX`, `IK`, `NK1`, `XXpsk3`, `XXhfs`) or a profile.
        name: String,
        /// Seed of the experiments and simulations.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(clap::Args, Debug)]
struct SweepArgs {
    /// The sweep file (docs/sweep.md, e.g. sim/sweeps/sweep-example.toml).
    sweep: PathBuf,
    /// Directory for the output files; default `sweep-<name>` in the current directory.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Runs at a time; default: the number of cores. The files do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    threads: Option<u32>,
    /// Run only the runs with index % N == I (0-based: 0/N .. N-1/N), and write that slice;
    /// join slices with `wiretap merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<sweep::Shard>,
    /// Work budget of the sweep (of the shard's share with --shard): estimated messages plus
    /// voice media frames over all its runs, checked before the first run (docs/sweep.md).
    #[arg(long, value_name = "N", default_value_t = sweep::DEFAULT_MAX_SWEEP_WORK)]
    max_sweep_work: u64,
    /// No progress bar and no summary line on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::Args, Debug)]
struct MergeArgs {
    /// The slice directories (the --out of each `wiretap sweep --shard I/N`).
    #[arg(required = true, value_name = "DIR")]
    slices: Vec<PathBuf>,
    /// Directory for the merged files.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// `--scale F`: a finite factor above 0 and at most 10,000.
fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 && f <= 10_000.0 => Ok(f),
        _ => Err(format!(
            "the scale must be a number above 0 and at most 10000, not `{s}`\n  hint: e.g. --scale 0.5 for half the subscribers, --scale 5 for five times as many"
        )),
    }
}

/// `--max-memory-gb GB`: a finite number of gigabytes above 0.
fn parse_gb(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(g) if g.is_finite() && g > 0.0 => Ok(g),
        _ => Err(format!(
            "the memory limit must be a number of gigabytes above 0, not `{s}`\n  hint: e.g. --max-memory-gb 16"
        )),
    }
}

/// The scenario text at `--scale`, if given.
fn scaled(text: String, scale: Option<f64>) -> String {
    match scale {
        Some(f) => sweep::scale_subscribers(&text, f),
        None => text,
    }
}

fn parse_shard(s: &str) -> Result<sweep::Shard, String> {
    s.parse().map_err(|e: sweep::SweepError| {
        // clap prints "invalid value 'x' for '--shard <I/N>': <this>".
        match e {
            sweep::SweepError::Shard { message, hint, .. } => format!("{message}\n  hint: {hint}"),
            other => other.to_string(),
        }
    })
}

#[derive(clap::Args, Debug)]
struct MatrixArgs {
    /// A pattern (`XX`, `NK1`, `XXpsk3`, `NNpsk0+psk2`, `XXhfs`) or a full protocol name;
    /// repeat for several. Default: the 38 base patterns and the 21 psk patterns of spec 9.4.
    #[arg(long = "pattern", value_name = "NAME")]
    patterns: Vec<String>,
    /// Seed of the keys, markers and ephemerals.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object `{"patterns": [...]}` instead of the tables.
    #[arg(long)]
    json: bool,
}

/// The flags `run` and `live` share (`#[command(flatten)]` in both): the seed, and what the
/// command prints and writes. Each means the same in both commands.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct OutputArgs {
    /// Seed of the run; default: the scenario's own seed.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Print one JSON object on stdout instead of the summary: the report (`live` adds `live`,
    /// the live run's counters and real timings).
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write report.json (as `--json` prints it), report.html, one pcap per packet vantage
    /// point and the call records here.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// No progress and no summary line on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// A scenario file (`sim/*.toml`) or a built-in name; default `salt-typhoon`.
    scenario: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
    /// Work budget: estimated messages plus voice media frames allowed (docs/scenario.md).
    #[arg(long, value_name = "N", default_value_t = scenario::DEFAULT_MAX_WORK)]
    max_work: u64,
    /// Multiply every carrier's subscribers (and random warrant count) by F: the same scenario
    /// at another size (`--scale 0.002` runs `carrier-scale` at 2,000 subscribers).
    #[arg(long, value_name = "F", value_parser = parse_scale)]
    scale: Option<f64>,
    /// Memory limit in GB: a run whose estimated peak is above it is refused before it starts;
    /// default: the memory this machine has available (BENCHMARKING.md § Memory a run needs).
    #[arg(long, value_name = "GB", value_parser = parse_gb)]
    max_memory_gb: Option<f64>,
    /// Also write the report as one self-contained HTML page here (`--out` writes
    /// `report.html` too).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
}

/// `wiretap` with no subcommand: `wiretap run` with every flag at clap's default (written out:
/// a derived `Default` would give the work budget 0, not `DEFAULT_MAX_WORK`).
impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            scenario: None,
            output: OutputArgs::default(),
            max_work: scenario::DEFAULT_MAX_WORK,
            scale: None,
            max_memory_gb: None,
            html: None,
        }
    }
}

/// Shared by the command under way and the Ctrl-C handler: the run publishes its progress here,
/// and the handler asks it to stop.
pub(crate) static WATCH: simcore::Watch = simcore::Watch::new();

/// Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub(crate) const INTERRUPTED: u8 = 130;

/// Installs the Ctrl-C handler for a long command: the first Ctrl-C asks the run (or sweep) to
/// stop at its next check, so it ends with no output files rather than cut ones (every file is
/// written whole or not at all, `write_atomic`); a second one quits at once.
fn interrupt_on_ctrl_c() {
    let installed = ctrlc::set_handler(|| {
        if WATCH.stop_requested() {
            std::process::exit(i32::from(INTERRUPTED));
        }
        WATCH.request_stop();
        eprintln!("\nwiretap: stopping (press Ctrl-C again to quit at once)");
    });
    if let Err(e) = installed {
        tracing::warn!("no Ctrl-C handler: {e}");
    }
}

fn main() -> ExitCode {
    alloc::tune();
    let cli = Cli::parse();
    let trace = match init_tracing(cli.trace.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Run(RunArgs::default()));
    if matches!(
        command,
        Command::Run(_) | Command::Sweep(_) | Command::Live(_)
    ) {
        interrupt_on_ctrl_c();
    }
    let result = match command {
        Command::Run(args) => run(&args),
        Command::Live(args) => live_cmd::live(&args),
        Command::Validate {
            scenario,
            max_work,
            max_sweep_work,
            scale,
        } => validate(&scenario, max_work, max_sweep_work, scale),
        Command::Matrix(args) => matrix_cmd(&args),
        Command::Sweep(args) => sweep_cmd(&args),
        Command::Merge(args) => merge_cmd(&args),
        Command::Explain { name, seed } => explain_cmd(&name, seed),
        Command::List => list_cmd(),
    };
    // A trace that could not be written fails the command, whatever it did otherwise.
    let result = match (result, trace.map(|t| t.finish())) {
        (Ok(_), Some(Err(e))) => Err(e),
        (r, _) => r,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // `wiretap matrix | head`: a closed pipe is the reader's choice, not an error.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(if e.downcast_ref::<BadInput>().is_some() {
                2
            } else {
                1
            })
        }
    }
}

/// The `--trace` file: buffered, shared by every event; the first write error is kept and
/// reported when the command ends (tracing itself drops writer errors).
#[derive(Clone)]
struct TraceFile {
    path: PathBuf,
    out: std::sync::Arc<std::sync::Mutex<std::io::BufWriter<fs::File>>>,
    error: std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>,
}

/// One event's write into the [`TraceFile`].
struct TraceWriter(TraceFile);

impl std::io::Write for TraceWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = match self.0.out.lock() {
            Ok(mut f) => f.write_all(buf).map(|()| buf.len()),
            Err(_) => Err(std::io::Error::other("trace writer poisoned")),
        };
        if let Err(e) = &r {
            if let Ok(mut slot) = self.0.error.lock() {
                slot.get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
            }
        }
        r
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for TraceFile {
    type Writer = TraceWriter;
    fn make_writer(&'a self) -> TraceWriter {
        TraceWriter(self.clone())
    }
}

impl TraceFile {
    /// Flushes the file; the first error of the whole run, if any.
    fn finish(&self) -> Result<()> {
        let flushed = match self.out.lock() {
            Ok(mut f) => f.flush(),
            Err(_) => Err(std::io::Error::other("trace writer poisoned")),
        };
        let earlier = self.error.lock().ok().and_then(|mut e| e.take());
        match earlier.map_or(flushed, Err) {
            Ok(()) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context(unwritable(&self.path))),
        }
    }
}

fn init_tracing(trace: Option<&Path>) -> Result<Option<TraceFile>> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
    };
    // Events carry the simulated time in their `node` span (`t_ns`); the wall clock would make
    // two runs of one seed differ, so neither output prints it.
    let stderr = tracing_subscriber::fmt::layer()
        .without_time()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let mut handle = None;
    let file = match trace {
        Some(p) => {
            let f = fs::File::create(p).with_context(|| unwritable(p))?;
            let f = TraceFile {
                path: p.to_path_buf(),
                out: std::sync::Arc::new(std::sync::Mutex::new(std::io::BufWriter::new(f))),
                error: std::sync::Arc::new(std::sync::Mutex::new(None)),
            };
            handle = Some(f.clone());
            // Default: every message's lifecycle (sent, relayed, stored, delivered, failed and
            // why) at debug; RUST_LOG=trace adds every packet and timer.
            let level = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .without_time()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(f)
                    .with_filter(level),
            )
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .init();
    Ok(handle)
}

/// `wiretap matrix`: every requested pattern, attacked; levels derived from the outcomes.
fn matrix_cmd(args: &MatrixArgs) -> Result<ExitCode> {
    let patterns: Vec<String> = if args.patterns.is_empty() {
        matrix::base_patterns()
            .into_iter()
            .chain(matrix::PSK_PATTERNS)
            .map(str::to_owned)
            .collect()
    } else {
        args.patterns.clone()
    };
    let mut out = Vec::with_capacity(patterns.len());
    for p in &patterns {
        let m = matrix::run_pattern(p, args.seed).map_err(|e| {
            anyhow::Error::new(BadInput(format!(
                "{e}\n  hint: a pattern is a name snow parses (XX, NK1, XXpsk3, NNpsk0+psk2, \
                 XXhfs) or a full protocol name such as Noise_XX_25519_ChaChaPoly_BLAKE2s"
            )))
        })?;
        out.push(m);
    }
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if args.json {
        #[derive(serde::Serialize)]
        struct Matrices<'a> {
            patterns: &'a [matrix::PatternMatrix],
        }
        serde_json::to_writer_pretty(&mut w, &Matrices { patterns: &out })?;
        writeln!(w)?;
    } else {
        write!(w, "{}", matrix::render_terminal(&out))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `wiretap list`: the built-in scenarios, names aligned, with the first line of each
/// description. (`println!` would panic when the reader closes the pipe: `wiretap list | head`.)
fn list_cmd() -> Result<ExitCode> {
    let width = scenario::BUILTIN_SCENARIOS
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (name, text) in scenario::BUILTIN_SCENARIOS {
        // Described whatever its size (`carrier-scale` is above the default budget).
        let desc = scenario::parse_with(name, text, scenario::Limits { max_work: u64::MAX })
            .map(|s| s.description)
            .unwrap_or_default();
        writeln!(out, "{name:<width$} {}", desc.lines().next().unwrap_or(""))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `wiretap explain`: a pattern's derived matrix or a profile's measured runs, in plain words.
fn explain_cmd(name: &str, seed: u64) -> Result<ExitCode> {
    match explain::explain(name, seed).map_err(anyhow::Error::msg)? {
        Some(text) => {
            write!(std::io::stdout(), "{text}")?;
            Ok(ExitCode::SUCCESS)
        }
        None => Err(anyhow::Error::new(BadInput(format!(
            "`{name}` is neither a profile nor a Noise pattern\n  hint: one of: {}; or any pattern \
             snow parses (NNpsk0+psk2, XXhfs, a full name such as Noise_XX_25519_ChaChaPoly_BLAKE2s)",
            explain::valid_names()
        )))),
    }
}

/// The text of `path`: UTF-8, or an error naming the byte offset (and line and column) of the
/// first byte that is not.
fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = fs::read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..at]).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid[valid.rfind('\n').map_or(0, |i| i + 1)..].chars().count() + 1;
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text: invalid byte 0x{:02x} at byte offset {at} (line {line}, column {column})",
                e.as_bytes()[at]
            ),
        )
    })
}

/// Reads a scenario: a path to a file, or the name of a built-in one.
pub(crate) fn load(spec: &str) -> Result<(String, String)> {
    let path = Path::new(spec);
    if path.exists() {
        if path.is_dir() {
            return Err(anyhow::Error::new(BadInput(format!(
                "{spec} is a directory, not a scenario file\n  hint: give a .toml file such as \
                 sim/small-lab.toml, or a built-in name (wiretap list)"
            ))));
        }
        let text = read_text(path)
            .with_context(|| BadInput(format!("cannot read scenario file {spec}")))?;
        return Ok((spec.to_string(), text));
    }
    if let Some(text) = scenario::builtin(spec) {
        return Ok((format!("sim/{spec}.toml"), text.to_string()));
    }
    let names: Vec<&str> = scenario::BUILTIN_SCENARIOS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    Err(anyhow::Error::new(BadInput(format!(
        "no scenario file `{spec}` and no built-in scenario of that name\n  hint: give a path to a .toml file, or one of: {}",
        names.join(", ")
    ))))
}

fn validate(
    spec: &str,
    max_work: u64,
    max_sweep_work: u64,
    scale: Option<f64>,
) -> Result<ExitCode> {
    let (name, text) = load(spec)?;
    if sweep::is_sweep_file(&text) {
        if scale.is_some() {
            return Err(anyhow::Error::new(BadInput(format!(
                "{name} is a sweep file; --scale applies to scenarios\n  hint: sweep a carrier's size with a grid key such as \"carrier.0.subscribers\" (docs/sweep.md)"
            ))));
        }
        let plan = match plan_sweep(Path::new(spec), &text) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let def = plan.definition();
        return Ok(match plan.check_work(None, max_sweep_work) {
            Ok(est) => {
                writeln!(
                    std::io::stdout(),
                    "{name}: ok — sweep {}: {} runs, {} grid point{} x {} seed{}; about {:.0} messages and voice media frames in all (budget {max_sweep_work})",
                    def.name,
                    def.runs(),
                    def.points(),
                    if def.points() == 1 { "" } else { "s" },
                    def.seeds.len(),
                    if def.seeds.len() == 1 { "" } else { "s" },
                    est.work
                )?;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        });
    }
    let text = scaled(text, scale);
    match scenario::parse_with(&name, &text, scenario::Limits { max_work }) {
        Ok(s) => {
            let work = s.estimated_work();
            let retries = if work.retries > 0.0 {
                format!(
                    " and at most {:.0} retransmissions while partitions are down",
                    work.retries
                )
            } else {
                String::new()
            };
            writeln!(
                std::io::stdout(),
                "{name}: ok — {} carriers, {} subscribers, {} apps, {} vantage points; about {:.0} messages and {:.0} voice media frames{retries} (budget {max_work}); peak memory about {:.2} GB",
                s.carriers.len(),
                s.total_subscribers(),
                s.apps.len(),
                s.adversary.vantage.len(),
                work.messages,
                work.frames,
                work.peak_memory_bytes() / 1e9
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(2))
        }
    }
}

fn run(args: &RunArgs) -> Result<ExitCode> {
    let spec = args
        .scenario
        .as_deref()
        .unwrap_or(scenario::DEFAULT_SCENARIO_NAME);
    let (name, text) = load(spec)?;
    let text = scaled(text, args.scale);
    let limits = scenario::Limits {
        max_work: args.max_work,
    };
    let sc = match scenario::parse_with(&name, &text, limits) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    if let Err(e) = memory::check(&name, &sc, args.max_memory_gb) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    let seed = args.output.seed.unwrap_or(sc.seed);
    tracing::info!(scenario = %sc.name, seed, "run starts");
    let activity = progress::Activity::simulation(
        format!("simulating {} (seed {seed})", sc.name),
        sc.duration,
        &WATCH,
        args.output.quiet,
    );
    if let Some(dir) = &args.output.out {
        fs::create_dir_all(dir).with_context(|| unwritable(dir))?;
    }
    // The captures and record exports of `--out` are written on the second core while the
    // adversary analyses the same output (`pipeline::run_watched_beside`), and put in place
    // only once the run has succeeded.
    let stage_out = |output: &carrier::RunOutput| {
        args.output
            .out
            .as_deref()
            .map(|dir| stage_exports(dir, output))
    };
    let (
        pipeline::Run {
            output,
            report,
            findings,
        },
        staged,
    ) = match pipeline::run_watched_beside(&sc, seed, &WATCH, stage_out) {
        Ok(run) => run,
        Err(e) if e.is_interrupted() => {
            drop(activity);
            eprintln!(
                "wiretap: {e} (the traffic lasts {}); no output written",
                scenario::format_duration(sc.duration)
            );
            return Ok(ExitCode::from(INTERRUPTED));
        }
        Err(e) => return Err(e).context("running the simulation"),
    };
    tracing::info!(events = output.stats.events, "run ends");

    let html = (args.html.is_some() || args.output.out.is_some()).then(|| {
        let extras = report::html::extras(&sc, &output, &findings);
        report::html::render_html(&report, &extras)
    });
    if let (Some(dir), Some(staged)) = (&args.output.out, staged.transpose()?) {
        let Some(staged) = staged else {
            // Asked to stop while the exports were written: they were removed.
            drop(activity);
            eprintln!(
                "wiretap: interrupted while writing {}; no output written",
                dir.display()
            );
            return Ok(ExitCode::from(INTERRUPTED));
        };
        commit_all(staged)?;
        if let Some(page) = &html {
            write_file_atomic(&dir.join("report.html"), page.as_bytes())?;
        }
        write_report_json(dir, &report)?;
    }
    if let (Some(path), Some(page)) = (&args.html, &html) {
        write_file_atomic(path, page.as_bytes())?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.output.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report::render_terminal(&report))?;
        if let Some(dir) = &args.output.out {
            writeln!(
                out,
                "\nWrote report.json, report.html, captures and call records to {}",
                dir.display()
            )?;
        }
    }
    let messages: usize = report.protocols.iter().map(|p| p.messages).sum();
    activity.finish(&format!(
        "wiretap: ran {} (seed {seed}): {messages} messages, {} read by the adversary",
        report.scenario, report.adversary.messages_read
    ));
    // The process exits next and the kernel takes the memory back at once: freeing the run's
    // millions of allocations one by one first would cost about 3 % of a large run's time
    // (BENCHMARKING.md § "Both cores"). Everything was written and flushed above.
    std::mem::forget(output);
    std::mem::forget(findings);
    Ok(ExitCode::SUCCESS)
}

/// Writes `path` whole or not at all: into a hidden `.NAME.partial` beside it, flushed, then
/// renamed over it. An interrupted run (Ctrl-C, a full disk) leaves every output file either
/// complete or absent, never cut short; a stale `.partial` file is all it can leave behind.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    stage(path, write)?.commit()
}

/// A file written whole under its hidden `.NAME.partial` name beside `path`, not yet in place:
/// [`Staged::commit`] renames it over `path`; dropped uncommitted (the run failed or was
/// interrupted), it is removed, so that `path` keeps what it held.
#[must_use = "a staged file is removed unless committed"]
pub(crate) struct Staged {
    tmp: std::path::PathBuf,
    path: std::path::PathBuf,
    committed: bool,
}

impl Staged {
    /// Puts the file in place.
    pub(crate) fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.path).with_context(|| unwritable(&self.path))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes what `write` writes to `path`'s hidden `.NAME.partial` file, flushed, and returns it
/// staged ([`Staged`]).
fn stage(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<fs::File>) -> std::io::Result<()>,
) -> Result<Staged> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    let f = fs::File::create(&tmp).with_context(|| unwritable(path))?;
    let staged = Staged {
        tmp,
        path: path.to_path_buf(),
        committed: false,
    };
    let mut w = std::io::BufWriter::new(f);
    write(&mut w)
        .and_then(|()| w.flush())
        .with_context(|| unwritable(path))?;
    Ok(staged)
}

/// Writes `bytes` to `path` with [`write_atomic`].
pub(crate) fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    write_atomic(path, |w| w.write_all(bytes))
}

/// Writes the files of `--out` into `dir`: one pcap per packet vantage point, the call records
/// and record exports with their schemas, and last `report.json`, which holds `report_json`:
/// the report (`run`), or the report with the live run's section (`live`). Each file is
/// written once.
pub(crate) fn write_outputs(
    dir: &Path,
    report_json: &impl serde::Serialize,
    output: &carrier::RunOutput,
) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| unwritable(dir))?;
    let staged = stage_exports(dir, output)?
        .with_context(|| format!("interrupted before writing {}", dir.display()))?;
    commit_all(staged)?;
    write_report_json(dir, report_json)
}

/// Last: a directory with report.json holds every file of the run.
fn write_report_json(dir: &Path, report_json: &impl serde::Serialize) -> Result<()> {
    let json = serde_json::to_vec_pretty(report_json)?;
    write_file_atomic(&dir.join("report.json"), &json)
}

/// Puts every staged file in place, in order.
fn commit_all(staged: Vec<Staged>) -> Result<()> {
    staged.into_iter().try_for_each(Staged::commit)
}

/// Stages (writes under hidden names, [`Staged`]) the files of `--out` that come from the
/// simulation's output alone: one pcap per packet vantage point, the call records, the record
/// exports and their schemas. `wiretap run` stages them on a second thread while the adversary
/// analyses the same output; the report's files come after. Gives `None`, and removes what
/// it staged, once the run is asked to stop (checked between files).
pub(crate) fn stage_exports(
    dir: &Path,
    output: &carrier::RunOutput,
) -> Result<Option<Vec<Staged>>> {
    let mut staged = Vec::new();
    for v in &output.captures.vantages {
        if WATCH.stop_requested() {
            return Ok(None);
        }
        if let Some(p) = &v.packets {
            let path = dir.join(format!("{}.pcap", v.name));
            staged.push(stage(&path, |w| capture::pcap::write_pcap(w, &p.packets))?);
        }
        if v.kind == capture::VantageKind::CallRecords {
            let path = dir.join(format!("{}.csv", v.name));
            staged.push(stage(&path, |w| {
                capture::csv::write_call_records_csv(w, v.call_records.iter())
            })?);
            staged.push(stage_schema(
                dir,
                &format!("{}.csv", v.name),
                &capture::csv::COLUMNS,
                &capture::export::CALL_RECORD_TYPES,
            )?);
        }
    }
    stage_record_exports(dir, output, &mut staged)?;
    Ok((!WATCH.stop_requested()).then_some(staged))
}

/// `records.csv/.jsonl`, `iri.csv/.jsonl`, `warrants.csv`, `truth_calls.csv` (docs/records.md).
fn stage_record_exports(
    dir: &Path,
    output: &carrier::RunOutput,
    staged: &mut Vec<Staged>,
) -> Result<()> {
    use capture::export::{CarrierRecord, CarrierWarrant};
    // Decoded from the stores one at a time as each file is written, never all at once.
    let records = || {
        output.records.iter().flat_map(|(carrier, rs)| {
            rs.iter()
                .map(move |record| CarrierRecord { carrier, record })
        })
    };
    let carrier_of = |liid: &str| {
        output
            .records
            .iter()
            .map(|(c, _)| c.as_str())
            .find(|c| liid.starts_with(&format!("{}-", c.to_uppercase())))
            .unwrap_or("")
    };
    let warrants: Vec<CarrierWarrant<'_>> = output
        .warrants
        .iter()
        .map(|warrant| CarrierWarrant {
            carrier: carrier_of(&warrant.liid),
            warrant,
        })
        .collect();
    staged.push(stage(&dir.join("records.csv"), |w| {
        capture::export::write_records_csv(w, records())
    })?);
    staged.push(stage(&dir.join("records.jsonl"), |w| {
        capture::export::write_records_jsonl(w, records())
    })?);
    staged.push(stage(&dir.join("iri.csv"), |w| {
        capture::export::write_intercepts_csv(w, &output.intercepts)
    })?);
    staged.push(stage(&dir.join("iri.jsonl"), |w| {
        capture::export::write_intercepts_jsonl(w, &output.intercepts)
    })?);
    staged.push(stage(&dir.join("warrants.csv"), |w| {
        capture::export::write_warrants_csv(w, &warrants)
    })?);
    staged.push(stage(&dir.join("truth_calls.csv"), |w| {
        report::export::write_truth_calls_csv(w, &output.truth.calls, &output.truth.subscribers)
    })?);
    use capture::export as x;
    staged.push(stage_schema(
        dir,
        "records.csv",
        &x::RECORD_COLUMNS,
        &x::RECORD_TYPES,
    )?);
    staged.push(stage_schema(
        dir,
        "iri.csv",
        &x::INTERCEPT_COLUMNS,
        &x::INTERCEPT_TYPES,
    )?);
    staged.push(stage_schema(
        dir,
        "warrants.csv",
        &x::WARRANT_COLUMNS,
        &x::WARRANT_TYPES,
    )?);
    staged.push(stage_schema(
        dir,
        "truth_calls.csv",
        &report::export::TRUTH_CALL_COLUMNS,
        &report::export::TRUTH_CALL_TYPES,
    )?);
    Ok(())
}

/// Plans a sweep file (its scenario resolved relative to it, every grid point validated);
/// prints the error and gives exit code 2 when the file is refused.
fn plan_sweep(path: &Path, text: &str) -> std::result::Result<sweep::Plan, ExitCode> {
    let file = path.display().to_string();
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let read_scenario = |spec: &str| -> sweep::ScenarioFile {
        let path = base.join(spec);
        if !path.is_file() {
            return Ok(None);
        }
        fs::read_to_string(&path)
            .map(|t| Some((path.display().to_string(), t)))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    sweep::plan(&file, text, &read_scenario).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// `<name>.schema.json` beside the CSV file `csv` of `dir`: its columns' types, for pandas and
/// polars (docs/records.md).
fn stage_schema(
    dir: &Path,
    csv: &str,
    columns: &[&str],
    types: &[capture::export::ColumnType],
) -> Result<Staged> {
    let path = dir.join(capture::export::schema_file_name(csv));
    stage(&path, |w| {
        capture::export::write_schema_json(w, csv, columns, types)
    })
}

/// `wiretap sweep`: plan (every grid point validated), run on all cores, write the files.
fn sweep_cmd(args: &SweepArgs) -> Result<ExitCode> {
    let file = args.sweep.display().to_string();
    let text = match read_text(&args.sweep) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: reading sweep file {file}: {e}\n  hint: give the path of a sweep file such as sim/sweeps/sweep-example.toml (docs/sweep.md)");
            return Ok(ExitCode::from(2));
        }
    };
    let plan = match plan_sweep(&args.sweep, &text) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let def = plan.definition();
    if let Some(s) = args.shard {
        if s.index >= def.runs() as u64 {
            eprintln!(
                "error: --shard {}/{} selects no run: the sweep has {} run{}\n  hint: use at most {} shards (--shard I/N with N <= {})",
                s.index,
                s.count,
                def.runs(),
                if def.runs() == 1 { "" } else { "s" },
                def.runs(),
                def.runs()
            );
            return Ok(ExitCode::from(2));
        }
    }
    if let Err(e) = plan.check_work(args.shard, args.max_sweep_work) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        |n| n as usize,
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("sweep-{}", def.name)));
    tracing::info!(sweep = %def.name, runs = def.runs(), threads, "sweep starts");
    let total = args.shard.map_or(def.runs() as u64, |sh| {
        (0..def.runs() as u64).filter(|r| sh.holds(*r)).count() as u64
    });
    let activity = progress::Activity::start(
        format!("sweep {} on {threads} threads", def.name),
        Some(total),
        args.quiet,
    );
    let progress = |done: usize, _total: usize| activity.set(done as u64);
    let outcome = match sweep::execute_watched(&plan, args.shard, threads, &progress, &WATCH) {
        Ok(o) => o,
        Err(e @ sweep::SweepError::Interrupted { .. }) => {
            drop(activity);
            eprintln!("wiretap: sweep {} {e}; no files written (a sweep writes its files when all its runs are done: rerun it, or split it with --shard)", def.name);
            return Ok(ExitCode::from(INTERRUPTED));
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(if e.is_bad_input() { 2 } else { 1 }));
        }
    };
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    write_sweep_files(&out, &outcome.files)?;
    let part = match args.shard {
        Some(s) => format!(" (shard {}/{} of {})", s.index, s.count, def.runs()),
        None => String::new(),
    };
    println!(
        "sweep {}: {} runs{part}, {} grid point{} x {} seed{}; wrote runs.csv, runs.jsonl, summary.csv, summary.jsonl, {} chart{} (charts/*.svg), sweep.html, sweep.json to {}",
        def.name,
        outcome.runs,
        def.points(),
        if def.points() == 1 { "" } else { "s" },
        def.seeds.len(),
        if def.seeds.len() == 1 { "" } else { "s" },
        outcome.files.charts.len(),
        if outcome.files.charts.len() == 1 { "" } else { "s" },
        out.display()
    );
    activity.finish(&format!(
        "wiretap: sweep {}: {} runs",
        def.name, outcome.runs
    ));
    Ok(ExitCode::SUCCESS)
}

/// `wiretap merge`: join slice directories into the files of the whole sweep.
/// Largest slice file `merge` reads: 1 GiB, some seven million rows of runs.csv; a bigger
/// sweep is split into more shards.
const MAX_SLICE_FILE: u64 = 1 << 30;

/// Reads a slice file: at most [`MAX_SLICE_FILE`] bytes (a path to `/dev/zero` is refused, not
/// read until memory runs out), UTF-8, and ending with a newline as every file `sweep` writes
/// does (a file cut short is refused, not merged).
fn read_slice_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(MAX_SLICE_FILE + 1)
        .read_to_end(&mut bytes)?;
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
    if bytes.len() as u64 > MAX_SLICE_FILE {
        return Err(invalid(format!(
            "larger than {} MiB: not a slice file (split a bigger sweep into more shards)",
            MAX_SLICE_FILE >> 20
        )));
    }
    if !bytes.ends_with(b"\n") {
        return Err(invalid(
            "does not end with a newline: cut short (copy or rerun the shard)".into(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8 text: {e}")))
}

fn merge_cmd(args: &MergeArgs) -> Result<ExitCode> {
    // Writing into one of the inputs would destroy the slice being read.
    let out = fs::canonicalize(&args.out).ok();
    for dir in &args.slices {
        if out.is_some() && fs::canonicalize(dir).ok() == out {
            eprintln!(
                "error: --out {} is one of the slices being merged\n  hint: write the merged files to a new directory",
                args.out.display()
            );
            return Ok(ExitCode::from(2));
        }
    }
    let mut slices = Vec::with_capacity(args.slices.len());
    for dir in &args.slices {
        let read = |name: &str| {
            let path = dir.join(name);
            read_slice_file(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        match (read("sweep.json"), read("runs.csv")) {
            (Ok(sweep_json), Ok(runs_csv)) => slices.push(sweep::Slice {
                dir: dir.display().to_string(),
                sweep_json,
                runs_csv,
            }),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!(
                    "error: {}: not a sweep output directory ({e})\n  hint: give the --out directories of `wiretap sweep`, each with sweep.json and runs.csv",
                    dir.display()
                );
                return Ok(ExitCode::from(2));
            }
        }
    }
    let merged = match sweep::merge(&slices) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    write_sweep_files(&args.out, &merged.files)?;
    println!(
        "sweep {}: merged {} runs from {} director{} into {}",
        merged.name,
        merged.runs,
        slices.len(),
        if slices.len() == 1 { "y" } else { "ies" },
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_sweep_files(dir: &Path, files: &sweep::Files) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| unwritable(dir))?;
    // sweep.json (the digest of runs.csv) comes last in `entries`: each file is whole or absent,
    // and `merge` refuses a slice whose runs.csv does not match its sweep.json.
    // Charts go under charts/; each file is written whole or not at all, like the others.
    for (name, text) in files.entries() {
        let path = dir.join(name);
        if let Some(parent) = path.parent().filter(|p| *p != dir) {
            fs::create_dir_all(parent).with_context(|| unwritable(parent))?;
        }
        write_file_atomic(&path, text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `run` and `live` take the same output flags, with the same help (both `--help`s list
    /// them), and parse them into the same values.
    #[test]
    fn run_and_live_share_their_output_flags() {
        use clap::CommandFactory;
        let cli = Cli::command();
        cli.clone().debug_assert();
        let help = |sub: &str, flag: &str| {
            cli.find_subcommand(sub)
                .and_then(|c| c.get_arguments().find(|a| a.get_id() == flag))
                .and_then(|a| a.get_help())
                .map(|h| h.to_string())
        };
        for flag in ["seed", "json", "out", "quiet"] {
            let run = help("run", flag);
            assert!(run.is_some(), "run --{flag}");
            assert_eq!(run, help("live", flag), "--{flag}");
        }
        let flags = ["--seed", "3", "--json", "-q", "--out", "dir"];
        for sub in ["run", "live"] {
            let cli = Cli::try_parse_from(["wiretap", sub].into_iter().chain(flags))
                .unwrap_or_else(|e| panic!("{sub}: {e}"));
            let output = match cli.command {
                Some(Command::Run(a)) => a.output,
                Some(Command::Live(a)) => a.output,
                other => panic!("{other:?}"),
            };
            assert_eq!(output.seed, Some(3), "{sub}");
            assert!(output.json && output.quiet, "{sub}");
            assert_eq!(output.out, Some(PathBuf::from("dir")), "{sub}");
        }
    }

    /// `write_outputs` writes the JSON it is given as report.json (what `live` relies on to
    /// write its report with the `live` section once), beside the run's other files.
    #[test]
    fn a_staged_file_replaces_its_path_only_when_committed() {
        let dir = std::env::temp_dir().join(format!("wiretap-staged-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("makes the directory");
        let path = dir.join("a.csv");
        fs::write(&path, "old").expect("writes");
        let names = || {
            let mut n: Vec<String> = fs::read_dir(&dir)
                .expect("lists")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        let staged = stage(&path, |w| w.write_all(b"new")).expect("stages");
        assert_eq!(names(), [".a.csv.partial", "a.csv"]);
        assert_eq!(
            fs::read_to_string(&path).expect("reads"),
            "old",
            "not yet in place"
        );
        drop(staged);
        assert_eq!(names(), ["a.csv"], "dropped: removed, the old file kept");
        assert_eq!(fs::read_to_string(&path).expect("reads"), "old");
        stage(&path, |w| w.write_all(b"new"))
            .expect("stages")
            .commit()
            .expect("commits");
        assert_eq!(names(), ["a.csv"]);
        assert_eq!(fs::read_to_string(&path).expect("reads"), "new");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn write_outputs_writes_the_given_json_as_report_json() {
        let dir =
            std::env::temp_dir().join(format!("wiretap-write-outputs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let output = carrier::RunOutput {
            captures: Default::default(),
            truth: Default::default(),
            warrants: Vec::new(),
            records: Vec::new(),
            intercepts: Vec::new(),
            stats: Default::default(),
            capabilities: Default::default(),
            costs: Default::default(),
        };
        let given = serde_json::json!({"scenario": "x", "live": {"wall_ms": 3000}});
        write_outputs(&dir, &given, &output).expect("writes");
        let written: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("report.json")).expect("report.json"))
                .expect("JSON");
        assert_eq!(written, given);
        assert!(dir.join("records.csv").is_file());
        assert!(dir.join("truth_calls.csv").is_file());
        let _ = fs::remove_dir_all(&dir);
    }
}
