//! Differential test: krbprobe's krb5.conf parser against MIT's own profile library, the one
//! statically linked into the binary. For each tricky input both must agree on whether the
//! file is refused (and with which message) and, when it is accepted, on what it says.

use std::ffi::{CStr, CString, c_char, c_long, c_void};
use std::path::Path;
use std::ptr;

use krbprobe::profile;

unsafe extern "C" {
    fn profile_init_path(path: *const c_char, ret: *mut *mut c_void) -> c_long;
    fn profile_release(p: *mut c_void);
    fn profile_get_values(
        p: *mut c_void,
        names: *const *const c_char,
        ret: *mut *mut *mut c_char,
    ) -> c_long;
    fn profile_get_subsection_names(
        p: *mut c_void,
        names: *const *const c_char,
        ret: *mut *mut *mut c_char,
    ) -> c_long;
    fn profile_get_relation_names(
        p: *mut c_void,
        names: *const *const c_char,
        ret: *mut *mut *mut c_char,
    ) -> c_long;
    fn profile_free_list(list: *mut *mut c_char);
    fn error_message(code: c_long) -> *const c_char;
    fn krb5_init_context(ctx: *mut *mut c_void) -> i32;
    fn krb5_free_context(ctx: *mut c_void);
}

/// MIT's profile, opened on one file.
struct Mit(*mut c_void);

impl Mit {
    fn open(path: &Path) -> Result<Mit, String> {
        // Registers MIT's error tables so error_message() has the profile texts.
        let mut ctx = ptr::null_mut();
        unsafe {
            if krb5_init_context(&mut ctx) == 0 {
                krb5_free_context(ctx);
            }
        }
        let c = CString::new(path.to_str().unwrap()).unwrap();
        let mut p = ptr::null_mut();
        let code = unsafe { profile_init_path(c.as_ptr(), &mut p) };
        if code != 0 {
            let msg = unsafe { CStr::from_ptr(error_message(code)) };
            return Err(msg.to_string_lossy().into_owned());
        }
        Ok(Mit(p))
    }

    fn list(
        &self,
        f: unsafe extern "C" fn(*mut c_void, *const *const c_char, *mut *mut *mut c_char) -> c_long,
        path: &[&str],
    ) -> Vec<String> {
        let owned: Vec<CString> = path.iter().map(|s| CString::new(*s).unwrap()).collect();
        let mut names: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        names.push(ptr::null());
        let mut out: *mut *mut c_char = ptr::null_mut();
        let code = unsafe { f(self.0, names.as_ptr(), &mut out) };
        let mut v = Vec::new();
        if code == 0 && !out.is_null() {
            let mut i = 0;
            loop {
                let s = unsafe { *out.add(i) };
                if s.is_null() {
                    break;
                }
                v.push(unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned());
                i += 1;
            }
            unsafe { profile_free_list(out) };
        }
        v
    }
}

impl Drop for Mit {
    fn drop(&mut self) {
        unsafe { profile_release(self.0) };
    }
}

