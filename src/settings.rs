//! One validated settings value, built once from the command line and the environment.
//!
//! Checks never read `std::env` or argv: everything they need is here. The environment is
//! passed in as a lookup function so tests can build settings without touching the process.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Cli, EeCheck};
use crate::model::{ColorChoice, Connection, Format, Scheme};
use crate::secret::{self, Secret, SecretError};

/// Default krb5.conf location when neither --krb5-conf nor KRB5_CONFIG is set.
pub const DEFAULT_KRB5_CONF: &str = "/etc/krb5.conf";

/// How the TGT is obtained.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A password (GSSAPI acquire-with-password into a private in-memory cache).
    Password(Secret),
    /// A client keytab.
    Keytab(PathBuf),
    /// An existing ticket cache, named as in KRB5CCNAME.
    Cache(String),
    /// Nothing: the checks that need a TGT are skipped.
    None,
}

impl Credential {
    /// Name used in the report (`tool.credential`).
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::Password(_) => "password",
            Credential::Keytab(_) => "keytab",
            Credential::Cache(_) => "ccache",
            Credential::None => "none",
        }
    }
}

/// Where the krb5.conf path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfOrigin {
    /// --krb5-conf
    Flag,
    /// KRB5_CONFIG
    Env,
    /// /etc/krb5.conf
    Default,
}

impl ConfOrigin {
    /// Name used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfOrigin::Flag => "flag",
            ConfOrigin::Env => "env",
            ConfOrigin::Default => "default",
        }
    }
}

/// Proxy variables as Python's requests reads them (lower case wins over upper case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// `http_proxy`/`HTTP_PROXY`.
    pub http: Option<(String, String)>,
    /// `https_proxy`/`HTTPS_PROXY`.
    pub https: Option<(String, String)>,
    /// `all_proxy`/`ALL_PROXY`.
    pub all: Option<(String, String)>,
    /// `no_proxy`/`NO_PROXY`.
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// Reads the variables through `env`; each value is kept with the variable's name.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> ProxyEnv {
        let get = |lower: &str| {
            let upper = lower.to_ascii_uppercase();
            env(lower)
                .filter(|v| !v.is_empty())
                .map(|v| (lower.to_owned(), v))
                .or_else(|| env(&upper).filter(|v| !v.is_empty()).map(|v| (upper, v)))
        };
        ProxyEnv {
            http: get("http_proxy"),
            https: get("https_proxy"),
            all: get("all_proxy"),
            no_proxy: get("no_proxy").map(|(_, v)| v),
        }
    }

    /// The proxy requests would use for `scheme://host`, as (variable, value), following
    /// requests' `should_bypass_proxies`: `*` exempts everything, an entry exempts hosts that
    /// end with it (so `.example.com` and `example.com` both cover `a.example.com`), and IP
    /// entries match exactly.
    pub fn proxy_for(&self, scheme: &str, host: &str) -> Option<(String, String)> {
        let proxy = match scheme {
            "https" => self.https.clone(),
            _ => self.http.clone(),
        }
        .or_else(|| self.all.clone())?;
        if let Some(list) = &self.no_proxy {
            let host = host.to_ascii_lowercase();
            for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let entry = entry.to_ascii_lowercase();
                if entry == "*" || host == entry.trim_start_matches('.') || host.ends_with(&entry) {
                    return None;
                }
            }
        }
        Some(proxy)
    }
}

/// A target as given: a name and the Ansible winrm connection variables that came with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// The inventory host name (or the host as typed).
    pub name: String,
    /// `ansible_host` / `ansible_winrm_host`.
    #[serde(default)]
    pub ansible_host: Option<String>,
    /// `ansible_port` / `ansible_winrm_port`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `ansible_winrm_scheme`.
    #[serde(default)]
    pub scheme: Option<Scheme>,
    /// `ansible_winrm_service`.
    #[serde(default)]
    pub service: Option<String>,
    /// `ansible_winrm_kerberos_hostname_override`.
    #[serde(default)]
    pub hostname_override: Option<String>,
    /// `ansible_winrm_transport`.
    #[serde(default)]
    pub transport: Option<Vec<String>>,
    /// `ansible_winrm_kerberos_delegation`.
    #[serde(default)]
    pub kerberos_delegation: Option<bool>,
    /// `ansible_winrm_kinit_args` (they replace the `-f` delegation would add).
    #[serde(default)]
    pub kinit_args: Option<String>,
    /// `ansible_connection` as given (`winrm`, `psrp`, or their `ansible.builtin.` names).
    #[serde(default)]
    pub connection: Option<String>,
    /// The psrp connection's own variables (`ansible_psrp_*`), used when the connection is psrp.
    #[serde(default)]
    pub psrp: PsrpSpec,
}

/// The `ansible_psrp_*` variables krbprobe mirrors, as given. Kept apart from the winrm ones:
/// a host can carry both sets, and only its `ansible_connection` says which one counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsrpSpec {
    /// `ansible_host` / `ansible_psrp_host`.
    #[serde(default)]
    pub host: Option<String>,
    /// `ansible_port` / `ansible_psrp_port`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `ansible_psrp_protocol`.
    #[serde(default)]
    pub protocol: Option<Scheme>,
    /// `ansible_psrp_path` (default `wsman`).
    #[serde(default)]
    pub path: Option<String>,
    /// `ansible_psrp_auth` (default `negotiate`).
    #[serde(default)]
    pub auth: Option<String>,
    /// `ansible_psrp_cert_validation` (`validate` or `ignore`).
    #[serde(default)]
    pub cert_validation: Option<String>,
    /// `ansible_psrp_cert_trust_path` / `ansible_psrp_ca_cert`.
    #[serde(default)]
    pub ca_cert: Option<String>,
    /// `ansible_psrp_message_encryption` (`auto`, `always`, `never`).
    #[serde(default)]
    pub message_encryption: Option<String>,
    /// `ansible_psrp_proxy`.
    #[serde(default)]
    pub proxy: Option<String>,
    /// `ansible_psrp_ignore_proxy`.
    #[serde(default)]
    pub ignore_proxy: Option<bool>,
    /// `ansible_psrp_negotiate_delegate`.
    #[serde(default)]
    pub negotiate_delegate: Option<bool>,
    /// `ansible_psrp_negotiate_hostname_override`.
    #[serde(default)]
    pub negotiate_hostname_override: Option<String>,
    /// `ansible_psrp_negotiate_send_cbt` (default true).
    #[serde(default)]
    pub negotiate_send_cbt: Option<bool>,
    /// `ansible_psrp_negotiate_service` (default `WSMAN` up to ansible-core 2.20, `host` from
    /// 2.21).
    #[serde(default)]
    pub negotiate_service: Option<String>,
    /// `ansible_psrp_configuration_name` (default `Microsoft.PowerShell`).
    #[serde(default)]
    pub configuration_name: Option<String>,
}

impl TargetSpec {
    /// A bare host name without variables.
    pub fn bare(name: &str) -> TargetSpec {
        TargetSpec {
            name: name.to_owned(),
            ..TargetSpec::default()
        }
    }

