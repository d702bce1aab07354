//! Check 5, `kdc-reach`: each KDC answers on UDP and TCP with real Kerberos. An AS-REQ without
//! pre-authentication for the user draws a KRB-ERROR that proves the KDC serves the realm,
//! says whether the user exists, and carries the KDC's clock.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::checks::dns_kdc::KdcEndpoint;
use crate::checks::edges::KdcTransport;
use crate::codes::{self, Code};
use crate::kdcproto::{self, AsReqParams, KdcReply, TransportError};
use crate::report::{Finding, Issues};

/// Check id.
pub const ID: &str = "kdc-reach";

/// The code for an Active Directory NTSTATUS (in a KRB-ERROR's e-data) that names the account's
/// state, when the KDC reveals it to an unauthenticated AS-REQ.
pub fn ad_state(ntstatus: u32) -> Option<Code> {
    Some(match ntstatus {
        0xC000_0072 => codes::KDC_ACCOUNT_DISABLED,
        0xC000_0193 => codes::KDC_ACCOUNT_EXPIRED,
        0xC000_0234 => codes::KDC_ACCOUNT_LOCKED_OUT,
        0xC000_006F => codes::KDC_LOGON_HOURS,
        0xC000_0070 => codes::KDC_WORKSTATION_RESTRICTED,
        0xC000_0071 => codes::KDC_PASSWORD_EXPIRED,
        0xC000_0224 => codes::KDC_PASSWORD_MUST_CHANGE,
        0xC000_0413 => codes::KDC_AUTH_POLICY,
        _ => return None,
    })
}
/// Clock difference past which Kerberos (default `clockskew` 300 s) refuses requests.
pub const SKEW_LIMIT_SECS: f64 = 300.0;
/// Clock difference worth a warning.
pub const DRIFT_WARN_SECS: f64 = 60.0;

/// Name used in the AS-REQ when no user was given: the KDC's answer (unknown client) still
/// proves it serves the realm.
const PROBE_CLIENT: &str = "krbprobe-realm-check";

/// Transport of one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP datagram.
    Udp,
    /// TCP with a 4-byte length prefix.
    Tcp,
}

impl Transport {
    fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// What one exchange with one KDC address produced.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A decodable Kerberos reply and the clock offset (KDC minus ours, seconds) when known.
    Reply(Box<KdcReply>, Option<f64>),
    /// Bytes that are not a Kerberos reply.
    Garbage(String),
    /// Connection refused or unreachable.
    Refused(String),
    /// No answer within the timeout.
    Timeout(String),
    /// Any other transport error.
    Error(String),
}

/// One exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// KDC host as configured.
    pub host: String,
    /// Address contacted.
    pub addr: SocketAddr,
    /// UDP or TCP.
    pub transport: Transport,
    /// Result.
    pub outcome: Outcome,
    /// Round-trip time.
    pub elapsed: Duration,
}

/// Runs the check against every address of every KDC, UDP and TCP concurrently, through
/// `kdc`, comparing the KDCs' clocks with `now`.
pub async fn run(
    kdc: &impl KdcTransport,
    now: fn() -> SystemTime,
    realm: Option<&str>,
    user_name: Option<&str>,
    kdcs: &[KdcEndpoint],
    timeout: Duration,
) -> Finding {
    let started = Instant::now();
    let Some(realm) = realm else {
        return Finding::skip(ID, codes::KDC_REACH_SKIPPED, "no realm (see principal)")
            .took(started.elapsed());
    };
    if kdcs.is_empty() {
        return Finding::skip(
            ID,
            codes::KDC_REACH_SKIPPED,
            format!("no KDC address for {realm} (see dns-kdc)"),
        )
        .took(started.elapsed());
    }
    let client: Vec<String> = user_name
        .unwrap_or(PROBE_CLIENT)
        .split('/')
        .map(str::to_owned)
        .collect();
    let mut jobs = Vec::new();
    for endpoint in kdcs {
        for ip in &endpoint.addrs {
            for transport in [Transport::Udp, Transport::Tcp] {
                let addr = SocketAddr::new(*ip, endpoint.port);
                let host = endpoint.host.clone();
                let client = client.clone();
                jobs.push(async move {
                    exchange(kdc, now, host, addr, transport, realm, client, timeout).await
                });
            }
        }
    }
    let exchanges = futures::future::join_all(jobs).await;
    decide(realm, user_name.is_some(), &exchanges).took(started.elapsed())
}

