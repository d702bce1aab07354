//! From a decoded `KRB-ERROR` or `AS-REP` to the types of the `reply` module: every field
//! checked against the [`limits`](super::limits), `KerberosString`s turned into text, and
//! `e-data` read for pre-authentication hints and Active Directory's NTSTATUS.
//!
//! Apart from `reply` because this is where untrusted input is judged field by field; the
//! public types and the entry point stay readable without it.

use std::time::Duration;

use rasn::Decode;

use super::KDC_ERR_PREAUTH_REQUIRED;
use super::limits::{
    MAX_E_DATA_LEN, MAX_E_TEXT_LEN, MAX_NAME_COMPONENTS, MAX_PADATA_ENTRIES, MAX_STRING_LEN,
};
use super::names::{error_name, etype_name, padata_name};
use super::reply::{AsRepInfo, DecodeError, EtypeHint, KrbError, PaHint};
use super::wire::{self, KStr};

/// BER-decodes a whole `T`, mapping the decoder's error to ours.
pub(super) fn ber_decode<T: Decode>(bytes: &[u8], message: &'static str) -> Result<T, DecodeError> {
    match rasn::ber::decode_with_remainder::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(DecodeError::TrailingData(rest.len())),
        Err(e) => {
            let mut detail = e.to_string();
            // The decoder's messages can embed input; keep them printable.
            if detail.len() > 300 {
                let mut cut = 300;
                while !detail.is_char_boundary(cut) {
                    cut -= 1;
                }
                detail.truncate(cut);
                detail.push('…');
            }
            Err(DecodeError::Malformed { message, detail })
        }
    }
}

/// Total length (header included) of the outermost TLV, if readable.
pub(super) fn outer_len(bytes: &[u8]) -> Option<usize> {
    let (header, content) = tlv_header(bytes)?;
    header.checked_add(content)
}

/// Header length and content length of the TLV at the start of `bytes`
/// (single-octet tags only, which is all Kerberos uses).
pub(super) fn tlv_header(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = *bytes.get(1)?;
    match first {
        0..=0x7f => Some((2, usize::from(first))),
        // Indefinite length (BER 0x80) is not used by KDCs; long forms of
        // more than four octets would exceed MAX_REPLY_LEN anyway.
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let octets = bytes.get(2..2 + n)?;
            let len = octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            Some((2 + n, len))
        }
        _ => None,
    }
}

/// What the message `[APPLICATION tag]` is, for [`DecodeError::UnexpectedMessage`].
pub(super) fn application_name(tag: u8) -> &'static str {
    match tag {
        1 => "Ticket",
        2 => "Authenticator",
        3 => "EncTicketPart",
        10 => "AS-REQ (the request echoed back?)",
        11 => "AS-REP",
        12 => "TGS-REQ",
        13 => "TGS-REP",
        14 => "AP-REQ",
        15 => "AP-REP",
        20 => "KRB-SAFE",
        21 => "KRB-PRIV",
        22 => "KRB-CRED",
        25 => "EncASRepPart",
        26 => "EncTGSRepPart",
        27 => "EncAPRepPart",
        28 => "EncKrbPrivPart",
        29 => "EncKrbCredPart",
        30 => "KRB-ERROR",
        _ => "an unknown APPLICATION type",
    }
}

/// What bytes that are not a Kerberos message look like, for [`DecodeError::NotKerberos`].
pub(super) fn not_kerberos_hint(bytes: &[u8]) -> &'static str {
    match bytes {
        [0x30, ..] => "a universal SEQUENCE, e.g. LDAP, not a Kerberos message",
        [0, 0, ..] if bytes.len() > 4 => {
            "looks like a TCP length prefix: strip the first 4 bytes before decoding"
        }
        [4, ..] => "possibly a Kerberos v4 reply",
        [0x16, 0x03, ..] => "a TLS record",
        b if b
            .iter()
            .take(16)
            .all(|c| c.is_ascii_graphic() || *c == b' ') =>
        {
            "printable text, e.g. an HTTP or other text protocol"
        }
        _ => "unrecognised bytes",
    }
}

