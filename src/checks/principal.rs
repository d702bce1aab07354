//! Check 2, `principal`: the user is a well-formed principal whose realm is configured exactly
//! as spelled (Kerberos realms are case-sensitive; AD's are upper case).

use std::time::Instant;

use crate::checks::krb5_conf::Conf;
use crate::codes;
use crate::report::Finding;

/// Check id.
pub const ID: &str = "principal";

/// A client principal split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The name part (may contain `/` components).
    pub name: String,
    /// The realm, from the user or from default_realm.
    pub realm: String,
}

impl Principal {
    /// `name@REALM`.
    pub fn full(&self) -> String {
        format!("{}@{}", self.name, self.realm)
    }
}

/// Runs the check. `conf` is `None` when krb5.conf was unusable. There is nothing to gather:
/// the user comes from the settings and the realms from krb5-conf's facts.
pub fn run(user: Option<&str>, conf: Option<&Conf>) -> (Finding, Option<Principal>) {
    let started = Instant::now();
    let (f, p) = decide(user, conf);
    (f.took(started.elapsed()), p)
}

/// The decision, table-testable.
pub fn decide(user: Option<&str>, conf: Option<&Conf>) -> (Finding, Option<Principal>) {
    let Some(user) = user else {
        return (
            Finding::skip(ID, codes::PRINCIPAL_MISSING, "no user given (-u/--user)"),
            None,
        );
    };
    if let Some((domain, name)) = user.split_once('\\') {
        let realm = domain.to_ascii_uppercase();
        let suggestion = conf
            .and_then(|c| {
                c.realms()
                    .into_iter()
                    .find(|r| r.split('.').next() == Some(realm.as_str()))
                    .map(str::to_owned)
            })
            .or_else(|| conf.and_then(|c| c.default_realm.clone()))
            .unwrap_or_else(|| format!("{realm}.YOUR.DOMAIN"));
        return (
            Finding::new(
                ID,
                codes::PRINCIPAL_SYNTAX,
                format!("{user:?} is a Windows DOMAIN\\user name, not a Kerberos principal"),
            )
            .hint(format!(
                "Kerberos needs the user principal form: ansible_user: {name}@{suggestion}"
            ))
            .evidence("user", user),
            None,
        );
    }
    if user.is_empty() || user.contains(char::is_whitespace) || user.matches('@').count() > 1 {
        return (
            Finding::new(
                ID,
                codes::PRINCIPAL_SYNTAX,
                format!("{user:?} is not a principal of the form user@REALM"),
            )
            .evidence("user", user),
            None,
        );
    }
    let (name, realm) = match user.split_once('@') {
        Some((n, r)) => (n, Some(r)),
        None => (user, None),
    };
    if name.is_empty() || realm == Some("") {
        return (
            Finding::new(
                ID,
                codes::PRINCIPAL_SYNTAX,
                format!("{user:?} has an empty name or realm"),
            )
            .evidence("user", user),
            None,
        );
    }
    let default_realm = conf.and_then(|c| c.default_realm.clone());
    let Some(realm) = realm.map(str::to_owned).or(default_realm.clone()) else {
        return (
            Finding::new(
                ID,
                codes::PRINCIPAL_NO_REALM,
                format!("{user} has no realm and krb5.conf has no default_realm"),
            )
            .hint(if conf.is_some_and(|c| c.absent) {
                format!(
                    "There is no krb5.conf: mount one (ConfigMap at /etc/krb5.conf) with default_realm, or write the realm into the user name: ansible_user: {name}@YOUR.REALM (upper case)."
                )
            } else {
                format!(
                    "Write the realm into the user name: ansible_user: {name}@YOUR.REALM (upper case), or set default_realm in krb5.conf."
                )
            })
            .evidence("user", user),
            None,
        );
    };
    let principal = Principal {
        name: name.to_owned(),
        realm: realm.clone(),
    };
    let configured: Vec<String> = conf
        .map(|c| c.realms().into_iter().map(str::to_owned).collect())
        .unwrap_or_default();
    let exact = configured.contains(&realm) || default_realm.as_deref() == Some(&realm);
    let upper = realm.to_ascii_uppercase();
    let evidence = |f: Finding| {
        f.evidence("user", user)
            .evidence("principal", principal.full())
            .evidence("configured_realms", configured.clone())
    };
    if realm != upper && !exact {
        // AD realms are the upper-case DNS domain; MIT treats realms case-sensitively, so the
        // lower-case spelling finds no [realms] entry, and even through DNS SRV records the
        // KDC's reply would not match the request ("KDC reply did not match expectations").
        let finding = Finding::new(
            ID,
            codes::PRINCIPAL_REALM_CASE,
            format!("realm {realm} is not upper case; Kerberos realms are case-sensitive"),
        )
        .hint(format!(
            "Use {name}@{upper} (ansible_user: {name}@{upper}; in the AWX credential too)."
        ));
        return (evidence(finding), Some(principal));
    }
    if exact {
        let summary = if user.contains('@') {
            format!("{} (realm configured)", principal.full())
        } else {
            format!("{} (default_realm appended)", principal.full())
        };
        return (
            evidence(Finding::new(ID, codes::PRINCIPAL_OK, summary)),
            Some(principal),
        );
    }
    let dns = conf.is_some_and(|c| c.dns_lookup_kdc);
    let finding = if dns {
        Finding::new(
            ID,
            codes::PRINCIPAL_REALM_VIA_DNS,
            format!("realm {realm} is not in [realms]; KDCs will come from DNS SRV records"),
        )
    } else {
        Finding::new(
            ID,
            codes::PRINCIPAL_REALM_UNKNOWN,
            format!("realm {realm} is not in krb5.conf's [realms]"),
        )
        .hint(format!(
            "Add '{realm} = {{ kdc = <domain controller FQDN> }}' under [realms] in krb5.conf, or fix the realm of {user}."
        ))
    };
    (evidence(finding), Some(principal))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    const CONF: &str = "[libdefaults]\n default_realm = EXAMPLE.COM\n dns_lookup_kdc = false\n\
                        [realms]\n EXAMPLE.COM = {\n  kdc = dc1.example.com\n }\n";

    #[test]
    fn decisions() {
        let conf = Conf::from_text(CONF);
        let dns = Conf::from_text("[libdefaults]\n default_realm = EXAMPLE.COM\n");
        let bare = Conf::from_text("[libdefaults]\n dns_lookup_kdc = false\n");
        // user, krb5.conf facts -> code, status, the principal handed on.
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a Conf>,
            &'a str,
            Status,
            Option<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (None, Some(&conf), "principal-missing", Status::Skip, None),
            (
                Some("awx@EXAMPLE.COM"),
                Some(&conf),
                "principal-ok",
                Status::Pass,
                Some("awx@EXAMPLE.COM"),
            ),
            (
                Some("awx"),
                Some(&conf),
                "principal-ok",
                Status::Pass,
                Some("awx@EXAMPLE.COM"),
            ),
            (
                Some("svc/host.example.com@EXAMPLE.COM"),
                Some(&conf),
                "principal-ok",
                Status::Pass,
                Some("svc/host.example.com@EXAMPLE.COM"),
            ),
            (
                Some("EXAMPLE\\awx"),
                Some(&conf),
                "principal-syntax",
                Status::Fail,
                None,
            ),
            (
                Some("a wx@EXAMPLE.COM"),
                Some(&conf),
                "principal-syntax",
                Status::Fail,
                None,
            ),
            (
                Some("awx@A@EXAMPLE.COM"),
                Some(&conf),
                "principal-syntax",
                Status::Fail,
                None,
            ),
            (
                Some("@EXAMPLE.COM"),
                Some(&conf),
                "principal-syntax",
                Status::Fail,
                None,
            ),
            (
                Some("awx@"),
                Some(&conf),
                "principal-syntax",
                Status::Fail,
                None,
            ),
            (
                Some(""),
                Some(&conf),
                "principal-syntax",
                Status::Fail,
                None,
            ),
            (
                Some("awx"),
                Some(&bare),
                "principal-no-realm",
                Status::Fail,
                None,
            ),
            (Some("awx"), None, "principal-no-realm", Status::Fail, None),
            (
                Some("awx@example.com"),
                Some(&conf),
                "principal-realm-case",
                Status::Fail,
                Some("awx@example.com"),
            ),
            (
                Some("awx@OTHER.EXAMPLE"),
                Some(&conf),
                "principal-realm-unknown",
                Status::Fail,
                Some("awx@OTHER.EXAMPLE"),
            ),
            (
                Some("awx@OTHER.EXAMPLE"),
                None,
                "principal-realm-unknown",
                Status::Fail,
                Some("awx@OTHER.EXAMPLE"),
            ),
            (
                Some("awx@OTHER.EXAMPLE"),
                Some(&dns),
                "principal-realm-via-dns",
                Status::Warn,
                Some("awx@OTHER.EXAMPLE"),
            ),
        ];
        for (user, conf, code, status, principal) in cases {
            let (f, p) = decide(user, conf);
            assert_eq!((f.code, f.status), (code, status), "{user:?}");
            assert_eq!(p.map(|p| p.full()).as_deref(), principal, "{user:?}");
        }
    }

    #[test]
    fn hints_say_what_to_write_instead() {
        let conf = Conf::from_text(CONF);
        let (f, _) = decide(Some("EXAMPLE\\awx"), Some(&conf));
        assert_eq!(
            f.hint.as_deref(),
            Some("Kerberos needs the user principal form: ansible_user: awx@EXAMPLE.COM")
        );
        let (f, _) = decide(Some("awx@example.com"), Some(&conf));
        assert!(f.hint.unwrap().starts_with("Use awx@EXAMPLE.COM"));
        // Without a krb5.conf the fix is to mount one.
        let absent = Conf::mit_defaults(std::path::Path::new("/etc/krb5.conf"));
        let (f, _) = decide(Some("awx"), Some(&absent));
        assert_eq!(f.code, "principal-no-realm");
        assert!(f.hint.unwrap().starts_with("There is no krb5.conf"));
    }
}
