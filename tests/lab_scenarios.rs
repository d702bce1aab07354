//! Every `[[scenario]]` of `lab/scenarios.toml`, run with the built binary against the lab:
//! one test per scenario, asserting what the entry says (first failing check and code, a part
//! of its hint, the exit status, the exact warnings of a passing run, `checks` paths, time).
//!
//! The scenarios come resolved from `$KRBPROBE_LAB_SCENARIOS` (written by `lab/run` through
//! `python3 -m krblab.plan`), so this file holds no scenario of its own: adding one to the
//! TOML adds a test here. Run inside the lab:
//! `lab/run -- cargo test --features lab --test lab_scenarios` (`-- NAME` filters as usual).
//! Outside it the single test `not-in-the-lab` fails with that instruction.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::{PROXY_VARS, krbprobe_cmd};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

fn main() {
    let args = Arguments::from_args();
    let trials = match std::env::var("KRBPROBE_LAB_SCENARIOS") {
        Ok(path) => match load(&path) {
            Ok(scenarios) => scenarios
                .into_iter()
                .map(|s| {
                    let name = s["id"].as_str().unwrap_or("?").to_owned();
                    Trial::test(name, move || run(&s))
                })
                .collect(),
            Err(e) => vec![Trial::test("scenarios-json", move || Err(e.into()))],
        },
        Err(_) => vec![Trial::test("not-in-the-lab", || {
            Err("not inside the lab: run `lab/run -- cargo test --features lab --test lab_scenarios`".into())
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}

fn load(path: &str) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    doc["scenarios"]
        .as_array()
        .cloned()
        .ok_or_else(|| format!("{path}: no scenarios array"))
}

/// `Err` with a message when `cond` is false: the trial's failure, not a panic.
fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(msg().into()) }
}

fn str_of<'a>(s: &'a Value, key: &str) -> &'a str {
    s[key].as_str().unwrap_or("")
}

/// A FILE cache holding a TGT of another principal (HTTP/kuro-win01, from the lab's service
/// keytab), as an earlier manual kinit leaves it.
fn other_principal_cache(dir: &Path, domain: &str) -> Result<String, Failed> {
    let cache = format!("FILE:{}/cc", dir.display());
    let tools = std::env::var("KRBPROBE_LAB_TOOLS").map_err(|_| "KRBPROBE_LAB_TOOLS unset")?;
    let keytab = std::env::var("KRBPROBE_LAB_KEYTAB").map_err(|_| "KRBPROBE_LAB_KEYTAB unset")?;
    let out = Command::new(format!("{tools}/kinit"))
        .args(["-k", "-t", &keytab, &format!("HTTP/kuro-win01.{domain}")])
        .env("KRB5CCNAME", &cache)
        .output()
        .map_err(|e| format!("kinit: {e}"))?;
    ensure(out.status.success(), || {
        format!("kinit -k: {}", String::from_utf8_lossy(&out.stderr))
    })?;
    Ok(cache)
}

