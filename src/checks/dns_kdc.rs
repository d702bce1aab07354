//! Check 3, `dns-kdc`: every KDC of the realm resolves as the pod's resolver resolves it, or,
//! when krb5.conf leaves KDCs to DNS, the `_kerberos` SRV records exist.

use std::net::IpAddr;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use crate::checks::edges::Resolver;
use crate::checks::krb5_conf::Conf;
use crate::codes;
use crate::dns::DnsFailure;
use crate::report::Finding;

/// Check id.
pub const ID: &str = "dns-kdc";

/// A KDC to contact, with the addresses its name resolved to.
#[derive(Debug, Clone, Serialize)]
pub struct KdcEndpoint {
    /// Host name (or address) as configured.
    pub host: String,
    /// Port (88 unless configured otherwise).
    pub port: u16,
    /// Resolved addresses; empty when resolution failed.
    pub addrs: Vec<IpAddr>,
    /// `krb5.conf` or `dns-srv`.
    pub source: &'static str,
}

/// One lookup's result, for the decision.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Where the name came from.
    pub endpoint: KdcEndpoint,
    /// The failure, if any.
    pub failure: Option<DnsFailure>,
}

/// Runs the check for `realm`.
pub async fn run(
    dns: Result<&impl Resolver, &str>,
    realm: Option<&str>,
    conf: Option<&Conf>,
) -> (Finding, Vec<KdcEndpoint>) {
    let started = Instant::now();
    let (f, eps) = gather(dns, realm, conf).await;
    (f.took(started.elapsed()), eps)
}

