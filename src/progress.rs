//! Progress on stderr for `run` and `sweep` (indicatif), and the one-line summary at the end.
//!
//! The bar appears only for work that has lasted a second, only when stderr is a terminal, and
//! never with `--quiet`. It is drawn by a thread of its own that reads a counter, so the work
//! itself never waits on the terminal. Nothing here touches stdout or an output file: those stay
//! byte-identical with or without a bar. The summary line (what was done, in how many seconds of
//! wall time) goes to stderr unless `--quiet`.
//!
//! This is the one place that reads the wall clock (`Instant`, which clippy.toml bans from the
//! simulation): the elapsed time is for the person watching and never reaches an output.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How long work runs before a bar is shown.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// A piece of work with progress on stderr.
pub struct Activity {
    start: Instant,
    quiet: bool,
    done: Arc<AtomicU64>,
    stop: Option<mpsc::Sender<()>>,
    drawer: Option<JoinHandle<()>>,
}

impl Activity {
    /// Starts timing `message`; `total` steps (a bar) or `None` (a spinner).
    pub fn start(message: String, total: Option<u64>, quiet: bool) -> Activity {
        let done = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&done);
        let mut a = Activity::drawn(
            quiet,
            move |start| {
                let (bar, template) = match total {
                    Some(n) => (
                        ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                        "{msg} [{bar:30}] {pos}/{len} runs, {elapsed} (about {eta} left)",
                    ),
                    None => (
                        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                        "{spinner} {msg}, {elapsed}",
                    ),
                };
                // The bar appears a second in: its clock starts with the work, not with the bar.
                let bar = bar.with_elapsed(start.elapsed());
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(message);
                bar
            },
            move |bar| bar.set_position(seen.load(Ordering::Relaxed)),
        );
        a.done = done;
        a
    }

    /// Starts timing a simulation of `duration` of traffic that publishes its progress to
    /// `watch`: a bar of simulated time reached (it can pass 100 % while the network drains),
    /// with the events handled, events per second and the resident memory.
    pub fn simulation(
        message: String,
        duration: Duration,
        watch: &'static simcore::Watch,
        quiet: bool,
    ) -> Activity {
        let total = duration.as_secs().max(1);
        // Events per second, smoothed over the last second or so of ticks.
        let (mut last, mut last_at, mut rate) = (0u64, Instant::now(), 0.0f64);
        Activity::drawn(
            quiet,
            move |start| {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                    .with_elapsed(start.elapsed());
                if let Ok(style) =
                    ProgressStyle::with_template("{prefix} [{bar:20}] {msg}, {elapsed}")
                {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(message);
                bar
            },
            move |bar| {
                let reached = watch.sim_time();
                let events = watch.events();
                let dt = last_at.elapsed().as_secs_f64();
                if dt > 0.0 {
                    let now_rate = events.saturating_sub(last) as f64 / dt;
                    rate = if rate == 0.0 {
                        now_rate
                    } else {
                        0.8 * rate + 0.2 * now_rate
                    };
                }
                (last, last_at) = (events, Instant::now());
                bar.set_position((reached.as_nanos() / 1_000_000_000).min(total));
                let memory = resident_bytes()
                    .map(|b| format!(", {:.2} GB", b as f64 / 1e9))
                    .unwrap_or_default();
                let stage = match watch.stage() {
                    simcore::Stage::Building => "building the world".to_owned(),
                    simcore::Stage::Simulating => format!(
                        "{reached} of {}, {:.1}M events ({:.2}M/s)",
                        scenario::format_duration(duration),
                        events as f64 / 1e6,
                        rate / 1e6
                    ),
                    simcore::Stage::Analysing => "the adversary analyses its captures".to_owned(),
                    _ => "scoring".to_owned(),
                };
                bar.set_message(format!("{stage}{memory}"));
            },
        )
    }

    /// The part both kinds share: time the work and, when stderr is a terminal and not
    /// `quiet`, draw a bar from a thread of its own once the work has lasted [`SHOW_AFTER`]:
    /// `make` builds it (given when the work started), `update` refreshes it every [`TICK`].
    fn drawn(
        quiet: bool,
        make: impl FnOnce(Instant) -> ProgressBar + Send + 'static,
        mut update: impl FnMut(&ProgressBar) + Send + 'static,
    ) -> Activity {
        let mut a = Activity {
            start: Instant::now(),
            quiet,
            done: Arc::new(AtomicU64::new(0)),
            stop: None,
            drawer: None,
        };
        if quiet || !std::io::stderr().is_terminal() {
            return a;
        }
        let (tx, rx) = mpsc::channel::<()>();
        let start = a.start;
        a.stop = Some(tx);
        a.drawer = Some(std::thread::spawn(move || {
            if rx.recv_timeout(SHOW_AFTER) != Err(RecvTimeoutError::Timeout) {
                return;
            }
            let bar = make(start);
            loop {
                update(&bar);
                bar.tick();
                if rx.recv_timeout(TICK) != Err(RecvTimeoutError::Timeout) {
                    break;
                }
            }
            bar.finish_and_clear();
        }));
        a
    }

    /// Records that `n` steps are done.
    pub fn set(&self, n: u64) {
        self.done.store(n, Ordering::Relaxed);
    }

    /// Clears the bar and, unless quiet, prints `summary` with the elapsed wall time.
    pub fn finish(mut self, summary: &str) {
        self.clear();
        if !self.quiet {
            eprintln!(
                "{summary} ({:.1} s wall time)",
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    fn clear(&mut self) {
        drop(self.stop.take());
        if let Some(h) = self.drawer.take() {
            let _ = h.join();
        }
    }
}

/// The process's resident memory, from `/proc/self/statm` (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

impl Drop for Activity {
    /// An error path clears the bar too, so the error message is not drawn over.
    fn drop(&mut self) {
        self.clear();
    }
}
