//! The sizes the profile parser works with: MIT's line length and host name limit, and the
//! caps that keep hostile input bounded where MIT has none (include depth, warnings kept).
//!
//! A module of their own because the fuzz target (`fuzz/fuzz_targets/krb5_conf.rs`) checks
//! the parser against them: it imports them from here, so the two cannot drift apart.

/// `prof_parse.c` reads with `fgets(buf, 2048, f)`, so a physical line longer
/// than 2047 bytes is cut into pieces that are parsed as separate lines.
pub const FGETS_CHUNK: usize = 2048 - 1;

/// Deepest `include` nesting followed.  MIT has no explicit limit: a loop
/// recurses until `fopen` runs out of file descriptors and then fails with
/// "Included profile file could not be read".  Real configurations nest two
/// or three levels, so a fixed cap keeps our recursion bounded without
/// changing any realistic verdict.
pub const MAX_INCLUDE_DEPTH: usize = 64;

/// Warnings kept per [`Profile`](super::Profile); garbage input could otherwise produce one
/// per line.
pub const MAX_WARNINGS: usize = 200;

/// `k5_clean_hostname` copies the host into a `MAXDNAME + 1` buffer and
/// fails for longer names.
pub const MAXDNAME: usize = 1024;
