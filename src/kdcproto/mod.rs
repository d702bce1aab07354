//! Minimal Kerberos (RFC 4120) client protocol for the `kdc-reach` check.
//!
//! Finding a KDC in DNS and opening a socket to port 88 proves little: a
//! firewall, a load balancer or an unrelated service can accept the
//! connection. This module proves that a KDC *for the realm* answers, the
//! way `kinit` would find out: it sends a real AS-REQ for the user **without
//! pre-authentication** and reads the answer.
//!
//! * A healthy KDC answers `KRB-ERROR` `KDC_ERR_PREAUTH_REQUIRED` (25), with
//!   the pre-authentication methods it accepts and, in `PA-ETYPE-INFO2`,
//!   the user's enctypes and salts. Other codes are diagnoses in themselves:
//!   `KDC_ERR_C_PRINCIPAL_UNKNOWN` (no such user), `KDC_ERR_WRONG_REALM`,
//!   `KDC_ERR_CLIENT_REVOKED` (disabled or locked; Active Directory adds an
//!   NTSTATUS saying which), `KRB_AP_ERR_SKEW`, `KDC_ERR_ETYPE_NOSUPP`.
//! * A KDC for which the account does not require pre-authentication
//!   answers an `AS-REP`; it is reported (realm, name, enctype) but never
//!   decrypted: we hold no password.
//! * Every `KRB-ERROR` carries the KDC's clock (`stime`, `susec`), from
//!   which [`clock_offset`] computes the skew that breaks Kerberos at five
//!   minutes.
//!
//! Nothing here needs a password, a keytab or a GSSAPI library, so the
//! check runs even where the Kerberos client stack is what is broken.
//!
//! The messages are encoded and decoded with `rasn`. The ASN.1 types are
//! declared here rather than taken from `rasn-kerberos` 0.30, because that
//! crate types `KerberosString` as `rasn::GeneralString`, whose alphabet
//! rejects the bytes 0x80..=0xA0: any UTF-8 name containing `ß`, `Ä`, `Ö`,
//! `Ü` or most non-Latin-1 letters cannot be encoded, and a KDC reply that
//! echoes such a name cannot be decoded at all. Here a `KerberosString` is
//! kept as raw bytes (MIT and Active Directory put UTF-8 in it) and shown
//! lossily. The tests use `rasn-kerberos` as an independent oracle.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rasn::prelude::*;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout, timeout_at};

/// The well-known KDC port, for both UDP and TCP (RFC 4120 §7.2.3).
pub const KDC_PORT: u16 = 88;

/// Largest reply accepted, over TCP or by [`decode_reply`]. Active
/// Directory tickets with large PACs reach a few tens of KiB; anything
/// near a mebibyte is not a KDC talking.
pub const MAX_REPLY_LEN: usize = 1 << 20;

/// `KRB_ERR_RESPONSE_TOO_BIG`: the KDC's answer did not fit in a UDP
/// datagram and the request must be repeated over TCP.
pub const KRB_ERR_RESPONSE_TOO_BIG: i32 = 52;

/// `KDC_ERR_PREAUTH_REQUIRED`, the answer a healthy KDC gives the probe.
pub const KDC_ERR_PREAUTH_REQUIRED: i32 = 25;

/// `KDC_ERR_PREAUTH_FAILED`; MIT also lists methods in its e-data.
pub const KDC_ERR_PREAUTH_FAILED: i32 = 24;

/// `KDC_ERR_C_PRINCIPAL_UNKNOWN`: no such user in the realm.
pub const KDC_ERR_C_PRINCIPAL_UNKNOWN: i32 = 6;

/// `KDC_ERR_CLIENT_REVOKED`: account disabled, locked out or expired (AD
/// says which in [`KrbError::ntstatus`]).
pub const KDC_ERR_CLIENT_REVOKED: i32 = 18;

/// `KDC_ERR_KEY_EXPIRED`: the user's password has expired.
pub const KDC_ERR_KEY_EXPIRED: i32 = 23;

/// `KDC_ERR_ETYPE_NOSUPP`: no common enctype (e.g. an RC4-only account
/// and a client without RC4, or the reverse).
pub const KDC_ERR_ETYPE_NOSUPP: i32 = 14;

/// `KRB_AP_ERR_SKEW`: clocks too far apart.
pub const KRB_AP_ERR_SKEW: i32 = 37;

/// `KDC_ERR_WRONG_REALM`: the KDC does not serve the realm; with
/// canonicalize set, `crealm` names the right one. Mostly Active
/// Directory: MIT `krb5kdc` answers a request for a realm it does not
/// serve with `KDC_ERR_C_PRINCIPAL_UNKNOWN`, echoing the realm asked for.
pub const KDC_ERR_WRONG_REALM: i32 = 68;

/// The enctypes offered by default, strongest first, as MIT's default
/// `permitted_enctypes` orders them, ending with RC4 because many Active
/// Directory accounts still only have an RC4 key.
pub const DEFAULT_ETYPES: [i32; 5] = [18, 17, 20, 19, 23];

