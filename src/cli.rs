//! Command-line interface (clap derive). A public contract: flags are added, never renamed.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::model::{ColorChoice, Format, Scheme};

/// Version line for `--version`: krbprobe's own version and the MIT krb5 linked into it.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\n",
    env!("KRBPROBE_MIT_KRB5"),
    ", statically linked"
);

/// Diagnose Kerberos authentication from Ansible/AWX to Windows hosts over WinRM.
///
/// Runs, in order: ee-runtime (in an AWX job pod), krb5-conf, principal, ansible-connection (with
/// Ansible variables), dns-kdc, dns-target, kdc-reach, winrm-http, kinit, spn-ticket, winrm-auth;
/// prints a pass/fail report with remediation hints. The password is never taken as an argument:
/// use KRBPROBE_PASSWORD, --password-file, --password-stdin, or the prompt. Run as
/// `krbprobe ARGS.json`, it is an Ansible binary module (see playbooks/). Without a shell in the
/// job pod, `krbprobe explain JOB-OUTPUT` reads what the failed job printed; `krbprobe setup
/// --realm REALM` writes the krb5.conf, ConfigMap and pod spec (see their --help).
#[derive(Debug, Parser)]
#[command(name = "krbprobe", version, long_version = LONG_VERSION, about, max_term_width = 100)]
pub struct Cli {
    /// Windows host as Ansible connects to it (FQDN expected; several allowed)
    #[arg(value_name = "TARGET", required_unless_present = "targets_file")]
    pub targets: Vec<String>,

    /// Read more targets from FILE, one per line (# comments and blank lines ignored), or from
    /// an Ansible inventory (INI with group vars and children, or `ansible-inventory --list`
    /// JSON), taking each host's winrm connection variables: `win01 ansible_host=10.0.0.5`
    #[arg(long, value_name = "FILE")]
    pub targets_file: Option<PathBuf>,

