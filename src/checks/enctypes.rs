//! The enctype lists of `[libdefaults]` against what Active Directory issues.
//!
//! MIT 1.20 reads `permitted_enctypes`, `default_tkt_enctypes` and `default_tgs_enctypes` as
//! lists of names, families (`aes`, `rc4`, `des3`, `camellia`), `DEFAULT`, and `+`/`-` to add
//! or remove (lib/krb5/krb/init_ctx.c, `krb5int_parse_enctype_list`). A domain controller
//! issues only aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96 and rc4-hmac (no RFC 8009
//! SHA-2 types, no camellia), and from the CVE-2026-20833 updates (April 2026) AES only by
//! default. So a list with none of the three never gets a ticket, and a list whose only one is
//! rc4-hmac works until the DCs are updated. CentOS Stream 9 (awx-ee) writes these lists from
//! its crypto policy (`/etc/krb5.conf.d/crypto-policies`): DEFAULT leaves RC4 out, so a pod of
//! that image cannot use an RC4-only account at all; the finding names the file it came from.

use crate::profile::{Profile, Source};

/// aes128-cts-hmac-sha1-96.
pub const AES128: i32 = 17;
/// aes256-cts-hmac-sha1-96.
pub const AES256: i32 = 18;
/// rc4-hmac.
pub const RC4: i32 = 23;

/// The relations MIT reads, in the order a person should look at them.
pub const RELATIONS: [&str; 3] = [
    "permitted_enctypes",
    "default_tkt_enctypes",
    "default_tgs_enctypes",
];

/// MIT 1.20's default list (init_ctx.c `DEFAULT_ETYPE_LIST`): AES (SHA-1 and SHA-2), des3,
/// rc4, camellia.
const DEFAULT: &[i32] = &[18, 17, 20, 19, 16, 23, 26, 25];

/// The enctype numbers a name or family stands for (MIT's names and aliases).
fn expand(name: &str) -> Option<&'static [i32]> {
    Some(match name.to_ascii_lowercase().as_str() {
        "aes256-cts-hmac-sha1-96" | "aes256-cts" | "aes256-sha1" => &[18],
        "aes128-cts-hmac-sha1-96" | "aes128-cts" | "aes128-sha1" => &[17],
        "aes256-cts-hmac-sha384-192" | "aes256-sha2" => &[20],
        "aes128-cts-hmac-sha256-128" | "aes128-sha2" => &[19],
        "arcfour-hmac" | "rc4-hmac" | "arcfour-hmac-md5" => &[23],
        "des3-cbc-sha1" | "des3-hmac-sha1" | "des3-cbc-sha1-kd" => &[16],
        "camellia256-cts-cmac" | "camellia256-cts" => &[26],
        "camellia128-cts-cmac" | "camellia128-cts" => &[25],
        "aes" => &[18, 17, 20, 19],
        "rc4" => &[23],
        "des3" => &[16],
        "camellia" => &[26, 25],
        "default" => DEFAULT,
        _ => return None,
    })
}

/// One relation's effective list, as MIT builds it (unknown names are skipped, as MIT does).
pub fn parse(value: &str) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::new();
    for word in value.split([' ', ',', '\t']).filter(|w| !w.is_empty()) {
        let (remove, name) = match word.as_bytes()[0] {
            b'-' => (true, &word[1..]),
            b'+' => (false, &word[1..]),
            _ => (false, word),
        };
        let Some(types) = expand(name) else { continue };
        for t in types {
            if remove {
                out.retain(|x| x != t);
            } else if !out.contains(t) {
                out.push(*t);
            }
        }
    }
    out
}

/// What a relation leaves for AD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// None of AD's three types: no ticket, ever.
    Nothing,
    /// rc4-hmac only: works until the DCs are AES-only.
    Rc4Only,
    /// AES only: fine, but an account or host with RC4 keys only gets no ticket.
    AesOnly,
    /// AES and RC4.
    Both,
}

