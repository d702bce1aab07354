//! `checks::run` end to end on fake edges (`checks::fakes`): the order of the findings, and
//! which checks are skipped when what failed. No network, no root: krb5.conf is a temp file.

use std::path::Path;
use std::time::Duration;

use clap::Parser;

use super::fakes::{self, FakeDns, FakeGss, FakeIo, FakeKdc, FakeWinRm, HostScript, KdcScript};
use super::{Progress, run};
use crate::cli::Cli;
use crate::dns::DnsFailure;
use crate::gss::krb5_err;
use crate::report::{Finding, Status};
use crate::settings::{Input, Settings};

const REALM: &str = "EXAMPLE.COM";
const KDC: &str = "dc1.example.com";
const KDC_IP: &str = "10.0.0.10";
const WIN1: &str = "win1.example.com";
const WIN2: &str = "win2.example.com";
const WIN3: &str = "win3.example.com";

fn conf_text() -> String {
    format!(
        "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n rdns = false\n\
         [realms]\n {REALM} = {{\n  kdc = {KDC}\n }}\n\
         [domain_realm]\n .example.com = {REALM}\n"
    )
}

/// Settings from krbprobe's flags (`user`, a password in KRBPROBE_PASSWORD and krb5.conf
/// holding `conf` come first), and the directory that holds that krb5.conf.
fn settings_with(conf: &str, user: &str, args: &[&str]) -> (Settings, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("krb5.conf");
    std::fs::write(&path, conf).expect("write krb5.conf");
    let path = path.display().to_string();
    let argv = ["krbprobe", "--krb5-conf", &path, "-u", user];
    let cli = Cli::try_parse_from(argv.iter().chain(args)).expect("flags parse");
    let env = |k: &str| (k == "KRBPROBE_PASSWORD").then(|| "pw".to_owned());
    let input = Input {
        stdin_is_terminal: false,
        prompt: &|_| panic!("no prompt in tests"),
        read_stdin: &|| panic!("no stdin in tests"),
    };
    (Settings::build(cli, &env, &input).expect("settings"), dir)
}

fn settings(args: &[&str]) -> (Settings, tempfile::TempDir) {
    settings_with(&conf_text(), "awx@EXAMPLE.COM", args)
}

/// A resolver knowing the KDC and the three Windows hosts.
fn dns() -> FakeDns {
    FakeDns::default()
        .host(KDC, KDC_IP)
        .host(WIN1, "10.0.0.21")
        .host(WIN2, "10.0.0.22")
        .host(WIN3, "10.0.0.23")
}

fn healthy() -> FakeIo {
    fakes::io(dns(), FakeKdc::healthy(KDC_IP, REALM))
}

async fn findings(settings: &Settings, io: &FakeIo) -> Vec<Finding> {
    run(settings, io, &Progress::default()).await
}

/// `id`, `target`, `code` of each finding.
fn shape(fs: &[Finding]) -> Vec<(&str, Option<&str>, &str)> {
    fs.iter()
        .map(|f| (f.id, f.target.as_deref(), f.code))
        .collect()
}

fn find<'a>(fs: &'a [Finding], id: &str, target: Option<&str>) -> &'a Finding {
    fs.iter()
        .find(|f| f.id == id && f.target.as_deref() == target)
        .unwrap_or_else(|| panic!("no {id} {target:?} in {:?}", shape(fs)))
}

#[tokio::test]
async fn a_healthy_target_passes_every_check_in_order() {
    let (s, _dir) = settings(&[WIN1]);
    let io = healthy();
    let fs = findings(&s, &io).await;
    assert_eq!(
        shape(&fs),
        [
            ("krb5-conf", None, "krb5-conf-ok"),
            ("principal", None, "principal-ok"),
            ("dns-kdc", None, "dns-kdc-ok"),
            ("dns-target", Some(WIN1), "dns-target-ok"),
            ("kdc-reach", None, "kdc-reach-ok"),
            ("winrm-http", Some(WIN1), "winrm-http-ok"),
            ("kinit", None, "kinit-ok"),
            ("spn-ticket", Some(WIN1), "spn-ticket-ok"),
            ("winrm-auth", Some(WIN1), "winrm-auth-ok"),
        ]
    );
    assert!(fs.iter().all(|f| f.status == Status::Pass));
    assert_eq!(
        io.gss.calls(),
        ["kinit awx@EXAMPLE.COM", "ticket HTTP@win1.example.com"]
    );
    assert_eq!(
        io.winrm.calls(),
        [
            "probe win1.example.com",
            "connect win1.example.com",
            "auth HTTP@win1.example.com",
            "call identify",
            "call create-shell",
            "call delete-shell"
        ]
    );
}

