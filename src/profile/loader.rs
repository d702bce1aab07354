//! Which files are read, in which order, and how they are merged: [`load`],
//! [`load_config_path`] with `KRB5_CONFIG` semantics, [`parse_str`] and [`parse_bytes`];
//! `include`, `includedir`, directories as top-level entries, include loops and depth.
//!
//! The file-system half of MIT's profile library (`prof_file.c`, `prof_init.c` and the
//! include handling of `prof_parse.c`). The text of each file goes to the `line` parser,
//! which calls back here for the files it includes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::{ProfileError, Warning, WarningKind};
use super::limits::{MAX_INCLUDE_DEPTH, MAX_WARNINGS};
use super::tree::{ModuleDecl, Profile, Source, Tree};

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

/// What a top-level file gives: its tree, or a `module` line that replaces the configuration.
enum TopLevel {
    Tree(Tree),
    Module(ModuleDecl),
}

/// What one load collects while it reads files; the `line` parser adds to it as well.
#[derive(Default)]
pub(super) struct Loader {
    trees: Vec<Tree>,
    files: Vec<PathBuf>,
    warnings: Vec<Warning>,
    module: Option<ModuleDecl>,
    /// Canonical paths of files currently being parsed, for loop detection.
    open_stack: Vec<PathBuf>,
}

#[cfg(unix)]
pub(super) fn bytes_to_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

#[cfg(not(unix))]
pub(super) fn bytes_to_path(b: &[u8]) -> PathBuf {
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

impl Loader {
    fn finish(self) -> Profile {
        Profile {
            trees: self.trees,
            files: self.files,
            warnings: self.warnings,
            module: self.module,
        }
    }

    pub(super) fn warn(&mut self, kind: WarningKind, path: &Path, line: usize, message: String) {
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
    pub(super) fn list_include_dir(&mut self, dir: &Path) -> io::Result<Vec<PathBuf>> {
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
    pub(super) fn include_file(
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

    pub(super) fn note_relative(&mut self, target: &Path, path: &Path, line_no: usize) {
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
}

fn bytes_of_path(p: &Path) -> Vec<u8> {
    name_bytes(p.as_os_str())
}

#[cfg(test)]
mod tests {
    //! Expected values are MIT krb5 1.20.1's own verdicts unless a comment says otherwise;
    //! see `fixtures` for how they were obtained.

    use super::*;
    use crate::profile::fixtures::{TempDir, origin, parse};
    use crate::profile::{MSG_FAIL_INCLUDE_DIR, MSG_FAIL_INCLUDE_FILE, SyntaxKind};

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
    fn warnings_are_capped() {
        let text = format!("[a]\n{}", " x = a # b\n".repeat(10_000));
        let p = parse(&text);
        assert_eq!(p.values(&["a", "x"]).len(), 10_000);
        assert_eq!(p.warnings().len(), MAX_WARNINGS);
    }
}
