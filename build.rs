//! krbprobe build script: completes the static MIT krb5 link for musl builds
//! and embeds the krb5 version.
//!
//! The static libraries come from `scripts/build-krb5.sh`, installed into the
//! prefix named by `LIBGSSAPI_PREFIX` (set in `.cargo/config.toml` to
//! `<repo>/target/mit-krb5`). `libgssapi-sys` already emits
//! `-L <prefix>/lib -l gssapi_krb5` and generates the bindings; this script
//! adds what a *static* link additionally needs.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process;

/// Static archives libgssapi_krb5.a depends on, in dependency order (each
/// may only reference the ones after it). libresolv, libpthread, libdl are
/// all part of musl's libc.a, so nothing else is needed for musl.
const KRB5_DEP_LIBS: &[&str] = &["krb5", "k5crypto", "com_err", "krb5support"];

fn fail(msg: &str) -> ! {
    eprintln!("\nerror: {msg}\n");
    process::exit(1);
}

/// First entry of the colon-separated LIBGSSAPI_PREFIX, falling back to the
/// default location used by scripts/build-krb5.sh.
fn krb5_prefix() -> PathBuf {
    match env::var("LIBGSSAPI_PREFIX") {
        Ok(s) if !s.trim().is_empty() => {
            PathBuf::from(s.split(':').find(|p| !p.is_empty()).unwrap_or_default())
        }
        _ => PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("target/mit-krb5"),
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=LIBGSSAPI_PREFIX");

    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let prefix = krb5_prefix();
    let stamp = prefix.join("KRB5_VERSION");
    // Watch the stamp even when it is missing, so the build script reruns
    // once scripts/build-krb5.sh has created it.
    println!("cargo:rerun-if-changed={}", stamp.display());

    if target_env != "musl" {
        // Host (glibc) builds link the system's shared MIT libraries via
        // libgssapi-sys' own detection; there is no static chain to finish.
        println!("cargo:rustc-env=KRBPROBE_MIT_KRB5_VERSION=system");
        println!("cargo:rustc-env=KRBPROBE_MIT_KRB5=system GSSAPI library (dynamically linked)");
        return;
    }

    let version = match fs::read_to_string(&stamp) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => {
            let default =
                Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("target/mit-krb5");
            let cmd = if prefix == default {
                "scripts/build-krb5.sh".to_owned()
            } else {
                format!("scripts/build-krb5.sh {}", prefix.display())
            };
            fail(&format!(
                "static MIT krb5 not found: {} is missing.\n\
                 Build it first (about a minute), from the repository root:\n\
                 \n    scripts/install-deps.sh   # once, as root: apt packages + rust musl target\
                 \n    {cmd}\n\
                 \n(LIBGSSAPI_PREFIX, set in .cargo/config.toml, selects the prefix {}.)",
                stamp.display(),
                prefix.display()
            ))
        }
    };
    check_libs(&prefix.join("lib"));

    // "1.20.1-2+deb12u5" -> upstream "1.20.1" (strip an epoch and the
    // Debian revision).
    let no_epoch = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
    let upstream = no_epoch.rsplit_once('-').map_or(no_epoch, |(u, _)| u);
    println!("cargo:rustc-env=KRBPROBE_MIT_KRB5_VERSION={version}");
    println!("cargo:rustc-env=KRBPROBE_MIT_KRB5=MIT krb5 {upstream} (Debian {version})");

    // Link order matters for static archives: each archive only resolves
    // symbols referenced by what precedes it. rustc puts *our* rustc-link-lib
    // entries before the upstream rlibs (i.e. before libgssapi-sys' -lgssapi_krb5),
    // which would be too early. rustc-link-arg entries are placed after all
    // crates and their native libs, so the whole chain is emitted there,
    // gssapi_krb5 included, followed by libc (musl's libc.a carries
    // libresolv/pthread/dl) because the krb5 archives need libc members that
    // nothing earlier pulled in.
    let lib_dir = prefix.join("lib");
    println!("cargo:rustc-link-arg=-Wl,--start-group");
    for lib in std::iter::once("gssapi_krb5").chain(KRB5_DEP_LIBS.iter().copied()) {
        println!(
            "cargo:rustc-link-arg={}",
            lib_dir.join(format!("lib{lib}.a")).display()
        );
    }
    println!("cargo:rustc-link-arg=-lc");
    println!("cargo:rustc-link-arg=-Wl,--end-group");
}

fn check_libs(lib_dir: &Path) {
    for lib in std::iter::once("gssapi_krb5").chain(KRB5_DEP_LIBS.iter().copied()) {
        let a = lib_dir.join(format!("lib{lib}.a"));
        if !a.is_file() {
            fail(&format!(
                "{} is missing; rerun scripts/build-krb5.sh --force",
                a.display()
            ));
        }
    }
}
