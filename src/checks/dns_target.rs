//! Check 4, `dns-target` (per target): forward lookup, reverse lookup of each address, and the
//! host name MIT will put into the service principal after canonicalization.
//!
//! MIT 1.20's `krb5_sname_to_principal` with `dns_canonicalize_hostname = true` (the default)
//! replaces the host with getaddrinfo's canonical name (after CNAMEs) and, when `rdns` is not
//! false, with the PTR name of the first address. A PTR naming another host therefore changes
//! the SPN the client asks for; that is the classic "Server not found in Kerberos database".

use std::net::IpAddr;
use std::time::Instant;

use serde_json::json;

use crate::checks::edges::Resolver;
use crate::checks::krb5_conf::{Canonicalize, Conf};
use crate::codes;
use crate::dns::{Answer, DnsFailure};
use crate::report::Finding;
use crate::settings::Target;

/// Check id.
pub const ID: &str = "dns-target";

/// What later checks need about a target.
#[derive(Debug, Clone)]
pub struct TargetFacts {
    /// Addresses to connect to.
    pub addrs: Vec<IpAddr>,
    /// The host part of the SPN MIT will request.
    pub spn_host: String,
}

/// Name-resolution settings from krb5.conf (MIT defaults when it is unusable).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// `rdns`.
    pub rdns: bool,
    /// `dns_canonicalize_hostname`.
    pub canonicalize: Canonicalize,
}

impl Policy {
    /// The policy in `conf`, or MIT's defaults.
    pub fn from_conf(conf: Option<&Conf>) -> Policy {
        match conf {
            Some(c) => Policy {
                rdns: c.rdns,
                canonicalize: c.canonicalize,
            },
            None => Policy {
                rdns: true,
                canonicalize: Canonicalize::True,
            },
        }
    }
}

/// Observations about one target.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The target as given.
    pub target: String,
    /// Forward lookup (not done for IP targets).
    pub forward: Option<Result<Answer, DnsFailure>>,
    /// Reverse lookups, per address.
    pub reverse: Vec<(IpAddr, Result<Vec<String>, DnsFailure>)>,
    /// The SPN's service class (`HTTP` for winrm, psrp's `WSMAN` or `host`).
    pub service: String,
}

/// Runs the check for one target: the SPN host decides the service principal; when WinRM is
/// reached at another address (`ansible_host` with a hostname override), that address is
/// resolved for the connection.
pub async fn run(
    dns: Result<&impl Resolver, &str>,
    t: &Target,
    policy: Policy,
) -> (Finding, Option<TargetFacts>) {
    let started = Instant::now();
    let dns = match dns {
        Ok(d) => d,
        Err(e) => {
            return (
                Finding::new(ID, codes::DNS_RESOLV_CONF, format!("no resolver: {e}"))
                    .target(t.name.clone())
                    .took(started.elapsed()),
                None,
            );
        }
    };
    let mut obs = observe(dns, &t.spn_host).await;
    obs.service = t.service.clone();
    let (mut f, mut facts) = decide(&obs, policy);
    if f.code == codes::DNS_TARGET_IP.code {
        if let Some(hint) = ip_hint(t) {
            f = f.hint(hint);
        }
    }
    if !same_host(&t.host, &t.spn_host) {
        // WinRM is reached at ansible_host; only the SPN comes from the override.
        let connect = match t.host.parse::<IpAddr>() {
            Ok(ip) => Ok(vec![ip]),
            Err(_) => dns.lookup_ip(&t.host).await.map(|a| a.addrs),
        };
        match connect {
            Ok(addrs) => {
                f = f
                    .evidence("connect_host", t.host.clone())
                    .evidence("connect_addresses", json!(addrs));
                if let Some(facts) = facts.as_mut() {
                    facts.addrs = addrs;
                }
            }
            Err(e) => {
                let code = match e {
                    DnsFailure::NotFound => codes::DNS_TARGET_NXDOMAIN,
                    _ => codes::DNS_TARGET_FAILED,
                };
                f = Finding::new(
                    ID,
                    code,
                    format!("ansible_host {}: {}", t.host, e.describe()),
                )
                .evidence("spn_host", t.spn_host.clone());
                facts = None;
            }
        }
    }
    (
        f.target(t.name.clone())
            .evidence("resolver", json!(dns.info()))
            .took(started.elapsed()),
        facts,
    )
}

async fn observe(dns: &impl Resolver, target: &str) -> Observed {
    let (forward, addrs) = match target.parse::<IpAddr>() {
        Ok(ip) => (None, vec![ip]),
        Err(_) => {
            let a = dns.lookup_ip(target).await;
            let addrs = a.as_ref().map(|a| a.addrs.clone()).unwrap_or_default();
            (Some(a), addrs)
        }
    };
    let reverse = futures::future::join_all(
        addrs
            .iter()
            .map(|ip| async move { (*ip, dns.reverse(*ip).await) }),
    )
    .await;
    Observed {
        target: target.to_owned(),
        forward,
        reverse,
        service: "HTTP".into(),
    }
}

