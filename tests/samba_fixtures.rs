//! krbprobe's KRB-ERROR decoding and its Active Directory verdicts against the bytes a real
//! Samba AD DC sent (tests/fixtures/samba, captured by lab/test_samba.py, which also checks
//! that a fresh capture still matches them).
//!
//! What this proves beyond the table tests in src/: the NTSTATUS is found where a real DC puts
//! it (a PA-PW-SALT inside METHOD-DATA, after a PA-ETYPE-INFO2), FAST-armoured TGS errors decode,
//! and each account state reaches the code that names its cause. It also pins what Samba 4.17
//! does *not* say: a locked-out account comes without NTSTATUS (Windows sends
//! STATUS_ACCOUNT_LOCKED_OUT), so krbprobe can only report the generic "revoked" there.

use std::path::Path;

use krbprobe::checks::{kdc_reach, kinit};
use krbprobe::kdcproto::{KdcReply, KrbError, decode_reply};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samba");

fn fixture(name: &str) -> KrbError {
    let path = Path::new(DIR).join(format!("{name}.krb-error.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let hex = text.trim();
    assert!(
        hex.len().is_multiple_of(2),
        "{}: odd number of hex digits",
        path.display()
    );
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&hex[i..i + 2], 16)
                .unwrap_or_else(|e| panic!("{}: offset {i}: {e}", path.display()))
        })
        .collect();
    match decode_reply(&bytes) {
        Ok(KdcReply::Error(e)) => e,
        Ok(other) => panic!("{name}: not a KRB-ERROR: {other:?}"),
        Err(e) => panic!("{name}: does not decode: {e}"),
    }
}

/// (fixture, error-code, NTSTATUS, kdc-reach's code, kinit's code); the codes are None where
/// the NTSTATUS names no account state and the generic mapping of the error code applies.
type Row = (
    &'static str,
    i32,
    Option<u32>,
    Option<&'static str>,
    Option<&'static str>,
);

const AS_ERRORS: &[Row] = &[
    ("preauth-required", 25, None, None, None),
    ("wrong-password", 24, None, None, None),
    ("unknown-client", 6, None, None, None),
    (
        "disabled",
        18,
        Some(0xC000_0072),
        Some("kdc-account-disabled"),
        Some("kinit-account-disabled"),
    ),
    (
        "account-expired",
        18,
        Some(0xC000_0193),
        Some("kdc-account-expired"),
        Some("kinit-account-expired"),
    ),
    (
        "logon-hours",
        18,
        Some(0xC000_006F),
        Some("kdc-logon-hours"),
        Some("kinit-logon-hours"),
    ),
    (
        "password-must-change",
        23,
        Some(0xC000_0224),
        Some("kdc-password-must-change"),
        Some("kinit-password-must-change"),
    ),
    (
        "password-expired",
        23,
        Some(0xC000_0071),
        Some("kdc-password-expired"),
        Some("kinit-password-expired"),
    ),
    // Samba 4.17 sends no NTSTATUS for a locked-out account, however it got locked.
    ("locked-out", 18, None, None, None),
    ("locked-out-after-bad-passwords", 18, None, None, None),
    ("protected-users-rc4", 14, None, None, None),
];

#[test]
fn as_errors_decode_with_the_ntstatus_and_the_code_that_names_the_cause() {
    for &(name, error_code, ntstatus, kdc_code, kinit_code) in AS_ERRORS {
        let e = fixture(name);
        assert_eq!(e.error_code, error_code, "{name}: error-code");
        assert_eq!(e.ntstatus, ntstatus, "{name}: NTSTATUS");
        assert_eq!(e.realm, "SAMBA.KUROKOBO.INTERNAL", "{name}: realm");
        assert_eq!(
            e.sname,
            ["krbtgt", "SAMBA.KUROKOBO.INTERNAL"],
            "{name}: sname"
        );
        let got_kdc = e.ntstatus.and_then(kdc_reach::ad_state).map(|c| c.code);
        let got_kinit = e.ntstatus.and_then(kinit::ad_state).map(|c| c.code);
        assert_eq!(got_kdc, kdc_code, "{name}: kdc-reach's code");
        assert_eq!(got_kinit, kinit_code, "{name}: kinit's code");
        // The e-data's other way in: what MIT hands back from krb5_init_creds_get_error. An
        // NTSTATUS can only have come from e-data, so there must be some.
        match &e.e_data {
            Some(raw) => assert_eq!(
                krbprobe::kdcproto::ntstatus_of(error_code, raw),
                ntstatus,
                "{name}"
            ),
            None => assert_eq!(ntstatus, None, "{name}: NTSTATUS expected but no e-data"),
        }
    }
}

#[test]
fn preauth_required_lists_what_a_dc_offers() {
    let e = fixture("preauth-required");
    let types: Vec<i32> = e.preauth.iter().map(|p| p.padata_type).collect();
    // ENC-TIMESTAMP (2) and ETYPE-INFO2 (19) are what a password login needs; FX-FAST (136)
    // is why MIT armours its TGS requests to this DC.
    for t in [2, 19, 136] {
        assert!(types.contains(&t), "padata type {t} missing from {types:?}");
    }
}

#[test]
fn fast_armoured_tgs_errors_decode() {
    for (name, code, sname_host) in [
        (
            "rc4-only-service-aes-only-client",
            14,
            "kuro-swin02.samba.kurokobo.internal",
        ),
        ("unknown-service", 7, "kuro-swin99.samba.kurokobo.internal"),
    ] {
        let e = fixture(name);
        assert_eq!(e.error_code, code, "{name}");
        assert_eq!(e.sname, ["HTTP", sname_host], "{name}");
        assert_eq!(e.ntstatus, None, "{name}");
    }
}
