//! `krbprobe setup`: writes the krb5.conf, the ConfigMap and the Container Group pod spec for
//! a realm, from what the domain publishes in DNS, and proves them before they are applied.
//!
//! Most broken AWX Kerberos set-ups are written by hand: a realm in lower case, no
//! `[domain_realm]`, a KEYRING cache copied from a RHEL host, a ConfigMap mounted without
//! `subPath`. `setup` discovers the domain controllers as `realm discover` does (the
//! `_kerberos._udp`/`_tcp` SRV records of the realm, plus `_kpasswd` and
//! `_ldap._tcp.dc._msdcs` for the report), checks with a real AS exchange that each one
//! answers Kerberos for the realm (the dns-kdc and kdc-reach checks, unchanged), and renders
//! the files from the same templates as `container/k8s/`, which CI validates against the
//! Kubernetes schema. With targets and a user it then runs the normal diagnosis against the
//! generated krb5.conf (lib.rs), so the user sees it work before applying it.

use std::fmt::Write as _;
use std::time::Duration;

use crate::checks::edges::{KdcTransport, Resolver};
use crate::checks::krb5_conf::Conf;
use crate::checks::{dns_kdc, kdc_reach};
use crate::codes;
use crate::dns::Srv;
use crate::report::Status;

/// The Container Group pod spec CI validates (container/k8s): setup fills in its names.
const POD_TEMPLATE: &str = include_str!("../container/k8s/container-group-pod.yaml");

/// Why setup cannot write a configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A flag's value cannot be used (realm, namespace, name).
    #[error("{0}")]
    Input(String),
    /// DNS has no KDC for the realm, or none of its KDCs answers Kerberos for it.
    #[error("{summary}{}", hint.as_deref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    Discovery {
        /// What went wrong (the failing check's summary).
        summary: String,
        /// What to do about it.
        hint: Option<String>,
    },
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The realm, as given (upper-cased for the files).
    pub realm: String,
    /// The user principal, if given: its name is what the AS exchange asks for.
    pub user: Option<String>,
    /// The WinRM hosts the jobs reach: their domains go into `[domain_realm]`.
    pub targets: Vec<String>,
    /// Namespace of AWX's job pods.
    pub namespace: String,
    /// Name of the ConfigMap.
    pub configmap: String,
    /// Set `KRB5_TRACE=/dev/stderr` in the pod spec.
    pub trace: bool,
    /// Per-step network timeout.
    pub timeout: Duration,
}

/// What DNS and the KDCs said.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The realm, upper case.
    pub realm: String,
    /// The KDCs, in SRV order, as `host` or `host:port`.
    pub kdcs: Vec<String>,
    /// `_kpasswd._udp`/`_tcp` targets (the password-change servers).
    pub kpasswd: Vec<Srv>,
    /// `_ldap._tcp.dc._msdcs.<domain>`: present for an Active Directory domain.
    pub ldap_dcs: Vec<Srv>,
    /// DNS domains that map to the realm in `[domain_realm]`.
    pub domains: Vec<String>,
    /// Some target is a CNAME: MIT must canonicalize to find its SPN.
    pub canonicalize: bool,
    /// kdc-reach's code for the KDCs (`kdc-reach-ok`, or a user-level verdict such as
    /// `kdc-user-unknown`, which also proves the KDCs serve the realm).
    pub kdc_code: &'static str,
}

fn check_label(what: &str, v: &str, max: usize) -> Result<(), SetupError> {
    let ok = !v.is_empty()
        && v.len() <= max
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !v.starts_with(['-', '.'])
        && !v.ends_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(SetupError::Input(format!(
            "{what} {v:?} is not a Kubernetes name (lower-case letters, digits, '-', '.'; at most {max})"
        )))
    }
}

/// Checks the request's names before any network traffic.
pub fn validate(req: &Request) -> Result<String, SetupError> {
    let realm = req.realm.trim().trim_end_matches('.').to_ascii_uppercase();
    let valid = !realm.is_empty()
        && realm.contains('.')
        && realm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid {
        return Err(SetupError::Input(format!(
            "realm {:?} is not an Active Directory realm (the domain's DNS name, e.g. CORP.EXAMPLE.COM)",
            req.realm
        )));
    }
    check_label("namespace", &req.namespace, 63)?;
    if req.namespace.contains('.') {
        return Err(SetupError::Input(format!(
            "namespace {:?} cannot contain '.'",
            req.namespace
        )));
    }
    check_label("ConfigMap name", &req.configmap, 253)?;
    Ok(realm)
}

