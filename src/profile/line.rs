//! The parser proper, from the bytes of one file to the nodes of its tree, as MIT's
//! `prof_parse.c` does it: the bytes are cut into `fgets`-sized lines, `include`,
//! `includedir` and `module` lines are recognised, and the rest goes through MIT's state
//! machine, with a warning wherever MIT silently reads something other than what the text
//! seems to say.
//!
//! Apart from the loader because this is the part that reads untrusted text, and the part the
//! table tests compare with MIT's verdicts.

use std::path::Path;

use super::error::{ProfileError, SyntaxKind, WarningKind};
use super::limits::FGETS_CHUNK;
use super::loader::{Loader, bytes_to_path};
use super::tree::{ModuleDecl, NodeId, ROOT, Source, Tree};

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

// Methods of the loader, because an `include` line reads its file in the middle of a parse,
// into the same tree and with the same warnings and stack of open files.
impl Loader {
    /// `parse_file` + `parse_line`: feed `bytes` to the state machine in
    /// `fgets`-sized pieces.  Returns the module declaration when one ends
    /// parsing.
    pub(super) fn parse(
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
    //! Expected values are MIT krb5 1.20.1's own verdicts unless a comment says otherwise;
    //! see `fixtures` for how they were obtained.

    use super::*;
    use crate::profile::fixtures::{origin, parse, syntax_kind};
    use crate::profile::{MSG_MODULE_SYNTAX, domain_realm, parse_bytes, parse_str};

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
}
