//! `krbprobe explain` against what real clients printed.
//!
//! 1. Every failure the fidelity matrix recorded (docs/failure-modes.md: the real client's
//!    message in each lab scenario, and krbprobe's live code for it), wrapped as each
//!    ansible-core version prints it, must come out as that code, or as `explain-ambiguous`
//!    with the code among its candidates: explain may say "one of these", never the wrong one.
//! 2. Job outputs written by hand (tests/fixtures/explain): AWX job events, a `-vvvv` run, a
//!    psrp failure, a job output with its KRB5_TRACE, held back from the rules' own tests.
//!
//! Both run the built binary, as a user would.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One failing row of docs/failure-modes.md: scenario, the real client's (shortened) text,
/// what Ansible's task result says in each ansible-core wording, krbprobe's code.
struct Row {
    id: String,
    real: String,
    ansible: Vec<(String, String)>,
    code: String,
}

fn matrix_rows() -> Vec<Row> {
    let path = Path::new(ROOT).join("docs/failure-modes.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        // | scenario | real client | Ansible's task result | krbprobe | hint | agrees |, a "|"
        // inside a cell written "\|".
        let cells: Vec<String> = line
            .trim_start_matches("| ")
            .trim_end_matches(" |")
            .replace("\\|", "\u{0}")
            .split(" | ")
            .map(|c| c.replace('\u{0}', "|"))
            .collect();
        assert_eq!(cells.len(), 6, "malformed row: {line}");
        let id = cells[0].split('`').nth(1).unwrap_or("").to_owned();
        let probe = &cells[3];
        if !probe.contains(": `") {
            continue; // a passing scenario: nothing failed to explain
        }
        let code = probe.rsplit('`').nth(1).unwrap_or("").to_owned();
        // "`text`", or "ansible-core 2.19 and later: `text`<br>ansible-core 2.18 ...: `text`".
        let ansible = cells[2]
            .split("<br>")
            .map(|item| match item.split_once(": `") {
                Some((label, t)) if !item.starts_with('`') => {
                    (label.to_owned(), t.trim_end_matches('`').to_owned())
                }
                _ => ("all versions".to_owned(), item.trim_matches('`').to_owned()),
            })
            .collect();
        rows.push(Row {
            id,
            real: cells[1].replace('`', ""),
            ansible,
            code,
        });
    }
    rows
}

/// The job output for one task result as the matrix records it (`UNREACHABLE: msg` or
/// `FAILED: msg`): Ansible's `fatal: [host]: UNREACHABLE! => {...}` line.
fn job_output(result: &str) -> String {
    let (kind, msg) = result.split_once(": ").unwrap_or(("UNREACHABLE", result));
    format!(
        "TASK [win_ping] ****\nfatal: [kuro-win01]: {kind}! => {{\"changed\": false, \"msg\": {}, \"unreachable\": true}}\n",
        serde_json::to_string(msg).unwrap()
    )
}

fn explain(input: &str, extra: &[&Path]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_krbprobe"));
    cmd.args(["explain", "--format", "json", "-"]);
    cmd.args(extra);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run krbprobe explain");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stdout}"))
}

/// The codes a report names: certain findings' codes and ambiguous findings' candidates.
fn named(report: &Value) -> (Vec<String>, Vec<String>) {
    let mut certain = Vec::new();
    let mut candidates = Vec::new();
    for c in report["checks"].as_array().into_iter().flatten() {
        let code = c["code"].as_str().unwrap_or("").to_owned();
        if code == "explain-ambiguous" {
            for k in c["evidence"]["candidates"].as_array().into_iter().flatten() {
                candidates.push(k["code"].as_str().unwrap_or("").to_owned());
            }
        } else {
            certain.push(code);
        }
    }
    (certain, candidates)
}

