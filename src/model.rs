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