/// `till` and `rtime` used by [`AsReqParams::new`]: 2037-09-13T02:48:05Z,
/// the value Windows clients send. A far-future `till` keeps the answer
/// independent of our own clock, so a skewed client still gets
/// `PREAUTH_REQUIRED` (with the KDC's time) rather than `NEVER_VALID`.
pub const FAR_FUTURE_UNIX: u64 = 2_136_422_885;

// Upper bounds on fields of a reply. A real KDC stays far below them; a
// reply beyond them is reported as `DecodeError::Absurd` rather than
// passed on to be printed.
const MAX_STRING_LEN: usize = 1024;
const MAX_NAME_COMPONENTS: usize = 32;
const MAX_E_TEXT_LEN: usize = 4096;
const MAX_E_DATA_LEN: usize = 64 * 1024;
const MAX_PADATA_ENTRIES: usize = 64;

/// Seconds from 1970 to 9999-12-31T23:59:59Z, the last instant a
/// four-digit GeneralizedTime year can name.
const MAX_KERBEROS_TIME_UNIX: u64 = 253_402_300_799;

// ---------------------------------------------------------------------------
// Public API: request
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Public API: reply
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Public API: names
// ---------------------------------------------------------------------------

/// The RFC name and MIT `krb5_err.et` message of a protocol error code,
/// e.g. `(25)` → `("KDC_ERR_PREAUTH_REQUIRED", "Additional
/// pre-authentication required")`.
///
/// Names are those of RFC 4120, 4556 (PKINIT), 6113 (FAST) and 8636, and
/// Microsoft's `KDC_ERR_SVC_UNAVAILABLE` (29). Texts are MIT's, verbatim,
/// including `"KRB5 error code N"` for unassigned codes below 128.
pub fn error_name(code: i32) -> (&'static str, &'static str) {
    match usize::try_from(code).ok().and_then(|i| ERROR_TABLE.get(i)) {
        Some(&("", text)) => ("UNKNOWN_ERROR_CODE", text),
        Some(&entry) => entry,
        None => ("UNKNOWN_ERROR_CODE", "Unknown Kerberos protocol error code"),
    }
}

/// MIT's name of an enctype number, or `"unknown"`.
pub fn etype_name(etype: i32) -> &'static str {
    match etype {
        1 => "des-cbc-crc",
        2 => "des-cbc-md4",
        3 => "des-cbc-md5",
        5 => "des3-cbc-md5",
        7 => "des3-cbc-sha1-old",
        16 => "des3-cbc-sha1",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        _ => "unknown",
    }
}

/// The IANA name of a `padata-type`, or `"PA-UNKNOWN"`.
pub fn padata_name(padata_type: i32) -> &'static str {
    match padata_type {
        1 => "PA-TGS-REQ",
        2 => "PA-ENC-TIMESTAMP",
        3 => "PA-PW-SALT",
        5 => "PA-ENC-UNIX-TIME",
        6 => "PA-SANDIA-SECUREID",
        7 => "PA-SESAME",
        8 => "PA-OSF-DCE",
        9 => "PA-CYBERSAFE-SECUREID",
        10 => "PA-AFS3-SALT",
        11 => "PA-ETYPE-INFO",
        12 => "PA-SAM-CHALLENGE",
        13 => "PA-SAM-RESPONSE",
        14 => "PA-PK-AS-REQ_OLD",
        15 => "PA-PK-AS-REP_OLD",
        16 => "PA-PK-AS-REQ",
        17 => "PA-PK-AS-REP",
        19 => "PA-ETYPE-INFO2",
        20 => "PA-SVR-REFERRAL-INFO",
        21 => "PA-SAM-REDIRECT",
        22 => "PA-GET-FROM-TYPED-DATA",
        25 => "PA-ALT-PRINC",
        30 => "PA-SAM-CHALLENGE2",
        31 => "PA-SAM-RESPONSE2",
        41 => "PA-EXTRA-TGT",
        128 => "PA-PAC-REQUEST",
        129 => "PA-FOR-USER",
        130 => "PA-FOR-X509-USER",
        131 => "PA-FOR-CHECK_DUPS",
        132 => "PA-AS-CHECKSUM",
        133 => "PA-FX-COOKIE",
        134 => "PA-AUTHENTICATION-SET",
        135 => "PA-AUTH-SET-SELECTED",
        136 => "PA-FX-FAST",
        137 => "PA-FX-ERROR",
        138 => "PA-ENCRYPTED-CHALLENGE",
        141 => "PA-OTP-CHALLENGE",
        142 => "PA-OTP-REQUEST",
        143 => "PA-OTP-CONFIRM",
        144 => "PA-OTP-PIN-CHANGE",
        145 => "PA-EPAK-AS-REQ",
        146 => "PA-EPAK-AS-REP",
        147 => "PA-PKINIT-KX",
        148 => "PA-PKU2U-NAME",
        149 => "PA-REQ-ENC-PA-REP",
        150 => "PA-AS-FRESHNESS",
        151 => "PA-SPAKE",
        161 => "KERB-KEY-LIST-REQ",
        162 => "KERB-KEY-LIST-REP",
        165 => "PA-SUPPORTED-ENCTYPES",
        166 => "PA-EXTENDED-ERROR",
        167 => "PA-PAC-OPTIONS",
        _ => "PA-UNKNOWN",
    }
}

