#!/usr/bin/env python3
"""hedge vs Unbound, side by side, on loopback. Run through bench/run.sh (see bench/README.md).

Each server in turn runs pinned to core 0, dnsperf pinned to core 1, both recursing from the
same fake internet (the testkit's, crates/testkit/src/bin/fake-internet.rs) with the same
list and the same three profiles.
"""

import argparse
import datetime
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dnsq  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
RESULTS = BENCH / "results"
RAW = RESULTS / "raw"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "release"
HEDGE = TARGET / "hedge"
FAKE_INTERNET = TARGET / "fake-internet"
DUMP_BIN = TARGET / "examples" / "dump-names"

SERVER_CORE = "0"
LOAD_CORE = "1"
PORT = 5390
# One listener address and one client subnet per profile, as on a VLAN'd site: clients of
# profile N send from 127.77.N.1 to 127.77.N.53. hedge picks the profile by listener (and
# allows only that subnet); Unbound by client subnet (access-control-view), because in 1.17
# the default `access-control: 127.0.0.0/8 allow` overrides interface-view for loopback.
LISTENERS = {"adult": "127.77.1.53", "child": "127.77.2.53", "walled-garden": "127.77.3.53"}


def client_of(server):
    return server.rsplit(".", 1)[0] + ".1"


def subnet_of(server):
    return server.rsplit(".", 1)[0] + ".0/24"

LOAD_PROFILE = "child"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SINKHOLE = "0.0.0.0"
RESOLVED = "192.0.2.1"  # what the fake internet answers for *.bench.net (names::BENCH_NET_A)

# The profiles (as in crates/hedge/src/default.toml, minus SafeSearch/YouTube rewrites, which
# Unbound cannot do the same way, and the two path-style block_domains DNS cannot enforce).
ADULT_BLOCK = [
    "adult-material", "gambling", "illegal-or-questionable", "violence",
    "entertainment/media-file-download", "extended-protection/dynamic-dns",
    "extended-protection/elevated-exposure", "extended-protection/emerging-exploits",
    "extended-protection/suspicious-content", "information-technology/hacking",
    "information-technology/proxy-avoidance", "information-technology/web-and-email-spam",
    "information-technology/parked-domain", "security",
]
ADULT_DOMAINS = ["watchlive.channel4.com"]
CHILD_BLOCK = ["internet-communication/web-chat", "society-and-lifestyles/personals-and-dating"]
CHILD_DOMAINS = ["secondlife.com", "cybertown.com", "gameseverytime.com", "totaljerkface.com",
                 "virtualibiza.com"]
GARDEN_ALLOW = ["pbskids.org", "sesamestreet.org", "starfall.com", "abcya.com", "funbrain.com",
                "topmarks.co.uk", "oxfordowl.co.uk", "natgeokids.com", "kiddle.co",
                "ducksters.com", "allowed.bench.net"]
# hedge's built-in extras (every filter profile): DoH canary, iCloud Private Relay -> NXDOMAIN;
# DDR -> NODATA. Given to Unbound too so both do the same work.
EXTRAS_NX = ["use-application-dns.net", "mask.icloud.com", "mask-h2.icloud.com"]
EXTRAS_NODATA = ["_dns.resolver.arpa"]

WORDS_SEED = 20250101
REPEAT = 1  # runs per mix (--repeat)
STARTS = 5  # starts whose median is "start → first blocked answer" (--starts)


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


# --------------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------------

def words(n, rng):
    cons, vow = "bcdfghjklmnprstvwz", "aeiou"
    out = set()
    while len(out) < n:
        k = rng.randint(2, 4)
        out.add("".join(rng.choice(cons) + rng.choice(vow) for _ in range(k)))
    return sorted(out)


def synthetic_list(path, n):
    """Deterministic: `<word><i>.<word>.com`, n distinct names."""
    if path.exists() and sum(1 for _ in open(path)) == n:
        return
    rng = random.Random(WORDS_SEED)
    w = words(3000, rng)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        for i in range(n):
            f.write(f"{rng.choice(w)}{i}.{rng.choice(w)}.com\n")
    tmp.replace(path)


def compile_index(manifest, out, keep_covered=False):
    t = time.monotonic()
    run([HEDGE, "-q", "lists", "compile", "--sources", manifest, "--out", out, "--stats-db", "-"]
        + (["--keep-covered"] if keep_covered else []), stdout=subprocess.DEVNULL)
    return time.monotonic() - t


def listed_policy(manifest, scratch):
    """dump_policy over every listed name. hedge's own index folds a name into a listed
    parent with the same labels; Unbound is given the lists as written, as an operator
    converting them would."""
    compile_index(manifest, scratch, keep_covered=True)
    try:
        return dump_policy(scratch)
    finally:
        scratch.unlink(missing_ok=True)


def prepare_synthetic(n, tag):
    WORK.mkdir(parents=True, exist_ok=True)
    txt = WORK / f"{tag}.txt"
    synthetic_list(txt, n)
    manifest = WORK / f"{tag}.toml"
    manifest.write_text(
        f'[[source]]\nname = "synthetic"\nformat = "plain"\npath = "{txt.name}"\n'
        f'category = ["gambling"]\n')
    # The reload target: the same list plus 1000 more names (a different index file).
    txt_b = WORK / f"{tag}-b.txt"
    if not txt_b.exists() or txt_b.stat().st_mtime < txt.stat().st_mtime:
        shutil.copy(txt, txt_b)
        with open(txt_b, "a") as f:
            for i in range(1000):
                f.write(f"reload{i}.bench-extra.com\n")
    manifest_b = WORK / f"{tag}-b.toml"
    manifest_b.write_text(manifest.read_text().replace(txt.name, txt_b.name))
    return manifest, manifest_b


def prepare_real(data):
    """A copy of lists/sources.toml with every path made absolute (data may live elsewhere)."""
    src = (REPO / "lists" / "sources.toml").read_text()

    def fix(m):
        p = m.group(2)
        if p.startswith("../../shared/data"):
            p = str(Path(data).resolve()) + p[len("../../shared/data"):]
        elif not p.startswith("/"):
            p = str((REPO / "lists" / p).resolve())
        return f'{m.group(1)}"{p}"'

    text = re.sub(r'^(path\s*=\s*)"([^"]*)"', fix, src, flags=re.M)
    manifest = WORK / "real.toml"
    manifest.write_text(text)
    # Reload target: the same manifest plus one small extra list.
    extra = WORK / "real-extra.txt"
    extra.write_text("".join(f"reload{i}.bench-extra.com\n" for i in range(1000)))
    manifest_b = WORK / "real-b.toml"
    manifest_b.write_text(text + f'\n[[source]]\nname = "bench-extra"\nformat = "plain"\n'
                          f'path = "{extra}"\ncategory = ["gambling"]\n')
    return manifest, manifest_b


def blocked_by(categories, blocked):
    for c in categories:
        for b in blocked:
            if c == b or c.startswith(b + "/"):
                return True
    return False


