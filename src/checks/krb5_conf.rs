//! Check 1, `krb5-conf`: the file exists, parses as MIT parses it, and says what the next
//! steps will do (realm, KDCs, domain_realm, rdns, DNS lookups, ccache type).

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

use crate::codes;
use crate::profile::{self, Profile, ProfileError};
use crate::report::{Finding, Issues};

/// Check id.
pub const ID: &str = "krb5-conf";

/// How MIT canonicalizes host names for service principals (`dns_canonicalize_hostname`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canonicalize {
    /// Forward (and, with rdns, reverse) DNS decide the host part of the SPN. MIT 1.20 default.
    True,
    /// The name is used as given.
    False,
    /// Try as given first, then canonicalized.
    Fallback,
}

/// What later checks need from krb5.conf. Defaults are MIT 1.20's where the file is silent.
#[derive(Debug)]
pub struct Conf {
    /// The parsed file (and its includes).
    pub profile: Profile,
    /// `[libdefaults] default_realm`.
    pub default_realm: Option<String>,
    /// `[libdefaults] rdns` (default true).
    pub rdns: bool,
    /// `[libdefaults] dns_lookup_kdc` (default true).
    pub dns_lookup_kdc: bool,
    /// `[libdefaults] dns_canonicalize_hostname` (default true).
    pub canonicalize: Canonicalize,
    /// The file does not exist: these are MIT's built-in defaults.
    pub absent: bool,
}

impl Conf {
    /// MIT's built-in configuration, what it runs on when krb5.conf does not exist.
    pub fn mit_defaults(path: &Path) -> Conf {
        let profile = profile::parse_str("", path).expect("an empty profile always parses");
        let (mut conf, _) = Conf::from_profile(profile);
        conf.absent = true;
        conf
    }

    /// Realm names configured under [realms].
    pub fn realms(&self) -> Vec<&str> {
        self.profile.subsection_names(&["realms"])
    }

    /// `kdc` values for `realm` in [realms], spelled exactly (realms are case-sensitive).
    pub fn kdcs(&self, realm: &str) -> Vec<profile::KdcAddr> {
        self.profile
            .values(&["realms", realm, "kdc"])
            .into_iter()
            .map(profile::parse_kdc_value)
            .collect()
    }

    fn from_profile(profile: Profile) -> (Conf, Vec<String>) {
        let mut problems = Vec::new();
        let mut flag = |name: &str, default: bool| match profile.boolean(&["libdefaults", name]) {
            None => default,
            Some(Ok(b)) => b,
            Some(Err(v)) => {
                problems.push(format!(
                    "{name} = {v} is not a boolean; MIT ignores it and uses {default}"
                ));
                default
            }
        };
        let rdns = flag("rdns", true);
        // MIT reads dns_lookup_kdc with its lax parser (an unknown word means false) and,
        // when it is unset, falls back to dns_fallback, whose default is true.
        let lax = |name: &str| {
            profile
                .first(&["libdefaults", name])
                .map(profile::parse_boolean_lax)
        };
        let dns_lookup_kdc = lax("dns_lookup_kdc")
            .or_else(|| lax("dns_fallback"))
            .unwrap_or(true);
        let canonicalize = match profile
            .first(&["libdefaults", "dns_canonicalize_hostname"])
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Canonicalize::True,
            Some("fallback") => Canonicalize::Fallback,
            Some(v) => match profile::parse_boolean(v) {
                Some(false) => Canonicalize::False,
                _ => Canonicalize::True,
            },
        };
        let default_realm = profile
            .first(&["libdefaults", "default_realm"])
            .map(str::to_owned);
        (
            Conf {
                profile,
                default_realm,
                rdns,
                dns_lookup_kdc,
                canonicalize,
                absent: false,
            },
            problems,
        )
    }
}

/// `[libdefaults]` booleans MIT parses strictly: a bad value fails krb5_init_context.
const STRICT_BOOLEANS: &[&str] = &[
    "allow_weak_crypto",
    "ignore_acceptor_hostname",
    "enforce_ok_as_delegate",
    "allow_des3",
    "allow_rc4",
];

