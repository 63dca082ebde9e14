//! [`SweepError`]: what went wrong in a sweep or a merge, and whose fault it is.

use core::fmt;
use scenario::{edit_distance, line_column};

/// One problem with a sweep: a bad sweep file, a bad `--shard`, slices that cannot be merged,
/// or a simulation that failed.
///
/// [`SweepError::is_bad_input`] tells the CLI which exit code to use (2 for bad input, 1 for a
/// failed run).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The sweep file is wrong (the user's fault): at `file:line:column` (1-based, columns in
    /// characters), with a hint where one helps.
    #[error("{file}:{line}:{column}: {message}{}", HintSuffix(.hint))]
    File {
        /// The sweep file's name as given.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// A `--shard I/N` value that is not two integers with `I < N` (the user's fault).
    #[error("bad shard `{spec}`: {message}\n  hint: {hint}")]
    Shard {
        /// The value as given.
        spec: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// Slice directories that do not join into one sweep: different sweeps, overlapping or
    /// missing runs (the user's fault: wrong directories, or a shard that did not finish).
    #[error("cannot merge: {message}\n  hint: {hint}")]
    Merge {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A file inside a slice directory is damaged or was not written by `wiretap sweep`
    /// (the user's fault, or a truncated copy), at `file:line` (1-based; 0 for the whole file).
    #[error("{file}:{line}: {message}\n  hint: {hint}")]
    Slice {
        /// The file's name as given by the caller.
        file: String,
        /// 1-based line, 0 when the file as a whole is wrong.
        line: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A cell of a slice's `runs.csv` that is not what `wiretap sweep` writes there: not a
    /// number, or not a finite one (NaN, inf), at `file:line:column` (1-based, the field's
    /// first character).
    #[error("{file}:{line}:{column}: {message}\n  hint: {hint}")]
    Cell {
        /// The file's name as given by the caller.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A simulation failed (a bug in the model, or a scenario it cannot build).
    #[error("run {run} (grid point {point}: {params}; seed {seed}) failed: {error}")]
    Run {
        /// The run's index in the whole sweep.
        run: u64,
        /// Its grid point.
        point: u64,
        /// The grid point's values, `key = value, ...`.
        params: String,
        /// Its seed.
        seed: u64,
        /// What the simulator said.
        error: pipeline::PipelineError,
    },
    /// The sweep was asked to stop (`simcore::Watch::request_stop`, e.g. Ctrl-C) before all its
    /// runs were done; it produced no files.
    #[error("interrupted after {done} of {total} runs")]
    Interrupted {
        /// Runs finished before the stop.
        done: usize,
        /// Runs the sweep (or its shard) has.
        total: usize,
    },
}

impl SweepError {
    /// True when the input (sweep file, flags, slice directories) is at fault: exit code 2.
    /// False for a run that failed: exit code 1.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            SweepError::Run { .. } | SweepError::Interrupted { .. }
        )
    }

    /// An error at byte range start `offset` of `text` (`None`: the start of the file).
    pub(crate) fn at(
        file: &str,
        text: &str,
        offset: Option<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        let (line, column) = line_column(text, offset.unwrap_or(0));
        SweepError::File {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
            hint,
        }
    }
}

struct HintSuffix<'a>(&'a Option<String>);

impl fmt::Display for HintSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(hint) => write!(f, "\n  hint: {hint}"),
            None => Ok(()),
        }
    }
}

/// The closest of `candidates` to `word` by edit distance, if it is close enough to be a typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(word, c);
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (word.chars().count() / 3).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        let c = ["seeds", "metrics", "scenario", "name"];
        assert_eq!(closest("seed", c), Some("seeds"));
        assert_eq!(closest("metric", c), Some("metrics"));
        assert_eq!(closest("zzzzzzzz", c), None);
    }
}