/// The name of an NTSTATUS that Active Directory returns in a Kerberos
/// extended error, for the common logon failures.
pub fn ntstatus_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000_0000 => "STATUS_SUCCESS",
        0xC000_0022 => "STATUS_ACCESS_DENIED",
        0xC000_005E => "STATUS_NO_LOGON_SERVERS",
        0xC000_0064 => "STATUS_NO_SUCH_USER",
        0xC000_006A => "STATUS_WRONG_PASSWORD",
        0xC000_006D => "STATUS_LOGON_FAILURE",
        0xC000_006E => "STATUS_ACCOUNT_RESTRICTION",
        0xC000_006F => "STATUS_INVALID_LOGON_HOURS",
        0xC000_0070 => "STATUS_INVALID_WORKSTATION",
        0xC000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xC000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xC000_00BB => "STATUS_NOT_SUPPORTED",
        0xC000_0133 => "STATUS_TIME_DIFFERENCE_AT_DC",
        0xC000_015B => "STATUS_LOGON_TYPE_NOT_GRANTED",
        0xC000_018B => "STATUS_NO_TRUST_SAM_ACCOUNT",
        0xC000_0193 => "STATUS_ACCOUNT_EXPIRED",
        0xC000_0224 => "STATUS_PASSWORD_MUST_CHANGE",
        0xC000_0225 => "STATUS_NOT_FOUND",
        0xC000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        0xC000_0388 => "STATUS_DOWNGRADE_DETECTED",
        0xC000_0413 => "STATUS_AUTHENTICATION_FIREWALL_FAILED",
        _ => return None,
    })
}

