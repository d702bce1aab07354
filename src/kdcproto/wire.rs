//! The RFC 4120 §5 ASN.1 structures the probe sends or reads, with `KerberosString` and
//! `KerberosTime` kept as raw bytes ([`KStr`], [`KTime`]); the documentation of `kdcproto`
//! says why `rasn-kerberos` is not used.
//!
//! Private to `kdcproto`: nothing outside sees these types. The `request` and `decode`
//! modules translate between them and the public ones.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rasn::prelude::*;

use super::limits::MAX_KERBEROS_TIME_UNIX;
use super::reply::DecodeError;

/// Declares a byte-string newtype encoded under `$tag`: the raw bytes are kept so that
/// decoding never fails on a character set question (the `kdcproto` documentation says more).
macro_rules! raw_bytes_type {
    ($(#[$doc:meta])* $name:ident, $tag:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub(super) struct $name(pub(super) Vec<u8>);

        impl AsnType for $name {
            const TAG: Tag = $tag;
        }

        impl Decode for $name {
            fn decode_with_tag_and_constraints<D: Decoder>(
                decoder: &mut D,
                tag: Tag,
                constraints: &Constraints,
            ) -> Result<Self, D::Error> {
                decoder
                    .decode_octet_string::<Vec<u8>>(tag, constraints)
                    .map($name)
            }
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

raw_bytes_type!(
    /// `KerberosString` as raw bytes under the GeneralString tag.
    KStr,
    Tag::GENERAL_STRING
);

raw_bytes_type!(
    /// `KerberosTime` (`YYYYMMDDHHMMSSZ`) as raw bytes under the
    /// GeneralizedTime tag, parsed by [`KTime::to_system_time`].
    KTime,
    Tag::GENERALIZED_TIME
);

impl KTime {
    /// Formats `t` to the second, clamped to 1970..=9999 so that any
    /// `SystemTime` encodes.
    pub(super) fn from_system_time(t: SystemTime) -> Self {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .min(MAX_KERBEROS_TIME_UNIX);
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        let s = format!(
            "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        );
        KTime(s.into_bytes())
    }

    /// Parses `YYYYMMDDHHMMSSZ` strictly (RFC 4120 §5.2.3 forbids
    /// fractions and offsets); years before 1970 are refused as
    /// implausible for a KDC clock.
    pub(super) fn to_system_time(&self, field: &'static str) -> Result<SystemTime, DecodeError> {
        let b = &self.0;
        let bad = |detail: String| DecodeError::Absurd { field, detail };
        let shown = || String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
        if b.len() != 15 || b[14] != b'Z' || !b[..14].iter().all(u8::is_ascii_digit) {
            return Err(bad(format!("{:?} is not YYYYMMDDHHMMSSZ", shown())));
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter()
                .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
        };
        let (year, month, day) = (num(0..4), num(4..6), num(6..8));
        let (hour, min, sec) = (num(8..10), num(10..12), num(12..14));
        let valid = year >= 1970
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && min < 60
            && sec <= 60;
        if !valid {
            return Err(bad(format!("{:?} is out of range", shown())));
        }
        let days = days_from_civil(i64::from(year), month, day);
        // A leap second (60) is folded into the next second.
        let secs =
            days as u64 * 86_400 + u64::from(hour) * 3600 + u64::from(min) * 60 + u64::from(sec);
        Ok(UNIX_EPOCH + Duration::from_secs(secs))
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm; valid for every year used here).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PrincipalName {
    #[rasn(tag(explicit(0)))]
    pub name_type: i32,
    #[rasn(tag(explicit(1)))]
    pub name_string: Vec<KStr>,
}

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct PaData {
    #[rasn(tag(explicit(1)))]
    pub padata_type: i32,
    #[rasn(tag(explicit(2)))]
    pub padata_value: OctetString,
}

/// MS-KILE §2.2.2: same tags as `PA-DATA`, but the value is optional.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct KerbErrorData {
    #[rasn(tag(explicit(1)))]
    pub data_type: i32,
    #[rasn(tag(explicit(2)))]
    pub data_value: Option<OctetString>,
}

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 10)), delegate)]
pub struct AsReq(pub KdcReq);

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct KdcReq {
    #[rasn(tag(explicit(1)))]
    pub pvno: i32,
    #[rasn(tag(explicit(2)))]
    pub msg_type: i32,
    #[rasn(tag(explicit(3)))]
    pub padata: Option<Vec<PaData>>,
    #[rasn(tag(explicit(4)))]
    pub req_body: KdcReqBody,
}

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct KdcReqBody {
    #[rasn(tag(explicit(0)))]
    pub kdc_options: BitString,
    #[rasn(tag(explicit(1)))]
    pub cname: Option<PrincipalName>,
    #[rasn(tag(explicit(2)))]
    pub realm: KStr,
    #[rasn(tag(explicit(3)))]
    pub sname: Option<PrincipalName>,
    #[rasn(tag(explicit(4)))]
    pub from: Option<KTime>,
    #[rasn(tag(explicit(5)))]
    pub till: KTime,
    #[rasn(tag(explicit(6)))]
    pub rtime: Option<KTime>,
    #[rasn(tag(explicit(7)))]
    pub nonce: u32,
    #[rasn(tag(explicit(8)))]
    pub etype: Vec<i32>,
}

/// `kvno` is decoded as `i64`: some implementations encode a kvno at or
/// above 2^31 as a negative 32-bit integer.
#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EncryptedData {
    #[rasn(tag(explicit(0)))]
    pub etype: i32,
    #[rasn(tag(explicit(1)))]
    pub kvno: Option<i64>,
    #[rasn(tag(explicit(2)))]
    pub cipher: OctetString,
}

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
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

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 11)), delegate)]
pub struct AsRep(pub KdcRep);

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
#[rasn(tag(explicit(application, 14)), delegate)]
pub struct ApReq(pub ApReqBody);

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct ApReqBody {
    #[rasn(tag(explicit(0)))]
    pub pvno: i64,
    #[rasn(tag(explicit(1)))]
    pub msg_type: i64,
    #[rasn(tag(explicit(2)))]
    pub ap_options: BitString,
    #[rasn(tag(explicit(3)))]
    pub ticket: Ticket,
    #[rasn(tag(explicit(4)))]
    pub authenticator: EncryptedData,
}

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
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

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
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

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EtypeInfo2Entry {
    #[rasn(tag(explicit(0)))]
    pub etype: i32,
    #[rasn(tag(explicit(1)))]
    pub salt: Option<KStr>,
    #[rasn(tag(explicit(2)))]
    pub s2kparams: Option<OctetString>,
}

