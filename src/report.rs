//! The report model: what every check found, independent of how it is shown.
//!
//! Renderers (`crate::render`) turn a [`Report`] into text or JSON; nothing here writes
//! anywhere. The JSON shape is a public interface (`schema_version` 1, documented in
//! `docs/json-schema.md`), so fields are only ever added, never renamed.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::codes::Code;

/// Evidence key under which a finding lists all its [`Issues`] when it found more than one.
pub const ISSUES_KEY: &str = "issues";

/// Version of the JSON document produced by `--format json`.
pub const SCHEMA_VERSION: u32 = 1;

/// Outcome of one check, ordered from best to worst so the worst can be picked with `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not run because a prerequisite failed or an input (password, target) is missing.
    Skip,
    /// Everything this check looks at is as Ansible needs it.
    Pass,
    /// Works now, but is fragile or unusual; the run still succeeds.
    Warn,
    /// Ansible's winrm connection will fail (or already fails) because of this.
    Fail,
}

impl Status {
    /// Upper-case label used by the text renderer.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One line of the report: a check's verdict about one subject (the whole run or one target).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Check id, e.g. `krb5-conf`, `spn-ticket`.
    pub id: &'static str,
    /// The target this finding is about, or `None` for run-wide checks.
    pub target: Option<String>,
    /// pass, warn, fail or skip.
    pub status: Status,
    /// Stable kebab-case code; see `docs/checks.md`.
    pub code: &'static str,
    /// One line saying what was found.
    pub summary: String,
    /// What to do about it, in words an AD/Windows admin acts on.
    pub hint: Option<String>,
    /// What the check saw: addresses, HTTP status, KDC error, MIT messages, ...
    pub evidence: Map<String, Value>,
    /// Wall time of the check, milliseconds.
    pub elapsed_ms: u64,
}

impl Finding {
    /// Starts a finding for `code`, whose status comes from the code registry.
    pub fn new(id: &'static str, code: Code, summary: impl Into<String>) -> Self {
        Finding {
            id,
            target: None,
            status: code.status,
            code: code.code,
            summary: summary.into(),
            hint: code.hint.map(str::to_owned),
            evidence: Map::new(),
            elapsed_ms: 0,
        }
    }

    /// A `skip` finding carrying the reason (usually the prerequisite that failed).
    pub fn skip(id: &'static str, code: Code, reason: impl Into<String>) -> Self {
        Finding::new(id, code, reason)
    }

    /// Sets the target this finding is about.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Replaces the registry's default hint with a situation-specific one.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds every entry of `evidence` (another finding's, when one finding replaces it).
    pub fn evidence_map(mut self, evidence: Map<String, Value>) -> Self {
        self.evidence.extend(evidence);
        self
    }

    /// Adds one piece of evidence; `null` values are dropped to keep the JSON lean.
    pub fn evidence(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if !value.is_null() {
            self.evidence.insert(key.to_owned(), value);
        }
        self
    }

    /// Records how long producing this finding took.
    pub fn took(mut self, elapsed: Duration) -> Self {
        self.elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self
    }
}

/// One problem a check found, among possibly several.
#[derive(Debug, Clone)]
pub struct Issue {
    /// The code the finding gets when this issue leads.
    pub code: Code,
    /// One line saying what is wrong.
    pub summary: String,
    /// A situation-specific hint replacing the code's default one.
    pub hint: Option<String>,
}

impl Issue {
    /// The issue as a JSON object: `code`, `status`, `summary` and `hint` (its own, else the
    /// code's default, else null).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "code": self.code.code,
            "status": self.code.status,
            "summary": self.summary,
            "hint": self.hint.as_deref().or(self.code.hint),
        })
    }
}

/// The problems a check collects before it decides, in the order a person should fix them.
///
/// Checks that can find several things wrong at once (krb5-conf, kdc-reach, ee-runtime,
/// ansible-connection) push each into one of these and let [`Issues::finding`] turn them into
/// the finding, so all of them pick the leading problem, count the others and list them the
/// same way.
#[derive(Debug, Clone, Default)]
pub struct Issues(Vec<Issue>);

impl Issues {
    /// No issues yet.
    pub fn new() -> Issues {
        Issues::default()
    }

    /// Adds an issue with the code's default hint. Issues are problems: `code` warns or fails.
    pub fn push(&mut self, code: Code, summary: impl Into<String>) {
        debug_assert!(
            code.status >= Status::Warn,
            "{} is not a problem",
            code.code
        );
        self.0.push(Issue {
            code,
            summary: summary.into(),
            hint: None,
        });
    }

    /// Adds an issue with its own hint.
    pub fn push_hinted(&mut self, code: Code, summary: impl Into<String>, hint: impl Into<String>) {
        self.push(code, summary);
        if let Some(last) = self.0.last_mut() {
            last.hint = Some(hint.into());
        }
    }

