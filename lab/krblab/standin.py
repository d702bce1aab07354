#!/usr/bin/env python3
"""krblab.standin - WinRM look-alike HTTP(S) listeners for the krbprobe lab.

One process serves any number of listeners. Each listener has a behaviour (a
class below) plus knobs, and decides what an unauthenticated or
authenticated client sees. Before authentication the answers mimic Windows
(HTTP.sys + WinRM) exactly:

  GET /          -> 404, HTTP.sys' small HTML "Not Found" page
  POST /wsman    -> 401, empty body (Content-Length: 0), one WWW-Authenticate
                    header per offered scheme
  other verbs on /wsman -> 405 (Allow: POST), empty body
  anything else  -> 404 (HTTP.sys page)

  every answer carries "Server: Microsoft-HTTPAPI/2.0".

Behaviours (--listen ...=NAME[+KNOB...]):
  negotiate   offers "Negotiate" and "Kerberos" (a default domain-joined host)
              and accepts both schemes through a real GSSAPI acceptor
              (python3-gssapi, MIT krb5) with the listener's keytab. A raw
              krb5 token (what pywinrm/pykerberos send) and a SPNEGO token are
              both accepted. Mutual auth: the first authenticated response
              carries "WWW-Authenticate: <same scheme> <AP-REP>". One security
              context per keep-alive connection; later requests on the same
              connection need no Authorization header.
              Bodies over http must be MS-WSMV encrypted (multipart/encrypted,
              HTTP-SPNEGO-/HTTP-Kerberos-session-encrypted, gss_wrap_iov) as
              with AllowUnencrypted=false: a plain SOAP body gets HTTP 500 with
              an empty body. Over https plain SOAP (and encrypted) is fine.
              WS-Management: Identify, Create shell, Command, Receive (fixed
              stdout "krbprobe-lab\\r\\n", exit code 0; the command `klist`
              lists the TGT the client delegated, as Windows' klist does, or
              "Cached Tickets: (0)"), Signal, Send, Delete;
              errors are s:Fault + f:WSManFault like Windows.
              PowerShell remoting (lab/krblab/psrp.py): Create on
              http://schemas.microsoft.com/powershell/<name> opens a runspace
              pool for the registered configurations Microsoft.PowerShell and
              PowerShell.7 (Receive: SESSION_CAPABILITY, APPLICATION_PRIVATE_DATA,
              RUNSPACEPOOL_STATE Opened; Delete closes it); another name gets
              Windows' fault 2150858811 "The resource URI (...) was not found
              in the WS-Management catalog".
              SPNs: a ticket for HTTP/, WSMAN/ or host/<fqdn> is accepted (a
              computer account has them all); one for another host is refused.
              NTLM: an NTLMSSP token (raw, or in SPNEGO, e.g. pyspnego's
              fallback when it gets no ticket) gets the plain challenges again,
              as in a domain with "Restrict NTLM: Incoming NTLM traffic = Deny
              all"; logged as "NTLM token refused".
              Without python3-gssapi (or without a keytab) tokens are not
              verified: every token gets 401 again.
  basic       offers only 'Basic realm="WSMAN"' (Kerberos/Negotiate disabled
              on the host). Credentials given with --basic-user USER:PASSWORD
              get 200 with a WS-Man IdentifyResponse; others get 401.

Knobs (negotiate only):
  reject      401 (challenges again) after a valid token: the credentials are
              "rejected", as for a user without WinRM access.
  deny        Create shell -> HTTP 500, s:Sender w:AccessDenied, WSManFault
              Code="5" "Access is denied. "
  noencrypt   the host speaks only plain SOAP (AllowUnencrypted=true and no
              MS-WSMV encryption): an encrypted body -> 415 Unsupported Media
              Type, empty body; plain SOAP over http is accepted.
  wrongkey    label only: lab/run gives this listener a stale keytab (an
              older kvno of its SPN), so the acceptor fails -> 401.
  skew        label only: lab/run runs this listener in a second stand-in
              process under libfaketime, so the acceptor answers
              KRB_AP_ERR_SKEW -> 401 (with the KRB-ERROR token).
  stall       after a valid token, no answer: the connection stays open for
              STALL_SECONDS, then closes (a hung WinRM service, or a path that
              drops the large authenticated packets). Unauthenticated
              requests are answered as usual.
  nowsman     POST /wsman -> 404 (HTTP.sys page), like every other path: the
              port is open, but no WinRM listener serves /wsman (another web
              server on 5985, or a listener with another URLPrefix).
  psrpdeny    Create on a PowerShell resource URI -> HTTP 500, s:Sender
              w:AccessDenied, WSManFault Code="5" "Access is denied. " (the
              user lacks Invoke on the session configuration); the cmd shell
              still works.
  cbtstrict   over https, an AP-REQ without channel bindings -> 401 (the plain
              challenges), as Windows with CbtHardeningLevel=Strict. MIT (>= 1.19)
              sets GSS_C_CHANNEL_BOUND_FLAG when the bindings were verified;
              wrong bindings fail in MIT itself (401 in any case).

Usage:
  python3 -m krblab.standin [--config FILE.json] [--listen SPEC]... [--cert PEM
                   --key PEM] [--keytab KEYTAB] [--domain DNSDOMAIN]
                   [--realm REALM] [--basic-user USER:PASS]
                   [--ready-file PATH] [--log FILE] [--workers N]
  SPEC: [https://]HOST:PORT=BEHAVIOUR[+KNOB...], e.g. 127.0.0.20:5985=negotiate,
        127.0.0.27:5985=negotiate+reject, https://127.0.0.25:5986=negotiate
        (https needs --cert/--key or per-listener cert/key in the JSON config).
  JSON config: {"listeners": [{"host": "127.0.0.20", "port": 5985,
                 "behaviour": "negotiate", "knobs": ["reject"],
                 "name": "kuro-win01", "spns": ["HTTP/kuro-win01.dom@REALM"],
                 "keytab": "...", "tls": false, "cert": "...", "key": "..."}],
                "basic_users": {"user": "password"}, "keytab": "...",
                "domain": "...", "realm": "..."}
  A listener accepts tickets for its "spns" (or "spn"), else for HTTP/, WSMAN/
  and host/<name>.<domain>@<realm> when name, domain and realm are known, else
  for any key in the keytab.

The ready file is written once every listener is bound, so a caller can wait
for it. SIGTERM/SIGINT shut all listeners down.

--workers N (for many listeners, e.g. lab/run --bench-targets): N worker
processes, each binding every Nth listener and accepting on all of its
listeners from one selector loop (a thread per connection, as without
--workers), instead of one thread per listener in one process. Behaviour per
connection is the same; the ready file holds the parent's pid and appears
when every worker has bound its listeners; SIGTERM to the parent stops all.
"""
from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import selectors
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from krblab import psrp

