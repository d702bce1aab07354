//! Check 6, `winrm-http` (per target): the WinRM listener answers as Windows does before
//! authentication: 404 on `/`, 401 with `Negotiate`/`Kerberos` offers on `POST /wsman`. For
//! HTTPS, the TLS handshake and the certificate's names, validity and issuer.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::checks::edges::WinRm;
use crate::codes::{self, Code};
use crate::model::Scheme;
use crate::report::{Finding, Status};
use crate::tls::{TlsProbe, TlsVerdict};
pub use crate::winrm::probe::{HttpFailure, HttpObs};
use crate::winrm::probe::{Listener, base_url};

/// Check id.
pub const ID: &str = "winrm-http";

/// Everything observed about one target's listener.
#[derive(Debug, Clone)]
pub struct Observed {
    /// URL probed.
    pub url: String,
    /// TLS facts (https only).
    pub tls: Option<Result<TlsProbe, HttpFailure>>,
    /// HTTP exchange.
    pub http: Result<HttpObs, HttpFailure>,
    /// The proxy (variable, value) pywinrm would send this target's traffic to.
    pub proxy: Option<(String, String)>,
    /// `--insecure`: a certificate problem is reported, not failed (like
    /// `ansible_winrm_server_cert_validation: ignore`).
    pub insecure: bool,
}

/// Runs the check for one target at `addr`. `insecure` is `--insecure`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    winrm: &impl WinRm,
    target: &str,
    addr: Option<IpAddr>,
    port: u16,
    scheme: Scheme,
    insecure: bool,
    proxy: Option<(String, String)>,
    timeout: Duration,
) -> Finding {
    let started = Instant::now();
    let Some(ip) = addr else {
        return Finding::skip(
            ID,
            codes::WINRM_HTTP_SKIPPED,
            "no address for the target (see dns-target)",
        )
        .target(target)
        .took(started.elapsed());
    };
    let sock = SocketAddr::new(ip, port);
    let Listener { tls, http } = winrm.probe(target, sock, scheme, timeout).await;
    let obs = Observed {
        url: format!("{}/wsman", base_url(target, port, scheme)),
        tls,
        http,
        proxy,
        insecure,
    };
    decide(&obs, port, scheme)
        .target(target)
        .evidence("address", sock.to_string())
        .took(started.elapsed())
}

/// Auth scheme of a `WWW-Authenticate` value (`Negotiate`, `Basic realm="WSMAN"` -> `Basic`).
fn scheme_of(offer: &str) -> &str {
    offer.split_whitespace().next().unwrap_or("")
}

