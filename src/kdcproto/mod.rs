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
//!
//! # Layout
//!
//! The public items are all re-exported here, so callers name them `kdcproto::X` whichever
//! file holds them:
//!
//! * `request`: the probe AS-REQ ([`AsReqParams`], [`encode_as_req`]).
//! * `reply`: what a KDC answered ([`KdcReply`], [`KrbError`], [`AsRepInfo`]),
//!   [`decode_reply`] with its checks on the message as a whole, and [`clock_offset`].
//! * `decode`: the field-by-field conversion of a decoded message into those types.
//! * [`limits`]: the bounds `decode` holds every field to, shared with the fuzz target.
//! * `names`: RFC and MIT names of error codes, enctypes, padata types and NTSTATUS values.
//! * `token`: the Kerberos messages inside GSS-API tokens ([`ticket_in_gss_token`],
//!   [`krb_error_in_gss_token`]).
//! * `transport`: one exchange with a KDC over UDP or TCP ([`exchange_udp`], [`exchange_tcp`]).
//! * `wire`: the RFC 4120 ASN.1 structures, with the byte strings described above.

mod decode;
#[cfg(test)]
mod fixtures;
pub mod limits;
mod names;
mod reply;
mod request;
mod token;
mod transport;
mod wire;

pub use decode::ntstatus_of;
pub use limits::MAX_REPLY_LEN;
pub use names::{error_name, etype_name, ntstatus_name, padata_name};
#[cfg(test)]
pub(crate) use reply::fake_krb_error;
pub use reply::{
    AsRepInfo, DecodeError, EtypeHint, KdcReply, KrbError, PaHint, clock_offset, decode_reply,
};
pub use request::{AsReqParams, DEFAULT_ETYPES, FAR_FUTURE_UNIX, encode_as_req, random_nonce};
pub use token::{krb_error_in_gss_token, ticket_enctype, ticket_in_gss_token};
pub use transport::{TransportError, exchange_tcp, exchange_udp};

// The protocol numbers the checks match on. They stay here, not in a submodule, because
// `reply` and `decode` use them too.

/// The well-known KDC port, for both UDP and TCP (RFC 4120 §7.2.3).
pub const KDC_PORT: u16 = 88;

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
