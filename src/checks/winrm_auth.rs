//! Check 9, `winrm-auth` (per target): an authenticated WinRM exchange the way pywinrm makes
//! it, with the probe's own GSSAPI: a raw Kerberos token, mutual authentication, message
//! encryption over http, then Identify, and a `cmd` shell created and deleted at once (no
//! command runs; `--no-shell` stops after Identify).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::checks::Slots;
use crate::checks::edges::{WinRm, WinRmSession};
use crate::codes::{self, Code};
use crate::kdcproto;
use crate::model::Scheme;
use crate::report::Finding;
use crate::settings::Target;
use crate::winrm::session::{AuthOptions, AuthOutcome, Reply, SessionError};
use crate::winrm::{psrp, soap};

/// Check id.
pub const ID: &str = "winrm-auth";

/// What one request of the exchange gave.
#[derive(Debug, Clone)]
pub struct Step {
    /// `authenticate`, `identify`, `create-shell`, `delete-shell`.
    pub name: &'static str,
    /// HTTP status.
    pub status: u16,
    /// Whether the answer came encrypted.
    pub encrypted: bool,
    /// What the SOAP body said, if it was SOAP.
    pub answer: Option<soap::Answer>,
}

/// How the exchange ended.
#[derive(Debug, Clone)]
pub enum End {
    /// Every step passed.
    Done,
    /// 401 to a valid token; a KRB-ERROR from the host when it sent one.
    Rejected(Option<kdcproto::KrbError>, Vec<String>),
    /// Mutual authentication failed.
    NoMutual(String),
    /// The host's SPNEGO answer chose NTLM.
    NtlmSelected,
    /// The runspace pool did not reach Opened (its last state, the PSRP messages seen).
    Pool(Option<psrp::PoolState>, Vec<String>),
    /// A step answered with something unexpected.
    Unexpected {
        /// Which step.
        step: &'static str,
        /// HTTP status.
        status: u16,
        /// Parsed fault, if any.
        fault: Option<soap::Fault>,
        /// First bytes of the body when it was not SOAP.
        body: Option<String>,
    },
    /// Transport, GSSAPI or encryption error.
    Error(&'static str, String),
    /// An HTTP exchange got no answer within the timeout.
    Timeout(String),
    /// Delegation was asked for, but `klist` on the host lists no TGT (its output).
    NotDelegated(String),
    /// An answer kept RC4's padding after unwrapping: an rc4-hmac session key (the detail).
    Rc4Session(String),
}

/// The token the target's client sends: pywinrm a raw krb5 token, pypsrp SPNEGO (`negotiate`)
/// or a raw krb5 token (`kerberos`); both bind the TLS channel over https unless told not to.
pub fn auth_options(t: &Target) -> AuthOptions {
    match &t.psrp {
        None => AuthOptions {
            spnego: false,
            channel_binding: true,
            delegate: t.delegates(),
        },
        Some(p) => AuthOptions {
            spnego: p.auth == "negotiate",
            channel_binding: p.send_cbt,
            delegate: p.delegate,
        },
    }
}

/// The finding for a psrp target with `auth: negotiate` whose service ticket failed (`spn`,
/// the spn-ticket finding) while its listener answers: instead of failing on the Kerberos
/// error, pyspnego would fall back to NTLM, so the job shows NTLM's outcome, not this cause.
pub fn ntlm_fallback(t: &Target, spn: &Finding) -> Finding {
    Finding::new(
        ID,
        codes::WINRM_AUTH_NTLM_FALLBACK,
        format!(
            "no Kerberos ticket for {}/{} ({}): pypsrp (auth negotiate) would fall back to NTLM silently",
            t.service, t.spn_host, spn.code
        ),
    )
    .target(t.name.clone())
    .evidence("kerberos_failure", spn.code)
    .evidence("auth", "negotiate")
}

/// Runs the check for one target through `winrm`.
#[allow(clippy::too_many_arguments)]
pub async fn run<W: WinRm>(
    winrm: &W,
    t: &Target,
    addr: Option<IpAddr>,
    tgt: Option<W::Tgt>,
    blocked: Option<String>,
    open_shell: bool,
    timeout: Duration,
    slots: &Slots,
) -> Finding {
    let started = Instant::now();
    let (Some(tgt), Some(ip), None) = (tgt, addr, blocked.clone()) else {
        let why = blocked.unwrap_or_else(|| "no TGT or no address (see kinit, dns-target)".into());
        return Finding::skip(ID, codes::WINRM_AUTH_SKIPPED, why)
            .target(t.name.clone())
            .took(started.elapsed());
    };
    // A closed semaphore cannot happen (the run owns it); without a permit the exchange
    // would still be bounded by its own timeouts.
    let _session = slots.sessions.acquire().await.ok();
    let mut steps = Vec::new();
    let gss_target = format!("{}@{}", t.service, t.spn_host);
    let opts = auth_options(t);
    let end = exchange(
        winrm,
        &t.host,
        &gss_target,
        opts,
        t.psrp.as_ref(),
        SocketAddr::new(ip, t.port),
        t.port,
        t.scheme,
        &tgt,
        open_shell,
        timeout,
        &slots.gss,
        &mut steps,
    )
    .await;
    let f = without_bindings(
        decide(&t.host, t.port, t.scheme, &steps, &end),
        t.scheme,
        opts,
    );
    for_connection(f, t.psrp.is_some())
        .target(t.name.clone())
        .took(started.elapsed())
}

/// A 401 over https to a token sent without channel bindings (psrp's
/// `negotiate_send_cbt: false`) is what a host with `CbtHardeningLevel=Strict` answers, whatever
/// the user's rights: the hint names that first.
fn without_bindings(f: Finding, scheme: Scheme, opts: AuthOptions) -> Finding {
    if f.code != codes::WINRM_AUTH_REJECTED.code || scheme != Scheme::Https || opts.channel_binding
    {
        return f;
    }
    let rights = f.hint.clone().unwrap_or_default();
    f.evidence("channel_binding", false).hint(format!(
        "The token went without TLS channel bindings (ansible_psrp_negotiate_send_cbt: false), which \
         a host with CbtHardeningLevel=Strict refuses with 401: remove ansible_psrp_negotiate_send_cbt \
         (its default is true). If the host does not enforce channel binding: {rights}"
    ))
}

/// The hint of winrm-auth-encryption for the psrp connection: its setting is
/// ansible_psrp_message_encryption, not the winrm connection's variable the registry names.
const PSRP_ENCRYPTION_HINT: &str = "Over http WinRM must encrypt: set ansible_psrp_message_encryption \
    to auto (never AllowUnencrypted on the host). If a proxy is in the way it may rewrite the body; \
    connect directly, or use https (port 5986).";

/// Words a hint in the variables of the target's connection (`psrp`: ansible.builtin.psrp).
fn for_connection(f: Finding, psrp: bool) -> Finding {
    if psrp && f.code == codes::WINRM_AUTH_ENCRYPTION.code {
        f.hint(PSRP_ENCRYPTION_HINT)
    } else {
        f
    }
}

#[allow(clippy::too_many_arguments)]
async fn exchange<W: WinRm>(
    winrm: &W,
    target: &str,
    gss_target: &str,
    opts: AuthOptions,
    pool: Option<&crate::settings::Psrp>,
    addr: SocketAddr,
    port: u16,
    scheme: Scheme,
    tgt: &W::Tgt,
    open_shell: bool,
    timeout: Duration,
    gss_slots: &Semaphore,
    steps: &mut Vec<Step>,
) -> End {
    let err = |e: SessionError| match &e {
        SessionError::Connect { phase, .. } => End::Error(phase, e.to_string()),
        SessionError::Http(_) => End::Error("http", e.to_string()),
        // Only the authenticating request can time out here (connect has its own variant).
        SessionError::Timeout(m) => End::Timeout(format!("authenticate: {m}")),
        SessionError::Gss(_) => End::Error("kerberos", e.to_string()),
        SessionError::Encryption(_) => End::Error("encryption", e.to_string()),
        SessionError::Rc4Padded { .. } => End::Rc4Session(e.to_string()),
    };
    let mut session = match winrm.connect(addr, target, port, scheme, timeout).await {
        Ok(s) => s,
        Err(e) => return err(e),
    };
    if let Some(p) = pool {
        session.set_encrypt(p.encrypts(scheme));
    }
    match session.authenticate(tgt, gss_target, opts, gss_slots).await {
        Err(e) => return err(e),
        Ok(AuthOutcome::Rejected { offers }) => {
            let krb_error = offers.iter().find_map(|o| {
                let (_, tok) = o.split_once(' ')?;
                let raw =
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, tok.trim())
                        .ok()?;
                kdcproto::krb_error_in_gss_token(&raw)
            });
            return End::Rejected(krb_error, offers);
        }
        Ok(AuthOutcome::NoMutual { detail, status }) => {
            steps.push(Step {
                name: "authenticate",
                status,
                encrypted: false,
                answer: None,
            });
            return End::NoMutual(detail);
        }
        Ok(AuthOutcome::NtlmSelected { status }) => {
            steps.push(Step {
                name: "authenticate",
                status,
                encrypted: false,
                answer: None,
            });
            return End::NtlmSelected;
        }
        Ok(AuthOutcome::Established { status }) => steps.push(Step {
            name: "authenticate",
            status,
            encrypted: false,
            answer: None,
        }),
    }
    let to = format!("{}://{target}:{port}/wsman", scheme.as_str());
    let identify = match call(&mut session, "identify", &soap::identify(), steps).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    if let Some(end) = unexpected("identify", &identify) {
        // Windows answers a plain SOAP body over http with 500 and nothing else when
        // AllowUnencrypted is false: with psrp's message_encryption=never, that is the cause.
        let plain = pool.is_some_and(|p| !p.encrypts(scheme)) && scheme == Scheme::Http;
        if plain && identify.0.status == 500 && identify.0.body.is_empty() {
            return End::Error(
                "encryption",
                "identify: HTTP 500 with an empty body to a plain (unencrypted) message: the host \
                 refuses unencrypted WinRM (AllowUnencrypted=false), so \
                 ansible_psrp_message_encryption=never cannot work over http"
                    .into(),
            );
        }
        return end;
    }
    if !open_shell {
        return End::Done;
    }
    if let Some(p) = pool {
        return runspace_pool(&mut session, &to, &p.configuration_name, steps).await;
    }
    let create = match call(
        &mut session,
        "create-shell",
        &soap::create_shell(&to, &uuid()),
        steps,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return e,
    };
    if let Some(end) = unexpected("create-shell", &create) {
        return end;
    }
    let Some(shell_id) = create.1.as_ref().and_then(|a| a.shell_id.clone()) else {
        return End::Unexpected {
            step: "create-shell",
            status: create.0.status,
            fault: None,
            body: Some("no ShellId in the answer".into()),
        };
    };
    // With delegation, the double hop needs the forwarded TGT on the host: `klist` in the shell
    // lists it (Windows' klist prints "Server: krbtgt/REALM" for it), as an admin would check.
    let mut not_delegated = None;
    if opts.delegate {
        match host_klist(&mut session, &to, &shell_id, steps).await {
            Ok(text) if !text.contains("krbtgt/") => not_delegated = Some(text),
            Ok(_) => {}
            Err(e) => return e,
        }
    }
    let delete = match call(
        &mut session,
        "delete-shell",
        &soap::delete_shell(&to, &uuid(), &shell_id),
        steps,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return e,
    };
    if let Some(end) = unexpected("delete-shell", &delete) {
        return end;
    }
    not_delegated.map_or(End::Done, End::NotDelegated)
}

