//! Fake I/O edges for the checks' unit tests: a resolver, KDCs, GSSAPI and WinRM hosts
//! scripted by name, so that `checks::run` runs end to end without a network. They script
//! outcomes only (an answer, a refusal, a MIT error code); what the checks make of them is the
//! real decision logic. Everything healthy unless told otherwise, on a fixed clock.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::Semaphore;

use crate::checks::edges::{Gss, Io, KdcTransport, Resolver, TgtFacts, WinRm, WinRmSession};
use crate::checks::kdc_reach::Transport;
use crate::dns::{Answer, DnsFailure, ResolverInfo, Srv};
use crate::gss::{GssFailure, ServiceTicket, TgtSource};
use crate::kdcproto::{self, TransportError};
use crate::model::Scheme;
use crate::winrm::probe::{HttpFailure, HttpObs, Listener};
use crate::winrm::session::{AuthOptions, AuthOutcome, Reply, SessionError};

/// The fakes' clock: 2026-03-14T15:09:26Z.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_773_500_966)
}

/// The edges of a test run.
pub type FakeIo = Io<FakeDns, FakeKdc, FakeGss, FakeWinRm>;

/// All edges healthy and empty: add hosts and KDCs to them.
pub fn io(dns: FakeDns, kdc: FakeKdc) -> FakeIo {
    Io {
        dns: Ok(dns),
        kdc,
        gss: FakeGss::default(),
        winrm: FakeWinRm::default(),
        now,
    }
}

/// Names and addresses. A name it does not know is NXDOMAIN.
pub struct FakeDns {
    forward: HashMap<String, Result<Answer, DnsFailure>>,
    reverse: HashMap<IpAddr, Vec<String>>,
    srv: HashMap<String, Vec<Srv>>,
    /// Names whose lookup panics (the run's panic net must catch it).
    panics: Vec<String>,
    /// Names answered only after this long (to finish out of order).
    slow: HashMap<String, Duration>,
    info: ResolverInfo,
}

impl Default for FakeDns {
    fn default() -> Self {
        FakeDns {
            forward: HashMap::new(),
            reverse: HashMap::new(),
            srv: HashMap::new(),
            panics: Vec::new(),
            slow: HashMap::new(),
            info: ResolverInfo {
                nameservers: vec!["10.0.0.53".parse().expect("address")],
                search: vec!["example.com".into()],
                ndots: 1,
            },
        }
    }
}

impl FakeDns {
    /// `name` has the address `ip`, and `ip` the PTR `name`.
    pub fn host(mut self, name: &str, ip: &str) -> Self {
        let ip: IpAddr = ip.parse().expect("test address");
        self.forward.insert(
            name.to_owned(),
            Ok(Answer {
                name: name.to_owned(),
                cnames: vec![],
                addrs: vec![ip],
            }),
        );
        self.reverse.insert(ip, vec![name.to_owned()]);
        self
    }

    /// Looking `name` up fails with `failure`.
    pub fn failing(mut self, name: &str, failure: DnsFailure) -> Self {
        self.forward.insert(name.to_owned(), Err(failure));
        self
    }

    /// Looking `name` up panics.
    pub fn panicking(mut self, name: &str) -> Self {
        self.panics.push(name.to_owned());
        self
    }

    /// `name` answers after `delay`.
    pub fn slow(mut self, name: &str, delay: Duration) -> Self {
        self.slow.insert(name.to_owned(), delay);
        self
    }

    /// SRV records `name` -> `target`:88.
    pub fn srv(mut self, name: &str, target: &str) -> Self {
        self.srv.insert(
            name.to_owned(),
            vec![Srv {
                target: target.to_owned(),
                port: 88,
                priority: 0,
                weight: 100,
            }],
        );
        self
    }
}

impl Resolver for FakeDns {
    fn info(&self) -> &ResolverInfo {
        &self.info
    }

    async fn lookup_ip(&self, host: &str) -> Result<Answer, DnsFailure> {
        if self.panics.iter().any(|p| p == host) {
            panic!("resolver blew up on {host}");
        }
        if let Some(d) = self.slow.get(host) {
            tokio::time::sleep(*d).await;
        }
        self.forward
            .get(host)
            .cloned()
            .unwrap_or(Err(DnsFailure::NotFound))
    }

