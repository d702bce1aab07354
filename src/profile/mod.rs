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

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// `prof_parse.c` reads with `fgets(buf, 2048, f)`, so a physical line longer
/// than 2047 bytes is cut into pieces that are parsed as separate lines.
const FGETS_CHUNK: usize = 2048 - 1;

/// Deepest `include` nesting followed.  MIT has no explicit limit: a loop
/// recurses until `fopen` runs out of file descriptors and then fails with
/// "Included profile file could not be read".  Real configurations nest two
/// or three levels, so a fixed cap keeps our recursion bounded without
/// changing any realistic verdict.
pub const MAX_INCLUDE_DEPTH: usize = 64;

/// Warnings kept per [`Profile`]; garbage input could otherwise produce one
/// per line.
const MAX_WARNINGS: usize = 200;

/// `k5_clean_hostname` copies the host into a `MAXDNAME + 1` buffer and
/// fails for longer names.
const MAXDNAME: usize = 1024;

/// MIT's text for `PROF_BAD_BOOLEAN`.
pub const MSG_BAD_BOOLEAN: &str = "Invalid boolean value";
/// What `krb5_init_context` reports for any of the five parse errors: it maps
/// them all to `KRB5_CONFIG_BADFORMAT` (`init_os_ctx.c`), so users never see
/// the file or line.
pub const MSG_CONFIG_BADFORMAT: &str = "Improper format of Kerberos configuration file";
/// MIT's text for `PROF_FAIL_INCLUDE_FILE`.
pub const MSG_FAIL_INCLUDE_FILE: &str = "Included profile file could not be read";
/// MIT's text for `PROF_FAIL_INCLUDE_DIR`.
pub const MSG_FAIL_INCLUDE_DIR: &str = "Included profile directory could not be read";
/// MIT's text for `PROF_MODULE` (a `module` line where none is allowed).
pub const MSG_MODULE: &str = "Unexpected module declaration in profile";
/// MIT's text for `PROF_MODULE_SYNTAX`.
pub const MSG_MODULE_SYNTAX: &str = "Invalid syntax of module declaration in profile";

/// Where a node (section or value) came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    /// File that contained the line.
    pub path: PathBuf,
    /// 1-based physical line number.
    pub line: usize,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// The five parse errors of `prof_parse.c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyntaxKind {
    /// `PROF_SECTION_NOTOP`: a `[section]` header inside `{ ... }`.
    SectionNotTop,
    /// `PROF_SECTION_SYNTAX`: no `]`, or text after `]` / `]*`.
    SectionSyntax,
    /// `PROF_RELATION_SYNTAX`: no `=`, nothing before `=`, or a space inside
    /// the name.
    RelationSyntax,
    /// `PROF_EXTRA_CBRACE`: `}` at section level.
    ExtraCloseBrace,
    /// `PROF_MISSING_OBRACE`: `name =` not followed on the next line by `{`.
    MissingOpenBrace,
}

impl SyntaxKind {
    /// MIT's message for this error (`prof_err.et`).
    pub fn mit_message(self) -> &'static str {
        match self {
            SyntaxKind::SectionNotTop => "Profile section header not at top level",
            SyntaxKind::SectionSyntax => "Syntax error in profile section header",
            SyntaxKind::RelationSyntax => "Syntax error in profile relation",
            SyntaxKind::ExtraCloseBrace => "Extra closing brace in profile",
            SyntaxKind::MissingOpenBrace => "Missing open brace in profile",
        }
    }

    /// MIT's error-code name, for cross-referencing MIT documentation.
    pub fn mit_code(self) -> &'static str {
        match self {
            SyntaxKind::SectionNotTop => "PROF_SECTION_NOTOP",
            SyntaxKind::SectionSyntax => "PROF_SECTION_SYNTAX",
            SyntaxKind::RelationSyntax => "PROF_RELATION_SYNTAX",
            SyntaxKind::ExtraCloseBrace => "PROF_EXTRA_CBRACE",
            SyntaxKind::MissingOpenBrace => "PROF_MISSING_OBRACE",
        }
    }
}

impl fmt::Display for SyntaxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mit_message())
    }
}

/// Why a profile could not be loaded.  Every variant except [`ProfileError::Io`]
/// (and the loop/depth guards, which MIT reaches by exhausting file
/// descriptors) is a case in which MIT's `krb5_init_context` fails too.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The top-level file or directory could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A parse error; MIT stops at the first one.
    #[error("{}:{line}: {kind}", path.display())]
    Syntax {
        /// File containing the bad line.
        path: PathBuf,
        /// 1-based physical line.
        line: usize,
        /// Which of MIT's parse errors.
        kind: SyntaxKind,
    },
    /// `include FILE` named a file that cannot be opened (missing, unreadable,
    /// dangling symlink, or a path with trailing blanks).
    #[error("{}:{line}: include {}: {MSG_FAIL_INCLUDE_FILE} ({source})", path.display(), target.display())]
    IncludeMissing {
        /// File containing the `include` line.
        path: PathBuf,
        /// Line of the `include` line (or of the `includedir` line when the
        /// unreadable file was found in a directory).
        line: usize,
        /// File that could not be opened, exactly as MIT would open it.
        target: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// `includedir DIR` named something that cannot be listed.
    #[error("{}:{line}: includedir {}: {MSG_FAIL_INCLUDE_DIR} ({source})", path.display(), target.display())]
    IncludeDirMissing {
        /// File containing the `includedir` line.
        path: PathBuf,
        /// Line of the `includedir` line.
        line: usize,
        /// Directory that could not be listed.
        target: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A file includes itself, directly or indirectly.  MIT recurses until it
    /// runs out of file descriptors and then fails with "Included profile file
    /// could not be read".
    #[error("{}:{line}: include {}: include loop ({MSG_FAIL_INCLUDE_FILE} in MIT once it runs out of file descriptors)", path.display(), target.display())]
    IncludeLoop {
        /// File containing the `include` line that closes the loop.
        path: PathBuf,
        /// Line of that `include`.
        line: usize,
        /// File already being read.
        target: PathBuf,
    },
    /// More than [`MAX_INCLUDE_DEPTH`] nested includes.
    #[error("{}:{line}: include {}: includes nested deeper than {MAX_INCLUDE_DEPTH}", path.display(), target.display())]
    IncludeTooDeep {
        /// File containing the `include` line.
        path: PathBuf,
        /// Line of that `include`.
        line: usize,
        /// File that would have been read.
        target: PathBuf,
    },
    /// `PROF_MODULE_SYNTAX`: `module` line without `PATH:RESIDUAL`.
    #[error("{}:{line}: {MSG_MODULE_SYNTAX}: {spec:?}", path.display())]
    ModuleSyntax {
        /// File containing the `module` line.
        path: PathBuf,
        /// Its line.
        line: usize,
        /// Text after `module`.
        spec: String,
    },
    /// `PROF_MODULE`: `module` in an included file or in a file other than the
    /// first one MIT could open.
    #[error("{}:{line}: {MSG_MODULE}", path.display())]
    UnexpectedModule {
        /// File containing the `module` line.
        path: PathBuf,
        /// Its line.
        line: usize,
    },
}

impl ProfileError {
    /// The message MIT's profile library has for this error (com_err text).
    pub fn mit_message(&self) -> String {
        match self {
            ProfileError::Io { source, .. } => source.to_string(),
            ProfileError::Syntax { kind, .. } => kind.mit_message().to_string(),
            ProfileError::IncludeMissing { .. }
            | ProfileError::IncludeLoop { .. }
            | ProfileError::IncludeTooDeep { .. } => MSG_FAIL_INCLUDE_FILE.to_string(),
            ProfileError::IncludeDirMissing { .. } => MSG_FAIL_INCLUDE_DIR.to_string(),
            ProfileError::ModuleSyntax { .. } => MSG_MODULE_SYNTAX.to_string(),
            ProfileError::UnexpectedModule { .. } => MSG_MODULE.to_string(),
        }
    }

    /// The message `krb5_init_context` (and so `kinit`, GSSAPI, pywinrm)
    /// reports: syntax errors are all collapsed into
    /// [`MSG_CONFIG_BADFORMAT`], which names neither file nor line.
    pub fn krb5_init_message(&self) -> String {
        match self {
            ProfileError::Syntax { .. } => MSG_CONFIG_BADFORMAT.to_string(),
            other => other.mit_message(),
        }
    }

    /// File and line the error points at, when it has one.
    pub fn location(&self) -> Option<Source> {
        match self {
            ProfileError::Io { .. } => None,
            ProfileError::Syntax { path, line, .. }
            | ProfileError::IncludeMissing { path, line, .. }
            | ProfileError::IncludeDirMissing { path, line, .. }
            | ProfileError::IncludeLoop { path, line, .. }
            | ProfileError::IncludeTooDeep { path, line, .. }
            | ProfileError::ModuleSyntax { path, line, .. }
            | ProfileError::UnexpectedModule { path, line } => Some(Source {
                path: path.clone(),
                line: *line,
            }),
        }
    }
}

/// Categories of [`Warning`]: things MIT accepts without complaint but that
/// almost certainly do not mean what the author intended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// The file starts with a UTF-8 byte-order mark, so its first line does
    /// not start with `[` and MIT ignores everything up to the next line that
    /// starts with `[` in column 0 -- usually the whole first section.
    Bom,
    /// A line before the first column-0 `[` was ignored (MIT skips such lines
    /// silently, including relations, indented `[section]` headers and
    /// indented `include` lines).
    IgnoredBeforeFirstSection,
    /// An unquoted value contains ` #` or ` ;`: MIT has no trailing
    /// comments, the text is part of the value.
    InlineComment,
    /// `include`/`includedir` with a relative path: MIT resolves it against
    /// the current directory of the process, not the including file.
    RelativeInclude,
    /// `include` named a directory: MIT opens it, reads nothing and goes on.
    IncludeIsDirectory,
    /// A file in an `includedir` directory was skipped because of its name
    /// (MIT takes only names ending in `.conf` or made of `[A-Za-z0-9_-]`,
    /// never dotfiles).
    IncludeDirSkipped,
    /// End of file inside `{ ... }`: MIT does not complain.
    UnclosedBrace,
    /// A line longer than 2047 bytes: MIT parsed the rest as a new line.
    LongLineSplit,
    /// `name* = value`: MIT records the final flag on a relation but no lookup
    /// ever consults it.
    FinalRelation,
    /// `[ name ]`: the blanks are part of the section name.
    SpacedSectionName,
    /// Bytes that are not UTF-8 were replaced by U+FFFD in names or values.
    InvalidUtf8,
    /// A `module` line: MIT would hand the whole configuration to a plugin.
    Module,
    /// An entry of a `KRB5_CONFIG`-style path does not exist (MIT skips it).
    MissingConfigFile,
    /// An entry of a `KRB5_CONFIG`-style path is not readable (MIT skips it).
    UnreadableConfigFile,
    /// An empty entry in a `KRB5_CONFIG`-style path: MIT stops reading the
    /// list there.
    TruncatedConfigPath,
}

/// A non-fatal observation about the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Category, for programmatic use.
    pub kind: WarningKind,
    /// Where it was seen.
    pub source: Source,
    /// Human-readable explanation.
    pub message: String,
}

/// A `module PATH:RESIDUAL` declaration (see MIT's profile plugin interface).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleDecl {
    /// Text after `module`.
    pub spec: String,
    /// Module path; MIT prefixes relative paths with its LIBDIR.
    pub path: String,
    /// Argument passed to the module.
    pub residual: String,
    /// The `module` line.
    pub source: Source,
}

/// Index of a node in a [`Tree`] arena.
type NodeId = usize;
const ROOT: NodeId = 0;

#[derive(Debug, Clone)]
struct Node {
    name: String,
    /// `None` for a section, `Some` for a relation (MIT: `value == NULL`
    /// marks a section).
    value: Option<String>,
    final_flag: bool,
    parent: NodeId,
    /// Children by name.  MIT keeps each child list sorted by `strcmp` of the
    /// name and inserts after the last equal name, i.e. a stable sort of the
    /// insertion order; a `BTreeMap` keyed by the name (byte order, like
    /// `strcmp`) with per-name insertion order gives the same sequence without
    /// quadratic inserts.
    children: BTreeMap<String, Vec<NodeId>>,
    source: Source,
}

