//! Check 7, `kinit`: a TGT for the user through GSSAPI over MIT krb5, from the password (into a
//! private in-memory cache), a keytab, or an existing cache.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::checks::edges::{Gss, TgtFacts};
use crate::codes::{self, Code};
use crate::gss::{GssFailure, TgtSource, krb5_err};
use crate::report::Finding;
use crate::settings::Credential;

/// Check id.
pub const ID: &str = "kinit";

/// The code for an Active Directory NTSTATUS that names the account's state more exactly than
/// the Kerberos error does (which lumps them into CLIENT_REVOKED or KEY_EXPIRED).
pub fn ad_state(ntstatus: u32) -> Option<Code> {
    Some(match ntstatus {
        0xC000_0072 => codes::KINIT_ACCOUNT_DISABLED,
        0xC000_0193 => codes::KINIT_ACCOUNT_EXPIRED,
        0xC000_0234 => codes::KINIT_ACCOUNT_LOCKED_OUT,
        0xC000_006F => codes::KINIT_LOGON_HOURS,
        0xC000_0070 => codes::KINIT_WORKSTATION_RESTRICTED,
        0xC000_0071 => codes::KINIT_PASSWORD_EXPIRED,
        0xC000_0224 => codes::KINIT_PASSWORD_MUST_CHANGE,
        0xC000_0413 => codes::KINIT_AUTH_POLICY,
        _ => return None,
    })
}

/// The NTSTATUS in the KDC's KRB-ERROR behind a failure, when it sent one (Active Directory).
pub fn ntstatus(f: &GssFailure) -> Option<u32> {
    let e = f.kdc_error.as_ref()?;
    crate::kdcproto::ntstatus_of(i32::try_from(e.error_code).ok()?, &e.e_data)
}

/// Maps a GSSAPI failure to a code: by AD's NTSTATUS when the KDC sent one, else by MIT's
/// minor status.
pub fn classify(f: &GssFailure, credential: &Credential) -> Code {
    if let Some(code) = ntstatus(f).and_then(ad_state) {
        return code;
    }
    match f.minor {
        krb5_err::PREAUTH_FAILED | krb5_err::BAD_INTEGRITY | krb5_err::GENERIC_PREAUTH_FAILED => {
            codes::KINIT_PASSWORD_WRONG
        }
        krb5_err::C_PRINCIPAL_UNKNOWN => codes::KINIT_USER_UNKNOWN,
        krb5_err::CLIENT_REVOKED => codes::KINIT_USER_DISABLED,
        krb5_err::KEY_EXP => codes::KINIT_PASSWORD_EXPIRED,
        krb5_err::SKEW => codes::KINIT_CLOCK_SKEW,
        krb5_err::KDC_UNREACH | krb5_err::REALM_CANT_RESOLVE => codes::KINIT_KDC_UNREACHABLE,
        krb5_err::REALM_UNKNOWN => codes::KINIT_REALM_UNKNOWN,
        krb5_err::ETYPE_NOSUPP => codes::KINIT_ETYPE,
        krb5_err::KT_NOTFOUND | krb5_err::KT_BADNAME => codes::KINIT_KEYTAB,
        krb5_err::CC_NOTFOUND | krb5_err::FCC_NOFILE => codes::KINIT_CCACHE,
        _ => match credential {
            Credential::Keytab(_) => codes::KINIT_KEYTAB,
            Credential::Cache(_) => codes::KINIT_CCACHE,
            _ => codes::KINIT_ERROR,
        },
    }
}