def dump_policy(index):
    """Names blocked for adult (everyone) and for child only, from the index itself."""
    adult, child_only = [], []
    child_block = ADULT_BLOCK + CHILD_BLOCK
    proc = subprocess.Popen([str(DUMP_BIN), str(index)], stdout=subprocess.PIPE, text=True,
                            bufsize=1 << 20)
    for line in proc.stdout:
        name, _, cats = line.rstrip("\n").partition("\t")
        cats = cats.split(",") if cats else []
        if blocked_by(cats, ADULT_BLOCK):
            adult.append(name)
        elif blocked_by(cats, child_block):
            child_only.append(name)
    if proc.wait() != 0:
        raise SystemExit(f"dump-names {index} failed")
    return adult, child_only


# --------------------------------------------------------------------------------------------
# Configurations
# --------------------------------------------------------------------------------------------

def toml_list(xs):
    return "[" + ", ".join(json.dumps(x) for x in xs) + "]"


def hedge_config(path, index, root, stats, cache_size, port=PORT):
    listeners = "".join(
        f'[[listener]]\nprofile = "{p}"\nbind = ["{a}:{port}"]\nallow = ["{subnet_of(a)}"]\n\n'
        for p, a in LISTENERS.items())
    path.write_text(f"""# Generated by bench/bench.py
index = "{index}"

[[profile]]
name = "adult"
block = {toml_list(ADULT_BLOCK)}
block_domains = {toml_list(ADULT_DOMAINS)}

[[profile]]
name = "child"
inherit = "adult"
block = {toml_list(CHILD_BLOCK)}
block_domains = {toml_list(CHILD_DOMAINS)}

[[profile]]
name = "walled-garden"
mode = "allowlist"
action = "nxdomain"
allow_domains = {toml_list(GARDEN_ALLOW)}

{listeners}[upstream]
mode = "recursive"
roots = ["{root}"]
allow_servers = ["{subnet_of(root)}"]
timeout_ms = 2000
cache_size = {cache_size}

[stats]
enabled = {"true" if stats else "false"}
path = "{path.with_suffix('.sqlite')}"
""")


def unbound_blocklists(tag, adult, child_only):
    """Writes the global and child-view local-zone files; returns their paths."""
    g = WORK / f"{tag}-unbound-global.conf"
    c = WORK / f"{tag}-unbound-child.conf"
    with open(g, "w") as f:
        for n in adult + ADULT_DOMAINS:
            f.write(f'local-zone: "{n}." always_null\n')
        for n in EXTRAS_NX:
            f.write(f'local-zone: "{n}." always_nxdomain\n')
        for n in EXTRAS_NODATA:
            f.write(f'local-zone: "{n}." static\n')
    with open(c, "w") as f:
        for n in child_only + CHILD_DOMAINS:
            f.write(f'local-zone: "{n}." always_null\n')
    return g, c


def unbound_config(path, root, global_zones, child_zones, cache_mb, port=PORT):
    hints = path.with_suffix(".hints")
    hints.write_text(f".\t3600000\tIN\tNS\ta.root-servers.test.\na.root-servers.test.\t3600000\tIN\tA\t{root}\n")
    ifaces = "".join(f"    interface: {a}@{port}\n" for a in LISTENERS.values())
    views = "".join(f"    access-control: {subnet_of(a)} allow\n    access-control-view: {subnet_of(a)} {p}\n"
                    for p, a in LISTENERS.items())
    garden = "".join(f'    local-zone: "{d}." transparent\n' for d in GARDEN_ALLOW)
    ctl = path.with_suffix(".ctl")
    path.write_text(f"""# Generated by bench/bench.py: the same job as hedge's configuration.
server:
    num-threads: 1
    port: {port}
{ifaces}    interface-automatic: no
{views}    do-not-query-localhost: no
    root-hints: "{hints}"
    chroot: ""
    username: ""
    directory: "{WORK}"
    pidfile: "{path.with_suffix('.pid')}"
    use-syslog: no
    logfile: "{path.with_suffix('.log')}"
    verbosity: 0
    module-config: "iterator"
    msg-cache-size: {cache_mb}m
    rrset-cache-size: {cache_mb * 2}m
    so-reuseport: no
    # as hedge's listeners (4 MiB): the default drops a few queries of dnsperf's first burst
    so-rcvbuf: 4m
    harden-referral-path: no
    # The fake root's name server is under test. (RFC 6761), which Unbound answers NXDOMAIN by default.
    local-zone: "test." nodefault
    include: "{global_zones}"

view:
    name: "adult"
    view-first: yes

view:
    name: "child"
    view-first: yes
    include: "{child_zones}"

view:
    name: "walled-garden"
    local-zone: "." always_nxdomain
{garden}
remote-control:
    control-enable: yes
    control-interface: "{ctl}"
""")


# --------------------------------------------------------------------------------------------
# Processes and measurements
# --------------------------------------------------------------------------------------------

def proc_status(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) / 1024.0  # MiB
    except FileNotFoundError:
        pass
    return out


def stat_cpu(text):
    """(user, system) CPU seconds from the text of a /proc stat file."""
    fields = text.rsplit(")", 1)[1].split()
    # utime, stime are fields 14, 15 (1-based); after the ")" split index 11, 12.
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_split(pid):
    """(user, system) CPU seconds of the whole process so far."""
    with open(f"/proc/{pid}/stat") as f:
        return stat_cpu(f.read())


def cpu_seconds(pid):
    return sum(cpu_split(pid))


def thread_cpu_seconds(pid, name_prefix):
    """CPU seconds of the process's threads whose name starts with `name_prefix`."""
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            text = open(f"/proc/{pid}/task/{tid}/stat").read()
        except FileNotFoundError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if name.startswith(name_prefix):
            total += sum(stat_cpu(text))
    return total


def parse_dnsperf(text):
    r = {}
    pats = {
        "sent": r"Queries sent:\s+(\d+)",
        "completed": r"Queries completed:\s+(\d+)",
        "lost": r"Queries lost:\s+(\d+)",
        "qps": r"Queries per second:\s+([\d.]+)",
        "latency": r"Average Latency \(s\):\s+([\d.]+)",
        "runtime": r"Run time \(s\):\s+([\d.]+)",
    }
    for k, p in pats.items():
        m = re.search(p, text)
        r[k] = float(m.group(1)) if m else None
    m = re.search(r"Response codes:\s+(.*)", text)
    r["rcodes"] = m.group(1).strip() if m else ""
    return r


def dnsperf_cmd(server, datafile, seconds=None, maxruns=None, qps=None, outstanding=200, port=PORT, timeout=2):
    cmd = ["taskset", "-c", LOAD_CORE, "dnsperf", "-s", server, "-a", client_of(server), "-p", str(port), "-d",
           str(datafile), "-c", "1", "-T", "1", "-q", str(outstanding), "-t", str(timeout)]
    if seconds:
        cmd += ["-l", str(seconds)]
    if maxruns:
        cmd += ["-n", str(maxruns)]
    if qps:
        cmd += ["-Q", str(qps)]
    return cmd


