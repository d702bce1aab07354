//! Check `ansible-connection` (per target, when Ansible's connection variables are given):
//! what Ansible's winrm connection will do for this host, and where that differs from what the
//! inventory probably meant.
//!
//! It mirrors `ansible.plugins.connection.winrm` (ansible-core 2.19) and pywinrm 0.5:
//! - the endpoint is `scheme://ansible_host:port/wsman`, port 5986 unless `ansible_port` says
//!   otherwise, scheme https unless the port is 5985 or `ansible_winrm_scheme` is set;
//! - with `ansible_winrm_transport` unset, the transport is `kerberos` only when `ansible_user`
//!   is a UPN (`user@REALM`), otherwise basic auth (`ssl`/`plaintext`);
//! - transports are tried in the order listed;
//! - the SPN is `ansible_winrm_service@host`, host being the Kerberos hostname override or
//!   the endpoint host: an IP address there puts the IP into the SPN;
//! - the realm comes from `ansible_user` only: `ansible_winrm_realm` is passed to pywinrm,
//!   which ignores it for Kerberos.

use std::net::IpAddr;

use serde_json::json;

use crate::codes;
use crate::report::{Finding, Issues};
use crate::settings::{AnsibleContext, Target};

/// Check id.
pub const ID: &str = "ansible-connection";

/// The transports Ansible's winrm connection will try, in order, and whether they were
/// derived (not given).
pub fn transports(t: &Target, user: Option<&str>) -> (Vec<String>, bool) {
    match &t.spec.transport {
        Some(list) if !list.is_empty() => (list.clone(), false),
        _ => {
            let upn = user.is_some_and(|u| u.contains('@'));
            let derived = if upn {
                "kerberos"
            } else if t.scheme.as_str() == "https" {
                "ssl"
            } else {
                "plaintext"
            };
            (vec![derived.to_owned()], true)
        }
    }
}

/// The finding for one target.
pub fn run(t: &Target, user: Option<&str>, ctx: &AnsibleContext) -> Finding {
    if let Some(p) = &t.psrp {
        return run_psrp(t, p);
    }
    let (transports, derived) = transports(t, user);
    let gss_target = format!("{}@{}", t.service, t.spn_host);
    let mut problems = Issues::new();

    let kerberos_at = transports.iter().position(|x| x == "kerberos");
    match kerberos_at {
        None if derived => problems.push(
            codes::ANSIBLE_CONNECTION_NOT_KERBEROS,
            format!(
                "ansible_user {} is not user@REALM and ansible_winrm_transport is unset: Ansible uses basic auth ({}), not Kerberos",
                user.map(|u| format!("'{u}'")).unwrap_or_else(|| "(unset)".into()),
                transports[0]
            ),
        ),
        None => problems.push_hinted(
            codes::ANSIBLE_CONNECTION_NOT_KERBEROS,
            format!(
                "ansible_winrm_transport is {}: Kerberos is not among the transports Ansible tries",
                transports.join(",")
            ),
            "Set ansible_winrm_transport: kerberos (and ansible_user: user@REALM) for this host or group.",
        ),
        Some(i) if i > 0 => problems.push(
            codes::ANSIBLE_CONNECTION_TRANSPORT_ORDER,
            format!(
                "ansible_winrm_transport is {}: Ansible tries {} before kerberos",
                transports.join(","),
                transports[..i].join(",")
            ),
        ),
        Some(_) => {}
    }
    ip_host(
        &mut problems,
        t,
        &gss_target,
        "ansible_winrm_kerberos_hostname_override",
        "pywinrm",
    );
    if let Some(realm) = &ctx.realm {
        let user_realm = user.and_then(|u| u.rsplit_once('@')).map(|(_, r)| r);
        let detail = match user_realm {
            Some(r) if r == realm => "the realm comes from ansible_user (which matches)".to_owned(),
            Some(r) => format!("the realm comes from ansible_user: {r}"),
            None => {
                "ansible_user has no @REALM, so kinit uses krb5.conf's default_realm".to_owned()
            }
        };
        problems.push(
            codes::ANSIBLE_CONNECTION_REALM_IGNORED,
            format!("ansible_winrm_realm={realm} is ignored by pywinrm; {detail}"),
        );
    }
    scheme_port(&mut problems, t);
    if t.delegates() && !t.kinit_forwardable() {
        problems.push(
            codes::ANSIBLE_CONNECTION_KINIT_ARGS_NO_FORWARD,
            format!(
                "ansible_winrm_kerberos_delegation is true and ansible_winrm_kinit_args is '{}': kinit runs without -f",
                t.spec.kinit_args.as_deref().unwrap_or("")
            ),
        );
    }

    let finding = problems.finding(ID, || {
        Finding::new(
            ID,
            codes::ANSIBLE_CONNECTION_OK,
            format!(
                "{} with {}, SPN {gss_target}",
                t.endpoint(),
                transports.join(",")
            ),
        )
    });
    // Schema 1's name for the `issues` list, without hints; deprecated, gone in schema 2.
    let notes: Vec<_> = problems
        .iter()
        .map(|i| json!({"code": i.code.code, "status": i.code.status, "summary": i.summary}))
        .collect();
    finding
        .target(t.name.clone())
        .evidence("endpoint", t.endpoint())
        .evidence("transports", json!(transports))
        .evidence("transport_derived", derived)
        .evidence("gss_target_name", gss_target)
        .evidence("ansible_host", t.spec.ansible_host.clone())
        .evidence(
            "kerberos_hostname_override",
            t.spec.hostname_override.clone(),
        )
        .evidence("port_from_inventory", t.spec.port.is_some())
        .evidence("kerberos_delegation", t.spec.kerberos_delegation)
        .evidence("kinit_args", t.spec.kinit_args.clone())
        .evidence("kinit_env_vars", json!(ctx.kinit_env_vars))
        .evidence(
            "notes",
            if notes.len() > 1 {
                json!(notes)
            } else {
                json!(null)
            },
        )
}