/// Parses `user` just enough to know its realm (the principal check judges it fully).
pub fn realm_of(user: Option<&str>) -> Option<&str> {
    user.and_then(|u| u.rsplit_once('@')).map(|(_, r)| r)
}

/// Domain of a target host name: everything after the first dot.
fn domain_of(host: &str) -> Option<&str> {
    host.split_once('.')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// What reading krb5.conf gave: the check's only I/O, done by [`read`], judged by [`decide`].
#[derive(Debug)]
pub enum Read {
    /// The file does not exist (MIT then runs on its built-in defaults).
    Missing,
    /// The path is a directory (a ConfigMap mounted without `subPath`).
    Directory,
    /// The path cannot be looked at (permissions on a parent directory, ...).
    Unreadable(std::io::Error),
    /// The profile loader refused the file or one of its includes, as MIT would.
    Refused(ProfileError),
    /// The file and its includes, parsed.
    Parsed(Profile),
}

/// Reads and parses `path` (with its includes) through the profile loader.
pub fn read(path: &Path) -> Read {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Read::Missing,
        Err(e) => Read::Unreadable(e),
        Ok(m) if m.is_dir() => Read::Directory,
        Ok(_) => match profile::load(path) {
            Ok(p) => Read::Parsed(p),
            Err(e) => Read::Refused(e),
        },
    }
}

/// Runs the check. Returns the finding and, when the file is usable, its facts.
pub fn run(path: &Path, user: Option<&str>, targets: &[String]) -> (Finding, Option<Conf>) {
    let started = Instant::now();
    let (finding, conf) = decide(path, read(path), user, targets);
    (finding.took(started.elapsed()), conf)
}

