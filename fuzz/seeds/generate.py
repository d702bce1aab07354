#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/) from the samples below.

The samples are what krbprobe meets in practice and what its unit tests use: a krb5.conf for
AWX pods (container/k8s/krb5-configmap.yaml) and MIT's quirks (src/profile/ tests), KDC
replies as MIT and Active Directory send them (the messages src/kdcproto/fixtures.rs builds
with rasn-kerberos, here DER-encoded by hand), the WinRM answers of src/winrm/soap.rs tests and
lab/krblab/standin.py, the multipart/encrypted layout of src/winrm/multipart.rs tests, and
Ansible inventories as --targets-file reads them (src/inventory.rs tests).

Standard library only; deterministic; rerun after changing a sample: python3 fuzz/seeds/generate.py
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- krb5.conf ---------------------------------------------------------------

AWX_POD = """\
[libdefaults]
    default_realm = KUROKOBO.INTERNAL

    # The realm's KDCs come from [realms] below.
    dns_lookup_kdc = true
    dns_lookup_realm = false
    rdns = false
    default_ccache_name = FILE:/tmp/krb5cc_%{uid}
    udp_preference_limit = 1

[realms]
    KUROKOBO.INTERNAL = {
        # Host names, not addresses.
        kdc = kuro-ad01.kurokobo.internal
        # kdc = kuro-ad02.kurokobo.internal
    }

[domain_realm]
    .kurokobo.internal = KUROKOBO.INTERNAL
    kurokobo.internal = KUROKOBO.INTERNAL
"""

# Most of MIT's syntax: final sections, nested groups, quoted values with escapes, every
# server-value form, both comment characters.
MIT_FULL = """\
# /etc/krb5.conf of a RHEL host joined with realmd
; a semicolon comment
includedir /etc/krb5.conf.d/

[logging]
    default = FILE:/var/log/krb5libs.log
    kdc = FILE:/var/log/krb5kdc.log

[libdefaults]*
    default_realm = EXAMPLE.COM
    dns_lookup_realm = false
    dns_lookup_kdc = yes
    dns_canonicalize_hostname = fallback
    ticket_lifetime = 24h
    renew_lifetime = 7d
    forwardable = true
    rdns = false
    allow_weak_crypto = off
    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 rc4-hmac
    default_ccache_name = KEYRING:persistent:%{uid}
    spake_preauth_groups = edwards25519

[realms]
    EXAMPLE.COM = {
        kdc = dc01.example.com
        kdc = dc02.example.com:88
        kdc = [2001:db8::10]:750
        kdc = https://kdcproxy.example.com/KdcProxy
        admin_server = dc01.example.com:749
        kpasswd_server = dc01.example.com
        master_kdc = dc01.example.com
        default_domain = example.com
        auth_to_local = RULE:[1:$1@$0](.*@EXAMPLE\\.COM)s/@.*//
        auth_to_local = DEFAULT
        v4_name_convert = {
            host = {
                rcmd = host
            }
        }*
    }
    CHILD.EXAMPLE.COM = {
        kdc = tcp/dc03.child.example.com
        kdc = 192.0.2.7
    }

[domain_realm]
    .example.com = EXAMPLE.COM
    example.com = EXAMPLE.COM
    .child.example.com = CHILD.EXAMPLE.COM
    host.other.org = EXAMPLE.COM

[capaths]
    CHILD.EXAMPLE.COM = {
        EXAMPLE.COM = .
    }

[appdefaults]
    pam = {
        debug = false
        ticket_lifetime = 36000
        krb4_convert = false
    }
    banner = "Kerberos \\"login\\"\\tready\\n"

[plugins]
    localauth = {
        module = sssd:/usr/lib64/sssd/modules/sssd_krb5_localauth_plugin.so
    }
"""

