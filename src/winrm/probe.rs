//! The unauthenticated half of WinRM: what a listener answers before anyone authenticates
//! (`GET /`, an empty `POST /wsman`), and for https the TLS handshake and the certificate.
//! This is the `winrm-http` check's I/O; the check judges what comes back.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::model::Scheme;
use crate::tls::{self, TlsProbe, TlsVerdict, Trust};
use crate::winrm::USER_AGENT;

/// What the unauthenticated requests returned.
#[derive(Debug, Clone, Default)]
pub struct HttpObs {
    /// `GET /` status.
    pub root_status: Option<u16>,
    /// `Server:` header of any response.
    pub server: Option<String>,
    /// `POST /wsman` status.
    pub wsman_status: Option<u16>,
    /// `WWW-Authenticate` values of the /wsman response.
    pub offers: Vec<String>,
}

/// Transport-level failure of the HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// Connection refused.
    Refused(String),
    /// Connect or read timed out.
    Timeout(String),
    /// The peer spoke something else than HTTP, or closed the connection.
    NotHttp(String),
}

/// What the unauthenticated requests to one listener gave.
#[derive(Debug, Clone)]
pub struct Listener {
    /// TLS facts (https only).
    pub tls: Option<Result<TlsProbe, HttpFailure>>,
    /// The HTTP exchange.
    pub http: Result<HttpObs, HttpFailure>,
}

/// `scheme://host:port` as pywinrm writes it (an IPv6 address in brackets).
pub fn base_url(host: &str, port: u16, scheme: Scheme) -> String {
    let url_host = if host.parse::<IpAddr>().map(|i| i.is_ipv6()).unwrap_or(false) {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("{}://{url_host}:{port}", scheme.as_str())
}

/// Probes the listener for `host` at `sock`: for https the handshake first, then the two
/// unauthenticated requests. Every step is bounded by `timeout`.
pub async fn probe(
    host: &str,
    sock: SocketAddr,
    scheme: Scheme,
    trust: &Trust,
    timeout: Duration,
) -> Listener {
    let base = base_url(host, sock.port(), scheme);
    let tls = match scheme {
        Scheme::Http => None,
        Scheme::Https => Some(
            tls::probe(sock, host, trust, timeout)
                .await
                .map_err(|e| classify_io(&e, "TLS handshake")),
        ),
    };
    let http = match tls.as_ref() {
        Some(Err(e)) => Err(e.clone()),
        _ => {
            // A failed verification is reported from the TLS facts; the HTTP probe still runs
            // (without verification) so the report also says whether WinRM is behind it.
            let verified = matches!(&tls, Some(Ok(p)) if p.verdict == TlsVerdict::Trusted);
            http_probe(&base, host, sock, trust, verified, timeout).await
        }
    };
    Listener { tls, http }
}

fn classify_io(e: &std::io::Error, phase: &str) -> HttpFailure {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => HttpFailure::Refused(format!("{phase}: {e}")),
        std::io::ErrorKind::TimedOut => HttpFailure::Timeout(format!("{phase}: {e}")),
        _ => HttpFailure::NotHttp(format!("{phase}: {e}")),
    }
}

fn classify(e: &reqwest::Error, what: &str) -> HttpFailure {
    // Walk the source chain: reqwest wraps hyper wraps io::Error.
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return HttpFailure::Refused(format!("{what}: connection refused"));
            }
        }
        src = s.source();
    }
    if e.is_timeout() {
        return HttpFailure::Timeout(format!("{what}: no answer within the timeout"));
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    HttpFailure::NotHttp(format!("{what}: {msg}"))
}

async fn http_probe(
    base: &str,
    host: &str,
    sock: SocketAddr,
    trust: &Trust,
    verified: bool,
    timeout: Duration,
) -> Result<HttpObs, HttpFailure> {
    let config = if verified {
        trust.verifying_config()
    } else {
        trust.recording_config().0
    };
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .no_proxy()
        .http1_only()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .resolve(host, sock)
        .build()
        .map_err(|e| HttpFailure::NotHttp(format!("HTTP client: {e}")))?;
    let mut obs = HttpObs::default();
    let root = client
        .get(format!("{base}/"))
        .send()
        .await
        .map_err(|e| classify(&e, "GET /"))?;
    obs.root_status = Some(root.status().as_u16());
    obs.server = header(&root, "server");
    // Read (and bound) the body so the connection can be reused for the next request.
    let _ = tokio::time::timeout(timeout, root.bytes()).await;
    let wsman = client
        .post(format!("{base}/wsman"))
        .header("Content-Type", "application/soap+xml;charset=UTF-8")
        .header("Content-Length", "0")
        .send()
        .await
        .map_err(|e| classify(&e, "POST /wsman"))?;
    obs.wsman_status = Some(wsman.status().as_u16());
    if obs.server.is_none() {
        obs.server = header(&wsman, "server");
    }
    obs.offers = wsman
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    Ok(obs)
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
