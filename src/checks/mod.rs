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
pub mod edges;
pub mod ee_runtime;
pub mod enctypes;
pub mod kdc_reach;
pub mod kinit;
pub mod krb5_conf;
pub mod principal;
pub mod spn_ticket;
pub mod winrm_auth;
pub mod winrm_http;

#[cfg(test)]
mod fakes;
#[cfg(test)]
mod run_tests;

use futures::FutureExt;
use std::future::Future;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::codes::{self, Code};

pub use crate::checks::edges::Io;
use crate::checks::edges::{Gss, KdcTransport, Resolver, WinRm};
use crate::gss;
use crate::report::{Finding, Status};
use crate::settings::Settings;

/// The reason later checks are skipped: the first failed finding among `prereqs`.
fn blocked_by(prereqs: &[&Finding]) -> Option<String> {
    prereqs
        .iter()
        .find(|f| f.status == Status::Fail)
        .map(|f| format!("skipped: {} failed ({})", f.id, f.code))
}

/// The run's bounds on concurrency (`--jobs`). What they do not bound matters as much: DNS,
/// TCP connects and winrm-http's requests are never queued, so a dead host costs its own
/// timeout and nothing else.
pub struct Slots {
    /// MIT's calls (kinit, service tickets, starting a security context) block a thread
    /// each: at most this many at once. Held only for the call itself.
    pub gss: Semaphore,
    /// Authenticated WinRM sessions (winrm-auth) open at once. Only hosts that answered
    /// winrm-http get one; a host that stalls holds a session slot, never a GSS slot, so it
    /// cannot hold up other targets' tickets. Unbounded, a thousand sessions against hosts
    /// that each serve a few at a time only add memory and contention (bench/run measured it:
    /// twice the peak RSS and 10% slower at N = 1000).
    pub sessions: Semaphore,
}

impl Slots {
    /// `jobs` of each.
    pub fn new(jobs: usize) -> Slots {
        Slots {
            gss: Semaphore::new(jobs),
            sessions: Semaphore::new(jobs),
        }
    }
}

/// How far a run is: targets whose last check is done, for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    /// Targets finished.
    pub done: AtomicUsize,
}

/// The text of a panic payload (a `&str` or `String` message, else a placeholder).
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Runs a chain of checks under the run's deadline and a panic net. When the chain cannot
/// finish, `owed` builds the findings it owes from the code and a summary, so the report
/// still has every check, in order, and says what happened.
async fn guarded<T>(
    deadline: Instant,
    fut: impl Future<Output = T>,
    owed: impl FnOnce(Code, String) -> T,
) -> T {
    match tokio::time::timeout_at(deadline, AssertUnwindSafe(fut).catch_unwind()).await {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => owed(
            codes::PROBE_ERROR,
            format!("internal error: {}", panic_text(p.as_ref())),
        ),
        Err(_) => owed(
            codes::PROBE_DEADLINE,
            "not finished when the run's deadline (--deadline) passed".into(),
        ),
    }
}

/// The same for a synchronous check.
fn guarded_sync<T>(f: impl FnOnce() -> T, owed: impl FnOnce(Code, String) -> T) -> T {
    std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        owed(
            codes::PROBE_ERROR,
            format!("internal error: {}", panic_text(p.as_ref())),
        )
    })
}

fn owed(id: &'static str, target: Option<&str>, code: Code, summary: &str) -> Finding {
    let f = Finding::new(id, code, summary.to_owned());
    match target {
        Some(t) => f.target(t.to_owned()),
        None => f,
    }
}