#[tokio::test]
async fn targets_keep_their_order_whatever_finishes_first() {
    let (s, _dir) = settings(&[WIN1, WIN2, WIN3]);
    // The first target's name resolves last.
    let dns = dns().slow(WIN1, Duration::from_millis(200));
    let io = fakes::io(dns, FakeKdc::healthy(KDC_IP, REALM));
    let fs = findings(&s, &io).await;
    let per_target = |id: &str| -> Vec<&str> {
        fs.iter()
            .filter(|f| f.id == id)
            .map(|f| f.target.as_deref().unwrap())
            .collect()
    };
    for id in ["dns-target", "winrm-http", "spn-ticket", "winrm-auth"] {
        assert_eq!(per_target(id), [WIN1, WIN2, WIN3], "{id}");
    }
    let ids: Vec<&str> = fs.iter().map(|f| f.id).collect();
    assert_eq!(
        ids,
        [
            "krb5-conf",
            "principal",
            "dns-kdc",
            "dns-target",
            "dns-target",
            "dns-target",
            "kdc-reach",
            "winrm-http",
            "winrm-http",
            "winrm-http",
            "kinit",
            "spn-ticket",
            "spn-ticket",
            "spn-ticket",
            "winrm-auth",
            "winrm-auth",
            "winrm-auth",
        ]
    );
    assert!(
        fs.iter().all(|f| f.status == Status::Pass),
        "{:?}",
        shape(&fs)
    );
}

#[tokio::test]
async fn kinit_is_skipped_when_no_kdc_answers() {
    let (s, _dir) = settings(&[WIN1]);
    let io = fakes::io(dns(), FakeKdc::default().at(KDC_IP, KdcScript::Refused));
    let fs = findings(&s, &io).await;
    let kdc = find(&fs, "kdc-reach", None);
    assert_eq!((kdc.code, kdc.status), ("kdc-unreachable", Status::Fail));
    let kinit = find(&fs, "kinit", None);
    assert_eq!((kinit.code, kinit.status), ("kinit-skipped", Status::Skip));
    assert_eq!(kinit.summary, "skipped: kdc-reach failed (kdc-unreachable)");
    // MIT is not even asked: it would only fail the same way after a longer wait.
    assert!(io.gss.calls().is_empty(), "{:?}", io.gss.calls());
    let spn = find(&fs, "spn-ticket", Some(WIN1));
    assert_eq!(
        (spn.code, spn.status, spn.summary.as_str()),
        ("spn-ticket-skipped", Status::Skip, "no TGT (see kinit)")
    );
    // winrm-http still ran and passed; winrm-auth has no ticket to authenticate with.
    assert_eq!(find(&fs, "winrm-http", Some(WIN1)).code, "winrm-http-ok");
    let auth = find(&fs, "winrm-auth", Some(WIN1));
    assert_eq!(
        (auth.code, auth.status),
        ("winrm-auth-skipped", Status::Skip)
    );
    assert!(!io.winrm.calls().iter().any(|c| c.starts_with("connect")));
}

#[tokio::test]
async fn a_clock_far_from_the_kdcs_fails_kdc_reach_and_skips_kinit() {
    let (s, _dir) = settings(&[WIN1]);
    let kdc = FakeKdc::default().at(KDC_IP, KdcScript::Error(25, REALM, 600));
    let fs = findings(&s, &fakes::io(dns(), kdc)).await;
    let f = find(&fs, "kdc-reach", None);
    assert_eq!((f.code, f.status), ("kdc-clock-skew", Status::Fail));
    assert!(f.summary.contains("600 s ahead"), "{}", f.summary);
    assert_eq!(find(&fs, "kinit", None).code, "kinit-skipped");
}

