//! `wiretap`: run a scenario of carrier networks with a compromised intercept chain and report
//! what the adversary recovered, what it could not, and why.
//!
//! This is the CLI edge: it reads files, parses flags, sets up tracing, and is the only place
//! `anyhow` appears. Everything it calls is deterministic given (scenario, seed).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tracing_subscriber::prelude::*;

/// What an adversary inside a carrier's wiretap systems can and cannot recover.
#[derive(Parser, Debug)]
#[command(name = "wiretap", version, about, long_about = None)]
struct Cli {
    /// Write structured JSON trace events to this file (RUST_LOG sets the level; default info).
    #[arg(long, global = true, value_name = "FILE")]
    trace: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario (default: the embedded `salt-typhoon`) and print the report.
    Run(RunArgs),
    /// Check a scenario file and print its errors with file:line:column.
    Validate {
        /// A scenario file, or the name of a built-in scenario.
        scenario: String,
    },
    /// List the built-in scenarios.
    List,
    /// Derive the Noise security levels (spec rev 34, 7.7 and 7.8) by attacking each pattern.
    Matrix(MatrixArgs),
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

#[derive(clap::Args, Debug, Default)]
struct RunArgs {
    /// A scenario file (`sim/*.toml`) or a built-in name; default `salt-typhoon`.
    scenario: Option<String>,
    /// Seed of the run; default: the scenario's own seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object (the report) on stdout instead of the summary.
    #[arg(long)]
    json: bool,
    /// Also write report.json, one pcap per packet vantage point and call records as CSV here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_tracing(cli.trace.as_deref()) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let result = match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) => run(&args),
        Command::Validate { scenario } => validate(&scenario),
        Command::Matrix(args) => matrix_cmd(&args),
        Command::List => {
            for (name, text) in scenario::BUILTIN_SCENARIOS {
                let desc = scenario::parse(name, text)
                    .map(|s| s.description)
                    .unwrap_or_default();
                println!("{name:<14} {}", desc.lines().next().unwrap_or(""));
            }
            Ok(ExitCode::SUCCESS)
        }
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
            ExitCode::from(1)
        }
    }
}

fn init_tracing(trace: Option<&Path>) -> Result<()> {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = match trace {
        Some(p) => {
            let f = fs::File::create(p)
                .with_context(|| format!("creating trace file {}", p.display()))?;
            let level = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::sync::Mutex::new(f))
                    .with_filter(level),
            )
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .init();
    Ok(())
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
            anyhow::anyhow!(
                "{e}\n  hint: a pattern is a name snow parses (XX, NK1, XXpsk3, NNpsk0+psk2, \
                 XXhfs) or a full protocol name such as Noise_XX_25519_ChaChaPoly_BLAKE2s"
            )
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

/// Reads a scenario: a path to a file, or the name of a built-in one.
fn load(spec: &str) -> Result<(String, String)> {
    let path = Path::new(spec);
    if path.exists() {
        let text = fs::read_to_string(path).with_context(|| format!("reading {spec}"))?;
        return Ok((spec.to_string(), text));
    }
    if let Some(text) = scenario::builtin(spec) {
        return Ok((format!("sim/{spec}.toml"), text.to_string()));
    }
    let names: Vec<&str> = scenario::BUILTIN_SCENARIOS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    bail!(
        "no scenario file `{spec}` and no built-in scenario of that name\n  hint: give a path to a .toml file, or one of: {}",
        names.join(", ")
    )
}

fn validate(spec: &str) -> Result<ExitCode> {
    let (name, text) = load(spec)?;
    match scenario::parse(&name, &text) {
        Ok(s) => {
            println!(
                "{name}: ok — {} carriers, {} subscribers, {} apps, {} vantage points",
                s.carriers.len(),
                s.total_subscribers(),
                s.apps.len(),
                s.adversary.vantage.len()
            );
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
    let sc = match scenario::parse(&name, &text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let seed = args.seed.unwrap_or(sc.seed);
    tracing::info!(scenario = %sc.name, seed, "run starts");
    let output = carrier::run(&sc, seed).context("running the simulation")?;
    let adversary = adversary::Adversary::new(&sc.adversary.name)
        .with_capabilities(output.capabilities.clone());
    let findings = adversary.analyze(&output.captures);
    let report = report::score(&sc, seed, &output, &findings);
    tracing::info!(events = output.stats.events, "run ends");

    if let Some(dir) = &args.out {
        write_outputs(dir, &report, &output)?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report::render_terminal(&report))?;
        if let Some(dir) = &args.out {
            writeln!(
                out,
                "\nWrote report.json, captures and call records to {}",
                dir.display()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_outputs(dir: &Path, report: &report::Report, output: &carrier::RunOutput) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(report)?;
    fs::write(dir.join("report.json"), json).context("writing report.json")?;
    for v in &output.captures.vantages {
        if let Some(p) = &v.packets {
            let path = dir.join(format!("{}.pcap", v.name));
            let f =
                fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            capture::pcap::write_pcap(std::io::BufWriter::new(f), &p.packets)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if v.kind == capture::VantageKind::CallRecords {
            let path = dir.join(format!("{}.csv", v.name));
            let f =
                fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            capture::csv::write_call_records_csv(std::io::BufWriter::new(f), &v.call_records)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}
