//! Reader for MIT krb5's profile format (`krb5.conf`) that reaches the same
//! verdicts as MIT krb5 1.20 itself.
//!
//! krbprobe needs to know what the Kerberos library *inside AWX* will make of
//! a `krb5.conf`, not what a tidy INI reader would.  MIT's parser has many
//! quirks that silently change the configuration (a UTF-8 BOM that hides the
//! first section, `#` comments that become part of a value, an uppercase
//! `[domain_realm]` key that can never match, a missing include that makes
//! every Kerberos call fail, ...).  This module mirrors MIT's behaviour
//! line by line so that krbprobe can report those quirks as hints.
//!
//! The behaviour was taken from MIT's sources (`src/util/profile/prof_parse.c`,
//! `prof_tree.c`, `prof_get.c`, `prof_file.c`, `prof_init.c`, `prof_err.et`,
//! `src/lib/krb5/os/hostrealm_profile.c`, `hst_realm.c`,
//! `src/lib/krb5/krb/parse_host_string.c`, `locate_kdc.c`) and confirmed
//! against the system `libkrb5.so.3` (Debian 1.20.1) through `ctypes`; the
//! tests record those empirical verdicts.
//!
//! Model, as in MIT:
//! * every top-level file (one entry of `KRB5_CONFIG`) is its own tree;
//!   `include`d files and `includedir` files are merged into the tree of the
//!   file that includes them;
//! * lookups ([`Profile::values`] and friends) walk the trees in order and
//!   stop after a tree in which a section on the looked-up path is marked
//!   final (`[section]*`, `name = { ... }*` or `name* = {`).
//!
//! Nothing here panics or recurses on input-controlled depth: the tree is an
//! arena, parsing is iterative, and only `include` nesting recurses (capped at
//! [`MAX_INCLUDE_DEPTH`]).
//!
//! # Layout
//!
//! Everything public is re-exported here, so callers name it `profile::X` whichever file
//! holds it:
//!
//! * `loader`: which files are read, in which order ([`load`], [`load_config_path`] with
//!   `KRB5_CONFIG` semantics, [`parse_str`], [`parse_bytes`]), `include` and `includedir`
//!   (MIT's `prof_file.c`, `prof_init.c`).
//! * `line`: the parser proper, from the bytes of one file to its tree: `fgets`-sized lines,
//!   directives and the state machine of `prof_parse.c`.
//! * `tree`: the parsed [`Profile`], one arena tree per top-level file, and MIT's lookups on
//!   it (`prof_tree.c`, `prof_get.c`).
//! * `values`: what libkrb5 makes of single values: booleans, [`domain_realm`], KDC and
//!   server entries ([`parse_kdc_value`]).
//! * `error`: [`ProfileError`] with MIT's messages, and the [`Warning`]s about what MIT
//!   accepts silently.
//! * [`limits`]: MIT's line length and host name limit, and our caps on include depth and
//!   warnings, shared with the fuzz target.

mod error;
#[cfg(test)]
mod fixtures;
pub mod limits;
mod line;
mod loader;
mod tree;
mod values;

pub use error::{
    MSG_BAD_BOOLEAN, MSG_CONFIG_BADFORMAT, MSG_FAIL_INCLUDE_DIR, MSG_FAIL_INCLUDE_FILE, MSG_MODULE,
    MSG_MODULE_SYNTAX, ProfileError, SyntaxKind, Warning, WarningKind,
};
pub use limits::MAX_INCLUDE_DEPTH;
pub use loader::{load, load_config_path, parse_bytes, parse_str};
pub use tree::{ModuleDecl, Profile, Source};
pub use values::{
    KdcAddr, KdcTransport, domain_realm, parse_boolean, parse_boolean_lax, parse_kdc_value,
    parse_server_value,
};
