"""lab/test_pywinrm.py - the lab's WinRM stand-in against the real client.

pywinrm (transport='kerberos', i.e. pykerberos + MIT krb5, as Ansible's winrm
connection plugin uses it) runs a command on every lab host, and each
failure knob is checked against the exact exception pywinrm raises. Those
texts are what an AWX user sees; lab/README.md lists them for krbprobe's
hints. A few lower-level tests drive the Kerberos and Negotiate (SPNEGO)
schemes and MS-WSMV encryption with pykerberos and requests directly.

Run inside the lab with the venv of lab/pywinrm-venv.sh:
    venv=$(lab/pywinrm-venv.sh)
    lab/run -- "$venv/bin/pytest" lab/test_pywinrm.py
Outside the lab every test is skipped.
"""
from __future__ import annotations

import base64
import os
import re
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

IN_LAB = os.environ.get("KRBPROBE_LAB") == "1"
pytestmark = pytest.mark.skipif(
    not IN_LAB, reason="not inside the lab: lab/run -- VENV/bin/pytest lab/test_pywinrm.py")

if IN_LAB:
    import kerberos
    import requests
    from winrm.exceptions import WinRMTransportError
    from winrm.vendor.requests_kerberos.exceptions import KerberosExchangeError

    import winrm

DOMAIN = os.environ.get("KRBPROBE_LAB_DOMAIN", "kurokobo.internal")
REALM = os.environ.get("KRBPROBE_LAB_REALM", "KUROKOBO.INTERNAL")
PASSWORD = os.environ.get("KRBPROBE_LAB_PASSWORD", "")
PRINCIPAL = "awx@" + REALM
CA_CERT = os.environ.get("KRBPROBE_LAB_CA_CERT", "")

STDOUT = b"krbprobe-lab\r\n"
# pywinrm 0.5.0's texts (winrm/transport.py, winrm/exceptions.py).
ACCESS_DENIED = ("Access is denied.  (extended fault data: {'transport_message': 'Bad HTTP response "
                 "returned from server. Code 500', 'http_status_code': 500, 'wsmanfault_code': 5, "
                 "'fault_code': 's:Sender', 'fault_subcode': 'w:AccessDenied'})")
SOAP_IDENTIFY = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
                 b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
                 b"<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>")
BOUNDARY = b"--Encrypted Boundary"


def url(host: str, https: bool = False) -> str:
    """The WinRM endpoint of a lab host, as Ansible builds it."""
    return "%s://%s.%s:%d/wsman" % ("https" if https else "http", host, DOMAIN, 5986 if https else 5985)


def session(host: str, https: bool = False, **kwargs: Any) -> winrm.Session:
    """A pywinrm Session with the AWX credential (transport=kerberos)."""
    kwargs.setdefault("transport", "kerberos")
    if https:
        kwargs.setdefault("ca_trust_path", CA_CERT)
    return winrm.Session(url(host, https), auth=(PRINCIPAL, PASSWORD), **kwargs)


def kinit_like_ansible(ccache: str) -> subprocess.CompletedProcess[bytes]:
    """What Ansible's winrm plugin does: kinit PRINCIPAL, password on stdin,
    KRB5CCNAME=FILE:<temp file> in kinit's environment and its own."""
    kinit = os.path.join(os.environ.get("KRBPROBE_LAB_TOOLS", "/usr/bin"), "kinit")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KRB5CCNAME": "FILE:" + ccache}
    os.environ["KRB5CCNAME"] = env["KRB5CCNAME"]
    return subprocess.run([kinit, PRINCIPAL], input=PASSWORD.encode() + b"\n", env=env,
                          capture_output=True, check=False)


@pytest.fixture(scope="session", autouse=True)
def ticket() -> Iterator[str]:
    """One TGT for the whole run, in a private temporary ccache."""
    with tempfile.NamedTemporaryFile(prefix="krb5cc_awx_") as cc:
        # The machine's REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE must not decide what is trusted.
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            os.environ.pop(var, None)
        p = kinit_like_ansible(cc.name)
        assert p.returncode == 0, p.stderr.decode()
        yield cc.name