/// The usual way an IP ends up in the SPN: `ansible_host` holds the address while the
/// inventory name is the FQDN. Say so, naming the override that fixes it.
fn ip_hint(t: &Target) -> Option<String> {
    let named = t.name != t.host && t.name.parse::<IpAddr>().is_err() && t.name.contains('.');
    named.then(|| {
        format!(
            "ansible_host is the address {}, so pywinrm asks for {}@{} and AD has no such SPN. \
             Keep the address and set ansible_winrm_kerberos_hostname_override: {} (the \
             inventory name), or set ansible_host to the FQDN.",
            t.host, t.service, t.spn_host, t.name
        )
    })
}

fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The decision, table-testable.
pub fn decide(obs: &Observed, policy: Policy) -> (Finding, Option<TargetFacts>) {
    let target = obs.target.as_str();
    let reverse_evidence: Vec<_> = obs
        .reverse
        .iter()
        .map(|(ip, r)| match r {
            Ok(names) => json!({"address": ip, "ptr": names}),
            Err(e) => json!({"address": ip, "ptr": null, "error": e.describe()}),
        })
        .collect();
    let first_ptr = obs
        .reverse
        .first()
        .and_then(|(_, r)| r.as_ref().ok())
        .and_then(|n| n.first())
        .cloned();
    let Some(forward) = &obs.forward else {
        // An IP address: Kerberos has no name to build HTTP/<host> from.
        let suggestion = first_ptr
            .as_deref()
            .map(|p| format!("Use the host's FQDN (its PTR record says {p}) as ansible_host."))
            .unwrap_or_else(|| {
                "Use the host's FQDN as ansible_host (or ansible_winrm_kerberos_hostname_override)."
                    .into()
            });
        let mit_spn = match (policy.canonicalize, policy.rdns, &first_ptr) {
            (Canonicalize::False, _, _) | (_, false, _) | (_, _, None) => {
                format!("{}/{target}", obs.service)
            }
            (_, true, Some(p)) => format!("{}/{p}", obs.service),
        };
        return (
            Finding::new(
                ID,
                codes::DNS_TARGET_IP,
                format!("{target} is an IP address; Kerberos needs the host name for HTTP/<fqdn>"),
            )
            .hint(suggestion)
            .evidence("reverse", reverse_evidence)
            .evidence("spn_mit_would_request", mit_spn),
            None,
        );
    };
    let answer = match forward {
        Ok(a) => a,
        Err(e) => {
            let code = match e {
                DnsFailure::NotFound => codes::DNS_TARGET_NXDOMAIN,
                _ => codes::DNS_TARGET_FAILED,
            };
            return (
                Finding::new(ID, code, format!("{target}: {}", e.describe())),
                None,
            );
        }
    };
    let addrs = answer.addrs.clone();
    // The owner of the address records: the canonical name after any CNAMEs.
    let canonical = answer.name.as_str();
    let canonicalizing = policy.canonicalize != Canonicalize::False;
    // What MIT puts into the SPN.
    let spn_host = if !canonicalizing {
        target.to_ascii_lowercase()
    } else if let (true, Some(p)) = (policy.rdns, &first_ptr) {
        p.to_ascii_lowercase()
    } else {
        canonical.to_ascii_lowercase()
    };
    let facts = TargetFacts {
        addrs: addrs.clone(),
        spn_host: spn_host.clone(),
    };
    let base = |f: Finding| {
        f.evidence("addresses", json!(addrs))
            .evidence("answered_name", answer.name.clone())
            .evidence(
                "cnames",
                if answer.cnames.is_empty() {
                    json!(null)
                } else {
                    json!(answer.cnames)
                },
            )
            .evidence("reverse", reverse_evidence.clone())
            .evidence("rdns", policy.rdns)
            .evidence(
                "spn_mit_will_request",
                format!("{}/{spn_host}", obs.service),
            )
    };
    if canonicalizing && policy.rdns {
        if let Some(p) = &first_ptr {
            if !same_host(p, canonical) {
                let finding = Finding::new(
                    ID,
                    codes::DNS_TARGET_PTR_MISMATCH,
                    format!(
                        "PTR of {} names {p}, not {target}; with rdns on, MIT will ask for {}/{spn_host}",
                        obs.reverse[0].0, obs.service
                    ),
                );
                return (base(finding), Some(facts));
            }
        }
    }
    if canonicalizing && !answer.cnames.is_empty() && !same_host(canonical, target) {
        let finding = Finding::new(
            ID,
            codes::DNS_TARGET_CNAME,
            format!(
                "{target} is an alias of {canonical}; MIT will ask for {}/{spn_host}",
                obs.service
            ),
        );
        return (base(finding), Some(facts));
    }
    if !target.contains('.') {
        let finding = Finding::new(
            ID,
            codes::DNS_TARGET_SHORT_NAME,
            format!("{target} is a short name (resolved as {})", answer.name),
        )
        .hint(format!(
            "Use the FQDN in the inventory: ansible_host: {}",
            answer.name
        ));
        return (base(finding), Some(facts));
    }
    let list = addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let ptr_note = match (&first_ptr, policy.rdns) {
        (Some(p), true) => format!("PTR {p}"),
        (Some(p), false) if !same_host(p, canonical) => {
            format!("PTR {p} differs but rdns = false")
        }
        (Some(p), false) => format!("PTR {p}"),
        (None, _) => "no PTR".into(),
    };
    (
        base(Finding::new(
            ID,
            codes::DNS_TARGET_OK,
            format!(
                "{target} -> {list} ({ptr_note}); SPN {}/{spn_host}",
                obs.service
            ),
        )),
        Some(facts),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn obs(target: &str, fwd: Option<Result<Answer, DnsFailure>>, ptr: Option<&str>) -> Observed {
        let ip: IpAddr = "127.0.0.24".parse().unwrap();
        Observed {
            target: target.into(),
            forward: fwd,
            reverse: vec![(
                ip,
                ptr.map(|p| vec![p.to_string()]).ok_or(DnsFailure::NotFound),
            )],
            service: "HTTP".into(),
        }
    }

    fn answer(name: &str, cnames: &[&str]) -> Option<Result<Answer, DnsFailure>> {
        Some(Ok(Answer {
            name: name.into(),
            cnames: cnames.iter().map(|c| c.to_string()).collect(),
            addrs: vec!["127.0.0.24".parse().unwrap()],
        }))
    }

    const ON: Policy = Policy {
        rdns: true,
        canonicalize: Canonicalize::True,
    };
    const OFF: Policy = Policy {
        rdns: false,
        canonicalize: Canonicalize::True,
    };

    #[test]
    fn decisions() {
        let w5 = "kuro-win05.kurokobo.internal";
        let cases: Vec<(Observed, Policy, Status, &str, Option<&str>)> = vec![
            (
                obs(w5, answer(w5, &[]), Some(w5)),
                ON,
                Status::Pass,
                "dns-target-ok",
                Some(w5),
            ),
            (
                obs(w5, answer(w5, &[]), None),
                ON,
                Status::Pass,
                "dns-target-ok",
                Some(w5),
            ),
            (
                obs(w5, answer(w5, &[]), Some("kuro-web05.kurokobo.internal")),
                ON,
                Status::Fail,
                "dns-target-ptr-mismatch",
                Some("kuro-web05.kurokobo.internal"),
            ),
            (
                obs(w5, answer(w5, &[]), Some("kuro-web05.kurokobo.internal")),
                OFF,
                Status::Pass,
                "dns-target-ok",
                Some(w5),
            ),
            (
                obs(w5, Some(Err(DnsFailure::NotFound)), None),
                ON,
                Status::Fail,
                "dns-target-nxdomain",
                None,
            ),
            (
                obs(w5, Some(Err(DnsFailure::Timeout)), None),
                ON,
                Status::Fail,
                "dns-target-failed",
                None,
            ),
            (
                obs("127.0.0.24", None, Some(w5)),
                ON,
                Status::Fail,
                "dns-target-ip",
                None,
            ),
            (
                obs("kuro-win05", answer(w5, &[]), Some(w5)),
                OFF,
                Status::Warn,
                "dns-target-short-name",
                Some(w5),
            ),
            (
                obs(
                    "alias.kurokobo.internal",
                    answer(w5, &["alias.kurokobo.internal", w5]),
                    None,
                ),
                OFF,
                Status::Warn,
                "dns-target-cname",
                Some(w5),
            ),
        ];
        for (o, policy, status, code, spn) in cases {
            let (f, facts) = decide(&o, policy);
            assert_eq!((f.status, f.code), (status, code), "{o:?}");
            assert_eq!(facts.map(|t| t.spn_host), spn.map(str::to_owned), "{o:?}");
        }
    }

    #[test]
    fn ip_target_names_the_ptr_in_the_hint() {
        let (f, _) = decide(
            &obs("127.0.0.24", None, Some("kuro-win05.kurokobo.internal")),
            OFF,
        );
        assert!(f.hint.unwrap().contains("kuro-win05.kurokobo.internal"));
        assert_eq!(f.evidence["spn_mit_would_request"], "HTTP/127.0.0.24");
    }
}