    /// Number of issues.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The issues in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Issue> {
        self.0.iter()
    }

    /// The issue that decides: the most severe one, and among equals the first (checks push
    /// them in the order a person should fix them).
    pub fn worst(&self) -> Option<&Issue> {
        let top = self.0.iter().map(|i| i.code.status).max()?;
        self.0.iter().find(|i| i.code.status == top)
    }

    /// Every issue as JSON (see [`Issue::to_json`]).
    pub fn to_json(&self) -> Value {
        Value::Array(self.0.iter().map(Issue::to_json).collect())
    }

    /// The finding of check `id`: `ok()` when nothing was found; else the worst issue's code,
    /// summary (with `(+N more)` when there are others) and hint, and, with more than one
    /// issue, all of them under the evidence key [`ISSUES_KEY`].
    pub fn finding(&self, id: &'static str, ok: impl FnOnce() -> Finding) -> Finding {
        let Some(lead) = self.worst() else {
            return ok();
        };
        let more = self.len() - 1;
        let summary = if more > 0 {
            format!("{} (+{more} more)", lead.summary)
        } else {
            lead.summary.clone()
        };
        let mut f = Finding::new(id, lead.code, summary);
        if let Some(h) = &lead.hint {
            f = f.hint(h.clone());
        }
        if more > 0 {
            f = f.evidence(ISSUES_KEY, self.to_json());
        }
        f
    }
}

/// Overall verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No check failed (warnings and skips allowed).
    Pass,
    /// At least one check failed.
    Fail,
}

/// Facts about the probe itself, so a report pasted into a ticket says what produced it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// Always `krbprobe`.
    pub name: &'static str,
    /// krbprobe's version.
    pub version: &'static str,
    /// The statically linked MIT krb5 and its Debian patch level.
    pub mit_krb5: &'static str,
    /// The krb5.conf the run used, and where that choice came from.
    pub krb5_conf: String,
    /// Where `krb5_conf` came from: `flag`, `env` (KRB5_CONFIG) or `default`; `explain` when
    /// the report is `krbprobe explain`'s, which reads none.
    pub krb5_conf_origin: &'static str,
    /// The client principal as given (never a secret).
    pub user: Option<String>,
    /// How credentials were supplied: `password`, `keytab`, `ccache` or `none`.
    pub credential: &'static str,
    /// Targets in the order given.
    pub targets: Vec<String>,
    /// The WinRM endpoint of each target, in the same order.
    pub endpoints: Vec<String>,
    /// WinRM port and scheme probed.
    pub port: u16,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Per-step network timeout, milliseconds.
    pub timeout_ms: u64,
    /// `--insecure`: HTTPS certificates were not validated (only present when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

/// The whole run, in the fixed check order.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// What produced this report.
    pub tool: ToolInfo,
    /// Findings in check order; per-target checks in target order.
    pub checks: Vec<Finding>,
    /// `fail` when any finding failed.
    pub verdict: Verdict,
    /// Wall time of the whole run, milliseconds.
    pub elapsed_ms: u64,
    /// MIT krb5's trace lines of the run (`--trace` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<String>>,
}

impl Report {
    /// Builds a report and derives its verdict from the findings.
    pub fn new(tool: ToolInfo, checks: Vec<Finding>, elapsed: Duration) -> Self {
        let verdict = if checks.iter().any(|c| c.status == Status::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        Report {
            schema_version: SCHEMA_VERSION,
            tool,
            checks,
            verdict,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            trace: None,
        }
    }

    /// The first failing finding, which is what a user should fix first.
    pub fn first_failure(&self) -> Option<&Finding> {
        self.checks.iter().find(|c| c.status == Status::Fail)
    }

    /// Number of findings with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    fn ok() -> Finding {
        Finding::new("kdc-reach", codes::KDC_REACH_OK, "fine")
    }

    #[test]
    fn the_worst_issue_leads_and_the_first_among_equals() {
        type Case = (&'static [Code], &'static str, Status);
        let cases: &[Case] = &[
            (&[], "kdc-reach-ok", Status::Pass),
            (&[codes::KDC_PARTIAL], "kdc-partial", Status::Warn),
            (
                &[codes::KDC_UDP_BLOCKED, codes::KDC_PARTIAL],
                "kdc-udp-blocked",
                Status::Warn,
            ),
            (
                &[
                    codes::KDC_PARTIAL,
                    codes::KDC_CLOCK_SKEW,
                    codes::KDC_USER_UNKNOWN,
                ],
                "kdc-clock-skew",
                Status::Fail,
            ),
        ];
        for (found, code, status) in cases {
            let mut issues = Issues::new();
            for c in *found {
                issues.push(*c, format!("{} seen", c.code));
            }
            let f = issues.finding("kdc-reach", ok);
            assert_eq!((f.code, f.status), (*code, *status), "{found:?}");
        }
    }

    #[test]
    fn several_issues_are_counted_and_listed() {
        let mut issues = Issues::new();
        issues.push(codes::KDC_PARTIAL, "no answer from b");
        issues.push_hinted(codes::KDC_CLOCK_SKEW, "clock 600 s ahead", "Fix NTP.");
        let f = issues.finding("kdc-reach", ok);
        assert_eq!(f.summary, "clock 600 s ahead (+1 more)");
        assert_eq!(f.hint.as_deref(), Some("Fix NTP."));
        let listed = f.evidence[ISSUES_KEY].as_array().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0]["code"], "kdc-partial");
        assert_eq!(listed[0]["status"], "warn");
        assert_eq!(listed[0]["hint"], codes::KDC_PARTIAL.hint.unwrap());
        assert_eq!(listed[1]["hint"], "Fix NTP.");

        let mut one = Issues::new();
        one.push(codes::KDC_PARTIAL, "no answer from b");
        let f = one.finding("kdc-reach", ok);
        assert_eq!(f.summary, "no answer from b");
        assert!(
            f.evidence.get(ISSUES_KEY).is_none(),
            "one issue is the finding itself"
        );
    }
}
