//! End-to-end tests of the built static binary against the lab (real MIT KDC, real dnsmasq,
//! the WinRM stand-in) that are more than one run of one scenario: report shape and order,
//! several targets, terminals, password sources, caches and keytabs, the empty chroot, the
//! run deadline, traces, Ansible's variables, the EE and module modes, secrets.
//!
//! The one-run-per-failure-mode scenarios (first failing code, hint, warnings) are entries of
//! `lab/scenarios.toml`, run by `tests/lab_scenarios.rs`.
//!
//! Run inside the lab: `lab/run -- cargo test --features lab --test lab`. Outside it these
//! tests fail at once with that instruction rather than passing vacuously.
#![cfg(feature = "lab")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

#[test]
fn healthy_lab_passes_every_check() {
    let run = probe(&["-u", &user(), WIN01]);
    for c in run.report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c:#}\n{}", run.stderr);
    }
    assert_eq!(run.report["verdict"], "pass");
    assert_eq!(run.code, 0);
    let ids: Vec<&str> = run.report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "krb5-conf",
            "principal",
            "dns-kdc",
            "dns-target",
            "kdc-reach",
            "winrm-http",
            "kinit",
            "spn-ticket",
            "winrm-auth"
        ]
    );
    let auth = run.check("winrm-auth", Some(WIN01));
    let steps: Vec<&str> = auth["evidence"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["authenticate", "identify", "create-shell", "delete-shell"]
    );
    assert!(
        auth["evidence"]["steps"][1]["encrypted"].as_bool().unwrap(),
        "{auth:#}"
    );
    let spn = run.check("spn-ticket", Some(WIN01));
    assert_eq!(
        spn["evidence"]["spn"],
        format!("HTTP/{WIN01}@{REALM}"),
        "{spn:#}"
    );
    let kdc = run.check("kdc-reach", None);
    assert!(kdc["summary"].as_str().unwrap().contains("user exists"));
    let http = run.check("winrm-http", Some(WIN01));
    assert_eq!(http["evidence"]["server"], "Microsoft-HTTPAPI/2.0");
}

#[test]
fn healthy_text_report_is_readable() {
    let out = krbprobe_cmd()
        .args(["-u", &user(), WIN01])
        .env("KRBPROBE_PASSWORD", password())
        .env_remove("KRB5CCNAME")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains('\u{1b}'), "colour on a pipe");
    assert!(text.contains("PASS  spn-ticket"), "{text}");
    assert!(text.contains("PASS: 9 passed"), "{text}");
}

