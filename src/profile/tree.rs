//! The parsed configuration: [`Profile`], one tree per top-level file, and the lookups
//! libkrb5 makes on it (`profile_get_values` and friends), with MIT's rule that a final
//! section stops the search.
//!
//! Each tree is an arena (nodes in a `Vec`, children by index), so nothing here recurses on
//! input-controlled depth. Apart from the parser because lookups only need finished trees.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::error::Warning;
use super::values::parse_boolean;

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
pub(super) type NodeId = usize;
pub(super) const ROOT: NodeId = 0;

#[derive(Debug, Clone)]
pub(super) struct Node {
    name: String,
    /// `None` for a section, `Some` for a relation (MIT: `value == NULL`
    /// marks a section).
    value: Option<String>,
    pub(super) final_flag: bool,
    pub(super) parent: NodeId,
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
pub(super) struct Tree {
    pub(super) nodes: Vec<Node>,
}

impl Tree {
    pub(super) fn new(path: &Path) -> Tree {
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
    pub(super) fn section(&mut self, parent: NodeId, name: String, source: Source) -> NodeId {
        if let Some(id) = self.child_section(parent, &name) {
            return id;
        }
        self.push(parent, name, None, source)
    }

    pub(super) fn push(
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
    pub(super) trees: Vec<Tree>,
    pub(super) files: Vec<PathBuf>,
    pub(super) warnings: Vec<Warning>,
    pub(super) module: Option<ModuleDecl>,
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
    /// [`MSG_BAD_BOOLEAN`](super::MSG_BAD_BOOLEAN).
    ///
    /// Which parser libkrb5 applies depends on the setting:
    /// `allow_weak_crypto`, `ignore_acceptor_hostname`,
    /// `enforce_ok_as_delegate`, `allow_des3` and `allow_rc4` go through this
    /// strict one and an invalid word makes `krb5_init_context` itself fail
    /// (confirmed on 1.20.1); `rdns` falls back to its default on an invalid
    /// word; `dns_lookup_kdc` and `dns_lookup_realm` use the lax
    /// [`parse_boolean_lax`](super::parse_boolean_lax) (invalid means false) and, when unset, fall back
    /// to `dns_fallback` (`locate_kdc.c` `maybe_use_dns`).
    pub fn boolean(&self, path: &[&str]) -> Option<Result<bool, String>> {
        let v = self.first(path)?;
        Some(parse_boolean(v).ok_or_else(|| v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    //! Expected values are MIT krb5 1.20.1's own verdicts unless a comment says otherwise;
    //! see `fixtures` for how they were obtained.

    use super::*;
    use crate::profile::fixtures::{TempDir, origin, parse};
    use crate::profile::load_config_path;

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
}