/// Runs every check through the I/O edges `io` and returns the findings in report order.
pub async fn run<D, K, G, W>(
    settings: &Settings,
    io: &Io<D, K, G, W>,
    progress: &Progress,
) -> Vec<Finding>
where
    D: Resolver,
    K: KdcTransport,
    G: Gss,
    W: WinRm<Tgt = G::Tgt>,
{
    let deadline = Instant::now() + settings.deadline;
    let slots = Slots::new(settings.jobs);
    let user = settings.user.as_deref();
    let spn_hosts: Vec<String> = settings
        .targets
        .iter()
        .map(|t| t.spn_host.clone())
        .collect();
    let (conf_finding, conf) = guarded_sync(
        || krb5_conf::run(&settings.krb5_conf, user, &spn_hosts),
        |c, s| (owed(krb5_conf::ID, None, c, &s), None),
    );
    let (principal_finding, principal) = guarded_sync(
        || principal::run(user, conf.as_ref()),
        |c, s| (owed(principal::ID, None, c, &s), None),
    );
    let realm = principal
        .as_ref()
        .map(|p| p.realm.clone())
        .or_else(|| conf.as_ref().and_then(|c| c.default_realm.clone()));
    let dns_ref = io.dns.as_ref().map_err(String::as_str);
    let policy = dns_target::Policy::from_conf(conf.as_ref());
    let timeout = settings.timeout;

    let kdc_chain = guarded(
        deadline,
        async {
            let (dns_kdc_finding, endpoints) =
                dns_kdc::run(dns_ref, realm.as_deref(), conf.as_ref()).await;
            let kdc_finding = kdc_reach::run(
                &io.kdc,
                io.now,
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
                &io.gss,
                &settings.credential,
                full.as_deref(),
                blocked,
                // One TGT serves every target: forwardable when one of them delegates, as that
                // host's connection would ask (winrm: kinit -f; psrp: pyspnego).
                settings.targets.iter().any(|t| t.delegates()),
                gss::call_deadline(timeout),
            )
            .await;
            (dns_kdc_finding, kdc_finding, kinit_finding, tgt)
        },
        |c, s| {
            (
                owed(dns_kdc::ID, None, c, &s),
                owed(kdc_reach::ID, None, c, &s),
                owed(kinit::ID, None, c, &s),
                None,
            )
        },
    );
    let target_chains = futures::future::join_all(settings.targets.iter().map(|t| {
        let chain = async move {
            let (dns_finding, facts) = dns_target::run(dns_ref, t, policy).await;
            let addr = facts
                .as_ref()
                .and_then(|f| f.addrs.first().copied())
                .or_else(|| t.host.parse::<IpAddr>().ok());
            let http_finding = winrm_http::run(
                &io.winrm,
                &t.host,
                addr,
                t.port,
                t.scheme,
                settings.insecure,
                t.env_proxy(&settings.proxy),
                timeout,
            )
            .await
            .target(t.name.clone());
            (dns_finding, facts, http_finding)
        };
        guarded(deadline, chain, |c, s| {
            (
                owed(dns_target::ID, Some(&t.name), c, &s),
                None,
                owed(winrm_http::ID, Some(&t.name), c, &s),
            )
        })
    }));
    let ee_check = async {
        if settings.ee.enabled {
            Some(
                guarded(deadline, ee_runtime::run(settings), |c, s| {
                    owed(ee_runtime::ID, None, c, &s)
                })
                .await,
            )
        } else {
            None
        }
    };
    let ((dns_kdc_finding, kdc_finding, kinit_finding, tgt), per_target, ee_finding) =
        tokio::join!(kdc_chain, target_chains, ee_check);

    let gss_limit = gss::call_deadline(timeout);
    let slots = &slots;
    let tail = futures::future::join_all(settings.targets.iter().zip(&per_target).enumerate().map(
        |(i, (t, (dns_finding, facts, http_finding)))| {
            // Each target gets its own cache for its service ticket (see Tgt::for_target); if
            // that fails, sharing the TGT still works, only slower at scale.
            let tgt = tgt
                .as_ref()
                .map(|g| io.gss.for_target(g, i).unwrap_or_else(|_| g.clone()));
            let chain = async move {
                let blocked = match facts {
                    None => Some(format!(
                        "skipped: {} failed ({})",
                        dns_finding.id, dns_finding.code
                    )),
                    Some(_) => None,
                };
                let spn_host = facts.as_ref().map(|f| f.spn_host.clone());
                // The slot covers MIT's blocking call only: winrm-auth's network exchange
                // below must not keep another target's ticket request waiting.
                let spn = {
                    let _slot = slots.gss.acquire().await;
                    spn_ticket::run(&io.gss, t, tgt.clone(), blocked, spn_host, gss_limit).await
                };
                let addr = facts.as_ref().and_then(|f| f.addrs.first().copied());
                // A host not trusted for delegation has its ticket and still authenticates:
                // only a failed spn-ticket without one blocks the session.
                let no_ticket =
                    spn.status == Status::Fail && spn.code != codes::SPN_NOT_OK_AS_DELEGATE.code;
                let auth_blocked = if no_ticket {
                    blocked_by(&[http_finding, &spn])
                } else {
                    blocked_by(&[http_finding])
                };
                let negotiate = t.psrp.as_ref().is_some_and(|p| p.auth == "negotiate");
                let auth = if negotiate && no_ticket && http_finding.status != Status::Fail {
                    winrm_auth::ntlm_fallback(t, &spn)
                } else {
                    winrm_auth::run(
                        &io.winrm,
                        t,
                        addr,
                        tgt,
                        auth_blocked,
                        settings.open_shell,
                        timeout,
                        slots,
                    )
                    .await
                };
                (spn, auth)
            };
            async move {
                let out = guarded(deadline, chain, |c, s| {
                    (
                        owed(spn_ticket::ID, Some(&t.name), c, &s),
                        owed(winrm_auth::ID, Some(&t.name), c, &s),
                    )
                })
                .await;
                progress.done.fetch_add(1, Ordering::Relaxed);
                out
            }
        },
    ))
    .await;

    let mut out: Vec<Finding> = ee_finding.into_iter().collect();
    out.extend([conf_finding, principal_finding]);
    if settings.ansible.active {
        out.extend(settings.targets.iter().map(|t| {
            guarded_sync(
                || ansible_connection::run(t, user, &settings.ansible),
                |c, s| owed(ansible_connection::ID, Some(&t.name), c, &s),
            )
        }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn owed_one(c: Code, s: String) -> Finding {
        owed("kinit", Some("t"), c, &s)
    }

    #[tokio::test]
    async fn a_panicking_check_becomes_probe_error() {
        let f = guarded(
            Instant::now() + Duration::from_secs(5),
            async {
                if true {
                    panic!("decoder blew up");
                }
                owed_one(codes::KINIT_OK, String::new())
            },
            owed_one,
        )
        .await;
        assert_eq!(
            (f.code, f.status),
            ("probe-error", crate::report::Status::Fail)
        );
        assert!(f.summary.contains("decoder blew up"), "{}", f.summary);
        assert_eq!(f.target.as_deref(), Some("t"));
        let f = guarded_sync(
            || -> Finding { panic!("{}", String::from("owned")) },
            owed_one,
        );
        assert!(f.summary.contains("owned"));
    }

    #[tokio::test]
    async fn the_run_deadline_stops_a_hung_check() {
        let started = std::time::Instant::now();
        let f = guarded(
            Instant::now() + Duration::from_millis(50),
            futures::future::pending::<Finding>(),
            owed_one,
        )
        .await;
        assert_eq!(f.code, "probe-deadline");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
