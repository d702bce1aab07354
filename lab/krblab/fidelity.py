"""lab/krblab/fidelity.py - the fidelity matrix: krbprobe against the real client.

For every scenario of the table below, run the toolchain an Ansible job
really runs (MIT kinit into a private FILE ccache, then pywinrm with
transport=kerberos, exactly as Ansible's winrm connection plugin drives
them) side by side with krbprobe, and check that krbprobe fails exactly
when the real client fails, and that its first failing check names the
cause (the scenario's expected code).

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
from typing import Any, Callable, Optional

REALM = os.environ.get("KRBPROBE_LAB_REALM", "KUROKOBO.INTERNAL")
DOMAIN = os.environ.get("KRBPROBE_LAB_DOMAIN", "kurokobo.internal")
PASSWORD = os.environ.get("KRBPROBE_LAB_PASSWORD", "")
TOOLS = os.environ.get("KRBPROBE_LAB_TOOLS", "")
CA_CERT = os.environ.get("KRBPROBE_LAB_CA_CERT", "")
KEYTAB = os.environ.get("KRBPROBE_LAB_KEYTAB", "")
KRB5_CONF = "/etc/krb5.conf"
DOC_PATH = "docs/failure-modes.md"
USER = "awx@" + REALM
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEAD_PROXY = "http://127.0.0.99:3128"

# Time limits for the real client. kinit against a KDC whose packets are
# dropped gives up after ~18 s by itself; pywinrm's connect timeout is its
# read_timeout_sec, 30 s by default (Ansible sets none unless
# ansible_winrm_connection_timeout is given).
KINIT_LIMIT = 60
PYWINRM_LIMIT = 90
KRBPROBE_LIMIT = 60


def host(name: str) -> str:
    return "%s.%s" % (name, DOMAIN)


def krb5_conf(kdc: Optional[str] = "kuro-ad01", libdefaults: str = "", *, default_realm: bool = True,
              rdns: str = "false", dns_lookup_kdc: str = "false", before: str = "") -> str:
    """A client krb5.conf in the shape of the lab's /etc/krb5.conf (lab/run's
    krb5_conf), with a different kdc, extra [libdefaults] lines, ..."""
    lines = [before.rstrip("\n")] if before else []
    lines.append("[libdefaults]")
    if default_realm:
        lines.append("    default_realm = %s" % REALM)
    lines += ["    dns_lookup_kdc = %s" % dns_lookup_kdc, "    dns_lookup_realm = false", "    rdns = %s" % rdns]
    lines += ["    " + line.strip() for line in libdefaults.splitlines() if line.strip()]
    lines += ["", "[realms]", "    %s = {" % REALM]
    if kdc:
        lines.append("        kdc = %s" % (host(kdc) if "." not in kdc else kdc))
    lines += ["        admin_server = %s" % host("kuro-ad01"), "    }", "",
              "[domain_realm]", "    .%s = %s" % (DOMAIN, REALM), "    %s = %s" % (DOMAIN, REALM)]
    return "\n".join(lines) + "\n"


DEFAULT = "<the lab's /etc/krb5.conf>"
MISSING = "<no /etc/krb5.conf>"


@dataclasses.dataclass
class Scenario:
    id: str
    title: str
    expect: Optional[str]            # krbprobe's first failing code; None: both pass
    target: str = host("kuro-win01")
    user: str = USER
    password: str = PASSWORD
    conf: str = DEFAULT              # text of /etc/krb5.conf, DEFAULT or MISSING
    port: int = 5985
    ca: bool = False                 # trust the lab CA (ansible_winrm_ca_trust_path)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    # "managed": Ansible runs kinit (ansible_winrm_kinit_mode: managed, the
    # default with a password). "manual": Ansible runs no kinit; pywinrm uses
    # the job's KRB5CCNAME, made by `ccache` (a function of a cache path).
    kinit_mode: str = "managed"
    ccache: Optional[Callable[[str], None]] = None
    note: str = ""

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


SCENARIOS: list[Scenario] = [
    # ------------------------------------------------------------ both pass
    Scenario("healthy", "Healthy host, healthy KDC", None),
    Scenario("https-trusted", "HTTPS listener (5986), lab CA trusted (ansible_winrm_ca_trust_path)", None,
             target=host("kuro-win06"), port=5986, ca=True),
    Scenario("ptr-mismatch-rdns-off", "PTR names another host, rdns = false", None, target=host("kuro-win05")),
    Scenario("kdc-from-dns-srv", "No kdc line, dns_lookup_kdc = true (SRV records)", None,
             conf=krb5_conf(None, dns_lookup_kdc="true")),
    Scenario("kdc-tcp-only", "KDC answers only over TCP (kuro-ad05)", None, conf=krb5_conf("kuro-ad05")),
    Scenario("keyring-ccache", "default_ccache_name = KEYRING:persistent:%{uid} in krb5.conf", None,
             conf=krb5_conf(libdefaults="default_ccache_name = KEYRING:persistent:%{uid}"),
             note="Ansible's kinit and pywinrm use their own FILE: cache (KRB5CCNAME), so the setting "
                  "does not matter to the job"),
    Scenario("proxy-exempted", "HTTP(S)_PROXY set, NO_PROXY exempts the domain", None,
             env={"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "NO_PROXY": "." + DOMAIN}),
    # ------------------------------------------------------------ krb5.conf
    Scenario("krb5-conf-missing", "No /etc/krb5.conf in the pod, DNS has the SRV records", None,
             conf=MISSING,
             note="MIT without any krb5.conf still looks the KDCs up in DNS (dns_lookup_kdc defaults to "
                  "true), and the lab's DNS has the _kerberos SRV records; krbprobe warns "
                  "krb5-conf-missing"),
    Scenario("krb5-conf-missing-no-realm", "No /etc/krb5.conf and a user without @REALM",
             "principal-no-realm", conf=MISSING, user="awx",
             note="nothing tells MIT the realm: no default_realm without a krb5.conf"),
    Scenario("includedir-missing", "includedir of a directory that is not in the pod",
             "krb5-conf-include-missing",
             conf=krb5_conf(before="includedir /var/lib/sss/pubconf/krb5.include.d/")),
    Scenario("enctype-mismatch", "Client permits only an enctype the KDC has no key for (camellia256)",
             "kinit-etype",
             conf=krb5_conf(libdefaults="permitted_enctypes = camellia256-cts-cmac\n"
                                        "default_tkt_enctypes = camellia256-cts-cmac\n"
                                        "default_tgs_enctypes = camellia256-cts-cmac")),
    # ------------------------------------------------------------ principal
    Scenario("realm-lowercase", "Realm in lower case in the user name", "principal-realm-case",
             user="awx@" + REALM.lower()),
    Scenario("no-realm-no-default", "User without @REALM, krb5.conf without default_realm",
             "principal-no-realm", user="awx", conf=krb5_conf(default_realm=False)),
    # ------------------------------------------------------------ KDC
    Scenario("kdc-unresolvable", "kdc = a name without DNS record", "dns-kdc-nxdomain",
             conf=krb5_conf("kuro-nokdc")),
    Scenario("kdc-down", "KDC down: port 88 refused (kuro-ad03)", "kdc-unreachable", conf=krb5_conf("kuro-ad03")),
    Scenario("kdc-dropped", "Packets to the KDC dropped (kuro-ad04)", "kdc-timeout", conf=krb5_conf("kuro-ad04")),
    Scenario("kdc-clock-skew", "KDC clock 10 min ahead (kuro-ad02)", "kdc-clock-skew", conf=krb5_conf("kuro-ad02"),
             note="kinit succeeds: MIT's kdc_timesync absorbs the KDC's offset; the host then refuses the "
                  "ticket, which starts 10 min in its future (its log: Ticket not yet valid)"),
    Scenario("wrong-password", "Wrong password", "kinit-password-wrong", password="not-the-password"),
    Scenario("unknown-user", "User unknown to the KDC", "kdc-user-unknown", user="nosuchuser@" + REALM),
    Scenario("disabled-account", "Disabled account (locked)", "kdc-user-disabled", user="locked@" + REALM),
    Scenario("expired-password", "Password expired", "kdc-password-expired", user="expired@" + REALM,
             note="kinit's 'Password expired.  You must change it now.' goes to stdout, which Ansible "
                  "does not show"),
    Scenario("ccache-other-principal", "Manual kinit mode, the job's ticket cache holds another principal",
             "kinit-ccache-other-user", kinit_mode="manual", ccache=ccache_of_other_principal,
             note="ansible_winrm_kinit_mode: manual (Ansible runs no kinit; pywinrm uses KRB5CCNAME). "
                  "krbprobe gets the same KRB5CCNAME and no password"),
    # ------------------------------------------------------------ target
    Scenario("target-unresolvable", "Target name without DNS record", "dns-target-nxdomain",
             target=host("kuro-missing")),
    Scenario("ptr-mismatch-rdns-on", "PTR names another host, rdns = true", "dns-target-ptr-mismatch",
             target=host("kuro-win05"), conf=krb5_conf(rdns="true")),
    Scenario("target-ip", "Target given as an IP address", "dns-target-ip", target="127.0.0.20"),
    Scenario("spn-missing", "No HTTP/ SPN for the host (kuro-win02)", "spn-unknown", target=host("kuro-win02")),
    # ------------------------------------------------------------ WinRM listener
    Scenario("port-closed", "Nothing listens on 5985 (kuro-win03)", "winrm-port-closed", target=host("kuro-win03")),
    Scenario("port-dropped", "5985 silently dropped (kuro-win07)", "winrm-timeout", target=host("kuro-win07")),
    Scenario("basic-only", "WinRM offers only Basic (kuro-win04)", "winrm-kerberos-disabled",
             target=host("kuro-win04")),
    Scenario("https-untrusted", "HTTPS listener with a CA the pod does not trust", "winrm-tls-untrusted",
             target=host("kuro-win06"), port=5986),
    Scenario("proxy", "HTTP_PROXY/HTTPS_PROXY set (dead proxy), no NO_PROXY", "winrm-proxy",
             env={"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY}),
    # ------------------------------------------------------------ WinRM authentication
    Scenario("credentials-rejected", "Valid ticket, host answers 401 (kuro-win08)", "winrm-auth-rejected",
             target=host("kuro-win08")),
    Scenario("access-denied", "Shell creation denied (kuro-win09)", "winrm-auth-access-denied",
             target=host("kuro-win09")),
    Scenario("encryption-refused", "Host refuses message encryption (kuro-win10)", "winrm-auth-encryption",
             target=host("kuro-win10")),
    Scenario("stale-keytab", "Host holds a stale key (kuro-win11)", "winrm-auth-host-key",
             target=host("kuro-win11")),
    Scenario("host-clock-skew", "Host clock 10 min ahead (kuro-win12)", "winrm-auth-host-clock-skew",
             target=host("kuro-win12")),
]


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


@dataclasses.dataclass
class Real:
    ok: bool
    stage: str = ""      # "kinit" or "pywinrm"
    exc: str = ""        # exception class (pywinrm) or "" (kinit)
    message: str = ""
    seconds: float = 0.0


def redact(text: str, password: str) -> str:
    return text.replace(password, "<redacted>") if password else text


def run_real(s: Scenario, workdir: str) -> Real:
    t0 = time.monotonic()
    fd, cc = tempfile.mkstemp(prefix="ansible-krb5cc-", dir=workdir)  # Ansible: NamedTemporaryFile()
    os.close(fd)
    env = {"PATH": PATH, "KRB5CCNAME": "FILE:" + cc}
    if s.kinit_mode == "managed":
        try:
            k = subprocess.run([os.path.join(TOOLS, "kinit"), s.user], input=s.password.encode() + b"\n",
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
              "ca": CA_CERT if s.ca else None}
    try:
        c = subprocess.run([sys.executable, os.path.abspath(__file__), "_client"],
                           input=json.dumps(params).encode(), env={**env, **s.env},
                           capture_output=True, timeout=PYWINRM_LIMIT, check=False)
    except subprocess.TimeoutExpired:
        return Real(False, "pywinrm", "", "(no answer within %d s)" % PYWINRM_LIMIT, time.monotonic() - t0)
    secs = time.monotonic() - t0
    try:
        r = json.loads(c.stdout)
    except ValueError:
        return Real(False, "pywinrm", "(crashed)", redact(c.stderr.decode(errors="replace")[-500:], s.password),
                    secs)
    if r["ok"]:
        return Real(True, seconds=secs)
    return Real(False, "pywinrm", r["exc"], redact(r["message"], s.password), secs)


# ---------------------------------------------------------------- krbprobe

@dataclasses.dataclass
class Probe:
    verdict: str                      # pass / fail / error
    exit: int
    first: Optional[dict[str, Any]]   # first failing check
    warns: list[str]
    seconds: float
    raw: str = ""


def run_krbprobe(binary: str, s: Scenario, workdir: str) -> Probe:
    args = [binary, "--format", "json", "--timeout", "2s", "-u", s.user]
    if s.port != 5985:
        args += ["--port", str(s.port)]
    if s.ca:
        args += ["--ca-file", CA_CERT]
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
        return Probe("error", p.returncode, first, warns, secs, "verdict %s but exit status %d" % (verdict, p.returncode))
    return Probe(verdict, p.returncode, first, warns, secs)


# ---------------------------------------------------------------- the matrix

@dataclasses.dataclass
class Result:
    s: Scenario
    real: Real
    probe: Probe

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


def timing(binary: str, healthy: str, workdir: str, runs: int = 5) -> tuple[float, float]:
    s = SCENARIOS[0]
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
        return "works (`run_cmd` exit status 0)"
    if real.stage == "kinit":
        text = " / ".join(part.strip() for part in real.message.splitlines() if part.strip())
        return text if text.startswith("kinit: ") else "kinit: " + text
    msg = real.message
    cls = real.exc.rsplit(".", 1)[-1]
    m = re.search(r"^(authGSSClient\w+\(\) failed): .*\((['\"])(.*?)\2, -?\d+\)\)$", msg)
    if m:
        msg = "%s: %s" % (m.group(1), m.group(3))
    m = re.match(r"\w+ConnectionPool\(host='[^']*', port=\d+\): Max retries exceeded with url: \S+ \(Caused by (.*)\)$",
                 msg, re.S)
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


def pywinrm_version() -> str:
    try:
        import importlib.metadata
        return importlib.metadata.version("pywinrm")
    except Exception:  # noqa: BLE001 - only a label
        return "(version unknown)"


def md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_doc(results: list[Result]) -> str:
    passed = sum(r.agrees for r in results)
    out = [
        "# Failure modes: what Ansible prints, what krbprobe says",
        "",
        "Generated by `lab/krblab/fidelity.py` (the fidelity matrix); do not edit by hand. Regenerate with:",
        "",
        "```sh",
        "venv=$(lab/pywinrm-venv.sh)",
        "lab/run -q -- \"$venv/bin/python\" lab/krblab/fidelity.py \\",
        "    --krbprobe target/x86_64-unknown-linux-musl/debug/krbprobe --write docs/failure-modes.md",
        "```",
        "",
        "(`--check` instead of `--write` fails when this file is out of date; `scripts/test.sh` runs it.)",
        "",
        "Every row is one scenario in the lab ([lab/README.md](../lab/README.md)), run twice side by",
        "side (the codes are explained in [checks.md](checks.md)):",
        "",
        "- **The real client, as an Ansible job runs it**: a stripped environment (only `PATH` and",
        "  `KRB5CCNAME=FILE:<fresh temp file>`, no `KRB5_CONFIG`, so `/etc/krb5.conf` counts),",
        "  MIT `kinit <user>` with the password on stdin, then pywinrm %s" % pywinrm_version(),
        "  `winrm.Session(<scheme>://<target>:<port>/wsman, transport='kerberos',",
        "  message_encryption='auto', server_cert_validation='validate')` and `run_cmd('ipconfig')`.",
        "  The middle column is kinit's stderr or the pywinrm exception class and message",
        "  (shortened). Ansible's winrm connection wraps them: `Kerberos auth failure for principal",
        "  <user> with subprocess: <kinit stderr>`, or `kerberos: <pywinrm message>`.",
        "- **krbprobe** with the same user, password, target, port, CA and environment:",
        "  `krbprobe --format json --timeout 2s -u <user> <target>`; the column shows its first",
        "  failing check and code, and the hint it prints.",
        "",
        "A scenario agrees when krbprobe fails exactly when the real client fails and, if both fail,",
        "krbprobe's first failing code is the one that names the cause (the `expected` code).",
        "",
        "**Agreement: %d of %d scenarios.**" % (passed, len(results)),
        "",
        "| scenario | Ansible / pywinrm | krbprobe (first failure) | hint | agrees |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        s = r.s
        scen = "`%s`: %s" % (s.id, s.title)
        if s.note:
            scen += " (%s)" % s.note
        if r.probe.verdict == "pass":
            kp = "pass"
            if r.probe.warns:
                kp += " (warn %s)" % ", ".join("`%s`" % w for w in r.probe.warns)
            hint = ""
        elif r.probe.first is not None:
            f = r.probe.first
            kp = "`%s`%s: `%s`" % (f.get("id", "?"), " (%s)" % f["target"] if f.get("target") else "",
                                    f.get("code", "?"))
            hint = f.get("hint") or ""
        else:
            kp, hint = "(no report: %s)" % r.probe.verdict, ""
        if r.agrees:
            ok = "yes"
        else:
            ok = "**no** (expected %s)" % ("pass" if r.s.expect is None else "`%s`" % r.s.expect)
        out.append("| %s | %s | %s | %s | %s |" % (md(scen), md(shorten(r.real)), md(kp), md(hint), ok))
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
    exp = r.s.expect or "pass"
    return "%s %-24s expect %-27s real: %s | krbprobe: %s  [%.1fs / %.1fs]" % (
        tag, r.s.id, exp, real[:160], probe[:200], r.real.seconds, r.probe.seconds)


# ---------------------------------------------------------------- main

def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_client":
        return client_main()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--krbprobe", required=True, help="the krbprobe binary")
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="also fail when %s is out of date" % DOC_PATH)
    mode.add_argument("--write", metavar="FILE", help="write the failure-mode table (docs/failure-modes.md)")
    ap.add_argument("--only", action="append", metavar="ID", help="run only these scenarios (no doc check/write)")
    ap.add_argument("--no-timing", action="store_true", help="skip the healthy-scenario timing comparison")
    a = ap.parse_args()

    if os.environ.get("KRBPROBE_LAB") != "1":
        print("fidelity.py: not inside the lab: run it as lab/run -q -- VENV/bin/python -m krblab.fidelity ...",
              file=sys.stderr)
        return 2
    binary = os.path.abspath(a.krbprobe)
    if not os.access(binary, os.X_OK):
        print("fidelity.py: %s is not an executable (cargo build?)" % binary, file=sys.stderr)
        return 2
    ids = [s.id for s in SCENARIOS]
    assert len(set(ids)) == len(ids), "duplicate scenario id"
    todo = SCENARIOS
    if a.only:
        unknown = set(a.only) - set(ids)
        if unknown:
            print("fidelity.py: unknown scenario(s): %s" % ", ".join(sorted(unknown)), file=sys.stderr)
            return 2
        todo = [s for s in SCENARIOS if s.id in a.only]

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
            times = None if a.no_timing else timing(binary, healthy, workdir)
    finally:
        with open(KRB5_CONF + ".fidelity-tmp", "w", encoding="utf-8") as f:
            f.write(healthy)
        os.replace(KRB5_CONF + ".fidelity-tmp", KRB5_CONF)
    elapsed = time.monotonic() - started

    if times:
        print("timing (healthy, median of 5): krbprobe %.2f s, kinit+pywinrm %.2f s" % times)
    print("matrix: %d scenarios in %.0f s" % (len(results), elapsed))
    passed = sum(r.agrees for r in results)
    failed = len(results) - passed
    status = 0 if failed == 0 else 1

    if not a.only:
        doc = render_doc(results)
        if a.write:
            with open(a.write, "w", encoding="utf-8") as f:
                f.write(doc)
            print("wrote %s" % a.write)
        else:
            here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", DOC_PATH)
            try:
                with open(here, encoding="utf-8") as f:
                    current = f.read()
            except FileNotFoundError:
                current = None
            if current != doc:
                print("%s is out of date: run lab/run -q -- VENV/bin/python -m krblab.fidelity --krbprobe BIN "
                      "--write %s" % (DOC_PATH, DOC_PATH))
                status = 1
    print("%d passed, %d failed" % (passed, failed))
    return status


if __name__ == "__main__":
    sys.exit(main())
