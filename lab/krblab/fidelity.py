"""krblab.fidelity - the fidelity matrix: krbprobe against the real client.

For every scenario of lab/scenarios.toml with `fidelity = true` (read resolved from
$KRBPROBE_LAB_SCENARIOS, which lab/run writes), run the toolchain an Ansible job
really runs side by side with krbprobe (the same `args`), and check that krbprobe
fails exactly when the real client fails, and that its first failing check names
the cause (the scenario's `expect` code); and that the real client still prints
what the scenario's `real` records (a scenario whose real client changed is
reported as REAL? and fails the run: the TOML is out of date).

The real client is the scenario's connection's (`--connection` in its args):
- winrm (the default): MIT kinit into a private FILE ccache (`kinit -f` with
  --delegate), then pywinrm with transport=kerberos (kerberos_delegation with
  --delegate), exactly as Ansible's winrm connection plugin drives them;
- psrp: no kinit; pypsrp's WSMan with the user and password (pyspnego gets the
  TGT in-process) and the plugin's defaults (auth negotiate, negotiate_service
  WSMAN before ansible-core 2.21 and host from 2.21, cert validation, message
  encryption auto), then RunspacePool(configuration_name=...).open() and close(),
  which is what ansible.builtin.psrp's _connect does before any task runs.

Run inside the lab with the pywinrm venv (stdlib + the venv's winrm):

    venv=$(lab/pywinrm-venv.sh)
    lab/run -q -- "$venv/bin/python" -m krblab.fidelity \\
        --krbprobe target/x86_64-unknown-linux-musl/debug/krbprobe --check
    lab/run -q -- "$venv/bin/python" -m krblab.fidelity --krbprobe BIN --write docs/failure-modes.md

Each scenario writes its krb5.conf to /etc/krb5.conf (the lab's /etc is a
private overlay; the host's /etc is never touched): Ansible's kinit gets no
KRB5_CONFIG, so /etc/krb5.conf is what counts for it, and krbprobe reads the
same file. Scenarios therefore run one after the other; within a scenario
krbprobe and the real client run at the same time (same file, independent
processes). The lab's own /etc/krb5.conf is restored at the end.

Output: one line per scenario, the timing comparison on the healthy
scenario, and `N passed, M failed` (passed = scenarios where krbprobe agrees
with the real client). Exit status 1 on any disagreement; with --check also
when docs/failure-modes.md is not what --write would generate.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

REALM = os.environ.get("KRBPROBE_LAB_REALM", "KUROKOBO.INTERNAL")
DOMAIN = os.environ.get("KRBPROBE_LAB_DOMAIN", "kurokobo.internal")
TOOLS = os.environ.get("KRBPROBE_LAB_TOOLS", "")
CA_CERT = os.environ.get("KRBPROBE_LAB_CA_CERT", "")
KEYTAB = os.environ.get("KRBPROBE_LAB_KEYTAB", "")
KRB5_CONF = "/etc/krb5.conf"
DOC_PATH = "docs/failure-modes.md"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Time limits for the real client. kinit against a KDC whose packets are
# dropped gives up after ~18 s by itself; pywinrm's connect timeout is its
# read_timeout_sec, 30 s by default (Ansible sets none unless
# ansible_winrm_connection_timeout is given).
KINIT_LIMIT = 60
PYWINRM_LIMIT = 90
KRBPROBE_LIMIT = 60


def host(name: str) -> str:
    return "%s.%s" % (name, DOMAIN)


DEFAULT = "<the lab's /etc/krb5.conf>"
MISSING = "<no /etc/krb5.conf>"


@dataclasses.dataclass
class Connection:
    """The Ansible connection a scenario's krbprobe args describe, as the real client is set up."""

    name: str = "winrm"                        # ansible_connection
    delegate: bool = False                     # ansible_winrm_kerberos_delegation / psrp_negotiate_delegate
    auth: str = "negotiate"                    # ansible_psrp_auth
    configuration_name: str = "Microsoft.PowerShell"
    message_encryption: str = "auto"           # ansible_psrp_message_encryption
    ansible_core: str = ""                     # --ansible-core; "" = before 2.21

    @property
    def negotiate_service(self) -> str:
        """ansible_psrp_negotiate_service's default: WSMAN up to ansible-core 2.20, host from 2.21."""
        if not self.ansible_core:
            return "WSMAN"
        major, minor = (int(x) for x in self.ansible_core.split(".")[:2])
        return "host" if (major, minor) >= (2, 21) else "WSMAN"


# krbprobe options the real client mirrors (each takes a value unless listed in FLAGS).
CONNECTION_OPTIONS = {"--connection": "name", "--psrp-auth": "auth", "--configuration-name":
                      "configuration_name", "--message-encryption": "message_encryption",
                      "--ansible-core": "ansible_core", "--delegate": "delegate"}