    /// With an inventory as --targets-file (INI, or the JSON of `ansible-inventory --list`):
    /// only the hosts of these groups, children included (repeat or comma-separate)
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        requires = "targets_file"
    )]
    pub group: Vec<String>,

    /// Targets built by the Ansible module (not a flag: filled from the module's arguments).
    #[arg(skip)]
    pub target_specs: Vec<crate::settings::TargetSpec>,

    /// Set when running as an Ansible module: Ansible's defaults apply (port 5986).
    #[arg(skip)]
    pub module: bool,

    /// Client principal, e.g. awx@KUROKOBO.INTERNAL
    #[arg(short = 'u', long, value_name = "PRINCIPAL", env = "KRBPROBE_USER")]
    pub user: Option<String>,

    /// Read the password from the first line of FILE
    #[arg(long, value_name = "FILE", conflicts_with_all = ["password_stdin", "keytab"])]
    pub password_file: Option<PathBuf>,

    /// Read the password from the first line of stdin
    #[arg(long, conflicts_with = "keytab")]
    pub password_stdin: bool,

    /// Get the TGT with a keytab instead of a password
    #[arg(long, value_name = "FILE")]
    pub keytab: Option<PathBuf>,

    /// krb5.conf to check and use [default: $KRB5_CONFIG, else /etc/krb5.conf]
    #[arg(long, value_name = "FILE")]
    pub krb5_conf: Option<PathBuf>,

    /// WinRM port [default: 5985; 5986, Ansible's, for the hosts of an inventory given as
    /// --targets-file that set no ansible_port]
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,

    /// WinRM scheme [default: https for port 5986, else http, as Ansible's winrm connection]
    #[arg(long, value_enum)]
    pub scheme: Option<SchemeArg>,

    /// Extra CA certificates (PEM) to trust for HTTPS, like ansible_winrm_ca_trust_path
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Do not validate HTTPS certificates, like ansible_winrm_server_cert_validation: ignore
    /// (problems are still reported, as warnings; the report says the run was insecure)
    #[arg(long)]
    pub insecure: bool,

    /// Stop the authenticated WinRM check after Identify (do not create and delete a shell)
    #[arg(long)]
    pub no_shell: bool,

    /// Where WinRM is reached, like ansible_host; the SPN is built from it unless
    /// --hostname-override is given (one target only)
    #[arg(
        long,
        value_name = "HOST",
        help_heading = "Ansible winrm connection variables"
    )]
    pub ansible_host: Option<String>,

    /// Host name for the SPN, like ansible_winrm_kerberos_hostname_override or
    /// ansible_psrp_negotiate_hostname_override (one target only)
    #[arg(
        long,
        value_name = "HOST",
        help_heading = "Ansible winrm connection variables"
    )]
    pub hostname_override: Option<String>,

    /// SPN service class, like ansible_winrm_service or ansible_psrp_negotiate_service
    /// [default: HTTP; psrp: WSMAN before ansible-core 2.21, host from 2.21]
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Ansible winrm connection variables"
    )]
    pub service: Option<String>,

    /// WinRM transports, like ansible_winrm_transport (comma-separated)
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        help_heading = "Ansible winrm connection variables"
    )]
    pub transport: Vec<String>,

    /// ansible_winrm_realm as set in the inventory (pywinrm ignores it; the probe says so)
    #[arg(
        long,
        value_name = "REALM",
        help_heading = "Ansible winrm connection variables"
    )]
    pub realm: Option<String>,

    /// Variables Ansible passes to its kinit, like ansible_winrm_kinit_env_vars (comma-separated)
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        help_heading = "Ansible winrm connection variables"
    )]
    pub kinit_env_vars: Option<Vec<String>>,

    /// The kinit Ansible runs, like ansible_winrm_kinit_cmd [default: kinit]
    #[arg(
        long,
        value_name = "CMD",
        help_heading = "Ansible winrm connection variables"
    )]
    pub kinit_cmd: Option<String>,

    /// The Ansible connection the targets use, like ansible_connection (an inventory's
    /// ansible_connection wins for its hosts)
    #[arg(
        long,
        value_enum,
        value_name = "NAME",
        help_heading = "Ansible psrp connection variables"
    )]
    pub connection: Option<ConnectionArg>,

    /// psrp's authentication, like ansible_psrp_auth [default: negotiate]
    #[arg(
        long,
        value_name = "NAME",
        value_parser = clap::builder::PossibleValuesParser::new(crate::settings::PSRP_AUTHS),
        help_heading = "Ansible psrp connection variables"
    )]
    pub psrp_auth: Option<String>,

    /// The PowerShell endpoint psrp opens its runspace pool on, like
    /// ansible_psrp_configuration_name [default: Microsoft.PowerShell]
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Ansible psrp connection variables"
    )]
    pub configuration_name: Option<String>,

    /// psrp's message encryption, like ansible_psrp_message_encryption [default: auto]
    #[arg(
        long,
        value_name = "WHEN",
        value_parser = clap::builder::PossibleValuesParser::new(crate::settings::PSRP_ENCRYPTIONS),
        help_heading = "Ansible psrp connection variables"
    )]
    pub message_encryption: Option<String>,

    /// Delegate the credentials (double hop), like ansible_winrm_kerberos_delegation or
    /// ansible_psrp_negotiate_delegate: a forwardable TGT and a delegating token
    #[arg(long, help_heading = "Ansible psrp connection variables")]
    pub delegate: bool,

    /// The ansible-core whose connection defaults apply, e.g. 2.19 (psrp's SPN service is
    /// WSMAN before 2.21 and host from 2.21) [default: before 2.21]
    #[arg(
        long,
        value_name = "VERSION",
        help_heading = "Ansible psrp connection variables"
    )]
    pub ansible_core: Option<String>,

    /// Python interpreter of the Ansible job, for ee-runtime [default: python3 on PATH]
    #[arg(long, value_name = "PATH", help_heading = "Execution environment")]
    pub python: Option<PathBuf>,

    /// Check the execution environment (ee-runtime): auto = inside an AWX job pod or as a module
    #[arg(
        long,
        value_enum,
        default_value_t = EeCheck::Auto,
        help_heading = "Execution environment"
    )]
    pub ee_check: EeCheck,

    /// Capture MIT krb5's trace (KRB5_TRACE) of the run into the report
    #[arg(long)]
    pub trace: bool,

    /// Timeout of each network step (e.g. 3s, 500ms)
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Deadline of the whole run [default: 20 timeouts, at least 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_deadline)]
    pub deadline: Option<Duration>,

    /// At most N blocking Kerberos (GSSAPI) calls and N authenticated WinRM sessions at once;
    /// DNS, connects and the unauthenticated HTTP checks are never queued
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: u16,

    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Colour in text output (NO_COLOR is honoured with auto)
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// Explain a failed Ansible job from its output, without a shell in the pod.
///
/// Reads the job's output (any ansible-core 2.14 to 2.21 wording, winrm or psrp, -vvvv or not),
/// the JSON of AWX's job events or stdout API, and/or a KRB5_TRACE log, and prints the causes it
/// can infer, with the lines it used, the hint, and the live check that settles what the text
/// cannot tell (the exact krbprobe command). No network, no krb5.conf, no password.
#[derive(Debug, Parser)]
#[command(name = "krbprobe explain", version, about, max_term_width = 100)]
pub struct ExplainCli {
    /// Job output, AWX JSON or KRB5_TRACE log; several allowed, - (the default) reads stdin
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Colour in text output (NO_COLOR is honoured with auto)
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// Write the krb5.conf, ConfigMap and Container Group pod spec for a realm, and prove them.
///
/// Discovers the realm's domain controllers from DNS (_kerberos._udp/_tcp SRV records, as
/// `realm discover` does; _kpasswd and _ldap._tcp.dc._msdcs for the report), checks that each
/// answers Kerberos for the realm, and writes a krb5.conf made for AWX job pods (upper-case
/// realm, [domain_realm] for the targets' domains, rdns = false, a FILE cache), the ConfigMap
/// holding it and the pod spec that mounts it by subPath. With TARGETs and --user it then runs
/// the whole diagnosis against the new krb5.conf (password as for a normal run).
#[derive(Debug, Parser)]
#[command(name = "krbprobe setup", version, about, max_term_width = 100)]
pub struct SetupCli {
    /// Windows hosts the jobs reach (FQDNs): their domains go into [domain_realm], and the
    /// diagnosis runs against them
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// The AD realm (the domain's DNS name); upper-cased in the files
    #[arg(long, value_name = "REALM", required_unless_present = "user")]
    pub realm: Option<String>,