    /// True when any Ansible connection variable came with the name.
    pub fn has_vars(&self) -> bool {
        self.ansible_host.is_some()
            || self.port.is_some()
            || self.scheme.is_some()
            || self.service.is_some()
            || self.hostname_override.is_some()
            || self.transport.is_some()
            || self.connection.is_some()
            || self.kerberos_delegation.is_some()
            || self.kinit_args.is_some()
            || self.psrp != PsrpSpec::default()
    }
}

/// One target resolved the way Ansible's winrm connection resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The name the report uses: the inventory host name, or the target as given.
    pub name: String,
    /// Where WinRM is reached: `ansible_host`, else the name.
    pub host: String,
    /// The host handed to GSSAPI for the SPN: the hostname override, else `host`.
    pub spn_host: String,
    /// SPN service class (`HTTP` unless `ansible_winrm_service` says otherwise).
    pub service: String,
    /// WinRM port.
    pub port: u16,
    /// WinRM scheme.
    pub scheme: Scheme,
    /// The Ansible connection plugin it is reached with.
    pub connection: Connection,
    /// Where the SPN service class came from, for the report: the variable, a flag or the
    /// plugin's default (`default`, `default before ansible-core 2.21`, ...).
    pub service_origin: &'static str,
    /// What the psrp connection adds; `None` for winrm.
    pub psrp: Option<Psrp>,
    /// The variables given with it, for the `ansible-connection` check.
    pub spec: TargetSpec,
}

/// How Ansible's psrp connection talks to one host, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Psrp {
    /// `ansible_psrp_auth`: `negotiate` (SPNEGO; pyspnego falls back to NTLM when Kerberos
    /// fails), `kerberos` (Kerberos only), or one without Kerberos (`ntlm`, `basic`, ...).
    pub auth: String,
    /// The PowerShell session configuration (endpoint) the runspace pool opens on.
    pub configuration_name: String,
    /// `ansible_psrp_message_encryption`.
    pub message_encryption: String,
    /// Whether channel bindings go with the token over https (`negotiate_send_cbt`).
    pub send_cbt: bool,
    /// Whether the credentials are delegated (`negotiate_delegate`).
    pub delegate: bool,
    /// `ansible_psrp_path` when it is not the default `wsman`.
    pub path: Option<String>,
}

impl Psrp {
    /// True when pypsrp authenticates with Kerberos (negotiate or kerberos).
    pub fn uses_kerberos(&self) -> bool {
        matches!(self.auth.as_str(), "negotiate" | "kerberos")
    }

    /// True when pypsrp seals the messages itself: `always`, or `auto` over http.
    pub fn encrypts(&self, scheme: Scheme) -> bool {
        match self.message_encryption.as_str() {
            "never" => false,
            "always" => true,
            _ => scheme == Scheme::Http,
        }
    }
}

impl Target {
    /// True when the connection delegates the credentials (double hop):
    /// `ansible_psrp_negotiate_delegate` or `ansible_winrm_kerberos_delegation`.
    pub fn delegates(&self) -> bool {
        match &self.psrp {
            Some(p) => p.delegate,
            None => self.spec.kerberos_delegation == Some(true),
        }
    }

    /// For winrm: whether Ansible's kinit asks for a forwardable TGT (`-f`): delegation adds
    /// it unless `ansible_winrm_kinit_args` is set, which replaces it.
    pub fn kinit_forwardable(&self) -> bool {
        match &self.spec.kinit_args {
            Some(args) => args
                .split_whitespace()
                .any(|a| a == "-f" || a == "--forwardable"),
            None => self.spec.kerberos_delegation == Some(true),
        }
    }

    /// The proxy variable of the environment (variable, value) that the connection's HTTP
    /// client would send this target's WinRM through. pypsrp takes none when the host sets
    /// `ansible_psrp_ignore_proxy` (it connects directly) or `ansible_psrp_proxy` (that proxy
    /// replaces the environment's; the action plugin warns that krbprobe does not use it).
    pub fn env_proxy(&self, env: &ProxyEnv) -> Option<(String, String)> {
        let psrp = &self.spec.psrp;
        if self.psrp.is_some() && (psrp.ignore_proxy == Some(true) || psrp.proxy.is_some()) {
            return None;
        }
        env.proxy_for(self.scheme.as_str(), &self.host)
    }

    /// The WinRM endpoint pywinrm would use.
    pub fn endpoint(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}://{host}:{}/wsman", self.scheme.as_str(), self.port)
    }
}

/// Ansible's default WinRM port (`ansible_port` unset): 5986, HTTPS.
pub const ANSIBLE_DEFAULT_PORT: u16 = 5986;

/// The SPN service class pywinrm uses unless `ansible_winrm_service` is set.
pub const DEFAULT_SERVICE: &str = "HTTP";

/// The psrp connection's `negotiate_service` default up to ansible-core 2.20.
pub const PSRP_SERVICE_BEFORE_2_21: &str = "WSMAN";

/// The psrp connection's `negotiate_service` default from ansible-core 2.21 on.
pub const PSRP_SERVICE_FROM_2_21: &str = "host";

/// The psrp connection's default endpoint (`ansible_psrp_configuration_name`).
pub const DEFAULT_CONFIGURATION_NAME: &str = "Microsoft.PowerShell";

/// The ansible-core version whose plugin defaults apply, as `(major, minor)`, from
/// `--ansible-core` or the module's `_ansible_version`: `2.21`, `2.21.5`, `2.19.0rc1`.
pub fn parse_core_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

/// The run-wide defaults a target falls back on when its variables leave something unset.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// Port without `ansible_port`.
    pub port: u16,
    /// `--scheme`.
    pub scheme: Option<Scheme>,
    /// `--service` (either connection's SPN service class).
    pub service: Option<String>,
    /// `--connection`; else winrm.
    pub connection: Option<Connection>,
    /// `--ansible-core`: the version whose psrp defaults apply.
    pub ansible_core: Option<(u32, u32)>,
    /// `--psrp-auth`.
    pub psrp_auth: Option<String>,
    /// `--configuration-name`.
    pub configuration_name: Option<String>,
    /// `--message-encryption`.
    pub message_encryption: Option<String>,
}

/// Run-wide facts about how Ansible's winrm connection runs, beyond the targets.
#[derive(Debug, Clone, Default)]
pub struct AnsibleContext {
    /// True when Ansible connection variables were given (flags, targets file, module).
    pub active: bool,
    /// True when running as an Ansible module.
    pub module: bool,
    /// `ansible_winrm_realm` (ignored by pywinrm).
    pub realm: Option<String>,
    /// `ansible_winrm_kinit_env_vars`, when given.
    pub kinit_env_vars: Option<Vec<String>>,
}