/// The parse tree of one top-level file plus everything it includes.
#[derive(Debug, Clone)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn new(path: &Path) -> Tree {
        Tree {
            nodes: vec![Node {
                name: "(root)".to_string(),
                value: None,
                final_flag: false,
                parent: ROOT,
                children: BTreeMap::new(),
                source: Source {
                    path: path.to_path_buf(),
                    line: 0,
                },
            }],
        }
    }

    /// First child *section* of `parent` named `name`, like the descent in
    /// `profile_node_iterator`.
    fn child_section(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        self.nodes[parent]
            .children
            .get(name)?
            .iter()
            .copied()
            .find(|&id| self.nodes[id].value.is_none())
    }

    /// `profile_add_node` with a NULL value: since MIT 1.17 an existing
    /// subsection of the same name is reused, so repeated `[realms]` headers
    /// and repeated `EXAMPLE.COM = {` blocks are merged.
    fn section(&mut self, parent: NodeId, name: String, source: Source) -> NodeId {
        if let Some(id) = self.child_section(parent, &name) {
            return id;
        }
        self.push(parent, name, None, source)
    }

    fn push(
        &mut self,
        parent: NodeId,
        name: String,
        value: Option<String>,
        source: Source,
    ) -> NodeId {
        let id = self.nodes.len();
        self.nodes[parent]
            .children
            .entry(name.clone())
            .or_default()
            .push(id);
        self.nodes.push(Node {
            name,
            value,
            final_flag: false,
            parent,
            children: BTreeMap::new(),
            source,
        });
        id
    }

    /// Children of `id` in MIT's list order.
    fn children_in_order(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes[id].children.values().flatten().copied()
    }
}

/// A merged configuration: one tree per top-level file, in MIT's order.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    trees: Vec<Tree>,
    files: Vec<PathBuf>,
    warnings: Vec<Warning>,
    module: Option<ModuleDecl>,
}

/// Which nodes a lookup wants (`PROFILE_ITER_RELATIONS_ONLY` /
/// `PROFILE_ITER_SECTIONS_ONLY`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Relations,
    Sections,
}

impl Profile {
    /// Every file read, in the order MIT read them (top-level files, with
    /// included files at the point of their `include`).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Non-fatal observations, in file order (at most 200).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The `module` declaration MIT would act on instead of reading the
    /// configuration.  When set the profile holds no values: MIT abandons the
    /// files and asks the module; if the module file does not exist,
    /// `krb5_init_context` silently falls back to an *empty* configuration
    /// (the load fails with ENOENT, which `init_os_ctx.c` treats like "no
    /// krb5.conf at all").
    pub fn module(&self) -> Option<&ModuleDecl> {
        self.module.as_ref()
    }

    /// True when no top-level file contributed anything (for example every
    /// `KRB5_CONFIG` entry was missing).
    pub fn is_empty(&self) -> bool {
        self.trees.iter().all(|t| t.nodes[ROOT].children.is_empty())
    }

    /// Emulates `profile_node_iterator`: walk each top-level tree in order,
    /// descend into the first subsection matching each name, collect the
    /// matching children, and stop after a tree in which any section on the
    /// walked path is final (even if the path did not resolve there).
    fn lookup(&self, names: &[&str], list_section: bool, want: Want) -> Vec<(&Tree, NodeId)> {
        let (walk, target) = if list_section {
            (names, None)
        } else {
            match names.split_last() {
                Some((last, init)) => (init, Some(*last)),
                // MIT: PROF_BAD_NAMESET.
                None => return Vec::new(),
            }
        };
        let mut out = Vec::new();
        for tree in &self.trees {
            let mut section = Some(ROOT);
            let mut final_seen = false;
            for name in walk {
                section = section.and_then(|s| tree.child_section(s, name));
                match section {
                    Some(id) => final_seen |= tree.nodes[id].final_flag,
                    None => break,
                }
            }
            if let Some(section) = section {
                let wanted = |id: &NodeId| match want {
                    Want::Relations => tree.nodes[*id].value.is_some(),
                    Want::Sections => tree.nodes[*id].value.is_none(),
                };
                match target {
                    Some(t) => {
                        if let Some(ids) = tree.nodes[section].children.get(t) {
                            out.extend(ids.iter().filter(|id| wanted(id)).map(|&id| (tree, id)));
                        }
                    }
                    None => out.extend(
                        tree.children_in_order(section)
                            .filter(wanted)
                            .map(|id| (tree, id)),
                    ),
                }
            }
            if final_seen {
                break;
            }
        }
        out
    }

    /// All values of the relation at `path` (e.g. `["realms", "EXAMPLE.COM",
    /// "kdc"]`), like `profile_get_values`: in file order, duplicates kept,
    /// names compared case-sensitively.  Empty when absent.
    pub fn values(&self, path: &[&str]) -> Vec<&str> {
        self.lookup(path, false, Want::Relations)
            .into_iter()
            .filter_map(|(t, id)| t.nodes[id].value.as_deref())
            .collect()
    }

    /// The first value, like `profile_get_string` (which is what libkrb5 uses
    /// for single-valued settings: later duplicates are ignored).
    pub fn first(&self, path: &[&str]) -> Option<&str> {
        self.values(path).into_iter().next()
    }

    /// Where the value returned by [`Profile::first`] was defined.
    pub fn value_source(&self, path: &[&str]) -> Option<&Source> {
        self.lookup(path, false, Want::Relations)
            .into_iter()
            .next()
            .map(|(t, id)| &t.nodes[id].source)
    }

    /// Sources of all values returned by [`Profile::values`], in the same order.
    pub fn value_sources(&self, path: &[&str]) -> Vec<&Source> {
        self.lookup(path, false, Want::Relations)
            .into_iter()
            .map(|(t, id)| &t.nodes[id].source)
            .collect()
    }

    /// Names of the subsections under `path` (e.g. realm names under
    /// `["realms"]`), like `profile_get_subsection_names`: sorted by byte
    /// order within each file, and *not* deduplicated across files (a realm
    /// defined in two files is listed twice, as MIT does).  `&[]` lists the
    /// top-level sections.
    pub fn subsection_names(&self, path: &[&str]) -> Vec<&str> {
        self.lookup(path, true, Want::Sections)
            .into_iter()
            .map(|(t, id)| t.nodes[id].name.as_str())
            .collect()
    }

