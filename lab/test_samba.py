"""lab/test_samba.py - the lab's Samba AD DC (krblab.samba) against MIT's kinit, klist and kvno.

Starts the DC of :mod:`krblab.samba` on 127.0.0.60 (realm SAMBA.KUROKOBO.INTERNAL, template
cached under target/samba-cache or $KRBPROBE_SAMBA_CACHE) and proves every account state of
its fixtures with the real MIT client: what kinit prints, which KRB-ERROR the DC sent, and the
NTSTATUS inside its e-data. The KRB-ERRORs come from a TCP relay on 127.0.0.61:88 that hands the
DC's bytes on unchanged and keeps a copy; the last one of each exchange is compared with
tests/fixtures/samba/<state>.krb-error.hex (error code, NTSTATUS, e-data layout: the bytes
differ in stime and ctime) and, with KRBPROBE_SAMBA_WRITE_FIXTURES=1, written there instead.

Run inside the lab (the venv of lab/pywinrm-venv.sh provides pytest):
    lab/run -q -- target/pywinrm-venv/bin/pytest -q lab/test_samba.py
Outside the lab every test is skipped.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

IN_LAB = os.environ.get("KRBPROBE_LAB") == "1"
pytestmark = pytest.mark.skipif(
    not IN_LAB, reason="not inside the lab: lab/run -- VENV/bin/pytest lab/test_samba.py")

from krblab import samba  # noqa: E402  (PYTHONPATH=lab, set by lab/run)
from krblab.krberror import KrbError, decode_krb_error  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TOOLS = Path(os.environ.get("KRBPROBE_LAB_TOOLS", "/usr/bin"))
CACHE = Path(os.environ.get("KRBPROBE_SAMBA_CACHE", REPO / "target" / "samba-cache"))
FIXTURES = REPO / "tests" / "fixtures" / "samba"
WRITE_FIXTURES = os.environ.get("KRBPROBE_SAMBA_WRITE_FIXTURES") == "1"
DC_IP = samba.DEFAULT_IP
RELAY_IP = "127.0.0.61"
CLI_IP = "127.0.0.62"
REALM = samba.REALM
PASSWORD = samba.PASSWORD
AES_ONLY = "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
USER = {u.state: u.name for u in samba.DEFAULT_SPEC.users}   # the fixtures' user of each state



# ---------------------------------------------------------------------------------- relay --

class Relay:
    """TCP 88 on RELAY_IP, passed on to the DC unchanged; every KDC reply is kept."""

    def __init__(self, listen: str, upstream: str) -> None:
        self.upstream = upstream
        self.replies: list[bytes] = []
        self.lock = threading.Lock()
        self.sock = socket.create_server((listen, 88))
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    @staticmethod
    def read_msg(s: socket.socket) -> bytes | None:
        """One length-prefixed Kerberos message over TCP, with its 4-byte length."""
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return None
            data += chunk
        return data

    def handle(self, conn: socket.socket) -> None:
        with conn, socket.create_connection((self.upstream, 88), timeout=10) as up:
            conn.settimeout(10)
            while (req := self.read_msg(conn)) is not None:
                up.sendall(req)
                rep = self.read_msg(up)
                if rep is None:
                    return
                with self.lock:
                    self.replies.append(rep[4:])
                conn.sendall(rep)

    def mark(self) -> int:
        with self.lock:
            return len(self.replies)

    def errors_since(self, mark: int) -> list[bytes]:
        with self.lock:
            return [r for r in self.replies[mark:] if r[:1] == b"\x7e"]

    def close(self) -> None:
        self.sock.close()


# -------------------------------------------------------------------------------- the DC --

@dataclass
class Lab:
    tmp: Path
    template: Path
    relay: Relay
    log: Path        # the DC's samba.log
    conf: Path       # kdc = the DC, UDP first (what a default client does)
    capture: Path    # kdc = the relay; udp_preference_limit 1: TCP only
    aes_only: Path   # capture + permitted_enctypes AES only
    rc4_only: Path   # capture + permitted_enctypes RC4 only
    n: int = 0

    def ccache(self) -> str:
        self.n += 1
        return "FILE:%s/cc%d" % (self.tmp, self.n)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("samba")
    template = samba.prepare(CACHE)
    proc = samba.start(template, tmp / "run", DC_IP)
    relay = Relay(RELAY_IP, DC_IP)

    def conf(name: str, ip: str, *extra: str) -> Path:
        path = tmp / name
        path.write_text(samba.client_krb5_conf(ip, REALM, extra))
        return path
    tcp = ("udp_preference_limit = 1",)
    try:
        yield Lab(tmp=tmp, template=template, relay=relay, log=tmp / "run" / "samba.log",
                  conf=conf("krb5.conf", DC_IP),
                  capture=conf("capture.conf", RELAY_IP, *tcp),
                  aes_only=conf("aes-only.conf", RELAY_IP, *tcp, "permitted_enctypes = " + AES_ONLY),
                  rc4_only=conf("rc4-only.conf", RELAY_IP, *tcp, "permitted_enctypes = arcfour-hmac",
                                "allow_weak_crypto = true"))
    finally:
        relay.close()
        proc.terminate()
        proc.wait(10)


@dataclass
class Run:
    rc: int
    out: str
    err: str
    errors: list[KrbError]   # the KRB-ERRORs of the exchange, as the DC sent them (capture confs)
    raw: list[bytes]


def krb(lab: Lab, conf: Path, cmd: list[str], stdin: str = "", ccache: str | None = None) -> Run:
    """Run an MIT tool (kinit, kvno, klist) with ``conf``; collect the relayed KRB-ERRORs."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KRB5_CONFIG": str(conf),
           "KRB5CCNAME": ccache or lab.ccache()}
    mark = lab.relay.mark()
    p = subprocess.run([str(TOOLS / cmd[0]), *cmd[1:]], input=stdin, env=env, capture_output=True,
                       text=True, timeout=30, check=False)
    raw = lab.relay.errors_since(mark)
    return Run(p.returncode, p.stdout, p.stderr, [decode_krb_error(r) for r in raw], raw)


