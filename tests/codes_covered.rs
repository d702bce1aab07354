//! Every code in the registry (`krbprobe::codes::ALL`) is asserted by at least one test.
//!
//! Codes are a public interface that playbooks match on, so a code no test produces is a code
//! that can silently stop being produced. This scans the test sources for each code as a
//! string literal: `tests/**/*.rs` (the lab suites included), the `#[cfg(test)]` modules of
//! `src/**/*.rs` (only those: the code that emits a code names it through `codes::X`, and
//! counting it would make this test unable to fail), the lab's pytest files
//! (`lab/test_*.py`) and the lab scenarios (`lab/scenarios.toml`: `expect`, `warn` and the
//! `"CHECK:code"` entries of `checks`,
//! when that file exists). It names what is not covered and fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use krbprobe::codes;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            // Snapshots are rendered output, not assertions.
            if p.file_name().is_some_and(|n| n != "snapshots") {
                files_under(&p, keep, out);
            }
        } else if keep(&p) {
            out.push(p);
        }
    }
}

/// The `#[cfg(test)]` modules of Rust source `src`: the byte ranges of those written inline
/// (`mod tests { ... }`), and the names of those in files of their own (`mod fakes;`).
///
/// A small lexer: it skips comments, string, raw string, byte string and char literals while
/// counting braces, which is all it takes to find where such a module ends in rustfmt'ed code.
fn test_modules(src: &str) -> (Vec<(usize, usize)>, Vec<String>) {
    let b = src.as_bytes();
    let mut inline = Vec::new();
    let mut files = Vec::new();
    let mut from = 0;
    while let Some(at) = src[from..].find("#[cfg(test)]") {
        let attr_end = from + at + "#[cfg(test)]".len();
        from = attr_end;
        // The item after the attribute (other attributes may come between).
        let rest = &src[attr_end..];
        let item = rest
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("#["))
            .unwrap_or("");
        let Some(name) = item
            .strip_prefix("pub mod ")
            .or_else(|| item.strip_prefix("pub(crate) mod "))
            .or_else(|| item.strip_prefix("mod "))
        else {
            continue;
        };
        if let Some(file) = name.strip_suffix(';') {
            files.push(file.trim().to_owned());
            continue;
        }
        let Some(open) = rest.find('{') else { continue };
        let start = attr_end + open;
        if let Some(end) = matching_brace(b, start) {
            inline.push((start, end));
            from = end;
        }
    }
    (inline, files)
}