/// The IP-address-as-SPN-host problem, in the words of the variable that fixes it.
fn ip_host(problems: &mut Issues, t: &Target, gss_target: &str, override_var: &str, client: &str) {
    if t.spn_host.parse::<IpAddr>().is_err() {
        return;
    }
    // The inventory name is the likely FQDN only when it looks like one; an alias or a short
    // name would just move the problem (dns-target names the PTR's answer).
    let fqdn_name = t.name.parse::<IpAddr>().is_err() && t.name != t.host && t.name.contains('.');
    let hint = if fqdn_name {
        format!(
            "Set {override_var}: {} for this host (or ansible_host to the FQDN).",
            t.name
        )
    } else {
        format!(
            "Set {override_var} to the host's FQDN, the name its computer account holds the {}/ SPN for (dns-target shows what the address's PTR record says).",
            t.service
        )
    };
    problems.push_hinted(
        codes::ANSIBLE_CONNECTION_IP_HOST,
        format!(
            "ansible_host is the IP address {}: {client} asks for {gss_target}, which no AD account holds",
            t.host
        ),
        hint,
    );
}

/// The scheme/port mismatch, if any.
fn scheme_port(problems: &mut Issues, t: &Target) {
    let mismatch = match (t.scheme.as_str(), t.port) {
        ("https", 5985) => Some("https on 5985, WinRM's http port"),
        ("http", 5986) => Some("http on 5986, WinRM's https port"),
        _ => None,
    };
    if let Some(m) = mismatch {
        problems.push(
            codes::ANSIBLE_CONNECTION_SCHEME_PORT,
            format!("{}: {m}", t.endpoint()),
        );
    }
}

