//! Renderers: the only code that writes the report to stdout.
//!
//! Text is for people (one line per finding, hint and evidence under anything that is not a
//! pass; with several targets a table per target and details only for what failed or warned); JSON is for playbooks and scripts (the [`Report`] serialised as is).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::report::{Finding, Report, Status, Verdict};

fn style(status: Status) -> Style {
    match status {
        Status::Pass => AnsiColor::Green.on_default(),
        Status::Warn => AnsiColor::Yellow.on_default().bold(),
        Status::Fail => AnsiColor::Red.on_default().bold(),
        Status::Skip => Style::new().dimmed(),
    }
}

/// Writes `s` in `st` when `styled`, plain otherwise.
fn paint(w: &mut dyn Write, styled: bool, st: Style, s: &str) -> io::Result<()> {
    if styled {
        write!(w, "{}{s}{}", st.render(), st.render_reset())
    } else {
        w.write_all(s.as_bytes())
    }
}

/// Renders one evidence value compactly: strings bare, everything else as JSON.
fn evidence_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes the human-readable report. `styled` turns ANSI colours on.
pub fn text(report: &Report, w: &mut dyn Write, styled: bool) -> io::Result<()> {
    let t = &report.tool;
    writeln!(
        w,
        "krbprobe {} (MIT krb5 {}) · krb5.conf {} · user {} · {} target{}",
        t.version,
        t.mit_krb5,
        t.krb5_conf,
        t.user.as_deref().unwrap_or("(none)"),
        t.targets.len(),
        if t.targets.len() == 1 { "" } else { "s" }
    )?;
    if t.insecure {
        paint(
            w,
            styled,
            style(Status::Warn),
            "--insecure: HTTPS certificates are not validated in this run",
        )?;
        writeln!(w)?;
    }
    writeln!(w)?;
    let id_width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let target_width = report
        .checks
        .iter()
        .filter_map(|c| c.target.as_ref().map(String::len))
        .max()
        .unwrap_or(0);
    let line = |w: &mut dyn Write, c: &Finding| finding(w, c, id_width, target_width, styled);
    if t.targets.len() <= 1 {
        for c in &report.checks {
            line(w, c)?;
        }
    } else {
        // Many targets: the run-wide checks, one table row per target, then details only for
        // what failed or warned.
        for c in report.checks.iter().filter(|c| c.target.is_none()) {
            line(w, c)?;
        }
        writeln!(w)?;
        table(w, report, styled)?;
        let problems: Vec<&Finding> = report
            .checks
            .iter()
            .filter(|c| c.target.is_some() && matches!(c.status, Status::Fail | Status::Warn))
            .collect();
        if !problems.is_empty() {
            writeln!(w)?;
            paint(w, styled, Style::new().bold(), "Failed or warned:")?;
            writeln!(w)?;
            for c in problems {
                line(w, c)?;
            }
        }
    }
    if let Some(lines) = &report.trace {
        writeln!(w)?;
        let digest = crate::trace::digest(lines);
        paint(w, styled, Style::new().bold(), "KRB5_TRACE")?;
        writeln!(
            w,
            " ({} of {} lines; all of them with --format json):",
            digest.len(),
            lines.len()
        )?;
        for l in digest {
            writeln!(w, "  {l}")?;
        }
    }
    writeln!(w)?;
    let verdict = match report.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    };
    let vstyle = match report.verdict {
        Verdict::Pass => style(Status::Pass).bold(),
        Verdict::Fail => style(Status::Fail),
    };
    paint(w, styled, vstyle, verdict)?;
    writeln!(
        w,
        ": {} passed, {} warned, {} failed, {} skipped in {} ms",
        report.count(Status::Pass),
        report.count(Status::Warn),
        report.count(Status::Fail),
        report.count(Status::Skip),
        report.elapsed_ms
    )?;
    if let Some(f) = report.first_failure() {
        write!(w, "First failure: {}", f.id)?;
        if let Some(t) = &f.target {
            write!(w, " ({t})")?;
        }
        writeln!(w, ": {} [{}]", f.summary, f.code)?;
    }
    Ok(())
}

