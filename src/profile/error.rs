//! What can go wrong: [`ProfileError`], for the cases in which MIT's `krb5_init_context`
//! fails too, with MIT's own messages; and [`Warning`], for what MIT accepts without a word
//! but almost certainly does not mean what the author intended.
//!
//! Apart from the parser so that what the checks turn into findings is in one place.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::limits::MAX_INCLUDE_DEPTH;
use super::tree::Source;

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

#[cfg(test)]
mod tests {
    //! Expected values are MIT krb5 1.20.1's own verdicts unless a comment says otherwise;
    //! see `fixtures` for how they were obtained.

    use super::*;
    use crate::profile::fixtures::origin;
    use crate::profile::parse_str;

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
}