#[allow(clippy::too_many_arguments)]
async fn exchange(
    kdc: &impl KdcTransport,
    now: fn() -> SystemTime,
    host: String,
    addr: SocketAddr,
    transport: Transport,
    realm: &str,
    client: Vec<String>,
    timeout: Duration,
) -> Exchange {
    let mut nonce = [0u8; 4];
    // A failing OS RNG only weakens the nonce of a probe request; a fixed one is still valid.
    let _ = getrandom::fill(&mut nonce);
    let params = AsReqParams {
        client,
        realm: realm.to_owned(),
        nonce: u32::from_be_bytes(nonce) & 0x7fff_ffff,
        till: now() + Duration::from_secs(10 * 3600),
        etypes: AsReqParams::default_etypes(),
    };
    let req = kdcproto::encode_as_req(&params);
    let started = Instant::now();
    let sent = now();
    let raw = kdc.exchange(addr, transport, &req, timeout).await;
    let received = now();
    let outcome = match raw {
        Err(TransportError::Refused) => Outcome::Refused("connection refused".into()),
        Err(e @ TransportError::Timeout { .. }) => Outcome::Timeout(e.to_string()),
        // A length prefix no KDC sends ("<!DO", "HTTP") is another protocol on the port.
        Err(e @ TransportError::TooLarge { .. }) => Outcome::Garbage(e.to_string()),
        Err(e) => Outcome::Error(e.to_string()),
        Ok(bytes) => match kdcproto::decode_reply(&bytes) {
            Ok(reply) => {
                let offset = match &reply {
                    KdcReply::Error(e) => Some(kdcproto::clock_offset(e, sent, received)),
                    KdcReply::AsRep(_) => None,
                };
                Outcome::Reply(Box::new(reply), offset)
            }
            Err(e) => Outcome::Garbage(format!("{} bytes that are not Kerberos: {e}", bytes.len())),
        },
    };
    Exchange {
        host,
        addr,
        transport,
        outcome,
        elapsed: started.elapsed(),
    }
}

fn exchange_evidence(x: &Exchange) -> Value {
    let mut v = json!({
        "kdc": x.host,
        "address": x.addr.to_string(),
        "transport": x.transport.as_str(),
        "elapsed_ms": x.elapsed.as_millis() as u64,
    });
    let o = v.as_object_mut().expect("object literal");
    match &x.outcome {
        Outcome::Reply(reply, offset) => match &**reply {
            KdcReply::Error(e) => {
                o.insert("reply".into(), json!("KRB-ERROR"));
                o.insert("error_code".into(), json!(e.error_code));
                o.insert("error_name".into(), json!(e.name));
                o.insert("error_text".into(), json!(e.text));
                o.insert("realm".into(), json!(e.realm));
                if let Some(t) = &e.e_text {
                    o.insert("e_text".into(), json!(t));
                }
                if let Some(n) = e.ntstatus_name() {
                    o.insert("ntstatus".into(), json!(n));
                }
                if let Some(off) = offset {
                    o.insert("clock_offset_s".into(), json!((off * 10.0).round() / 10.0));
                }
                if !e.preauth.is_empty() {
                    o.insert("preauth".into(), json!(e.preauth));
                }
            }
            KdcReply::AsRep(r) => {
                o.insert("reply".into(), json!("AS-REP"));
                o.insert("as_rep".into(), json!(r));
            }
        },
        Outcome::Garbage(g) => {
            o.insert("error".into(), json!(g));
        }
        Outcome::Refused(e) | Outcome::Timeout(e) | Outcome::Error(e) => {
            o.insert("error".into(), json!(e));
        }
    }
    v
}

