"""krblab.krberror - read a KRB-ERROR (RFC 4120 5.9.1) and the NTSTATUS an AD DC puts in it.

The lab's own decoder, independent of krbprobe's (src/kdcproto), so that what the lab checks
about a KDC's replies is not judged by the code under test. Used by :mod:`krblab.kdc_time`
(the KDC's clock from stime/susec) and lab/test_samba.py (error codes, e-data, NTSTATUS).
Stdlib only; low tag numbers and definite lengths, which is all a KDC sends.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

# NTSTATUS values the DC puts into its KRB-ERRORs ([MS-ERREF] 2.3.1).
NTSTATUS = {
    0xC000006A: "STATUS_WRONG_PASSWORD",
    0xC000006D: "STATUS_LOGON_FAILURE",
    0xC000006E: "STATUS_ACCOUNT_RESTRICTION",
    0xC000006F: "STATUS_INVALID_LOGON_HOURS",
    0xC0000064: "STATUS_NO_SUCH_USER",
    0xC0000070: "STATUS_INVALID_WORKSTATION",
    0xC0000071: "STATUS_PASSWORD_EXPIRED",
    0xC0000072: "STATUS_ACCOUNT_DISABLED",
    0xC0000193: "STATUS_ACCOUNT_EXPIRED",
    0xC0000224: "STATUS_PASSWORD_MUST_CHANGE",
    0xC0000234: "STATUS_ACCOUNT_LOCKED_OUT",
    0xC000015B: "STATUS_LOGON_TYPE_NOT_GRANTED",
}


def tlv(buf: bytes, off: int) -> tuple[int, bytes, int]:
    """One DER element at ``off``: (tag byte, content, offset after it). Low tag numbers only."""
    tag, ln = buf[off], buf[off + 1]
    off += 2
    if ln & 0x80:
        n = ln & 0x7F
        ln = int.from_bytes(buf[off:off + n], "big")
        off += n
    if off + ln > len(buf):
        raise ValueError("DER element at %d runs past the end" % off)
    return tag, buf[off:off + ln], off + ln


def elements(content: bytes) -> Iterator[tuple[int, bytes]]:
    off = 0
    while off < len(content):
        tag, value, off = tlv(content, off)
        yield tag, value


def der_int(content: bytes) -> int:
    return int.from_bytes(content, "big", signed=True)


@dataclass
class KrbError:
    """The fields of a KRB-ERROR (RFC 4120 5.9.1) a diagnosis looks at."""
    error_code: int
    realm: str
    sname: list[str]
    stime: str = ""  # KerberosTime, e.g. "20260101001000Z": the KDC's clock
    susec: int = 0
    e_text: str | None = None
    e_data: bytes | None = None
    padata: list[tuple[int, bytes]] = field(default_factory=list)

    @property
    def ntstatus(self) -> tuple[int, int, int] | None:
        """(NTSTATUS, reserved, flags) of the KERB-EXT-ERROR in PA-PW-SALT (padata-type 3),
        where Windows and Samba put it; None without one."""
        for padata_type, value in self.padata:
            if padata_type == 3 and len(value) == 12:
                status, reserved, flags = struct.unpack("<III", value)
                return status, reserved, flags
        return None

    @property
    def ntstatus_name(self) -> str:
        nt = self.ntstatus
        return "-" if nt is None else NTSTATUS.get(nt[0], "0x%08X" % nt[0])


def decode_krb_error(msg: bytes) -> KrbError:
    """The KRB-ERROR MSG (DER, no length prefix). ValueError, KeyError or IndexError when MSG is
    not one."""
    tag, body, end = tlv(msg, 0)
    if tag != 0x7E or end != len(msg):
        raise ValueError("not a KRB-ERROR: %s" % msg[:8].hex())
    _, fields_der, _ = tlv(body, 0)
    fields = {t & 0x1F: tlv(v, 0)[1] for t, v in elements(fields_der)}
    name_string = tlv(list(elements(fields[10]))[1][1], 0)[1]  # [1] SEQUENCE OF KerberosString
    sname = [v.decode() for _, v in elements(name_string)]
    err = KrbError(error_code=der_int(fields[6]), realm=fields[9].decode(), sname=sname,
                   stime=fields[4].decode(), susec=der_int(fields.get(5, b"\0")))
    if 11 in fields:
        err.e_text = fields[11].decode(errors="replace")
    if 12 in fields:
        err.e_data = fields[12]
        try:
            # METHOD-DATA ::= SEQUENCE OF PA-DATA { padata-type [1] Int32, padata-value [2] OCTET STRING }
            tag, seq, _ = tlv(err.e_data, 0)
            for _, pa in elements(seq):
                parts = {t & 0x1F: tlv(v, 0)[1] for t, v in elements(pa)}
                err.padata.append((der_int(parts[1]), parts[2]))
        except (ValueError, KeyError, IndexError):
            err.padata = []  # e-data that is not METHOD-DATA (e.g. TYPED-DATA)
    return err