/// Runs the check through `gss`. `principal` is `user@REALM` from the principal check;
/// `blocked` names a failed prerequisite.
pub async fn run<G: Gss>(
    gss: &G,
    credential: &Credential,
    principal: Option<&str>,
    blocked: Option<String>,
    forwardable: bool,
    deadline: Duration,
) -> (Finding, Option<G::Tgt>) {
    let started = Instant::now();
    if let Some(why) = blocked {
        return (
            Finding::skip(ID, codes::KINIT_SKIPPED, why).took(started.elapsed()),
            None,
        );
    }
    let owned: Result<(String, OwnedSource), Finding> = match (credential, principal) {
        (Credential::None, _) => Err(Finding::skip(
            ID,
            codes::KINIT_NO_CREDENTIALS,
            "no password, keytab or ticket cache given",
        )),
        (Credential::Password(_) | Credential::Keytab(_), None) => Err(Finding::skip(
            ID,
            codes::KINIT_SKIPPED,
            "no usable user principal (see principal)",
        )),
        (Credential::Password(s), Some(p)) => Ok((p.to_owned(), OwnedSource::Password(s.clone()))),
        (Credential::Keytab(k), Some(p)) => {
            Ok((p.to_owned(), OwnedSource::Keytab(k.display().to_string())))
        }
        (Credential::Cache(c), p) => {
            Ok((p.unwrap_or("").to_owned(), OwnedSource::Cache(c.clone())))
        }
    };
    let (principal, source) = match owned {
        Ok(v) => v,
        Err(f) => return (f.took(started.elapsed()), None),
    };
    let p2 = principal.clone();
    let gss = gss.clone();
    let job = tokio::task::spawn_blocking(move || {
        let src = match &source {
            OwnedSource::Password(s) => TgtSource::Password {
                principal: &p2,
                secret: s,
                forwardable,
            },
            OwnedSource::Keytab(k) => TgtSource::Keytab {
                principal: &p2,
                path: k,
            },
            OwnedSource::Cache(c) => TgtSource::Cache {
                ccache: c,
                principal: (!p2.is_empty()).then_some(p2.as_str()),
            },
        };
        let result = gss.acquire_tgt(&src);
        // Say whose TGT the cache does hold when it has none for the user.
        let holder = match (&source, &result) {
            (OwnedSource::Cache(c), Err(_)) => gss.cache_principal(c),
            _ => None,
        };
        (result, holder)
    });
    let result = match tokio::time::timeout(deadline, job).await {
        Err(_) => {
            return (
                Finding::new(
                    ID,
                    codes::KINIT_KDC_UNREACHABLE,
                    format!(
                        "no TGT within {} s: MIT kept waiting for the KDC",
                        deadline.as_secs()
                    ),
                )
                .took(started.elapsed()),
                None,
            );
        }
        Ok(Err(join)) => {
            return (
                Finding::new(
                    ID,
                    codes::PROBE_ERROR,
                    format!("GSSAPI task failed: {join}"),
                )
                .took(started.elapsed()),
                None,
            );
        }
        Ok(Ok(r)) => r,
    };
    let (result, holder) = result;
    let (facts, tgt) = match result {
        Ok((tgt, facts)) => (Ok(facts), Some(tgt)),
        Err(e) => (Err(e), None),
    };
    let f = decide(facts, credential, &principal, holder.as_deref());
    let f = forwardable_verdict(f, forwardable);
    (f.took(started.elapsed()), tgt)
}

/// When a connection delegates (`wanted`), a TGT issued without the forwardable flag is a
/// failure of its own: authentication works, the double hop does not.
pub fn forwardable_verdict(f: Finding, wanted: bool) -> Finding {
    let not_forwardable = f.evidence.get("forwardable") == Some(&json!(false));
    match f.code {
        "kinit-ok" | "kinit-rc4" if wanted && not_forwardable => {
            let evidence = f.evidence.clone();
            Finding::new(
                ID,
                codes::KINIT_NOT_FORWARDABLE,
                format!(
                    "{}; asked for a forwardable TGT (delegation is on), the KDC issued one that is not",
                    f.summary
                ),
            )
            .evidence_map(evidence)
        }
        _ => f,
    }
}

enum OwnedSource {
    Password(crate::secret::Secret),
    Keytab(String),
    Cache(String),
}

