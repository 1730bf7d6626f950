#!/usr/bin/env python3
"""Differential run: hedge and a reference Unbound, both recursing from the same fake internet
on loopback, are asked the same questions, and their answers are compared. See
bench/README.md ("Differential run").

    sudo python3 bench/differential.py [--keep] [--verbose] [--no-build] [--hedge PATH]

Needs root (the fake internet binds port 53 on 127.53.x.y), `unbound` (apt-get install
unbound) and dnspython (pip install dnspython). It builds hedge and the testkit's
`fake-internet` binary in debug mode (cargo build), then:

1. asks every name of every zone file in crates/testkit/zones/ for the types it has and for
   every common type, plus NXDOMAIN names, mixed case, ANY, the big TXT and queries without
   EDNS, each over UDP and then over TCP;
2. asks the short-lived records of ttl-diff.net. (TTL 2, negative TTL 2), waits 3 s, and
   asks them again, once over UDP and once over TCP: both resolvers must fetch them again
   (the authoritative server sees a query) and answer with a fresh TTL.

Per question it compares the rcode, the answer RRsets (as sets of name, type and rdata;
names case-insensitively), the SOA of negative answers, TC, the echoed question (exactly, so
mixed case counts), and checks on each side that AA is off, RA and RD are on, and every
TTL is between 1 and the authoritative server's TTL for that RRset. It prints a summary and
one diff per disagreement, and exits 1 on any disagreement (2 when it cannot run).
"""

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.zone
except ImportError:
    sys.exit("differential: needs dnspython: pip install dnspython")

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ZONES = REPO / "crates" / "testkit" / "zones"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug"
HEDGE = TARGET / "hedge"
FAKE_INTERNET = TARGET / "fake-internet"

