#!/usr/bin/env python3
"""What schedules, live grants and local recategorisations cost on the DNS path (issue 19).

    python3 bench/policy_cost.py [--work DIR] [--lines 5000] [--hedge BIN] [--fake-internet BIN]

Runs hedge twice under callgrind on the same queries, as `bench/counting.py instructions`
does (its set-up, warm-up and measurement, imported from it and bench.py): A is the
benchmark's configuration as is; B is the same plus, for the child profile (the one the
load asks), three schedules in the time zone Europe/London (school hours Mon-Fri
09:00-15:30 blocking games, lunchtime Mon-Fri 12:00-13:00 allowing them, and one around the
time of the run, so that a schedule is in force while it is measured), and a statistics
store holding live grants (200 by default, spread over the three profiles) and local
recategorisations (50: half into `games`, half out of `gambling`), made with
`hedge requests grant` / `hedge requests recategorise` after the requests are recorded
(as the portal records them; there is no command for a patron's request). None of them
names a name the mixes ask, so A and B give the same answers: the difference is the cost
of consulting them. Both have statistics on (grants live in the statistics store).

Prints instructions and estimated cycles per answer for A and B per mix (blocked, cached,
10/90), B vs A, and, per mix, the functions whose instructions per answer differ most.
Checks that no schedule boundary or grant expiry falls in the measured passes (hedge logs
`policy changed` at a swap, which empties the answer caches) and says so.

Needs the query files of the synthetic 1M list from a full run (`--work`, default
bench/work; only read) and release builds of hedge and fake-internet (`cargo build
--release -p hedge -p hedge-testkit --bin hedge --bin fake-internet`). Root (the fake
internet binds port 53 on loopback). Ports 5590-5591, so other benchmarks can run.
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
    if re.fullmatch(rf"{TAG}-cg-(on|off)-({'|'.join(MIXES)})", rawname):
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
    """A: the benchmark's configuration; B: the same with the schedules and the time zone."""
    a, b = scratch / "hedge-a.toml", scratch / "hedge-b.toml"
    for f in list(scratch.glob("hedge-a.sqlite*")) + list(scratch.glob("hedge-b.sqlite*")):
        f.unlink()
    bench.hedge_config(a, index, root, True, 100_000, port=bench.OFF_PORT)
    bench.hedge_config(b, index, root, True, 100_000, port=bench.PORT)
    # As counting.py: under callgrind a recursion can take longer than bench.py's 2 s.
    for conf in (a, b):
        conf.write_text(conf.read_text().replace("timeout_ms = 2000", "timeout_ms = 30000"))
    text, window = schedules(now)
    conf = b.read_text()
    garden = '[[profile]]\nname = "walled-garden"'
    assert garden in conf, "bench.hedge_config's profiles changed"
    conf = conf.replace(garden, text.lstrip() + "\n" + garden)
    conf = conf.replace("\n\n[[profile]]", f'\ntimezone = "{ZONE}"\n\n[[profile]]', 1)
    b.write_text(conf)
    return a, b, window


def hedge(*args):
    return subprocess.run([str(bench.HEDGE), *map(str, args)], capture_output=True, text=True,
                          check=True).stdout


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


def swaps(stderr):
    """(time, line) of each policy swap hedge logged."""
    out = []
    for line in stderr.read_text(errors="replace").splitlines() if stderr.exists() else []:
        if "policy changed" in line:
            stamp = line.split()[0]
            try:
                at = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                at = None
            out.append((at, line))
    return out


def self_ir(mix, key):
    """Instructions per function (self cost) in the dumps of one measured pass, excluding
    the statistics flusher's thread (as bench.callgrind_totals does)."""
    costs = {}
    for f in (bench.RAW / "callgrind").glob(f"{TAG}-{key}.*"):
        text = f.read_text(errors="replace")
        if f"desc: Trigger: dump {mix}\n" not in text or "Flusher<" in text:
            continue
        names, fn, skip = {}, None, False
        for line in text.splitlines():
            if line.startswith("fn=("):
                ident, _, name = line[3:].partition(" ")
                fn = names.setdefault(ident, name)
            elif line.startswith(("cfn=(", "cfi=(", "cfl=(")):
                ident, _, name = line.split("=", 1)[1].partition(" ")
                if line.startswith("cfn="):
                    names.setdefault(ident, name)
            elif line.startswith("calls="):
                skip = True  # the next cost line is the call's inclusive cost
            elif fn and line[:1] in "0123456789+-*":
                if skip:
                    skip = False
                    continue
                parts = line.split()
                if len(parts) > 1:
                    costs[fn] = costs.get(fn, 0) + int(parts[1])
    return costs