def dnsperf(server, datafile, rawname, **kw):
    cmd = dnsperf_cmd(server, datafile, **kw)
    p = subprocess.run(cmd, capture_output=True, text=True)
    (RAW / f"{rawname}.txt").write_text(" ".join(cmd) + "\n\n" + p.stdout + p.stderr)
    if p.returncode != 0:
        log(f"dnsperf failed ({rawname}): {p.stderr.strip()[:300]}")
    return parse_dnsperf(p.stdout)


class Server:
    def __init__(self, kind, cmd, env=None):
        self.kind = kind
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CORE] + [str(c) for c in cmd],
                                     stdout=subprocess.DEVNULL, stderr=open(
                                         RAW / f"{kind}.stderr.txt", "a"), env=env)
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Root:
    """The testkit's fake internet (the e2e tests' DNS hierarchy) on the first free
    127.53.N.0/24; every name under bench.net. resolves. `addr` is its root server."""

    def __init__(self):
        self.proc = subprocess.Popen(["taskset", "-c", LOAD_CORE, str(FAKE_INTERNET)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addr = None
        for line in self.proc.stdout:
            words = line.split()
            if words == ["ready"]:
                break
            if words[:2] == ["zone", "."] and len(words) == 3:
                self.addr = words[2]
        if self.addr is None:
            raise SystemExit("fake-internet did not start (port 53 needs root)")

    def stop(self):
        # End of input stops it.
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# --------------------------------------------------------------------------------------------
# Query files
# --------------------------------------------------------------------------------------------

def query_files(tag, blocked_names, n_cached, seed=7):
    rng = random.Random(seed)
    sample = rng.sample(blocked_names, min(50_000, len(blocked_names)))
    blocked = []
    for i, n in enumerate(sample):
        blocked.append(f"{n} A" if i % 2 == 0 else f"x{rng.randrange(10**6)}.{n} A")
    cached = [f"w{i}.bench.net A" for i in range(n_cached)]
    mix = []
    bi = ci = 0
    for i in range(100_000):
        if i % 10 == 3:
            mix.append(blocked[bi % len(blocked)])
            bi += 1
        else:
            mix.append(cached[ci % len(cached)])
            ci += 1
    files = {}
    for name, lines in (("blocked", blocked), ("cached", cached), ("mix", mix)):
        p = WORK / f"{tag}-q-{name}.txt"
        p.write_text("\n".join(lines) + "\n")
        files[name] = p
    return files, sample


def spot_check(server, blocked_sample, n_cached):
    """A few queries of each kind must get the right answer; returns a list of problems."""
    bad = []
    for n in blocked_sample[:10]:
        r = dnsq.query(server, PORT, n, source=client_of(server))
        if r is None or SINKHOLE not in r[1]:
            bad.append(f"{n}: {r}")
        r = dnsq.query(server, PORT, "zz." + n, source=client_of(server))
        if r is None or SINKHOLE not in r[1]:
            bad.append(f"zz.{n}: {r}")
    for i in range(0, n_cached, max(1, n_cached // 10)):
        r = dnsq.query(server, PORT, f"w{i}.bench.net", source=client_of(server))
        if r is None or RESOLVED not in r[1]:
            bad.append(f"w{i}.bench.net: {r}")
    garden = LISTENERS["walled-garden"]
    r = dnsq.query(garden, PORT, "w1.bench.net", source=client_of(garden))
    if r is None or r[0] != 3:
        bad.append(f"walled garden w1.bench.net: {r} (want NXDOMAIN)")
    r = dnsq.query(garden, PORT, "x.allowed.bench.net", source=client_of(garden))
    if r is None or RESOLVED not in r[1]:
        bad.append(f"walled garden x.allowed.bench.net: {r}")
    # Per-profile policy: a child-only block is blocked for child, resolved (NXDOMAIN from
    # the fake root) for adult.
    adult = LISTENERS["adult"]
    r = dnsq.query(server, PORT, "www." + CHILD_DOMAINS[0], source=client_of(server))
    if r is None or SINKHOLE not in r[1]:
        bad.append(f"child www.{CHILD_DOMAINS[0]}: {r} (want {SINKHOLE})")
    r = dnsq.query(adult, PORT, "www." + CHILD_DOMAINS[0], source=client_of(adult))
    if r is None or r[0] != 3:
        bad.append(f"adult www.{CHILD_DOMAINS[0]}: {r} (want NXDOMAIN)")
    return bad


# --------------------------------------------------------------------------------------------
# One server, one list
# --------------------------------------------------------------------------------------------

def measure(kind, start, probe_name, files, sample, n_cached, secs, tag, reload_fn=None,
            mixes=("blocked", "cached", "mix")):
    server_addr = LISTENERS[LOAD_PROFILE]
    res = {"kind": kind, "loadavg_before": os.getloadavg()[0]}
    # One start is one sample of a figure that the machine's other work moves by tens of
    # milliseconds: the median of STARTS starts, the last of which goes on to the load runs.
    starts = []
    for _ in range(STARTS - 1):
        srv = start()
        try:
            starts.append(first_answer(kind, srv, server_addr, probe_name))
        finally:
            srv.stop()
    srv = start()
    try:
        starts.append(first_answer(kind, srv, server_addr, probe_name))
        t = statistics.median(starts)
        res["first_answer_s"] = t
        res["first_answer_starts"] = starts
        time.sleep(0.2)
        res["rss_loaded"] = proc_status(srv.pid)
        log(f"{kind}: first blocked answer after {t:.3f} s (median of {', '.join(f'{x:.3f}' for x in starts)}), "
            f"RSS {res['rss_loaded'].get('VmRSS', 0):.1f} MiB")
        # Warm the cache: one paced pass, then one more to fill any gaps.
        w1 = dnsperf(server_addr, files["cached"], f"{tag}-{kind}-warm1", maxruns=1, qps=5000,
                     outstanding=500)
        w2 = dnsperf(server_addr, files["cached"], f"{tag}-{kind}-warm2", maxruns=1, qps=20000)
        res["warm"] = {"first_pass": w1, "second_pass": w2}
        bad = spot_check(server_addr, sample, n_cached)
        res["spot_check"] = bad
        if bad:
            log(f"{kind}: WRONG ANSWERS: {bad[:5]}")
        for mix in mixes:
            runs = []
            for i in range(REPEAT):
                (u0, s0) = cpu_split(srv.pid)
                r = dnsperf(server_addr, files[mix], f"{tag}-{kind}-{mix}-{i + 1}", seconds=secs)
                (u1, s1) = cpu_split(srv.pid)
                r["cpu_s"] = (u1 - u0) + (s1 - s0)
                done = r.get("completed")
                r["cpu_us_per_q"] = r["cpu_s"] / done * 1e6 if done else None
                # Kernel share: the loopback send and receive both servers pay.
                r["sys_us_per_q"] = (s1 - s0) / done * 1e6 if done else None
                runs.append(r)
            # Best of REPEAT: the machine is shared, and background load only ever slows a run.
            r = dict(max(runs, key=lambda x: x["qps"] or 0))
            cpus = [x["cpu_us_per_q"] for x in runs if x["cpu_us_per_q"] is not None]
            r["cpu_us_per_q"] = min(cpus) if cpus else None
            best = min((x for x in runs if x["cpu_us_per_q"] is not None), key=lambda x: x["cpu_us_per_q"],
                       default=None)
            r["sys_us_per_q"] = best["sys_us_per_q"] if best else None
            r["lost"] = sum(x["lost"] or 0 for x in runs)
            r["runs"] = runs
            res[mix] = r
            log(f"{kind} {mix}: {r['qps']:.0f} qps, {r['latency'] * 1e6:.0f} us avg, "
                f"{r['cpu_us_per_q'] or 0:.2f} us CPU/q ({r['sys_us_per_q'] or 0:.2f} system), lost {r['lost']:.0f}, {r['rcodes']}")
        res["rss_after_load"] = proc_status(srv.pid)
        if reload_fn is not None:
            res["reload"] = reload_under_load(kind, srv, server_addr, files["mix"], secs, tag,
                                              reload_fn)
        res["rss_end"] = proc_status(srv.pid)
    finally:
        srv.stop()
    return res


def first_answer(kind, srv, server_addr, probe_name):
    """Seconds from starting `srv` to its first correct answer for the blocked `probe_name`."""
    t = dnsq.wait_for_answer(server_addr, PORT, probe_name, SINKHOLE, srv.t0, limit=600,
                             proc=srv.proc, source=client_of(server_addr))
    if t is None:
        raise RuntimeError(f"{kind} never answered {probe_name} (see {RAW}/{kind}.stderr.txt)")
    return t


def reload_under_load(kind, srv, server_addr, datafile, secs, tag, reload_fn):
    secs = max(secs, 6)
    cmd = dnsperf_cmd(server_addr, datafile, seconds=secs)
    steady = proc_status(srv.pid).get("VmRSS", 0)
    # Reset the kernel's peak (VmHWM) to the current RSS, so the peak is exact, not only
    # what the 10 ms samples below catch.
    try:
        Path(f"/proc/{srv.pid}/clear_refs").write_text("5")
        exact = True
    except OSError:
        exact = False
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.monotonic()
    peak = steady
    fired = None
    while p.poll() is None:
        if fired is None and time.monotonic() - t0 > secs / 3:
            fired = time.monotonic()
            reload_fn(srv)
        peak = max(peak, proc_status(srv.pid).get("VmRSS", 0))
        time.sleep(0.01)
    if exact:
        peak = max(peak, proc_status(srv.pid).get("VmHWM", 0))
    out = p.stdout.read()
    (RAW / f"{tag}-{kind}-reload.txt").write_text(" ".join(cmd) + "\n\n" + out)
    r = parse_dnsperf(out)
    r["steady_rss"] = steady
    r["peak_rss"] = peak
    r["peak_ratio"] = peak / steady if steady else None
    log(f"{kind} reload under load: lost {r['lost']:.0f}, peak RSS {peak:.1f} MiB "
        f"(steady {steady:.1f}, x{r['peak_ratio']:.2f})")
    return r


def bench_list(tag, manifest, manifest_b, secs, n_cached, with_stats_off, out):
    log(f"== list {tag}")
    idx = WORK / f"{tag}.hidx"
    idx_b = WORK / f"{tag}-b.hidx"
    out["compile_s"] = compile_index(manifest, idx)
    compile_index(manifest_b, idx_b)
    log(f"{tag}: hedge index {idx.stat().st_size / 1e6:.1f} MB, compiled in {out['compile_s']:.1f} s")
    adult, child_only = listed_policy(manifest, WORK / f"{tag}-all.hidx")
    out["names_blocked_adult"] = len(adult)
    out["names_blocked_child_only"] = len(child_only)
    out["index_mb"] = idx.stat().st_size / 1e6
    adult_b, child_only_b = listed_policy(manifest_b, WORK / f"{tag}-b-all.hidx")
    g, c = unbound_blocklists(tag, adult, child_only)
    g_b, c_b = unbound_blocklists(f"{tag}-b", adult_b, child_only_b)
    del adult_b, child_only_b
    log(f"{tag}: {len(adult)} names blocked for everyone, {len(child_only)} more for child")
    files, sample = query_files(tag, adult, n_cached)
    probe = sample[0]
    root = Root()
    try:
        # hedge
        live = WORK / f"{tag}-live.hidx"
        shutil.copy(idx, live)
        hconf = WORK / f"{tag}-hedge.toml"
        hconf_off = WORK / f"{tag}-hedge-nostats.toml"
        cache = max(100_000, 2 * n_cached)
        hedge_config(hconf, live, root.addr, True, cache)
        hedge_config(hconf_off, live, root.addr, False, cache, port=OFF_PORT)
        # hedge's own default log level, as a service would run it (HEDGE_LOG overrides it).
        env = {k: v for k, v in os.environ.items() if k != "HEDGE_LOG"}

        def hedge_reload(srv):
            tmp = live.with_suffix(".tmp")
            shutil.copy(idx_b, tmp)
            os.replace(tmp, live)
            srv.proc.send_signal(signal.SIGHUP)

        out["hedge"] = measure("hedge", lambda: Server("hedge", [HEDGE, "serve", "--config", hconf], env),
                               probe, files, sample, n_cached, secs, tag, reload_fn=hedge_reload)
        # Unbound
        uconf = WORK / f"{tag}-unbound.conf"
        cache_mb = 64
        live_g, live_c = WORK / f"{tag}-unbound-live-global.conf", WORK / f"{tag}-unbound-live-child.conf"
        shutil.copy(g, live_g)
        shutil.copy(c, live_c)
        unbound_config(uconf, root.addr, live_g, live_c, cache_mb)
        run(["unbound-checkconf", uconf], stdout=subprocess.DEVNULL)

        def unbound_reload(srv):
            shutil.copy(g_b, live_g)
            shutil.copy(c_b, live_c)
            subprocess.Popen(["taskset", "-c", LOAD_CORE, "unbound-control", "-c", str(uconf), "reload"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        out["unbound"] = measure("unbound", lambda: Server("unbound", ["unbound", "-d", "-c", uconf]),
                                 probe, files, sample, n_cached, secs, tag, reload_fn=unbound_reload)
        # Right after Unbound, so the two servers' own mixes run minutes apart, not a
        # quarter of an hour. Then both again, up at once, in alternating rounds: the ratios
        # that hold when the machine's kernel costs drift between one server's runs and the
        # other's.
        shutil.copy(idx, live)
        hconf_p, uconf_p = WORK / f"{tag}-hedge-paired.toml", WORK / f"{tag}-unbound-paired.conf"
        hedge_config(hconf_p, live, root.addr, True, cache, port=PAIRED_PORT)
        unbound_config(uconf_p, root.addr, g, c, cache_mb, port=PAIRED_PORT + 1)
        out["paired"] = paired_runs(tag, hconf_p, uconf_p, env, probe, files)
        if with_stats_off:
            out["counting"] = counting_overhead(tag, hconf, hconf_off, env, probe, files, secs)
            out["counting_instructions"] = counting_instructions(tag, hconf, hconf_off, env, probe, files)
    finally:
        root.stop()


def ready(srv, port, probe, files, rawname):
    """Waits for the server's first correct blocked answer, then warms its cache with one
    paced pass over the cached names and one fast pass."""
    server_addr = LISTENERS[LOAD_PROFILE]
    if dnsq.wait_for_answer(server_addr, port, probe, SINKHOLE, srv.t0, limit=600, proc=srv.proc,
                            source=client_of(server_addr)) is None:
        raise RuntimeError(f"{srv.kind} never answered (see {RAW})")
    dnsperf(server_addr, files["cached"], f"{rawname}-warm1", maxruns=1, qps=5000, outstanding=500, port=port)
    dnsperf(server_addr, files["cached"], f"{rawname}-warm2", maxruns=1, qps=20000, port=port)


OFF_PORT = PORT + 1
OVERHEAD_ROUNDS = 3
PAIRED_PORT = PORT + 2
PAIRED_ROUNDS = 3
PAIRED_SECONDS = 3


def paired_runs(tag, hconf, uconf, env, probe, files):
    """hedge and Unbound up at once on the server core (the idle one sleeps), on two ports.

    For each mix, PAIRED_ROUNDS rounds load one server and then the other, the order
    alternating; each round gives a hedge/Unbound ratio of QPS and of CPU per answer, and
    the figure is their median. The sequential runs above measure each server minutes
    apart, and on a shared VM the kernel's cost per packet drifts by tens of per cent in
    minutes; within a round both servers see the same machine.
    """
    server_addr = LISTENERS[LOAD_PROFILE]
    servers = {"hedge": (Server("hedge-paired", [HEDGE, "serve", "--config", hconf], env), PAIRED_PORT),
               "unbound": (Server("unbound-paired", ["unbound", "-d", "-c", uconf]), PAIRED_PORT + 1)}
    res = {"rounds": PAIRED_ROUNDS, "seconds": PAIRED_SECONDS}
    try:
        for key, (srv, port) in servers.items():
            ready(srv, port, probe, files, f"{tag}-paired-{key}")
        for mix in ("blocked", "cached", "mix"):
            rounds = []
            for i in range(PAIRED_ROUNDS):
                order = ("hedge", "unbound") if i % 2 == 0 else ("unbound", "hedge")
                one = {}
                for key in order:
                    srv, port = servers[key]
                    c0 = cpu_seconds(srv.pid)
                    r = dnsperf(server_addr, files[mix], f"{tag}-paired-{key}-{mix}-{i + 1}",
                                seconds=PAIRED_SECONDS, port=port)
                    c1 = cpu_seconds(srv.pid)
                    done = r.get("completed")
                    one[key] = {"qps": r["qps"], "lost": r["lost"], "rcodes": r.get("rcodes"),
                                "cpu_us_per_q": (c1 - c0) / done * 1e6 if done else None}
                    if not all_noerror(r):
                        log(f"paired {key} {mix}: not every answer was NOERROR ({r.get('rcodes')})")
                rounds.append(one)
            entry = {"rounds": rounds}
            for k in ("qps", "cpu_us_per_q"):
                ratios = sorted(x["hedge"][k] / x["unbound"][k] for x in rounds
                                if x["hedge"][k] and x["unbound"][k])
                entry[k] = {"median": statistics.median(ratios) if ratios else None,
                            "min": ratios[0] if ratios else None, "max": ratios[-1] if ratios else None,
                            "hedge": statistics.median(x["hedge"][k] or 0 for x in rounds),
                            "unbound": statistics.median(x["unbound"][k] or 0 for x in rounds)}
            entry["lost"] = {key: sum(x[key]["lost"] or 0 for x in rounds) for key in servers}
            res[mix] = entry
            log(f"paired {mix}: QPS x{entry['qps']['median'] or 0:.2f}, CPU/answer "
                f"x{entry['cpu_us_per_q']['median'] or 0:.2f} (rounds: "
                + ", ".join(f"{x['hedge']['cpu_us_per_q'] or 0:.2f}/{x['unbound']['cpu_us_per_q'] or 0:.2f} us"
                            for x in rounds) + ")")
    finally:
        for srv, _ in servers.values():
            srv.stop()
    return res


def counting_overhead(tag, conf_on, conf_off, env, probe, files, secs):
    """Statistics on vs off, measured in pairs so machine drift cancels out.

    Both servers run at once on the server core (the idle one costs nothing), on two ports.
    For each mix, OVERHEAD_ROUNDS rounds each load one server and then the other (the order
    alternates); the overhead is the median of the paired CPU-per-answer ratios.
    """
    server_addr = LISTENERS[LOAD_PROFILE]
    servers = {"on": (Server("hedge", [HEDGE, "serve", "--config", conf_on], env), PORT),
               "off": (Server("hedge-nostats", [HEDGE, "serve", "--config", conf_off], env), OFF_PORT)}
    res = {"rounds": OVERHEAD_ROUNDS}
    try:
        for key, (srv, port) in servers.items():
            ready(srv, port, probe, files, f"{tag}-stats-{key}")
        for mix in ("blocked", "cached", "mix"):
            pairs = []
            for i in range(OVERHEAD_ROUNDS):
                order = ("on", "off") if i % 2 == 0 else ("off", "on")
                cpu = {}
                for key in order:
                    srv, port = servers[key]
                    c0, f0 = cpu_seconds(srv.pid), thread_cpu_seconds(srv.pid, "hedge-stats")
                    r = dnsperf(server_addr, files[mix], f"{tag}-stats-{key}-{mix}-{i + 1}", seconds=secs,
                                port=port)
                    c1, f1 = cpu_seconds(srv.pid), thread_cpu_seconds(srv.pid, "hedge-stats")
                    cpu[key] = (c1 - c0) / r["completed"] * 1e6 if r.get("completed") else None
                    cpu[key + "_qps"] = r["qps"]
                    # The flusher thread's CPU (SQLite writes), for its share of the whole.
                    cpu[key + "_flusher_s"], cpu[key + "_cpu_s"] = f1 - f0, c1 - c0
                pairs.append(cpu)
            ratios = sorted(p["on"] / p["off"] - 1 for p in pairs if p["on"] and p["off"])
            busy = sum(p["on_cpu_s"] for p in pairs)
            res[mix] = {"pairs": pairs,
                        # Over all runs, not a median: the per-name write is every 5 s.
                        "flusher_share": sum(p["on_flusher_s"] for p in pairs) / busy if busy else None,
                        "overhead": statistics.median(ratios) if ratios else None,
                        "min": ratios[0] if ratios else None, "max": ratios[-1] if ratios else None,
                        "on": statistics.median(p["on"] for p in pairs if p["on"]),
                        "off": statistics.median(p["off"] for p in pairs if p["off"])}
            log(f"counting overhead {mix}: median {res[mix]['overhead'] * 100:+.1f}% "
                f"(pairs {', '.join(f'{r * 100:+.1f}%' for r in ratios)})")
    finally:
        for srv, _ in servers.values():
            srv.stop()
    return res


def callgrind_totals(files):
    """Sums the event totals of callgrind dump files; returns (events, flusher_events)."""
    tot, flusher = {}, {}
    for f in files:
        text = open(f).read()
        ev, vals = None, None
        for line in text.splitlines():
            if line.startswith("events:"):
                ev = line.split()[1:]
            elif line.startswith("totals:") or line.startswith("summary:"):
                vals = [int(x) for x in line.split()[1:]]
        if not ev or not vals:
            continue
        # The statistics flusher's thread (it runs `Flusher<S>`; the main thread only asks
        # the `FlusherHandle` for status): its work is per second, not per query, and
        # valgrind slows the queries 50-fold, so counting it here would overstate it as much.
        into = flusher if "Flusher<" in text else tot
        for k, v in zip(ev, vals):
            into[k] = into.get(k, 0) + v
    return tot, flusher


def all_noerror(r):
    """Whether every answer of a dnsperf run was NOERROR."""
    return r.get("rcodes", "").startswith("NOERROR") and "(100.00%)" in r["rcodes"]


def estimated_cycles(t):
    """Callgrind's usual estimate: an L1 miss costs 10 instructions, a last-level miss 100."""
    l1 = t.get("I1mr", 0) + t.get("D1mr", 0) + t.get("D1mw", 0)
    ll = t.get("ILmr", 0) + t.get("DLmr", 0) + t.get("DLmw", 0)
    return t.get("Ir", 0) + 10 * l1 + 100 * ll


def counting_instructions(tag, conf_on, conf_off, env, probe, files, lines=10_000):
    """Statistics on vs off in instructions: hedge under callgrind (with its cache model),
    the same queries to each, counted per answer. Deterministic where CPU time on a shared
    VM is not; it sees user space only (the kernel's share is the same either way)."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        log("counting overhead in instructions: valgrind not found, skipped")
        return None
    server_addr = LISTENERS[LOAD_PROFILE]
    res = {"lines": lines}
    cg = RAW / "callgrind"
    cg.mkdir(exist_ok=True)
    subsets = {}
    for mix in ("blocked", "cached", "mix"):
        subsets[mix] = WORK / f"{tag}-cg-{mix}.txt"
        with open(files[mix]) as src, open(subsets[mix], "w") as dst:
            for i, line in enumerate(src):
                if i >= lines:
                    break
                dst.write(line)
    for key, conf in (("on", conf_on), ("off", conf_off)):
        base = cg / f"{tag}-{key}"
        for f in cg.glob(f"{tag}-{key}.*"):
            f.unlink()
        srv = Server(f"hedge-callgrind-{key}", ["valgrind", "--tool=callgrind", "--cache-sim=yes",
                                                "--separate-threads=yes", f"--callgrind-out-file={base}.%p",
                                                HEDGE, "serve", "--config", conf], env)
        try:
            port = PORT if key == "on" else OFF_PORT
            if dnsq.wait_for_answer(server_addr, port, probe, SINKHOLE, srv.t0, limit=300, proc=srv.proc,
                                    source=client_of(server_addr)) is None:
                raise RuntimeError(f"hedge under callgrind never answered (see {RAW})")
            # Every cached name must be cached before measuring: under valgrind a recursion
            # can time out (SERVFAIL, not cached), and would then be measured on the full path.
            for i in range(5):
                w = dnsperf(server_addr, files["cached"], f"{tag}-cg-{key}-warm{i}", maxruns=1, qps=1000,
                            outstanding=100, port=port, timeout=10)
                if all_noerror(w):
                    break
            for mix, path in subsets.items():
                # One pass to warm what the mix touches, then the measured pass.
                dnsperf(server_addr, path, f"{tag}-cg-{key}-{mix}-pre", maxruns=1, port=port, timeout=10)
                subprocess.run(["callgrind_control", "-z", str(srv.pid)], capture_output=True)
                before = set(cg.glob(f"{tag}-{key}.*"))
                r = dnsperf(server_addr, path, f"{tag}-cg-{key}-{mix}", maxruns=1, port=port, timeout=10)
                subprocess.run(["callgrind_control", "-d", mix, str(srv.pid)], capture_output=True)
                dumps = sorted(set(cg.glob(f"{tag}-{key}.*")) - before)
                tot, flusher = callgrind_totals(dumps)
                n = r.get("completed") or 0
                if not all_noerror(r):
                    log(f"counting overhead in instructions, {mix} ({key}): not every answer was "
                        f"NOERROR ({r.get('rcodes')}); this figure includes full-path answers")
                res.setdefault(mix, {})[key] = {
                    "answers": n, "lost": r.get("lost"), "rcodes": r.get("rcodes"),
                    "ir_per_answer": tot.get("Ir", 0) / n if n else None,
                    "cycles_per_answer": estimated_cycles(tot) / n if n else None,
                    "flusher_ir": flusher.get("Ir", 0), "events": tot}
        finally:
            srv.stop()
    for mix in subsets:
        on, off = res[mix]["on"], res[mix]["off"]
        for k in ("ir_per_answer", "cycles_per_answer"):
            res[mix][k.replace("_per_answer", "_overhead")] = (
                on[k] / off[k] - 1 if on[k] and off[k] else None)
        log(f"counting overhead in instructions, {mix}: {on['ir_per_answer'] or 0:.0f} vs "
            f"{off['ir_per_answer'] or 0:.0f} per answer ({(res[mix]['ir_overhead'] or 0) * 100:+.1f}%), "
            f"estimated cycles {(res[mix]['cycles_overhead'] or 0) * 100:+.1f}%")
    return res


# --------------------------------------------------------------------------------------------
# Profile (--profile): perf on hedge under each mix, no Unbound
# --------------------------------------------------------------------------------------------

def profile_hedge(tag, manifest, secs, n_cached, stats):
    """Runs hedge under each mix with `perf record` (cpu-clock: this VM has no PMU) and
    `strace -c` (syscalls per query); writes raw/perf-<mix>.txt and raw/strace-<mix>.txt."""
    if not shutil.which("perf"):
        raise SystemExit("perf not found: apt-get install linux-perf")
    idx = WORK / f"{tag}.hidx"
    compile_index(manifest, idx)
    adult, _ = listed_policy(manifest, WORK / f"{tag}-all.hidx")
    files, sample = query_files(tag, adult, n_cached)
    root = Root()
    try:
        conf = WORK / f"{tag}-hedge-profile.toml"
        hedge_config(conf, idx, root.addr, stats, max(100_000, 2 * n_cached))
        srv = Server("hedge", [HEDGE, "serve", "--config", conf], dict(os.environ, HEDGE_LOG="warn"))
        addr = LISTENERS[LOAD_PROFILE]
        try:
            if dnsq.wait_for_answer(addr, PORT, sample[0], SINKHOLE, srv.t0, proc=srv.proc,
                                    source=client_of(addr)) is None:
                raise SystemExit("hedge did not start")
            dnsperf(addr, files["cached"], f"profile-{tag}-warm", maxruns=1, qps=5000, outstanding=500)
            for mix in ("blocked", "cached", "mix"):
                data = RAW / f"perf-{mix}.data"
                load = subprocess.Popen(dnsperf_cmd(addr, files[mix], seconds=secs + 2),
                                        stdout=subprocess.PIPE, text=True)
                time.sleep(1)
                c0 = cpu_seconds(srv.pid)
                subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2999", "-g",
                                "--call-graph", "dwarf,8192", "-p", str(srv.pid), "-o", str(data),
                                "--", "sleep", str(secs)], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                c1 = cpu_seconds(srv.pid)
                out = load.communicate()[0]
                r = parse_dnsperf(out)
                with open(RAW / f"perf-{mix}.txt", "w") as f:
                    f.write(f"# {mix}: {r['qps']:.0f} qps over the whole run; CPU {c1 - c0:.2f} s "
                            f"during the {secs} s profile (perf itself slows hedge down)\n\n")
                    f.flush()
                    subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                                    "--sort", "dso,symbol", "-g", "none", "--percent-limit", "0.3"],
                                   stdout=f, stderr=subprocess.DEVNULL)
                with open(RAW / f"perf-{mix}-callers.txt", "w") as f:
                    subprocess.run(["perf", "report", "-i", str(data), "--children", "--stdio",
                                    "--sort", "symbol", "-g", "caller,0.5,callee,function,percent",
                                    "--percent-limit", "2"],
                                   stdout=f, stderr=subprocess.DEVNULL)
                # Syscalls per query (strace slows the server a lot; the counts are what matter).
                load = subprocess.Popen(dnsperf_cmd(addr, files[mix], seconds=4),
                                        stdout=subprocess.PIPE, text=True)
                time.sleep(0.5)
                st = subprocess.run(["timeout", "-s", "INT", "2", "strace", "-c", "-f", "-p", str(srv.pid)],
                                    capture_output=True, text=True)
                load.communicate()
                (RAW / f"strace-{mix}.txt").write_text(st.stderr)
                log(f"profile {mix}: {r['qps']:.0f} qps; see {RAW}/perf-{mix}.txt")
        finally:
            srv.stop()
    finally:
        root.stop()


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(r, target, higher_is_better):
    if r is None or target is None:
        return ""
    ok = r >= target if higher_is_better else r <= target
    return "✅" if ok else "❌"


def table(tag, out):
    h, u = out["hedge"], out["unbound"]
    rows = []

    def row(label, hv, uv, target=None, higher=False, digits=1, rdigits=2):
        r = ratio(hv, uv)
        tgt = "" if target is None else (("≥ " if higher else "≤ ") + f"{target:g}×")
        rows.append(f"| {label} | {fmt(hv, digits)} | {fmt(uv, digits)} | "
                    f"{fmt(r, rdigits) if r is not None else '–'} | {tgt} {verdict(r, target, higher)} |")

    n_starts = len(h.get("first_answer_starts") or [None])
    row(f"start → first blocked answer (s, median of {n_starts} start{'s' if n_starts > 1 else ''})",
        h["first_answer_s"], u["first_answer_s"], digits=3)
    row("RSS after load (MiB)", h["rss_loaded"].get("VmRSS"), u["rss_loaded"].get("VmRSS"), 1 / 20, rdigits=3)
    row("RSS at end (MiB)", h["rss_end"].get("VmRSS"), u["rss_end"].get("VmRSS"), 1 / 20, rdigits=3)
    row("peak RSS, VmHWM (MiB)", h["rss_end"].get("VmHWM"), u["rss_end"].get("VmHWM"), rdigits=3)
    names = {"blocked": "100% blocked", "cached": "100% cached allowed", "mix": "10% blocked / 90% cached"}
    for mix, label in names.items():
        row(f"{label}: QPS", h[mix]["qps"], u[mix]["qps"], 1.2, True, digits=0)
    for mix, label in names.items():
        row(f"{label}: avg latency (µs)", (h[mix]["latency"] or 0) * 1e6, (u[mix]["latency"] or 0) * 1e6, digits=0)
    for mix, label in names.items():
        row(f"{label}: server CPU per answer (µs)", h[mix]["cpu_us_per_q"], u[mix]["cpu_us_per_q"], 0.8, digits=2)
    for mix, label in names.items():
        row(f"{label}: of which system (kernel) time (µs)", h[mix].get("sys_us_per_q"),
            u[mix].get("sys_us_per_q"), digits=2)
    lost_h = sum(int(h[m]["lost"] or 0) for m in names)
    lost_u = sum(int(u[m]["lost"] or 0) for m in names)
    rows.append(f"| lost queries (all three mixes) | {lost_h} | {lost_u} | | |")
    if "reload" in h and "reload" in u:
        rows.append(f"| reload under load: lost queries | {int(h['reload']['lost'] or 0)} | "
                    f"{int(u['reload']['lost'] or 0)} | | hedge = 0 {'✅' if not h['reload']['lost'] else '❌'} |")
        rows.append(f"| reload under load: peak RSS / steady | {fmt(h['reload']['peak_ratio'], 2)} | "
                    f"{fmt(u['reload']['peak_ratio'], 2)} | | hedge ≤ 1.2 "
                    f"{verdict(h['reload']['peak_ratio'], 1.2, False)} |")
    head = (f"### {tag}: {out['names_blocked_adult']:,} names blocked for everyone "
            f"(+{out['names_blocked_child_only']:,} for child); hedge index {out['index_mb']:.1f} MB\n\n"
            "| metric | hedge | Unbound | hedge/Unbound | target |\n|---|---:|---:|---:|---|\n")
    text = head + "\n".join(rows) + "\n"
    pr = out.get("paired")
    if pr:
        text += (f"\nPaired rounds (both servers up at once, {pr['rounds']} rounds of {pr['seconds']} s per mix, "
                 f"the order alternating; median of the rounds' hedge/Unbound ratios, which machine drift "
                 f"between the two servers' runs does not move):\n\n")
        text += ("| mix | QPS hedge / Unbound (median) | spread | target | CPU per answer hedge / Unbound (µs) "
                 "| ratio (median) | spread | target | lost (hedge, Unbound) |\n"
                 "|---|---:|---|---|---:|---:|---|---|---:|\n")
        for mix, label in names.items():
            q, c = pr[mix]["qps"], pr[mix]["cpu_us_per_q"]
            spread = lambda e: (f"{e['min']:.2f} … {e['max']:.2f}" if e["min"] is not None else "–")
            text += (f"| {label} | {fmt(q['hedge'], 0)} / {fmt(q['unbound'], 0)} = {fmt(q['median'], 2)} | "
                     f"{spread(q)} | ≥ 1.2× {verdict(q['median'], 1.2, True)} | "
                     f"{fmt(c['hedge'], 2)} / {fmt(c['unbound'], 2)} | {fmt(c['median'], 2)} | {spread(c)} | "
                     f"≤ 0.8× {verdict(c['median'], 0.8, False)} | "
                     f"{int(pr[mix]['lost']['hedge'])}, {int(pr[mix]['lost']['unbound'])} |\n")
    if "counting" in out:
        co = out["counting"]
        text += (f"\nCounting overhead (statistics on vs off: both servers up at once, each mix run "
                 f"{co['rounds']} times on each, alternating; median of the paired ratios):\n\n")
        text += ("| mix | CPU/answer on (µs) | off (µs) | overhead (median) | spread of the pairs | "
                 "flusher thread's share of CPU |\n|---|---:|---:|---:|---|---:|\n")
        for mix, label in names.items():
            c = co[mix]
            ov = c["overhead"] * 100 if c["overhead"] is not None else None
            spread = (f"{c['min'] * 100:+.1f}% … {c['max'] * 100:+.1f}%" if c["min"] is not None else "–")
            fs = c.get("flusher_share")
            text += (f"| {label} | {fmt(c['on'], 2)} | {fmt(c['off'], 2)} | "
                     f"{fmt(ov, 1)}% {verdict(ov, 3, False)} | {spread} | "
                     f"{fmt(fs * 100 if fs is not None else None, 2)}% |\n")
    ci = out.get("counting_instructions")
    if ci:
        text += (f"\nCounting overhead in user-space instructions (hedge under callgrind with its cache "
                 f"model, statistics on vs off, the same {ci['lines']:,} queries of each mix at full "
                 f"batches; the flusher thread left out: its work is per second, not per query):\n\n")
        text += ("| mix | instructions/answer on | off | overhead | est. cycles (L1 miss = 10, LL miss = 100) "
                 "| user space's share of hedge's CPU | ≈ overhead in CPU per answer |\n"
                 "|---|---:|---:|---:|---:|---:|---:|\n")
        for mix, label in names.items():
            c = ci[mix]
            io, co = c["ir_overhead"], c["cycles_overhead"]
            # The kernel's share (loopback send and receive) is the same with and without
            # statistics, so the user-space overhead scales by user space's share of the CPU.
            total, system = h[mix].get("cpu_us_per_q"), h[mix].get("sys_us_per_q")
            user_share = (total - system) / total if total and system is not None else None
            cpu = co * user_share if co is not None and user_share is not None else None
            pct = lambda v: fmt(v * 100 if v is not None else None, 1)
            text += (f"| {label} | {fmt(c['on']['ir_per_answer'], 0)} | {fmt(c['off']['ir_per_answer'], 0)} | "
                     f"{pct(io)}% | {pct(co)}% | {pct(user_share)}% | "
                     f"{pct(cpu)}% {verdict(cpu * 100 if cpu is not None else None, 3, False)} |\n")
    bad = (h.get("spot_check") or []) + (u.get("spot_check") or [])
    if bad:
        text += f"\n**Wrong answers in the spot check:** {bad[:6]}\n"
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="3 s runs, the 1M list only")
    ap.add_argument("--seconds", type=int, help="length of each dnsperf run")
    ap.add_argument("--data", default=os.environ.get("HEDGE_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--synthetic-names", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, help="runs per mix, best kept (default 1 with --quick, else 2)")
    ap.add_argument("--profile", action="store_true",
                    help="instead of the comparison: perf + strace on hedge under each mix (1M list)")
    ap.add_argument("--profile-stats-off", action="store_true", help="--profile with statistics off")
    ap.add_argument("--no-stats-off", action="store_true", help="skip the statistics-off run")
    ap.add_argument("--starts", type=int, default=5,
                    help="starts of each server whose median is the start-up time (default 5)")
    ap.add_argument("--table-only", action="store_true",
                    help="print the tables of the last run again (from results/raw/results.json)")
    args = ap.parse_args()
    if args.table_only:
        for tag, out in json.loads((RAW / "results.json").read_text()).items():
            print(table(tag, out))
        return
    secs = args.seconds or (3 if args.quick else 10)
    n_cached = 5000 if args.quick else 20000
    global REPEAT, OVERHEAD_ROUNDS, STARTS
    REPEAT = args.repeat or (1 if args.quick else 2)
    STARTS = max(1, args.starts)
    OVERHEAD_ROUNDS = 3 if args.quick else 5
    global PAIRED_ROUNDS, PAIRED_SECONDS
    PAIRED_ROUNDS = 3 if args.quick else 5
    PAIRED_SECONDS = secs if args.quick else 5
    RAW.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    # The harness's own queries (waiting for the first answer every 2 ms, spot checks) go
    # from the load core, as dnsperf's do: on the server core they take time from a
    # starting server (bench/README.md, "Start-up").
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    for f in RAW.glob("*.txt"):
        f.unlink()
    if args.profile or args.profile_stats_off:
        m, _ = prepare_synthetic(args.synthetic_names, "synthetic-1m")
        profile_hedge("synthetic-1m", m, args.seconds or 5, n_cached, not args.profile_stats_off)
        return
    started = datetime.datetime.now(datetime.timezone.utc)
    results = {}
    m, mb = prepare_synthetic(args.synthetic_names, "synthetic-1m")
    results["synthetic 1M"] = {}
    bench_list("synthetic-1m", m, mb, secs, n_cached, not args.no_stats_off, results["synthetic 1M"])
    skipped = []
    if args.quick:
        skipped.append("real data (--quick runs the 1M synthetic list only)")
    elif not Path(args.data).is_dir():
        skipped.append(f"real data: {args.data} not found (set HEDGE_DATA)")
        log(f"SKIPPING the real-data row: {args.data} not found (set HEDGE_DATA)")
    else:
        m, mb = prepare_real(args.data)
        results["real data"] = {}
        bench_list("real", m, mb, secs, n_cached, False, results["real data"])
    (RAW / "results.json").write_text(json.dumps(results, indent=1, default=str))
    git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    unbound_v = subprocess.run(["unbound", "-V"], capture_output=True, text=True).stdout.split("\n")[0]
    p = subprocess.run(["dnsperf", "-h"], capture_output=True, text=True)
    dnsperf_v = re.search(r"Version ([\d.]+)", p.stdout + p.stderr)
    md = [f"## hedge vs Unbound — {started:%Y-%m-%d %H:%M} UTC\n",
          f"`bench/run.sh{' --quick' if args.quick else ''}` · hedge {git} (+ working tree) · {unbound_v} · "
          f"dnsperf {dnsperf_v.group(1) if dnsperf_v else '?'} · {secs} s per dnsperf run · "
          f"best of {REPEAT} per mix · start-up the median of {STARTS} starts · {n_cached:,} cached names · server on core {SERVER_CORE}, dnsperf on core {LOAD_CORE}, "
          f"{os.cpu_count()} cores · load on the `{LOAD_PROFILE}` listener\n"]
    loads = [f"{out[k]['loadavg_before']:.1f}" for out in results.values() for k in ("hedge", "unbound")
             if k in out]
    md.append(f"Load average (1 min) before each server's runs: {', '.join(loads)} "
              f"(anything well above 0 means other work shared the cores).\n")
    for tag, out in results.items():
        md.append(table(tag, out))
    for s in skipped:
        md.append(f"_Skipped: {s}._\n")
    text = "\n".join(md)
    (RESULTS / "latest.md").write_text(text)
    print()
    print(text)
    log(f"wrote {RESULTS / 'latest.md'} and raw outputs under {RAW}")


if __name__ == "__main__":
    main()
