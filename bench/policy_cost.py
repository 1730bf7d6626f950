#!/usr/bin/env python3
"""What schedules, live grants and local recategorisations cost on the DNS path (issue 19).

    python3 bench/policy_cost.py [--work DIR] [--lines 5000] [--hedge BIN] [--fake-internet BIN]

Runs hedge under callgrind on the same queries as `bench/counting.py instructions` does
(its set-up, warm-up and measurement, imported from it and bench.py), in three
configurations, as two comparisons (A is measured in each, which shows how far two runs of
one configuration differ):

  A  the benchmark's configuration as is;
  S  A plus, for the child profile (the one the load asks), three schedules in the time
     zone Europe/London: school hours Mon-Fri 09:00-15:30 blocking games, lunchtime
     Mon-Fri 12:00-13:00 allowing them, and `benchmark hours` from the hour before the run
     to three hours after it, so that one is in force while it is measured;
  B  S plus a statistics store with live grants (--grants, 200, over the three profiles,
     half until revoked, half for 7 days) and local recategorisations (--recategorisations,
     50: half into `games`, half out of `gambling`), made with `hedge requests grant` and
     `hedge requests recategorise` after the requests are recorded as the portal records
     them (no command makes a patron's request).

None of them names a name the mixes ask, so all answer alike: the difference is the cost of
consulting them. All have statistics on (grants live in the statistics store).

Prints, for S vs A and B vs A per mix (blocked, cached, 10/90): instructions and estimated
cycles per answer in the threads that answer (without the statistics flusher and the
requests watcher, whose work is per flush and per poll, not per query), Policy::decide's
calls and instructions a call, the watcher's instructions per re-read of the store, and the
functions that differ most. Checks that no policy swap (a schedule boundary, a grant's
expiry: hedge logs `policy changed`, and a swap empties the answer caches) falls in a
measured pass, and says so.

Needs the query files of the synthetic 1M list from a full run (--work, default bench/work;
only read) and release builds of hedge and fake-internet (`cargo build --release -p hedge
-p hedge-testkit --bin hedge --bin fake-internet`), root (the fake internet binds port 53 on
loopback) and valgrind. Ports 5590-5591. About 6 minutes with --lines 5000.
"""

import argparse
import datetime
import os
import re
import sqlite3
import subprocess
import sys
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
import counting  # noqa: E402  (its patches: patient queries, a steady warm-up of the blocked mix)

TAG = "policy"
# After importing counting, which sets its own.
bench.PORT, bench.OFF_PORT = 5590, 5591
ZONE = "Europe/London"
MIXES = ("blocked", "cached", "mix")

# When each measured pass ran, to check no policy swap fell in one.
measured = []
_dnsperf = bench.dnsperf


def _timed_dnsperf(server, datafile, rawname, **kw):
    t0 = datetime.datetime.now(datetime.timezone.utc)
    r = _dnsperf(server, datafile, rawname, **kw)
    if re.fullmatch(rf"{TAG}-[sb]-cg-(on|off)-({'|'.join(MIXES)})", rawname):
        measured.append((rawname, t0, datetime.datetime.now(datetime.timezone.utc)))
    return r


bench.dnsperf = _timed_dnsperf


def schedules(now):
    """The child profile's schedules, and the window of the one in force during the run
    (local times): from the hour before now to three hours after, within the day."""
    start = max(now.hour - 1, 0)
    end = min(now.hour + 3, 24)
    text = f"""
[[profile.schedule]]
name = "school hours"
days = ["mon-fri"]
from = "09:00"
to = "15:30"
block = ["games"]

[[profile.schedule]]
name = "lunchtime"
days = ["mon-fri"]
from = "12:00"
to = "13:00"
allow = ["games"]

[[profile.schedule]]
name = "benchmark hours"
from = "{start:02}:00"
to = "{end:02}:00"
block = ["games", "internet-communication/instant-messaging"]
"""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return text, (day + datetime.timedelta(hours=start), day + datetime.timedelta(hours=end))