/// The environment the ee-runtime check looks at, read once when settings are built.
#[derive(Debug, Clone, Default)]
pub struct EeEnv {
    /// Whether to run the check.
    pub enabled: bool,
    /// Why it runs (e.g. `--ee-check always`, `HOME=/runner`).
    pub reasons: Vec<String>,
    /// `PATH`.
    pub path: Option<String>,
    /// `HOME`.
    pub home: Option<String>,
    /// `TMPDIR`, `TEMP`, `TMP` as Python's tempfile reads them, in that order.
    pub tmp_vars: Vec<(String, String)>,
    /// `PYTHONPATH`, passed on to the interpreter probe.
    pub pythonpath: Option<String>,
    /// `KRB5_CONFIG` as set on the pod (before the probe points MIT at its own choice).
    pub krb5_config: Option<String>,
    /// `KRB5_TRACE` as set on the pod.
    pub krb5_trace: Option<String>,
    /// `--python`.
    pub python: Option<PathBuf>,
    /// `--kinit-cmd` (`ansible_winrm_kinit_cmd`).
    pub kinit_cmd: Option<String>,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Targets in the order given.
    pub targets: Vec<Target>,
    /// How Ansible's winrm connection was described, if it was.
    pub ansible: AnsibleContext,
    /// Inputs of the ee-runtime check.
    pub ee: EeEnv,
    /// Client principal as given.
    pub user: Option<String>,
    /// How to get a TGT.
    pub credential: Credential,
    /// The krb5.conf to check; also the one MIT krb5 is pointed at.
    pub krb5_conf: PathBuf,
    /// Where `krb5_conf` came from.
    pub krb5_conf_origin: ConfOrigin,
    /// WinRM port.
    pub port: u16,
    /// WinRM scheme.
    pub scheme: Scheme,
    /// Extra trusted CA certificates for HTTPS.
    pub ca_file: Option<PathBuf>,
    /// Do not validate HTTPS certificates in the authenticated session.
    pub insecure: bool,
    /// Per-step network timeout.
    pub timeout: Duration,
    /// Deadline of the whole run.
    pub deadline: Duration,
    /// Blocking GSSAPI exchanges at once.
    pub jobs: usize,
    /// Whether winrm-auth creates and deletes a shell after Identify.
    pub open_shell: bool,
    /// Capture MIT's KRB5_TRACE into the report.
    pub trace: bool,
    /// Proxy variables pywinrm would honour.
    pub proxy: ProxyEnv,
    /// Output format.
    pub format: Format,
    /// Colour policy.
    pub color: ColorChoice,
}

