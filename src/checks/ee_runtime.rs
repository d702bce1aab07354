//! Check 0, `ee-runtime` (when running in an AWX job pod, as an Ansible module, or asked for):
//! what the job's own machinery needs, beyond Kerberos itself.
//!
//! Ansible's winrm connection runs `kinit` from PATH with a stripped environment and a temp
//! credential cache from Python's `tempfile`, then authenticates in-process through pywinrm's
//! Kerberos backend. So this check looks at: `kinit` on PATH; whether Ansible's Python imports
//! `winrm` with Kerberos support (and `pexpect`, where the installed ansible-core uses it);
//! proxy variables that would capture WinRM; `KRB5_CONFIG`/`KRB5_TRACE` that Ansible's kinit
//! would not see; where `/etc/krb5.conf` comes from (a ConfigMap mount, another mount, or the
//! image); the uid, a writable temp dir and HOME.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::codes;
use crate::report::{Finding, Issues};
use crate::settings::Settings;

/// Check id.
pub const ID: &str = "ee-runtime";

/// The file Ansible's kinit reads: it never passes KRB5_CONFIG unless told to.
const SYSTEM_KRB5_CONF: &str = "/etc/krb5.conf";

/// Asks the job's Python what Ansible will find when it imports its winrm stack. Nothing is
/// imported from Ansible itself: its winrm plugin is read as text to see whether it uses
/// pexpect, so the probe cannot trigger plugin side effects.
const PY_PROBE: &str = r#"
import importlib, json, os, sys
out = {"python": sys.version.split()[0], "executable": sys.executable, "modules": {}}
dist = {"winrm": "pywinrm", "kerberos": "pykerberos", "spnego": "pyspnego"}
for name in ("winrm", "kerberos", "spnego", "gssapi", "krb5", "pexpect", "pypsrp"):
    try:
        mod = importlib.import_module(name)
        ver = getattr(mod, "__version__", None)
        if ver is None:
            try:
                from importlib.metadata import version
                ver = version(dist.get(name, name))
            except Exception:
                ver = None
        out["modules"][name] = {"ok": True, "version": ver}
    except Exception as e:
        out["modules"][name] = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
try:
    import winrm.transport
    out["winrm_have_kerberos"] = getattr(winrm.transport, "HAVE_KERBEROS", None)
except Exception:
    out["winrm_have_kerberos"] = None
try:
    import importlib.util
    spec = importlib.util.find_spec("ansible")
    base = list(spec.submodule_search_locations)[0]
    ns = {}
    with open(os.path.join(base, "release.py")) as f:
        exec(f.read(), ns)
    out["ansible_core"] = ns.get("__version__")
    with open(os.path.join(base, "plugins", "connection", "winrm.py")) as f:
        out["ansible_uses_pexpect"] = "import pexpect" in f.read()
except Exception:
    out["ansible_core"] = None
    out["ansible_uses_pexpect"] = None
try:
    # negotiate_service's default as the installed psrp plugin documents it (WSMAN, host).
    with open(os.path.join(base, "plugins", "connection", "psrp.py")) as f:
        doc = f.read().split("negotiate_service:", 1)[1].split("vars:", 1)[0]
    out["psrp_negotiate_service"] = doc.split("default:", 1)[1].split()[0].strip("'\"")
except Exception:
    out["psrp_negotiate_service"] = None
print(json.dumps(out))
"#;

/// What the interpreter probe found.
#[derive(Debug, Clone)]
pub enum PyProbe {
    /// No interpreter found.
    NotFound,
    /// The interpreter did not run or did not answer in time.
    Failed(String),
    /// The probe's JSON.
    Ok(Value),
}

/// Where `/etc/krb5.conf` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfSource {
    /// A mount point of its own (a ConfigMap with subPath, a bind mount).
    Mounted {
        /// The mount's root within its filesystem (shows the kubelet's volume path).
        root: String,
        /// Filesystem type.
        fstype: String,
        /// Human description: `Kubernetes volume (subPath)`, `ConfigMap volume`, `bind mount`.
        kind: &'static str,
    },
    /// A file of the image (or of a mounted /etc).
    Image,
    /// Not there.
    Missing,
}