    /// Names of the relations directly under `path`, like
    /// `profile_get_relation_names`: deduplicated, first occurrence wins.
    pub fn relation_names(&self, path: &[&str]) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for (t, id) in self.lookup(path, true, Want::Relations) {
            let name = t.nodes[id].name.as_str();
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// `profile_get_boolean` on the first value: `None` when absent,
    /// `Some(Err(value))` -- carrying the offending value -- when it is not one
    /// of MIT's words (see [`parse_boolean`]); MIT's message for that case is
    /// [`MSG_BAD_BOOLEAN`].
    ///
    /// Which parser libkrb5 applies depends on the setting:
    /// `allow_weak_crypto`, `ignore_acceptor_hostname`,
    /// `enforce_ok_as_delegate`, `allow_des3` and `allow_rc4` go through this
    /// strict one and an invalid word makes `krb5_init_context` itself fail
    /// (confirmed on 1.20.1); `rdns` falls back to its default on an invalid
    /// word; `dns_lookup_kdc` and `dns_lookup_realm` use the lax
    /// [`parse_boolean_lax`] (invalid means false) and, when unset, fall back
    /// to `dns_fallback` (`locate_kdc.c` `maybe_use_dns`).
    pub fn boolean(&self, path: &[&str]) -> Option<Result<bool, String>> {
        let v = self.first(path)?;
        Some(parse_boolean(v).ok_or_else(|| v.to_string()))
    }
}

/// MIT's `profile_parse_boolean`: ASCII case-insensitive `y`, `yes`, `true`,
/// `t`, `1`, `on` / `n`, `no`, `false`, `nil`, `0`, `off`.  No trimming:
/// `"true "` (quoted) is invalid.
pub fn parse_boolean(s: &str) -> Option<bool> {
    const YES: [&str; 6] = ["y", "yes", "true", "t", "1", "on"];
    const NO: [&str; 6] = ["n", "no", "false", "nil", "0", "off"];
    if YES.iter().any(|y| y.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if NO.iter().any(|n| n.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// libkrb5's `_krb5_conf_boolean`: like [`parse_boolean`] but anything
/// unrecognised is `false`, silently.
pub fn parse_boolean_lax(s: &str) -> bool {
    parse_boolean(s).unwrap_or(false)
}

/// Read one top-level file (or directory, which MIT reads like an
/// `includedir`), following `include`/`includedir`.
///
/// Unlike `krb5_init_context`, a missing file is an error here
/// ([`ProfileError::Io`] with `NotFound`): MIT would silently run with an
/// empty configuration, which is exactly what a diagnosis must point out.
/// Use [`load_config_path`] for `KRB5_CONFIG` semantics.
pub fn load(path: &Path) -> Result<Profile, ProfileError> {
    let mut loader = Loader::default();
    match loader.top_level(path, true)? {
        TopLevel::Tree(tree) => loader.trees.push(tree),
        TopLevel::Module(m) => loader.module = Some(m),
    }
    Ok(loader.finish())
}

/// Read a `KRB5_CONFIG`-style list (`file1:file2:...`) the way
/// `krb5_init_context` does: entries are split on `:`; an empty entry ends
/// the list (`PROFILE_LAST_FILESPEC`); a leading `~/` is replaced by `$HOME`;
/// missing and unreadable files are skipped (with a warning); a file or
/// directory that exists but fails to parse fails the whole load.  If no file
/// could be read because of permissions, the permission error is returned
/// (MIT: `krb5_init_context` fails with "Permission denied"); if they were all
/// missing, an empty profile is returned (MIT runs with no configuration).
pub fn load_config_path(spec: &str) -> Result<Profile, ProfileError> {
    let mut loader = Loader::default();
    let mut access_error: Option<(PathBuf, io::Error)> = None;
    let entries: Vec<&str> = spec.split(':').collect();
    for (i, entry) in entries.iter().enumerate() {
        if entry.is_empty() {
            if entries[i + 1..].iter().any(|e| !e.is_empty()) {
                loader.warn(
                    WarningKind::TruncatedConfigPath,
                    Path::new(spec),
                    0,
                    format!(
                        "empty entry in the config path {spec:?}: MIT stops reading the list there and ignores {:?}",
                        entries[i + 1..].join(":")
                    ),
                );
            }
            break;
        }
        let path = expand_home(entry);
        match fs::metadata(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                loader.warn(
                    WarningKind::MissingConfigFile,
                    &path,
                    0,
                    "config file does not exist; MIT skips it".to_string(),
                );
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                loader.warn(
                    WarningKind::UnreadableConfigFile,
                    &path,
                    0,
                    format!("config file is not readable ({e}); MIT skips it"),
                );
                access_error = Some((path, e));
                continue;
            }
            Err(e) => return Err(ProfileError::Io { path, source: e }),
            Ok(_) => {}
        }
        // MIT allows a module declaration only in the first file it opens.
        let module_allowed = loader.trees.is_empty();
        match loader.top_level(&path, module_allowed) {
            Ok(TopLevel::Tree(tree)) => loader.trees.push(tree),
            Ok(TopLevel::Module(m)) => {
                // MIT abandons the files and loads the module instead.
                loader.trees.clear();
                loader.module = Some(m);
                break;
            }
            Err(ProfileError::Io { path, source })
                if source.kind() == io::ErrorKind::PermissionDenied =>
            {
                loader.warn(
                    WarningKind::UnreadableConfigFile,
                    &path,
                    0,
                    format!("config file is not readable ({source}); MIT skips it"),
                );
                access_error = Some((path, source));
            }
            Err(e) => return Err(e),
        }
    }
    if loader.trees.is_empty() && loader.module.is_none() {
        if let Some((path, source)) = access_error {
            return Err(ProfileError::Io { path, source });
        }
    }
    Ok(loader.finish())
}

/// Parse `text` as if it were the top-level file `origin`; `include` and
/// `includedir` lines are followed on the real filesystem.
pub fn parse_str(text: &str, origin: &Path) -> Result<Profile, ProfileError> {
    parse_bytes(text.as_bytes(), origin)
}

/// Like [`parse_str`] for raw bytes (MIT reads bytes; invalid UTF-8 in names
/// and values is replaced by U+FFFD with a warning).
pub fn parse_bytes(bytes: &[u8], origin: &Path) -> Result<Profile, ProfileError> {
    let mut loader = Loader::default();
    loader.files.push(origin.to_path_buf());
    loader.open_stack.push(canonical(origin));
    let mut tree = Tree::new(origin);
    match loader.parse(&mut tree, bytes, origin, true, 0)? {
        Some(m) => loader.module = Some(m),
        None => loader.trees.push(tree),
    }
    Ok(loader.finish())
}

/// MIT's host-to-realm mapping from `[domain_realm]` (the `profile` module of
/// `krb5_get_host_realm`, `hostrealm_profile.c`).
///
/// The host is lowercased (ASCII) and one trailing dot removed
/// (`k5_clean_hostname`); IP addresses (only digits and exactly three dots, or
/// any `:`) are never looked up.  Then progressively shorter suffixes are
/// tried, each *with and without* the leading dot: for `a.b.c` the keys
/// `a.b.c`, `.b.c`, `b.c`, `.c`, `c`.  So a bare-domain key (`example.com`)
/// also matches every host below it, and a key containing uppercase letters
/// can never match.  Returns the realm and the key that matched; `None` means
/// MIT goes on to DNS TXT records (if `dns_lookup_realm`) and then to the
/// referral realm.
pub fn domain_realm(profile: &Profile, host: &str) -> Option<(String, String)> {
    if host.len() > MAXDNAME {
        return None;
    }
    let mut clean = host.to_ascii_lowercase();
    if clean.ends_with('.') {
        clean.pop();
    }
    if is_numeric_address(&clean) {
        return None;
    }
    let mut p: &str = &clean;
    loop {
        if let Some(realm) = profile.first(&["domain_realm", p]) {
            return Some((realm.to_string(), p.to_string()));
        }
        // for (p = host; p != NULL; p = (*p == '.') ? p + 1 : strchr(p, '.'))
        if let Some(rest) = p.strip_prefix('.') {
            p = rest;
        } else if let Some(i) = p.find('.') {
            p = &p[i..];
        } else {
            return None;
        }
    }
}

/// `k5_is_numeric_address`.
fn is_numeric_address(name: &str) -> bool {
    let dotted = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (dotted && name.bytes().filter(|&b| b == b'.').count() == 3) || name.contains(':')
}

/// Transport MIT uses for a KDC entry from `krb5.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KdcTransport {
    /// Plain entry: UDP or TCP, chosen by `udp_preference_limit` (large
    /// Active Directory tickets go over TCP).
    UdpOrTcp,
    /// `https://host[:port]/path`: MS-KKDCP proxy.
    Https,
}

/// A `kdc` (or `admin_server`, `kpasswd_server`, ...) value as MIT's
/// `locate_srv_conf_1` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdcAddr {
    /// Host name or address MIT will resolve; brackets of `[v6]` removed.
    /// `None` when MIT rejects the entry (see `error`).
    pub host: Option<String>,
    /// Port; the default when none given, 0 when MIT rejects the entry.
    pub port: u16,
    /// Transport.
    pub transport: KdcTransport,
    /// For `https://` entries, the URL path after the host (without the
    /// leading `/`).
    pub uri_path: Option<String>,
    /// Why MIT rejects the entry ("Invalid argument").  A rejected entry makes
    /// MIT's whole profile KDC lookup for the realm fail, not just this entry.
    pub error: Option<String>,
    /// Other observations (ignored trailing text, Heimdal-only syntax, ...).
    pub notes: Vec<String>,
}

/// Parse a `kdc` value with MIT's default port 88; see [`parse_server_value`].
pub fn parse_kdc_value(v: &str) -> KdcAddr {
    parse_server_value(v, 88)
}

/// Parse a server value (`host`, `host:port`, `[v6]`, `[v6]:port`, or the
/// MS-KKDCP form `https://host[:port]/path`) as `locate_srv_conf_1` and
/// `k5_parse_host_string` do.  `default_port` is 88 for `kdc`, 749 for
/// `admin_server`, 464 for `kpasswd_server`; `https://` entries default to 443.
///
/// MIT 1.20 knows no `tcp/` or `udp/` prefix (Heimdal syntax) and no
/// `kkdcp://` scheme: such text becomes part of the host name, which then
/// fails to resolve.  Only the exact lowercase `https://` prefix is special.
/// The host ends at the first blank or `:`; anything after a blank is
/// silently ignored.
pub fn parse_server_value(v: &str, default_port: u16) -> KdcAddr {
    let mut notes = Vec::new();
    let mut transport = KdcTransport::UdpOrTcp;
    let mut hostspec = v;
    let mut uri_path = None;
    // parse_uri_if_https: exact, case-sensitive prefix.
    if let Some(rest) = v.strip_prefix("https://") {
        transport = KdcTransport::Https;
        match rest.find('/') {
            Some(i) => {
                hostspec = &rest[..i];
                uri_path = Some(rest[i + 1..].to_string());
            }
            None => hostspec = rest,
        }
    } else if v.len() >= 8 && v.as_bytes()[..8].eq_ignore_ascii_case(b"https://") {
        notes.push(
            "MIT recognises only a lowercase \"https://\" prefix; this entry is read as host:port and rejected"
                .to_string(),
        );
    }
    let lower = hostspec.to_ascii_lowercase();
    for prefix in ["tcp/", "udp/", "http/", "kkdcp/", "kkdcp://"] {
        if lower.starts_with(prefix) {
            notes.push(format!(
                "MIT 1.20 has no {prefix:?} prefix (Heimdal syntax); it is taken as part of the host name, which will not resolve"
            ));
            break;
        }
    }
    let default_port = if transport == KdcTransport::Https {
        443
    } else {
        default_port
    };
    match parse_host_string(hostspec, default_port) {
        Ok(HostPort {
            host: Some(host),
            port,
            ignored,
        }) => {
            if let Some(ignored) = ignored {
                notes.push(format!("MIT ignores the text after the host: {ignored:?}"));
            }
            if host.is_empty() {
                notes.push(
                    "empty host name: MIT accepts the entry but cannot resolve it".to_string(),
                );
            }
            KdcAddr {
                host: Some(host),
                port,
                transport,
                uri_path,
                error: None,
                notes,
            }
        }
        Ok(HostPort { host: None, .. }) => KdcAddr {
            host: None,
            port: 0,
            transport,
            uri_path,
            error: Some("Invalid argument: a port number alone is not a server".to_string()),
            notes,
        },
        Err(why) => KdcAddr {
            host: None,
            port: 0,
            transport,
            uri_path,
            error: Some(format!("Invalid argument: {why}")),
            notes,
        },
    }
}

struct HostPort {
    host: Option<String>,
    port: u16,
    /// Text MIT skips silently (after a blank following the host, or after
    /// `]` when no `:` follows).
    ignored: Option<String>,
}

/// `k5_parse_host_string` (1.20): `host[:port]`, `[host][:port]` or a bare
/// port number.
fn parse_host_string(address: &str, default_port: u16) -> Result<HostPort, &'static str> {
    let b = address.as_bytes();
    if b.is_empty() {
        return Err("empty value");
    }
    if b[0] == b':' {
        return Err("no host before ':'");
    }
    let (host, port, ignored) = if b.iter().all(u8::is_ascii_digit) {
        (None, Some(address), None)
    } else if let (Some(b'['), Some(close)) = (b.first(), address.find(']')) {
        let host = &address[1..close];
        let after = &address[close + 1..];
        match after.strip_prefix(':') {
            Some(port) => (Some(host), Some(port), None),
            None => (Some(host), None, (!after.is_empty()).then_some(after)),
        }
    } else {
        let end = address.find([' ', '\t', ':']).unwrap_or(address.len());
        let host = &address[..end];
        let rest = &address[end..];
        match rest.strip_prefix(':') {
            Some(port) => (Some(host), Some(port), None),
            None => (Some(host), None, (!rest.is_empty()).then_some(rest)),
        }
    };
    let port = match port {
        Some(p) => strtoul_port(p).ok_or("bad port number")?,
        None => default_port,
    };
    Ok(HostPort {
        host: host.map(str::to_string),
        port,
        ignored: ignored
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    })
}

/// `strtoul(s, &end, 10)` that must consume the whole string and stay within
/// 0..=65535, as `k5_parse_host_string` requires.  `strtoul` skips leading
/// blanks, accepts a sign, and negates modulo 2^64, so `-1` is out of range
/// while `-0` is 0.
fn strtoul_port(s: &str) -> Option<u16> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?; // overflow: ERANGE
    let n = if neg { n.wrapping_neg() } else { n };
    u16::try_from(n).ok()
}

// ---------------------------------------------------------------------------
// Loading and parsing
// ---------------------------------------------------------------------------

enum TopLevel {
    Tree(Tree),
    Module(ModuleDecl),
}

#[derive(Default)]
struct Loader {
    trees: Vec<Tree>,
    files: Vec<PathBuf>,
    warnings: Vec<Warning>,
    module: Option<ModuleDecl>,
    /// Canonical paths of files currently being parsed, for loop detection.
    open_stack: Vec<PathBuf>,
}

/// `prof_parse.c` parser states.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first line starting with `[`: everything else is ignored.
    InitComment,
    StdLine,
    /// After `name =` with nothing after `=`: the next line must start with
    /// `{`.
    GetObrace,
}

/// Per-file parser state; an included file gets a fresh one but shares the
/// tree, so fragments are syntactically independent.
struct ParseState {
    state: State,
    group_level: usize,
    current: NodeId,
}

/// C `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_blanks(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_space(b)).count();
    &s[n..]
}

/// `strip_line`: only trailing CR/LF, not other blanks.
fn strip_line(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = s {
        s = rest;
    }
    s
}

/// `parse_quoted_string`: up to the next unescaped `"` (or end of line);
/// `\n`, `\t`, `\b` are escapes, any other escaped byte stands for itself, a
/// final lone backslash is kept, and text after the closing quote is dropped.
fn parse_quoted(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() && s[i] != b'"' {
        if s[i] == b'\\' && i + 1 < s.len() {
            i += 1;
            out.push(match s[i] {
                b'n' => b'\n',
                b't' => b'\t',
                b'b' => 0x08,
                other => other,
            });
        } else {
            out.push(s[i]);
        }
        i += 1;
    }
    out
}

#[cfg(unix)]
fn bytes_to_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
fn bytes_to_path(b: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(b).into_owned())
}

#[cfg(unix)]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}

/// `~/` expansion of `profile_open_file` (top-level files only; `include`
/// paths are opened verbatim).
fn expand_home(entry: &str) -> PathBuf {
    if let Some(rest) = entry.strip_prefix("~/") {
        if let Some(home) = std::env::var_os("HOME") {
            let mut p = PathBuf::from(home);
            p.push(rest);
            return p;
        }
    }
    PathBuf::from(entry)
}

fn canonical(p: &Path) -> PathBuf {
    fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `valid_name` of `prof_parse.c`: no dotfiles; names ending in `.conf`, or
/// made only of ASCII alphanumerics, `-` and `_`.
fn includedir_name_ok(name: &[u8]) -> bool {
    if name.first() == Some(&b'.') {
        return false;
    }
    if name.len() >= 5 && name.ends_with(b".conf") {
        return true;
    }
    name.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Byte string to `String`, noting whether bytes were replaced.
fn text(b: &[u8], lossy: &mut bool) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => {
            *lossy = true;
            String::from_utf8_lossy(b).into_owned()
        }
    }
}

impl Loader {
    fn finish(self) -> Profile {
        Profile {
            trees: self.trees,
            files: self.files,
            warnings: self.warnings,
            module: self.module,
        }
    }