# ------------------------------------------------------------------ success


@pytest.mark.parametrize("host,https,encryption", [
    ("kuro-win01", False, "always"),
    ("kuro-win01", False, "auto"),
    ("kuro-win05", False, "auto"),    # PTR names kuro-web05; pywinrm does no reverse lookup (rdns=false)
    ("kuro-win06", False, "auto"),
    ("kuro-win06", True, "auto"),     # https: plain SOAP, channel binding token checked
    ("kuro-win06", True, "always"),   # https and MS-WSMV encryption as well
    ("kuro-win10", False, "never"),   # noencrypt host: plain SOAP is what it takes
])
def test_run_cmd(host: str, https: bool, encryption: str) -> None:
    r = session(host, https, message_encryption=encryption).run_cmd("ipconfig", ["/all"])
    assert (r.status_code, r.std_out, r.std_err) == (0, STDOUT, b"")


def test_run_cmd_https_without_cert_validation() -> None:
    r = session("kuro-win06", True, server_cert_validation="ignore", ca_trust_path=None).run_cmd("hostname")
    assert (r.status_code, r.std_out) == (0, STDOUT)


def test_run_cmd_https_trusting_requests_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """ca_trust_path's default 'legacy_requests' reads REQUESTS_CA_BUNDLE (with a warning)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", CA_CERT)
    warning = "'pywinrm' will use an environment variable defined CA Trust"
    with pytest.warns(DeprecationWarning, match=warning):
        session = winrm.Session(url("kuro-win06", True), auth=(PRINCIPAL, PASSWORD), transport="kerberos")
        r = session.run_cmd("hostname")
    assert (r.status_code, r.std_out) == (0, STDOUT)


def test_run_ps() -> None:
    r = session("kuro-win01").run_ps("Get-Date")
    assert (r.status_code, r.std_out, r.std_err) == (0, STDOUT, b"")


def test_shell_reused_for_two_commands() -> None:
    p = session("kuro-win01").protocol
    shell = p.open_shell()
    assert re.fullmatch(r"[0-9A-F-]{36}", shell)
    for cmd in ("whoami", "hostname"):
        cid = p.run_command(shell, cmd)
        assert p.get_command_output(shell, cid) == (STDOUT, b"", 0)
        p.cleanup_command(shell, cid)
    p.close_shell(shell)


# ------------------------------------------------------------------ knobs


def test_http_without_encryption_is_refused() -> None:
    """Windows' default AllowUnencrypted=false: plain SOAP over http -> 500."""
    with pytest.raises(WinRMTransportError) as e:
        session("kuro-win01", message_encryption="never").run_cmd("ipconfig")
    assert (e.value.code, str(e.value)) == (500, "Bad HTTP response returned from server. Code 500")
    assert e.value.response_text == ""


def knob_cases() -> list[Any]:
    """One case per lab host that misbehaves on purpose (a stand-in knob, Basic only), with
    the scenario of lab/scenarios.toml that targets it: what pywinrm must print is that
    scenario's `real`, and the krbprobe code is its `expect`. Only the winrm connection's
    failing scenarios: a psrp scenario's `real` is pypsrp's, and a knob may leave the winrm
    connection working (psrpdeny)."""
    from krblab import model

    m = model.load()
    cases = []
    for h in m.hosts:
        if not (h.knobs or h.behaviour != "negotiate") or "http" not in h.listen:
            continue
        for s in m.scenarios:
            if (s.target == m.lab.fqdn(h.name) and s.conf.is_default and s.port == 5985 and s.real
                    and s.real != "works" and s.connection == "winrm"):
                cases.append(pytest.param(h.name, "+".join((h.behaviour, *h.knobs)), s.real, id=s.id))
    return cases