/// Runs `klist` in the open cmd shell: its stdout (one Receive; Windows' klist is done at once).
async fn host_klist(
    session: &mut impl WinRmSession,
    to: &str,
    shell_id: &str,
    steps: &mut Vec<Step>,
) -> Result<String, End> {
    let cmd = call(
        session,
        "command",
        &soap::command(to, &uuid(), shell_id, "klist"),
        steps,
    )
    .await?;
    if let Some(end) = unexpected("command", &cmd) {
        return Err(end);
    }
    let Some(cid) = cmd.1.as_ref().and_then(|a| a.command_id.clone()) else {
        return Err(End::Unexpected {
            step: "command",
            status: cmd.0.status,
            fault: None,
            body: Some("no CommandId in the answer".into()),
        });
    };
    let out = call(
        session,
        "receive",
        &soap::receive(to, &uuid(), shell_id, &cid),
        steps,
    )
    .await?;
    if let Some(end) = unexpected("receive", &out) {
        return Err(end);
    }
    Ok(stdout_of(out.1.as_ref()))
}

/// A ReceiveResponse's stdout, as text.
fn stdout_of(answer: Option<&soap::Answer>) -> String {
    let data: Vec<u8> = answer
        .iter()
        .flat_map(|a| &a.streams)
        .filter(|st| st.name == "stdout")
        .flat_map(|st| st.data.iter().copied())
        .collect();
    String::from_utf8_lossy(&data).into_owned()
}

