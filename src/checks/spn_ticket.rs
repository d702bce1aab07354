//! Check 8, `spn-ticket` (per target): a service ticket for `HTTP/<host>` through
//! gss_init_sec_context with the hostbased name `HTTP@<host>`, exactly as pywinrm asks.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::checks::edges::Gss;
use crate::codes::{self, Code};
use crate::gss::{GssFailure, ServiceTicket, krb5_err};
use crate::report::Finding;
use crate::settings::Target;

/// rc4-hmac (RFC 4757), the enctype AES-only domain controllers refuse.
const RC4_HMAC: i32 = 23;

/// Check id.
pub const ID: &str = "spn-ticket";

/// Maps a failure to a code by MIT's minor status.
pub fn classify(f: &GssFailure) -> Code {
    match f.minor {
        krb5_err::S_PRINCIPAL_UNKNOWN => codes::SPN_UNKNOWN,
        krb5_err::SKEW => codes::SPN_CLOCK_SKEW,
        krb5_err::ETYPE_NOSUPP => codes::SPN_ETYPE,
        krb5_err::KDC_UNREACH | krb5_err::REALM_CANT_RESOLVE => codes::SPN_KDC_UNREACHABLE,
        krb5_err::REALM_UNKNOWN | krb5_err::WRONG_REALM => codes::SPN_REALM,
        _ => codes::SPN_ERROR,
    }
}

/// Runs the check for one target through `gss`. The name given to GSSAPI is `service@spn_host`, as pywinrm
/// builds it; `expected_spn_host` is what dns-target predicted MIT will use.
pub async fn run<G: Gss>(
    gss: &G,
    t: &Target,
    tgt: Option<G::Tgt>,
    blocked: Option<String>,
    expected_spn_host: Option<String>,
    deadline: Duration,
) -> Finding {
    let started = Instant::now();
    let target = t.name.as_str();
    let tgt = match (tgt, blocked) {
        (_, Some(why)) => {
            return Finding::skip(ID, codes::SPN_TICKET_SKIPPED, why)
                .target(target)
                .took(started.elapsed());
        }
        (None, None) => {
            return Finding::skip(ID, codes::SPN_TICKET_SKIPPED, "no TGT (see kinit)")
                .target(target)
                .took(started.elapsed());
        }
        (Some(t), None) => t,
    };
    let (service, host) = (t.service.clone(), t.spn_host.clone());
    // psrp on its default service: when WSMAN/ is unknown, ask for host/ too, which is
    // what ansible-core 2.21 asks for and what every AD computer account has.
    let other = (t.psrp.is_some()
        && t.service_origin.starts_with("default")
        && t.service == crate::settings::PSRP_SERVICE_BEFORE_2_21)
        .then_some(crate::settings::PSRP_SERVICE_FROM_2_21);
    let gss = gss.clone();
    let delegates = t.delegates();
    let job = tokio::task::spawn_blocking(move || {
        let first = gss.service_ticket(&tgt, &service, &host);
        let second = match (&first, other) {
            (Err(e), Some(o)) if classify(e) == codes::SPN_UNKNOWN => {
                Some(gss.service_ticket(&tgt, o, &host))
            }
            _ => None,
        };
        // Only for a connection that delegates: it may cost a forwarded-TGT request.
        let delegation = match (&first, delegates) {
            (Ok(_), true) => Some(gss.delegation(&tgt, &service, &host)),
            _ => None,
        };
        ((first, second), delegation)
    });
    let result = match tokio::time::timeout(deadline, job).await {
        Err(_) => {
            return Finding::new(
                ID,
                codes::SPN_KDC_UNREACHABLE,
                format!("no service ticket within {} s", deadline.as_secs()),
            )
            .target(target)
            .took(started.elapsed());
        }
        Ok(Err(join)) => {
            return Finding::new(
                ID,
                codes::PROBE_ERROR,
                format!("GSSAPI task failed: {join}"),
            )
            .target(target)
            .took(started.elapsed());
        }
        Ok(Ok(((_, Some(Ok(works))), _))) => {
            let spn = works
                .spn
                .clone()
                .unwrap_or_else(|| format!("host/{}", t.spn_host));
            return Finding::new(
                ID,
                codes::SPN_PSRP_SERVICE_MISSING,
                format!(
                    "{}/{} is not in the KDC ({}), but {spn} is: the psrp connection asks for {} unless ansible_psrp_negotiate_service says otherwise",
                    t.service, t.spn_host, t.service_origin, t.service
                ),
            )
            .hint(format!(
                "Set ansible_psrp_negotiate_service: host for this host (ansible-core 2.21's default), or register the SPN: setspn -S {}/{} <COMPUTER>.",
                t.service, t.spn_host
            ))
            .evidence("gss_target_name", format!("{}@{}", t.service, t.spn_host))
            .evidence("works_with", spn)
            .target(target)
            .took(started.elapsed());
        }
        Ok(Ok(((r, _), delegation))) => (r, delegation),
    };
    let (result, delegation) = result;
    let f = decide(
        &t.service,
        &t.spn_host,
        result,
        expected_spn_host.as_deref(),
    );
    delegation_verdict(f, delegation)
        .target(target)
        .took(started.elapsed())
}