def where(res, mix, top=8):
    """The functions whose instructions per answer differ most between B and A."""
    b, a = self_ir(mix, "on"), self_ir(mix, "off")
    nb, na = res[mix]["on"]["answers"], res[mix]["off"]["answers"]
    diff = {f: b.get(f, 0) / nb - a.get(f, 0) / na for f in set(a) | set(b)}
    return sorted(diff.items(), key=lambda kv: -abs(kv[1]))[:top]


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
    root = bench.Root()
    try:
        a, b, window = configs(scratch, index, root.addr, now)
        env = {k: v for k, v in os.environ.items() if k != "HEDGE_LOG"}
        bench.log(f"B: {args.grants} grants, {args.recategorisations} recategorisations")
        decisions(b, env, probe, args.grants, args.recategorisations)
        # counting_instructions's "on" is B (port 5590), its "off" A (5591).
        res = bench.counting_instructions(TAG, b, a, env, probe, files, lines=args.lines)
    finally:
        root.stop()
    if res is None:
        sys.exit("valgrind not found")

    print(f"hedge: {bench.HEDGE}")
    names = ", ".join(re.findall(r'name = "([^"]+)"', schedules(now)[0]))
    print(f"B's child profile: schedules {names} ({ZONE}; `benchmark hours` in force "
          f"{window[0]:%H:%M}-{window[1]:%H:%M})")
    store = sqlite3.connect(f"file:{b.with_suffix('.sqlite')}?mode=ro", uri=True)
    for table in ("grants", "recategorisations"):
        try:
            print(f"B's store: {store.execute(f'SELECT count(*) FROM {table}').fetchone()[0]} rows in {table}")
        except sqlite3.Error:
            pass
    stderr = bench.RAW / "hedge-callgrind-on.stderr.txt"
    applied = [line for line in stderr.read_text(errors="replace").splitlines()
               if "staff decisions in force" in line]
    print(f"B's log: {applied[-1] if applied else 'NO staff decisions in force (not applied?)'}")
    logged = swaps(stderr)
    during = [(at, line) for at, line in logged
              if at is None or any(t0 <= at <= t1 for _, t0, t1 in measured)]
    first, last = min(t0 for _, t0, _ in measured), max(t1 for _, _, t1 in measured)
    inside = window[0] <= first.astimezone(window[0].tzinfo) and last.astimezone(window[0].tzinfo) < window[1]
    print(f"measured passes {first:%H:%M:%S}-{last:%H:%M:%S} UTC; `benchmark hours` in force "
          f"throughout: {'yes' if inside else 'NO'}; policy swaps logged by B: {len(logged)}, "
          f"during a measured pass: {len(during)}")
    for _, line in during:
        print(f"  {line}")
    print()
    print("| mix | A (Ir/answer) | B (Ir/answer) | B vs A | est. cycles A | est. cycles B | B vs A |")
    print("|---|---|---|---|---|---|---|")
    for mix in MIXES:
        r = res[mix]
        print(f"| {mix} | {r['off']['ir_per_answer']:.0f} | {r['on']['ir_per_answer']:.0f} | "
              f"{r['ir_overhead'] * 100:+.2f}% | {r['off']['cycles_per_answer']:.0f} | "
              f"{r['on']['cycles_per_answer']:.0f} | {r['cycles_overhead'] * 100:+.2f}% |")
    for mix in MIXES:
        print(f"\n{mix}: the functions that differ most, B - A instructions per answer (self cost)")
        for fn, d in where(res, mix):
            print(f"  {d:+8.1f}  {fn}")


if __name__ == "__main__":
    main()
