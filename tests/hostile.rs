//! Hostile servers: what a probe meets when things are already broken. Each scenario stands up a
//! misbehaving listener on its own loopback address inside the lab and asserts that krbprobe
//! names it with a clear code, exits 1, does not panic and does not hang (the time bound is a
//! generous multiple of `--timeout`, far below "forever"; speed is measured by the benchmark).
//!
//! DNS scenarios give krbprobe a private /etc/resolv.conf (a mount namespace of its own) naming
//! a hostile server: truncated answers, CNAME loops, answers cut short.
//!
//! Run inside the lab: `lab/run -- cargo test --features lab --test hostile`.
#![cfg(feature = "lab")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// Runs the probe and returns the run plus the finding of `id`.
fn probe_target(args: &[&str]) -> Run {
    let started = Instant::now();
    let run = probe(args);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

fn finding<'a>(run: &'a Run, id: &str) -> &'a Value {
    run.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {}", run.stdout))
}

fn code(run: &Run, id: &str) -> String {
    finding(run, id)["code"].as_str().unwrap().to_owned()
}

// ---- KDC port 88 -----------------------------------------------------------------------------

/// A "KDC" at `ip`: `udp` answers each datagram, `tcp` handles each connection.
fn kdc(ip: &str, udp: fn(&[u8]) -> Option<Vec<u8>>, tcp: fn(TcpStream)) {
    let u = UdpSocket::bind((ip, 88)).unwrap();
    let t = TcpListener::bind((ip, 88)).unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, peer)) = u.recv_from(&mut buf) {
            if let Some(answer) = udp(&buf[..n]) {
                let _ = u.send_to(&answer, peer);
            }
        }
    });
    thread::spawn(move || {
        for s in t.incoming().flatten() {
            thread::spawn(move || tcp(s));
        }
    });
}

fn kdc_probe(ip: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let c = conf(dir.path(), ip, "");
    probe_target(&["--krb5-conf", c.to_str().unwrap(), "-u", &user(), WIN01])
}

/// DER of a KRB-ERROR with fields no KDC sends: the largest error code, a year-9999 time,
/// microseconds out of range, a long e-text (30 kB when `huge`), empty names with odd types,
/// and e-data that is not DER.
fn absurd_krb_error(huge: bool) -> Vec<u8> {
    let n = if huge { 30_000 } else { 1_000 };
    use rasn_kerberos::{KerberosString, KerberosTime, KrbError, PrincipalName};
    let kstr = |s: &str| KerberosString::from_bytes(s.as_bytes()).unwrap();
    let time = |s: &str| KerberosTime(rasn::types::GeneralizedTime::parse_from_rfc3339(s).unwrap());
    let e = KrbError {
        pvno: rasn::types::Integer::from(5),
        msg_type: rasn::types::Integer::from(30),
        ctime: Some(time("9999-12-31T23:59:59Z")),
        cusec: Some(rasn::types::Integer::from(999_999_999)),
        stime: time("9999-12-31T23:59:59Z"),
        susec: rasn::types::Integer::from(999_999_999),
        error_code: 2_147_483_647,
        crealm: Some(kstr(&"R".repeat(n / 10))),
        cname: Some(PrincipalName {
            r#type: -99,
            string: vec![kstr(""); n / 100],
        }),
        realm: kstr(""),
        sname: PrincipalName {
            r#type: i32::MIN,
            string: vec![],
        },
        e_text: Some(kstr(&"x".repeat(n))),
        e_data: Some(vec![0xff; n / 10].into()),
    };
    rasn::der::encode(&e).unwrap()
}

#[test]
fn kdc_that_accepts_tcp_and_never_answers() {
    kdc(
        "127.0.0.80",
        |_| None,
        |s| {
            // Hold the connection open without a byte.
            thread::sleep(Duration::from_secs(30));
            drop(s);
        },
    );
    let run = kdc_probe("127.0.0.80");
    assert_eq!(code(&run, "kdc-reach"), "kdc-timeout", "{}", run.stdout);
    assert_eq!(run.code, 1);
}

#[test]
fn kdc_that_sends_truncated_replies() {
    kdc(
        "127.0.0.81",
        |_| Some(absurd_krb_error(false)[..9].to_vec()),
        |mut s| {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            // A length prefix for 1000 bytes, then 5 of them, then the end.
            let _ = s.write_all(&[0, 0, 0x03, 0xe8, 0x7e, 0x82, 0x03, 0xe4, 0x30]);
        },
    );
    let run = kdc_probe("127.0.0.81");
    assert_eq!(
        code(&run, "kdc-reach"),
        "kdc-not-kerberos",
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 1);
}