#[tokio::test]
async fn a_failed_target_name_skips_its_ticket_and_session_only() {
    let (s, _dir) = settings(&[WIN1, WIN2]);
    let dns = dns().failing(WIN2, DnsFailure::NotFound);
    let io = fakes::io(dns, FakeKdc::healthy(KDC_IP, REALM));
    let fs = findings(&s, &io).await;
    assert_eq!(
        find(&fs, "dns-target", Some(WIN2)).code,
        "dns-target-nxdomain"
    );
    let http = find(&fs, "winrm-http", Some(WIN2));
    assert_eq!(
        (http.code, http.status),
        ("winrm-http-skipped", Status::Skip)
    );
    let spn = find(&fs, "spn-ticket", Some(WIN2));
    assert_eq!((spn.code, spn.status), ("spn-ticket-skipped", Status::Skip));
    assert_eq!(
        spn.summary,
        "skipped: dns-target failed (dns-target-nxdomain)"
    );
    let auth = find(&fs, "winrm-auth", Some(WIN2));
    assert_eq!(
        (auth.code, auth.status),
        ("winrm-auth-skipped", Status::Skip)
    );
    assert_eq!(auth.summary, "no TGT or no address (see kinit, dns-target)");
    // The other target is untouched.
    assert_eq!(find(&fs, "winrm-auth", Some(WIN1)).code, "winrm-auth-ok");
    assert_eq!(
        io.gss.calls(),
        ["kinit awx@EXAMPLE.COM", "ticket HTTP@win1.example.com"]
    );
}

#[tokio::test]
async fn winrm_auth_is_skipped_when_the_listener_failed() {
    let (s, _dir) = settings(&[WIN1]);
    let mut io = healthy();
    io.winrm = FakeWinRm::default().host(WIN1, HostScript::Closed);
    let fs = findings(&s, &io).await;
    assert_eq!(
        find(&fs, "winrm-http", Some(WIN1)).code,
        "winrm-port-closed"
    );
    // The ticket does not need the listener.
    assert_eq!(find(&fs, "spn-ticket", Some(WIN1)).code, "spn-ticket-ok");
    let auth = find(&fs, "winrm-auth", Some(WIN1));
    assert_eq!(
        (auth.code, auth.status),
        ("winrm-auth-skipped", Status::Skip)
    );
    assert_eq!(
        auth.summary,
        "skipped: winrm-http failed (winrm-port-closed)"
    );
    assert_eq!(io.winrm.calls(), ["probe win1.example.com"]);
}

#[tokio::test]
async fn winrm_auth_is_skipped_when_the_ticket_failed() {
    let (s, _dir) = settings(&[WIN1, WIN2]);
    let mut io = healthy();
    io.gss = FakeGss {
        spn_errors: [(WIN2.to_owned(), krb5_err::S_PRINCIPAL_UNKNOWN)].into(),
        ..FakeGss::default()
    };
    let fs = findings(&s, &io).await;
    let spn = find(&fs, "spn-ticket", Some(WIN2));
    assert_eq!((spn.code, spn.status), ("spn-unknown", Status::Fail));
    let auth = find(&fs, "winrm-auth", Some(WIN2));
    assert_eq!(
        (auth.code, auth.status),
        ("winrm-auth-skipped", Status::Skip)
    );
    assert_eq!(auth.summary, "skipped: spn-ticket failed (spn-unknown)");
    assert_eq!(find(&fs, "winrm-auth", Some(WIN1)).code, "winrm-auth-ok");
    assert!(
        !io.winrm
            .calls()
            .contains(&"connect win2.example.com".to_owned())
    );
}