/// Everything the check looked at.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Why the check runs.
    pub reasons: Vec<String>,
    /// The kinit Ansible runs (`ansible_winrm_kinit_cmd`, default `kinit`).
    pub kinit_cmd: String,
    /// Where it was found.
    pub kinit: Option<PathBuf>,
    /// The interpreter used and its answer.
    pub python: (Option<PathBuf>, PyProbe),
    /// `KRB5_CONFIG`/`KRB5_TRACE` set on the pod.
    pub krb5_vars: Vec<(String, String)>,
    /// `ansible_winrm_kinit_env_vars`, if known.
    pub kinit_env_vars: Option<Vec<String>>,
    /// Targets a proxy would capture: (target, variable, value).
    pub proxied: Vec<(String, String, String)>,
    /// Where /etc/krb5.conf comes from.
    pub krb5_conf: ConfSource,
    /// Real uid and gid.
    pub uid: u32,
    /// Real gid.
    pub gid: u32,
    /// The uid's name in /etc/passwd, if it has one.
    pub user_name: Option<String>,
    /// Temp dir candidates in Python's order, and whether each is writable.
    pub tmp: Vec<(String, bool)>,
    /// HOME and whether it is writable.
    pub home: Option<(String, bool)>,
    /// Whether some target uses the winrm connection (kinit, pywinrm).
    pub winrm: bool,
    /// Whether some target uses the psrp connection (pypsrp, pyspnego with gssapi).
    pub psrp: bool,
}

