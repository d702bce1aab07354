#!/usr/bin/env python3
"""http_probe.py - one HTTP(S) request, printed in a stable, grep-able form.

Usage: http_probe.py [--https] [--cafile PEM] [--insecure] [--sni NAME]
                     [--method GET] [--header 'Name: value']... [--body TEXT]
                     [--gss SCHEME:MECH --spn HTTP@HOST] [--timeout S]
                     HOST PORT [PATH]
--gss Negotiate:krb5 (or Kerberos:krb5, Negotiate:spnego) sends an
Authorization header with a GSSAPI initiator token for --spn from the default
ccache (needs python3-gssapi) and then feeds the answer's token for that
scheme back into the context; it prints "gss-result=complete" (mutual auth
verified), "gss-result=no-token" or "gss-result=error <GSS error>" (e.g. the
KRB-ERROR the acceptor answered).
Output:
  status=401 reason=''
  header Server: Microsoft-HTTPAPI/2.0
  header WWW-Authenticate: Negotiate
  ...
  body-length=0
  body-head=<first 120 bytes, repr>
  tls-subject=... tls-san=...   (https only)
On a connection failure prints "error=<kind> <detail>" (kind: refused,
timeout, tls, other) and exits 1. Stdlib only (python3-gssapi for --gss).
"""
import argparse
import http.client
import socket
import ssl
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("path", nargs="?", default="/wsman")
    ap.add_argument("--https", action="store_true")
    ap.add_argument("--cafile")
    ap.add_argument("--insecure", action="store_true")
    ap.add_argument("--sni")
    ap.add_argument("--method", default="POST")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--body", default=None)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--gss")
    ap.add_argument("--spn")
    a = ap.parse_args()

    gss_ctx = gss_scheme = None
    if a.gss:
        import base64

        import gssapi
        gss_scheme, _, mech = a.gss.partition(":")
        oid = gssapi.MechType.kerberos if mech in ("", "krb5") else gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
        gss_ctx = gssapi.SecurityContext(
            name=gssapi.Name(a.spn or "HTTP@" + a.host, gssapi.NameType.hostbased_service), mech=oid,
            flags=(gssapi.RequirementFlag.mutual_authentication
                   | gssapi.RequirementFlag.out_of_sequence_detection),
            usage="initiate")
        a.header.append("Authorization: %s %s" % (gss_scheme, base64.b64encode(gss_ctx.step()).decode()))

    conn: http.client.HTTPConnection
    tls: ssl.SSLSocket | None = None  # https: the connection's socket
    try:
        if a.https:
            ctx = ssl.create_default_context(cafile=a.cafile)
            if a.insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
            tls = ctx.wrap_socket(sock, server_hostname=a.sni or a.host)
            conn = http.client.HTTPSConnection(a.sni or a.host, a.port, timeout=a.timeout, context=ctx)
            conn.sock = tls
        else:
            conn = http.client.HTTPConnection(a.host, a.port, timeout=a.timeout)
            conn.connect()
        headers = {}
        for h in a.header:
            k, _, v = h.partition(":")
            headers[k.strip()] = v.strip()
        body = a.body.encode() if a.body is not None else (b"" if a.method == "POST" else None)
        if body is not None and a.method == "POST" and "Content-Type" not in headers:
            headers["Content-Type"] = "application/soap+xml;charset=UTF-8"
        conn.request(a.method, a.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    except ConnectionRefusedError as e:
        print("error=refused %s" % e)
        return 1
    except TimeoutError as e:
        print("error=timeout %s" % e)
        return 1
    except ssl.SSLError as e:
        print("error=tls %s" % e)
        return 1
    except OSError as e:
        print("error=other %s" % e)
        return 1
    print("status=%d reason=%r" % (resp.status, resp.reason))
    for k, v in resp.getheaders():
        print("header %s: %s" % (k, v))
    if gss_ctx is not None:
        import base64
        import re

        import gssapi
        offers = ", ".join(resp.headers.get_all("WWW-Authenticate") or [])
        m = re.search(r"(?:^|,)\s*%s\s+([A-Za-z0-9+/=]+)" % gss_scheme, offers)
        if not m:
            print("gss-result=no-token")
        else:
            try:
                gss_ctx.step(base64.b64decode(m.group(1)))
                print("gss-result=%s" % ("complete" if gss_ctx.complete else "continue"))
            except gssapi.exceptions.GSSError as e:
                print("gss-result=error %s" % e)
    print("body-length=%d" % len(data))
    print("body-head=%r" % data[:120])
    if tls is not None and not a.insecure:
        cert = tls.getpeercert()
        assert cert is not None, "verified TLS (CERT_REQUIRED) without a peer certificate"
        subj = ",".join("%s=%s" % kv for rdn in cert.get("subject", ()) for kv in rdn)
        san = ",".join("%s:%s" % kv for kv in cert.get("subjectAltName", ()))
        print("tls-subject=%s tls-san=%s tls-version=%s" % (subj, san, tls.version()))
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
