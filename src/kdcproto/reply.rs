//! What a KDC answered to the probe, and [`decode_reply`], which tells a reply from
//! everything else that can come back from port 88.
//!
//! These types are what the checks and the JSON report see: text instead of byte strings,
//! names next to numbers, `SystemTime` instead of `KerberosTime`. [`decode_reply`] checks the
//! message as a whole (size, tag, outer length) itself, so that a UDP reply cut short or an
//! LDAP server on port 88 is named as such; the fields are converted in the `decode` module.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::KRB_ERR_RESPONSE_TOO_BIG;
use super::decode::{
    application_name, ber_decode, convert_as_rep, convert_krb_error, not_kerberos_hint, outer_len,
};
use super::limits::MAX_REPLY_LEN;
use super::names::ntstatus_name;
use super::wire;

/// What a KDC answered to the probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum KdcReply {
    /// A `KRB-ERROR`; `KDC_ERR_PREAUTH_REQUIRED` is the healthy answer.
    Error(KrbError),
    /// An `AS-REP`: the account does not require pre-authentication.
    AsRep(AsRepInfo),
}

impl KdcReply {
    /// True for `KRB_ERR_RESPONSE_TOO_BIG`: repeat the request over TCP.
    pub fn is_response_too_big(&self) -> bool {
        matches!(self, KdcReply::Error(e) if e.error_code == KRB_ERR_RESPONSE_TOO_BIG)
    }
}

/// A decoded `KRB-ERROR` (RFC 4120 §5.9.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KrbError {
    /// The protocol error code.
    pub error_code: i32,
    /// RFC name of the code, e.g. `KDC_ERR_PREAUTH_REQUIRED`.
    pub name: &'static str,
    /// MIT's message for the code, as `kinit` prints it.
    pub text: &'static str,
    /// The KDC's clock, whole seconds (`stime`).
    pub stime: SystemTime,
    /// Microseconds to add to `stime` (`susec`, 0..=999999).
    pub susec: u32,
    /// The client time echoed back, if the KDC sent one (with `cusec`).
    pub ctime: Option<SystemTime>,
    /// Realm of the server that answered (normally the requested realm).
    pub realm: String,
    /// Server name components, normally `["krbtgt", REALM]`.
    pub sname: Vec<String>,
    /// Client realm; with `KDC_ERR_WRONG_REALM` this is the referral.
    pub crealm: Option<String>,
    /// Client name components, if the KDC echoed them.
    pub cname: Option<Vec<String>>,
    /// Free-form text from the KDC (MIT fills it, AD rarely).
    pub e_text: Option<String>,
    /// Pre-authentication methods from `e-data` when it is `METHOD-DATA`
    /// (MIT and AD send it with `PREAUTH_REQUIRED`; MIT also with
    /// `PREAUTH_FAILED`), in the KDC's order.
    pub preauth: Vec<PaHint>,
    /// Active Directory's extended error (`KERB-EXT-ERROR`, MS-KILE
    /// §2.2.1): the NTSTATUS behind the Kerberos code, e.g. `0xC0000234`
    /// (account locked out) behind `KDC_ERR_CLIENT_REVOKED`.
    pub ntstatus: Option<u32>,
    /// The raw `e-data`, for verbose output.
    #[serde(skip)]
    pub e_data: Option<Vec<u8>>,
}

impl KrbError {
    /// The KDC's time with microseconds (`stime` + `susec`).
    pub fn server_time(&self) -> SystemTime {
        self.stime + Duration::from_micros(u64::from(self.susec))
    }

    /// The `PA-ETYPE-INFO2` (or older `PA-ETYPE-INFO`) entries, in order:
    /// the enctypes for which the user has keys, with their salts.
    pub fn etype_info(&self) -> impl Iterator<Item = &EtypeHint> {
        self.preauth.iter().flat_map(|h| h.etype_info.iter())
    }

    /// The symbolic name of [`Self::ntstatus`], when it is a known one.
    pub fn ntstatus_name(&self) -> Option<&'static str> {
        self.ntstatus.and_then(ntstatus_name)
    }
}

impl fmt::Display for KrbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name, self.error_code, self.text)?;
        if let Some(t) = &self.e_text {
            write!(f, " [{t}]")?;
        }
        if let Some(s) = self.ntstatus {
            match ntstatus_name(s) {
                Some(n) => write!(f, " NTSTATUS 0x{s:08X} {n}")?,
                None => write!(f, " NTSTATUS 0x{s:08X}")?,
            }
        }
        Ok(())
    }
}