def configs(scratch, index, root, now):
    """A: the benchmark's configuration; S and B: the same with the schedules and the time
    zone, each with its own statistics store (B's gets the staff decisions)."""
    out = {}
    text, window = schedules(now)
    for key in ("a", "s", "b"):
        conf = scratch / f"hedge-{key}.toml"
        for f in scratch.glob(f"hedge-{key}.sqlite*"):
            f.unlink()
        port = bench.OFF_PORT if key == "a" else bench.PORT  # counting_instructions's "off" and "on"
        bench.hedge_config(conf, index, root, True, 100_000, port=port)
        # As counting.py: under callgrind a recursion can take longer than bench.py's 2 s.
        body = conf.read_text().replace("timeout_ms = 2000", "timeout_ms = 30000")
        if key != "a":
            garden = '[[profile]]\nname = "walled-garden"'
            assert garden in body, "bench.hedge_config's profiles changed"
            body = body.replace(garden, text.lstrip() + "\n" + garden)
            body = body.replace("\n\n[[profile]]", f'\ntimezone = "{ZONE}"\n\n[[profile]]', 1)
        conf.write_text(body)
        out[key] = conf
    return out, window


def hedge(*args):
    p = subprocess.run([str(bench.HEDGE), *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"hedge {' '.join(map(str, args))}: {p.stderr.strip()}")
    return p.stdout


def decisions(conf, env, probe, n_grants, n_recats):
    """The store of B with open requests, granted with `hedge requests grant`, and local
    recategorisations made with `hedge requests recategorise`. The store is created by a
    short `hedge serve` (the commands refuse a missing one: requests come through serve)."""
    srv = bench.Server("hedge-policy-store", [bench.HEDGE, "serve", "--config", conf], env)
    try:
        addr = bench.LISTENERS[bench.LOAD_PROFILE]
        if bench.dnsq.wait_for_answer(addr, bench.PORT, probe, bench.SINKHOLE, srv.t0, limit=60,
                                      proc=srv.proc, source=bench.client_of(addr)) is None:
            sys.exit("hedge never answered (to create the store)")
    finally:
        srv.stop()
    profiles = list(bench.LISTENERS)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # A request as the portal records it (hedge_stats::SqliteStore::submit_request's insert).
    with sqlite3.connect(conf.with_suffix(".sqlite")) as db:
        ids = [db.execute(
            "INSERT INTO unblock_requests (requested_at, last_requested_at, profile, domain, "
            "category, reason) VALUES (?1, ?1, ?2, ?3, 'gambling', 'for a school project')",
            (now, profiles[i % 3], f"site{i}.requested.org")).lastrowid for i in range(n_grants)]
    for i, rid in enumerate(ids):
        # Some until revoked, some for a week: no expiry falls in the run.
        until = ["--until", "7d"] if i % 2 else []
        hedge("requests", "grant", rid, "--profile", profiles[i % 3], *until,
              "--config", conf, "--as", "bench")
    for i in range(n_recats):
        if i % 2:
            hedge("requests", "recategorise", f"games{i}.recategorised.net", "--category", "games",
                  "--config", conf, "--as", "bench")
        else:
            hedge("requests", "recategorise", f"odds{i}.recategorised.net", "--category",
                  "gambling", "--remove", "--config", conf, "--as", "bench")


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def swaps(stderr):
    """(time, line) of each policy swap hedge logged."""
    out = []
    for line in stderr.read_text(errors="replace").splitlines() if stderr.exists() else []:
        line = ANSI.sub("", line)
        if "policy changed" in line:
            try:
                at = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
            except ValueError:
                at = None
            out.append((at, line))
    return out


def dumps(tag, key, mix):
    """The callgrind dumps of one measured pass, split into the threads that answer and the
    requests watcher's (its work is per poll, not per query); the statistics flusher's are
    left out, as bench.callgrind_totals does."""
    answer, watcher = [], []
    for f in (bench.RAW / "callgrind").glob(f"{tag}-{key}.*"):
        text = f.read_text(errors="replace")
        if f"desc: Trigger: dump {mix}\n" in text and "Flusher<" not in text:
            (watcher if "requests_watch::Poller" in text else answer).append(f)
    return answer, watcher


def scan(files):
    """Self instructions per function, and (calls, inclusive instructions) per callee, in
    callgrind dumps (name-compressed, as callgrind writes them)."""
    own, calls = {}, {}
    for f in files:
        names, fn, callee, after_calls = {}, None, None, False
        for line in f.read_text(errors="replace").splitlines():
            if line.startswith(("fn=(", "cfn=(")):
                ident, _, name = line.split("=", 1)[1].partition(" ")
                name = names.setdefault(ident, name)
                if line.startswith("fn="):
                    fn = name
                else:
                    callee = name
            elif line.startswith("calls="):
                after_calls = int(line.split()[0][len("calls="):])
            elif fn and line[:1] in "0123456789+-*":
                parts = line.split()
                ir = int(parts[1]) if len(parts) > 1 else 0
                if after_calls is not False:
                    c = calls.setdefault(callee, [0, 0])
                    c[0] += after_calls
                    c[1] += ir
                    after_calls = False
                else:
                    own[fn] = own.get(fn, 0) + ir
    return own, calls


def per_call(calls, suffix):
    """(calls, inclusive instructions a call) of the function whose name ends with suffix."""
    n = sum(c for name, (c, _) in calls.items() if name.endswith(suffix))
    ir = sum(i for name, (_, i) in calls.items() if name.endswith(suffix))
    return n, (ir / n if n else 0)


def compare(tag, res):
    """Per mix: the answering threads' instructions and estimated cycles per answer, on
    (the variant) and off (A); Policy::decide per call; the watcher's cost per re-read;
    the functions that differ most."""
    out = {}
    for mix in MIXES:
        row = {}
        for key in ("on", "off"):
            answer, watcher = dumps(tag, key, mix)
            n = res[mix][key]["answers"]
            tot, _ = bench.callgrind_totals(answer)
            own, calls = scan(answer)
            wtot, _ = bench.callgrind_totals(watcher)
            row[key] = {"answers": n, "ir": tot.get("Ir", 0) / n, "cycles": bench.estimated_cycles(tot) / n,
                        "decide": per_call(calls, "hedge_policy::Policy::decide"), "own": own,
                        "rereads": per_call(scan(watcher)[1], ">::active_overrides"),
                        "watcher_ir": wtot.get("Ir", 0)}
        on, off = row["on"], row["off"]
        diff = {f: on["own"].get(f, 0) / on["answers"] - off["own"].get(f, 0) / off["answers"]
                for f in set(on["own"]) | set(off["own"])}
        row["where"] = sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:8]
        out[mix] = row
    return out