#[test]
fn run_deadline_ends_a_run_that_network_timeouts_alone_would_not() {
    // --timeout 5s against a KDC that drops packets: only the run's deadline (1s) ends it.
    let dir = tempfile::tempdir().unwrap();
    let c = conf(dir.path(), "kuro-ad04.kurokobo.internal", "");
    let started = Instant::now();
    let out = krbprobe_cmd()
        .env("KRBPROBE_PASSWORD", password())
        .args(["--format", "json", "--timeout", "5s", "--deadline", "1s"])
        .args(["--krb5-conf", c.to_str().unwrap(), "-u", &user(), WIN01])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let code_of = |id: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["code"].as_str().unwrap().to_owned())
    };
    assert_eq!(code_of("kdc-reach").as_deref(), Some("probe-deadline"));
    assert_eq!(code_of("kinit").as_deref(), Some("probe-deadline"));
    // The target's own chain finished in time.
    assert_eq!(code_of("winrm-http").as_deref(), Some("winrm-http-ok"));
    assert_eq!(out.status.code(), Some(1));
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn several_targets_keep_their_order() {
    let targets = [
        "kuro-win02.kurokobo.internal",
        WIN01,
        "kuro-win04.kurokobo.internal",
    ];
    let mut args = vec!["-u".to_owned(), user()];
    args.extend(targets.iter().map(|t| t.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = probe(&args);
    for id in ["dns-target", "winrm-http", "spn-ticket"] {
        let order: Vec<&str> = run.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == id)
            .map(|c| c["target"].as_str().unwrap())
            .collect();
        assert_eq!(order, targets, "{id}");
    }
}

/// Runs krbprobe with ARGS on a pseudo-terminal (util-linux `script`), as a person at a
/// `kubectl exec -it` shell does; returns what the terminal showed (stdout and stderr).
fn on_a_terminal(args: &[&str]) -> String {
    let quoted: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_krbprobe"))
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let out = krbprobe_cmd_via("script")
        .args(["-qfec", &quoted.join(" "), "/dev/null"])
        .env("KRBPROBE_PASSWORD", password())
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script(1) from util-linux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// On a terminal: a progress line once the run takes over a second, then the table of targets
/// and details only for what failed. Never in JSON, never when the output is not a terminal.
#[test]
fn several_targets_on_a_terminal_get_progress_and_a_table() {
    let win02 = "kuro-win02.kurokobo.internal";
    let win07 = "kuro-win07.kurokobo.internal"; // dropped: the run waits out one timeout
    let base = ["--timeout", "2s", "--color", "never", "-u"];
    let user = user();
    let mut args: Vec<&str> = base.to_vec();
    args.extend([user.as_str(), WIN01, win02, win07]);
    let screen = on_a_terminal(&args);
    assert!(
        screen.contains("\rkrbprobe: ") && screen.contains("/3 targets checked"),
        "no progress line: {screen}"
    );
    assert!(
        screen.contains("\r\x1b[K"),
        "the progress line is not cleared: {screen}"
    );
    let table = screen
        .lines()
        .find(|l| l.starts_with("TARGET"))
        .unwrap_or_else(|| panic!("no table: {screen}"));
    assert!(table.contains("DNS") && table.contains("AUTH"), "{table}");
    let row = |t: &str| {
        screen
            .lines()
            .find(|l| l.starts_with(t))
            .unwrap_or_else(|| panic!("no row for {t}: {screen}"))
            .trim_end()
            .to_owned()
    };
    assert!(row(WIN01).ends_with("  ok"), "{}", row(WIN01));
    assert!(row(win02).contains("spn-unknown"), "{}", row(win02));
    assert!(row(win07).contains("winrm-timeout"), "{}", row(win07));
    let details = &screen[screen
        .find("Failed or warned:")
        .unwrap_or_else(|| panic!("no details: {screen}"))..];
    assert!(
        details.contains(&format!("FAIL  spn-ticket  {win02}")),
        "{details}"
    );
    assert!(
        !details.contains(WIN01),
        "a passing target in the details: {details}"
    );

    let mut json_args = args.clone();
    json_args.extend(["--format", "json"]);
    let screen = on_a_terminal(&json_args);
    assert!(
        !screen.contains("targets checked"),
        "progress in JSON: {screen}"
    );
    assert!(screen.contains("\"schema_version\""), "{screen}");

    let out = krbprobe_cmd()
        .args(&args)
        .env("KRBPROBE_PASSWORD", password())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("targets checked"),
        "progress off a terminal: {stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Failed or warned:"));
}

