//! Fuzz target: the WS-Management answer parser ([`krbprobe::winrm::soap::parse`]): SOAP
//! faults with their WSManFault detail, the ShellId of a Create answer, Identify answers.
//!
//! Invariants: parsing is deterministic; fields other than the concatenated fault message are
//! cut at 4096 characters; and the Delete envelope krbprobe itself sends parses, giving back
//! the ShellId it was built with.

#![no_main]

use std::sync::LazyLock;

use krbprobe::winrm::soap::{self, Answer, MAX_TEXT};
use libfuzzer_sys::fuzz_target;

/// `KRBPROBE_FUZZ_SHOW=1` prints what each input gave (for checking seeds and triaging crashes).
static SHOW: LazyLock<bool> = LazyLock::new(|| std::env::var_os("KRBPROBE_FUZZ_SHOW").is_some());

fuzz_target!(|data: &[u8]| {
    let answer = soap::parse(data);
    if *SHOW {
        eprintln!("{answer:#?}");
    }
    assert_eq!(answer, soap::parse(data), "parsing is deterministic");
    match &answer {
        Ok(a) => check(a),
        Err(e) => assert!(!e.to_string().is_empty()),
    }

    // The text as a ShellId in our own Delete request.
    if let Ok(shell_id) = std::str::from_utf8(data) {
        let xml = soap::delete_shell("http://host.example.com:5985/wsman", "1-2-3", shell_id);
        let back = soap::parse(xml.as_bytes()).expect("our own Delete envelope parses");
        assert!(back.fault.is_none());
        if plain(shell_id) {
            assert_eq!(
                back.shell_id.as_deref(),
                Some(shell_id),
                "ShellId read back from {xml}"
            );
        }
    }
});

/// A ShellId that needs no whitespace handling: printable ASCII, not blank at either end, short
/// enough to be kept whole. (`<`, `>`, `&`, quotes included: they are escaped on the way out.)
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TEXT
        && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !s.starts_with(' ')
        && !s.ends_with(' ')
}

fn check(a: &Answer) {
    let kept = [
        &a.shell_id,
        &a.product_vendor,
        &a.product_version,
        &a.protocol_version,
    ];
    for s in kept.into_iter().flatten() {
        assert!(s.chars().count() <= MAX_TEXT);
    }
    if let Some(f) = &a.fault {
        for s in [&f.code, &f.subcode, &f.reason].into_iter().flatten() {
            assert!(s.chars().count() <= MAX_TEXT);
        }
        let _ = f.describe();
        if f.wsman_code.as_deref() == Some("5") {
            assert!(f.is_access_denied());
        }
    }
    serde_json::to_string(a).expect("an answer serializes");
}
