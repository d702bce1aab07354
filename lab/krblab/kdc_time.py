#!/usr/bin/env python3
"""kdc_time.py - ask a KDC for its clock with one unauthenticated AS-REQ.

Usage: kdc_time.py [--tcp] [--realm R] [--user U] [--port 88] [--timeout S] HOST

Sends an AS-REQ for U@R (default awx@KUROKOBO.INTERNAL) without pre-auth. An
MIT or AD KDC answers with a KRB-ERROR (normally PREAUTH_REQUIRED, 25) whose
stime/susec is the KDC's own clock. Prints one line:
    kdc=HOST:88/udp error=25 stime=2026-01-01T00:10:00.123456Z skew=+600.1s
(skew = KDC clock - local clock). Exit 0 on a KRB-ERROR reply, 1 on
network error/timeout, 3 on a reply that is not a KRB-ERROR. Stdlib only;
the lab uses it to check that the libfaketime KDC really runs ahead.
"""
import argparse
import datetime
import os
import socket
import struct
import sys
import time

from krblab.krberror import decode_krb_error


def der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + content


def ctx(n: int, content: bytes) -> bytes:  # [n] EXPLICIT, constructed
    return der(0xA0 | n, content)


def integer(v: int) -> bytes:
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return der(0x02, b)


def gstring(s: str) -> bytes:
    return der(0x1B, s.encode())


def seq(*items: bytes) -> bytes:
    return der(0x30, b"".join(items))


def principal(name_type: int, *parts: str) -> bytes:
    return seq(ctx(0, integer(name_type)), ctx(1, seq(*[gstring(p) for p in parts])))


def as_req(realm: str, user: str) -> bytes:
    till = ctx(5, der(0x18, b"20370913024805Z"))
    body = seq(
        ctx(0, der(0x03, b"\x00\x50\x00\x00\x00")),  # forwardable, renewable...
        ctx(1, principal(1, user)),
        ctx(2, gstring(realm)),
        ctx(3, principal(2, "krbtgt", realm)),
        till,
        ctx(7, integer(int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF)),
        ctx(8, seq(integer(18), integer(17))),
    )
    return der(0x6A, seq(ctx(1, integer(5)), ctx(2, integer(10)), ctx(4, body)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("--port", type=int, default=88)
    ap.add_argument("--tcp", action="store_true")
    ap.add_argument("--realm", default="KUROKOBO.INTERNAL")
    ap.add_argument("--user", default="awx")
    ap.add_argument("--timeout", type=float, default=3.0)
    a = ap.parse_args()
    req = as_req(a.realm, a.user)
    proto = "tcp" if a.tcp else "udp"
    where = "kdc=%s:%d/%s" % (a.host, a.port, proto)
    try:
        if a.tcp:
            with socket.create_connection((a.host, a.port), timeout=a.timeout) as s:
                s.sendall(struct.pack(">I", len(req)) + req)
                data = b""
                while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                reply = data[4:]
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(a.timeout)
                s.connect((a.host, a.port))
                s.send(req)
                reply = s.recv(65536)
        now = time.time()
    except OSError as e:
        print("%s error=network %s" % (where, "timeout" if isinstance(e, socket.timeout) else e))
        return 1
    try:
        err = decode_krb_error(reply)
    except (ValueError, KeyError, IndexError):
        print("%s error=not-a-krb-error reply=%s" % (where, reply[:16].hex()))
        return 3
    st = datetime.datetime.strptime(err.stime, "%Y%m%d%H%M%SZ").replace(tzinfo=datetime.UTC)
    kdc = st.timestamp() + err.susec / 1e6
    print("%s error=%d stime=%s.%06dZ skew=%+.1fs" % (
        where, err.error_code, st.strftime("%Y-%m-%dT%H:%M:%S"), err.susec, kdc - now))
    return 0


if __name__ == "__main__":
    sys.exit(main())
