//! Ansible inventories given as `--targets-file`: the INI format (host lines, `[group]`,
//! `[group:vars]`, `[group:children]`, host ranges such as `win[01:20].example.com`) and the
//! JSON that `ansible-inventory -i INVENTORY --list` prints (which covers YAML, dynamic and
//! constructed inventories: Ansible has already read them).
//!
//! [`Inventory::specs`] picks the hosts of the groups asked for (`--group`, children
//! included) and gives each one the winrm connection variables krbprobe mirrors, merged with
//! Ansible's precedence: `all` first, then groups by depth (parents before children) and
//! name, then the host's own variables, later ones winning. Values are taken literally: a
//! Jinja2 template in a mirrored variable is an error, since only Ansible can evaluate it (the
//! module does, see `playbooks/diagnose-group.yml`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::settings::{MIRRORED_VARS, TargetSpec, apply_var};

/// Why a file is not an inventory krbprobe can read: the 1-based line (0 for JSON as a whole
/// or a fact about the whole file) and the reason.
pub type InventoryError = (usize, String);

/// One inventory group.
#[derive(Debug, Default, Clone)]
struct Group {
    /// Hosts listed in the group itself, in file order.
    hosts: Vec<String>,
    /// Child groups, in file order.
    children: Vec<String>,
    /// `[group:vars]` / the group's `vars`, in file order.
    vars: Vec<(String, String)>,
}

/// A parsed inventory.
#[derive(Debug, Default)]
pub struct Inventory {
    /// JSON, or INI with a section header or a variable: an Ansible inventory rather than a
    /// plain list of names, so Ansible's defaults apply to its hosts.
    structured: bool,
    /// Every host, in the order it first appears.
    order: Vec<String>,
    /// Variables on the host's own line (INI) or in `_meta.hostvars` (JSON).
    host_vars: HashMap<String, Vec<(String, String)>>,
    groups: BTreeMap<String, Group>,
    /// Each group's depth below `all` (0), from [`Inventory::depths`] at parse time.
    depth: HashMap<String, usize>,
}

impl Inventory {
    /// Reads an inventory: JSON when the first non-blank character is `{`, else INI.
    pub fn parse(text: &str) -> Result<Inventory, InventoryError> {
        let mut inv = if text.trim_start().starts_with('{') {
            parse_json(text)?
        } else {
            parse_ini(text)?
        };
        inv.depth = inv.depths().map_err(|e| (0, e))?;
        Ok(inv)
    }

    /// True for an Ansible inventory (JSON, or INI with a section or a variable), false for a
    /// plain list of host names.
    pub fn is_structured(&self) -> bool {
        self.structured
    }