def kinit(lab: Lab, user: str, password: str = PASSWORD, conf: Path | None = None, *opts: str,
          ccache: str | None = None) -> Run:
    return krb(lab, conf or lab.capture, ["kinit", *opts, "%s@%s" % (user, REALM)], password + "\n", ccache)


def decisive(run: Run) -> int:
    """Index of the KRB-ERROR that decided the exchange: the last one that is not
    PREAUTH_REQUIRED (a step, not an outcome; a must-change kinit ends with the
    PREAUTH_REQUIRED of its kadmin/changepw request), else the last one."""
    steps = [i for i, e in enumerate(run.errors) if e.error_code != 25]
    return steps[-1] if steps else len(run.errors) - 1


def check_fixture(state: str, run: Run) -> KrbError:
    """The exchange's decisive KRB-ERROR against tests/fixtures/samba/<state>.krb-error.hex."""
    assert run.raw, "no KRB-ERROR was relayed: %s" % run.err
    i = decisive(run)
    got = run.errors[i]
    path = FIXTURES / ("%s.krb-error.hex" % state)
    if WRITE_FIXTURES:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        path.write_text(run.raw[i].hex() + "\n")
    stored = decode_krb_error(bytes.fromhex(path.read_text().strip()))
    assert (stored.error_code, stored.ntstatus, [t for t, _ in stored.padata], stored.realm) == \
        (got.error_code, got.ntstatus, [t for t, _ in got.padata], got.realm), path
    assert stored.sname == got.sname, path
    return got


# ------------------------------------------------------------------------------ the states --

@dataclass(frozen=True)
class State:
    """One account state: the user, what kinit prints, the KRB-ERROR and its NTSTATUS."""
    fixture: str
    user: str
    password: str
    error_code: int
    ntstatus: int | None
    kinit_says: str
    stdout_says: str = ""