# The types every name is asked for, whether it has them or not (NODATA otherwise).
COMMON_TYPES = ["A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "SRV", "PTR", "CAA"]
# The short-lived zone: asked in its own phase, again after expiry.
SHORT_ZONE = "ttl-diff.net."
SHORT_TTL = 2
TIMEOUT = 5.0
EDNS_PAYLOAD = 1232

# Differences that are by design, not bugs: (predicate on the question, why). Questions they
# match are still asked and shown, but not counted as disagreements.
BY_DESIGN = [
    # RFC 8482: a resolver may answer ANY with a subset of the RRsets (or refuse it). hedge
    # answers with one RRset, Unbound with all it fetched; neither is wrong.
    (lambda name, qtype: qtype == "ANY",
     "ANY: RFC 8482 allows a subset; hedge gives one RRset, Unbound all"),
]


def fail(msg):
    print(f"differential: {msg}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue


class FakeInternet:
    """The testkit's hierarchy (crates/testkit/src/bin/fake-internet.rs) as a child process."""

    def __init__(self):
        self.proc = subprocess.Popen([str(FAKE_INTERNET)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.servers = {}
        for line in self.proc.stdout:
            words = line.split()
            if words == ["ready"]:
                break
            if len(words) == 3 and words[0] == "zone":
                self.servers[words[1]] = words[2]
        if "." not in self.servers:
            fail(f"{FAKE_INTERNET} did not start (exit {self.proc.wait()}); see its error above")

    def counts(self):
        self.proc.stdin.write("counts\n")
        self.proc.stdin.flush()
        out = {}
        for line in self.proc.stdout:
            words = line.split()
            if words == ["end"]:
                return out
            out[words[1]] = int(words[2])
        fail("fake-internet stopped")

    def server_for(self, name):
        """The server of the closest zone enclosing `name` (the authoritative one)."""
        labels = name.lower().rstrip(".").split(".")
        for i in range(len(labels) + 1):
            zone = ".".join(labels[i:]) + "." if i < len(labels) else "."
            if zone in self.servers:
                return zone, self.servers[zone]
        return ".", self.servers["."]

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class Resolver:
    def __init__(self, kind, cmd, port, log):
        self.kind, self.port, self.log = kind, port, log
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "w"))

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"{self.kind} exited with {self.proc.returncode}:\n{Path(self.log).read_text()}")
            try:
                q = dns.message.make_query("www.example.com.", "A")
                r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=1)
                if r.rcode() == dns.rcode.NOERROR and r.answer:
                    return
            except (OSError, dns.exception.Timeout):
                pass
            time.sleep(0.1)
        fail(f"{self.kind} did not answer www.example.com. A within 30 s:\n{Path(self.log).read_text()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def hedge_config(path, root, port):
    # One profile that blocks nothing and turns the bypass controls off: every name resolves,
    # so the answers can be compared with a plain recursive resolver. Blocking is tested by
    # the end-to-end tests; here only resolution is.
    path.write_text(f"""# Generated by bench/differential.py
[[profile]]
name = "everything"
block = []
block_doh_canary = false
block_private_relay = false
block_ddr = false

[[listener]]
profile = "everything"
bind = ["127.0.0.1:{port}"]
allow = ["127.0.0.0/8"]

[upstream]
mode = "recursive"
roots = ["{root}"]
allow_servers = ["127.0.0.0/8"]

[stats]
enabled = false
""")


def unbound_config(path, root, port, work):
    hints = work / "root.hints"
    hints.write_text(f".\t3600000\tIN\tNS\ta.root-servers.test.\n"
                     f"a.root-servers.test.\t3600000\tIN\tA\t{root}\n")
    path.write_text(f"""# Generated by bench/differential.py: a plain recursive Unbound, defaults otherwise.
server:
    num-threads: 1
    interface: 127.0.0.1@{port}
    port: {port}
    interface-automatic: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    do-ip6: no
    root-hints: "{hints}"
    chroot: ""
    username: ""
    directory: "{work}"
    pidfile: "{work}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    # hedge does not validate DNSSEC, and the fake internet is unsigned
    module-config: "iterator"
    so-reuseport: no
    # the fake root's name server is a.root-servers.test. (RFC 6761 name, local by default)
    local-zone: "test." nodefault
remote-control:
    control-enable: no
""")


# ---------------------------------------------------------------------------------------------
# Questions
# ---------------------------------------------------------------------------------------------

def zone_names():
    """{owner: set of types} over every zone file, and the set of zone origins."""
    owners, origins = {}, set()
    for f in sorted(ZONES.glob("*.zone")):
        text = f.read_text().replace("{net}", "127.53.0")
        zone = dns.zone.from_text(text, relativize=False, check_origin=False)
        origins.add(zone.origin.to_text())
        for name, node in zone.nodes.items():
            types = owners.setdefault(name.to_text().lower(), set())
            for rdataset in node.rdatasets:
                types.add(dns.rdatatype.to_text(rdataset.rdtype))
    # Generated by crates/testkit/src/zones.rs (names::big_txt), not in the file.
    owners.setdefault("big.example.com.", set()).add("TXT")
    return owners, origins


def mixed_case(name, rng):
    return "".join(c.upper() if c.isalpha() and rng.random() < 0.5 else c for c in name)


def general_questions():
    """(name, type, edns) for the first phase: everything outside the short-lived zone."""
    owners, origins = zone_names()
    rng = random.Random(16)
    qs = []
    for owner in sorted(owners):
        if owner.endswith(SHORT_ZONE):
            continue
        for t in sorted(set(COMMON_TYPES) | owners[owner]):
            qs.append((owner, t, True))
    for origin in sorted(origins):
        if origin.endswith(SHORT_ZONE):
            continue
        nx = "nx-diff." + origin if origin != "." else "nx-diff-tld."
        qs += [(nx, "A", True), (nx, "MX", True), (mixed_case(nx, rng), "AAAA", True)]
    qs += [
        # NXDOMAIN below an existing name, and below an empty non-terminal
        ("below.www.example.com.", "A", True),
        ("below.ent.differential.net.", "A", True),
        # a name under a TLD that does not exist, and a non-existent reverse name
        ("www.nosuchtld.", "A", True),
        ("1.114.0.203.in-addr.arpa.", "PTR", True),
        # no EDNS: 512-byte limit (the big TXT is truncated), and plain answers
        ("www.example.com.", "A", False),
        ("www.differential.net.", "A", False),
        ("alias.example.com.", "A", False),
        ("differential.net.", "MX", False),
        ("dangling.example.com.", "A", False),
        ("big.example.com.", "TXT", False),
        ("nx-diff.example.com.", "A", False),
        # ANY
        ("www.example.com.", "ANY", True),
        ("differential.net.", "ANY", True),
    ]
    # Every name once more in mixed case (A: answers, NODATA, chains and NXDOMAIN alike).
    for owner in sorted(owners):
        if not owner.endswith(SHORT_ZONE) and owner != ".":
            qs.append((mixed_case(owner, rng), "A", True))
            qs.append((mixed_case(owner, rng), "MX", True))
    return qs


def short_questions():
    """The short-lived zone's questions: positive, NODATA and NXDOMAIN answers whose data
    lives 2 s, chains with a short-lived link, and qtype CNAME (a separate code path)."""
    z = SHORT_ZONE
    return [(f"short.{z}", "A", True), (f"short.{z}", "AAAA", True), (f"short.{z}", "TXT", True),
            (f"short.{z}", "MX", True), (f"ShOrT.{z.upper()}", "A", True),
            (f"long-to-short.{z}", "A", True), (f"long-to-short.{z}", "TXT", True),
            (f"short-to-long.{z}", "A", True), (f"short-to-long.{z}", "CNAME", True),
            (f"long.{z}", "CNAME", True), (z, "SOA", True), (z, "A", True),
            (f"nx-diff.{z}", "A", True), (f"nx-diff.{z}", "CNAME", True)]


# ---------------------------------------------------------------------------------------------
# Asking and comparing
# ---------------------------------------------------------------------------------------------

def ask(port, name, qtype, edns, transport):
    q = dns.message.make_query(name, qtype, use_edns=0 if edns else False,
                               payload=EDNS_PAYLOAD)
    try:
        if transport == "udp":
            return dns.query.udp(q, "127.0.0.1", port=port, timeout=TIMEOUT)
        return dns.query.tcp(q, "127.0.0.1", port=port, timeout=TIMEOUT)
    except dns.exception.Timeout:
        return "timeout"
    except (OSError, EOFError, dns.exception.DNSException) as e:
        return f"error: {e!r}"


class OriginalTtls:
    """The TTL the authoritative server gives an RRset: the most a resolver may answer."""

    def __init__(self, internet):
        self.internet, self.cache = internet, {}

    def get(self, owner, rdtype):
        key = (owner.lower(), rdtype)
        if key not in self.cache:
            _, server = self.internet.server_for(owner)
            q = dns.message.make_query(owner, rdtype, use_edns=0, payload=EDNS_PAYLOAD)
            q.flags &= ~dns.flags.RD
            r = dns.query.tcp(q, server, port=53, timeout=TIMEOUT)
            ttl = None
            for rrset in r.answer + r.authority:
                if rrset.name == dns.name.from_text(owner) and rrset.rdtype == rdtype:
                    ttl = rrset.ttl
            self.cache[key] = ttl
        return self.cache[key]


# Types whose rdata holds domain names, which compare case-insensitively. (Authoritative
# servers often write them through a compression pointer into the question, so they come back
# in the question's mixed case.)
NAME_RDATA = {dns.rdatatype.from_text(t) for t in ("NS", "CNAME", "SOA", "MX", "SRV", "PTR", "DNAME")}


def rrset_set(section):
    def text(rrset, rd):
        t = rd.to_text()
        return t.lower() if rrset.rdtype in NAME_RDATA else t
    return {(rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype), text(rrset, rd))
            for rrset in section for rd in rrset}


