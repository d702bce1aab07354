//! One exchange with a KDC: a request out and the raw reply back, over UDP or TCP (RFC 4120
//! §7.2.1 and §7.2.2), within a deadline.
//!
//! Sockets only, no Kerberos: the bytes that come back go to
//! [`decode_reply`](super::decode_reply). Apart from the rest because it is the module's
//! only I/O, and its tests run real sockets on 127.0.0.1.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout, timeout_at};

use super::limits::MAX_REPLY_LEN;

/// Why no reply came back from a KDC.
///
/// Every variant but `Refused` names the address in its message. `Refused`
/// stays a unit variant because callers match it as such (`kdc-reach`
/// reports refusals per address itself).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Connection refused (TCP RST, or ICMP port unreachable for UDP):
    /// the host is up but nothing listens on the port.
    #[error("connection refused (the host is up, nothing listens on the port)")]
    Refused,
    /// The deadline passed during `phase` (`connect`, `write` or `read`).
    #[error("KDC {addr}: timed out during {phase}")]
    Timeout {
        /// The KDC address.
        addr: SocketAddr,
        /// `connect`, `write` or `read`.
        phase: &'static str,
    },
    /// The connection was reset (or aborted) by the peer or a middlebox.
    #[error("KDC {addr}: connection reset")]
    Reset {
        /// The KDC address.
        addr: SocketAddr,
    },
    /// The peer closed the connection without sending anything.
    #[error("KDC {addr}: connection closed without a reply")]
    Closed {
        /// The KDC address.
        addr: SocketAddr,
    },
    /// The peer closed the connection in the middle of the reply.
    #[error("KDC {addr}: reply cut short ({got} of {expected} bytes)")]
    ShortRead {
        /// The KDC address.
        addr: SocketAddr,
        /// Bytes expected (4 for the length prefix, else the body).
        expected: usize,
        /// Bytes received before the connection closed.
        got: usize,
    },
    /// The TCP length prefix has the reserved high bit set or exceeds
    /// [`MAX_REPLY_LEN`]; the peer is most likely not a KDC.
    #[error(
        "KDC {addr}: reply length prefix {len:#010x} is invalid (high bit reserved, limit {MAX_REPLY_LEN} bytes)"
    )]
    TooLarge {
        /// The KDC address.
        addr: SocketAddr,
        /// The length prefix as received.
        len: u32,
    },
    /// Any other socket error.
    #[error("KDC {addr}: {source}")]
    Io {
        /// The KDC address.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
    },
}

impl TransportError {
    fn from_io(addr: SocketAddr, e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => TransportError::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => TransportError::Reset { addr },
            _ => TransportError::Io { addr, source: e },
        }
    }
}

/// Sends `req` in one UDP datagram and returns the first datagram that
/// comes back from `addr`.
///
/// The socket is connected, so datagrams from other sources are dropped by
/// the kernel and an ICMP port unreachable surfaces as
/// [`TransportError::Refused`]. A reply may be `KRB_ERR_RESPONSE_TOO_BIG`
/// ([`KdcReply::is_response_too_big`](super::KdcReply::is_response_too_big)): retrying
/// with [`exchange_tcp`] is the caller's decision.
pub async fn exchange_udp(
    addr: SocketAddr,
    req: &[u8],
    timeout_after: Duration,
) -> Result<Vec<u8>, TransportError> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io_err = |e| TransportError::from_io(addr, e);
    let exchange = async {
        let sock = UdpSocket::bind(local).await.map_err(io_err)?;
        sock.connect(addr).await.map_err(io_err)?;
        sock.send(req).await.map_err(io_err)?;
        // 64 KiB holds any UDP payload, so a reply is never cut here.
        let mut buf = vec![0u8; 65_536];
        let n = sock.recv(&mut buf).await.map_err(io_err)?;
        buf.truncate(n);
        Ok(buf)
    };
    match timeout(timeout_after, exchange).await {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout {
            addr,
            phase: "read",
        }),
    }
}