STATES = [
    State("wrong-password", USER["healthy"], "not-the-password", 24, None,
          "kinit: Password incorrect while getting initial credentials"),
    State("unknown-client", "nosuchuser", PASSWORD, 6, None,
          "kinit: Client 'nosuchuser@%s' not found in Kerberos database while getting initial credentials"
          % REALM),
    State("disabled", USER["disabled"], PASSWORD, 18, 0xC0000072,
          "kinit: Client's credentials have been revoked while getting initial credentials"),
    State("account-expired", USER["account-expired"], PASSWORD, 18, 0xC0000193,
          "kinit: Client's credentials have been revoked while getting initial credentials"),
    # Samba 4.17 sends no NTSTATUS here (Windows sends STATUS_ACCOUNT_LOCKED_OUT): Heimdal's ENC-TS
    # pre-authentication refuses the locked-out client itself; see test_lockout_after_bad_passwords.
    State("locked-out", USER["locked-out"], PASSWORD, 18, None,
          "kinit: Client's credentials have been revoked while getting initial credentials"),
    State("password-must-change", USER["password-must-change"], PASSWORD, 23, 0xC0000224,
          "kinit: Cannot read password while getting initial credentials",
          "Password expired.  You must change it now.\nEnter new password: "),
    State("password-expired", USER["password-expired"], PASSWORD, 23, 0xC0000071,
          "kinit: Cannot read password while getting initial credentials",
          "Password expired.  You must change it now.\nEnter new password: "),
    State("logon-hours", USER["logon-hours"], PASSWORD, 18, 0xC000006F,
          "kinit: Client's credentials have been revoked while getting initial credentials"),
]


def test_healthy_kinit(lab: Lab) -> None:
    """awx gets a TGT from the DC directly over UDP, then TCP (the reply is too big for UDP)."""
    cc = lab.ccache()
    r = kinit(lab, "awx", conf=lab.conf, ccache=cc)
    assert r.rc == 0, r.err
    k = krb(lab, lab.conf, ["klist", "-e"], ccache=cc)
    assert "Default principal: awx@%s" % REALM in k.out
    assert re.search(r"krbtgt/%s@%s\n.*Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96"
                     % (REALM, REALM), k.out), k.out


def test_preauth_required(lab: Lab) -> None:
    """The first reply to every kinit: PREAUTH_REQUIRED with PA-ETYPE-INFO2, no NTSTATUS."""
    r = kinit(lab, "awx")
    assert r.rc == 0, r.err
    assert [e.error_code for e in r.errors] == [25]
    err = check_fixture("preauth-required", r)
    assert err.ntstatus is None and 19 in [t for t, _ in err.padata]


@pytest.mark.parametrize("state", STATES, ids=[s.fixture for s in STATES])
def test_account_state(lab: Lab, state: State) -> None:
    r = kinit(lab, state.user, state.password)
    assert r.rc == 1
    assert r.err.strip().splitlines()[-1] == state.kinit_says, r.err
    assert state.stdout_says in r.out if state.stdout_says else "Enter new password" not in r.out, r.out
    err = check_fixture(state.fixture, r)
    assert (err.error_code, err.ntstatus and err.ntstatus[0]) == (state.error_code, state.ntstatus), \
        (err, err.ntstatus_name)
    if state.ntstatus is not None:
        assert err.ntstatus == (state.ntstatus, 0, 1), err.ntstatus  # reserved 0, flags 1 as Windows


def test_lockout_after_bad_passwords(lab: Lab) -> None:
    """lockoutThreshold (3) wrong passwords lock `lockme`; then the right one is refused too."""
    threshold = samba.DEFAULT_SPEC.lockout_threshold
    for _ in range(threshold):
        r = kinit(lab, USER["lockable"], "wrong-again")
        assert (r.rc, r.errors[-1].error_code) == (1, 24), r.err
    r = kinit(lab, USER["lockable"])
    assert r.err.strip().endswith(
        "kinit: Client's credentials have been revoked while getting initial credentials")
    err = check_fixture("locked-out-after-bad-passwords", r)
    assert (err.error_code, err.ntstatus) == (18, None)   # as for `locked`: no NTSTATUS from Samba 4.17
    # ... although the DC knows it: Heimdal's check answered, Samba's audit names the NTSTATUS.
    log = lab.log.read_text(errors="replace")
    who = "%s@%s" % (USER["lockable"], REALM)
    assert "Kerberos: Client (%s) is locked out" % who in log
    assert re.search(r"Auth: \[Kerberos KDC,ENC-TS Pre-authentication\] user \[\(null\)\]\\\[%s\].*"
                     r"status \[NT_STATUS_ACCOUNT_LOCKED_OUT\]" % re.escape(who), log)


