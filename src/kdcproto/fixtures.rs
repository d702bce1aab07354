//! Requests and replies built with `rasn-kerberos`, for the unit tests of every `kdcproto`
//! module.
//!
//! `rasn-kerberos` is an independent definition of the RFC 4120 structures: building the
//! test messages with it checks our own `wire` types against something other than
//! themselves.

use std::time::{Duration, UNIX_EPOCH};

use rasn::types::OctetString;
use rasn_kerberos as rk;

use super::{AsReqParams, DEFAULT_ETYPES, FAR_FUTURE_UNIX, KdcReply, KrbError, decode_reply};

pub(super) const REALM: &str = "EXAMPLE.COM";
/// 2026-03-14T15:09:26Z
pub(super) const STIME_UNIX: u64 = 1_773_500_966;

pub(super) fn ks(s: &str) -> rk::KerberosString {
    rk::KerberosString::try_from(s.to_string()).expect("ASCII test string")
}

pub(super) fn ktime(rfc3339: &str) -> rk::KerberosTime {
    rk::KerberosTime(rasn::types::GeneralizedTime::parse_from_rfc3339(rfc3339).expect("test time"))
}

pub(super) fn pname(ty: i32, parts: &[&str]) -> rk::PrincipalName {
    rk::PrincipalName {
        r#type: ty,
        string: parts.iter().map(|p| ks(p)).collect(),
    }
}

pub(super) fn params() -> AsReqParams {
    AsReqParams {
        client: vec!["awx".into()],
        realm: REALM.into(),
        nonce: 0x1234_5678,
        till: UNIX_EPOCH + Duration::from_secs(FAR_FUTURE_UNIX),
        etypes: DEFAULT_ETYPES.to_vec(),
    }
}

/// A KRB-ERROR as MIT's KDC sends it to the probe, built with
/// `rasn-kerberos` so that our decoder is checked against an
/// independent definition of the structure.
pub(super) fn krb_error(code: i32) -> rk::KrbError {
    rk::KrbError {
        pvno: 5.into(),
        msg_type: 30.into(),
        ctime: None,
        cusec: None,
        stime: ktime("2026-03-14T15:09:26Z"),
        susec: 250_000.into(),
        error_code: code,
        crealm: None,
        cname: Some(pname(1, &["awx"])),
        realm: ks(REALM),
        sname: pname(2, &["krbtgt", REALM]),
        e_text: None,
        e_data: None,
    }
}

pub(super) fn der<T: rasn::Encode>(v: &T) -> Vec<u8> {
    rasn::der::encode(v).expect("test value encodes")
}

pub(super) fn pa(ty: i32, value: Vec<u8>) -> rk::PaData {
    rk::PaData {
        r#type: ty,
        value: OctetString::from(value),
    }
}

pub(super) fn preauth_required_bytes() -> Vec<u8> {
    let etype_info2: rk::EtypeInfo2 = vec![
        rk::EtypeInfo2Entry {
            etype: 18,
            salt: Some(ks("EXAMPLE.COMawx")),
            s2kparams: None,
        },
        rk::EtypeInfo2Entry {
            etype: 23,
            salt: None,
            s2kparams: None,
        },
    ];
    let method_data: rk::MethodData = vec![
        pa(136, vec![]),
        pa(19, der(&etype_info2)),
        pa(2, vec![]),
        pa(138, vec![]),
        pa(133, b"MIT1".to_vec()),
    ];
    let mut e = krb_error(25);
    e.e_data = Some(OctetString::from(der(&method_data)));
    der(&e)
}

pub(super) fn expect_error(bytes: &[u8]) -> KrbError {
    match decode_reply(bytes) {
        Ok(KdcReply::Error(e)) => e,
        other => panic!("expected KRB-ERROR, got {other:?}"),
    }
}

pub(super) fn as_rep_bytes() -> Vec<u8> {
    let etype_info2: rk::EtypeInfo2 = vec![rk::EtypeInfo2Entry {
        etype: 18,
        salt: Some(ks("EXAMPLE.COMnopreauth")),
        s2kparams: None,
    }];
    der(&rk::AsRep(rk::KdcRep {
        pvno: 5.into(),
        msg_type: 11.into(),
        padata: Some(vec![pa(19, der(&etype_info2))]),
        crealm: ks(REALM),
        cname: pname(1, &["nopreauth"]),
        ticket: rk::Ticket {
            tkt_vno: 5.into(),
            realm: ks(REALM),
            sname: pname(2, &["krbtgt", REALM]),
            enc_part: rk::EncryptedData {
                etype: 18,
                kvno: Some(2),
                cipher: OctetString::from(vec![0xaa; 300]),
            },
        },
        enc_part: rk::EncryptedData {
            etype: 18,
            kvno: Some(3),
            cipher: OctetString::from(vec![0xbb; 200]),
        },
    }))
}
