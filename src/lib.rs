//! krbprobe: one-command diagnosis of Kerberos authentication from Ansible/AWX to Windows
//! hosts over WinRM.
//!
//! `main.rs` calls [`run_cli`]; everything else is here so that it can be tested. The flow is
//! parse ([`cli`]) -> validate ([`settings`]) -> run the ordered checks ([`checks`]) -> build a
//! [`report::Report`] -> render it ([`render`]).

pub mod checks;
pub mod cli;
pub mod codes;
pub mod dns;
pub mod explain;
pub mod gss;
pub mod inventory;
pub mod kdcproto;
pub mod krb5init;
pub mod model;
pub mod module;
pub mod profile;
pub mod render;
pub mod report;
pub mod secret;
pub mod settings;
pub mod setup;
pub mod tls;
pub mod trace;
pub mod winrm;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::cli::Cli;
use crate::model::{ColorChoice, Format};
use crate::report::{Report, ToolInfo, Verdict};
use crate::settings::{Credential, Input, Settings};

/// Exit status: every check passed, warned or was skipped.
pub const EXIT_PASS: u8 = 0;
/// Exit status: at least one check failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit status: the probe itself could not run (bad flag, unreadable password file, ...).
pub const EXIT_USAGE: u8 = 2;

/// The MIT krb5 version linked into this binary.
pub const MIT_KRB5_VERSION: &str = env!("KRBPROBE_MIT_KRB5_VERSION");

/// Parses `argv` as `T`; on `--help`, `--version` or a usage error, clap's text is printed
/// (help to stdout: not an error) and the exit status to return comes back instead.
fn parse_args<T: Parser, A>(argv: impl IntoIterator<Item = A>) -> Result<T, ExitCode>
where
    A: Into<std::ffi::OsString> + Clone,
{
    T::try_parse_from(argv).map_err(|e| {
        let _ = e.print();
        ExitCode::from(if e.use_stderr() {
            EXIT_USAGE
        } else {
            EXIT_PASS
        })
    })
}

/// Entry point for the binary: parses argv, runs, prints, and returns the exit status.
///
/// `krbprobe ARGS.json` (one argument naming a file that holds a JSON object) is Ansible
/// running the binary as a module; see [`module`].
#[allow(
    clippy::disallowed_methods,
    reason = "opens stdout for the renderers (and asks whether it is a terminal)"
)]
pub fn run_cli() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(path) = module::args_file(&argv) {
        return run_module(&path);
    }
    if argv.get(1).is_some_and(|a| a == "explain") {
        return run_explain(&argv[1..]);
    }
    if argv.get(1).is_some_and(|a| a == "setup") {
        return run_setup(&argv[1..]);
    }
    let cli = match parse_args::<Cli, _>(argv) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match diagnose(cli, "krbprobe", true) {
        Ok((report, settings)) => print_report(&report, settings.format, settings.color),
        Err(code) => code,
    }
}

/// The diagnosis of `cli`: settings (credentials from the environment, a file, stdin or the
/// prompt), then every check. Errors are printed on stderr, prefixed with `who`; a progress
/// line is shown when `progress` allows it and a person watches a text report on a terminal.
#[allow(
    clippy::disallowed_methods,
    reason = "asks whether stdout is a terminal (for the progress line), writes nothing there"
)]
fn diagnose(cli: Cli, who: &str, progress: bool) -> Result<(Report, Settings), ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let input = Input {
        stdin_is_terminal: std::io::stdin().is_terminal(),
        prompt: &secret::prompt,
        read_stdin: &secret::from_stdin,
    };
    let usage = |e: String| {
        eprintln!("{who}: {e}");
        ExitCode::from(EXIT_USAGE)
    };
    let settings = Settings::build(cli, &env, &input).map_err(|e| usage(e.to_string()))?;
    let show_progress = progress
        && settings.format == Format::Text
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal();
    let report = execute(&settings, show_progress).map_err(usage)?;
    Ok((report, settings))
}

/// The exit status a report's verdict means.
fn verdict_exit(report: &Report) -> ExitCode {
    ExitCode::from(match report.verdict {
        Verdict::Pass => EXIT_PASS,
        Verdict::Fail => EXIT_FAIL,
    })
}

/// Writes `report` to stdout as `format` says; the exit status follows its verdict.
#[allow(
    clippy::disallowed_methods,
    reason = "opens stdout for the renderers (and asks whether it is a terminal)"
)]
fn print_report(report: &Report, format: Format, color: ColorChoice) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let written = match format {
        Format::Json => render::json(report, &mut stdout),
        Format::Text => {
            let styled = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
                }
            };
            render::text(report, &mut stdout, styled)
        }
    };
    if let Err(e) = written.and_then(|_| stdout.flush()) {
        // A closed pipe (| head) is not worth a panic; say it on stderr and keep the verdict.
        eprintln!("krbprobe: cannot write the report: {e}");
    }
    verdict_exit(report)
}