#[test]
fn kdc_that_announces_a_gigabyte_over_tcp() {
    kdc(
        "127.0.0.82",
        |_| Some(b"\x00garbage".to_vec()),
        |mut s| {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&[0x3f, 0xff, 0xff, 0xff]);
            thread::sleep(Duration::from_secs(20));
        },
    );
    let run = kdc_probe("127.0.0.82");
    assert_eq!(
        code(&run, "kdc-reach"),
        "kdc-not-kerberos",
        "{}",
        run.stdout
    );
}

#[test]
fn kdc_that_sends_a_krb_error_with_absurd_fields() {
    kdc(
        "127.0.0.83",
        |_| Some(absurd_krb_error(false)),
        |mut s| {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let e = absurd_krb_error(true);
            let mut framed = u32::try_from(e.len()).unwrap().to_be_bytes().to_vec();
            framed.extend(e);
            let _ = s.write_all(&framed);
        },
    );
    let run = kdc_probe("127.0.0.83");
    let f = finding(&run, "kdc-reach");
    // A KRB-ERROR no KDC could send is not taken at its word: it is not Kerberos.
    assert_eq!(f["status"], "fail", "{f:#}");
    assert_eq!(f["code"], "kdc-not-kerberos", "{f:#}");
    assert!(run.stdout.len() < 200_000, "the report stays bounded");
    // The evidence names the field that gave it away.
    assert!(
        f["evidence"].to_string().contains("implausible susec"),
        "{f:#}"
    );
}

// ---- WinRM over HTTP -------------------------------------------------------------------------

/// An HTTP "WinRM" at `ip:5985` whose connections `serve` handles.
fn http(ip: &str, serve: fn(TcpStream)) {
    let t = TcpListener::bind((ip, 5985)).unwrap();
    thread::spawn(move || {
        for s in t.incoming().flatten() {
            thread::spawn(move || serve(s));
        }
    });
}

fn read_request(s: &mut TcpStream) {
    let mut buf = [0u8; 8192];
    let _ = s.read(&mut buf);
}

/// The target is WIN01's name (so DNS and the SPN are fine) reached at the hostile address.
fn http_probe(ip: &str) -> Run {
    probe_target(&[
        "-u",
        &user(),
        "--ansible-host",
        ip,
        "--hostname-override",
        WIN01,
        WIN01,
    ])
}

#[test]
fn http_server_that_trickles_bytes() {
    http("127.0.0.84", |mut s| {
        read_request(&mut s);
        for b in b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\n"
            .iter()
            .cycle()
        {
            if s.write_all(&[*b]).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(300));
        }
    });
    let run = http_probe("127.0.0.84");
    assert_eq!(code(&run, "winrm-http"), "winrm-timeout", "{}", run.stdout);
    assert_eq!(finding(&run, "winrm-auth")["status"], "skip");
}

#[test]
fn http_server_that_sends_a_megabyte_of_headers() {
    http("127.0.0.85", |mut s| {
        read_request(&mut s);
        let mut answer = b"HTTP/1.1 401 Unauthorized\r\n".to_vec();
        while answer.len() < 1 << 20 {
            answer.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        answer.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let _ = s.write_all(&answer);
    });
    let run = http_probe("127.0.0.85");
    assert_eq!(code(&run, "winrm-http"), "winrm-not-http", "{}", run.stdout);
}

#[test]
fn http_server_that_closes_mid_response() {
    http("127.0.0.86", |mut s| {
        read_request(&mut s);
        // The status line and half a header, then the connection ends.
        let _ = s.write_all(b"HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-HT");
    });
    let run = http_probe("127.0.0.86");
    assert_eq!(code(&run, "winrm-http"), "winrm-not-http", "{}", run.stdout);
}

#[test]
fn http_server_that_closes_mid_body() {
    // Complete headers, a body cut short: the headers already say what matters (no
    // Negotiate offered), so that is the finding.
    http("127.0.0.91", |mut s| {
        read_request(&mut s);
        let _ = s.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-HTTPAPI/2.0\r\nContent-Length: 500\r\n\r\nabc",
        );
    });
    let run = http_probe("127.0.0.91");
    assert_eq!(code(&run, "winrm-http"), "winrm-no-auth", "{}", run.stdout);
}

