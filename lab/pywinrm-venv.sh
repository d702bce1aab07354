#!/usr/bin/env bash
# lab/pywinrm-venv.sh - a Python venv with the real WinRM clients (pywinrm with
# its kerberos extra, i.e. pykerberos; pypsrp with pyspnego's kerberos extra,
# i.e. python-gssapi and krb5) and pytest, for lab/test_pywinrm.py and
# lab/test_pypsrp.py.
#
# Usage:
#   lab/pywinrm-venv.sh [--no-apt] [--force] [DIR]
#
#   DIR        where the venv goes (default: $KRBPROBE_PYWINRM_VENV or
#              <repo>/target/pywinrm-venv)
#   --no-apt   do not apt-get install the build dependencies (just check)
#   --force    re-create the venv even if it is up to date
#
# Versions come from lab/pywinrm-requirements.txt (PyPI), the build tools of
# the packages built from source from lab/pywinrm-build-constraints.txt.
# pykerberos, gssapi and krb5 have no Linux wheels: they are compiled against
# the system's MIT krb5, so this installs (apt) python3-venv, python3-dev,
# libkrb5-dev and gcc when missing. None of them writes /etc/krb5.conf
# (libkrb5-dev is not krb5-config).
# Idempotent: with the venv in place for the same requirements and python it
# touches neither apt nor the network. Prints the venv dir on stdout.
# Then: lab/run -- DIR/bin/pytest lab/test_pywinrm.py lab/test_pypsrp.py
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
reqs=$here/pywinrm-requirements.txt
build_constraints=$here/pywinrm-build-constraints.txt
venv=${KRBPROBE_PYWINRM_VENV:-$repo/target/pywinrm-venv}
py=${KRBPROBE_LAB_PYTHON:-/usr/bin/python3}
do_apt=1
force=0

log() { echo "pywinrm-venv.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-apt) do_apt=0 ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "pywinrm-venv.sh: unknown option: $1" >&2; exit 2 ;;
        *) venv=$1 ;;
    esac
    shift
done
[[ -x "$py" ]] || py=$(command -v python3) || die "no python3"

# 1. build dependencies --------------------------------------------------------
APT_PACKAGES=(python3-venv python3-dev libkrb5-dev gcc libc6-dev)
is_installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]; }
missing=()
for p in "${APT_PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $do_apt -eq 1 ]] || die "missing packages (run without --no-apt): ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || die "missing packages ${missing[*]}: run as root"
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600 >&2
    fi
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
        --no-install-recommends "${missing[@]}" >&2
fi

# 2. the venv --------------------------------------------------------------------
stamp_want="$("$py" -c 'import sys; print(sys.version.split()[0], sys.executable)') $(cat "$reqs" "$build_constraints" | sha256sum | cut -d' ' -f1)"
check() {
    "$venv/bin/python" -c 'import winrm, kerberos, pytest; assert hasattr(kerberos, "authGSSWinRMEncryptMessage")
import pypsrp.powershell, spnego, gssapi, krb5' 2>/dev/null
}
if [[ $force -eq 0 && -f "$venv/.krbprobe-stamp" && "$(cat "$venv/.krbprobe-stamp")" == "$stamp_want" \
      && -x "$venv/bin/pytest" ]] && check; then
    log "up to date: $venv"
    echo "$venv"
    exit 0
fi

t0=$(date +%s)
# A venv is not relocatable (absolute paths in bin/): build it in place and
# remove it again if anything fails.
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
trap 'rm -rf "$venv"' ERR
log "creating $venv with $py"
"$py" -m venv "$venv"
log "pip install -r $(basename "$reqs")"
# PIP_CONSTRAINT reaches the isolated build environments of gssapi and krb5 (Cython, setuptools).
PIP_CONSTRAINT=$build_constraints "$venv/bin/pip" install --disable-pip-version-check --no-cache-dir -q \
    -r "$reqs" >&2
if ! check; then
    rm -rf "$venv"
    die "the venv cannot import winrm/kerberos/pypsrp/gssapi/krb5/pytest (or pykerberos lacks WinRM encryption)"
fi
echo "$stamp_want" > "$venv/.krbprobe-stamp"
trap - ERR
log "ready in $(( $(date +%s) - t0 ))s: $venv ($("$venv/bin/python" -c 'import importlib.metadata as m; print("pywinrm", m.version("pywinrm"), "pypsrp", m.version("pypsrp"))'))"
echo "$venv"