/// The decision, table-testable: what reading `path` gave, the user and the targets' SPN
/// hosts, to the finding and, when the file is usable, its facts.
pub fn decide(
    path: &Path,
    read: Read,
    user: Option<&str>,
    targets: &[String],
) -> (Finding, Option<Conf>) {
    let shown = path.display().to_string();
    let profile = match read {
        Read::Missing => {
            // MIT does not fail without a krb5.conf: it runs on defaults (KDCs from DNS SRV,
            // no default realm). The later checks run on the same defaults and say whether
            // that is enough here.
            return (
                Finding::new(
                    ID,
                    codes::KRB5_CONF_MISSING,
                    format!("{shown} does not exist: MIT falls back to DNS SRV records and has no default realm"),
                )
                .evidence("path", shown)
                .evidence("dns_lookup_kdc", "true (MIT default)")
                .evidence("rdns", "true (MIT default)")
                .evidence("default_realm", Value::Null),
                Some(Conf::mit_defaults(path)),
            );
        }
        Read::Unreadable(e) => {
            return (
                Finding::new(
                    ID,
                    codes::KRB5_CONF_UNREADABLE,
                    format!("cannot read {shown}: {e}"),
                )
                .evidence("path", shown),
                None,
            );
        }
        Read::Directory => {
            return (
                Finding::new(
                    ID,
                    codes::KRB5_CONF_UNREADABLE,
                    format!("{shown} is a directory, not a file"),
                )
                .hint("A ConfigMap mounted without subPath becomes a directory: mount it with subPath: krb5.conf, or point --krb5-conf at the file inside it.")
                .evidence("path", shown),
                None,
            );
        }
        Read::Refused(e) => return (load_error(&shown, e), None),
        Read::Parsed(p) => p,
    };
    let (conf, problems) = Conf::from_profile(profile);
    let mut issues = Issues::new();
    for p in problems {
        issues.push(codes::KRB5_CONF_SUSPICIOUS, p);
    }
    // krb5_init_context refuses the whole file when these are not booleans.
    for name in STRICT_BOOLEANS {
        if let Some(Err(v)) = conf.profile.boolean(&["libdefaults", name]) {
            let at = conf
                .profile
                .value_source(&["libdefaults", name])
                .map(|s| format!("{}:{}", s.path.display(), s.line))
                .unwrap_or_default();
            issues.push(
                codes::KRB5_CONF_BAD_BOOLEAN,
                format!(
                    "{at}: {name} = {v} is not a boolean; MIT fails with \"Invalid boolean value\""
                ),
            );
        }
    }
    for realm in conf.realms() {
        for (value, kdc) in conf
            .profile
            .values(&["realms", realm, "kdc"])
            .into_iter()
            .zip(conf.kdcs(realm))
        {
            if let Some(err) = &kdc.error {
                issues.push(
                    codes::KRB5_CONF_KDC_INVALID,
                    format!("kdc = {value} in realm {realm}: MIT rejects it ({err})"),
                );
            }
        }
    }
    if !conf.profile.warnings().is_empty() {
        let first = &conf.profile.warnings()[0];
        issues.push(
            codes::KRB5_CONF_SUSPICIOUS,
            format!(
                "{}:{}: {}",
                first.source.path.display(),
                first.source.line,
                first.message
            ),
        );
    }

    // The enctype lists against what AD issues: none of its types never works, RC4 alone
    // stops working on the first AES-only DC.
    let enctypes = super::enctypes::analyse(&conf.profile);
    for e in &enctypes {
        match e.verdict {
            super::enctypes::Verdict::Nothing => issues.push(
                codes::KRB5_CONF_ENCTYPES_NONE,
                format!(
                    "{}: none of aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96, rc4-hmac",
                    e.shown()
                ),
            ),
            super::enctypes::Verdict::Rc4Only => issues.push(
                codes::KRB5_CONF_ENCTYPES_RC4_ONLY,
                format!(
                    "{}: rc4-hmac is the only type Active Directory issues that it allows",
                    e.shown()
                ),
            ),
            _ => {}
        }
    }

    // The realm whose KDCs the run needs: the user's if it names one, else default_realm.
    let realm_in_use = realm_of(user)
        .map(str::to_owned)
        .or(conf.default_realm.clone());
    match &conf.default_realm {
        None => issues.push(
            codes::KRB5_CONF_NO_DEFAULT_REALM,
            "no default_realm in [libdefaults]",
        ),
        Some(dr) => {
            if conf.kdcs(dr).is_empty() {
                if conf.dns_lookup_kdc {
                    issues.push(
                        codes::KRB5_CONF_KDC_FROM_DNS,
                        format!("no kdc for {dr} in [realms]; MIT will ask DNS for _kerberos SRV records"),
                    );
                } else {
                    let near = conf
                        .realms()
                        .into_iter()
                        .find(|r| r.eq_ignore_ascii_case(dr) && r != dr)
                        .map(str::to_owned);
                    let hint = match near {
                        Some(n) => format!(
                            "[realms] spells the realm {n} but default_realm is {dr}: realms are case-sensitive, spell both {}.",
                            dr.to_ascii_uppercase()
                        ),
                        None => format!(
                            "Add '{dr} = {{ kdc = <domain controller FQDN> }}' under [realms], or set dns_lookup_kdc = true."
                        ),
                    };
                    issues.push_hinted(
                        codes::KRB5_CONF_REALM_MISSING,
                        format!(
                            "default_realm {dr} has no kdc in [realms] and dns_lookup_kdc is false"
                        ),
                        hint,
                    );
                }
            }
        }
    }
    for t in targets {
        if t.parse::<std::net::IpAddr>().is_ok() {
            continue; // dns-target reports IP targets.
        }
        match profile::domain_realm(&conf.profile, t) {
            None => {
                if let Some(d) = domain_of(t) {
                    let realm = realm_in_use
                        .clone()
                        .unwrap_or_else(|| d.to_ascii_uppercase());
                    issues.push_hinted(
                        codes::KRB5_CONF_DOMAIN_REALM_MISSING,
                        format!("[domain_realm] does not map {t}"),
                        format!("Under [domain_realm] add: .{d} = {realm} and {d} = {realm}"),
                    );
                }
            }
            Some((realm, _)) => {
                if let Some(ru) = &realm_in_use {
                    if !realm.eq(ru) {
                        issues.push(
                            codes::KRB5_CONF_DOMAIN_REALM_OTHER,
                            format!("[domain_realm] maps {t} to {realm}, the user is in {ru}"),
                        );
                    }
                }
            }
        }
    }
    if let Some(cc) = conf.profile.first(&["libdefaults", "default_ccache_name"]) {
        if cc.to_ascii_uppercase().starts_with("KEYRING:") {
            issues.push(
                codes::KRB5_CONF_KEYRING_CCACHE,
                format!("default_ccache_name = {cc} does not work in containers"),
            );
        }
    }

    let mut finding = issues.finding(ID, || {
        Finding::new(
            ID,
            codes::KRB5_CONF_OK,
            format!(
                "{shown} parses; default_realm {}",
                conf.default_realm.as_deref().unwrap_or("(none)")
            ),
        )
    });
    let realms: Vec<_> = conf
        .realms()
        .into_iter()
        .map(|r| {
            let kdcs: Vec<String> = conf
                .profile
                .values(&["realms", r, "kdc"])
                .into_iter()
                .map(str::to_owned)
                .collect();
            json!({"realm": r, "kdc": kdcs})
        })
        .collect();
    let bool_setting =
        |name: &str, effective: bool| match conf.profile.first(&["libdefaults", name]) {
            Some(v) => json!(format!("{v} (set)")),
            None => json!(format!("{effective} (MIT default)")),
        };
    finding = finding
        .evidence("path", shown)
        .evidence(
            "files",
            conf.profile
                .files()
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>(),
        )
        .evidence("default_realm", conf.default_realm.clone())
        .evidence("realm_in_use", realm_in_use)
        .evidence("realms", realms)
        .evidence("rdns", bool_setting("rdns", conf.rdns))
        .evidence(
            "dns_lookup_kdc",
            bool_setting("dns_lookup_kdc", conf.dns_lookup_kdc),
        )
        .evidence(
            "dns_canonicalize_hostname",
            match conf
                .profile
                .first(&["libdefaults", "dns_canonicalize_hostname"])
            {
                Some(v) => json!(format!("{v} (set)")),
                None => json!("true (MIT default)"),
            },
        );
    if let Some(cc) = conf.profile.first(&["libdefaults", "default_ccache_name"]) {
        finding = finding.evidence("default_ccache_name", cc.to_owned());
    }
    if !enctypes.is_empty() {
        // Where each list came from: an AES-only list from the system crypto policy is why an
        // RC4-only account or host fails from this pod (spn-etype, kinit-etype say so).
        let lists: Vec<Value> = enctypes
            .iter()
            .map(|e| {
                json!({
                    "relation": e.relation,
                    "value": e.value,
                    "source": e.source.as_ref().map(|s| format!("{}:{}", s.path.display(), s.line)),
                    "for_ad": e.verdict.label(),
                    "crypto_policy": e.from_crypto_policy(),
                })
            })
            .collect();
        finding = finding.evidence("enctypes", Value::Array(lists));
    }
    if !conf.profile.warnings().is_empty() {
        finding = finding.evidence(
            "warnings",
            conf.profile
                .warnings()
                .iter()
                .map(|w| {
                    json!({
                        "file": w.source.path.display().to_string(),
                        "line": w.source.line,
                        "message": w.message,
                    })
                })
                .collect::<Vec<_>>(),
        );
    }
    (finding, Some(conf))
}