try:  # Debian's python3-gssapi (MIT krb5); optional: without it nothing is verified
    import gssapi.raw as gssraw
    from gssapi.raw import IOV, IOVBufferType, unwrap_iov, wrap_iov

    HAVE_GSSAPI = True
except ImportError:  # pragma: no cover - depends on the machine
    gssraw = None  # type: ignore[assignment]
    HAVE_GSSAPI = False

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

PRODUCT_VERSION = "OS: 10.0.17763 SP: 0.0 Stack: 3.0"

# XML namespaces of WS-Management as Windows uses them.
NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_P = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_WSMID = "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"
NS_F = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
CMD_RESOURCE = NS_RSP + "/cmd"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

# Fixed output of every command run in a shell.
COMMAND_STDOUT = b"krbprobe-lab\r\n"
COMMAND_EXIT_CODE = 0

# MS-WSMV 2.2.9.1 encrypted bodies.
ENC_BOUNDARY = b"--Encrypted Boundary"
ENC_PROTOCOL_SPNEGO = "application/HTTP-SPNEGO-session-encrypted"
ENC_PROTOCOL_KERBEROS = "application/HTTP-Kerberos-session-encrypted"
ENC_OCTET_STREAM = b"\tContent-Type: application/octet-stream\r\n"

KNOWN_KNOBS = ("reject", "deny", "noencrypt", "wrongkey", "skew", "stall", "nowsman", "psrpdeny", "cbtstrict")
# The services of a computer account's SPNs a listener accepts tickets for: HTTP/ (pywinrm),
# WSMAN/ (pypsrp as ansible-core <= 2.20 calls it) and host/ (pypsrp's own default, ansible-core
# >= 2.21). MIT compares principals case-sensitively, AD does not: the lab's are spelt so.
SPN_SERVICES = ("HTTP", "WSMAN", "host")
# How long a +stall listener keeps an authenticated request unanswered: longer than any
# client timeout the tests use, bounded so that the lab stops by itself.
STALL_SECONDS = 20.0


def identify_response(authenticated: bool) -> bytes:
    """The body of a wsmid:IdentifyResponse as Windows Server 2019 sends it."""
    profiles = ""
    if authenticated:
        profiles = ("<wsmid:SecurityProfiles><wsmid:SecurityProfileName>"
                    "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos"
                    "</wsmid:SecurityProfileName></wsmid:SecurityProfiles>")
    return (
        '<s:Envelope xml:lang="en-US" xmlns:s="%s"><s:Header/><s:Body>'
        '<wsmid:IdentifyResponse xmlns:wsmid="%s">'
        "<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>"
        "<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>"
        "<wsmid:ProductVersion>%s</wsmid:ProductVersion>%s"
        "</wsmid:IdentifyResponse></s:Body></s:Envelope>" % (NS_S, NS_WSMID, PRODUCT_VERSION, profiles)
    ).encode("utf-8")


IDENTIFY_RESPONSE = identify_response(False)


class Response:
    """What a behaviour wants sent: status, reason phrase, headers, body."""

    def __init__(self, status: int, reason: str = "", headers: list[tuple[str, str]] | None = None,
                 body: bytes = b"") -> None:
        self.status = status
        self.reason = reason
        self.headers = list(headers or [])
        self.body = body


# --------------------------------------------------------------------------
# WS-Management


def new_guid() -> str:
    """A GUID the way Windows writes them (upper case)."""
    return str(uuid.uuid4()).upper()


def soap_envelope(action: str, relates_to: str, body: str) -> bytes:
    """A WS-Management response envelope with Windows' namespace prefixes."""
    return (
        '<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:x="%s" xmlns:w="%s" '
        'xmlns:rsp="%s" xmlns:p="%s"><s:Header><a:Action>%s</a:Action>'
        "<a:MessageID>uuid:%s</a:MessageID><a:To>%s</a:To><a:RelatesTo>%s</a:RelatesTo>"
        "</s:Header><s:Body>%s</s:Body></s:Envelope>"
        % (NS_S, NS_A, NS_X, NS_W, NS_RSP, NS_P, escape(action), new_guid(), ANONYMOUS,
           escape(relates_to), body)
    ).encode("utf-8")


def soap_fault(relates_to: str, code: str, subcode: str, reason: str, wsman_code: int,
               machine: str) -> bytes:
    """An s:Fault with a Microsoft f:WSManFault detail (what pywinrm parses)."""
    body = (
        "<s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode>"
        '</s:Code><s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason><s:Detail>'
        '<f:WSManFault xmlns:f="%s" Code="%d" Machine="%s"><f:Message>%s</f:Message>'
        "</f:WSManFault></s:Detail></s:Fault>"
        % (escape(code), escape(subcode), escape(reason), NS_F, wsman_code, escape(machine),
           escape(reason))
    )
    return soap_envelope(ACTION_FAULT, relates_to, body)


