//! krbprobe as an Ansible binary module.
//!
//! Ansible runs a binary module as `krbprobe /path/to/args.json`: one argument, the path of a
//! JSON file holding the task's arguments and internal `_ansible_*` keys. In that mode the
//! probe reads the arguments (named like the long options, with underscores), runs the same
//! checks with Ansible's winrm defaults (port 5986 unless told otherwise), and prints exactly
//! one JSON object: `changed`, `failed`, `msg`, `warnings` and the full `report`.
//!
//! The password arrives in the arguments file (Ansible writes it there, in its private temp
//! dir, and removes it); it is moved into a [`Secret`] at once, and the buffer the file was
//! read into is wiped. It is never part of the result.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::cli::{Cli, ColorArg, EeCheck, FormatArg, SchemeArg};
use crate::model::Scheme;
use crate::report::{Report, Status};
use crate::secret::{self, Secret};
use crate::settings::{ANSIBLE_DEFAULT_PORT, Credential, TargetSpec, split_list};

/// The arguments file, when argv is exactly `krbprobe FILE` and FILE holds a JSON object.
///
/// A lone target name that happens to be an existing file is not mistaken for it: the file
/// must start with `{`.
pub fn args_file(argv: &[OsString]) -> Option<PathBuf> {
    let [_, arg] = argv else { return None };
    let path = PathBuf::from(arg);
    if arg.to_string_lossy().starts_with('-') || !path.is_file() {
        return None;
    }
    let mut head = [0u8; 64];
    let n = std::io::Read::read(&mut std::fs::File::open(&path).ok()?, &mut head).ok()?;
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .filter(|b| **b == b'{')
        .map(|_| path)
}

/// Why the module arguments cannot be used; becomes `failed: true` with this as `msg`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgsError(pub String);

/// Module arguments turned into what the command line would have given.
#[derive(Debug)]
pub struct ModuleArgs {
    /// The equivalent command line.
    pub cli: Cli,
    /// `password`, if given.
    pub password: Option<Secret>,
    /// `_ansible_no_log`.
    pub no_log: bool,
}

/// Names the module accepts (besides `_ansible_*`), for the unsupported-parameter message.
const KNOWN: &[&str] = &[
    "targets",
    "targets_file",
    "connection",
    "psrp_auth",
    "configuration_name",
    "message_encryption",
    "ansible_core",
    "delegate",
    "user",
    "password",
    "password_file",
    "keytab",
    "krb5_conf",
    "port",
    "scheme",
    "ca_file",
    "insecure",
    "no_shell",
    "trace",
    "timeout",
    "deadline",
    "jobs",
    "ansible_host",
    "hostname_override",
    "service",
    "transport",
    "realm",
    "kinit_env_vars",
    "kinit_cmd",
    "python",
    "ee_check",
];

/// Reads and validates the arguments file.
pub fn read_args(path: &Path) -> Result<ModuleArgs, ArgsError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        ArgsError(format!(
            "cannot read the module arguments file {}: {e}",
            path.display()
        ))
    })?);
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        // serde_json's message names line and column only, never the content.
        ArgsError(format!(
            "module arguments file {} is not JSON: {e}",
            path.display()
        ))
    })?;
    let Value::Object(mut map) = value else {
        return Err(ArgsError("module arguments are not a JSON object".into()));
    };
    parse_args(&mut map)
}

