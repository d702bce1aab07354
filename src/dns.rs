//! DNS as the pod's libc sees it: `/etc/resolv.conf` (nameservers, search list, ndots) and
//! `/etc/hosts`, through hickory-resolver.
//!
//! This is the I/O edge for name resolution. It returns plain data ([`Answer`],
//! [`DnsFailure`]) so the checks' decisions can be unit-tested without a DNS server.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::LookupIpStrategy;
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::op::{Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use serde::Serialize;

/// A successful forward lookup.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Answer {
    /// The name that answered, after the search list was applied (no trailing dot).
    pub name: String,
    /// CNAME chain from the queried name to the canonical one, if any.
    pub cnames: Vec<String>,
    /// Addresses, in the order the server gave them.
    pub addrs: Vec<IpAddr>,
}

/// An SRV record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Srv {
    /// Target host (no trailing dot).
    pub target: String,
    /// Port.
    pub port: u16,
    /// Priority (lower first).
    pub priority: u16,
    /// Weight.
    pub weight: u16,
}

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum DnsFailure {
    /// The name does not exist, or has no record of the asked type.
    NotFound,
    /// No answer within the timeout.
    Timeout,
    /// The server answered with an error (SERVFAIL, REFUSED, ...) or the query failed.
    Error(String),
}

impl DnsFailure {
    fn from_net(e: &NetError) -> Self {
        if e.is_nx_domain() || e.is_no_records_found() {
            DnsFailure::NotFound
        } else if matches!(e, NetError::Timeout) {
            DnsFailure::Timeout
        } else {
            DnsFailure::Error(e.to_string())
        }
    }

    /// Short text for summaries.
    pub fn describe(&self) -> String {
        match self {
            DnsFailure::NotFound => "no such name (NXDOMAIN or no address)".into(),
            DnsFailure::Timeout => "no answer from the DNS server (timeout)".into(),
            DnsFailure::Error(e) => format!("lookup failed: {e}"),
        }
    }
}

/// The resolver configuration, as evidence: what the pod's libc would use.
#[derive(Debug, Clone, Serialize)]
pub struct ResolverInfo {
    /// Nameserver addresses from resolv.conf.
    pub nameservers: Vec<IpAddr>,
    /// Search list.
    pub search: Vec<String>,
    /// ndots option.
    pub ndots: usize,
}

/// A resolver configured from the system files, with the run's timeout.
pub struct Dns {
    resolver: TokioResolver,
    info: ResolverInfo,
    hosts_reverse: Vec<(IpAddr, String)>,
    timeout: Duration,
    deadline: Duration,
    /// Queries in flight that have not yet been slow (see [`Dns::paced`]).
    inflight: tokio::sync::Semaphore,
}

/// At most this many quick queries in flight: hundreds of targets at once otherwise overflow
/// the DNS server's socket buffer, and each lost datagram costs a whole timeout.
const MAX_INFLIGHT: usize = 64;

/// A query that has not answered by now no longer counts against [`MAX_INFLIGHT`]: a dead
/// server must not make the other lookups queue behind its timeouts.
const SLOW_QUERY: Duration = Duration::from_millis(50);

/// One PTR query over UDP to `ns`; the names in the answer, or why there are none.
async fn ptr_exchange(ns: IpAddr, wire: &[u8], id: u16) -> Result<Vec<String>, DnsFailure> {
    let io = |e: std::io::Error| DnsFailure::Error(format!("nameserver {ns}: {e}"));
    let bind: std::net::SocketAddr = if ns.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let sock = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
    sock.connect((ns, 53)).await.map_err(io)?;
    sock.send(wire).await.map_err(io)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await.map_err(io)?;
        let Ok(reply) = Message::from_vec(&buf[..n]) else {
            continue; // Not a DNS message: keep waiting for the real answer.
        };
        if reply.metadata.id != id {
            continue;
        }
        return match reply.metadata.response_code {
            ResponseCode::NoError => Ok(reply
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::PTR(p) => Some(trim_dot(&p.0)),
                    _ => None,
                })
                .collect()),
            ResponseCode::NXDomain => Err(DnsFailure::NotFound),
            other => Err(DnsFailure::Error(format!(
                "nameserver {ns} answered {other}"
            ))),
        };
    }
}

/// `/etc/hosts` as (address, first name) pairs, for reverse lookups.
fn read_hosts_reverse() -> Vec<(IpAddr, String)> {
    let Ok(text) = std::fs::read_to_string("/etc/hosts") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let addr = words.next()?.parse().ok()?;
            Some((addr, words.next()?.to_owned()))
        })
        .collect()
}

fn trim_dot(n: &Name) -> String {
    let s = n.to_string();
    s.strip_suffix('.').map(str::to_owned).unwrap_or(s)
}

