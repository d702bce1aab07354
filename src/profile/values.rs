//! What libkrb5 makes of single values: booleans (strict and lax), the host-to-realm
//! mapping of `[domain_realm]`, and `kdc`/`admin_server`/`kpasswd_server` entries, each as
//! MIT 1.20 reads them.
//!
//! Apart from the tree because these are libkrb5's readings (`hostrealm_profile.c`,
//! `locate_kdc.c`, `parse_host_string.c`), not part of the profile library; the checks call
//! them directly.

use super::limits::MAXDNAME;
use super::tree::Profile;

/// MIT's `profile_parse_boolean`: ASCII case-insensitive `y`, `yes`, `true`,
/// `t`, `1`, `on` / `n`, `no`, `false`, `nil`, `0`, `off`.  No trimming:
/// `"true "` (quoted) is invalid.
pub fn parse_boolean(s: &str) -> Option<bool> {
    const YES: [&str; 6] = ["y", "yes", "true", "t", "1", "on"];
    const NO: [&str; 6] = ["n", "no", "false", "nil", "0", "off"];
    if YES.iter().any(|y| y.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if NO.iter().any(|n| n.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// libkrb5's `_krb5_conf_boolean`: like [`parse_boolean`] but anything
/// unrecognised is `false`, silently.
pub fn parse_boolean_lax(s: &str) -> bool {
    parse_boolean(s).unwrap_or(false)
}

/// MIT's host-to-realm mapping from `[domain_realm]` (the `profile` module of
/// `krb5_get_host_realm`, `hostrealm_profile.c`).
///
/// The host is lowercased (ASCII) and one trailing dot removed
/// (`k5_clean_hostname`); IP addresses (only digits and exactly three dots, or
/// any `:`) are never looked up.  Then progressively shorter suffixes are
/// tried, each *with and without* the leading dot: for `a.b.c` the keys
/// `a.b.c`, `.b.c`, `b.c`, `.c`, `c`.  So a bare-domain key (`example.com`)
/// also matches every host below it, and a key containing uppercase letters
/// can never match.  Returns the realm and the key that matched; `None` means
/// MIT goes on to DNS TXT records (if `dns_lookup_realm`) and then to the
/// referral realm.
pub fn domain_realm(profile: &Profile, host: &str) -> Option<(String, String)> {
    if host.len() > MAXDNAME {
        return None;
    }
    let mut clean = host.to_ascii_lowercase();
    if clean.ends_with('.') {
        clean.pop();
    }
    if is_numeric_address(&clean) {
        return None;
    }
    let mut p: &str = &clean;
    loop {
        if let Some(realm) = profile.first(&["domain_realm", p]) {
            return Some((realm.to_string(), p.to_string()));
        }
        // for (p = host; p != NULL; p = (*p == '.') ? p + 1 : strchr(p, '.'))
        if let Some(rest) = p.strip_prefix('.') {
            p = rest;
        } else if let Some(i) = p.find('.') {
            p = &p[i..];
        } else {
            return None;
        }
    }
}

/// `k5_is_numeric_address`.
fn is_numeric_address(name: &str) -> bool {
    let dotted = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (dotted && name.bytes().filter(|&b| b == b'.').count() == 3) || name.contains(':')
}

/// Transport MIT uses for a KDC entry from `krb5.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdcTransport {
    /// Plain entry: UDP or TCP, chosen by `udp_preference_limit` (large
    /// Active Directory tickets go over TCP).
    UdpOrTcp,
    /// `https://host[:port]/path`: MS-KKDCP proxy.
    Https,
}

/// A `kdc` (or `admin_server`, `kpasswd_server`, ...) value as MIT's
/// `locate_srv_conf_1` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdcAddr {
    /// Host name or address MIT will resolve; brackets of `[v6]` removed.
    /// `None` when MIT rejects the entry (see `error`).
    pub host: Option<String>,
    /// Port; the default when none given, 0 when MIT rejects the entry.
    pub port: u16,
    /// Transport.
    pub transport: KdcTransport,
    /// For `https://` entries, the URL path after the host (without the
    /// leading `/`).
    pub uri_path: Option<String>,
    /// Why MIT rejects the entry ("Invalid argument").  A rejected entry makes
    /// MIT's whole profile KDC lookup for the realm fail, not just this entry.
    pub error: Option<String>,
    /// Other observations (ignored trailing text, Heimdal-only syntax, ...).
    pub notes: Vec<String>,
}

/// Parse a `kdc` value with MIT's default port 88; see [`parse_server_value`].
pub fn parse_kdc_value(v: &str) -> KdcAddr {
    parse_server_value(v, 88)
}

/// Parse a server value (`host`, `host:port`, `[v6]`, `[v6]:port`, or the
/// MS-KKDCP form `https://host[:port]/path`) as `locate_srv_conf_1` and
/// `k5_parse_host_string` do.  `default_port` is 88 for `kdc`, 749 for
/// `admin_server`, 464 for `kpasswd_server`; `https://` entries default to 443.
///
/// MIT 1.20 knows no `tcp/` or `udp/` prefix (Heimdal syntax) and no
/// `kkdcp://` scheme: such text becomes part of the host name, which then
/// fails to resolve.  Only the exact lowercase `https://` prefix is special.
/// The host ends at the first blank or `:`; anything after a blank is
/// silently ignored.
pub fn parse_server_value(v: &str, default_port: u16) -> KdcAddr {
    let mut notes = Vec::new();
    let mut transport = KdcTransport::UdpOrTcp;
    let mut hostspec = v;
    let mut uri_path = None;
    // parse_uri_if_https: exact, case-sensitive prefix.
    if let Some(rest) = v.strip_prefix("https://") {
        transport = KdcTransport::Https;
        match rest.find('/') {
            Some(i) => {
                hostspec = &rest[..i];
                uri_path = Some(rest[i + 1..].to_string());
            }
            None => hostspec = rest,
        }
    } else if v.len() >= 8 && v.as_bytes()[..8].eq_ignore_ascii_case(b"https://") {
        notes.push(
            "MIT recognises only a lowercase \"https://\" prefix; this entry is read as host:port and rejected"
                .to_string(),
        );
    }
    let lower = hostspec.to_ascii_lowercase();
    for prefix in ["tcp/", "udp/", "http/", "kkdcp/", "kkdcp://"] {
        if lower.starts_with(prefix) {
            notes.push(format!(
                "MIT 1.20 has no {prefix:?} prefix (Heimdal syntax); it is taken as part of the host name, which will not resolve"
            ));
            break;
        }
    }
    let default_port = if transport == KdcTransport::Https {
        443
    } else {
        default_port
    };
    match parse_host_string(hostspec, default_port) {
        Ok(HostPort {
            host: Some(host),
            port,
            ignored,
        }) => {
            if let Some(ignored) = ignored {
                notes.push(format!("MIT ignores the text after the host: {ignored:?}"));
            }
            if host.is_empty() {
                notes.push(
                    "empty host name: MIT accepts the entry but cannot resolve it".to_string(),
                );
            }
            KdcAddr {
                host: Some(host),
                port,
                transport,
                uri_path,
                error: None,
                notes,
            }
        }
        Ok(HostPort { host: None, .. }) => KdcAddr {
            host: None,
            port: 0,
            transport,
            uri_path,
            error: Some("Invalid argument: a port number alone is not a server".to_string()),
            notes,
        },
        Err(why) => KdcAddr {
            host: None,
            port: 0,
            transport,
            uri_path,
            error: Some(format!("Invalid argument: {why}")),
            notes,
        },
    }
}

struct HostPort {
    host: Option<String>,
    port: u16,
    /// Text MIT skips silently (after a blank following the host, or after
    /// `]` when no `:` follows).
    ignored: Option<String>,
}

/// `k5_parse_host_string` (1.20): `host[:port]`, `[host][:port]` or a bare
/// port number.
fn parse_host_string(address: &str, default_port: u16) -> Result<HostPort, &'static str> {
    let b = address.as_bytes();
    if b.is_empty() {
        return Err("empty value");
    }
    if b[0] == b':' {
        return Err("no host before ':'");
    }
    let (host, port, ignored) = if b.iter().all(u8::is_ascii_digit) {
        (None, Some(address), None)
    } else if let (Some(b'['), Some(close)) = (b.first(), address.find(']')) {
        let host = &address[1..close];
        let after = &address[close + 1..];
        match after.strip_prefix(':') {
            Some(port) => (Some(host), Some(port), None),
            None => (Some(host), None, (!after.is_empty()).then_some(after)),
        }
    } else {
        let end = address.find([' ', '\t', ':']).unwrap_or(address.len());
        let host = &address[..end];
        let rest = &address[end..];
        match rest.strip_prefix(':') {
            Some(port) => (Some(host), Some(port), None),
            None => (Some(host), None, (!rest.is_empty()).then_some(rest)),
        }
    };
    let port = match port {
        Some(p) => strtoul_port(p).ok_or("bad port number")?,
        None => default_port,
    };
    Ok(HostPort {
        host: host.map(str::to_string),
        port,
        ignored: ignored
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    })
}