/// Turns the arguments map into settings input. Takes the password out of the map.
pub fn parse_args(map: &mut Map<String, Value>) -> Result<ModuleArgs, ArgsError> {
    let password = match map.remove("password") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(
            secret::from_value(s, "the module argument password")
                .map_err(|e| ArgsError(e.to_string()))?,
        ),
        Some(_) => return Err(ArgsError("password must be a string".into())),
    };
    let no_log = flag(map, "_ansible_no_log")?;
    // Check mode promises no change on the hosts: authenticate and Identify, create no shell.
    let check_mode = flag(map, "_ansible_check_mode")?;
    let mut unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("_ansible_") && !KNOWN.contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(ArgsError(format!(
            "Unsupported parameters for (krbprobe) module: {}. Supported parameters include: {}.",
            unknown.join(", "),
            KNOWN.join(", ")
        )));
    }
    let target_specs = match map.get("targets") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => split_list(s).iter().map(|t| TargetSpec::bare(t)).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(target_spec)
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(ArgsError("targets must be a list".into())),
    };
    let port_arg = port(map.get("port"), "port")?;
    let scheme = match text(map, "scheme")? {
        None => None,
        Some(s) => Some(scheme_of(&s, "scheme")?),
    };
    let timeout = match map.get("timeout") {
        None | Some(Value::Null) => Duration::from_secs(3),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|s| (0.01..=600.0).contains(s))
            .map(Duration::from_secs_f64)
            .ok_or_else(|| ArgsError("timeout must be between 0.01 and 600 seconds".into()))?,
        Some(Value::String(s)) => {
            crate::cli::parse_duration(s).map_err(|e| ArgsError(format!("timeout {s:?}: {e}")))?
        }
        Some(_) => return Err(ArgsError("timeout must be a duration like 3s".into())),
    };
    let ee_check = match text(map, "ee_check")?.as_deref() {
        None | Some("auto") => EeCheck::Auto,
        Some("always") => EeCheck::Always,
        Some("never") => EeCheck::Never,
        Some(other) => {
            return Err(ArgsError(format!(
                "ee_check must be auto, always or never, not {other:?}"
            )));
        }
    };
    let cli = Cli {
        targets: Vec::new(),
        targets_file: text(map, "targets_file")?.map(PathBuf::from),
        // The action plugin reads `group` (the play's inventory) and sends targets instead.
        group: Vec::new(),
        target_specs,
        module: true,
        user: text(map, "user")?,
        password_file: text(map, "password_file")?.map(PathBuf::from),
        password_stdin: false,
        keytab: text(map, "keytab")?.map(PathBuf::from),
        krb5_conf: text(map, "krb5_conf")?.map(PathBuf::from),
        // Ansible's winrm connection defaults to 5986 (https), not the CLI's 5985.
        port: Some(port_arg.unwrap_or(ANSIBLE_DEFAULT_PORT)),
        scheme: scheme.map(SchemeArg::from),
        ca_file: text(map, "ca_file")?.map(PathBuf::from),
        insecure: flag(map, "insecure")?,
        ansible_host: text(map, "ansible_host")?,
        hostname_override: text(map, "hostname_override")?,
        service: text(map, "service")?,
        transport: list(map, "transport")?.unwrap_or_default(),
        realm: text(map, "realm")?,
        kinit_env_vars: list(map, "kinit_env_vars")?,
        kinit_cmd: text(map, "kinit_cmd")?,
        connection: match text(map, "connection")? {
            None => None,
            Some(c) => Some(match crate::model::Connection::parse(&c) {
                Some(crate::model::Connection::Winrm) => crate::cli::ConnectionArg::Winrm,
                Some(crate::model::Connection::Psrp) => crate::cli::ConnectionArg::Psrp,
                None => {
                    return Err(ArgsError(format!(
                        "connection must be winrm or psrp, not {c:?}"
                    )));
                }
            }),
        },
        psrp_auth: match text(map, "psrp_auth")? {
            None => None,
            Some(a) => Some(
                crate::settings::choice("psrp_auth", &a, crate::settings::PSRP_AUTHS)
                    .map_err(ArgsError)?,
            ),
        },
        configuration_name: text(map, "configuration_name")?,
        delegate: flag(map, "delegate")?,
        message_encryption: match text(map, "message_encryption")? {
            None => None,
            Some(a) => Some(
                crate::settings::choice(
                    "message_encryption",
                    &a,
                    crate::settings::PSRP_ENCRYPTIONS,
                )
                .map_err(ArgsError)?,
            ),
        },
        // The version of the ansible-core running the task: its psrp defaults apply.
        ansible_core: text(map, "ansible_core")?.or(text(map, "_ansible_version")?),
        python: text(map, "python")?.map(PathBuf::from),
        ee_check,
        no_shell: flag(map, "no_shell")? || check_mode,
        trace: flag(map, "trace")?,
        timeout,
        deadline: match map.get("deadline") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_f64()
                    .filter(|s| (1.0..=3600.0).contains(s))
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        ArgsError("deadline must be between 1 and 3600 seconds".into())
                    })?,
            ),
            Some(Value::String(s)) => Some(
                crate::cli::parse_deadline(s)
                    .map_err(|e| ArgsError(format!("deadline {s:?}: {e}")))?,
            ),
            Some(_) => return Err(ArgsError("deadline must be a duration like 60s".into())),
        },
        jobs: match port(map.get("jobs"), "jobs")? {
            None => 32,
            Some(n) if n <= 1024 => n,
            Some(_) => return Err(ArgsError("jobs must be between 1 and 1024".into())),
        },
        format: FormatArg::Json,
        color: ColorArg::Never,
    };
    if cli.target_specs.is_empty() && cli.targets_file.is_none() {
        return Err(ArgsError(
            "targets is required (or targets_file); with the krbprobe action plugin it defaults to the inventory host".into(),
        ));
    }
    Ok(ModuleArgs {
        cli,
        password,
        no_log,
    })
}

