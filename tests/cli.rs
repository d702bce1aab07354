//! The binary's own inputs: bad flags, unreadable password files and broken krb5.conf files
//! give a clear message and the documented exit status, never a panic. Runs without the lab:
//! nothing here touches the network (targets are unresolvable and the timeout is short).

use std::process::{Command, Output};

fn krbprobe(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_krbprobe"));
    cmd.args(args)
        .env_remove("KRB5_CONFIG")
        .env_remove("KRB5CCNAME")
        .env_remove("KRBPROBE_USER")
        .env_remove("KRBPROBE_PASSWORD")
        .env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run krbprobe")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn nonsense_flag_is_a_usage_error() {
    let out = krbprobe(&["--frobnicate", "host.example"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--frobnicate"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_target_is_a_usage_error() {
    let out = krbprobe(&[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("TARGET"));
}

#[test]
fn bad_timeout_is_a_usage_error() {
    let out = krbprobe(&["--timeout", "forever", "h.example"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--timeout"));
}

#[test]
fn unreadable_password_file_is_a_usage_error_naming_the_file() {
    let out = krbprobe(
        &["--password-file", "/nonexistent/krbprobe.pw", "h.example"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("/nonexistent/krbprobe.pw"), "{err}");
}

#[test]
fn password_flag_does_not_exist() {
    let out = krbprobe(&["--password", "hunter2", "h.example"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stdout).contains("hunter2"));
}

#[test]
fn version_names_the_linked_mit_krb5() {
    let out = krbprobe(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let v = text(&out.stdout);
    assert!(v.contains("MIT krb5 1.20.1"), "{v}");
    assert!(v.contains("deb12u"), "patch level missing: {v}");
}

#[test]
fn help_snapshot() {
    let out = krbprobe(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("help", text(&out.stdout));
}

/// The subcommands' help is public interface too (their flags are matched by scripts).
#[test]
fn subcommand_help_snapshots() {
    for sub in ["explain", "setup"] {
        let out = krbprobe(&[sub, "--help"], &[]);
        assert_eq!(out.status.code(), Some(0), "{sub}");
        insta::assert_snapshot!(format!("help-{sub}"), text(&out.stdout));
    }
}

/// explain's text report of an ambiguous message and of a trace-settled one (no timings in
/// it: explain reports 0 ms).
#[test]
fn explain_text_report_snapshot() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/explain");
    let out = krbprobe(
        &[
            "explain",
            "--color",
            "never",
            &format!("{dir}/revoked-2.18.txt"),
            &format!("{dir}/kdc-dropped.txt"),
            &format!("{dir}/kdc-dropped.trace"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("explain-text", text(&out.stdout).replace(dir, "FIXTURES"));
}

/// A garbage krb5.conf is a finding about the environment (exit 1), reported with file and
/// line, not a crash. The checks needing a config are skipped, the rest still run.
#[test]
fn garbage_krb5_conf_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("krb5.conf");
    std::fs::write(
        &conf,
        b"[libdefaults]\n default_realm = EXAMPLE.COM\n[realms]\n EXAMPLE.COM = {\n kdc = a\n\xff\xfe garbage \x01 here = x\n }\n",
    )
    .unwrap();
    let out = krbprobe(
        &[
            "--krb5-conf",
            conf.to_str().unwrap(),
            "--format",
            "json",
            "--timeout",
            "200ms",
            "invalid.",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let first = &report["checks"][0];
    assert_eq!(first["id"], "krb5-conf");
    assert_eq!(first["status"], "fail");
    assert_eq!(first["code"], "krb5-conf-syntax");
    let summary = first["summary"].as_str().unwrap();
    assert!(summary.contains(conf.to_str().unwrap()), "{summary}");
    assert!(summary.contains("line"), "{summary}");
}

#[test]
fn krb5_conf_that_is_a_directory_is_unreadable_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let out = krbprobe(
        &[
            "--krb5-conf",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
            "--timeout",
            "200ms",
            "invalid.",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checks"][0]["code"], "krb5-conf-unreadable");
}

#[test]
fn group_needs_an_inventory_and_names_the_groups_it_has() {
    let out = krbprobe(&["--group", "windows", "h.example"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--targets-file"));

    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("hosts.ini");
    std::fs::write(&inv, "[windows]\nw[1:3].example\n[linux]\nl1.example\n").unwrap();
    let inv = inv.to_str().unwrap();
    let out = krbprobe(&["--targets-file", inv, "--group", "dcs"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "--targets-file {inv}: no group \"dcs\" in it (groups: linux, windows)"
        )),
        "{err}"
    );

    std::fs::write(
        dir.path().join("bad.ini"),
        "[windows]\nw1 ansible_port=5985x\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.ini");
    let out = krbprobe(&["--targets-file", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("line 2: ansible_port=5985x: not a port number"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
