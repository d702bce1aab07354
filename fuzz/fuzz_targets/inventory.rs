//! Fuzz target: Ansible inventories as `--targets-file` reads them
//! ([`krbprobe::inventory::Inventory`]): INI with host ranges, `host:port`, group vars and
//! children, and the JSON of `ansible-inventory --list`.
//!
//! Invariants: parsing is deterministic; an error names a line of the input (or none, 0);
//! the hosts of every group are a subset of all hosts, in the same order, each once; a
//! group that does not exist is an error naming it; a host range never yields more than the
//! parser's limit.

#![no_main]

use std::sync::LazyLock;

use krbprobe::inventory::Inventory;
use libfuzzer_sys::fuzz_target;

/// `KRBPROBE_FUZZ_SHOW=1` prints what each input gave (for checking seeds and triaging crashes).
static SHOW: LazyLock<bool> = LazyLock::new(|| std::env::var_os("KRBPROBE_FUZZ_SHOW").is_some());

/// The parser's limit on hosts from one range, times a few ranges per input.
const MAX_HOSTS: usize = 1_000_000;

fuzz_target!(|data: &[u8]| {
    // The file is read with read_to_string: it is UTF-8 or it is refused before the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.split('\n').count();
    let parsed = Inventory::parse(text);
    let again = Inventory::parse(text);
    if *SHOW {
        eprintln!("{parsed:#?}");
    }
    let inv = match (parsed, again) {
        (Err((line, reason)), Err(again)) => {
            assert_eq!((line, &reason), (again.0, &again.1), "not deterministic");
            assert!(line <= lines, "error at line {line} of {lines}: {reason}");
            assert!(!reason.is_empty());
            return;
        }
        (Ok(inv), Ok(_)) => inv,
        (a, b) => panic!("not deterministic: {a:?} vs {b:?}"),
    };
    let all = inv.select(&[]).expect("every host");
    assert!(all.len() <= MAX_HOSTS);
    let mut seen = std::collections::HashSet::new();
    assert!(all.iter().all(|h| seen.insert(h)), "a host twice");
    let groups: Vec<String> = inv.group_names().into_iter().take(16).map(str::to_owned).collect();
    for g in &groups {
        let some = inv.select(std::slice::from_ref(g)).expect("a group it named");
        let mut it = all.iter();
        assert!(
            some.iter().all(|h| it.any(|a| a == h)),
            "group {g}: not a subsequence of all hosts"
        );
    }
    let missing = "no-such-group-\u{1f}".to_owned();
    let err = inv.select(std::slice::from_ref(&missing)).unwrap_err();
    assert!(err.contains("no-such-group-"), "{err}");
    // Resolving the variables may refuse a value (with the host's name), never panic.
    if let Err((_, reason)) = inv.specs(&groups) {
        assert!(reason.starts_with("host ") || reason.starts_with("no group"), "{reason}");
    }
});