/// The decision, table-testable with fabricated failures. `holder` is the principal a cache
/// holds when it had no TGT for `principal`.
pub fn decide(
    result: Result<TgtFacts, GssFailure>,
    credential: &Credential,
    principal: &str,
    holder: Option<&str>,
) -> Finding {
    match result {
        Ok(tgt) => {
            let rc4 = tgt
                .enctypes
                .is_some_and(|e| e.session == 23 || e.ticket == Some(23));
            let mut f = Finding::new(
                ID,
                if rc4 {
                    codes::KINIT_RC4
                } else {
                    codes::KINIT_OK
                },
                format!(
                    "TGT for {} ({}), valid {} h {} min",
                    tgt.principal,
                    credential.kind(),
                    tgt.lifetime_secs / 3600,
                    (tgt.lifetime_secs % 3600) / 60
                ),
            )
            .evidence("principal", tgt.principal.clone())
            .evidence("rc4", rc4)
            .evidence("lifetime_s", tgt.lifetime_secs)
            .evidence("credential", credential.kind());
            if rc4 {
                f.summary
                    .push_str("; issued with RC4 (rc4-hmac), which AES-only DCs refuse");
            }
            if let Some(e) = tgt.enctypes {
                // What klist -e -f would show: the TGT's enctypes, by name.
                f = f
                    .evidence("session_enctype", crate::kdcproto::etype_name(e.session))
                    .evidence("ticket_enctype", e.ticket.map(crate::kdcproto::etype_name))
                    .evidence("forwardable", e.forwardable);
            }
            if let Credential::Cache(c) = credential {
                f = f.evidence("ccache", c.clone());
            }
            f
        }
        Err(e) => {
            let status = ntstatus(&e);
            let evidence = |f: Finding| {
                let f = match &e.kdc_error {
                    Some(k) => f.evidence("kdc_error_code", k.error_code).evidence(
                        "ntstatus",
                        status.map(|s| {
                            json!({"code": format!("0x{s:08X}"), "name": crate::kdcproto::ntstatus_name(s)})
                        }),
                    ),
                    None => f,
                };
                f.evidence("gss_call", e.call)
                    .evidence("major", json!(e.major))
                    .evidence("major_text", e.major_text.clone())
                    .evidence("minor", json!(e.minor))
                    .evidence("minor_text", e.minor_text.clone())
                    .evidence("credential", credential.kind())
            };
            if let (Credential::Cache(c), Some(h)) = (credential, holder) {
                if !principal.is_empty() && h != principal {
                    let f = Finding::new(
                        ID,
                        codes::KINIT_CCACHE_OTHER_USER,
                        format!("the cache {c} holds a TGT for {h}, not {principal}"),
                    )
                    .evidence("ccache", c.clone())
                    .evidence("cache_principal", h.to_owned());
                    return evidence(f);
                }
            }
            let code = classify(&e, credential);
            let who = if principal.is_empty() {
                "the cache".to_owned()
            } else {
                principal.to_owned()
            };
            let ad = status
                .and_then(crate::kdcproto::ntstatus_name)
                .map(|n| format!(" (Active Directory: {n})"))
                .unwrap_or_default();
            let f = Finding::new(ID, code, format!("no TGT for {who}: {}{ad}", e.message()));
            evidence(f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn fail(minor: i32) -> GssFailure {
        crate::gss::fake_failure(minor, "gss_acquire_cred_with_password")
    }

    #[test]
    fn failures_map_by_code() {
        let pw = Credential::Password(crate::secret::Secret::new("x".into()));
        let cases = [
            (krb5_err::PREAUTH_FAILED, "kinit-password-wrong"),
            (krb5_err::C_PRINCIPAL_UNKNOWN, "kinit-user-unknown"),
            (krb5_err::CLIENT_REVOKED, "kinit-user-disabled"),
            (krb5_err::KEY_EXP, "kinit-password-expired"),
            (krb5_err::SKEW, "kinit-clock-skew"),
            (krb5_err::KDC_UNREACH, "kinit-kdc-unreachable"),
            (krb5_err::REALM_UNKNOWN, "kinit-realm-unknown"),
            (krb5_err::ETYPE_NOSUPP, "kinit-etype"),
            (12345, "kinit-error"),
        ];
        for (minor, code) in cases {
            let f = decide(Err(fail(minor)), &pw, "awx@R", None);
            assert_eq!((f.status, f.code), (Status::Fail, code), "minor {minor}");
            assert_eq!(f.evidence["minor"], json!(minor));
        }
    }

    /// METHOD-DATA with one PA-DATA of type 3 carrying AD's 12-byte extended error (NTSTATUS,
    /// reserved, flags; little-endian), as Samba 4.17 sends it (the real captures are
    /// kdcproto's fixtures).
    fn ad_e_data(status: u32) -> Vec<u8> {
        let mut v = vec![0x30, 0x17, 0x30, 0x15, 0xa1, 0x03, 0x02, 0x01, 0x03];
        v.extend_from_slice(&[0xa2, 0x0e, 0x04, 0x0c]);
        v.extend_from_slice(&status.to_le_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
        v
    }

    #[test]
    fn active_directory_states_split_client_revoked_and_key_expired() {
        let pw = Credential::Password(crate::secret::Secret::new("x".into()));
        let cases = [
            (18, 0xC000_0072, "kinit-account-disabled"),
            (18, 0xC000_0193, "kinit-account-expired"),
            (18, 0xC000_0234, "kinit-account-locked-out"),
            (18, 0xC000_006F, "kinit-logon-hours"),
            (18, 0xC000_0070, "kinit-workstation-restricted"),
            (23, 0xC000_0071, "kinit-password-expired"),
            (23, 0xC000_0224, "kinit-password-must-change"),
            (12, 0xC000_0413, "kinit-auth-policy"),
            // An NTSTATUS with no state of its own keeps the Kerberos code's meaning.
            (18, 0xC000_0022, "kinit-user-disabled"),
        ];
        for (kerberos, status, code) in cases {
            let mut e = fail(if kerberos == 23 {
                krb5_err::KEY_EXP
            } else {
                krb5_err::CLIENT_REVOKED
            });
            e.kdc_error = Some(Box::new(crate::krb5init::KdcError {
                error_code: kerberos,
                text: String::new(),
                e_data: ad_e_data(status),
            }));
            let f = decide(Err(e), &pw, "awx@R", None);
            assert_eq!((f.status, f.code), (Status::Fail, code), "{status:#x}");
            assert_eq!(f.evidence["ntstatus"]["code"], format!("0x{status:08X}"));
            assert_eq!(f.evidence["kdc_error_code"], kerberos);
        }
        // Without e-data (MIT's KDC), the old codes.
        let f = decide(Err(fail(krb5_err::CLIENT_REVOKED)), &pw, "awx@R", None);
        assert_eq!(f.code, "kinit-user-disabled");
        assert!(f.evidence.get("ntstatus").is_none());
    }

    #[test]
    fn keytab_and_cache_failures_name_the_credential() {
        let kt = Credential::Keytab("/etc/krb5.keytab".into());
        let cc = Credential::Cache("FILE:/tmp/cc".into());
        let cases = [
            (&kt, krb5_err::KT_NOTFOUND, "kinit-keytab"),
            // What MIT says is unclassified; the keytab is what was used.
            (&kt, 12345, "kinit-keytab"),
            (&cc, krb5_err::FCC_NOFILE, "kinit-ccache"),
            (&cc, 12345, "kinit-ccache"),
            // A wrong password in a keytab is still a wrong password.
            (&kt, krb5_err::PREAUTH_FAILED, "kinit-password-wrong"),
        ];
        for (credential, minor, code) in cases {
            let f = decide(Err(fail(minor)), credential, "awx@R", None);
            assert_eq!((f.status, f.code), (Status::Fail, code), "minor {minor}");
            assert_eq!(f.evidence["credential"], json!(credential.kind()));
        }
    }

    #[test]
    fn a_tgt_says_whose_and_for_how_long() {
        let pw = Credential::Password(crate::secret::Secret::new("x".into()));
        let facts = TgtFacts {
            principal: "awx@R".into(),
            lifetime_secs: 10 * 3600 - 60,
            enctypes: None,
        };
        let rc4 = TgtFacts {
            enctypes: Some(crate::gss::TgtEnctypes {
                session: 23,
                ticket: Some(18),
                forwardable: false,
            }),
            ..facts.clone()
        };
        let f = decide(Ok(rc4), &pw, "awx@R", None);
        assert_eq!((f.status, f.code), (Status::Warn, "kinit-rc4"));
        assert_eq!(f.evidence["session_enctype"], "rc4-hmac");
        let f = decide(Ok(facts.clone()), &pw, "awx@R", None);
        assert_eq!((f.status, f.code), (Status::Pass, "kinit-ok"));
        assert_eq!(f.summary, "TGT for awx@R (password), valid 9 h 59 min");

        // Delegation wanted: a TGT without the forwardable flag fails; with it, or unknown,
        // or delegation not wanted, the verdict stands.
        let aes = |forwardable| TgtFacts {
            enctypes: Some(crate::gss::TgtEnctypes {
                session: 18,
                ticket: Some(18),
                forwardable,
            }),
            ..facts.clone()
        };
        let verdict =
            |t: TgtFacts, wanted| forwardable_verdict(decide(Ok(t), &pw, "awx@R", None), wanted);
        let f = verdict(aes(false), true);
        assert_eq!((f.status, f.code), (Status::Fail, "kinit-not-forwardable"));
        assert_eq!(f.evidence["forwardable"], false);
        assert_eq!(verdict(aes(true), true).code, "kinit-ok");
        assert_eq!(verdict(aes(false), false).code, "kinit-ok");
        assert_eq!(verdict(facts.clone(), true).code, "kinit-ok");
    }

    #[test]
    fn a_cache_of_another_principal_fails_like_pywinrm() {
        let cc = Credential::Cache("FILE:/tmp/cc".into());
        let f = decide(
            Err(fail(krb5_err::CC_NOTFOUND)),
            &cc,
            "awx@R",
            Some("other@R"),
        );
        assert_eq!(
            (f.status, f.code),
            (Status::Fail, "kinit-ccache-other-user")
        );
        assert!(f.summary.contains("other@R"));
        let f = decide(Err(fail(krb5_err::CC_NOTFOUND)), &cc, "awx@R", None);
        assert_eq!(f.code, "kinit-ccache");
    }
}