def is_negative(r, qtype):
    """NXDOMAIN, or NOERROR with no RRset of the asked type at the end of the answer."""
    if r.rcode() == dns.rcode.NXDOMAIN:
        return True
    if qtype in ("ANY", "CNAME"):
        return not r.answer
    return not any(rrset.rdtype == dns.rdatatype.from_text(qtype) for rrset in r.answer)


def soas(r):
    return [rrset for rrset in r.authority if rrset.rdtype == dns.rdatatype.SOA]


def check_one(kind, asked, qtype, r, ttls):
    """What is wrong with one response on its own."""
    problems = []
    if not r.flags & dns.flags.QR:
        problems.append(f"{kind}: QR off")
    if r.flags & dns.flags.AA:
        problems.append(f"{kind}: AA on (a resolver's answer is not authoritative)")
    if not r.flags & dns.flags.RA:
        problems.append(f"{kind}: RA off")
    if not r.flags & dns.flags.RD:
        problems.append(f"{kind}: RD not echoed")
    if len(r.question) != 1:
        problems.append(f"{kind}: {len(r.question)} questions echoed")
    elif r.question[0].name.to_text() != asked or dns.rdatatype.to_text(r.question[0].rdtype) != qtype:
        problems.append(f"{kind}: question echoed as {r.question[0].name.to_text()} "
                        f"{dns.rdatatype.to_text(r.question[0].rdtype)}, asked {asked} {qtype}")
    checked = list(r.answer)
    negative_soas = soas(r) if is_negative(r, qtype) else []
    checked += negative_soas
    for rrset in checked:
        original = ttls.get(rrset.name.to_text(), rrset.rdtype)
        rtype = dns.rdatatype.to_text(rrset.rdtype)
        # A short-lived RRset may be served with TTL 0 in its last second (Unbound does, its
        # clock counts whole seconds); whether it was fetched again after expiry is checked by
        # counting the authoritative server's queries (short_phase). The SOA of a negative
        # answer lives min(SOA TTL, SOA minimum) (RFC 2308), which may be short on its own.
        lives = original
        if original is not None and rrset in negative_soas:
            lives = min(original, min(rd.minimum for rd in rrset))
        lowest = 0 if lives is not None and lives <= SHORT_TTL else 1
        if original is None:
            problems.append(f"{kind}: {rrset.name} {rtype} is not served by its zone")
        elif not lowest <= rrset.ttl <= original:
            problems.append(f"{kind}: {rrset.name} {rtype} TTL {rrset.ttl}, "
                            f"want {lowest}..={original} (authoritative TTL {original})")
    return problems


