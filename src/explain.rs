//! `krbprobe explain`: a diagnosis from what a failed job printed, for users who cannot get a
//! shell in the job pod.
//!
//! Input is whatever the user has: an Ansible job's output (any ansible-core 2.14..2.21
//! wording, winrm or psrp, `-vvvv` or not, with or without ANSI colours), the JSON of AWX's
//! job events or stdout API, and/or a `KRB5_TRACE` log. Each line is matched against
//! [`RULES`], the messages MIT krb5, pywinrm, pypsrp/pyspnego and Ansible print for each
//! failure (the same texts the fidelity matrix records, docs/failure-modes.md). A message
//! with one cause becomes a finding with that cause's code; a message with several causes
//! (`Cannot contact any KDC` is a name without DNS record, a KDC that refuses, or one that
//! drops) becomes an `explain-ambiguous` finding listing the candidates, and both say which
//! live check settles it, with the exact command. The result is an ordinary
//! [`Report`](crate::report::Report), so `--format json` and the exit status work as usual.
//!
//! Matching is by fixed substrings, not regular expressions: the messages are stable texts of
//! known programs, and a substring table is easy to read against the sources it came from.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

use crate::codes::{self, Code};
use crate::report::{Finding, Report, ToolInfo};

/// Largest input read (a long `-vvvv` job log is a few MiB).
pub const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Longest evidence line kept in a finding (a `-vvvv` line can be a whole JSON result).
const MAX_EVIDENCE_LINE: usize = 600;