fn kdc_value(host: &str, port: u16) -> String {
    if port == 88 {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    }
}

/// Discovers and checks the realm's KDCs, and looks the targets up.
pub async fn discover(
    req: &Request,
    dns: &impl Resolver,
    kdc: &impl KdcTransport,
    now: fn() -> std::time::SystemTime,
) -> Result<Discovery, SetupError> {
    let realm = validate(req)?;
    // MIT's own discovery, through the dns-kdc check: a krb5.conf that names the realm and
    // nothing else, so every KDC comes from the SRV records.
    let conf = Conf::from_text(&format!(
        "[libdefaults]\n default_realm = {realm}\n dns_lookup_kdc = true\n"
    ));
    let (dns_finding, endpoints) = dns_kdc::run(Ok(dns), Some(&realm), Some(&conf)).await;
    let reachable: Vec<_> = endpoints
        .iter()
        .filter(|e| !e.addrs.is_empty())
        .cloned()
        .collect();
    if dns_finding.status == Status::Fail || reachable.is_empty() {
        return Err(SetupError::Discovery {
            summary: format!(
                "no domain controller for {realm} in DNS: {}",
                dns_finding.summary
            ),
            hint: Some(format!(
                "Check the realm's spelling (the AD domain's DNS name) and that the pod's DNS serves the domain's zone: it must answer _kerberos._udp.{realm} and _kerberos._tcp.{realm} (SRV), as every AD DC registers them. A realm whose DNS has no SRV records needs its kdc lines written by hand."
            )),
        });
    }
    let user_name = req
        .user
        .as_deref()
        .map(|u| u.rsplit_once('@').map_or(u, |(n, _)| n));
    let reach = kdc_reach::run(kdc, now, Some(&realm), user_name, &reachable, req.timeout).await;
    // kdc-reach fails on a KDC that is not Kerberos, serves another realm, refuses or drops:
    // a krb5.conf listing it would fail the same way. A user-level verdict (unknown,
    // disabled) proves the KDC serves the realm, which is all setup needs.
    let kdc_problem = [
        codes::KDC_UNREACHABLE,
        codes::KDC_TIMEOUT,
        codes::KDC_NOT_KERBEROS,
        codes::KDC_WRONG_REALM,
        codes::KDC_ERROR,
        codes::KDC_REACH_SKIPPED,
    ]
    .iter()
    .any(|c| c.code == reach.code);
    let not_a_dc =
        [codes::KDC_NOT_KERBEROS.code, codes::KDC_WRONG_REALM.code].contains(&reach.code);
    if kdc_problem {
        return Err(SetupError::Discovery {
            summary: format!(
                "the KDCs DNS names for {realm} do not serve it: {}",
                reach.summary
            ),
            hint: if not_a_dc {
                Some(format!(
                    "The realm's SRV records (_kerberos._udp/_tcp.{realm}) name a host or port that is not a domain controller of {realm}: fix them in the DNS zone, or write the kdc lines by hand."
                ))
            } else {
                reach.hint.clone()
            },
        });
    }
    let mut kdcs: Vec<String> = Vec::new();
    for e in &reachable {
        let v = kdc_value(&e.host, e.port);
        if !kdcs.contains(&v) {
            kdcs.push(v);
        }
    }
    let domain = realm.to_ascii_lowercase();
    let srvs = |name: String| async move { dns.srv(&name).await.unwrap_or_default() };
    let (kp_udp, kp_tcp, ldap) = tokio::join!(
        srvs(format!("_kpasswd._udp.{realm}")),
        srvs(format!("_kpasswd._tcp.{realm}")),
        srvs(format!("_ldap._tcp.dc._msdcs.{domain}")),
    );
    let mut kpasswd = kp_udp;
    for s in kp_tcp {
        if !kpasswd
            .iter()
            .any(|k| k.target == s.target && k.port == s.port)
        {
            kpasswd.push(s);
        }
    }
    let mut domains = vec![domain.clone()];
    let mut canonicalize = false;
    for t in &req.targets {
        let host = t.trim_end_matches('.').to_ascii_lowercase();
        match host.split_once('.') {
            Some((_, d)) if !d.is_empty() => {
                if !domains.iter().any(|x| x == d) {
                    domains.push(d.to_owned());
                }
            }
            _ => {
                return Err(SetupError::Input(format!(
                    "target {t:?} is not a fully qualified name: give the host as Ansible connects to it (win01.{domain})"
                )));
            }
        }
        if let Ok(answer) = dns.lookup_ip(&host).await {
            canonicalize |= !answer.cnames.is_empty();
        }
    }
    Ok(Discovery {
        realm,
        kdcs,
        kpasswd,
        ldap_dcs: ldap,
        domains,
        canonicalize,
        kdc_code: reach.code,
    })
}

