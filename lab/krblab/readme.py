"""krblab.readme - the generated tables of lab/README.md (address plan, principals, scenarios).

    python3 -m krblab.readme --check     # exit 1 when lab/README.md is not what --write makes
    python3 -m krblab.readme --write

The tables sit between ``<!-- BEGIN krblab.readme NAME -->`` and ``<!-- END krblab.readme -->``
markers; everything else in the README is prose and stays as written. Runs outside the lab
(it reads only lab/scenarios.toml), so scripts/test.sh checks it with the other lints.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from krblab import model
from krblab.model import Host, Model

README = os.path.join(os.path.dirname(model.DEFAULT_PATH), "README.md")
BLOCK = re.compile(r"(<!-- BEGIN krblab.readme (\w+) -->\n)(.*?)(<!-- END krblab.readme -->)", re.S)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _what(h: Host) -> str:
    parts = []
    if not h.dns:
        return "**no DNS record** (NXDOMAIN)"
    if h.listen and not h.drop:
        parts.append("WinRM stand-in on %s" % ", ".join("%d (%s)" % (model.LISTEN[x], x) for x in h.listen))
        if h.behaviour != "negotiate":
            parts.append("offering only **%s**" % h.behaviour.capitalize())
        parts += ["knob **%s**: %s" % (k, model.KNOBS[k]) for k in h.knobs]
    elif h.drop:
        parts.append("5985/5986 silently **dropped** (nftables)")
    else:
        parts.append("nothing listens on 5985/5986")
    if h.samba:
        parts.append("member of the **Samba** domain: its computer account (SPNs, "
                     "msDS-SupportedEncryptionTypes, delegation) is in `krblab.samba`")
    elif not h.spn:
        parts.append("**no SPN**")
    elif h.spns == model.SPN_SERVICES:
        parts.append("SPNs `HTTP/`, `WSMAN/`, `host/%s`" % h.name)
    else:
        parts.append("SPNs %s only (**no %s**)" % (", ".join("`%s/%s`" % (x, h.name) for x in h.spns),
                                                ", ".join("`%s/`" % x for x in model.SPN_SERVICES
                                                          if x not in h.spns)))
    if h.ptr:
        parts.append("the PTR of its address names `%s`" % h.ptr)
    return "; ".join(parts)


def addresses(m: Model) -> str:
    rows = ["| address | name | what is there | what it is for | scenarios |",
            "| --- | --- | --- | --- | --- |",
            "| %s | – | dnsmasq, port 53 | the lab's only DNS server | |" % m.lab.dns]
    serve = {"udp+tcp": "MIT KDC, udp+tcp 88", "tcp": "MIT KDC, **TCP only**", "none": "nothing listens",
             "drop": "port 88 udp+tcp silently **dropped** (nftables)"}
    for k in m.kdcs:
        what = serve[k.serve] + (", clock **%s** (libfaketime)" % k.skew if k.skew else "")
        users = [s.id for s in m.scenarios if s.conf.kdc == k.name]
        if k.name == m.lab.kdc:
            users = ["(the KDC of the lab's krb5.conf)"]
        rows.append("| %s | %s | %s | %s | %s |" % (k.ip, k.name, what, _md(k.note), ", ".join(users)))
    if m.samba:
        rows.append("| %s | %s | Samba AD DC (`krblab.samba`), udp+tcp 88, realm `%s` "
                    "| Active Directory's own KDC: account states, NTSTATUS, enctypes | %s |"
                    % (m.samba.ip, m.samba.fqdn(m.samba.dc), m.samba.realm,
                       ", ".join(s.id for s in m.scenarios if s.conf.samba)))
    for h in sorted(m.hosts, key=lambda h: tuple(int(x) for x in h.ip.split("."))):
        users = [s.id for s in m.scenarios if s.target == m.fqdn(h)]
        if h.name == model.DEFAULT_TARGET:
            users = ["(the default target: %d scenarios)" % len(users)]
        ip = h.ip if h.dns else "–"
        name = m.fqdn(h) if h.samba else h.name
        rows.append("| %s | %s | %s | %s | %s |" % (ip, name, _what(h), _md(h.note), ", ".join(users)))
    rows.append("| %s | – | the \"AWX\" side's own address on `lo` | glibc's `AI_ADDRCONFIG` needs one | |"
                % m.lab.client)
    return "\n".join(rows) + "\n"


def principals(m: Model) -> str:
    rows = ["| principal | kadmin flags | purpose |", "| --- | --- | --- |",
            "| `%s` | `+requires_preauth`, lab password | the AWX credential |" % m.lab.user]
    rows += ["| `%s` | `%s`, lab password | %s |" % (p.name, _md(p.kadmin), _md(p.note))
             for p in m.principals]
    for svc in model.SPN_SERVICES:
        spn = [h.name for h in m.hosts if svc in h.services]
        rows.append("| `%s/<host>.%s` | random key, in `$KRBPROBE_LAB_KEYTAB` | the SPNs of %s |"
                    % (svc, m.lab.domain, ", ".join(spn)))
    return "\n".join(rows) + "\n"


def scenarios(m: Model) -> str:
    rows = ["| scenario | target | krbprobe says | the real client (kinit + pywinrm; pypsrp for psrp) says |",
            "| --- | --- | --- | --- |"]
    for s in m.scenarios:
        says = "`%s`" % s.expect if s.expect else "pass" + (
            " (warn %s)" % ", ".join("`%s`" % w for w in s.warn) if s.warn else "")
        real = _md(s.real) if s.fidelity else "(not in the fidelity matrix)"
        port = "" if s.port == 5985 else ":%d" % s.port
        rows.append("| `%s`: %s | %s%s | %s | %s |" % (s.id, _md(s.title), s.target.split(".")[0], port, says,
                                                      real))
    return "\n".join(rows) + "\n"


TABLES = {"addresses": addresses, "principals": principals, "scenarios": scenarios}


def render(m: Model, text: str) -> str:
    def block(mt: re.Match[str]) -> str:
        name = mt.group(2)
        if name not in TABLES:
            raise model.ModelError("%s: unknown generated table %r" % (README, name))
        return mt.group(1) + TABLES[name](m) + mt.group(4)

    return BLOCK.sub(block, text)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail when lab/README.md is out of date")
    mode.add_argument("--write", action="store_true", help="rewrite the generated tables")
    a = ap.parse_args(argv)
    try:
        m = model.load()
        with open(README, encoding="utf-8") as fh:
            current = fh.read()
        new = render(m, current)
    except (model.ModelError, OSError) as e:
        print("krblab.readme: %s" % e, file=sys.stderr)
        return 2
    if len(BLOCK.findall(current)) != len(TABLES):
        print("krblab.readme: %s should hold the %d generated tables (%s)"
              % (README, len(TABLES), ", ".join(TABLES)), file=sys.stderr)
        return 2
    if a.write:
        with open(README, "w", encoding="utf-8") as fh:
            fh.write(new)
        return 0
    if new != current:
        print("krblab.readme: lab/README.md is out of date: "
              "run PYTHONPATH=lab python3 -m krblab.readme --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
