//! TLS for HTTPS WinRM listeners: which CAs are trusted, a handshake that records the
//! server's chain whatever it is, and the verdict a verifying client (Ansible's) would reach.
//!
//! Trust anchors are Mozilla's (webpki-roots, what pywinrm gets from certifi) plus `--ca-file`
//! (Ansible's `ansible_winrm_ca_trust_path`). The probe works in an empty chroot, so it does
//! not depend on the system CA store.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use serde::Serialize;
use tokio::net::TcpStream;

/// Facts about a certificate, as evidence.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertFacts {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// subjectAltName DNS names and addresses.
    pub names: Vec<String>,
    /// Start of validity (RFC 3339).
    pub not_before: String,
    /// End of validity (RFC 3339).
    pub not_after: String,
    /// Issuer equals subject.
    pub self_signed: bool,
}

/// What a verifying client would conclude.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsVerdict {
    /// Chain and name verify.
    Trusted,
    /// No path to a trusted CA.
    Untrusted(String),
    /// Valid chain, wrong name.
    NameMismatch(String),
    /// Outside its validity period.
    Expired(String),
    /// Anything else wrong with the certificate.
    Invalid(String),
}

/// Result of a recording handshake.
#[derive(Debug, Clone)]
pub struct TlsProbe {
    /// Negotiated protocol version.
    pub version: String,
    /// Leaf certificate facts, if the server sent one.
    pub leaf: Option<CertFacts>,
    /// Verification verdict.
    pub verdict: TlsVerdict,
}

/// Trust anchors and the crypto provider, built once per run.
pub struct Trust {
    provider: Arc<CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
    insecure: bool,
}

impl Trust {
    /// Mozilla's roots plus the PEM certificates in `ca_file`. With `insecure`, the
    /// authenticated session accepts any certificate (the facts are still recorded and
    /// reported).
    pub fn new(ca_file: Option<&Path>, insecure: bool) -> Result<Trust, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(path) = ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "--ca-file {}: no PEM certificate in it",
                    path.display()
                ));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            }
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| format!("TLS verifier: {e}"))?;
        Ok(Trust {
            provider,
            verifier,
            insecure,
        })
    }

    /// True with `--insecure`.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// The configuration for the authenticated WinRM session: verifying, unless `--insecure`.
    pub fn session_config(&self) -> ClientConfig {
        if self.insecure {
            self.recording_config().0
        } else {
            self.verifying_config()
        }
    }

    /// A client configuration that verifies like Ansible with certificate validation on.
    pub fn verifying_config(&self) -> ClientConfig {
        ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(self.verifier.clone())
            .with_no_client_auth()
    }

    /// A configuration that accepts any certificate but records the chain, and the recorder.
    pub fn recording_config(&self) -> (ClientConfig, Arc<Recorder>) {
        let recorder = Arc::new(Recorder {
            algs: self.provider.signature_verification_algorithms,
            chain: Mutex::new(Vec::new()),
        });
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        (config, recorder)
    }
}

/// A verifier that accepts every chain and keeps a copy; only used to observe, never to
/// authenticate anything.
#[derive(Debug)]
pub struct Recorder {
    algs: WebPkiSupportedAlgorithms,
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut slot) = self.chain.lock() {
            *slot = chain;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// RFC 5929 `tls-server-end-point` channel-binding application data for the server's leaf
/// certificate, as pywinrm and pyspnego compute it: `tls-server-end-point:` and the hash of
/// the DER certificate, with the hash of the certificate's signature algorithm, SHA-256 when
/// that is MD5 or SHA-1 (or unknown, e.g. RSASSA-PSS without parsed parameters).
pub fn tls_server_end_point(der: &[u8]) -> Vec<u8> {
    let oid = x509_parser::parse_x509_certificate(der)
        .ok()
        .map(|(_, c)| c.signature_algorithm.algorithm.to_id_string());
    let alg = match oid.as_deref() {
        // sha384WithRSAEncryption, ecdsa-with-SHA384
        Some("1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3") => &ring::digest::SHA384,
        // sha512WithRSAEncryption, ecdsa-with-SHA512
        Some("1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4") => &ring::digest::SHA512,
        _ => &ring::digest::SHA256,
    };
    let mut out = b"tls-server-end-point:".to_vec();
    out.extend_from_slice(ring::digest::digest(alg, der).as_ref());
    out
}

fn facts(der: &CertificateDer<'_>) -> Option<CertFacts> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push((*d).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    names.push(format!("IP:{}", hex_or_ip(ip)))
                }
                _ => {}
            }
        }
    }
    let fmt_time = |t: x509_parser::time::ASN1Time| {
        t.to_rfc2822().unwrap_or_else(|_| t.timestamp().to_string())
    };
    Some(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: fmt_time(cert.validity().not_before),
        not_after: fmt_time(cert.validity().not_after),
        self_signed: cert.subject() == cert.issuer(),
    })
}