/// Sends `req` over TCP with the 4-byte big-endian length prefix of RFC
/// 4120 §7.2.2 and returns the reply without its prefix.
///
/// `timeout_after` covers connect, write and read together; the error
/// says in which phase it ran out. Prefixes with the reserved high bit or
/// above [`MAX_REPLY_LEN`] are refused before anything is allocated.
pub async fn exchange_tcp(
    addr: SocketAddr,
    req: &[u8],
    timeout_after: Duration,
) -> Result<Vec<u8>, TransportError> {
    let deadline = Instant::now() + timeout_after;
    let io_err = |e| TransportError::from_io(addr, e);
    let timed_out = |phase| TransportError::Timeout { addr, phase };

    let len = match u32::try_from(req.len()) {
        Ok(len) if len & 0x8000_0000 == 0 => len,
        _ => {
            return Err(TransportError::Io {
                addr,
                source: io::Error::new(io::ErrorKind::InvalidInput, "request too large"),
            });
        }
    };
    let mut framed = Vec::with_capacity(4 + req.len());
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(req);

    let mut stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out("connect"))?
        .map_err(io_err)?;
    timeout_at(deadline, stream.write_all(&framed))
        .await
        .map_err(|_| timed_out("write"))?
        .map_err(io_err)?;

    let mut prefix = [0u8; 4];
    let got = timeout_at(deadline, read_full(&mut stream, &mut prefix))
        .await
        .map_err(|_| timed_out("read"))?
        .map_err(io_err)?;
    match got {
        0 => return Err(TransportError::Closed { addr }),
        4 => {}
        got => {
            return Err(TransportError::ShortRead {
                addr,
                expected: 4,
                got,
            });
        }
    }
    let len = u32::from_be_bytes(prefix);
    if len & 0x8000_0000 != 0 || len as usize > MAX_REPLY_LEN {
        return Err(TransportError::TooLarge { addr, len });
    }
    let mut body = vec![0u8; len as usize];
    let got = timeout_at(deadline, read_full(&mut stream, &mut body))
        .await
        .map_err(|_| timed_out("read"))?
        .map_err(io_err)?;
    if got < body.len() {
        return Err(TransportError::ShortRead {
            addr,
            expected: body.len(),
            got,
        });
    }
    Ok(body)
}