/// Runs the check.
pub async fn run(settings: &Settings) -> Finding {
    let started = Instant::now();
    let ee = &settings.ee;
    let path = ee
        .path
        .clone()
        .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let python = ee
        .python
        .clone()
        .or_else(|| which(&path, "python3"))
        .or_else(|| which(&path, "python"));
    let probe = match &python {
        None => PyProbe::NotFound,
        Some(p) => run_python(p, settings, settings.timeout.max(Duration::from_secs(10))).await,
    };
    let mut tmp: Vec<String> = ee.tmp_vars.iter().map(|(_, v)| v.clone()).collect();
    tmp.extend(["/tmp", "/var/tmp", "/usr/tmp"].map(String::from));
    let obs = Observed {
        reasons: ee.reasons.clone(),
        kinit_cmd: ee.kinit_cmd.clone().unwrap_or_else(|| "kinit".into()),
        kinit: {
            // ansible_winrm_kinit_cmd may be a path or a name looked up on PATH.
            let cmd = ee.kinit_cmd.as_deref().unwrap_or("kinit");
            if cmd.contains('/') {
                Some(PathBuf::from(cmd)).filter(|p| is_executable(p))
            } else {
                which(&path, cmd)
            }
        },
        python: (python, probe),
        krb5_vars: [
            ("KRB5_CONFIG", &ee.krb5_config),
            ("KRB5_TRACE", &ee.krb5_trace),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
        .collect(),
        kinit_env_vars: settings.ansible.kinit_env_vars.clone(),
        proxied: settings
            .targets
            .iter()
            .filter_map(|t| {
                t.env_proxy(&settings.proxy)
                    .map(|(var, val)| (t.name.clone(), var, val))
            })
            .collect(),
        krb5_conf: conf_source(
            &std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
            Path::new(SYSTEM_KRB5_CONF),
        ),
        uid: rustix::process::getuid().as_raw(),
        gid: rustix::process::getgid().as_raw(),
        user_name: passwd_name(rustix::process::getuid().as_raw()),
        tmp: tmp
            .into_iter()
            .map(|d| {
                let ok = writable(&d);
                (d, ok)
            })
            .collect(),
        home: ee.home.clone().map(|h| {
            let ok = writable(&h);
            (h, ok)
        }),
        winrm: settings.targets.iter().any(|t| t.psrp.is_none()),
        psrp: settings.targets.iter().any(|t| t.psrp.is_some()),
    };
    decide(&obs).took(started.elapsed())
}

/// `access(W_OK|X_OK)`: the kernel's answer for this uid, including read-only mounts, without
/// writing anything.
fn writable(dir: &str) -> bool {
    use rustix::fs::Access;
    rustix::fs::access(dir, Access::WRITE_OK | Access::EXEC_OK).is_ok()
}

/// The first executable `name` on `path`.
pub fn which(path: &str, name: &str) -> Option<PathBuf> {
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

/// Runs the interpreter probe with a minimal environment: no secret is in this process's
/// environment any more, and the child sees only what Python needs to find its packages.
async fn run_python(python: &Path, settings: &Settings, limit: Duration) -> PyProbe {
    let ee = &settings.ee;
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg("-c")
        .arg(PY_PROBE)
        .env_clear()
        .env("LANG", "C.UTF-8")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in [
        ("PATH", &ee.path),
        ("HOME", &ee.home),
        ("PYTHONPATH", &ee.pythonpath),
    ] {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = match tokio::time::timeout(limit, cmd.output()).await {
        Err(_) => {
            return PyProbe::Failed(format!(
                "{} did not answer within {} s",
                python.display(),
                limit.as_secs()
            ));
        }
        Ok(Err(e)) => return PyProbe::Failed(format!("cannot run {}: {e}", python.display())),
        Ok(Ok(o)) => o,
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    match serde_json::from_str::<Value>(stdout.trim()) {
        Ok(v) if out.status.success() => PyProbe::Ok(v),
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("no output").trim();
            PyProbe::Failed(format!("{} ({}): {last}", python.display(), out.status))
        }
    }
}

/// Where `file` comes from, from `/proc/self/mountinfo` text: the last mount whose mount point
/// is the file wins (later mounts shadow earlier ones).
pub fn conf_source(mountinfo: &str, file: &Path) -> ConfSource {
    let wanted = file.to_string_lossy();
    let found = mountinfo.lines().rev().find_map(|line| {
        let (head, tail) = line.split_once(" - ")?;
        let fields: Vec<&str> = head.split(' ').collect();
        let (root, point) = (unescape(fields.get(3)?), unescape(fields.get(4)?));
        (point == wanted).then(|| {
            let fstype = tail.split(' ').next().unwrap_or("").to_owned();
            (root, fstype)
        })
    });
    match found {
        Some((root, fstype)) => {
            let kind = if root.contains("kubernetes.io~configmap") {
                "ConfigMap volume"
            } else if root.contains("volume-subpaths") {
                "Kubernetes volume (subPath)"
            } else {
                "bind mount"
            };
            ConfSource::Mounted { root, fstype, kind }
        }
        None if file.exists() => ConfSource::Image,
        None => ConfSource::Missing,
    }
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

fn module_ok(v: &Value, name: &str) -> bool {
    v["modules"][name]["ok"].as_bool().unwrap_or(false)
}

/// What the interpreter has, one key per module: its version when it imports, else `null`,
/// with the import errors of the modules that matter listed separately.
fn python_summary(path: Option<&Path>, v: &Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("path".into(), json!(path));
    out.insert("version".into(), v["python"].clone());
    let mut errors = serde_json::Map::new();
    for name in [
        "winrm", "kerberos", "spnego", "gssapi", "krb5", "pexpect", "pypsrp",
    ] {
        let m = &v["modules"][name];
        let shown = if m["ok"].as_bool() == Some(true) {
            if m["version"].is_null() {
                json!("installed")
            } else {
                m["version"].clone()
            }
        } else {
            if matches!(name, "winrm" | "kerberos" | "pypsrp" | "gssapi") {
                errors.insert(name.into(), m["error"].clone());
            }
            Value::Null
        };
        out.insert(name.into(), shown);
    }
    for key in [
        "winrm_have_kerberos",
        "ansible_core",
        "ansible_uses_pexpect",
        "psrp_negotiate_service",
    ] {
        out.insert(key.into(), v[key].clone());
    }
    if !errors.is_empty() {
        out.insert("import_errors".into(), Value::Object(errors));
    }
    Value::Object(out)
}

/// What the psrp connection imports: pypsrp, and pyspnego with python-gssapi for Kerberos
/// (without gssapi pyspnego still "works": its negotiate is NTLM only).
fn psrp_stack(problems: &mut Issues, v: &Value) {
    let py = v["python"].as_str().unwrap_or("?");
    if !module_ok(v, "pypsrp") {
        problems.push(
            codes::EE_RUNTIME_NO_PYPSRP,
            format!(
                "Python {py} cannot import pypsrp: {}",
                v["modules"]["pypsrp"]["error"].as_str().unwrap_or("?")
            ),
        );
    } else if !module_ok(v, "gssapi") || !module_ok(v, "spnego") {
        let (name, m) = if module_ok(v, "spnego") {
            ("gssapi", &v["modules"]["gssapi"])
        } else {
            ("spnego", &v["modules"]["spnego"])
        };
        problems.push(
            codes::EE_RUNTIME_PSRP_NO_KERBEROS,
            format!(
                "pypsrp {} is installed, but {name} does not import ({}): pyspnego has no Kerberos",
                v["modules"]["pypsrp"]["version"].as_str().unwrap_or("?"),
                m["error"].as_str().unwrap_or("?")
            ),
        );
    }
}

/// The decision, table-testable.
pub fn decide(obs: &Observed) -> Finding {
    let mut problems = Issues::new();
    if obs.kinit.is_none() && obs.winrm {
        problems.push(
            codes::EE_RUNTIME_NO_KINIT,
            format!("{} is not on PATH", obs.kinit_cmd),
        );
    }
    match &obs.python.1 {
        PyProbe::NotFound => problems.push(
            codes::EE_RUNTIME_NO_PYTHON,
            "no python3 on PATH to check pywinrm",
        ),
        PyProbe::Failed(why) => problems.push(codes::EE_RUNTIME_NO_PYTHON, why.clone()),
        PyProbe::Ok(v) => {
            if obs.psrp {
                psrp_stack(&mut problems, v);
            }
            // With only psrp targets pywinrm, kinit and pexpect do not matter to the job.
            if obs.winrm && !module_ok(v, "winrm") {
                problems.push(
                    codes::EE_RUNTIME_NO_WINRM,
                    format!(
                        "Python {} cannot import winrm: {}",
                        v["python"].as_str().unwrap_or("?"),
                        v["modules"]["winrm"]["error"].as_str().unwrap_or("?")
                    ),
                );
            } else if obs.winrm {
                let backend = match v["winrm_have_kerberos"].as_bool() {
                    Some(b) => b,
                    None => {
                        module_ok(v, "kerberos")
                            || (module_ok(v, "spnego")
                                && (module_ok(v, "gssapi") || module_ok(v, "krb5")))
                    }
                };
                if !backend {
                    problems.push(
                        codes::EE_RUNTIME_NO_KERBEROS,
                        format!(
                            "pywinrm {} has no Kerberos backend (kerberos: {})",
                            v["modules"]["winrm"]["version"].as_str().unwrap_or("?"),
                            v["modules"]["kerberos"]["error"]
                                .as_str()
                                .unwrap_or("imports, but pywinrm cannot use it")
                        ),
                    );
                }
            }
            if obs.winrm
                && v["ansible_uses_pexpect"].as_bool() == Some(true)
                && !module_ok(v, "pexpect")
            {
                problems.push(
                    codes::EE_RUNTIME_NO_PEXPECT,
                    format!(
                        "ansible-core {} uses pexpect for kinit, and pexpect is not installed",
                        v["ansible_core"].as_str().unwrap_or("?")
                    ),
                );
            }
        }
    }
    if !obs.tmp.iter().any(|(_, ok)| *ok) {
        let tried: Vec<&str> = obs.tmp.iter().map(|(d, _)| d.as_str()).collect();
        problems.push(
            codes::EE_RUNTIME_TMP_READONLY,
            format!("uid {} can write to none of {}", obs.uid, tried.join(", ")),
        );
    }
    if let Some((home, false)) = &obs.home {
        problems.push(
            codes::EE_RUNTIME_HOME_READONLY,
            format!("HOME={home} is not writable for uid {}", obs.uid),
        );
    }
    let passed = obs.kinit_env_vars.clone().unwrap_or_default();
    let dropped: Vec<String> = obs
        .krb5_vars
        .iter()
        .filter(|(k, _)| !passed.contains(k))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !dropped.is_empty() {
        let known = if obs.kinit_env_vars.is_some() {
            "not in ansible_winrm_kinit_env_vars"
        } else {
            "unless listed in ansible_winrm_kinit_env_vars"
        };
        problems.push(
            codes::EE_RUNTIME_KINIT_ENV,
            format!(
                "{} set on the pod: Ansible's kinit does not see it ({known}) and reads {SYSTEM_KRB5_CONF}",
                dropped.join(", ")
            ),
        );
    }
    if let Some((target, var, val)) = obs.proxied.first() {
        let more = obs.proxied.len() - 1;
        let more = if more > 0 {
            format!(" and {more} more target(s)")
        } else {
            String::new()
        };
        problems.push(
            codes::EE_RUNTIME_PROXY,
            format!("{var}={val} would carry WinRM traffic to {target}{more}"),
        );
    }

    let conf = match &obs.krb5_conf {
        ConfSource::Mounted { root, fstype, kind } => {
            json!({"path": SYSTEM_KRB5_CONF, "source": kind, "mount_root": root, "fstype": fstype})
        }
        ConfSource::Image => json!({"path": SYSTEM_KRB5_CONF, "source": "image"}),
        ConfSource::Missing => json!({"path": SYSTEM_KRB5_CONF, "source": "missing"}),
    };
    let conf_words = match &obs.krb5_conf {
        ConfSource::Mounted { kind, .. } => format!("{SYSTEM_KRB5_CONF} from a {kind}"),
        ConfSource::Image => format!("{SYSTEM_KRB5_CONF} baked into the image"),
        ConfSource::Missing => format!("no {SYSTEM_KRB5_CONF}"),
    };
    let python = match &obs.python {
        (p, PyProbe::Ok(v)) => python_summary(p.as_deref(), v),
        (p, PyProbe::Failed(e)) => json!({"path": p, "error": e}),
        (_, PyProbe::NotFound) => json!(null),
    };
    let finding = problems.finding(ID, || {
        let version = |m: &str| match &obs.python.1 {
            PyProbe::Ok(v) => v["modules"][m]["version"]
                .as_str()
                .unwrap_or("?")
                .to_owned(),
            _ => "?".into(),
        };
        let mut stacks = Vec::new();
        if obs.winrm {
            stacks.push(format!("kinit, pywinrm {} with Kerberos", version("winrm")));
        }
        if obs.psrp {
            stacks.push(format!(
                "pypsrp {} with pyspnego {} and gssapi",
                version("pypsrp"),
                version("spnego")
            ));
        }
        Finding::new(
            ID,
            codes::EE_RUNTIME_OK,
            format!(
                "{}, writable temp dir; {conf_words}; uid {}",
                stacks.join("; "),
                obs.uid
            ),
        )
    });
    finding
        .evidence("detected_by", json!(obs.reasons))
        .evidence("kinit", json!(obs.kinit))
        .evidence("python", python)
        .evidence("krb5_conf", conf)
        .evidence("uid", obs.uid)
        .evidence("gid", obs.gid)
        .evidence("user_name", json!(obs.user_name))
        .evidence(
            "tmp_dir",
            json!(obs.tmp.iter().find(|(_, ok)| *ok).map(|(d, _)| d)),
        )
        .evidence("home", json!(obs.home.as_ref().map(|(h, _)| h)))
        .evidence("kinit_env_vars", json!(obs.kinit_env_vars))
        // Schema 1's name for the `issues` list, same shape; deprecated, gone in schema 2.
        .evidence(
            "problems",
            if problems.len() < 2 {
                json!(null)
            } else {
                problems.to_json()
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    fn py(winrm: bool, have_kerberos: Option<bool>, pexpect_used: bool) -> PyProbe {
        PyProbe::Ok(json!({
            "python": "3.11.2",
            "modules": {
                "winrm": if winrm { json!({"ok": true, "version": "0.5.0"}) } else { json!({"ok": false, "error": "ModuleNotFoundError: No module named 'winrm'"}) },
                "kerberos": {"ok": false, "error": "ImportError: libgssapi_krb5.so.2"},
                "pexpect": {"ok": false, "error": "ModuleNotFoundError"},
            },
            "winrm_have_kerberos": have_kerberos,
            "ansible_core": "2.15.0",
            "ansible_uses_pexpect": pexpect_used,
        }))
    }

    fn healthy() -> Observed {
        Observed {
            reasons: vec!["HOME=/runner".into()],
            kinit_cmd: "kinit".into(),
            kinit: Some("/usr/bin/kinit".into()),
            python: (Some("/usr/bin/python3".into()), py(true, Some(true), false)),
            krb5_vars: vec![],
            kinit_env_vars: None,
            proxied: vec![],
            krb5_conf: ConfSource::Image,
            uid: 1000,
            gid: 0,
            user_name: None,
            tmp: vec![("/tmp".into(), true)],
            home: Some(("/runner".into(), true)),
            winrm: true,
            psrp: false,
        }
    }

    #[test]
    fn decisions() {
        type Tweak = fn(&mut Observed);
        let cases: Vec<(Tweak, &str, Status)> = vec![
            (|_| {}, "ee-runtime-ok", Status::Pass),
            (|o| o.kinit = None, "ee-runtime-no-kinit", Status::Fail),
            (
                |o| o.python.1 = py(false, None, false),
                "ee-runtime-no-winrm",
                Status::Fail,
            ),
            (
                |o| o.python.1 = py(true, Some(false), false),
                "ee-runtime-no-kerberos",
                Status::Fail,
            ),
            (
                |o| o.python.1 = py(true, Some(true), true),
                "ee-runtime-no-pexpect",
                Status::Warn,
            ),
            (
                |o| o.python = (None, PyProbe::NotFound),
                "ee-runtime-no-python",
                Status::Warn,
            ),
            (
                |o| o.tmp = vec![("/tmp".into(), false), ("/var/tmp".into(), false)],
                "ee-runtime-tmp-readonly",
                Status::Fail,
            ),
            (
                |o| o.home = Some(("/".into(), false)),
                "ee-runtime-home-readonly",
                Status::Warn,
            ),
            (
                |o| o.krb5_vars = vec![("KRB5_CONFIG".into(), "/x/krb5.conf".into())],
                "ee-runtime-kinit-env",
                Status::Warn,
            ),
            (
                |o| {
                    o.krb5_vars = vec![("KRB5_CONFIG".into(), "/x".into())];
                    o.kinit_env_vars = Some(vec!["KRB5_CONFIG".into()]);
                },
                "ee-runtime-ok",
                Status::Pass,
            ),
            (
                |o| o.proxied = vec![("w".into(), "HTTP_PROXY".into(), "http://p:3128".into())],
                "ee-runtime-proxy",
                Status::Warn,
            ),
        ];
        for (tweak, code, status) in cases {
            let mut o = healthy();
            tweak(&mut o);
            let f = decide(&o);
            assert_eq!((f.code, f.status), (code, status), "{o:?}");
        }
    }

    /// A pod with psrp's stack as given: pypsrp, pyspnego, gssapi importable or not.
    fn psrp_py(pypsrp: bool, spnego: bool, gssapi: bool) -> PyProbe {
        let m = |ok: bool, name: &str| {
            if ok {
                json!({"ok": true, "version": "1.0"})
            } else {
                json!({"ok": false, "error": format!("ModuleNotFoundError: No module named '{name}'")})
            }
        };
        PyProbe::Ok(json!({
            "python": "3.11.2",
            "modules": {
                "winrm": m(false, "winrm"), "kerberos": m(false, "kerberos"),
                "pypsrp": m(pypsrp, "pypsrp"), "spnego": m(spnego, "spnego"),
                "gssapi": m(gssapi, "gssapi"), "krb5": m(gssapi, "krb5"),
                "pexpect": m(false, "pexpect"),
            },
            "winrm_have_kerberos": null,
            "ansible_core": "2.19.4",
            "ansible_uses_pexpect": false,
            "psrp_negotiate_service": "WSMAN",
        }))
    }

    #[test]
    fn psrp_only_pods_need_pypsrp_with_gssapi_not_kinit_or_pywinrm() {
        let cases = [
            ((true, true, true), "ee-runtime-ok", Status::Pass),
            ((false, true, true), "ee-runtime-no-pypsrp", Status::Fail),
            (
                (true, true, false),
                "ee-runtime-psrp-no-kerberos",
                Status::Fail,
            ),
            (
                (true, false, false),
                "ee-runtime-psrp-no-kerberos",
                Status::Fail,
            ),
        ];
        for ((pypsrp, spnego, gssapi), code, status) in cases {
            let mut o = healthy();
            o.winrm = false;
            o.psrp = true;
            o.kinit = None;
            o.python.1 = psrp_py(pypsrp, spnego, gssapi);
            let f = decide(&o);
            assert_eq!(
                (f.code, f.status),
                (code, status),
                "{pypsrp} {spnego} {gssapi}"
            );
            if code == "ee-runtime-ok" {
                assert!(f.summary.contains("pypsrp 1.0"), "{}", f.summary);
                assert!(!f.summary.contains("kinit"), "{}", f.summary);
                assert_eq!(f.evidence["python"]["psrp_negotiate_service"], "WSMAN");
            }
        }
        // A mixed inventory needs both stacks: pywinrm missing still fails.
        let mut o = healthy();
        o.psrp = true;
        o.python.1 = psrp_py(true, true, true);
        assert_eq!(decide(&o).code, "ee-runtime-no-winrm");
    }

    #[test]
    fn the_worst_problem_leads() {
        let mut o = healthy();
        o.home = Some(("/".into(), false));
        o.kinit = None;
        let f = decide(&o);
        assert_eq!(f.code, "ee-runtime-no-kinit");
        assert!(f.summary.ends_with("(+1 more)"));
        assert_eq!(f.evidence["issues"].as_array().unwrap().len(), 2);
        // The deprecated `problems` are the same list (schema 1's name).
        assert_eq!(f.evidence["problems"], f.evidence["issues"]);
        assert_eq!(f.evidence["issues"][1]["code"], "ee-runtime-home-readonly");
        assert_eq!(f.evidence["python"]["winrm"], "0.5.0");
        assert!(f.evidence["python"]["import_errors"]["kerberos"].is_string());
    }

    #[test]
    fn mountinfo_names_the_configmap() {
        let subpath = "1021 1004 253:1 /var/lib/kubelet/pods/6f/volume-subpaths/krb5-conf/worker/0 /etc/krb5.conf ro,relatime - xfs /dev/vda1 rw\n";
        let volume = "990 980 0:5 / / rw - overlay overlay rw\n\
            1022 1004 253:1 /var/lib/kubelet/pods/6f/volumes/kubernetes.io~configmap/krb5/..2026_11_28/krb5.conf /etc/krb5.conf ro - ext4 /dev/sda1 rw\n";
        let bind =
            "50 40 8:1 /home/me/my\\040krb5.conf /etc/krb5.conf rw shared:1 - ext4 /dev/sda1 rw\n";
        let p = Path::new("/etc/krb5.conf");
        assert!(matches!(
            conf_source(subpath, p),
            ConfSource::Mounted { kind: "Kubernetes volume (subPath)", ref fstype, .. } if fstype == "xfs"
        ));
        assert!(matches!(
            conf_source(volume, p),
            ConfSource::Mounted {
                kind: "ConfigMap volume",
                ..
            }
        ));
        assert!(matches!(
            conf_source(bind, p),
            ConfSource::Mounted { kind: "bind mount", ref root, .. } if root == "/home/me/my krb5.conf"
        ));
        let none = conf_source("garbage\n\n1 2 3\n", Path::new("/nonexistent/krb5.conf"));
        assert_eq!(none, ConfSource::Missing);
    }

    #[test]
    fn which_finds_executables_only() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("kinit");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let path = format!("/nonexistent:{}", dir.path().display());
        assert_eq!(which(&path, "kinit"), None);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(which(&path, "kinit"), Some(exe));
    }
}
