//! Size fingerprinting's score ([`SizeScore`]): per end-to-end message whose sender's uplinks
//! are visible and who had no other message in flight, exactly one of the sender's uplinks
//! during the flight carries the text and the others are handshake messages (or receipts); a
//! length (bucket) counts as recovered when exactly one of them is labelled text, with that
//! length estimate (bucket estimate). Beside each accuracy, the base rate: the share of the most
//! common true length (bucket) among the scored messages, the best score of a guess that
//! ignores sizes. With its line of the terminal section.

use std::collections::BTreeMap;

use adversary::metadata::{MetadataFindings, SizeClass};
use serde::Serialize;
use simcore::Timestamp;

use super::correlation::flights;
use super::{ratio, Resolver, Truth};

/// Size fingerprinting's score.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SizeScore {
    /// Uplinks with a known type.
    pub scored_packets: usize,
    /// Of those, labelled correctly (text vs handshake vs other).
    pub type_correct: usize,
    /// type_correct / scored_packets.
    pub type_accuracy: f64,
    /// Messages scored for length.
    pub scored_messages: usize,
    /// Length bucket right.
    pub bucket_correct: usize,
    /// bucket_correct / scored_messages.
    pub bucket_accuracy: f64,
    /// Exact length right.
    pub exact_correct: usize,
    /// exact_correct / scored_messages.
    pub exact_accuracy: f64,
    /// Width of the length buckets, bytes (the adversary's `size_bucket`).
    pub bucket_width: u32,
    /// The best bucket accuracy without looking at sizes: the share of the most common true
    /// bucket among the scored messages.
    pub bucket_base_rate: f64,
    /// The same for exact lengths: the share of the most common true length.
    pub exact_base_rate: f64,
}

pub(super) fn sizes(t: &Truth, r: &Resolver, m: &MetadataFindings) -> SizeScore {
    type Label = (Timestamp, SizeClass, Option<u32>, Option<u32>);
    let width = m.sizes.bucket_width.max(1);
    // Uplink labels per sender, time-ordered.
    let mut ups: BTreeMap<usize, Vec<Label>> = BTreeMap::new();
    for l in m.sizes.labels.iter().filter(|l| l.uplink) {
        if let Some(i) = r.get(&l.party) {
            ups.entry(i)
                .or_default()
                .push((l.time, l.class, l.length, l.bucket));
        }
    }
    for v in ups.values_mut() {
        v.sort_unstable_by_key(|x| x.0);
    }
    let fl = flights(t);
    let mut s = SizeScore {
        bucket_width: width,
        ..SizeScore::default()
    };
    let mut true_buckets: Vec<u32> = Vec::new();
    let mut true_lengths: Vec<u32> = Vec::new();
    for (a, list) in fl.iter().enumerate() {
        let Some(labels) = ups.get(&a) else { continue };
        for (i, &(sent, end, _, len)) in list.iter().enumerate() {
            // Alone in flight: the previous message ended before, the next starts after.
            let prev_ok = i == 0 || list[..i].iter().all(|p| p.1 < sent);
            let next_ok = list.get(i + 1).is_none_or(|n| n.0 > end);
            if !(prev_ok && next_ok) {
                continue;
            }
            let lo = labels.partition_point(|x| x.0 < sent);
            let hi = labels.partition_point(|x| x.0 <= end);
            let window = &labels[lo..hi];
            if window.is_empty() {
                continue;
            }
            // One uplink carries the text; the others are the sender's handshake messages or
            // receipts (in any order: the radio may reorder frames sent together).
            let texts: Vec<&Label> = window.iter().filter(|x| x.1 == SizeClass::Text).collect();
            let not_text = window.len() - texts.len();
            s.scored_packets += window.len();
            s.type_correct += not_text.min(window.len() - 1) + texts.len().min(1);
            s.scored_messages += 1;
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            true_buckets.push(adversary::metadata::sizes::bucket_of(len, width));
            true_lengths.push(len);
            if let [one] = texts.as_slice() {
                s.bucket_correct +=
                    usize::from(one.3 == Some(adversary::metadata::sizes::bucket_of(len, width)));
                s.exact_correct += usize::from(one.2 == Some(len));
            }
        }
    }
    s.type_accuracy = ratio(s.type_correct, s.scored_packets, 0.0);
    s.bucket_accuracy = ratio(s.bucket_correct, s.scored_messages, 0.0);
    s.exact_accuracy = ratio(s.exact_correct, s.scored_messages, 0.0);
    // The base rates: always guessing the most common true bucket (length) of these messages.
    let top = |v: &mut Vec<u32>| -> usize {
        v.sort_unstable();
        v.chunk_by(|a, b| a == b)
            .map(<[u32]>::len)
            .max()
            .unwrap_or(0)
    };
    s.bucket_base_rate = ratio(top(&mut true_buckets), s.scored_messages, 0.0);
    s.exact_base_rate = ratio(top(&mut true_lengths), s.scored_messages, 0.0);
    s
}

/// Size fingerprinting's line of the terminal section.
pub(super) fn render(o: &mut String, s: &SizeScore) {
    use std::fmt::Write;
    let _ = writeln!(
        o,
        "  sizes: packet type right {:.1}% of {}; message length bucket ({} B) right {:.1}% \
         (base rate {:.1}%), exact {:.1}% (base rate {:.1}%) of {}",
        100.0 * s.type_accuracy,
        s.scored_packets,
        s.bucket_width,
        100.0 * s.bucket_accuracy,
        100.0 * s.bucket_base_rate,
        100.0 * s.exact_accuracy,
        100.0 * s.exact_base_rate,
        s.scored_messages
    );
}
