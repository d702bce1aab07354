#!/usr/bin/env bash
# lab/install-tools.sh - provide the MIT Kerberos programs the lab needs
# (krb5kdc, kdb5_util, kadmin.local, kinit, kvno, klist, ...) WITHOUT
# installing krb5-kdc/krb5-admin-server/krb5-user: those depend on
# krb5-config, whose maintainer scripts write the host's /etc/krb5.conf.
#
# Instead the three packages are fetched with `apt-get download` (exactly the
# version of the installed libkrb5-3, which they pin with "=") and unpacked with
# `dpkg -x` into a private tools dir. The shared libraries they need come from
# ordinary, harmless library packages, installed here with apt-get.
#
# Usage:
#   lab/install-tools.sh [--tools-root DIR] [--no-apt] [--force]
#
#   --tools-root DIR  where to unpack (default: $KRBPROBE_LAB_TOOLS_ROOT or
#                     <repo>/target/lab-tools)
#   --no-apt          do not apt-get install the library packages (just check)
#   --force           re-download and re-extract even if up to date
#
# Result: DIR/bin/ holds symlinks to every extracted program (this is what
# lab/run exports as KRBPROBE_LAB_TOOLS), DIR/plugins/kdb/db2.so the KDC's
# database module. Idempotent: a second run with everything in place touches
# neither apt nor the network. Run as root on Debian 12.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tools_root=${KRBPROBE_LAB_TOOLS_ROOT:-$repo/target/lab-tools}
do_apt=1
force=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --tools-root) tools_root=$2; shift 2 ;;
        --tools-root=*) tools_root=${1#*=}; shift ;;
        --no-apt) do_apt=0; shift ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-tools.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

log() { echo "install-tools.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"

# Library / helper packages. None of them writes /etc/krb5.conf.
# Note: Debian 12 has no libverto-libevent1; krb5-kdc accepts libverto-libev1.
LIB_PACKAGES=(
    libkrb5-3 libgssapi-krb5-2 libk5crypto3 libkrb5support0
    libgssrpc4 libkadm5srv-mit12 libkadm5clnt-mit12 libkdb5-10
    libverto1 libverto-libev1 libss2 libcom-err2
    dnsmasq-base libfaketime faketime nftables iproute2 openssl python3
    python3-gssapi
)
TOOL_PACKAGES=(krb5-kdc krb5-admin-server krb5-user)

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

ensure_lists() {
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        log "no apt package lists yet: apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600 >&2
    fi
}

# 1. library packages ---------------------------------------------------------
missing=()
for p in "${LIB_PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $do_apt -eq 0 ]]; then
        die "missing packages (run without --no-apt): ${missing[*]}"
    fi
    ensure_lists
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >&2
fi

# 2. extracted MIT programs ---------------------------------------------------
# They pin libkrb5-3 with "=", so fetch exactly the installed library version.
want=$(dpkg-query -W -f='${Version}' libkrb5-3)
stamp="$tools_root/.installed-version"
if [[ $force -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" \
      && -x "$tools_root/bin/krb5kdc" && -x "$tools_root/bin/kinit" \
      && -f "$tools_root/plugins/kdb/db2.so" ]]; then
    log "up to date: MIT krb5 $want tools in $tools_root"
    exit 0
fi

ensure_lists
dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
# apt's download sandbox user must be able to write the target dir.
if id _apt >/dev/null 2>&1; then chown _apt "$dl"; fi
log "apt-get download ${TOOL_PACKAGES[*]} (version $want)"
specs=()
for p in "${TOOL_PACKAGES[@]}"; do specs+=("$p=$want"); done
if ! (cd "$dl" && apt-get download -q "${specs[@]}" >&2); then
    die "could not download ${specs[*]}: is the installed libkrb5-3 ($want) still the version apt offers? (apt-get update && apt-get install libkrb5-3, then retry)"
fi

rm -rf "$tools_root.new"
mkdir -p "$tools_root.new"
for deb in "$dl"/*.deb; do
    dpkg -x "$deb" "$tools_root.new/root"
done
# Flat views: bin/ with every program, plugins/ with the KDC modules.
mkdir -p "$tools_root.new/bin"
for d in usr/bin usr/sbin; do
    for f in "$tools_root.new/root/$d"/*; do
        [[ -f "$f" && -x "$f" ]] || continue
        ln -s "../root/$d/$(basename "$f")" "$tools_root.new/bin/$(basename "$f")"
    done
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
ln -s "root/usr/lib/$multiarch/krb5/plugins" "$tools_root.new/plugins"
[[ -f "$tools_root.new/plugins/kdb/db2.so" ]] || die "db2.so not found in extracted krb5-kdc"

# Check every program and the db2 module can load their libraries.
bad=$(for f in "$tools_root.new"/bin/* "$tools_root.new/plugins/kdb/db2.so"; do
          ldd "$f" 2>/dev/null | grep 'not found' | sed "s|^|$(basename "$f"): |"
      done || true)
[[ -z "$bad" ]] || die "unresolved libraries:"$'\n'"$bad"

echo "$want" > "$tools_root.new/.installed-version"
rm -rf "$tools_root"
mv "$tools_root.new" "$tools_root"
log "installed MIT krb5 $want tools: $tools_root/bin ($(cd "$tools_root/bin" && echo *))"