# What the krb5-conf check warns about: inline comments, an uppercase [domain_realm] key,
# blanks inside brackets, a final relation, an unclosed brace.
QUIRKS = """\
  [libdefaults]
[libdefaults]
    default_realm = kurokobo.internal   # lowercase realm
    rdns = false ; why
    dns_lookup_kdc = maybe
    allow_weak_crypto* = true
[ realms ]
[realms]
    KUROKOBO.INTERNAL = {
        kdc = KURO-AD01.kurokobo.internal:88 extra
        kdc = udp/kuro-ad02.kurokobo.internal
        kdc = HTTPS://proxy.kurokobo.internal/
        kdc = :88
        kdc = 88
        admin_server = kuro-ad01:-1
    }
    OTHER.REALM =
    {
        kdc = other-kdc
[domain_realm]
    .KUROKOBO.INTERNAL = KUROKOBO.INTERNAL
    kuro-win01.kurokobo.internal. = KUROKOBO.INTERNAL
"""

MODULE = ("module /usr/lib/x86_64-linux-gnu/krb5/plugins/profile/ldap.so:ou=krb5,dc=example\n"
          "[libdefaults]\n    default_realm = IGNORED.EXAMPLE\n")

SYNTAX_ERRORS = [
    ("missing-equals.conf", "[libdefaults]\n    default_realm EXAMPLE.COM\n"),
    ("section-in-group.conf", "[realms]\n  R = {\n[libdefaults]\n  }\n"),
    ("extra-brace.conf", "[realms]\n  }\n"),
    ("missing-obrace.conf", "[realms]\n  R =\n  kdc = x\n"),
    ("section-syntax.conf", "[realms] trailing\n"),
    ("module-syntax.conf", "module no-colon-here\n"),
]


def krb5_conf():
    write("krb5_conf", "awx-pod.conf", AWX_POD)
    write("krb5_conf", "mit-full.conf", MIT_FULL)
    write("krb5_conf", "quirks.conf", QUIRKS)
    write("krb5_conf", "bom-crlf.conf", b"\xef\xbb\xbf" + AWX_POD.replace("\n", "\r\n").encode())
    write("krb5_conf", "module.conf", MODULE)
    # A value longer than MIT's 2047-byte fgets buffer, and bytes that are not UTF-8.
    write("krb5_conf", "long-line.conf",
          "[libdefaults]\n    permitted_enctypes = " + "aes256-cts " * 200 + "\n[realms]\n    X = {\n    }\n")
    write("krb5_conf", "latin1.conf",
          b"[realms]\n    M\xdcNCHEN.EXAMPLE = {\n        kdc = kdc\x00.m\xfcnchen\n    }\n")
    for name, text in SYNTAX_ERRORS:
        write("krb5_conf", name, text)


# --- KDC replies (RFC 4120), DER -----------------------------------------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def integer(v):
    n = 1
    while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
        n += 1
    return tlv(0x02, v.to_bytes(n, "big", signed=True))


def seq(*items):
    return tlv(0x30, b"".join(i for i in items if i is not None))


def ctx(n, content):
    return None if content is None else tlv(0xA0 | n, content)


def app(n, content):
    return tlv(0x60 | n, content)


def kstring(s):
    return tlv(0x1B, s.encode() if isinstance(s, str) else s)


def ktime(s):
    return tlv(0x18, s.encode())


def octets(b):
    return tlv(0x04, b)


def principal(name_type, *parts):
    return seq(ctx(0, integer(name_type)), ctx(1, seq(*(kstring(p) for p in parts))))


def method_data(*entries):
    return seq(*(seq(ctx(1, integer(t)), ctx(2, octets(v))) for t, v in entries))


def etype_info2(*entries):
    return seq(*(seq(ctx(0, integer(e)), ctx(1, None if s is None else kstring(s)),
                     ctx(2, None if p is None else octets(p))) for e, s, p in entries))


def krb_error(code, realm="EXAMPLE.COM", ctime=None, cusec=None, stime="20260314150926Z",
              susec=250000, crealm=None, cname=("awx",), e_text=None, e_data=None):
    return app(30, seq(
        ctx(0, integer(5)), ctx(1, integer(30)),
        ctx(2, None if ctime is None else ktime(ctime)),
        ctx(3, None if cusec is None else integer(cusec)),
        ctx(4, ktime(stime)), ctx(5, integer(susec)), ctx(6, integer(code)),
        ctx(7, None if crealm is None else kstring(crealm)),
        ctx(8, None if cname is None else principal(1, *cname)),
        ctx(9, kstring(realm)), ctx(10, principal(2, "krbtgt", realm)),
        ctx(11, None if e_text is None else kstring(e_text)),
        ctx(12, None if e_data is None else octets(e_data)),
    ))


