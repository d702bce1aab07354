"""krblab.model - lab/scenarios.toml, loaded and checked.

The one description of the lab: its realm, KDCs, principals, hosts and scenarios. Loading is
strict on purpose: a misspelt key, a host named twice, an address used by two hosts, a
scenario that targets a host nobody defined or a knob the stand-in does not know all stop with
a :class:`ModelError` naming the entry, because a silently ignored field is a scenario that
tests something other than what it says.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import os
import tomllib
from typing import Any

from krblab import samba as samba_dc

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PATH = os.path.join(os.path.dirname(HERE), "scenarios.toml")

#: The stand-in's knobs (lab/krblab/standin.py): what each makes a host do.
KNOBS: dict[str, str] = {
    "reject": "valid token, then 401 (credentials rejected)",
    "deny": "Create shell -> w:AccessDenied",
    "noencrypt": "plain SOAP only: message encryption refused with 415",
    "wrongkey": "the host's keytab holds a stale kvno",
    "skew": "the host's clock is off (lab/run --win-skew)",
    "stall": "valid token, then no answer",
    "nowsman": "POST /wsman -> 404: the port is open, but no WinRM listener serves /wsman",
    "psrpdeny": "Create on a PowerShell endpoint -> w:AccessDenied; the cmd shell works",
    "cbtstrict": "https: an AP-REQ without channel bindings -> 401 (CbtHardeningLevel=Strict)",
}
#: The SPN services of a computer account in the KDC (host field `spns`), by default all three:
#: HTTP/ (pywinrm), WSMAN/ (registered by WinRM; pypsrp as ansible-core <= 2.20 asks for it),
#: host/ (every AD computer; pypsrp's default, ansible-core >= 2.21).
SPN_SERVICES = ("HTTP", "WSMAN", "host")
BEHAVIOURS = ("negotiate", "basic")
SERVES = ("udp+tcp", "tcp", "none", "drop")
LISTEN = {"http": 5985, "https": 5986}
DEFAULT_TARGET = "kuro-win01"   # a scenario without target or host probes this one


class ModelError(ValueError):
    """lab/scenarios.toml says something impossible; the message names the entry."""


@dataclasses.dataclass(frozen=True)
class Lab:
    realm: str
    domain: str
    dns: str
    client: str
    user: str
    password: str
    kdc: str

    def fqdn(self, name: str) -> str:
        """NAME in the lab's domain (names with a dot, and addresses, stay as they are)."""
        return name if "." in name else "%s.%s" % (name, self.domain)

    @property
    def principal(self) -> str:
        return "%s@%s" % (self.user, self.realm)


@dataclasses.dataclass(frozen=True)
class Samba:
    """The Samba AD DC (lab/krblab/samba.py): a second realm beside the MIT one, whose KDC is
    Active Directory's own (account states, NTSTATUS, msDS-SupportedEncryptionTypes)."""
    realm: str
    dc: str
    ip: str

    @property
    def domain(self) -> str:
        # samba-tool provisions the DNS domain as the realm in lower case (as AD does).
        return self.realm.lower()

    def fqdn(self, name: str) -> str:
        return name if "." in name else "%s.%s" % (name, self.domain)


@dataclasses.dataclass(frozen=True)
class Kdc:
    name: str
    ip: str
    serve: str = "udp+tcp"
    skew: str = ""
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Principal:
    name: str
    kadmin: str = "+requires_preauth"
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Host:
    name: str
    ip: str
    spn: bool = True
    spns: tuple[str, ...] = SPN_SERVICES   # which SPN services, when spn is true
    ptr: str = ""
    dns: bool = True
    listen: tuple[str, ...] = ("http",)
    behaviour: str = "negotiate"
    knobs: tuple[str, ...] = ()
    drop: bool = False
    note: str = ""
    scenario: str = ""          # the scenario that defines it inline, if any
    samba: bool = False         # a member of the Samba domain: SPNs and keytab from the DC

    @property
    def ports(self) -> list[int]:
        return [LISTEN[x] for x in self.listen]

    @property
    def services(self) -> tuple[str, ...]:
        """The SPN services the MIT KDC has for this host (none when spn = false; a Samba
        member's SPNs are its computer account's, in the DC)."""
        return self.spns if self.spn and not self.samba else ()


@dataclasses.dataclass(frozen=True)
class Conf:
    """How a scenario's krb5.conf differs from the lab's /etc/krb5.conf."""

    kdc: str | None = None             # None: the lab's KDC; "": no kdc line
    libdefaults: tuple[str, ...] = ()
    rdns: bool = False
    dns_lookup_kdc: bool = False
    default_realm: bool = True
    before: str = ""
    missing: bool = False
    samba: bool = False                # the Samba realm and DC instead of the MIT ones

    @property
    def is_default(self) -> bool:
        return self == Conf()


