#!/usr/bin/env bash
# scripts/install-deps.sh - install every Debian package the krbprobe build
# needs, plus the Rust musl target. Idempotent; run as root on Debian 12.
#
# Usage:
#   scripts/install-deps.sh          # build dependencies only (default)
#   scripts/install-deps.sh --lab    # build dependencies + lab/test packages
#   scripts/install-deps.sh --print-lab-packages   # print LAB_PACKAGES, exit
#
# Two package lists, kept separate on purpose:
#   BUILD_PACKAGES  owned by the build (scripts/build-krb5.sh, build.rs,
#                   bindgen in libgssapi-sys, the static musl link).
#   LAB_PACKAGES    owned by the lab/test engineer (lab/, tests/). Edit it
#                   there; the build never needs it. Only installed with --lab
#                   so a plain build machine/CI stays lean.
#
# Waits for a concurrently running apt/dpkg instead of failing on the lock
# (apt's DPkg::Lock::Timeout covers both lock-frontend and the dpkg lock).
set -euo pipefail

# --- build dependencies ------------------------------------------------------
# build-essential : gcc/make/binutils(ar, strings) used by krb5's configure/make
# dpkg-dev        : dpkg-source, used by `apt-get source` to unpack + patch krb5
# xz-utils        : the Debian krb5 .debian.tar.xz
# gpgv, debian-keyring are NOT needed: apt-get source checks the downloaded
#                   files against the hashes of the signed Sources index.
# musl-tools      : musl-gcc wrapper + musl libc (libc.a) for the static link
# clang, libclang-dev : bindgen (libgssapi-sys build script) needs libclang
# pkg-config      : probed by libgssapi-sys / other -sys crates
# file            : used to verify the final binary is statically linked
# ca-certificates : HTTPS to crates.io for cargo
BUILD_PACKAGES=(
    build-essential
    dpkg-dev
    xz-utils
    musl-tools
    clang
    libclang-dev
    pkg-config
    file
    ca-certificates
)

# --- lab/test dependencies (owned by the lab engineer) -----------------------
# NOTE: Debian 12 has no "libverto-libevent1" (no installation candidate);
# libverto1's backends in bookworm are libverto-libev1 and libverto-glib1,
# so libverto-libev1 is listed instead.
# The lint (scripts/lint.sh, a step of scripts/test.sh) runs shellcheck over every shell script.
LAB_PACKAGES=(
    dnsmasq-base
    libfaketime
    faketime
    nftables
    iproute2
    python3-venv
    python3-gssapi
    libgssrpc4
    libkadm5srv-mit12
    libkadm5clnt-mit12
    libkdb5-10
    libverto1
    libverto-libev1
    libss2
    shellcheck
    # The Samba AD DC of lab/krblab/samba.py (lab/test_samba.py): samba (the samba binary and
    # its KDC service), samba-common-bin (samba-tool), python3-samba (the bindings its fixtures
    # use), samba-ad-provision (the schema provision reads) and samba-dsdb-modules (sam.ldb's
    # ldb modules), samba-vfs-modules (acl_xattr, which provision needs to set the sysvol ACLs);
    # both only Recommends of samba, so --no-install-recommends would skip them.
    # Not samba-ad-dc or winbind: the lab runs the KDC alone, without systemd units or winbindd.
    # Installing samba enables its smbd/nmbd units on a systemd host; the lab never uses them.
    samba
    samba-common-bin
    python3-samba
    samba-ad-provision
    samba-dsdb-modules
    samba-vfs-modules
)

RUST_TARGET=x86_64-unknown-linux-musl

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

want_lab=0
for arg in "$@"; do
    case "$arg" in
        --lab) want_lab=1 ;;
        --print-lab-packages) printf '%s\n' "${LAB_PACKAGES[@]}"; exit 0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install-deps.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh: must run as root (apt-get install)" >&2
    exit 1
fi

# is_installed PKG: true when dpkg has PKG fully installed. Used so that a
# second run does not touch apt at all (fast, no lock contention).
is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

# apt_install PKG...: install only the missing packages, non-interactively,
# waiting up to 10 minutes for another apt/dpkg to release its locks.
apt_install() {
    local missing=() p
    for p in "$@"; do
        is_installed "$p" || missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "install-deps.sh: already installed: $*"
        return 0
    fi
    echo "install-deps.sh: installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=600 \
        --no-install-recommends "${missing[@]}"
}

# Fresh machines (e.g. container images) ship without package lists.
if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600
fi

apt_install "${BUILD_PACKAGES[@]}"
if [[ $want_lab -eq 1 ]]; then
    apt_install "${LAB_PACKAGES[@]}"
fi

# The Rust toolchain itself comes from rustup (not apt). `rustup target add`
# is a no-op when the target is already installed.
if command -v rustup >/dev/null 2>&1; then
    if rustup target list --installed | grep -qx "$RUST_TARGET"; then
        echo "install-deps.sh: rust target $RUST_TARGET already installed"
    else
        rustup target add "$RUST_TARGET"
    fi
else
    echo "install-deps.sh: rustup not found; install Rust via rustup, then run:" >&2
    echo "    rustup target add $RUST_TARGET" >&2
    exit 1
fi
echo "install-deps.sh: done"