FLAGS = {"--delegate"}


def connection_of(args: list[str], where: str) -> Connection:
    """The connection settings in a scenario's krbprobe args. An option the real client cannot
    mirror is an error: krbprobe and the real client would not be doing the same thing."""
    c = Connection()
    i = 0
    while i < len(args):
        opt = args[i]
        if opt not in CONNECTION_OPTIONS:
            raise ValueError("%s: args %s: the real client has no counterpart (fidelity = false?)"
                             % (where, opt))
        if opt in FLAGS:
            setattr(c, CONNECTION_OPTIONS[opt], True)
            i += 1
            continue
        if i + 1 >= len(args):
            raise ValueError("%s: args %s without a value" % (where, opt))
        setattr(c, CONNECTION_OPTIONS[opt], args[i + 1])
        i += 2
    if c.name not in ("winrm", "psrp"):
        raise ValueError("%s: --connection %s" % (where, c.name))
    return c


@dataclasses.dataclass
class Scenario:
    """One entry of lab/scenarios.toml, as krblab.plan resolved it into scenarios.json."""

    id: str
    title: str
    expect: str | None            # krbprobe's first failing code; None: both pass
    real_expect: str                 # a part of what the real client prints; "works"
    target: str
    user: str
    password: str
    conf: str                        # text of /etc/krb5.conf, DEFAULT or MISSING
    port: int = 5985
    ca: bool = False                 # trust the lab CA (ansible_winrm_ca_trust_path)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    # "managed": Ansible runs kinit (ansible_winrm_kinit_mode: managed, the
    # default with a password). "manual": Ansible runs no kinit; pywinrm uses
    # the job's KRB5CCNAME, made by `ccache` (a function of a cache path).
    kinit_mode: str = "managed"
    ccache: Callable[[str], None] | None = None
    note: str = ""
    args: list[str] = dataclasses.field(default_factory=list)   # extra krbprobe arguments
    conn: Connection = dataclasses.field(default_factory=Connection)
    samba: bool = False              # against the Samba AD DC's realm (else the MIT KDC's)

    @property
    def kdc(self) -> str:
        return "Samba AD" if self.samba else "MIT"

    @property
    def scheme(self) -> str:
        # Ansible's winrm connection: https unless the port is 5985.
        return "http" if self.port == 5985 else "https"

    @property
    def endpoint(self) -> str:
        return "%s://%s:%d/wsman" % (self.scheme, self.target, self.port)


def ccache_of_other_principal(path: str) -> None:
    """A FILE cache holding a TGT of another principal (HTTP/kuro-win01, from
    the lab's service keytab), as left behind by an earlier manual kinit."""
    env = {"PATH": PATH, "KRB5CCNAME": "FILE:" + path}
    p = subprocess.run([os.path.join(TOOLS, "kinit"), "-k", "-t", KEYTAB, "HTTP/" + host("kuro-win01")],
                       env=env, capture_output=True, timeout=KINIT_LIMIT, check=False)
    if p.returncode != 0:
        raise RuntimeError("cannot prepare the foreign ccache: " + p.stderr.decode(errors="replace"))


CCACHES: dict[str, Callable[[str], None]] = {"other-principal": ccache_of_other_principal}


def load_scenarios(path: str) -> list[Scenario]:
    """The scenarios of lab/scenarios.toml with `fidelity = true`, in file order."""
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    out = []
    for d in doc["scenarios"]:
        if not d["fidelity"]:
            continue
        conf_path = d["krb5_conf"]
        if conf_path is None:
            conf = DEFAULT
        elif not os.path.exists(conf_path):
            conf = MISSING
        else:
            with open(conf_path, encoding="utf-8") as fh:
                conf = fh.read()
        out.append(Scenario(
            id=d["id"], title=d["title"], expect=d["expect"] or None, real_expect=d["real"],
            target=d["target"], user=d["user"], password=d["password"], conf=conf, port=d["port"],
            ca=d["ca"], env=d["env"], kinit_mode="manual" if d["ccache"] else "managed",
            ccache=CCACHES[d["ccache"]] if d["ccache"] else None, note=d["note"],
            samba=bool(d.get("samba", False)),
            args=list(d["args"]), conn=connection_of(list(d["args"]), d["id"])))
    return out


# ---------------------------------------------------------------- the real client