class ShellTable:
    """The shells and commands of one stand-in process (shared by all connections)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shells: dict[str, set[str]] = {}
        self._commands: dict[str, str] = {}

    def create(self) -> str:
        """Create a shell, return its ShellId."""
        sid = new_guid()
        with self._lock:
            self._shells[sid] = set()
        return sid

    def add_command(self, sid: str, command: str = "") -> str | None:
        """Start a command in shell sid; None if the shell does not exist."""
        cid = new_guid()
        with self._lock:
            if sid not in self._shells:
                return None
            self._shells[sid].add(cid)
            self._commands[cid] = command
        return cid

    def command(self, cid: str) -> str:
        """The command line of command cid ("" if unknown)."""
        with self._lock:
            return self._commands.get(cid, "")

    def exists(self, sid: str) -> bool:
        """Is there a shell sid?"""
        with self._lock:
            return sid in self._shells

    def delete(self, sid: str) -> bool:
        """Delete shell sid; False if it did not exist."""
        with self._lock:
            return self._shells.pop(sid, None) is not None


def klist_output(delegated: str) -> bytes:
    """What `klist` prints in a WinRM cmd shell: the TGT the client delegated (forwarded), or
    none. A network logon (Kerberos without delegation) has no TGT, so the second hop from
    the host (a file share, SQL, another WinRM) goes without credentials."""
    if not delegated:
        return b"\r\nCurrent LogonId is 0:0x2c1a5e\r\n\r\nCached Tickets: (0)\r\n\r\n"
    name, _, realm = delegated.partition("@")
    now = time.localtime()
    stamp = time.strftime("%m/%d/%Y %H:%M:%S", now)
    text = (
        "\r\nCurrent LogonId is 0:0x2c1a5e\r\n\r\nCached Tickets: (1)\r\n\r\n"
        "#0>\tClient: %s @ %s\r\n"
        "\tServer: krbtgt/%s @ %s\r\n"
        "\tKerbTicket Encryption Type: AES-256-CTS-HMAC-SHA1-96\r\n"
        "\tTicket Flags 0x60a10000 -> forwardable forwarded renewable pre_authent name_canonicalize \r\n"
        "\tStart Time: %s (local)\r\n"
        "\tSession Key Type: AES-256-CTS-HMAC-SHA1-96\r\n"
        "\tCache Flags: 0x1 -> PRIMARY \r\n"
        "\tKdc Called: \r\n\r\n"
    ) % (name, realm, realm, realm, stamp)
    return text.encode()


class WsmanRequest:
    """The parts of a WS-Management request envelope the stand-in looks at."""

    def __init__(self, xml: bytes) -> None:
        root = ET.fromstring(xml)
        header = root.find("{%s}Header" % NS_S)
        self.body = root.find("{%s}Body" % NS_S)
        self.action = self._text(header, "{%s}Action" % NS_A)
        self.message_id = self._text(header, "{%s}MessageID" % NS_A)
        self.resource_uri = self._text(header, "{%s}ResourceURI" % NS_W)
        self.shell_id = ""
        if header is not None:
            for sel in header.iter("{%s}Selector" % NS_W):
                if sel.get("Name") == "ShellId":
                    self.shell_id = (sel.text or "").strip()

    @staticmethod
    def _text(parent: ET.Element | None, tag: str) -> str:
        if parent is None:
            return ""
        el = parent.find(tag)
        return (el.text or "").strip() if el is not None else ""

    def is_identify(self) -> bool:
        """A wsmid:Identify request (no WS-Addressing action)."""
        return self.body is not None and self.body.find("{%s}Identify" % NS_WSMID) is not None

    def body_child(self, tag: str) -> ET.Element | None:
        """The first element named tag anywhere in the body."""
        if self.body is None:
            return None
        return next(self.body.iter(tag), None)


class Wsman:
    """A tiny WinRM service: the cmd shell plugin, the PowerShell plugin (krblab.psrp), Identify."""

    def __init__(self, shells: ShellTable, pools: psrp.PsrpService, machine: str, address: str,
                 knobs: set[str]) -> None:
        self.shells = shells
        self.pools = pools
        self.machine = machine
        self.address = address
        self.deny = "deny" in knobs
        self.psrpdeny = "psrpdeny" in knobs

    def handle(self, xml: bytes, user: str, client_ip: str, delegated: str = "") -> tuple[int, bytes, str]:
        """Answer one SOAP request: (HTTP status, SOAP response, a line for the log or "").
        user: the client principal (shown as the shell's DOMAIN\\user Owner); delegated: the
        principal of the TGT the client forwarded in its AP-REQ ("" if none), which `klist` in
        the cmd shell lists."""
        name, _, realm = user.partition("@")
        owner = "%s\\%s" % (realm.split(".")[0], name) if realm else user
        try:
            req = WsmanRequest(xml)
        except ET.ParseError:
            return 400, b"", "SOAP body does not parse: 400"
        if req.is_identify():
            return 200, identify_response(True), ""
        if self.pools.handles(req.resource_uri):
            r = self.pools.handle(req.action, req.resource_uri, req.shell_id, req.body, deny=self.psrpdeny,
                                  address=self.address, owner=owner, client_ip=client_ip)
            if r.fault is not None:
                return 500, soap_fault(req.message_id, *r.fault, self.machine), r.log
            return 200, soap_envelope(r.action, req.message_id, r.body), r.log
        status, body = self._cmd(req, owner, client_ip, delegated)
        return status, body, ""

    def _cmd(self, req: WsmanRequest, owner: str, client_ip: str, delegated: str = "") -> tuple[int, bytes]:
        """The cmd shell plugin (and the faults for other resources and actions)."""
        mid = req.message_id
        action = req.action
        if action.endswith("/transfer/Create") and req.resource_uri == CMD_RESOURCE:
            if self.deny:
                return 500, soap_fault(mid, "s:Sender", "w:AccessDenied", "Access is denied. ", 5,
                                       self.machine)
            sid = self.shells.create()
            shell = req.body_child("{%s}Shell" % NS_RSP)
            ins = self._child_text(shell, "InputStreams", "stdin")
            outs = self._child_text(shell, "OutputStreams", "stdout stderr")
            body = (
                "<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters>"
                "<w:ResourceURI>%s</w:ResourceURI><w:SelectorSet>"
                '<w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet></a:ReferenceParameters>'
                "</x:ResourceCreated>"
                "<rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s</rsp:ResourceUri>"
                "<rsp:Owner>%s</rsp:Owner><rsp:ClientIP>%s</rsp:ClientIP>"
                "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>%s</rsp:InputStreams>"
                "<rsp:OutputStreams>%s</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>"
                "<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>"
                % (escape(self.address), CMD_RESOURCE, sid, sid, CMD_RESOURCE, escape(owner),
                   escape(client_ip), escape(ins), escape(outs))
            )
            return 200, soap_envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
                                      mid, body)
        if action.endswith("/transfer/Create"):
            return 500, soap_fault(mid, "s:Sender", "w:DestinationUnreachable",
                                   "The WS-Management service cannot process the request because the "
                                   "resource URI is not supported. ", 2150858770, self.machine)
        shell_actions = ("/transfer/Delete", "/shell/Command", "/shell/Receive", "/shell/Signal",
                         "/shell/Send")
        if not action.endswith(shell_actions):
            return 500, soap_fault(mid, "s:Sender", "a:ActionNotSupported",
                                   "The WS-Management service cannot process the request because the "
                                   "action is not supported. ", 2150858771, self.machine)
        if not self.shells.exists(req.shell_id):
            return 500, soap_fault(
                mid, "s:Sender", "w:InvalidSelectors",
                "The request for the Windows Remote Shell with ShellId %s failed because the shell was "
                "not found on the server. Possible causes are: the specified ShellId is incorrect or "
                "the shell no longer exists on the server. Provide the correct ShellId or create a new "
                "shell and retry the operation. " % req.shell_id, 2150858843, self.machine)
        if action.endswith("/transfer/Delete"):
            self.shells.delete(req.shell_id)
            return 200, soap_envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
                                      mid, "")
        if action.endswith("/shell/Command"):
            line = req.body_child("{%s}CommandLine" % NS_RSP)
            cmd = line.findtext("{%s}Command" % NS_RSP, "") if line is not None else ""
            cid = self.shells.add_command(req.shell_id, cmd.strip()) or new_guid()
            return 200, soap_envelope(NS_RSP + "/CommandResponse", mid,
                                      "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId>"
                                      "</rsp:CommandResponse>" % cid)
        if action.endswith("/shell/Receive"):
            stream = req.body_child("{%s}DesiredStream" % NS_RSP)
            raw_cid = stream.get("CommandId", "") if stream is not None else ""
            cid = escape(raw_cid)
            stdout = COMMAND_STDOUT
            if self.shells.command(raw_cid).lower() == "klist":
                stdout = klist_output(delegated)
            out = base64.b64encode(stdout).decode("ascii")
            body = (
                '<rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="%s">%s</rsp:Stream>'
                '<rsp:Stream Name="stdout" CommandId="%s" End="true"></rsp:Stream>'
                '<rsp:Stream Name="stderr" CommandId="%s" End="true"></rsp:Stream>'
                '<rsp:CommandState CommandId="%s" State="%s/CommandState/Done">'
                "<rsp:ExitCode>%d</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>"
                % (cid, out, cid, cid, cid, NS_RSP, COMMAND_EXIT_CODE)
            )
            return 200, soap_envelope(NS_RSP + "/ReceiveResponse", mid, body)
        if action.endswith("/shell/Signal"):
            return 200, soap_envelope(NS_RSP + "/SignalResponse", mid, "<rsp:SignalResponse/>")
        return 200, soap_envelope(NS_RSP + "/SendResponse", mid, "<rsp:SendResponse/>")

    @staticmethod
    def _child_text(parent: ET.Element | None, local: str, default: str) -> str:
        if parent is None:
            return default
        el = parent.find("{%s}%s" % (NS_RSP, local))
        return (el.text or default).strip() if el is not None else default


# --------------------------------------------------------------------------
# GSSAPI acceptor and MS-WSMV message encryption


def tls_server_end_point(cert_pem_path: str) -> bytes:
    """RFC 5929 tls-server-end-point application data for a PEM certificate
    (SHA-256 of the DER certificate, the hash for sha1/sha256-signed certs)."""
    with open(cert_pem_path) as f:
        pem = f.read()
    first = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    der = ssl.PEM_cert_to_DER_cert(first)
    return b"tls-server-end-point:" + hashlib.sha256(der).digest()


class GssFailure(Exception):
    """The acceptor refused a token; error_token is MIT's KRB-ERROR, if any."""

    def __init__(self, message: str, error_token: bytes | None) -> None:
        super().__init__(message)
        self.error_token = error_token


class Acceptor:
    """A GSSAPI acceptor for one listener: keytab, the SPNs it answers to, channel bindings."""

    def __init__(self, keytab: str, spns: list[str], cbt_app_data: bytes | None) -> None:
        assert gssraw is not None
        store: dict[bytes | str, bytes | str] = {b"keytab": keytab.encode()}
        # No acceptor name: MIT then tries every key of the keytab (rd_req_dec.c,
        # decrypt_try_server), so one credential takes a ticket for any SPN of the computer
        # account, as Windows does; allows() checks afterwards that it was one of this host's.
        self.creds = gssraw.acquire_cred_from(store, usage="accept").creds
        self.spns = set(spns)
        self.bindings = (gssraw.ChannelBindings(application_data=cbt_app_data)
                         if cbt_app_data else None)
        self.missing = ""   # which of the SPNs the keytab lacks (logged at start)
        if spns:
            have = set()
            for spn in spns:
                try:
                    name = gssraw.import_name(spn.encode(), gssraw.NameType.kerberos_principal)
                    gssraw.acquire_cred_from(store, name=name, usage="accept")
                    have.add(spn)
                except gssraw.GSSError:
                    pass
            if have != self.spns:
                self.missing = "no key in %s for %s" % (keytab, ", ".join(sorted(self.spns - have)))

    def target(self, context: Any) -> str:
        """The SPN the client's ticket was for (the acceptor name MIT used)."""
        assert gssraw is not None
        res = gssraw.inquire_context(context, initiator_name=False, target_name=True, lifetime=False,
                                     mech=False, flags=False, locally_init=False, complete=False)
        return gssraw.display_name(res.target_name).name.decode("utf-8", "replace") if res.target_name else ""

    def allows(self, target: str) -> bool:
        """Is TARGET one of this host's SPNs (any, when the listener has no name)?"""
        return not self.spns or target in self.spns

    def accept(self, token: bytes, context: Any = None) -> Any:
        """One accept_sec_context step; raises GssFailure."""
        assert gssraw is not None
        try:
            return gssraw.accept_sec_context(token, acceptor_creds=self.creds, context=context,
                                             channel_bindings=self.bindings)
        except gssraw.GSSError as e:
            raise GssFailure(str(e), getattr(e, "token", None)) from None


class GssSession:
    """An established security context of one keep-alive connection."""

    def __init__(self, context: Any, scheme: str, user: str, mech: str, delegated: str = "") -> None:
        self.context = context
        self.scheme = scheme
        self.user = user
        self.mech = mech
        self.delegated = delegated   # the forwarded TGT's principal, "" without delegation

    def protocol(self) -> str:
        """The MS-WSMV protocol string that goes with the auth scheme."""
        return ENC_PROTOCOL_KERBEROS if self.scheme.lower() == "kerberos" else ENC_PROTOCOL_SPNEGO

    def seal(self, data: bytes) -> bytes:
        """gss_wrap_iov(HEADER, DATA, PADDING): <u32le header length><header><ciphertext>."""
        iov = IOV(IOVBufferType.header, data, IOVBufferType.padding, std_layout=False)
        wrap_iov(self.context, iov, confidential=True)
        header, enc, pad = iov[0].value or b"", iov[1].value or b"", iov[2].value or b""
        return struct.pack("<I", len(header)) + header + enc + pad

    def unseal(self, stream: bytes) -> bytes:
        """The inverse of seal (gss_unwrap_iov; plain gss_unwrap as a fallback)."""
        if len(stream) < 4:
            raise ValueError("encrypted part shorter than its length prefix")
        hlen = struct.unpack("<I", stream[:4])[0]
        header, data = stream[4:4 + hlen], stream[4 + hlen:]
        if len(header) != hlen:
            raise ValueError("encrypted part shorter than its header length %d" % hlen)
        try:
            iov = IOV((IOVBufferType.header, False, header), data, std_layout=False)
            unwrap_iov(self.context, iov)
            return iov[1].value or b""
        except gssraw.GSSError:
            return gssraw.unwrap(self.context, header + data).message

    def encrypt_body(self, soap: bytes, protocol: str) -> bytes:
        """A multipart/encrypted body with one encrypted SOAP message."""
        return (ENC_BOUNDARY + b"\r\n"
                + b"\tContent-Type: " + protocol.encode() + b"\r\n"
                + b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
                + str(len(soap)).encode() + b"\r\n"
                + ENC_BOUNDARY + b"\r\n" + ENC_OCTET_STREAM + self.seal(soap)
                + ENC_BOUNDARY + b"--\r\n")

    def decrypt_body(self, body: bytes) -> bytes:
        """The SOAP message(s) of a multipart/encrypted body; ValueError if malformed."""
        parts = [p for p in body.split(ENC_BOUNDARY + b"\r\n") if p]
        if not parts or len(parts) % 2:
            raise ValueError("expected pairs of MIME parts, got %d parts" % len(parts))
        out = b""
        for i in range(0, len(parts), 2):
            m = re.search(rb"Length=(\d+)", parts[i])
            if not m:
                raise ValueError("no OriginalContent Length in part %d" % i)
            payload = parts[i + 1]
            if payload.endswith(ENC_BOUNDARY + b"--\r\n"):
                payload = payload[: -len(ENC_BOUNDARY + b"--\r\n")]
            if not payload.startswith(ENC_OCTET_STREAM):
                raise ValueError("encrypted part lacks 'Content-Type: application/octet-stream'")
            plain = self.unseal(payload[len(ENC_OCTET_STREAM):])
            want = int(m.group(1))
            # An RC4 session key (RFC 4757) pads the plaintext with 1..8 bytes of value n, which
            # the unwrap leaves on the data; Windows reads Length and ignores them.
            extra = len(plain) - want
            if 0 < extra <= 8 and plain[want:] == bytes([extra]) * extra:
                plain = plain[:want]
            if len(plain) != want:
                raise ValueError("decrypted length %d != OriginalContent Length %s"
                                 % (len(plain), m.group(1).decode()))
            out += plain
        return out


def token_kind(token: bytes) -> str:
    """'krb5' for a raw RFC 1964/4121 token, 'spnego' for SPNEGO, 'ntlm' for NTLMSSP, else 'other'."""
    if token.startswith(b"NTLMSSP\x00"):
        return "ntlm"
    if token.startswith(b"\x60") and b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02" in token[:20]:
        return "krb5"
    if token.startswith(b"\x60") and b"\x06\x06\x2b\x06\x01\x05\x05\x02" in token[:20]:
        return "spnego"
    if token.startswith(b"\x60") and b"\x06\x09\x2a\x86\x48\x82\xf7\x12\x01\x02\x02" in token[:20]:
        return "krb5 (MS OID)"
    return "other"


# --------------------------------------------------------------------------
# Behaviours


class Behaviour:
    """Base class: one per kind of WinRM host. Override the hooks."""

    name = "base"

    def __init__(self, listener: dict[str, Any], options: dict[str, Any]) -> None:
        self.listener = listener
        self.options = options
        self.knobs: set[str] = set(listener.get("knobs", ()))

    def challenges(self) -> list[str]:
        """WWW-Authenticate values offered on a 401, in order."""
        return []

    def unauthorized(self, extra: list[tuple[str, str]] | None = None) -> Response:
        """401 as WinRM sends it: empty reason phrase, empty body, the challenges."""
        hdrs = extra if extra is not None else [("WWW-Authenticate", c) for c in self.challenges()]
        return Response(401, "", [*hdrs, ("Content-Length", "0")])

    def authenticate(self, handler: Handler, scheme: str, credentials: str, body: bytes) -> Response:
        """Called for POST /wsman with an Authorization header.
        scheme: e.g. "Negotiate"; credentials: the rest of the header."""
        return self.unauthorized()

    def continue_session(self, handler: Handler, body: bytes) -> Response | None:
        """Called for POST /wsman without an Authorization header: a Response if
        the connection is already authenticated, else None (-> 401)."""
        return None


class NegotiateBehaviour(Behaviour):
    """A domain-joined Windows host with WinRM defaults: Kerberos/Negotiate."""

    name = "negotiate"

    def __init__(self, listener: dict[str, Any], options: dict[str, Any]) -> None:
        super().__init__(listener, options)
        self.acceptor: Acceptor | None = None
        self.acceptor_error = ""
        keytab = listener.get("keytab") or options.get("keytab")
        if not HAVE_GSSAPI:
            self.acceptor_error = "python3-gssapi is not installed"
        elif not keytab:
            self.acceptor_error = "no keytab"
        else:
            cbt = tls_server_end_point(listener["cert"]) if listener.get("tls") else None
            spns = listener.get("spns") or ([listener["spn"]] if listener.get("spn") else [])
            try:
                self.acceptor = Acceptor(keytab, spns, cbt)
                # e.g. kuro-win02 (no SPN at all): logged, and no client gets a ticket for it anyway
                self.acceptor_error = self.acceptor.missing
            except gssraw.GSSError as e:
                self.acceptor_error = "acceptor credentials from %s: %s" % (keytab, e)
        self.wsman = Wsman(options["shells"], options["pools"], listener.get("fqdn") or listener["host"],
                           "%s://%s:%d/wsman" % ("https" if listener.get("tls") else "http",
                                                 listener.get("fqdn") or listener["host"],
                                                 listener["port"]),
                           self.knobs)

    def challenges(self) -> list[str]:
        return ["Negotiate", "Kerberos"]

    def authenticate(self, handler: Handler, scheme: str, credentials: str, body: bytes) -> Response:
        if scheme.lower() not in ("negotiate", "kerberos"):
            handler.gss = None
            return self.unauthorized()
        if self.acceptor is None:
            handler.log_message("%s token (%d chars) not verified: %s", scheme, len(credentials),
                                self.acceptor_error)
            return self.unauthorized()
        try:
            token = base64.b64decode(credentials.strip(), validate=True)
        except ValueError:
            handler.log_message("%s: Authorization is not base64", scheme)
            return self.unauthorized()
        kind = token_kind(token)
        if kind == "ntlm" or (kind == "spnego" and b"NTLMSSP\x00" in token):
            # No NTLM in the lab's domain ("Restrict NTLM: Incoming NTLM traffic = Deny all"):
            # Windows answers the challenges again, without a token.
            handler.gss = handler.gss_partial = None
            handler.log_message("%s %s: NTLM token refused (incoming NTLM is denied): 401", scheme, kind)
            return self.unauthorized()
        partial = handler.gss_partial if handler.gss_partial and handler.gss_partial[0] == scheme else None
        handler.gss = None
        handler.gss_partial = None
        try:
            res = self.acceptor.accept(token, partial[1] if partial else None)
        except GssFailure as e:
            handler.log_message("%s %s token rejected: %s%s", scheme, kind, e,
                                " (answering the KRB-ERROR token)" if e.error_token else "")
            if e.error_token:
                return self.unauthorized([("WWW-Authenticate", "%s %s" % (
                    scheme, base64.b64encode(e.error_token).decode("ascii")))])
            return self.unauthorized()
        out = base64.b64encode(res.token).decode("ascii") if res.token else ""
        if res.more_steps:
            handler.gss_partial = (scheme, res.context)
            return self.unauthorized([("WWW-Authenticate", "%s %s" % (scheme, out))])
        user = gssraw.display_name(res.initiator_name).name.decode("utf-8", "replace")
        target = self.acceptor.target(res.context)
        bound = bool(res.flags & gssraw.RequirementFlag.channel_bound)
        handler.log_message("%s %s token accepted: %s for %s (mech %s, mutual token %d bytes%s)%s", scheme,
                            kind, user, target, res.mech.dotted_form, len(res.token or b""),
                            ", channel bound" if bound else "",
                            "; knob reject: 401" if "reject" in self.knobs else "")
        if not self.acceptor.allows(target):
            handler.log_message("a ticket for %s, which is not an SPN of this host: 401", target)
            return self.unauthorized()
        if "cbtstrict" in self.knobs and self.listener.get("tls") and not bound:
            # CbtHardeningLevel=Strict: a token without (verified) channel bindings is refused.
            handler.log_message("knob cbtstrict: no channel bindings in the AP-REQ: 401")
            return self.unauthorized()
        if "reject" in self.knobs:
            return self.unauthorized()
        if "stall" in self.knobs:
            handler.log_message("knob stall: no answer for %.0f s", STALL_SECONDS)
            # Only this connection's thread waits (ThreadingHTTPServer, daemon threads).
            threading.Event().wait(STALL_SECONDS)
            handler.close_connection = True
            return self.unauthorized()
        delegated = ""
        if res.delegated_creds is not None:
            # The client put a forwarded TGT into its AP-REQ (GSS_C_DELEG_FLAG, a forwardable
            # TGT, and ok-as-delegate where its krb5.conf enforces it): the host holds it.
            try:
                info = gssraw.inquire_cred(res.delegated_creds, name=True, lifetime=False, usage=False,
                                           mechs=False)
                delegated = (gssraw.display_name(info.name).name.decode("utf-8", "replace")
                             if info.name is not None else user)
            except gssraw.GSSError:
                delegated = user
            handler.log_message("delegated credentials received: a forwarded TGT for %s", delegated)
        handler.gss = GssSession(res.context, scheme, user, res.mech.dotted_form, delegated)
        resp = self.exchange(handler, body)
        if out:
            resp.headers.insert(0, ("WWW-Authenticate", "%s %s" % (scheme, out)))
        return resp

    def continue_session(self, handler: Handler, body: bytes) -> Response | None:
        if handler.gss is None:
            return None
        return self.exchange(handler, body)

    def exchange(self, handler: Handler, body: bytes) -> Response:
        """One WS-Management request on an authenticated connection."""
        sess = handler.gss
        assert sess is not None
        ctype = handler.headers.get("Content-Type", "")
        tls = bool(self.listener.get("tls"))
        protocol = None
        if ctype.lower().startswith(("multipart/encrypted", "multipart/x-multi-encrypted")):
            if "noencrypt" in self.knobs:
                handler.log_message("encrypted body refused (knob noencrypt): 415")
                return Response(415, "Unsupported Media Type", [("Content-Length", "0")])
            m = re.search(r'protocol="([^"]+)"', ctype)
            protocol = m.group(1) if m else ""
            if protocol not in (ENC_PROTOCOL_SPNEGO, ENC_PROTOCOL_KERBEROS):
                handler.log_message("unknown encryption protocol %r: 400", protocol)
                return Response(400, "", [("Content-Length", "0")])
            try:
                soap = sess.decrypt_body(body)
            except (ValueError, gssraw.GSSError) as e:
                handler.log_message("cannot decrypt the %s body: %s: 400", protocol, e)
                return Response(400, "", [("Content-Length", "0")])
        elif not body:
            # pywinrm's first, empty POST only establishes the security context.
            return Response(200, "", [("Content-Length", "0")])
        elif not tls and "noencrypt" not in self.knobs:
            # AllowUnencrypted=false (the default): Windows refuses plain SOAP over http.
            handler.log_message("unencrypted SOAP over http refused (AllowUnencrypted=false): 500")
            return Response(500, "", [("Content-Length", "0")])
        else:
            soap = body
        status, xml, note = self.wsman.handle(soap, sess.user, handler.client_address[0], sess.delegated)
        if note:
            handler.log_message("%s", note)
        if protocol is None:
            return Response(status, "", [("Content-Type", "application/soap+xml;charset=UTF-8")], xml)
        enc = sess.encrypt_body(xml, protocol)
        return Response(status, "", [("Content-Type", 'multipart/encrypted;protocol="%s";boundary='
                                      '"Encrypted Boundary"' % protocol)], enc)


class BasicOnlyBehaviour(Behaviour):
    """WinRM with Kerberos and Negotiate disabled, Basic enabled."""

    name = "basic"

    def challenges(self) -> list[str]:
        return ['Basic realm="WSMAN"']

    def authenticate(self, handler: Handler, scheme: str, credentials: str, body: bytes) -> Response:
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


# --------------------------------------------------------------------------
# HTTP plumbing


class Handler(BaseHTTPRequestHandler):
    """One instance per TCP connection (so per keep-alive security context)."""

    protocol_version = "HTTP/1.1"
    server_version = SERVER_HEADER
    sys_version = ""
    server: Server

    timeout = 30  # seconds a connection may idle

    def version_string(self) -> str:
        return SERVER_HEADER

    def setup(self) -> None:
        super().setup()
        self.gss: GssSession | None = None
        self.gss_partial: tuple[str, Any] | None = None
        if self.server.ssl_context is not None:
            self.request.do_handshake()

    # -- plumbing ----------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        lst = self.server.listener
        line = "%s %s:%d %s %s\n" % (
            datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            lst["host"], lst["port"], self.client_address[0], format % args)
        with self.server.log_lock:
            self.server.log_file.write(line)
            self.server.log_file.flush()

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, resp: Response) -> None:
        self.send_response(resp.status, resp.reason)
        names = {h.lower() for h, _ in resp.headers}
        for h, v in resp.headers:
            self.send_header(h, v)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.body and self.command != "HEAD":
            self.wfile.write(resp.body)

    def not_found(self) -> None:
        self.send(Response(404, "Not Found",
                           [("Content-Type", "text/html; charset=us-ascii")], HTTPSYS_404_BODY))

    def path_only(self) -> str:
        return self.path.split("?", 1)[0].lower()

    # -- verbs -------------------------------------------------------------
    def do_POST(self) -> None:
        body = self.read_body()
        behaviour = self.server.behaviour
        if self.path_only() != "/wsman" or "nowsman" in behaviour.knobs:
            return self.not_found()
        authz = self.headers.get("Authorization")
        if not authz:
            resp = behaviour.continue_session(self, body)
            return self.send(resp if resp is not None else behaviour.unauthorized())
        scheme, _, creds = authz.partition(" ")
        return self.send(behaviour.authenticate(self, scheme, creds, body))

    def _other(self) -> None:
        self.read_body()
        if self.path_only() == "/wsman":
            return self.send(Response(405, "", [("Allow", "POST"), ("Content-Length", "0")]))
        return self.not_found()

    do_GET = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = _other