fn absurd(field: &'static str, detail: impl Into<String>) -> DecodeError {
    DecodeError::Absurd {
        field,
        detail: detail.into(),
    }
}

/// A bounded `KerberosString` shown as text (UTF-8, lossily).
pub(super) fn kstring(s: &KStr, field: &'static str, max: usize) -> Result<String, DecodeError> {
    if s.0.len() > max {
        return Err(absurd(field, format!("{} bytes (limit {max})", s.0.len())));
    }
    Ok(String::from_utf8_lossy(&s.0).into_owned())
}

pub(super) fn principal(
    p: &wire::PrincipalName,
    field: &'static str,
) -> Result<Vec<String>, DecodeError> {
    if p.name_string.len() > MAX_NAME_COMPONENTS {
        return Err(absurd(
            field,
            format!(
                "{} name components (limit {MAX_NAME_COMPONENTS})",
                p.name_string.len()
            ),
        ));
    }
    p.name_string
        .iter()
        .map(|c| kstring(c, field, MAX_STRING_LEN))
        .collect()
}

fn check_header(pvno: i64, msg_type: i64, expected: i64) -> Result<(), DecodeError> {
    if pvno != 5 {
        return Err(absurd("pvno", format!("{pvno}, expected 5")));
    }
    if msg_type != expected {
        return Err(absurd(
            "msg-type",
            format!("{msg_type}, expected {expected}"),
        ));
    }
    Ok(())
}

fn microseconds(v: i64, field: &'static str) -> Result<u32, DecodeError> {
    u32::try_from(v)
        .ok()
        .filter(|&us| us <= 999_999)
        .ok_or_else(|| absurd(field, format!("{v} is not in 0..=999999")))
}

pub(super) fn convert_krb_error(raw: wire::KrbError) -> Result<KrbError, DecodeError> {
    check_header(raw.pvno, raw.msg_type, 30)?;
    let (name, text) = error_name(raw.error_code);
    let stime = raw.stime.to_system_time("stime")?;
    let susec = microseconds(raw.susec, "susec")?;
    let ctime = match &raw.ctime {
        Some(t) => {
            let cusec = raw
                .cusec
                .map(|c| microseconds(c, "cusec"))
                .transpose()?
                .unwrap_or(0);
            Some(t.to_system_time("ctime")? + Duration::from_micros(u64::from(cusec)))
        }
        None => None,
    };
    let e_text = match &raw.e_text {
        Some(t) => Some(kstring(t, "e-text", MAX_E_TEXT_LEN)?),
        None => None,
    };
    let e_data = raw.e_data.map(|d| d.to_vec());
    if let Some(d) = &e_data
        && d.len() > MAX_E_DATA_LEN
    {
        return Err(absurd(
            "e-data",
            format!("{} bytes (limit {MAX_E_DATA_LEN})", d.len()),
        ));
    }
    let (preauth, ntstatus) = match &e_data {
        Some(d) => interpret_e_data(raw.error_code, d),
        None => (Vec::new(), None),
    };
    Ok(KrbError {
        error_code: raw.error_code,
        name,
        text,
        stime,
        susec,
        ctime,
        realm: kstring(&raw.realm, "realm", MAX_STRING_LEN)?,
        sname: principal(&raw.sname, "sname")?,
        crealm: raw
            .crealm
            .as_ref()
            .map(|r| kstring(r, "crealm", MAX_STRING_LEN))
            .transpose()?,
        cname: raw
            .cname
            .as_ref()
            .map(|c| principal(c, "cname"))
            .transpose()?,
        e_text,
        preauth,
        ntstatus,
        e_data,
    })
}