#[test]
fn http_server_that_answers_binary_garbage() {
    http("127.0.0.87", |mut s| {
        read_request(&mut s);
        let _ = s.write_all(&[0u8, 0xff, 0x13, 0x37].repeat(4096));
    });
    let run = http_probe("127.0.0.87");
    assert_eq!(code(&run, "winrm-http"), "winrm-not-http", "{}", run.stdout);
}

// ---- WinRM over HTTPS ------------------------------------------------------------------------

struct Pki {
    ca_pem: String,
    ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

fn pki() -> Pki {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hostile test CA");
    let ca =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    Pki {
        ca_pem: ca.pem(),
        ca,
    }
}

/// A leaf for `names`, valid in `years` (e.g. 2020..2021 for an expired one), signed by the CA
/// or by itself.
fn leaf(
    pki: Option<&Pki>,
    names: &[&str],
    years: (i32, i32),
) -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
    params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = match pki {
        Some(p) => params.signed_by(&key, &p.ca).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (vec![cert.der().clone()], key_der)
}

/// An HTTPS "WinRM" at `ip:5986` that answers like WinRM once the handshake is done.
fn https(
    ip: &str,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let config = Arc::new(config);
    let t = TcpListener::bind((ip, 5986)).unwrap();
    thread::spawn(move || {
        for s in t.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, s);
                let mut buf = [0u8; 8192];
                let Ok(n) = tls.read(&mut buf) else { return };
                let wsman = String::from_utf8_lossy(&buf[..n]).contains("/wsman");
                let answer: &[u8] = if wsman {
                    b"HTTP/1.1 401 Unauthorized\r\nServer: Microsoft-HTTPAPI/2.0\r\nWWW-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n"
                } else {
                    b"HTTP/1.1 404 Not Found\r\nServer: Microsoft-HTTPAPI/2.0\r\nContent-Length: 0\r\n\r\n"
                };
                let _ = tls.write_all(answer);
                let _ = tls.flush();
            });
        }
    });
}

fn https_probe(ip: &str, ca: Option<&std::path::Path>) -> Run {
    let mut args = vec![
        "-u".to_owned(),
        user(),
        "--ansible-host".into(),
        ip.into(),
        "--hostname-override".into(),
        WIN01.into(),
        "--port".into(),
        "5986".into(),
    ];
    if let Some(ca) = ca {
        args.extend(["--ca-file".into(), ca.display().to_string()]);
    }
    args.push(WIN01.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    probe_target(&args)
}

fn ca_file(dir: &tempfile::TempDir, pki: &Pki) -> std::path::PathBuf {
    let p = dir.path().join("ca.pem");
    std::fs::write(&p, &pki.ca_pem).unwrap();
    p
}

#[test]
fn tls_with_an_expired_certificate() {
    let pki = pki();
    let (chain, key) = leaf(Some(&pki), &["127.0.0.88"], (2020, 2021));
    https("127.0.0.88", chain, key);
    let dir = tempfile::tempdir().unwrap();
    let run = https_probe("127.0.0.88", Some(&ca_file(&dir, &pki)));
    assert_eq!(
        code(&run, "winrm-http"),
        "winrm-tls-expired",
        "{}",
        run.stdout
    );
}

#[test]
fn tls_with_a_self_signed_certificate() {
    let (chain, key) = leaf(None, &["127.0.0.89"], (2024, 2040));
    https("127.0.0.89", chain, key);
    let run = https_probe("127.0.0.89", None);
    assert_eq!(
        code(&run, "winrm-http"),
        "winrm-tls-untrusted",
        "{}",
        run.stdout
    );
}

#[test]
fn tls_with_a_certificate_for_another_name() {
    let pki = pki();
    let (chain, key) = leaf(Some(&pki), &["other.example.com"], (2024, 2040));
    https("127.0.0.90", chain, key);
    let dir = tempfile::tempdir().unwrap();
    let run = https_probe("127.0.0.90", Some(&ca_file(&dir, &pki)));
    assert_eq!(
        code(&run, "winrm-http"),
        "winrm-tls-name-mismatch",
        "{}",
        run.stdout
    );
}

// ---- DNS ---------------------------------------------------------------------------------------

/// The question section of a DNS query (name labels up to the 4 bytes of type and class).
fn question(q: &[u8]) -> Option<&[u8]> {
    let mut i = 12;
    while *q.get(i)? != 0 {
        i += usize::from(q[i]) + 1;
    }
    q.get(12..i + 5)
}

/// An answer to `q` with `flags`, and `answers` (already encoded resource records).
fn dns_answer(q: &[u8], flags: u16, answers: &[Vec<u8>]) -> Option<Vec<u8>> {
    let question = question(q)?;
    let mut out = q[..2].to_vec();
    out.extend(flags.to_be_bytes());
    out.extend([0, 1]);
    out.extend(u16::try_from(answers.len()).unwrap().to_be_bytes());
    out.extend([0, 0, 0, 0]);
    out.extend(question);
    for a in answers {
        out.extend(a);
    }
    Some(out)
}

fn dns_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.') {
        out.push(u8::try_from(label.len()).unwrap());
        out.extend(label.as_bytes());
    }
    out.push(0);
    out
}

