//! `wiretap live`: a scenario run in real time on loopback sockets (crates/live), analysed and
//! scored as `wiretap run` does, with the live run's own counters and real timings added.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::{
    load, unwritable, write_file_atomic, write_outputs, BadInput, OutputArgs, INTERRUPTED, WATCH,
};

/// The longest traffic a live run accepts: it runs in real time.
const MAX_LIVE_SECONDS: f64 = 600.0;

/// The most subscribers a live run accepts: each node is a task with its own socket.
const MAX_LIVE_SUBSCRIBERS: usize = 1000;

#[derive(clap::Args, Debug)]
pub(crate) struct LiveArgs {
    /// A scenario file (`sim/*.toml`) or a built-in name; default `salt-typhoon-live`, the
    /// default scenario's small variant.
    scenario: Option<String>,
    /// Seconds of traffic, replacing the scenario's duration (at most 600: it runs in real
    /// time).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
    /// After the traffic, seconds to wait at most for messages still in flight.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    drain: f64,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

fn seconds(flag: &str, s: f64, max: f64) -> Result<std::time::Duration> {
    if !(s.is_finite() && s > 0.0 && s <= max) {
        return Err(anyhow::Error::new(BadInput(format!(
            "{flag} {s}: must be more than 0 and at most {max} seconds\n  hint: live mode runs in \
             real time; e.g. {flag} 20"
        ))));
    }
    Ok(std::time::Duration::from_secs_f64(s))
}

pub(crate) fn live(args: &LiveArgs) -> Result<ExitCode> {
    let spec = args
        .scenario
        .as_deref()
        .unwrap_or(scenario::DEFAULT_LIVE_SCENARIO_NAME);
    let (name, text) = load(spec)?;
    let sc = match scenario::parse(&name, &text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let duration = match args.duration {
        Some(s) => Some(seconds("--duration", s, MAX_LIVE_SECONDS)?),
        None => None,
    };
    let drain = seconds("--drain", args.drain, MAX_LIVE_SECONDS)?;
    let traffic = duration.unwrap_or(sc.duration);
    if traffic.as_secs_f64() > MAX_LIVE_SECONDS {
        return Err(anyhow::Error::new(BadInput(format!(
            "{name}: its traffic lasts {}, and live mode runs in real time (at most {MAX_LIVE_SECONDS} s)\n  \
             hint: pass --duration SECONDS, or run the default scenario's small variant: \
             wiretap live salt-typhoon-live",
            scenario::format_duration(sc.duration)
        ))));
    }
    let subscribers: usize = sc.carriers.iter().map(|c| c.subscribers as usize).sum();
    if subscribers > MAX_LIVE_SUBSCRIBERS {
        return Err(anyhow::Error::new(BadInput(format!(
            "{name}: {subscribers} subscribers, and live mode gives each its own task and socket \
             (at most {MAX_LIVE_SUBSCRIBERS})\n  hint: simulate it with wiretap run, or lower \
             `subscribers` in a copy of the scenario"
        ))));
    }
    let seed = args.output.seed.unwrap_or(sc.seed);
    if !args.output.quiet {
        eprintln!(
            "wiretap live: {} (seed {seed}), {} of traffic in real time on 127.0.0.1 \
             (Ctrl-C stops it)",
            sc.name,
            scenario::format_duration(traffic),
        );
    }
    let opts = live::Options {
        duration,
        drain,
        ..live::Options::default()
    };
    let run = match live::run(&sc, seed, &onpath::Armory, &opts, &WATCH) {
        Ok(run) => run,
        Err(live::LiveError::Interrupted { at }) => {
            eprintln!("wiretap: interrupted after {at} of real time; no output written");
            return Ok(ExitCode::from(INTERRUPTED));
        }
        Err(e) => return Err(e).context("running live"),
    };
    let mut scored_sc = sc.clone();
    scored_sc.duration = traffic;
    let stats = run.stats;
    let pipeline::Run {
        output,
        report,
        findings,
    } = pipeline::score_output(&scored_sc, seed, run.output);
    // The report's fields in their order, then `live`.
    #[derive(serde::Serialize)]
    struct LiveReport<'a> {
        #[serde(flatten)]
        report: &'a report::Report,
        live: &'a live::LiveStats,
    }
    let json = LiveReport {
        report: &report,
        live: &stats,
    };
    if let Some(dir) = &args.output.out {
        std::fs::create_dir_all(dir).with_context(|| unwritable(dir))?;
        let extras = report::html::extras(&scored_sc, &output, &findings);
        let page = report::html::render_html(&report, &extras);
        write_file_atomic(&dir.join("report.html"), page.as_bytes())?;
        // report.json: the report with the live section, as on stdout with --json.
        write_outputs(dir, &json, &output)?;
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.output.json {
        serde_json::to_writer(&mut out, &json)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report::render_terminal(&report))?;
        writeln!(
            out,
            "\nLive: {} node tasks, each with its own UDP socket on 127.0.0.1, through the \
             intercepting proxy; {:.1} s of real time",
            stats.nodes,
            stats.wall_ms as f64 / 1000.0
        )?;
        writeln!(
            out,
            "  datagrams: {} to the proxy ({} bytes), {} from it ({} bytes); {} malformed, {} from strangers; {} dropped by the kernel (full receive buffers, machine-wide)",
            stats.datagrams_to_proxy,
            stats.bytes_to_proxy,
            stats.datagrams_from_proxy,
            stats.bytes_from_proxy,
            stats.malformed,
            stats.strangers,
            stats.kernel_drops
        )?;
        writeln!(
            out,
            "  message latency (due to on screen, real time): median {:.1} ms, 95th percentile {:.1} ms; {} still in flight at the end",
            stats.message_latency_p50_ms, stats.message_latency_p95_ms, stats.open_at_end
        )?;
        if let Some(dir) = &args.output.out {
            writeln!(
                out,
                "\nWrote report.json, report.html, captures and call records to {}",
                dir.display()
            )?;
        }
    }
    if !args.output.quiet {
        let messages: usize = report.protocols.iter().map(|p| p.messages).sum();
        eprintln!(
            "wiretap: ran {} live (seed {seed}) in {:.1} s: {messages} messages, {} read by the adversary",
            report.scenario,
            stats.wall_ms as f64 / 1000.0,
            report.adversary.messages_read
        );
    }
    Ok(ExitCode::SUCCESS)
}
