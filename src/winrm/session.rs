//! One authenticated WinRM connection, as pywinrm's kerberos transport makes it: a raw krb5
//! GSS token in `Authorization: Negotiate`, mutual authentication from the answer's
//! `WWW-Authenticate`, then (over http) every message sealed with gss_wrap_iov inside the
//! multipart/encrypted framing. One security context per keep-alive connection, so the
//! connection is a single hyper HTTP/1.1 connection, never a pool.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_KRB5, GSS_NT_HOSTBASED_SERVICE};
use libgssapi::util::{GssIov, GssIovType};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::gss::{GssFailure, Tgt};
use crate::model::Scheme;
use crate::tls::Trust;
use crate::winrm::multipart;

/// The encryption protocol pywinrm (0.5) announces for its `kerberos` transport: it
/// authenticates with `Negotiate` (carrying a raw krb5 token, not SPNEGO), so it labels the
/// sealed messages as SPNEGO-session-encrypted.
pub const PROTOCOL: &str = "application/HTTP-SPNEGO-session-encrypted";

/// Largest answer body read (WinRM's MaxEnvelopeSize is 500 KB).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Where in the exchange something went wrong.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// TCP or TLS could not be set up.
    #[error("{phase}: {detail}")]
    Connect {
        /// `tcp` or `tls`.
        phase: &'static str,
        /// What happened.
        detail: String,
    },
    /// An HTTP exchange failed.
    #[error("http: {0}")]
    Http(String),
    /// The host did not answer an HTTP exchange within the timeout (a listener that took the
    /// connection and the unauthenticated requests, then stalled).
    #[error("http: {0}")]
    Timeout(String),
    /// GSSAPI refused (token creation, mutual authentication, wrap/unwrap).
    #[error("kerberos: {}", .0.message())]
    Gss(GssFailure),
    /// The peer's encrypted body is malformed or does not decrypt.
    #[error("encryption: {0}")]
    Encryption(String),
    /// The answer decrypted to its announced length plus RFC 4757 padding: the session key is
    /// rc4-hmac, whose WinRM-sealed answers pywinrm cannot decrypt either.
    #[error(
        "encryption: decrypted {got} bytes, the server announced {announced} (the extra bytes are RC4 padding: an rc4-hmac session key)"
    )]
    Rc4Padded {
        /// Bytes after unwrapping.
        got: usize,
        /// `OriginalContent` length.
        announced: usize,
    },
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// `WWW-Authenticate` values.
    pub www_authenticate: Vec<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// Body (decrypted when it came encrypted).
    pub body: Bytes,
    /// Whether the body came as multipart/encrypted.
    pub was_encrypted: bool,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open WinRM connection.
pub struct Session {
    sender: SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
    authority: String,
    timeout: Duration,
    encrypt: bool,
    ctx: Option<ClientCtx>,
    /// The https server certificate's tls-server-end-point binding (none over http).
    channel_binding: Option<Vec<u8>>,
}

/// How the client builds its token: what differs between pywinrm and pypsrp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthOptions {
    /// SPNEGO-wrapped Kerberos (pyspnego's `negotiate`) instead of a raw krb5 token
    /// (pywinrm, and pypsrp's `kerberos`).
    pub spnego: bool,
    /// Send the tls-server-end-point channel binding over https, as pywinrm and pypsrp do by
    /// default (a host with `CbtHardeningLevel=Strict` refuses a token without it).
    pub channel_binding: bool,
    /// Ask for a forwarded TGT in the token (delegation).
    pub delegate: bool,
}

/// The OID of NTLMSSP (1.3.6.1.4.1.311.2.2.10), DER-encoded with its tag and length: a host
/// whose SPNEGO answer names it wants NTLM, which pyspnego would then use without a word.
const NTLMSSP_OID: &[u8] = b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a";

/// True when a SPNEGO token from the host names NTLM (its supportedMech), or is a raw NTLM
/// message.
pub fn names_ntlm(token: &[u8]) -> bool {
    token.starts_with(b"NTLMSSP\0") || token.windows(NTLMSSP_OID.len()).any(|w| w == NTLMSSP_OID)
}

