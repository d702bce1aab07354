"""krblab.samba - a Samba AD DC as the lab's second KDC variant (realm SAMBA.KUROKOBO.INTERNAL).

The MIT KDC of ``lab/run`` models Active Directory with kadmin flags; this module runs the real
thing: Samba's AD DC (Heimdal KDC plus the AD account checks), whose KRB-ERRORs carry the
NTSTATUS in their e-data exactly as a Windows DC's do. Two steps:

``prepare(cache_dir, spec)``
    ``samba-tool domain provision`` into a private directory (``-s`` on a private smb.conf,
    ``--targetdir``: nothing under /etc/samba or /var/lib/samba is read or written), then the
    accounts of :data:`DEFAULT_SPEC` through :mod:`krblab.samba_fixtures` (Samba's own Python
    bindings, one process), and a keytab per computer. That takes ~12 s, so the result is a
    template cached under ``cache_dir/samba-<hash>``, the hash covering the Samba version, the
    spec and the code that builds it.
``start(template_dir, run_dir, ip)``
    Copies the template (well under 1 s), writes a smb.conf that runs only the KDC
    (``server services = kdc``, no TLS, bound to ``ip`` alone) and starts ``samba -F -M single``;
    returns once udp and tcp 88 listen on ``ip``.

Both need the Debian packages of :data:`PACKAGES` (``scripts/install-deps.sh --lab``); start
needs root inside a network namespace (``lab/run``): it adds ``ip``/32 to ``lo`` when missing,
because Samba binds only to addresses that some interface carries.

CLI (inside the lab, PYTHONPATH=lab)::

    python3 -m krblab.samba prepare --cache DIR          # prints the template dir
    python3 -m krblab.samba start --cache DIR --run DIR [--ip 127.0.0.60]
                                                         # until SIGTERM/SIGINT
"""
from __future__ import annotations

import argparse
import dataclasses
import glob
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REALM = "SAMBA.KUROKOBO.INTERNAL"
NETBIOS = "SAMBA"
DC_NAME = "kuro-sdc01"
DEFAULT_IP = "127.0.0.60"
PASSWORD = "Lab-Passw0rd!"           # every user's password, as in the MIT lab; not a secret
ADMIN_PASSWORD = "Lab-Admin-Passw0rd!"  # Administrator's; lab-only, not a secret
START_TIMEOUT = 15.0

SAMBA = "/usr/sbin/samba"
SAMBA_TOOL = "/usr/bin/samba-tool"
# samba-tool's interpreter: the only one that can import python3-samba.
SYSTEM_PYTHON = "/usr/bin/python3"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
# When the passwords of the password-expired users are set (libfaketime): long ago.
AGED_PASSWORD_TIME = "@2020-01-01 00:00:00"

# What prepare and start need, by the Debian package that ships it (scripts/install-deps.sh --lab).
PACKAGES: tuple[tuple[str, str], ...] = (
    ("samba", SAMBA),
    ("samba-common-bin", SAMBA_TOOL),
    ("python3-samba", "/usr/lib/python3/dist-packages/samba/__init__.py"),
    ("samba-ad-provision", "/usr/share/samba/setup/provision.ldif"),
    ("samba-dsdb-modules", "/usr/lib/*/samba/ldb/samba_dsdb.so"),
    # provision sets the sysvol ACLs through this VFS module ("Error loading module acl_xattr").
    ("samba-vfs-modules", "/usr/lib/*/samba/vfs/acl_xattr.so"),
    ("libfaketime", FAKETIME_LIB),
)

# User states (:attr:`User.state`), each one AD attribute away from a healthy account.
USER_STATES = (
    "healthy",               # nothing
    "disabled",              # userAccountControl |= ACCOUNTDISABLE
    "account-expired",       # accountExpires in 2020
    "locked-out",            # lockoutTime set (lockoutDuration 0: until an admin unlocks)
    "password-must-change",  # pwdLastSet = 0 ("User must change password at next logon")
    "password-expired",      # password set in 2020, a fine-grained policy with max age 2 days
    "logon-hours",           # logonHours all zero: no hour of the week allowed
    "protected-users",       # member of Protected Users (4 h TGT, not forwardable, no RC4)
    "lockable",              # healthy; a test locks it with lockoutThreshold bad passwords
)