def encrypted_data(etype, kvno, cipher):
    return seq(ctx(0, integer(etype)), ctx(1, None if kvno is None else integer(kvno)),
               ctx(2, octets(cipher)))


def ticket(realm, sname, etype, kvno, cipher):
    return app(1, seq(ctx(0, integer(5)), ctx(1, kstring(realm)), ctx(2, sname),
                      ctx(3, encrypted_data(etype, kvno, cipher))))


def ad_ext_error(ntstatus):
    # KERB-EXT-ERROR (MS-KILE 2.2.1): NTSTATUS, reserved, flags, little-endian.
    return struct.pack("<III", ntstatus, 0, 1)


def gss_frame(tok_id, msg):
    # RFC 1964 framing, OID 1.2.840.113554.1.2.2.
    inner = tlv(0x06, bytes.fromhex("2a864886f712010202")) + tok_id + msg
    return tlv(0x60, inner)


def kdc_reply():
    realm = "EXAMPLE.COM"
    # MIT krb5kdc's answer to the probe: PREAUTH_REQUIRED with its methods (the unit test).
    write("kdc_reply", "mit-preauth-required.der", krb_error(25, e_data=method_data(
        (136, b""),
        (19, etype_info2((18, "EXAMPLE.COMawx", None), (23, None, None))),
        (2, b""), (138, b""), (133, b"MIT1"))))
    # Active Directory's: ETYPE-INFO2 with AES iteration count, PKINIT methods, 16/15.
    write("kdc_reply", "ad-preauth-required.der", krb_error(
        25, realm="KUROKOBO.INTERNAL", cname=None, susec=0, e_data=method_data(
            (19, etype_info2((18, "KUROKOBO.INTERNALawx", bytes.fromhex("00001000")),
                             (23, None, None))),
            (2, b""), (16, b""), (15, b""), (11, seq(seq(ctx(0, integer(23))))))))
    write("kdc_reply", "client-unknown.der", krb_error(6, e_text="CLIENT_NOT_FOUND"))
    write("kdc_reply", "wrong-realm.der", krb_error(68, crealm="AD.EXAMPLE.COM"))
    write("kdc_reply", "skew.der", krb_error(37, ctime="20260314150000Z", cusec=500))
    write("kdc_reply", "response-too-big.der", krb_error(52, cname=None))
    # AD: account locked out as KERB-ERROR-DATA, account disabled as PA-DATA type 3.
    write("kdc_reply", "ad-locked-out.der", krb_error(18, e_data=seq(
        ctx(1, integer(3)), ctx(2, octets(ad_ext_error(0xC0000234))))))
    write("kdc_reply", "ad-disabled.der", krb_error(18, e_data=method_data(
        (3, ad_ext_error(0xC0000072)))))
    write("kdc_reply", "undecodable-edata.der", krb_error(24, e_data=b"\xde\xad"))
    write("kdc_reply", "utf8-crealm.der", krb_error(6, crealm="M\u00dcNCHEN.EXAMPLE".encode()))
    write("kdc_reply", "as-rep.der", app(11, seq(
        ctx(0, integer(5)), ctx(1, integer(11)),
        ctx(2, method_data((19, etype_info2((18, "EXAMPLE.COMnopreauth", None))))),
        ctx(3, kstring(realm)), ctx(4, principal(1, "nopreauth")),
        ctx(5, ticket(realm, principal(2, "krbtgt", realm), 18, 2, b"\xaa" * 300)),
        ctx(6, encrypted_data(18, 3, b"\xbb" * 200)))))
    ap_req = app(14, seq(
        ctx(0, integer(5)), ctx(1, integer(14)), ctx(2, tlv(0x03, b"\x00\x20\x00\x00\x00")),
        ctx(3, ticket(realm, principal(3, "HTTP", "win01.example.com"), 18, 4, b"\xcc" * 1200)),
        ctx(4, encrypted_data(18, None, b"\xdd" * 150))))
    write("kdc_reply", "ap-req.der", ap_req)
    write("kdc_reply", "ap-req-gss.tok", gss_frame(b"\x01\x00", ap_req))
    # What a WinRM acceptor returns in WWW-Authenticate for a skewed client.
    write("kdc_reply", "krb-error-gss.tok", gss_frame(b"\x03\x00", krb_error(
        37, realm="KUROKOBO.INTERNAL", cname=None, e_data=None)))
    # Not Kerberos: a TCP length prefix left on.
    msg = krb_error(25)
    write("kdc_reply", "tcp-prefixed.bin", struct.pack(">I", len(msg)) + msg)