/// RFC names and MIT texts for codes 0..=100. An empty name marks a code
/// no RFC assigns; its text is MIT's placeholder.
static ERROR_TABLE: [(&str, &str); 101] = [
    ("KDC_ERR_NONE", "No error"),
    ("KDC_ERR_NAME_EXP", "Client's entry in database has expired"),
    (
        "KDC_ERR_SERVICE_EXP",
        "Server's entry in database has expired",
    ),
    (
        "KDC_ERR_BAD_PVNO",
        "Requested protocol version not supported",
    ),
    (
        "KDC_ERR_C_OLD_MAST_KVNO",
        "Client's key is encrypted in an old master key",
    ),
    (
        "KDC_ERR_S_OLD_MAST_KVNO",
        "Server's key is encrypted in an old master key",
    ),
    (
        "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        "Client not found in Kerberos database",
    ),
    (
        "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        "Server not found in Kerberos database",
    ),
    (
        "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        "Principal has multiple entries in Kerberos database",
    ),
    ("KDC_ERR_NULL_KEY", "Client or server has a null key"),
    (
        "KDC_ERR_CANNOT_POSTDATE",
        "Ticket is ineligible for postdating",
    ),
    (
        "KDC_ERR_NEVER_VALID",
        "Requested effective lifetime is negative or too short",
    ),
    ("KDC_ERR_POLICY", "KDC policy rejects request"),
    ("KDC_ERR_BADOPTION", "KDC can't fulfill requested option"),
    (
        "KDC_ERR_ETYPE_NOSUPP",
        "KDC has no support for encryption type",
    ),
    (
        "KDC_ERR_SUMTYPE_NOSUPP",
        "KDC has no support for checksum type",
    ),
    (
        "KDC_ERR_PADATA_TYPE_NOSUPP",
        "KDC has no support for padata type",
    ),
    (
        "KDC_ERR_TRTYPE_NOSUPP",
        "KDC has no support for transited type",
    ),
    (
        "KDC_ERR_CLIENT_REVOKED",
        "Client's credentials have been revoked",
    ),
    (
        "KDC_ERR_SERVICE_REVOKED",
        "Credentials for server have been revoked",
    ),
    ("KDC_ERR_TGT_REVOKED", "TGT has been revoked"),
    (
        "KDC_ERR_CLIENT_NOTYET",
        "Client not yet valid - try again later",
    ),
    (
        "KDC_ERR_SERVICE_NOTYET",
        "Server not yet valid - try again later",
    ),
    ("KDC_ERR_KEY_EXPIRED", "Password has expired"),
    ("KDC_ERR_PREAUTH_FAILED", "Preauthentication failed"),
    (
        "KDC_ERR_PREAUTH_REQUIRED",
        "Additional pre-authentication required",
    ),
    (
        "KDC_ERR_SERVER_NOMATCH",
        "Requested server and ticket don't match",
    ),
    (
        "KDC_ERR_MUST_USE_USER2USER",
        "Server principal valid for user2user only",
    ),
    (
        "KDC_ERR_PATH_NOT_ACCEPTED",
        "KDC policy rejects transited path",
    ),
    (
        "KDC_ERR_SVC_UNAVAILABLE",
        "A service is not available that is required to process the request",
    ),
    ("", "KRB5 error code 30"),
    ("KRB_AP_ERR_BAD_INTEGRITY", "Decrypt integrity check failed"),
    ("KRB_AP_ERR_TKT_EXPIRED", "Ticket expired"),
    ("KRB_AP_ERR_TKT_NYV", "Ticket not yet valid"),
    ("KRB_AP_ERR_REPEAT", "Request is a replay"),
    ("KRB_AP_ERR_NOT_US", "The ticket isn't for us"),
    ("KRB_AP_ERR_BADMATCH", "Ticket/authenticator don't match"),
    ("KRB_AP_ERR_SKEW", "Clock skew too great"),
    ("KRB_AP_ERR_BADADDR", "Incorrect net address"),
    ("KRB_AP_ERR_BADVERSION", "Protocol version mismatch"),
    ("KRB_AP_ERR_MSG_TYPE", "Invalid message type"),
    ("KRB_AP_ERR_MODIFIED", "Message stream modified"),
    ("KRB_AP_ERR_BADORDER", "Message out of order"),
    ("KRB_AP_ERR_ILL_CR_TKT", "Illegal cross-realm ticket"),
    ("KRB_AP_ERR_BADKEYVER", "Key version is not available"),
    ("KRB_AP_ERR_NOKEY", "Service key not available"),
    ("KRB_AP_ERR_MUT_FAIL", "Mutual authentication failed"),
    ("KRB_AP_ERR_BADDIRECTION", "Incorrect message direction"),
    (
        "KRB_AP_ERR_METHOD",
        "Alternative authentication method required",
    ),
    ("KRB_AP_ERR_BADSEQ", "Incorrect sequence number in message"),
    (
        "KRB_AP_ERR_INAPP_CKSUM",
        "Inappropriate type of checksum in message",
    ),
    ("KRB_AP_PATH_NOT_ACCEPTED", "Policy rejects transited path"),
    (
        "KRB_ERR_RESPONSE_TOO_BIG",
        "Response too big for UDP, retry with TCP",
    ),
    ("", "KRB5 error code 53"),
    ("", "KRB5 error code 54"),
    ("", "KRB5 error code 55"),
    ("", "KRB5 error code 56"),
    ("", "KRB5 error code 57"),
    ("", "KRB5 error code 58"),
    ("", "KRB5 error code 59"),
    ("KRB_ERR_GENERIC", "Generic error (see e-text)"),
    (
        "KRB_ERR_FIELD_TOOLONG",
        "Field is too long for this implementation",
    ),
    ("KDC_ERR_CLIENT_NOT_TRUSTED", "Client not trusted"),
    ("KDC_ERR_KDC_NOT_TRUSTED", "KDC not trusted"),
    ("KDC_ERR_INVALID_SIG", "Invalid signature"),
    ("KDC_ERR_KEY_TOO_WEAK", "Key parameters not accepted"),
    ("KDC_ERR_CERTIFICATE_MISMATCH", "Certificate mismatch"),
    ("KRB_AP_ERR_NO_TGT", "No ticket granting ticket"),
    ("KDC_ERR_WRONG_REALM", "Realm not local to KDC"),
    ("KRB_AP_ERR_USER_TO_USER_REQUIRED", "User to user required"),
    (
        "KDC_ERR_CANT_VERIFY_CERTIFICATE",
        "Can't verify certificate",
    ),
    ("KDC_ERR_INVALID_CERTIFICATE", "Invalid certificate"),
    ("KDC_ERR_REVOKED_CERTIFICATE", "Revoked certificate"),
    (
        "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
        "Revocation status unknown",
    ),
    (
        "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
        "Revocation status unavailable",
    ),
    ("KDC_ERR_CLIENT_NAME_MISMATCH", "Client name mismatch"),
    ("KDC_ERR_KDC_NAME_MISMATCH", "KDC name mismatch"),
    (
        "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
        "Inconsistent key purpose",
    ),
    (
        "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED",
        "Digest in certificate not accepted",
    ),
    (
        "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED",
        "Checksum must be included",
    ),
    (
        "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED",
        "Digest in signed-data not accepted",
    ),
    (
        "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED",
        "Public key encryption not supported",
    ),
    ("", "KRB5 error code 82"),
    ("", "KRB5 error code 83"),
    ("", "KRB5 error code 84"),
    (
        "KRB_AP_ERR_IAKERB_KDC_NOT_FOUND",
        "The IAKERB proxy could not find a KDC",
    ),
    (
        "KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE",
        "The KDC did not respond to the IAKERB proxy",
    ),
    ("", "KRB5 error code 87"),
    ("", "KRB5 error code 88"),
    ("", "KRB5 error code 89"),
    ("KDC_ERR_PREAUTH_EXPIRED", "Preauthentication expired"),
    (
        "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
        "More preauthentication data is required",
    ),
    (
        "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
        "KRB5 error code 92",
    ),
    (
        "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
        "An unsupported critical FAST option was requested",
    ),
    ("", "KRB5 error code 94"),
    ("", "KRB5 error code 95"),
    ("", "KRB5 error code 96"),
    ("", "KRB5 error code 97"),
    ("", "KRB5 error code 98"),
    ("", "KRB5 error code 99"),
    ("KDC_ERR_NO_ACCEPTABLE_KDF", "No acceptable KDF offered"),
];

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

