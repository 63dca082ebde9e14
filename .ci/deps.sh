#!/usr/bin/env bash
# Architecture invariants that a machine can check: which crate may depend on which.
# `forbid A B` fails if package A depends (normally, transitively) on package B. Each rule is
# proven live first: `require` checks that the same query DOES find an edge that exists, so a
# rule cannot pass just because the query itself broke.
set -euo pipefail

deps_of() {
    cargo tree -q -p "$1" -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u
}

require() {
    if ! deps_of "$1" | grep -qx "$2"; then
        echo "deps check is broken: expected $1 -> $2 to be found" >&2
        exit 1
    fi
}

forbid() {
    if deps_of "$1" | grep -qx "$2"; then
        echo "ARCHITECTURE VIOLATION: $1 depends on $2 ($3)" >&2
        cargo tree -q -p "$1" -i "$2" -e normal >&2 || true
        exit 1
    fi
    echo "ok: $1 does not depend on $2"
}

# The query works: these edges exist by design.
require carrier netsim
require onpath adversary
require onpath signal
require pipeline onpath
require scenario capture
require adversary capture
require report carrier
require matrix adversary
require carrier signal
require live tokio

# And `forbid` fails when the edge is there: each of these edges exists, so each must fail.
for edge in "carrier netsim" "onpath adversary" "pipeline carrier"; do
    if (forbid $edge "self-test" >/dev/null 2>&1); then
        echo "deps check is broken: forbid $edge passed although the edge exists" >&2
        exit 1
    fi
done
echo "ok: forbid fails on edges that exist (self-test)"

# Honest adversary: it sees captures and capabilities, never ground truth or the simulator.
forbid adversary carrier  "ground truth lives in carrier; only the scorer (report) may see it"
forbid adversary report   "the scorer compares; the adversary must not see its inputs"
forbid adversary netsim   "the adversary reads captured bytes, not simulator state"
forbid adversary scenario "capabilities reach the adversary as values, not as the whole scenario"
forbid capture carrier    "captures are the adversary's input and must not carry ground truth"
forbid capture netsim     "captures are plain bytes and records"
forbid matrix carrier     "the Noise matrix attacks patterns, not the carrier model"
forbid adversary signal   "the adversary reads Signal traffic with its own ratchet code, not the endpoints'"
forbid signal netsim      "Signal sessions are sans-IO"
forbid signal carrier     "Signal sessions do not know the carrier model"
forbid matrix scenario    "the Noise matrix takes a pattern name, not a scenario"
forbid matrix report      "the Noise matrix scores its own experiments"

# The attacker outside the simulator: the simulator drives on-path components only through
# capture::active; they in turn see captured bytes, their brief and stolen secrets, never the
# world. The one stated exception: onpath may use the signal crate's ratchet (signal_mitm.rs).
forbid carrier adversary  "the simulator reaches the attacker only through capture::active"
forbid carrier onpath     "the pipeline arms the simulator; the simulator does not know the attacker"
forbid onpath carrier     "on-path components see datagrams and their brief, never the world"
forbid onpath netsim      "on-path components are sans-IO machines; the carrier adapts them to netsim"
forbid onpath scenario    "on-path components get their orders as an OnPathBrief, not the scenario"
forbid onpath report      "the attacker does not see the scorer"

# Sans-IO: protocol code knows neither the simulator nor any runtime.
forbid proto netsim   "sessions take now and bytes; they do not know the simulator"
forbid proto carrier  "protocol code does not know the carrier model"
for c in simcore netsim proto carrier capture adversary onpath pipeline scenario report matrix signal sweep; do
    forbid "$c" tokio "simulation and protocol crates have no async runtime"
done
# Live mode: tokio in crates/live and the binary only; the live driver produces a run's output
# as the simulator does and knows neither the adversary nor the scorer.
forbid live adversary "the live driver produces captures; the adversary reads them afterwards"
forbid live report    "the live driver produces a run's output; the scorer is separate"

# One clippy configuration: a crate's own clippy.toml would replace the root one (clippy does
# not merge them) and silently drop the determinism bans for that crate.
if extra=$(find crates -name clippy.toml -o -name .clippy.toml | grep .); then
    echo "ARCHITECTURE VIOLATION: crate-level clippy configuration replaces the root one: $extra" >&2
    exit 1
fi
echo "ok: one clippy.toml for the workspace"

# Only the driver touches the network: node code reads the time from an Io and pushes outputs.
# Code lines only (comments may name the network). First prove the pattern finds the driver's
# own use, then that nothing else matches.
net_uses() {
    grep -nE '(&mut |&)Network\b|use netsim::.*\bNetwork(Builder)?\b|\bself\.net\.|\bnet\.(send|set_timer|poll|poll_until|add_hook|add_tap)\(' "$@" \
        | grep -vE '^([^:]*:)?[0-9]+:\s*//' || true
}
if [ -z "$(net_uses crates/carrier/src/world.rs)" ]; then
    echo "deps check is broken: the network pattern does not find world.rs's own use" >&2
    exit 1
fi
for f in $(find crates/carrier/src -name '*.rs' | sort); do
    case "$f" in */world.rs|*/build.rs|*/attack.rs|*/collect.rs|*/live.rs) continue ;; esac
    if [ -n "$(net_uses "$f")" ]; then
        echo "ARCHITECTURE VIOLATION: node code in $f touches the network (only the drivers: world.rs, build.rs, attack.rs, collect.rs; live.rs, the live driver's plant):" >&2
        net_uses "$f" >&2
        exit 1
    fi
done
echo "ok: only the carrier's drivers (world.rs, build.rs, attack.rs, collect.rs; live.rs's plant) touch the network"
