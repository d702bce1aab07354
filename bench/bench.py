#!/usr/bin/env python3
"""bench/bench.py - the measurements behind bench/run (issue 5), run inside the lab.

bench/run starts it as `lab/run --bench-targets MAX -- python3 bench/bench.py ...`. Everything is
measured here, in this one run, against the same lab:

  krbprobe   the release binary, full diagnosis (winrm-auth authenticates, sends Identify, creates
             and deletes a shell), --format json, password from KRBPROBE_PASSWORD; wall time and
             the child's own rusage (os.wait4: peak RSS, CPU); median of --repeat runs per N
  manual     the community guide's sequence, one process per step, one after the other:
             per host getent hosts NAME, getent hosts IP, a port check, curl -X POST /wsman;
             then one kinit (password on stdin, FILE ccache in a temp dir); then kvno per host
  pywinrm    kinit + one Python process driving pywinrm 0.5.0 (transport='kerberos'): one
             winrm.Protocol and one encrypted Identify per host
  drop       every KDC and every bench host silently drops packets (lab/run's bench-drop nft
             table); krbprobe with --timeout 2s must finish within three timeouts

It prints a table and the issue's ratios with PASS/MISS, and writes the same as Markdown
(--out). Stdlib only; runs with the system python3.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def env(name: str) -> str:
    v = os.environ.get(name)
    if not v:
        sys.exit("bench.py: $%s is not set; run it through bench/run (inside lab/run --bench-targets N)"
                 % name)
    return v


# ------------------------------------------------------------------ processes


@dataclasses.dataclass
class Proc:
    rc: int
    wall: float          # seconds
    rss_kb: int          # the child's peak RSS (ru_maxrss)
    cpu: float           # the child's user + system seconds
    out: bytes
    err: bytes


GNU_TIME = "/usr/bin/time"


def measured(argv: list[str], env_: dict[str, str], stdin: bytes | None = None,
             timeout: float = 600.0) -> Proc:
    """Run argv under GNU time, wall time measured here; stdout/stderr through temp files.

    Peak RSS and CPU come from GNU time's wait4: os.wait4 on a child of this process would be
    wrong, since Python forks with vfork and ru_maxrss keeps the pre-exec high-water mark (this
    interpreter's ~16 MB). GNU time is a small C program, so the child's mark is the program's."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp, \
            tempfile.NamedTemporaryFile(prefix="time.") as tf:
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        t0 = time.monotonic()
        p = subprocess.Popen([GNU_TIME, "-q", "-o", tf.name, "-f", "%M %U %S", *argv], stdin=inp, stdout=out,
                             stderr=err, env=env_)
        deadline = t0 + timeout
        while True:
            pid, status, _ = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, _ = os.wait4(p.pid, 0)
                break
            time.sleep(0.002)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        try:
            with open(tf.name) as f:
                rss, utime, stime = f.read().split()[-3:]
            rss_kb, cpu = int(rss), float(utime) + float(stime)
        except ValueError:
            rss_kb, cpu = 0, 0.0
        return Proc(p.returncode, wall, rss_kb, cpu, out.read(), err.read())


def lab_pids() -> dict[str, list[int]]:
    """The lab's service processes (this pid namespace holds only the lab)."""
    found: dict[str, list[int]] = {"standin": [], "kdc": [], "dns": []}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        exe = os.path.basename(cmd[0].decode(errors="replace")) if cmd and cmd[0] else ""
        if exe == "krb5kdc":
            found["kdc"].append(int(d))
        elif exe == "dnsmasq":
            found["dns"].append(int(d))
        elif (any(c in (b"krblab.standin", b"lab/krblab/standin.py") for c in cmd)
              and any(c.endswith(b"bench.json") for c in cmd)):
            found["standin"].append(int(d))
    return found


CLK = os.sysconf("SC_CLK_TCK")


def cpu_of(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK


def udp_rcvbuf_errors() -> int:
    """UDP datagrams dropped for a full socket receive buffer in this network namespace."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        return int(rows[1][rows[0].index("RcvbufErrors")])
    except (OSError, IndexError, ValueError):
        return 0


def dns_queries() -> int:
    """Queries dnsmasq has logged so far (log-queries is on in the lab)."""
    try:
        with open(os.path.join(os.environ.get("KRBPROBE_LAB_DIR", ""), "log", "dnsmasq.log"), "rb") as f:
            return f.read().count(b" query[")
    except OSError:
        return 0


class LabCpu:
    """CPU seconds the stand-in, the KDCs and dnsmasq spend during one measurement, plus the
    DNS queries dnsmasq answered and UDP datagrams dropped for full receive buffers."""

    def __init__(self) -> None:
        self.pids = lab_pids()

    def snapshot(self) -> dict[str, float]:
        snap = {k: cpu_of(v) for k, v in self.pids.items()}
        snap["udp_drops"] = float(udp_rcvbuf_errors())
        snap["dns_queries"] = float(dns_queries())
        return snap

    @staticmethod
    def delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
        return {k: b[k] - a[k] for k in a}


# ------------------------------------------------------------------ the three ways


@dataclasses.dataclass
class Sample:
    wall: float
    rss_kb: int = 0
    cpu: float = 0.0
    lab: dict[str, float] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)
    # krbprobe only: check id -> the elapsed_ms of each of its findings, and the run's elapsed_ms
    phases: dict[str, list[int]] = dataclasses.field(default_factory=dict)


class Bench:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.binary = a.krbprobe
        self.user = "%s@%s" % (env("KRBPROBE_LAB_USER"), env("KRBPROBE_LAB_REALM"))
        self.password = env("KRBPROBE_LAB_PASSWORD")
        self.tools = env("KRBPROBE_LAB_TOOLS")
        with open(env("KRBPROBE_LAB_BENCH_TARGETS_FILE")) as f:
            self.all_targets = [t.strip() for t in f if t.strip()]
        self.work = tempfile.mkdtemp(prefix="bench.", dir=env("KRBPROBE_LAB_DIR"))
        self.labcpu = LabCpu()
        self.base_env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8",
                         "HOME": self.work}
        self.mit = ""

    def targets_file(self, n: int) -> str:
        path = os.path.join(self.work, "targets-%d" % n)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("".join(t + "\n" for t in self.all_targets[:n]))
        return path

    # -- krbprobe ---------------------------------------------------------------
    def krbprobe(self, n: int, extra: list[str], expect_pass: bool) -> Sample:
        e = dict(self.base_env, KRBPROBE_PASSWORD=self.password)
        argv = [self.binary, "--format", "json", "-u", self.user, "--targets-file", self.targets_file(n),
                *extra]
        before = self.labcpu.snapshot()
        p = measured(argv, e, timeout=max(120.0, 3.0 * n))
        s = Sample(p.wall, p.rss_kb, p.cpu, LabCpu.delta(before, self.labcpu.snapshot()))
        try:
            report = json.loads(p.out)
        except ValueError:
            s.problems.append("exit %d, no JSON report; stderr: %s"
                              % (p.rc, p.err.decode(errors="replace")[-400:]))
            return s
        self.mit = report.get("tool", {}).get("mit_krb5", self.mit)
        checks = report.get("checks", [])
        for c in checks:
            s.phases.setdefault(c["id"], []).append(int(c.get("elapsed_ms") or 0))
        s.phases["(whole run)"] = [int(report.get("elapsed_ms") or 0)]
        want = 5 + 4 * n
        if len(checks) != want:
            s.problems.append("%d checks in the report, expected %d" % (len(checks), want))
        if expect_pass:
            bad = Counter((c["id"], c["status"], c["code"]) for c in checks if c["status"] != "pass")
            if bad or p.rc != 0:
                s.problems.append("exit %d; not pass: %s" % (p.rc, ", ".join(
                    "%s %s %s x%d" % (k[0], k[1], k[2], v) for k, v in sorted(bad.items()))))
                first = next((c for c in checks if c["status"] != "pass"), None)
                if first:
                    s.problems.append("first: %s %s: %s" % (first["id"], first.get("target") or "",
                                                            first.get("summary", "")))
        else:
            codes = Counter((c["id"], c["code"]) for c in checks if c["status"] != "pass")
            s.problems.extend("%s %s x%d" % (k[0], k[1], v) for k, v in sorted(codes.items()))
        if p.err.strip():
            s.problems.append("stderr: %s" % p.err.decode(errors="replace").strip()[-300:])
        return s

    # -- the manual sequence ------------------------------------------------------
    def manual(self, n: int) -> Sample:
        targets = self.all_targets[:n]
        cc_dir = tempfile.mkdtemp(prefix="manual.", dir=self.work)
        e = dict(self.base_env, PATH=self.tools + ":" + self.base_env["PATH"],
                 KRB5CCNAME="FILE:" + cc_dir + "/cc")
        problems: list[str] = []

        def run(argv: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(argv, input=stdin, env=e, capture_output=True, check=False)

        t0 = time.monotonic()
        before = self.labcpu.snapshot()
        for host in targets:
            r = run(["getent", "hosts", host])
            ip = r.stdout.split()[0].decode() if r.returncode == 0 and r.stdout.split() else ""
            if not ip:
                problems.append("getent hosts %s: rc %d" % (host, r.returncode))
                continue
            r = run(["getent", "hosts", ip])
            if host.encode() not in r.stdout:
                problems.append("getent hosts %s: %r" % (ip, r.stdout[:100]))
            r = run(["timeout", "3", "bash", "-c", "exec 3<>/dev/tcp/%s/5985" % host])
            if r.returncode != 0:
                problems.append("port check %s:5985: rc %d" % (host, r.returncode))
            r = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                     "http://%s:5985/wsman" % host])
            if r.stdout != b"401":
                problems.append("curl %s: %r" % (host, r.stdout))
        r = run(["kinit", self.user], stdin=(self.password + "\n").encode())
        if r.returncode != 0:
            problems.append("kinit: %s" % r.stderr.decode(errors="replace").strip())
        for host in targets:
            r = run(["kvno", "HTTP/" + host])
            if r.returncode != 0:
                problems.append("kvno HTTP/%s: %s" % (host, r.stderr.decode(errors="replace").strip()))
        wall = time.monotonic() - t0
        shutil.rmtree(cc_dir, ignore_errors=True)
        return Sample(wall, lab=LabCpu.delta(before, self.labcpu.snapshot()), problems=problems[:5])

    # -- kinit + pywinrm ----------------------------------------------------------
    def pywinrm(self, n: int) -> Sample:
        cc_dir = tempfile.mkdtemp(prefix="pywinrm.", dir=self.work)
        e = dict(self.base_env, KRB5CCNAME="FILE:" + cc_dir + "/cc")
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            e.pop(var, None)
        problems: list[str] = []
        before = self.labcpu.snapshot()
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(self.tools, "kinit"), self.user],
                           input=(self.password + "\n").encode(), env=e, capture_output=True, check=False)
        if r.returncode != 0:
            problems.append("kinit: %s" % r.stderr.decode(errors="replace").strip())
        c = measured([self.a.venv_python, os.path.join(REPO, "bench", "pywinrm_identify.py"), self.user,
                      self.targets_file(n)], e)
        wall = time.monotonic() - t0
        try:
            res = json.loads(c.out)
            if res["failed"]:
                problems.append("%d of %d Identify failed: %s" % (res["failed"], n, "; ".join(res["errors"])))
        except (ValueError, KeyError):
            problems.append("pywinrm client: exit %d: %s" % (c.rc, c.err.decode(errors="replace")[-400:]))
        shutil.rmtree(cc_dir, ignore_errors=True)
        return Sample(wall, c.rss_kb, c.cpu, LabCpu.delta(before, self.labcpu.snapshot()), problems)


# ------------------------------------------------------------------ reporting


def med(samples: list[Sample], attr: str = "wall") -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def fmt_s(x: float) -> str:
    return "%.3f s" % x if x < 10 else "%.2f s" % x


def fmt_ms(x: float) -> str:
    return "%.2f ms" % (x * 1000) if x < 0.1 else "%.1f ms" % (x * 1000)


def spread(samples: list[Sample]) -> float:
    walls = [s.wall for s in samples]
    return (max(walls) - min(walls)) / statistics.median(walls) if len(walls) > 1 else 0.0


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def machine() -> list[tuple[str, str]]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    osname = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return [("CPU", "%s, %d CPUs" % (cpu or platform.processor(), os.cpu_count() or 0)), ("memory", mem),
            ("OS", "%s, kernel %s" % (osname, platform.release())),
            ("load average (1/5/15 min)", "%s before the run, %s after (other work on the machine adds noise)"
             % (os.environ.get("BENCH_LOADAVG", "?"), " ".join(open("/proc/loadavg").read().split()[:3])))]


def startup(binary: str, args: list[str], runs: int = 50) -> tuple[float, float, float]:
    """Median, fastest and slowest wall time of RUNS runs of BINARY ARGS: process start-up as a
    playbook task or kubectl exec pays it (exec, static init, clap, exit)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def static_elf(binary: str) -> bool:
    """True when BINARY has no program interpreter and no DT_NEEDED: it needs no shared library."""
    out = sh(["readelf", "-l", "-d", binary])
    return bool(out) and "INTERP" not in out and "(NEEDED)" not in out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--krbprobe", required=True)
    ap.add_argument("--venv-python", required=True)
    ap.add_argument("--sizes", default="1,50,100,1000")
    ap.add_argument("--manual-sizes", default="1,50,100")
    ap.add_argument("--pywinrm-sizes", default="1,50")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--repeat-large", type=int, default=3, help="repeats for N > 100")
    ap.add_argument("--drop-timeout", default="2s")
    ap.add_argument("--drop-repeat", type=int, default=1)
    ap.add_argument("--no-drop", action="store_true")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results.md"))
    ap.add_argument("--lab-default-ms", default="", help="start-up of the default lab, measured by bench/run")
    ap.add_argument("--binary-note", default="")
    a = ap.parse_args()

    sizes = sorted({int(x) for x in a.sizes.split(",") if x})
    msizes = sorted({int(x) for x in a.manual_sizes.split(",") if x})
    psizes = sorted({int(x) for x in a.pywinrm_sizes.split(",") if x})
    bench = Bench(a)
    avail = len(bench.all_targets)
    if max(sizes + msizes + psizes) > avail:
        sys.exit("bench.py: the lab has %d bench targets, the sizes need %d"
                 % (avail, max(sizes + msizes + psizes)))
    started = datetime.datetime.now(datetime.UTC)
    t_start = time.monotonic()
    log = lambda m: print("bench: %s" % m, file=sys.stderr, flush=True)  # noqa: E731

    # One warm-up run (page cache, the KDC's and the stand-in's first requests), not counted.
    bench.krbprobe(1, [], True)
    bench.manual(1)

    kp: dict[int, list[Sample]] = {n: [] for n in sizes}
    man: dict[int, list[Sample]] = {n: [] for n in msizes}
    pyw: dict[int, list[Sample]] = {n: [] for n in psizes}
    problems: list[str] = []
    rounds = max(a.repeat, a.repeat_large)
    for r in range(rounds):
        for n in sorted(set(sizes) | set(msizes) | set(psizes)):
            reps = a.repeat if n <= 100 else a.repeat_large
            if r >= reps:
                continue
            if n in kp:
                s = bench.krbprobe(n, [], True)
                kp[n].append(s)
                log("round %d N=%d krbprobe %.3f s, %d KB%s" % (r + 1, n, s.wall, s.rss_kb,
                                                                "; " + s.problems[0] if s.problems else ""))
                problems += ["krbprobe N=%d run %d: %s" % (n, r + 1, p) for p in s.problems]
            if n in man:
                s = bench.manual(n)
                man[n].append(s)
                log("round %d N=%d manual %.3f s" % (r + 1, n, s.wall))
                problems += ["manual sequence N=%d: %s" % (n, p) for p in s.problems]
            if n in pyw:
                s = bench.pywinrm(n)
                pyw[n].append(s)
                log("round %d N=%d kinit+pywinrm %.3f s" % (r + 1, n, s.wall))
                problems += ["kinit+pywinrm N=%d: %s" % (n, p) for p in s.problems]

    drop: dict[int, list[Sample]] = {}
    drop_timeout = a.drop_timeout
    tsec = float(drop_timeout[:-2]) / 1000 if drop_timeout.endswith("ms") else float(drop_timeout.rstrip("s"))
    drop_codes: dict[int, list[str]] = {}
    if not a.no_drop:
        subprocess.run(["nft", "-f", env("KRBPROBE_LAB_BENCH_DROP_NFT")], check=True)
        try:
            for n in sizes:
                drop[n] = []
                for _ in range(a.drop_repeat):
                    s = bench.krbprobe(n, ["--timeout", drop_timeout], False)
                    drop[n].append(s)
                    drop_codes[n] = s.problems
                    log("drop N=%d krbprobe %.3f s, %d KB" % (n, s.wall, s.rss_kb))
                    if any("probe-deadline" in p or "probe-error" in p or "no JSON" in p for p in s.problems):
                        problems += ["drop N=%d: %s" % (n, p) for p in s.problems]
        finally:
            subprocess.run(["nft", "delete", "table", "inet", "krbprobe_lab_bench"], check=False)
    size = os.path.getsize(bench.binary)
    static = static_elf(bench.binary)
    up_version = startup(bench.binary, ["--version"])
    up_help = startup(bench.binary, ["--help"])
    total = time.monotonic() - t_start

    # ---------------------------------------------------------------- the table
    lines: list[str] = []
    out = lines.append
    kv = sh([bench.binary, "--version"]).splitlines()[0] if sh([bench.binary, "--version"]) else "?"
    commit = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--",
                "src", "Cargo.toml", "Cargo.lock", "build.rs"])
    pywinrm_v = sh([a.venv_python, "-c", "import importlib.metadata as m; print(m.version('pywinrm'))"])
    setup = dict(x.split("=", 1) for x in os.environ.get("KRBPROBE_LAB_BENCH_SETUP", "").split() if "=" in x)
    out("# krbprobe benchmark (issue 5)")
    out("")
    out("Generated by `bench/run` on %s (%.0f s of measurements). Do not edit: run it again."
        % (started.strftime("%Y-%m-%d %H:%M UTC"), total))
    out("")
    out("| | |")
    out("| --- | --- |")
    for k, v in machine():
        out("| %s | %s |" % (k, v))
    out("| krbprobe | %s, commit %s%s, `%s` |"
        % (kv, commit, " + uncommitted changes in src/" if dirty else "",
           os.path.relpath(bench.binary, REPO)))
    out("| MIT krb5 | %s (krbprobe, static); the lab's KDC and kinit/kvno: Debian's |" % (bench.mit or "?"))
    out("| pywinrm | %s (lab/pywinrm-venv.sh) |" % pywinrm_v)
    out("| lab | %d bench hosts, WinRM stand-in with %s worker processes; start-up %s ms "
        "(default lab: %s ms), of which bench SPNs + keytabs %s ms and the stand-in %s ms |"
        % (avail, os.environ.get("KRBPROBE_LAB_BENCH_WORKERS", "?"), setup.get("up_ms", "?"),
           a.lab_default_ms or "?", setup.get("kdc_ms", "?"), setup.get("standin_ms", "?")))
    out("")
    out("## The binary")
    out("")
    out("What is copied into a pod or an EE layer, and what every invocation pays before any check runs "
        "(median of 50 runs, with the range).")
    out("")
    out("| size | statically linked | start-up: `--version` | start-up: `--help` |")
    out("| ---: | --- | ---: | ---: |")
    out("| %d bytes (%.2f MB) | %s | %s (%s–%s) | %s (%s–%s) |"
        % (size, size / 1e6, "yes" if static else "NO",
           fmt_ms(up_version[0]), fmt_ms(up_version[1]), fmt_ms(up_version[2]),
           fmt_ms(up_help[0]), fmt_ms(up_help[1]), fmt_ms(up_help[2])))
    out("")
    out("## Wall time")
    out("")
    out("krbprobe: full diagnosis (`--format json -u %s --targets-file FILE`: every check, winrm-auth "
        "with Identify and a shell created and deleted), default `--jobs 32`, `--timeout 3s`, wall time "
        "taken around `/usr/bin/time krbprobe ...` (GNU time's fork/exec adds ~1 ms). Median of "
        "%d runs (%d for N > 100), with the range; peak RSS is the largest of them. \"lab CPU\" is what the "
        "WinRM stand-in + KDCs + dnsmasq spent during the krbprobe run (median), so a slow lab would show; "
        "DNS queries is what dnsmasq answered during a run (median; krbprobe's own lookups and MIT's), UDP "
        "drops the most datagrams any run lost to a full socket receive buffer in the lab (`RcvbufErrors`)."
        % (bench.user, a.repeat, a.repeat_large))
    out("")
    out("| N | krbprobe wall | per target | krbprobe CPU | peak RSS | lab CPU (stand-in/KDC/DNS) "
        "| DNS queries / UDP drops | manual sequence | kinit + pywinrm Identify |")
    out("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in sorted(set(sizes) | set(msizes) | set(psizes)):
        row = ["%d" % n]
        if kp.get(n):
            ss = kp[n]
            row += [fmt_s(med(ss)) + " (%s–%s)" % (fmt_s(min(s.wall for s in ss)),
                                                   fmt_s(max(s.wall for s in ss))),
                    fmt_ms(med(ss) / n),
                    "%.2f s" % med(ss, "cpu") if med(ss, "cpu") >= 0.01 else "< 0.01 s",
                    "%.1f MB" % (max(s.rss_kb for s in ss) / 1024),
                    "%s / %s / %s" % tuple("%.2f s" % statistics.median(s.lab.get(k, 0) for s in ss)
                                           for k in ("standin", "kdc", "dns")),
                    "%d / %d" % (statistics.median(s.lab.get("dns_queries", 0) for s in ss),
                                 max(s.lab.get("udp_drops", 0) for s in ss))]
        else:
            row += ["–"] * 6
        row.append(fmt_s(med(man[n])) + " (%d runs)" % len(man[n]) if man.get(n) else "–")
        row.append(fmt_s(med(pyw[n])) + " (%d runs)" % len(pyw[n]) if pyw.get(n) else "–")
        out("| " + " | ".join(row) + " |")
    out("")
    out("Manual sequence: per host `getent hosts NAME`, `getent hosts IP`, a port check "
        "(`timeout 3 bash -c 'exec 3<>/dev/tcp/HOST/5985'`), "
        "`curl -s -o /dev/null -w '%%{http_code}' -X POST http://HOST:5985/wsman`; "
        "then one `kinit` (password on stdin, `KRB5CCNAME=FILE:` in a temp dir); "
        "then `kvno HTTP/HOST` per host. One process each, one after the other. "
        "kinit + pywinrm: `kinit`, then one Python process (pywinrm %s, `winrm.Protocol(endpoint, "
        "transport='kerberos')` and one encrypted Identify per host, sequentially). Both include process "
        "start-up, as a person or Ansible pays it." % pywinrm_v)
    shown = [n for n in (100, max(sizes)) if kp.get(n)]
    if shown and max(sizes) > 1:
        out("")
        out("### Where krbprobe's time goes")
        out("")
        out("From the JSON report of the median run: each check's `elapsed_ms` over its findings "
            "(median / slowest; per-target checks run concurrently, so they overlap).")
        out("")
        out("| check | " + " | ".join("N=%d" % n for n in shown) + " |")
        out("| --- | " + " | ".join("---:" for _ in shown) + " |")
        picked = {n: sorted(kp[n], key=lambda x: x.wall)[len(kp[n]) // 2] for n in shown}
        for cid in picked[shown[-1]].phases:
            cells = []
            for n in shown:
                ms = picked[n].phases.get(cid, [])
                cells.append("%d / %d ms" % (statistics.median(ms), max(ms)) if ms else "–")
            out("| %s | %s |" % (cid, " | ".join(cells)))
    if drop:
        out("")
        out("## Everything drops packets")
        out("")
        out("Every KDC (udp+tcp 88 of kuro-ad01..05) and every bench host (tcp 5985) silently drops "
            "packets (`$KRBPROBE_LAB_BENCH_DROP_NFT`); krbprobe with `--timeout %s`, %d run(s) per N."
            % (drop_timeout, a.drop_repeat))
        out("")
        out("| N | krbprobe wall | limit (3 × timeout) | peak RSS "
            "| slowest dns-target / winrm-http / kdc-reach | UDP drops | failing checks |")
        out("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for n in sizes:
            worst_run = max(drop[n], key=lambda x: x.wall)
            out("| %d | %s | %s | %.1f MB | %s | %d | %s |" % (
                n, fmt_s(worst_run.wall), fmt_s(3 * tsec), max(s.rss_kb for s in drop[n]) / 1024,
                " / ".join("%d ms" % max(worst_run.phases.get(c, [0])) for c in ("dns-target", "winrm-http",
                                                                                  "kdc-reach")),
                worst_run.lab.get("udp_drops", 0), "; ".join(drop_codes.get(n, [])) or "none"))

    # ---------------------------------------------------------------- the targets
    out("")
    out("## The issue's targets")
    out("")
    out("| # | target | measured | result |")
    out("| --- | --- | --- | --- |")
    verdicts: list[bool] = []

    def target(num: str, text: str, measured_: str, ok: bool | None) -> None:
        if ok is not None:
            verdicts.append(ok)
        out("| %s | %s | %s | %s |"
            % (num, text, measured_, "n/a" if ok is None else ("PASS" if ok else "MISS")))

    if kp.get(1) and man.get(1):
        k1, m1 = med(kp[1]), med(man[1])
        target("1a", "N=1: krbprobe ≤ manual sequence", "%s vs %s (%.2f×)" % (fmt_s(k1), fmt_s(m1), k1 / m1),
               k1 <= m1)
    else:
        target("1a", "N=1: krbprobe ≤ manual sequence", "not measured", None)
    if kp.get(1) and pyw.get(1):
        k1, p1 = med(kp[1]), med(pyw[1])
        target("1b", "N=1: krbprobe ≤ 1/5 of kinit + pywinrm Identify",
               "%s vs %s (1/%.1f)" % (fmt_s(k1), fmt_s(p1), p1 / k1), k1 <= p1 / 5)
    else:
        target("1b", "N=1: krbprobe ≤ 1/5 of kinit + pywinrm Identify", "not measured", None)
    if kp.get(50) and man.get(50):
        k50, m50 = med(kp[50]), med(man[50])
        target("2", "N=50: krbprobe ≤ 1/2 of manual sequence",
               "%s vs %s (1/%.1f)" % (fmt_s(k50), fmt_s(m50), m50 / k50), k50 <= m50 / 2)
    else:
        target("2", "N=50: krbprobe ≤ 1/2 of manual sequence", "not measured", None)
    big = max(sizes)
    if kp.get(100) and big > 100 and kp.get(big):
        c100, cbig = med(kp[100]) / 100, med(kp[big]) / big
        tol = max(0.10, spread(kp[100]), spread(kp[big]))
        target("3", "cost per target at N=%d ≤ at N=100 (noise allowance +%.0f%%: the larger of 10%% and "
               "the spread (max−min)/median of either size's runs)" % (big, tol * 100),
               "%s vs %s per target (%.2f×)" % (fmt_ms(cbig), fmt_ms(c100), cbig / c100),
               cbig <= c100 * (1 + tol))
    else:
        target("3", "cost per target at N=1000 ≤ at N=100", "not measured", None)
    if kp.get(big):
        rss = max(s.rss_kb for s in kp[big]) / 1024
        target("4", "peak RSS at N=%d < 100 MB" % big, "%.1f MB" % rss, rss < 100)
    if drop:
        worst = max((max(s.wall for s in drop[n]), n) for n in drop)
        ok = all(max(s.wall for s in drop[n]) <= 3 * tsec for n in drop)
        target("5", "everything drops packets: done within 3 × --timeout (%s) for N up to %d"
               % (fmt_s(3 * tsec), max(drop)), "slowest %s at N=%d" % (fmt_s(worst[0]), worst[1]), ok)
    else:
        target("5", "everything drops packets: within 3 × --timeout", "not measured (--no-drop)", None)
    target("6", "release binary ≤ 5 MB (issue 12), statically linked", "%d bytes (%.2f MB), %s"
           % (size, size / 1e6, "static" if static else "NOT static"), size <= 5_000_000 and static)
    out("")
    if problems:
        out("## Problems seen")
        out("")
        out("Anything not as expected (a healthy host not passing, a missing report, stderr output):")
        out("")
        seen = set()
        for p in problems:
            if p not in seen:
                seen.add(p)
                out("- " + p.replace("|", "\\|"))
        out("")
    out("%d of %d targets met." % (sum(verdicts), len(verdicts)))

    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
        print("bench: written to %s" % os.path.relpath(a.out), file=sys.stderr)
    return 0 if all(verdicts) and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
