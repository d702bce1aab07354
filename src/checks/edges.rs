//! The I/O edges of a run: DNS, KDC exchanges, GSSAPI, WinRM (the unauthenticated probe and an
//! authenticated session) and the clock, each behind a trait, bundled into one [`Io`] that
//! [`crate::checks::run`] takes. `lib.rs` builds the real one ([`Dns`], [`RealKdc`],
//! [`RealGss`], [`RealWinRm`], the system clock); the checks' unit tests build fakes
//! (`checks::fakes`) to drive the order of findings and the skip rules without a network.
//!
//! Generics rather than trait objects: the traits use `async fn`'s return-position
//! `impl Future` (stable, no boxing, no extra crate), which a `dyn` trait cannot have, and the
//! GSSAPI edge names its TGT as an associated type, so the real edge keeps MIT's credential
//! while a fake TGT is plain data. Each check takes only the edge it uses, and there is one
//! concrete `Io` per program (and one per test), so monomorphisation costs nothing.
//!
//! The real implementations are the code that ran before the edges existed, unchanged:
//! [`Dns`], [`kdcproto`]'s transports, [`gss`], [`winrm::probe`](crate::winrm::probe) and
//! [`Session`].

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;

use crate::checks::kdc_reach::Transport;
use crate::dns::{Answer, Dns, DnsFailure, ResolverInfo, Srv};
use crate::gss::{self, GssFailure, ServiceTicket, TgtSource};
use crate::kdcproto::{self, TransportError};
use crate::model::Scheme;
use crate::tls::Trust;
use crate::winrm::probe::{self, Listener};
use crate::winrm::session::{AuthOptions, AuthOutcome, Reply, Session, SessionError};

/// Name resolution as the pod's libc sees it.
pub trait Resolver: Sync {
    /// The configuration in use, for the evidence.
    fn info(&self) -> &ResolverInfo;
    /// Forward lookup (A and AAAA), applying the search list like getaddrinfo.
    fn lookup_ip(&self, host: &str) -> impl Future<Output = Result<Answer, DnsFailure>> + Send;
    /// PTR names of an address, as getnameinfo finds them.
    fn reverse(&self, ip: IpAddr) -> impl Future<Output = Result<Vec<String>, DnsFailure>> + Send;
    /// SRV records for a fully qualified name.
    fn srv(&self, name: &str) -> impl Future<Output = Result<Vec<Srv>, DnsFailure>> + Send;
}

/// One request to a KDC and its raw reply.
pub trait KdcTransport: Sync {
    /// Sends `req` to `addr` over `transport` and returns the reply's bytes (without TCP's
    /// length prefix), within `timeout`.
    fn exchange(
        &self,
        addr: SocketAddr,
        transport: Transport,
        req: &[u8],
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send;
}

/// What the report says about a TGT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgtFacts {
    /// The principal the TGT belongs to.
    pub principal: String,
    /// Remaining lifetime, seconds.
    pub lifetime_secs: u64,
    /// Enctypes and flags as issued, when known (password TGTs).
    pub enctypes: Option<crate::gss::TgtEnctypes>,
}

/// GSSAPI over MIT krb5. The calls block (MIT talks to the KDC synchronously): the checks run
/// them on tokio's blocking pool, which is why the edge is `Clone + 'static`.
pub trait Gss: Clone + Send + Sync + 'static {
    /// A TGT as this edge holds it.
    type Tgt: Clone + Send + Sync + 'static;
    /// Gets a TGT. Blocking.
    fn acquire_tgt(&self, source: &TgtSource<'_>) -> Result<(Self::Tgt, TgtFacts), GssFailure>;
    /// The principal whose TGT a cache holds, if it can be read. Blocking.
    fn cache_principal(&self, ccache: &str) -> Option<String>;
    /// A copy of `tgt` in a cache of its own for target number `n` (local work only).
    fn for_target(&self, tgt: &Self::Tgt, n: usize) -> Result<Self::Tgt, GssFailure>;
    /// A service ticket for `service@host`, asked for as pywinrm asks. Blocking.
    fn service_ticket(
        &self,
        tgt: &Self::Tgt,
        service: &str,
        host: &str,
    ) -> Result<ServiceTicket, GssFailure>;
    /// Whether MIT delegates to `service@host`, and whether the ticket is ok-as-delegate.
    /// Blocking.
    fn delegation(
        &self,
        tgt: &Self::Tgt,
        service: &str,
        host: &str,
    ) -> Result<gss::Delegation, GssFailure>;
}

/// WinRM: what a listener answers unauthenticated, and authenticated sessions.
pub trait WinRm: Sync {
    /// The TGT a session authenticates with (the GSSAPI edge's).
    type Tgt;
    /// An open connection.
    type Session: WinRmSession<Tgt = Self::Tgt>;
    /// The unauthenticated requests (and for https the handshake) to `host` at `sock`.
    fn probe(
        &self,
        host: &str,
        sock: SocketAddr,
        scheme: Scheme,
        timeout: Duration,
    ) -> impl Future<Output = Listener> + Send;
    /// Opens a connection to `host` at `addr`.
    fn connect(
        &self,
        addr: SocketAddr,
        host: &str,
        port: u16,
        scheme: Scheme,
        timeout: Duration,
    ) -> impl Future<Output = Result<Self::Session, SessionError>> + Send;
}

