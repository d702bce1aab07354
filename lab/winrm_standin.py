#!/usr/bin/env python3
"""winrm_standin.py - WinRM look-alike HTTP(S) listeners for the krbprobe lab.

One process serves every listener of the lab. Each listener has a behaviour
(a class below) that decides what an unauthenticated or authenticated client
sees. Before authentication the answers mimic Windows (HTTP.sys + WinRM):

  GET /          -> 404, HTTP.sys' small HTML "Not Found" page
  POST /wsman    -> 401, empty body (Content-Length: 0), one WWW-Authenticate
                    header per offered scheme
  other verbs on /wsman -> 405 (Allow: POST), empty body
  anything else  -> 404 (HTTP.sys page)

  every answer carries "Server: Microsoft-HTTPAPI/2.0".

Behaviours (--listen ...=NAME):
  negotiate   offers "Negotiate" and "Kerberos" (a default domain-joined host).
              Tokens are NOT verified yet: a request with an Authorization
              header gets 401 again (a later lab issue adds a real acceptor:
              subclass NegotiateBehaviour and override authenticate()).
  basic       offers only 'Basic realm="WSMAN"' (Kerberos/Negotiate disabled
              on the host). Credentials given with --basic-user USER:PASSWORD
              get 200 with a WS-Man IdentifyResponse; others get 401.

Usage:
  winrm_standin.py [--config FILE.json] [--listen SPEC]... [--cert PEM
                   --key PEM] [--basic-user USER:PASS] [--ready-file PATH]
                   [--log FILE]
  SPEC: [https://]HOST:PORT=BEHAVIOUR, e.g. 127.0.0.20:5985=negotiate,
        https://127.0.0.25:5986=negotiate (needs --cert/--key or per-listener
        cert/key in the JSON config).
  JSON config: {"listeners": [{"host": "127.0.0.20", "port": 5985,
                 "behaviour": "negotiate", "name": "kuro-win01",
                 "tls": false, "cert": "...", "key": "..."}],
                "basic_users": {"user": "password"}}

The ready file is written once every listener is bound, so a caller can wait
for it. SIGTERM/SIGINT shut all listeners down. Stdlib only.
"""
import argparse
import base64
import datetime
import json
import os
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVER_HEADER = "Microsoft-HTTPAPI/2.0"

# What HTTP.sys sends for a URL no application registered (e.g. GET /).
HTTPSYS_404_BODY = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>Not Found</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>Not Found</h2>\r\n"
    "<hr><p>HTTP Error 404. The requested resource is not found.</p>\r\n"
    "</BODY></HTML>\r\n"
).encode("ascii")

IDENTIFY_RESPONSE = (
    '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    "<s:Header/><s:Body>"
    '<wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
    "<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>"
    "<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>"
    "<wsmid:ProductVersion>OS: 10.0.20348 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>"
    "</wsmid:IdentifyResponse></s:Body></s:Envelope>"
).encode("utf-8")


class Response:
    """What a behaviour wants sent: status, reason phrase, headers, body."""

    def __init__(self, status, reason="", headers=None, body=b""):
        self.status = status
        self.reason = reason
        self.headers = list(headers or [])
        self.body = body


class Behaviour:
    """Base class: one per kind of WinRM host. Override the hooks."""

    name = "base"

    def __init__(self, listener, options):
        self.listener = listener
        self.options = options

    def challenges(self):
        """WWW-Authenticate values offered on a 401, in order."""
        return []

    def unauthorized(self):
        # WinRM answers 401 with an empty reason phrase and an empty body.
        return Response(401, "", [("WWW-Authenticate", c) for c in self.challenges()]
                        + [("Content-Length", "0")])

    def authenticate(self, handler, scheme, credentials, body):
        """Called for POST /wsman with an Authorization header.
        scheme: e.g. "Negotiate"; credentials: the rest of the header.
        Return a Response."""
        return self.unauthorized()


class NegotiateBehaviour(Behaviour):
    """A domain-joined Windows host with WinRM defaults: Kerberos/Negotiate."""

    name = "negotiate"

    def challenges(self):
        return ["Negotiate", "Kerberos"]

    def authenticate(self, handler, scheme, credentials, body):
        # No GSSAPI in the stdlib: the token is not verified (yet). Answer as
        # Windows does for a token it rejects: 401 with the challenges again.
        handler.log_message("%s token (%d chars) not verified: stand-in has no acceptor yet",
                            scheme, len(credentials))
        return self.unauthorized()


