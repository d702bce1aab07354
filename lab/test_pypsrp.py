"""lab/test_pypsrp.py - the lab's WinRM stand-in against Ansible's psrp connection client.

pypsrp (pypsrp.wsman.WSMan + pypsrp.powershell.RunspacePool, Kerberos through pyspnego and
python-gssapi on MIT krb5, as Ansible's psrp connection plugin drives it) opens and closes a
PowerShell runspace pool on the lab hosts, and every stand-in knob is checked against the
exact exception pypsrp raises. Those texts are what an AWX user of ansible_connection=psrp
sees; lab/README.md lists them for krbprobe's hints.

Unlike the winrm plugin, the psrp plugin runs no kinit: it hands ansible_user and
ansible_password to pypsrp, and pyspnego gets the ticket itself (gss_acquire_cred_with_password).
Without a password pyspnego uses the default ccache (KRB5CCNAME), as with kinit_mode manual.

Run inside the lab with the venv of lab/pywinrm-venv.sh:
    venv=$(lab/pywinrm-venv.sh)
    lab/run -- "$venv/bin/pytest" lab/test_pypsrp.py
Outside the lab every test is skipped.
"""
from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

IN_LAB = os.environ.get("KRBPROBE_LAB") == "1"
pytestmark = pytest.mark.skipif(
    not IN_LAB, reason="not inside the lab: lab/run -- VENV/bin/pytest lab/test_pypsrp.py")

if IN_LAB:
    import gssapi
    import requests
    import spnego.exceptions
    from pypsrp.complex_objects import RunspacePoolState
    from pypsrp.exceptions import AuthenticationError, WSManFaultError
    from pypsrp.powershell import RunspacePool
    from pypsrp.shell import Process, WinRS
    from pypsrp.wsman import WSMan

    import winrm

DOMAIN = os.environ.get("KRBPROBE_LAB_DOMAIN", "kurokobo.internal")
REALM = os.environ.get("KRBPROBE_LAB_REALM", "KUROKOBO.INTERNAL")
PASSWORD = os.environ.get("KRBPROBE_LAB_PASSWORD", "")
PRINCIPAL = "awx@" + REALM
CA_CERT = os.environ.get("KRBPROBE_LAB_CA_CERT", "")
LOG = os.path.join(os.environ.get("KRBPROBE_LAB_DIR", ""), "log", "winrm.log")

# pypsrp 0.9.1's texts (pypsrp/wsman.py, pypsrp/exceptions.py), filled in per host.
AUTH_FAILED = "Failed to authenticate the user %s with %%s" % PRINCIPAL
ACCESS_DENIED = "Received a WSManFault message. (Code: 5, Machine: %s.%s, Reason: Access is denied.)"
UNKNOWN_CONFIGURATION = (
    "Received a WSManFault message. (Code: 2150858811, Machine: kuro-win01.%s, Reason: The WS-Management "
    "service cannot process the request. The resource URI (http://schemas.microsoft.com/powershell/%%s) was "
    "not found in the WS-Management catalog. The catalog contains the metadata that describes resources, or "
    "logical endpoints.)" % DOMAIN)

HTTPSYS_404 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>Not Found</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>Not Found</h2>\r\n<hr><p>HTTP Error 404. The requested resource is not found.</p>\r\n"
    "</BODY></HTML>\r\n")
# pyspnego feeds the KRB-ERROR of the 401 to its context (pywinrm does not): the reason shows.
GSS_FAILURE = ("SpnegoError (4294967295): Major (851968): Unspecified GSS failure.  Minor code may provide "
               "more information, Minor (%s, Context: Processing security token")


def fqdn(host: str) -> str:
    return "%s.%s" % (host, DOMAIN)


def wsman(host: str, https: bool = False, **kwargs: Any) -> WSMan:
    """A WSMan connection as Ansible's psrp plugin builds it (ansible_psrp_* options)."""
    kwargs.setdefault("username", PRINCIPAL)
    kwargs.setdefault("password", PASSWORD)
    kwargs.setdefault("auth", "negotiate")
    kwargs.setdefault("negotiate_service", "WSMAN")   # ansible-core <= 2.20's default
    kwargs.setdefault("connection_timeout", 5)
    kwargs.setdefault("read_timeout", 10)
    if https:
        kwargs.setdefault("cert_validation", CA_CERT)
    return WSMan(fqdn(host), port=5986 if https else 5985, ssl=https, **kwargs)