def compare(asked, qtype, h, u, ttls):
    """Every disagreement between hedge's response `h` and Unbound's `u` (and anything
    wrong with either on its own)."""
    if isinstance(h, str) or isinstance(u, str):
        if isinstance(h, str) and isinstance(u, str):
            return []  # both failed alike (no answer from either)
        return [f"hedge: {h if isinstance(h, str) else 'answered'}, "
                f"unbound: {u if isinstance(u, str) else 'answered'}"]
    diffs = check_one("hedge", asked, qtype, h, ttls) + check_one("unbound", asked, qtype, u, ttls)
    if h.rcode() != u.rcode():
        diffs.append(f"rcode: hedge {dns.rcode.to_text(h.rcode())}, "
                     f"unbound {dns.rcode.to_text(u.rcode())}")
    if bool(h.flags & dns.flags.TC) != bool(u.flags & dns.flags.TC):
        diffs.append(f"TC: hedge {bool(h.flags & dns.flags.TC)}, unbound {bool(u.flags & dns.flags.TC)}")
    if (h.edns >= 0) != (u.edns >= 0):
        diffs.append(f"OPT record: hedge {h.edns >= 0}, unbound {u.edns >= 0}")
    if h.flags & dns.flags.TC and u.flags & dns.flags.TC:
        return diffs  # both truncated: the client retries over TCP (asked separately)
    ha, ua = rrset_set(h.answer), rrset_set(u.answer)
    if ha != ua:
        diffs.append("answer: only hedge has " + fmt_set(ha - ua) + "; only unbound has " + fmt_set(ua - ha))
    if is_negative(h, qtype) or is_negative(u, qtype):
        hs, us = rrset_set(soas(h)), rrset_set(soas(u))
        if hs != us:
            diffs.append(f"negative answer's SOA: hedge {fmt_set(hs)}, unbound {fmt_set(us)}")
    return diffs