/// A host that answers winrm-http but stalls once authenticated fails with its own code, and
/// holds only its own session: with --jobs 1 the healthy target still gets its ticket and
/// its authenticated exchange, and the run ends on the per-step timeouts.
#[test]
fn winrm_host_that_stalls_after_authentication() {
    let win13 = "kuro-win13.kurokobo.internal";
    let run = probe(&["--jobs", "1", "--no-shell", "-u", &user(), win13, WIN01]);
    let auth = run.check("winrm-auth", Some(win13));
    assert_eq!(auth["code"], "winrm-auth-timeout", "{auth:#}");
    assert!(
        auth["summary"]
            .as_str()
            .unwrap()
            .contains("no answer within the timeout"),
        "{auth:#}"
    );
    assert!(auth["hint"].as_str().unwrap().contains("MTU"), "{auth:#}");
    assert_eq!(run.check("winrm-http", Some(win13))["status"], "pass");
    assert_eq!(run.check("spn-ticket", Some(WIN01))["status"], "pass");
    assert_eq!(
        run.check("winrm-auth", Some(WIN01))["code"],
        "winrm-auth-ok",
        "{}",
        run.stdout
    );
    // --timeout 1s: the stall costs one timeout, not the stand-in's 20 s.
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

#[test]
fn password_from_file_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{}\n", password())).unwrap();
    let run = probe_with(
        &[
            "--password-file",
            pw.to_str().unwrap(),
            "-u",
            &user(),
            WIN01,
        ],
        None,
    );
    assert_eq!(run.check("kinit", None)["status"], "pass", "{}", run.stdout);

    let mut child = krbprobe_cmd()
        .args(["--format", "json", "--password-stdin", "-u", &user(), WIN01])
        .env_remove("KRBPROBE_PASSWORD")
        .env_remove("KRB5CCNAME")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{}", password()).unwrap();
    let out = child.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "pass", "{report:#}");
}

#[test]
fn keytab_and_existing_cache() {
    // The lab's kinit puts a real TGT into a FILE cache; krbprobe must use it as is.
    let dir = tempfile::tempdir().unwrap();
    let cache = format!("FILE:{}/cc", dir.path().display());
    let tools = std::env::var("KRBPROBE_LAB_TOOLS").unwrap();
    let mut kinit = Command::new(format!("{tools}/kinit"))
        .arg(user())
        .env("KRB5CCNAME", &cache)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(kinit.stdin.take().unwrap(), "{}", password()).unwrap();
    assert!(kinit.wait().unwrap().success());
    let out = krbprobe_cmd()
        .args(["--format", "json", "-u", &user(), WIN01])
        .env_remove("KRBPROBE_PASSWORD")
        .env("KRB5CCNAME", &cache)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["tool"]["credential"], "ccache");
    assert_eq!(report["verdict"], "pass", "{report:#}");
}

#[test]
fn static_binary_runs_in_an_empty_chroot_as_uid_1000() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_krbprobe"));
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    std::fs::copy(&bin, root.path().join("krbprobe")).unwrap();
    std::fs::copy("/etc/krb5.conf", root.path().join("etc/krb5.conf")).unwrap();
    // Name resolution needs to know the lab's DNS server; nothing else is in the tree.
    std::fs::copy("/etc/resolv.conf", root.path().join("etc/resolv.conf")).unwrap();
    let mut perms = std::fs::metadata(root.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(root.path(), perms).unwrap();
    let out = Command::new("/usr/sbin/chroot")
        .arg("--userspec=1000:1000")
        .arg(root.path())
        .args(["/krbprobe", "--format", "json", "-u", &user(), WIN01])
        .env_clear()
        .env("KRBPROBE_PASSWORD", password())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(&password()));
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["verdict"], "pass", "{report:#}");
    // Nothing was written into the (root-owned, read-only for uid 1000) tree.
    let entries: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert_eq!(entries.len(), 2);
}