fn load_error(shown: &str, e: ProfileError) -> Finding {
    let code = match &e {
        ProfileError::Io { .. } => codes::KRB5_CONF_UNREADABLE,
        ProfileError::IncludeMissing { .. } | ProfileError::IncludeDirMissing { .. } => {
            codes::KRB5_CONF_INCLUDE_MISSING
        }
        _ => codes::KRB5_CONF_SYNTAX,
    };
    // MIT itself names neither file nor line ("Improper format of Kerberos configuration
    // file"); saying where is most of the value of this check.
    let summary = match e.location() {
        Some(at) => format!(
            "{}, line {}: {}",
            at.path.display(),
            at.line,
            e.to_string()
                .strip_prefix(&format!("{}:{}: ", at.path.display(), at.line))
                .unwrap_or(&e.mit_message())
        ),
        None => e.to_string(),
    };
    Finding::new(ID, code, summary)
        .evidence("path", shown.to_owned())
        .evidence("mit_error", e.krb5_init_message())
}

impl Conf {
    /// The facts of krb5.conf `text` (the other checks' tests; setup's synthetic file, which
    /// only names the realm). A text that does not parse gives MIT's defaults.
    pub(crate) fn from_text(text: &str) -> Conf {
        let path = Path::new("/synthetic/krb5.conf");
        match profile::parse_str(text, path) {
            Ok(p) => Conf::from_profile(p).0,
            Err(_) => Conf::mit_defaults(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    const PATH: &str = "/test/krb5.conf";

    /// What `read` gives for a file holding `text`, without the file.
    fn parsed(text: &str) -> Read {
        match profile::parse_str(text, Path::new(PATH)) {
            Ok(p) => Read::Parsed(p),
            Err(e) => Read::Refused(e),
        }
    }

    /// A healthy file with `extra` lines added to [libdefaults].
    fn healthy(extra: &str) -> String {
        format!(
            "[libdefaults]\n default_realm = EXAMPLE.COM\n{extra}\n\
             [realms]\n EXAMPLE.COM = {{\n  kdc = dc1.example.com\n }}\n\
             [domain_realm]\n .example.com = EXAMPLE.COM\n"
        )
    }

    #[test]
    fn decisions() {
        let user = Some("awx@EXAMPLE.COM");
        let win = "win01.example.com";
        let no_kdc = "[libdefaults]\n default_realm = EXAMPLE.COM\n";
        let cases: Vec<(Read, Option<&str>, &str, &str, Status)> = vec![
            (Read::Missing, user, win, "krb5-conf-missing", Status::Warn),
            (
                Read::Directory,
                user,
                win,
                "krb5-conf-unreadable",
                Status::Fail,
            ),
            (
                Read::Unreadable(std::io::ErrorKind::PermissionDenied.into()),
                user,
                win,
                "krb5-conf-unreadable",
                Status::Fail,
            ),
            (
                Read::Refused(ProfileError::Io {
                    path: PATH.into(),
                    source: std::io::ErrorKind::PermissionDenied.into(),
                }),
                user,
                win,
                "krb5-conf-unreadable",
                Status::Fail,
            ),
            (
                parsed(&healthy("")),
                user,
                win,
                "krb5-conf-ok",
                Status::Pass,
            ),
            (
                parsed("[libdefaults\n default_realm = EXAMPLE.COM\n"),
                user,
                win,
                "krb5-conf-syntax",
                Status::Fail,
            ),
            (
                parsed("include /nonexistent/krbprobe-test.conf\n"),
                user,
                win,
                "krb5-conf-include-missing",
                Status::Fail,
            ),
            (
                parsed(
                    &healthy("").replace("kdc = dc1.example.com", "kdc = dc1.example.com:99999"),
                ),
                user,
                win,
                "krb5-conf-kdc-invalid",
                Status::Fail,
            ),
            (
                parsed(&healthy(" allow_weak_crypto = maybe")),
                user,
                win,
                "krb5-conf-bad-boolean",
                Status::Fail,
            ),
            (
                // MIT ignores a bad rdns value rather than failing.
                parsed(&healthy(" rdns = perhaps")),
                user,
                win,
                "krb5-conf-suspicious",
                Status::Warn,
            ),
            (
                parsed(&healthy("").replace(" default_realm = EXAMPLE.COM\n", "")),
                user,
                win,
                "krb5-conf-no-default-realm",
                Status::Warn,
            ),
            (
                parsed(no_kdc),
                user,
                "10.0.0.5",
                "krb5-conf-kdc-from-dns",
                Status::Warn,
            ),
            (
                parsed(&format!("{no_kdc} dns_lookup_kdc = false\n")),
                user,
                "10.0.0.5",
                "krb5-conf-realm-missing",
                Status::Fail,
            ),
            (
                parsed(&healthy("")),
                user,
                "win01.other.example",
                "krb5-conf-domain-realm-missing",
                Status::Warn,
            ),
            (
                parsed(&healthy("")),
                Some("awx@CORP.EXAMPLE"),
                win,
                "krb5-conf-domain-realm-other",
                Status::Warn,
            ),
            (
                parsed(&healthy(" default_ccache_name = KEYRING:persistent:%{uid}")),
                user,
                win,
                "krb5-conf-keyring-ccache",
                Status::Warn,
            ),
            (
                // dns-target reports IP targets; [domain_realm] is not asked about them.
                parsed(&healthy("")),
                user,
                "10.0.0.5",
                "krb5-conf-ok",
                Status::Pass,
            ),
        ];
        for (read, user, target, code, status) in cases {
            let shown = format!("{read:?}");
            let (f, conf) = decide(Path::new(PATH), read, user, &[target.to_owned()]);
            assert_eq!((f.code, f.status), (code, status), "{shown}");
            // Facts go on exactly when MIT could use the file.
            let usable = !matches!(
                code,
                "krb5-conf-unreadable" | "krb5-conf-syntax" | "krb5-conf-include-missing"
            );
            assert_eq!(conf.is_some(), usable, "{code}");
        }
    }

    #[test]
    fn a_realm_spelled_in_another_case_is_named_in_the_hint() {
        let text = "[libdefaults]\n default_realm = EXAMPLE.COM\n dns_lookup_kdc = false\n\
                    [realms]\n example.com = {\n  kdc = dc1.example.com\n }\n";
        let (f, _) = decide(Path::new(PATH), parsed(text), None, &[]);
        assert_eq!(f.code, "krb5-conf-realm-missing");
        let hint = f.hint.unwrap();
        assert!(
            hint.contains("[realms] spells the realm example.com"),
            "{hint}"
        );
    }

    #[test]
    fn enctype_lists_that_ad_cannot_serve() {
        for (line, code, status) in [
            (
                "permitted_enctypes = aes256-cts-hmac-sha384-192 camellia256-cts-cmac",
                "krb5-conf-enctypes-none",
                Status::Fail,
            ),
            (
                "default_tgs_enctypes = arcfour-hmac",
                "krb5-conf-enctypes-rc4-only",
                Status::Warn,
            ),
            (
                "permitted_enctypes = DEFAULT -rc4",
                "krb5-conf-ok",
                Status::Pass,
            ),
        ] {
            let (f, _) = decide(
                Path::new("/etc/krb5.conf"),
                parsed(&healthy(line)),
                None,
                &[],
            );
            assert_eq!((f.code, f.status), (code, status), "{line}");
            assert!(f.evidence["enctypes"][0]["value"].is_string(), "{line}");
        }
    }

    #[test]
    fn several_issues_are_listed() {
        let text =
            healthy(" default_ccache_name = KEYRING:persistent:%{uid}\n allow_weak_crypto = maybe");
        let (f, _) = decide(
            Path::new(PATH),
            parsed(&text),
            None,
            &["h.other.example".into()],
        );
        assert_eq!(f.code, "krb5-conf-bad-boolean");
        let codes: Vec<&str> = f.evidence["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes,
            [
                "krb5-conf-bad-boolean",
                "krb5-conf-domain-realm-missing",
                "krb5-conf-keyring-ccache"
            ]
        );
        assert!(f.summary.ends_with("(+2 more)"), "{}", f.summary);
    }

    #[test]
    fn reading_a_missing_file_or_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(&dir.path().join("none")), Read::Missing));
        assert!(matches!(read(dir.path()), Read::Directory));
        let file = dir.path().join("krb5.conf");
        std::fs::write(&file, healthy("")).unwrap();
        assert!(matches!(read(&file), Read::Parsed(_)));
    }
}