/// For a delegating connection: the ticket's ok-as-delegate flag and whether MIT would
/// forward the TGT at all. MIT forwards to a host that is not ok-as-delegate unless krb5.conf
/// sets enforce_ok_as_delegate, so "not delegated, not ok-as-delegate, forwardable TGT" means
/// the policy refused. A TGT that is not forwardable is kinit's finding.
pub fn delegation_verdict(
    f: Finding,
    delegation: Option<Result<crate::gss::Delegation, GssFailure>>,
) -> Finding {
    let Some(d) = delegation else {
        return f;
    };
    let d = match d {
        Ok(d) => d,
        Err(e) => return f.evidence("delegation_error", e.message()),
    };
    let f = f
        .evidence("delegated", d.delegated)
        .evidence("ok_as_delegate", d.ok_as_delegate);
    if f.status == crate::report::Status::Fail
        || d.delegated
        || d.ok_as_delegate
        || d.tgt_forwardable != Some(true)
    {
        return f;
    }
    let evidence = f.evidence.clone();
    Finding::new(
        ID,
        codes::SPN_NOT_OK_AS_DELEGATE,
        format!(
            "{}; not ok-as-delegate, and krb5.conf enforces it: MIT forwards no TGT to this host",
            f.summary
        ),
    )
    .evidence_map(evidence)
}