/// `krbprobe setup`: discovers the realm's KDCs, writes the files, runs the diagnosis on them.
#[allow(
    clippy::disallowed_methods,
    reason = "prints the generated YAML or krb5.conf, setup's document on stdout"
)]
fn run_setup(argv: &[std::ffi::OsString]) -> ExitCode {
    let cli = match parse_args::<cli::SetupCli, _>(argv) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let realm = cli.realm.clone().or_else(|| {
        cli.user
            .as_deref()
            .and_then(|u| u.rsplit_once('@'))
            .map(|(_, r)| r.to_owned())
    });
    let Some(realm) = realm else {
        eprintln!("krbprobe setup: no realm: give --realm, or --user with @REALM");
        return ExitCode::from(EXIT_USAGE);
    };
    let req = setup::Request {
        realm,
        user: cli.user.clone(),
        targets: cli.targets.clone(),
        namespace: cli.namespace.clone(),
        configmap: cli.configmap.clone(),
        trace: cli.pod_trace,
        timeout: cli.timeout,
    };
    let found = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| setup::SetupError::Input(format!("cannot start the async runtime: {e}")))
        .and_then(|rt| {
            let dns = dns::Dns::from_system(cli.timeout).map_err(setup::SetupError::Input)?;
            rt.block_on(setup::discover(
                &req,
                &dns,
                &checks::edges::RealKdc,
                std::time::SystemTime::now,
            ))
        });
    let d = match found {
        Ok(d) => d,
        Err(e) => {
            eprintln!("krbprobe setup: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    eprintln!(
        "krbprobe setup: {} from DNS: KDC{} {} ({}); kpasswd {}; {}",
        d.realm,
        if d.kdcs.len() == 1 { "" } else { "s" },
        d.kdcs.join(", "),
        d.kdc_code,
        if d.kpasswd.is_empty() {
            "none in DNS".to_owned()
        } else {
            d.kpasswd
                .iter()
                .map(|k| format!("{}:{}", k.target, k.port))
                .collect::<Vec<_>>()
                .join(", ")
        },
        if d.ldap_dcs.is_empty() {
            "no _ldap._tcp.dc._msdcs record (not an AD domain's DNS?)".to_owned()
        } else {
            format!(
                "{} AD domain controller(s) in _ldap._tcp.dc._msdcs",
                d.ldap_dcs.len()
            )
        }
    );
    let conf = setup::krb5_conf(&d);
    let cm = setup::configmap(&req, &d.realm, &conf);
    let pod = match setup::pod_spec(&req) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("krbprobe setup: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // Where the diagnosis reads the krb5.conf: the output directory's, else a temporary file.
    let (conf_path, temporary) = match &cli.output_dir {
        Some(dir) => {
            let write = |name: &str, text: &str| {
                std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(dir.join(name), text))
                    .map_err(|e| format!("{}: {e}", dir.join(name).display()))
            };
            for (name, text) in [
                ("krb5.conf", conf.as_str()),
                ("krb5-configmap.yaml", cm.as_str()),
                ("container-group-pod.yaml", pod.as_str()),
            ] {
                if let Err(e) = write(name, text) {
                    eprintln!("krbprobe setup: cannot write {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            }
            eprintln!(
                "krbprobe setup: wrote krb5.conf, krb5-configmap.yaml, container-group-pod.yaml in {}",
                dir.display()
            );
            (dir.join("krb5.conf"), false)
        }
        None => {
            let path =
                std::env::temp_dir().join(format!("krbprobe-setup-{}.conf", std::process::id()));
            if let Err(e) = std::fs::write(&path, &conf) {
                eprintln!("krbprobe setup: cannot write {}: {e}", path.display());
                return ExitCode::from(EXIT_USAGE);
            }
            (path, true)
        }
    };
    let print = cli.print.unwrap_or(if cli.output_dir.is_some() {
        cli::PrintArg::None
    } else {
        cli::PrintArg::Configmap
    });
    let doc = match print {
        cli::PrintArg::Configmap => Some(&cm),
        cli::PrintArg::Krb5Conf => Some(&conf),
        cli::PrintArg::PodSpec => Some(&pod),
        cli::PrintArg::None => None,
    };
    if let Some(doc) = doc {
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(doc.as_bytes()).and_then(|()| out.flush()) {
            eprintln!("krbprobe setup: cannot write to stdout: {e}");
        }
    }
    let code = if cli.no_check || cli.targets.is_empty() || cli.user.is_none() {
        if !cli.no_check {
            eprintln!(
                "krbprobe setup: give TARGETs and --user to see the diagnosis run against it"
            );
        }
        ExitCode::from(EXIT_PASS)
    } else {
        setup_diagnosis(&cli, &conf_path, doc.is_some())
    };
    if temporary {
        let _ = std::fs::remove_file(&conf_path);
    }
    code
}

/// The normal diagnosis against the generated krb5.conf; its report goes to stderr when
/// stdout carries the generated document.
#[allow(
    clippy::disallowed_methods,
    reason = "the report goes to stdout only when no generated document is printed there"
)]
fn setup_diagnosis(cli: &cli::SetupCli, conf: &std::path::Path, stdout_taken: bool) -> ExitCode {
    let mut args: Vec<std::ffi::OsString> =
        vec!["krbprobe".into(), "--krb5-conf".into(), conf.into()];
    if let Some(u) = &cli.user {
        args.extend(["-u".into(), u.into()]);
    }
    if let Some(p) = &cli.password_file {
        args.extend(["--password-file".into(), p.into()]);
    }
    if cli.password_stdin {
        args.push("--password-stdin".into());
    }
    args.extend([
        "--timeout".into(),
        humantime::format_duration(cli.timeout).to_string().into(),
    ]);
    args.extend(cli.targets.iter().map(Into::into));
    let diag = match parse_args::<Cli, _>(args) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let report = match diagnose(diag, "krbprobe setup", false) {
        Ok((report, _)) => report,
        Err(code) => return code,
    };
    let format: Format = cli.format.into();
    if !stdout_taken {
        return print_report(&report, format, cli.color.into());
    }
    let mut err = std::io::stderr().lock();
    let written = match format {
        Format::Json => render::json(&report, &mut err),
        Format::Text => render::text(&report, &mut err, false),
    };
    if let Err(e) = written {
        eprintln!("krbprobe setup: cannot write the report: {e}");
    }
    verdict_exit(&report)
}

/// `krbprobe explain [FILE...]`: reads what a failed job printed and reports what it means.
fn run_explain(argv: &[std::ffi::OsString]) -> ExitCode {
    let cli = match parse_args::<cli::ExplainCli, _>(argv) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Reading a terminal would wait for an end-of-file the user does not know to type.
    if cli.files.is_empty() && std::io::stdin().is_terminal() {
        eprintln!(
            "krbprobe explain: no input: give the job output's file (or -), or pipe it in: krbprobe explain job.txt"
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let mut sources = Vec::new();
    for path in explain::inputs(&cli.files) {
        match explain::read_source(&path) {
            Ok(s) => sources.push(s),
            Err(e) => {
                eprintln!("krbprobe explain: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    }
    let report = explain::explain(&sources);
    print_report(&report, cli.format.into(), cli.color.into())
}

/// Ansible module mode: arguments from the file, exactly one JSON object on stdout.
#[allow(
    clippy::disallowed_methods,
    reason = "writes the module's one JSON object, the module mode's report"
)]
fn run_module(path: &std::path::Path) -> ExitCode {
    let (value, code) = match module_report(path) {
        Ok(report) => {
            let code = match report.verdict {
                Verdict::Pass => EXIT_PASS,
                Verdict::Fail => EXIT_FAIL,
            };
            (module::result(&report), code)
        }
        Err(msg) => (module::failure(&msg), EXIT_FAIL),
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = serde_json::to_writer(&mut stdout, &value)
        .map_err(std::io::Error::from)
        .and_then(|_| writeln!(stdout))
        .and_then(|_| stdout.flush())
    {
        eprintln!("krbprobe: cannot write the module result: {e}");
    }
    ExitCode::from(code)
}

fn module_report(path: &std::path::Path) -> Result<Report, String> {
    let args = module::read_args(path).map_err(|e| e.to_string())?;
    let env = |k: &str| std::env::var(k).ok();
    let input = Input {
        stdin_is_terminal: false,
        prompt: &secret::prompt,
        read_stdin: &secret::from_stdin,
    };
    let mut settings = Settings::build(args.cli, &env, &input).map_err(|e| e.to_string())?;
    settings.credential = module::credential(args.password, settings.credential);
    execute(&settings, false)
}

/// Prepares the process (MIT's environment, trust store, runtime) and runs every check.
fn execute(settings: &Settings, show_progress: bool) -> Result<Report, String> {
    let trace = prepare_process_env(settings);
    raise_fd_limit();
    let trust = Arc::new(
        tls::Trust::new(settings.ca_file.as_deref(), settings.insecure)
            .map_err(|e| e.to_string())?,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let progress = checks::Progress::default();
    let mut report = runtime.block_on(async {
        let ticker = show_progress.then(|| {
            let total = settings.targets.len();
            let progress = &progress;
            async move {
                // Quiet for short runs; then one self-overwriting line on stderr.
                tokio::time::sleep(Duration::from_secs(1)).await;
                let started = Instant::now() - Duration::from_secs(1);
                loop {
                    let done = progress.done.load(std::sync::atomic::Ordering::Relaxed);
                    eprint!(
                        "\rkrbprobe: {done}/{total} targets checked, {:.0} s",
                        started.elapsed().as_secs_f64()
                    );
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        });
        let work = run_with_progress(settings, trust, &progress);
        match ticker {
            None => work.await,
            Some(ticker) => {
                let report = tokio::select! {
                    r = work => r,
                    _ = ticker => unreachable!("the ticker never ends"),
                };
                eprint!("\r\x1b[K");
                report
            }
        }
    });
    if let Some(t) = &trace {
        report.trace = Some(t.lines());
    }
    // A GSSAPI call stuck inside MIT cannot be cancelled; do not wait for it at exit.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(report)
}

/// Many targets at once need many sockets: lift the soft open-files limit to the hard one
/// (containers often start with 1024). Failing to is harmless; connects then fail visibly.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// Points MIT krb5 at the krb5.conf under test, keeps secrets out of the environment and,
/// with `--trace`, sends MIT's trace into a pipe.
///
/// Runs before any other thread exists (the runtime is built afterwards, the trace reader is
/// started once the variables are set), which is what makes changing the environment sound.
fn prepare_process_env(settings: &Settings) -> Option<trace::Capture> {
    let capture = if settings.trace {
        match trace::Capture::open() {
            Ok((capture, path)) => {
                // SAFETY: still single-threaded: the reader thread starts below.
                unsafe { std::env::set_var("KRB5_TRACE", path) };
                Some(capture)
            }
            Err(e) => {
                eprintln!("krbprobe: --trace unavailable: {e}");
                None
            }
        }
    } else {
        None
    };
    // SAFETY: called from main before the tokio runtime or any other thread is started.
    unsafe {
        std::env::set_var("KRB5_CONFIG", &settings.krb5_conf);
        std::env::remove_var("KRBPROBE_PASSWORD");
        if !matches!(settings.credential, Credential::Cache(_)) {
            // Whatever MIT caches during the run stays in this process's memory.
            std::env::set_var("KRB5CCNAME", "MEMORY:krbprobe");
        }
    }
    capture.map(|mut c| {
        c.collect();
        c
    })
}

/// Runs all checks and builds the report.
pub async fn run(settings: &Settings, trust: Arc<tls::Trust>) -> Report {
    run_with_progress(settings, trust, &checks::Progress::default()).await
}

/// [`run`], counting finished targets into `progress`.
pub async fn run_with_progress(
    settings: &Settings,
    trust: Arc<tls::Trust>,
    progress: &checks::Progress,
) -> Report {
    let started = Instant::now();
    // The real I/O edges; the checks' unit tests drive checks::run with fakes instead.
    let io = checks::edges::Io {
        dns: dns::Dns::from_system(settings.timeout),
        kdc: checks::edges::RealKdc,
        gss: checks::edges::RealGss,
        winrm: checks::edges::RealWinRm { trust },
        now: std::time::SystemTime::now,
    };
    let findings = checks::run(settings, &io, progress).await;
    Report::new(tool_info(settings), findings, started.elapsed())
}

/// The `tool` block of the report. `port` and `scheme` are the targets' when they all share
/// them (a target's own `ansible_port` can differ from the default), else the defaults.
pub fn tool_info(settings: &Settings) -> ToolInfo {
    let first = settings.targets.first();
    let shared = first.filter(|f| {
        settings
            .targets
            .iter()
            .all(|t| (t.port, t.scheme) == (f.port, f.scheme))
    });
    let (port, scheme) = shared
        .map(|t| (t.port, t.scheme))
        .unwrap_or((settings.port, settings.scheme));
    ToolInfo {
        name: "krbprobe",
        version: env!("CARGO_PKG_VERSION"),
        mit_krb5: MIT_KRB5_VERSION,
        krb5_conf: settings.krb5_conf.display().to_string(),
        krb5_conf_origin: settings.krb5_conf_origin.as_str(),
        user: settings.user.clone(),
        credential: settings.credential.kind(),
        targets: settings.targets.iter().map(|t| t.name.clone()).collect(),
        endpoints: settings.targets.iter().map(|t| t.endpoint()).collect(),
        port,
        scheme: scheme.as_str(),
        timeout_ms: u64::try_from(settings.timeout.as_millis()).unwrap_or(u64::MAX),
        insecure: settings.insecure,
    }
}
