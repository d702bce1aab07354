//! Helpers shared by the lab end-to-end suites (`tests/lab.rs`, `tests/hostile.rs`): run the
//! built binary with a clean environment, parse its JSON report, assert on findings.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const REALM: &str = "KUROKOBO.INTERNAL";
pub const WIN01: &str = "kuro-win01.kurokobo.internal";
pub const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

pub fn password() -> String {
    std::env::var("KRBPROBE_LAB_PASSWORD")
        .expect("not inside the lab: run `lab/run -- cargo test --features lab --test lab`")
}

/// A krb5.conf like the lab's healthy one, with `kdc` and extra `[libdefaults]` lines.
pub fn conf(dir: &Path, kdc: &str, libdefaults: &str) -> PathBuf {
    let path = dir.join("krb5.conf");
    let text = format!(
        "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n{libdefaults}\n\
         [realms]\n {REALM} = {{\n  kdc = {kdc}\n }}\n\
         [domain_realm]\n .kurokobo.internal = {REALM}\n kurokobo.internal = {REALM}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Run {
    pub code: i32,
    pub report: Value,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn first_failure(&self) -> &Value {
        self.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "fail")
            .unwrap_or_else(|| panic!("no failing check in {}", self.stdout))
    }

    pub fn check(&self, id: &str, target: Option<&str>) -> &Value {
        self.report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id && c["target"].as_str() == target)
            .unwrap_or_else(|| panic!("no {id} finding in {}", self.stdout))
    }

    pub fn assert_first_failure(&self, id: &str, code: &str, hint_part: &str) {
        let f = self.first_failure();
        assert_eq!(
            (f["id"].as_str(), f["code"].as_str()),
            (Some(id), Some(code)),
            "first failure: {f:#}"
        );
        let hint = f["hint"].as_str().unwrap_or("");
        assert!(
            hint.contains(hint_part),
            "hint {hint:?} lacks {hint_part:?}"
        );
        assert_eq!(self.code, 1, "exit status for a failed check");
    }
}

/// The binary with none of the machine's Kerberos, password or proxy variables: a proxy in
/// the machine's environment would (rightly) fail winrm-http, and scenarios that are not about
/// proxies must not depend on it.
pub fn krbprobe_cmd() -> Command {
    krbprobe_cmd_via(env!("CARGO_BIN_EXE_krbprobe"))
}

/// PROGRAM (krbprobe, or a wrapper that runs it) with the environment every scenario starts
/// from.
pub fn krbprobe_cmd_via(program: &str) -> Command {
    let mut cmd = Command::new(program);
    // HOSTNAME and HOME are how ee-runtime recognises an AWX job pod; scenarios that are not
    // about it must not depend on the machine's names.
    cmd.env_remove("KRB5_CONFIG")
        .env_remove("KRB5CCNAME")
        .env_remove("KRBPROBE_PASSWORD")
        .env_remove("KRB5_TRACE")
        .env_remove("HOSTNAME")
        .env("HOME", std::env::temp_dir());
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

pub fn probe_with(args: &[&str], password: Option<&str>) -> Run {
    let mut cmd = krbprobe_cmd();
    cmd.args(["--format", "json", "--timeout", "1s"]).args(args);
    if let Some(p) = password {
        cmd.env("KRBPROBE_PASSWORD", p);
    }
    let started = Instant::now();
    let out = cmd.output().expect("run krbprobe");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let pw = self::password();
    assert!(
        !stdout.contains(&pw) && !stderr.contains(&pw),
        "the password leaked into the output"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}\n{stderr}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        report,
        stdout,
        stderr,
        elapsed,
    }
}

pub fn probe(args: &[&str]) -> Run {
    probe_with(args, Some(&password()))
}

pub fn user() -> String {
    format!("awx@{REALM}")
}