def test_every_knob_is_proven_by_a_host() -> None:
    """Each knob the stand-in has is on some lab host, and that host has a scenario whose real
    client outcome this file checks (or, for stall, test_stall; the PowerShell-side knobs
    psrpdeny and cbtstrict are proven, with pywinrm too, by lab/test_pypsrp.py)."""
    from krblab import model

    m = model.load()
    used = {k for h in m.hosts for k in h.knobs}
    assert used == set(model.KNOBS), "knobs without a lab host: %s" % (set(model.KNOBS) - used)
    proven = {k for p in knob_cases() for k in p.values[1].split("+")[1:]}
    proven |= {"stall", "psrpdeny", "cbtstrict"}
    assert proven == set(model.KNOBS), "knobs no pywinrm case covers: %s" % (set(model.KNOBS) - proven)


@pytest.mark.parametrize("host,behaviour,real", knob_cases() if IN_LAB else [])
def test_knob(host: str, behaviour: str, real: str) -> None:
    """pywinrm (after Ansible's kinit) fails on the host as scenarios.toml records."""
    from krblab.fidelity import Real, shorten

    with pytest.raises(Exception) as e:
        session(host).run_cmd("ipconfig")
    cls = type(e.value)
    text = shorten(Real(False, "pywinrm", "%s.%s" % (cls.__module__, cls.__qualname__), str(e.value)))
    assert real in text, (behaviour, text)


def test_stall() -> None:
    """The stall knob: a valid token, then no answer; pywinrm's read timeout ends it."""
    with pytest.raises(requests.exceptions.ReadTimeout):
        session("kuro-win13", read_timeout_sec=2, operation_timeout_sec=1).run_cmd("ipconfig")


def test_no_spn() -> None:
    with pytest.raises(KerberosExchangeError) as e:
        session("kuro-win02").run_cmd("ipconfig")
    assert str(e.value) == (
        "authGSSClientStep() failed: (('Unspecified GSS failure.  Minor code may provide more "
        "information', 851968), ('Server HTTP/kuro-win02.%s@%s not found in Kerberos database', "
        "-1765328377))" % (DOMAIN, REALM))