/// A KRB-ERROR as a KDC or acceptor would send it, for the checks' decision tests.
#[cfg(test)]
pub(crate) fn fake_krb_error(code: i32, realm: &str) -> KrbError {
    let (name, text) = error_name(code);
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

// ---------------------------------------------------------------------------
// Public API: transport
// ---------------------------------------------------------------------------

/// Why no reply came back from a KDC.
///
/// Every variant but `Refused` names the address in its message. `Refused`
/// stays a unit variant because callers match it as such (`kdc-reach`
/// reports refusals per address itself).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Connection refused (TCP RST, or ICMP port unreachable for UDP):
    /// the host is up but nothing listens on the port.
    #[error("connection refused (the host is up, nothing listens on the port)")]
    Refused,
    /// The deadline passed during `phase` (`connect`, `write` or `read`).
    #[error("KDC {addr}: timed out during {phase}")]
    Timeout {
        /// The KDC address.
        addr: SocketAddr,
        /// `connect`, `write` or `read`.
        phase: &'static str,
    },
    /// The connection was reset (or aborted) by the peer or a middlebox.
    #[error("KDC {addr}: connection reset")]
    Reset {
        /// The KDC address.
        addr: SocketAddr,
    },
    /// The peer closed the connection without sending anything.
    #[error("KDC {addr}: connection closed without a reply")]
    Closed {
        /// The KDC address.
        addr: SocketAddr,
    },
    /// The peer closed the connection in the middle of the reply.
    #[error("KDC {addr}: reply cut short ({got} of {expected} bytes)")]
    ShortRead {
        /// The KDC address.
        addr: SocketAddr,
        /// Bytes expected (4 for the length prefix, else the body).
        expected: usize,
        /// Bytes received before the connection closed.
        got: usize,
    },
    /// The TCP length prefix has the reserved high bit set or exceeds
    /// [`MAX_REPLY_LEN`]; the peer is most likely not a KDC.
    #[error(
        "KDC {addr}: reply length prefix {len:#010x} is invalid (high bit reserved, limit {MAX_REPLY_LEN} bytes)"
    )]
    TooLarge {
        /// The KDC address.
        addr: SocketAddr,
        /// The length prefix as received.
        len: u32,
    },
    /// Any other socket error.
    #[error("KDC {addr}: {source}")]
    Io {
        /// The KDC address.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
}

impl TransportError {
    fn from_io(addr: SocketAddr, e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => TransportError::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => TransportError::Reset { addr },
            _ => TransportError::Io { addr, source: e },
        }
    }
}

/// Sends `req` in one UDP datagram and returns the first datagram that
/// comes back from `addr`.
///
/// The socket is connected, so datagrams from other sources are dropped by
/// the kernel and an ICMP port unreachable surfaces as
/// [`TransportError::Refused`]. A reply may be `KRB_ERR_RESPONSE_TOO_BIG`
/// ([`KdcReply::is_response_too_big`]): retrying with [`exchange_tcp`] is
/// the caller's decision.
pub async fn exchange_udp(
    addr: SocketAddr,
    req: &[u8],
    timeout_after: Duration,
) -> Result<Vec<u8>, TransportError> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io_err = |e| TransportError::from_io(addr, e);
    let exchange = async {
        let sock = UdpSocket::bind(local).await.map_err(io_err)?;
        sock.connect(addr).await.map_err(io_err)?;
        sock.send(req).await.map_err(io_err)?;
        // 64 KiB holds any UDP payload, so a reply is never cut here.
        let mut buf = vec![0u8; 65_536];
        let n = sock.recv(&mut buf).await.map_err(io_err)?;
        buf.truncate(n);
        Ok(buf)
    };
    match timeout(timeout_after, exchange).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout {
            addr,
            phase: "read",
        }),
    }
}