/// Reads until `buf` is full or EOF; returns the bytes read. Unlike
/// `read_exact`, says how many bytes arrived before EOF.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdcproto::encode_as_req;
    use crate::kdcproto::fixtures::{expect_error, params, preauth_required_bytes};
    use std::time::Instant as StdInstant;
    use tokio::net::TcpListener;

    const SHORT: Duration = Duration::from_millis(200);

    fn loopback() -> SocketAddr {
        (Ipv4Addr::LOCALHOST, 0).into()
    }

    #[tokio::test]
    async fn udp_exchange_returns_the_kdc_datagram() {
        let server = UdpSocket::bind(loopback()).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let canned = preauth_required_bytes();
        let reply = canned.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let (n, peer) = server.recv_from(&mut buf).await.expect("recv");
            server.send_to(&reply, peer).await.expect("send");
            buf.truncate(n);
            buf
        });
        let req = encode_as_req(&params());
        let got = exchange_udp(addr, &req, Duration::from_secs(5))
            .await
            .expect("reply");
        assert_eq!(got, canned);
        assert_eq!(task.await.expect("server"), req);
        assert_eq!(expect_error(&got).error_code, 25);
    }

    #[tokio::test]
    async fn udp_exchange_times_out_when_nobody_answers() {
        let server = UdpSocket::bind(loopback()).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let start = StdInstant::now();
        let err = exchange_udp(addr, b"x", SHORT).await.expect_err("no reply");
        assert!(
            matches!(err, TransportError::Timeout { phase: "read", .. }),
            "{err:?}"
        );
        assert!(start.elapsed() >= SHORT && start.elapsed() < Duration::from_secs(3));
        assert!(err.to_string().contains(&addr.to_string()));
        drop(server);
    }

    #[tokio::test]
    async fn udp_exchange_reports_port_unreachable_as_refused() {
        let addr = {
            let s = UdpSocket::bind(loopback()).await.expect("bind");
            s.local_addr().expect("addr")
        };
        let err = exchange_udp(addr, b"x", Duration::from_secs(2))
            .await
            .expect_err("closed port");
        assert!(matches!(err, TransportError::Refused), "{err:?}");
    }

    /// A one-connection TCP server running `behave` on the accepted socket.
    async fn tcp_server<F, Fut>(behave: F) -> SocketAddr
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind(loopback()).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((sock, _)) = listener.accept().await {
                behave(sock).await;
            }
        });
        addr
    }

    async fn read_request(sock: &mut TcpStream) -> Vec<u8> {
        let mut len = [0u8; 4];
        sock.read_exact(&mut len).await.expect("prefix");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        sock.read_exact(&mut body).await.expect("body");
        body
    }

    #[tokio::test]
    async fn tcp_exchange_frames_request_and_reply() {
        let canned = preauth_required_bytes();
        let reply = canned.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let addr = tcp_server(move |mut sock| async move {
            let req = read_request(&mut sock).await;
            let mut framed = (reply.len() as u32).to_be_bytes().to_vec();
            framed.extend_from_slice(&reply);
            // Two writes: the client must reassemble.
            sock.write_all(&framed[..3]).await.expect("write");
            sock.flush().await.expect("flush");
            tokio::time::sleep(Duration::from_millis(20)).await;
            sock.write_all(&framed[3..]).await.expect("write");
            let _ = tx.send(req);
        })
        .await;
        let req = encode_as_req(&params());
        let got = exchange_tcp(addr, &req, Duration::from_secs(5))
            .await
            .expect("reply");
        assert_eq!(got, canned);
        assert_eq!(rx.await.expect("server saw request"), req);
    }

    #[tokio::test]
    async fn tcp_exchange_times_out_in_read_when_kdc_is_silent() {
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        })
        .await;
        let start = StdInstant::now();
        let err = exchange_tcp(addr, b"req", SHORT).await.expect_err("silent");
        assert!(
            matches!(err, TransportError::Timeout { phase: "read", .. }),
            "{err:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn tcp_exchange_reports_close_without_reply() {
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            drop(sock);
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("closed");
        assert!(matches!(err, TransportError::Closed { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn tcp_exchange_rejects_huge_length_prefixes() {
        for prefix in [0xFFFF_FFFFu32, 0x8000_0010, (MAX_REPLY_LEN as u32) + 1] {
            let addr = tcp_server(move |mut sock| async move {
                let _ = read_request(&mut sock).await;
                let _ = sock.write_all(&prefix.to_be_bytes()).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
            })
            .await;
            let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
                .await
                .expect_err("too large");
            assert!(
                matches!(err, TransportError::TooLarge { len, .. } if len == prefix),
                "{err:?}"
            );
        }
    }

    #[tokio::test]
    async fn tcp_exchange_reports_short_reads() {
        // Body cut short.
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            let _ = sock.write_all(&[0, 0, 0, 100, 1, 2, 3]).await;
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("short");
        assert!(
            matches!(
                err,
                TransportError::ShortRead {
                    expected: 100,
                    got: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        // Prefix cut short.
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            let _ = sock.write_all(&[0, 0]).await;
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("short");
        assert!(
            matches!(
                err,
                TransportError::ShortRead {
                    expected: 4,
                    got: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn tcp_exchange_reports_reset() {
        let addr = tcp_server(|mut sock| async move {
            let _ = read_request(&mut sock).await;
            // SO_LINGER 0: close sends RST instead of FIN.
            let _ = sock.set_zero_linger();
            drop(sock);
        })
        .await;
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("reset");
        assert!(matches!(err, TransportError::Reset { .. }), "{err:?}");
        assert!(err.to_string().contains(&addr.to_string()));
    }

    #[tokio::test]
    async fn tcp_exchange_reports_refused() {
        let addr = {
            let l = TcpListener::bind(loopback()).await.expect("bind");
            l.local_addr().expect("addr")
        };
        let err = exchange_tcp(addr, b"req", Duration::from_secs(5))
            .await
            .expect_err("refused");
        assert!(matches!(err, TransportError::Refused), "{err:?}");
    }

    #[tokio::test]
    async fn tcp_exchange_times_out_in_connect_when_backlog_is_full() {
        // A listener that never accepts, with its accept queue filled:
        // Linux then drops further SYNs, so connect() hangs.
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(loopback()).expect("bind");
        let listener = socket.listen(1).expect("listen");
        let addr = listener.local_addr().expect("addr");
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await {
                Ok(Ok(s)) => fillers.push(s),
                _ => break,
            }
        }
        let err = exchange_tcp(addr, b"req", SHORT).await.expect_err("hangs");
        assert!(
            matches!(
                err,
                TransportError::Timeout {
                    phase: "connect",
                    ..
                }
            ),
            "{err:?}"
        );
        drop((listener, fillers));
    }
}
