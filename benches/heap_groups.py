#!/usr/bin/env python3
"""Group a heaptrack profile's peak by what the memory holds (BENCHMARKING.md, "Where the
memory goes").

    heaptrack -o /tmp/ht target/release/examples/memprofile FILE
    heaptrack_print -f /tmp/ht.zst --flamegraph-cost-type peak -F /tmp/ht.folded
    python3 benches/heap_groups.py /tmp/ht.folded [N]
    python3 benches/heap_groups.py --adversary /tmp/ht.folded


heaptrack's folded stacks (one line per allocation stack: frames `function (file.rs)` joined by
`;`, root first, then the bytes that stack held at the heap's peak) are assigned to the first
group whose rule matches a frame; the rules name the wiretap source files and functions that
allocate each kind of state. With N, also prints the N largest stacks no rule matched.

With --adversary, only the stacks under `analyze` (the adversary's analysis), grouped by their
innermost frame in a file of crates/adversary/src (function and file), largest first.
heaptrack's peak is the whole run's: when the simulation peaks higher than the analysis, run
`memprofile FILE 1 --ballast MB` (MB above the difference) so that the analysis' peak is the one
recorded; the ballast is allocated outside `analyze` and left out here.
"""

import os

import sys

# (group, predicate over the stack's "function(file)" frames joined by ";"), first match wins.
RULES = [
    ("call records: copy for RunOutput.records (collect.rs)",
     lambda s: "collect.rs" in s and "zip.rs" in s and "{closure#10}" in s),
    ("call records: copy for the call-records vantage (collect.rs)",
     lambda s: "collect.rs" in s and "{closure#9}" in s),
    ("ground truth (truth.rs)", lambda s: "truth.rs" in s),
    ("collect.rs: other output assembly", lambda s: "collect.rs" in s),
    ("captures: packets held by the taps (netsim record)", lambda s: "record(network.rs)" in s),
    ("call records: the carriers' stores (li.rs, smsc.rs)",
     lambda s: "li.rs" in s or "sms_record" in s),
    ("network: event queue (queue.rs)", lambda s: "queue.rs" in s),
    ("network: packets in flight, links, routes (netsim)",
     lambda s: any(f in s for f in ("network.rs", "link.rs", "route.rs", "packet.rs"))),
    ("traffic plan: planned messages and texts (traffic.rs, text.rs)",
     lambda s: "traffic.rs" in s or "text.rs" in s),
    ("sessions: NK tunnels (tunnel.rs)", lambda s: "tunnel.rs" in s),
    ("sessions: end-to-end Noise (noise.rs, snow)",
     lambda s: "noise.rs" in s or "builder.rs" in s),
    ("sessions: Signal (signal)", lambda s: "ratchet" in s or "device.rs" in s or "x3dh" in s),
    ("handsets and endpoints: reliable links (reliable.rs, endpoint.rs)",
     lambda s: "reliable.rs" in s or "endpoint.rs" in s),
    ("handsets: planned outbox (world.rs start -> plan_message)", lambda s: "start_nodes" in s),
    ("nodes' logic as built (build.rs make_logic)", lambda s: "make_logic" in s),
    ("world build: directory, mobility, keys (build.rs)", lambda s: "build.rs" in s),
    ("adversary analysis", lambda s: "analyze" in s),
]


def frames(stack):
    out = []
    for f in stack.split(";"):
        f = f.strip()
        if f.endswith(")") and " (" in f:
            name, file = f[:-1].rsplit(" (", 1)
        else:
            name, file = f, ""
        out.append(f"{name}({file})")
    return ";".join(out)


def main():
    path = sys.argv[1]
    unmatched_n = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    totals, unmatched, total = {}, [], 0
    with open(path) as fh:
        for line in fh:
            stack, cost = line.rstrip("\n").rsplit(" ", 1)
            cost = int(cost)
            total += cost
            s = frames(stack)
            for name, pred in RULES:
                if pred(s):
                    totals[name] = totals.get(name, 0) + cost
                    break
            else:
                totals["other"] = totals.get("other", 0) + cost
                unmatched.append((cost, s))
    for name, v in sorted(totals.items(), key=lambda x: -x[1]):
        print(f"{v / 1e6:9.1f} MB {100 * v / total:5.1f} %  {name}")
    print(f"{total / 1e6:9.1f} MB total at the peak")
    for cost, s in sorted(unmatched, reverse=True)[:unmatched_n]:
        print(f"{cost / 1e6:8.2f} MB  {s[-300:]}")


def adversary(path):
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(here, "..", "crates", "adversary", "src")
    files = {f for _, _, fs in os.walk(src) for f in fs if f.endswith(".rs")} - {"mod.rs"}
    totals, total = {}, 0
    with open(path) as fh:
        for line in fh:
            stack, cost = line.rstrip("\n").rsplit(" ", 1)
            if "analyze" not in stack:
                continue
            cost = int(cost)
            total += cost
            key = "?"
            for f in frames(stack).split(";"):
                if f.endswith(")") and f.rsplit("(", 1)[-1][:-1] in files:
                    key = f
            totals[key] = totals.get(key, 0) + cost
    for name, v in sorted(totals.items(), key=lambda x: -x[1]):
        if v >= 50_000:
            print(f"{v / 1e6:9.1f} MB  {name}")
    print(f"{total / 1e6:9.1f} MB under analyze at the peak")


if __name__ == "__main__":
    if sys.argv[1] == "--adversary":
        adversary(sys.argv[2])
    else:
        main()