    fn warn(&mut self, kind: WarningKind, path: &Path, line: usize, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(Warning {
                kind,
                source: Source {
                    path: path.to_path_buf(),
                    line,
                },
                message,
            });
        }
    }

    /// `profile_update_file_data_locked`: a directory is read like an
    /// `includedir`, anything else is parsed as a file.
    fn top_level(&mut self, path: &Path, module_allowed: bool) -> Result<TopLevel, ProfileError> {
        let meta = fs::metadata(path).map_err(|e| ProfileError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut tree = Tree::new(path);
        if meta.is_dir() {
            // profile_process_directory: like an includedir at line 0.
            // profile_process_directory -> parse_include_dir: an unlistable
            // directory is PROF_FAIL_INCLUDE_DIR, which fails the whole load.
            let files =
                self.list_include_dir(path)
                    .map_err(|e| ProfileError::IncludeDirMissing {
                        path: path.to_path_buf(),
                        line: 0,
                        target: path.to_path_buf(),
                        source: e,
                    })?;
            for file in files {
                self.include_file(&mut tree, &file, path, 0, 0)?;
            }
            return Ok(TopLevel::Tree(tree));
        }
        let bytes = fs::read(path).map_err(|e| ProfileError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        self.files.push(path.to_path_buf());
        self.open_stack.push(canonical(path));
        let result = self.parse(&mut tree, &bytes, path, module_allowed, 0);
        self.open_stack.pop();
        Ok(match result? {
            Some(m) => TopLevel::Module(m),
            None => TopLevel::Tree(tree),
        })
    }

    /// Names in an include directory that MIT would read, in `strcmp` order,
    /// as `dir/name` paths; warns about skipped names.
    fn list_include_dir(&mut self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut names: Vec<Vec<u8>> = Vec::new();
        for entry in fs::read_dir(dir)? {
            names.push(name_bytes(&entry?.file_name()));
        }
        names.sort();
        let mut out = Vec::new();
        for name in names {
            let mut full = bytes_of_path(dir);
            full.push(b'/');
            full.extend_from_slice(&name);
            let full = bytes_to_path(&full);
            if includedir_name_ok(&name) {
                out.push(full);
            } else {
                self.warn(
                    WarningKind::IncludeDirSkipped,
                    &full,
                    0,
                    "not read by MIT: includedir takes only names ending in \".conf\" or made of letters, digits, '-' and '_' (no dotfiles)".to_string(),
                );
            }
        }
        Ok(out)
    }

    /// `parse_include_file`: open, parse with a fresh state into the same
    /// tree.  `depth` counts include levels below the top-level file.
    fn include_file(
        &mut self,
        tree: &mut Tree,
        target: &Path,
        from: &Path,
        line: usize,
        depth: usize,
    ) -> Result<(), ProfileError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(ProfileError::IncludeTooDeep {
                path: from.to_path_buf(),
                line,
                target: target.to_path_buf(),
            });
        }
        let missing = |e: io::Error| ProfileError::IncludeMissing {
            path: from.to_path_buf(),
            line,
            target: target.to_path_buf(),
            source: e,
        };
        // fopen() of a directory succeeds and the first fgets() fails, which
        // MIT's loop treats as end of file: nothing is read, no error.
        let meta = fs::metadata(target).map_err(missing)?;
        if meta.is_dir() {
            self.warn(
                WarningKind::IncludeIsDirectory,
                from,
                line,
                format!(
                    "{} is a directory: MIT reads nothing from it (use includedir)",
                    target.display()
                ),
            );
            return Ok(());
        }
        let canon = canonical(target);
        if self.open_stack.contains(&canon) {
            return Err(ProfileError::IncludeLoop {
                path: from.to_path_buf(),
                line,
                target: target.to_path_buf(),
            });
        }
        let bytes = fs::read(target).map_err(missing)?;
        self.files.push(target.to_path_buf());
        self.open_stack.push(canon);
        let result = self.parse(tree, &bytes, target, false, depth + 1);
        self.open_stack.pop();
        result.map(|_| ())
    }

    /// `parse_file` + `parse_line`: feed `bytes` to the state machine in
    /// `fgets`-sized pieces.  Returns the module declaration when one ends
    /// parsing.
    fn parse(
        &mut self,
        tree: &mut Tree,
        bytes: &[u8],
        path: &Path,
        module_allowed: bool,
        depth: usize,
    ) -> Result<Option<ModuleDecl>, ProfileError> {
        let mut st = ParseState {
            state: State::InitComment,
            group_level: 0,
            current: ROOT,
        };
        let mut lossy = false;
        let mut ignored_warned = false;
        let has_bom = bytes.starts_with(b"\xEF\xBB\xBF");
        if has_bom {
            self.warn(
                WarningKind::Bom,
                path,
                1,
                "file starts with a UTF-8 byte-order mark: MIT does not see '[' in column 0 and ignores every line up to the next line that starts with '['".to_string(),
            );
        }
        let mut pos = 0;
        let mut line_no = 1;
        while pos < bytes.len() {
            // fgets(buf, 2048, f): up to and including '\n', at most 2047 bytes.
            let window = &bytes[pos..bytes.len().min(pos + FGETS_CHUNK)];
            let (chunk, ends_line) = match window.iter().position(|&b| b == b'\n') {
                Some(i) => (&window[..=i], true),
                None => (window, false),
            };
            pos += chunk.len();
            if !ends_line && pos < bytes.len() {
                self.warn(
                    WarningKind::LongLineSplit,
                    path,
                    line_no,
                    "line longer than 2047 bytes: MIT parses the remainder as a separate line"
                        .to_string(),
                );
            }
            // C string functions stop at an embedded NUL.
            let line = match chunk.iter().position(|&b| b == 0) {
                Some(i) => &chunk[..i],
                None => chunk,
            };
            let before = st.state;
            let outcome = self.parse_line(
                tree,
                &mut st,
                line,
                path,
                line_no,
                module_allowed,
                depth,
                &mut lossy,
            )?;
            if let Some(m) = outcome {
                return Ok(Some(m));
            }
            if before == State::InitComment && st.state == State::InitComment && !ignored_warned {
                let t = skip_blanks(line);
                let meaningful = !t.is_empty() && t[0] != b'#' && t[0] != b';';
                let is_directive = line.starts_with(b"include") || line.starts_with(b"module");
                if meaningful && !is_directive && !(has_bom && line_no == 1) {
                    ignored_warned = true;
                    let what = if t.starts_with(b"[") {
                        "an indented section header"
                    } else if t.starts_with(b"include") {
                        "an indented include"
                    } else {
                        "this line"
                    };
                    self.warn(
                        WarningKind::IgnoredBeforeFirstSection,
                        path,
                        line_no,
                        format!("MIT ignores {what}: nothing counts before the first line that starts with '[' in column 0"),
                    );
                }
            }
            if ends_line {
                line_no += 1;
            }
        }
        if st.group_level > 0 {
            self.warn(
                WarningKind::UnclosedBrace,
                path,
                line_no.saturating_sub(1).max(1),
                format!(
                    "end of file inside {} unclosed '{{': MIT does not complain",
                    st.group_level
                ),
            );
        }
        if lossy {
            self.warn(
                WarningKind::InvalidUtf8,
                path,
                0,
                "bytes that are not UTF-8 were replaced by U+FFFD".to_string(),
            );
        }
        Ok(None)
    }

    /// `parse_line`: include directives first (in any state, column 0 only),
    /// then the state machine.
    #[allow(clippy::too_many_arguments)]
    fn parse_line(
        &mut self,
        tree: &mut Tree,
        st: &mut ParseState,
        line: &[u8],
        path: &Path,
        line_no: usize,
        module_allowed: bool,
        depth: usize,
        lossy: &mut bool,
    ) -> Result<Option<ModuleDecl>, ProfileError> {
        let directive = |word: &[u8]| {
            line.starts_with(word) && line.get(word.len()).is_some_and(|&b| is_space(b))
        };
        if directive(b"include") {
            let target = bytes_to_path(strip_line(skip_blanks(&line[7..])));
            self.note_relative(&target, path, line_no);
            self.include_file(tree, &target, path, line_no, depth)?;
            return Ok(None);
        }
        if directive(b"includedir") {
            let dir = bytes_to_path(strip_line(skip_blanks(&line[10..])));
            self.note_relative(&dir, path, line_no);
            let files =
                self.list_include_dir(&dir)
                    .map_err(|e| ProfileError::IncludeDirMissing {
                        path: path.to_path_buf(),
                        line: line_no,
                        target: dir.clone(),
                        source: e,
                    })?;
            for file in files {
                self.include_file(tree, &file, path, line_no, depth)?;
            }
            return Ok(None);
        }
        match st.state {
            State::InitComment => {
                if directive(b"module") {
                    if !module_allowed {
                        return Err(ProfileError::UnexpectedModule {
                            path: path.to_path_buf(),
                            line: line_no,
                        });
                    }
                    let spec = text(strip_line(skip_blanks(&line[6..])), lossy);
                    // parse_modspec: find ':' after an optional drive letter.
                    let skip = if spec.len() >= 2 && spec.as_bytes()[1] == b':' {
                        2
                    } else {
                        0
                    };
                    let Some(colon) = spec[skip..].find(':').map(|i| i + skip) else {
                        return Err(ProfileError::ModuleSyntax {
                            path: path.to_path_buf(),
                            line: line_no,
                            spec,
                        });
                    };
                    self.warn(
                        WarningKind::Module,
                        path,
                        line_no,
                        format!(
                            "MIT ignores this configuration and loads profile module {:?}; if that module file does not exist, krb5 silently runs with an empty configuration",
                            &spec[..colon]
                        ),
                    );
                    return Ok(Some(ModuleDecl {
                        path: spec[..colon].to_string(),
                        residual: spec[colon + 1..].to_string(),
                        spec,
                        source: Source {
                            path: path.to_path_buf(),
                            line: line_no,
                        },
                    }));
                }
                if line.first() != Some(&b'[') {
                    return Ok(None);
                }
                st.state = State::StdLine;
                self.parse_std_line(tree, st, line, path, line_no, lossy)?;
            }
            State::StdLine => self.parse_std_line(tree, st, line, path, line_no, lossy)?,
            State::GetObrace => {
                // Only the first non-blank byte matters; the rest of the line
                // (even "{ x = 1") is ignored.
                if skip_blanks(line).first() != Some(&b'{') {
                    return Err(syntax(path, line_no, SyntaxKind::MissingOpenBrace));
                }
                st.state = State::StdLine;
            }
        }
        Ok(None)
    }

    fn note_relative(&mut self, target: &Path, path: &Path, line_no: usize) {
        if target.is_relative() && !target.as_os_str().is_empty() {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "?".to_string());
            self.warn(
                WarningKind::RelativeInclude,
                path,
                line_no,
                format!(
                    "relative path {}: MIT resolves it against the current directory of the process ({cwd}), not against this file",
                    target.display()
                ),
            );
        }
    }

    /// `parse_std_line`.
    fn parse_std_line(
        &mut self,
        tree: &mut Tree,
        st: &mut ParseState,
        line: &[u8],
        path: &Path,
        line_no: usize,
        lossy: &mut bool,
    ) -> Result<(), ProfileError> {
        let src = || Source {
            path: path.to_path_buf(),
            line: line_no,
        };
        let cp = skip_blanks(line);
        // Comments are whole lines only, after optional blanks.
        if matches!(cp.first(), None | Some(b';') | Some(b'#')) {
            return Ok(());
        }
        let cp = strip_line(cp);
        if cp.is_empty() {
            return Ok(());
        }
        if cp[0] == b'[' {
            if st.group_level > 0 {
                return Err(syntax(path, line_no, SyntaxKind::SectionNotTop));
            }
            let rest = &cp[1..];
            let Some(close) = rest.iter().position(|&b| b == b']') else {
                return Err(syntax(path, line_no, SyntaxKind::SectionSyntax));
            };
            // Everything between '[' and the first ']' is the name, blanks
            // included.
            let raw = &rest[..close];
            if raw.first().is_some_and(|&b| is_space(b)) || raw.last().is_some_and(|&b| is_space(b))
            {
                self.warn(
                    WarningKind::SpacedSectionName,
                    path,
                    line_no,
                    format!(
                        "section name {:?} includes the blanks inside the brackets, so it does not match {:?}",
                        String::from_utf8_lossy(raw),
                        String::from_utf8_lossy(raw).trim()
                    ),
                );
            }
            let name = text(raw, lossy);
            let id = tree.section(ROOT, name, src());
            st.current = id;
            let mut after = &rest[close + 1..];
            if after.first() == Some(&b'*') {
                tree.nodes[id].final_flag = true;
                after = &after[1..];
            }
            if !skip_blanks(after).is_empty() {
                return Err(syntax(path, line_no, SyntaxKind::SectionSyntax));
            }
            return Ok(());
        }
        if cp[0] == b'}' {
            if st.group_level == 0 {
                return Err(syntax(path, line_no, SyntaxKind::ExtraCloseBrace));
            }
            // "}*" marks the subsection final; anything else after '}' is
            // ignored.
            if cp.get(1) == Some(&b'*') {
                tree.nodes[st.current].final_flag = true;
            }
            st.current = tree.nodes[st.current].parent;
            st.group_level -= 1;
            return Ok(());
        }
        // A relation: TAG [blanks] = VALUE
        let Some(eq) = cp.iter().position(|&b| b == b'=') else {
            return Err(syntax(path, line_no, SyntaxKind::RelationSyntax));
        };
        if eq == 0 {
            return Err(syntax(path, line_no, SyntaxKind::RelationSyntax));
        }
        let mut tag = &cp[..eq];
        if let Some(sp) = tag.iter().position(|&b| is_space(b)) {
            if !tag[sp..].iter().all(|&b| is_space(b)) {
                return Err(syntax(path, line_no, SyntaxKind::RelationSyntax));
            }
            tag = &tag[..sp];
        }
        let value = skip_blanks(&cp[eq + 1..]);
        enum Kind {
            Sub,
            Value(Vec<u8>, bool),
        }
        let kind = if value.first() == Some(&b'"') {
            Kind::Value(parse_quoted(&value[1..]), true)
        } else if value.is_empty() {
            st.state = State::GetObrace;
            Kind::Sub
        } else if value[0] == b'{' && skip_blanks(&value[1..]).is_empty() {
            Kind::Sub
        } else {
            // Trailing blanks go; everything else up to the end of the line
            // (including '#' or ';') is the value.
            let keep = value.len() - value.iter().rev().take_while(|&&b| is_space(b)).count();
            Kind::Value(value[..keep.max(1)].to_vec(), false)
        };
        // '*' anywhere in the tag ends the name and marks the node final.
        let (tag, final_flag) = match tag.iter().position(|&b| b == b'*') {
            Some(i) => (&tag[..i], true),
            None => (tag, false),
        };
        let name = text(tag, lossy);
        match kind {
            Kind::Sub => {
                let id = tree.section(st.current, name, src());
                if final_flag {
                    tree.nodes[id].final_flag = true;
                }
                st.current = id;
                st.group_level += 1;
            }
            Kind::Value(v, quoted) => {
                if !quoted && has_inline_comment(&v) {
                    self.warn(
                        WarningKind::InlineComment,
                        path,
                        line_no,
                        format!(
                            "value {:?} contains a comment marker: MIT has no trailing comments, it is part of the value",
                            String::from_utf8_lossy(&v)
                        ),
                    );
                }
                if final_flag {
                    self.warn(
                        WarningKind::FinalRelation,
                        path,
                        line_no,
                        format!("'*' on relation {name:?} has no effect: MIT honours the final flag only on sections"),
                    );
                }
                let v = text(&v, lossy);
                let id = tree.push(st.current, name, Some(v), src());
                tree.nodes[id].final_flag = final_flag;
            }
        }
        Ok(())
    }
}