class BasicOnlyBehaviour(Behaviour):
    """WinRM with Kerberos and Negotiate disabled, Basic enabled."""

    name = "basic"

    def challenges(self):
        return ['Basic realm="WSMAN"']

    def authenticate(self, handler, scheme, credentials, body):
        if scheme.lower() != "basic":
            return self.unauthorized()
        try:
            user, _, password = base64.b64decode(credentials.strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return self.unauthorized()
        users = self.options.get("basic_users", {})
        if user in users and users[user] == password:
            return Response(200, "", [("Content-Type", "application/soap+xml;charset=UTF-8")],
                            IDENTIFY_RESPONSE)
        return self.unauthorized()


BEHAVIOURS = {cls.name: cls for cls in (NegotiateBehaviour, BasicOnlyBehaviour)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_HEADER
    sys_version = ""

    timeout = 30  # seconds a connection may idle

    def version_string(self):
        return SERVER_HEADER

    def setup(self):
        super().setup()
        if self.server.ssl_context is not None:
            self.request.do_handshake()

    # -- plumbing ----------------------------------------------------------
    def log_message(self, fmt, *args):
        lst = self.server.listener
        line = "%s %s:%d %s %s\n" % (
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            lst["host"], lst["port"], self.client_address[0], fmt % args)
        with self.server.log_lock:
            self.server.log_file.write(line)
            self.server.log_file.flush()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, resp):
        self.send_response(resp.status, resp.reason)
        names = {h.lower() for h, _ in resp.headers}
        for h, v in resp.headers:
            self.send_header(h, v)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.body and self.command != "HEAD":
            self.wfile.write(resp.body)

    def not_found(self):
        self.send(Response(404, "Not Found",
                           [("Content-Type", "text/html; charset=us-ascii")], HTTPSYS_404_BODY))

    def path_only(self):
        return self.path.split("?", 1)[0].lower()

    # -- verbs -------------------------------------------------------------
    def do_POST(self):
        body = self.read_body()
        if self.path_only() != "/wsman":
            return self.not_found()
        behaviour = self.server.behaviour
        authz = self.headers.get("Authorization")
        if not authz:
            return self.send(behaviour.unauthorized())
        scheme, _, creds = authz.partition(" ")
        return self.send(behaviour.authenticate(self, scheme, creds, body))

    def _other(self):
        self.read_body()
        if self.path_only() == "/wsman":
            return self.send(Response(405, "", [("Allow", "POST"), ("Content-Length", "0")]))
        return self.not_found()

    do_GET = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _other


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    ssl_context = None

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            # Handshake later, in the request's own thread (Handler.setup), so
            # a client that never speaks TLS cannot stall the accept loop.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        self.log_file.write("%s:%d %s error: %r\n" % (self.listener["host"], self.listener["port"],
                                                     client_address[0], exc))
        self.log_file.flush()


def parse_listen(spec):
    tls = False
    if spec.startswith("https://"):
        tls, spec = True, spec[len("https://"):]
    elif spec.startswith("http://"):
        spec = spec[len("http://"):]
    addr, _, behaviour = spec.partition("=")
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit() or not behaviour:
        raise SystemExit("bad --listen %r: want [https://]HOST:PORT=BEHAVIOUR" % spec)
    return {"host": host, "port": int(port), "behaviour": behaviour, "tls": tls}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("--config")
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--basic-user", action="append", default=[])
    ap.add_argument("--ready-file")
    ap.add_argument("--log")
    a = ap.parse_args()

    options = {"basic_users": {}}
    listeners = []
    if a.config:
        with open(a.config) as f:
            cfg = json.load(f)
        listeners += cfg.get("listeners", [])
        options["basic_users"].update(cfg.get("basic_users", {}))
    listeners += [parse_listen(s) for s in a.listen]
    for u in a.basic_user:
        user, _, pw = u.partition(":")
        options["basic_users"][user] = pw
    if not listeners:
        ap.error("no listeners (use --listen or --config)")

    log_file = open(a.log, "a", buffering=1) if a.log else sys.stderr
    log_lock = threading.Lock()
    servers = []
    for lst in listeners:
        cls = BEHAVIOURS.get(lst["behaviour"])
        if cls is None:
            raise SystemExit("unknown behaviour %r (known: %s)" % (lst["behaviour"], ", ".join(BEHAVIOURS)))
        try:
            srv = Server((lst["host"], int(lst["port"])), Handler)
        except OSError as e:
            raise SystemExit("cannot listen on %s:%s: %s" % (lst["host"], lst["port"], e))
        if lst.get("tls"):
            cert, key = lst.get("cert") or a.cert, lst.get("key") or a.key
            if not cert or not key:
                raise SystemExit("https listener %s:%s needs a cert and key" % (lst["host"], lst["port"]))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            srv.ssl_context = ctx
        srv.listener = {"host": lst["host"], "port": int(lst["port"]), "name": lst.get("name", "")}
        srv.behaviour = cls(srv.listener, options)
        srv.log_file, srv.log_lock = log_file, log_lock
        servers.append(srv)

    threads = []
    for srv in servers:
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        threads.append(t)

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    summary = ", ".join("%s%s:%d=%s" % ("https://" if lst.get("tls") else "", lst["host"], int(lst["port"]),
                                        lst["behaviour"]) for lst in listeners)
    log_file.write("winrm_standin: pid %d listening: %s\n" % (os.getpid(), summary))
    log_file.flush()
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, a.ready_file)

    while not stop.wait(1.0):
        pass
    # No per-server shutdown(): it waits a poll interval each. Closing the
    # listening sockets and leaving (daemon threads) is immediate.
    for srv in servers:
        srv.server_close()
    log_file.write("winrm_standin: stopped\n")
    log_file.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
