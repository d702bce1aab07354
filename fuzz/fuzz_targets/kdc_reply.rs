//! Fuzz target: the KDC reply decoder ([`krbprobe::kdcproto::decode_reply`], KRB-ERROR and
//! AS-REP) and the GSS token readers built on it ([`krb_error_in_gss_token`],
//! [`ticket_in_gss_token`]).
//!
//! Invariants: decoding is deterministic; every decoded field stays within the limits the
//! decoder promises; the GSS readers see the same message whether it comes bare or inside an
//! RFC 1964 frame; and a decoded KRB-ERROR (or AS-REP, without its padata), encoded again with
//! the RFC 4120 structures below, decodes to the same value.

#![no_main]

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

// The decoder's limits, from the decoder itself: a copy here could drift from what it checks.
use krbprobe::kdcproto::limits::{
    MAX_E_DATA_LEN, MAX_E_TEXT_LEN, MAX_KERBEROS_TIME_UNIX, MAX_NAME_COMPONENTS,
    MAX_PADATA_ENTRIES, MAX_STRING_LEN,
};
use krbprobe::kdcproto::{
    self, AsRepInfo, KdcReply, KrbError, decode_reply, krb_error_in_gss_token, ticket_in_gss_token,
};
use libfuzzer_sys::fuzz_target;

/// `KRBPROBE_FUZZ_SHOW=1` prints what each input gave (for checking seeds and triaging crashes).
static SHOW: LazyLock<bool> = LazyLock::new(|| std::env::var_os("KRBPROBE_FUZZ_SHOW").is_some());

