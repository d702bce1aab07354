//! Plain values a run is made of (the WinRM scheme, the report format, the colour policy),
//! free of clap: settings, checks, the WinRM client and the renderers use these, and
//! `cli.rs` maps its flags onto them, so nothing below the command line depends on how
//! arguments are parsed.

/// WinRM transport scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Plain HTTP (WinRM encrypts the messages itself), port 5985.
    Http,
    /// HTTPS, port 5986.
    Https,
}

impl Scheme {
    /// Lower-case name as in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The Ansible connection plugin a host uses (`ansible_connection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// `winrm`: pywinrm, a `kinit` binary, a raw krb5 token, the cmd shell.
    #[default]
    Winrm,
    /// `psrp`: pypsrp and pyspnego, no kinit, SPNEGO, a PowerShell runspace pool.
    Psrp,
}

impl Connection {
    /// The name as in `ansible_connection` and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::Winrm => "winrm",
            Connection::Psrp => "psrp",
        }
    }

    /// Reads `ansible_connection`'s value: the short names and the FQCNs of the two plugins
    /// (`ansible.builtin.psrp`); anything else is not a Windows connection krbprobe mirrors.
    pub fn parse(value: &str) -> Option<Connection> {
        match value
            .trim()
            .strip_prefix("ansible.builtin.")
            .unwrap_or(value.trim())
        {
            "winrm" => Some(Connection::Winrm),
            "psrp" => Some(Connection::Psrp),
            _ => None,
        }
    }
}

/// Report format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable report.
    Text,
    /// One JSON document (schema in docs/json-schema.md).
    Json,
}

/// Colour policy for text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}
