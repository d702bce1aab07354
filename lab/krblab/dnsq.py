#!/usr/bin/env python3
"""dnsq.py - a tiny dig: send one DNS query over UDP, print rcode and answers.

Usage: dnsq.py [--server IP] [--port N] NAME [TYPE]
  TYPE: A (default), AAAA, PTR, SRV, TXT, ANY, or a number. For PTR an IPv4
  address is turned into its in-addr.arpa name.
Output (one line each): "rcode=NOERROR aa=1 answers=N", then per answer
  "<name> <type> <ttl> <data>". Exit 0 when an answer came back (any rcode),
  1 on timeout/network error, 2 on usage error. Stdlib only.
"""
import argparse
import ipaddress
import random
import socket
import struct
import sys
from typing import TypedDict

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "TXT": 16, "AAAA": 28, "SRV": 33, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class Reply(TypedDict):
    """A DNS reply: the rcode's name, the AA bit and (name, type, ttl, data) per answer."""

    rcode: str
    aa: int
    answers: list[tuple[str, str, int, str]]


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def read_name(msg: bytes, off: int) -> tuple[str, int]:
    labels: list[str] = []
    jumped = False
    end = off
    for _ in range(128):
        ln = msg[off]
        if ln & 0xC0 == 0xC0:
            ptr = ((ln & 0x3F) << 8) | msg[off + 1]
            if not jumped:
                end = off + 2
            jumped = True
            off = ptr
            continue
        if ln == 0:
            if not jumped:
                end = off + 1
            break
        labels.append(msg[off + 1:off + 1 + ln].decode("ascii", "replace"))
        off += 1 + ln
    return ".".join(labels) + ".", end


def query(server: str, port: int, name: str, qtype: int, timeout: float = 2.0) -> Reply:
    qid = random.randint(0, 0xFFFF)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(pkt, (server, port))
        while True:
            msg, _ = s.recvfrom(4096)
            if struct.unpack(">H", msg[:2])[0] == qid:
                return parse(msg)


def parse(msg: bytes) -> Reply:
    _qid, flags, qd, an, _ns, _ar = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _n, off = read_name(msg, off)
        off += 4
    answers: list[tuple[str, str, int, str]] = []
    for _ in range(an):
        rname, off = read_name(msg, off)
        rtype, _rclass, ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rd = msg[off:off + rdlen]
        if rtype == 1:
            data = socket.inet_ntop(socket.AF_INET, rd)
        elif rtype == 28:
            data = socket.inet_ntop(socket.AF_INET6, rd)
        elif rtype in (2, 5, 12):
            data = read_name(msg, off)[0]
        elif rtype == 33:
            prio, weight, port = struct.unpack(">HHH", rd[:6])
            data = "%d %d %d %s" % (prio, weight, port, read_name(msg, off + 6)[0])
        elif rtype == 16:
            parts: list[str] = []
            i = 0
            while i < len(rd):
                parts.append(rd[i + 1:i + 1 + rd[i]].decode("utf-8", "replace"))
                i += 1 + rd[i]
            data = " ".join('"%s"' % p for p in parts)
        else:
            data = rd.hex()
        answers.append((rname, TYPE_NAMES.get(rtype, str(rtype)), ttl, data))
        off += rdlen
    return {"rcode": RCODES.get(flags & 0xF, str(flags & 0xF)), "aa": (flags >> 10) & 1, "answers": answers}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default="127.0.0.53")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("name")
    ap.add_argument("type", nargs="?", default="A")
    a = ap.parse_args()
    qtype = TYPES.get(a.type.upper()) or (int(a.type) if a.type.isdigit() else None)
    if qtype is None:
        ap.error("unknown type %s" % a.type)
    name = a.name
    if qtype == 12:
        try:
            name = ipaddress.ip_address(name).reverse_pointer
        except ValueError:
            pass
    try:
        r = query(a.server, a.port, name, qtype, a.timeout)
    except OSError as e:
        print("error=%s" % (e.__class__.__name__ if isinstance(e, socket.timeout) else e))
        return 1
    print("rcode=%s aa=%d answers=%d" % (r["rcode"], r["aa"], len(r["answers"])))
    for rname, rtype, ttl, data in r["answers"]:
        print("%s %s %d %s" % (rname, rtype, ttl, data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
