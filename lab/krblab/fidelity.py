"""krblab.fidelity - the fidelity matrix: krbprobe against the real client.

For every scenario of lab/scenarios.toml with `fidelity = true` (read resolved from
$KRBPROBE_LAB_SCENARIOS, which lab/run writes), run the toolchain an Ansible job
really runs (MIT kinit into a private FILE ccache, then pywinrm with
transport=kerberos, exactly as Ansible's winrm connection plugin drives
them) side by side with krbprobe, and check that krbprobe fails exactly
when the real client fails, and that its first failing check names the
cause (the scenario's `expect` code); and that the real client still prints
what the scenario's `real` records (a scenario whose real client changed is
reported as REAL? and fails the run: the TOML is out of date).

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
            ccache=CCACHES[d["ccache"]] if d["ccache"] else None, note=d["note"]))
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
        tail = c.stderr.decode(errors="replace")[-500:]
        return Real(False, "pywinrm", "(crashed)", redact(tail, s.password),
                    secs)
    if r["ok"]:
        return Real(True, seconds=secs)
    return Real(False, "pywinrm", r["exc"], redact(r["message"], s.password), secs)


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
        "- **The real client, as an Ansible job runs it**: a stripped environment (only `PATH` and",
        "  `KRB5CCNAME=FILE:<fresh temp file>`, no `KRB5_CONFIG`, so `/etc/krb5.conf` counts),",
        "  MIT `kinit <user>` with the password on stdin, then pywinrm %s" % pywinrm_version(),
        "  `winrm.Session(<scheme>://<target>:<port>/wsman, transport='kerberos',",
        "  message_encryption='auto', server_cert_validation='validate')` and `run_cmd('ipconfig')`.",
        "  The middle column is kinit's stderr or the pywinrm exception class and message",
        "  (shortened). Ansible's winrm connection wraps them, in words that depend on the",
        "  ansible-core version: a kinit failure reads `Kerberos auth failure for principal <user>:",
        "  <kinit stderr>` from ansible-core 2.19 on (which dropped pexpect and always pipes the",
        "  password to kinit), and `Kerberos auth failure for principal <user> with pexpect: ...`",
        "  (pexpect importable) or `... with subprocess: ...` in 2.18 and older; a pywinrm failure",
        "  reads `kerberos: <pywinrm message>` in every version.",
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
    if r.agrees and not r.real_as_expected:
        tag = "REAL?   "   # both agree, but the real client no longer prints what the TOML says
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
            times = None if a.no_timing else timing(scenarios[0], binary, healthy, workdir)
    finally:
        with open(KRB5_CONF + ".fidelity-tmp", "w", encoding="utf-8") as f:
            f.write(healthy)
        os.replace(KRB5_CONF + ".fidelity-tmp", KRB5_CONF)
    elapsed = time.monotonic() - started

    if times:
        print("timing (healthy, median of 5): krbprobe %.2f s, kinit+pywinrm %.2f s" % times)
    print("matrix: %d scenarios in %.0f s" % (len(results), elapsed))
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