# --- WS-Management answers ----------------------------------------------------------------

NS_S = "http://www.w3.org/2003/05/soap-envelope"

ACCESS_DENIED = (
    '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
    'xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"><s:Header>'
    '<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body>'
    '<s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:AccessDenied</s:Value>'
    '</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">Access is denied. </s:Text>'
    '</s:Reason><s:Detail><f:WSManFault '
    'xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="5" '
    'Machine="kuro-win01.kurokobo.internal"><f:Message>Access is denied. </f:Message>'
    '</f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>')

CREATED = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body>'
    '<x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer">'
    '<a:ReferenceParameters xmlns:a="x"><w:SelectorSet><w:Selector Name="ShellId">'
    '11111111-2222</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>'
    '<rsp:Shell><rsp:ShellId>11111111-2222</rsp:ShellId></rsp:Shell></s:Body></s:Envelope>')

IDENTIFY = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Body>'
    '<wsmid:IdentifyResponse><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'
    '</wsmid:ProtocolVersion><wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>'
    '<wsmid:ProductVersion>OS: 10.0.17763 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>'
    '</wsmid:IdentifyResponse></s:Body></s:Envelope>')

# A fault whose message has markup escaped in it and spans lines, as Windows writes the
# "Negotiate authentication is not enabled" family of faults.
ENCRYPTION_FAULT = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">\r\n<s:Body><s:Fault>'
    '<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>w:InvalidOptions</s:Value>'
    '</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WinRM client cannot process '
    'the request. Unencrypted traffic is currently disabled in the client configuration.'
    '</s:Text></s:Reason><s:Detail><WSManFault xmlns="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
    'Code="2150858770" Machine="win02"><Message><ProviderFault provider="Shell cmd" '
    'path="%systemroot%\\system32\\winrscmd.dll">Change the client configuration &amp; try '
    'the request again: &lt;AllowUnencrypted&gt; = &quot;true&quot;.</ProviderFault>'
    '</Message></WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>\r\n')

NOT_SOAP = '<html><head><title>404 - Not Found</title></head><body><h1>Not Found</h1></body></html>'


def wsman_soap():
    write("wsman_soap", "access-denied-fault.xml", ACCESS_DENIED)
    write("wsman_soap", "create-shell-answer.xml", CREATED)
    write("wsman_soap", "identify-answer.xml", IDENTIFY)
    write("wsman_soap", "invalid-options-fault.xml", ENCRYPTION_FAULT)
    write("wsman_soap", "empty-fault.xml",
          '<s:Envelope xmlns:s="%s"><s:Body><s:Fault/><w:WSManFault Code="5"/></s:Body></s:Envelope>' % NS_S)
    write("wsman_soap", "http-404.html", NOT_SOAP)


# --- multipart/encrypted --------------------------------------------------------------------

def multipart_body(protocol, length, header, ciphertext, closing=b"--Encrypted Boundary--\r\n"):
    return (b"--Encrypted Boundary\r\n"
            + b"\tContent-Type: " + protocol.encode() + b"\r\n"
            + b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(length).encode() + b"\r\n"
            + b"--Encrypted Boundary\r\n"
            + b"\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<I", len(header)) + header + ciphertext + closing)