impl Dns {
    /// Reads `/etc/resolv.conf` and `/etc/hosts`. `timeout` bounds each query.
    pub fn from_system(timeout: Duration) -> Result<Dns, String> {
        let (config, mut opts) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| format!("/etc/resolv.conf: {e}"))?;
        let info = ResolverInfo {
            nameservers: config.name_servers().iter().map(|n| n.ip).collect(),
            search: config.search().iter().map(trim_dot).collect(),
            ndots: opts.ndots,
        };
        opts.timeout = timeout;
        // One attempt per server: the probe reports slowness instead of hiding it in retries.
        opts.attempts = 1;
        // getaddrinfo(AF_UNSPEC) asks for both families, as the pod's libc does.
        opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        opts.cache_size = 256;
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = opts;
        let resolver = builder.build().map_err(|e| e.to_string())?;
        // Search-list expansion may issue several queries one after another; bound the whole
        // lookup as well so that a dead server cannot multiply the wait.
        let deadline = timeout * 2;
        Ok(Dns {
            resolver,
            info,
            hosts_reverse: read_hosts_reverse(),
            timeout,
            deadline,
            inflight: tokio::sync::Semaphore::new(MAX_INFLIGHT),
        })
    }

    /// Runs a query holding one of [`MAX_INFLIGHT`] slots until it answers or turns out slow.
    async fn paced<T>(&self, fut: impl std::future::Future<Output = T>) -> T {
        let slot = self.inflight.acquire().await.ok();
        let mut fut = std::pin::pin!(fut);
        tokio::select! {
            out = &mut fut => return out,
            _ = tokio::time::sleep(SLOW_QUERY) => {}
        }
        drop(slot);
        fut.await
    }

    /// The configuration in use.
    pub fn info(&self) -> &ResolverInfo {
        &self.info
    }

    /// Forward lookup (A and AAAA), applying the search list like getaddrinfo.
    pub async fn lookup_ip(&self, host: &str) -> Result<Answer, DnsFailure> {
        let fut = self.resolver.lookup_ip(host);
        let lookup = match self.paced(tokio::time::timeout(self.deadline, fut)).await {
            Err(_) => return Err(DnsFailure::Timeout),
            Ok(Err(e)) => return Err(DnsFailure::from_net(&e)),
            Ok(Ok(l)) => l,
        };
        let mut cnames = Vec::new();
        let mut addrs = Vec::new();
        let mut name = trim_dot(lookup.query().name());
        for r in lookup.as_lookup().answers() {
            match &r.data {
                RData::CNAME(c) => cnames.push(trim_dot(&c.0)),
                RData::A(a) => {
                    addrs.push(IpAddr::V4(a.0));
                    name = trim_dot(&r.name);
                }
                RData::AAAA(a) => {
                    addrs.push(IpAddr::V6(a.0));
                    name = trim_dot(&r.name);
                }
                _ => {}
            }
        }
        if addrs.is_empty() {
            return Err(DnsFailure::NotFound);
        }
        // The owner of the first CNAME is the name that matched the search list.
        if let Some(first) = lookup
            .as_lookup()
            .answers()
            .iter()
            .find(|r| r.record_type() == RecordType::CNAME)
        {
            cnames.insert(0, trim_dot(&first.name));
        }
        Ok(Answer {
            name,
            cnames,
            addrs,
        })
    }

    /// PTR names of an address, as getnameinfo(3) finds them: `/etc/hosts` first, then a PTR
    /// query to each nameserver in turn.
    ///
    /// Not through hickory's resolver: it answers every 127.0.0.0/8 reverse query with
    /// "localhost" itself (RFC 6761), while the pod's libc, and so MIT's `rdns`, asks DNS.
    pub async fn reverse(&self, ip: IpAddr) -> Result<Vec<String>, DnsFailure> {
        if let Some(name) = self
            .hosts_reverse
            .iter()
            .find(|(a, _)| *a == ip)
            .map(|(_, n)| n)
        {
            return Ok(vec![name.clone()]);
        }
        let mut msg = Message::query();
        msg.metadata.recursion_desired = true;
        msg.add_query(Query::query(Name::from(ip), RecordType::PTR));
        let id = msg.metadata.id;
        let wire = msg
            .to_vec()
            .map_err(|e| DnsFailure::Error(format!("cannot encode PTR query: {e}")))?;
        let mut last = DnsFailure::Error("no nameserver in /etc/resolv.conf".into());
        for ns in &self.info.nameservers {
            match self
                .paced(tokio::time::timeout(
                    self.timeout,
                    ptr_exchange(*ns, &wire, id),
                ))
                .await
            {
                Err(_) => last = DnsFailure::Timeout,
                Ok(Ok(names)) if names.is_empty() => return Err(DnsFailure::NotFound),
                Ok(Ok(names)) => return Ok(names),
                // NXDOMAIN is an answer; SERVFAIL/REFUSED make libc try the next server.
                Ok(Err(DnsFailure::NotFound)) => return Err(DnsFailure::NotFound),
                Ok(Err(e)) => last = e,
            }
        }
        Err(last)
    }

    /// SRV records for a fully qualified name such as `_kerberos._udp.EXAMPLE.COM`.
    pub async fn srv(&self, name: &str) -> Result<Vec<Srv>, DnsFailure> {
        // A trailing dot keeps the search list out of it, as MIT queries the absolute name.
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let fut = self.resolver.srv_lookup(fqdn.as_str());
        match self.paced(tokio::time::timeout(self.deadline, fut)).await {
            Err(_) => Err(DnsFailure::Timeout),
            Ok(Err(e)) => Err(DnsFailure::from_net(&e)),
            Ok(Ok(l)) => {
                let mut out: Vec<Srv> = l
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::SRV(s) => Some(Srv {
                            target: trim_dot(&s.target),
                            port: s.port,
                            priority: s.priority,
                            weight: s.weight,
                        }),
                        _ => None,
                    })
                    .collect();
                out.sort_by_key(|s| (s.priority, std::cmp::Reverse(s.weight)));
                if out.is_empty() {
                    Err(DnsFailure::NotFound)
                } else {
                    Ok(out)
                }
            }
        }
    }
}