/// One `PA-DATA` entry of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaHint {
    /// `padata-type`, e.g. 2 (`PA-ENC-TIMESTAMP`), 19 (`PA-ETYPE-INFO2`),
    /// 136 (`PA-FX-FAST`), 138 (`PA-ENCRYPTED-CHALLENGE`).
    pub padata_type: i32,
    /// IANA name of the type, or `"PA-UNKNOWN"`.
    pub name: &'static str,
    /// Length of `padata-value`; empty for a plain "I accept this method".
    pub value_len: usize,
    /// Decoded entries for `PA-ETYPE-INFO2` (19) and `PA-ETYPE-INFO` (11).
    pub etype_info: Vec<EtypeHint>,
    /// The value of a type 11 or 19 entry did not decode (it is ignored).
    pub undecodable: bool,
}

/// One `ETYPE-INFO2-ENTRY` (or `ETYPE-INFO-ENTRY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EtypeHint {
    /// The enctype number.
    pub etype: i32,
    /// Its MIT name, e.g. `aes256-cts-hmac-sha1-96`.
    pub name: &'static str,
    /// The salt (AD: `REALMusername` with the case the account has).
    pub salt: Option<String>,
    /// String-to-key parameters (AES: iteration count, big-endian).
    pub s2kparams: Option<Vec<u8>>,
}

/// What an `AS-REP` shows without decrypting it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsRepInfo {
    /// Client realm (`crealm`).
    pub realm: String,
    /// Client name components (canonicalized by the KDC).
    pub cname: Vec<String>,
    /// Enctype of `enc-part`: the user's key the reply is encrypted in.
    pub enctype: i32,
    /// MIT name of [`Self::enctype`].
    pub enctype_name: &'static str,
    /// Key version number of the user's key, if sent.
    pub kvno: Option<u32>,
    /// Realm of the ticket's server.
    pub ticket_realm: String,
    /// Ticket's server name, normally `["krbtgt", REALM]`.
    pub ticket_sname: Vec<String>,
    /// Enctype of the ticket (the krbtgt key).
    pub ticket_enctype: i32,
    /// `padata` of the reply (typically `PA-ETYPE-INFO2` with the salt).
    pub padata: Vec<PaHint>,
}