/// The Active Directory NTSTATUS in a KRB-ERROR's `e-data` (see [`interpret_e_data`] for the
/// two shapes), for errors MIT's API handed back already decoded (`krb5_init_creds_get_error`).
pub fn ntstatus_of(error_code: i32, e_data: &[u8]) -> Option<u32> {
    interpret_e_data(error_code, e_data).1
}

/// Reads `e-data` as best it can; an undecodable e-data is not an error,
/// since the error code itself has already been read and is what matters.
///
/// `METHOD-DATA` (a SEQUENCE OF PA-DATA) gives the hints. Active Directory
/// sends its `KERB-EXT-ERROR` (12 bytes: NTSTATUS, reserved, flags, all
/// little-endian) either as a PA-DATA of type 3 inside METHOD-DATA or as a
/// lone `KERB-ERROR-DATA` of data-type 3 (`KERB_ERR_TYPE_EXTENDED`).
fn interpret_e_data(code: i32, e_data: &[u8]) -> (Vec<PaHint>, Option<u32>) {
    let ext_error = |ty: i32, value: &[u8]| -> Option<u32> {
        // For PREAUTH_REQUIRED a type 3 entry would be a genuine (if
        // ancient) PA-PW-SALT, not an NTSTATUS.
        if ty != 3 || value.len() != 12 || code == KDC_ERR_PREAUTH_REQUIRED {
            return None;
        }
        Some(u32::from_le_bytes([value[0], value[1], value[2], value[3]]))
    };
    if let Ok((list, [])) = rasn::ber::decode_with_remainder::<Vec<wire::PaData>>(e_data)
        && list.len() <= MAX_PADATA_ENTRIES
    {
        let ntstatus = list
            .iter()
            .find_map(|pa| ext_error(pa.padata_type, &pa.padata_value));
        return (list.iter().map(pa_hint).collect(), ntstatus);
    }
    if let Ok((one, [])) = rasn::ber::decode_with_remainder::<wire::KerbErrorData>(e_data) {
        let value = one.data_value.as_deref().unwrap_or_default();
        return (Vec::new(), ext_error(one.data_type, value));
    }
    (Vec::new(), None)
}

fn pa_hint(pa: &wire::PaData) -> PaHint {
    let mut hint = PaHint {
        padata_type: pa.padata_type,
        name: padata_name(pa.padata_type),
        value_len: pa.padata_value.len(),
        etype_info: Vec::new(),
        undecodable: false,
    };
    let decoded = match pa.padata_type {
        19 => decode_etype_info2(&pa.padata_value),
        11 => decode_etype_info(&pa.padata_value),
        _ => return hint,
    };
    match decoded {
        Some(entries) => hint.etype_info = entries,
        None => hint.undecodable = true,
    }
    hint
}

fn bounded_salt(bytes: &[u8]) -> Option<String> {
    (bytes.len() <= MAX_STRING_LEN).then(|| String::from_utf8_lossy(bytes).into_owned())
}

fn decode_etype_info2(value: &[u8]) -> Option<Vec<EtypeHint>> {
    let (entries, rest) =
        rasn::ber::decode_with_remainder::<Vec<wire::EtypeInfo2Entry>>(value).ok()?;
    if !rest.is_empty() || entries.len() > MAX_PADATA_ENTRIES {
        return None;
    }
    entries
        .iter()
        .map(|e| {
            let salt = match &e.salt {
                Some(s) => Some(bounded_salt(&s.0)?),
                None => None,
            };
            Some(EtypeHint {
                etype: e.etype,
                name: etype_name(e.etype),
                salt,
                s2kparams: e.s2kparams.as_ref().map(|p| p.to_vec()),
            })
        })
        .collect()
}