class Server(ThreadingHTTPServer):
    """One listener."""

    daemon_threads = True
    allow_reuse_address = True
    ssl_context: ssl.SSLContext | None = None
    listener: dict[str, Any]
    behaviour: Behaviour
    log_file: Any
    log_lock: threading.Lock

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        if self.ssl_context is not None:
            # Handshake later, in the request's own thread (Handler.setup), so
            # a client that never speaks TLS cannot stall the accept loop.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        with self.log_lock:
            self.log_file.write("%s:%d %s error: %r\n" % (self.listener["host"], self.listener["port"],
                                                         client_address[0], exc))
            self.log_file.flush()


def parse_listen(spec: str) -> dict[str, Any]:
    """[https://]HOST:PORT=BEHAVIOUR[+KNOB...] -> listener dict."""
    tls = False
    if spec.startswith("https://"):
        tls, spec = True, spec[len("https://"):]
    elif spec.startswith("http://"):
        spec = spec[len("http://"):]
    addr, _, behaviour = spec.partition("=")
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit() or not behaviour:
        raise SystemExit("bad --listen %r: want [https://]HOST:PORT=BEHAVIOUR[+KNOB...]" % spec)
    behaviour, *knobs = behaviour.split("+")
    return {"host": host, "port": int(port), "behaviour": behaviour, "knobs": knobs, "tls": tls}