/// One authenticated WinRM connection.
pub trait WinRmSession: Send {
    /// The TGT it authenticates with.
    type Tgt;
    /// Sends a Kerberos token for `gss_target` and completes mutual authentication, holding
    /// one of `gss_slots` for MIT's blocking call.
    fn authenticate(
        &mut self,
        tgt: &Self::Tgt,
        gss_target: &str,
        opts: AuthOptions,
        gss_slots: &Semaphore,
    ) -> impl Future<Output = Result<AuthOutcome, SessionError>> + Send;
    /// Turns message encryption on or off (psrp's `message_encryption`).
    fn set_encrypt(&mut self, on: bool);
    /// Sends one SOAP envelope and returns the answer.
    fn call(&mut self, soap: &str) -> impl Future<Output = Result<Reply, SessionError>> + Send;
}

/// Every I/O edge of a run.
pub struct Io<D, K, G, W> {
    /// The resolver, or why there is none (no usable resolv.conf).
    pub dns: Result<D, String>,
    /// KDC exchanges.
    pub kdc: K,
    /// GSSAPI.
    pub gss: G,
    /// WinRM.
    pub winrm: W,
    /// The clock (kdc-reach compares it with the KDC's).
    pub now: fn() -> SystemTime,
}

impl Resolver for Dns {
    fn info(&self) -> &ResolverInfo {
        Dns::info(self)
    }

    fn lookup_ip(&self, host: &str) -> impl Future<Output = Result<Answer, DnsFailure>> + Send {
        Dns::lookup_ip(self, host)
    }

    fn reverse(&self, ip: IpAddr) -> impl Future<Output = Result<Vec<String>, DnsFailure>> + Send {
        Dns::reverse(self, ip)
    }

    fn srv(&self, name: &str) -> impl Future<Output = Result<Vec<Srv>, DnsFailure>> + Send {
        Dns::srv(self, name)
    }
}

/// KDC exchanges over the network ([`kdcproto`]'s transports).
#[derive(Debug, Clone, Copy)]
pub struct RealKdc;

impl KdcTransport for RealKdc {
    async fn exchange(
        &self,
        addr: SocketAddr,
        transport: Transport,
        req: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        match transport {
            Transport::Udp => kdcproto::exchange_udp(addr, req, timeout).await,
            Transport::Tcp => kdcproto::exchange_tcp(addr, req, timeout).await,
        }
    }
}

/// MIT's GSSAPI ([`gss`]).
#[derive(Debug, Clone, Copy)]
pub struct RealGss;

impl Gss for RealGss {
    type Tgt = gss::Tgt;

    fn acquire_tgt(&self, source: &TgtSource<'_>) -> Result<(gss::Tgt, TgtFacts), GssFailure> {
        gss::acquire_tgt(source).map(|t| {
            let facts = TgtFacts {
                principal: t.principal.clone(),
                lifetime_secs: t.lifetime_secs,
                enctypes: t.enctypes,
            };
            (t, facts)
        })
    }

    fn cache_principal(&self, ccache: &str) -> Option<String> {
        gss::cache_principal(ccache)
    }

    fn for_target(&self, tgt: &gss::Tgt, n: usize) -> Result<gss::Tgt, GssFailure> {
        tgt.for_target(n)
    }

    fn service_ticket(
        &self,
        tgt: &gss::Tgt,
        service: &str,
        host: &str,
    ) -> Result<ServiceTicket, GssFailure> {
        gss::service_ticket(tgt, service, host)
    }

    fn delegation(
        &self,
        tgt: &gss::Tgt,
        service: &str,
        host: &str,
    ) -> Result<gss::Delegation, GssFailure> {
        gss::delegation(tgt, service, host)
    }
}

/// WinRM over the network ([`probe`], [`Session`]), trusting `trust` for https.
pub struct RealWinRm {
    /// Trust anchors for https.
    pub trust: Arc<Trust>,
}

impl WinRm for RealWinRm {
    type Tgt = gss::Tgt;
    type Session = Session;

    fn probe(
        &self,
        host: &str,
        sock: SocketAddr,
        scheme: Scheme,
        timeout: Duration,
    ) -> impl Future<Output = Listener> + Send {
        probe::probe(host, sock, scheme, &self.trust, timeout)
    }

    fn connect(
        &self,
        addr: SocketAddr,
        host: &str,
        port: u16,
        scheme: Scheme,
        timeout: Duration,
    ) -> impl Future<Output = Result<Session, SessionError>> + Send {
        Session::connect(addr, host, port, scheme, &self.trust, timeout)
    }
}

impl WinRmSession for Session {
    type Tgt = gss::Tgt;

    fn authenticate(
        &mut self,
        tgt: &gss::Tgt,
        gss_target: &str,
        opts: AuthOptions,
        gss_slots: &Semaphore,
    ) -> impl Future<Output = Result<AuthOutcome, SessionError>> + Send {
        Session::authenticate(self, tgt, gss_target, opts, gss_slots)
    }

    fn set_encrypt(&mut self, on: bool) {
        Session::set_encrypt(self, on)
    }

    fn call(&mut self, soap: &str) -> impl Future<Output = Result<Reply, SessionError>> + Send {
        Session::call(self, soap)
    }
}