impl Drop for Session {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Outcome of the authentication round trip.
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    /// The server accepted the token and proved itself (mutual authentication).
    Established {
        /// Status of the authenticating request.
        status: u16,
    },
    /// The server answered 401 to a valid token: credentials rejected.
    Rejected {
        /// `WWW-Authenticate` values of the 401.
        offers: Vec<String>,
    },
    /// The host answered the SPNEGO token by choosing NTLM: no Kerberos with this host, and
    /// pyspnego would continue with NTLM silently.
    NtlmSelected {
        /// Status of the answer.
        status: u16,
    },
    /// The server accepted but sent no (or a bad) mutual-authentication token.
    NoMutual {
        /// Status of the answer.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

impl Session {
    /// Connects to `addr` (TLS with a verifying configuration for https).
    pub async fn connect(
        addr: SocketAddr,
        host: &str,
        port: u16,
        scheme: Scheme,
        trust: &Arc<Trust>,
        timeout: Duration,
    ) -> Result<Session, SessionError> {
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| SessionError::Connect {
                phase: "tcp",
                detail: format!("connect to {addr} timed out"),
            })?
            .map_err(|e| SessionError::Connect {
                phase: "tcp",
                detail: format!("connect to {addr}: {e}"),
            })?;
        let mut channel_binding = None;
        let io: Box<dyn Io> = match scheme {
            Scheme::Http => Box::new(tcp),
            Scheme::Https => {
                let name =
                    rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| {
                        SessionError::Connect {
                            phase: "tls",
                            detail: e.to_string(),
                        }
                    })?;
                let connector = tokio_rustls::TlsConnector::from(Arc::new(trust.session_config()));
                let tls = tokio::time::timeout(timeout, connector.connect(name, tcp))
                    .await
                    .map_err(|_| SessionError::Connect {
                        phase: "tls",
                        detail: "handshake timed out".into(),
                    })?
                    .map_err(|e| SessionError::Connect {
                        phase: "tls",
                        detail: e.to_string(),
                    })?;
                channel_binding = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|leaf| crate::tls::tls_server_end_point(leaf.as_ref()));
                Box::new(tls)
            }
        };
        let (sender, conn) = tokio::time::timeout(
            timeout,
            hyper::client::conn::http1::handshake(TokioIo::new(io)),
        )
        .await
        .map_err(|_| SessionError::Http("HTTP handshake timed out".into()))?
        .map_err(|e| SessionError::Http(e.to_string()))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Session {
            sender,
            driver,
            authority: format!("{host}:{port}"),
            timeout,
            encrypt: scheme == Scheme::Http,
            ctx: None,
            channel_binding,
        })
    }

    async fn post(
        &mut self,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, SessionError> {
        let mut req = hyper::Request::post("/wsman")
            .header("Host", &self.authority)
            .header("User-Agent", crate::winrm::USER_AGENT)
            .header("Content-Length", body.len().to_string());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| SessionError::Http(e.to_string()))?;
        let t = self.timeout;
        tokio::time::timeout(t, self.sender.ready())
            .await
            .map_err(|_| SessionError::Timeout("connection not ready (timeout)".into()))?
            .map_err(|e| SessionError::Http(format!("connection closed: {e}")))?;
        let resp = tokio::time::timeout(t, self.sender.send_request(req))
            .await
            .map_err(|_| SessionError::Timeout("no answer within the timeout".into()))?
            .map_err(|e| SessionError::Http(e.to_string()))?;
        let (parts, body) = resp.into_parts();
        let body = tokio::time::timeout(t, Limited::new(body, MAX_BODY).collect())
            .await
            .map_err(|_| SessionError::Timeout("body not received within the timeout".into()))?
            .map_err(|e| SessionError::Http(format!("body: {e}")))?
            .to_bytes();
        let text = |name: &str| -> Vec<String> {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect()
        };
        Ok(Reply {
            status: parts.status.as_u16(),
            www_authenticate: text("www-authenticate"),
            content_type: text("content-type").into_iter().next(),
            body,
            was_encrypted: false,
        })
    }

    /// Whether messages are sealed (over http, unless [`Session::set_encrypt`] said otherwise).
    pub fn encrypts(&self) -> bool {
        self.encrypt
    }

    /// Turns message encryption on or off (pypsrp's `message_encryption`: `never` sends plain
    /// SOAP over http, `always` seals over https too).
    pub fn set_encrypt(&mut self, on: bool) {
        self.encrypt = on;
    }

    /// Sends a Kerberos token for `HTTP@host` (raw krb5, or SPNEGO as `opts` says) and
    /// completes mutual authentication.
    pub async fn authenticate(
        &mut self,
        tgt: &Tgt,
        gss_target: &str,
        opts: AuthOptions,
        gss_slots: &Semaphore,
    ) -> Result<AuthOutcome, SessionError> {
        let tgt = tgt.clone();
        let target = gss_target.to_owned();
        let bindings = self
            .channel_binding
            .clone()
            .filter(|_| opts.channel_binding);
        let mech = if opts.spnego {
            libgssapi::oid::GSS_MECH_SPNEGO
        } else {
            GSS_MECH_KRB5
        };
        let mut flags = CtxFlags::GSS_C_MUTUAL_FLAG
            | CtxFlags::GSS_C_SEQUENCE_FLAG
            | CtxFlags::GSS_C_CONF_FLAG
            | CtxFlags::GSS_C_INTEG_FLAG;
        if opts.delegate {
            flags |= CtxFlags::GSS_C_DELEG_FLAG;
        }
        // Starting the context may ask the KDC for the service ticket: keep it off the runtime,
        // and bound it like every other network step (MIT retries KDCs on its own timers).
        let deadline = crate::gss::call_deadline(self.timeout);
        // One of the run's --jobs slots for MIT's blocking call, released before the request.
        let slot = gss_slots
            .acquire()
            .await
            .map_err(|e| SessionError::Http(format!("GSSAPI slot: {e}")))?;
        let job = tokio::task::spawn_blocking(move || {
            let cred = if opts.spnego {
                tgt.spnego_cred()?
            } else {
                tgt.cred.clone()
            };
            let name = Name::new(target.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
                .map_err(|e| GssFailure::from_error(&e, "gss_import_name"))?;
            let mut ctx = ClientCtx::new(Some(cred), name, flags, Some(mech));
            let token = ctx
                .step(None, bindings.as_deref())
                .map_err(|e| GssFailure::from_error(&e, "gss_init_sec_context"))?
                .map(|b| b.to_vec())
                .unwrap_or_default();
            Ok::<_, GssFailure>((ctx, token))
        });
        let (ctx, token) = tokio::time::timeout(deadline, job)
            .await
            .map_err(|_| SessionError::Http("no service ticket within the deadline".into()))?
            .map_err(|e| SessionError::Http(format!("GSSAPI task: {e}")))?
            .map_err(SessionError::Gss)?;
        drop(slot);
        let auth = format!("Negotiate {}", B64.encode(&token));
        // Like pywinrm with message encryption: an empty POST authenticates the connection.
        let reply = self
            .post(
                &[
                    ("Authorization", auth),
                    ("Content-Type", "application/soap+xml;charset=UTF-8".into()),
                ],
                Vec::new(),
            )
            .await?;
        if reply.status == 401 {
            return Ok(AuthOutcome::Rejected {
                offers: reply.www_authenticate,
            });
        }
        let mutual = reply.www_authenticate.iter().find_map(|v| {
            let (scheme, tok) = v.split_once(' ')?;
            (scheme.eq_ignore_ascii_case("Kerberos") || scheme.eq_ignore_ascii_case("Negotiate"))
                .then(|| tok.trim().to_owned())
        });
        let Some(mutual) = mutual else {
            return Ok(AuthOutcome::NoMutual {
                status: reply.status,
                detail: "no Kerberos token in WWW-Authenticate".into(),
            });
        };
        let Ok(mutual) = B64.decode(mutual) else {
            return Ok(AuthOutcome::NoMutual {
                status: reply.status,
                detail: "the WWW-Authenticate token is not base64".into(),
            });
        };
        if opts.spnego && names_ntlm(&mutual) {
            return Ok(AuthOutcome::NtlmSelected {
                status: reply.status,
            });
        }
        let mut ctx = ctx;
        match ctx.step(Some(&mutual), None) {
            Ok(None) if ctx.is_complete() => {}
            Ok(_) => {
                return Ok(AuthOutcome::NoMutual {
                    status: reply.status,
                    detail: "the context is not complete after the server's token".into(),
                });
            }
            Err(e) => {
                let f = GssFailure::from_error(&e, "gss_init_sec_context (AP-REP)");
                return Ok(AuthOutcome::NoMutual {
                    status: reply.status,
                    detail: f.message(),
                });
            }
        }
        self.ctx = Some(ctx);
        Ok(AuthOutcome::Established {
            status: reply.status,
        })
    }

    /// Sends one SOAP envelope (sealed over http) and returns the (unsealed) answer.
    pub async fn call(&mut self, soap: &str) -> Result<Reply, SessionError> {
        let (headers, body) = if self.encrypt {
            let ctx = self
                .ctx
                .as_mut()
                .ok_or_else(|| SessionError::Encryption("no security context".into()))?;
            let (header, sealed) = seal(ctx, soap.as_bytes()).map_err(SessionError::Gss)?;
            (
                vec![("Content-Type", multipart::content_type(PROTOCOL))],
                multipart::encode(PROTOCOL, soap.len(), &header, &sealed),
            )
        } else {
            (
                vec![(
                    "Content-Type",
                    "application/soap+xml;charset=UTF-8".to_owned(),
                )],
                soap.as_bytes().to_vec(),
            )
        };
        let mut reply = self.post(&headers, body).await?;
        let encrypted = reply
            .content_type
            .as_deref()
            .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/encrypted"));
        if encrypted {
            let ctx = self.ctx.as_mut().ok_or_else(|| {
                SessionError::Encryption("encrypted answer without a context".into())
            })?;
            let parts = multipart::decode(&reply.body)
                .map_err(|e| SessionError::Encryption(e.to_string()))?;
            let plain = unseal(ctx, parts.header, parts.ciphertext)
                .map_err(|e| SessionError::Encryption(e.message()))?;
            if rc4_padded(&plain, parts.plaintext_len) {
                return Err(SessionError::Rc4Padded {
                    got: plain.len(),
                    announced: parts.plaintext_len,
                });
            }
            if plain.len() != parts.plaintext_len {
                return Err(SessionError::Encryption(format!(
                    "decrypted {} bytes, the server announced {}",
                    plain.len(),
                    parts.plaintext_len
                )));
            }
            reply.body = Bytes::from(plain);
            reply.was_encrypted = true;
        }
        Ok(reply)
    }
}