def main() -> int:
    """Parse arguments, bind every listener, serve until SIGTERM/SIGINT."""
    doc = __doc__ or ""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(doc.splitlines()[2:]))
    ap.add_argument("--config")
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--keytab")
    ap.add_argument("--domain")
    ap.add_argument("--realm")
    ap.add_argument("--basic-user", action="append", default=[])
    ap.add_argument("--ready-file")
    ap.add_argument("--log")
    ap.add_argument("--workers", type=int, help="N worker processes, each serving every Nth listener")
    a = ap.parse_args()

    options: dict[str, Any] = {"basic_users": {}, "shells": ShellTable(), "pools": psrp.PsrpService(),
                               "keytab": a.keytab}
    listeners: list[dict[str, Any]] = []
    domain, realm = a.domain, a.realm
    if a.config:
        with open(a.config) as f:
            cfg = json.load(f)
        listeners += cfg.get("listeners", [])
        options["basic_users"].update(cfg.get("basic_users", {}))
        options["keytab"] = options["keytab"] or cfg.get("keytab")
        domain, realm = domain or cfg.get("domain"), realm or cfg.get("realm")
    listeners += [parse_listen(s) for s in a.listen]
    for u in a.basic_user:
        user, _, pw = u.partition(":")
        options["basic_users"][user] = pw
    if not listeners:
        ap.error("no listeners (use --listen or --config)")

    # The log stays open for the life of the process (or is stderr, which is not ours to close).
    log_file = open(a.log, "a", buffering=1) if a.log else sys.stderr  # noqa: SIM115
    for lst in listeners:
        if lst["behaviour"] not in BEHAVIOURS:
            raise SystemExit("unknown behaviour %r (known: %s)" % (lst["behaviour"], ", ".join(BEHAVIOURS)))
        bad = [k for k in lst.get("knobs", []) if k not in KNOWN_KNOBS]
        if bad:
            raise SystemExit("unknown knob(s) %s (known: %s)" % (", ".join(bad), ", ".join(KNOWN_KNOBS)))
    if a.workers is not None:
        return serve_workers(a, listeners, options, domain, realm, log_file)

    log_lock = threading.Lock()
    servers = [make_server(lst, a, options, domain, realm, log_file, log_lock) for lst in listeners]

    threads = []
    for srv in servers:
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        threads.append(t)

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    summary = ", ".join(
        "%s%s:%d=%s%s" % ("https://" if srv.listener.get("tls") else "", srv.listener["host"],
                          srv.listener["port"], srv.listener["behaviour"],
                          "".join("+" + k for k in srv.listener.get("knobs", [])))
        for srv in servers)
    log_file.write("winrm_standin: pid %d listening: %s (gssapi: %s)\n"
                   % (os.getpid(), summary, "yes" if HAVE_GSSAPI else "no"))
    log_acceptor_errors(servers, log_file)
    log_file.flush()
    if a.ready_file:
        write_ready_file(a.ready_file)

    while not stop.wait(1.0):
        pass
    # No per-server shutdown(): it waits a poll interval each. Closing the
    # listening sockets and leaving (daemon threads) is immediate.
    for srv in servers:
        srv.server_close()
    log_file.write("winrm_standin: stopped\n")
    log_file.flush()
    return 0