    async fn reverse(&self, ip: IpAddr) -> Result<Vec<String>, DnsFailure> {
        self.reverse.get(&ip).cloned().ok_or(DnsFailure::NotFound)
    }

    async fn srv(&self, name: &str) -> Result<Vec<Srv>, DnsFailure> {
        self.srv.get(name).cloned().ok_or(DnsFailure::NotFound)
    }
}

/// How a fake KDC address answers.
#[derive(Debug, Clone, Copy)]
pub enum KdcScript {
    /// A KRB-ERROR with this error code for this realm, its clock `skew` seconds off ours.
    Error(i32, &'static str, i64),
    /// Nothing listens.
    Refused,
}

/// KDC addresses. One it does not know refuses.
#[derive(Default)]
pub struct FakeKdc {
    addrs: HashMap<IpAddr, KdcScript>,
}

impl FakeKdc {
    /// `ip` answers every AS-REQ with "pre-authentication required" for `realm`.
    pub fn healthy(ip: &str, realm: &'static str) -> Self {
        FakeKdc::default().at(ip, KdcScript::Error(25, realm, 0))
    }

    /// `ip` answers as `script` says.
    pub fn at(mut self, ip: &str, script: KdcScript) -> Self {
        self.addrs.insert(ip.parse().expect("test address"), script);
        self
    }
}

/// A KRB-ERROR on the wire, encoded with `rasn-kerberos` (an independent definition of the
/// structure from the one kdcproto decodes with).
fn krb_error_bytes(code: i32, realm: &str, stime: SystemTime) -> Vec<u8> {
    use rasn_kerberos as rk;
    let ks = |s: &str| rk::KerberosString::try_from(s.to_owned()).expect("ASCII");
    let stamp = humantime::format_rfc3339_seconds(stime).to_string();
    let e = rk::KrbError {
        pvno: 5.into(),
        msg_type: 30.into(),
        ctime: None,
        cusec: None,
        stime: rk::KerberosTime(
            rasn::types::GeneralizedTime::parse_from_rfc3339(&stamp).expect("time"),
        ),
        susec: 0.into(),
        error_code: code,
        crealm: None,
        cname: None,
        realm: ks(realm),
        sname: rk::PrincipalName {
            r#type: 2,
            string: vec![ks("krbtgt"), ks(realm)],
        },
        e_text: None,
        e_data: None,
    };
    rasn::der::encode(&e).expect("KRB-ERROR encodes")
}

impl KdcTransport for FakeKdc {
    async fn exchange(
        &self,
        addr: SocketAddr,
        _transport: Transport,
        req: &[u8],
        _timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        assert!(!req.is_empty(), "an AS-REQ was sent");
        match self.addrs.get(&addr.ip()) {
            None | Some(KdcScript::Refused) => Err(TransportError::Refused),
            Some(KdcScript::Error(code, realm, skew)) => {
                let stime = if *skew >= 0 {
                    now() + Duration::from_secs(skew.unsigned_abs())
                } else {
                    now() - Duration::from_secs(skew.unsigned_abs())
                };
                Ok(krb_error_bytes(*code, realm, stime))
            }
        }
    }
}

/// A TGT of the fake GSSAPI: whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTgt(pub String);

/// GSSAPI: a TGT for whoever asks unless `tgt_error` is set, service tickets for every host
/// but those in `spn_errors`. Records its calls.
#[derive(Clone, Default)]
pub struct FakeGss {
    /// MIT minor status the TGT request fails with.
    pub tgt_error: Option<i32>,
    /// Hosts whose service ticket fails, with MIT's minor status.
    pub spn_errors: HashMap<String, i32>,
    /// Hosts whose service ticket is not ok-as-delegate.
    pub not_ok_as_delegate: Vec<String>,
    /// `kinit <principal>` and `ticket <service>@<host>`, in call order.
    pub calls: Arc<Mutex<Vec<String>>>,
}

impl FakeGss {
    fn record(&self, call: String) {
        self.calls.lock().expect("calls").push(call);
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }
}

impl Gss for FakeGss {
    type Tgt = FakeTgt;