def client_main() -> int:
    """Child process: pywinrm as Ansible drives it. Parameters as JSON on
    stdin, result as JSON on stdout."""
    import warnings
    warnings.simplefilter("ignore")
    p = json.load(sys.stdin)
    out: dict[str, Any]
    try:
        import winrm
        kwargs: dict[str, Any] = {"transport": "kerberos", "message_encryption": "auto",
                                  "server_cert_validation": "validate"}
        if p["ca"]:
            kwargs["ca_trust_path"] = p["ca"]
        if p["delegate"]:
            kwargs["kerberos_delegation"] = True     # ansible_winrm_kerberos_delegation
        r = winrm.Session(p["endpoint"], auth=(p["user"], p["password"]), **kwargs).run_cmd("ipconfig")
        if r.status_code == 0:
            out = {"ok": True}
        else:
            out = {"ok": False, "exc": "(exit status)", "message": "run_cmd status %d" % r.status_code}
    except Exception as e:  # noqa: BLE001 - every failure is a finding
        cls = type(e)
        out = {"ok": False, "exc": "%s.%s" % (cls.__module__, cls.__qualname__), "message": str(e)}
    json.dump(out, sys.stdout)
    return 0


def psrp_client_main() -> int:
    """Child process: pypsrp as ansible.builtin.psrp's _connect drives it (its _build_kwargs with
    the options' defaults). Parameters as JSON on stdin, result as JSON on stdout. `wrap` says
    which of the plugin's except clauses the exception falls into (what Ansible prints)."""
    import warnings
    warnings.simplefilter("ignore")
    p = json.load(sys.stdin)
    out: dict[str, Any]
    try:
        from pypsrp.exceptions import AuthenticationError, WinRMError
        from pypsrp.host import PSHost, PSHostUserInterface
        from pypsrp.powershell import RunspacePool
        from pypsrp.wsman import WSMan
        from requests.exceptions import ConnectionError as RequestsConnectionError
        from requests.exceptions import ConnectTimeout
    except ImportError as e:
        json.dump({"ok": False, "exc": "ImportError", "message": str(e), "wrap": "other"}, sys.stdout)
        return 0
    https = p["port"] != 5985          # the plugin: protocol https unless the port is 5985
    conn = WSMan(server=p["target"], port=p["port"], username=p["user"], password=p["password"] or None,
                 ssl=https, path="wsman", auth=p["auth"], cert_validation=p["ca"] or True,
                 connection_timeout=30, encryption=p["message_encryption"], proxy=None, no_proxy=False,
                 max_envelope_size=153600, operation_timeout=20, read_timeout=30, reconnection_retries=0,
                 reconnection_backoff=2.0, certificate_key_pem=None, certificate_pem=None,
                 credssp_auth_mechanism="auto", credssp_disable_tlsv1_2=False, credssp_minimum_version=2,
                 negotiate_send_cbt=True, negotiate_delegate=p["delegate"] or None,
                 negotiate_hostname_override=None, negotiate_service=p["negotiate_service"])
    host_ui = PSHostUserInterface()
    ps_host = PSHost(None, None, False, "Ansible PSRP Host", None, host_ui, None)
    pool = RunspacePool(conn, host=ps_host, configuration_name=p["configuration_name"])
    try:
        pool.open()
        pool.close()
        out = {"ok": True}
    except Exception as e:  # noqa: BLE001 - every failure is a finding
        cls = type(e)
        if isinstance(e, AuthenticationError):
            wrap = "auth"
        elif isinstance(e, WinRMError):
            wrap = "winrm"
        elif isinstance(e, (RequestsConnectionError, ConnectTimeout)):
            wrap = "connect"
        else:
            wrap = "other"
        out = {"ok": False, "exc": "%s.%s" % (cls.__module__, cls.__qualname__), "message": str(e),
               "wrap": wrap}
    json.dump(out, sys.stdout)
    return 0


@dataclasses.dataclass
class Real:
    ok: bool
    stage: str = ""      # "kinit", "pywinrm" or "pypsrp"
    exc: str = ""        # exception class (pywinrm, pypsrp) or "" (kinit)
    message: str = ""
    seconds: float = 0.0
    user: str = ""       # the principal (Ansible's kinit failure names it)
    wrap: str = ""       # pypsrp: which except clause of the psrp plugin catches it


def redact(text: str, password: str) -> str:
    return text.replace(password, "<redacted>") if password else text


def run_real(s: Scenario, workdir: str) -> Real:
    r = run_real_psrp(s, workdir) if s.conn.name == "psrp" else run_real_winrm(s, workdir)
    r.user = s.user
    return r


def run_child(entry: str, stage: str, params: dict[str, Any], env: dict[str, str], s: Scenario,
              t0: float) -> Real:
    """Run this file's client ENTRY (_client, _psrp_client) in a child with ENV."""
    try:
        c = subprocess.run([sys.executable, os.path.abspath(__file__), entry],
                           input=json.dumps(params).encode(), env={**env, **s.env},
                           capture_output=True, timeout=PYWINRM_LIMIT, check=False)
    except subprocess.TimeoutExpired:
        return Real(False, stage, "", "(no answer within %d s)" % PYWINRM_LIMIT, time.monotonic() - t0)
    secs = time.monotonic() - t0
    try:
        r = json.loads(c.stdout)
    except ValueError:
        tail = c.stderr.decode(errors="replace")[-500:]
        return Real(False, stage, "(crashed)", redact(tail, s.password), secs)
    if r["ok"]:
        return Real(True, stage, seconds=secs)
    return Real(False, stage, r["exc"], redact(r["message"], s.password), secs, wrap=r.get("wrap", ""))


