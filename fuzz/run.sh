#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target of wiretap for SECONDS each, one after the other.
#
#   fuzz/run.sh [SECONDS]      # default 60 seconds a target
#   fuzz/run.sh --smoke        # 10 seconds a target (CI)
#   FUZZ_TARGETS="merge pcap_read" fuzz/run.sh 30   # some targets only
#   FUZZ_SANITIZER=none fuzz/run.sh 3600            # long campaigns: no AddressSanitizer
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/, never written to) and
# from the corpus it grew in earlier runs (FUZZ_WORK, default fuzz/target/run/corpus/<target>/).
# A crash, a panic, a timeout (an input taking more than FUZZ_TIMEOUT seconds, default 20) or
# running out of memory stops that target and leaves the input in fuzz/artifacts/<target>/.
# Prints one summary line per target and exits 1 if any target crashed (2 on a usage or
# build error). Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a nightly toolchain
# (or stable with RUSTC_BOOTSTRAP=1). See fuzz/README.md.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

seconds=60
seed_flag=""
case "${1:-}" in
    "") ;;
    --smoke)
        seconds=10
        # A fixed seed: CI's smoke explores the same inputs first on every run.
        seed_flag="-seed=1"
        ;;
    -h | --help)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        if [[ "$1" =~ ^[0-9]+$ ]] && ((10#$1 > 0)); then
            seconds=$((10#$1))
        else
            echo "usage: fuzz/run.sh [SECONDS | --smoke]" >&2
            exit 2
        fi
        ;;
esac

# Target and -max_len: each a little above its largest seed, so mutations can grow inputs.
declare -A max_len=(
    [scenario_parse]=8192
    [sweep_file]=4096
    [merge]=8192
    [proto_wire]=1024
    [signal_wire]=8192
    [pcap_read]=4096
    [adversary_observe]=4096
)
order=(scenario_parse sweep_file merge proto_wire signal_wire pcap_read adversary_observe)
read -r -a targets <<<"${FUZZ_TARGETS:-${order[*]}}"
for t in "${targets[@]}"; do
    if [[ -z "${max_len[$t]:-}" ]]; then
        echo "error: unknown fuzz target \`$t\` (targets: ${order[*]})" >&2
        exit 2
    fi
done

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    # cargo-fuzz needs nightly flags (-Zsanitizer); stable accepts them with RUSTC_BOOTSTRAP.
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi
# Release with debug assertions and overflow checks, AddressSanitizer (cargo-fuzz's default).
# FUZZ_SANITIZER=none drops AddressSanitizer: the library crates forbid `unsafe`, so what the
# fuzzers look for (panics, overflow, failed assertions, hangs, memory blow-ups) is still
# caught, at several times the executions a second — for long campaigns.
sanitizer="${FUZZ_SANITIZER:-address}"
case "$sanitizer" in
    address | none) ;;
    *)
        echo "error: FUZZ_SANITIZER must be address or none, not \`$sanitizer\`" >&2
        exit 2
        ;;
esac
build_flags=(--release --debug-assertions --sanitizer "$sanitizer")
timeout="${FUZZ_TIMEOUT:-20}"
work="${FUZZ_WORK:-$here/target/run}"
mkdir -p "$work/logs"

echo "== building ${#targets[@]} fuzz targets"
for t in "${targets[@]}"; do
    if ! "${fuzz[@]}" build "${build_flags[@]}" "$t"; then
        echo "error: building fuzz target $t failed" >&2
        exit 2
    fi
done

declare -a summary
crashed=0
for t in "${targets[@]}"; do
    corpus="$work/corpus/$t"
    log="$work/logs/$t.log"
    mkdir -p "$corpus" "$here/artifacts/$t"
    echo "== $t: ${seconds}s, -max_len=${max_len[$t]}"
    start=$(date +%s)
    # The grown corpus comes first: libFuzzer adds new inputs to the first directory only.
    "${fuzz[@]}" run "${build_flags[@]}" "$t" "$corpus" "$here/corpus/$t" -- \
        -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout="$timeout" $seed_flag \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
    units=$(find "$corpus" -type f | wc -l)
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    if ((rc == 0)); then
        crashes=0
        line="$t: ${execs:-?} execs, ${took}s, cov ${cov:-?}, corpus $units, 0 crashes"
    elif [[ -z "$artifact" ]] && grep -q "libFuzzer: run interrupted" "$log"; then
        # Stopped from outside (SIGINT, e.g. to end a long campaign early): no input failed.
        line="$t: ${execs:-?} execs, ${took}s, cov ${cov:-?}, corpus $units, 0 crashes (interrupted)"
    else
        crashes=1
        crashed=1
        line="$t: ${execs:-?} execs, ${took}s, cov ${cov:-?}, corpus $units, $crashes crash (exit $rc): ${artifact:-see $log}"
        # The cause, as libFuzzer and the panic hook reported it.
        grep -E -A1 "panicked at" "$log" | head -n 4 | sed 's/^/    /'
        grep -E "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|^SUMMARY:" "$log" |
            head -n 4 | sed 's/^/    /'
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "== fuzz summary (${seconds}s a target; logs in $work/logs)"
printf '%s\n' "${summary[@]}"
if ((crashed)); then
    echo "FAILED: a fuzz target crashed; reproduce with: cargo +nightly fuzz run <target> <artifact> (fuzz/README.md)"
    exit 1
fi
echo "ok: no crashes"