def winrm_multipart():
    krb = "application/HTTP-Kerberos-session-encrypted"
    # A Kerberos wrap token header (RFC 4121 §4.2.6.2: 05 04, flags, filler, EC, RRC, seq, ...).
    wrap = bytes.fromhex("050406ff0000001c") + struct.pack(">Q", 1) + b"\x11" * 44
    write("winrm_multipart", "kerberos.bin", multipart_body(krb, 3240, wrap, b"\x01\x02\r\n--\x03" * 40))
    write("winrm_multipart", "layout.bin", multipart_body(krb, 5, b"HH", b"cc"))
    write("winrm_multipart", "spnego-open-closing.bin", multipart_body(
        "application/HTTP-SPNEGO-session-encrypted", 1, b"H", b"c", closing=b"--Encrypted Boundary\r\n"))
    # Without the tab before Content-Type of the octet-stream part, as some servers write it.
    body = multipart_body(krb, 9, b"\x01" * 60, b"\x02" * 9)
    write("winrm_multipart", "no-tab.bin",
          body.replace(b"\tContent-Type: application/octet-stream",
                       b"Content-Type: application/octet-stream"))


# --- Ansible inventories (--targets-file) ------------------------------------------------------

INVENTORY_INI = """\
jump.example.com
[windows]
win[01:03].example.com ansible_winrm_transport=kerberos,ntlm
https ansible_host=win06.example.com ansible_port=5986 ansible_winrm_ca_trust_path="/etc/ssl/ca.pem"
ip ansible_host=10.0.0.5 ansible_winrm_kerberos_hostname_override=win05.example.com  # inline
[dcs]
dc[a:c].example.com:5985 ansible_winrm_host=dc.example.com
[domain:children]
windows
dcs
[domain:vars]
ansible_port = 5985
ansible_winrm_service='WSMAN'
[all:vars]
ansible_connection=winrm
ansible_password="{{ vault_password }}"
"""

INVENTORY_JSON = """\
{"_meta": {"hostvars": {"win01.example.com": {"ansible_port": 5986, "ansible_winrm_scheme": "https",
   "ansible_winrm_transport": ["kerberos"], "unrelated": {"a": [1, 2]}},
   "dc01.example.com": {"ansible_host": "10.0.0.9", "ansible_winrm_port": "5985"}}},
 "all": {"children": ["ungrouped", "domain"]},
 "domain": {"children": ["windows", "dcs"], "vars": {"ansible_winrm_service": "HTTP"}},
 "windows": {"hosts": ["win02.example.com", "win01.example.com"]},
 "dcs": ["dc01.example.com"],
 "ungrouped": {"hosts": []}}
"""


def inventory():
    write("inventory", "groups.ini", INVENTORY_INI)
    write("inventory", "ansible-inventory-list.json", INVENTORY_JSON)
    write("inventory", "plain-list.txt", "# one per line\nwin01.example.com\n\nwin02.example.com  # dc\n")
    write("inventory", "cycle.ini", "[a:children]\nb\n[b:children]\na\n")


def psrp_fragment(object_id, fragment_id, flags, blob):
    """MS-PSRP 2.2.4: ObjectId, FragmentId (u64 BE), flags (Start 1, End 2), length, blob."""
    return struct.pack(">QQBI", object_id, fragment_id, flags, len(blob)) + blob


def psrp_message(message_type, xml):
    """MS-PSRP 2.2.1 to the client: Destination, MessageType (u32 LE), RPID, PID, BOM + CLIXML."""
    return struct.pack("<II", 1, message_type) + b"\x07" * 16 + b"\0" * 16 + b"\xef\xbb\xbf" + xml


def psrp_fragments():
    """What a host answers in the Receive of an opening runspace pool (src/winrm/psrp.rs tests,
    lab/krblab's PSRP stand-in): RUNSPACEPOOL_STATE Opened, and Broken split in two fragments."""
    opened = psrp_message(0x21005, b'<Obj RefId="0"><MS><I32 N="RunspaceState">2</I32></MS></Obj>')
    write("psrp_fragments", "opened", psrp_fragment(1, 0, 3, opened))
    broken = psrp_message(0x21005, b'<Obj RefId="0"><MS><I32 N="RunspaceState">5</I32>'
                          b'<Obj N="ExceptionAsErrorRecord" RefId="1"><ToString>Access is denied.'
                          b'</ToString></Obj></MS></Obj>')
    write("psrp_fragments", "broken-split",
          psrp_fragment(4, 0, 1, broken[:30]) + psrp_fragment(4, 1, 2, broken[30:]))


def main():
    psrp_fragments()
    krb5_conf()
    kdc_reply()
    wsman_soap()
    winrm_multipart()
    inventory()
    return 0


if __name__ == "__main__":
    sys.exit(main())