def report(v, name, tag, res):
    rows = compare(tag, res)
    print(f"\n{v} ({name}) vs A, in the threads that answer (all but the statistics flusher and "
          "the requests watcher):\n")
    print(f"| mix | A (Ir/answer) | {v} (Ir/answer) | {v} vs A | est. cycles A | est. cycles {v} | "
          f"{v} vs A | Policy::decide A (calls, Ir/call) | {v} |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mix in MIXES:
        on, off = rows[mix]["on"], rows[mix]["off"]
        print(f"| {mix} | {off['ir']:.0f} | {on['ir']:.0f} | {(on['ir'] / off['ir'] - 1) * 100:+.2f}% | "
              f"{off['cycles']:.0f} | {on['cycles']:.0f} | {(on['cycles'] / off['cycles'] - 1) * 100:+.2f}% | "
              f"{off['decide'][0]}, {off['decide'][1]:.0f} | {on['decide'][0]}, {on['decide'][1]:.0f} |")
    for mix in MIXES:
        on, off = rows[mix]["on"], rows[mix]["off"]
        print(f"\n{mix}: requests watcher {on['watcher_ir']:,} Ir in the pass ({on['rereads'][0]} "
              f"re-reads of the store, {on['rereads'][1]:,.0f} Ir each) vs A {off['watcher_ir']:,} "
              f"({off['rereads'][0]}, {off['rereads'][1]:,.0f} each); the functions that differ most, "
              f"{v} - A self instructions per answer:")
        for fn, d in rows[mix]["where"]:
            print(f"  {d:+8.1f}  {fn}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hedge", default=str(bench.HEDGE))
    ap.add_argument("--fake-internet", default=str(bench.FAKE_INTERNET),
                    help="the testkit's fake-internet binary")
    ap.add_argument("--work", default=str(bench.WORK),
                    help="where a full run left its query files (only read)")
    ap.add_argument("--scratch", default=str(bench.BENCH / "work" / "policy-cost"))
    ap.add_argument("--lines", type=int, default=10_000, help="queries a measured pass")
    ap.add_argument("--grants", type=int, default=200)
    ap.add_argument("--recategorisations", type=int, default=50)
    args = ap.parse_args()

    now = datetime.datetime.now(zoneinfo.ZoneInfo(ZONE))
    if now.hour >= 22:
        sys.exit("policy_cost: run it before 22:00 in Europe/London (the in-force schedule "
                 "would end at midnight, during the run)")
    scratch, index, files, probe = counting.setup(args)
    for f in bench.RAW.glob("hedge-*.stderr.txt"):
        f.unlink()
    env = {k: v for k, v in os.environ.items() if k != "HEDGE_LOG"}
    root = bench.Root()
    res = {}
    try:
        conf, window = configs(scratch, index, root.addr, now)
        bench.log(f"B: {args.grants} grants, {args.recategorisations} recategorisations")
        decisions(conf["b"], env, probe, args.grants, args.recategorisations)
        # counting_instructions's "on" is the variant (port 5590), its "off" A (5591); A is
        # measured twice, which shows how far two runs of one configuration differ.
        for variant in ("s", "b"):
            for f in bench.RAW.glob("hedge-callgrind-*.stderr.txt"):
                f.unlink()
            res[variant] = bench.counting_instructions(f"{TAG}-{variant}", conf[variant], conf["a"],
                                                      env, probe, files, lines=args.lines)
            if res[variant] is None:
                sys.exit("valgrind not found")
            stderr = bench.RAW / "hedge-callgrind-on.stderr.txt"
            stderr.rename(stderr.with_name(f"hedge-{variant}.stderr.txt"))
    finally:
        root.stop()

    print(f"hedge: {bench.HEDGE}")
    names = ", ".join(re.findall(r'name = "([^"]+)"', schedules(now)[0]))
    print(f"S: the child profile with schedules {names} ({ZONE}; `benchmark hours` in force "
          f"{window[0]:%H:%M}-{window[1]:%H:%M}); B: S plus a store with staff decisions")
    with sqlite3.connect(f"file:{conf['b'].with_suffix('.sqlite')}?mode=ro", uri=True) as store:
        counts = [store.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("grants", "recategorisations")]
    print(f"B's store: {counts[0]} grants, {counts[1]} recategorisations")
    for variant in ("s", "b"):
        stderr = bench.RAW / f"hedge-{variant}.stderr.txt"
        text = ANSI.sub("", stderr.read_text(errors="replace"))
        applied = [line for line in text.splitlines() if "staff decisions in force" in line]
        logged = swaps(stderr)
        passes = [(t0, t1) for name, t0, t1 in measured if name.startswith(f"{TAG}-{variant}-cg-on-")]
        during = [line for at, line in logged if at is None or any(t0 <= at <= t1 for t0, t1 in passes)]
        first, last = min(t0 for t0, _ in passes), max(t1 for _, t1 in passes)
        zone = window[0].tzinfo
        inside = window[0] <= first.astimezone(zone) and last.astimezone(zone) < window[1]
        print(f"{variant.upper()}: measured {first:%H:%M:%S}-{last:%H:%M:%S} UTC, `benchmark hours` in "
              f"force throughout: {'yes' if inside else 'NO'}; policy swaps logged: {len(logged)}, "
              f"during a measured pass: {len(during)}"
              + (f"; log: {applied[-1].split(' INFO ')[-1].strip()}" if applied else ""))
        for line in during:
            print(f"  {line}")
    report("S", "schedules", f"{TAG}-s", res["s"])
    report("B", "schedules, grants and recategorisations", f"{TAG}-b", res["b"])


if __name__ == "__main__":
    main()