fn run(s: &Value) -> Result<(), Failed> {
    // A Samba scenario needs the lab's AD DC, which lab/run leaves out when Samba is missing.
    ensure(
        s["samba"] != true || std::env::var("KRBPROBE_LAB_SAMBA").as_deref() == Ok("1"),
        || "the lab runs no Samba AD DC (not installed: scripts/install-deps.sh --lab)".into(),
    )?;
    let dir = tempfile::tempdir()?;
    let mut cmd = krbprobe_cmd();
    cmd.args([
        "--format",
        "json",
        "--timeout",
        "1s",
        "-u",
        str_of(s, "user"),
    ]);
    if let Some(conf) = s["krb5_conf"].as_str() {
        cmd.args(["--krb5-conf", conf]);
    }
    if s["port"] != 5985 {
        cmd.args(["--port", &s["port"].to_string()]);
    }
    if s["ca"] == true {
        let ca = std::env::var("KRBPROBE_LAB_CA_CERT").map_err(|_| "KRBPROBE_LAB_CA_CERT unset")?;
        cmd.args(["--ca-file", &ca]);
    }
    for a in s["args"].as_array().into_iter().flatten() {
        cmd.arg(a.as_str().unwrap_or(""));
    }
    cmd.arg(str_of(s, "target"));
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    if let Some(env) = s["env"].as_object() {
        for (k, v) in env {
            cmd.env(k, v.as_str().unwrap_or(""));
        }
    }
    let password = str_of(s, "password");
    if !password.is_empty() {
        cmd.env("KRBPROBE_PASSWORD", password);
    }
    match str_of(s, "ccache") {
        "" => {}
        "other-principal" => {
            let domain = std::env::var("KRBPROBE_LAB_DOMAIN").unwrap_or_default();
            cmd.env("KRB5CCNAME", other_principal_cache(dir.path(), &domain)?);
        }
        other => return Err(format!("unknown ccache kind {other:?}").into()),
    }

    let started = Instant::now();
    let out = cmd.output().map_err(|e| format!("run krbprobe: {e}"))?;
    let elapsed = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lab_password = std::env::var("KRBPROBE_LAB_PASSWORD").unwrap_or_default();
    for secret in [password, lab_password.as_str()] {
        ensure(
            secret.is_empty() || !(stdout.contains(secret) || stderr.contains(secret)),
            || "the password leaked into the output".into(),
        )?;
    }
    ensure(!stderr.contains("panicked"), || format!("panic: {stderr}"))?;
    let report: Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("no JSON report ({e}): {stdout}\n{stderr}"))?;
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let code = out.status.code().unwrap_or(-1);

    let expect = str_of(s, "expect");
    if expect.is_empty() {
        ensure(report["verdict"] == "pass" && code == 0, || {
            format!(
                "expected a pass, got verdict {} exit {code}: {stdout}",
                report["verdict"]
            )
        })?;
        let mut warns: Vec<&str> = checks
            .iter()
            .filter(|c| c["status"] == "warn")
            .filter_map(|c| c["code"].as_str())
            .collect();
        warns.sort_unstable();
        warns.dedup();
        let mut want: Vec<&str> = s["warn"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        want.sort_unstable();
        ensure(warns == want, || {
            format!("warnings {warns:?}, scenarios.toml says {want:?}: {stdout}")
        })?;
    } else {
        // The code's registry entry says which check emits it: the first failure must be it.
        let registered = krbprobe::codes::lookup(expect)
            .ok_or_else(|| format!("expect = {expect:?} is no registered code"))?;
        let first = checks
            .iter()
            .find(|c| c["status"] == "fail")
            .ok_or_else(|| format!("no failing check, expected {expect}: {stdout}"))?;
        ensure(
            first["id"] == registered.check && first["code"] == expect,
            || {
                format!(
                    "first failure is {}/{}, expected {}/{expect}: {first:#}",
                    first["id"], first["code"], registered.check
                )
            },
        )?;
        let hint = str_of(first, "hint");
        let part = str_of(s, "hint");
        ensure(hint.contains(part), || {
            format!("hint {hint:?} lacks {part:?}")
        })?;
        ensure(code == 1, || {
            format!("exit status {code} for a failed check")
        })?;
    }

    let target = str_of(s, "target");
    for (key, want) in s["checks"].as_object().into_iter().flatten() {
        let (id, path) = key.split_once(':').ok_or("checks key without ':'")?;
        let root = if id == "report" {
            &report
        } else {
            // A target's check has its target; the realm-wide checks have none.
            checks
                .iter()
                .find(|c| c["id"] == id && (c["target"].is_null() || c["target"] == target))
                .ok_or_else(|| format!("no {id} finding: {stdout}"))?
        };
        let got = path
            .split('.')
            .try_fold(root, |v, part| match part.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(part),
            });
        assert_value(key, got, want)?;
    }

    if let Some(max) = s["max_seconds"].as_f64().filter(|m| *m > 0.0) {
        ensure(elapsed <= max, || {
            format!("took {elapsed:.2} s, max_seconds = {max}")
        })?;
    }
    Ok(())
}

/// One `checks` entry: a plain value (equal), `"absent"`, `{ contains = ... }` or
/// `{ between = [lo, hi] }`.
fn assert_value(key: &str, got: Option<&Value>, want: &Value) -> Result<(), Failed> {
    match (want, got) {
        (Value::String(w), None) if w == "absent" => Ok(()),
        (_, None) => Err(format!("{key}: not in the report").into()),
        (Value::Object(o), Some(g)) if o.contains_key("contains") => {
            let part = o["contains"].as_str().unwrap_or("");
            ensure(g.as_str().is_some_and(|t| t.contains(part)), || {
                format!("{key} = {g}, lacks {part:?}")
            })
        }
        (Value::Object(o), Some(g)) if o.contains_key("between") => {
            let lo = o["between"][0].as_f64().unwrap_or(f64::NAN);
            let hi = o["between"][1].as_f64().unwrap_or(f64::NAN);
            ensure(g.as_f64().is_some_and(|x| x >= lo && x <= hi), || {
                format!("{key} = {g}, not between {lo} and {hi}")
            })
        }
        (w, Some(g)) => {
            // TOML integers arrive as JSON numbers; compare numbers as numbers.
            let same = match (w.as_f64(), g.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => w == g,
            };
            ensure(same, || format!("{key} = {g}, scenarios.toml says {w}"))
        }
    }
}