def test_no_ticket(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No kinit (or a ccache without the user's TGT)."""
    monkeypatch.setenv("KRB5CCNAME", "FILE:%s" % (tmp_path / "empty"))
    with pytest.raises(KerberosExchangeError) as e:
        session("kuro-win01").run_cmd("ipconfig")
    assert str(e.value) == (
        "authGSSClientInit() failed: (('No credentials were supplied, or the credentials were "
        "unavailable or inaccessible', 458752), (\"Can't find client principal %s in cache "
        "collection\", -1765328243))" % PRINCIPAL)


def test_port_closed() -> None:
    with pytest.raises(requests.exceptions.ConnectionError) as e:
        session("kuro-win03").run_cmd("ipconfig")
    h = "kuro-win03." + DOMAIN
    assert str(e.value) == (
        "HTTPConnectionPool(host='%s', port=5985): Max retries exceeded with url: /wsman (Caused by "
        "NewConnectionError(\"HTTPConnection(host='%s', port=5985): Failed to establish a new connection: "
        "[Errno 111] Connection refused\"))" % (h, h))


def test_port_dropped() -> None:
    with pytest.raises(requests.exceptions.ConnectTimeout) as e:
        session("kuro-win07", read_timeout_sec=2, operation_timeout_sec=1).run_cmd("ipconfig")
    h = "kuro-win07." + DOMAIN
    assert re.fullmatch(re.escape(
        "HTTPConnectionPool(host='%s', port=5985): Max retries exceeded with url: /wsman (Caused by "
        "ConnectTimeoutError(<HTTPConnection(host='%s', port=5985) at 0x@>, 'Connection to %s timed out. "
        "(connect timeout=2)'))" % (h, h, h)).replace("@", "[0-9a-f]+"), str(e.value)), str(e.value)


# ------------------------------------------------------------------ raw protocol


def gss_client(host: str, mech: Any) -> tuple[Any, str]:
    """A pykerberos initiator context for HTTP@host and its first token (b64)."""
    flags = kerberos.GSS_C_MUTUAL_FLAG | kerberos.GSS_C_SEQUENCE_FLAG
    _, ctx = kerberos.authGSSClientInit("HTTP@%s.%s" % (host, DOMAIN), principal=PRINCIPAL,
                                        gssflags=flags, mech_oid=mech)
    kerberos.authGSSClientStep(ctx, "")
    return ctx, kerberos.authGSSClientResponse(ctx)


def challenge(resp: requests.Response, scheme: str) -> str:
    """The token of the WWW-Authenticate header for scheme ('' if none)."""
    m = re.search(r"(?:^|,)\s*%s\s+([A-Za-z0-9+/=]+)" % scheme, resp.headers.get("WWW-Authenticate", ""))
    return m.group(1) if m else ""


@pytest.mark.parametrize("scheme,mech,protocol", [
    ("Kerberos", "krb5", "application/HTTP-Kerberos-session-encrypted"),
    ("Negotiate", "krb5", "application/HTTP-SPNEGO-session-encrypted"),
    ("Negotiate", "spnego", "application/HTTP-SPNEGO-session-encrypted"),
])
def test_scheme_mutual_auth_and_encrypted_identify(scheme: str, mech: str, protocol: str) -> None:
    oid = kerberos.GSS_MECH_OID_KRB5 if mech == "krb5" else kerberos.GSS_MECH_OID_SPNEGO
    ctx, token = gss_client("kuro-win01", oid)
    with requests.Session() as s:
        r = s.post(url("kuro-win01"), data=b"", headers={"Authorization": "%s %s" % (scheme, token)})
        assert r.status_code == 200 and r.content == b""
        assert r.headers["Server"] == "Microsoft-HTTPAPI/2.0"
        mutual = challenge(r, scheme)
        assert mutual, r.headers
        assert kerberos.authGSSClientStep(ctx, mutual) == kerberos.AUTH_GSS_COMPLETE
        # Same keep-alive connection, no Authorization header: the context holds.
        enc, header = kerberos.authGSSWinRMEncryptMessage(ctx, SOAP_IDENTIFY)
        body = (BOUNDARY + b"\r\n\tContent-Type: " + protocol.encode() + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
                + str(len(SOAP_IDENTIFY)).encode() + b"\r\n" + BOUNDARY
                + b"\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<i", len(header)) + header + enc + BOUNDARY + b"--\r\n")
        ctype = 'multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"' % protocol
        r = s.post(url("kuro-win01"), data=body, headers={"Content-Type": ctype})
        assert r.status_code == 200, r.headers
        assert r.headers["Content-Type"] == ctype
        part = r.content.split(BOUNDARY + b"\r\n")[2]
        assert part.startswith(b"\tContent-Type: application/octet-stream\r\n")
        stream = part[len(b"\tContent-Type: application/octet-stream\r\n"):-len(BOUNDARY + b"--\r\n")]
        hlen = struct.unpack("<i", stream[:4])[0]
        plain = kerberos.authGSSWinRMDecryptMessage(ctx, stream[4 + hlen:], stream[4:4 + hlen])
        assert b"<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>" in plain
        assert b"<wsmid:ProductVersion>OS: 10.0.17763 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>" in plain
        # Tampered ciphertext: the server cannot unwrap it.
        bad = body.replace(enc, bytes([enc[0] ^ 1]) + enc[1:])
        r = s.post(url("kuro-win01"), data=bad, headers={"Content-Type": ctype})
        assert r.status_code == 400


def test_context_is_per_connection() -> None:
    _, token = gss_client("kuro-win01", kerberos.GSS_MECH_OID_KRB5)
    with requests.Session() as s:
        assert s.post(url("kuro-win01"), headers={"Authorization": "Negotiate " + token}).status_code == 200
    with requests.Session() as s:   # a new TCP connection knows no context
        r = s.post(url("kuro-win01"), data=SOAP_IDENTIFY)
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Negotiate, Kerberos"


@pytest.mark.parametrize("host,error_code,client_text", [
    ("kuro-win12", 37, "Clock skew too great"),          # KRB_AP_ERR_SKEW
    ("kuro-win11", 44, "Key version is not available"),  # KRB_AP_ERR_BADKEYVER (MIT; Windows: 41)
])
def test_acceptor_answers_krb_error(host: str, error_code: int, client_text: str) -> None:
    """A failed accept answers MIT's KRB-ERROR token in the 401; a client that
    feeds it to its own context (pywinrm does not) learns the reason."""
    ctx, token = gss_client(host, kerberos.GSS_MECH_OID_KRB5)
    r = requests.post(url(host), headers={"Authorization": "Negotiate " + token}, timeout=10)
    assert r.status_code == 401
    err = base64.b64decode(challenge(r, "Negotiate"))
    # GSS framing (0x60 ... krb5 OID, TOK_ID 03 00) around KRB-ERROR [APPLICATION 30].
    assert err[0] == 0x60 and b"\x03\x00\x7e" in err
    code = re.search(rb"\xa6\x03\x02\x01(.)", err)
    assert code and code.group(1)[0] == error_code
    with pytest.raises(kerberos.GSSError) as e:
        kerberos.authGSSClientStep(ctx, challenge(r, "Negotiate"))
    assert e.value.args[1][0] == client_text


def test_https_channel_binding_is_checked() -> None:
    """Over https the acceptor checks the tls-server-end-point channel binding
    (as Windows' CbtHardeningLevel=Relaxed does when the client sends one)."""
    flags = kerberos.GSS_C_MUTUAL_FLAG | kerberos.GSS_C_SEQUENCE_FLAG
    for app_data, want in ((b"tls-server-end-point:" + b"\x00" * 32, 401), (None, 200)):
        _, ctx = kerberos.authGSSClientInit("HTTP@kuro-win06." + DOMAIN, principal=PRINCIPAL, gssflags=flags)
        if app_data is None:
            kerberos.authGSSClientStep(ctx, "")
        else:
            bindings = kerberos.channelBindings(application_data=app_data)
            kerberos.authGSSClientStep(ctx, "", channel_bindings=bindings)
        token = kerberos.authGSSClientResponse(ctx)
        r = requests.post(url("kuro-win06", True), verify=CA_CERT, timeout=10,
                          headers={"Authorization": "Negotiate " + token})
        assert r.status_code == want, app_data


# ------------------------------------------------------------------ delegation (double hop)

def test_klist_on_the_host_shows_the_delegated_tgt(ticket: str) -> None:
    """ansible_winrm_kerberos_delegation: after `kinit -f`, pywinrm's kerberos_delegation puts
    the TGT into the AP-REQ, and `klist` in the host's cmd shell lists it (Server: krbtgt/...,
    forwarded), as on Windows; without delegation the logon has no ticket at all. krbprobe's
    winrm-auth runs the same klist (winrm-auth-not-delegated when it lists none)."""
    plain = session("kuro-win01").run_cmd("klist")
    assert plain.status_code == 0
    assert b"Cached Tickets: (0)" in plain.std_out, plain.std_out
    kinit = os.path.join(os.environ.get("KRBPROBE_LAB_TOOLS", "/usr/bin"), "kinit")
    with tempfile.NamedTemporaryFile(prefix="krb5cc_fwd_") as cc:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KRB5CCNAME": "FILE:" + cc.name}
        p = subprocess.run([kinit, "-f", PRINCIPAL], input=PASSWORD.encode() + b"\n", env=env,
                           capture_output=True, check=False)
        assert p.returncode == 0, p.stderr.decode()
        os.environ["KRB5CCNAME"] = env["KRB5CCNAME"]
        try:
            r = session("kuro-win01", kerberos_delegation=True).run_cmd("klist")
        finally:
            os.environ["KRB5CCNAME"] = "FILE:" + ticket
    assert r.status_code == 0
    assert b"Server: krbtgt/KUROKOBO.INTERNAL @ KUROKOBO.INTERNAL" in r.std_out, r.std_out
    assert b"forwarded" in r.std_out, r.std_out
