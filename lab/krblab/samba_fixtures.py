"""samba_fixtures - the AD accounts of the lab's Samba DC, written with Samba's own Python bindings.

:mod:`krblab.samba` runs this once per template, right after ``samba-tool domain provision``,
as ``/usr/bin/python3 -m krblab.samba_fixtures SMB_CONF KEYTAB_DIR < spec.json``: the distribution's
interpreter, because only it can import ``samba`` (python3-samba). One process instead of ~40
``samba-tool`` calls: each of those loads the bindings and opens sam.ldb again (~1 s apiece).

The JSON on stdin is :meth:`krblab.samba.Spec.to_json`. Every user gets the lab password and
then the one AD attribute that puts it into its state; every computer gets a random password
(``samba-tool computer create`` alone leaves a disabled account without keys), its SPNs, its
``msDS-SupportedEncryptionTypes`` and, when asked, TRUSTED_FOR_DELEGATION; its keys are exported
to ``KEYTAB_DIR/<name>.keytab``. Prints one line per account on stdout.

With ``--aged-passwords`` it only sets the password of the ``password-expired`` users again;
krblab.samba runs that second pass under libfaketime in 2020, because pwdLastSet is the DC's
clock at the time of the change and LDAP accepts no other value than 0 and -1 for it.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Any

import ldb
import samba
from samba import dsdb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

# 2020-01-01T00:00:00Z as an NT time (100 ns since 1601): long past, whenever the template is used.
PAST_NTTIME = samba.unix2nttime(1577836800)
# Relative times in AD are negative counts of 100 ns.
SECOND = -10_000_000
# logonHours: 21 bytes, one bit per hour of the week (UTC); all zero = never.
NO_LOGON_HOURS = bytes(21)


def modify(db: Any, dn: Any, **attrs: str | bytes) -> None:
    """Replace attributes of one object (attribute names with '-' as '__')."""
    m = ldb.Message()
    m.dn = dn
    for key, value in attrs.items():
        name = key.replace("__", "-")
        m[name] = ldb.MessageElement(value, ldb.FLAG_MOD_REPLACE, name)
    db.modify(m)


def account_dn(db: Any, sam_name: str) -> Any:
    res = db.search(base=db.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                    expression="(sAMAccountName=%s)" % ldb.binary_encode(sam_name), attrs=[])
    if len(res) != 1:
        raise SystemExit("samba_fixtures: %d accounts named %s" % (len(res), sam_name))
    return res[0].dn


def domain_policy(db: Any, spec: dict[str, Any]) -> None:
    """Passwords never expire by age (the template may be months old when a test uses it);
    lockout after spec's threshold, and a locked account stays locked (duration 0 = until an
    administrator unlocks it), again so that the cached template does not unlock itself."""
    modify(db, ldb.Dn(db, db.domain_dn()),
           maxPwdAge="0", minPwdAge="0",
           lockoutThreshold=str(spec["lockout_threshold"]),
           lockoutDuration="0",
           lockOutObservationWindow=str(30 * 60 * SECOND))


def expired_password_pso(db: Any, user_dn: Any) -> None:
    """A fine-grained password policy (PSO) with a maximum password age of two days, applied to
    one user: the domain's passwords never expire, this user's does once --aged-passwords has
    set it in 2020. (Samba ignores a maximum age of one day or less.)"""
    dn = "CN=two-days,CN=Password Settings Container,CN=System,%s" % db.domain_dn()
    db.add({
        "dn": dn,
        "objectClass": "msDS-PasswordSettings",
        "msDS-PasswordSettingsPrecedence": "1",
        "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
        "msDS-PasswordHistoryLength": "0",
        "msDS-PasswordComplexityEnabled": "FALSE",
        "msDS-MinimumPasswordLength": "0",
        "msDS-MinimumPasswordAge": "0",
        "msDS-MaximumPasswordAge": str(2 * 86400 * SECOND),
        "msDS-LockoutThreshold": "0",
        "msDS-LockoutObservationWindow": str(30 * 60 * SECOND),
        "msDS-LockoutDuration": "0",
        "msDS-PSOAppliesTo": str(user_dn),
    })


def add_user(db: Any, user: dict[str, Any], password: str) -> str:
    """One user in its AD account state; returns what was done, for the log."""
    name, state = user["name"], user["state"]
    db.newuser(name, password, useusernameascn=True)
    dn = account_dn(db, name)
    if state == "healthy":
        pass
    elif state == "disabled":
        db.disable_account("(sAMAccountName=%s)" % name)
    elif state == "account-expired":
        modify(db, dn, accountExpires=str(PAST_NTTIME))
    elif state == "locked-out":
        # What the DC itself writes after lockoutThreshold bad passwords (badPwdCount is
        # replicated-local; lockoutTime is what msDS-User-Account-Control-Computed reads).
        modify(db, dn, lockoutTime=str(samba.unix2nttime(1577836800)))
    elif state == "password-must-change":
        db.force_password_change_at_next_login("(sAMAccountName=%s)" % name)
    elif state == "password-expired":
        expired_password_pso(db, dn)
    elif state == "logon-hours":
        modify(db, dn, logonHours=NO_LOGON_HOURS)
    elif state == "protected-users":
        db.add_remove_group_members("Protected Users", [name], add_members_operation=True)
    elif state == "lockable":
        pass  # healthy until a test sends lockout_threshold wrong passwords
    else:
        raise SystemExit("samba_fixtures: unknown user state %r" % state)
    return "user %s: %s" % (name, state)


def add_computer(db: Any, net: Any, comp: dict[str, Any], realm: str, keytab_dir: str) -> str:
    """One computer account with keys, SPNs, enctypes, delegation, and its keytab."""
    short = comp["name"].lower()
    sam = short.upper() + "$"
    fqdn = "%s.%s" % (short, realm.lower())
    spns = [s % {"s": short, "f": fqdn} for s in comp["spns"]]
    # newcomputer alone leaves a disabled account without keys; setpassword sets keys (a random
    # password, like a real join's) and enables it.
    db.newcomputer(short.upper(), service_principal_name_list=spns)
    db.setpassword("(sAMAccountName=%s)" % ldb.binary_encode(sam), secrets.token_urlsafe(24) + "aA1!")
    dn = account_dn(db, sam)
    attrs: dict[str, str] = {"dNSHostName": fqdn}
    if comp["enctypes"] is not None:
        attrs["msDS__SupportedEncryptionTypes"] = str(comp["enctypes"])
    modify(db, dn, **attrs)
    if comp["trusted_for_delegation"]:
        db.toggle_userAccountFlags("(sAMAccountName=%s)" % ldb.binary_encode(sam),
                                   dsdb.UF_TRUSTED_FOR_DELEGATION, on=True)
    keytab = os.path.join(keytab_dir, short + ".keytab")
    for principal in [sam] + [s for s in spns if "." in s]:
        net.export_keytab(keytab=keytab, principal=principal)
    return "computer %s: enctypes=%s delegation=%s spns=%s" % (
        short, comp["enctypes"], comp["trusted_for_delegation"], ",".join(spns))


def main() -> int:
    args = sys.argv[1:]
    aged = "--aged-passwords" in args
    args = [a for a in args if a != "--aged-passwords"]
    if len(args) != 2:
        print("usage: /usr/bin/python3 -m krblab.samba_fixtures SMB_CONF KEYTAB_DIR [--aged-passwords]"
              " < spec.json", file=sys.stderr)
        return 2
    spec = json.load(sys.stdin)
    lp = LoadParm()
    lp.load(args[0])
    db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    if aged:
        for user in spec["users"]:
            if user["state"] == "password-expired":
                db.setpassword("(sAMAccountName=%s)" % ldb.binary_encode(user["name"]), spec["password"])
                print("user %s: password set at %s" % (user["name"], db.get_timestr()))
        return 0
    samba.enable_net_export_keytab()
    from samba.net import Net
    net = Net(None, lp)
    keytab_dir = args[1]
    os.makedirs(keytab_dir, exist_ok=True)
    domain_policy(db, spec)
    for user in spec["users"]:
        print(add_user(db, user, spec["password"]))
    for comp in spec["computers"]:
        print(add_computer(db, net, comp, spec["realm"], keytab_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