def make_server(lst: dict[str, Any], a: argparse.Namespace, options: dict[str, Any], domain: str | None,
                realm: str | None, log_file: Any, log_lock: threading.Lock) -> Server:
    """Bind one listener and give it its behaviour (and acceptor)."""
    cls = BEHAVIOURS[lst["behaviour"]]
    try:
        srv = Server((lst["host"], int(lst["port"])), Handler)
    except OSError as e:
        raise SystemExit("cannot listen on %s:%s: %s" % (lst["host"], lst["port"], e)) from None
    info: dict[str, Any] = dict(lst)
    info["port"] = int(lst["port"])
    if lst.get("tls"):
        cert, key = lst.get("cert") or a.cert, lst.get("key") or a.key
        if not cert or not key:
            raise SystemExit("https listener %s:%s needs a cert and key" % (lst["host"], lst["port"]))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.ssl_context = ctx
        info["cert"] = cert
    name = lst.get("name", "")
    if name and domain:
        info.setdefault("fqdn", "%s.%s" % (name, domain))
        if realm and not info.get("spn"):
            info.setdefault("spns", ["%s/%s.%s@%s" % (svc, name, domain, realm) for svc in SPN_SERVICES])
    srv.listener = info
    srv.log_file, srv.log_lock = log_file, log_lock
    srv.behaviour = cls(info, options)
    return srv


