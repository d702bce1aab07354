//! The probe AS-REQ: what goes into it ([`AsReqParams`]) and its DER encoding
//! ([`encode_as_req`]).
//!
//! The only part of the module that encodes. Each choice made here (no padata, the KDC
//! options, a far-future `till`, a nonce below 2^31) decides which answer a KDC gives, so
//! they are kept together, each with its reason.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rasn::prelude::*;

use super::wire::{self, KStr, KTime};

/// The enctypes offered by default, strongest first, as MIT's default
/// `permitted_enctypes` orders them, ending with RC4 because many Active
/// Directory accounts still only have an RC4 key.
pub const DEFAULT_ETYPES: [i32; 5] = [18, 17, 20, 19, 23];

/// `till` and `rtime` used by [`AsReqParams::new`]: 2037-09-13T02:48:05Z,
/// the value Windows clients send. A far-future `till` keeps the answer
/// independent of our own clock, so a skewed client still gets
/// `PREAUTH_REQUIRED` (with the KDC's time) rather than `NEVER_VALID`.
pub const FAR_FUTURE_UNIX: u64 = 2_136_422_885;

/// What goes into the probe AS-REQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsReqParams {
    /// Client name components, e.g. `["awx"]` for `awx@REALM`.
    pub client: Vec<String>,
    /// The realm, sent as given: realms are case-sensitive for MIT, and a
    /// lowercase realm sent to a KDC is itself a finding.
    pub realm: String,
    /// Nonce; see [`random_nonce`] for why it should stay below 2^31.
    pub nonce: u32,
    /// Requested end time, also sent as `rtime` (the renewable option is on).
    pub till: SystemTime,
    /// Enctypes offered, most preferred first; [`DEFAULT_ETYPES`] usually.
    pub etypes: Vec<i32>,
}

impl AsReqParams {
    /// Parameters for `client@realm` with a random nonce, the far-future
    /// `till` Windows uses and [`DEFAULT_ETYPES`].
    pub fn new(client: Vec<String>, realm: impl Into<String>) -> Self {
        Self {
            client,
            realm: realm.into(),
            nonce: random_nonce(),
            till: UNIX_EPOCH + Duration::from_secs(FAR_FUTURE_UNIX),
            etypes: Self::default_etypes(),
        }
    }

    /// [`DEFAULT_ETYPES`] as a `Vec`, for [`AsReqParams::etypes`].
    pub fn default_etypes() -> Vec<i32> {
        DEFAULT_ETYPES.to_vec()
    }
}

/// A random nonce below 2^31.
///
/// RFC 4120 allows the full `UInt32`, but MIT and Windows clients both mask
/// the top bit because older KDCs encoded larger nonces as negative
/// integers. Falls back to clock nanoseconds if the OS has no randomness:
/// the nonce only has to differ between probes, not be secret, since the
/// probe never completes an exchange.
pub fn random_nonce() -> u32 {
    let n = getrandom::u32().unwrap_or_else(|_| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
            .unwrap_or(0x5eed)
    });
    n & 0x7fff_ffff
}

/// Encodes the probe AS-REQ in DER (`[APPLICATION 10]`).
///
/// * `kdc-options`: forwardable, renewable, canonicalize, as `kinit -f`
///   and Windows send; canonicalize lets the KDC answer `WRONG_REALM`
///   with the right realm (a referral) instead of a bare "unknown".
/// * `cname`: `NT-PRINCIPAL`; `sname`: `krbtgt/REALM`, `NT-SRV-INST`.
/// * No `padata` at all. MIT's `kinit` adds an empty
///   `PA-REQ-ENC-PA-REP` (149) and Windows a `PA-PAC-REQUEST` (128), but
///   neither changes the error path, and MIT's own source notes that some
///   KDCs answer `PREAUTH_FAILED` without hints (instead of
///   `PREAUTH_REQUIRED` with them) when a request carries padata they do
///   not know. The bare RFC 4120 request gets the most informative answer
///   from every KDC.
/// * No addresses, no `from`; `rtime` equals `till`.
pub fn encode_as_req(p: &AsReqParams) -> Vec<u8> {
    let till = KTime::from_system_time(p.till);
    let realm = KStr(p.realm.as_bytes().to_vec());
    let req = wire::AsReq(wire::KdcReq {
        pvno: 5,
        msg_type: 10,
        padata: None,
        req_body: wire::KdcReqBody {
            kdc_options: BitString::from_slice(&KDC_OPTIONS),
            cname: Some(wire::PrincipalName {
                name_type: NT_PRINCIPAL,
                name_string: p
                    .client
                    .iter()
                    .map(|c| KStr(c.as_bytes().to_vec()))
                    .collect(),
            }),
            realm: realm.clone(),
            sname: Some(wire::PrincipalName {
                name_type: NT_SRV_INST,
                name_string: vec![KStr(b"krbtgt".to_vec()), realm],
            }),
            from: None,
            till: till.clone(),
            rtime: Some(till),
            nonce: p.nonce,
            etype: p.etypes.clone(),
        },
    });
    // The value holds only INTEGERs, OCTET STRING-like strings, one BIT
    // STRING and SEQUENCEs without constraints: no input makes the DER
    // encoder fail, so a failure here is a bug in this module.
    rasn::der::encode(&req).expect("DER encoding of an AS-REQ cannot fail")
}