def open_close(conn: WSMan, configuration: str = "Microsoft.PowerShell") -> RunspacePool:
    """Open a runspace pool and close it again (what every psrp task starts and ends with)."""
    pool = RunspacePool(conn, configuration_name=configuration)
    try:
        pool.open()
        assert pool.state == RunspacePoolState.OPENED
    finally:
        pool.close()
        conn.close()
    assert pool.state == RunspacePoolState.CLOSED
    return pool


def error_of(host: str, https: bool = False, configuration: str = "Microsoft.PowerShell",
             **kwargs: Any) -> BaseException:
    """The exception opening a pool on HOST raises."""
    with pytest.raises(Exception) as e:
        open_close(wsman(host, https, **kwargs), configuration)
    return e.value


def kinit_ccache() -> str:
    """A fresh ccache with the AWX user's TGT (kinit, password on stdin)."""
    fd, path = tempfile.mkstemp(prefix="krb5cc_psrp_")
    os.close(fd)
    kinit = os.path.join(os.environ.get("KRBPROBE_LAB_TOOLS", "/usr/bin"), "kinit")
    p = subprocess.run([kinit, PRINCIPAL], input=PASSWORD.encode() + b"\n",
                       env={"KRB5CCNAME": "FILE:" + path}, capture_output=True, check=False)
    assert p.returncode == 0, p.stderr
    return "FILE:" + path


def pywinrm_cmd(host: str, https: bool = False, **kwargs: Any) -> Any:
    """pywinrm's run_cmd on HOST after a kinit, as Ansible's winrm plugin does it."""
    old = os.environ["KRB5CCNAME"]
    os.environ["KRB5CCNAME"] = kinit_ccache()
    try:
        if https:
            kwargs.setdefault("ca_trust_path", CA_CERT)
        url = "%s://%s:%d/wsman" % ("https" if https else "http", fqdn(host), 5986 if https else 5985)
        session = winrm.Session(url, auth=(PRINCIPAL, PASSWORD), transport="kerberos", **kwargs)
        return session.run_cmd("hostname")
    finally:
        os.environ["KRB5CCNAME"] = old


def log_lines(since: int) -> str:
    """What the stand-in logged after byte offset SINCE of log/winrm.log."""
    with open(LOG, "rb") as f:
        f.seek(since)
        return f.read().decode("utf-8", "replace")


def log_size() -> int:
    return os.path.getsize(LOG)


@pytest.fixture(scope="session", autouse=True)
def clean_env() -> Iterator[None]:
    """No ccache of the machine's, no CA bundle of the machine's: only what each test gives."""
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)
    with tempfile.TemporaryDirectory() as d:
        os.environ["KRB5CCNAME"] = "FILE:%s/empty" % d
        yield


# ------------------------------------------------------------------ success


@pytest.mark.parametrize("host,https,auth,service", [
    ("kuro-win01", False, "negotiate", "WSMAN"),    # ansible-core <= 2.20, MS-WSMV encrypted over http
    ("kuro-win01", False, "negotiate", "host"),     # ansible-core >= 2.21 (pypsrp's own default)
    ("kuro-win01", False, "kerberos", "WSMAN"),     # ansible_psrp_auth=kerberos: raw krb5 token
    ("kuro-win01", False, "kerberos", "host"),
    ("kuro-win01", False, "negotiate", "HTTP"),
    ("kuro-win06", True, "negotiate", "WSMAN"),     # https, lab CA, channel bindings sent
    ("kuro-win06", True, "kerberos", "host"),
    ("kuro-win06", False, "kerberos", "WSMAN"),
])
def test_open_close(host: str, https: bool, auth: str, service: str) -> None:
    since = log_size()
    pool = open_close(wsman(host, https, auth=auth, negotiate_service=service))
    assert (pool.protocol_version, pool.serialization_version) == ("2.3", "1.1.0.1")
    data = pool.application_private_data
    assert data is not None
    table = data.data["PSVersionTable"]
    assert (str(table["PSVersion"]), table["PSEdition"]) == ("5.1.17763.1", "Desktop")
    log = log_lines(since)
    assert "token accepted: %s for %s/%s@%s" % (PRINCIPAL, service, fqdn(host), REALM) in log, log
    assert ("PSRP pool %s opened on Microsoft.PowerShell (client protocol 2.3, runspaces 1..1)" % pool.id
            in log), log
    assert "PSRP pool %s closed" % pool.id in log
    if https:
        assert "channel bound" in log, log