# What Windows registers for a joined computer, plus the WinRM listener's HTTP/ SPN.
COMPUTER_SPNS = ("HOST/%(s)s", "HOST/%(f)s", "HTTP/%(f)s", "WSMAN/%(s)s", "WSMAN/%(f)s")
ENCTYPES_DEFAULT = 0x1C  # RC4 | AES128 | AES256: what a Windows member writes
ENCTYPES_RC4_ONLY = 0x4


class SambaError(RuntimeError):
    """prepare or start failed; the message says which step and carries the log tail."""


@dataclass(frozen=True)
class User:
    """A user account and the AD state it is in (one of :data:`USER_STATES`)."""
    name: str
    state: str


@dataclass(frozen=True)
class Computer:
    """A computer account: SPNs (``%(s)s`` short name, ``%(f)s`` FQDN), its
    msDS-SupportedEncryptionTypes (None: attribute absent) and unconstrained delegation."""
    name: str
    enctypes: int | None = ENCTYPES_DEFAULT
    trusted_for_delegation: bool = False
    spns: tuple[str, ...] = COMPUTER_SPNS


@dataclass(frozen=True)
class Spec:
    """Everything a template is built from; its JSON is part of the cache key."""
    realm: str = REALM
    netbios: str = NETBIOS
    dc_name: str = DC_NAME
    admin_password: str = ADMIN_PASSWORD
    password: str = PASSWORD
    lockout_threshold: int = 3
    users: tuple[User, ...] = ()
    computers: tuple[Computer, ...] = ()

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    def check(self) -> None:
        """Refuse a spec the fixtures cannot build (before a 10 s provision, not after)."""
        bad = [u.name for u in self.users if u.state not in USER_STATES]
        if bad:
            raise SambaError("users with an unknown state: %s (known: %s)"
                             % (", ".join(bad), ", ".join(USER_STATES)))


DEFAULT_SPEC = Spec(
    users=(
        User("awx", "healthy"),
        User("disabled", "disabled"),
        User("expired", "account-expired"),
        User("locked", "locked-out"),
        User("mustchange", "password-must-change"),
        User("pwexpired", "password-expired"),
        User("nohours", "logon-hours"),
        User("protected", "protected-users"),
        User("lockme", "lockable"),
    ),
    computers=(
        Computer("kuro-swin01"),                                  # healthy, AES
        Computer("kuro-swin02", enctypes=ENCTYPES_RC4_ONLY),      # RC4 only
        Computer("kuro-swin03", trusted_for_delegation=True),     # unconstrained delegation
        Computer("kuro-swin04"),
        Computer("kuro-swin05", enctypes=None),                   # attribute absent: KDC default
    ),
)


# ------------------------------------------------------------------------------------ prepare --

def missing_packages() -> list[str]:
    """The Debian packages of :data:`PACKAGES` whose files are not there."""
    return [pkg for pkg, pattern in PACKAGES if not glob.glob(pattern)]


def require_packages() -> None:
    missing = missing_packages()
    if missing:
        raise SambaError("Samba AD DC not available: missing Debian package(s) %s "
                         "(install them with scripts/install-deps.sh --lab)" % ", ".join(missing))