/// Why a reply could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Zero bytes.
    #[error("empty reply")]
    Empty,
    /// More than [`MAX_REPLY_LEN`] bytes.
    #[error("reply of {0} bytes is larger than any KDC reply (limit {MAX_REPLY_LEN})")]
    TooLarge(usize),
    /// The outer length says more bytes than were received.
    #[error("truncated reply: the message announces {declared} bytes, {available} received")]
    Truncated {
        /// Bytes the outer header announces, header included.
        declared: usize,
        /// Bytes received.
        available: usize,
    },
    /// Bytes after the end of the message.
    #[error("{0} unexpected bytes after the end of the Kerberos message")]
    TrailingData(usize),
    /// A well-formed Kerberos message, but not an answer to an AS-REQ.
    #[error("expected KRB-ERROR or AS-REP, got {name} ([APPLICATION {tag}])")]
    UnexpectedMessage {
        /// The APPLICATION tag number.
        tag: u8,
        /// The message it identifies.
        name: &'static str,
    },
    /// The first byte is not a Kerberos message tag at all.
    #[error("not a Kerberos message (first byte 0x{first_byte:02x}: {hint})")]
    NotKerberos {
        /// The first byte received.
        first_byte: u8,
        /// What the bytes look like instead.
        hint: &'static str,
    },
    /// The ASN.1 does not decode as the message its tag announces.
    #[error("malformed {message}: {detail}")]
    Malformed {
        /// `KRB-ERROR` or `AS-REP`.
        message: &'static str,
        /// The decoder's explanation.
        detail: String,
    },
    /// Decodes, but a field is out of any plausible range.
    #[error("implausible {field} in KDC reply: {detail}")]
    Absurd {
        /// The field name from RFC 4120.
        field: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

/// Decodes a KDC's answer to the probe: a `KRB-ERROR` or an `AS-REP`.
///
/// Accepts BER, not only DER, since a diagnostic tool should report what a
/// non-canonical KDC said rather than reject it. Never panics; every input
/// that is not a plausible reply gives a [`DecodeError`] naming the problem.
pub fn decode_reply(bytes: &[u8]) -> Result<KdcReply, DecodeError> {
    let Some(&first) = bytes.first() else {
        return Err(DecodeError::Empty);
    };
    if bytes.len() > MAX_REPLY_LEN {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let tag = match first {
        // [APPLICATION n], constructed, n < 31.
        0x60..=0x7e => first & 0x1f,
        _ => {
            return Err(DecodeError::NotKerberos {
                first_byte: first,
                hint: not_kerberos_hint(bytes),
            });
        }
    };
    let (message, is_error) = match tag {
        30 => ("KRB-ERROR", true),
        11 => ("AS-REP", false),
        _ => {
            return Err(DecodeError::UnexpectedMessage {
                tag,
                name: application_name(tag),
            });
        }
    };
    // Check the outer length ourselves: "truncated, 40 of 180 bytes" is a
    // clearer diagnosis (a UDP reply cut by a middlebox) than the
    // decoder's complaint about whichever inner field ran short.
    match outer_len(bytes) {
        Some(declared) if declared > bytes.len() => {
            return Err(DecodeError::Truncated {
                declared,
                available: bytes.len(),
            });
        }
        Some(declared) if declared < bytes.len() => {
            return Err(DecodeError::TrailingData(bytes.len() - declared));
        }
        Some(_) => {}
        None => {
            return Err(DecodeError::Malformed {
                message,
                detail: "unreadable outer length".into(),
            });
        }
    }
    if is_error {
        let raw: wire::KrbError = ber_decode(bytes, message)?;
        convert_krb_error(raw).map(KdcReply::Error)
    } else {
        let raw: wire::AsRep = ber_decode(bytes, message)?;
        convert_as_rep(raw.0).map(KdcReply::AsRep)
    }
}

/// Our clock's offset from the KDC's, in seconds: positive when the KDC is
/// ahead. The KDC's `stime`+`susec` is compared with the midpoint of
/// `sent` and `received`, so the result is exact to within half the round
/// trip (`(received - sent) / 2`). Kerberos fails beyond 300 s by default.
///
/// The KDC's own resolution limits this further: MIT `krb5kdc` 1.20 was
/// seen to answer every request within one second with the timestamp of
/// the first (`susec` + 1 each time), so against MIT the offset is good to
/// about a second. That is far below the 60 s and 300 s that matter.
pub fn clock_offset(err: &KrbError, sent: SystemTime, received: SystemTime) -> f64 {
    let sent_ns = unix_nanos(sent);
    let received_ns = unix_nanos(received).max(sent_ns);
    let midpoint = sent_ns + (received_ns - sent_ns) / 2;
    let kdc = unix_nanos(err.server_time());
    (kdc - midpoint) as f64 / 1e9
}

fn unix_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// A KRB-ERROR as a KDC or acceptor would send it, for the checks' decision tests.
#[cfg(test)]
pub(crate) fn fake_krb_error(code: i32, realm: &str) -> KrbError {
    let (name, text) = super::error_name(code);
    KrbError {
        error_code: code,
        name,
        text,
        stime: SystemTime::now(),
        susec: 0,
        ctime: None,
        realm: realm.into(),
        sname: vec!["krbtgt".into(), realm.into()],
        crealm: None,
        cname: None,
        e_text: None,
        preauth: vec![],
        ntstatus: None,
        e_data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdcproto::encode_as_req;
    use crate::kdcproto::fixtures::{
        STIME_UNIX, as_rep_bytes, der, expect_error, krb_error, ktime, params,
        preauth_required_bytes,
    };
    use rasn_kerberos as rk;

    #[test]
    fn decodes_skew_and_computes_clock_offset() {
        let mut raw = krb_error(37);
        raw.ctime = Some(ktime("2026-03-14T15:00:00Z"));
        raw.cusec = Some(500.into());
        let e = expect_error(&der(&raw));
        assert_eq!(
            (e.name, e.text),
            ("KRB_AP_ERR_SKEW", "Clock skew too great")
        );
        let ctime = UNIX_EPOCH + Duration::from_secs(STIME_UNIX - 566) + Duration::from_micros(500);
        assert_eq!(e.ctime, Some(ctime));

        // Our clock read 600 s behind the KDC's when we sent, and the reply
        // took 100 ms: against the midpoint, the KDC is 599.95 s ahead.
        let kdc = e.server_time();
        let sent = kdc - Duration::from_secs(600);
        let received = sent + Duration::from_millis(100);
        let off = clock_offset(&e, sent, received);
        assert!((off - 599.95).abs() < 1e-6, "{off}");
        // Our clock ahead: negative offset.
        let sent = kdc + Duration::from_secs(30);
        let off = clock_offset(&e, sent, sent);
        assert!((off + 30.0).abs() < 1e-6, "{off}");
        // A received time before sent (clock stepped) is treated as sent.
        let off = clock_offset(&e, kdc, kdc - Duration::from_secs(5));
        assert!(off.abs() < 1e-6, "{off}");
    }

    #[test]
    fn flags_response_too_big() {
        let reply = decode_reply(&der(&krb_error(52))).expect("decodes");
        assert!(reply.is_response_too_big());
        let reply = decode_reply(&preauth_required_bytes()).expect("decodes");
        assert!(!reply.is_response_too_big());
    }

    #[test]
    fn serializes_to_json() {
        let reply = decode_reply(&preauth_required_bytes()).expect("decodes");
        let json = serde_json::to_string(&reply).expect("serializes");
        assert!(
            json.contains("\"name\":\"KDC_ERR_PREAUTH_REQUIRED\""),
            "{json}"
        );
        assert!(json.contains("EXAMPLE.COMawx"), "{json}");
    }

    #[test]
    fn rejects_empty_garbage_and_other_protocols() {
        assert_eq!(decode_reply(&[]), Err(DecodeError::Empty));
        for (input, hint_part) in [
            (&b"HTTP/1.1 400 Bad Request\r\n"[..], "text"),
            (&[0x30, 0x0c, 0x02, 0x01, 0x01][..], "LDAP"),
            (&[0x00, 0x00, 0x00, 0x90, 0x7e, 0x81][..], "length prefix"),
            (&[0x16, 0x03, 0x01, 0x00][..], "TLS"),
            (&[0xff, 0x00, 0x13][..], "unrecognised"),
        ] {
            match decode_reply(input) {
                Err(DecodeError::NotKerberos { hint, .. }) => {
                    assert!(hint.contains(hint_part), "{hint}")
                }
                other => panic!("{input:02x?}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_another_kerberos_message() {
        // A UDP echo service on port 88 returns our own AS-REQ.
        let err = decode_reply(&encode_as_req(&params())).expect_err("not a reply");
        assert!(
            matches!(err, DecodeError::UnexpectedMessage { tag: 10, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("AS-REQ"));
        // A TGS-REP is valid DER too, but no answer to an AS-REQ.
        let rk::AsRep(rep) = rasn::der::decode::<rk::AsRep>(&as_rep_bytes()).expect("decodes");
        let tgs = der(&rk::TgsRep(rep));
        assert!(matches!(
            decode_reply(&tgs),
            Err(DecodeError::UnexpectedMessage {
                tag: 13,
                name: "TGS-REP"
            })
        ));
    }

    #[test]
    fn rejects_truncation_at_every_length() {
        let full = preauth_required_bytes();
        for n in 1..full.len() {
            let r = decode_reply(&full[..n]);
            match r {
                Err(DecodeError::Truncated {
                    declared,
                    available,
                }) => {
                    assert_eq!((declared, available), (full.len(), n))
                }
                Err(DecodeError::Malformed { .. }) if n < 4 => {}
                other => panic!("prefix of {n} bytes: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut bytes = preauth_required_bytes();
        bytes.extend_from_slice(&[0, 0, 0]);
        assert_eq!(decode_reply(&bytes), Err(DecodeError::TrailingData(3)));
    }

    #[test]
    fn rejects_oversized_input_and_lying_lengths() {
        let big = vec![0x7e; MAX_REPLY_LEN + 1];
        assert_eq!(
            decode_reply(&big),
            Err(DecodeError::TooLarge(MAX_REPLY_LEN + 1))
        );
        // Claims 4 GiB.
        let lie = [0x7e, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00];
        assert!(matches!(
            decode_reply(&lie),
            Err(DecodeError::Truncated { .. })
        ));
        // Indefinite length.
        let indefinite = [0x7e, 0x80, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00];
        assert!(matches!(
            decode_reply(&indefinite),
            Err(DecodeError::Malformed { .. })
        ));
        // Deep nesting inside a correctly sized envelope.
        let depth = 5000;
        let mut nested = Vec::new();
        for _ in 0..depth {
            nested.extend_from_slice(&[0x30, 0x80]);
        }
        nested.extend(std::iter::repeat_n(0u8, depth * 2));
        let mut msg = vec![0x7e, 0x83];
        msg.extend_from_slice(&(nested.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&nested);
        assert!(decode_reply(&msg).is_err());
    }

    /// xorshift64*: deterministic "random" bytes without a dependency.
    fn prng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            s.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn never_panics_on_mutated_replies() {
        for valid in [preauth_required_bytes(), as_rep_bytes()] {
            for i in 0..valid.len() {
                for x in [0x01, 0x80, 0xff, 0x7f] {
                    let mut m = valid.clone();
                    m[i] ^= x;
                    let _ = decode_reply(&m);
                }
            }
        }
        let mut next = prng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = (next() % 200) as usize;
            let mut m: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(b) = m.first_mut() {
                *b = [0x7e, 0x6b][(next() % 2) as usize];
            }
            if m.len() > 2 {
                m[1] = (len - 2).min(0x7f) as u8;
            }
            let _ = decode_reply(&m);
        }
    }
}