def test_open_close_powershell_7() -> None:
    pool = open_close(wsman("kuro-win01"), "PowerShell.7")
    assert pool.application_private_data is not None
    table = pool.application_private_data.data["PSVersionTable"]
    assert (str(table["PSVersion"]), table["PSEdition"]) == ("7.4.6", "Core")


def test_open_close_from_ccache(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No password (kinit_mode manual, or a ticket the EE already holds): the default ccache."""
    monkeypatch.setenv("KRB5CCNAME", kinit_ccache())
    open_close(wsman("kuro-win01", username=None, password=None))


def test_two_pools_on_one_connection() -> None:
    """Ansible reuses the connection: a second pool after the first is closed."""
    conn = wsman("kuro-win01")
    for _ in range(2):
        pool = RunspacePool(conn)
        pool.open()
        pool.close()
    conn.close()


# ------------------------------------------------------------------ configurations and knobs


def test_unknown_configuration() -> None:
    e = error_of("kuro-win01", configuration="Microsoft.Exchange")
    assert isinstance(e, WSManFaultError)
    assert (e.code, str(e)) == (2150858811, UNKNOWN_CONFIGURATION % "Microsoft.Exchange")


def test_psrpdeny_denies_powershell_but_not_cmd() -> None:
    """psrpdeny (kuro-win15): the user may not use the PowerShell endpoint; cmd still works."""
    e = error_of("kuro-win15")
    assert isinstance(e, WSManFaultError)
    assert (e.code, str(e)) == (5, ACCESS_DENIED % ("kuro-win15", DOMAIN))
    r = pywinrm_cmd("kuro-win15")
    assert (r.status_code, r.std_out) == (0, b"krbprobe-lab\r\n")
    with WinRS(wsman("kuro-win15")) as shell:    # and pypsrp's own cmd shell too
        proc = Process(shell, "hostname")
        proc.invoke()
        assert (proc.rc, proc.stdout) == (0, b"krbprobe-lab\r\n")


def test_deny_denies_cmd_but_not_powershell() -> None:
    """deny (kuro-win09) is the cmd shell's: a runspace pool opens, WinRS gets Access denied."""
    open_close(wsman("kuro-win09"))
    with pytest.raises(WSManFaultError) as e, WinRS(wsman("kuro-win09")):
        pass
    assert str(e.value) == ACCESS_DENIED % ("kuro-win09", DOMAIN)


def test_cbtstrict() -> None:
    """cbtstrict (kuro-win16): pypsrp and pywinrm bind the TLS channel and pass; without CBT, 401."""
    open_close(wsman("kuro-win16", True))
    open_close(wsman("kuro-win16"))                       # http: no channel to bind, nothing to check
    assert pywinrm_cmd("kuro-win16", True).status_code == 0
    since = log_size()
    e = error_of("kuro-win16", True, negotiate_send_cbt=False)
    assert isinstance(e, AuthenticationError)
    assert str(e) == AUTH_FAILED % "negotiate"
    assert "knob cbtstrict: no channel bindings in the AP-REQ: 401" in log_lines(since)
    with pytest.raises(winrm.exceptions.InvalidCredentialsError) as e2:
        pywinrm_cmd("kuro-win16", True, send_cbt=False)
    assert str(e2.value) == "the specified credentials were rejected by the server"
    # kuro-win06 (CbtHardeningLevel=Relaxed, the default) takes the same CBT-less client.
    open_close(wsman("kuro-win06", True, negotiate_send_cbt=False))


def test_cbtstrict_raw_request_without_bindings() -> None:
    """A raw python-gssapi AP-REQ without channel bindings over https: 401, the plain challenges."""
    name = gssapi.Name("WSMAN@" + fqdn("kuro-win16"), gssapi.NameType.hostbased_service)
    creds = gssapi.Credentials(usage="initiate", store={"ccache": kinit_ccache()})
    ctx = gssapi.SecurityContext(name=name, creds=creds, usage="initiate",
                                 mech=gssapi.Mechanism.from_sasl_name("GS2-KRB5"))
    token = ctx.step()
    r = requests.post("https://%s:5986/wsman" % fqdn("kuro-win16"), verify=CA_CERT, timeout=10,
                      headers={"Authorization": "Kerberos " + base64.b64encode(token or b"").decode()})
    assert (r.status_code, r.headers["WWW-Authenticate"]) == (401, "Negotiate, Kerberos")


def test_no_wsman_spn() -> None:
    """kuro-win17 has HTTP/ and host/ but no WSMAN/: ansible-core <= 2.20 (WSMAN) fails, 2.21 (host) works."""
    since = log_size()
    e = error_of("kuro-win17")
    # negotiate: no WSMAN/ ticket, so pyspnego falls back to NTLM, which the domain refuses.
    assert isinstance(e, AuthenticationError)
    assert str(e) == AUTH_FAILED % "negotiate"
    assert "NTLM token refused" in log_lines(since)
    e = error_of("kuro-win17", auth="kerberos")
    assert isinstance(e, spnego.exceptions.SpnegoError), repr(e)
    assert str(e) == GSS_FAILURE % ("2529638919): Server WSMAN/%s@%s not found in Kerberos database"
                                    % (fqdn("kuro-win17"), REALM))
    open_close(wsman("kuro-win17", negotiate_service="host"))


def test_ntlm_fallback_is_refused() -> None:
    """No SPN at all (kuro-win02): pyspnego falls back to NTLM; the domain refuses NTLM."""
    since = log_size()
    e = error_of("kuro-win02")
    assert isinstance(e, AuthenticationError)
    assert str(e) == AUTH_FAILED % "negotiate"
    assert "NTLM token refused" in log_lines(since)
    e = error_of("kuro-win01", auth="ntlm")
    assert str(e) == AUTH_FAILED % "ntlm"


@pytest.mark.parametrize("host,cls,text", [
    ("kuro-win08", "AuthenticationError", AUTH_FAILED % "negotiate"),                             # reject
    ("kuro-win10", "WinRMTransportError",                                                       # noencrypt
     "Bad HTTP response returned from the server. Code: 415, Content: ''"),
    ("kuro-win11", "SpnegoError", GSS_FAILURE % "2529638956): Key version is not available"),   # wrongkey
    ("kuro-win12", "SpnegoError", GSS_FAILURE % "2529638949): Clock skew too great"),           # skew
    ("kuro-win14", "WinRMTransportError",                                                       # nowsman
     "Bad HTTP response returned from the server. Code: 404, Content: '%s'" % HTTPSYS_404),
    ("kuro-win04", "AuthenticationError",                                                       # Basic only
     ("The server did not response with one of the following authentication methods Negotiate, Kerberos, "
      "NTLM - actual: 'Basic realm=\"WSMAN\"'")),
])
def test_knob(host: str, cls: str, text: str) -> None:
    """Each stand-in knob (and the Basic-only host) as pypsrp reports it, opening a pool."""
    e = error_of(host)
    assert (type(e).__name__, str(e)) == (cls, text)


def test_noencrypt_plain_soap_works() -> None:
    open_close(wsman("kuro-win10", encryption="never"))


def test_stall() -> None:
    e = error_of("kuro-win13", read_timeout=2)
    assert isinstance(e, requests.exceptions.ReadTimeout), repr(e)


def test_every_knob_is_proven() -> None:
    from krblab import model

    proven = {"reject", "noencrypt", "wrongkey", "skew", "nowsman", "stall", "deny", "psrpdeny", "cbtstrict"}
    assert proven == set(model.KNOBS)
    m = model.load()
    for name, knob in (("kuro-win08", "reject"), ("kuro-win09", "deny"), ("kuro-win10", "noencrypt"),
                       ("kuro-win11", "wrongkey"), ("kuro-win12", "skew"), ("kuro-win13", "stall"),
                       ("kuro-win14", "nowsman"), ("kuro-win15", "psrpdeny"), ("kuro-win16", "cbtstrict")):
        h = m.host(name)
        assert h is not None and knob in h.knobs, name
    no_wsman = m.host("kuro-win17")
    assert no_wsman is not None and "WSMAN" not in no_wsman.services