fn target_spec(v: &Value) -> Result<TargetSpec, ArgsError> {
    match v {
        Value::String(s) => Ok(TargetSpec::bare(s)),
        Value::Object(o) => {
            let allowed = [
                "name",
                "ansible_host",
                "port",
                "scheme",
                "service",
                "hostname_override",
                "transport",
                "connection",
                "psrp",
                "kerberos_delegation",
                "kinit_args",
            ];
            if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(ArgsError(format!(
                    "targets: unknown key {k:?} (known: {})",
                    allowed.join(", ")
                )));
            }
            Ok(TargetSpec {
                name: text(o, "name")?
                    .ok_or_else(|| ArgsError("targets: an entry has no name".into()))?,
                ansible_host: text(o, "ansible_host")?,
                port: port(o.get("port"), "targets[].port")?,
                scheme: match text(o, "scheme")? {
                    None => None,
                    Some(s) => Some(scheme_of(&s, "targets[].scheme")?),
                },
                service: text(o, "service")?,
                hostname_override: text(o, "hostname_override")?,
                transport: list(o, "transport")?,
                connection: text(o, "connection")?,
                kerberos_delegation: match o.get("kerberos_delegation") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(flag(o, "kerberos_delegation")?),
                },
                kinit_args: text(o, "kinit_args")?,
                psrp: match o.get("psrp") {
                    None | Some(Value::Null) => Default::default(),
                    Some(v) => serde_json::from_value(v.clone())
                        .map_err(|e| ArgsError(format!("targets[].psrp: {e}")))?,
                },
            })
        }
        _ => Err(ArgsError(
            "targets entries are host names or objects with a name".into(),
        )),
    }
}

/// A string argument; numbers are accepted as text because templating may produce either.
fn text(map: &Map<String, Value>, key: &str) -> Result<Option<String>, ArgsError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ArgsError(format!("{key} must be a string"))),
    }
}

/// A list argument: a JSON list, or a comma-separated string as Ansible accepts for lists.
fn list(map: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, ArgsError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(split_list(s))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.trim().to_owned()),
                _ => Err(ArgsError(format!("{key} must be a list of strings"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ArgsError(format!("{key} must be a list"))),
    }
}

/// A boolean in any of the spellings Ansible's `boolean` type accepts.
fn flag(map: &Map<String, Value>, key: &str) -> Result<bool, ArgsError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) => Ok(n.as_i64() == Some(1)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Ok(true),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => Ok(false),
            other => Err(ArgsError(format!("{key}: {other:?} is not a boolean"))),
        },
        Some(_) => Err(ArgsError(format!("{key} must be a boolean"))),
    }
}

fn port(v: Option<&Value>, key: &str) -> Result<Option<u16>, ArgsError> {
    let bad = || ArgsError(format!("{key} must be a port number (1-65535)"));
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(bad),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

fn scheme_of(s: &str, key: &str) -> Result<Scheme, ArgsError> {
    match s.to_ascii_lowercase().as_str() {
        "http" => Ok(Scheme::Http),
        "https" => Ok(Scheme::Https),
        _ => Err(ArgsError(format!("{key} must be http or https, not {s:?}"))),
    }
}

/// Applies the module's password to settings built from [`ModuleArgs::cli`].
pub fn credential(password: Option<Secret>, built: Credential) -> Credential {
    match (password, built) {
        // An explicit keytab or password file is a deliberate choice; keep it.
        (_, c @ Credential::Keytab(_)) => c,
        (Some(p), _) => Credential::Password(p),
        (None, c) => c,
    }
}

/// The module result for a finished run.
pub fn result(report: &Report) -> Value {
    let first = report.first_failure();
    let msg = match first {
        Some(f) => {
            let target = f
                .target
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default();
            match &f.hint {
                Some(h) => format!("{}{target}: {} -- {h}", f.id, f.summary),
                None => format!("{}{target}: {}", f.id, f.summary),
            }
        }
        None => format!(
            "krbprobe: {} checks passed, {} warned, {} skipped",
            report.count(Status::Pass),
            report.count(Status::Warn),
            report.count(Status::Skip)
        ),
    };
    let warnings: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Warn)
        .map(|c| {
            let target = c
                .target
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default();
            format!("krbprobe {}{target} ({}): {}", c.id, c.code, c.summary)
        })
        .collect();
    json!({
        "changed": false,
        "failed": first.is_some(),
        "msg": msg,
        "warnings": warnings,
        "report": report,
    })
}