def log_acceptor_errors(servers: list[Server], log_file: Any) -> None:
    for srv in servers:
        err = getattr(srv.behaviour, "acceptor_error", "")
        if err:
            log_file.write("winrm_standin: %s:%d acceptor: %s\n"
                           % (srv.listener["host"], srv.listener["port"], err))


def write_ready_file(path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(tmp, path)


# --------------------------------------------------------------------------
# --workers: many listeners, several processes


def serve_workers(a: argparse.Namespace, listeners: list[dict[str, Any]], options: dict[str, Any],
                  domain: str | None, realm: str | None, log_file: Any) -> int:
    """Fork a.workers processes, each serving every Nth listener; wait for SIGTERM."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:  # listening sockets plus a burst of connections per worker
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = max(1, min(a.workers, len(listeners)))
    rfd, wfd = os.pipe()
    pids: list[int] = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(rfd)
            code = 1
            try:
                code = worker_main(i, listeners[i::n], a, options, domain, realm, wfd)
            except SystemExit as e:
                sys.stderr.write("winrm_standin: worker %d: %s\n" % (i, e))
            except BaseException as e:  # noqa: BLE001 - the worker must not return into the parent's code
                sys.stderr.write("winrm_standin: worker %d: %r\n" % (i, e))
            finally:
                sys.stderr.flush()
                os._exit(code)
        pids.append(pid)
    os.close(wfd)

    def stop_workers() -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    ready = b""
    while len(ready) < n:
        chunk = os.read(rfd, n - len(ready))
        if not chunk:  # a worker died before it was ready
            stop_workers()
            log_file.write("winrm_standin: a worker exited before it was ready\n")
            return 1
        ready += chunk
    log_file.write("winrm_standin: pid %d, %d workers, %d listeners %s:%d ... %s:%d (gssapi: %s)\n"
                   % (os.getpid(), n, len(listeners), listeners[0]["host"], int(listeners[0]["port"]),
                      listeners[-1]["host"], int(listeners[-1]["port"]), "yes" if HAVE_GSSAPI else "no"))
    log_file.flush()
    if a.ready_file:
        write_ready_file(a.ready_file)

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rc = 0
    while not stop.wait(0.5):
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid:
            log_file.write("winrm_standin: worker pid %d exited (status %d); stopping\n" % (pid, status))
            pids.remove(pid)
            rc = 1
            break
    stop_workers()
    log_file.write("winrm_standin: stopped\n")
    log_file.flush()
    return rc


def worker_main(index: int, listeners: list[dict[str, Any]], a: argparse.Namespace, options: dict[str, Any],
                domain: str | None, realm: str | None, ready_fd: int) -> int:
    """One worker: bind its listeners, then accept on all of them from one selector."""
    try:  # die with the parent (PR_SET_PDEATHSIG), like lab/run's own services
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # The log stays open for the life of the process (or is stderr, which is not ours to close).
    log_file = open(a.log, "a", buffering=1) if a.log else sys.stderr  # noqa: SIM115
    log_lock = threading.Lock()
    servers = [make_server(lst, a, options, domain, realm, log_file, log_lock) for lst in listeners]
    log_file.write("winrm_standin: worker %d pid %d: %d listeners\n" % (index, os.getpid(), len(servers)))
    log_acceptor_errors(servers, log_file)
    sel = selectors.DefaultSelector()
    for srv in servers:
        srv.socket.setblocking(False)
        sel.register(srv.socket, selectors.EVENT_READ, srv)
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.5):
            srv = key.data
            while True:  # take every queued connection (socketserver's _handle_request_noblock)
                try:
                    request, client_address = srv.get_request()
                except OSError:  # BlockingIOError: the queue is empty
                    break
                request.setblocking(True)
                # http.server sends the headers and the body with two send()s: with Nagle on,
                # the body waits for the client's delayed ACK (~40 ms a response on Linux).
                # HTTP.sys sends them together, so take that stall out of the measurements.
                request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if srv.verify_request(request, client_address):
                    try:
                        srv.process_request(request, client_address)
                    except Exception:  # noqa: BLE001 - as socketserver does
                        srv.handle_error(request, client_address)
                        srv.shutdown_request(request)
                else:
                    srv.shutdown_request(request)
    for srv in servers:
        srv.server_close()
    log_file.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
