#!/usr/bin/env python3
"""Group a `perf record -e cpu-clock` profile's samples by crate or library and print seconds
and nanoseconds per simulated event (BENCHMARKING.md, "Where the time goes").

    perf record -e cpu-clock -F 499 -o P.data target/release/wiretap run FILE --json --quiet \
        --max-work 1000000000 > P.json
    perf report -i P.data --stdio --sort symbol --no-children -F overhead,sample,sym > P.txt
    python3 benches/perf_groups.py P.txt P.json
"""

import json
import re
import sys

GROUPS = [
    ("X25519 (curve25519-dalek)", r"curve25519_dalek|x25519"),
    ("malloc/free (glibc)", r"^(_int_malloc|_int_free|unlink_chunk|malloc_consolidate|cfree|malloc|realloc|calloc|free|_int_realloc|__libc_calloc|tcache|__libc_malloc|__libc_free|__libc_realloc)"),
    ("memcmp", r"memcmp"),
    ("memmove/memcpy/memset", r"memmove|memcpy|memset"),
    ("BTreeMap (std)", r"alloc::collections::btree"),
    ("netsim", r"netsim::"),
    ("carrier", r"carrier::"),
    ("proto (sessions, reliable links)", r"proto::"),
    ("other crypto (snow, ring, blake2, sha2, chacha)", r"snow::|ring|blake2|sha2|chacha|poly1305|aes|ml_kem|keccak|GFp"),
    ("adversary", r"adversary::"),
    ("report", r"report::"),
    ("signal", r"signal::"),
    ("kernel", r"^\[k\]"),
]


def main():
    txt, js = sys.argv[1], sys.argv[2]
    events = json.load(open(js))["network"]["events"]
    totals, total = {}, 0
    for line in open(txt):
        if line.startswith("#"):
            continue
        m = re.match(r"\s*([\d.]+)%\s+(\d+)\s+(\[[.k]\])\s+(.*)", line)
        if not m:
            continue
        samples, kind, sym = int(m.group(2)), m.group(3), m.group(4).strip()
        total += samples
        key = sym if kind == "[.]" else "[k] " + sym
        for name, pat in GROUPS:
            if re.search(pat, key):
                totals[name] = totals.get(name, 0) + samples
                break
        else:
            totals["other"] = totals.get("other", 0) + samples
    hz = float(sys.argv[3]) if len(sys.argv) > 3 else 499.0
    print(f"{events} events, {total} samples = {total / hz:.1f} s of CPU at {hz:.0f} Hz")
    for name, s in sorted(totals.items(), key=lambda x: -x[1]):
        secs = s / hz
        print(f"{secs:8.2f} s {100 * s / total:5.1f} % {secs * 1e9 / events:7.0f} ns/event  {name}")


if __name__ == "__main__":
    main()