/// Why settings could not be built (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The password could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// A target is empty or not a host name.
    #[error("target {0:?} is not a host name")]
    BadTarget(String),
    /// A host's connection variables name something krbprobe cannot mirror.
    #[error("host {host}: {reason}")]
    BadVar {
        /// The host.
        host: String,
        /// What is wrong, naming the variable.
        reason: String,
    },
    /// A line of --targets-file (or the inventory in it) cannot be read.
    #[error("--targets-file {path}{}: {reason}", at_line(*.line))]
    BadTargetLine {
        /// The file.
        path: String,
        /// 1-based line number; 0 when the reason is not about one line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A flag that describes one host was given with several targets.
    #[error("{0} describes one host; give exactly one target with it")]
    OneTargetOnly(&'static str),
    /// A flag's value cannot be used.
    #[error("{flag}: {reason}")]
    BadFlag {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file given on the command line does not exist.
    #[error("{flag} {path}: {reason}")]
    BadFile {
        /// The flag.
        flag: &'static str,
        /// The path given.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

fn at_line(line: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(", line {line}")
    }
}

/// Targets from a `--targets-file`: one host per line (blank lines and `#` comments skipped),
/// or an Ansible inventory, INI or the JSON of `ansible-inventory --list`
/// ([`crate::inventory`]): the hosts of `groups` (`--group`; every host without), each with
/// the winrm connection variables krbprobe mirrors from its line, its groups' vars and
/// `[all:vars]`, merged with Ansible's precedence. Other variables are ignored, so an inventory
/// can be used as it is. Also says whether the file is an Ansible inventory (groups,
/// variables or JSON) rather than a plain list, so that Ansible's defaults apply to its hosts.
/// Errors carry the 1-based line (0 when not about one line).
pub fn parse_targets_file(
    text: &str,
    groups: &[String],
) -> Result<(Vec<TargetSpec>, bool), (usize, String)> {
    let inv = crate::inventory::Inventory::parse(text)?;
    Ok((inv.specs(groups)?, inv.is_structured()))
}

/// krbprobe's own default WinRM port (`--port`), for targets named on the command line.
pub const DEFAULT_PORT: u16 = 5985;

/// The winrm connection variables a target takes, in the order the winrm connection plugin
/// lists them: where two feed one option, the later one wins (`ansible_winrm_host` over
/// `ansible_host`), whatever level of the inventory each comes from.
pub(crate) const MIRRORED_VARS: &[&str] = &[
    "ansible_host",
    "ansible_winrm_host",
    "ansible_port",
    "ansible_winrm_port",
    "ansible_winrm_scheme",
    "ansible_winrm_service",
    "ansible_winrm_kerberos_hostname_override",
    "ansible_winrm_transport",
    "ansible_winrm_kerberos_delegation",
    "ansible_winrm_kinit_args",
    "ansible_connection",
    // The psrp plugin's, in its order (ansible_host and ansible_port above feed it too).
    "ansible_psrp_host",
    "ansible_psrp_port",
    "ansible_psrp_protocol",
    "ansible_psrp_path",
    "ansible_psrp_auth",
    "ansible_psrp_cert_validation",
    "ansible_psrp_cert_trust_path",
    "ansible_psrp_ca_cert",
    "ansible_psrp_message_encryption",
    "ansible_psrp_proxy",
    "ansible_psrp_ignore_proxy",
    "ansible_psrp_negotiate_delegate",
    "ansible_psrp_negotiate_hostname_override",
    "ansible_psrp_negotiate_send_cbt",
    "ansible_psrp_negotiate_service",
    "ansible_psrp_configuration_name",
];

/// `ansible_psrp_auth`'s choices (the psrp plugin's own list).
pub const PSRP_AUTHS: &[&str] = &[
    "basic",
    "certificate",
    "negotiate",
    "kerberos",
    "ntlm",
    "credssp",
];

/// `ansible_psrp_message_encryption`'s choices.
pub const PSRP_ENCRYPTIONS: &[&str] = &["auto", "always", "never"];

/// A choice among `choices`, or an error naming the variable and the choices.
pub(crate) fn choice(key: &str, value: &str, choices: &[&str]) -> Result<String, String> {
    let v = value.trim();
    if choices.contains(&v) {
        Ok(v.to_owned())
    } else {
        Err(format!("{key}={value}: one of {}", choices.join(", ")))
    }
}

/// An Ansible boolean as text (`yes`, `true`, `1`, `on`, ... as `boolean()` reads them).
fn ansible_bool(key: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" | "true" | "y" | "t" => Ok(true),
        "no" | "off" | "0" | "false" | "n" | "f" => Ok(false),
        _ => Err(format!("{key}={value}: not a boolean")),
    }
}

/// Sets the field of `spec` that the winrm connection variable `key` feeds; other variables
/// are not krbprobe's and are ignored. A value krbprobe cannot take literally is an error
/// that names the variable.
pub(crate) fn apply_var(spec: &mut TargetSpec, key: &str, value: &str) -> Result<(), String> {
    if !MIRRORED_VARS.contains(&key) {
        return Ok(());
    }
    if value.contains("{{") || value.contains("{%") {
        return Err(format!(
            "{key}={value}: a Jinja2 template, which only Ansible evaluates: give the value \
             itself, or run krbprobe as the Ansible module (playbooks/diagnose-group.yml)"
        ));
    }
    let port = || -> Result<u16, String> {
        value
            .trim()
            .parse()
            .map_err(|_| format!("{key}={value}: not a port number"))
    };
    let scheme = || -> Result<Scheme, String> {
        match value.trim() {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            _ => Err(format!("{key}={value}: http or https")),
        }
    };
    let p = &mut spec.psrp;
    match key {
        // ansible_host and ansible_port feed both plugins; each plugin's own variable wins.
        "ansible_host" => {
            spec.ansible_host = Some(value.into());
            p.host = Some(value.into());
        }
        "ansible_port" => {
            spec.port = Some(port()?);
            spec.psrp.port = spec.port;
        }
        "ansible_winrm_host" => spec.ansible_host = Some(value.into()),
        "ansible_winrm_port" => spec.port = Some(port()?),
        "ansible_connection" => spec.connection = Some(value.trim().into()),
        "ansible_winrm_kerberos_delegation" => {
            spec.kerberos_delegation = Some(ansible_bool(key, value)?)
        }
        "ansible_winrm_kinit_args" => spec.kinit_args = Some(value.into()),
        "ansible_psrp_host" => p.host = Some(value.into()),
        "ansible_psrp_port" => p.port = Some(port()?),
        "ansible_psrp_protocol" => p.protocol = Some(scheme()?),
        "ansible_psrp_path" => p.path = Some(value.trim().into()),
        "ansible_psrp_auth" => p.auth = Some(choice(key, value, PSRP_AUTHS)?),
        "ansible_psrp_cert_validation" => {
            p.cert_validation = Some(choice(key, value, &["validate", "ignore"])?)
        }
        "ansible_psrp_cert_trust_path" | "ansible_psrp_ca_cert" => p.ca_cert = Some(value.into()),
        "ansible_psrp_message_encryption" => {
            p.message_encryption = Some(choice(key, value, PSRP_ENCRYPTIONS)?)
        }
        "ansible_psrp_proxy" => p.proxy = Some(value.trim().into()),
        "ansible_psrp_ignore_proxy" => p.ignore_proxy = Some(ansible_bool(key, value)?),
        "ansible_psrp_negotiate_delegate" => p.negotiate_delegate = Some(ansible_bool(key, value)?),
        "ansible_psrp_negotiate_hostname_override" => {
            p.negotiate_hostname_override = Some(value.into())
        }
        "ansible_psrp_negotiate_send_cbt" => p.negotiate_send_cbt = Some(ansible_bool(key, value)?),
        "ansible_psrp_negotiate_service" => p.negotiate_service = Some(value.trim().into()),
        "ansible_psrp_configuration_name" => p.configuration_name = Some(value.trim().into()),
        "ansible_winrm_scheme" => spec.scheme = Some(scheme()?),
        "ansible_winrm_service" => spec.service = Some(value.into()),
        "ansible_winrm_kerberos_hostname_override" => spec.hostname_override = Some(value.into()),
        "ansible_winrm_transport" => spec.transport = Some(split_list(value)),
        _ => {}
    }
    Ok(())
}

/// Splits an Ansible list given as text: `a,b`, `[a, b]` or `['a', 'b']`.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn valid_host(h: &str) -> bool {
    !h.is_empty() && !h.contains(char::is_whitespace) && !h.contains('/')
}

/// Resolves a target the way its Ansible connection plugin does.
///
/// winrm: the endpoint host is `ansible_host` (else the name), the SPN host the override (else
/// the endpoint host), the port `ansible_port` (else `d.port`), the scheme
/// `ansible_winrm_scheme` (else https unless the port is 5985), the service
/// `ansible_winrm_service` (else `HTTP`).
///
/// psrp (`ansible_connection: psrp`): the same host rules with the `ansible_psrp_*` variables,
/// but the port follows the protocol when only the protocol is given (http 5985, https 5986),
/// and the service is `negotiate_service`, whose default is `WSMAN` up to ansible-core 2.20
/// and `host` from 2.21.
pub fn resolve_target(spec: TargetSpec, d: &Defaults) -> Result<Target, SettingsError> {
    let name = spec.name.trim().to_owned();
    let connection = match spec.connection.as_deref() {
        None => d.connection.unwrap_or_default(),
        Some(raw) => Connection::parse(raw).ok_or_else(|| SettingsError::BadVar {
            host: name.clone(),
            reason: format!(
                "ansible_connection={raw}: krbprobe mirrors Ansible's winrm and psrp \
                 connections only (select the Windows hosts with --group)"
            ),
        })?,
    };
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_owned);
    let (host, override_host) = match connection {
        Connection::Winrm => (
            trimmed(&spec.ansible_host),
            trimmed(&spec.hostname_override),
        ),
        Connection::Psrp => (
            trimmed(&spec.psrp.host),
            trimmed(&spec.psrp.negotiate_hostname_override),
        ),
    };
    let host = host.unwrap_or_else(|| name.clone());
    let spn_host = override_host.unwrap_or_else(|| host.clone());
    for h in [&name, &host, &spn_host] {
        if !valid_host(h) {
            return Err(SettingsError::BadTarget(h.clone()));
        }
    }
    let (port, scheme, service, service_origin, psrp) = match connection {
        Connection::Winrm => {
            let port = spec.port.unwrap_or(d.port);
            let scheme = spec
                .scheme
                .or(d.scheme)
                .unwrap_or_else(|| default_scheme(port));
            let (service, origin) = match (&spec.service, &d.service) {
                (Some(s), _) => (s.clone(), "ansible_winrm_service"),
                (None, Some(s)) => (s.clone(), "--service"),
                (None, None) => (DEFAULT_SERVICE.to_owned(), "default"),
            };
            (port, scheme, service, origin, None)
        }
        Connection::Psrp => {
            let p = &spec.psrp;
            let protocol = p.protocol.or(d.scheme);
            let port = match (p.port, protocol) {
                (Some(port), _) => port,
                (None, Some(Scheme::Https)) => 5986,
                (None, Some(Scheme::Http)) => 5985,
                (None, None) => d.port,
            };
            let scheme = protocol.unwrap_or_else(|| default_scheme(port));
            let (service, origin) = match (&p.negotiate_service, &d.service, d.ansible_core) {
                (Some(s), _, _) => (s.clone(), "ansible_psrp_negotiate_service"),
                (None, Some(s), _) => (s.clone(), "--service"),
                (None, None, Some(v)) if v >= (2, 21) => (
                    PSRP_SERVICE_FROM_2_21.to_owned(),
                    "default from ansible-core 2.21",
                ),
                (None, None, Some(_)) => (
                    PSRP_SERVICE_BEFORE_2_21.to_owned(),
                    "default before ansible-core 2.21",
                ),
                (None, None, None) => (
                    PSRP_SERVICE_BEFORE_2_21.to_owned(),
                    "default before ansible-core 2.21 (version not given)",
                ),
            };
            let psrp = Psrp {
                auth: p
                    .auth
                    .clone()
                    .or_else(|| d.psrp_auth.clone())
                    .unwrap_or_else(|| "negotiate".into()),
                configuration_name: p
                    .configuration_name
                    .clone()
                    .or_else(|| d.configuration_name.clone())
                    .unwrap_or_else(|| DEFAULT_CONFIGURATION_NAME.into()),
                message_encryption: p
                    .message_encryption
                    .clone()
                    .or_else(|| d.message_encryption.clone())
                    .unwrap_or_else(|| "auto".into()),
                send_cbt: p.negotiate_send_cbt.unwrap_or(true),
                delegate: p.negotiate_delegate.unwrap_or(false),
                path: p.path.clone().filter(|x| x.trim_matches('/') != "wsman"),
            };
            (port, scheme, service, origin, Some(psrp))
        }
    };
    Ok(Target {
        name,
        host,
        spn_host,
        service,
        port,
        scheme,
        connection,
        service_origin,
        psrp,
        spec,
    })
}