/// The krb5.conf for the job pods. Comments are on lines of their own: MIT has no trailing
/// comments.
pub fn krb5_conf(d: &Discovery) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by krbprobe setup for {} from the domain's DNS SRV records.",
        d.realm
    );
    let _ = write!(
        s,
        "[libdefaults]\n    default_realm = {}\n\
         \x20   # Realms not listed below (trusted domains) are found through DNS SRV records.\n\
         \x20   dns_lookup_kdc = true\n\
         \x20   dns_lookup_realm = false\n\
         \x20   # The SPN is built from the name Ansible connects to, never from a PTR record.\n\
         \x20   rdns = false\n",
        d.realm
    );
    if d.canonicalize {
        s.push_str("    # A target is a CNAME: its SPN is registered for the canonical name.\n    dns_canonicalize_hostname = true\n");
    } else {
        s.push_str("    # The targets are A records: use the names as given.\n    dns_canonicalize_hostname = false\n");
    }
    s.push_str(
        "    # A FILE cache in /tmp (an emptyDir): KEYRING caches do not work in containers.\n\
         \x20   default_ccache_name = FILE:/tmp/krb5cc_%{uid}\n\
         \x20   # AD tickets carry a PAC and often exceed a UDP datagram: TCP first.\n\
         \x20   udp_preference_limit = 1\n\n[realms]\n",
    );
    let _ = writeln!(s, "    {} = {{", d.realm);
    for k in &d.kdcs {
        let _ = writeln!(s, "        kdc = {k}");
    }
    for k in &d.kpasswd {
        let _ = writeln!(
            s,
            "        kpasswd_server = {}",
            kdc_value(&k.target, k.port)
        );
    }
    s.push_str("    }\n\n[domain_realm]\n");
    for dom in &d.domains {
        let _ = writeln!(s, "    .{dom} = {}\n    {dom} = {}", d.realm, d.realm);
    }
    s
}

/// The ConfigMap holding `conf` under the key `krb5.conf` (kubectl apply -f).
pub fn configmap(req: &Request, realm: &str, conf: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "# krb5.conf for AWX job pods reaching Windows hosts of {realm}; written by krbprobe setup.\n\
         # Apply: kubectl apply -f krb5-configmap.yaml\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n\
         \x20   app.kubernetes.io/name: {name}\n    app.kubernetes.io/managed-by: krbprobe\n\
         data:\n  krb5.conf: |\n",
        name = req.configmap,
        ns = req.namespace
    );
    for line in conf.lines() {
        if line.is_empty() {
            s.push('\n');
        } else {
            let _ = writeln!(s, "    {line}");
        }
    }
    s
}