impl Verdict {
    /// What is left for AD, as the evidence says it.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Nothing => "none",
            Verdict::Rc4Only => "rc4 only",
            Verdict::AesOnly => "aes only",
            Verdict::Both => "aes and rc4",
        }
    }
}

/// One relation that says something worth reporting.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The relation, e.g. `permitted_enctypes`.
    pub relation: &'static str,
    /// Its value as written.
    pub value: String,
    /// Where it was read (the crypto-policies file, when it came from there).
    pub source: Option<Source>,
    /// What it leaves for AD.
    pub verdict: Verdict,
}

impl Finding {
    /// `file:line: relation = value`.
    pub fn shown(&self) -> String {
        match &self.source {
            Some(s) => format!(
                "{}:{}: {} = {}",
                s.path.display(),
                s.line,
                self.relation,
                self.value
            ),
            None => format!("{} = {}", self.relation, self.value),
        }
    }

    /// The value came from the system crypto policy (RHEL/CentOS `update-crypto-policies`).
    pub fn from_crypto_policy(&self) -> bool {
        self.source
            .as_ref()
            .is_some_and(|s| s.path.to_string_lossy().contains("crypto-policies"))
    }
}

/// What AD can use out of a list.
pub fn verdict(types: &[i32]) -> Verdict {
    let aes = types.contains(&AES256) || types.contains(&AES128);
    match (aes, types.contains(&RC4)) {
        (true, true) => Verdict::Both,
        (true, false) => Verdict::AesOnly,
        (false, true) => Verdict::Rc4Only,
        (false, false) => Verdict::Nothing,
    }
}

/// The set relations of `[libdefaults]`, each with what it leaves for AD.
pub fn analyse(profile: &Profile) -> Vec<Finding> {
    RELATIONS
        .iter()
        .filter_map(|&relation| {
            let value = profile.first(&["libdefaults", relation])?;
            Some(Finding {
                relation,
                value: value.to_owned(),
                source: profile.value_source(&["libdefaults", relation]).cloned(),
                verdict: verdict(&parse(value)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn lists_as_mit_reads_them() {
        assert_eq!(parse("aes256-cts-hmac-sha1-96 aes128-cts"), [18, 17]);
        assert_eq!(parse("DEFAULT -rc4"), [18, 17, 20, 19, 16, 26, 25]);
        assert_eq!(parse("aes +rc4 -aes128-sha2"), [18, 17, 20, 23]);
        assert_eq!(parse("arcfour-hmac,bogus-type"), [23]);
        assert_eq!(parse(""), Vec::<i32>::new());
    }

    #[test]
    fn verdicts() {
        for (list, want) in [
            (
                "aes256-cts-hmac-sha384-192 camellia256-cts",
                Verdict::Nothing,
            ),
            ("rc4-hmac", Verdict::Rc4Only),
            ("DEFAULT -rc4", Verdict::AesOnly),
            ("DEFAULT", Verdict::Both),
        ] {
            assert_eq!(verdict(&parse(list)), want, "{list}");
        }
    }

    #[test]
    fn the_crypto_policy_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("crypto-policies");
        std::fs::write(
            &policy,
            "[libdefaults]\npermitted_enctypes = aes256-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192 camellia256-cts-cmac aes128-cts-hmac-sha1-96 aes128-cts-hmac-sha256-128 camellia128-cts-cmac\n",
        )
        .unwrap();
        let main = dir.path().join("krb5.conf");
        std::fs::write(
            &main,
            format!(
                "include {}\n[libdefaults]\n default_realm = EXAMPLE.COM\n",
                policy.display()
            ),
        )
        .unwrap();
        let profile = crate::profile::load(Path::new(&main)).unwrap();
        let found = analyse(&profile);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].verdict, Verdict::AesOnly);
        assert!(found[0].from_crypto_policy(), "{:?}", found[0].source);
        assert!(
            found[0]
                .shown()
                .contains("crypto-policies:2: permitted_enctypes")
        );
    }
}