def fmt_set(s):
    return "{" + ", ".join(" ".join(x) for x in sorted(s)) + "}" if s else "{}"


def show(r):
    if isinstance(r, str):
        return "    " + r
    flags = dns.flags.to_text(r.flags)
    lines = [f"    {dns.rcode.to_text(r.rcode())} flags [{flags}] edns {r.edns}"]
    for section, rrsets in (("answer", r.answer), ("authority", r.authority)):
        for rrset in rrsets:
            for line in rrset.to_text().split("\n"):
                lines.append(f"    {section}: {line}")
    return "\n".join(lines)


class Run:
    def __init__(self, hedge, unbound, ttls, verbose):
        self.hedge, self.unbound, self.ttls, self.verbose = hedge, unbound, ttls, verbose
        self.asked = 0
        self.agreed = 0
        self.excused = []
        self.disagreed = []

    def record(self, label, name, qtype, h, u, extra=()):
        self.asked += 1
        diffs = compare(name, qtype, h, u, self.ttls) + list(extra)
        if not diffs:
            self.agreed += 1
            if self.verbose:
                print(f"ok   {label}")
            return
        why = next((reason for match, reason in BY_DESIGN if match(name, qtype)), None)
        entry = (label, diffs, h, u, why)
        (self.excused if why else self.disagreed).append(entry)
        print(f"{'by design' if why else 'DIFF'} {label}: {diffs[0]}")

    def both(self, name, qtype, edns, transport):
        h = ask(self.hedge.port, name, qtype, edns, transport)
        u = ask(self.unbound.port, name, qtype, edns, transport)
        return h, u


def label_of(name, qtype, edns, transport, note=""):
    return f"{name} {qtype} {transport}{'' if edns else ' no-EDNS'}{note}"


def general_phase(run):
    qs = general_questions()
    print(f"differential: phase 1: {len(qs)} questions, each over UDP then TCP")
    for name, qtype, edns in qs:
        for transport in ("udp", "tcp"):
            h, u = run.both(name, qtype, edns, transport)
            run.record(label_of(name, qtype, edns, transport), name, qtype, h, u)


def short_phase(run, internet):
    """Short-lived records: asked, then asked again once they expired; both resolvers must
    fetch them again. One question at a time, each waiting out the TTL on its own, so no
    question can be answered from data another one fetched a moment before."""
    qs = short_questions()
    wait = SHORT_TTL + 1
    print(f"differential: phase 2: {len(qs)} short-lived questions, each asked again {wait} s "
          f"later, over UDP and over TCP (about {2 * len(qs) * wait} s)")
    for transport in ("udp", "tcp"):
        for name, qtype, edns in qs:
            h, u = run.both(name, qtype, edns, transport)
            run.record(label_of(name, qtype, edns, transport, " (fresh)"), name, qtype, h, u)
            time.sleep(wait)
            before = internet.counts()[SHORT_ZONE]
            h2 = ask(run.hedge.port, name, qtype, edns, transport)
            middle = internet.counts()[SHORT_ZONE]
            u2 = ask(run.unbound.port, name, qtype, edns, transport)
            after = internet.counts()[SHORT_ZONE]
            extra = []
            expired = expired_rrsets((h, u), qtype, run.ttls)
            for kind, fetched in (("hedge", middle - before), ("unbound", after - middle)):
                if expired and fetched == 0:
                    extra.append(f"{kind}: answered from cache although {expired} had expired "
                                 f"({SHORT_ZONE}'s server saw no query)")
            run.record(label_of(name, qtype, edns, transport, f" (again after {wait} s)"),
                       name, qtype, h2, u2, extra)