/// `strtoul(s, &end, 10)` that must consume the whole string and stay within
/// 0..=65535, as `k5_parse_host_string` requires.  `strtoul` skips leading
/// blanks, accepts a sign, and negates modulo 2^64, so `-1` is out of range
/// while `-0` is 0.
fn strtoul_port(s: &str) -> Option<u16> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?; // overflow: ERANGE
    let n = if neg { n.wrapping_neg() } else { n };
    u16::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    //! Expected values are MIT krb5 1.20.1's own verdicts unless a comment says otherwise;
    //! see `fixtures` for how they were obtained.

    use super::*;
    use crate::profile::fixtures::parse;

    #[test]
    fn booleans_match_mit() {
        // MIT profile_get_boolean: "YeS" -> 1, "nil" -> 0, "maybe" and
        // "\"true \"" -> Invalid boolean value; only the first value counts.
        let p = parse(
            "[a]\n b = YeS\n n = nil\n m = maybe\n w = \"true \"\n f = junk\n f = true\n o = OFF\n",
        );
        assert_eq!(p.boolean(&["a", "b"]), Some(Ok(true)));
        assert_eq!(p.boolean(&["a", "n"]), Some(Ok(false)));
        assert_eq!(p.boolean(&["a", "o"]), Some(Ok(false)));
        assert_eq!(p.boolean(&["a", "m"]), Some(Err("maybe".to_string())));
        assert!(matches!(p.boolean(&["a", "w"]), Some(Err(_))));
        assert!(matches!(p.boolean(&["a", "f"]), Some(Err(_))));
        assert_eq!(p.boolean(&["a", "absent"]), None);
        for w in ["y", "yes", "true", "t", "1", "on", "TRUE", "On"] {
            assert_eq!(parse_boolean(w), Some(true), "{w}");
        }
        for w in ["n", "no", "false", "nil", "0", "off", "NIL"] {
            assert_eq!(parse_boolean(w), Some(false), "{w}");
        }
        assert!(!parse_boolean_lax("maybe"));
    }

    #[test]
    fn domain_realm_matches_mit() {
        let p = parse(
            "[domain_realm]\n .example.com = DOT.EXAMPLE\n example.com = BARE.EXAMPLE\n host.example.com = HOST.EXAMPLE\n .UPPER.COM = UPPER\n lower.org = LOWER\n com = TLD.COM\n .net = DOTNET\n 10.1.2 = PARTIAL.IP\n .1.2.3 = SUFFIX.IP\n",
        );
        // (host, MIT's realm or None for the referral realm "", matched key)
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "host.example.com",
                Some(("HOST.EXAMPLE", "host.example.com")),
            ),
            (
                "HOST.Example.COM",
                Some(("HOST.EXAMPLE", "host.example.com")),
            ),
            // A key without a leading dot also matches hosts below it.
            (
                "a.host.example.com",
                Some(("HOST.EXAMPLE", "host.example.com")),
            ),
            ("other.example.com", Some(("DOT.EXAMPLE", ".example.com"))),
            ("example.com", Some(("BARE.EXAMPLE", "example.com"))),
            ("example.com.", Some(("BARE.EXAMPLE", "example.com"))),
            (
                "trailing.example.com.",
                Some(("DOT.EXAMPLE", ".example.com")),
            ),
            // Upper-case keys never match: the host is lowercased.
            ("x.upper.com", Some(("TLD.COM", "com"))),
            ("X.UPPER.COM", Some(("TLD.COM", "com"))),
            ("sub.lower.org", Some(("LOWER", "lower.org"))),
            ("foo.net", Some(("DOTNET", ".net"))),
            ("net", None),
            ("zzz", None),
            ("", None),
            // IPv4 (digits and exactly three dots) and IPv6 are skipped.
            ("10.1.2.3", None),
            ("10.1.2", Some(("PARTIAL.IP", "10.1.2"))),
            ("x.1.2.3", Some(("SUFFIX.IP", ".1.2.3"))),
            ("9.1.2.3.4", None),
            ("fe80::1", None),
            ("[::1]", None),
            ("a..example.com", Some(("DOT.EXAMPLE", ".example.com"))),
            ("..example.com", Some(("DOT.EXAMPLE", ".example.com"))),
            ("host.example.com..", None),
        ];
        for (host, want) in cases {
            let got = domain_realm(&p, host);
            let want = want.map(|(r, k)| (r.to_string(), k.to_string()));
            assert_eq!(got, want, "{host}");
        }
        assert_eq!(domain_realm(&Profile::default(), "a.b"), None);
    }

    #[test]
    fn kdc_values_match_mit() {
        // k5_parse_host_string results from libkrb5 1.20.1 (default port 88).
        let ok: &[(&str, &str, u16)] = &[
            ("kdc.example.com", "kdc.example.com", 88),
            ("kdc.example.com:88", "kdc.example.com", 88),
            ("kdc.example.com:750", "kdc.example.com", 750),
            ("kdc:0", "kdc", 0),
            ("kdc:65535", "kdc", 65535),
            ("kdc:+88", "kdc", 88),
            ("kdc: 88", "kdc", 88),
            ("kdc:0088", "kdc", 88),
            ("[2001:db8::1]", "2001:db8::1", 88),
            ("[2001:db8::1]:89", "2001:db8::1", 89),
            ("[2001:db8::1]junk", "2001:db8::1", 88),
            ("kdc 88", "kdc", 88),
            ("kdc\t:88", "kdc", 88),
            ("kdc.example.com  # comment", "kdc.example.com", 88),
            ("tcp/kdc.example.com", "tcp/kdc.example.com", 88),
            ("udp/kdc:88", "udp/kdc", 88),
            ("10.0.0.1:88", "10.0.0.1", 88),
            ("KDC.EXAMPLE.COM", "KDC.EXAMPLE.COM", 88),
            ("[]", "", 88),
            ("[]:88", "", 88),
        ];
        for (v, host, port) in ok {
            let a = parse_kdc_value(v);
            assert_eq!(
                (a.host.as_deref(), a.port, a.error.as_deref()),
                (Some(*host), *port, None),
                "{v}"
            );
            assert_eq!(a.transport, KdcTransport::UdpOrTcp, "{v}");
        }
        for v in [
            "kdc:65536",
            "kdc:",
            "kdc:abc",
            "kdc:88x",
            "kdc:-1",
            "[2001:db8::1",
            "2001:db8::1",
            "fe80::1",
            "88",
            "",
            ":88",
            "kdc.example.com:88:99",
            "kdc:4294967384",
            "HTTPS://kdc/KdcProxy",
        ] {
            let a = parse_kdc_value(v);
            assert!(a.error.is_some() && a.host.is_none(), "{v}: {a:?}");
        }
        assert!(parse_kdc_value("tcp/kdc").notes[0].contains("Heimdal"));
        assert!(!parse_kdc_value("kdc # c").notes.is_empty());
        // MS-KKDCP (locate_kdc.c parse_uri_if_https): default port 443.
        let a = parse_kdc_value("https://kdc.example.com/KdcProxy");
        assert_eq!(a.host.as_deref(), Some("kdc.example.com"));
        assert_eq!((a.port, a.transport), (443, KdcTransport::Https));
        assert_eq!(a.uri_path.as_deref(), Some("KdcProxy"));
        let a = parse_kdc_value("https://kdc.example.com:8443");
        assert_eq!((a.port, a.uri_path), (8443, None));
        assert_eq!(parse_server_value("adm.example.com", 749).port, 749);
    }
}