/// Sends `req` over TCP with the 4-byte big-endian length prefix of RFC
/// 4120 §7.2.2 and returns the reply without its prefix.
///
/// `timeout_after` covers connect, write and read together; the error
/// says in which phase it ran out. Prefixes with the reserved high bit or
/// above [`MAX_REPLY_LEN`] are refused before anything is allocated.
pub async fn exchange_tcp(
    addr: SocketAddr,
    req: &[u8],
    timeout_after: Duration,
) -> Result<Vec<u8>, TransportError> {
    let deadline = Instant::now() + timeout_after;
    let io_err = |e| TransportError::from_io(addr, e);
    let timed_out = |phase| TransportError::Timeout { addr, phase };

    let len = match u32::try_from(req.len()) {
        Ok(len) if len & 0x8000_0000 == 0 => len,
        _ => {
            return Err(TransportError::Io {
                addr,
                source: io::Error::new(io::ErrorKind::InvalidInput, "request too large"),
            });
        }
    };
    let mut framed = Vec::with_capacity(4 + req.len());
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(req);

    let mut stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out("connect"))?
        .map_err(io_err)?;
    timeout_at(deadline, stream.write_all(&framed))
        .await
        .map_err(|_| timed_out("write"))?
        .map_err(io_err)?;

    let mut prefix = [0u8; 4];
    let got = timeout_at(deadline, read_full(&mut stream, &mut prefix))
        .await
        .map_err(|_| timed_out("read"))?
        .map_err(io_err)?;
    match got {
        0 => return Err(TransportError::Closed { addr }),
        4 => {}
        got => {
            return Err(TransportError::ShortRead {
                addr,
                expected: 4,
                got,
            });
        }
    }
    let len = u32::from_be_bytes(prefix);
    if len & 0x8000_0000 != 0 || len as usize > MAX_REPLY_LEN {
        return Err(TransportError::TooLarge { addr, len });
    }
    let mut body = vec![0u8; len as usize];
    let got = timeout_at(deadline, read_full(&mut stream, &mut body))
        .await
        .map_err(|_| timed_out("read"))?
        .map_err(io_err)?;
    if got < body.len() {
        return Err(TransportError::ShortRead {
            addr,
            expected: body.len(),
            got,
        });
    }
    Ok(body)
}

/// Reads until `buf` is full or EOF; returns the bytes read. Unlike
/// `read_exact`, says how many bytes arrived before EOF.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

// ---------------------------------------------------------------------------
// ASN.1 types (RFC 4120 §5), with byte strings for KerberosString and
// KerberosTime; see the module documentation for why.
// ---------------------------------------------------------------------------