const NT_PRINCIPAL: i32 = 1;
const NT_SRV_INST: i32 = 2;

/// KDC options: bit 1 forwardable (0x40 in octet 0), bit 8 renewable (0x80
/// in octet 1), bit 15 canonicalize (0x01 in octet 1). RFC 4120 numbers
/// bits from the most significant bit of the first octet.
const KDC_OPTIONS: [u8; 4] = [0x40, 0x81, 0x00, 0x00];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdcproto::fixtures::{REALM, der, ks, ktime, params, pname};
    use rasn_kerberos as rk;

    #[test]
    fn as_req_decodes_with_rasn_kerberos() {
        let bytes = encode_as_req(&params());
        let rk::AsReq(req) = rasn::der::decode::<rk::AsReq>(&bytes).expect("valid DER AS-REQ");
        assert_eq!(req.pvno, 5.into());
        assert_eq!(req.msg_type, 10.into());
        assert_eq!(req.padata, None);
        let b = req.req_body;
        assert_eq!(b.kdc_options.0.as_raw_slice(), &[0x40, 0x81, 0x00, 0x00]);
        assert_eq!(b.cname, Some(pname(1, &["awx"])));
        assert_eq!(b.realm, ks(REALM));
        assert_eq!(b.sname, Some(pname(2, &["krbtgt", REALM])));
        assert_eq!(b.from, None);
        assert_eq!(b.till, ktime("2037-09-13T02:48:05Z"));
        assert_eq!(b.rtime, Some(ktime("2037-09-13T02:48:05Z")));
        assert_eq!(b.nonce, 0x1234_5678);
        assert_eq!(b.etype, vec![18, 17, 20, 19, 23]);
        assert_eq!(b.addresses, None);
        assert_eq!(b.enc_authorization_data, None);
        assert_eq!(b.additional_tickets, None);
        // The exact DER is also what rasn-kerberos re-encodes.
        assert_eq!(der(&rk::AsReq(rk::KdcReq { req_body: b, ..req })), bytes);
    }

    #[test]
    fn as_req_has_the_documented_size_and_prefix() {
        let bytes = encode_as_req(&params());
        // 0x6a = [APPLICATION 10], constructed.
        assert_eq!(bytes[0], 0x6a);
        assert_eq!(bytes.len(), TYPICAL_AS_REQ_LEN, "{bytes:02x?}");
        // Deterministic for fixed parameters.
        assert_eq!(bytes, encode_as_req(&params()));
    }

    /// Size of the AS-REQ for `awx@EXAMPLE.COM`, reported to the product.
    const TYPICAL_AS_REQ_LEN: usize = 163;

    #[test]
    fn as_req_carries_utf8_names_that_rasn_kerberos_rejects() {
        let mut p = params();
        p.client = vec!["jürgen.ßÄ".into()];
        p.realm = "MÜNCHEN.EXAMPLE".into();
        let bytes = encode_as_req(&p);
        // rasn-kerberos's GeneralString refuses the UTF-8 bytes 0x84, 0x9c
        // and 0x9f (from Ä, Ü, ß) ...
        assert!(rasn::der::decode::<rk::AsReq>(&bytes).is_err());
        // ... while the bytes on the wire are exactly the UTF-8 text.
        let wire::AsReq(req) = rasn::der::decode::<wire::AsReq>(&bytes).expect("own types decode");
        let cname = req.req_body.cname.expect("cname present");
        assert_eq!(
            cname.name_string,
            vec![KStr("jürgen.ßÄ".as_bytes().to_vec())]
        );
        assert_eq!(req.req_body.realm.0, "MÜNCHEN.EXAMPLE".as_bytes());
    }

    #[test]
    fn random_nonce_stays_below_2_pow_31() {
        for _ in 0..64 {
            assert!(random_nonce() < 0x8000_0000);
        }
        assert!(AsReqParams::new(vec!["awx".into()], REALM).nonce < 0x8000_0000);
    }
}