/// Why `explain` could not read its input.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Read {
        /// The file (`-` for stdin).
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_INPUT`].
    #[error("{path}: larger than {} MiB; pass the failed task's part of the job output", MAX_INPUT / 1024 / 1024)]
    TooLarge {
        /// The file (`-` for stdin).
        path: String,
    },
}

/// One input, decoded to lines of text.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where it came from: the path, or `-` for stdin.
    pub name: String,
    /// What it was: `job output`, `AWX job events`, `AWX stdout`, `KRB5_TRACE`.
    pub kind: &'static str,
    /// The text, ANSI escapes removed.
    pub text: String,
}

/// Reads `path` (`-`: stdin) and decodes it: AWX's JSON (job events or stdout) to the text
/// the job printed, ANSI colour sequences removed.
pub fn read_source(path: &Path) -> Result<Source, InputError> {
    let name = path.display().to_string();
    let mut raw = Vec::new();
    let res = if name == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut raw)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut raw))
    };
    res.map_err(|source| InputError::Read {
        path: name.clone(),
        source,
    })?;
    if raw.len() as u64 > MAX_INPUT {
        return Err(InputError::TooLarge { path: name });
    }
    Ok(decode(name, &String::from_utf8_lossy(&raw)))
}

/// Decodes one input's text (see [`read_source`]).
pub fn decode(name: String, text: &str) -> Source {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            if let Some((kind, lines)) = awx_text(&v) {
                return Source {
                    name,
                    kind,
                    text: strip_ansi(&lines),
                };
            }
        }
    }
    let kind = if is_trace(text) {
        "KRB5_TRACE"
    } else {
        "job output"
    };
    Source {
        name,
        kind,
        text: strip_ansi(text),
    }
}

/// The text inside AWX's API answers: `/api/v2/jobs/N/stdout/?format=json` (`content`) or
/// `/api/v2/jobs/N/job_events/` (`results[].stdout`, plus each event's `res.msg`, which the
/// stdout may have cut short), or a bare list of events.
fn awx_text(v: &Value) -> Option<(&'static str, String)> {
    if let Some(content) = v.get("content").and_then(Value::as_str) {
        return Some(("AWX stdout", content.to_owned()));
    }
    let events = match v {
        Value::Array(a) => a,
        Value::Object(_) => v.get("results")?.as_array()?,
        _ => return None,
    };
    let mut out = String::new();
    for e in events {
        let stdout = e.get("stdout").and_then(Value::as_str).unwrap_or("");
        if !stdout.is_empty() {
            out.push_str(stdout);
            out.push('\n');
        }
        let data = e.get("event_data");
        let msg = data
            .and_then(|d| d.pointer("/res/msg"))
            .and_then(Value::as_str);
        if let Some(msg) = msg.filter(|m| !stdout.contains(*m)) {
            let host = data
                .and_then(|d| d.get("host"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            let _ = writeln!(out, "fatal: [{host}]: {msg}");
        }
    }
    (!out.is_empty()).then_some(("AWX job events", out))
}

/// A KRB5_TRACE line: `[pid] seconds.micros: text`.
fn is_trace(text: &str) -> bool {
    text.lines().take(20).any(|l| {
        l.starts_with('[')
            && l.split_once("] ").is_some_and(|(_, rest)| {
                rest.split_once(": ").is_some_and(|(t, _)| t.contains('.'))
            })
    })
}

/// Removes ANSI CSI sequences (`ESC [ ... letter`), as AWX's stdout and a terminal copy have.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What one message means.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, in evidence.
    pub id: &'static str,
    /// Every one of these occurs in the line.
    pub all: &'static [&'static str],
    /// At least one of these occurs (empty: no condition).
    pub any: &'static [&'static str],
    /// None of these occurs.
    pub none: &'static [&'static str],
    /// The codes the message can mean; one: its cause is certain.
    pub codes: &'static [&'static str],
    /// What tells the candidates apart (ambiguous rules), or what the live check adds.
    pub settle: &'static str,
}

macro_rules! rule {
    ($id:literal, all $all:expr, any $any:expr, none $none:expr, $codes:expr, $settle:literal) => {
        Rule {
            id: $id,
            all: &$all,
            any: &$any,
            none: &$none,
            codes: &$codes,
            settle: $settle,
        }
    };
}

const NONE: [&str; 0] = [];

/// Says whether a line comes from the TGT request (kinit, or pyspnego's password login).
const INITIAL: [&str; 3] = ["initial credentials", "Kerberos auth failure", "kinit:"];

/// The message table, most specific first: a line gets the first rule that matches.
pub const RULES: &[Rule] = &[
    // ---- the EE itself ----
    rule!("kinit-not-found", all ["kinit"], any ["was not found or was not executable", "No such file or directory: 'kinit'", "kinit: not found", "kinit: command not found"], none NONE,
        ["ee-runtime-no-kinit"], "krbprobe's ee-runtime check looks for kinit on the job's PATH"),
    rule!("no-pywinrm", all NONE, any ["winrm or requests is not installed", "No module named 'winrm'"], none NONE,
        ["ee-runtime-no-winrm"], "krbprobe's ee-runtime check imports winrm with the job's Python"),
    rule!("no-pykerberos", all NONE, any ["The python kerberos library is not installed", "No module named 'kerberos'", "requests_kerberos is not installed", "kerberos: requests_kerberos"], none NONE,
        ["ee-runtime-no-kerberos"], "krbprobe's ee-runtime check imports kerberos with the job's Python"),
    rule!("no-pypsrp", all NONE, any ["pypsrp or depdencies are not installed", "pypsrp or dependencies are not installed", "No module named 'pypsrp'"], none NONE,
        ["ee-runtime-no-pypsrp"], "krbprobe's ee-runtime check imports pypsrp with the job's Python"),
    rule!("no-gssapi", all NONE, any ["No module named 'gssapi'", "No module named 'krb5'", "gssapi is not installed"], none NONE,
        ["ee-runtime-psrp-no-kerberos"], "krbprobe's ee-runtime check imports gssapi and krb5 with the job's Python"),
    // ---- krb5.conf ----
    rule!("include-missing", all NONE, any ["Included profile directory could not be read", "Included profile file could not be read"], none NONE,
        ["krb5-conf-include-missing"], "krbprobe's krb5-conf check names the include line"),
    rule!("profile-syntax", all NONE, any ["Improper format of Kerberos configuration file", "Syntax error in profile", "Unknown code ____ 253"], none NONE,
        ["krb5-conf-syntax"], "krbprobe's krb5-conf check names the line and column"),
    rule!("no-default-realm", all ["does not specify default realm"], any NONE, none NONE,
        ["principal-no-realm"], "krbprobe's principal check shows the user name to write"),
    rule!("realm-not-found", all ["Cannot find KDC for realm"], any NONE, none NONE,
        ["principal-realm-unknown", "krb5-conf-realm-missing"], "krbprobe's principal and krb5-conf checks compare the realm with krb5.conf's [realms]"),
    rule!("reply-mismatch", all ["KDC reply did not match expectations"], any NONE, none NONE,
        ["principal-realm-case"], "krbprobe's principal check compares the realm with the KDC's"),
    // ---- the KDC: getting the TGT ----
    rule!("kdc-dns-down", all ["Resource temporarily unavailable"], any INITIAL, none NONE,
        ["dns-resolv-conf", "dns-kdc-failed"], "krbprobe's dns-kdc check asks the pod's DNS servers one by one"),
    rule!("kdc-contact", all ["Cannot contact any KDC for realm"], any NONE, none NONE,
        ["dns-kdc-nxdomain", "kdc-unreachable", "kdc-timeout", "kinit-kdc-unreachable"],
        "krbprobe's dns-kdc check resolves each KDC name; kdc-reach tells a KDC that refuses port 88 from one whose packets are dropped"),
    rule!("kinit-clock-skew", all ["Clock skew too great"], any INITIAL, none NONE,
        ["kinit-clock-skew", "kdc-clock-skew"], "krbprobe's kdc-reach check measures the KDC's clock against the pod's"),
    rule!("kinit-etype", all ["KDC has no support for encryption type"], any INITIAL, none NONE,
        ["kinit-etype", "krb5-conf-enctypes-none"], "krbprobe's kinit check lists the enctypes the KDC offered (PA-ETYPE-INFO2) and krb5.conf permits"),
    rule!("wrong-password", all NONE, any ["Password incorrect", "Preauthentication failed"], none NONE,
        ["kinit-password-wrong"], "each wrong try counts towards the account's lockout threshold"),
    rule!("user-unknown", all ["not found in Kerberos database"], any ["Client '", "Client not found", "CLIENT_NOT_FOUND"], none NONE,
        ["kdc-user-unknown", "kinit-user-unknown"], "krbprobe's kdc-reach check asks the KDC for the user without a password"),
    rule!("revoked", all ["credentials have been revoked"], any NONE, none NONE,
        ["kdc-user-disabled", "kinit-user-disabled", "kinit-account-disabled", "kinit-account-locked-out", "kinit-account-expired", "kinit-logon-hours", "kinit-workstation-restricted", "kinit-auth-policy"],
        "krbprobe's kinit check reads the NTSTATUS an Active Directory DC puts into the error (disabled, locked out, expired, logon hours, workstation, policy)"),
    rule!("password-prompt", all ["Cannot read password"], any INITIAL, none NONE,
        ["kdc-password-expired", "kinit-password-expired", "kinit-password-must-change"],
        "kinit asked for a new password, which Ansible cannot give: the password expired, or must be changed at next logon; krbprobe's kinit check reads which from the DC's NTSTATUS"),
    rule!("password-expired", all NONE, any ["Password has expired", "password has expired", "Password expired"], none NONE,
        ["kinit-password-expired", "kinit-password-must-change", "kdc-password-expired"],
        "krbprobe's kinit check reads from the DC's NTSTATUS whether the password is too old or must be changed at next logon"),
    rule!("no-ticket-in-cache", all NONE, any ["Can't find client principal", "No Kerberos credentials available", "No credentials cache found"], none NONE,
        ["kinit-ccache-other-user", "kinit-ccache", "kinit-no-credentials"],
        "with ansible_winrm_kinit_mode: manual the job uses KRB5CCNAME's cache as it is; krbprobe's kinit check shows whose ticket is in it"),
    // ---- the KDC: the service ticket ----
    rule!("spn-etype", all ["KDC has no support for encryption type"], any NONE, none NONE,
        ["spn-etype", "krb5-conf-enctypes-none"], "krbprobe's spn-ticket check names the host's msDS-SupportedEncryptionTypes problem"),
    rule!("spn-clock-skew-pyspnego", all ["Clock skew too great"], any ["Processing security token", "SpnegoError"], none NONE,
        ["winrm-auth-host-clock-skew"], "krbprobe's winrm-auth check decodes the host's KRB-ERROR and its clock (HTTP Date)"),
    rule!("spn-clock-skew", all ["Clock skew too great"], any NONE, none NONE,
        ["spn-clock-skew", "kdc-clock-skew"], "krbprobe's kdc-reach check measures the KDC's clock"),
    rule!("spn-unknown", all ["not found in Kerberos database"], any ["Server ", "Server not found"], none NONE,
        ["spn-unknown", "dns-target-nxdomain", "dns-target-ip", "dns-target-ptr-mismatch", "dns-target-cname", "spn-psrp-service-missing"],
        "krbprobe's dns-target check shows the name the SPN is built from (A, PTR, CNAME) and spn-ticket asks the KDC for it"),
    rule!("spn-kdc-contact", all ["Cannot contact any KDC"], any NONE, none NONE,
        ["spn-kdc-unreachable"], "krbprobe's kdc-reach check probes each KDC"),
    rule!("host-key", all ["Key version is not available"], any NONE, none NONE,
        ["winrm-auth-host-key"], "krbprobe's winrm-auth check decodes the host's KRB-ERROR (KRB_AP_ERR_BADKEYVER)"),
    // ---- WinRM: reaching the listener ----
    rule!("proxy", all NONE, any ["ProxyError", "Unable to connect to proxy"], none NONE,
        ["winrm-proxy"], "krbprobe's winrm-http check says which proxy variable was used"),
    rule!("tls-name", all NONE, any ["Hostname mismatch", "doesn't match", "certificate is not valid for"], none NONE,
        ["winrm-tls-name-mismatch"], "krbprobe's winrm-http check shows the certificate's names"),
    rule!("tls-expired", all ["CERTIFICATE_VERIFY_FAILED"], any ["certificate has expired"], none NONE,
        ["winrm-tls-expired"], "krbprobe's winrm-http check shows the certificate's dates"),
    rule!("tls-untrusted", all NONE, any ["CERTIFICATE_VERIFY_FAILED", "SSLCertVerificationError"], none NONE,
        ["winrm-tls-untrusted"], "krbprobe's winrm-http check shows the certificate's issuer"),
    rule!("tls-handshake", all NONE, any ["SSLError", "WRONG_VERSION_NUMBER", "UNEXPECTED_EOF"], none NONE,
        ["winrm-tls-handshake", "ansible-connection-scheme-port"], "krbprobe's winrm-http check tries the listener with the scheme Ansible uses"),
    rule!("port-closed", all ["Connection refused"], any ["Failed to establish a new connection", "NewConnectionError", "Errno 111"], none NONE,
        ["winrm-port-closed"], "krbprobe's winrm-http check connects to 5985/5986"),
    rule!("port-timeout", all NONE, any ["ConnectTimeout", "connect timeout=", "Connection timed out"], none NONE,
        ["winrm-timeout"], "krbprobe's winrm-http check connects with its own timeout"),
    rule!("host-unresolvable", all NONE, any ["Name or service not known", "nodename nor servname", "Temporary failure in name resolution", "Failed to resolve"], none NONE,
        ["dns-target-nxdomain", "dns-target-failed"], "krbprobe's dns-target check resolves the host with the pod's DNS"),
    rule!("read-timeout", all NONE, any ["ReadTimeout", "Read timed out"], none NONE,
        ["winrm-auth-timeout"], "krbprobe's winrm-auth check times each WinRM request"),
    // ---- WinRM: authentication and the shell or runspace ----
    rule!("psrp-catalog", all ["not found in the WS-Management catalog"], any NONE, none NONE,
        ["winrm-auth-endpoint-missing"], "krbprobe's winrm-auth check opens a runspace on the configured endpoint (ansible_psrp_configuration_name)"),
    rule!("psrp-denied", all ["Access is denied"], any ["Received a WSManFault message", "psrp", "runspace", "PowerShell"], none NONE,
        ["winrm-auth-endpoint-denied"], "krbprobe's winrm-auth check opens the cmd shell and the PowerShell runspace and tells them apart"),
    rule!("access-denied", all ["Access is denied"], any NONE, none NONE,
        ["winrm-auth-access-denied"], "krbprobe's winrm-auth check creates a shell as the job does"),
    rule!("rc4-unwrap", all ["Encrypted length from server does not match"], any NONE, none NONE,
        ["winrm-auth-encryption"], "an rc4-hmac session key: WinRM's RC4-sealed answers do not decrypt in pywinrm over http; krbprobe's kinit and winrm-auth checks name the session enctype"),
    rule!("encryption", all NONE, any ["Code 415", "Code: 415"], none NONE,
        ["winrm-auth-encryption"], "krbprobe's winrm-auth check tries the message encryption the connection uses"),
    rule!("no-wsman", all NONE, any ["Code 404", "Code: 404"], none NONE,
        ["winrm-wsman-missing"], "krbprobe's winrm-http check asks / and /wsman"),
    rule!("unencrypted-500", all NONE, any ["Code 500", "Code: 500"], none NONE,
        ["winrm-auth-encryption", "winrm-auth-fault"], "krbprobe's winrm-auth check shows the host's fault or its AllowUnencrypted answer"),
    rule!("basic-only-psrp", all ["did not response with one of the following authentication methods"], any NONE, none NONE,
        ["winrm-kerberos-disabled"], "krbprobe's winrm-http check lists the schemes the host offers"),
    rule!("ntlm-auth", all ["Failed to authenticate the user", "with ntlm"], any NONE, none NONE,
        ["ansible-connection-not-kerberos"], "krbprobe's ansible-connection check reads ansible_psrp_auth / ansible_winrm_transport"),
    rule!("psrp-auth", all ["Failed to authenticate the user"], any NONE, none NONE,
        ["winrm-auth-rejected", "winrm-auth-ntlm-fallback", "spn-psrp-service-missing", "spn-unknown", "spn-etype",
         "kinit-password-wrong", "kdc-user-unknown", "kinit-user-disabled", "kinit-account-disabled", "kinit-account-locked-out",
         "kinit-account-expired", "kinit-password-expired", "kinit-password-must-change", "kinit-logon-hours", "kinit-etype",
         "kdc-unreachable", "kdc-timeout"],
        "with auth negotiate, pyspnego falls back to NTLM whenever Kerberos fails (no TGT for the user, no service ticket for the host) and reports only this; krbprobe's kinit and spn-ticket checks name the Kerberos failure, and winrm-auth refuses the fallback (ansible_psrp_auth: kerberos shows it in the job, too)"),
    rule!("rejected", all ["credentials were rejected"], any NONE, none NONE,
        ["winrm-auth-rejected", "winrm-kerberos-disabled", "winrm-auth-host-key", "winrm-auth-host-clock-skew", "kdc-clock-skew"],
        "pywinrm says this for every 401; krbprobe's winrm-http check lists the offered schemes, winrm-auth decodes the host's KRB-ERROR (stale key, clock) and kdc-reach measures the KDC's clock"),
];

/// What one rule found in the input.
#[derive(Debug, Clone)]
struct Hit {
    rule: &'static Rule,
    lines: Vec<(String, usize, String)>,
}

/// Names the inputs gave away: the job's host, the principal, the endpoint, the connection.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// `fatal: [HOST]` names, in order.
    pub hosts: Vec<String>,
    /// The client principal (`for principal X`, `Client 'X'`, `the user X with`).
    pub principal: Option<String>,
    /// `psrp` when pypsrp's or the psrp plugin's words appear.
    pub connection: Option<&'static str>,
    /// A WinRM port seen in a URL or `port=N`.
    pub port: Option<u16>,
    /// The ansible-core version (`ansible-playbook [core 2.16.3]`).
    pub ansible_core: Option<String>,
}

fn between<'a>(line: &'a str, start: &str, end: &[char]) -> Option<&'a str> {
    let i = line.find(start)? + start.len();
    let rest = &line[i..];
    let j = rest.find(|c| end.contains(&c)).unwrap_or(rest.len());
    let v = rest[..j].trim_matches(|c: char| c == '\'' || c == '"');
    (!v.is_empty()).then_some(v)
}

/// The client principal a line names (`for principal X`, `Client 'X'`, `the user X with`).
fn principal_in(line: &str) -> Option<String> {
    between(line, "for principal ", &[':', ' ', ',', '"'])
        .or_else(|| between(line, "Client '", &['\'']))
        .or_else(|| between(line, "Failed to authenticate the user ", &[' ']))
        .filter(|p| p.contains('@'))
        .map(str::to_owned)
}

impl Context {
    fn learn(&mut self, line: &str) {
        for marker in [
            "fatal: [",
            "failed: [",
            "ok: [",
            "changed: [",
            "unreachable: [",
        ] {
            if let Some(h) = between(line, marker, &[']']) {
                if !self.hosts.iter().any(|x| x == h) {
                    self.hosts.push(h.to_owned());
                }
            }
        }
        if self.principal.is_none() {
            self.principal = principal_in(line);
        }
        if self.connection.is_none()
            && [
                "psrp",
                "PSRP",
                "Received a WSManFault message",
                "RunspacePool",
                "SpnegoError",
                "failed to authenticate with the server",
            ]
            .iter()
            .any(|m| line.contains(m))
        {
            self.connection = Some("psrp");
        }
        if self.port.is_none() {
            self.port = between(line, "port=", &[')', ',', ' '])
                .and_then(|p| p.parse().ok())
                .or_else(|| line.contains(":5986/").then_some(5986))
                .filter(|p| [5985, 5986].contains(p));
        }
        if self.ansible_core.is_none() {
            self.ansible_core = between(line, "[core ", &[']']).map(str::to_owned);
        }
    }

    /// The live command that settles what the output cannot tell, with what is known filled in.
    pub fn command(&self, host: Option<&str>) -> String {
        let mut cmd = String::from("krbprobe -u ");
        cmd.push_str(self.principal.as_deref().unwrap_or("USER@REALM"));
        if let Some(c) = self.connection {
            let _ = write!(cmd, " --connection {c}");
        }
        if let Some(p) = self.port {
            let _ = write!(cmd, " --port {p}");
        }
        if let Some(v) = &self.ansible_core {
            let _ = write!(cmd, " --ansible-core {v}");
        }
        cmd.push(' ');
        cmd.push_str(host.unwrap_or("HOST.FQDN"));
        cmd
    }
}

fn matches(rule: &Rule, line: &str) -> bool {
    rule.all.iter().all(|n| line.contains(n))
        && (rule.any.is_empty() || rule.any.iter().any(|n| line.contains(n)))
        && !rule.none.iter().any(|n| line.contains(n))
}

/// The first rule for `line`, if any.
pub fn rule_for(line: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| matches(r, line))
}

fn code(name: &str) -> &'static Code {
    // RULES name only registered codes (a unit test checks every one).
    codes::lookup(name).unwrap_or(&codes::EXPLAIN_UNRECOGNIZED)
}

/// The host a line is about: its `fatal: [HOST]`, else the SPN's or URL's host.
fn host_of(line: &str) -> Option<String> {
    between(line, "fatal: [", &[']'])
        .or_else(|| between(line, "host='", &['\'']))
        .or_else(|| between(line, "Machine: ", &[',', ')']))
        .or_else(|| between(line, "://", &[':', '/', ' ']))
        .map(str::to_owned)
}

/// The rule of "Cannot contact any KDC for realm", which a KRB5_TRACE can settle.
const KDC_CONTACT: &str = "kdc-contact";

/// What a KRB5_TRACE says about the KDCs when none answered: MIT logs each KDC name it
/// resolves and each packet it sends, so the three causes of "Cannot contact any KDC" differ:
/// a name followed by no send did not resolve; UDP retries mean no answer at all (dropped);
/// a TCP connection ended with no retry and no answer was refused.
fn trace_kdc_verdict(src: &Source) -> Option<(&'static str, Vec<(usize, String)>)> {
    if src.kind != "KRB5_TRACE" {
        return None;
    }
    let mut resolving: Option<(usize, String)> = None;
    let mut unresolved = None;
    let mut retry = None;
    let mut refused = None;
    for (i, line) in src.text.lines().enumerate() {
        let no = i + 1;
        if line.contains("Received answer") {
            return None; // some KDC answered: the failure is not reaching one
        }
        if line.contains("Resolving hostname ") {
            if let Some(r) = resolving.take() {
                unresolved.get_or_insert(r);
            }
            resolving = Some((no, clip(line.trim())));
        } else if line.contains("Sending initial UDP request")
            || line.contains("Initiating TCP connection")
        {
            resolving = None;
        } else if line.contains("Sending retry UDP request") {
            retry.get_or_insert((no, clip(line.trim())));
        } else if line.contains("Terminating TCP connection") {
            refused.get_or_insert((no, clip(line.trim())));
        }
    }
    if let Some(r) = resolving {
        unresolved.get_or_insert(r);
    }
    // Dropped packets are the slowest and most specific sign; a name that did not resolve
    // comes next; a refusal is what is left.
    let (code, line) = if let Some(l) = retry {
        ("kdc-timeout", l)
    } else if let Some(l) = unresolved {
        ("dns-kdc-nxdomain", l)
    } else {
        ("kdc-unreachable", refused?)
    };
    Some((code, vec![line]))
}

/// Explains `sources`: one finding per distinct message (per host), else one saying nothing
/// was recognised.
pub fn explain(sources: &[Source]) -> Report {
    let started = Instant::now();
    let mut ctx = Context::default();
    let mut hits: Vec<(Option<String>, Hit)> = Vec::new();
    let mut lines_read = 0usize;
    for src in sources {
        for (i, line) in src.text.lines().enumerate() {
            lines_read += 1;
            ctx.learn(line);
            let Some(rule) = rule_for(line) else {
                continue;
            };
            let host = host_of(line);
            let evidence = (src.name.clone(), i + 1, clip(line.trim()));
            match hits.iter_mut().find(|(h, hit)| {
                hit.rule.id == rule.id && (h == &host || h.is_none() || host.is_none())
            }) {
                Some((h, hit)) => {
                    if h.is_none() {
                        h.clone_from(&host);
                    }
                    if hit.lines.len() < 5 {
                        hit.lines.push(evidence);
                    }
                }
                None => hits.push((
                    host,
                    Hit {
                        rule,
                        lines: vec![evidence],
                    },
                )),
            }
        }
    }
    let kdc = sources
        .iter()
        .find_map(|s| trace_kdc_verdict(s).map(|v| (s.name.clone(), v)));
    // A trace alone (no line of job output said "Cannot contact any KDC") still names the
    // cause: it becomes that message's finding, with the trace's lines as its evidence.
    if kdc.is_some() && !hits.iter().any(|(_, h)| h.rule.id == KDC_CONTACT) {
        if let Some(rule) = RULES.iter().find(|r| r.id == KDC_CONTACT) {
            hits.push((
                None,
                Hit {
                    rule,
                    lines: Vec::new(),
                },
            ));
        }
    }
    let mut findings = Vec::new();
    for (host, hit) in &mut hits {
        let host = host.clone().or_else(|| ctx.hosts.first().cloned());
        let mut settled = None;
        if hit.rule.id == KDC_CONTACT {
            if let Some((name, (code, lines))) = &kdc {
                settled = Some(*code);
                for (no, text) in lines {
                    hit.lines.push((name.clone(), *no, text.clone()));
                }
            }
        }
        findings.push(finding(hit, host, &ctx, settled));
    }
    if findings.is_empty() {
        let kinds: BTreeSet<&str> = sources.iter().map(|s| s.kind).collect();
        let f = Finding::new(
            "explain",
            codes::EXPLAIN_UNRECOGNIZED,
            format!(
                "no Kerberos or WinRM failure recognised in {lines_read} lines ({})",
                kinds.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .evidence("settle", ctx.command(ctx.hosts.first().map(String::as_str)));
        findings.push(f);
    }
    let tool = ToolInfo {
        name: "krbprobe",
        version: env!("CARGO_PKG_VERSION"),
        mit_krb5: env!("KRBPROBE_MIT_KRB5_VERSION"),
        krb5_conf: "(not read: explain)".to_owned(),
        krb5_conf_origin: "explain",
        user: ctx.principal.clone(),
        credential: "none",
        targets: ctx.hosts.clone(),
        endpoints: Vec::new(),
        port: ctx.port.unwrap_or(0),
        scheme: if ctx.port == Some(5986) {
            "https"
        } else {
            "http"
        },
        timeout_ms: 0,
        insecure: false,
    };
    Report::new(tool, findings, started.elapsed())
}

fn clip(line: &str) -> String {
    if line.len() <= MAX_EVIDENCE_LINE {
        return line.to_owned();
    }
    let mut end = MAX_EVIDENCE_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &line[..end])
}

fn finding(
    hit: &Hit,
    host: Option<String>,
    ctx: &Context,
    settled: Option<&'static str>,
) -> Finding {
    let rule = hit.rule;
    let first = &hit.lines[0].2;
    let candidates = settled.map_or_else(|| refine(rule, first), |c| vec![c]);
    // The user of this message's own line first: one paste can hold several jobs' outputs.
    let own = Context {
        principal: hit
            .lines
            .iter()
            .find_map(|(_, _, text)| principal_in(text))
            .or_else(|| ctx.principal.clone()),
        ..ctx.clone()
    };
    let command = own.command(host.as_deref());
    let lines: Vec<Value> = hit
        .lines
        .iter()
        .map(|(src, no, text)| json!({"source": src, "line": no, "text": text}))
        .collect();
    let from = if settled.is_some() {
        "the KRB5_TRACE"
    } else {
        "the job output"
    };
    let mut f = if let [only] = candidates.as_slice() {
        let c = code(only);
        Finding::new(c.check, *c, format!("inferred from {from}: {}", c.cause))
    } else {
        let list: Vec<Value> = candidates
            .iter()
            .map(|n| {
                let c = code(n);
                json!({"code": c.code, "check": c.check, "cause": c.cause})
            })
            .collect();
        Finding::new(
            "explain",
            codes::EXPLAIN_AMBIGUOUS,
            format!(
                "this message has {} possible causes: {}",
                candidates.len(),
                candidates.join(", ")
            ),
        )
        .hint(format!("{}. Run: {command}", rule.settle))
        .evidence("candidates", Value::Array(list))
    };
    if let Some(h) = host {
        f = f.target(h);
    }
    f.evidence("rule", rule.id)
        .evidence("lines", Value::Array(lines))
        .evidence("settle", command)
        .evidence("settle_why", rule.settle)
}

/// Narrows a rule's candidates with what the line itself says (the realm's case, the SPN's
/// host).
fn refine(rule: &Rule, line: &str) -> Vec<&'static str> {
    let all = rule.codes.to_vec();
    match rule.id {
        // `Cannot find KDC for realm "kurokobo.internal"`: a realm in lower case is the
        // classic mistake; an upper-case one is missing from krb5.conf.
        "realm-not-found" => {
            let realm = between(line, "for realm ", &[' ', ',']).unwrap_or("");
            if realm.chars().any(|c| c.is_ascii_lowercase()) {
                vec!["principal-realm-case"]
            } else {
                all
            }
        }
        // `Server HTTP/127.0.0.20@REALM not found`: an address became the SPN.
        "spn-unknown" => {
            let spn = between(line, "Server ", &[' ', '\'', '"', ')']).unwrap_or("");
            let (service, rest) = spn.split_once('/').unwrap_or(("", ""));
            let host = rest.split('@').next().unwrap_or("");
            if host.parse::<std::net::IpAddr>().is_ok() {
                vec!["dns-target-ip"]
            } else if service.eq_ignore_ascii_case("WSMAN") {
                vec![
                    "spn-psrp-service-missing",
                    "spn-unknown",
                    "dns-target-nxdomain",
                ]
            } else {
                all.into_iter()
                    .filter(|c| *c != "dns-target-ip" && *c != "spn-psrp-service-missing")
                    .collect()
            }
        }
        _ => all,
    }
}

/// The paths `explain` reads: the given ones, or stdin.
pub fn inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        paths.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Report {
        explain(&[decode("job.txt".into(), text)])
    }

    fn codes_of(r: &Report) -> Vec<&str> {
        r.checks.iter().map(|c| c.code).collect()
    }

    #[test]
    fn every_rule_names_registered_codes() {
        for r in RULES {
            assert!(!r.codes.is_empty(), "{}", r.id);
            for c in r.codes {
                assert!(
                    codes::lookup(c).is_some(),
                    "{}: {c} is not registered",
                    r.id
                );
            }
            assert!(
                !r.all.is_empty() || !r.any.is_empty(),
                "{} matches everything",
                r.id
            );
        }
        let ids: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), RULES.len(), "rule ids are unique");
        assert!(
            ids.contains(KDC_CONTACT),
            "a KRB5_TRACE settles {KDC_CONTACT}"
        );
    }

    #[test]
    fn a_certain_cause_gets_its_code_and_the_host() {
        let r = run(
            "fatal: [kuro-win02]: UNREACHABLE! => {\"changed\": false, \"msg\": \"Kerberos auth failure for principal awx@KUROKOBO.INTERNAL: kinit: Password incorrect while getting initial credentials\", \"unreachable\": true}",
        );
        assert_eq!(codes_of(&r), ["kinit-password-wrong"]);
        let f = &r.checks[0];
        assert_eq!(f.target.as_deref(), Some("kuro-win02"));
        assert_eq!(
            f.evidence["settle"],
            "krbprobe -u awx@KUROKOBO.INTERNAL kuro-win02"
        );
        assert_eq!(f.evidence["lines"][0]["line"], 1);
    }

    #[test]
    fn an_ambiguous_message_lists_its_candidates() {
        let r = run(
            "kinit: Cannot contact any KDC for realm 'KUROKOBO.INTERNAL' while getting initial credentials",
        );
        assert_eq!(codes_of(&r), ["explain-ambiguous"]);
        let c: Vec<&str> = r.checks[0].evidence["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            c,
            [
                "dns-kdc-nxdomain",
                "kdc-unreachable",
                "kdc-timeout",
                "kinit-kdc-unreachable"
            ]
        );
        assert!(
            r.checks[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("Run: krbprobe -u USER@REALM")
        );
    }

    #[test]
    fn the_realm_case_and_an_address_spn_are_certain() {
        let r = run(
            "kinit: Cannot find KDC for realm \"kurokobo.internal\" while getting initial credentials",
        );
        assert_eq!(codes_of(&r), ["principal-realm-case"]);
        let r = run(
            "kerberos: authGSSClientStep() failed: (('Unspecified GSS failure.  Minor code may provide more information', 851968), ('Server HTTP/127.0.0.20@KUROKOBO.INTERNAL not found in Kerberos database', -1765328377))",
        );
        assert_eq!(codes_of(&r), ["dns-target-ip"]);
    }

    #[test]
    fn repeated_lines_are_one_finding_per_host() {
        let line = |h: &str| {
            format!(
                "fatal: [{h}]: UNREACHABLE! => {{\"msg\": \"kerberos: the specified credentials were rejected by the server\"}}"
            )
        };
        let r = run(&[line("a"), line("a"), line("b")].join("\n"));
        assert_eq!(r.checks.len(), 2);
        assert_eq!(r.checks[0].evidence["lines"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn awx_job_events_and_ansi_colours() {
        let events = json!({"count": 1, "results": [
            {"event": "runner_on_unreachable", "stdout": "\u{1b}[1;31mfatal: [kuro-win09]: UNREACHABLE! => {\"msg\": \"kerberos: Access is denied.  (extended fault data: {'http_status_code': 500})\"}\u{1b}[0m",
             "event_data": {"host": "kuro-win09", "res": {"msg": "kerberos: Access is denied."}}}]});
        let src = decode("events.json".into(), &events.to_string());
        assert_eq!(src.kind, "AWX job events");
        assert!(!src.text.contains('\u{1b}'));
        let r = explain(&[src]);
        assert_eq!(codes_of(&r), ["winrm-auth-access-denied"]);
        let stdout = decode("stdout.json".into(), &json!({"content": "ok"}).to_string());
        assert_eq!(stdout.kind, "AWX stdout");
    }

    #[test]
    fn nothing_recognised_says_so_and_how_to_look_live() {
        let r = run("PLAY [all] ***\nok: [kuro-win01]\n");
        assert_eq!(codes_of(&r), ["explain-unrecognized"]);
        assert_eq!(
            r.checks[0].evidence["settle"],
            "krbprobe -u USER@REALM kuro-win01"
        );
    }

    #[test]
    fn a_trace_is_told_from_job_output() {
        let t = "[1234] 1733313000.123456: Getting initial credentials for awx@KUROKOBO.INTERNAL\n";
        assert_eq!(decode("t".into(), t).kind, "KRB5_TRACE");
        assert_eq!(decode("t".into(), "fatal: [x]: ...").kind, "job output");
    }

    /// MIT 1.20's KRB5_TRACE of a kinit in the lab: a KDC that refuses, one that drops, a
    /// name without a DNS record (lab/README.md, "What MIT 1.20 prints").
    const TRACE_REFUSED: &str = "[192] 1796415482.727386: Sending request (193 bytes) to KUROKOBO.INTERNAL\n[192] 1796415482.727387: Resolving hostname kuro-ad03.kurokobo.internal\n[192] 1796415482.727388: Sending initial UDP request to dgram 127.0.0.12:88\n[192] 1796415482.727389: Initiating TCP connection to stream 127.0.0.12:88\n[192] 1796415482.727390: Terminating TCP connection to stream 127.0.0.12:88\n";
    const TRACE_DROPPED: &str = "[196] 1796415482.741089: Resolving hostname kuro-ad04.kurokobo.internal\n[196] 1796415482.741090: Sending initial UDP request to dgram 127.0.0.13:88\n[196] 1796415483.758472: Initiating TCP connection to stream 127.0.0.13:88\n[196] 1796415486.768530: Sending retry UDP request to dgram 127.0.0.13:88\n[196] 1796415500.780746: Terminating TCP connection to stream 127.0.0.13:88\n";
    const TRACE_NXDOMAIN: &str = "[200] 1796415500.795209: Sending request (193 bytes) to KUROKOBO.INTERNAL\n[200] 1796415500.795210: Resolving hostname kuro-nokdc.kurokobo.internal\n";

    #[test]
    fn a_trace_settles_which_kdc_failure() {
        let job = "fatal: [kuro-win01]: UNREACHABLE! => {\"msg\": \"Kerberos auth failure for principal awx@KUROKOBO.INTERNAL: kinit: Cannot contact any KDC for realm 'KUROKOBO.INTERNAL' while getting initial credentials\"}";
        for (trace, want) in [
            (TRACE_REFUSED, "kdc-unreachable"),
            (TRACE_DROPPED, "kdc-timeout"),
            (TRACE_NXDOMAIN, "dns-kdc-nxdomain"),
        ] {
            let r = explain(&[decode("job".into(), job), decode("trace".into(), trace)]);
            assert_eq!(codes_of(&r), [want]);
            let lines = r.checks[0].evidence["lines"].as_array().unwrap();
            assert_eq!(lines.last().unwrap()["source"], "trace", "{want}");
        }
        // The trace alone names the cause too, with its own line as the evidence.
        let r = explain(&[decode("trace".into(), TRACE_DROPPED)]);
        assert_eq!(codes_of(&r), ["kdc-timeout"]);
        assert_eq!(r.checks[0].evidence["lines"][0]["source"], "trace");
        // A KDC that answered settles nothing about reaching one.
        let answered = format!(
            "{TRACE_REFUSED}[1] 1.2: Received answer (253 bytes) from dgram 127.0.0.10:88\n"
        );
        let r = explain(&[decode("job".into(), job), decode("trace".into(), &answered)]);
        assert_eq!(codes_of(&r), ["explain-ambiguous"]);
    }

    #[test]
    fn psrp_words_set_the_connection_in_the_command() {
        let r = run(
            "fatal: [kuro-win15]: UNREACHABLE! => {\"msg\": \"psrp connection failure during runspace open: Received a WSManFault message. (Code: 5, Machine: kuro-win15.kurokobo.internal, Reason: Access is denied.)\"}",
        );
        assert_eq!(codes_of(&r), ["winrm-auth-endpoint-denied"]);
        assert!(
            r.checks[0].evidence["settle"]
                .as_str()
                .unwrap()
                .contains("--connection psrp")
        );
    }
}