@dataclasses.dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    target: str                        # the FQDN or address krbprobe is given
    user: str
    password: str                      # "" = none given
    conf: Conf
    port: int = 5985
    ca: bool = False
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    ccache: str = ""
    expect: str = ""                   # "" = the run passes
    hint: str = ""
    warn: tuple[str, ...] = ()
    checks: tuple[tuple[str, Any], ...] = ()
    real: str = ""
    fidelity: bool = True
    max_seconds: float = 0.0
    note: str = ""

    @property
    def scheme(self) -> str:
        # Ansible's winrm connection: https unless the port is 5985.
        return "http" if self.port == 5985 else "https"

    @property
    def connection(self) -> str:
        """The Ansible connection the scenario's krbprobe args name (`--connection`), winrm by default."""
        for opt, value in itertools.pairwise(self.args):
            if opt == "--connection":
                return value
        return "winrm"


@dataclasses.dataclass(frozen=True)
class Model:
    lab: Lab
    samba: Samba | None
    kdcs: tuple[Kdc, ...]
    principals: tuple[Principal, ...]
    hosts: tuple[Host, ...]             # shared and inline, in file order
    scenarios: tuple[Scenario, ...]
    confs: tuple[tuple[str, Conf], ...]  # the extra named client configs
    path: str

    def fqdn(self, host: Host) -> str:
        """A host's name in its domain (the lab's, or the Samba domain for its members)."""
        if host.samba and self.samba:
            return self.samba.fqdn(host.name)
        return self.lab.fqdn(host.name)

    def host(self, name: str) -> Host | None:
        return next((h for h in self.hosts if h.name == name), None)

    def kdc(self, name: str) -> Kdc | None:
        return next((k for k in self.kdcs if k.name == name), None)

    def scenario(self, sid: str) -> Scenario:
        for s in self.scenarios:
            if s.id == sid:
                return s
        raise KeyError(sid)


# ------------------------------------------------------------------ loading --