/// What `klist` printed on the host, when the exchange ran it.
fn klist_of(steps: &[Step]) -> Option<String> {
    let step = steps.iter().find(|s| s.name == "receive")?;
    Some(stdout_of(step.answer.as_ref()))
}

/// The interesting lines of a Windows `klist` (tickets, servers, flags), for the evidence.
fn klist_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            l.starts_with("Cached Tickets")
                || l.starts_with("#")
                || l.starts_with("Server:")
                || l.starts_with("Ticket Flags")
        })
        .take(12)
        .map(str::to_owned)
        .collect()
}

/// Most Receives while the pool opens: Windows answers its three messages in one or two.
const MAX_RECEIVES: usize = 6;

/// Opens a runspace pool on the session configuration `configuration` and closes it, as
/// pypsrp's `RunspacePool.open()` and `close()` do: Create with the opening messages, Receive
/// until RUNSPACEPOOL_STATE says Opened (or Broken), Delete.
async fn runspace_pool(
    session: &mut impl WinRmSession,
    to: &str,
    configuration: &str,
    steps: &mut Vec<Step>,
) -> End {
    let mut random = [0u8; 16];
    // A weak id only risks a clash with another open pool, which the host would report.
    let _ = getrandom::fill(&mut random);
    let (rpid, pool_id) = psrp::guid(random);
    let resource = soap::ps_resource_uri(configuration);
    let create =
        soap::create_runspace_pool(to, &uuid(), &resource, &pool_id, &psrp::creation_xml(rpid));
    let created = match call(session, "create-pool", &create, steps).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    if let Some(end) = unexpected("create-pool", &created) {
        return end;
    }
    let shell_id = created
        .1
        .as_ref()
        .and_then(|a| a.shell_id.clone())
        .unwrap_or(pool_id);
    let mut defrag = psrp::Defragmenter::default();
    let mut seen = Vec::new();
    let mut state = None;
    for _ in 0..MAX_RECEIVES {
        let receive = soap::receive_pool(to, &uuid(), &resource, &shell_id);
        let got = match call(session, "receive-pool", &receive, steps).await {
            Ok(r) => r,
            Err(e) => return e,
        };
        if let Some(end) = unexpected("receive-pool", &got) {
            return end;
        }
        let streams = got.1.map(|a| a.streams).unwrap_or_default();
        for s in streams.iter().filter(|s| s.name == "stdout") {
            let messages = match defrag.push(&s.data) {
                Ok(m) => m,
                Err(e) => return End::Error("psrp", e.to_string()),
            };
            seen.extend(messages.iter().map(|m| psrp::type_name(m.message_type)));
            match psrp::last_pool_state(&messages) {
                Ok(Some(s)) => state = Some(s),
                Ok(None) => {}
                Err(e) => return End::Error("psrp", e.to_string()),
            }
        }
        if state.as_ref().is_some_and(|s| s.state != 1) {
            break;
        }
    }
    let opened = state.as_ref().is_some_and(psrp::PoolState::is_opened);
    // Closed like pypsrp's close(), also when the pool broke: a Broken pool is still a shell.
    let delete = soap::delete_pool(to, &uuid(), &resource, &shell_id);
    let deleted = match call(session, "delete-pool", &delete, steps).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    if !opened {
        return End::Pool(state, seen);
    }
    unexpected("delete-pool", &deleted).unwrap_or(End::Done)
}