def run_real_psrp(s: Scenario, workdir: str) -> Real:
    """pypsrp in a stripped environment: PATH and a KRB5CCNAME naming a fresh, empty FILE cache
    (pyspnego keeps the TGT it gets from the password in memory; it never reads that cache)."""
    t0 = time.monotonic()
    fd, cc = tempfile.mkstemp(prefix="ansible-psrp-cc-", dir=workdir)
    os.close(fd)
    os.unlink(cc)
    env = {"PATH": PATH, "KRB5CCNAME": "FILE:" + cc}
    params = {"target": s.target, "port": s.port, "user": s.user, "password": s.password,
              "ca": CA_CERT if s.ca else None, "auth": s.conn.auth,
              "configuration_name": s.conn.configuration_name,
              "message_encryption": s.conn.message_encryption, "delegate": s.conn.delegate,
              "negotiate_service": s.conn.negotiate_service}
    return run_child("_psrp_client", "pypsrp", params, env, s, t0)


def run_real_winrm(s: Scenario, workdir: str) -> Real:
    t0 = time.monotonic()
    fd, cc = tempfile.mkstemp(prefix="ansible-krb5cc-", dir=workdir)  # Ansible: NamedTemporaryFile()
    os.close(fd)
    env = {"PATH": PATH, "KRB5CCNAME": "FILE:" + cc}
    if s.kinit_mode == "managed":
        # ansible_winrm_kerberos_delegation without kinit_args: kinit -f <user>.
        kinit = [os.path.join(TOOLS, "kinit")] + (["-f"] if s.conn.delegate else []) + [s.user]
        try:
            k = subprocess.run(kinit, input=s.password.encode() + b"\n",
                               env=env, capture_output=True, timeout=KINIT_LIMIT, check=False)
        except subprocess.TimeoutExpired:
            return Real(False, "kinit", "", "(no answer within %d s)" % KINIT_LIMIT, time.monotonic() - t0)
        if k.returncode != 0:
            msg = redact(k.stderr.decode(errors="replace").strip(), s.password)
            return Real(False, "kinit", "", msg, time.monotonic() - t0)
    else:
        assert s.ccache is not None
        s.ccache(cc)
        t0 = time.monotonic()
    params = {"endpoint": s.endpoint, "user": s.user, "password": s.password,
              "ca": CA_CERT if s.ca else None, "delegate": s.conn.delegate}
    return run_child("_client", "pywinrm", params, env, s, t0)


# ---------------------------------------------------------------- krbprobe

@dataclasses.dataclass
class Probe:
    verdict: str                      # pass / fail / error
    exit: int
    first: dict[str, Any] | None   # first failing check
    warns: list[str]
    seconds: float
    raw: str = ""


def run_krbprobe(binary: str, s: Scenario, workdir: str) -> Probe:
    args = [binary, "--format", "json", "--timeout", "2s", "-u", s.user]
    if s.port != 5985:
        args += ["--port", str(s.port)]
    if s.ca:
        args += ["--ca-file", CA_CERT]
    args += s.args
    args.append(s.target)
    env = {"PATH": PATH, **s.env}
    if s.kinit_mode == "managed":
        env["KRBPROBE_PASSWORD"] = s.password
    else:
        assert s.ccache is not None
        fd, cc = tempfile.mkstemp(prefix="krbprobe-cc-", dir=workdir)
        os.close(fd)
        s.ccache(cc)
        env["KRB5CCNAME"] = "FILE:" + cc
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, env=env, capture_output=True, timeout=KRBPROBE_LIMIT, check=False,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Probe("error", -1, None, [], time.monotonic() - t0, "timed out after %d s" % KRBPROBE_LIMIT)
    secs = time.monotonic() - t0
    out = p.stdout.decode(errors="replace")
    try:
        report = json.loads(out)
    except ValueError:
        return Probe("error", p.returncode, None, [], secs, (out + p.stderr.decode(errors="replace"))[-500:])
    checks = report.get("checks", [])
    first = next((c for c in checks if c.get("status") == "fail"), None)
    warns = [c.get("code", "") for c in checks if c.get("status") == "warn"]
    verdict = report.get("verdict", "?")
    if (verdict == "pass") != (p.returncode == 0):
        # The exit status is what a playbook task looks at: it must say the same.
        why = "verdict %s but exit status %d" % (verdict, p.returncode)
        return Probe("error", p.returncode, first, warns, secs, why)
    return Probe(verdict, p.returncode, first, warns, secs)


# ---------------------------------------------------------------- the matrix