/// The psrp connection (`ansible.builtin.psrp` with pypsrp and pyspnego): `auth` negotiate
/// (SPNEGO, NTLM as a silent fallback) or kerberos, the SPN `negotiate_service@host`
/// (`WSMAN` before ansible-core 2.21, `host` from 2.21), a runspace pool on
/// `configuration_name`.
fn run_psrp(t: &Target, p: &crate::settings::Psrp) -> Finding {
    let gss_target = format!("{}@{}", t.service, t.spn_host);
    let mut problems = Issues::new();
    if !p.uses_kerberos() {
        problems.push_hinted(
            codes::ANSIBLE_CONNECTION_NOT_KERBEROS,
            format!(
                "ansible_psrp_auth is {}: the psrp connection does not use Kerberos",
                p.auth
            ),
            "Set ansible_psrp_auth: negotiate (or kerberos, which never falls back to NTLM) and ansible_user: user@REALM.",
        );
    }
    ip_host(
        &mut problems,
        t,
        &gss_target,
        "ansible_psrp_negotiate_hostname_override",
        "pypsrp",
    );
    scheme_port(&mut problems, t);
    if p.message_encryption == "never" && t.scheme == crate::model::Scheme::Http {
        problems.push(
            codes::ANSIBLE_CONNECTION_PSRP_UNENCRYPTED,
            format!(
                "{}: ansible_psrp_message_encryption=never over http",
                t.endpoint()
            ),
        );
    }
    let how = match p.auth.as_str() {
        "negotiate" => "SPNEGO (NTLM as a silent fallback)",
        "kerberos" => "Kerberos only",
        _ => "no Kerberos",
    };
    problems
        .finding(ID, || {
            Finding::new(
                ID,
                codes::ANSIBLE_CONNECTION_OK,
                format!(
                    "{} with psrp auth {} ({how}), SPN {gss_target} ({}), endpoint {}",
                    t.endpoint(),
                    p.auth,
                    t.service_origin,
                    p.configuration_name
                ),
            )
        })
        .target(t.name.clone())
        .evidence("connection", "psrp")
        .evidence("endpoint", t.endpoint())
        .evidence("auth", p.auth.clone())
        .evidence("gss_target_name", gss_target)
        .evidence("service_origin", t.service_origin)
        .evidence("configuration_name", p.configuration_name.clone())
        .evidence("message_encryption", p.message_encryption.clone())
        .evidence("send_cbt", p.send_cbt)
        .evidence("negotiate_delegate", p.delegate)
        .evidence("path", p.path.clone())
        .evidence("proxy", t.spec.psrp.proxy.clone())
        .evidence("ansible_host", t.spec.psrp.host.clone())
        .evidence(
            "negotiate_hostname_override",
            t.spec.psrp.negotiate_hostname_override.clone(),
        )
        .evidence("port_from_inventory", t.spec.psrp.port.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scheme;
    use crate::report::Status;
    use crate::settings::{Defaults, TargetSpec, resolve_target};

    fn target(spec: TargetSpec) -> Target {
        resolve_target(
            spec,
            &Defaults {
                port: 5986,
                ..Defaults::default()
            },
        )
        .unwrap()
    }

    fn ctx() -> AnsibleContext {
        AnsibleContext {
            active: true,
            ..AnsibleContext::default()
        }
    }

    #[test]
    fn decisions() {
        let fqdn = "win01.example.com";
        let u = Some("awx@EXAMPLE.COM");
        let cases: Vec<(TargetSpec, Option<&str>, &str, Status)> = vec![
            (
                TargetSpec::bare(fqdn),
                u,
                "ansible-connection-ok",
                Status::Pass,
            ),
            (
                TargetSpec::bare(fqdn),
                Some("awx"),
                "ansible-connection-not-kerberos",
                Status::Fail,
            ),
            (
                TargetSpec {
                    transport: Some(vec!["ntlm".into()]),
                    ..TargetSpec::bare(fqdn)
                },
                u,
                "ansible-connection-not-kerberos",
                Status::Fail,
            ),
            (
                TargetSpec {
                    transport: Some(vec!["ntlm".into(), "kerberos".into()]),
                    ..TargetSpec::bare(fqdn)
                },
                u,
                "ansible-connection-transport-order",
                Status::Warn,
            ),
            (
                TargetSpec {
                    ansible_host: Some("10.0.0.5".into()),
                    ..TargetSpec::bare(fqdn)
                },
                u,
                "ansible-connection-ip-host",
                Status::Warn,
            ),
            (
                TargetSpec {
                    ansible_host: Some("10.0.0.5".into()),
                    hostname_override: Some(fqdn.into()),
                    ..TargetSpec::bare(fqdn)
                },
                u,
                "ansible-connection-ok",
                Status::Pass,
            ),
            (
                TargetSpec {
                    port: Some(5985),
                    scheme: Some(Scheme::Https),
                    ..TargetSpec::bare(fqdn)
                },
                u,
                "ansible-connection-scheme-port",
                Status::Warn,
            ),
        ];
        for (spec, user, code, status) in cases {
            let f = run(&target(spec.clone()), user, &ctx());
            assert_eq!((f.code, f.status), (code, status), "{spec:?}");
        }
    }

    #[test]
    fn worst_problem_leads_and_the_rest_are_notes() {
        let t = target(TargetSpec {
            ansible_host: Some("10.0.0.5".into()),
            ..TargetSpec::bare("win01.example.com")
        });
        let c = AnsibleContext {
            realm: Some("EXAMPLE.COM".into()),
            ..ctx()
        };
        let f = run(&t, Some("awx"), &c);
        assert_eq!(f.code, "ansible-connection-not-kerberos");
        assert!(f.summary.ends_with("(+2 more)"), "{}", f.summary);
        let issues = f.evidence["issues"].as_array().unwrap();
        assert_eq!(issues.len(), 3);
        assert_eq!(issues[0]["code"], "ansible-connection-not-kerberos");
        // The deprecated `notes` are the same list without hints (schema 1's shape).
        let notes = f.evidence["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 3);
        for (n, i) in notes.iter().zip(issues) {
            assert_eq!(
                (&n["code"], &n["status"], &n["summary"]),
                (&i["code"], &i["status"], &i["summary"])
            );
            assert!(n.get("hint").is_none(), "{n}");
        }
        assert_eq!(f.evidence["gss_target_name"], "HTTP@10.0.0.5");
    }

    #[test]
    fn ip_host_hint_names_the_override() {
        let t = target(TargetSpec {
            ansible_host: Some("10.0.0.5".into()),
            ..TargetSpec::bare("win01.example.com")
        });
        let f = run(&t, Some("a@B"), &ctx());
        assert!(
            f.hint
                .unwrap()
                .contains("ansible_winrm_kerberos_hostname_override: win01.example.com")
        );
    }

    fn psrp(vars: &[(&str, &str)], name: &str) -> Target {
        let mut spec = TargetSpec::bare(name);
        crate::settings::apply_var(&mut spec, "ansible_connection", "psrp").unwrap();
        for (k, v) in vars {
            crate::settings::apply_var(&mut spec, k, v).unwrap();
        }
        target(spec)
    }

    #[test]
    fn psrp_decisions() {
        let fqdn = "win01.example.com";
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[(Vars, &str, Status)] = &[
            (&[], "ansible-connection-ok", Status::Pass),
            (
                &[("ansible_psrp_auth", "kerberos")],
                "ansible-connection-ok",
                Status::Pass,
            ),
            (
                &[("ansible_psrp_auth", "ntlm")],
                "ansible-connection-not-kerberos",
                Status::Fail,
            ),
            (
                &[("ansible_psrp_auth", "credssp")],
                "ansible-connection-not-kerberos",
                Status::Fail,
            ),
            (
                &[("ansible_host", "10.0.0.5")],
                "ansible-connection-ip-host",
                Status::Warn,
            ),
            (
                &[
                    ("ansible_psrp_protocol", "http"),
                    ("ansible_psrp_message_encryption", "never"),
                ],
                "ansible-connection-psrp-unencrypted",
                Status::Warn,
            ),
            (
                &[("ansible_psrp_message_encryption", "never")],
                "ansible-connection-ok",
                Status::Pass,
            ),
            (
                &[
                    ("ansible_psrp_port", "5985"),
                    ("ansible_psrp_protocol", "https"),
                ],
                "ansible-connection-scheme-port",
                Status::Warn,
            ),
        ];
        for (vars, code, status) in cases {
            let f = run(&psrp(vars, fqdn), Some("awx@EXAMPLE.COM"), &ctx());
            assert_eq!(
                (f.code, f.status),
                (*code, *status),
                "{vars:?}: {}",
                f.summary
            );
            assert_eq!(f.evidence["connection"], "psrp");
        }
        let f = run(&psrp(&[], fqdn), Some("awx@EXAMPLE.COM"), &ctx());
        assert_eq!(f.evidence["gss_target_name"], "WSMAN@win01.example.com");
        assert!(
            f.summary.contains("endpoint Microsoft.PowerShell"),
            "{}",
            f.summary
        );
        let f = run(&psrp(&[("ansible_host", "10.0.0.5")], fqdn), None, &ctx());
        assert!(
            f.hint
                .unwrap()
                .contains("ansible_psrp_negotiate_hostname_override: win01.example.com")
        );
        assert!(
            f.summary.contains("pypsrp asks for WSMAN@10.0.0.5"),
            "{}",
            f.summary
        );
    }
}
