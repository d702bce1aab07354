//! Fuzz target: the krb5.conf parser ([`krbprobe::profile::parse_bytes`]) and the lookups the
//! checks make on what it returns (values, booleans, `[domain_realm]`, KDC entries).
//!
//! `parse_bytes` follows `include`/`includedir` on the real file system, and the API has no
//! text-only mode. So the input is first rewritten so that no line can be a directive: every
//! `include` becomes `inclUde` (same length, so MIT's 2047-byte line splitting and the line
//! numbers stay exactly as in the input). The directives themselves are covered by the table
//! tests under `src/profile/`; everything else the parser does is fuzzed here.
//!
//! Invariants: parsing is deterministic; errors and warnings point at a line of the input; no
//! error is about the file system; a `module` profile holds no values; `first` agrees with
//! `values`; an exact lowercase `[domain_realm]` key maps the host of the same name.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use krbprobe::profile::limits::{MAX_WARNINGS, MAXDNAME};
use krbprobe::profile::{self, Profile, ProfileError};
use libfuzzer_sys::fuzz_target;

/// Name the text is parsed under: in a directory that does not exist, so the parser's
/// `canonicalize` of it finds nothing and nothing can be opened relative to it.
const ORIGIN: &str = "/nonexistent-krbprobe-fuzz/krb5.conf";

/// At most this many names are looked up per level, to keep every input fast.
const MAX_NAMES: usize = 64;

/// `KRBPROBE_FUZZ_SHOW=1` prints what each input gave (for checking seeds and triaging crashes).
static SHOW: LazyLock<bool> = LazyLock::new(|| std::env::var_os("KRBPROBE_FUZZ_SHOW").is_some());

fuzz_target!(|data: &[u8]| {
    let text = without_directives(data);
    let origin = Path::new(ORIGIN);
    let lines = text.iter().filter(|&&b| b == b'\n').count() + 1;

    let parsed = profile::parse_bytes(&text, origin);
    let again = profile::parse_bytes(&text, origin);
    if *SHOW {
        eprintln!("{parsed:#?}");
    }
    assert_eq!(
        format!("{parsed:?}"),
        format!("{again:?}"),
        "parsing is deterministic"
    );
    match &parsed {
        Ok(p) => exercise(p, lines),
        Err(e) => check_error(e, lines),
    }

    // The KDC-entry parser on the raw text too: it slices by byte index.
    let raw = String::from_utf8_lossy(data);
    let _ = profile::parse_kdc_value(&raw);
    let _ = profile::parse_server_value(&raw, 749);
    let _ = profile::parse_boolean(&raw);
});

/// The input with every `include` spelt `inclUde`: neither `include` nor `includedir` can then
/// start a line (`include` cannot overlap itself, so one pass catches every occurrence).
fn without_directives(data: &[u8]) -> Vec<u8> {
    const WORD: &[u8] = b"include";
    let mut out = data.to_vec();
    let mut i = 0;
    while i + WORD.len() <= out.len() {
        if &out[i..i + WORD.len()] == WORD {
            out[i + 4] = b'U';
            i += WORD.len();
        } else {
            i += 1;
        }
    }
    out
}

fn check_error(e: &ProfileError, lines: usize) {
    // With the directives gone and a module allowed in the top-level text, only these remain;
    // anything else would mean the parser went to the file system.
    assert!(
        matches!(
            e,
            ProfileError::Syntax { .. } | ProfileError::ModuleSyntax { .. }
        ),
        "unexpected error kind: {e:?}"
    );
    let at = e.location().expect("a parse error names its line");
    assert_eq!(at.path, Path::new(ORIGIN));
    assert!(
        (1..=lines).contains(&at.line),
        "error at line {} of {lines}",
        at.line
    );
    assert!(!e.mit_message().is_empty());
    assert!(!e.krb5_init_message().is_empty());
    let _ = e.to_string();
}

fn exercise(p: &Profile, lines: usize) {
    assert_eq!(p.files(), [PathBuf::from(ORIGIN)]);
    assert!(
        p.warnings().len() <= MAX_WARNINGS,
        "{} warnings",
        p.warnings().len()
    );
    for w in p.warnings() {
        assert!(
            w.source.line <= lines,
            "warning at line {} of {lines}",
            w.source.line
        );
        assert!(!w.message.is_empty());
    }
    if p.module().is_some() {
        assert!(p.is_empty(), "a module profile holds no values");
        assert!(p.subsection_names(&[]).is_empty());
    }

    let sections = p.subsection_names(&[]);
    for &section in sections.iter().take(MAX_NAMES) {
        check_relations(p, &[section]);
        for &sub in p.subsection_names(&[section]).iter().take(MAX_NAMES) {
            check_relations(p, &[section, sub]);
        }
    }

    // What the checks read.
    let _ = p.first(&["libdefaults", "default_realm"]);
    for key in [
        "rdns",
        "dns_lookup_kdc",
        "dns_canonicalize_hostname",
        "allow_weak_crypto",
    ] {
        let _ = p.boolean(&["libdefaults", key]);
    }
    for &realm in p.subsection_names(&["realms"]).iter().take(MAX_NAMES) {
        for v in p.values(&["realms", realm, "kdc"]) {
            check_kdc(&profile::parse_kdc_value(v));
        }
        for (key, port) in [("admin_server", 749), ("kpasswd_server", 464)] {
            for v in p.values(&["realms", realm, key]) {
                check_kdc(&profile::parse_server_value(v, port));
            }
        }
    }
    for &key in p.relation_names(&["domain_realm"]).iter().take(MAX_NAMES) {
        let got = profile::domain_realm(p, key);
        // What MIT looks up unchanged: no uppercase, no trailing dot, not an address.
        let plain_host = !key.is_empty()
            && key.len() <= MAXDNAME
            && key == key.to_ascii_lowercase()
            && !key.ends_with('.')
            && !is_numeric_address(key);
        if plain_host {
            let realm = p
                .first(&["domain_realm", key])
                .expect("listed key has a value");
            assert_eq!(
                got,
                Some((realm.to_string(), key.to_string())),
                "[domain_realm] key {key:?} maps the host of the same name"
            );
        }
        let _ = profile::domain_realm(p, &format!("host{key}"));
        let _ = profile::domain_realm(p, &format!("host.{key}."));
    }
}

/// MIT's `k5_is_numeric_address`: four dotted numbers, or anything with a colon.
fn is_numeric_address(name: &str) -> bool {
    let dotted = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (dotted && name.bytes().filter(|&b| b == b'.').count() == 3) || name.contains(':')
}

/// `values`, `first`, `value_source(s)` and `boolean` agree for every relation under `path`.
fn check_relations(p: &Profile, path: &[&str]) {
    for &name in p.relation_names(path).iter().take(MAX_NAMES) {
        let mut full = path.to_vec();
        full.push(name);
        let values = p.values(&full);
        assert!(!values.is_empty(), "listed relation {full:?} has values");
        assert_eq!(p.first(&full), values.first().copied());
        let sources = p.value_sources(&full);
        assert_eq!(sources.len(), values.len());
        assert_eq!(p.value_source(&full), sources.first().copied());
        assert_eq!(
            p.boolean(&full),
            Some(profile::parse_boolean(values[0]).ok_or_else(|| values[0].to_string()))
        );
    }
}

fn check_kdc(k: &profile::KdcAddr) {
    match (&k.host, &k.error) {
        (Some(_), None) => {}
        (None, Some(_)) => assert_eq!(k.port, 0),
        other => panic!("a KDC entry has a host or an error, not {other:?}"),
    }
}
