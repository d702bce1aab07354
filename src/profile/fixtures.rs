//! Helpers for the unit tests of every `profile` module.
//!
//! Expected values in those tests are MIT krb5 1.20.1's own verdicts, obtained by loading
//! each input with `krb5_init_context` (KRB5_CONFIG=file) in the system libkrb5.so.3 and
//! querying `profile_get_values` & co through ctypes, unless a comment says otherwise.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Profile, ProfileError, SyntaxKind, parse_str};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique temporary directory, removed on drop (no tempfile crate).
pub(super) struct TempDir(pub(super) PathBuf);

impl TempDir {
    pub(super) fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "krbprobe-profile-{tag}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(super) fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

pub(super) fn origin() -> &'static Path {
    Path::new("/test/krb5.conf")
}

pub(super) fn parse(text: &str) -> Profile {
    parse_str(text, origin()).unwrap_or_else(|e| {
        let shown: String = text.chars().take(200).collect();
        panic!("unexpected error {e} for {shown:?}")
    })
}

pub(super) fn syntax_kind(text: &str) -> Option<SyntaxKind> {
    match parse_str(text, origin()) {
        Err(ProfileError::Syntax { kind, .. }) => Some(kind),
        Err(e) => panic!("unexpected non-syntax error {e}"),
        Ok(_) => None,
    }
}