#[test]
fn insecure_goes_on_past_an_untrusted_certificate_and_says_so() {
    let target = "kuro-win06.kurokobo.internal";
    let run = probe(&["-u", &user(), "--port", "5986", "--insecure", target]);
    let http = run.check("winrm-http", Some(target));
    assert_eq!(
        (http["status"].as_str(), http["code"].as_str()),
        (Some("warn"), Some("winrm-tls-ignored")),
        "{http:#}"
    );
    assert_eq!(run.report["tool"]["insecure"], true);
    // Authenticated over TLS without validation, like server_cert_validation: ignore.
    assert_eq!(
        run.check("winrm-auth", Some(target))["code"],
        "winrm-auth-ok"
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let text = krbprobe_cmd()
        .env("KRBPROBE_PASSWORD", password())
        .args([
            "--color",
            "never",
            "--insecure",
            "--port",
            "5986",
            "-u",
            &user(),
            target,
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains("--insecure: HTTPS certificates are not validated")
    );
}

/// An open port 88 that answers garbage is not a KDC: not a pass.
#[test]
fn kdc_port_answering_garbage_is_not_kerberos() {
    use std::io::{Read, Write};
    let addr = "127.0.0.77:88";
    let udp = std::net::UdpSocket::bind(addr).unwrap();
    let tcp = std::net::TcpListener::bind(addr).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((_, peer)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(b"HTTP/1.1 400 Bad Request\r\n\r\n", peer);
        }
    });
    std::thread::spawn(move || {
        for mut s in tcp.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"\x00\x00\x00\x08garbage!");
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let c = conf(dir.path(), "127.0.0.77", "");
    let run = probe(&["--krb5-conf", c.to_str().unwrap(), "-u", &user(), WIN01]);
    run.assert_first_failure("kdc-reach", "kdc-not-kerberos", "not a domain controller");
}

#[test]
fn trace_is_captured_in_memory_and_keeps_the_password_out() {
    let run = probe(&["-u", &user(), "--trace", "kuro-win02.kurokobo.internal"]);
    let trace: Vec<&str> = run.report["trace"]
        .as_array()
        .expect("trace in the JSON report")
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        trace
            .iter()
            .any(|l| l.contains("Requesting tickets for HTTP/kuro-win02.kurokobo.internal")),
        "{trace:#?}"
    );
    assert!(trace.iter().any(|l| l.contains("127.0.0.10:88")));
}

// ---- Ansible's view: connection variables, the EE, the module (issue 4) ----

/// The venv lab/pywinrm-venv.sh builds: a Python that has pywinrm[kerberos], like an EE.
fn ee_python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pywinrm-venv/bin/python");
    assert!(
        p.exists(),
        "{} missing: run lab/pywinrm-venv.sh first (scripts/test.sh does)",
        p.display()
    );
    p
}

/// PATH of a healthy EE: MIT's client tools and the venv's Python.
fn ee_path() -> String {
    format!(
        "{}:{}:/usr/bin:/bin",
        std::env::var("KRBPROBE_LAB_TOOLS").expect("inside the lab"),
        ee_python().parent().unwrap().display()
    )
}

#[test]
fn ansible_host_ip_breaks_the_spn_and_names_the_override() {
    let run = probe(&["-u", &user(), "--ansible-host", "127.0.0.20", WIN01]);
    let conn = run.check("ansible-connection", Some(WIN01));
    assert_eq!(conn["code"], "ansible-connection-ip-host", "{conn:#}");
    assert_eq!(conn["evidence"]["gss_target_name"], "HTTP@127.0.0.20");
    run.assert_first_failure(
        "dns-target",
        "dns-target-ip",
        &format!("ansible_winrm_kerberos_hostname_override: {WIN01}"),
    );
    assert_eq!(run.check("spn-ticket", Some(WIN01))["status"], "skip");
}

#[test]
fn hostname_override_repairs_an_ip_ansible_host() {
    let run = probe(&[
        "-u",
        &user(),
        "--ansible-host",
        "127.0.0.20",
        "--hostname-override",
        WIN01,
        "--no-shell",
        WIN01,
    ]);
    assert_eq!(run.report["verdict"], "pass", "{}", run.stdout);
    assert_eq!(
        run.check("dns-target", Some(WIN01))["evidence"]["connect_addresses"][0],
        "127.0.0.20"
    );
    assert_eq!(
        run.check("winrm-auth", Some(WIN01))["code"],
        "winrm-auth-ok",
        "{}",
        run.stdout
    );
}

