#!/usr/bin/env python3
"""Loads the CSV exports of `wiretap run --out DIR` with pandas and polars, as docs/records.md
shows, and checks them against what the Rust side expects.

Usage: python3 tests/dataframes.py docs/records.md EXPECTED.json

The two load lines (`records = pd.read_csv(...)`, `records = pl.read_csv(...)`) and the
`columns` helper are taken from the doc's python block, so the test runs what the doc says.
EXPECTED.json (written by tests/dataframes.rs from the run itself) lists, per output directory,
each CSV file's row count and the exact values of some columns, and joins across files with
their row counts. Every CSV file of each directory must have a schema and load in both
libraries; identifiers must come out as strings, value for value; joins must match row for
row. Run by `cargo test --test tests dataframes` (needs python3 with pandas and polars).
"""

import json
import math
import os
import re
import sys

import pandas as pd
import polars as pl


def documented_loaders(doc_path):
    """The doc's `columns` helper and its two load lines, as functions of a path."""
    text = open(doc_path, encoding="utf-8").read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    block = next(b for b in blocks if "pl.read_csv(" in b and "pd.read_csv(" in b)
    env = {}
    lines = block.splitlines()
    loads = [l for l in lines if l.startswith("records = ")]
    setup = "\n".join(l for l in lines if not l.startswith("records = "))
    exec(setup, env)  # imports and `def columns`
    path = '"out/records.csv"'
    by_lib = {}
    for line in loads:
        expr = line.split(" = ", 1)[1]
        assert path in expr, line
        lib = "pandas" if expr.startswith("pd.") else "polars"
        by_lib[lib] = eval("lambda p: " + expr.replace(path, "p"), env)
    assert set(by_lib) == {"pandas", "polars"}, loads
    return by_lib


def cell(v):
    """A loaded cell as plain Python: None for missing, int, or str."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    return v


def column(df, name):
    if isinstance(df, pl.DataFrame):
        return [cell(v) for v in df[name].to_list()]
    return [cell(v) for v in df[name].tolist()]


def join_rows(left, right, left_on, right_on):
    if isinstance(left, pl.DataFrame):
        return left.join(right, left_on=left_on, right_on=right_on, how="inner").height
    return len(left.merge(right, left_on=left_on, right_on=right_on, how="inner"))


def check_dir(entry, load, failures):
    d = entry["dir"]
    scenario = entry["scenario"]
    csvs = sorted(f for f in os.listdir(d) if f.endswith(".csv"))
    assert set(entry["files"]) <= set(csvs), (scenario, sorted(entry["files"]), csvs)
    frames = {}
    for lib, loader in load.items():
        frames[lib] = {}
        for f in csvs:
            path = os.path.join(d, f)
            schema = json.load(open(path.removesuffix(".csv") + ".schema.json"))
            df = loader(path)
            frames[lib][f] = df
            names = [c["name"] for c in schema["columns"]]
            if list(df.columns) != names:
                failures.append(f"{scenario}/{f} [{lib}]: columns {list(df.columns)} != schema {names}")
            for c in schema["columns"]:
                if c["type"] != "text":
                    continue
                values = [v for v in column(df, c["name"]) if v is not None]
                bad = [v for v in values if not isinstance(v, str)]
                if bad:
                    failures.append(f"{scenario}/{f} [{lib}]: text column {c['name']} holds {bad[:3]}")
            exp = entry["files"].get(f)
            if exp is None:
                continue
            if len(df) != exp["rows"]:
                failures.append(f"{scenario}/{f} [{lib}]: {len(df)} rows, expected {exp['rows']}")
                continue
            for name, want in exp["columns"].items():
                got = column(df, name)
                if got != want:
                    diff = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
                    failures.append(
                        f"{scenario}/{f} [{lib}]: column {name} row {diff}: {got[diff]!r} != {want[diff]!r}"
                    )
        for j in entry["joins"]:
            try:
                got = join_rows(frames[lib][j["left"]], frames[lib][j["right"]], j["left_on"], j["right_on"])
            except Exception as e:  # e.g. keys of different types: integer on one side, text on the other
                got = f"{type(e).__name__}: {str(e).splitlines()[0]}"
            if got != j["rows"]:
                failures.append(
                    f"{scenario} [{lib}]: {j['left']}{j['left_on']} x {j['right']}{j['right_on']}: {got} rows, expected {j['rows']}"
                )
    # The JSON Lines files keep the types themselves, as the doc says.
    jl = os.path.join(d, "records.jsonl")
    exp = entry["files"]["records.csv"]["columns"]["imsi"]
    got_pd = [cell(v) for v in pd.read_json(jl, lines=True, dtype=False)["imsi"].tolist()]
    got_pl = pl.read_ndjson(jl)["imsi"].to_list()
    for lib, got in (("pandas", got_pd), ("polars", got_pl)):
        if got != exp:
            failures.append(f"{scenario}/records.jsonl [{lib}]: imsi differs")
    return sum(len(v) for v in entry["files"].values() if isinstance(v, dict)), len(csvs)


def main():
    doc, expected = sys.argv[1], sys.argv[2]
    load = documented_loaders(doc)
    spec = json.load(open(expected))
    failures = []
    for entry in spec["dirs"]:
        _, n = check_dir(entry, load, failures)
        print(
            f"{entry['scenario']}: {n} CSV files, {len(entry['joins'])} joins checked with pandas {pd.__version__} and polars {pl.__version__}"
        )
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("dataframes: every CSV loads with identifiers intact; joins match")


if __name__ == "__main__":
    main()