    fn acquire_tgt(&self, source: &TgtSource<'_>) -> Result<(FakeTgt, TgtFacts), GssFailure> {
        let principal = match source {
            TgtSource::Password { principal, .. } | TgtSource::Keytab { principal, .. } => {
                (*principal).to_owned()
            }
            TgtSource::Cache { principal, .. } => principal.unwrap_or("cached@EXAMPLE.COM").into(),
        };
        self.record(format!("kinit {principal}"));
        if let Some(minor) = self.tgt_error {
            return Err(crate::gss::fake_failure(
                minor,
                "gss_acquire_cred_with_password",
            ));
        }
        let facts = TgtFacts {
            principal: principal.clone(),
            lifetime_secs: 10 * 3600,
            enctypes: None,
        };
        Ok((FakeTgt(principal), facts))
    }

    fn cache_principal(&self, _ccache: &str) -> Option<String> {
        None
    }

    fn for_target(&self, tgt: &FakeTgt, _n: usize) -> Result<FakeTgt, GssFailure> {
        Ok(tgt.clone())
    }

    fn service_ticket(
        &self,
        _tgt: &FakeTgt,
        service: &str,
        host: &str,
    ) -> Result<ServiceTicket, GssFailure> {
        self.record(format!("ticket {service}@{host}"));
        // A key `SERVICE@host` fails that SPN only; a bare host fails every service of it.
        let one = self.spn_errors.get(&format!("{service}@{host}"));
        if let Some(minor) = one.or_else(|| self.spn_errors.get(host)) {
            return Err(crate::gss::fake_failure(*minor, "gss_init_sec_context"));
        }
        Ok(ServiceTicket {
            spn: Some(format!("{service}/{host}@EXAMPLE.COM")),
            ticket_etype: Some(18),
            token_bytes: 1500,
        })
    }

    fn delegation(
        &self,
        _tgt: &FakeTgt,
        service: &str,
        host: &str,
    ) -> Result<crate::gss::Delegation, GssFailure> {
        self.record(format!("delegation {service}@{host}"));
        // Hosts in `not_ok_as_delegate` are not trusted for delegation, and krb5.conf is
        // taken to enforce it (MIT then forwards nothing).
        let ok = !self.not_ok_as_delegate.iter().any(|h| h == host);
        Ok(crate::gss::Delegation {
            delegated: ok,
            ok_as_delegate: ok,
            tgt_forwardable: Some(true),
        })
    }
}

/// How a fake WinRM host behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostScript {
    /// 404 on `/`, 401 offering Negotiate and Kerberos, then everything works.
    Healthy,
    /// Nothing listens.
    Closed,
    /// The listener never answers (the run's deadline must stop it).
    Hangs,
    /// A valid token gets 401.
    Rejects,
}

/// WinRM hosts by name; a host it does not know is healthy. Records its calls.
#[derive(Default)]
pub struct FakeWinRm {
    hosts: HashMap<String, HostScript>,
    /// `probe <host>`, `connect <host>`, `auth <gss target>`, `call <step>`, in call order.
    pub calls: Arc<Mutex<Vec<String>>>,
}

impl FakeWinRm {
    /// `host` behaves as `script` says.
    pub fn host(mut self, host: &str, script: HostScript) -> Self {
        self.hosts.insert(host.to_owned(), script);
        self
    }

    fn script(&self, host: &str) -> HostScript {
        self.hosts.get(host).copied().unwrap_or(HostScript::Healthy)
    }

    fn record(calls: &Mutex<Vec<String>>, call: String) {
        calls.lock().expect("calls").push(call);
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }
}

impl WinRm for FakeWinRm {
    type Tgt = FakeTgt;
    type Session = FakeSession;

    async fn probe(
        &self,
        host: &str,
        _sock: SocketAddr,
        _scheme: Scheme,
        _timeout: Duration,
    ) -> Listener {
        FakeWinRm::record(&self.calls, format!("probe {host}"));
        let http = match self.script(host) {
            HostScript::Closed => Err(HttpFailure::Refused("GET /: connection refused".into())),
            HostScript::Hangs => futures::future::pending().await,
            HostScript::Healthy | HostScript::Rejects => Ok(HttpObs {
                root_status: Some(404),
                server: Some("Microsoft-HTTPAPI/2.0".into()),
                wsman_status: Some(401),
                offers: vec!["Negotiate".into(), "Kerberos".into()],
            }),
        };
        Listener { tls: None, http }
    }