fn bytes_of_path(p: &Path) -> Vec<u8> {
    name_bytes(p.as_os_str())
}

fn has_inline_comment(v: &[u8]) -> bool {
    v.windows(2)
        .any(|w| is_space(w[0]) && (w[1] == b'#' || w[1] == b';'))
}

fn syntax(path: &Path, line: usize, kind: SyntaxKind) -> ProfileError {
    ProfileError::Syntax {
        path: path.to_path_buf(),
        line,
        kind,
    }
}

#[cfg(test)]
mod tests {
    //! Expected values are MIT krb5 1.20.1's own verdicts, obtained by
    //! loading each input with `krb5_init_context` (KRB5_CONFIG=file) in the
    //! system libkrb5.so.3 and querying `profile_get_values` & co through
    //! ctypes, unless a comment says otherwise.

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static COUNTER: AtomicUsize = AtomicUsize::new(0);

    /// A unique temporary directory, removed on drop (no tempfile crate).
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
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

        fn file(&self, name: &str, content: &[u8]) -> PathBuf {
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

    fn origin() -> &'static Path {
        Path::new("/test/krb5.conf")
    }

    fn parse(text: &str) -> Profile {
        parse_str(text, origin()).unwrap_or_else(|e| {
            let shown: String = text.chars().take(200).collect();
            panic!("unexpected error {e} for {shown:?}")
        })
    }

    fn syntax_kind(text: &str) -> Option<SyntaxKind> {
        match parse_str(text, origin()) {
            Err(ProfileError::Syntax { kind, .. }) => Some(kind),
            Err(e) => panic!("unexpected non-syntax error {e}"),
            Ok(_) => None,
        }
    }

    /// Inputs MIT rejects, with the error prof_parse.c returns (krb5 reports
    /// all of them as "Improper format of Kerberos configuration file").
    #[test]
    fn syntax_errors_match_mit() {
        use SyntaxKind::*;
        let cases: &[(&str, &str, SyntaxKind)] = &[
            // Text after ']' other than '*' and blanks.
            ("section trailing junk", "[a] junk\n y = 2\n", SectionSyntax),
            // '*' must follow ']' directly.
            ("blank before star", "[a] *\n", SectionSyntax),
            ("star then junk", "[a]*junk\n", SectionSyntax),
            ("unclosed header", "[a\n y = 2\n", SectionSyntax),
            // strchr(']') finds the first ']', the second is junk.
            ("double bracket", "[a]]\n x = 1\n", SectionSyntax),
            (
                "header inside braces",
                "[a]\n s = {\n[b]\n }\n",
                SectionNotTop,
            ),
            ("no equals", "[a]\n justaword\n", RelationSyntax),
            ("starts with equals", "[a]\n = 3\n", RelationSyntax),
            ("blank inside name", "[a]\n foo bar = 3\n", RelationSyntax),
            ("bracketed relation name", "[a]\n [x] = 1\n", SectionSyntax),
            // Upper-case directive is not a directive but a relation without '='.
            ("INCLUDE upper-case", "[a]\nINCLUDE /x\n", RelationSyntax),
            // Indented include inside a section is parsed as a relation.
            ("indented include", "[a]\n include /etc/x\n", RelationSyntax),
            ("extra close brace", "[a]\n }\n", ExtraCloseBrace),
            (
                "extra close after block",
                "[a]\n s = {\n y = 1\n }\n }\n",
                ExtraCloseBrace,
            ),
            // An empty value opens a subsection; the next line must be '{'.
            (
                "empty value then section",
                "[a]\n x =\n[b]\n y = 1\n",
                MissingOpenBrace,
            ),
            (
                "blank line before brace",
                "[a]\n x =\n\n {\n }\n",
                MissingOpenBrace,
            ),
            (
                "comment before brace",
                "[a]\n s =\n # c\n {\n }\n",
                MissingOpenBrace,
            ),
            // The brace was never closed, so [b] is not at top level.
            (
                "unclosed then section",
                "[a]\n x = {\n y = 1\n[b]\n",
                SectionNotTop,
            ),
            // fgets only splits at '\n': old-Mac CR-only files are one line.
            ("CR-only line ends", "[a]\r x = 1\r y = 2\r", SectionSyntax),
            (
                "module inside a section",
                "[a]\nmodule foo:bar\n x = 1\n",
                RelationSyntax,
            ),
        ];
        for (name, text, kind) in cases {
            assert_eq!(syntax_kind(text), Some(*kind), "{name}: {text:?}");
        }
    }