#[tokio::test]
async fn psrp_targets_use_spnego_and_name_the_ntlm_fallback_and_the_missing_wsman_spn() {
    let (s, _dir) = settings(&["--connection", "psrp", WIN1, WIN2, WIN3]);
    let mut io = healthy();
    io.gss = FakeGss {
        spn_errors: [
            // WIN2 has no SPN at all; WIN3 only lacks WSMAN/ (host/ works).
            (WIN2.to_owned(), krb5_err::S_PRINCIPAL_UNKNOWN),
            (format!("WSMAN@{WIN3}"), krb5_err::S_PRINCIPAL_UNKNOWN),
        ]
        .into(),
        ..FakeGss::default()
    };
    let fs = findings(&s, &io).await;
    assert_eq!(find(&fs, "spn-ticket", Some(WIN1)).code, "spn-ticket-ok");
    let ok = find(&fs, "winrm-auth", Some(WIN1));
    assert_eq!(ok.code, "winrm-auth-ok");
    assert!(
        ok.summary
            .contains("PowerShell runspace pool opened (1 Receive) and closed"),
        "{}",
        ok.summary
    );
    assert!(
        io.winrm
            .calls()
            .contains(&format!("auth WSMAN@{WIN1} spnego")),
        "{:?}",
        io.winrm.calls()
    );
    let spn = find(&fs, "spn-ticket", Some(WIN2));
    assert_eq!((spn.code, spn.status), ("spn-unknown", Status::Fail));
    let auth = find(&fs, "winrm-auth", Some(WIN2));
    assert_eq!(
        (auth.code, auth.status),
        ("winrm-auth-ntlm-fallback", Status::Fail)
    );
    assert!(
        auth.summary.contains("WSMAN/win2.example.com"),
        "{}",
        auth.summary
    );
    let spn = find(&fs, "spn-ticket", Some(WIN3));
    assert_eq!(
        (spn.code, spn.status),
        ("spn-psrp-service-missing", Status::Fail)
    );
    assert!(
        spn.hint
            .as_deref()
            .unwrap()
            .contains("ansible_psrp_negotiate_service: host")
    );
    assert_eq!(
        spn.evidence["works_with"],
        "host/win3.example.com@EXAMPLE.COM"
    );

    // With auth kerberos there is no fallback: winrm-auth is skipped after the ticket failed.
    let (s, _dir) = settings(&["--connection", "psrp", "--psrp-auth", "kerberos", WIN2]);
    let fs = findings(&s, &io).await;
    assert_eq!(
        find(&fs, "winrm-auth", Some(WIN2)).code,
        "winrm-auth-skipped"
    );
    // An explicit service is not second-guessed.
    let (s, _dir) = settings(&["--connection", "psrp", "--service", "WSMAN", WIN3]);
    let fs = findings(&s, &io).await;
    assert_eq!(find(&fs, "spn-ticket", Some(WIN3)).code, "spn-unknown");
}

#[tokio::test]
async fn delegating_targets_check_ok_as_delegate_and_kinit_args() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inv = dir.path().join("inv.ini");
    std::fs::write(
        &inv,
        format!(
            "{WIN1} ansible_connection=psrp ansible_psrp_negotiate_delegate=true\n\
             {WIN2} ansible_connection=psrp ansible_psrp_negotiate_delegate=yes\n\
             {WIN3} ansible_port=5985 ansible_winrm_kerberos_delegation=true ansible_winrm_kinit_args=-V\n"
        ),
    )
    .expect("inventory");
    let (s, _dir) = settings(&["--targets-file", inv.to_str().expect("utf-8")]);
    let mut io = healthy();
    io.gss = FakeGss {
        not_ok_as_delegate: vec![WIN2.to_owned()],
        ..FakeGss::default()
    };
    let fs = findings(&s, &io).await;
    let ok = find(&fs, "spn-ticket", Some(WIN1));
    assert_eq!(ok.code, "spn-ticket-ok");
    assert_eq!(ok.evidence["ok_as_delegate"], true);
    let not = find(&fs, "spn-ticket", Some(WIN2));
    assert_eq!(
        (not.code, not.status),
        ("spn-not-ok-as-delegate", Status::Fail)
    );
    assert_eq!(not.evidence["delegated"], false);
    // It still authenticates, so winrm-auth runs.
    assert_eq!(find(&fs, "winrm-auth", Some(WIN2)).code, "winrm-auth-ok");
    let args = find(&fs, "ansible-connection", Some(WIN3));
    assert_eq!(
        (args.code, args.status),
        ("ansible-connection-kinit-args-no-forward", Status::Fail)
    );
    // Delegation is asked for only where a connection delegates.
    let (s, _dir) = settings(&[WIN1]);
    let fs = findings(&s, &io).await;
    assert!(
        find(&fs, "spn-ticket", Some(WIN1))
            .evidence
            .get("delegated")
            .is_none()
    );
}

#[tokio::test]
async fn a_wrong_password_skips_tickets_and_sessions() {
    let (s, _dir) = settings(&[WIN1]);
    let mut io = healthy();
    io.gss = FakeGss {
        tgt_error: Some(krb5_err::PREAUTH_FAILED),
        ..FakeGss::default()
    };
    let fs = findings(&s, &io).await;
    let kinit = find(&fs, "kinit", None);
    assert_eq!(
        (kinit.code, kinit.status),
        ("kinit-password-wrong", Status::Fail)
    );
    assert_eq!(
        find(&fs, "spn-ticket", Some(WIN1)).code,
        "spn-ticket-skipped"
    );
    let auth = find(&fs, "winrm-auth", Some(WIN1));
    assert_eq!(
        (auth.code, auth.status),
        ("winrm-auth-skipped", Status::Skip)
    );
    assert_eq!(io.gss.calls(), ["kinit awx@EXAMPLE.COM"]);
}