/// The module result when the probe could not run at all.
pub fn failure(msg: &str) -> Value {
    json!({"changed": false, "failed": true, "msg": format!("krbprobe: {msg}")})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Result<ModuleArgs, ArgsError> {
        let Value::Object(mut m) = v else { panic!() };
        parse_args(&mut m)
    }

    #[test]
    fn ansible_defaults_and_types() {
        let a = args(json!({
            "targets": ["win01.example.com", {"name": "win02", "ansible_host": "10.0.0.2", "port": "5985"}],
            "user": "awx@EXAMPLE.COM",
            "password": "Sekr3t!",
            "no_shell": "yes",
            "timeout": 2,
            "transport": "kerberos, ntlm",
            "kinit_env_vars": ["KRB5_CONFIG"],
            "_ansible_no_log": true,
            "_ansible_check_mode": false,
            "_ansible_module_name": "krbprobe",
        }))
        .unwrap();
        assert_eq!(a.cli.port, Some(5986));
        assert!(a.cli.no_shell && a.no_log && a.cli.module);
        assert_eq!(a.cli.timeout, Duration::from_secs(2));
        assert_eq!(a.cli.transport, ["kerberos", "ntlm"]);
        assert_eq!(a.cli.target_specs[1].port, Some(5985));
        assert_eq!(
            a.cli.target_specs[1].ansible_host.as_deref(),
            Some("10.0.0.2")
        );
        assert_eq!(a.password.unwrap().expose(), "Sekr3t!");
        assert!(!format!("{:?}", a.cli).contains("Sekr3t!"));
        let a = args(json!({"targets": ["a"], "_ansible_check_mode": true})).unwrap();
        assert!(a.cli.no_shell, "check mode creates no shell");
    }

    #[test]
    fn psrp_targets_and_the_running_ansible_core() {
        let a = args(json!({
            "targets": [{"name": "p1", "connection": "psrp",
                         "psrp": {"auth": "kerberos", "port": 5985, "negotiate_service": "host",
                                  "configuration_name": "PowerShell.7", "negotiate_send_cbt": false}}],
            "_ansible_version": "2.19.14",
        }))
        .unwrap();
        assert_eq!(a.cli.ansible_core.as_deref(), Some("2.19.14"));
        let spec = &a.cli.target_specs[0];
        assert_eq!(spec.connection.as_deref(), Some("psrp"));
        assert_eq!(spec.psrp.auth.as_deref(), Some("kerberos"));
        assert_eq!(spec.psrp.port, Some(5985));
        assert_eq!(spec.psrp.negotiate_send_cbt, Some(false));
        // An explicit ansible_core wins over the running one.
        let a = args(
            json!({"targets": ["a"], "ansible_core": "2.21", "_ansible_version": "2.19.1",
                            "connection": "psrp", "psrp_auth": "negotiate"}),
        )
        .unwrap();
        assert_eq!(a.cli.ansible_core.as_deref(), Some("2.21"));
        for (v, needle) in [
            (
                json!({"targets": [{"name": "a", "psrp": {"auht": "x"}}]}),
                "auht",
            ),
            (
                json!({"targets": ["a"], "connection": "ssh"}),
                "connection must be",
            ),
            (
                json!({"targets": ["a"], "psrp_auth": "digest"}),
                "psrp_auth",
            ),
            (
                json!({"targets": ["a"], "message_encryption": "no"}),
                "message_encryption",
            ),
        ] {
            let err = args(v.clone()).unwrap_err().0;
            assert!(err.contains(needle), "{v}: {err}");
        }
    }

    #[test]
    fn bad_arguments_are_named() {
        for (v, needle) in [
            (json!({"targets": ["a"], "pasword": "x"}), "pasword"),
            (json!({"targets": ["a"], "port": "https"}), "port"),
            (json!({"targets": ["a"], "scheme": "ftp"}), "scheme"),
            (json!({"targets": ["a"], "timeout": "soon"}), "timeout"),
            (json!({"targets": [{"host": "a"}]}), "host"),
            (json!({"targets": 5}), "targets"),
            (json!({}), "targets is required"),
            (json!({"targets": ["a"], "no_shell": "maybe"}), "no_shell"),
        ] {
            let err = args(v.clone()).unwrap_err().0;
            assert!(err.contains(needle), "{v}: {err}");
        }
    }

    #[test]
    fn args_file_needs_one_json_object_argument() {
        let dir = tempfile::tempdir().unwrap();
        let json_file = dir.path().join("args");
        std::fs::write(&json_file, " {\"targets\": [\"a\"]}").unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "win01\n").unwrap();
        let argv = |a: &Path| vec![OsString::from("krbprobe"), a.as_os_str().to_owned()];
        assert_eq!(args_file(&argv(&json_file)), Some(json_file.clone()));
        assert_eq!(args_file(&argv(&hosts)), None);
        assert_eq!(args_file(&argv(Path::new("win01.example.com"))), None);
        assert_eq!(args_file(&[OsString::from("krbprobe")]), None);
    }
}