#[test]
fn transport_without_kerberos_is_named_first() {
    let run = probe(&["-u", &user(), "--transport", "ntlm", "--no-shell", WIN01]);
    run.assert_first_failure(
        "ansible-connection",
        "ansible-connection-not-kerberos",
        "ansible_winrm_transport: kerberos",
    );
    // The Kerberos path itself is still probed, to show it would work.
    assert_eq!(
        run.check("winrm-auth", Some(WIN01))["code"],
        "winrm-auth-ok"
    );
}

#[test]
fn realm_variable_is_reported_as_ignored() {
    let run = probe(&["-u", &user(), "--realm", REALM, "--no-shell", WIN01]);
    let conn = run.check("ansible-connection", Some(WIN01));
    assert_eq!(conn["code"], "ansible-connection-realm-ignored", "{conn:#}");
    assert_eq!(run.code, 0);
}

#[test]
fn targets_file_takes_an_inventory_section() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.ini");
    std::fs::write(
        &file,
        format!(
            "[windows]\n\
             {WIN01} ansible_host=127.0.0.20 ansible_winrm_kerberos_hostname_override={WIN01}\n\
             kuro-win02.kurokobo.internal ansible_port=5986\n\
             [windows:vars]\nansible_connection=winrm\nansible_user=awx@{REALM}\nansible_port=5985\n\
             [other]\nkuro-win03.kurokobo.internal\n"
        ),
    )
    .unwrap();
    let run = probe(&[
        "-u",
        &user(),
        "--no-shell",
        "--targets-file",
        file.to_str().unwrap(),
        "--group",
        "windows",
    ]);
    let targets: Vec<&str> = run.report["tool"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(targets, [WIN01, "kuro-win02.kurokobo.internal"]);
    // The group's ansible_port=5985 reaches win01; win02's own 5986 wins over it.
    assert_eq!(
        run.check("winrm-auth", Some(WIN01))["code"],
        "winrm-auth-ok"
    );
    let endpoints = &run.report["tool"]["endpoints"];
    assert_eq!(
        endpoints[1], "https://kuro-win02.kurokobo.internal:5986/wsman",
        "{endpoints}"
    );
    run.assert_first_failure("winrm-http", "winrm-port-closed", "5986");

    // A host of an inventory without ansible_port is probed where Ansible would connect:
    // 5986, https (nothing listens there on kuro-win03).
    let run = probe(&[
        "-u",
        &user(),
        "--targets-file",
        file.to_str().unwrap(),
        "--group",
        "other",
    ]);
    assert_eq!(
        run.report["tool"]["endpoints"][0],
        "https://kuro-win03.kurokobo.internal:5986/wsman"
    );
}

fn ee_probe(extra_env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = krbprobe_cmd();
    cmd.env("PATH", ee_path())
        .env("KRBPROBE_PASSWORD", password())
        .args(["--format", "json", "--timeout", "1s", "--no-shell"])
        .args(args);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run krbprobe");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stdout.contains(&password()) && !stderr.contains(&password()));
    Run {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}")),
        stdout,
        stderr,
        elapsed: Duration::ZERO,
    }
}

#[test]
fn ee_runtime_in_a_healthy_ee() {
    let py = ee_python();
    let run = ee_probe(
        &[],
        &[
            "--ee-check",
            "always",
            "--python",
            py.to_str().unwrap(),
            "-u",
            &user(),
            WIN01,
        ],
    );
    let ee = &run.report["checks"][0];
    assert_eq!(ee["id"], "ee-runtime");
    assert_eq!(ee["code"], "ee-runtime-ok", "{ee:#}");
    assert_eq!(ee["evidence"]["python"]["winrm"], "0.5.0");
    assert_eq!(ee["evidence"]["python"]["winrm_have_kerberos"], true);
    assert!(
        ee["evidence"]["kinit"]
            .as_str()
            .unwrap()
            .ends_with("/kinit")
    );
    assert_eq!(run.report["verdict"], "pass", "{}", run.stdout);
}