    /// The group names, sorted, without the implicit `all` and `ungrouped`.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups
            .keys()
            .map(String::as_str)
            .filter(|g| !matches!(*g, "all" | "ungrouped"))
            .collect()
    }

    /// The hosts of `groups` (and of their children), in inventory order, each once. No
    /// groups: every host.
    pub fn select(&self, groups: &[String]) -> Result<Vec<String>, String> {
        if groups.is_empty() {
            return Ok(self.order.clone());
        }
        let mut wanted = HashSet::new();
        for g in groups {
            if g == "all" {
                return Ok(self.order.clone());
            }
            if !self.groups.contains_key(g) {
                return Err(format!(
                    "no group {g:?} in it (groups: {})",
                    match self.group_names() {
                        names if names.is_empty() => "none".to_owned(),
                        names => names.join(", "),
                    }
                ));
            }
            self.collect_hosts(g, &mut wanted, &mut HashSet::new());
        }
        Ok(self
            .order
            .iter()
            .filter(|h| wanted.contains(h.as_str()))
            .cloned()
            .collect())
    }

    fn collect_hosts<'a>(
        &'a self,
        group: &'a str,
        out: &mut HashSet<&'a str>,
        seen: &mut HashSet<&'a str>,
    ) {
        if !seen.insert(group) {
            return;
        }
        if let Some(g) = self.groups.get(group) {
            out.extend(g.hosts.iter().map(String::as_str));
            for child in &g.children {
                self.collect_hosts(child, out, seen);
            }
        }
    }

    /// Each group's depth below `all` (0): one more than its deepest parent. Fails on a cycle
    /// of `children`, which Ansible refuses too.
    fn depths(&self) -> Result<HashMap<String, usize>, String> {
        let mut parents: HashMap<&str, Vec<&str>> = HashMap::new();
        for (name, g) in &self.groups {
            for child in &g.children {
                parents
                    .entry(child.as_str())
                    .or_default()
                    .push(name.as_str());
            }
        }
        fn depth<'a>(
            g: &'a str,
            parents: &HashMap<&'a str, Vec<&'a str>>,
            memo: &mut HashMap<&'a str, usize>,
            path: &mut Vec<&'a str>,
        ) -> Result<usize, String> {
            if let Some(d) = memo.get(g) {
                return Ok(*d);
            }
            if path.contains(&g) {
                return Err(format!(
                    "groups are children of each other: {} -> {g}",
                    path.join(" -> ")
                ));
            }
            path.push(g);
            let mut d = 1;
            for p in parents.get(g).map(Vec::as_slice).unwrap_or_default() {
                d = d.max(depth(p, parents, memo, path)? + 1);
            }
            path.pop();
            memo.insert(g, d);
            Ok(d)
        }
        let mut memo = HashMap::from([("all", 0)]);
        for name in self.groups.keys() {
            depth(name, &parents, &mut memo, &mut Vec::new())?;
        }
        Ok(memo.into_iter().map(|(g, d)| (g.to_owned(), d)).collect())
    }

    /// Every group with all its hosts (children's included), in the order
    /// variables apply: `all` first, then by (depth, name). Computed once per [`Self::specs`]:
    /// asking per host would be quadratic in the inventory's size.
    fn precedence(&self) -> Vec<(&str, HashSet<&str>)> {
        let mut out: Vec<(usize, &str, HashSet<&str>)> = self
            .groups
            .keys()
            .map(|name| {
                let mut hosts = HashSet::new();
                if name == "all" {
                    // `all` holds every host, listed or not.
                    hosts.extend(self.order.iter().map(String::as_str));
                } else {
                    self.collect_hosts(name, &mut hosts, &mut HashSet::new());
                }
                (self.depth[name], name.as_str(), hosts)
            })
            .collect();
        out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out.into_iter()
            .map(|(_, name, hosts)| (name, hosts))
            .collect()
    }

    /// The host's variables, lowest precedence first: its groups in `precedence` order, then
    /// its own.
    fn vars_of<'a>(
        &'a self,
        host: &str,
        precedence: &[(&'a str, HashSet<&'a str>)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for (name, hosts) in precedence {
            if hosts.contains(host) {
                out.extend(
                    self.groups[*name]
                        .vars
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
            }
        }
        if let Some(own) = self.host_vars.get(host) {
            out.extend(own.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        out
    }

    /// The targets: the hosts of `groups` (every host without groups) with their merged winrm
    /// connection variables. An error names the host and the variable.
    pub fn specs(&self, groups: &[String]) -> Result<Vec<TargetSpec>, InventoryError> {
        let hosts = self.select(groups).map_err(|e| (0, e))?;
        let precedence = self.precedence();
        hosts
            .iter()
            .map(|host| {
                // Each variable on its own: the last (highest-precedence) value wins.
                let merged: HashMap<&str, &str> =
                    self.vars_of(host, &precedence).into_iter().collect();
                let mut spec = TargetSpec::bare(host);
                for key in MIRRORED_VARS {
                    if let Some(value) = merged.get(key) {
                        apply_var(&mut spec, key, value)
                            .map_err(|e| (0, format!("host {host}: {e}")))?;
                    }
                }
                Ok(spec)
            })
            .collect()
    }
}

// ---- INI ------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Hosts,
    Vars,
    Children,
}

fn parse_ini(text: &str) -> Result<Inventory, InventoryError> {
    let mut inv = Inventory::default();
    inv.groups.entry("all".into()).or_default();
    let mut group = "ungrouped".to_owned();
    let mut section = Section::Hosts;
    for (n, raw) in text.lines().enumerate() {
        let lineno = n + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let Some(header) = header.split(']').next().filter(|_| header.contains(']')) else {
                return Err((lineno, format!("{line:?}: a section header ends with ]")));
            };
            let (name, kind) = match header.split_once(':') {
                Some((name, "vars")) => (name, Section::Vars),
                Some((name, "children")) => (name, Section::Children),
                Some((_, other)) => {
                    return Err((
                        lineno,
                        format!("[{header}]: unknown section type {other:?} (vars or children)"),
                    ));
                }
                None => (header, Section::Hosts),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err((lineno, format!("[{header}]: not a group name")));
            }
            group = name.to_owned();
            section = kind;
            inv.structured = true;
            inv.groups.entry(group.clone()).or_default();
            continue;
        }
        match section {
            Section::Children => {
                let child = strip_comment(line).trim().to_owned();
                inv.groups.entry(child.clone()).or_default();
                let g = inv.groups.entry(group.clone()).or_default();
                if !g.children.contains(&child) {
                    g.children.push(child);
                }
            }
            Section::Vars => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err((
                        lineno,
                        format!("{line:?} in [{group}:vars] is not key=value"),
                    ));
                };
                let value = unquote(strip_comment(value).trim());
                apply_var(&mut TargetSpec::default(), key.trim(), value)
                    .map_err(|e| (lineno, e))?;
                inv.groups
                    .entry(group.clone())
                    .or_default()
                    .vars
                    .push((key.trim().to_owned(), value.to_owned()));
            }
            Section::Hosts => {
                let (pattern, vars) = host_line(strip_comment(line)).map_err(|e| (lineno, e))?;
                inv.structured |= !vars.is_empty();
                // Checked here too, so that the error names the line.
                let mut scratch = TargetSpec::default();
                for (key, value) in &vars {
                    apply_var(&mut scratch, key, value).map_err(|e| (lineno, e))?;
                }
                for host in expand_range(&pattern).map_err(|e| (lineno, e))? {
                    if !inv.host_vars.contains_key(&host) {
                        inv.order.push(host.clone());
                    }
                    // A host listed twice keeps both lines' variables, the later winning.
                    inv.host_vars
                        .entry(host.clone())
                        .or_default()
                        .extend(vars.iter().cloned());
                    let g = inv.groups.entry(group.clone()).or_default();
                    if !g.hosts.contains(&host) {
                        g.hosts.push(host);
                    }
                }
            }
        }
    }
    Ok(inv)
}