@dataclasses.dataclass
class Result:
    s: Scenario
    real: Real
    probe: Probe

    @property
    def real_as_expected(self) -> bool:
        """The real client still prints what scenarios.toml records (`real = ...`)."""
        if self.s.real_expect == "works":
            return self.real.ok
        return not self.real.ok and self.s.real_expect in shorten(self.real)

    @property
    def agrees(self) -> bool:
        if self.real.ok != (self.probe.verdict == "pass"):
            return False
        if self.real.ok:
            return True
        return self.probe.first is not None and self.probe.first.get("code") == self.s.expect

    @property
    def probe_code(self) -> str:
        return self.probe.first.get("code", "?") if self.probe.first else ""


def install_conf(s: Scenario, healthy: str) -> None:
    if os.path.lexists(KRB5_CONF):
        os.unlink(KRB5_CONF)   # never write through a symlink
    if s.conf == MISSING:
        return
    with open(KRB5_CONF, "w", encoding="utf-8") as f:
        f.write(healthy if s.conf == DEFAULT else s.conf)


def run_scenario(binary: str, s: Scenario, healthy: str, workdir: str) -> Result:
    install_conf(s, healthy)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        real = pool.submit(run_real, s, workdir)
        probe = pool.submit(run_krbprobe, binary, s, workdir)
        return Result(s, real.result(), probe.result())


def timing(s: Scenario, binary: str, healthy: str, workdir: str, runs: int = 5) -> tuple[float, float]:
    install_conf(s, healthy)
    probe, real = [], []
    for _ in range(runs):
        p = run_krbprobe(binary, s, workdir)
        if p.verdict != "pass":
            raise RuntimeError("healthy krbprobe run failed during timing: %s" % p.raw)
        probe.append(p.seconds)
        r = run_real(s, workdir)
        if not r.ok:
            raise RuntimeError("healthy real client failed during timing: %s" % r.message)
        real.append(r.seconds)
    return statistics.median(probe), statistics.median(real)


# ---------------------------------------------------------------- texts

def shorten(real: Real) -> str:
    """What Ansible/pywinrm prints, shortened to what names the cause and
    stripped of anything that changes from run to run."""
    if real.ok:
        if real.stage == "pypsrp":
            return "works (runspace pool opened and closed)"
        return "works (`run_cmd` exit status 0)"
    if real.stage == "kinit":
        text = " / ".join(part.strip() for part in real.message.splitlines() if part.strip())
        return text if text.startswith("kinit: ") else "kinit: " + text
    msg = real.message
    cls = real.exc.rsplit(".", 1)[-1]
    m = re.search(r"^(authGSSClient\w+\(\) failed): .*\((['\"])(.*?)\2, -?\d+\)\)$", msg)
    if m:
        msg = "%s: %s" % (m.group(1), m.group(3))
    m = re.match(r"\w+ConnectionPool\(host='[^']*', port=\d+\): "
                 r"Max retries exceeded with url: \S+ \(Caused by (.*)\)$", msg, re.S)
    if m:
        inner = m.group(1)
        inner = re.sub(r"<[^<>]* at 0x[0-9a-f]+>, ", "", inner)
        inner = re.sub(r"\w+Connection\(host='[^']*', port=\d+\): ", "", inner)
        msg = "Max retries exceeded (Caused by " + inner + ")"
    m = re.match(r"(.*?) \(extended fault data: .*'wsmanfault_code': (\d+).*'fault_subcode': '([^']*)'", msg)
    if m:
        msg = "%s(fault %s, code %s)" % (m.group(1), m.group(3), m.group(2))
    msg = re.sub(r" at 0x[0-9a-f]+", "", msg)
    return "%s: %s" % (cls, msg)


# ansible-core versions whose wording differs, newest first: (label, pexpect-era kinit wording,
# the psrp plugin's wording of an exception it does not catch).
ANSIBLE_VERSIONS = (("ansible-core 2.19 and later", False, "Unexpected failure during task execution"),
                    ("ansible-core 2.18 and older", True, "Unexpected failure during module execution"))

# ansible.builtin.psrp's _connect: which except clause catches which pypsrp/requests exception.
PSRP_WRAP = {"auth": ("UNREACHABLE", "failed to authenticate with the server: "),
             "winrm": ("UNREACHABLE", "psrp connection failure during runspace open: "),
             "connect": ("UNREACHABLE", "Failed to connect to the host via PSRP: ")}