#[tokio::test]
async fn a_rejected_user_fails_winrm_auth() {
    let (s, _dir) = settings(&[WIN1]);
    let mut io = healthy();
    io.winrm = FakeWinRm::default().host(WIN1, HostScript::Rejects);
    let fs = findings(&s, &io).await;
    let auth = find(&fs, "winrm-auth", Some(WIN1));
    assert_eq!(
        (auth.code, auth.status),
        ("winrm-auth-rejected", Status::Fail)
    );
}

#[tokio::test]
async fn a_bad_principal_skips_the_kerberos_chain() {
    let (s, _dir) = settings_with(&conf_text(), "EXAMPLE\\awx", &[WIN1]);
    let io = healthy();
    let fs = findings(&s, &io).await;
    assert_eq!(find(&fs, "principal", None).code, "principal-syntax");
    // dns-kdc still runs on default_realm; MIT is not asked for a TGT.
    assert_eq!(find(&fs, "dns-kdc", None).code, "dns-kdc-ok");
    let kinit = find(&fs, "kinit", None);
    assert_eq!((kinit.code, kinit.status), ("kinit-skipped", Status::Skip));
    assert_eq!(
        kinit.summary,
        "skipped: principal failed (principal-syntax)"
    );
    assert!(io.gss.calls().is_empty());
}

#[tokio::test]
async fn an_unusable_krb5_conf_skips_what_needs_a_realm() {
    let (s, _dir) = settings_with("[libdefaults\n", "awx", &[WIN1]);
    let fs = findings(&s, &healthy()).await;
    assert_eq!(find(&fs, "krb5-conf", None).code, "krb5-conf-syntax");
    let expect = [
        ("principal", "principal-no-realm", Status::Fail),
        ("dns-kdc", "dns-kdc-skipped", Status::Skip),
        ("kdc-reach", "kdc-reach-skipped", Status::Skip),
        ("kinit", "kinit-skipped", Status::Skip),
    ];
    for (id, code, status) in expect {
        let f = find(&fs, id, None);
        assert_eq!((f.code, f.status), (code, status), "{id}");
    }
}

#[tokio::test]
async fn kdcs_left_to_dns_without_srv_records() {
    let conf = format!("[libdefaults]\n default_realm = {REALM}\n");
    let (s, _dir) = settings_with(&conf, "awx@EXAMPLE.COM", &[WIN1]);
    let fs = findings(&s, &healthy()).await;
    let f = find(&fs, "dns-kdc", None);
    assert_eq!((f.code, f.status), ("dns-kdc-srv-missing", Status::Fail));
    let f = find(&fs, "kdc-reach", None);
    assert_eq!((f.code, f.status), ("kdc-reach-skipped", Status::Skip));
    assert_eq!(f.summary, "no KDC address for EXAMPLE.COM (see dns-kdc)");
    assert_eq!(find(&fs, "kinit", None).code, "kinit-skipped");

    // With the SRV records, the KDCs come from DNS and the chain passes.
    let dns = dns()
        .srv("_kerberos._udp.EXAMPLE.COM", KDC)
        .srv("_kerberos._tcp.EXAMPLE.COM", KDC);
    let fs = findings(&s, &fakes::io(dns, FakeKdc::healthy(KDC_IP, REALM))).await;
    assert_eq!(find(&fs, "dns-kdc", None).code, "dns-kdc-ok");
    assert_eq!(find(&fs, "kinit", None).code, "kinit-ok");
}

#[tokio::test]
async fn no_resolver_fails_every_lookup_check() {
    let (s, _dir) = settings(&[WIN1]);
    let mut io = healthy();
    io.dns = Err("/etc/resolv.conf: no such file".into());
    let fs = findings(&s, &io).await;
    for (id, target) in [("dns-kdc", None), ("dns-target", Some(WIN1))] {
        let f = find(&fs, id, target);
        assert_eq!(
            (f.code, f.status),
            ("dns-resolv-conf", Status::Fail),
            "{id}"
        );
    }
    assert_eq!(find(&fs, "kdc-reach", None).code, "kdc-reach-skipped");
    assert_eq!(
        find(&fs, "winrm-http", Some(WIN1)).code,
        "winrm-http-skipped"
    );
}