def samba_version() -> str:
    out = subprocess.run([SAMBA, "--version"], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SambaError("%s --version failed: %s" % (SAMBA, out.stderr.strip()))
    return out.stdout.strip()


def provision_args(spec: Spec, target: Path) -> list[str]:
    return [
        SAMBA_TOOL, "domain", "provision",
        "-s", str(target / "etc" / "smb.conf"),   # private (empty) config: never /etc/samba
        "--targetdir=%s" % target,
        "--realm=%s" % spec.realm,
        "--domain=%s" % spec.netbios,
        "--host-name=%s" % spec.dc_name,
        "--server-role=dc",
        "--dns-backend=NONE",
        "--adminpass=%s" % spec.admin_password,
        "--option=tls enabled = no",
        "--option=log file = %s" % (target / "provision.log"),
    ]


def cache_key(spec: Spec) -> str:
    """A hash of what the template depends on: the Samba version, the spec, the provision
    arguments and the fixture code (not the rest of this module: start() may change freely)."""
    h = hashlib.sha256()
    for part in (samba_version(), spec.to_json(), "\0".join(provision_args(spec, Path("/TEMPLATE"))),
                 AGED_PASSWORD_TIME):
        h.update(part.encode() + b"\0")
    h.update((Path(__file__).resolve().parent / "samba_fixtures.py").read_bytes())
    return h.hexdigest()[:16]


def _run_logged(args: list[str], log: Path, what: str, *, env: dict[str, str] | None = None,
                stdin: str | None = None) -> None:
    with open(log, "ab") as out:
        out.write(("$ %s\n" % " ".join(args)).encode())
        out.flush()
        t0 = time.monotonic()
        r = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, check=False, env=env,
                           input=stdin.encode() if stdin is not None else None)
        out.write(("# exit %d after %.1f s\n" % (r.returncode, time.monotonic() - t0)).encode())
    if r.returncode != 0:
        raise SambaError("%s failed (exit %d); the end of %s:\n%s"
                         % (what, r.returncode, log, tail(log)))


def prepare(cache_dir: str | os.PathLike[str], spec: Spec = DEFAULT_SPEC) -> Path:
    """The template directory for ``spec``: from the cache, or provisioned now (~12 s).

    Layout: ``etc/smb.conf`` (provision's, with the template's paths: for samba-tool and
    ldbsearch on the template itself), ``private/`` (sam.ldb, secrets), ``state/``,
    ``keytabs/<computer>.keytab``, ``spec.json``, ``samba-version``, ``provision.log``.
    Built in a temporary sibling and renamed, so a half-built template is never used.
    """
    require_packages()
    spec.check()
    cache = Path(cache_dir).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    template = cache / ("samba-" + cache_key(spec))
    if (template / "spec.json").is_file():
        return template
    build = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
    try:
        (build / "etc").mkdir()
        (build / "etc" / "smb.conf").write_text("")
        log = build / "provision.log"
        _run_logged(provision_args(spec, build), log, "samba-tool domain provision")
        fixtures = [SYSTEM_PYTHON, "-m", "krblab.samba_fixtures", str(build / "etc" / "smb.conf"),
                    str(build / "keytabs")]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        _run_logged(fixtures, log, "krblab.samba_fixtures", env=env, stdin=spec.to_json())
        # pwdLastSet is the DC's clock when the password is set; LDAP accepts only 0 and -1 for it.
        aged = dict(env, LD_PRELOAD=FAKETIME_LIB, FAKETIME=AGED_PASSWORD_TIME,
                    FAKETIME_DONT_RESET="1")
        _run_logged([*fixtures, "--aged-passwords"], log, "krblab.samba_fixtures --aged-passwords",
                    env=aged, stdin=spec.to_json())
        (build / "samba-version").write_text(samba_version() + "\n")
        (build / "spec.json").write_text(spec.to_json() + "\n")
        # The template's paths are rewritten on every start; keep provision's smb.conf usable here.
        smb = build / "etc" / "smb.conf"
        smb.write_text(smb.read_text().replace(str(build), str(template)))
        try:
            build.rename(template)
        except OSError:
            if not (template / "spec.json").is_file():  # not a concurrent prepare that won
                raise
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return template


# -------------------------------------------------------------------------------------- start --

def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError as e:
        return "  | (%s)" % e
    return "\n".join("  | " + line for line in text) if text else "  | (empty)"


