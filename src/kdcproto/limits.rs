//! Upper bounds on what a KDC reply may contain.
//!
//! A real KDC stays far below every one of them. A reply beyond them is refused
//! ([`DecodeError::TooLarge`](super::DecodeError::TooLarge)) or reported as
//! [`DecodeError::Absurd`](super::DecodeError::Absurd) rather than passed on to be printed.
//!
//! They have a module of their own because the fuzz target (`fuzz/fuzz_targets/kdc_reply.rs`)
//! asserts that every decoded field stays within them: it imports them from here, so the
//! decoder and its check cannot drift apart.

/// Largest reply accepted, over TCP or by [`decode_reply`](super::decode_reply). Active
/// Directory tickets with large PACs reach a few tens of KiB; anything
/// near a mebibyte is not a KDC talking.
pub const MAX_REPLY_LEN: usize = 1 << 20;

/// Longest `KerberosString` (realm, name component, salt), in bytes.
pub const MAX_STRING_LEN: usize = 1024;

/// Most components of one `PrincipalName`.
pub const MAX_NAME_COMPONENTS: usize = 32;

/// Longest `e-text` of a `KRB-ERROR`, in bytes.
pub const MAX_E_TEXT_LEN: usize = 4096;

/// Longest `e-data` of a `KRB-ERROR`, in bytes.
pub const MAX_E_DATA_LEN: usize = 64 * 1024;

/// Most `PA-DATA` entries in `e-data` or in an `AS-REP`, and most entries in one
/// `PA-ETYPE-INFO2` or `PA-ETYPE-INFO`.
pub const MAX_PADATA_ENTRIES: usize = 64;

/// Seconds from 1970 to 9999-12-31T23:59:59Z, the last instant a
/// four-digit GeneralizedTime year can name.
pub const MAX_KERBEROS_TIME_UNIX: u64 = 253_402_300_799;