/// The decision over all exchanges, table-testable.
pub fn decide(realm: &str, have_user: bool, xs: &[Exchange]) -> Finding {
    let evidence: Vec<Value> = xs.iter().map(exchange_evidence).collect();
    let answered: Vec<&Exchange> = xs
        .iter()
        .filter(|x| matches!(x.outcome, Outcome::Reply(..)))
        .collect();
    let with = |f: Finding| f.evidence("exchanges", evidence.clone());
    let Some(first) = answered.first() else {
        let garbage = xs.iter().find(|x| matches!(x.outcome, Outcome::Garbage(_)));
        let all_timeout = xs.iter().all(|x| matches!(x.outcome, Outcome::Timeout(_)));
        let (code, summary) = if let Some(g) = garbage {
            (
                codes::KDC_NOT_KERBEROS,
                format!(
                    "{} ({}) answered on {} but not with Kerberos",
                    g.host,
                    g.addr,
                    g.transport.as_str()
                ),
            )
        } else if all_timeout {
            (
                codes::KDC_TIMEOUT,
                format!("no KDC of {realm} answered within the timeout (UDP and TCP)"),
            )
        } else {
            (
                codes::KDC_UNREACHABLE,
                format!("no KDC of {realm} accepted a connection"),
            )
        };
        return with(Finding::new(ID, code, summary));
    };
    let Outcome::Reply(reply, offset) = &first.outcome else {
        unreachable!("filtered to replies")
    };
    let mut issues = Issues::new();
    let who = format!("{} ({})", first.host, first.addr);
    match &**reply {
        KdcReply::AsRep(_) => {
            if have_user {
                issues.push(
                    codes::KDC_NO_PREAUTH,
                    format!("{who} issued a ticket without pre-authentication"),
                );
            }
        }
        KdcReply::Error(e) => {
            // Active Directory's NTSTATUS names the account's state exactly; the Kerberos code
            // lumps disabled, expired, locked out and logon hours into CLIENT_REVOKED.
            let ad = e.ntstatus.and_then(ad_state);
            let code = match e.error_code {
                _ if ad.is_some() => ad,
                kdcproto::KDC_ERR_PREAUTH_REQUIRED => None,
                kdcproto::KDC_ERR_C_PRINCIPAL_UNKNOWN if !have_user => None,
                kdcproto::KDC_ERR_C_PRINCIPAL_UNKNOWN => Some(codes::KDC_USER_UNKNOWN),
                kdcproto::KDC_ERR_CLIENT_REVOKED => Some(codes::KDC_USER_DISABLED),
                kdcproto::KDC_ERR_KEY_EXPIRED => Some(codes::KDC_PASSWORD_EXPIRED),
                kdcproto::KDC_ERR_WRONG_REALM => Some(codes::KDC_WRONG_REALM),
                _ => Some(codes::KDC_ERROR),
            };
            if let Some(code) = code {
                let status = e
                    .ntstatus_name()
                    .map(|n| format!(", Active Directory: {n}"))
                    .unwrap_or_default();
                issues.push(
                    code,
                    format!("{who}: {} ({}, {}{status})", e.text, e.name, e.error_code),
                );
            }
            if e.realm != realm && e.error_code != kdcproto::KDC_ERR_WRONG_REALM {
                issues.push(
                    codes::KDC_WRONG_REALM,
                    format!("{who} answered for realm {}, not {realm}", e.realm),
                );
            }
        }
    }
    if let Some(off) = offset {
        let abs = off.abs();
        let dir = if *off > 0.0 { "ahead of" } else { "behind" };
        if abs > SKEW_LIMIT_SECS {
            issues.push(
                codes::KDC_CLOCK_SKEW,
                format!("{who}'s clock is {abs:.0} s {dir} this pod's (limit 300 s)"),
            );
        } else if abs > DRIFT_WARN_SECS {
            issues.push(
                codes::KDC_CLOCK_DRIFT,
                format!("{who}'s clock is {abs:.0} s {dir} this pod's"),
            );
        }
    }
    let answered_udp = answered.iter().any(|x| x.transport == Transport::Udp);
    let answered_tcp = answered.iter().any(|x| x.transport == Transport::Tcp);
    if !answered_udp {
        issues.push(codes::KDC_UDP_BLOCKED, "no KDC answered over UDP, only TCP");
    }
    if !answered_tcp {
        issues.push(codes::KDC_TCP_BLOCKED, "no KDC answered over TCP, only UDP");
    }
    let dead: Vec<String> = xs
        .iter()
        .filter(|x| !answered.iter().any(|a| a.addr == x.addr))
        .map(|x| format!("{} ({})", x.host, x.addr))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !dead.is_empty() {
        issues.push(
            codes::KDC_PARTIAL,
            format!("no answer from {}", dead.join(", ")),
        );
    }
    // The most severe issue decides; among equals, the order above (user, realm, clock,
    // transports) is the order a person should fix them in.
    let finding = issues.finding(ID, || {
        let what = match &**reply {
            KdcReply::Error(e) if e.error_code == kdcproto::KDC_ERR_PREAUTH_REQUIRED => {
                "user exists (pre-authentication required)".to_owned()
            }
            KdcReply::Error(e) => format!("answered {}", e.name),
            KdcReply::AsRep(_) => "answered AS-REP".into(),
        };
        let clock = offset
            .map(|o| format!(", clock offset {o:+.1} s"))
            .unwrap_or_default();
        Finding::new(
            ID,
            codes::KDC_REACH_OK,
            format!("{who} serves {realm} over UDP and TCP: {what}{clock}"),
        )
    });
    with(finding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn krb_error(code: i32, realm: &str) -> KdcReply {
        KdcReply::Error(kdcproto::fake_krb_error(code, realm))
    }

    fn x(transport: Transport, outcome: Outcome) -> Exchange {
        Exchange {
            host: "kdc.example".into(),
            addr: "127.0.0.10:88".parse().unwrap(),
            transport,
            outcome,
            elapsed: Duration::from_millis(1),
        }
    }

    fn reply(code: i32, offset: f64) -> Outcome {
        Outcome::Reply(Box::new(krb_error(code, "R")), Some(offset))
    }

    #[test]
    fn decisions() {
        use Transport::{Tcp, Udp};
        let preauth = kdcproto::KDC_ERR_PREAUTH_REQUIRED;
        let cases: Vec<(Vec<Exchange>, bool, Status, &str)> = vec![
            (
                vec![x(Udp, reply(preauth, 0.2)), x(Tcp, reply(preauth, 0.3))],
                true,
                Status::Pass,
                "kdc-reach-ok",
            ),
            (
                vec![
                    x(Udp, reply(kdcproto::KDC_ERR_C_PRINCIPAL_UNKNOWN, 0.0)),
                    x(Tcp, reply(kdcproto::KDC_ERR_C_PRINCIPAL_UNKNOWN, 0.0)),
                ],
                true,
                Status::Fail,
                "kdc-user-unknown",
            ),
            (
                // Without a user the placeholder principal is unknown by design.
                vec![
                    x(Udp, reply(kdcproto::KDC_ERR_C_PRINCIPAL_UNKNOWN, 0.0)),
                    x(Tcp, reply(kdcproto::KDC_ERR_C_PRINCIPAL_UNKNOWN, 0.0)),
                ],
                false,
                Status::Pass,
                "kdc-reach-ok",
            ),
            (
                vec![
                    x(Udp, reply(kdcproto::KDC_ERR_CLIENT_REVOKED, 0.0)),
                    x(Tcp, reply(preauth, 0.0)),
                ],
                true,
                Status::Fail,
                "kdc-user-disabled",
            ),
            (
                vec![x(Udp, reply(preauth, 600.0)), x(Tcp, reply(preauth, 600.0))],
                true,
                Status::Fail,
                "kdc-clock-skew",
            ),
            (
                vec![x(Udp, reply(preauth, -90.0)), x(Tcp, reply(preauth, -90.0))],
                true,
                Status::Warn,
                "kdc-clock-drift",
            ),
            (
                vec![
                    x(Udp, Outcome::Timeout("t".into())),
                    x(Tcp, reply(preauth, 0.0)),
                ],
                true,
                Status::Warn,
                "kdc-udp-blocked",
            ),
            (
                vec![
                    x(Udp, reply(preauth, 0.0)),
                    x(Tcp, Outcome::Refused("r".into())),
                ],
                true,
                Status::Warn,
                "kdc-tcp-blocked",
            ),
            (
                vec![
                    x(Udp, Outcome::Timeout("t".into())),
                    x(Tcp, Outcome::Timeout("t".into())),
                ],
                true,
                Status::Fail,
                "kdc-timeout",
            ),
            (
                vec![
                    x(Udp, Outcome::Refused("r".into())),
                    x(Tcp, Outcome::Timeout("t".into())),
                ],
                true,
                Status::Fail,
                "kdc-unreachable",
            ),
            (
                vec![
                    x(Udp, Outcome::Garbage("g".into())),
                    x(Tcp, Outcome::Refused("r".into())),
                ],
                true,
                Status::Fail,
                "kdc-not-kerberos",
            ),
        ];
        let as_rep = || {
            Outcome::Reply(
                Box::new(KdcReply::AsRep(kdcproto::AsRepInfo {
                    realm: "R".into(),
                    cname: vec!["awx".into()],
                    enctype: 18,
                    enctype_name: "aes256-cts-hmac-sha1-96",
                    kvno: Some(2),
                    ticket_realm: "R".into(),
                    ticket_sname: vec!["krbtgt".into(), "R".into()],
                    ticket_enctype: 18,
                    padata: vec![],
                })),
                None,
            )
        };
        let cases = cases.into_iter().chain([
            (
                // The KDC hands out tickets for the user without asking for proof.
                vec![x(Udp, as_rep()), x(Tcp, as_rep())],
                true,
                Status::Warn,
                "kdc-no-preauth",
            ),
            (
                // Without a user, the placeholder's AS-REP only proves the KDC serves R.
                vec![x(Udp, as_rep()), x(Tcp, as_rep())],
                false,
                Status::Pass,
                "kdc-reach-ok",
            ),
            (
                // An error this check does not classify: KDC_ERR_ETYPE_NOSUPP.
                vec![
                    x(Udp, reply(kdcproto::KDC_ERR_ETYPE_NOSUPP, 0.0)),
                    x(Tcp, reply(kdcproto::KDC_ERR_ETYPE_NOSUPP, 0.0)),
                ],
                true,
                Status::Fail,
                "kdc-error",
            ),
            (
                vec![
                    x(Udp, reply(kdcproto::KDC_ERR_KEY_EXPIRED, 0.0)),
                    x(Tcp, reply(kdcproto::KDC_ERR_KEY_EXPIRED, 0.0)),
                ],
                true,
                Status::Fail,
                "kdc-password-expired",
            ),
            (
                // One KDC address answers, another does not at all.
                vec![
                    x(Udp, reply(preauth, 0.0)),
                    x(Tcp, reply(preauth, 0.0)),
                    Exchange {
                        addr: "127.0.0.11:88".parse().unwrap(),
                        ..x(Udp, Outcome::Timeout("t".into()))
                    },
                ],
                true,
                Status::Warn,
                "kdc-partial",
            ),
        ]);
        for (xs, have_user, status, code) in cases {
            let f = decide("R", have_user, &xs);
            assert_eq!((f.status, f.code), (status, code), "{xs:?}");
        }
    }

    #[test]
    fn several_issues_lead_with_the_worst_and_list_all() {
        let xs = vec![
            x(
                Transport::Udp,
                reply(kdcproto::KDC_ERR_PREAUTH_REQUIRED, 600.0),
            ),
            x(Transport::Tcp, Outcome::Refused("r".into())),
        ];
        let f = decide("R", true, &xs);
        assert_eq!((f.status, f.code), (Status::Fail, "kdc-clock-skew"));
        assert!(f.summary.ends_with("(+1 more)"), "{}", f.summary);
        let listed: Vec<(&str, &str)> = f.evidence["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["code"].as_str().unwrap(), i["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            listed,
            [("kdc-clock-skew", "fail"), ("kdc-tcp-blocked", "warn")]
        );
    }

    /// AD's NTSTATUS, when a DC reveals the state to an unauthenticated AS-REQ (Windows does
    /// for disabled and locked-out accounts), names the state; the Kerberos code alone keeps
    /// the old meaning.
    #[test]
    fn active_directory_states_by_ntstatus() {
        let cases = [
            (
                kdcproto::KDC_ERR_CLIENT_REVOKED,
                0xC000_0072,
                "kdc-account-disabled",
            ),
            (
                kdcproto::KDC_ERR_CLIENT_REVOKED,
                0xC000_0193,
                "kdc-account-expired",
            ),
            (
                kdcproto::KDC_ERR_CLIENT_REVOKED,
                0xC000_0234,
                "kdc-account-locked-out",
            ),
            (
                kdcproto::KDC_ERR_CLIENT_REVOKED,
                0xC000_006F,
                "kdc-logon-hours",
            ),
            (
                kdcproto::KDC_ERR_CLIENT_REVOKED,
                0xC000_0070,
                "kdc-workstation-restricted",
            ),
            (
                kdcproto::KDC_ERR_KEY_EXPIRED,
                0xC000_0224,
                "kdc-password-must-change",
            ),
            (
                kdcproto::KDC_ERR_KEY_EXPIRED,
                0xC000_0071,
                "kdc-password-expired",
            ),
            (12, 0xC000_0413, "kdc-auth-policy"),
            (
                kdcproto::KDC_ERR_CLIENT_REVOKED,
                0xC000_0022,
                "kdc-user-disabled",
            ),
        ];
        for (kerberos, status, code) in cases {
            let mut raw = kdcproto::fake_krb_error(kerberos, "R");
            raw.ntstatus = Some(status);
            let e = KdcReply::Error(raw);
            let xs = vec![
                x(
                    Transport::Udp,
                    Outcome::Reply(Box::new(e.clone()), Some(0.0)),
                ),
                x(Transport::Tcp, Outcome::Reply(Box::new(e), Some(0.0))),
            ];
            let f = decide("R", true, &xs);
            assert_eq!((f.status, f.code), (Status::Fail, code), "{status:#x}");
        }
    }

    #[test]
    fn reply_for_another_realm_is_flagged() {
        let xs = vec![
            x(
                Transport::Udp,
                Outcome::Reply(Box::new(krb_error(25, "OTHER")), Some(0.0)),
            ),
            x(
                Transport::Tcp,
                Outcome::Reply(Box::new(krb_error(25, "OTHER")), Some(0.0)),
            ),
        ];
        assert_eq!(decide("R", true, &xs).code, "kdc-wrong-realm");
    }
}
