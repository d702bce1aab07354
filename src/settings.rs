//! One validated settings value, built once from the command line and the environment.
//!
//! Checks never read `std::env` or argv: everything they need is here. The environment is
//! passed in as a lookup function so tests can build settings without touching the process.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Cli, ColorChoice, Format, Scheme};
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

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Targets in the order given.
    pub targets: Vec<String>,
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
    /// Per-step network timeout.
    pub timeout: Duration,
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

/// Targets from a `--targets-file`: one per line; blank lines and `#` comments are skipped.
pub fn parse_targets_file(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The scheme Ansible's winrm connection picks: https unless the port is 5985.
pub fn default_scheme(port: u16) -> Scheme {
    if port == 5985 {
        Scheme::Http
    } else {
        Scheme::Https
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
        let mut cli = cli;
        if let Some(path) = &cli.targets_file {
            let text = std::fs::read_to_string(path).map_err(|e| SettingsError::BadFile {
                flag: "--targets-file",
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            cli.targets.extend(parse_targets_file(&text));
        }
        if cli.targets.is_empty() {
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
        for t in &cli.targets {
            let t = t.trim();
            if t.is_empty() || t.contains(char::is_whitespace) || t.contains('/') {
                return Err(SettingsError::BadTarget(t.to_owned()));
            }
        }
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
            targets: cli.targets.iter().map(|t| t.trim().to_owned()).collect(),
            user: cli.user.map(|u| u.trim().to_owned()),
            credential,
            krb5_conf,
            krb5_conf_origin,
            port: cli.port,
            scheme: cli.scheme.unwrap_or_else(|| default_scheme(cli.port)),
            ca_file: cli.ca_file,
            timeout: cli.timeout,
            open_shell: !cli.no_shell,
            trace: cli.trace,
            proxy: ProxyEnv::from_env(env),
            format: cli.format,
            color: cli.color,
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
    fn targets_file_lines() {
        assert_eq!(
            parse_targets_file("# inventory\nwin01.example.com\n\n  win02.example.com  # dc\n"),
            ["win01.example.com", "win02.example.com"]
        );
    }

    #[test]
    fn targets_file_adds_to_arguments_in_order() {
        let dir = std::env::temp_dir().join(format!("krbprobe-targets-{}", std::process::id()));
        std::fs::write(&dir, "b.example\nc.example\n").unwrap();
        let s = build(&["--targets-file", dir.to_str().unwrap(), "a.example"], &[]).unwrap();
        assert_eq!(s.targets, ["a.example", "b.example", "c.example"]);
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