#[tokio::test]
async fn ansible_connection_comes_after_principal_once_per_target() {
    let (s, _dir) = settings(&["--realm", "EXAMPLE.COM", WIN1, WIN2]);
    let fs = findings(&s, &healthy()).await;
    let ids: Vec<(&str, Option<&str>)> = fs
        .iter()
        .take(5)
        .map(|f| (f.id, f.target.as_deref()))
        .collect();
    assert_eq!(
        ids,
        [
            ("krb5-conf", None),
            ("principal", None),
            ("ansible-connection", Some(WIN1)),
            ("ansible-connection", Some(WIN2)),
            ("dns-kdc", None),
        ]
    );
    let f = find(&fs, "ansible-connection", Some(WIN1));
    assert_eq!(
        (f.code, f.status),
        ("ansible-connection-realm-ignored", Status::Warn)
    );
    // Without Ansible variables there is no such check.
    let (s, _dir) = settings(&[WIN1]);
    let fs = findings(&s, &healthy()).await;
    assert!(fs.iter().all(|f| f.id != "ansible-connection"));
}

#[tokio::test]
async fn ee_runtime_comes_first_when_it_runs() {
    let (mut s, dir) = settings(&["--ee-check", "always", WIN1]);
    // An empty PATH and no interpreter: what ee-runtime finds is known without the machine.
    s.ee.path = Some(dir.path().display().to_string());
    s.ee.python = Some(dir.path().join("no-python"));
    let fs = findings(&s, &healthy()).await;
    let first = &fs[0];
    assert_eq!(
        (first.id, first.code, first.status),
        ("ee-runtime", "ee-runtime-no-kinit", Status::Fail)
    );
    assert_eq!(fs[1].id, "krb5-conf");
    assert_eq!(fs.iter().filter(|f| f.id == "ee-runtime").count(), 1);
    // It blocks nothing: the Kerberos chain still passes.
    assert_eq!(find(&fs, "winrm-auth", Some(WIN1)).code, "winrm-auth-ok");

    let (s, _dir) = settings(&["--ee-check", "never", WIN1]);
    let fs = findings(&s, &healthy()).await;
    assert_eq!(fs[0].id, "krb5-conf");
}

#[tokio::test]
async fn a_panicking_edge_costs_its_target_only() {
    let (s, _dir) = settings(&[WIN1, WIN2]);
    let io = fakes::io(dns().panicking(WIN1), FakeKdc::healthy(KDC_IP, REALM));
    let fs = findings(&s, &io).await;
    for id in ["dns-target", "winrm-http"] {
        let f = find(&fs, id, Some(WIN1));
        assert_eq!((f.code, f.status), ("probe-error", Status::Fail), "{id}");
        assert!(
            f.summary.contains("resolver blew up on win1"),
            "{}",
            f.summary
        );
    }
    assert_eq!(
        find(&fs, "spn-ticket", Some(WIN1)).summary,
        "skipped: dns-target failed (probe-error)"
    );
    assert_eq!(find(&fs, "winrm-auth", Some(WIN2)).code, "winrm-auth-ok");
}

#[tokio::test]
async fn the_run_deadline_reports_what_did_not_finish() {
    let (mut s, _dir) = settings(&[WIN1, WIN2]);
    s.deadline = Duration::from_millis(300);
    let mut io = healthy();
    io.winrm = FakeWinRm::default().host(WIN1, HostScript::Hangs);
    let fs = findings(&s, &io).await;
    // The chain that hung owes both its findings, in their places.
    for id in ["dns-target", "winrm-http"] {
        let f = find(&fs, id, Some(WIN1));
        assert_eq!((f.code, f.status), ("probe-deadline", Status::Fail), "{id}");
    }
    assert_eq!(find(&fs, "winrm-http", Some(WIN2)).code, "winrm-http-ok");
    // The hung target has no ticket to ask for; its skips say why.
    assert_eq!(
        find(&fs, "spn-ticket", Some(WIN1)).summary,
        "skipped: dns-target failed (probe-deadline)"
    );
    assert_eq!(
        find(&fs, "winrm-auth", Some(WIN1)).summary,
        "skipped: winrm-http failed (probe-deadline)"
    );
    // Every check keeps its place in the report, finished or not.
    assert_eq!(fs.len(), 13, "{:?}", shape(&fs));
}

#[test]
fn the_temp_krb5_conf_is_what_the_checks_read() {
    let (s, dir) = settings(&[WIN1]);
    assert_eq!(s.krb5_conf, dir.path().join("krb5.conf"));
    assert!(Path::new(&s.krb5_conf).is_file());
}