/// Where the file of module `name`, declared in `parent`, is: next to `mod.rs`/`lib.rs`, else
/// in the folder named after the parent.
fn module_file(parent: &Path, name: &str) -> Option<PathBuf> {
    let dir = parent.parent()?;
    let stem = parent.file_stem()?.to_str()?;
    let base = if matches!(stem, "mod" | "lib" | "main") {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// The index just past the `}` that closes the `{` at `open`.
fn matching_brace(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'r' if matches!(b.get(i + 1), Some(b'#' | b'"')) && !ident_before(b, i) => {
                let mut hashes = 0;
                let mut j = i + 1;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) == Some(&b'"') {
                    let close: Vec<u8> = std::iter::once(b'"')
                        .chain(std::iter::repeat_n(b'#', hashes))
                        .collect();
                    j += 1;
                    while j < b.len() && !b[j..].starts_with(&close) {
                        j += 1;
                    }
                    i = j + close.len() - 1;
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            // A char literal ('{', '\'', '\u{7b}'), not a lifetime ('a).
            b'\'' => {
                if b.get(i + 1) == Some(&b'\\') {
                    let mut j = i + 2;
                    while j < b.len() && b[j] != b'\'' {
                        j += 1;
                    }
                    i = j;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 2;
                }
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn ident_before(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// Every test text, with where it came from.
fn test_texts() -> Vec<(PathBuf, String)> {
    let root = root();
    let mut texts = Vec::new();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();

    let mut tests = Vec::new();
    let this = root.join(file!());
    files_under(
        &root.join("tests"),
        &|p| p.extension().is_some_and(|e| e == "rs") && *p != this,
        &mut tests,
    );
    texts.extend(tests.into_iter().map(|p| {
        let t = read(&p);
        (p, t)
    }));

    let mut src = Vec::new();
    files_under(
        &root.join("src"),
        &|p| p.extension().is_some_and(|e| e == "rs"),
        &mut src,
    );
    let mut test_only = Vec::new();
    for p in &src {
        let text = read(p);
        let (inline, files) = test_modules(&text);
        let mods: String = inline
            .into_iter()
            .map(|(s, e)| &text[s..e])
            .collect::<Vec<_>>()
            .join("\n");
        texts.push((p.clone(), mods));
        for name in files {
            let file = module_file(p, &name)
                .unwrap_or_else(|| panic!("{}: no file for `mod {name};`", p.display()));
            test_only.push(file);
        }
    }
    // A module compiled only for tests is test code from top to bottom.
    for p in test_only {
        let t = read(&p);
        texts.push((p, t));
    }

    let mut py = Vec::new();
    files_under(
        &root.join("lab"),
        &|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("test_") && name.ends_with(".py")
        },
        &mut py,
    );
    texts.extend(py.into_iter().map(|p| {
        let t = read(&p);
        (p, t)
    }));

    // The lab's scenarios (run by tests/lab_scenarios.rs), when present: what they assert, i.e.
    // their `expect = "code"` and `warn = [...]` lines and the `"CHECK:code" = "code"` entries of
    // `checks`. Titles, notes and real-client texts do not count.
    let scenarios = root.join("lab/scenarios.toml");
    if let Ok(text) = std::fs::read_to_string(&scenarios) {
        let mut asserted = Vec::new();
        for line in text.lines().map(str::trim_start) {
            let key = line.split('=').next().unwrap_or("").trim();
            if key == "expect" || key == "warn" {
                asserted.push(line.to_owned());
            }
            for (i, _) in line.match_indices(":code\" = \"") {
                let rest = &line[i + ":code\" = ".len()..];
                if let Some(end) = rest[1..].find('"') {
                    asserted.push(rest[..end + 2].to_owned());
                }
            }
        }
        texts.push((scenarios, asserted.join("\n")));
    }
    texts
}

fn literal_in(text: &str, code: &str) -> bool {
    text.contains(&format!("\"{code}\"")) || text.contains(&format!("'{code}'"))
}

#[test]
fn every_code_is_asserted_by_a_test() {
    let texts = test_texts();
    assert!(
        texts.iter().any(|(p, _)| p.ends_with("tests/lab.rs")),
        "tests/lab.rs was not scanned"
    );
    let uncovered: BTreeSet<(&str, &str)> = codes::ALL
        .iter()
        .filter(|c| !texts.iter().any(|(_, t)| literal_in(t, c.code)))
        .map(|c| (c.check, c.code))
        .collect();
    if !uncovered.is_empty() {
        let list: Vec<String> = uncovered
            .iter()
            .map(|(check, code)| format!("  {code} ({check})"))
            .collect();
        panic!(
            "{} of {} codes are asserted by no test (as a string literal in tests/, a \
             #[cfg(test)] module of src/, lab/test_*.py or lab/scenarios.toml):\n{}",
            uncovered.len(),
            codes::ALL.len(),
            list.join("\n")
        );
    }
}

#[test]
fn only_test_modules_of_src_count() {
    let src = r##"
fn emit() -> &'static str { "emitted-code" }
#[cfg(test)]
pub(crate) fn helper() -> &'static str { "helper-code" }
#[cfg(test)]
mod tests {
    // A brace in a comment: {
    const C: char = '{';
    fn t<'a>(s: &'a str) -> &'a str { let _ = r#"}"#; let _ = "}"; s }
    #[test]
    fn x() { assert_eq!(super::emit(), "tested-code"); }
}
fn after() -> &'static str { "after-code" }
#[cfg(test)]
mod fakes;
"##;
    let (inline, files) = test_modules(src);
    let mods: String = inline.into_iter().map(|(s, e)| &src[s..e]).collect();
    assert!(literal_in(&mods, "tested-code"), "{mods}");
    assert_eq!(files, ["fakes"]);
    for outside in ["emitted-code", "helper-code", "after-code"] {
        assert!(!literal_in(&mods, outside), "{outside} counted: {mods}");
    }
}