    /// Inputs MIT accepts, and the value it then returns.
    #[test]
    fn accepted_inputs_match_mit() {
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            ("basic", "[a]\n x = 1\n", &["a", "x"], &["1"]),
            (
                "hash comment",
                "[a]\n # x = 1\n x = 2\n",
                &["a", "x"],
                &["2"],
            ),
            ("semicolon comment", "[a]\n ; x = 1\n", &["a", "x"], &[]),
            // No trailing comments: the rest of the line is the value.
            (
                "hash inside value",
                "[a]\n x = host # c\n",
                &["a", "x"],
                &["host # c"],
            ),
            // Lines before the first column-0 '[' are ignored, not errors.
            (
                "relation before section",
                "x = 1\n[a]\n y = 2\n",
                &["a", "y"],
                &["2"],
            ),
            (
                "garbage before section",
                "garbage {{{ }}}\n[a]\n y = 2\n",
                &["a", "y"],
                &["2"],
            ),
            // An indented first header is ignored together with its section.
            (
                "indented first header",
                " [a]\n y = 2\n[b]\n z = 3\n",
                &["a", "y"],
                &[],
            ),
            (
                "indented later header",
                "[b]\n z = 3\n  [a]\n y = 2\n",
                &["a", "y"],
                &["2"],
            ),
            ("blanks after ]", "[a]   \n y = 2\n", &["a", "y"], &["2"]),
            ("final header", "[a]*\n y = 2\n", &["a", "y"], &["2"]),
            ("final header blank", "[a]* \n y = 2\n", &["a", "y"], &["2"]),
            // Blanks inside brackets belong to the name.
            ("spaced name", "[ a ]\n y = 2\n", &["a", "y"], &[]),
            (
                "spaced name exact",
                "[ a ]\n y = 2\n",
                &[" a ", "y"],
                &["2"],
            ),
            ("empty section name", "[]\n y = 2\n", &["", "y"], &["2"]),
            (
                "tab before equals",
                "[a]\n foo\t= 3\n",
                &["a", "foo"],
                &["3"],
            ),
            ("no blanks", "[a]\nfoo=3\n", &["a", "foo"], &["3"]),
            (
                "vertical tab and form feed are blanks",
                "[a]\n\x0bx\x0c=\x0b1\x0c\n",
                &["a", "x"],
                &["1"],
            ),
            // '*' ends the name wherever it is.
            (
                "star inside name",
                "[a]\n kdc*x = 3\n",
                &["a", "kdc"],
                &["3"],
            ),
            ("star only name", "[a]\n * = 1\n", &["a", ""], &["1"]),
            (
                "quoted escapes",
                "[a]\n x = \"a b\\tc\\nd\\\\e\\\"f\" trailing\n",
                &["a", "x"],
                &["a b\tc\nd\\e\"f"],
            ),
            // Unterminated: rest of line, trailing blanks kept.
            (
                "unterminated quote",
                "[a]\n x = \"abc   \n",
                &["a", "x"],
                &["abc   "],
            ),
            (
                "lone trailing backslash",
                "[a]\n x = \"abc\\\n",
                &["a", "x"],
                &["abc\\"],
            ),
            ("empty quotes", "[a]\n x = \"\"\n", &["a", "x"], &[""]),
            (
                "unknown escapes",
                "[a]\n x = \"\\q\\r\"\n",
                &["a", "x"],
                &["qr"],
            ),
            (
                "quote inside value",
                "[a]\n x = a\"b\"\n",
                &["a", "x"],
                &["a\"b\""],
            ),
            (
                "quoted blanks kept",
                "[a]\n x = \"  a  \"\n",
                &["a", "x"],
                &["  a  "],
            ),
            (
                "text after quote dropped",
                "[a]\n x = \"a b\"   \n",
                &["a", "x"],
                &["a b"],
            ),
            (
                "quoted brace",
                "[a]\n x = \"{\"\n y = 1\n",
                &["a", "x"],
                &["{"],
            ),
            (
                "trailing blanks stripped",
                "[a]\n x = v \t \n",
                &["a", "x"],
                &["v"],
            ),
            ("equals in value", "[a]\n x = a=b\n", &["a", "x"], &["a=b"]),
            ("star value", "[a]\n x = *\n", &["a", "x"], &["*"]),
            (
                "brace pair is a value",
                "[a]\n x = { }\n",
                &["a", "x"],
                &["{ }"],
            ),
            (
                "brace with content is a value",
                "[a]\n x = {y = 1}\n",
                &["a", "x"],
                &["{y = 1}"],
            ),
            (
                "brace text is a value",
                "[a]\n x = {abc\n",
                &["a", "x"],
                &["{abc"],
            ),
            (
                "empty value then brace",
                "[a]\n x =\n {\n y = 1\n }\n",
                &["a", "x", "y"],
                &["1"],
            ),
            // Only the first byte of the brace line is checked.
            (
                "junk after open brace",
                "[a]\n x =\n { junk\n y = 1\n }\n",
                &["a", "x", "y"],
                &["1"],
            ),
            (
                "blanks after open brace",
                "[a]\n x = {   \n y = 1\n }\n",
                &["a", "x", "y"],
                &["1"],
            ),
            (
                "junk after close brace",
                "[a]\n x = {\n y = 1\n } junk\n z = 2\n",
                &["a", "z"],
                &["2"],
            ),
            (
                "final close brace",
                "[a]\n x = {\n y = 1\n }*\n",
                &["a", "x", "y"],
                &["1"],
            ),
            (
                "junk after }*",
                "[a]\n s = {\n y = 1\n }*junk\n",
                &["a", "s", "y"],
                &["1"],
            ),
            // Unclosed braces at end of file are not an error.
            (
                "unclosed at eof",
                "[a]\n x = {\n y = 1\n",
                &["a", "x", "y"],
                &["1"],
            ),
            (
                "dangling empty value at eof",
                "[a]\n x =\n",
                &["a", "x"],
                &[],
            ),
            (
                "duplicate sections merge",
                "[a]\n x = 1\n[b]\n q = 0\n[a]\n x = 2\n",
                &["a", "x"],
                &["1", "2"],
            ),
            (
                "duplicate relations in order",
                "[a]\n x = 2\n x = 1\n x = 3\n",
                &["a", "x"],
                &["2", "1", "3"],
            ),
            // strcmp: names are case-sensitive.
            ("case sensitive section", "[A]\n X = 1\n", &["a", "x"], &[]),
            ("case sensitive name", "[A]\n X = 1\n", &["A", "x"], &[]),
            ("case exact", "[A]\n X = 1\n", &["A", "X"], &["1"]),
            // Since 1.17 duplicate subsections are merged (prof_tree.c).
            (
                "duplicate subsections merge",
                "[r]\n E = {\n kdc = a\n }\n E = {\n kdc = b\n admin = c\n }\n",
                &["r", "E", "kdc"],
                &["a", "b"],
            ),
            (
                "merged subsection sees later names",
                "[r]\n E = {\n kdc = a\n }\n E = {\n admin = c\n }\n",
                &["r", "E", "admin"],
                &["c"],
            ),
            (
                "relation and subsection share a name",
                "[r]\n k = 1\n k = {\n x = 2\n }\n",
                &["r", "k"],
                &["1"],
            ),
            (
                "subsection beside relation",
                "[r]\n k = 1\n k = {\n x = 2\n }\n",
                &["r", "k", "x"],
                &["2"],
            ),
            (
                "crlf",
                "[a]\r\n x = 1\r\n s = {\r\n y = \"q\"\r\n }\r\n",
                &["a", "s", "y"],
                &["q"],
            ),
            ("no final newline", "[a]\n x = 1", &["a", "x"], &["1"]),
            // A path whose last element is a section has no value.
            (
                "section is not a value",
                "[a]\n s = {\n }\n",
                &["a", "s"],
                &[],
            ),
            // Module lines are only recognised in column 0.
            (
                "indented module ignored",
                " module foo:bar\n[a]\n x = 1\n",
                &["a", "x"],
                &["1"],
            ),
        ];
        for (name, text, path, want) in cases {
            assert_eq!(parse(text).values(path), *want, "{name}: {text:?}");
        }
    }

    #[test]
    fn bom_hides_first_section() {
        // MIT: values(a,x) not found, values(b,y) = ["2"].
        let p = parse("\u{feff}[a]\n x = 1\n[b]\n y = 2\n");
        assert!(p.values(&["a", "x"]).is_empty());
        assert_eq!(p.values(&["b", "y"]), ["2"]);
        assert!(p.warnings().iter().any(|w| w.kind == WarningKind::Bom));
        // A BOM before a comment line is harmless (MIT: x = 1).
        let p = parse("\u{feff}# c\n[a]\n x = 1\n");
        assert_eq!(p.values(&["a", "x"]), ["1"]);
    }

    #[test]
    fn crlf_everywhere() {
        let p = parse(
            "[libdefaults]\r\n default_realm = EXAMPLE.COM\r\n[realms]\r\n EXAMPLE.COM = {\r\n  kdc = dc1:88\r\n }\r\n[domain_realm]\r\n .example.com = EXAMPLE.COM\r\n",
        );
        assert_eq!(
            p.first(&["libdefaults", "default_realm"]),
            Some("EXAMPLE.COM")
        );
        assert_eq!(p.values(&["realms", "EXAMPLE.COM", "kdc"]), ["dc1:88"]);
        assert_eq!(
            domain_realm(&p, "web.example.com"),
            Some(("EXAMPLE.COM".to_string(), ".example.com".to_string()))
        );
    }

    #[test]
    fn ordering_and_names_match_mit() {
        // MIT sorts children by strcmp: subsection names ['A', 'M', 'Z'].
        let p = parse("[r]\n Z = {\n }\n A = {\n }\n M = {\n }\n");
        assert_eq!(p.subsection_names(&["r"]), ["A", "M", "Z"]);
        assert_eq!(p.subsection_names(&[]), ["r"]);
        // Relation names are sorted and deduplicated: ['a', 'z'].
        let p = parse("[r]\n z = 1\n a = 2\n z = 3\n s = {\n }\n");
        assert_eq!(p.relation_names(&["r"]), ["a", "z"]);
        // Merged duplicates are listed once: ['E'].
        let p = parse("[r]\n E = {\n kdc = a\n }\n E = {\n kdc = b\n }\n");
        assert_eq!(p.subsection_names(&["r"]), ["E"]);
        // Top-level section list after merging: ['a', 'b'].
        let p = parse("[a]\n x = 1\n[b]\n q = 0\n[a]\n y = 3\n");
        assert_eq!(p.subsection_names(&[]), ["a", "b"]);
        assert_eq!(p.values(&["a", "y"]), ["3"]);
        // The star ends the name: relation names ['kdc'].
        assert_eq!(parse("[a]\n kdc*x = 3\n").relation_names(&["a"]), ["kdc"]);
        // A name used for both: subsections ['k'], relations ['k'].
        let p = parse("[r]\n k = 1\n k = {\n x = 2\n }\n");
        assert_eq!(p.subsection_names(&["r"]), ["k"]);
        assert_eq!(p.relation_names(&["r"]), ["k"]);
    }

    #[test]
    fn booleans_match_mit() {
        // MIT profile_get_boolean: "YeS" -> 1, "nil" -> 0, "maybe" and
        // "\"true \"" -> Invalid boolean value; only the first value counts.
        let p = parse(
            "[a]\n b = YeS\n n = nil\n m = maybe\n w = \"true \"\n f = junk\n f = true\n o = OFF\n",
        );
        assert_eq!(p.boolean(&["a", "b"]), Some(Ok(true)));
        assert_eq!(p.boolean(&["a", "n"]), Some(Ok(false)));
        assert_eq!(p.boolean(&["a", "o"]), Some(Ok(false)));
        assert_eq!(p.boolean(&["a", "m"]), Some(Err("maybe".to_string())));
        assert!(matches!(p.boolean(&["a", "w"]), Some(Err(_))));
        assert!(matches!(p.boolean(&["a", "f"]), Some(Err(_))));
        assert_eq!(p.boolean(&["a", "absent"]), None);
        for w in ["y", "yes", "true", "t", "1", "on", "TRUE", "On"] {
            assert_eq!(parse_boolean(w), Some(true), "{w}");
        }
        for w in ["n", "no", "false", "nil", "0", "off", "NIL"] {
            assert_eq!(parse_boolean(w), Some(false), "{w}");
        }
        assert!(!parse_boolean_lax("maybe"));
    }

    #[test]
    fn long_lines_are_split_like_fgets() {
        // 2047 bytes + '\n' fit in one fgets call: value of 2042 bytes.
        let v = "v".repeat(2047 - 5);
        let p = parse(&format!("[a]\n x = {v}\n"));
        assert_eq!(p.values(&["a", "x"]), [v.as_str()]);
        // 2048 bytes: the 2048th byte becomes a line "v" without '=' (MIT:
        // Improper format).
        let v = "v".repeat(2048 - 5);
        assert_eq!(
            syntax_kind(&format!("[a]\n x = {v}\n")),
            Some(SyntaxKind::RelationSyntax)
        );
        // The cut-off tail is parsed as a relation of its own (MIT: z = 1).
        let v = "v".repeat(2047 - 5);
        let p = parse(&format!("[a]\n x = {v} z = 1\n"));
        assert_eq!(p.values(&["a", "z"]), ["1"]);
        assert_eq!(p.values(&["a", "x"]), [v.as_str()]);
        assert!(
            p.warnings()
                .iter()
                .any(|w| w.kind == WarningKind::LongLineSplit)
        );
    }

    #[test]
    fn nul_byte_ends_the_line() {
        // MIT: x = "ab" (C strings stop at NUL), y = "2".
        let p = parse_bytes(b"[a]\n x = ab\x00cd\n y = 2\n", origin()).unwrap();
        assert_eq!(p.values(&["a", "x"]), ["ab"]);
        assert_eq!(p.values(&["a", "y"]), ["2"]);
    }

    #[test]
    fn non_utf8_is_kept_lossily() {
        let p = parse_bytes(b"[a]\n x = caf\xe9\n", origin()).unwrap();
        assert_eq!(p.values(&["a", "x"]), ["caf\u{fffd}"]);
        assert!(
            p.warnings()
                .iter()
                .any(|w| w.kind == WarningKind::InvalidUtf8)
        );
        // Non-ASCII bytes are not blanks for MIT (C locale isspace): a
        // no-break space before a name is part of it.
        let p = parse("[a]\n\u{a0}x = 1\n");
        assert_eq!(p.relation_names(&["a"]), ["\u{a0}x"]);
    }

    #[test]
    fn warnings_for_silent_surprises() {
        let p = parse("default_realm = X\n[a]\n x = h # c\n y* = 1\n[ realms ]\n s = {\n");
        let kinds: Vec<WarningKind> = p.warnings().iter().map(|w| w.kind).collect();
        assert!(kinds.contains(&WarningKind::IgnoredBeforeFirstSection));
        assert!(kinds.contains(&WarningKind::InlineComment));
        assert!(kinds.contains(&WarningKind::FinalRelation));
        assert!(kinds.contains(&WarningKind::SpacedSectionName));
        assert!(kinds.contains(&WarningKind::UnclosedBrace));
        let w = p
            .warnings()
            .iter()
            .find(|w| w.kind == WarningKind::InlineComment)
            .unwrap();
        assert_eq!(w.source.line, 3);
    }

    #[test]
    fn value_sources_name_file_and_line() {
        let p = parse("[a]\n\n x = 1\n x = 2\n");
        let s = p.value_source(&["a", "x"]).unwrap();
        assert_eq!((s.path.as_path(), s.line), (origin(), 3));
        let lines: Vec<usize> = p
            .value_sources(&["a", "x"])
            .iter()
            .map(|s| s.line)
            .collect();
        assert_eq!(lines, [3, 4]);
        assert_eq!(p.files(), [origin().to_path_buf()]);
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let e = parse_str("[a]\n x = 1\n oops\n", origin()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/test/krb5.conf:3: Syntax error in profile relation"
        );
        assert_eq!(e.krb5_init_message(), MSG_CONFIG_BADFORMAT);
        assert_eq!(e.location().unwrap().line, 3);
    }

    #[test]
    fn module_directive() {
        // MIT, first file: parsing stops and the module is loaded instead
        // (init succeeded with an empty profile because the module was
        // missing).
        let p = parse("# c\nmodule /nonexistent/lib.so:arg\n[a]\n x = 1\n");
        let m = p.module().unwrap();
        assert_eq!(
            (m.path.as_str(), m.residual.as_str(), m.source.line),
            ("/nonexistent/lib.so", "arg", 2)
        );
        assert!(p.values(&["a", "x"]).is_empty());
        // MIT: "Invalid syntax of module declaration in profile".
        let e = parse_str("module nocolon\n[a]\n", origin()).unwrap_err();
        assert!(matches!(e, ProfileError::ModuleSyntax { line: 1, .. }));
        assert_eq!(e.krb5_init_message(), MSG_MODULE_SYNTAX);
        // A Windows drive letter is skipped when looking for ':'.
        let p = parse("module C:\\mod.dll:x\n");
        assert_eq!(p.module().unwrap().path, "C:\\mod.dll");
    }

    #[test]
    fn include_follows_files_and_keeps_state() {
        let dir = TempDir::new("inc");
        let inc = dir.file("inc.conf", b"[a]\n y = 2\n[b]\n z = 3\n");
        let main = format!("[a]\n x = 1\ninclude {}\n w = 4\n", inc.display());
        let p = parse(&main);
        // MIT: the includer stays in [a] after the include: w under a, not b.
        assert_eq!(p.values(&["a", "x"]), ["1"]);
        assert_eq!(p.values(&["a", "y"]), ["2"]);
        assert_eq!(p.values(&["a", "w"]), ["4"]);
        assert_eq!(p.values(&["b", "z"]), ["3"]);
        assert!(p.values(&["b", "w"]).is_empty());
        assert_eq!(p.files(), [origin().to_path_buf(), inc.clone()]);
        assert_eq!(p.value_source(&["a", "y"]).unwrap().path, inc);

        // Order: before, included, after (MIT: ['before', 'inc', 'after']).
        let inc2 = dir.file("order.conf", b"[s]\n k = inc\n");
        let p = parse(&format!(
            "[s]\n k = before\ninclude {}\n k = after\n",
            inc2.display()
        ));
        assert_eq!(p.values(&["s", "k"]), ["before", "inc", "after"]);

        // Include before any section and inside braces / after "name =".
        let p = parse(&format!("include {}\n[a]\n x = 1\n", inc.display()));
        assert_eq!(p.values(&["a", "y"]), ["2"]);
        let p = parse(&format!(
            "[a]\n s =\ninclude {}\n {{\n q = 1\n }}\n",
            inc.display()
        ));
        assert_eq!(p.values(&["a", "s", "q"]), ["1"]);
        assert_eq!(p.values(&["a", "y"]), ["2"]);
        // Tab after the keyword works.
        let p = parse(&format!("[a]\ninclude\t{}\n", inc.display()));
        assert_eq!(p.values(&["a", "y"]), ["2"]);

        // Indented include before the first section is silently ignored.
        let p = parse(&format!(" include {}\n[a]\n x = 1\n", inc.display()));
        assert!(p.values(&["a", "y"]).is_empty());

        // The included file has its own state: its unclosed brace does not
        // swallow the includer's lines, and its lines before a section are
        // ignored (MIT: x = 1, s/y = 1, s/x absent; k = ['0', 'x']).
        let open = dir.file("open.conf", b"[a]\n s = {\n y = 1\n");
        let p = parse(&format!("[a]\ninclude {}\n x = 1\n", open.display()));
        assert_eq!(p.values(&["a", "x"]), ["1"]);
        assert_eq!(p.values(&["a", "s", "y"]), ["1"]);
        assert!(p.values(&["a", "s", "x"]).is_empty());
        let orphan = dir.file("orphan.conf", b"k = orphan\n[s]\n k = x\n");
        let p = parse(&format!("[s]\n k = 0\ninclude {}\n", orphan.display()));
        assert_eq!(p.values(&["s", "k"]), ["0", "x"]);

        // A BOM in an included file hides its first section too.
        let bom = dir.file("bom.conf", "\u{feff}[a]\n y = 1\n".as_bytes());
        let p = parse(&format!("[a]\n x = 1\ninclude {}\n", bom.display()));
        assert!(p.values(&["a", "y"]).is_empty());

        // A directory as include target: MIT reads nothing, no error.
        let p = parse(&format!("[a]\n x = 1\ninclude {}\n", dir.0.display()));
        assert_eq!(p.values(&["a", "x"]), ["1"]);
        assert!(
            p.warnings()
                .iter()
                .any(|w| w.kind == WarningKind::IncludeIsDirectory)
        );

        // A module line in an included file: "Unexpected module declaration".
        let m = dir.file("mod.conf", b"module foo:bar\n[a]\n");
        let e = parse_str(&format!("include {}\n", m.display()), origin()).unwrap_err();
        assert!(matches!(e, ProfileError::UnexpectedModule { .. }), "{e}");

        // A syntax error in an included file names that file.
        let bad = dir.file("bad.conf", b"[a]\n y = \n q\n");
        let e = parse_str(&format!("[a]\ninclude {}\n", bad.display()), origin()).unwrap_err();
        match e {
            ProfileError::Syntax { path, line, kind } => {
                assert_eq!((path, line, kind), (bad, 3, SyntaxKind::MissingOpenBrace));
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn missing_include_is_an_error_naming_file_and_line() {
        // MIT: krb5_init_context fails with "Included profile file could not
        // be read".
        let e = parse_str(
            "[a]\n x = 1\ninclude /nonexistent/krbprobe/x.conf\n",
            origin(),
        )
        .unwrap_err();
        match &e {
            ProfileError::IncludeMissing {
                path, line, target, ..
            } => {
                assert_eq!(path.as_path(), origin());
                assert_eq!(*line, 3);
                assert_eq!(target, Path::new("/nonexistent/krbprobe/x.conf"));
            }
            other => panic!("unexpected {other}"),
        }
        let msg = e.to_string();
        assert!(
            msg.starts_with("/test/krb5.conf:3: include /nonexistent/krbprobe/x.conf:"),
            "{msg}"
        );
        assert!(msg.contains(MSG_FAIL_INCLUDE_FILE), "{msg}");
        assert_eq!(e.krb5_init_message(), MSG_FAIL_INCLUDE_FILE);

        // Trailing blanks are part of the file name (only CR/LF are stripped),
        // so an existing file followed by a space fails too.
        let dir = TempDir::new("trail");
        let inc = dir.file("inc.conf", b"[a]\n y = 2\n");
        let e = parse_str(&format!("[a]\ninclude {} \n", inc.display()), origin()).unwrap_err();
        assert!(
            matches!(e, ProfileError::IncludeMissing { line: 2, .. }),
            "{e}"
        );
        // "include" with no argument opens "" and fails.
        let e = parse_str("[a]\ninclude\n", origin()).unwrap_err();
        assert!(matches!(e, ProfileError::IncludeMissing { .. }), "{e}");
        // "~" is not expanded in include lines.
        let e = parse_str("include ~/krbprobe-no-such.conf\n", origin()).unwrap_err();
        assert!(matches!(e, ProfileError::IncludeMissing { .. }), "{e}");
    }

    #[test]
    fn includedir_name_rules_and_order() {
        let dir = TempDir::new("incdir");
        let d = dir.0.join("conf.d");
        let names = [
            ("a.conf", "p"),
            ("b", "q"),
            ("c-d_e", "r"),
            ("x.conf~", "s"),
            (".hidden.conf", "t"),
            ("f.txt", "u"),
            ("g.rpmsave", "v"),
            ("h.CONF", "w"),
            ("Z9", "x"),
            ("\u{e9}", "y"),
            ("sp ace", "z"),
            (".conf", "aa"),
            ("dots.in.conf", "bb"),
        ];
        for (n, v) in names {
            dir.file(
                &format!("conf.d/{n}"),
                format!("[s]\n k = {v}\n").as_bytes(),
            );
        }
        fs::create_dir_all(d.join("subdir")).unwrap();
        let p = parse(&format!("includedir {}\n", d.display()));
        // MIT: ['x_Z9', 'p_a.conf', 'q_b', 'r_c-d_e', 'bb_dots.in.conf'] --
        // strcmp order (uppercase first), subdirectory read as empty.
        assert_eq!(p.values(&["s", "k"]), ["x", "p", "q", "r", "bb"]);
        let skipped = p
            .warnings()
            .iter()
            .filter(|w| w.kind == WarningKind::IncludeDirSkipped)
            .count();
        assert_eq!(skipped, 8);
        // Trailing slash is fine.
        let p = parse(&format!("includedir {}/\n", d.display()));
        assert_eq!(p.values(&["s", "k"]).len(), 5);
        // A directory given as a top-level file is read like an includedir.
        let p = load(&d).unwrap();
        assert_eq!(p.values(&["s", "k"]), ["x", "p", "q", "r", "bb"]);
        // Empty directory: fine.
        let empty = dir.0.join("empty");
        fs::create_dir_all(&empty).unwrap();
        let p = parse(&format!("includedir {}\n[a]\n x = 1\n", empty.display()));
        assert_eq!(p.values(&["a", "x"]), ["1"]);
    }

    #[test]
    fn includedir_errors() {
        // MIT: "Included profile directory could not be read".
        let e = parse_str("[a]\nincludedir /nonexistent/krbprobe.d\n", origin()).unwrap_err();
        match &e {
            ProfileError::IncludeDirMissing {
                path, line, target, ..
            } => {
                assert_eq!((path.as_path(), *line), (origin(), 2));
                assert_eq!(target, Path::new("/nonexistent/krbprobe.d"));
            }
            other => panic!("unexpected {other}"),
        }
        assert_eq!(e.krb5_init_message(), MSG_FAIL_INCLUDE_DIR);
        // includedir naming a regular file fails the same way.
        let dir = TempDir::new("incdirerr");
        let f = dir.file("plain", b"[a]\n");
        let e = parse_str(&format!("includedir {}\n", f.display()), origin()).unwrap_err();
        assert!(matches!(e, ProfileError::IncludeDirMissing { .. }), "{e}");
        // A dangling symlink with a valid name: "Included profile file could
        // not be read".
        #[cfg(unix)]
        {
            let d = dir.0.join("d");
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("a.conf"), b"[s]\n k = 1\n").unwrap();
            std::os::unix::fs::symlink("/nonexistent/krbprobe", d.join("b.conf")).unwrap();
            let e = parse_str(&format!("includedir {}\n", d.display()), origin()).unwrap_err();
            assert!(
                matches!(e, ProfileError::IncludeMissing { line: 1, .. }),
                "{e}"
            );
        }
    }

    #[test]
    fn include_loops_are_caught() {
        // MIT fails with "Included profile file could not be read" once it
        // runs out of file descriptors; we stop at the loop.
        let dir = TempDir::new("loop");
        let a = dir.0.join("a.conf");
        let b = dir.0.join("b.conf");
        fs::write(&a, format!("[s]\n k = a\ninclude {}\n", b.display())).unwrap();
        fs::write(&b, format!("[s]\n k = b\ninclude {}\n", a.display())).unwrap();
        let e = load(&a).unwrap_err();
        assert!(matches!(e, ProfileError::IncludeLoop { .. }), "{e}");
        assert_eq!(e.krb5_init_message(), MSG_FAIL_INCLUDE_FILE);
        let selfp = dir.0.join("self.conf");
        fs::write(&selfp, format!("include {}\n", selfp.display())).unwrap();
        assert!(matches!(
            load(&selfp),
            Err(ProfileError::IncludeLoop { line: 1, .. })
        ));
        // A long chain of distinct files stops at the depth cap.
        for i in 0..=MAX_INCLUDE_DEPTH + 1 {
            let next = dir.0.join(format!("chain{}.conf", i + 1));
            fs::write(
                dir.0.join(format!("chain{i}.conf")),
                format!("include {}\n", next.display()),
            )
            .unwrap();
        }
        assert!(matches!(
            load(&dir.0.join("chain0.conf")),
            Err(ProfileError::IncludeTooDeep { .. })
        ));
    }

    #[test]
    fn relative_include_resolves_against_cwd() {
        // MIT: relative include failed from one cwd and worked from the
        // include's directory; we warn and open it relative to our cwd.
        let p = parse_str("include no-such-krbprobe-relative.conf\n", origin());
        assert!(matches!(p, Err(ProfileError::IncludeMissing { .. })));
        let mut l = Loader::default();
        l.note_relative(Path::new("x.conf"), origin(), 1);
        assert_eq!(l.warnings[0].kind, WarningKind::RelativeInclude);
    }

    #[test]
    fn final_flag_across_files() {
        let dir = TempDir::new("final");
        let b = dir.file(
            "b.conf",
            b"[libdefaults]\n x = b1\n y = b2\n[realms]\n R = {\n kdc = b\n admin = bb\n }\n",
        );
        let path = |a: &Path| format!("{}:{}", a.display(), b.display());

        // No final: values concatenate in file order; realm listed twice;
        // relation names deduplicated.  MIT: x=['a1','b1'], kdc=['a','b'],
        // subs(realms)=['R','R'], rels(libdefaults)=['x','y'].
        let a = dir.file(
            "a1.conf",
            b"[libdefaults]\n x = a1\n[realms]\n R = {\n kdc = a\n }\n",
        );
        let p = load_config_path(&path(&a)).unwrap();
        assert_eq!(p.values(&["libdefaults", "x"]), ["a1", "b1"]);
        assert_eq!(p.values(&["libdefaults", "y"]), ["b2"]);
        assert_eq!(p.values(&["realms", "R", "kdc"]), ["a", "b"]);
        assert_eq!(p.subsection_names(&["realms"]), ["R", "R"]);
        assert_eq!(p.relation_names(&["libdefaults"]), ["x", "y"]);
        assert_eq!(p.first(&["libdefaults", "x"]), Some("a1"));
        assert_eq!(p.files(), [a.clone(), b.clone()]);

        // [libdefaults]* hides later libdefaults but not later realms.
        let a = dir.file("a2.conf", b"[libdefaults]*\n x = a1\n");
        let p = load_config_path(&path(&a)).unwrap();
        assert_eq!(p.values(&["libdefaults", "x"]), ["a1"]);
        assert!(p.values(&["libdefaults", "y"]).is_empty());
        assert_eq!(p.values(&["realms", "R", "kdc"]), ["b"]);

        // Final on a relation has no effect (MIT: x=['a1','b1']).
        let a = dir.file("a3.conf", b"[libdefaults]\n x* = a1\n");
        let p = load_config_path(&path(&a)).unwrap();
        assert_eq!(p.values(&["libdefaults", "x"]), ["a1", "b1"]);

        // "}*" and "R* = {" both make the realm final (MIT: kdc=['a'],
        // admin absent, realm still listed twice).
        for (n, text) in [
            ("a4.conf", "[realms]\n R = {\n kdc = a\n }*\n"),
            ("a5.conf", "[realms]\n R* = {\n kdc = a\n }\n"),
        ] {
            let a = dir.file(n, text.as_bytes());
            let p = load_config_path(&path(&a)).unwrap();
            assert_eq!(p.values(&["realms", "R", "kdc"]), ["a"], "{n}");
            assert!(p.values(&["realms", "R", "admin"]).is_empty(), "{n}");
            assert_eq!(p.subsection_names(&["realms"]), ["R", "R"], "{n}");
        }

        // A final section on the path stops the search even when the rest of
        // the path is missing there (MIT: kdc not found, subs=['Q']).
        let a = dir.file("a6.conf", b"[realms]*\n Q = {\n kdc = a\n }\n");
        let p = load_config_path(&path(&a)).unwrap();
        assert!(p.values(&["realms", "R", "kdc"]).is_empty());
        assert_eq!(p.subsection_names(&["realms"]), ["Q"]);

        // The flag survives merging with a later non-final header.
        let a = dir.file(
            "a7.conf",
            b"[libdefaults]*\n x = a1\n[libdefaults]\n z = 1\n",
        );
        let p = load_config_path(&path(&a)).unwrap();
        assert!(p.values(&["libdefaults", "y"]).is_empty());

        // Final set inside an included file applies to the including file.
        let f1 = dir.file("fin.conf", b"[libdefaults]*\n x = fin\n");
        let a = dir.file("a8.conf", format!("include {}\n", f1.display()).as_bytes());
        let p = load_config_path(&path(&a)).unwrap();
        assert_eq!(p.values(&["libdefaults", "x"]), ["fin"]);
    }

    #[test]
    fn config_path_semantics() {
        let dir = TempDir::new("cfgpath");
        let a = dir.file("a.conf", b"[libdefaults]\n x = a\n");
        let b = dir.file("b.conf", b"[libdefaults]\n x = b\n");
        // Missing entries are skipped (MIT: ['b1']).
        let p = load_config_path(&format!("/nonexistent/krb5.conf:{}", b.display())).unwrap();
        assert_eq!(p.values(&["libdefaults", "x"]), ["b"]);
        assert!(
            p.warnings()
                .iter()
                .any(|w| w.kind == WarningKind::MissingConfigFile)
        );
        // All missing: empty configuration, no error.
        let p = load_config_path("/nonexistent/a:/nonexistent/b").unwrap();
        assert!(p.is_empty());
        // An empty entry ends the list: "A::B" reads only A, ":B" nothing.
        let p = load_config_path(&format!("{}::{}", a.display(), b.display())).unwrap();
        assert_eq!(p.values(&["libdefaults", "x"]), ["a"]);
        assert!(
            p.warnings()
                .iter()
                .any(|w| w.kind == WarningKind::TruncatedConfigPath)
        );
        let p = load_config_path(&format!(":{}", b.display())).unwrap();
        assert!(p.values(&["libdefaults", "x"]).is_empty());
        // A trailing ':' is harmless.
        let p = load_config_path(&format!("{}:{}:", a.display(), b.display())).unwrap();
        assert_eq!(p.values(&["libdefaults", "x"]), ["a", "b"]);
        // A bad later file fails everything.
        let bad = dir.file("bad.conf", b"[a\n");
        assert!(matches!(
            load_config_path(&format!("{}:{}", a.display(), bad.display())),
            Err(ProfileError::Syntax { .. })
        ));
        // module is only allowed in the first file (MIT: Unexpected module
        // declaration in profile).
        let m = dir.file("m.conf", b"module foo:bar\n[a]\n");
        assert!(matches!(
            load_config_path(&format!("{}:{}", a.display(), m.display())),
            Err(ProfileError::UnexpectedModule { .. })
        ));
        // ... and in the first file it replaces the whole list.
        let p = load_config_path(&format!("{}:{}", m.display(), a.display())).unwrap();
        assert!(p.module().is_some());
        assert!(p.values(&["libdefaults", "x"]).is_empty());
        // load() on a missing file is an error rather than an empty profile.
        assert!(matches!(
            load(Path::new("/nonexistent/krbprobe/krb5.conf")),
            Err(ProfileError::Io { .. })
        ));
    }

    #[test]
    fn domain_realm_matches_mit() {
        let p = parse(
            "[domain_realm]\n .example.com = DOT.EXAMPLE\n example.com = BARE.EXAMPLE\n host.example.com = HOST.EXAMPLE\n .UPPER.COM = UPPER\n lower.org = LOWER\n com = TLD.COM\n .net = DOTNET\n 10.1.2 = PARTIAL.IP\n .1.2.3 = SUFFIX.IP\n",
        );
        // (host, MIT's realm or None for the referral realm "", matched key)
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "host.example.com",
                Some(("HOST.EXAMPLE", "host.example.com")),
            ),
            (
                "HOST.Example.COM",
                Some(("HOST.EXAMPLE", "host.example.com")),
            ),
            // A key without a leading dot also matches hosts below it.
            (
                "a.host.example.com",
                Some(("HOST.EXAMPLE", "host.example.com")),
            ),
            ("other.example.com", Some(("DOT.EXAMPLE", ".example.com"))),
            ("example.com", Some(("BARE.EXAMPLE", "example.com"))),
            ("example.com.", Some(("BARE.EXAMPLE", "example.com"))),
            (
                "trailing.example.com.",
                Some(("DOT.EXAMPLE", ".example.com")),
            ),
            // Upper-case keys never match: the host is lowercased.
            ("x.upper.com", Some(("TLD.COM", "com"))),
            ("X.UPPER.COM", Some(("TLD.COM", "com"))),
            ("sub.lower.org", Some(("LOWER", "lower.org"))),
            ("foo.net", Some(("DOTNET", ".net"))),
            ("net", None),
            ("zzz", None),
            ("", None),
            // IPv4 (digits and exactly three dots) and IPv6 are skipped.
            ("10.1.2.3", None),
            ("10.1.2", Some(("PARTIAL.IP", "10.1.2"))),
            ("x.1.2.3", Some(("SUFFIX.IP", ".1.2.3"))),
            ("9.1.2.3.4", None),
            ("fe80::1", None),
            ("[::1]", None),
            ("a..example.com", Some(("DOT.EXAMPLE", ".example.com"))),
            ("..example.com", Some(("DOT.EXAMPLE", ".example.com"))),
            ("host.example.com..", None),
        ];
        for (host, want) in cases {
            let got = domain_realm(&p, host);
            let want = want.map(|(r, k)| (r.to_string(), k.to_string()));
            assert_eq!(got, want, "{host}");
        }
        assert_eq!(domain_realm(&Profile::default(), "a.b"), None);
    }

    #[test]
    fn kdc_values_match_mit() {
        // k5_parse_host_string results from libkrb5 1.20.1 (default port 88).
        let ok: &[(&str, &str, u16)] = &[
            ("kdc.example.com", "kdc.example.com", 88),
            ("kdc.example.com:88", "kdc.example.com", 88),
            ("kdc.example.com:750", "kdc.example.com", 750),
            ("kdc:0", "kdc", 0),
            ("kdc:65535", "kdc", 65535),
            ("kdc:+88", "kdc", 88),
            ("kdc: 88", "kdc", 88),
            ("kdc:0088", "kdc", 88),
            ("[2001:db8::1]", "2001:db8::1", 88),
            ("[2001:db8::1]:89", "2001:db8::1", 89),
            ("[2001:db8::1]junk", "2001:db8::1", 88),
            ("kdc 88", "kdc", 88),
            ("kdc\t:88", "kdc", 88),
            ("kdc.example.com  # comment", "kdc.example.com", 88),
            ("tcp/kdc.example.com", "tcp/kdc.example.com", 88),
            ("udp/kdc:88", "udp/kdc", 88),
            ("10.0.0.1:88", "10.0.0.1", 88),
            ("KDC.EXAMPLE.COM", "KDC.EXAMPLE.COM", 88),
            ("[]", "", 88),
            ("[]:88", "", 88),
        ];
        for (v, host, port) in ok {
            let a = parse_kdc_value(v);
            assert_eq!(
                (a.host.as_deref(), a.port, a.error.as_deref()),
                (Some(*host), *port, None),
                "{v}"
            );
            assert_eq!(a.transport, KdcTransport::UdpOrTcp, "{v}");
        }
        for v in [
            "kdc:65536",
            "kdc:",
            "kdc:abc",
            "kdc:88x",
            "kdc:-1",
            "[2001:db8::1",
            "2001:db8::1",
            "fe80::1",
            "88",
            "",
            ":88",
            "kdc.example.com:88:99",
            "kdc:4294967384",
            "HTTPS://kdc/KdcProxy",
        ] {
            let a = parse_kdc_value(v);
            assert!(a.error.is_some() && a.host.is_none(), "{v}: {a:?}");
        }
        assert!(parse_kdc_value("tcp/kdc").notes[0].contains("Heimdal"));
        assert!(!parse_kdc_value("kdc # c").notes.is_empty());
        // MS-KKDCP (locate_kdc.c parse_uri_if_https): default port 443.
        let a = parse_kdc_value("https://kdc.example.com/KdcProxy");
        assert_eq!(a.host.as_deref(), Some("kdc.example.com"));
        assert_eq!((a.port, a.transport), (443, KdcTransport::Https));
        assert_eq!(a.uri_path.as_deref(), Some("KdcProxy"));
        let a = parse_kdc_value("https://kdc.example.com:8443");
        assert_eq!((a.port, a.uri_path), (8443, None));
        assert_eq!(parse_server_value("adm.example.com", 749).port, 749);
    }

    /// Tiny xorshift generator: deterministic garbage without a rand crate.
    fn garbage(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn garbage_never_panics() {
        for seed in 1..200u64 {
            let mut bytes = garbage(seed, 4096);
            // Make the parser leave its initial state sometimes.
            if seed % 2 == 0 {
                bytes.splice(0..0, b"[s]\n".iter().copied());
            }
            let _ = parse_bytes(&bytes, origin());
        }
        // Structured garbage: random mixes of the syntax characters.
        let alphabet = b"[]{}=*\"\\ \t\r\n#;ab";
        for seed in 1..300u64 {
            let bytes: Vec<u8> = garbage(seed, 2000)
                .into_iter()
                .map(|b| alphabet[b as usize % alphabet.len()])
                .collect();
            if let Ok(p) = parse_bytes(&bytes, origin()) {
                let _ = p.values(&["a", "b"]);
                let _ = p.subsection_names(&[]);
            }
        }
    }

    #[test]
    fn megabyte_single_line() {
        // Before any section MIT ignores every piece of it.
        let line = vec![b'a'; 1 << 20];
        let p = parse_bytes(&line, origin()).unwrap();
        assert!(p.is_empty());
        // Inside a section the first 2047-byte piece has no '='.
        let mut text = b"[s]\n".to_vec();
        text.extend_from_slice(&line);
        let e = parse_bytes(&text, origin()).unwrap_err();
        assert!(
            matches!(
                e,
                ProfileError::Syntax {
                    line: 2,
                    kind: SyntaxKind::RelationSyntax,
                    ..
                }
            ),
            "{e}"
        );
        // A 1 MB value is cut into pieces; the second piece has no '='.
        let mut text = b"[s]\n x = ".to_vec();
        text.extend_from_slice(&line);
        assert!(parse_bytes(&text, origin()).is_err());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        // MIT has no nesting limit (iterative parser, heap nodes) and neither
        // do we: the tree is an arena and nothing recurses over it.
        const DEPTH: usize = 200_000;
        let mut text = String::from("[a]\n");
        for _ in 0..DEPTH {
            text.push_str("x = {\n");
        }
        text.push_str("leaf = 1\n");
        for _ in 0..DEPTH {
            text.push_str("}\n");
        }
        let p = parse(&text);
        let mut path = vec!["a"];
        path.extend(std::iter::repeat_n("x", DEPTH));
        path.push("leaf");
        assert_eq!(p.values(&path), ["1"]);
        // Unclosed: also fine, with a warning.
        let p = parse(&format!("[a]\n{}", "x = {\n".repeat(1000)));
        assert!(
            p.warnings()
                .iter()
                .any(|w| w.kind == WarningKind::UnclosedBrace)
        );
        drop(p);
    }

    #[test]
    fn warnings_are_capped() {
        let text = format!("[a]\n{}", " x = a # b\n".repeat(10_000));
        let p = parse(&text);
        assert_eq!(p.values(&["a", "x"]).len(), 10_000);
        assert_eq!(p.warnings().len(), MAX_WARNINGS);
    }
}