/// A `#` starts a comment in host and vars lines unless it is inside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// `name[:port] key=value ...` (values may be quoted and contain spaces).
fn host_line(line: &str) -> Result<(String, Vec<(String, String)>), String> {
    let words = split_words(line)?;
    let mut words = words.into_iter();
    let name = words.next().unwrap_or_default();
    if name.contains('=') {
        return Err(format!("{name:?}: a line starts with the host name"));
    }
    let mut vars = Vec::new();
    // `host:port`, as Ansible reads it (not for IPv6 addresses, which have several colons).
    let name = match name.split_once(':') {
        Some((host, port)) if !port.contains(':') && !port.contains(']') => {
            vars.push(("ansible_port".to_owned(), port.to_owned()));
            host.to_owned()
        }
        _ => name,
    };
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("{word:?} is not key=value"));
        };
        vars.push((key.to_owned(), unquote(value).to_owned()));
    }
    Ok((name, vars))
}

/// Splits on whitespace outside quotes.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            _ => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err(format!("{line:?}: a quote is not closed"));
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    Ok(words)
}

/// Most hosts one range may produce: a typo like `[1:999999]` is an error, not a hang.
const MAX_RANGE: usize = 10_000;

/// Expands Ansible's host ranges: `win[01:03]` (zero-padded when the start is), `[a:c]`,
/// `[1:9:2]` (with a step); several ranges in one name multiply.
fn expand_range(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_owned()]);
    };
    let Some(close) = pattern[open..].find(']').map(|c| c + open) else {
        return Err(format!("{pattern:?}: a host range is not closed with ]"));
    };
    let (head, spec, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || format!("{pattern:?}: [{spec}] is not a host range like [01:20] or [a:f]");
    let (start, end, step) = match parts.as_slice() {
        [s, e] => (*s, *e, 1usize),
        [s, e, st] => (*s, *e, st.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    let items: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<usize>(), end.parse::<usize>())
    {
        if a > b || (b - a) / step >= MAX_RANGE {
            return Err(bad());
        }
        let width = if start.starts_with('0') && start.len() > 1 {
            start.len()
        } else {
            0
        };
        (a..=b)
            .step_by(step)
            .map(|i| format!("{i:0width$}"))
            .collect()
    } else {
        let (Some(a), Some(b)) = (single_letter(start), single_letter(end)) else {
            return Err(bad());
        };
        if a > b {
            return Err(bad());
        }
        (a..=b)
            .step_by(step)
            .map(|c| char::from(c).to_string())
            .collect()
    };
    // Ansible's order: the first range varies slowest.
    let rests = expand_range(tail)?;
    let mut out = Vec::new();
    for item in &items {
        for rest in &rests {
            out.push(format!("{head}{item}{rest}"));
            if out.len() > MAX_RANGE {
                return Err(format!("{pattern:?}: more than {MAX_RANGE} hosts"));
            }
        }
    }
    Ok(out)
}

fn single_letter(s: &str) -> Option<u8> {
    match s.as_bytes() {
        [c] if c.is_ascii_alphabetic() => Some(*c),
        _ => None,
    }
}

// ---- JSON (`ansible-inventory --list`) ------------------------------------------------------

fn parse_json(text: &str) -> Result<Inventory, InventoryError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        (
            e.line(),
            format!("not the JSON of `ansible-inventory --list`: {e}"),
        )
    })?;
    let Value::Object(top) = value else {
        return Err((0, "the JSON is not an object".into()));
    };
    let mut inv = Inventory {
        structured: true,
        ..Inventory::default()
    };
    let mut hostvars: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if let Some(meta) = top.get("_meta") {
        if let Some(Value::Object(hv)) = meta.get("hostvars") {
            for (host, vars) in hv {
                hostvars.insert(host.clone(), json_vars(vars, &format!("host {host}"))?);
            }
        }
    }
    for (name, body) in &top {
        if name == "_meta" {
            continue;
        }
        let mut g = Group::default();
        match body {
            // The script format's shorthand: a group as a plain list of hosts.
            Value::Array(hosts) => g.hosts = json_names(hosts, name, "hosts")?,
            Value::Object(o) => {
                if let Some(Value::Array(h)) = o.get("hosts") {
                    g.hosts = json_names(h, name, "hosts")?;
                }
                if let Some(Value::Array(c)) = o.get("children") {
                    g.children = json_names(c, name, "children")?;
                }
                if let Some(v) = o.get("vars") {
                    g.vars = json_vars(v, &format!("group {name}"))?;
                }
            }
            _ => return Err((0, format!("group {name}: neither a list nor an object"))),
        }
        inv.groups.insert(name.clone(), g);
    }
    inv.groups.entry("all".into()).or_default();
    // Inventory order: walk the groups from `all`, hosts before children, as Ansible lists
    // them; hosts only in `_meta` come last.
    let mut seen_groups = HashSet::new();
    let mut order = Vec::new();
    walk(&inv.groups, "all", &mut seen_groups, &mut order);
    for name in inv.groups.keys() {
        walk(&inv.groups, name, &mut seen_groups, &mut order);
    }
    let mut extra: Vec<&String> = hostvars.keys().filter(|h| !order.contains(h)).collect();
    extra.sort();
    order.extend(extra.into_iter().cloned());
    inv.order = order;
    inv.host_vars = hostvars;
    Ok(inv)
}

