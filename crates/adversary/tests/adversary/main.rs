//! The adversary's integration tests, in one binary.
//!
//! - `support`: builders for captured bytes (IPv4/UDP by hand, wire PDUs via `proto::wire`),
//!   vantage points, and real Noise messages from snow.
//! - `pattern_table`: the adversary's own Noise pattern table against snow, for every pattern
//!   snow supports and several psk variants: message lengths, which payloads are encrypted, and
//!   what a passive reader extracts from snow's actual bytes.
//! - `passive`: hand-built captures, one scenario per kind of traffic, plus determinism and
//!   robustness against garbage.

mod passive;
mod pattern_table;
mod support;