/// The decision, table-testable.
pub fn decide(
    service: &str,
    target: &str,
    result: Result<ServiceTicket, GssFailure>,
    expected_spn_host: Option<&str>,
) -> Finding {
    let asked = format!("{service}@{target}");
    let predicted = expected_spn_host.map(|h| format!("{service}/{h}"));
    match result {
        Ok(t) => {
            let name = t
                .spn
                .clone()
                .unwrap_or_else(|| format!("{service}/{target}"));
            // An RC4 ticket works today and breaks on the first AES-only DC: say it now.
            let (code, summary) = match t.ticket_etype {
                Some(RC4_HMAC) => (
                    codes::SPN_RC4,
                    format!(
                        "service ticket for {name} is RC4 (rc4-hmac): the host has no AES key in use"
                    ),
                ),
                _ => (codes::SPN_TICKET_OK, format!("service ticket for {name}")),
            };
            Finding::new(ID, code, summary)
                .evidence("gss_target_name", asked)
                .evidence("spn", t.spn)
                .evidence("ticket_etype", t.ticket_etype)
                .evidence(
                    "ticket_enctype",
                    t.ticket_etype.map(crate::kdcproto::etype_name),
                )
                .evidence("token_bytes", t.token_bytes)
        }
        Err(e) => {
            let code = classify(&e);
            let spn = predicted
                .clone()
                .unwrap_or_else(|| format!("{service}/{target}"));
            let what = e.message();
            // MIT's extended message often names the principal already.
            let summary = if what.contains(&spn) {
                what
            } else {
                format!("{spn}: {what}")
            };
            let mut f = Finding::new(ID, code, summary);
            if code == codes::SPN_UNKNOWN {
                let host = spn.split_once('/').map(|(_, h)| h).unwrap_or(spn.as_str());
                let short = host.split('.').next().unwrap_or(host).to_ascii_uppercase();
                let mut hint = format!(
                    "Register the SPN on the host's computer account: setspn -S {spn} {short} (check with setspn -L {short})."
                );
                if !host.eq_ignore_ascii_case(target) {
                    hint.push_str(&format!(
                        " MIT asked for {spn} although the target is {target}: reverse DNS or a CNAME changed the name; set rdns = false (and dns_canonicalize_hostname = false) in krb5.conf, or fix DNS."
                    ));
                }
                f = f.hint(hint);
            }
            f.evidence("gss_target_name", asked)
                .evidence("spn_requested", spn)
                .evidence("gss_call", e.call)
                .evidence("major", json!(e.major))
                .evidence("major_text", e.major_text)
                .evidence("minor", json!(e.minor))
                .evidence("minor_text", e.minor_text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn fail(minor: i32) -> GssFailure {
        crate::gss::fake_failure(minor, "gss_init_sec_context")
    }

    #[test]
    fn failures_map_by_code() {
        for (minor, code) in [
            (krb5_err::S_PRINCIPAL_UNKNOWN, "spn-unknown"),
            (krb5_err::SKEW, "spn-clock-skew"),
            (krb5_err::ETYPE_NOSUPP, "spn-etype"),
            (krb5_err::KDC_UNREACH, "spn-kdc-unreachable"),
            (krb5_err::REALM_CANT_RESOLVE, "spn-kdc-unreachable"),
            (krb5_err::WRONG_REALM, "spn-realm"),
            (krb5_err::REALM_UNKNOWN, "spn-realm"),
            (1, "spn-error"),
        ] {
            let f = decide("HTTP", "h.example", Err(fail(minor)), Some("h.example"));
            assert_eq!((f.status, f.code), (Status::Fail, code));
        }
    }

    #[test]
    fn an_rc4_service_ticket_is_a_warning_that_names_the_cause() {
        let t = ServiceTicket {
            spn: Some("HTTP/h.example@EXAMPLE.COM".into()),
            ticket_etype: Some(23),
            token_bytes: 1400,
        };
        let f = decide("HTTP", "h.example", Ok(t), Some("h.example"));
        assert_eq!((f.status, f.code), (Status::Warn, "spn-rc4"));
        assert_eq!(f.evidence["ticket_enctype"], "rc4-hmac");
        assert!(
            f.hint
                .as_deref()
                .unwrap_or(codes::SPN_RC4.hint.unwrap())
                .contains("msDS-SupportedEncryptionTypes")
        );
    }

    #[test]
    fn a_ticket_names_its_spn() {
        let t = ServiceTicket {
            spn: Some("HTTP/h.example@EXAMPLE.COM".into()),
            ticket_etype: Some(18),
            token_bytes: 1500,
        };
        let f = decide("HTTP", "h.example", Ok(t), Some("h.example"));
        assert_eq!((f.status, f.code), (Status::Pass, "spn-ticket-ok"));
        assert_eq!(f.summary, "service ticket for HTTP/h.example@EXAMPLE.COM");
        assert_eq!(f.evidence["gss_target_name"], "HTTP@h.example");
        assert_eq!(f.evidence["ticket_etype"], 18);
    }

    #[test]
    fn spn_unknown_hint_names_setspn_and_the_rdns_twist() {
        let f = decide(
            "HTTP",
            "kuro-win05.kurokobo.internal",
            Err(fail(krb5_err::S_PRINCIPAL_UNKNOWN)),
            Some("kuro-web05.kurokobo.internal"),
        );
        let hint = f.hint.unwrap();
        assert!(
            hint.contains("setspn -S HTTP/kuro-web05.kurokobo.internal KURO-WEB05"),
            "{hint}"
        );
        assert!(hint.contains("rdns = false"), "{hint}");
    }
}
