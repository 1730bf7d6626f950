"""A tiny DNS client for the benchmark: no dependencies beyond the standard library.

Builds one A/AAAA query, sends it over UDP and parses just enough of the answer (rcode and
the A/AAAA addresses of the answer section) to tell a sinkhole answer from a resolved one.
"""

import random
import socket
import struct
import time

TYPES = {"A": 1, "AAAA": 28}


def build_query(name, qtype="A", qid=None):
    qid = random.randrange(65536) if qid is None else qid
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD
    q = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".") if l)
    return qid, header + q + b"\x00" + struct.pack(">HH", TYPES[qtype], 1)


def _skip_name(buf, pos):
    while True:
        n = buf[pos]
        if n == 0:
            return pos + 1
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1 + n


def parse(buf):
    """Returns (id, rcode, [addresses]) of a response."""
    qid, flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", buf[:12])
    pos = 12
    for _ in range(qd):
        pos = _skip_name(buf, pos) + 4
    addrs = []
    for _ in range(an):
        pos = _skip_name(buf, pos)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", buf[pos:pos + 10])
        pos += 10
        rdata = buf[pos:pos + rdlen]
        pos += rdlen
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and rdlen == 16:
            addrs.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return qid, flags & 0x0F, addrs


def query(server, port, name, qtype="A", timeout=1.0, source=None):
    """One query (from address `source`, if given); returns (rcode, addresses) or None on
    timeout / no server."""
    qid, packet = build_query(name, qtype)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            if source:
                s.bind((source, 0))
            # Connected, so that the ICMP port-unreachable of a server not yet listening
            # ends the wait at once (ConnectionRefusedError) instead of after `timeout`:
            # with an unconnected socket, wait_for_answer could only see a server come up
            # on a grid of its 50 ms timeouts.
            s.connect((server, port))
            s.send(packet)
            deadline = time.monotonic() + timeout
            while True:
                data = s.recv(4096)
                rid, rcode, addrs = parse(data)
                if rid == qid:
                    return rcode, addrs
                if time.monotonic() > deadline:
                    return None
        except (socket.timeout, ConnectionRefusedError, OSError):
            return None


def wait_for_answer(server, port, name, want, t0, limit=300.0, proc=None, source=None):
    """Polls every ~2 ms until `name` gets an answer containing address `want`.

    Returns seconds since `t0` (a time.monotonic() value), or None after `limit` seconds
    or when `proc` exits.
    """
    while time.monotonic() - t0 < limit:
        if proc is not None and proc.poll() is not None:
            return None
        r = query(server, port, name, timeout=0.05, source=source)
        if r is not None and r[0] == 0 and want in r[1]:
            return time.monotonic() - t0
        time.sleep(0.002)
    return None