/// The Container Group pod spec (AWX: Instance Groups > container group > pod spec), from
/// container/k8s/container-group-pod.yaml with this request's namespace and ConfigMap.
pub fn pod_spec(req: &Request) -> Result<String, SetupError> {
    let mut s = POD_TEMPLATE.to_owned();
    let subs: [(&str, String); 2] = [
        (
            "metadata:\n  namespace: awx\n",
            format!("metadata:\n  namespace: {}\n", req.namespace),
        ),
        (
            "      configMap:\n        name: krb5-conf\n",
            format!("      configMap:\n        name: {}\n", req.configmap),
        ),
    ];
    for (from, to) in subs {
        if !s.contains(from) {
            return Err(SetupError::Input(format!(
                "internal: the pod template lacks {from:?}"
            )));
        }
        s = s.replacen(from, &to, 1);
    }
    if req.trace {
        let from = "      # env:\n";
        let Some(start) = s.find(from) else {
            return Err(SetupError::Input(
                "internal: the pod template lacks its env block".into(),
            ));
        };
        // Uncomment the template's KRB5_TRACE block: "      #   - name" -> "        - name".
        let end = s[start..]
            .find("      volumeMounts:")
            .map_or(s.len(), |i| start + i);
        let block: String = s[start..end]
            .lines()
            .map(|l| {
                if l == "      # env:" {
                    "      env:".to_owned()
                } else if let Some(rest) = l.strip_prefix("      #   - ") {
                    format!("        - {rest}")
                } else if let Some(rest) = l.strip_prefix("      #     value:") {
                    format!("          value:{rest}")
                } else {
                    l.replacen("      #   #", "        #", 1)
                }
            })
            .map(|l| l + "\n")
            .collect();
        s.replace_range(start..end, &block);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request {
            realm: "corp.example.com".into(),
            user: None,
            targets: vec![],
            namespace: "awx-jobs".into(),
            configmap: "krb5-corp".into(),
            trace: false,
            timeout: Duration::from_secs(1),
        }
    }

    fn discovery() -> Discovery {
        Discovery {
            realm: "CORP.EXAMPLE.COM".into(),
            kdcs: vec![
                "dc1.corp.example.com".into(),
                "dc2.corp.example.com:1088".into(),
            ],
            kpasswd: vec![Srv {
                target: "dc1.corp.example.com".into(),
                port: 464,
                priority: 0,
                weight: 100,
            }],
            ldap_dcs: vec![],
            domains: vec!["corp.example.com".into(), "servers.example.net".into()],
            canonicalize: false,
            kdc_code: "kdc-reach-ok",
        }
    }

    #[test]
    fn names_are_checked_before_any_traffic() {
        assert_eq!(validate(&req()).unwrap(), "CORP.EXAMPLE.COM");
        for (f, v) in [
            ("realm", "corp"),
            ("realm", "bad realm.com"),
            ("namespace", "AWX"),
            ("namespace", "a.b"),
            ("configmap", "-x"),
        ] {
            let mut r = req();
            match f {
                "realm" => r.realm = v.into(),
                "namespace" => r.namespace = v.into(),
                _ => r.configmap = v.into(),
            }
            let e = validate(&r).unwrap_err().to_string();
            assert!(e.contains(v), "{f} {v}: {e}");
        }
    }

    #[test]
    fn the_krb5_conf_is_what_a_job_pod_needs() {
        let c = krb5_conf(&discovery());
        for want in [
            "default_realm = CORP.EXAMPLE.COM",
            "rdns = false",
            "dns_canonicalize_hostname = false",
            "default_ccache_name = FILE:/tmp/krb5cc_%{uid}",
            "    CORP.EXAMPLE.COM = {\n        kdc = dc1.corp.example.com\n        kdc = dc2.corp.example.com:1088\n        kpasswd_server = dc1.corp.example.com:464\n    }",
            "    .servers.example.net = CORP.EXAMPLE.COM\n    servers.example.net = CORP.EXAMPLE.COM",
        ] {
            assert!(c.contains(want), "{want}\n{c}");
        }
        assert!(!c
            .lines()
            .any(|l| l.trim_start().starts_with("default_ccache_name") && l.contains("KEYRING")));
        // Every comment is a line of its own (MIT has no trailing comments).
        for l in c.lines() {
            assert!(!l.contains(" # ") || l.trim_start().starts_with('#'), "{l}");
        }
        // krbprobe's own krb5-conf check finds nothing wrong with it.
        let (f, _) = crate::checks::krb5_conf::decide(
            std::path::Path::new("krb5.conf"),
            crate::checks::krb5_conf::Read::Parsed(
                crate::profile::parse_str(&c, std::path::Path::new("krb5.conf")).unwrap(),
            ),
            Some("awx@CORP.EXAMPLE.COM"),
            &["win01.servers.example.net".to_owned()],
        );
        assert_eq!(f.code, "krb5-conf-ok", "{f:?}");
    }

    #[test]
    fn configmap_and_pod_spec_carry_the_names() {
        let r = req();
        let conf = krb5_conf(&discovery());
        let cm = configmap(&r, "CORP.EXAMPLE.COM", &conf);
        assert!(cm.contains("  name: krb5-corp\n  namespace: awx-jobs\n"));
        assert!(cm.contains("    [libdefaults]\n        default_realm = CORP.EXAMPLE.COM\n"));
        let pod = pod_spec(&r).unwrap();
        assert!(pod.contains("metadata:\n  namespace: awx-jobs\n"));
        assert!(pod.contains("      configMap:\n        name: krb5-corp\n"));
        assert!(pod.contains("subPath: krb5.conf"));
        assert!(!pod.contains("\n      env:\n"));
        let traced = pod_spec(&Request { trace: true, ..r }).unwrap();
        assert!(
            traced.contains("      env:\n")
                && traced.contains("        - name: KRB5_TRACE\n          value: /dev/stderr\n"),
            "{traced}"
        );
    }
}