def smb_conf(spec: Spec, dc: Path, run: Path, ip: str) -> str:
    """The smb.conf of one run: the KDC alone, on ``ip`` alone, every path under ``dc``/``run``."""
    return "\n".join([
        "# krblab.samba: the lab's Samba AD DC, KDC only",
        "[global]",
        "\tnetbios name = %s" % spec.dc_name.upper(),
        "\tworkgroup = %s" % spec.netbios,
        "\trealm = %s" % spec.realm,
        "\tserver role = active directory domain controller",
        "\tserver services = kdc",
        "\ttls enabled = no",
        "\tinterfaces = %s" % ip,
        "\tbind interfaces only = yes",
        "\tprivate dir = %s" % (dc / "private"),
        "\tstate directory = %s" % (dc / "state"),
        "\tlock directory = %s" % dc,
        "\tcache directory = %s" % (dc / "cache"),
        "\tbinddns dir = %s" % (dc / "bind-dns"),
        "\tpid directory = %s" % run,
        "\tncalrpc dir = %s" % (run / "ncalrpc"),
        "\twinbindd socket directory = %s" % (run / "winbindd"),
        "\tntp signd socket directory = %s" % (run / "ntp_signd"),
        "\tlog file = %s" % (run / "samba.log"),
        "\tlog level = 1 kerberos:3 auth_audit:3",
        "",
    ])


def client_krb5_conf(ip: str = DEFAULT_IP, realm: str = REALM, extra_libdefaults: Sequence[str] = ()) -> str:
    """A DNS-less krb5.conf for clients of the DC on ``ip``."""
    return "\n".join([
        "[libdefaults]",
        "\tdefault_realm = %s" % realm,
        "\tdns_lookup_kdc = false",
        "\tdns_lookup_realm = false",
        "\trdns = false",
        *("\t" + line for line in extra_libdefaults),
        "[realms]",
        "\t%s = {" % realm,
        "\t\tkdc = %s" % ip,
        "\t}",
        "[domain_realm]",
        "\t.%s = %s" % (realm.lower(), realm),
        "",
    ])


def _listening(ip: str, port: int) -> tuple[bool, bool]:
    """(udp, tcp) sockets bound to ip:port in this network namespace (from /proc/net)."""
    want = "%s:%04X" % (ipaddress.IPv4Address(ip).packed[::-1].hex().upper(), port)

    def scan(table: str, state: str) -> bool:
        try:
            rows = Path("/proc/net/" + table).read_text().splitlines()[1:]
        except OSError:
            return False
        return any(f[1] == want and f[3] == state for f in (r.split() for r in rows))
    return scan("udp", "07"), scan("tcp", "0A")


def ensure_address(ip: str) -> None:
    """Put ip/32 on lo unless some interface has it already (Samba binds only to those)."""
    addr = ipaddress.IPv4Address(ip)
    if not addr.is_loopback:
        raise SambaError("refusing to serve on %s: the lab uses 127.0.0.0/8 only" % ip)
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=False)
    if (" %s/" % ip) in shown.stdout:
        return
    r = subprocess.run(["ip", "addr", "add", "%s/32" % ip, "dev", "lo"], capture_output=True, text=True,
                       check=False)
    if r.returncode != 0:
        raise SambaError("ip addr add %s/32 dev lo failed: %s (run inside the lab: lab/run -- ...)"
                         % (ip, r.stderr.strip()))