    async fn connect(
        &self,
        _addr: SocketAddr,
        host: &str,
        _port: u16,
        _scheme: Scheme,
        _timeout: Duration,
    ) -> Result<FakeSession, SessionError> {
        FakeWinRm::record(&self.calls, format!("connect {host}"));
        Ok(FakeSession {
            script: self.script(host),
            calls: self.calls.clone(),
        })
    }
}

/// A connection to a fake host.
pub struct FakeSession {
    script: HostScript,
    calls: Arc<Mutex<Vec<String>>>,
}

const IDENTIFY_ANSWER: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Body><wsmid:IdentifyResponse><wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor><wsmid:ProductVersion>OS: 10.0.17763 SP: 0.0 Stack: 3.0</wsmid:ProductVersion></wsmid:IdentifyResponse></s:Body></s:Envelope>"#;
const CREATED_ANSWER: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Body><rsp:Shell><rsp:ShellId>11111111-2222</rsp:ShellId></rsp:Shell></s:Body></s:Envelope>"#;
const DELETED_ANSWER: &str =
    r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#;

impl WinRmSession for FakeSession {
    type Tgt = FakeTgt;

    async fn authenticate(
        &mut self,
        _tgt: &FakeTgt,
        gss_target: &str,
        opts: AuthOptions,
        gss_slots: &Semaphore,
    ) -> Result<AuthOutcome, SessionError> {
        let how = if opts.spnego { " spnego" } else { "" };
        FakeWinRm::record(&self.calls, format!("auth {gss_target}{how}"));
        let _slot = gss_slots.acquire().await;
        Ok(match self.script {
            HostScript::Rejects => AuthOutcome::Rejected {
                offers: vec!["Negotiate".into()],
            },
            _ => AuthOutcome::Established { status: 200 },
        })
    }

    fn set_encrypt(&mut self, _on: bool) {}

    async fn call(&mut self, soap: &str) -> Result<Reply, SessionError> {
        let pool = soap.contains(crate::winrm::soap::PS_RESOURCE_PREFIX);
        let receive;
        let (step, body) = if soap.contains("wsmid:Identify") {
            ("identify", IDENTIFY_ANSWER)
        } else if pool && soap.contains("shell/Receive") {
            // The host's answer while the pool opens: RUNSPACEPOOL_STATE Opened.
            let state = crate::winrm::psrp::Message {
                destination: crate::winrm::psrp::TO_CLIENT,
                message_type: crate::winrm::psrp::RUNSPACEPOOL_STATE,
                rpid: [0; 16],
                pid: [0; 16],
                data: b"<Obj RefId=\"0\"><MS><I32 N=\"RunspaceState\">2</I32></MS></Obj>".to_vec(),
            };
            let b64 = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                crate::winrm::psrp::fragment(1, &state.encode(), 32_768),
            );
            receive = format!(
                "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:rsp=\"http://schemas.microsoft.com/wbem/wsman/1/windows/shell\"><s:Body><rsp:ReceiveResponse><rsp:Stream Name=\"stdout\">{b64}</rsp:Stream></rsp:ReceiveResponse></s:Body></s:Envelope>"
            );
            ("receive-pool", receive.as_str())
        } else if pool && soap.contains("transfer/Create") {
            ("create-pool", CREATED_ANSWER)
        } else if pool && soap.contains("transfer/Delete") {
            ("delete-pool", DELETED_ANSWER)
        } else if soap.contains("transfer/Create") {
            ("create-shell", CREATED_ANSWER)
        } else if soap.contains("transfer/Delete") {
            ("delete-shell", DELETED_ANSWER)
        } else {
            panic!("unexpected request: {soap}")
        };
        FakeWinRm::record(&self.calls, format!("call {step}"));
        Ok(Reply {
            status: 200,
            www_authenticate: vec![],
            content_type: Some("application/soap+xml".into()),
            body: Bytes::from(body.to_owned()),
            was_encrypted: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_kdc_speaks_kerberos() {
        let bytes = krb_error_bytes(25, "EXAMPLE.COM", now() + Duration::from_secs(600));
        match kdcproto::decode_reply(&bytes).expect("decodes") {
            kdcproto::KdcReply::Error(e) => {
                assert_eq!((e.error_code, e.realm.as_str()), (25, "EXAMPLE.COM"));
                let off = kdcproto::clock_offset(&e, now(), now());
                assert!((off - 600.0).abs() < 1.0, "{off}");
            }
            other => panic!("{other:?}"),
        }
    }
}