/// What both parsers are asked about every accepted file.
fn compare(name: &str, mit: &Mit, ours: &profile::Profile) {
    let sections = ["libdefaults", "realms", "domain_realm"];
    for s in sections {
        let m = mit.list(profile_get_relation_names, &[s]);
        let o: Vec<String> = ours
            .relation_names(&[s])
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(o, m, "{name}: relation names of [{s}]");
        for rel in &m {
            let mv = mit.list(profile_get_values, &[s, rel]);
            let ov: Vec<String> = ours
                .values(&[s, rel])
                .into_iter()
                .map(str::to_owned)
                .collect();
            assert_eq!(ov, mv, "{name}: values of [{s}] {rel}");
        }
    }
    let realms = mit.list(profile_get_subsection_names, &["realms"]);
    let ours_realms: Vec<String> = ours
        .subsection_names(&["realms"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(ours_realms, realms, "{name}: realms");
    for r in &realms {
        for rel in ["kdc", "admin_server"] {
            let mv = mit.list(profile_get_values, &["realms", r, rel]);
            let ov: Vec<String> = ours
                .values(&["realms", r, rel])
                .into_iter()
                .map(str::to_owned)
                .collect();
            assert_eq!(ov, mv, "{name}: [realms] {r} {rel}");
        }
    }
}

const CASES: &[(&str, &str)] = &[
    (
        "plain",
        "[libdefaults]\n default_realm = EXAMPLE.COM\n[realms]\n EXAMPLE.COM = {\n  kdc = dc1.example.com\n  kdc = dc2.example.com:88\n }\n",
    ),
    (
        "comments",
        "# c\n; c\n[libdefaults]\n  # indented comment\n default_realm = A.B ; not a comment\n",
    ),
    (
        "inline hash is part of the value",
        "[libdefaults]\n rdns = false # comment\n",
    ),
    (
        "bom hides first section",
        "\u{feff}[libdefaults]\n default_realm = A\n[realms]\n A = {\n kdc = x\n }\n",
    ),
    (
        "indented first header",
        "  [libdefaults]\n default_realm = A\n[realms]\n A = {\n kdc = x\n }\n",
    ),
    (
        "relation before section",
        "default_realm = A\n[libdefaults]\n rdns = false\n",
    ),
    (
        "quoted values",
        "[libdefaults]\n a = \"x\\ty\\\\z\" trailing\n b = \"\"\n",
    ),
    (
        "braces on one line are a value",
        "[libdefaults]\n a = { }\n",
    ),
    (
        "duplicate sections merge",
        "[libdefaults]\n a = 1\n[realms]\n R = {\n kdc = k1\n }\n[libdefaults]\n a = 2\n[realms]\n R = {\n kdc = k2\n }\n",
    ),
    ("final marker", "[libdefaults]*\n a = 1\n"),
    (
        "crlf",
        "[libdefaults]\r\n default_realm = A\r\n[realms]\r\n A = {\r\n kdc = x\r\n }\r\n",
    ),
    (
        "space in relation name",
        "[libdefaults]\n default realm = A\n",
    ),
    ("stray close brace", "[libdefaults]\n a = 1\n}\n"),
    (
        "blank between name and brace",
        "[realms]\n A =\n\n {\n kdc = x\n }\n",
    ),
    ("unterminated section header", "[libdefaults\n a = 1\n"),
    ("text after section header", "[libdefaults] x\n a = 1\n"),
    ("unclosed brace at eof", "[realms]\n A = {\n kdc = x\n"),
    (
        "case matters",
        "[Realms]\n A = {\n kdc = x\n }\n[realms]\n a = {\n kdc = y\n }\n",
    ),
    (
        "nul byte ends the line",
        "[libdefaults]\n a = b\0c\n d = e\n",
    ),
    ("empty file", ""),
    ("garbage bytes", "\u{1}\u{2}[[[ }}} = = =\n\u{7f}"),
];

#[test]
fn accepted_files_read_the_same_and_refused_files_fail_the_same() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, text)) in CASES.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.conf"));
        std::fs::write(&path, text).unwrap();
        let mit = Mit::open(&path);
        let ours = profile::load(&path);
        match (mit, ours) {
            (Ok(m), Ok(o)) => compare(name, &m, &o),
            (Err(m), Err(o)) => assert_eq!(o.mit_message(), m, "{name}: different refusal"),
            (Ok(_), Err(o)) => panic!("{name}: MIT accepts, we refuse: {o}"),
            (Err(m), Ok(_)) => panic!("{name}: MIT refuses ({m}), we accept"),
        }
    }
}

#[test]
fn missing_include_and_includedir_fail_like_mit() {
    let dir = tempfile::tempdir().unwrap();
    for (i, directive) in [
        "include /nonexistent/krb5-extra.conf",
        "includedir /nonexistent/krb5.conf.d/",
    ]
    .iter()
    .enumerate()
    {
        let path = dir.path().join(format!("inc{i}.conf"));
        std::fs::write(&path, format!("{directive}\n[libdefaults]\n a = 1\n")).unwrap();
        let m = Mit::open(&path)
            .err()
            .expect("MIT refuses a missing include");
        let o = profile::load(&path).expect_err("we refuse it too");
        assert_eq!(o.mit_message(), m, "{directive}");
        assert!(o.to_string().contains(":1"), "names the line: {o}");
    }
}

#[test]
fn includedir_reads_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("conf.d");
    std::fs::create_dir(&d).unwrap();
    for (f, realm) in [
        ("a.conf", "A"),
        ("b_c-d", "B"),
        ("e.cfg", "E"),
        (".hidden.conf", "H"),
        ("f.conf.bak", "F"),
    ] {
        std::fs::write(
            d.join(f),
            format!("[realms]\n {realm} = {{\n kdc = {realm}.kdc\n }}\n"),
        )
        .unwrap();
    }
    let path = dir.path().join("main.conf");
    std::fs::write(
        &path,
        format!("includedir {}\n[libdefaults]\n a = 1\n", d.display()),
    )
    .unwrap();
    let m = Mit::open(&path).unwrap();
    let o = profile::load(&path).unwrap();
    compare("includedir", &m, &o);
    assert_eq!(
        m.list(profile_get_subsection_names, &["realms"]),
        ["A", "B"]
    );
}
