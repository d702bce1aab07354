//! The checks and the one place their order is written down.
//!
//! Report order (fixed, whatever finishes first): `ee-runtime` (in an EE, as a module, or when
//! asked), `krb5-conf`, `principal`, `ansible-connection` per target (when Ansible's
//! connection variables are given), `dns-kdc`, `dns-target` per target, `kdc-reach`, `winrm-http` per target, `kinit`, `spn-ticket` per
//! target, `winrm-auth` per target. Execution is concurrent where nothing depends on anything
//! else:
//!
//! ```text
//! krb5-conf -> principal -+-> dns-kdc -> kdc-reach -> kinit ------+-> spn-ticket -> winrm-auth
//!                         +-> dns-target -> winrm-http (per target)+     (per target)
//! ```
//!
//! - ee-runtime looks at the pod, not at Kerberos: it runs alongside everything else and
//!   blocks nothing, since the probe carries its own Kerberos library.
//! - ansible-connection needs the user (its realm decides Ansible's transport) and only
//!   describes; the Kerberos checks run whatever it says, to show what would happen.
//! - principal needs krb5.conf's realms; dns-kdc needs the realm in use.
//! - kdc-reach needs KDC addresses; kinit is skipped when the KDC cannot be reached, because
//!   MIT would only fail the same way after a longer wait.
//! - SPN tickets need a TGT, and a target name (not an IP address) that resolves.
//! - winrm-auth needs the service ticket and a listener that answered like WinRM: without
//!   them it could only fail again for the same reason.

pub mod ansible_connection;
pub mod dns_kdc;
pub mod dns_target;
pub mod ee_runtime;
pub mod kdc_reach;
pub mod kinit;
pub mod krb5_conf;
pub mod principal;
pub mod spn_ticket;
pub mod winrm_auth;
pub mod winrm_http;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::dns::Dns;
use crate::report::{Finding, Status};
use crate::settings::Settings;
use crate::tls::Trust;

/// The reason later checks are skipped: the first failed finding among `prereqs`.
fn blocked_by(prereqs: &[&Finding]) -> Option<String> {
    prereqs
        .iter()
        .find(|f| f.status == Status::Fail)
        .map(|f| format!("skipped: {} failed ({})", f.id, f.code))
}

/// How long a blocking GSSAPI call may take before the probe stops waiting for it. MIT walks
/// each KDC with its own retry timers, so it gets a few network timeouts.
pub(crate) fn gss_deadline(timeout: Duration) -> Duration {
    (timeout * 4).max(Duration::from_secs(5))
}

/// Runs every check and returns the findings in report order.
pub async fn run(settings: &Settings, trust: Arc<Trust>) -> Vec<Finding> {
    let user = settings.user.as_deref();
    let spn_hosts: Vec<String> = settings
        .targets
        .iter()
        .map(|t| t.spn_host.clone())
        .collect();
    let (conf_finding, conf) = krb5_conf::run(&settings.krb5_conf, user, &spn_hosts);
    let (principal_finding, principal) = principal::run(user, conf.as_ref());
    let realm = principal
        .as_ref()
        .map(|p| p.realm.clone())
        .or_else(|| conf.as_ref().and_then(|c| c.default_realm.clone()));
    let dns = Dns::from_system(settings.timeout);
    let dns_ref = dns.as_ref().map_err(String::as_str);
    let policy = dns_target::Policy::from_conf(conf.as_ref());
    let timeout = settings.timeout;

    let kdc_chain = async {
        let (dns_kdc_finding, endpoints) =
            dns_kdc::run(dns_ref, realm.as_deref(), conf.as_ref()).await;
        let kdc_finding = kdc_reach::run(
            realm.as_deref(),
            principal.as_ref().map(|p| p.name.as_str()),
            &endpoints,
            timeout,
        )
        .await;
        let blocked = blocked_by(&[
            &conf_finding,
            &principal_finding,
            &dns_kdc_finding,
            &kdc_finding,
        ]);
        let full = principal.as_ref().map(principal::Principal::full);
        let (kinit_finding, tgt) = kinit::run(
            &settings.credential,
            full.as_deref(),
            blocked,
            gss_deadline(timeout),
        )
        .await;
        (dns_kdc_finding, kdc_finding, kinit_finding, tgt)
    };
    let target_chains = futures::future::join_all(settings.targets.iter().map(|t| {
        let trust = trust.clone();
        async move {
            let (dns_finding, facts) = dns_target::run(dns_ref, t, policy).await;
            let addr = facts
                .as_ref()
                .and_then(|f| f.addrs.first().copied())
                .or_else(|| t.host.parse::<IpAddr>().ok());
            let http_finding = winrm_http::run(
                &t.host,
                addr,
                t.port,
                t.scheme,
                &trust,
                &settings.proxy,
                timeout,
            )
            .await
            .target(t.name.clone());
            (dns_finding, facts, http_finding)
        }
    }));
    let ee_check = async {
        if settings.ee.enabled {
            Some(ee_runtime::run(settings).await)
        } else {
            None
        }
    };
    let ((dns_kdc_finding, kdc_finding, kinit_finding, tgt), per_target, ee_finding) =
        tokio::join!(kdc_chain, target_chains, ee_check);

    let deadline = gss_deadline(timeout);
    let tail = futures::future::join_all(settings.targets.iter().zip(&per_target).map(
        |(t, (dns_finding, facts, http_finding))| {
            let trust = trust.clone();
            let tgt = tgt.clone();
            async move {
                let blocked = match facts {
                    None => Some(format!(
                        "skipped: {} failed ({})",
                        dns_finding.id, dns_finding.code
                    )),
                    Some(_) => None,
                };
                let spn_host = facts.as_ref().map(|f| f.spn_host.clone());
                let spn = spn_ticket::run(t, tgt.clone(), blocked, spn_host, deadline).await;
                let addr = facts.as_ref().and_then(|f| f.addrs.first().copied());
                let auth_blocked = blocked_by(&[http_finding, &spn]);
                let auth = winrm_auth::run(
                    t,
                    addr,
                    &trust,
                    tgt,
                    auth_blocked,
                    settings.open_shell,
                    timeout,
                )
                .await;
                (spn, auth)
            }
        },
    ))
    .await;

    let mut out: Vec<Finding> = ee_finding.into_iter().collect();
    out.extend([conf_finding, principal_finding]);
    if settings.ansible.active {
        out.extend(
            settings
                .targets
                .iter()
                .map(|t| ansible_connection::run(t, user, &settings.ansible)),
        );
    }
    out.push(dns_kdc_finding);
    out.extend(per_target.iter().map(|(d, _, _)| d.clone()));
    out.push(kdc_finding);
    out.extend(per_target.into_iter().map(|(_, _, h)| h));
    out.push(kinit_finding);
    let (spn_findings, auth_findings): (Vec<_>, Vec<_>) = tail.into_iter().unzip();
    out.extend(spn_findings);
    out.extend(auth_findings);
    out
}