def test_protected_users_tgt(lab: Lab) -> None:
    """Protected Users: a 4 h TGT, not forwardable or renewable past 4 h even when asked."""
    def tgt(user: str) -> tuple[float, str, float]:
        cc = lab.ccache()
        r = kinit(lab, user, PASSWORD, lab.conf, "-f", "-l", "10h", "-r", "7d", ccache=cc)
        assert r.rc == 0, r.err
        k = krb(lab, lab.conf, ["klist", "-f"], ccache=cc).out
        m = re.search(r"(\S+ \S+)  (\S+ \S+)  krbtgt/\S+\n\trenew until (\S+ \S+), Flags: (\w+)", k)
        assert m, k
        start, end, renew = (time.mktime(time.strptime(m.group(i), "%m/%d/%y %H:%M:%S")) for i in (1, 2, 3))
        return end - start, m.group(4), renew - start
    def about(got: tuple[float, float], want: tuple[int, int]) -> bool:
        # klist shows whole seconds, and the KDC may cross a second between authtime and the
        # end it computes: 35999 s is a 10 h ticket.
        return all(abs(g - w) <= 1 for g, w in zip(got, want, strict=True))
    life, flags, renew = tgt(USER["healthy"])
    assert about((life, renew), (10 * 3600, 7 * 86400)), (life, renew)   # Samba's defaults: 10 h, 7 days
    assert "F" in flags, flags
    life, flags, renew = tgt(USER["protected-users"])
    assert about((life, renew), (4 * 3600, 4 * 3600)), (life, renew)
    assert "F" not in flags and "P" not in flags, flags


def test_protected_users_no_rc4(lab: Lab) -> None:
    """A Protected Users member cannot use RC4 at all; a normal user can (with a warning)."""
    r = kinit(lab, "awx", PASSWORD, lab.rc4_only)
    assert r.rc == 0 and "arcfour-hmac used for authentication is deprecated" in r.out + r.err, r.err
    r = kinit(lab, USER["protected-users"], PASSWORD, lab.rc4_only)
    assert r.err.strip().endswith(
        "kinit: KDC has no support for encryption type while getting initial credentials")
    err = check_fixture("protected-users-rc4", r)
    assert (err.error_code, err.ntstatus) == (14, None)


def service_ticket(lab: Lab, conf: Path, host: str, keytab: str | None = None) -> tuple[Run, str]:
    """kinit awx, kvno HTTP/<host> (verified with ``keytab`` when given); klist -ef."""
    cc = lab.ccache()
    assert kinit(lab, "awx", PASSWORD, conf, ccache=cc).rc == 0
    spn = "HTTP/%s.%s@%s" % (host, REALM.lower(), REALM)
    r = krb(lab, conf, ["kvno"] + (["-k", keytab] if keytab else []) + [spn], ccache=cc)
    return r, krb(lab, conf, ["klist", "-ef"], ccache=cc).out


def ticket_line(klist: str, host: str) -> str:
    m = re.search(r"HTTP/%s\.\S+\n\trenew until .*Flags: (\w+)\n\tEtype \(skey, tkt\): (.*)" % host, klist)
    assert m, klist
    return "flags=%s etypes=%s" % (m.group(1), m.group(2).strip())


@pytest.mark.parametrize("host,flags,etypes", [
    ("kuro-swin01", "RAT", "aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96"),
    ("kuro-swin02", "RAT", "DEPRECATED:arcfour-hmac, DEPRECATED:arcfour-hmac"),   # RC4 only
    ("kuro-swin03", "RATO", "aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96"),  # ok-as-delegate
    ("kuro-swin04", "RAT", "aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96"),
    # msDS-SupportedEncryptionTypes absent: AD's default since the 2022 updates, RC4 ticket, AES session key
    ("kuro-swin05", "RAT", "aes256-cts-hmac-sha1-96, DEPRECATED:arcfour-hmac"),
])
def test_service_ticket(lab: Lab, host: str, flags: str, etypes: str) -> None:
    """Each computer's ticket, decrypted with its exported keytab (kvno -k)."""
    keytab = str(lab.template / "keytabs" / ("%s.keytab" % host))
    r, klist = service_ticket(lab, lab.conf, host, keytab)
    assert r.rc == 0 and r.out.endswith(": kvno = 2, keytab entry valid\n"), r.out + r.err
    assert ticket_line(klist, host) == "flags=%s etypes=%s" % (flags, etypes)