#[test]
fn ee_runtime_without_kinit_or_pywinrm() {
    // A bare Python (Debian's, no pywinrm) and a PATH without MIT's tools.
    let empty = tempfile::tempdir().unwrap();
    let run = ee_probe(
        &[("PATH", empty.path().to_str().unwrap())],
        &[
            "--ee-check",
            "always",
            "--python",
            "/usr/bin/python3",
            "-u",
            &user(),
            WIN01,
        ],
    );
    run.assert_first_failure("ee-runtime", "ee-runtime-no-kinit", "krb5-workstation");
    let codes: Vec<&str> = run.report["checks"][0]["evidence"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["ee-runtime-no-kinit", "ee-runtime-no-winrm"]);
}

#[test]
fn ee_runtime_krb5_config_that_kinit_would_not_see() {
    let dir = tempfile::tempdir().unwrap();
    let conf = conf(dir.path(), "kuro-ad01.kurokobo.internal", "");
    let py = ee_python();
    let args = [
        "--ee-check",
        "always",
        "--python",
        py.to_str().unwrap(),
        "-u",
        &user(),
        WIN01,
    ];
    let run = ee_probe(&[("KRB5_CONFIG", conf.to_str().unwrap())], &args);
    let ee = &run.report["checks"][0];
    assert_eq!(ee["code"], "ee-runtime-kinit-env", "{ee:#}");
    assert!(ee["summary"].as_str().unwrap().contains("KRB5_CONFIG="));
    let mut with_var = args.to_vec();
    with_var.extend(["--kinit-env-vars", "KRB5_CONFIG,KRB5_TRACE"]);
    let run = ee_probe(&[("KRB5_CONFIG", conf.to_str().unwrap())], &with_var);
    assert_eq!(run.report["checks"][0]["code"], "ee-runtime-ok");
}

#[test]
fn ee_runtime_recognises_a_job_pod_by_its_name() {
    let run = ee_probe(
        &[("HOSTNAME", "automation-job-42-tdvs5")],
        &["-u", &user(), WIN01],
    );
    let ee = &run.report["checks"][0];
    assert_eq!(ee["id"], "ee-runtime");
    assert!(
        ee["evidence"]["detected_by"][0]
            .as_str()
            .unwrap()
            .contains("automation-job-42-tdvs5")
    );
    let run = ee_probe(&[], &["-u", &user(), WIN01]);
    assert_eq!(run.report["checks"][0]["id"], "krb5-conf");
}

/// Runs the binary as Ansible runs a binary module: one argument, the arguments file.
fn module(args: &Value) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("args");
    std::fs::write(&file, args.to_string()).unwrap();
    let out = krbprobe_cmd()
        .env("PATH", ee_path())
        .arg(&file)
        .output()
        .expect("run krbprobe");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let all = format!("{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one JSON line: {stdout}");
    let value: Value = serde_json::from_str(lines[0]).expect("module JSON");
    assert!(value.is_object());
    (out.status.code().unwrap_or(-1), value, all)
}

#[test]
fn module_mode_healthy_host() {
    let py = ee_python();
    let (code, v, all) = module(&serde_json::json!({
        "targets": [WIN01],
        "user": user(),
        "password": password(),
        "port": 5985,
        "python": py,
        "no_shell": true,
        "_ansible_no_log": false,
        "_ansible_check_mode": false,
        "_ansible_module_name": "krbprobe",
        "_ansible_tmpdir": "/tmp/ansible-tmp-1",
    }));
    assert!(!all.contains(&password()), "password in module output");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["changed"], false);
    assert_eq!(v["failed"], false, "{v:#}");
    assert_eq!(v["report"]["checks"][0]["code"], "ee-runtime-ok");
    assert_eq!(v["report"]["tool"]["port"], 5985);
    assert!(v["msg"].as_str().unwrap().contains("passed"));
}