/// Declares a byte-string newtype encoded under `$tag`: the raw bytes are kept so that
/// decoding never fails on a character set question (see the module documentation).
macro_rules! raw_bytes_type {
    ($(#[$doc:meta])* $name:ident, $tag:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        struct $name(Vec<u8>);

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
    fn from_system_time(t: SystemTime) -> Self {
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
    fn to_system_time(&self, field: &'static str) -> Result<SystemTime, DecodeError> {
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

mod wire {
    //! RFC 4120 §5 structures, only those the probe sends or reads.
    use super::{KStr, KTime};
    use rasn::prelude::*;

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
}

// ---------------------------------------------------------------------------
// Decoding helpers
// ---------------------------------------------------------------------------

/// BER-decodes a whole `T`, mapping the decoder's error to ours.
fn ber_decode<T: Decode>(bytes: &[u8], message: &'static str) -> Result<T, DecodeError> {
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
fn outer_len(bytes: &[u8]) -> Option<usize> {
    let (header, content) = tlv_header(bytes)?;
    header.checked_add(content)
}

/// Header length and content length of the TLV at the start of `bytes`
/// (single-octet tags only, which is all Kerberos uses).
fn tlv_header(bytes: &[u8]) -> Option<(usize, usize)> {
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

fn application_name(tag: u8) -> &'static str {
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

fn not_kerberos_hint(bytes: &[u8]) -> &'static str {
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
fn kstring(s: &KStr, field: &'static str, max: usize) -> Result<String, DecodeError> {
    if s.0.len() > max {
        return Err(absurd(field, format!("{} bytes (limit {max})", s.0.len())));
    }
    Ok(String::from_utf8_lossy(&s.0).into_owned())
}

fn principal(p: &wire::PrincipalName, field: &'static str) -> Result<Vec<String>, DecodeError> {
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

fn convert_krb_error(raw: wire::KrbError) -> Result<KrbError, DecodeError> {
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

fn convert_as_rep(raw: wire::KdcRep) -> Result<AsRepInfo, DecodeError> {
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
    use rasn_kerberos as rk;
    use std::time::Instant as StdInstant;
    use tokio::net::TcpListener;

    const REALM: &str = "EXAMPLE.COM";
    /// 2026-03-14T15:09:26Z
    const STIME_UNIX: u64 = 1_773_500_966;

    fn ks(s: &str) -> rk::KerberosString {
        rk::KerberosString::try_from(s.to_string()).expect("ASCII test string")
    }

    fn ktime(rfc3339: &str) -> rk::KerberosTime {
        rk::KerberosTime(
            rasn::types::GeneralizedTime::parse_from_rfc3339(rfc3339).expect("test time"),
        )
    }

    fn pname(ty: i32, parts: &[&str]) -> rk::PrincipalName {
        rk::PrincipalName {
            r#type: ty,
            string: parts.iter().map(|p| ks(p)).collect(),
        }
    }

    fn params() -> AsReqParams {
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
    fn krb_error(code: i32) -> rk::KrbError {
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

    fn der<T: rasn::Encode>(v: &T) -> Vec<u8> {
        rasn::der::encode(v).expect("test value encodes")
    }

    fn pa(ty: i32, value: Vec<u8>) -> rk::PaData {
        rk::PaData {
            r#type: ty,
            value: OctetString::from(value),
        }
    }

    fn preauth_required_bytes() -> Vec<u8> {
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

    fn expect_error(bytes: &[u8]) -> KrbError {
        match decode_reply(bytes) {
            Ok(KdcReply::Error(e)) => e,
            other => panic!("expected KRB-ERROR, got {other:?}"),
        }
    }

    // --- AS-REQ --------------------------------------------------------

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

    #[test]
    fn random_nonce_stays_below_2_pow_31() {
        for _ in 0..64 {
            assert!(random_nonce() < 0x8000_0000);
        }
        assert!(AsReqParams::new(vec!["awx".into()], REALM).nonce < 0x8000_0000);
    }

    // --- KRB-ERROR -----------------------------------------------------

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
    fn flags_response_too_big() {
        let reply = decode_reply(&der(&krb_error(52))).expect("decodes");
        assert!(reply.is_response_too_big());
        let reply = decode_reply(&preauth_required_bytes()).expect("decodes");
        assert!(!reply.is_response_too_big());
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
    fn serializes_to_json() {
        let reply = decode_reply(&preauth_required_bytes()).expect("decodes");
        let json = serde_json::to_string(&reply).expect("serializes");
        assert!(
            json.contains("\"name\":\"KDC_ERR_PREAUTH_REQUIRED\""),
            "{json}"
        );
        assert!(json.contains("EXAMPLE.COMawx"), "{json}");
    }

    // --- AS-REP --------------------------------------------------------

    fn as_rep_bytes() -> Vec<u8> {
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

    // --- GSS tokens ----------------------------------------------------

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

    // --- Bad input -----------------------------------------------------

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

    // --- Tables --------------------------------------------------------

    #[test]
    fn error_names_follow_rfc_and_mit() {
        assert_eq!(error_name(0), ("KDC_ERR_NONE", "No error"));
        assert_eq!(
            error_name(18),
            (
                "KDC_ERR_CLIENT_REVOKED",
                "Client's credentials have been revoked"
            )
        );
        assert_eq!(
            error_name(23),
            ("KDC_ERR_KEY_EXPIRED", "Password has expired")
        );
        assert_eq!(
            error_name(24),
            ("KDC_ERR_PREAUTH_FAILED", "Preauthentication failed")
        );
        assert_eq!(error_name(37).0, "KRB_AP_ERR_SKEW");
        assert_eq!(
            error_name(52),
            (
                "KRB_ERR_RESPONSE_TOO_BIG",
                "Response too big for UDP, retry with TCP"
            )
        );
        assert_eq!(
            error_name(60),
            ("KRB_ERR_GENERIC", "Generic error (see e-text)")
        );
        assert_eq!(error_name(93).0, "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS");
        assert_eq!(error_name(100).0, "KDC_ERR_NO_ACCEPTABLE_KDF");
        assert_eq!(error_name(30), ("UNKNOWN_ERROR_CODE", "KRB5 error code 30"));
        assert_eq!(error_name(-1).0, "UNKNOWN_ERROR_CODE");
        assert_eq!(error_name(101).0, "UNKNOWN_ERROR_CODE");
        assert_eq!(error_name(i32::MAX).0, "UNKNOWN_ERROR_CODE");
        // Every placeholder text names its own code.
        for (code, (name, text)) in ERROR_TABLE.iter().enumerate() {
            if name.is_empty() {
                assert_eq!(*text, format!("KRB5 error code {code}"));
            } else {
                assert!(
                    name.starts_with("KDC_ERR_") || name.starts_with("KRB_"),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn names_of_etypes_padata_and_ntstatus() {
        assert_eq!(etype_name(20), "aes256-cts-hmac-sha384-192");
        assert_eq!(etype_name(-128), "unknown");
        assert_eq!(padata_name(149), "PA-REQ-ENC-PA-REP");
        assert_eq!(padata_name(9999), "PA-UNKNOWN");
        assert_eq!(ntstatus_name(0xC000_0072), Some("STATUS_ACCOUNT_DISABLED"));
        assert_eq!(ntstatus_name(0xDEAD_BEEF), None);
    }

    // --- Transport (127.0.0.1 only) -------------------------------------

    const SHORT: Duration = Duration::from_millis(200);

    fn loopback() -> SocketAddr {
        (Ipv4Addr::LOCALHOST, 0).into()
    }

    #[tokio::test]
    async fn udp_exchange_returns_the_kdc_datagram() {
        let server = UdpSocket::bind(loopback()).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let canned = preauth_required_bytes();
        let reply = canned.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let (n, peer) = server.recv_from(&mut buf).await.expect("recv");
            server.send_to(&reply, peer).await.expect("send");
            buf.truncate(n);
            buf
        });
        let req = encode_as_req(&params());
        let got = exchange_udp(addr, &req, Duration::from_secs(5))
            .await
            .expect("reply");
        assert_eq!(got, canned);
        assert_eq!(task.await.expect("server"), req);
        assert_eq!(expect_error(&got).error_code, 25);
    }

    #[tokio::test]
    async fn udp_exchange_times_out_when_nobody_answers() {
        let server = UdpSocket::bind(loopback()).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let start = StdInstant::now();
        let err = exchange_udp(addr, b"x", SHORT).await.expect_err("no reply");
        assert!(
            matches!(err, TransportError::Timeout { phase: "read", .. }),
            "{err:?}"
        );
        assert!(start.elapsed() >= SHORT && start.elapsed() < Duration::from_secs(3));
        assert!(err.to_string().contains(&addr.to_string()));
        drop(server);
    }

    #[tokio::test]
    async fn udp_exchange_reports_port_unreachable_as_refused() {
        let addr = {
            let s = UdpSocket::bind(loopback()).await.expect("bind");
            s.local_addr().expect("addr")
        };
        let err = exchange_udp(addr, b"x", Duration::from_secs(2))
            .await
            .expect_err("closed port");
        assert!(matches!(err, TransportError::Refused), "{err:?}");
    }

    /// A one-connection TCP server running `behave` on the accepted socket.
    async fn tcp_server<F, Fut>(behave: F) -> SocketAddr
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind(loopback()).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((sock, _)) = listener.accept().await {
                behave(sock).await;
            }
        });
        addr
    }

    async fn read_request(sock: &mut TcpStream) -> Vec<u8> {
        let mut len = [0u8; 4];
        sock.read_exact(&mut len).await.expect("prefix");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        sock.read_exact(&mut body).await.expect("body");
        body
    }

    #[tokio::test]
    async fn tcp_exchange_frames_request_and_reply() {
        let canned = preauth_required_bytes();
        let reply = canned.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let addr = tcp_server(move |mut sock| async move {
            let req = read_request(&mut sock).await;
            let mut framed = (reply.len() as u32).to_be_bytes().to_vec();
            framed.extend_from_slice(&reply);
            // Two writes: the client must reassemble.
            sock.write_all(&framed[..3]).await.expect("write");
            sock.flush().await.expect("flush");
            tokio::time::sleep(Duration::from_millis(20)).await;
            sock.write_all(&framed[3..]).await.expect("write");
            let _ = tx.send(req);
        })
        .await;
        let req = encode_as_req(&params());
        let got = exchange_tcp(addr, &req, Duration::from_secs(5))
            .await
            .expect("reply");
        assert_eq!(got, canned);
        assert_eq!(rx.await.expect("server saw request"), req);
    }

    #[tokio::test]
    async fn tcp_exchange_times_out_in_read_when_kdc_is_silent() {
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let start = StdInstant::now();
        let err = exchange_tcp(addr, b"req", SHORT).await.expect_err("silent");
        assert!(
            matches!(err, TransportError::Timeout { phase: "read", .. }),
            "{err:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn tcp_exchange_reports_close_without_reply() {
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            drop(sock);
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("closed");
        assert!(matches!(err, TransportError::Closed { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn tcp_exchange_rejects_huge_length_prefixes() {
        for prefix in [0xFFFF_FFFFu32, 0x8000_0010, (MAX_REPLY_LEN as u32) + 1] {
            let addr = tcp_server(move |mut sock| async move {
                let _ = read_request(&mut sock).await;
                let _ = sock.write_all(&prefix.to_be_bytes()).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            })
            .await;
            let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
                .await
                .expect_err("too large");
            assert!(
                matches!(err, TransportError::TooLarge { len, .. } if len == prefix),
                "{err:?}"
            );
        }
    }

    #[tokio::test]
    async fn tcp_exchange_reports_short_reads() {
        // Body cut short.
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            let _ = sock.write_all(&[0, 0, 0, 100, 1, 2, 3]).await;
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("short");
        assert!(
            matches!(
                err,
                TransportError::ShortRead {
                    expected: 100,
                    got: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        // Prefix cut short.
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            let _ = sock.write_all(&[0, 0]).await;
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("short");
        assert!(
            matches!(
                err,
                TransportError::ShortRead {
                    expected: 4,
                    got: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn tcp_exchange_reports_reset() {
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            // SO_LINGER 0: close sends RST instead of FIN.
            let _ = sock.set_zero_linger();
            drop(sock);
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("reset");
        assert!(matches!(err, TransportError::Reset { .. }), "{err:?}");
        assert!(err.to_string().contains(&addr.to_string()));
    }

    #[tokio::test]
    async fn tcp_exchange_reports_refused() {
        let addr = {
            let l = TcpListener::bind(loopback()).await.expect("bind");
            l.local_addr().expect("addr")
        };
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("refused");
        assert!(matches!(err, TransportError::Refused), "{err:?}");
    }

    #[tokio::test]
    async fn tcp_exchange_times_out_in_connect_when_backlog_is_full() {
        // A listener that never accepts, with its accept queue filled:
        // Linux then drops further SYNs, so connect() hangs.
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(loopback()).expect("bind");
        let listener = socket.listen(1).expect("listen");
        let addr = listener.local_addr().expect("addr");
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => fillers.push(s),
                _ => break,
            }
        }
        let err = exchange_tcp(addr, b"req", SHORT).await.expect_err("hangs");
        assert!(
            matches!(
                err,
                TransportError::Timeout {
                    phase: "connect",
                    ..
                }
            ),
            "{err:?}"
        );
        drop((listener, fillers));
    }
}