def _take(table: dict[str, Any], where: str, fields: dict[str, type | tuple[type, ...]],
          required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The known FIELDS of TABLE with their types checked; anything else is an error."""
    if not isinstance(table, dict):
        raise ModelError("%s: expected a table, got %r" % (where, table))
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ModelError("%s: unknown key(s) %s (known: %s)" % (where, ", ".join(unknown), ", ".join(fields)))
    for key in required:
        if key not in table:
            raise ModelError("%s: %s is required" % (where, key))
    out: dict[str, Any] = {}
    for key, value in table.items():
        want = fields[key]
        allowed = want if isinstance(want, tuple) else (want,)
        # bool is an int in Python: an int field must not take true/false.
        if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
            raise ModelError("%s: %s = %r has the wrong type" % (where, key, value))
        out[key] = value
    return out


def _strings(value: list[Any], where: str) -> tuple[str, ...]:
    if not all(isinstance(v, str) for v in value):
        raise ModelError("%s: expected a list of strings, got %r" % (where, value))
    return tuple(value)


def _ip(value: str, where: str) -> str:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ModelError("%s: %r is not an IP address" % (where, value)) from None
    # The lab's traffic stays on loopback (inside its namespace): nothing else, ever.
    if not addr.is_loopback:
        raise ModelError("%s: %s is not a loopback address (the lab lives in 127.0.0.0/8)" % (where, value))
    return value


def _host(t: dict[str, Any], where: str, scenario: str = "") -> Host:
    f = _take(t, where, {"name": str, "ip": str, "spn": bool, "spns": list, "ptr": str, "dns": bool,
                         "listen": list, "behaviour": str, "knobs": list, "drop": bool, "note": str,
                         "samba": bool},
              ("name", "ip"))
    if f.get("samba"):
        # A Samba member is a computer account of krblab.samba's fixtures: its SPNs, enctypes
        # and delegation are set there (the DC's database is built once and cached).
        computers = {c.name for c in samba_dc.DEFAULT_SPEC.computers}
        if f["name"] not in computers:
            raise ModelError("%s: samba host %s is no computer of krblab.samba.DEFAULT_SPEC (%s)"
                             % (where, f["name"], ", ".join(sorted(computers))))
        for key in ("spn", "spns", "ptr", "dns", "drop"):
            if key in f:
                raise ModelError("%s: %s is not for a samba host (its computer account says)" % (where, key))
        if "wrongkey" in f.get("knobs", ()) or "skew" in f.get("knobs", ()):
            raise ModelError("%s: the wrongkey and skew knobs are MIT-lab only" % where)
    f["ip"] = _ip(f["ip"], where)
    if "spns" in f:
        f["spns"] = _strings(f["spns"], where + ".spns")
        if f.get("spn") is False:
            raise ModelError("%s: spn = false has no SPNs; leave out spns" % where)
        if not f["spns"] or len(set(f["spns"])) != len(f["spns"]):
            raise ModelError("%s: spns must name each service once (or use spn = false)" % where)
        for x in f["spns"]:
            if x not in SPN_SERVICES:
                raise ModelError("%s: spns %r is none of %s" % (where, x, ", ".join(SPN_SERVICES)))
    f["listen"] = _strings(f.get("listen", ["http"]), where + ".listen")
    f["knobs"] = _strings(f.get("knobs", []), where + ".knobs")
    for x in f["listen"]:
        if x not in LISTEN:
            raise ModelError("%s: listen %r is neither of %s" % (where, x, ", ".join(LISTEN)))
    for k in f["knobs"]:
        if k not in KNOBS:
            raise ModelError("%s: knob %r is not one the stand-in knows (%s)" % (where, k, ", ".join(KNOBS)))
    if f.get("behaviour", "negotiate") not in BEHAVIOURS:
        raise ModelError("%s: behaviour %r is neither of %s" % (where, f["behaviour"], ", ".join(BEHAVIOURS)))
    if len(f["knobs"]) > 1 and "skew" in f["knobs"]:
        raise ModelError("%s: the skew knob runs in its own stand-in process; combine it with no other"
                         % where)
    return Host(scenario=scenario, **f)


def _conf(t: dict[str, Any], where: str) -> Conf:
    f = _take(t, where, {"kdc": str, "libdefaults": list, "rdns": bool, "dns_lookup_kdc": bool,
                         "default_realm": bool, "before": str, "missing": bool})
    if "libdefaults" in f:
        f["libdefaults"] = _strings(f["libdefaults"], where + ".libdefaults")
    conf = Conf(**f)
    if conf.missing and conf != Conf(missing=True):
        raise ModelError("%s: missing = true takes no other key" % where)
    return conf


def load(path: str | None = None) -> Model:
    """Read and check lab/scenarios.toml (or PATH)."""
    path = path or os.environ.get("KRBPROBE_LAB_SCENARIOS_TOML") or DEFAULT_PATH
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as e:
        raise ModelError("%s: cannot read: %s" % (path, e.strerror)) from None
    except tomllib.TOMLDecodeError as e:
        raise ModelError("%s: not valid TOML: %s" % (path, e)) from None
    top = _take(doc, path, {"lab": dict, "samba": dict, "kdc": list, "principal": list, "host": list,
                            "scenario": list, "confs": dict},
                ("lab", "kdc", "scenario"))
    lab_keys = ("realm", "domain", "dns", "client", "user", "password", "kdc")
    lab = Lab(**_take(top["lab"], "[lab]", dict.fromkeys(lab_keys, str), lab_keys))
    if lab.realm != lab.realm.upper():
        raise ModelError("[lab]: realm %s must be upper case (AD realms are)" % lab.realm)

    samba = None
    if "samba" in top:
        f = _take(top["samba"], "[samba]", {"realm": str, "dc": str, "ip": str}, ("realm", "dc", "ip"))
        if f["realm"] != samba_dc.REALM:
            raise ModelError("[samba]: realm %s is not the one krblab.samba provisions (%s)"
                             % (f["realm"], samba_dc.REALM))
        # test_samba.py runs its own DC on samba.DEFAULT_IP inside the same lab.
        if f["ip"] == samba_dc.DEFAULT_IP:
            raise ModelError("[samba]: ip %s is lab/test_samba.py's own DC; take another" % f["ip"])
        if samba_dc.PASSWORD != lab.password:
            raise ModelError("[samba]: krblab.samba's users have another password than [lab]'s")
        samba = Samba(realm=f["realm"], dc=f["dc"], ip=_ip(f["ip"], "[samba]"))

    kdcs = []
    for i, t in enumerate(top["kdc"]):
        where = "[[kdc]] #%d" % (i + 1)
        f = _take(t, where, {"name": str, "ip": str, "serve": str, "skew": str, "note": str}, ("name", "ip"))
        f["ip"] = _ip(f["ip"], where)
        if f.get("serve", "udp+tcp") not in SERVES:
            raise ModelError("%s: serve %r is none of %s" % (where, f["serve"], ", ".join(SERVES)))
        kdcs.append(Kdc(**f))
    principal_fields: dict[str, type | tuple[type, ...]] = {"name": str, "kadmin": str, "note": str}
    principals = [Principal(**_take(t, "[[principal]] #%d" % (i + 1), principal_fields, ("name",)))
                  for i, t in enumerate(top.get("principal", []))]
    hosts = [_host(t, "[[host]] #%d" % (i + 1)) for i, t in enumerate(top.get("host", []))]

    scen_fields: dict[str, type | tuple[type, ...]] = {
        "id": str, "title": str, "target": str, "host": dict, "user": str, "password": str, "conf": dict,
        "port": int, "ca": bool, "args": list, "env": dict, "ccache": str, "expect": str, "hint": str,
        "warn": list, "checks": dict, "real": str, "fidelity": bool, "max_seconds": (int, float), "note": str,
        "samba": bool}
    raw = []
    for i, t in enumerate(top["scenario"]):
        where = "[[scenario]] #%d%s" % (i + 1, " (%s)" % t["id"] if isinstance(t, dict) and "id" in t else "")
        f = _take(t, where, scen_fields, ("id", "title"))
        if "host" in f:
            if "target" in f:
                raise ModelError("%s: give host = {...} or target, not both" % where)
            hosts.append(_host(f["host"], where + ".host", f["id"]))
            f["target"] = f.pop("host")["name"]
        raw.append((where, f))

    _unique("KDC name", [k.name for k in kdcs])
    _unique("host name", [h.name for h in hosts] + [k.name for k in kdcs] + ([samba.dc] if samba else []))
    if any(h.samba for h in hosts) and samba is None:
        raise ModelError("a host has samba = true, but there is no [samba] table")
    _unique("principal", [p.name for p in principals] + [lab.user])
    _unique("scenario id", [f["id"] for _, f in raw])
    addrs: dict[str, str] = {}
    for name, ip in ([(k.name, k.ip) for k in kdcs] + [(h.name, h.ip) for h in hosts]
                     + ([(samba.dc, samba.ip)] if samba else [])):
        # Two names on one address is how the PTR scenarios are made; only with ptr set.
        other = addrs.setdefault(ip, name)
        if other != name and not any(h.ptr in (name, other) for h in hosts if h.ip == ip):
            raise ModelError("%s and %s both have %s (only a ptr = pair may share an address)"
                             % (other, name, ip))
    names = {h.name for h in hosts} | {k.name for k in kdcs}
    for h in hosts:
        if h.ptr and h.ptr not in names:
            raise ModelError("host %s: ptr %s is no host of the lab" % (h.name, h.ptr))
    if lab.kdc not in {k.name for k in kdcs}:
        raise ModelError("[lab]: kdc %s is no [[kdc]]" % lab.kdc)

    users = {lab.user} | {p.name for p in principals}
    samba_users = {u.name for u in samba_dc.DEFAULT_SPEC.users}
    scenarios = []
    for where, f in raw:
        in_samba = f.pop("samba", False)
        if in_samba and samba is None:
            raise ModelError("%s: samba = true, but there is no [samba] table" % where)
        target = f.pop("target", None)
        if target is None and in_samba:
            raise ModelError("%s: a samba scenario names its target (a samba = true host)" % where)
        target = target or DEFAULT_TARGET
        if not _is_ip(target) and "." not in target:
            th = next((x for x in hosts if x.name == target), None)
            if target not in names:
                raise ModelError("%s: target %s is no host of the lab" % (where, target))
            if th is not None and th.samba != in_samba:
                raise ModelError("%s: target %s is %s the Samba domain, the scenario is not"
                                 % (where, target, "in" if th.samba else "not in"))
            target = samba.fqdn(target) if in_samba and samba else lab.fqdn(target)
        conf = _conf(f.pop("conf", {}), where + ".conf")
        if in_samba:
            if conf.kdc is not None or conf.missing or conf.dns_lookup_kdc:
                raise ModelError("%s: a samba scenario's krb5.conf names the DC (no kdc, missing, "
                                 "dns_lookup_kdc)" % where)
            conf = dataclasses.replace(conf, samba=True)
        if conf.kdc and conf.kdc not in names and "." not in conf.kdc and not conf.kdc.startswith("kuro-no"):
            raise ModelError("%s: conf.kdc %s is no KDC of the lab (a name starting kuro-no is for "
                             "'no such name')" % (where, conf.kdc))
        realm = samba.realm if in_samba and samba else lab.realm
        user = f.pop("user", "%s@%s" % (lab.user, realm))
        base = user.split("@", 1)[0]
        known = samba_users if in_samba else users
        if base not in known and not base.startswith("nosuch"):
            raise ModelError("%s: user %s is no principal of the %s (a name starting nosuch is for "
                             "'unknown user')" % (where, user, "Samba DC" if in_samba else "lab"))
        if in_samba and "@" not in user:
            user = "%s@%s" % (user, realm)
        ccache = f.get("ccache", "")
        if ccache not in ("", "other-principal"):
            raise ModelError("%s: ccache %r: only \"other-principal\" is known" % (where, ccache))
        if f.get("port", 5985) not in (5985, 5986):
            raise ModelError("%s: port %s is no WinRM port" % (where, f["port"]))
        env = f.pop("env", {})
        if not all(isinstance(v, str) for v in env.values()):
            raise ModelError("%s: env values must be strings" % where)
        checks = f.pop("checks", {})
        for key in checks:
            if ":" not in key:
                raise ModelError("%s: checks key %r is not \"CHECK-ID:path\"" % (where, key))
        s = Scenario(
            target=target, user=user, conf=conf,
            password=f.pop("password", "" if ccache else lab.password),
            args=_strings(f.pop("args", []), where + ".args"),
            warn=_strings(f.pop("warn", []), where + ".warn"),
            env=tuple(sorted(env.items())), checks=tuple(checks.items()),
            max_seconds=float(f.pop("max_seconds", 0.0)), **f)
        if s.expect and s.warn:
            raise ModelError("%s: warn is the exact warning set of a passing run; this one fails" % where)
        if s.fidelity and not s.real:
            raise ModelError("%s: a fidelity scenario says what the real client prints (real = ...)" % where)
        scenarios.append(s)
    confs = tuple((name, _conf(t, "[confs] %s" % name)) for name, t in top.get("confs", {}).items())
    return Model(lab, samba, tuple(kdcs), tuple(principals), tuple(hosts), tuple(scenarios), confs, path)


def _unique(what: str, items: list[str]) -> None:
    seen = set()
    for x in items:
        if x in seen:
            raise ModelError("%s %s is defined twice" % (what, x))
        seen.add(x)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -------------------------------------------------------------- krb5.conf --

def krb5_conf(lab: Lab, conf: Conf = Conf(), samba: Samba | None = None) -> str:
    """The client krb5.conf of a scenario: the lab's /etc/krb5.conf, changed as CONF says
    (conf.samba: the Samba realm, its DC as the KDC)."""
    if conf.samba:
        if samba is None:
            raise ModelError("a samba krb5.conf without the [samba] table")
        return _samba_krb5_conf(samba, conf)
    lines = [conf.before.rstrip("\n")] if conf.before else []
    lines.append("[libdefaults]")
    if conf.default_realm:
        lines.append("    default_realm = %s" % lab.realm)
    lines += ["    dns_lookup_kdc = %s" % str(conf.dns_lookup_kdc).lower(),
              "    dns_lookup_realm = false",
              "    rdns = %s" % str(conf.rdns).lower()]
    lines += ["    " + x.strip() for x in conf.libdefaults]
    kdc = lab.kdc if conf.kdc is None else conf.kdc
    lines += ["", "[realms]", "    %s = {" % lab.realm]
    if kdc:
        lines.append("        kdc = %s" % lab.fqdn(kdc))
    lines += ["        admin_server = %s" % lab.fqdn(lab.kdc), "    }", "",
              "[domain_realm]",
              "    .%s = %s" % (lab.domain, lab.realm),
              "    %s = %s" % (lab.domain, lab.realm)]
    return "\n".join(lines) + "\n"


def _samba_krb5_conf(samba: Samba, conf: Conf) -> str:
    lines = [conf.before.rstrip("\n")] if conf.before else []
    lines.append("[libdefaults]")
    if conf.default_realm:
        lines.append("    default_realm = %s" % samba.realm)
    lines += ["    dns_lookup_kdc = false",
              "    dns_lookup_realm = false",
              "    rdns = %s" % str(conf.rdns).lower()]
    lines += ["    " + x.strip() for x in conf.libdefaults]
    dc = samba.fqdn(samba.dc)
    lines += ["", "[realms]", "    %s = {" % samba.realm,
              "        kdc = %s" % dc,
              "        admin_server = %s" % dc, "    }", "",
              "[domain_realm]",
              "    .%s = %s" % (samba.domain, samba.realm),
              "    %s = %s" % (samba.domain, samba.realm)]
    return "\n".join(lines) + "\n"