    /// The AWX credential's user, e.g. awx@CORP.EXAMPLE.COM (its realm is used without --realm)
    #[arg(short = 'u', long, value_name = "PRINCIPAL", env = "KRBPROBE_USER")]
    pub user: Option<String>,

    /// Namespace of AWX's job pods (the Container Group's)
    #[arg(long, value_name = "NAME", default_value = "awx")]
    pub namespace: String,

    /// Name of the ConfigMap holding krb5.conf
    #[arg(long, value_name = "NAME", default_value = "krb5-conf")]
    pub configmap: String,

    /// Set KRB5_TRACE=/dev/stderr in the pod spec (MIT's trace in the job output)
    #[arg(long)]
    pub pod_trace: bool,

    /// Write krb5.conf, krb5-configmap.yaml and container-group-pod.yaml into DIR
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// What goes to stdout: the ConfigMap (kubectl apply -f -), the krb5.conf, the pod spec,
    /// or nothing [default: configmap; none with --output-dir]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub print: Option<PrintArg>,

    /// Do not run the diagnosis against the new krb5.conf
    #[arg(long)]
    pub no_check: bool,

    /// Read the password from the first line of FILE (for the diagnosis)
    #[arg(long, value_name = "FILE", conflicts_with = "password_stdin")]
    pub password_file: Option<PathBuf>,

    /// Read the password from the first line of stdin (for the diagnosis)
    #[arg(long)]
    pub password_stdin: bool,

    /// Timeout of each network step (e.g. 3s, 500ms)
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Format of the diagnosis report
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Colour in text output (NO_COLOR is honoured with auto)
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

/// What `krbprobe setup` prints on stdout (`--print`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrintArg {
    /// The ConfigMap, ready for kubectl apply -f -.
    Configmap,
    /// The krb5.conf itself.
    Krb5Conf,
    /// The Container Group pod spec (paste into AWX).
    PodSpec,
    /// Nothing.
    None,
}

// The flags' value types. Each mirrors a plain type of `crate::model` (the docs of the variants
// are the help's "Possible values"), and `From` maps it there, so clap stays in this module.

/// WinRM transport scheme (`--scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// Plain HTTP (WinRM encrypts the messages itself), port 5985.
    Http,
    /// HTTPS, port 5986.
    Https,
}

impl From<SchemeArg> for Scheme {
    fn from(s: SchemeArg) -> Scheme {
        match s {
            SchemeArg::Http => Scheme::Http,
            SchemeArg::Https => Scheme::Https,
        }
    }
}

impl From<Scheme> for SchemeArg {
    fn from(s: Scheme) -> SchemeArg {
        match s {
            Scheme::Http => SchemeArg::Http,
            Scheme::Https => SchemeArg::Https,
        }
    }
}

/// Ansible connection plugin (`--connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConnectionArg {
    /// pywinrm with kinit, as ansible.builtin.winrm
    Winrm,
    /// pypsrp with pyspnego, as ansible.builtin.psrp
    Psrp,
}

impl From<ConnectionArg> for crate::model::Connection {
    fn from(c: ConnectionArg) -> crate::model::Connection {
        match c {
            ConnectionArg::Winrm => crate::model::Connection::Winrm,
            ConnectionArg::Psrp => crate::model::Connection::Psrp,
        }
    }
}

/// When to run the ee-runtime check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EeCheck {
    /// When the probe runs inside an AWX job pod or as an Ansible module.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Report format on stdout (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Human-readable report.
    Text,
    /// One JSON document (schema in docs/json-schema.md).
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
        }
    }
}

/// Colour policy for text output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl From<ColorArg> for ColorChoice {
    fn from(c: ColorArg) -> ColorChoice {
        match c {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

/// Parses a `--deadline` value (humantime syntax, 1 s to 1 h).
pub fn parse_deadline(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 60s, 5m)"))?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(3600) {
        return Err("must be between 1s and 1h".into());
    }
    Ok(d)
}

/// Parses a `--timeout` value (humantime syntax, 10 ms to 10 min).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 3s, 500ms, 1m)"))?;
    if d < Duration::from_millis(10) || d > Duration::from_secs(600) {
        return Err("must be between 10ms and 10m".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("2h").is_err());
    }

    #[test]
    fn password_is_not_an_argument() {
        let cmd = Cli::command();
        assert!(
            cmd.get_arguments()
                .all(|a| a.get_long() != Some("password")),
            "a --password flag would put the secret in argv"
        );
    }
}
