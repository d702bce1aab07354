//! The Kerberos messages inside GSS-API tokens: the ticket of an `AP-REQ` (which service
//! principal, which enctype) and the `KRB-ERROR` an acceptor sends back.
//!
//! Used by the GSSAPI and WinRM code rather than by `kdc-reach`. Apart from the reply
//! decoder because it reads the RFC 1964 token framing around the message, and reuses the
//! decoder only for the message inside.

use super::decode::{ber_decode, kstring, principal, tlv_header};
use super::limits::MAX_STRING_LEN;
use super::reply::{KdcReply, KrbError, decode_reply};
use super::wire;

/// The service principal and ticket enctype inside the first token of a
/// Kerberos GSS-API context (RFC 1964 / RFC 4121 §4.1: the `[APPLICATION
/// 0]` framing, the mechanism OID, token id `01 00`, then an `AP-REQ`), or
/// inside a bare `AP-REQ`.
///
/// Returns `("HTTP/host.example.com@EXAMPLE.COM", 18)`: what the server
/// will look up in its keytab, and the enctype of the key it needs. Name
/// components are joined with `/` without MIT's escaping. `None` for
/// anything else, e.g. a SPNEGO token.
pub fn ticket_in_gss_token(token: &[u8]) -> Option<(String, i32)> {
    let ap_req = match token.first()? {
        0x60 => krb5_inner_token(token, [0x01, 0x00])?,
        0x6e => token,
        _ => return None,
    };
    let raw: wire::ApReq = ber_decode(ap_req, "AP-REQ").ok()?;
    let ticket = &raw.0.ticket;
    let sname = principal(&ticket.sname, "sname").ok()?;
    let realm = kstring(&ticket.realm, "realm", MAX_STRING_LEN).ok()?;
    Some((
        format!("{}@{realm}", sname.join("/")),
        ticket.enc_part.etype,
    ))
}

/// The message inside an RFC 1964 framed krb5 GSS token whose TOK_ID is `tok_id`
/// (`01 00` AP-REQ, `02 00` AP-REP, `03 00` KRB-ERROR).
fn krb5_inner_token(token: &[u8], tok_id: [u8; 2]) -> Option<&[u8]> {
    let (header, len) = tlv_header(token)?;
    let inner = token.get(header..header.checked_add(len)?)?;
    // thisMech: OBJECT IDENTIFIER, whichever krb5 OID it is.
    if *inner.first()? != 0x06 {
        return None;
    }
    let (oid_header, oid_len) = tlv_header(inner)?;
    let rest = inner.get(oid_header.checked_add(oid_len)?..)?;
    match rest {
        [a, b, msg @ ..] if [*a, *b] == tok_id => Some(msg),
        _ => None,
    }
}

/// The KRB-ERROR inside a GSS error token, as a Kerberos acceptor (Windows' WinRM included)
/// sends it in `WWW-Authenticate` when it rejects an AP-REQ: clock skew, a key it does not
/// have, a modified message.
pub fn krb_error_in_gss_token(token: &[u8]) -> Option<KrbError> {
    let msg = match token.first()? {
        0x60 => krb5_inner_token(token, [0x03, 0x00])?,
        0x7e => token,
        _ => return None,
    };
    match decode_reply(msg).ok()? {
        KdcReply::Error(e) => Some(e),
        KdcReply::AsRep(_) => None,
    }
}

/// The enctype of a `Ticket` (DER, `[APPLICATION 1]`): that of the key the service (for a TGT,
/// krbtgt) holds, as `klist -e` shows it. `None` for anything that is not a ticket.
pub fn ticket_enctype(ticket: &[u8]) -> Option<i32> {
    let t: wire::Ticket = ber_decode(ticket, "Ticket").ok()?;
    Some(t.enc_part.etype)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdcproto::fixtures::{REALM, der, ks, pname};
    use rasn::types::OctetString;
    use rasn_kerberos as rk;

    fn ap_req_bytes() -> Vec<u8> {
        der(&rk::ApReq {
            pvno: 5.into(),
            msg_type: 14.into(),
            ap_options: rk::ApOptions(rk::KerberosFlags::from_slice(&[0x20, 0, 0, 0])),
            ticket: rk::Ticket {
                tkt_vno: 5.into(),
                realm: ks(REALM),
                sname: pname(3, &["HTTP", "win01.example.com"]),
                enc_part: rk::EncryptedData {
                    etype: 18,
                    kvno: Some(4),
                    cipher: OctetString::from(vec![0xcc; 1200]),
                },
            },
            authenticator: rk::EncryptedData {
                etype: 18,
                kvno: None,
                cipher: OctetString::from(vec![0xdd; 150]),
            },
        })
    }

    fn gss_frame(ap_req: &[u8]) -> Vec<u8> {
        // OID 1.2.840.113554.1.2.2, token id 01 00 (AP-REQ).
        let mut inner = vec![
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00,
        ];
        inner.extend_from_slice(ap_req);
        let mut token = vec![0x60, 0x82];
        token.extend_from_slice(&(inner.len() as u16).to_be_bytes());
        token.extend_from_slice(&inner);
        token
    }

    #[test]
    fn reads_a_tickets_enctype() {
        for etype in [18, 23] {
            let ticket = der(&rk::Ticket {
                tkt_vno: 5.into(),
                realm: ks(REALM),
                sname: pname(2, &["krbtgt", REALM]),
                enc_part: rk::EncryptedData {
                    etype,
                    kvno: Some(2),
                    cipher: OctetString::from(vec![0xcc; 300]),
                },
            });
            assert_eq!(ticket_enctype(&ticket), Some(etype));
            for n in 0..ticket.len() {
                assert_eq!(ticket_enctype(&ticket[..n]), None, "prefix {n}");
            }
        }
        assert_eq!(ticket_enctype(&ap_req_bytes()), None);
    }

    #[test]
    fn finds_the_ticket_in_a_gss_token() {
        let expected = Some(("HTTP/win01.example.com@EXAMPLE.COM".to_string(), 18));
        assert_eq!(ticket_in_gss_token(&gss_frame(&ap_req_bytes())), expected);
        assert_eq!(ticket_in_gss_token(&ap_req_bytes()), expected);
        // Truncated, wrong token id, SPNEGO-like, empty: None, no panic.
        let token = gss_frame(&ap_req_bytes());
        for n in 0..token.len() {
            assert_eq!(ticket_in_gss_token(&token[..n]), None, "prefix {n}");
        }
        let mut wrong_id = token.clone();
        wrong_id[15] = 0x02;
        assert_eq!(ticket_in_gss_token(&wrong_id), None);
        assert_eq!(ticket_in_gss_token(&[0xa0, 0x03, 0x30, 0x01, 0x00]), None);
    }
}