def ansible_text(real: Real, pexpect_era: bool, unexpected: str) -> str:
    """What the task result's msg says, by the connection plugin's own wording."""
    if real.ok:
        return "ok"
    short = shorten(real)
    if real.stage == "kinit":
        stderr = " / ".join(part.strip() for part in real.message.splitlines() if part.strip())
        if pexpect_era:
            # pexpect absent (the EE's default); with pexpect: `... with pexpect:` and kinit's
            # stdout and stderr after the prompt.
            return ("UNREACHABLE: Kerberos auth failure for principal %s with subprocess: %s"
                    % (real.user, stderr))
        return "UNREACHABLE: Kerberos auth failure for principal %s: %s" % (real.user, stderr)
    if real.stage == "pypsrp":
        message = short.split(": ", 1)[1] if ": " in short else short
        if real.wrap in PSRP_WRAP:
            status, prefix = PSRP_WRAP[real.wrap]
            return "%s: %s%s" % (status, prefix, message)
        return "FAILED: %s: %s" % (unexpected, message)
    # winrm: errors.append('%s: %s' % (transport, err_msg)), a 401 as the fixed sentence.
    message = short.split(": ", 1)[1] if ": " in short else short
    if re.search(r"Operation\s+?timed\s+?out", real.message, re.I):
        return "FAILED: the connection attempt timed out"
    return "UNREACHABLE: kerberos: %s" % message


def dist_version(name: str) -> str:
    try:
        import importlib.metadata
        return importlib.metadata.version(name)
    except Exception:  # noqa: BLE001 - only a label
        return "(version unknown)"


def pywinrm_version() -> str:
    return dist_version("pywinrm")


def md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def counts(results: list[Result], connection: str, kdc: str = "") -> tuple[int, int]:
    """(agreeing, all) scenarios of CONNECTION (and of KDC, "MIT" or "Samba AD", if given)."""
    mine = [r for r in results if r.s.conn.name == connection and kdc in ("", r.s.kdc)]
    return sum(r.agrees for r in mine), len(mine)


def by_kdc(results: list[Result], connection: str) -> str:
    """ "MIT a of b, Samba AD c of d" for CONNECTION's scenarios."""
    return ", ".join("%s %d of %d" % (kdc, *counts(results, connection, kdc)) for kdc in ("MIT", "Samba AD"))


def ansible_cell(r: Result) -> str:
    """What Ansible prints, per ansible-core version where the wording differs."""
    texts = [(label, ansible_text(r.real, pexpect_era, unexpected))
             for label, pexpect_era, unexpected in ANSIBLE_VERSIONS]
    if all(t == texts[0][1] for _, t in texts):
        return "`%s`" % texts[0][1]
    return "<br>".join("%s: `%s`" % (label, t) for label, t in texts)


def probe_cells(r: Result) -> tuple[str, str]:
    if r.probe.verdict == "pass":
        kp = "pass"
        if r.probe.warns:
            kp += " (warn %s)" % ", ".join("`%s`" % w for w in r.probe.warns)
        return kp, ""
    if r.probe.first is not None:
        f = r.probe.first
        kp = "`%s`%s: `%s`" % (f.get("id", "?"), " (%s)" % f["target"] if f.get("target") else "",
                                f.get("code", "?"))
        return kp, f.get("hint") or ""
    return "(no report: %s)" % r.probe.verdict, ""