async fn call(
    session: &mut impl WinRmSession,
    name: &'static str,
    soap_body: &str,
    steps: &mut Vec<Step>,
) -> Result<(Reply, Option<soap::Answer>), End> {
    let reply = session.call(soap_body).await.map_err(|e| match e {
        SessionError::Encryption(m) => End::Error("encryption", format!("{name}: {m}")),
        e @ SessionError::Rc4Padded { .. } => End::Rc4Session(format!("{name}: {e}")),
        SessionError::Gss(g) => End::Error("kerberos", format!("{name}: {}", g.message())),
        SessionError::Timeout(m) => End::Timeout(format!("{name}: {m}")),
        other => End::Error("http", format!("{name}: {other}")),
    })?;
    let answer = soap::parse(&reply.body).ok();
    steps.push(Step {
        name,
        status: reply.status,
        encrypted: reply.was_encrypted,
        answer: answer.clone(),
    });
    Ok((reply, answer))
}

fn unexpected(step: &'static str, (reply, answer): &(Reply, Option<soap::Answer>)) -> Option<End> {
    let fault = answer.as_ref().and_then(|a| a.fault.clone());
    if reply.status == 200 && fault.is_none() && answer.is_some() {
        return None;
    }
    let body = answer
        .is_none()
        .then(|| String::from_utf8_lossy(&reply.body[..reply.body.len().min(200)]).into_owned());
    Some(End::Unexpected {
        step,
        status: reply.status,
        fault,
        body,
    })
}