/// One finding: its line, and under anything that is not a pass its hint and evidence.
fn finding(
    w: &mut dyn Write,
    c: &Finding,
    id_width: usize,
    target_width: usize,
    styled: bool,
) -> io::Result<()> {
    paint(w, styled, style(c.status), c.status.label())?;
    write!(
        w,
        "  {:id_width$}  {:target_width$}  {}",
        c.id,
        c.target.as_deref().unwrap_or(""),
        c.summary
    )?;
    paint(w, styled, Style::new().dimmed(), &format!("  [{}]", c.code))?;
    writeln!(w)?;
    if c.status == Status::Pass {
        return Ok(());
    }
    if let Some(h) = &c.hint {
        write!(w, "      ")?;
        paint(w, styled, Style::new().bold(), "hint:")?;
        writeln!(w, " {h}")?;
    }
    for (k, v) in &c.evidence {
        match (k.as_str(), v) {
            // explain's findings: one line per candidate cause and per quoted input line.
            ("candidates", Value::Array(items)) => {
                writeln!(w, "      candidates:")?;
                for i in items {
                    writeln!(
                        w,
                        "        - {} ({}): {}",
                        i["code"].as_str().unwrap_or("?"),
                        i["check"].as_str().unwrap_or("?"),
                        i["cause"].as_str().unwrap_or("")
                    )?;
                }
            }
            ("lines", Value::Array(items)) => {
                writeln!(w, "      from:")?;
                for i in items {
                    writeln!(
                        w,
                        "        {}:{}: {}",
                        i["source"].as_str().unwrap_or("?"),
                        i["line"],
                        i["text"].as_str().unwrap_or("")
                    )?;
                }
            }
            _ => writeln!(w, "      {k}: {}", evidence_value(v))?,
        }
    }
    Ok(())
}

/// The per-target table: one column per per-target check, and the code of the first failure
/// (else the first warning) of the row.
fn table(w: &mut dyn Write, report: &Report, styled: bool) -> io::Result<()> {
    let columns: Vec<(&str, &str)> = [
        ("ansible-connection", "CONN"),
        ("dns-target", "DNS"),
        ("winrm-http", "HTTP"),
        ("spn-ticket", "SPN"),
        ("winrm-auth", "AUTH"),
    ]
    .into_iter()
    .filter(|(id, _)| report.checks.iter().any(|c| c.id == *id))
    .collect();
    let width = report
        .tool
        .targets
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("TARGET".len());
    write!(w, "{:width$}", "TARGET")?;
    for (_, head) in &columns {
        write!(w, "  {head:5}")?;
    }
    writeln!(w, "  RESULT")?;
    for target in &report.tool.targets {
        let row: Vec<&Finding> = report
            .checks
            .iter()
            .filter(|c| c.target.as_deref() == Some(target.as_str()))
            .collect();
        write!(w, "{target:width$}")?;
        for (id, _) in &columns {
            let cell = row.iter().find(|c| c.id == *id);
            let (text, st) = match cell.map(|c| c.status) {
                Some(Status::Pass) => ("ok", style(Status::Pass)),
                Some(Status::Warn) => ("warn", style(Status::Warn)),
                Some(Status::Fail) => ("FAIL", style(Status::Fail)),
                Some(Status::Skip) | None => ("-", style(Status::Skip)),
            };
            write!(w, "  ")?;
            paint(w, styled, st, &format!("{text:5}"))?;
        }
        let worst = row
            .iter()
            .find(|c| c.status == Status::Fail)
            .or_else(|| row.iter().find(|c| c.status == Status::Warn));
        match worst {
            Some(c) => {
                write!(w, "  ")?;
                paint(w, styled, style(c.status), c.code)?;
                writeln!(w)?;
            }
            None => writeln!(w, "  ok")?,
        }
    }
    Ok(())
}

/// Writes the JSON report followed by a newline.
pub fn json(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
    writeln!(w)
}