def expired_rrsets(responses, qtype, ttls):
    """The RRsets of the earlier answers (either resolver's) that live less than the wait:
    asked again, they must be fetched again."""
    short = set()
    for r in responses:
        if isinstance(r, str):
            continue
        for rrset in list(r.answer) + (soas(r) if is_negative(r, qtype) else []):
            original = ttls.get(rrset.name.to_text(), rrset.rdtype)
            if original is not None and original <= SHORT_TTL:
                short.add(f"{rrset.name.to_text().lower()} {dns.rdatatype.to_text(rrset.rdtype)}")
    return ", ".join(sorted(short))


def report(run):
    print()
    for title, entries in (("Disagreements", run.disagreed), ("By design (not counted)", run.excused)):
        if not entries:
            continue
        print(f"== {title}: {len(entries)}")
        for label, diffs, h, u, why in entries:
            print(f"-- {label}" + (f"  [{why}]" if why else ""))
            for d in diffs:
                print(f"   * {d}")
            print("   hedge:")
            print(show(h))
            print("   unbound:")
            print(show(u))
    print(f"\ndifferential: {run.asked} questions asked, {run.agreed} agreed, "
          f"{len(run.disagreed)} disagreed, {len(run.excused)} differ by design")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-build", action="store_true", help="use the binaries already in target/debug")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (configs, logs)")
    ap.add_argument("--verbose", action="store_true", help="print every question")
    ap.add_argument("--hedge", type=Path, help="the hedge binary to test (default: build target/debug/hedge)")
    args = ap.parse_args()
    hedge_bin = args.hedge or HEDGE

    if os.geteuid() != 0:
        fail("needs root: the fake internet binds port 53 on 127.53.x.y (sudo python3 bench/differential.py)")
    if not shutil.which("unbound"):
        fail("the reference resolver is missing: apt-get install unbound")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--quiet", "-p", "hedge", "-p", "hedge-testkit",
                        "--bin", "hedge", "--bin", "fake-internet"], cwd=REPO, check=True)
    for binary in (hedge_bin, FAKE_INTERNET):
        if not binary.exists():
            fail(f"{binary} is missing (cargo build -p hedge -p hedge-testkit)")

    work = Path(tempfile.mkdtemp(prefix="hedge-differential-"))
    internet = FakeInternet()
    root = internet.servers["."]
    resolvers = []
    try:
        hport, uport = free_port(), free_port()
        hedge_config(work / "hedge.toml", root, hport)
        unbound_config(work / "unbound.conf", root, uport, work)
        subprocess.run(["unbound-checkconf", str(work / "unbound.conf")], check=True,
                       stdout=subprocess.DEVNULL)
        hedge = Resolver("hedge", [str(hedge_bin), "serve", "--config", str(work / "hedge.toml")],
                         hport, work / "hedge.log")
        resolvers.append(hedge)
        unbound = Resolver("unbound", ["unbound", "-d", "-c", str(work / "unbound.conf")],
                           uport, work / "unbound.log")
        resolvers.append(unbound)
        hedge.wait_ready()
        unbound.wait_ready()
        version = subprocess.run(["unbound", "-V"], capture_output=True, text=True).stdout.split("\n")[0]
        print(f"differential: hedge 127.0.0.1:{hport}, {version} 127.0.0.1:{uport}, "
              f"fake root {root}, work folder {work}")
        run = Run(hedge, unbound, OriginalTtls(internet), args.verbose)
        general_phase(run)
        short_phase(run, internet)
        report(run)
    finally:
        for r in resolvers:
            r.stop()
        internet.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if run.disagreed else 0)


if __name__ == "__main__":
    main()