/// A CNAME record `owner -> target`.
fn cname(owner: &str, target: &str) -> Vec<u8> {
    let mut rr = dns_name(owner);
    rr.extend([0, 5, 0, 1, 0, 0, 0, 60]);
    let rdata = dns_name(target);
    rr.extend(u16::try_from(rdata.len()).unwrap().to_be_bytes());
    rr.extend(rdata);
    rr
}

/// A DNS server at `ip:53` (UDP `udp`, TCP: accept and close) and a run of krbprobe whose
/// /etc/resolv.conf names only it (a private mount namespace: the lab's /etc stays as it is).
/// The KDC is given by address so that only the target's lookups meet the hostile server.
fn dns_probe(ip: &'static str, udp: fn(&[u8]) -> Option<Vec<u8>>, target: &str) -> Run {
    let u = UdpSocket::bind((ip, 53)).unwrap();
    let t = TcpListener::bind((ip, 53)).unwrap();
    thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = u.recv_from(&mut buf) {
            if let Some(a) = udp(&buf[..n]) {
                let _ = u.send_to(&a, peer);
            }
        }
    });
    thread::spawn(move || {
        for s in t.incoming().flatten() {
            drop(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        format!("nameserver {ip}\noptions timeout:1 attempts:1\n"),
    )
    .unwrap();
    let c = conf(dir.path(), "127.0.0.10", "");
    let started = Instant::now();
    let out = std::process::Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
        ])
        .arg(&resolv)
        .arg(env!("CARGO_BIN_EXE_krbprobe"))
        .args(["--format", "json", "--timeout", "1s", "--krb5-conf"])
        .arg(&c)
        .args(["-u", &user(), target])
        .env("KRBPROBE_PASSWORD", password())
        .env_remove("KRB5_CONFIG")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
    // The run really asked the hostile server.
    assert!(
        stdout.contains(&format!("\"nameservers\":[\"{ip}\"]"))
            || stdout.contains(&format!("\"{ip}\"")),
        "{stdout}"
    );
    Run {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}")),
        stdout,
        stderr,
        elapsed,
    }
}

#[test]
fn dns_answers_that_loop_through_cnames() {
    let run = dns_probe(
        "127.0.0.93",
        |q| {
            dns_answer(
                q,
                0x8580,
                &[
                    cname("loopa.kurokobo.internal", "loopb.kurokobo.internal"),
                    cname("loopb.kurokobo.internal", "loopa.kurokobo.internal"),
                ],
            )
        },
        "loopa.kurokobo.internal",
    );
    let f = finding(&run, "dns-target");
    assert_eq!(f["status"], "fail", "{f:#}");
    assert!(
        ["dns-target-failed", "dns-target-nxdomain"].contains(&f["code"].as_str().unwrap()),
        "{f:#}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn dns_answers_that_are_truncated() {
    // TC set and no records: the client must retry over TCP, where the server hangs up.
    let run = dns_probe(
        "127.0.0.94",
        |q| dns_answer(q, 0x8780, &[]),
        "kuro-win01.kurokobo.internal",
    );
    let f = finding(&run, "dns-target");
    assert_eq!(f["status"], "fail", "{f:#}");
    assert_eq!(f["code"], "dns-target-failed", "{f:#}");
}

#[test]
fn dns_answers_that_are_cut_short() {
    // A header that promises an answer and a datagram that ends after the question.
    let run = dns_probe(
        "127.0.0.95",
        |q| {
            let mut a = dns_answer(q, 0x8580, &[])?;
            a[7] = 3;
            Some(a)
        },
        "kuro-win01.kurokobo.internal",
    );
    let f = finding(&run, "dns-target");
    assert_eq!(f["status"], "fail", "{f:#}");
}