#[test]
fn module_mode_defaults_to_ansibles_port_and_never_echoes_the_password() {
    let marker = format!("Marker-{}-Pw!", std::process::id());
    let (code, v, all) = module(&serde_json::json!({
        "targets": WIN01,
        "user": "awx@kurokobo.internal",
        "password": marker,
        "python": ee_python(),
        "_ansible_no_log": true,
    }));
    assert!(!all.contains(&marker), "marker password in module output");
    assert_eq!(code, 1);
    assert_eq!(v["failed"], true);
    assert_eq!(v["report"]["tool"]["port"], 5986);
    assert_eq!(
        v["report"]["tool"]["scheme"], "https",
        "Ansible's default endpoint"
    );
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.starts_with("principal: "), "{msg}");
    assert!(msg.contains("upper case"), "{msg}");
}

#[test]
fn module_mode_bad_arguments_fail_cleanly() {
    let (code, v, all) = module(&serde_json::json!({
        "targets": [WIN01],
        "password": "Lab-Other-Secret",
        "bogus": 1,
    }));
    assert_eq!(code, 1);
    assert_eq!(v["failed"], true);
    assert!(v["msg"].as_str().unwrap().contains("bogus"), "{v}");
    assert!(!all.contains("Lab-Other-Secret"));
}

// ---- secrets (issue 5) ----