/// The scheme Ansible's winrm connection picks: https unless the port is 5985.
pub fn default_scheme(port: u16) -> Scheme {
    if port == 5985 {
        Scheme::Http
    } else {
        Scheme::Https
    }
}

/// Signs that the probe runs in an AWX job pod: the pod name AWX gives job pods, and the
/// runner home of ansible-builder images.
fn ee_env(cli: &Cli, env: &dyn Fn(&str) -> Option<String>) -> EeEnv {
    let mut reasons = Vec::new();
    match cli.ee_check {
        EeCheck::Always => reasons.push("--ee-check always".to_owned()),
        EeCheck::Never => {}
        EeCheck::Auto => {
            if cli.module {
                reasons.push("running as an Ansible module".to_owned());
            }
            if let Some(h) = env("HOSTNAME").filter(|h| h.starts_with("automation-job-")) {
                reasons.push(format!("HOSTNAME={h} (an AWX job pod)"));
            }
            if env("HOME").as_deref() == Some("/runner") {
                reasons.push("HOME=/runner (an ansible-builder execution environment)".to_owned());
            }
        }
    }
    let tmp_vars = ["TMPDIR", "TEMP", "TMP"]
        .iter()
        .filter_map(|k| {
            env(k)
                .filter(|v| !v.is_empty())
                .map(|v| ((*k).to_owned(), v))
        })
        .collect();
    EeEnv {
        enabled: !reasons.is_empty(),
        reasons,
        path: env("PATH"),
        home: env("HOME"),
        tmp_vars,
        pythonpath: env("PYTHONPATH"),
        krb5_config: env("KRB5_CONFIG"),
        krb5_trace: env("KRB5_TRACE"),
        python: cli.python.clone(),
        kinit_cmd: cli.kinit_cmd.clone(),
    }
}

/// Interactive input available to [`Settings::build`]: whether stdin is a terminal, and a
/// prompt. Abstracted so that tests never block on a real terminal.
pub struct Input<'a> {
    /// True when stdin is a terminal (a prompt is possible).
    pub stdin_is_terminal: bool,
    /// Prompts for the password of the given user.
    pub prompt: &'a dyn Fn(&str) -> Result<Secret, SecretError>,
    /// Reads the password from stdin.
    pub read_stdin: &'a dyn Fn() -> Result<Secret, SecretError>,
}