fn walk(
    groups: &BTreeMap<String, Group>,
    name: &str,
    seen: &mut HashSet<String>,
    out: &mut Vec<String>,
) {
    if !seen.insert(name.to_owned()) {
        return;
    }
    let Some(g) = groups.get(name) else { return };
    for h in &g.hosts {
        if !out.contains(h) {
            out.push(h.clone());
        }
    }
    for c in &g.children {
        walk(groups, c, seen, out);
    }
}

fn json_names(items: &[Value], group: &str, what: &str) -> Result<Vec<String>, InventoryError> {
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err((0, format!("group {group}: {what} holds a non-string"))),
        })
        .collect()
}

/// A vars object as text values: strings as they are, numbers and booleans written out,
/// lists comma-joined. Other values are left out: no mirrored variable is a mapping.
fn json_vars(vars: &Value, whose: &str) -> Result<Vec<(String, String)>, InventoryError> {
    let Value::Object(o) = vars else {
        return Err((0, format!("{whose}: vars are not an object")));
    };
    Ok(o.iter()
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => return None,
            };
            Some((k.clone(), text))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scheme;

    fn specs(text: &str, groups: &[&str]) -> Vec<TargetSpec> {
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        Inventory::parse(text).unwrap().specs(&groups).unwrap()
    }

    fn names(s: &[TargetSpec]) -> Vec<&str> {
        s.iter().map(|t| t.name.as_str()).collect()
    }

    const INI: &str = "\
        jump.example.com\n\
        [windows]\n\
        win01.example.com ansible_host=10.0.0.5\n\
        win02.example.com:5986 # https\n\
        [dcs]\n\
        dc01.example.com ansible_port=5985\n\
        [linux]\n\
        web01.example.com ansible_port=22\n\
        [all:vars]\n\
        ansible_port=5999\n\
        [windows:vars]\n\
        ansible_port = 5985\n\
        ansible_winrm_transport=\"kerberos\"  # inline comment\n\
        [domain:children]\n\
        windows\n\
        dcs\n\
        [domain:vars]\n\
        ansible_port=1\n\
        ansible_winrm_service=WSMAN\n";

    #[test]
    fn ini_groups_children_and_precedence() {
        let all = specs(INI, &[]);
        assert_eq!(
            names(&all),
            [
                "jump.example.com",
                "win01.example.com",
                "win02.example.com",
                "dc01.example.com",
                "web01.example.com"
            ]
        );
        let dom = specs(INI, &["domain"]);
        assert_eq!(
            names(&dom),
            ["win01.example.com", "win02.example.com", "dc01.example.com"]
        );
        // windows (depth 2) beats domain (depth 1) beats all; the host line beats them all.
        assert_eq!(dom[0].port, Some(5985));
        assert_eq!(dom[0].ansible_host.as_deref(), Some("10.0.0.5"));
        assert_eq!(dom[1].port, Some(5986), "host:port");
        assert_eq!(dom[2].port, Some(5985));
        assert_eq!(dom[0].service.as_deref(), Some("WSMAN"));
        assert_eq!(
            dom[0].transport.as_deref(),
            Some(&["kerberos".to_owned()][..])
        );
        assert_eq!(dom[2].transport, None);
        let linux = specs(INI, &["linux"]);
        assert_eq!(linux[0].port, Some(22));
        assert_eq!(specs(INI, &["ungrouped"])[0].port, Some(5999));
        assert_eq!(
            names(&specs(INI, &["dcs", "windows"])),
            ["win01.example.com", "win02.example.com", "dc01.example.com"],
            "inventory order, not the order of --group"
        );
    }

    #[test]
    fn winrm_variables_beat_the_generic_ones_at_any_level() {
        let s = specs(
            "[w]\nwin01 ansible_host=10.0.0.1 ansible_port=5985\n[w:vars]\nansible_winrm_host=w1.corp\n",
            &[],
        );
        assert_eq!(s[0].ansible_host.as_deref(), Some("w1.corp"));
        assert_eq!(s[0].port, Some(5985));
    }

    #[test]
    fn a_plain_list_is_not_an_inventory() {
        assert!(
            !Inventory::parse("# hosts\nwin01\nwin02\n")
                .unwrap()
                .is_structured()
        );
        assert!(
            Inventory::parse("win01 ansible_port=5985\n")
                .unwrap()
                .is_structured()
        );
        assert!(Inventory::parse("[w]\nwin01\n").unwrap().is_structured());
        assert!(Inventory::parse("{\"all\": {}}").unwrap().is_structured());
    }

    #[test]
    fn ini_ranges() {
        let s = specs(
            "[w]\nwin[01:03].example.com\nsrv[a:b][1:2]\nx[0:8:4]\ny[9:10]\n",
            &["w"],
        );
        assert_eq!(
            names(&s),
            [
                "win01.example.com",
                "win02.example.com",
                "win03.example.com",
                "srva1",
                "srva2",
                "srvb1",
                "srvb2",
                "x0",
                "x4",
                "x8",
                "y9",
                "y10"
            ]
        );
        for bad in ["w[1:", "w[3:1]", "w[a:3]", "w[1:2:0]", "w[0:99999999]"] {
            assert!(Inventory::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ini_errors_name_the_line() {
        let err = |t: &str| Inventory::parse(t).unwrap_err();
        assert_eq!(err("[w]\nwin01\n[w:hosts]\n").0, 3);
        assert_eq!(err("[w]\nwin01 ansible_port\n").0, 2);
        assert_eq!(err("[w:vars]\nnothing\n").0, 2);
        assert_eq!(err("[w\n").0, 1);
        assert_eq!(err("[w]\nwin01 a='b\n").0, 2);
        assert!(
            err("[a:children]\nb\n[b:children]\na\n")
                .1
                .contains("children of each other")
        );
        let e = err("[w]\nwin01 ansible_port=http\n");
        assert_eq!(e.0, 2);
        assert!(e.1.contains("ansible_port"), "{e:?}");
        assert_eq!(err("[w:vars]\nansible_winrm_scheme=ftp\n").0, 2);
        let inv = Inventory::parse("[w]\nwin01\n").unwrap();
        let e = inv.specs(&["windows".into()]).unwrap_err().1;
        assert_eq!(e, "no group \"windows\" in it (groups: w)");
    }

    #[test]
    fn templates_are_not_taken_literally() {
        let e = Inventory::parse("[w]\nwin01 ansible_host=\"{{ inventory_hostname }}.corp\"\n")
            .unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("Jinja2"), "{e:?}");
        // Variables krbprobe does not mirror may be templates.
        assert!(Inventory::parse("[w]\nwin01 ansible_password=\"{{ vault_pw }}\"\n").is_ok());
        let json = r#"{"_meta": {"hostvars": {"w": {"ansible_port": "{{ p }}"}}}, "all": {"hosts": ["w"]}}"#;
        let e = Inventory::parse(json).unwrap().specs(&[]).unwrap_err().1;
        assert!(e.contains("host w") && e.contains("Jinja2"), "{e}");
    }

    #[test]
    fn json_of_ansible_inventory_list() {
        // What `ansible-inventory --list` prints: group vars already merged into hostvars.
        let json = r#"{
            "_meta": {"hostvars": {
                "win01.example.com": {"ansible_port": 5986, "ansible_winrm_scheme": "https",
                                      "ansible_winrm_transport": ["kerberos", "ntlm"],
                                      "unrelated": {"a": 1}},
                "dc01.example.com": {"ansible_host": "10.0.0.9"}
            }},
            "all": {"children": ["ungrouped", "domain", "linux"]},
            "domain": {"children": ["windows", "dcs"], "vars": {"ansible_winrm_service": "WSMAN"}},
            "windows": {"hosts": ["win02.example.com", "win01.example.com"]},
            "dcs": {"hosts": ["dc01.example.com"]},
            "linux": {"hosts": ["web01.example.com"]},
            "ungrouped": {"hosts": []}
        }"#;
        let dom = specs(json, &["domain"]);
        assert_eq!(
            names(&dom),
            ["win02.example.com", "win01.example.com", "dc01.example.com"]
        );
        assert_eq!(dom[1].port, Some(5986));
        assert_eq!(dom[1].scheme, Some(Scheme::Https));
        assert_eq!(
            dom[1].transport.as_deref(),
            Some(&["kerberos".to_owned(), "ntlm".to_owned()][..])
        );
        assert_eq!(
            dom[0].service.as_deref(),
            Some("WSMAN"),
            "group vars (--export)"
        );
        assert_eq!(dom[2].ansible_host.as_deref(), Some("10.0.0.9"));
        assert_eq!(specs(json, &[]).len(), 4);
        assert!(Inventory::parse("{\"all\": 3}").is_err());
        assert_eq!(Inventory::parse("{\n\"all\": [,]}").unwrap_err().0, 2);
    }
}
