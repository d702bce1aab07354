"""bench/pywinrm_identify.py - the real client's cost of one authenticated WS-Man Identify per host.

Run by bench/bench.py with the venv of lab/pywinrm-venv.sh (pywinrm 0.5.0, pykerberos) after
`kinit`, KRB5CCNAME naming that ticket cache, as Ansible's winrm connection does:

    VENV/bin/python bench/pywinrm_identify.py PRINCIPAL TARGETS_FILE

For each host, in order: winrm.Protocol('http://HOST:5985/wsman', transport='kerberos',
message_encryption='auto') and one Identify (Kerberos with mutual auth, MS-WSMV encrypted).
Prints one JSON line: {"ok": N, "failed": N, "errors": [...first few...]}.
"""
from __future__ import annotations

import json
import sys
import warnings

IDENTIFY = ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
            "<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>")


def main() -> int:
    warnings.simplefilter("ignore")
    import winrm

    principal, targets_file = sys.argv[1], sys.argv[2]
    with open(targets_file) as f:
        hosts = [line.strip() for line in f if line.strip()]
    ok, errors = 0, []
    for host in hosts:
        try:
            proto = winrm.Protocol("http://%s:5985/wsman" % host, transport="kerberos", username=principal,
                                   message_encryption="auto")
            answer = proto.send_message(IDENTIFY)
            if b"IdentifyResponse" in answer and b"Microsoft Corporation" in answer:
                ok += 1
            else:
                errors.append("%s: unexpected answer %r" % (host, answer[:200]))
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            errors.append("%s: %s: %s" % (host, type(e).__name__, e))
    json.dump({"ok": ok, "failed": len(hosts) - ok, "errors": errors[:5]}, sys.stdout)
    sys.stdout.write("\n")
    return 0 if ok == len(hosts) else 1


if __name__ == "__main__":
    sys.exit(main())