#[test]
fn every_failure_of_the_fidelity_matrix_is_recognised() {
    let rows = matrix_rows();
    assert!(rows.len() >= 25, "only {} failing rows parsed", rows.len());
    let (mut exact, mut ambiguous, mut wrong) = (0, 0, Vec::new());
    for row in &rows {
        let mut outputs: Vec<(String, String)> = row
            .ansible
            .iter()
            .map(|(label, result)| (label.clone(), job_output(result)))
            .collect();
        // The client's own words alone, as a user pastes them from a -vvvv traceback.
        outputs.push(("client".to_owned(), row.real.clone()));
        for (wording, output) in outputs {
            let (certain, candidates) = named(&explain(&output, &[]));
            if certain.contains(&row.code) {
                exact += 1;
            } else if candidates.contains(&row.code) && certain.is_empty() {
                ambiguous += 1;
            } else {
                wrong.push(format!(
                    "{} ({wording}): matrix {}, explain says {certain:?} / candidates {candidates:?}: {}",
                    row.id, row.code, row.real
                ));
            }
        }
    }
    eprintln!(
        "explain: {} matrix failures, {} job outputs: {exact} named exactly, {ambiguous} ambiguous with the right candidate",
        rows.len(),
        exact + ambiguous + wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn hand_written_job_outputs() {
    let dir = Path::new(ROOT).join("tests/fixtures/explain");
    // (file, extra file, the code explain must name, certain or among the candidates)
    let cases: &[(&str, Option<&str>, &str, bool)] = &[
        ("awx-job-events.json", None, "kinit-password-wrong", true),
        ("vvvv-spn-missing.txt", None, "spn-unknown", false),
        (
            "psrp-endpoint-denied.txt",
            None,
            "winrm-auth-endpoint-denied",
            true,
        ),
        ("awx-stdout-ansi.json", None, "winrm-auth-encryption", true),
        (
            "kdc-dropped.txt",
            Some("kdc-dropped.trace"),
            "kdc-timeout",
            true,
        ),
        (
            "realm-lowercase-2.16.txt",
            None,
            "principal-realm-case",
            true,
        ),
        ("revoked-2.18.txt", None, "kinit-account-locked-out", false),
        (
            "psrp-no-wsman-spn.txt",
            None,
            "spn-psrp-service-missing",
            false,
        ),
        ("healthy-play.txt", None, "explain-unrecognized", true),
    ];
    for &(file, extra, want, sure) in cases {
        let input =
            std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let extra_path = extra.map(|e| dir.join(e));
        let extras: Vec<&Path> = extra_path.iter().map(|p| p.as_path()).collect();
        let report = explain(&input, &extras);
        let (certain, candidates) = named(&report);
        if sure {
            assert!(
                certain.contains(&want.to_owned()),
                "{file}: want {want}, got {certain:?} / {candidates:?}"
            );
        } else {
            assert!(
                candidates.contains(&want.to_owned()) || certain.contains(&want.to_owned()),
                "{file}: want {want} among {candidates:?} (certain {certain:?})"
            );
        }
        // Every finding says how to settle it live, with the user and host filled in when the
        // output named them.
        for c in report["checks"].as_array().unwrap() {
            let settle = c["evidence"]["settle"].as_str().unwrap_or("");
            assert!(settle.starts_with("krbprobe -u "), "{file}: {settle}");
        }
    }
}

#[test]
fn bad_input_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_krbprobe"))
        .args(["explain", "/nonexistent/job.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/job.txt"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_krbprobe"))
        .args(["explain", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Binary garbage is text it does not recognise, not a crash.
    let report = explain("\u{0}\u{1}\u{fffd}garbage\u{1b}[31m", &[]);
    assert_eq!(report["checks"][0]["code"], "explain-unrecognized");
}

/// On a terminal with no file, explain says what it wants instead of waiting for an end of
/// file nobody knows to type (script(1) from util-linux gives it a pty).
#[test]
fn a_terminal_without_input_gets_a_message_not_a_wait() {
    let out = Command::new("timeout")
        .args(["10", "script", "-qfec"])
        .arg(format!("'{}' explain", env!("CARGO_BIN_EXE_krbprobe")))
        .arg("/dev/null")
        .env("TERM", "dumb")
        .stdin(Stdio::null())
        .output()
        .expect("run script(1) from util-linux");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("krbprobe explain: no input"), "{text}");
    assert_eq!(out.status.code(), Some(2), "{text}");
}