async fn gather(
    dns: Result<&impl Resolver, &str>,
    realm: Option<&str>,
    conf: Option<&Conf>,
) -> (Finding, Vec<KdcEndpoint>) {
    let (Some(realm), Some(conf)) = (realm, conf) else {
        return (
            Finding::skip(
                ID,
                codes::DNS_KDC_SKIPPED,
                "no usable krb5.conf or realm (see krb5-conf and principal)",
            ),
            Vec::new(),
        );
    };
    let dns = match dns {
        Ok(d) => d,
        Err(e) => {
            return (
                Finding::new(ID, codes::DNS_RESOLV_CONF, format!("no resolver: {e}")),
                Vec::new(),
            );
        }
    };
    // Entries MIT rejects are reported by krb5-conf; only usable ones are resolved here.
    let mut configured: Vec<(String, u16, &'static str)> = conf
        .kdcs(realm)
        .into_iter()
        .filter_map(|k| k.host.map(|h| (h, k.port, "krb5.conf")))
        .collect();
    let mut srv_evidence = None;
    if configured.is_empty() {
        if !conf.dns_lookup_kdc {
            return (
                Finding::skip(
                    ID,
                    codes::DNS_KDC_SKIPPED,
                    format!("no kdc for {realm} in krb5.conf and dns_lookup_kdc is false"),
                ),
                Vec::new(),
            );
        }
        let udp_name = format!("_kerberos._udp.{realm}");
        let tcp_name = format!("_kerberos._tcp.{realm}");
        let (udp, tcp) = tokio::join!(dns.srv(&udp_name), dns.srv(&tcp_name));
        srv_evidence = Some(json!({
            udp_name.clone(): match &udp { Ok(v) => json!(v), Err(e) => json!(e.describe()) },
            tcp_name.clone(): match &tcp { Ok(v) => json!(v), Err(e) => json!(e.describe()) },
        }));
        for rec in udp.iter().chain(tcp.iter()).flatten() {
            if !configured
                .iter()
                .any(|(h, p, _)| *h == rec.target && *p == rec.port)
            {
                configured.push((rec.target.clone(), rec.port, "dns-srv"));
            }
        }
        if configured.is_empty() {
            let failure = udp.err().unwrap_or(DnsFailure::NotFound);
            let code = match failure {
                DnsFailure::NotFound => codes::DNS_KDC_SRV_MISSING,
                _ => codes::DNS_KDC_FAILED,
            };
            let mut f = Finding::new(
                ID,
                code,
                format!("no KDC for {realm}: {udp_name} {}", failure.describe()),
            );
            if conf.absent {
                f = f.hint(
                    "There is no krb5.conf and the pod's DNS has no _kerberos SRV records for the realm: mount krb5.conf (ConfigMap at /etc/krb5.conf) listing the domain controllers under [realms].",
                );
            }
            return (
                f.evidence("srv", srv_evidence)
                    .evidence("resolver", json!(dns.info())),
                Vec::new(),
            );
        }
    }
    let lookups = configured
        .into_iter()
        .map(|(host, port, source)| async move {
            let (addrs, failure) = match host.parse::<IpAddr>() {
                Ok(ip) => (vec![ip], None),
                Err(_) => match dns.lookup_ip(&host).await {
                    Ok(a) => (a.addrs, None),
                    Err(e) => (Vec::new(), Some(e)),
                },
            };
            Resolved {
                endpoint: KdcEndpoint {
                    host,
                    port,
                    addrs,
                    source,
                },
                failure,
            }
        });
    let resolved = futures::future::join_all(lookups).await;
    let finding = decide(realm, &resolved)
        .evidence("srv", srv_evidence)
        .evidence("resolver", json!(dns.info()));
    (
        finding,
        resolved
            .into_iter()
            .map(|r| r.endpoint)
            .filter(|e| !e.addrs.is_empty())
            .collect(),
    )
}

/// The decision over the lookups, table-testable.
pub fn decide(realm: &str, resolved: &[Resolved]) -> Finding {
    let ok: Vec<&Resolved> = resolved.iter().filter(|r| r.failure.is_none()).collect();
    let bad: Vec<&Resolved> = resolved.iter().filter(|r| r.failure.is_some()).collect();
    let evidence: Vec<_> = resolved
        .iter()
        .map(|r| {
            json!({
                "host": r.endpoint.host,
                "port": r.endpoint.port,
                "source": r.endpoint.source,
                "addresses": r.endpoint.addrs,
                "error": r.failure.as_ref().map(DnsFailure::describe),
            })
        })
        .collect();
    let finding = if bad.is_empty() {
        let names: Vec<String> = ok
            .iter()
            .map(|r| {
                format!(
                    "{} -> {}",
                    r.endpoint.host,
                    r.endpoint
                        .addrs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        Finding::new(
            ID,
            codes::DNS_KDC_OK,
            format!("KDCs of {realm} resolve: {}", names.join("; ")),
        )
    } else if !ok.is_empty() {
        Finding::new(
            ID,
            codes::DNS_KDC_PARTIAL,
            format!(
                "{} of {} KDC names of {realm} do not resolve: {}",
                bad.len(),
                resolved.len(),
                bad.iter()
                    .map(|r| r.endpoint.host.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else {
        let first = bad[0];
        let failure = first.failure.as_ref().expect("bad has failures");
        let code = match failure {
            DnsFailure::NotFound => codes::DNS_KDC_NXDOMAIN,
            _ => codes::DNS_KDC_FAILED,
        };
        Finding::new(
            ID,
            code,
            format!(
                "KDC {} of {realm}: {}",
                first.endpoint.host,
                failure.describe()
            ),
        )
    };
    finding.evidence("kdcs", evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn r(host: &str, failure: Option<DnsFailure>) -> Resolved {
        Resolved {
            endpoint: KdcEndpoint {
                host: host.into(),
                port: 88,
                addrs: if failure.is_none() {
                    vec!["127.0.0.10".parse().unwrap()]
                } else {
                    vec![]
                },
                source: "krb5.conf",
            },
            failure,
        }
    }

    #[test]
    fn decisions() {
        let cases = [
            (vec![r("a", None)], Status::Pass, "dns-kdc-ok"),
            (
                vec![r("a", None), r("b", Some(DnsFailure::NotFound))],
                Status::Warn,
                "dns-kdc-partial",
            ),
            (
                vec![r("b", Some(DnsFailure::NotFound))],
                Status::Fail,
                "dns-kdc-nxdomain",
            ),
            (
                vec![r("b", Some(DnsFailure::Timeout))],
                Status::Fail,
                "dns-kdc-failed",
            ),
        ];
        for (input, status, code) in cases {
            let f = decide("R", &input);
            assert_eq!((f.status, f.code), (status, code), "{input:?}");
        }
    }
}