#[derive(AsnType, Decode, Encode, Debug, Clone, PartialEq, Eq)]
pub struct EtypeInfoEntry {
    #[rasn(tag(explicit(0)))]
    pub etype: i32,
    #[rasn(tag(explicit(1)))]
    pub salt: Option<OctetString>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdcproto::FAR_FUTURE_UNIX;

    #[test]
    fn as_req_times_are_clamped_to_kerberos_time() {
        let before_epoch = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(KTime::from_system_time(before_epoch).0, b"19700101000000Z");
        let far = UNIX_EPOCH + Duration::from_secs(1 << 40);
        assert_eq!(KTime::from_system_time(far).0, b"99991231235959Z");
        // Sub-second parts are dropped: RFC 4120 KerberosTime has none.
        let t = UNIX_EPOCH + Duration::from_millis(951_782_400_999); // 2000-02-29
        assert_eq!(KTime::from_system_time(t).0, b"20000229000000Z");
    }

    #[test]
    fn kerberos_time_round_trips() {
        for secs in [
            0,
            951_782_400,
            FAR_FUTURE_UNIX,
            4_107_542_400,
            MAX_KERBEROS_TIME_UNIX,
        ] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            let k = KTime::from_system_time(t);
            assert_eq!(
                k.to_system_time("t").expect("own format parses"),
                t,
                "{k:?}"
            );
        }
        for bad in [
            &b"20260230000000Z"[..],
            b"20261301000000Z",
            b"20260101240000Z",
            b"19691231235959Z",
            b"20260101000000",
            b"20260101000000.5Z",
            b"2026010100000AZ",
            b"",
        ] {
            let r = KTime(bad.to_vec()).to_system_time("stime");
            assert!(
                matches!(r, Err(DecodeError::Absurd { field: "stime", .. })),
                "{bad:?}"
            );
        }
    }
}