def test_rc4_only_service_aes_only_client(lab: Lab) -> None:
    """An AES-only client (permitted_enctypes) cannot get a ticket for the RC4-only computer."""
    r, _ = service_ticket(lab, lab.aes_only, "kuro-swin02")
    assert r.rc == 1
    assert r.err.strip() == ("kvno: KDC has no support for encryption type while getting credentials for "
                             "HTTP/kuro-swin02.%s@%s" % (REALM.lower(), REALM))
    err = check_fixture("rc4-only-service-aes-only-client", r)
    assert (err.error_code, err.ntstatus, err.sname[0]) == (14, None, "HTTP")
    r, _ = service_ticket(lab, lab.aes_only, "kuro-swin01")
    assert r.rc == 0, r.err


def test_unknown_service(lab: Lab) -> None:
    """No computer has HTTP/kuro-swin99: S_PRINCIPAL_UNKNOWN from the TGS."""
    r, _ = service_ticket(lab, lab.capture, "kuro-swin99")
    assert r.err.strip() == ("kvno: Server not found in Kerberos database while getting credentials for "
                             "HTTP/kuro-swin99.%s@%s" % (REALM.lower(), REALM))
    err = check_fixture("unknown-service", r)
    assert (err.error_code, err.sname) == (7, ["HTTP", "kuro-swin99.%s" % REALM.lower()])


def test_fixture_readme_lists_every_fixture() -> None:
    """tests/fixtures/samba/README.md's table agrees with the hex files it describes."""
    readme = (FIXTURES / "README.md").read_text()
    rows = {m.group(1): (int(m.group(2)), m.group(3)) for m in
            re.finditer(r"^\| `([\w-]+)\.krb-error\.hex` \| (\d+) \S* \| (\S+) ", readme, re.M)}
    files = sorted(p.name.split(".")[0] for p in FIXTURES.glob("*.krb-error.hex"))
    assert sorted(rows) == files
    for name in files:
        err = decode_krb_error(bytes.fromhex((FIXTURES / ("%s.krb-error.hex" % name)).read_text().strip()))
        nt = "-" if err.ntstatus is None else "0x%08X" % err.ntstatus[0]
        assert rows[name] == (err.error_code, nt), name


# -------------------------------------------------------------------------------- krblab.samba --

def test_cli_start_runs_until_sigterm(tmp_path: Path) -> None:
    """`python3 -m krblab.samba start` serves in the foreground and exits 0 on SIGTERM."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "lab"))
    p = subprocess.Popen([sys.executable, "-m", "krblab.samba", "start", "--cache", str(CACHE), "--run",
                          str(tmp_path), "--ip", CLI_IP], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr is not None
        line = p.stderr.readline()
        assert line.startswith("samba: kdc %s:88 (udp+tcp) ready" % CLI_IP), line
        krb5 = tmp_path / "krb5.conf"
        k = subprocess.run([str(TOOLS / "kinit"), "awx@" + REALM], input=PASSWORD + "\n", capture_output=True,
                           text=True, env={"KRB5_CONFIG": str(krb5), "KRB5CCNAME": "FILE:%s/cc" % tmp_path},
                           check=False)
        assert k.returncode == 0, k.stderr
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_cli_help() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "lab"))
    r = subprocess.run([sys.executable, "-m", "krblab.samba", "--help"], env=env, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0 and "prepare" in r.stdout and "start" in r.stdout


def test_missing_package_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = ("samba-ad-provision", "/nonexistent/provision.ldif")
    monkeypatch.setattr(samba, "PACKAGES", (*samba.PACKAGES, missing))
    with pytest.raises(samba.SambaError, match=r"missing Debian package\(s\) samba-ad-provision "
                                               r"\(install them with scripts/install-deps.sh --lab\)"):
        samba.prepare(tmp_path)


def test_second_dc_on_a_busy_address_fails_clearly(lab: Lab, tmp_path: Path) -> None:
    with pytest.raises(samba.SambaError, match=r"something listens on 127\.0\.0\.60:88 already"):
        samba.start(lab.template, tmp_path, DC_IP)


def test_template_copy_is_fast(lab: Lab, tmp_path: Path) -> None:
    """What start adds to a test run: copying the template (the point of caching it)."""
    t0 = time.monotonic()
    shutil.copytree(lab.template, tmp_path / "copy")
    assert time.monotonic() - t0 < 1.0
