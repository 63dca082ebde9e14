//! Refusing a run that cannot fit in memory, before it starts.
//!
//! A run keeps what happened until the end, so its peak grows with its traffic;
//! [`scenario::Work::peak_memory_bytes`] estimates it from the work `validate` estimates. A run
//! whose estimate is above the memory this machine has available (`MemAvailable` in
//! `/proc/meminfo`), or above `--max-memory-gb`, is refused with exit code 2 and a `--scale`
//! that would fit, instead of being killed by the kernel minutes later. Where `/proc/meminfo`
//! cannot be read and no limit is given, nothing is checked.

use crate::BadInput;

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn available_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// Refuses `sc` (named `name`) when its estimated peak is above `max_gb` gigabytes (10^9
/// bytes), or, without a limit, above the memory available now.
pub(crate) fn check(
    name: &str,
    sc: &scenario::Scenario,
    max_gb: Option<f64>,
) -> Result<(), BadInput> {
    let (limit, what) = match max_gb {
        Some(gb) => (gb * 1e9, "the limit given with --max-memory-gb".to_owned()),
        None => match available_bytes() {
            Some(b) => (b, "the memory this machine has available".to_owned()),
            None => return Ok(()),
        },
    };
    let work = sc.estimated_work();
    let need = work.peak_memory_bytes();
    if need <= limit {
        return Ok(());
    }
    // Memory grows with the traffic, which grows with the subscribers: scale both down.
    let base = scenario::Work {
        messages: 0.0,
        frames: 0.0,
        retries: 0.0,
    }
    .peak_memory_bytes();
    let fit = ((limit - base) / (need - base) * 0.9).max(0.0);
    let scale = (fit * 100.0).floor() / 100.0;
    let smaller = if scale > 0.0 {
        format!("run it smaller with --scale {scale} (every carrier's subscribers x {scale}), or ")
    } else {
        String::new()
    };
    Err(BadInput(format!(
        "{name}: this run needs about {} of memory at its peak ({:.0} messages and {:.0} voice frames; a run keeps its captures, records and ground truth to the end), above {what} ({})\n  hint: {smaller}set the limit with --max-memory-gb N if this machine can do more (the estimate: BENCHMARKING.md § Memory a run needs)",
        gb(need),
        work.messages,
        work.frames,
        gb(limit),
    )))
}

/// Bytes as gigabytes, with two decimals below 10 GB.
fn gb(bytes: f64) -> String {
    let g = bytes / 1e9;
    if g < 10.0 {
        format!("{g:.2} GB")
    } else {
        format!("{g:.1} GB")
    }
}