/// The plaintext ends in 1..=8 bytes each holding the pad count past what the server
/// announced: the padding an rc4-hmac (RFC 4757) wrap keeps on the data, where AES has none.
fn rc4_padded(plain: &[u8], announced: usize) -> bool {
    let extra = plain.len().saturating_sub(announced);
    (1..=8).contains(&extra) && plain[announced..].iter().all(|&b| usize::from(b) == extra)
}

/// gss_wrap_iov with confidentiality: returns (header, ciphertext) as WinRM frames them.
fn seal(ctx: &mut ClientCtx, plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>), GssFailure> {
    let mut data = plain.to_vec();
    let mut iov = [
        GssIov::new_alloc(GssIovType::Header),
        GssIov::new(GssIovType::Data, &mut data),
        GssIov::new_alloc(GssIovType::Padding),
    ];
    ctx.wrap_iov(true, &mut iov)
        .map_err(|e| GssFailure::from_error(&e, "gss_wrap_iov"))?;
    let header = iov[0].to_vec();
    let padding = iov[2].to_vec();
    drop(iov);
    data.extend_from_slice(&padding);
    Ok((header, data))
}

/// gss_unwrap_iov of a WinRM (header, ciphertext) pair.
fn unseal(ctx: &mut ClientCtx, header: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, GssFailure> {
    let mut header = header.to_vec();
    let mut data = ciphertext.to_vec();
    let mut iov = [
        GssIov::new(GssIovType::Header, &mut header),
        GssIov::new(GssIovType::Data, &mut data),
    ];
    ctx.unwrap_iov(&mut iov)
        .map_err(|e| GssFailure::from_error(&e, "gss_unwrap_iov"))?;
    drop(iov);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::rc4_padded;

    #[test]
    fn rc4_padding_is_told_from_other_length_mismatches() {
        assert!(rc4_padded(b"abc\x01", 3));
        assert!(rc4_padded(b"abc\x03\x03\x03", 3));
        assert!(!rc4_padded(b"abc", 3)); // no extra bytes: AES
        assert!(!rc4_padded(b"abc\x02", 3)); // a byte that is not its own count
        assert!(!rc4_padded(b"ab", 3)); // shorter than announced
        assert!(!rc4_padded(&[9; 13], 3)); // more than 8 bytes too many
    }
}