fn decode_etype_info(value: &[u8]) -> Option<Vec<EtypeHint>> {
    let (entries, rest) =
        rasn::ber::decode_with_remainder::<Vec<wire::EtypeInfoEntry>>(value).ok()?;
    if !rest.is_empty() || entries.len() > MAX_PADATA_ENTRIES {
        return None;
    }
    entries
        .iter()
        .map(|e| {
            let salt = match &e.salt {
                Some(s) => Some(bounded_salt(s)?),
                None => None,
            };
            Some(EtypeHint {
                etype: e.etype,
                name: etype_name(e.etype),
                salt,
                s2kparams: None,
            })
        })
        .collect()
}

pub(super) fn convert_as_rep(raw: wire::KdcRep) -> Result<AsRepInfo, DecodeError> {
    check_header(raw.pvno, raw.msg_type, 11)?;
    if raw.ticket.tkt_vno != 5 {
        return Err(absurd(
            "tkt-vno",
            format!("{}, expected 5", raw.ticket.tkt_vno),
        ));
    }
    let kvno = match raw.enc_part.kvno {
        None => None,
        // A negative kvno is a 32-bit unsigned value encoded as signed.
        Some(k) if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&k) => Some(k as u32),
        Some(k) => return Err(absurd("kvno", format!("{k} is not a 32-bit value"))),
    };
    let padata = raw.padata.unwrap_or_default();
    if padata.len() > MAX_PADATA_ENTRIES {
        return Err(absurd(
            "padata",
            format!("{} entries (limit {MAX_PADATA_ENTRIES})", padata.len()),
        ));
    }
    Ok(AsRepInfo {
        realm: kstring(&raw.crealm, "crealm", MAX_STRING_LEN)?,
        cname: principal(&raw.cname, "cname")?,
        enctype: raw.enc_part.etype,
        enctype_name: etype_name(raw.enc_part.etype),
        kvno,
        ticket_realm: kstring(&raw.ticket.realm, "ticket realm", MAX_STRING_LEN)?,
        ticket_sname: principal(&raw.ticket.sname, "ticket sname")?,
        ticket_enctype: raw.ticket.enc_part.etype,
        padata: padata.iter().map(pa_hint).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdcproto::fixtures::{
        REALM, STIME_UNIX, as_rep_bytes, der, expect_error, krb_error, ks, ktime, pa, pname,
        preauth_required_bytes,
    };
    use crate::kdcproto::{KdcReply, decode_reply};
    use rasn::prelude::*;
    use rasn_kerberos as rk;
    use std::time::UNIX_EPOCH;

    #[test]
    fn decodes_preauth_required_with_etype_info2() {
        let e = expect_error(&preauth_required_bytes());
        assert_eq!(e.error_code, 25);
        assert_eq!(e.name, "KDC_ERR_PREAUTH_REQUIRED");
        assert_eq!(e.text, "Additional pre-authentication required");
        assert_eq!(e.stime, UNIX_EPOCH + Duration::from_secs(STIME_UNIX));
        assert_eq!(e.susec, 250_000);
        assert_eq!(
            e.server_time(),
            UNIX_EPOCH + Duration::from_millis(STIME_UNIX * 1000 + 250)
        );
        assert_eq!(e.realm, REALM);
        assert_eq!(e.sname, ["krbtgt", REALM]);
        assert_eq!(e.cname, Some(vec!["awx".to_string()]));
        assert_eq!(e.crealm, None);
        assert_eq!(e.ntstatus, None);
        let types: Vec<(i32, &str)> = e.preauth.iter().map(|h| (h.padata_type, h.name)).collect();
        assert_eq!(
            types,
            [
                (136, "PA-FX-FAST"),
                (19, "PA-ETYPE-INFO2"),
                (2, "PA-ENC-TIMESTAMP"),
                (138, "PA-ENCRYPTED-CHALLENGE"),
                (133, "PA-FX-COOKIE"),
            ]
        );
        assert_eq!(e.preauth[4].value_len, 4);
        let etypes: Vec<_> = e.etype_info().cloned().collect();
        assert_eq!(
            etypes,
            [
                EtypeHint {
                    etype: 18,
                    name: "aes256-cts-hmac-sha1-96",
                    salt: Some("EXAMPLE.COMawx".into()),
                    s2kparams: None,
                },
                EtypeHint {
                    etype: 23,
                    name: "rc4-hmac",
                    salt: None,
                    s2kparams: None,
                },
            ]
        );
        assert!(e.preauth.iter().all(|h| !h.undecodable));
        assert!(
            e.to_string()
                .starts_with("KDC_ERR_PREAUTH_REQUIRED (25): Additional")
        );
    }

    #[test]
    fn decodes_client_unknown_with_e_text() {
        let mut raw = krb_error(6);
        raw.e_text = Some(ks("CLIENT_NOT_FOUND"));
        let e = expect_error(&der(&raw));
        assert_eq!(
            (e.name, e.text),
            (
                "KDC_ERR_C_PRINCIPAL_UNKNOWN",
                "Client not found in Kerberos database"
            )
        );
        assert_eq!(e.e_text.as_deref(), Some("CLIENT_NOT_FOUND"));
        assert!(e.preauth.is_empty());
        assert_eq!(
            e.to_string(),
            "KDC_ERR_C_PRINCIPAL_UNKNOWN (6): Client not found in Kerberos database [CLIENT_NOT_FOUND]"
        );
    }

    #[test]
    fn decodes_wrong_realm_referral() {
        let mut raw = krb_error(68);
        raw.crealm = Some(ks("AD.EXAMPLE.COM"));
        raw.cname = Some(pname(1, &["awx"]));
        let e = expect_error(&der(&raw));
        assert_eq!(e.name, "KDC_ERR_WRONG_REALM");
        assert_eq!(e.text, "Realm not local to KDC");
        assert_eq!(e.crealm.as_deref(), Some("AD.EXAMPLE.COM"));
        assert_eq!(e.cname, Some(vec!["awx".to_string()]));
    }

    #[test]
    fn decodes_active_directory_extended_error() {
        let ext = |status: u32| {
            let mut v = status.to_le_bytes().to_vec();
            v.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
            v
        };
        // As KERB-ERROR-DATA (MS-KILE 2.2.2), data-type 3.
        #[derive(AsnType, Encode)]
        struct KerbErrorData {
            #[rasn(tag(explicit(1)))]
            data_type: i32,
            #[rasn(tag(explicit(2)))]
            data_value: OctetString,
        }
        let mut raw = krb_error(18);
        raw.e_data = Some(OctetString::from(der(&KerbErrorData {
            data_type: 3,
            data_value: OctetString::from(ext(0xC000_0234)),
        })));
        let e = expect_error(&der(&raw));
        assert_eq!(e.name, "KDC_ERR_CLIENT_REVOKED");
        assert_eq!(e.ntstatus, Some(0xC000_0234));
        assert_eq!(e.ntstatus_name(), Some("STATUS_ACCOUNT_LOCKED_OUT"));
        assert!(
            e.to_string()
                .ends_with("NTSTATUS 0xC0000234 STATUS_ACCOUNT_LOCKED_OUT")
        );

        // As a PA-PW-SALT entry of METHOD-DATA.
        let md: rk::MethodData = vec![pa(3, ext(0xC000_0072))];
        raw.e_data = Some(OctetString::from(der(&md)));
        let e = expect_error(&der(&raw));
        assert_eq!(e.ntstatus_name(), Some("STATUS_ACCOUNT_DISABLED"));
        assert_eq!(e.preauth.len(), 1);

        // Undecodable e-data is kept raw and otherwise ignored.
        raw.e_data = Some(OctetString::from(vec![0xde, 0xad]));
        let e = expect_error(&der(&raw));
        assert_eq!((e.ntstatus, e.preauth.len()), (None, 0));
        assert_eq!(e.e_data, Some(vec![0xde, 0xad]));
    }

    #[test]
    fn malformed_etype_info2_is_marked_not_fatal() {
        let md: rk::MethodData = vec![pa(19, vec![0x30, 0x03, 0x02, 0x01]), pa(2, vec![])];
        let mut raw = krb_error(25);
        raw.e_data = Some(OctetString::from(der(&md)));
        let e = expect_error(&der(&raw));
        assert!(e.preauth[0].undecodable);
        assert_eq!(e.preauth[1].name, "PA-ENC-TIMESTAMP");
    }

    #[test]
    fn decodes_utf8_names_in_replies() {
        // Built by hand-patching: rasn-kerberos cannot encode "MÜNCHEN".
        let mut raw = krb_error(6);
        raw.crealm = Some(ks("MXNCHEN"));
        let mut bytes = der(&raw);
        let pos = bytes
            .windows(7)
            .position(|w| w == b"MXNCHEN")
            .expect("marker present");
        // Same length: replace "MXN" by "MÜ" (Ü is 2 bytes: c3 9c).
        bytes[pos..pos + 3].copy_from_slice(&[b'M', 0xc3, 0x9c]);
        let e = expect_error(&bytes);
        assert_eq!(e.crealm.as_deref(), Some("MÜCHEN"));
    }

    #[test]
    fn decodes_as_rep_without_decrypting() {
        let info = match decode_reply(&as_rep_bytes()) {
            Ok(KdcReply::AsRep(info)) => info,
            other => panic!("expected AS-REP, got {other:?}"),
        };
        assert_eq!(info.realm, REALM);
        assert_eq!(info.cname, ["nopreauth"]);
        assert_eq!(
            (info.enctype, info.enctype_name),
            (18, "aes256-cts-hmac-sha1-96")
        );
        assert_eq!(info.kvno, Some(3));
        assert_eq!(info.ticket_realm, REALM);
        assert_eq!(info.ticket_sname, ["krbtgt", REALM]);
        assert_eq!(info.ticket_enctype, 18);
        assert_eq!(
            info.padata[0].etype_info[0].salt.as_deref(),
            Some("EXAMPLE.COMnopreauth")
        );
    }

    #[test]
    fn rejects_absurd_fields() {
        let field_of = |raw: &rk::KrbError| match decode_reply(&der(raw)) {
            Err(DecodeError::Absurd { field, .. }) => field,
            other => panic!("expected Absurd, got {other:?}"),
        };
        let mut raw = krb_error(25);
        raw.e_text = Some(ks(&"x".repeat(100_000)));
        assert_eq!(field_of(&raw), "e-text");

        let mut raw = krb_error(25);
        raw.realm = ks(&"R".repeat(2000));
        assert_eq!(field_of(&raw), "realm");

        let mut raw = krb_error(25);
        raw.cname = Some(pname(1, &["a"; 100]));
        assert_eq!(field_of(&raw), "cname");

        let mut raw = krb_error(25);
        raw.stime = ktime("1900-01-01T00:00:00Z");
        assert_eq!(field_of(&raw), "stime");

        let mut raw = krb_error(25);
        raw.susec = 1_000_000.into();
        assert_eq!(field_of(&raw), "susec");

        let mut raw = krb_error(25);
        raw.susec = (-1).into();
        assert_eq!(field_of(&raw), "susec");

        let mut raw = krb_error(25);
        raw.pvno = 4.into();
        assert_eq!(field_of(&raw), "pvno");

        let mut raw = krb_error(25);
        raw.msg_type = 11.into();
        assert_eq!(field_of(&raw), "msg-type");

        let mut raw = krb_error(25);
        raw.e_data = Some(OctetString::from(vec![0u8; 70_000]));
        assert_eq!(field_of(&raw), "e-data");

        // A fractional stime (allowed by rasn, not by RFC 4120).
        let mut raw = krb_error(25);
        raw.stime = ktime("2026-03-14T15:09:26.5Z");
        assert_eq!(field_of(&raw), "stime");
    }
}