fn uuid() -> String {
    let mut b = [0u8; 16];
    // A weak MessageID only risks a duplicate-message fault, which the report would show.
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn steps_evidence(steps: &[Step]) -> Value {
    json!(
        steps
            .iter()
            .map(|s| json!({
                "step": s.name,
                "status": s.status,
                "encrypted": s.encrypted,
                "answer": s.answer,
            }))
            .collect::<Vec<_>>()
    )
}

/// KRB_AP_ERR codes a host returns when it cannot use the ticket: RFC 4120 31
/// (BAD_INTEGRITY), 41 (MODIFIED), 44 (BADKEYVER), 45 (NOKEY).
const KEY_ERRORS: [i32; 4] = [31, 41, 44, 45];
/// KRB_AP_ERR_SKEW.
const SKEW: i32 = 37;

/// The decision, table-testable.
pub fn decide(target: &str, port: u16, scheme: Scheme, steps: &[Step], end: &End) -> Finding {
    let url = format!("{}://{target}:{port}/wsman", scheme.as_str());
    let (code, summary, extra): (Code, String, Vec<(&str, Value)>) = match end {
        End::Done => {
            let ident = steps
                .iter()
                .find(|s| s.name == "identify")
                .and_then(|s| s.answer.as_ref());
            let product = ident
                .and_then(|a| a.product_version.clone())
                .unwrap_or_else(|| "unknown product".into());
            let shell = if steps.iter().any(|s| s.name == "delete-shell") {
                ", cmd shell created and deleted".to_owned()
            } else if steps.iter().any(|s| s.name == "delete-pool") {
                let receives = steps.iter().filter(|s| s.name == "receive-pool").count();
                format!(", PowerShell runspace pool opened ({receives} Receive) and closed")
            } else {
                String::new()
            };
            let sealed = if scheme == Scheme::Http {
                "encrypted"
            } else {
                "over TLS"
            };
            let (klist, extra) = match klist_of(steps) {
                Some(text) => (
                    ", klist on the host lists the forwarded TGT".to_owned(),
                    vec![("host_klist", json!(klist_lines(&text)))],
                ),
                None => (String::new(), vec![]),
            };
            (
                codes::WINRM_AUTH_OK,
                format!(
                    "{url}: Kerberos with mutual auth, {sealed}; Identify ({product}){shell}{klist}"
                ),
                extra,
            )
        }
        End::Rejected(krb, offers) => {
            let mut extra = vec![("www_authenticate", json!(offers))];
            let code = match krb {
                Some(e) => {
                    extra.push((
                        "host_krb_error",
                        json!(format!("{} ({})", e.name, e.error_code)),
                    ));
                    extra.push(("host_krb_error_text", json!(e.text)));
                    if e.error_code == SKEW {
                        codes::WINRM_AUTH_HOST_CLOCK_SKEW
                    } else if KEY_ERRORS.contains(&e.error_code) {
                        codes::WINRM_AUTH_HOST_KEY
                    } else {
                        codes::WINRM_AUTH_REJECTED
                    }
                }
                None => codes::WINRM_AUTH_REJECTED,
            };
            let why = krb
                .as_ref()
                .map(|e| format!(": the host says {}", e.text))
                .unwrap_or_default();
            (
                code,
                format!("{url} answered 401 to a valid Kerberos token (credentials rejected){why}"),
                extra,
            )
        }
        End::NtlmSelected => (
            codes::WINRM_AUTH_NTLM_FALLBACK,
            format!(
                "{url} answered the SPNEGO token by choosing NTLM: pyspnego would go on with NTLM, not Kerberos"
            ),
            vec![],
        ),
        End::Pool(state, seen) => (
            codes::WINRM_AUTH_RUNSPACE_BROKEN,
            match state {
                Some(st) => format!(
                    "{url}: the runspace pool is {} ({}){}",
                    st.name(),
                    st.state,
                    st.error
                        .as_ref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
                None => format!(
                    "{url}: the runspace pool sent no RUNSPACEPOOL_STATE in {MAX_RECEIVES} Receives"
                ),
            },
            vec![
                ("psrp_messages", json!(seen)),
                ("pool_state", json!(state.as_ref().map(|s| s.name()))),
            ],
        ),
        End::NoMutual(detail) => (
            codes::WINRM_AUTH_MUTUAL,
            format!("{url}: mutual authentication failed: {detail}"),
            vec![],
        ),
        End::Unexpected {
            step,
            status,
            fault,
            body,
        } => {
            let extra = vec![("failed_step", json!(step)), ("body", json!(body))];
            match fault {
                Some(f) if f.is_access_denied() && *step == "create-pool" => (
                    codes::WINRM_AUTH_ENDPOINT_DENIED,
                    format!(
                        "{url}: opening a PowerShell runspace pool: {} (HTTP {status})",
                        f.describe()
                    ),
                    extra,
                ),
                Some(f) if *step == "create-pool" && f.is_missing_configuration() => (
                    codes::WINRM_AUTH_ENDPOINT_MISSING,
                    format!(
                        "{url}: opening a PowerShell runspace pool: {} (HTTP {status})",
                        f.describe()
                    ),
                    extra,
                ),
                Some(f) if f.is_access_denied() && *step == "create-shell" => (
                    codes::WINRM_AUTH_ACCESS_DENIED,
                    format!("{url}: creating a shell: {} (HTTP {status})", f.describe()),
                    extra,
                ),
                Some(f) if f.is_access_denied() => (
                    codes::WINRM_AUTH_ACCESS_DENIED,
                    format!("{url}: {step}: {} (HTTP {status})", f.describe()),
                    extra,
                ),
                Some(f) => (
                    codes::WINRM_AUTH_FAULT,
                    format!(
                        "{url}: {step}: WS-Man fault {} (HTTP {status})",
                        f.describe()
                    ),
                    extra,
                ),
                None if matches!(status, 400 | 415) && scheme == Scheme::Http => (
                    codes::WINRM_AUTH_ENCRYPTION,
                    format!(
                        "{url}: {step}: the host refused the encrypted message (HTTP {status})"
                    ),
                    extra,
                ),
                None => (
                    codes::WINRM_AUTH_UNEXPECTED,
                    format!("{url}: {step} answered HTTP {status}"),
                    extra,
                ),
            }
        }
        End::NotDelegated(text) => (
            codes::WINRM_AUTH_NOT_DELEGATED,
            format!(
                "{url}: authenticated with delegation asked for, but klist on the host lists no TGT: \
                 the second hop from the host will have no credentials"
            ),
            vec![("host_klist", json!(klist_lines(text)))],
        ),
        End::Rc4Session(detail) => (
            codes::WINRM_AUTH_ENCRYPTION,
            format!("{url}: {detail}"),
            vec![
                ("phase", json!("encryption")),
                ("session_enctype", json!("rc4-hmac")),
            ],
        ),
        End::Timeout(detail) => (
            codes::WINRM_AUTH_TIMEOUT,
            format!("{url}: {detail}"),
            vec![("phase", json!("http"))],
        ),
        End::Error(phase, detail) => {
            let code = if *phase == "encryption" {
                codes::WINRM_AUTH_ENCRYPTION
            } else {
                codes::WINRM_AUTH_UNEXPECTED
            };
            (
                code,
                format!("{url}: {detail}"),
                vec![("phase", json!(phase))],
            )
        }
    };
    let mut f = Finding::new(ID, code, summary).evidence("steps", steps_evidence(steps));
    if matches!(end, End::Rc4Session(_)) {
        // pykerberos (pywinrm) and MIT keep RC4's padding byte on the unwrapped message and
        // then refuse it ("Encrypted length from server does not match"): the fix is the
        // enctype, not the encryption setting the default hint talks about.
        f = f.hint(
            "The Kerberos session key is RC4 (rc4-hmac), and WinRM's RC4-sealed messages do not \
             decrypt in pywinrm/pykerberos over http (pykerberos issue 36): make AES the session key \
             (aes256-cts-hmac-sha1-96 first in krb5.conf's permitted_enctypes, default_tkt_enctypes \
             and default_tgs_enctypes; AES keys on the user's and the host's accounts, \
             msDS-SupportedEncryptionTypes 0x18), or use https (port 5986), where the body is not wrapped.",
        );
    }
    for (k, v) in extra {
        f = f.evidence(k, v);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    /// Windows' klist in a WinRM shell with and without a delegated TGT (the stand-in's
    /// lab/krblab/standin.py klist_output has the same shape).
    const KLIST_TGT: &str = "\r\nCurrent LogonId is 0:0x2c1a5e\r\n\r\nCached Tickets: (1)\r\n\r\n#0>\tClient: awx @ EXAMPLE.COM\r\n\tServer: krbtgt/EXAMPLE.COM @ EXAMPLE.COM\r\n\tKerbTicket Encryption Type: AES-256-CTS-HMAC-SHA1-96\r\n\tTicket Flags 0x60a10000 -> forwardable forwarded renewable pre_authent name_canonicalize \r\n";
    const KLIST_NONE: &str = "\r\nCurrent LogonId is 0:0x2c1a5e\r\n\r\nCached Tickets: (0)\r\n\r\n";

    #[test]
    fn klist_on_the_host_decides_whether_the_tgt_was_delegated() {
        assert_eq!(
            klist_lines(KLIST_TGT),
            [
                "Cached Tickets: (1)",
                "#0>\tClient: awx @ EXAMPLE.COM",
                "Server: krbtgt/EXAMPLE.COM @ EXAMPLE.COM",
                "Ticket Flags 0x60a10000 -> forwardable forwarded renewable pre_authent name_canonicalize"
            ]
        );
        let f = decide(
            "h",
            5985,
            Scheme::Http,
            &[],
            &End::NotDelegated(KLIST_NONE.into()),
        );
        assert_eq!(
            (f.code, f.status),
            ("winrm-auth-not-delegated", Status::Fail)
        );
        assert_eq!(f.evidence["host_klist"], json!(["Cached Tickets: (0)"]));
        assert!(f.hint.unwrap().contains("kinit-not-forwardable"));
    }

    #[test]
    fn an_rc4_session_key_is_named_as_the_cause_of_the_encryption_failure() {
        let e = SessionError::Rc4Padded {
            got: 661,
            announced: 660,
        };
        let end = End::Rc4Session(format!("identify: {e}"));
        let f = decide("h", 5985, Scheme::Http, &[], &end);
        assert_eq!(f.code, "winrm-auth-encryption");
        assert_eq!(f.evidence["session_enctype"], "rc4-hmac");
        assert!(
            f.summary
                .contains("decrypted 661 bytes, the server announced 660")
        );
        assert!(f.hint.unwrap().contains("session key is RC4"));
    }

    #[test]
    fn encryption_hint_names_the_connections_variable() {
        let end = End::Error("encryption", "plain SOAP refused".into());
        for (psrp, variable) in [
            (false, "ansible_winrm_message_encryption"),
            (true, "ansible_psrp_message_encryption"),
        ] {
            let f = for_connection(decide("h", 5985, Scheme::Http, &[], &end), psrp);
            assert_eq!(f.code, "winrm-auth-encryption");
            let hint = f.hint.unwrap_or_default();
            assert!(hint.contains(variable), "psrp {psrp}: {hint}");
        }
        // Other codes keep the registry's hint on either connection.
        let other = decide("h", 5985, Scheme::Http, &[], &End::NtlmSelected);
        let hint = other.hint.clone();
        assert_eq!(for_connection(other, true).hint, hint);
    }

    fn step(name: &'static str, status: u16, answer: Option<soap::Answer>) -> Step {
        Step {
            name,
            status,
            encrypted: true,
            answer,
        }
    }

    fn krb_error(code: i32) -> kdcproto::KrbError {
        kdcproto::fake_krb_error(code, "R")
    }

    #[test]
    fn a_401_without_channel_bindings_over_https_names_them() {
        let rejected = || {
            decide(
                "h",
                5986,
                Scheme::Https,
                &[],
                &End::Rejected(None, vec!["Negotiate".into()]),
            )
        };
        let opts = |channel_binding| AuthOptions {
            spnego: true,
            channel_binding,
            delegate: false,
        };
        let rights = rejected().hint.unwrap();
        let f = without_bindings(rejected(), Scheme::Https, opts(false));
        assert_eq!(f.code, "winrm-auth-rejected");
        let hint = f.hint.clone().unwrap();
        assert!(
            hint.starts_with("The token went without TLS channel bindings"),
            "{hint}"
        );
        assert!(hint.ends_with(&rights), "{hint}");
        assert_eq!(f.evidence["channel_binding"], false);
        // With bindings, or over http (no channel to bind), the registry's hint stays.
        for (scheme, cbt) in [(Scheme::Https, true), (Scheme::Http, false)] {
            let f = without_bindings(rejected(), scheme, opts(cbt));
            assert_eq!(f.hint.as_deref(), Some(rights.as_str()));
            assert!(!f.evidence.contains_key("channel_binding"));
        }
        // Other codes keep theirs.
        let done = decide("h", 5986, Scheme::Https, &[], &End::Done);
        assert_eq!(
            without_bindings(done, Scheme::Https, opts(false)).hint,
            None
        );
    }

    #[test]
    fn decisions() {
        let denied = soap::Fault {
            subcode: Some("w:AccessDenied".into()),
            wsman_code: Some("5".into()),
            ..Default::default()
        };
        let cases: Vec<(End, Status, &str)> = vec![
            (End::Done, Status::Pass, "winrm-auth-ok"),
            (
                End::Rejected(None, vec!["Kerberos".into()]),
                Status::Fail,
                "winrm-auth-rejected",
            ),
            (
                End::Rejected(Some(krb_error(37)), vec![]),
                Status::Fail,
                "winrm-auth-host-clock-skew",
            ),
            (
                End::Rejected(Some(krb_error(41)), vec![]),
                Status::Fail,
                "winrm-auth-host-key",
            ),
            (End::NoMutual("x".into()), Status::Fail, "winrm-auth-mutual"),
            (
                End::Unexpected {
                    step: "create-shell",
                    status: 500,
                    fault: Some(denied.clone()),
                    body: None,
                },
                Status::Fail,
                "winrm-auth-access-denied",
            ),
            (
                End::Unexpected {
                    step: "identify",
                    status: 500,
                    fault: Some(soap::Fault::default()),
                    body: None,
                },
                Status::Fail,
                "winrm-auth-fault",
            ),
            (
                End::Unexpected {
                    step: "identify",
                    status: 400,
                    fault: None,
                    body: Some(String::new()),
                },
                Status::Fail,
                "winrm-auth-encryption",
            ),
            (
                End::Error("encryption", "bad".into()),
                Status::Fail,
                "winrm-auth-encryption",
            ),
            (
                End::Error("http", "closed".into()),
                Status::Fail,
                "winrm-auth-unexpected",
            ),
            (
                End::Timeout("identify: no answer within the timeout".into()),
                Status::Fail,
                "winrm-auth-timeout",
            ),
            (End::NtlmSelected, Status::Fail, "winrm-auth-ntlm-fallback"),
            (
                End::Unexpected {
                    step: "create-pool",
                    status: 500,
                    fault: Some(denied.clone()),
                    body: None,
                },
                Status::Fail,
                "winrm-auth-endpoint-denied",
            ),
            (
                End::Unexpected {
                    step: "create-pool",
                    status: 500,
                    fault: Some(soap::Fault {
                        message: Some("The WS-Management service cannot process the request. Cannot find the PowerShell.8 session configuration in the WSMan: drive on the KURO-WIN01 computer.".into()),
                        ..Default::default()
                    }),
                    body: None,
                },
                Status::Fail,
                "winrm-auth-endpoint-missing",
            ),
            (
                End::Pool(
                    Some(psrp::PoolState {
                        state: 5,
                        error: Some("broken".into()),
                    }),
                    vec!["RUNSPACEPOOL_STATE".into()],
                ),
                Status::Fail,
                "winrm-auth-runspace-broken",
            ),
            (End::Pool(None, vec![]), Status::Fail, "winrm-auth-runspace-broken"),
        ];
        let steps = [step("authenticate", 200, None)];
        for (end, status, code) in cases {
            let f = decide("h", 5985, Scheme::Http, &steps, &end);
            assert_eq!((f.status, f.code), (status, code), "{end:?}");
        }
    }
}