fuzz_target!(|data: &[u8]| {
    let reply = decode_reply(data);
    if *SHOW {
        eprintln!(
            "{reply:#?}\nGSS KRB-ERROR: {:?}\nGSS ticket: {:?}",
            krb_error_in_gss_token(data),
            ticket_in_gss_token(data)
        );
    }
    assert_eq!(reply, decode_reply(data), "decoding is deterministic");
    match &reply {
        Ok(KdcReply::Error(e)) => {
            check_krb_error(e);
            if let Some(bytes) = reencode_krb_error(e) {
                assert_eq!(
                    decode_reply(&bytes),
                    Ok(KdcReply::Error(e.clone())),
                    "KRB-ERROR re-encoded as {bytes:02x?}"
                );
            }
        }
        Ok(KdcReply::AsRep(a)) => {
            check_as_rep(a);
            if let Some(bytes) = reencode_as_rep(a) {
                let expected = AsRepInfo {
                    padata: Vec::new(),
                    ..a.clone()
                };
                assert_eq!(
                    decode_reply(&bytes),
                    Ok(KdcReply::AsRep(expected)),
                    "AS-REP re-encoded as {bytes:02x?}"
                );
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    let as_error = match &reply {
        Ok(KdcReply::Error(e)) => Some(e.clone()),
        _ => None,
    };

    // GSS error tokens: a framed token (TOK_ID 03 00) carries exactly the message after the
    // frame, and a bare token is read as a KRB-ERROR when it starts with its tag.
    let bare = krb_error_in_gss_token(data);
    if data.first() == Some(&0x7e) {
        assert_eq!(bare, as_error, "bare KRB-ERROR token");
    }
    assert_eq!(
        krb_error_in_gss_token(&gss_frame([0x03, 0x00], data)),
        as_error,
        "framed KRB-ERROR token"
    );
    // A frame with another TOK_ID is not an error token.
    assert_eq!(krb_error_in_gss_token(&gss_frame([0x01, 0x00], data)), None);

    // AP-REQ tokens: framed (TOK_ID 01 00) and bare give the same ticket.
    let ticket = ticket_in_gss_token(data);
    if data.first() == Some(&0x6e) {
        assert_eq!(
            ticket_in_gss_token(&gss_frame([0x01, 0x00], data)),
            ticket,
            "framed and bare AP-REQ"
        );
    }
    if let Some((spn, _etype)) = &ticket {
        assert!(spn.contains('@'));
    }
});

/// `data` in the RFC 1964 / RFC 4121 token framing with the krb5 mechanism OID.
fn gss_frame(tok_id: [u8; 2], msg: &[u8]) -> Vec<u8> {
    let mut inner = vec![
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, tok_id[0], tok_id[1],
    ];
    inner.extend_from_slice(msg);
    let mut token = vec![0x60, 0x84];
    token.extend_from_slice(&(inner.len() as u32).to_be_bytes());
    token.extend_from_slice(&inner);
    token
}

fn check_krb_error(e: &KrbError) {
    assert_eq!((e.name, e.text), kdcproto::error_name(e.error_code));
    assert!(e.susec <= 999_999, "susec {}", e.susec);
    let stime = e
        .stime
        .duration_since(UNIX_EPOCH)
        .expect("stime after 1970");
    assert_eq!(stime.subsec_nanos(), 0, "stime is whole seconds");
    assert_string(&e.realm, MAX_STRING_LEN);
    assert_name(&e.sname);
    if let Some(r) = &e.crealm {
        assert_string(r, MAX_STRING_LEN);
    }
    if let Some(c) = &e.cname {
        assert_name(c);
    }
    if let Some(t) = &e.e_text {
        assert_string(t, MAX_E_TEXT_LEN);
    }
    if let Some(d) = &e.e_data {
        assert!(d.len() <= MAX_E_DATA_LEN);
    } else {
        assert!(e.preauth.is_empty() && e.ntstatus.is_none());
    }
    if e.ntstatus.is_some() {
        assert_ne!(e.error_code, kdcproto::KDC_ERR_PREAUTH_REQUIRED);
    }
    assert!(e.preauth.len() <= MAX_PADATA_ENTRIES);
    for h in &e.preauth {
        assert!(h.etype_info.len() <= MAX_PADATA_ENTRIES);
        assert_eq!(h.name, kdcproto::padata_name(h.padata_type));
    }
    for h in e.etype_info() {
        assert_eq!(h.name, kdcproto::etype_name(h.etype));
    }
    let _ = e.ntstatus_name();
    let _ = e.server_time();
    let now = SystemTime::now();
    assert!(kdcproto::clock_offset(e, now, now).is_finite());
    assert!(!e.to_string().is_empty());
    serde_json::to_string(e).expect("a KRB-ERROR serializes");
    let reply = KdcReply::Error(e.clone());
    assert_eq!(
        reply.is_response_too_big(),
        e.error_code == kdcproto::KRB_ERR_RESPONSE_TOO_BIG
    );
}

fn check_as_rep(a: &AsRepInfo) {
    assert_string(&a.realm, MAX_STRING_LEN);
    assert_name(&a.cname);
    assert_string(&a.ticket_realm, MAX_STRING_LEN);
    assert_name(&a.ticket_sname);
    assert_eq!(a.enctype_name, kdcproto::etype_name(a.enctype));
    assert!(a.padata.len() <= MAX_PADATA_ENTRIES);
    serde_json::to_string(a).expect("an AS-REP serializes");
}

/// A decoded string came from at most `max` bytes; lossy UTF-8 makes at most one char of each.
fn assert_string(s: &str, max: usize) {
    assert!(
        s.chars().count() <= max,
        "{} chars, limit {max}",
        s.chars().count()
    );
}

fn assert_name(components: &[String]) {
    assert!(components.len() <= MAX_NAME_COMPONENTS);
    for c in components {
        assert_string(c, MAX_STRING_LEN);
    }
}

// ---------------------------------------------------------------------------
// Re-encoding
// ---------------------------------------------------------------------------

/// Whether `s`, encoded as its UTF-8 bytes, is within the decoder's limit. A string that got
/// longer through lossy decoding (U+FFFD is three bytes) cannot round-trip; that is expected.
fn fits(s: &str, max: usize) -> bool {
    s.len() <= max
}

fn name_fits(c: &[String]) -> bool {
    c.iter().all(|s| fits(s, MAX_STRING_LEN))
}

/// `t` as KerberosTime plus its microseconds, when a four-digit year can name it.
fn kerberos_time(t: SystemTime) -> Option<(mirror::KTime, u32)> {
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    let secs = d.as_secs();
    // The decoder folds a leap second (:60) into the next second, so
    // 9999-12-31T23:59:60Z decodes to a time no KerberosTime can name.
    if secs > MAX_KERBEROS_TIME_UNIX {
        return None;
    }
    let (y, m, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let text = format!(
        "{y:04}{m:02}{day:02}{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    Some((mirror::KTime(text.into_bytes()), d.subsec_micros()))
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn kstr(s: &str) -> mirror::KStr {
    mirror::KStr(s.as_bytes().to_vec())
}

fn principal(name_type: i32, c: &[String]) -> mirror::PrincipalName {
    mirror::PrincipalName {
        name_type,
        name_string: c.iter().map(|s| kstr(s)).collect(),
    }
}

fn reencode_krb_error(e: &KrbError) -> Option<Vec<u8>> {
    let strings_fit = fits(&e.realm, MAX_STRING_LEN)
        && name_fits(&e.sname)
        && e.crealm.as_deref().is_none_or(|r| fits(r, MAX_STRING_LEN))
        && e.cname.as_deref().is_none_or(name_fits)
        && e.e_text.as_deref().is_none_or(|t| fits(t, MAX_E_TEXT_LEN));
    if !strings_fit {
        return None;
    }
    let (stime, _) = kerberos_time(e.stime)?;
    let (ctime, cusec) = match e.ctime {
        Some(t) => {
            let (k, us) = kerberos_time(t)?;
            (Some(k), Some(i64::from(us)))
        }
        None => (None, None),
    };
    let m = mirror::KrbError {
        pvno: 5,
        msg_type: 30,
        ctime,
        cusec,
        stime,
        susec: i64::from(e.susec),
        error_code: e.error_code,
        crealm: e.crealm.as_deref().map(kstr),
        cname: e.cname.as_deref().map(|c| principal(1, c)),
        realm: kstr(&e.realm),
        sname: principal(2, &e.sname),
        e_text: e.e_text.as_deref().map(kstr),
        e_data: e.e_data.clone().map(Into::into),
    };
    Some(rasn::der::encode(&m).expect("a KRB-ERROR encodes"))
}

fn reencode_as_rep(a: &AsRepInfo) -> Option<Vec<u8>> {
    if !(fits(&a.realm, MAX_STRING_LEN)
        && name_fits(&a.cname)
        && fits(&a.ticket_realm, MAX_STRING_LEN)
        && name_fits(&a.ticket_sname))
    {
        return None;
    }
    let m = mirror::AsRep(mirror::KdcRep {
        pvno: 5,
        msg_type: 11,
        padata: None,
        crealm: kstr(&a.realm),
        cname: principal(1, &a.cname),
        ticket: mirror::Ticket {
            tkt_vno: 5,
            realm: kstr(&a.ticket_realm),
            sname: principal(2, &a.ticket_sname),
            enc_part: mirror::EncryptedData {
                etype: a.ticket_enctype,
                kvno: None,
                cipher: vec![0xaa; 16].into(),
            },
        },
        enc_part: mirror::EncryptedData {
            etype: a.enctype,
            kvno: a.kvno.map(i64::from),
            cipher: vec![0xbb; 16].into(),
        },
    });
    Some(rasn::der::encode(&m).expect("an AS-REP encodes"))
}

mod mirror {
    //! RFC 4120 §5 structures as krbprobe's (private) `wire` module declares them: strings and
    //! times as raw bytes under their universal tags. Encoding only.

    use rasn::prelude::*;

    macro_rules! raw_bytes_type {
        ($name:ident, $tag:expr) => {
            pub struct $name(pub Vec<u8>);

            impl AsnType for $name {
                const TAG: Tag = $tag;
            }

            impl Encode for $name {
                fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
                    &self,
                    encoder: &mut E,
                    tag: Tag,
                    constraints: &Constraints,
                    identifier: Identifier,
                ) -> Result<(), E::Error> {
                    encoder
                        .encode_octet_string(tag, constraints, &self.0, identifier)
                        .map(drop)
                }
            }
        };
    }

    raw_bytes_type!(KStr, Tag::GENERAL_STRING);
    raw_bytes_type!(KTime, Tag::GENERALIZED_TIME);

    #[derive(AsnType, Encode)]
    pub struct PrincipalName {
        #[rasn(tag(explicit(0)))]
        pub name_type: i32,
        #[rasn(tag(explicit(1)))]
        pub name_string: Vec<KStr>,
    }

    #[derive(AsnType, Encode)]
    pub struct PaData {
        #[rasn(tag(explicit(1)))]
        pub padata_type: i32,
        #[rasn(tag(explicit(2)))]
        pub padata_value: OctetString,
    }

    #[derive(AsnType, Encode)]
    pub struct EncryptedData {
        #[rasn(tag(explicit(0)))]
        pub etype: i32,
        #[rasn(tag(explicit(1)))]
        pub kvno: Option<i64>,
        #[rasn(tag(explicit(2)))]
        pub cipher: OctetString,
    }

    #[derive(AsnType, Encode)]
    #[rasn(tag(explicit(application, 1)))]
    pub struct Ticket {
        #[rasn(tag(explicit(0)))]
        pub tkt_vno: i64,
        #[rasn(tag(explicit(1)))]
        pub realm: KStr,
        #[rasn(tag(explicit(2)))]
        pub sname: PrincipalName,
        #[rasn(tag(explicit(3)))]
        pub enc_part: EncryptedData,
    }

    #[derive(AsnType, Encode)]
    #[rasn(tag(explicit(application, 11)), delegate)]
    pub struct AsRep(pub KdcRep);

    #[derive(AsnType, Encode)]
    pub struct KdcRep {
        #[rasn(tag(explicit(0)))]
        pub pvno: i64,
        #[rasn(tag(explicit(1)))]
        pub msg_type: i64,
        #[rasn(tag(explicit(2)))]
        pub padata: Option<Vec<PaData>>,
        #[rasn(tag(explicit(3)))]
        pub crealm: KStr,
        #[rasn(tag(explicit(4)))]
        pub cname: PrincipalName,
        #[rasn(tag(explicit(5)))]
        pub ticket: Ticket,
        #[rasn(tag(explicit(6)))]
        pub enc_part: EncryptedData,
    }

    #[derive(AsnType, Encode)]
    #[rasn(tag(explicit(application, 30)))]
    pub struct KrbError {
        #[rasn(tag(explicit(0)))]
        pub pvno: i64,
        #[rasn(tag(explicit(1)))]
        pub msg_type: i64,
        #[rasn(tag(explicit(2)))]
        pub ctime: Option<KTime>,
        #[rasn(tag(explicit(3)))]
        pub cusec: Option<i64>,
        #[rasn(tag(explicit(4)))]
        pub stime: KTime,
        #[rasn(tag(explicit(5)))]
        pub susec: i64,
        #[rasn(tag(explicit(6)))]
        pub error_code: i32,
        #[rasn(tag(explicit(7)))]
        pub crealm: Option<KStr>,
        #[rasn(tag(explicit(8)))]
        pub cname: Option<PrincipalName>,
        #[rasn(tag(explicit(9)))]
        pub realm: KStr,
        #[rasn(tag(explicit(10)))]
        pub sname: PrincipalName,
        #[rasn(tag(explicit(11)))]
        pub e_text: Option<KStr>,
        #[rasn(tag(explicit(12)))]
        pub e_data: Option<OctetString>,
    }
}