/// The decision, table-testable.
pub fn decide(obs: &Observed, port: u16, scheme: Scheme) -> Finding {
    let mut ev: Vec<(&str, Value)> = vec![("url", json!(obs.url))];
    let mut tls_issue: Option<(Code, String)> = None;
    if let Some(Ok(t)) = &obs.tls {
        ev.push(("tls_version", json!(t.version)));
        if let Some(c) = &t.leaf {
            ev.push(("certificate", json!(c)));
        }
        let issue = match &t.verdict {
            TlsVerdict::Trusted => None,
            TlsVerdict::Untrusted(m) => Some((codes::WINRM_TLS_UNTRUSTED, m)),
            TlsVerdict::NameMismatch(m) => Some((codes::WINRM_TLS_NAME_MISMATCH, m)),
            TlsVerdict::Expired(m) => Some((codes::WINRM_TLS_EXPIRED, m)),
            TlsVerdict::Invalid(m) => Some((codes::WINRM_TLS_HANDSHAKE, m)),
        };
        if let Some((code, m)) = issue {
            ev.push(("tls_error", json!(m)));
            tls_issue = Some((code, format!("certificate of {}: {m}", obs.url)));
        }
    }
    // With --insecure the job would not look at the certificate: say what is wrong with it,
    // but judge the listener by what it answers.
    let ignored_tls = if obs.insecure { tls_issue.take() } else { None };
    let finding = match &obs.http {
        Err(f) => {
            let (code, detail) = match f {
                HttpFailure::Refused(d) => (codes::WINRM_PORT_CLOSED, d),
                HttpFailure::Timeout(d) => (codes::WINRM_TIMEOUT, d),
                HttpFailure::NotHttp(d) => {
                    if obs.tls.is_some() && d.starts_with("TLS") {
                        (codes::WINRM_TLS_HANDSHAKE, d)
                    } else {
                        (codes::WINRM_NOT_HTTP, d)
                    }
                }
            };
            ev.push(("error", json!(detail)));
            // A certificate Ansible would refuse is what the job meets first; the HTTP error
            // after an unverified handshake stays in the evidence.
            if let Some((tls_code, tls_summary)) = tls_issue.take() {
                Finding::new(ID, tls_code, tls_summary)
            } else {
                let summary = match code.code {
                    "winrm-port-closed" => format!("port {port} refuses connections"),
                    "winrm-timeout" => format!("port {port} does not answer (timeout)"),
                    _ => format!("port {port} ({}): {detail}", scheme.as_str()),
                };
                Finding::new(ID, code, summary)
            }
        }
        Ok(h) => {
            ev.push(("root_status", json!(h.root_status)));
            ev.push(("server", json!(h.server)));
            ev.push(("wsman_status", json!(h.wsman_status)));
            ev.push(("www_authenticate", json!(h.offers)));
            let schemes: Vec<&str> = h.offers.iter().map(|o| scheme_of(o)).collect();
            let kerberos = schemes
                .iter()
                .any(|s| s.eq_ignore_ascii_case("Negotiate") || s.eq_ignore_ascii_case("Kerberos"));
            let server = h.server.as_deref().unwrap_or("no Server header");
            if let Some((code, summary)) = tls_issue {
                Finding::new(ID, code, summary)
            } else {
                match h.wsman_status {
                    Some(401) if kerberos => {
                        let mut f = Finding::new(
                            ID,
                            codes::WINRM_HTTP_OK,
                            format!(
                                "{} answers 401 offering {} ({server})",
                                obs.url,
                                schemes.join(", ")
                            ),
                        );
                        if h.root_status != Some(404) {
                            f = Finding::new(
                                ID,
                                codes::WINRM_ROOT_UNEXPECTED,
                                format!(
                                    "GET / answered {} instead of 404 ({server}); /wsman offers {}",
                                    h.root_status.unwrap_or(0),
                                    schemes.join(", ")
                                ),
                            );
                        }
                        f
                    }
                    Some(401) if schemes.is_empty() => Finding::new(
                        ID,
                        codes::WINRM_NO_AUTH,
                        format!("{} answers 401 without WWW-Authenticate", obs.url),
                    ),
                    Some(401) => Finding::new(
                        ID,
                        codes::WINRM_KERBEROS_DISABLED,
                        format!(
                            "{} offers only {}: Kerberos is disabled in winrm/config/service/auth",
                            obs.url,
                            schemes.join(", ")
                        ),
                    ),
                    Some(404) => Finding::new(
                        ID,
                        codes::WINRM_WSMAN_MISSING,
                        format!("{} answers 404: no WinRM listener here ({server})", obs.url),
                    ),
                    other => Finding::new(
                        ID,
                        codes::WINRM_UNEXPECTED_STATUS,
                        format!(
                            "{} answers {} without credentials, expected 401 ({server})",
                            obs.url,
                            other.unwrap_or(0)
                        ),
                    ),
                }
            }
        }
    };
    let finding = match ignored_tls {
        Some((_, issue)) if finding.status == Status::Pass => Finding::new(
            ID,
            codes::WINRM_TLS_IGNORED,
            format!("{}; not validated (--insecure): {issue}", finding.summary),
        ),
        _ => finding,
    };
    // The direct probe above still runs, so the evidence says whether the host itself is fine.
    let finding = match &obs.proxy {
        Some((var, value)) => {
            ev.push(("proxy_variable", json!(var)));
            ev.push(("proxy", json!(value)));
            ev.push(("direct_result", json!(finding.code)));
            Finding::new(
                ID,
                codes::WINRM_PROXY,
                format!(
                    "{var}={value} would carry WinRM to this host: NO_PROXY does not exempt it"
                ),
            )
        }
        None => finding,
    };
    ev.into_iter().fold(finding, |f, (k, v)| f.evidence(k, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn obs(root: u16, wsman: u16, offers: &[&str]) -> Observed {
        Observed {
            url: "http://h:5985/wsman".into(),
            tls: None,
            http: Ok(HttpObs {
                root_status: Some(root),
                server: Some("Microsoft-HTTPAPI/2.0".into()),
                wsman_status: Some(wsman),
                offers: offers.iter().map(|s| s.to_string()).collect(),
            }),
            proxy: None,
            insecure: false,
        }
    }

    #[test]
    fn decisions() {
        let cases = [
            (
                obs(404, 401, &["Negotiate", "Kerberos"]),
                Status::Pass,
                "winrm-http-ok",
            ),
            (obs(404, 401, &["Kerberos"]), Status::Pass, "winrm-http-ok"),
            (
                obs(404, 401, &["Basic realm=\"WSMAN\""]),
                Status::Fail,
                "winrm-kerberos-disabled",
            ),
            (
                obs(404, 401, &["NTLM"]),
                Status::Fail,
                "winrm-kerberos-disabled",
            ),
            (obs(404, 401, &[]), Status::Fail, "winrm-no-auth"),
            (obs(404, 404, &[]), Status::Fail, "winrm-wsman-missing"),
            (obs(200, 200, &[]), Status::Fail, "winrm-unexpected-status"),
            (
                obs(200, 401, &["Negotiate"]),
                Status::Warn,
                "winrm-root-unexpected",
            ),
        ];
        for (o, status, code) in cases {
            let f = decide(&o, 5985, Scheme::Http);
            assert_eq!((f.status, f.code), (status, code), "{o:?}");
        }
    }

    #[test]
    fn transport_failures() {
        let mk = |f| Observed {
            url: "u".into(),
            tls: None,
            http: Err(f),
            proxy: None,
            insecure: false,
        };
        let f = decide(&mk(HttpFailure::Refused("x".into())), 5985, Scheme::Http);
        assert_eq!(f.code, "winrm-port-closed");
        let f = decide(&mk(HttpFailure::Timeout("x".into())), 5985, Scheme::Http);
        assert_eq!(f.code, "winrm-timeout");
        let f = decide(&mk(HttpFailure::NotHttp("x".into())), 5985, Scheme::Http);
        assert_eq!(f.code, "winrm-not-http");
    }

    #[test]
    fn a_bad_certificate_outranks_what_happened_after_the_handshake() {
        let o = Observed {
            url: "https://h:5986/wsman".into(),
            tls: Some(Ok(TlsProbe {
                version: "TLSv1_3".into(),
                leaf: None,
                verdict: TlsVerdict::NameMismatch("not valid for h".into()),
            })),
            http: Err(HttpFailure::NotHttp("connection reset".into())),
            proxy: None,
            insecure: false,
        };
        let f = decide(&o, 5986, Scheme::Https);
        assert_eq!(f.code, "winrm-tls-name-mismatch");
        assert_eq!(f.evidence["error"], "connection reset");
    }

    #[test]
    fn certificate_verdicts() {
        let tls = |verdict: TlsVerdict, http: Result<HttpObs, HttpFailure>| Observed {
            url: "https://h:5986/wsman".into(),
            tls: Some(Ok(TlsProbe {
                version: "TLSv1_3".into(),
                leaf: None,
                verdict,
            })),
            http,
            proxy: None,
            insecure: false,
        };
        let ok = || obs(404, 401, &["Negotiate"]).http;
        let cases = [
            (
                tls(TlsVerdict::Trusted, ok()),
                Status::Pass,
                "winrm-http-ok",
            ),
            (
                tls(TlsVerdict::Untrusted("unknown issuer".into()), ok()),
                Status::Fail,
                "winrm-tls-untrusted",
            ),
            (
                tls(TlsVerdict::Expired("expired".into()), ok()),
                Status::Fail,
                "winrm-tls-expired",
            ),
            (
                tls(TlsVerdict::Invalid("no certificate".into()), ok()),
                Status::Fail,
                "winrm-tls-handshake",
            ),
            (
                Observed {
                    tls: Some(Err(HttpFailure::NotHttp(
                        "TLS handshake: received corrupt message".into(),
                    ))),
                    http: Err(HttpFailure::NotHttp(
                        "TLS handshake: received corrupt message".into(),
                    )),
                    ..tls(TlsVerdict::Trusted, ok())
                },
                Status::Fail,
                "winrm-tls-handshake",
            ),
            (
                Observed {
                    insecure: true,
                    ..tls(TlsVerdict::Untrusted("unknown issuer".into()), ok())
                },
                Status::Warn,
                "winrm-tls-ignored",
            ),
        ];
        for (o, status, code) in cases {
            let f = decide(&o, 5986, Scheme::Https);
            assert_eq!((f.status, f.code), (status, code), "{o:?}");
        }
    }

    #[test]
    fn a_proxy_that_would_carry_winrm_fails_even_when_direct_works() {
        let mut o = obs(404, 401, &["Negotiate"]);
        o.proxy = Some(("HTTP_PROXY".into(), "http://127.0.0.99:3128".into()));
        let f = decide(&o, 5985, Scheme::Http);
        assert_eq!((f.status, f.code), (Status::Fail, "winrm-proxy"));
        assert_eq!(f.evidence["direct_result"], "winrm-http-ok");
    }
}
