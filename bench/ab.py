#!/usr/bin/env python3
"""Two hedge binaries on the same load, in alternating rounds: did a change help?

    sudo python3 bench/ab.py OLD_BINARY NEW_BINARY [--rounds 3] [--seconds 5]

Builds nothing: save the old binary first (`cp target/release/hedge /tmp/hedge-old`), then
build the new one. Uses bench.py's synthetic 1M list, fake root, configuration and query
files (5,000 cached names), with statistics on; each round starts each binary in turn
(the order alternating), warms its cache and runs the three mixes. Prints every run and the
medians of QPS and CPU per answer. Run it while nothing else runs: it measures CPU time.
"""
import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench as B  # noqa: E402

MIXES = ("blocked", "cached", "mix")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    bins = {"old": Path(args.old).resolve(), "new": Path(args.new).resolve()}
    for b in bins.values():
        if not os.access(b, os.X_OK):
            raise SystemExit(f"ab: {b} is not an executable")
    B.RAW.mkdir(parents=True, exist_ok=True)
    tag = "synthetic-1m"
    manifest, _ = B.prepare_synthetic(1_000_000, tag)
    idx = B.WORK / f"{tag}.hidx"
    if not idx.exists():
        B.compile_index(manifest, idx)
    adult, _ = B.listed_policy(manifest, B.WORK / f"{tag}-all.hidx")
    files, sample = B.query_files(f"{tag}-ab", adult, 5000)
    addr = B.LISTENERS[B.LOAD_PROFILE]
    runs = {k: {m: [] for m in MIXES} for k in bins}
    root = B.Root()
    try:
        live = B.WORK / f"{tag}-ab-live.hidx"
        shutil.copy(idx, live)
        conf = B.WORK / f"{tag}-ab.toml"
        B.hedge_config(conf, live, root.addr, True, 100_000)
        env = {k: v for k, v in os.environ.items() if k != "HEDGE_LOG"}
        for r in range(args.rounds):
            for key in (("old", "new") if r % 2 == 0 else ("new", "old")):
                srv = B.Server(f"ab-{key}", [bins[key], "serve", "--config", conf], env)
                try:
                    B.ready(srv, B.PORT, sample[0], files, f"ab-{key}")
                    for mix in MIXES:
                        (u0, s0) = B.cpu_split(srv.pid)
                        d = B.dnsperf(addr, files[mix], f"ab-{key}-{mix}-{r + 1}", seconds=args.seconds)
                        (u1, s1) = B.cpu_split(srv.pid)
                        n = d.get("completed") or 0
                        one = {"qps": d["qps"], "cpu": (u1 - u0 + s1 - s0) / n * 1e6 if n else None,
                               "sys": (s1 - s0) / n * 1e6 if n else None, "lost": d["lost"]}
                        runs[key][mix].append(one)
                        print(f"round {r + 1} {key} {mix:8} {one['qps']:9,.0f} qps  {one['cpu'] or 0:5.2f} us CPU "
                              f"({one['sys'] or 0:.2f} system)  lost {one['lost']:.0f}", flush=True)
                finally:
                    srv.stop()
    finally:
        root.stop()
    print("\n| mix | old QPS | new QPS | old CPU/answer (µs) | new CPU/answer (µs) | new/old CPU |\n"
          "|---|---:|---:|---:|---:|---:|")
    for mix in MIXES:
        med = {k: (statistics.median(x["qps"] for x in runs[k][mix]),
                   statistics.median(x["cpu"] for x in runs[k][mix] if x["cpu"])) for k in bins}
        print(f"| {mix} | {med['old'][0]:,.0f} | {med['new'][0]:,.0f} | {med['old'][1]:.2f} | "
              f"{med['new'][1]:.2f} | {med['new'][1] / med['old'][1]:.3f} |")


if __name__ == "__main__":
    main()