def start(template_dir: str | os.PathLike[str], run_dir: str | os.PathLike[str], ip: str = DEFAULT_IP,
          timeout: float = START_TIMEOUT) -> subprocess.Popen[bytes]:
    """Start a DC from a copy of the template; returns once udp+tcp 88 listen on ``ip``.

    The copy goes to ``run_dir/dc`` (an existing one is replaced: every start begins from the
    template's state, e.g. no bad-password counts); ``run_dir`` gets smb.conf, samba.log (the
    DC's log and stdout) and krb5.conf (the client configuration of :func:`client_krb5_conf`).
    The caller owns the process: terminate() and wait() it.
    """
    require_packages()
    template = Path(template_dir).resolve()
    spec_file = template / "spec.json"
    if not spec_file.is_file():
        raise SambaError("%s is not a prepared template (no spec.json); run prepare first" % template)
    raw = json.loads(spec_file.read_text())
    spec = Spec(**{k: v for k, v in raw.items() if k not in ("users", "computers")})
    run = Path(run_dir).resolve()
    run.mkdir(parents=True, exist_ok=True)
    dc = run / "dc"
    shutil.rmtree(dc, ignore_errors=True)
    shutil.copytree(template, dc, symlinks=True)
    for sub in ("ncalrpc", "winbindd", "ntp_signd"):
        (run / sub).mkdir(exist_ok=True)
    conf = run / "smb.conf"
    conf.write_text(smb_conf(spec, dc, run, ip))
    (run / "krb5.conf").write_text(client_krb5_conf(ip, spec.realm))
    # Samba's own Kerberos library reads krb5.conf too: not the lab's (realm KUROKOBO.INTERNAL).
    (run / "samba-krb5.conf").write_text(client_krb5_conf(ip, spec.realm))
    ensure_address(ip)
    if all(_listening(ip, 88)):
        raise SambaError("something listens on %s:88 already" % ip)
    log = run / "samba.log"
    env = dict(os.environ, KRB5_CONFIG=str(run / "samba-krb5.conf"))
    with open(log, "ab") as out:
        proc = subprocess.Popen([SAMBA, "-F", "-M", "single", "--debug-stdout", "-s", str(conf)],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while True:
        udp, tcp = _listening(ip, 88)
        if udp and tcp:
            return proc
        if proc.poll() is not None:
            raise SambaError("samba exited (status %s) before listening on %s:88; the end of %s:\n%s"
                             % (proc.returncode, ip, log, tail(log)))
        if time.monotonic() > deadline:
            proc.terminate()
            proc.wait(5)
            raise SambaError("samba did not listen on %s udp+tcp 88 within %.0f s (udp %s, tcp %s); "
                             "the end of %s:\n%s" % (ip, timeout, udp, tcp, log, tail(log)))
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------- CLI --

def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m krblab.samba",
                                 description="The lab's Samba AD DC (realm %s)." % REALM)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="provision the template once (cached); print its directory")
    p.add_argument("--cache", required=True, help="cache directory for templates")
    s = sub.add_parser("start", help="prepare, then run a DC from a copy of the template until SIGTERM")
    s.add_argument("--cache", required=True, help="cache directory for templates")
    s.add_argument("--run", required=True, help="run directory (copy, smb.conf, samba.log, krb5.conf)")
    s.add_argument("--ip", default=DEFAULT_IP, help="loopback address to serve on (default %(default)s)")
    a = ap.parse_args(argv)
    try:
        t0 = time.monotonic()
        template = prepare(a.cache)
        t1 = time.monotonic()
        if a.cmd == "prepare":
            print(template)
            print("samba: template ready in %.1f s" % (t1 - t0), file=sys.stderr)
            return 0
        proc = start(template, a.run, a.ip)
    except SambaError as e:
        print("samba: error: %s" % e, file=sys.stderr)
        return 1
    print("samba: kdc %s:88 (udp+tcp) ready, realm %s; template %.1f s, start %.2f s; "
          "client config %s" % (a.ip, REALM, t1 - t0, time.monotonic() - t1,
                                Path(a.run).resolve() / "krb5.conf"), file=sys.stderr, flush=True)

    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    rc = proc.wait()
    # samba 4.17 exits with 127 on SIGTERM ("Exiting pid N on SIGTERM"); only then is that fine.
    if not (stopping and rc in (0, 127, -signal.SIGTERM)):
        print("samba: exited with status %d; see %s" % (rc, Path(a.run).resolve() / "samba.log"),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
