#!/usr/bin/env python3
"""What a partition of the world by carrier would exchange (docs/distributed.md).

Reads a `wiretap run --trace FILE` written with RUST_LOG=trace and prints, per partition (each
carrier, and the interconnect with the OTT server), the share of the trace's node records
(packets received, packets sent, timers: a proxy for the events each partition would handle)
and the end-to-end packets whose two ends sit in different partitions (the boundary events a
partitioned run would exchange).

    RUST_LOG=trace wiretap run salt-typhoon --quiet --trace /tmp/t.jsonl > /dev/null
    python3 benches/partition_traffic.py /tmp/t.jsonl
"""
import collections
import json
import sys


def partition(addr):
    """The partition of an address of the model (crates/carrier/src/topology.rs)."""
    ip = addr.split(":")[0]
    o = ip.split(".")
    if o[0] == "10":
        return f"carrier {o[1]}"
    if o[0] == "172" and o[1] in ("16", "17"):
        return f"carrier {o[2]}"
    if ip.startswith("192.0.2."):
        return f"carrier {int(o[3]) - 1}"
    if o[0] == "100":
        return "carrier (overflow block)"
    return "interconnect + OTT"


def main(path):
    load = collections.Counter()
    pairs = collections.Counter()
    first = last = None
    for line in open(path, encoding="utf-8"):
        d = json.loads(line)
        span = d.get("span") or {}
        node = span.get("node")
        if node is None:
            continue
        t = span.get("t_ns", 0)
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
        carrier = node.split(".")[0] if "." in node else None
        load[carrier or "interconnect + OTT"] += 1
        if d.get("message") == "packet sent":
            pairs[(partition(d["src"]), partition(d["dst"]))] += 1
    names = {}
    total = sum(load.values())
    print(f"node records: {total}")
    for name, n in load.most_common():
        print(f"  {name:<24} {n:>9}  {100 * n / total:5.1f} %")
    sent = sum(pairs.values())
    cross = sum(n for (a, b), n in pairs.items() if a != b)
    days = (last - first) / 86400e9 if last and first is not None else 0
    print(f"end-to-end packets sent: {sent}; crossing partitions: {cross} ({100 * cross / sent:.1f} %)")
    if days > 0:
        print(f"  over {days:.2f} simulated days: {cross / (days * 86400):.3f} boundary packets per simulated second")
    for (a, b), n in sorted(pairs.items(), key=lambda kv: -kv[1]):
        if a != b:
            print(f"  {a} -> {b}: {n}")
    del names


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/t.jsonl")