fn hex_or_ip(b: &[u8]) -> String {
    match b.len() {
        4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

fn verdict(e: &rustls::Error) -> TlsVerdict {
    let text = e.to_string();
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsVerdict::NameMismatch(text)
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsVerdict::Expired(text),
            // Unknown issuer, a self-signed leaf (webpki: CaUsedAsEndEntity), bad signatures:
            // for Ansible all mean "no path to a CA I trust", with the same remedy.
            _ => TlsVerdict::Untrusted(text),
        },
        _ => TlsVerdict::Invalid(text),
    }
}

/// Connects to `addr`, completes a TLS handshake for `host` recording the chain, and judges
/// the chain as a verifying client would. Every step is bounded by `timeout`.
pub async fn probe(
    addr: SocketAddr,
    host: &str,
    trust: &Trust,
    timeout: Duration,
) -> std::io::Result<TlsProbe> {
    let bounded = |what: &'static str| {
        move |_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{what} timed out"))
    };
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(bounded("TCP connect"))??;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let (config, recorder) = trust.recording_config();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = tokio::time::timeout(timeout, connector.connect(name.clone(), tcp))
        .await
        .map_err(bounded("TLS handshake"))??;
    let version = stream
        .get_ref()
        .1
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let chain = recorder.chain.lock().map(|c| c.clone()).unwrap_or_default();
    let Some((leaf, rest)) = chain.split_first() else {
        return Ok(TlsProbe {
            version,
            leaf: None,
            verdict: TlsVerdict::Invalid("the server sent no certificate".into()),
        });
    };
    let now = UnixTime::since_unix_epoch(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    let verdict = match trust
        .verifier
        .verify_server_cert(leaf, rest, &name, &[], now)
    {
        Ok(_) => TlsVerdict::Trusted,
        Err(e) => verdict(&e),
    };
    Ok(TlsProbe {
        version,
        leaf: facts(leaf),
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).expect("key");
        rcgen::CertificateParams::new(vec!["win01.example.com".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert")
            .der()
            .to_vec()
    }

    #[test]
    fn channel_binding_hashes_with_the_signature_algorithm() {
        // ECDSA P-256 with SHA-256: the SHA-256 of the DER certificate.
        let der = cert(&rcgen::PKCS_ECDSA_P256_SHA256);
        let cb = tls_server_end_point(&der);
        let (prefix, hash) = cb.split_at(b"tls-server-end-point:".len());
        assert_eq!(prefix, b"tls-server-end-point:");
        assert_eq!(
            hash,
            ring::digest::digest(&ring::digest::SHA256, &der).as_ref()
        );
        // ECDSA P-384 with SHA-384: SHA-384 (48 bytes).
        let der = cert(&rcgen::PKCS_ECDSA_P384_SHA384);
        let cb = tls_server_end_point(&der);
        assert_eq!(cb.len(), b"tls-server-end-point:".len() + 48);
        // Not a certificate: SHA-256 of the bytes, never a panic.
        assert_eq!(
            tls_server_end_point(b"garbage").len(),
            b"tls-server-end-point:".len() + 32
        );
    }
}