/// A principal whose password is a marker no other run uses, created in the lab's KDC.
fn marker_principal() -> (String, String) {
    let marker = format!("Mk-{}-{:x}!Zq", std::process::id(), rand_u32());
    let name = format!("marker{}", std::process::id());
    let lab = std::env::var("KRBPROBE_LAB_DIR").expect("inside the lab");
    let tools = std::env::var("KRBPROBE_LAB_TOOLS").unwrap();
    let out = Command::new(format!("{tools}/kadmin.local"))
        .env("KRB5_KDC_PROFILE", format!("{lab}/kdc/kdc-admin.conf"))
        .args(["-r", REALM, "-q"])
        .arg(format!("addprinc -pw {marker} +requires_preauth {name}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (format!("{name}@{REALM}"), marker)
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .unwrap();
    u32::from_le_bytes(b)
}

#[test]
fn a_marker_password_never_leaves_the_process() {
    let (user, marker) = marker_principal();
    let dir = tempfile::tempdir().unwrap();
    // A "python" that records the environment the probe gives its children.
    let env_dump = dir.path().join("child-env");
    let fake_python = dir.path().join("python");
    std::fs::write(
        &fake_python,
        format!(
            "#!/bin/sh\nenv > {}\nexec python3 \"$@\"\n",
            env_dump.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake_python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hosts: Vec<String> = (1..=12)
        .map(|i| format!("kuro-win{i:02}.kurokobo.internal"))
        .collect();
    let mut emitted = Vec::new();
    let mut ran = 0;
    for (format, extra) in [
        ("text", vec!["--color", "always"]),
        ("json", vec!["--trace"]),
        ("json", vec!["--port", "5986", "--insecure"]),
        ("text", vec!["--trace", "--ansible-host", "127.0.0.20"]),
    ] {
        for wrong in [false, true] {
            let mut cmd = krbprobe_cmd();
            cmd.env(
                "KRBPROBE_PASSWORD",
                if wrong {
                    format!("{marker}x")
                } else {
                    marker.clone()
                },
            )
            .args(["--format", format, "--timeout", "1s", "-u", &user])
            .args(["--ee-check", "always", "--python"])
            .arg(&fake_python)
            .args(&extra)
            .args(&hosts);
            let out = cmd.output().unwrap();
            emitted.extend(out.stdout);
            emitted.extend(out.stderr);
            ran += 1;
        }
    }
    // The module path: the password arrives in the arguments file.
    let args = dir.path().join("args.json");
    std::fs::write(
        &args,
        serde_json::json!({"targets": hosts, "user": user, "password": marker, "trace": true,
                           "port": 5985, "python": fake_python, "_ansible_no_log": true})
        .to_string(),
    )
    .unwrap();
    let out = krbprobe_cmd().arg(&args).output().unwrap();
    emitted.extend(&out.stdout);
    emitted.extend(&out.stderr);
    // The runs really authenticated with the marker (the check cannot pass by failing early).
    let module: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinit = module["report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "kinit")
        .unwrap();
    assert_eq!(kinit["code"], "kinit-ok", "{kinit:#}");
    let needle = marker.as_bytes();
    assert!(
        !emitted.windows(needle.len()).any(|w| w == needle),
        "the marker password appeared in {} runs' output",
        ran + 1
    );
    let child_env = std::fs::read(&env_dump).expect("the probe ran the python probe");
    assert!(
        !child_env.windows(needle.len()).any(|w| w == needle),
        "the marker password reached a child's environment"
    );
    assert!(!String::from_utf8_lossy(&child_env).contains("KRBPROBE_PASSWORD"));
}

// ---- krbprobe setup: the files it writes, from the lab's DNS, proven by the diagnosis ----

/// `krbprobe setup` for `user`'s realm and `target`, writing into a fresh directory; the
/// lab's own krb5.conf is out of the way (KRB5_CONFIG names no file). Returns the exit status,
/// the report (JSON on stdout: --print none) and stderr.
fn setup(user: &str, target: &str) -> (Option<i32>, Value, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = krbprobe_cmd()
        .args([
            "setup", "-u", user, target, "--print", "none", "--format", "json",
        ])
        .arg("--output-dir")
        .arg(dir.path())
        .env("KRBPROBE_PASSWORD", password())
        .env("KRB5_CONFIG", "/nonexistent/krb5.conf")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}\n{stderr}"));
    (out.status.code(), report, stderr, dir)
}

#[test]
fn setup_writes_a_krb5_conf_the_healthy_host_passes_with() {
    let realms = [
        ("awx@KUROKOBO.INTERNAL", "kuro-win01.kurokobo.internal"),
        (
            "awx@SAMBA.KUROKOBO.INTERNAL",
            "kuro-swin01.samba.kurokobo.internal",
        ),
    ];
    assert_eq!(
        std::env::var("KRBPROBE_LAB_SAMBA").as_deref(),
        Ok("1"),
        "the lab runs no Samba AD DC (scripts/install-deps.sh --lab)"
    );
    for (user, target) in realms {
        let (code, report, stderr, dir) = setup(user, target);
        assert_eq!(code, Some(0), "{user}: {stderr}\n{report:#}");
        assert_eq!(report["verdict"], "pass", "{user}");
        let conf = dir.path().join("krb5.conf");
        assert_eq!(report["tool"]["krb5_conf"], conf.display().to_string());
        let text = std::fs::read_to_string(&conf).unwrap();
        let realm = user.split('@').nth(1).unwrap();
        assert!(text.contains(&format!("default_realm = {realm}")), "{text}");
        for f in ["krb5-configmap.yaml", "container-group-pod.yaml"] {
            assert!(dir.path().join(f).is_file(), "{f}");
        }
        assert!(stderr.contains("from DNS: KDC"), "{stderr}");
    }
}

#[test]
fn setup_refuses_what_it_cannot_write() {
    for (args, exit, says) in [
        (
            vec!["--realm", "NOPE.KUROKOBO.INTERNAL"],
            2,
            "_kerberos._udp.NOPE.KUROKOBO.INTERNAL",
        ),
        (
            vec![
                "--realm",
                "NOTKERBEROS.KUROKOBO.INTERNAL",
                "--timeout",
                "1s",
            ],
            2,
            "not with Kerberos",
        ),
        (
            vec!["--realm", "KUROKOBO.INTERNAL", "--namespace", "AWX"],
            2,
            "namespace \"AWX\"",
        ),
        (
            vec!["-u", "awx@KUROKOBO.INTERNAL", "kuro-win01"],
            2,
            "not a fully qualified name",
        ),
    ] {
        let out = krbprobe_cmd().arg("setup").args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(exit), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: wrote {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