def table(results: list[Result], client: str) -> list[str]:
    out = ["| scenario | %s | Ansible's task result | krbprobe (first failure) | hint | agrees |" % client,
           "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        s = r.s
        scen = "`%s`: %s" % (s.id, s.title)
        if s.samba:
            scen += " [Samba AD DC]"
        if s.args:
            scen += " (`%s`)" % " ".join(s.args)
        if s.note:
            scen += " (%s)" % s.note
        kp, hint = probe_cells(r)
        if r.agrees:
            ok = "yes"
        else:
            ok = "**no** (expected %s)" % ("pass" if r.s.expect is None else "`%s`" % r.s.expect)
        out.append("| %s | %s | %s | %s | %s | %s |" % (md(scen), md(shorten(r.real)), md(ansible_cell(r)),
                                                         md(kp), md(hint), ok))
    return out


def render_doc(results: list[Result]) -> str:
    passed = sum(r.agrees for r in results)
    winrm_ok, winrm_n = counts(results, "winrm")
    psrp_ok, psrp_n = counts(results, "psrp")
    out = [
        "# Failure modes: what Ansible prints, what krbprobe says",
        "",
        "Generated by `lab/krblab/fidelity.py` (the fidelity matrix) from the scenarios of",
        "[lab/scenarios.toml](../lab/scenarios.toml); do not edit by hand. Regenerate with:",
        "",
        "```sh",
        "venv=$(lab/pywinrm-venv.sh)",
        "lab/run -q -- \"$venv/bin/python\" -m krblab.fidelity \\",
        "    --krbprobe target/x86_64-unknown-linux-musl/debug/krbprobe --write docs/failure-modes.md",
        "```",
        "",
        "(`--check` instead of `--write` fails when this file is out of date; `scripts/test.sh` runs it.)",
        "",
        "Every row is one scenario in the lab ([lab/README.md](../lab/README.md)), run twice side by",
        "side (the codes are explained in [checks.md](checks.md)):",
        "",
        "- **The real client, as an Ansible job runs it**, in a stripped environment (only `PATH` and",
        "  `KRB5CCNAME=FILE:<fresh temp file>`, no `KRB5_CONFIG`, so `/etc/krb5.conf` counts):",
        "  - the **winrm** connection: MIT `kinit <user>` (`kinit -f` with delegation) with the",
        "    password on stdin, then pywinrm %s" % pywinrm_version(),
        "    `winrm.Session(<scheme>://<target>:<port>/wsman,",
        "    transport='kerberos', message_encryption='auto', server_cert_validation='validate')`",
        "    (`kerberos_delegation=True` with delegation) and `run_cmd('ipconfig')`;",
        "  - the **psrp** connection: no kinit (pyspnego gets the TGT from the password in-process),",
        "    pypsrp %s" % dist_version("pypsrp"),
        "    `WSMan(...)` with ansible.builtin.psrp's defaults (auth `negotiate`,",
        "    negotiate_service `WSMAN` before ansible-core 2.21 and `host` from 2.21, https with",
        "    certificate validation on 5986, message_encryption `auto`, the scenario's",
        "    `--psrp-auth`, `--configuration-name`, `--message-encryption`, `--delegate`), then",
        "    `RunspacePool(configuration_name=...)` opened and closed: the plugin's `_connect`.",
        "",
        "  The second column is kinit's stderr or the client's exception class and message",
        "  (shortened). The third is what the task result says (`UNREACHABLE!` or `FAILED!`), in the",
        "  plugin's words, which depend on the ansible-core version where the cell shows two lines:",
        "  - winrm: a kinit failure reads `Kerberos auth failure for principal <user>: <kinit stderr>`",
        "    from ansible-core 2.19 on (which dropped pexpect and always pipes the password to kinit);",
        "    in 2.18 and older `... for principal <user> with subprocess: <kinit stderr>`, or, when",
        "    pexpect is importable, `... with pexpect: <kinit's stdout and stderr after the prompt>`",
        "    (ansible-runner depends on pexpect, so that is what AWX jobs on 2.18 print; the table",
        "    shows the subprocess text, which is kinit's stderr exactly);",
        "    a pywinrm failure reads `kerberos: <message>` (a 401 as `the specified credentials were",
        "    rejected by the server`) in every version.",
        "  - psrp: `failed to authenticate with the server: ` (pypsrp's AuthenticationError),",
        "    `psrp connection failure during runspace open: ` (WinRMError, WSManFaultError),",
        "    `Failed to connect to the host via PSRP: ` (requests' ConnectionError) in every version;",
        "    any other exception (pyspnego's SpnegoError, a read timeout) is not caught by the plugin",
        "    and reads `Unexpected failure during module execution: <message>` up to 2.18 and",
        "    `Unexpected failure during task execution: <message>` (the causes' messages appended)",
        "    from 2.19.",
        "- **krbprobe** with the same user, password, target, port, CA, environment and the",
        "  scenario's arguments: `krbprobe --format json --timeout 2s -u <user> [args] <target>`; the",
        "  column shows its first failing check and code, and the hint it prints.",
        "",
        "Rows marked [Samba AD DC] run against the lab's Samba 4.17 AD DC (realm",
        "SAMBA.KUROKOBO.INTERNAL: Active Directory's own account checks, NTSTATUS, enctypes and",
        "delegation flags); the others against its MIT KDC, which imitates AD with kadmin flags.",
        "",
        "A scenario agrees when krbprobe fails exactly when the real client fails and, if both fail,",
        "krbprobe's first failing code is the one that names the cause (the `expected` code).",
        "",
        "**Agreement: %d of %d scenarios (winrm: %d of %d, psrp: %d of %d; against the MIT KDC %d of"
        " %d, against the Samba AD DC %d of %d).**"
        % (passed, len(results), winrm_ok, winrm_n, psrp_ok, psrp_n,
           sum(r.agrees for r in results if not r.s.samba), sum(not r.s.samba for r in results),
           sum(r.agrees for r in results if r.s.samba), sum(r.s.samba for r in results)),
        "",
        "## The winrm connection (kinit + pywinrm)",
        "",
        "**%d of %d agree** (%s)." % (winrm_ok, winrm_n, by_kdc(results, "winrm")),
        "",
    ]
    out += table([r for r in results if r.s.conn.name == "winrm"], "kinit / pywinrm")
    out += ["", "## The psrp connection (pypsrp + pyspnego)", "",
            "**%d of %d agree** (%s)." % (psrp_ok, psrp_n, by_kdc(results, "psrp")), ""]
    out += table([r for r in results if r.s.conn.name == "psrp"], "pypsrp")
    out.append("")
    return "\n".join(out)


def line(r: Result) -> str:
    real = "ok" if r.real.ok else shorten(r.real)
    if r.probe.verdict == "pass":
        probe = "pass" + (" (warn %s)" % ",".join(r.probe.warns) if r.probe.warns else "")
    elif r.probe.first:
        probe = "fail %s/%s: %s" % (r.probe.first.get("id"), r.probe.first.get("code"),
                                    r.probe.first.get("summary", ""))
    else:
        probe = "%s (exit %d) %s" % (r.probe.verdict, r.probe.exit, r.probe.raw)
    tag = "AGREE   " if r.agrees else "DISAGREE"
    if r.agrees and not r.real_as_expected:
        tag = "REAL?   "   # both agree, but the real client no longer prints what the TOML says
    exp = r.s.expect or "pass"
    return "%s %-24s expect %-27s real: %s | krbprobe: %s  [%.1fs / %.1fs]" % (
        tag, r.s.id, exp, real[:160], probe[:200], r.real.seconds, r.probe.seconds)


# ---------------------------------------------------------------- main

def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_client":
        return client_main()
    if len(sys.argv) > 1 and sys.argv[1] == "_psrp_client":
        return psrp_client_main()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--krbprobe", required=True, help="the krbprobe binary")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="also fail when %s is out of date" % DOC_PATH)
    mode.add_argument("--write", metavar="FILE", help="write the failure-mode table (docs/failure-modes.md)")
    ap.add_argument("--only", action="append", metavar="ID",
                    help="run only these scenarios (no doc check/write)")
    ap.add_argument("--no-timing", action="store_true", help="skip the healthy-scenario timing comparison")
    a = ap.parse_args()

    if os.environ.get("KRBPROBE_LAB") != "1":
        print("fidelity.py: not inside the lab: run it as "
              "lab/run -q -- VENV/bin/python -m krblab.fidelity ...", file=sys.stderr)
        return 2
    binary = os.path.abspath(a.krbprobe)
    if not os.access(binary, os.X_OK):
        print("fidelity.py: %s is not an executable (cargo build?)" % binary, file=sys.stderr)
        return 2
    scenarios = load_scenarios(os.environ["KRBPROBE_LAB_SCENARIOS"])
    ids = [s.id for s in scenarios]
    todo = scenarios
    if a.only:
        unknown = set(a.only) - set(ids)
        if unknown:
            print("fidelity.py: unknown scenario(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
            return 2
        todo = [s for s in scenarios if s.id in a.only]

    with open(KRB5_CONF, encoding="utf-8") as f:
        healthy = f.read()
    started = time.monotonic()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="fidelity-") as workdir:
            for s in todo:
                r = run_scenario(binary, s, healthy, workdir)
                results.append(r)
                print(line(r), flush=True)
            times: list[tuple[str, float, float]] = []
            if not a.no_timing:
                # The first scenario of each connection is its healthy one.
                for name, client in (("winrm", "kinit+pywinrm"), ("psrp", "pypsrp")):
                    first = next((s for s in scenarios if s.conn.name == name), None)
                    if first is not None:
                        times.append((client, *timing(first, binary, healthy, workdir)))
    finally:
        with open(KRB5_CONF + ".fidelity-tmp", "w", encoding="utf-8") as f:
            f.write(healthy)
        os.replace(KRB5_CONF + ".fidelity-tmp", KRB5_CONF)
    elapsed = time.monotonic() - started

    for client, probe_s, real_s in times:
        print("timing (healthy, median of 5): krbprobe %.2f s, %s %.2f s" % (probe_s, client, real_s))
    print("matrix: %d scenarios in %.0f s" % (len(results), elapsed))
    for name in ("winrm", "psrp"):
        ok, n = counts(results, name)
        print("%s: %d of %d agree (%s)" % (name, ok, n, by_kdc(results, name)))
    passed = sum(r.agrees and r.real_as_expected for r in results)
    failed = len(results) - passed
    stale = [r.s.id for r in results if r.agrees and not r.real_as_expected]
    if stale:
        print("the real client no longer prints what lab/scenarios.toml records (real = ...) in: %s"
              % ", ".join(stale))
    status = 0 if failed == 0 else 1

    if not a.only:
        doc = render_doc(results)
        if a.write:
            with open(a.write, "w", encoding="utf-8") as f:
                f.write(doc)
            print("wrote %s" % a.write)
        else:
            here = os.path.join(REPO, DOC_PATH)
            try:
                with open(here, encoding="utf-8") as f:
                    current = f.read()
            except FileNotFoundError:
                current = None
            if current != doc:
                print("%s is out of date: run lab/run -q -- VENV/bin/python -m krblab.fidelity "
                      "--krbprobe BIN --write %s" % (DOC_PATH, DOC_PATH))
                status = 1
    print("%d passed, %d failed" % (passed, failed))
    return status


if __name__ == "__main__":
    sys.exit(main())
