#!/usr/bin/env python3
"""The counting-overhead rows of the benchmark on their own, for work on the statistics path.

    python3 bench/counting.py instructions [--hedge BIN]   # callgrind, statistics on vs off
    python3 bench/counting.py flusher [--hedge BIN] [--seconds 30] [--qps 20000]

Uses the query files of the synthetic 1M list that a full run left in bench/work (run
bench/run.sh --quick once if they are missing) and bench.py's own measurement, with an index
of just the names the blocked mix asks for (hedge under callgrind would take too long to
verify the 1M-name one), so figures compare with each other, not with the full benchmark's
absolute instructions per answer. `--lines 5000` halves the callgrind run. `--flood N`
measures the blocked mix alone over its first N lines (all distinct names: with N well over
the blocked-answer cache's 4,096 entries nearly every answer is decided anew and evicts an
entry, as in the full benchmark's 50,000-name loop). `flusher` loads
the blocked mix at a fixed rate and reports the `hedge-stats-flush` thread's share of the
server's CPU (from /proc/PID/task). Ports 5490-5492, so another hedge can stay up.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

TAG = "synthetic-1m"

# Under callgrind on a shared machine an answer can take longer than bench.py's 50 ms poll.
_query = bench.dnsq.query


def _patient_query(*args, timeout=0.05, **kw):
    return _query(*args, timeout=max(timeout, 1.0), **kw)


bench.dnsq.query = _patient_query

_dnsperf = bench.dnsperf


def _dnsperf_then_flush(server, datafile, rawname, **kw):
    """After the warm-up pass of the blocked mix, loads the mix for 8 s more, so that at
    least one whole 5-s interval of the blocked-domain tables sees all of it, as under a
    steady load (a single pass, cut by a flush at a random point, left tables sized for part
    of the mix, and the measured pass then paid or did not pay for growing them: the same
    build measured +272 and +421 instructions a blocked answer). Then waits for the
    flusher to take the tables (every 5 s): otherwise the measured pass finds every name
    counted already or counts each anew, depending on when the last flush fell. Every
    measured blocked answer then counts a name new to its interval (the dearer case)."""
    r = _dnsperf(server, datafile, rawname, **kw)
    if rawname.endswith("-blocked-pre"):
        # A fixed number of passes, not a time: the blocked-answer cache must see the same
        # queries with statistics on and off.
        steady = {k: v for k, v in kw.items() if k != "maxruns"}
        _dnsperf(server, datafile, rawname + "-steady", maxruns=4, **steady)
        time.sleep(6)
    return r


bench.dnsperf = _dnsperf_then_flush
# Ports of their own, so a benchmark or another hedge on the usual ones is left alone.
bench.PORT, bench.OFF_PORT = 5490, 5491


def setup(args):
    work = Path(args.work).resolve()
    scratch = Path(args.scratch).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    bench.WORK = scratch
    bench.RAW = scratch / "raw"
    bench.RAW.mkdir(exist_ok=True)
    bench.HEDGE = Path(args.hedge).resolve()
    bench.FAKE_INTERNET = Path(args.fake_internet).resolve()
    files = {}
    for mix in ("blocked", "cached", "mix"):
        files[mix] = scratch / f"{TAG}-q-{mix}.txt"
        if not files[mix].exists():
            # Files from a run before the testkit's fake internet ask bench.test, which it
            # does not serve (NXDOMAIN); its bench.net answers every name as bench.test did.
            text = (work / f"{TAG}-q-{mix}.txt").read_text()
            files[mix].write_text(text.replace(".bench.test ", ".bench.net "))
    # Only the cached names the measured lines ask for are warmed (the first `lines` of the
    # cached mix hold every cached name of the first `lines` of the 10/90 mix): warming all
    # 20,000 through a resolver under callgrind takes most of an hour on a busy machine.
    if args.flood:
        # Only the blocked row is reported: the other mixes are cut short to save time.
        for mix in ("cached", "mix"):
            lines = files[mix].read_text().splitlines()[:200]
            files[mix] = scratch / f"{TAG}-q-{mix}-200.txt"
            files[mix].write_text("\n".join(lines) + "\n")
    elif args.lines:
        lines = files["cached"].read_text().splitlines()[: args.lines]
        files["cached"] = scratch / f"{TAG}-q-cached-{args.lines}.txt"
        files["cached"].write_text("\n".join(lines) + "\n")
    # An index of just the names the blocked mix asks for (as listed, without the random
    # subdomain): under callgrind, verifying the 1M-name index takes longer than bench.py
    # waits, and what counting costs per answer does not depend on the index's size.
    index = scratch / "asked.hidx"
    if not index.exists():
        names = scratch / "asked.txt"
        listed = {line.split()[0] for line in files["blocked"].read_text().splitlines() if line}
        listed = sorted(n.split(".", 1)[1] if n.startswith("x") and n[1].isdigit() else n
                        for n in listed)
        names.write_text("\n".join(listed) + "\n")
        manifest = scratch / "asked.toml"
        manifest.write_text('[[source]]\nname = "asked"\nformat = "plain"\npath = "asked.txt"\n'
                            'category = ["gambling"]\n')
        bench.compile_index(manifest, index)
    probe = files["blocked"].read_text().split("\n", 1)[0].split()[0]
    return scratch, index, files, probe


def configs(scratch, index, root):
    on, off = scratch / "hedge.toml", scratch / "hedge-nostats.toml"
    for f in scratch.glob("hedge*.sqlite*"):
        f.unlink()
    bench.hedge_config(on, index, root, True, 100_000, port=bench.PORT)
    bench.hedge_config(off, index, root, False, 100_000, port=bench.OFF_PORT)
    # Under callgrind on a busy machine a recursion can take longer than bench.py's 2 s: the
    # warm-up would then cache failures instead of answers.
    for conf in (on, off):
        conf.write_text(conf.read_text().replace("timeout_ms = 2000", "timeout_ms = 30000"))
    return on, off


def instructions(args):
    scratch, index, files, probe = setup(args)
    root = bench.Root()
    try:
        on, off = configs(scratch, index, root.addr)
        env = {k: v for k, v in os.environ.items() if k != "HEDGE_LOG"}
        lines = args.flood or args.lines
        res = bench.counting_instructions(TAG, on, off, env, probe, files, lines=lines)
    finally:
        root.stop()
    if res is None:
        sys.exit("valgrind not found")
    print(f"hedge: {bench.HEDGE}")
    print("| mix | on (Ir/answer) | off (Ir/answer) | overhead | est. cycles overhead | in the observer |")
    print("|---|---|---|---|---|---|")
    for mix in ("blocked",) if args.flood else ("blocked", "cached", "mix"):
        r = res[mix]
        inside = {key: observer_ir(mix, key) / r[key]["answers"] for key in ("on", "off")}
        print(f"| {mix} | {r['on']['ir_per_answer']:.0f} | {r['off']['ir_per_answer']:.0f} | "
              f"{r['ir_overhead'] * 100:+.2f}% | {r['cycles_overhead'] * 100:+.2f}% | "
              f"{inside['on'] - inside['off']:+.0f} Ir/answer |")


def observer_ir(mix, key):
    """Instructions spent in the observer (statistics and metrics) during a measured pass:
    the inclusive cost of the calls to `Observer::observe` in the resolver threads' dumps,
    and of the counts handed over when a packet-cache entry that kept them goes on the query
    path (`Entry::hand_over`: its name written out, and the observer's `observe_cached`).
    The difference on - off is what counting costs an answer, without the noise of the
    rest: the blocked-answer cache is keyed with a per-process seed, so which random
    subdomains it still holds (and so how many answers take the policy lookup) differs
    between the two servers by up to a few hundred instructions an answer."""
    total = 0
    for f in (bench.RAW / "callgrind").glob(f"{TAG}-{key}.*"):
        text = f.read_text(errors="replace")
        if f"desc: Trigger: dump {mix}\n" not in text or "Flusher<" in text:
            continue
        names, callee, cost_next = {}, "", False
        for line in text.splitlines():
            if cost_next:
                # "<position> <Ir> <Dr> ...": the cost of the calls just announced.
                total += int(line.split()[1])
                cost_next = False
            elif line.startswith(("fn=(", "cfn=(")):
                ident, _, name = line.split("=", 1)[1].partition(" ")
                names.setdefault(ident, name)
                if line.startswith("cfn="):
                    callee = names[ident]
            elif line.startswith("calls="):
                # `observe_cached` is called inside `hand_over`: not counted twice.
                cost_next = (callee.endswith("Observer>::observe")
                             or "packet_cache::Entry>::hand_over" in callee
                             or "packet_cache::Entry::hand_over" in callee)
    return total


def flusher(args):
    bench.PORT = 5492  # may run beside `instructions`
    scratch, index, files, probe = setup(args)
    root = bench.Root()
    try:
        on, _ = configs(scratch, index, root.addr)
        env = {k: v for k, v in os.environ.items() if k != "HEDGE_LOG"}
        srv = bench.Server("hedge-flusher", [bench.HEDGE, "serve", "--config", on], env)
        try:
            addr = bench.LISTENERS[bench.LOAD_PROFILE]
            if bench.dnsq.wait_for_answer(addr, bench.PORT, probe, bench.SINKHOLE, srv.t0, limit=60,
                                          proc=srv.proc, source=bench.client_of(addr)) is None:
                sys.exit("hedge never answered")
            # One pass so every name is in the blocked-answer cache, as in the benchmark.
            bench.dnsperf(addr, files["blocked"], "flusher-warm", maxruns=1, port=bench.PORT)
            time.sleep(6)
            f0, p0 = bench.thread_cpu_seconds(srv.pid, "hedge-stats-flu"), bench.cpu_seconds(srv.pid)
            r = bench.dnsperf(addr, files["blocked"], "flusher", seconds=args.seconds, qps=args.qps, port=bench.PORT)
            f1, p1 = bench.thread_cpu_seconds(srv.pid, "hedge-stats-flu"), bench.cpu_seconds(srv.pid)
        finally:
            srv.stop()
    finally:
        root.stop()
    print(f"hedge: {bench.HEDGE}")
    print(f"{r.get('completed')} answers in {args.seconds} s at {args.qps} qps asked; "
          f"server CPU {p1 - p0:.2f} s, flusher {f1 - f0:.2f} s = {(f1 - f0) / (p1 - p0) * 100:.2f}%")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("instructions", "flusher"))
    ap.add_argument("--hedge", default=str(bench.HEDGE))
    ap.add_argument("--fake-internet", default=str(bench.FAKE_INTERNET),
                    help="the testkit's fake-internet binary (a debug build will do)")
    ap.add_argument("--work", default=str(bench.WORK), help="where a full run left its files")
    ap.add_argument("--scratch", default=str(bench.BENCH / "work" / "counting"))
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--flood", type=int, default=0, metavar="N",
                    help="the blocked mix alone, over its first N (distinct) names")
    ap.add_argument("--port", type=int, default=bench.PORT,
                    help="statistics on here, off on the next port (two runs side by side)")
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--qps", type=int, default=20_000)
    args = ap.parse_args()
    bench.PORT, bench.OFF_PORT = args.port, args.port + 1
    {"instructions": instructions, "flusher": flusher}[args.what](args)


if __name__ == "__main__":
    main()