impl Settings {
    /// Validates the command line. `env` looks up environment variables (KRB5_CONFIG,
    /// KRB5CCNAME, KRBPROBE_PASSWORD).
    pub fn build(
        cli: Cli,
        env: &dyn Fn(&str) -> Option<String>,
        input: &Input<'_>,
    ) -> Result<Settings, SettingsError> {
        let mut specs: Vec<TargetSpec> = cli.targets.iter().map(|t| TargetSpec::bare(t)).collect();
        specs.extend(cli.target_specs.iter().cloned());
        // The hosts of an inventory file come last; Ansible's default port applies to them.
        let from_inventory = specs.len();
        let mut file_is_inventory = false;
        if let Some(path) = &cli.targets_file {
            let text = std::fs::read_to_string(path).map_err(|e| SettingsError::BadFile {
                flag: "--targets-file",
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let (from_file, structured) =
                parse_targets_file(&text, &cli.group).map_err(|(line, reason)| {
                    SettingsError::BadTargetLine {
                        path: path.display().to_string(),
                        line,
                        reason,
                    }
                })?;
            file_is_inventory = structured;
            specs.extend(from_file);
        }
        if specs.is_empty() {
            return Err(SettingsError::BadFile {
                flag: "--targets-file",
                path: cli
                    .targets_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                reason: "no target in it".into(),
            });
        }
        // Flags describing one host apply to the one target given.
        for (flag, value) in [
            ("--ansible-host", &cli.ansible_host),
            ("--hostname-override", &cli.hostname_override),
        ] {
            if value.is_some() && specs.len() != 1 {
                return Err(SettingsError::OneTargetOnly(flag));
            }
        }
        for spec in &mut specs {
            if spec.ansible_host.is_none() {
                spec.ansible_host = cli.ansible_host.clone();
            }
            if spec.hostname_override.is_none() {
                spec.hostname_override = cli.hostname_override.clone();
            }
            if spec.psrp.host.is_none() {
                spec.psrp.host = cli.ansible_host.clone();
            }
            if cli.delegate {
                spec.kerberos_delegation.get_or_insert(true);
                spec.psrp.negotiate_delegate.get_or_insert(true);
            }
            if spec.psrp.negotiate_hostname_override.is_none() {
                spec.psrp.negotiate_hostname_override = cli.hostname_override.clone();
            }
            if spec.transport.is_none() && !cli.transport.is_empty() {
                spec.transport = Some(cli.transport.clone());
            }
        }
        let port = cli.port.unwrap_or(DEFAULT_PORT);
        let ansible_core = match &cli.ansible_core {
            None => None,
            Some(v) => Some(parse_core_version(v).ok_or_else(|| SettingsError::BadFlag {
                flag: "--ansible-core",
                reason: format!("{v:?} is not a version like 2.19 or 2.21.5"),
            })?),
        };
        let defaults = Defaults {
            port,
            scheme: cli.scheme.map(Scheme::from),
            service: cli.service.clone(),
            connection: cli.connection.map(Connection::from),
            ansible_core,
            psrp_auth: cli.psrp_auth.clone(),
            configuration_name: cli.configuration_name.clone(),
            message_encryption: cli.message_encryption.clone(),
        };
        let targets = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                // As Ansible would connect to an inventory host that sets no port: 5986.
                let default_port = match cli.port {
                    None if file_is_inventory && i >= from_inventory => ANSIBLE_DEFAULT_PORT,
                    _ => port,
                };
                resolve_target(
                    spec,
                    &Defaults {
                        port: default_port,
                        ..defaults.clone()
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ansible = AnsibleContext {
            active: cli.module
                || file_is_inventory
                || cli.service.is_some()
                || cli.realm.is_some()
                || cli.kinit_env_vars.is_some()
                || cli.kinit_cmd.is_some()
                || cli.connection.is_some()
                || cli.delegate
                || targets.iter().any(|t| t.spec.has_vars()),
            module: cli.module,
            realm: cli.realm.clone(),
            kinit_env_vars: cli.kinit_env_vars.clone(),
        };
        let ee = ee_env(&cli, env);
        let (krb5_conf, krb5_conf_origin) = match (&cli.krb5_conf, env("KRB5_CONFIG")) {
            (Some(p), _) => (p.clone(), ConfOrigin::Flag),
            // KRB5_CONFIG may list several files separated by ':'; MIT reads them all, the
            // probe checks the first, which is where MIT looks up values first.
            (None, Some(v)) if !v.is_empty() => (
                PathBuf::from(v.split(':').next().unwrap_or(DEFAULT_KRB5_CONF)),
                ConfOrigin::Env,
            ),
            _ => (PathBuf::from(DEFAULT_KRB5_CONF), ConfOrigin::Default),
        };
        if let Some(ca) = &cli.ca_file {
            if !ca.is_file() {
                return Err(SettingsError::BadFile {
                    flag: "--ca-file",
                    path: ca.display().to_string(),
                    reason: "no such file".into(),
                });
            }
        }
        let credential = if let Some(path) = &cli.password_file {
            Credential::Password(secret::from_file(path)?)
        } else if cli.password_stdin {
            Credential::Password((input.read_stdin)()?)
        } else if let Some(kt) = &cli.keytab {
            Credential::Keytab(kt.clone())
        } else if let Some(pw) = env("KRBPROBE_PASSWORD") {
            Credential::Password(secret::from_value(pw, "KRBPROBE_PASSWORD")?)
        } else if let Some(cc) = env("KRB5CCNAME").filter(|c| !c.is_empty()) {
            Credential::Cache(cc)
        } else if let (Some(user), true) = (&cli.user, input.stdin_is_terminal) {
            Credential::Password((input.prompt)(user)?)
        } else {
            Credential::None
        };
        Ok(Settings {
            targets,
            ansible,
            ee,
            user: cli.user.map(|u| u.trim().to_owned()),
            credential,
            krb5_conf,
            krb5_conf_origin,
            port,
            scheme: cli
                .scheme
                .map(Scheme::from)
                .unwrap_or_else(|| default_scheme(port)),
            ca_file: cli.ca_file,
            insecure: cli.insecure,
            timeout: cli.timeout,
            deadline: cli
                .deadline
                .unwrap_or_else(|| (cli.timeout * 20).max(Duration::from_secs(30))),
            jobs: usize::from(cli.jobs),
            open_shell: !cli.no_shell,
            trace: cli.trace,
            proxy: ProxyEnv::from_env(env),
            format: cli.format.into(),
            color: cli.color.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn build(args: &[&str], vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let cli = Cli::try_parse_from(std::iter::once("krbprobe").chain(args.iter().copied()))
            .expect("parse");
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let input = Input {
            stdin_is_terminal: false,
            prompt: &|_| panic!("no prompt in tests"),
            read_stdin: &|| secret::from_value("from-stdin".into(), "stdin"),
        };
        Settings::build(cli, &env, &input)
    }

    #[test]
    fn scheme_follows_port_like_ansible() {
        assert_eq!(build(&["h"], &[]).unwrap().scheme, Scheme::Http);
        assert_eq!(
            build(&["--port", "5986", "h"], &[]).unwrap().scheme,
            Scheme::Https
        );
        assert_eq!(
            build(&["--port", "8080", "h"], &[]).unwrap().scheme,
            Scheme::Https
        );
        assert_eq!(
            build(&["--port", "5986", "--scheme", "http", "h"], &[])
                .unwrap()
                .scheme,
            Scheme::Http
        );
    }

    #[test]
    fn krb5_conf_precedence() {
        let s = build(&["h"], &[]).unwrap();
        assert_eq!(s.krb5_conf, PathBuf::from("/etc/krb5.conf"));
        assert_eq!(s.krb5_conf_origin, ConfOrigin::Default);
        let s = build(&["h"], &[("KRB5_CONFIG", "/a.conf:/b.conf")]).unwrap();
        assert_eq!(s.krb5_conf, PathBuf::from("/a.conf"));
        assert_eq!(s.krb5_conf_origin, ConfOrigin::Env);
        let s = build(&["--krb5-conf", "/c", "h"], &[("KRB5_CONFIG", "/a")]).unwrap();
        assert_eq!(s.krb5_conf, PathBuf::from("/c"));
    }

    #[test]
    fn credential_sources() {
        let s = build(&["h"], &[("KRBPROBE_PASSWORD", "pw")]).unwrap();
        assert!(matches!(s.credential, Credential::Password(ref p) if p.expose() == "pw"));
        let s = build(&["--password-stdin", "h"], &[("KRBPROBE_PASSWORD", "pw")]).unwrap();
        assert!(matches!(s.credential, Credential::Password(ref p) if p.expose() == "from-stdin"));
        let s = build(&["h"], &[("KRB5CCNAME", "FILE:/tmp/cc")]).unwrap();
        assert!(matches!(s.credential, Credential::Cache(ref c) if c == "FILE:/tmp/cc"));
        let s = build(&["-u", "a@B", "h"], &[]).unwrap();
        assert!(matches!(s.credential, Credential::None));
        let s = build(&["--keytab", "/k", "h"], &[("KRBPROBE_PASSWORD", "pw")]).unwrap();
        assert!(matches!(s.credential, Credential::Keytab(_)));
    }

    #[test]
    fn unreadable_password_file_is_a_usage_error() {
        let err = build(&["--password-file", "/nonexistent/pw", "h"], &[]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/pw"));
    }

    #[test]
    fn proxies_like_requests() {
        let p = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            ProxyEnv::from_env(&move |k: &str| {
                vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
        };
        let h = "kuro-win01.kurokobo.internal";
        assert_eq!(p(&[]).proxy_for("http", h), None);
        let env = p(&[("HTTP_PROXY", "http://proxy:3128")]);
        assert_eq!(
            env.proxy_for("http", h),
            Some(("HTTP_PROXY".into(), "http://proxy:3128".into()))
        );
        assert_eq!(env.proxy_for("https", h), None);
        for no in [
            ".kurokobo.internal",
            "kurokobo.internal",
            "*",
            "a, kuro-win01.kurokobo.internal",
        ] {
            let env = p(&[("HTTP_PROXY", "http://proxy:3128"), ("NO_PROXY", no)]);
            assert_eq!(env.proxy_for("http", h), None, "{no}");
        }
        let env = p(&[
            ("http_proxy", "http://low"),
            ("HTTP_PROXY", "http://up"),
            ("no_proxy", "other.example"),
        ]);
        assert_eq!(env.proxy_for("http", h).unwrap().1, "http://low");
        let env = p(&[("ALL_PROXY", "socks5://s")]);
        assert_eq!(env.proxy_for("https", h).unwrap().0, "ALL_PROXY");
    }

    #[test]
    fn psrp_hosts_take_the_environment_proxy_as_pypsrp_does() {
        let env = ProxyEnv {
            http: Some(("HTTP_PROXY".into(), "http://proxy:3128".into())),
            ..ProxyEnv::default()
        };
        let d = Defaults {
            port: 5985,
            ..Defaults::default()
        };
        let via = Some(("HTTP_PROXY".to_owned(), "http://proxy:3128".to_owned()));
        let psrp = |p: PsrpSpec| TargetSpec {
            connection: Some("psrp".into()),
            psrp: p,
            ..TargetSpec::bare("h.example.com")
        };
        // (spec, the proxy the connection's requests session would use)
        let cases = [
            (TargetSpec::bare("h.example.com"), via.clone()),
            (psrp(PsrpSpec::default()), via.clone()),
            (
                psrp(PsrpSpec {
                    ignore_proxy: Some(false),
                    ..PsrpSpec::default()
                }),
                via.clone(),
            ),
            (
                psrp(PsrpSpec {
                    ignore_proxy: Some(true),
                    ..PsrpSpec::default()
                }),
                None,
            ),
            (
                psrp(PsrpSpec {
                    proxy: Some("http://other:8080".into()),
                    ..PsrpSpec::default()
                }),
                None,
            ),
            // The winrm connection has no such variable: a psrp one on a winrm host is inert.
            (
                TargetSpec {
                    psrp: PsrpSpec {
                        ignore_proxy: Some(true),
                        ..PsrpSpec::default()
                    },
                    ..TargetSpec::bare("h.example.com")
                },
                via.clone(),
            ),
        ];
        for (spec, want) in cases {
            let t = resolve_target(spec.clone(), &d).unwrap();
            assert_eq!(t.env_proxy(&env), want, "{spec:?}");
        }
    }

    fn names(specs: &[TargetSpec]) -> Vec<&str> {
        specs.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn targets_file_lines() {
        let (specs, inventory) = parse_targets_file(
            "# inventory\nwin01.example.com\n\n  win02.example.com  # dc\n",
            &[],
        )
        .unwrap();
        assert!(!inventory);
        assert_eq!(names(&specs), ["win01.example.com", "win02.example.com"]);
        assert!(specs.iter().all(|s| !s.has_vars()));
    }

    #[test]
    fn targets_file_takes_ini_inventory_lines() {
        let ini = "[windows]\n\
            win01.example.com ansible_host=10.0.0.5 ansible_port=5985 ansible_user=a@B\n\
            win02.example.com ansible_winrm_kerberos_hostname_override=w2.example.com \
            ansible_winrm_transport=kerberos,ntlm ansible_winrm_scheme=https \
            ansible_winrm_service=WSMAN\n\
            [windows:vars]\nansible_connection=winrm\n[dcs]\ndc01.example.com\n";
        let (specs, inventory) = parse_targets_file(ini, &[]).unwrap();
        assert!(inventory);
        assert_eq!(
            names(&specs),
            ["win01.example.com", "win02.example.com", "dc01.example.com"]
        );
        assert_eq!(specs[0].ansible_host.as_deref(), Some("10.0.0.5"));
        assert_eq!(specs[0].port, Some(5985));
        assert_eq!(
            specs[1].hostname_override.as_deref(),
            Some("w2.example.com")
        );
        assert_eq!(
            specs[1].transport.as_deref(),
            Some(&["kerberos".to_owned(), "ntlm".to_owned()][..])
        );
        assert_eq!(specs[1].scheme, Some(Scheme::Https));
        assert_eq!(specs[1].service.as_deref(), Some("WSMAN"));
        assert_eq!(
            parse_targets_file("win01 ansible_port=http\n", &[])
                .unwrap_err()
                .0,
            1
        );
        assert!(parse_targets_file("\nansible_host=1.2.3.4\n", &[]).is_err());
        assert!(parse_targets_file("w ansible_winrm_scheme=ftp", &[]).is_err());
    }

    #[test]
    fn psrp_hosts_resolve_like_the_psrp_connection() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("inv.ini");
        std::fs::write(
            &inv,
            "[ps]\n\
             p1.example.com\n\
             p2.example.com ansible_psrp_protocol=http\n\
             p3.example.com ansible_host=10.0.0.7 ansible_psrp_negotiate_hostname_override=p3.example.com \
             ansible_psrp_auth=kerberos ansible_psrp_configuration_name=PowerShell.7 \
             ansible_psrp_negotiate_send_cbt=no ansible_psrp_message_encryption=never\n\
             p4.example.com ansible_port=5985 ansible_psrp_negotiate_service=HTTP \
             ansible_winrm_service=IGNORED ansible_winrm_host=ignored.example.com\n\
             [ps:vars]\nansible_connection=ansible.builtin.psrp\n\
             [win]\nw1.example.com ansible_winrm_scheme=http\n",
        )
        .unwrap();
        let inv = inv.to_str().unwrap();
        let s = build(&["--targets-file", inv], &[]).unwrap();
        let t = &s.targets;
        assert!(s.ansible.active);
        // No port, no protocol: https on 5986; the SPN service is WSMAN before 2.21.
        assert_eq!(t[0].connection, Connection::Psrp);
        assert_eq!((t[0].scheme, t[0].port), (Scheme::Https, 5986));
        assert_eq!(t[0].service, "WSMAN");
        assert_eq!(
            t[0].service_origin,
            "default before ansible-core 2.21 (version not given)"
        );
        let p = t[0].psrp.as_ref().unwrap();
        assert_eq!(
            (p.auth.as_str(), p.configuration_name.as_str(), p.send_cbt),
            ("negotiate", "Microsoft.PowerShell", true)
        );
        // psrp's port follows the protocol (winrm would keep 5986 with http).
        assert_eq!((t[1].scheme, t[1].port), (Scheme::Http, 5985));
        assert_eq!(
            (t[2].host.as_str(), t[2].spn_host.as_str()),
            ("10.0.0.7", "p3.example.com")
        );
        let p = t[2].psrp.as_ref().unwrap();
        assert_eq!(
            (p.auth.as_str(), p.configuration_name.as_str(), p.send_cbt),
            ("kerberos", "PowerShell.7", false)
        );
        assert!(!p.encrypts(Scheme::Http));
        // The winrm variables do not count for a psrp host, ansible_port does.
        assert_eq!(
            (
                t[3].host.as_str(),
                t[3].service.as_str(),
                t[3].port,
                t[3].scheme
            ),
            ("p4.example.com", "HTTP", 5985, Scheme::Http)
        );
        assert_eq!(t[3].service_origin, "ansible_psrp_negotiate_service");
        // winrm stays winrm: its scheme without a port keeps Ansible's 5986.
        assert_eq!(t[4].connection, Connection::Winrm);
        assert!(t[4].psrp.is_none());
        assert_eq!(
            (t[4].scheme, t[4].port, t[4].service.as_str()),
            (Scheme::Http, 5986, "HTTP")
        );

        // The ansible-core version picks negotiate_service's default.
        let s = build(
            &[
                "--targets-file",
                inv,
                "--group",
                "ps",
                "--ansible-core",
                "2.21.5",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.targets[0].service, "host");
        assert_eq!(
            s.targets[0].service_origin,
            "default from ansible-core 2.21"
        );
        let s = build(&["--targets-file", inv, "--ansible-core", "2.20"], &[]).unwrap();
        assert_eq!(s.targets[0].service, "WSMAN");
        assert!(
            build(&["--targets-file", inv, "--ansible-core", "two"], &[])
                .unwrap_err()
                .to_string()
                .contains("--ansible-core")
        );

        // --connection psrp for named targets, with the one-host flags feeding psrp's fields.
        let s = build(
            &[
                "--connection",
                "psrp",
                "--ansible-host",
                "10.1.1.1",
                "--hostname-override",
                "h.example.com",
                "h",
            ],
            &[],
        )
        .unwrap();
        let t = &s.targets[0];
        assert_eq!(
            (t.host.as_str(), t.spn_host.as_str()),
            ("10.1.1.1", "h.example.com")
        );
        assert_eq!((t.scheme, t.port), (Scheme::Http, 5985));
    }

    #[test]
    fn psrp_variables_are_checked() {
        for (line, what) in [
            (
                "w ansible_connection=psrp ansible_psrp_auth=digest",
                "one of basic",
            ),
            (
                "w ansible_psrp_message_encryption=sometimes",
                "auto, always, never",
            ),
            ("w ansible_psrp_negotiate_delegate=maybe", "not a boolean"),
            ("w ansible_psrp_port=https", "not a port"),
        ] {
            let err = parse_targets_file(line, &[]).unwrap_err().1;
            assert!(err.contains(what), "{line}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("inv.ini");
        std::fs::write(&inv, "[all]\nlocalhost ansible_connection=local\n").unwrap();
        let err = build(&["--targets-file", inv.to_str().unwrap()], &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("host localhost: ansible_connection=local"),
            "{err}"
        );
    }

    #[test]
    fn core_versions() {
        assert_eq!(parse_core_version("2.21"), Some((2, 21)));
        assert_eq!(parse_core_version("2.19.0rc1"), Some((2, 19)));
        assert_eq!(parse_core_version(" 2.18.19 "), Some((2, 18)));
        assert_eq!(parse_core_version("2"), None);
        assert_eq!(parse_core_version("x.y"), None);
    }

    #[test]
    fn inventory_hosts_without_a_port_get_ansibles() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.to_str().unwrap().to_owned()
        };
        let inv = file("inv.ini", "[windows]\nw1\nw2 ansible_port=5985\n");
        let list = file("list.txt", "w3\n");
        let ports = |args: &[&str]| -> Vec<(u16, Scheme)> {
            build(args, &[])
                .unwrap()
                .targets
                .iter()
                .map(|t| (t.port, t.scheme))
                .collect()
        };
        assert_eq!(
            ports(&["cli.example", "--targets-file", &inv]),
            [
                (5985, Scheme::Http),
                (5986, Scheme::Https),
                (5985, Scheme::Http)
            ],
            "the command line's target keeps krbprobe's default; the inventory's get Ansible's"
        );
        assert_eq!(
            ports(&["--port", "5985", "--targets-file", &inv]),
            [(5985, Scheme::Http), (5985, Scheme::Http)]
        );
        assert_eq!(ports(&["--targets-file", &list]), [(5985, Scheme::Http)]);
        assert!(
            build(&["--targets-file", &inv], &[])
                .unwrap()
                .ansible
                .active
        );
        assert!(
            !build(&["--targets-file", &list], &[])
                .unwrap()
                .ansible
                .active
        );
    }

    #[test]
    fn targets_resolve_like_the_winrm_connection() {
        let t = |spec: TargetSpec| {
            resolve_target(
                spec,
                &Defaults {
                    port: ANSIBLE_DEFAULT_PORT,
                    ..Defaults::default()
                },
            )
            .unwrap()
        };
        let plain = t(TargetSpec::bare("win01.example.com"));
        assert_eq!(
            (
                plain.host.as_str(),
                plain.spn_host.as_str(),
                plain.port,
                plain.scheme
            ),
            (
                "win01.example.com",
                "win01.example.com",
                5986,
                Scheme::Https
            )
        );
        assert_eq!(plain.endpoint(), "https://win01.example.com:5986/wsman");
        let ip = t(TargetSpec {
            ansible_host: Some("10.0.0.5".into()),
            port: Some(5985),
            ..TargetSpec::bare("win01.example.com")
        });
        assert_eq!(
            (ip.host.as_str(), ip.spn_host.as_str()),
            ("10.0.0.5", "10.0.0.5")
        );
        assert_eq!(ip.scheme, Scheme::Http);
        let fixed = t(TargetSpec {
            ansible_host: Some("10.0.0.5".into()),
            hostname_override: Some("win01.example.com".into()),
            scheme: Some(Scheme::Http),
            service: Some("WSMAN".into()),
            ..TargetSpec::bare("win01.example.com")
        });
        assert_eq!(fixed.spn_host, "win01.example.com");
        assert_eq!((fixed.port, fixed.scheme), (5986, Scheme::Http));
        assert_eq!(fixed.service, "WSMAN");
        let v6 = t(TargetSpec {
            ansible_host: Some("fd00::5".into()),
            ..TargetSpec::bare("w")
        });
        assert_eq!(v6.endpoint(), "https://[fd00::5]:5986/wsman");
    }

    #[test]
    fn one_host_flags_need_one_target() {
        let err = build(&["--ansible-host", "10.0.0.5", "a", "b"], &[]).unwrap_err();
        assert!(err.to_string().contains("--ansible-host"), "{err}");
        let s = build(
            &[
                "--ansible-host",
                "127.0.0.20",
                "--service",
                "WSMAN",
                "a.example",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(s.targets[0].host, "127.0.0.20");
        assert_eq!(s.targets[0].service, "WSMAN");
        assert!(s.ansible.active);
        assert!(!build(&["a.example"], &[]).unwrap().ansible.active);
    }

    #[test]
    fn deadline_defaults_to_twenty_timeouts_at_least_30s() {
        assert_eq!(
            build(&["a"], &[]).unwrap().deadline,
            Duration::from_secs(60)
        );
        assert_eq!(
            build(&["--timeout", "500ms", "a"], &[]).unwrap().deadline,
            Duration::from_secs(30)
        );
        let s = build(&["--deadline", "90s", "--jobs", "4", "a"], &[]).unwrap();
        assert_eq!((s.deadline, s.jobs), (Duration::from_secs(90), 4));
    }

    #[test]
    fn ee_check_detects_job_pods() {
        assert!(!build(&["a"], &[]).unwrap().ee.enabled);
        let s = build(&["a"], &[("HOSTNAME", "automation-job-42-tdvs5")]).unwrap();
        assert!(s.ee.enabled, "{:?}", s.ee);
        assert!(build(&["a"], &[("HOME", "/runner")]).unwrap().ee.enabled);
        assert!(
            !build(&["--ee-check", "never", "a"], &[("HOME", "/runner")])
                .unwrap()
                .ee
                .enabled
        );
        assert!(
            build(&["--ee-check", "always", "a"], &[])
                .unwrap()
                .ee
                .enabled
        );
    }

    #[test]
    fn targets_file_adds_to_arguments_in_order() {
        let dir = std::env::temp_dir().join(format!("krbprobe-targets-{}", std::process::id()));
        std::fs::write(&dir, "b.example\nc.example\n").unwrap();
        let s = build(&["--targets-file", dir.to_str().unwrap(), "a.example"], &[]).unwrap();
        let names: Vec<&str> = s.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a.example", "b.example", "c.example"]);
        std::fs::write(&dir, "# nothing\n").unwrap();
        assert!(build(&["--targets-file", dir.to_str().unwrap()], &[]).is_err());
        std::fs::remove_file(&dir).unwrap();
        let err = build(&["--targets-file", "/nonexistent/targets"], &[]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/targets"));
    }

    #[test]
    fn bad_targets_are_refused() {
        assert!(build(&["http://host/wsman"], &[]).is_err());
        assert!(build(&[" "], &[]).is_err());
    }
}
