#!/usr/bin/env bash
# scripts/lint-venv.sh - a Python venv with the linters of scripts/lint.sh (ruff, mypy and the type
# information mypy checks against).
#
# Usage:
#   scripts/lint-venv.sh [--no-apt] [--force] [DIR]
#
#   DIR        where the venv goes (default: $KRBPROBE_LINT_VENV or <repo>/target/lint-venv)
#   --no-apt   do not apt-get install python3-venv / python3-gssapi (just check)
#   --force    re-create the venv even if it is up to date
#
# Versions come from scripts/lint-requirements.txt (PyPI). The venv sees the system's
# site-packages for one reason: Debian's python3-gssapi (typed), the gssapi the lab's stand-in runs
# with, so that mypy checks lab/krblab against it. Everything in the requirements is installed
# into the venv itself (pip --ignore-installed), whatever the system has.
# Idempotent: with the venv in place for the same requirements and python it touches neither apt
# nor the network. Prints the venv dir on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
reqs=$here/lint-requirements.txt
venv=${KRBPROBE_LINT_VENV:-$repo/target/lint-venv}
py=${KRBPROBE_LAB_PYTHON:-/usr/bin/python3}
do_apt=1
force=0

log() { echo "lint-venv.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-apt) do_apt=0 ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "lint-venv.sh: unknown option: $1" >&2; exit 2 ;;
        *) venv=$1 ;;
    esac
    shift
done
[[ -x "$py" ]] || py=$(command -v python3) || die "no python3"

# 1. system packages -------------------------------------------------------------
APT_PACKAGES=(python3-venv python3-gssapi)
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
stamp_want="$("$py" -c 'import sys; print(sys.version.split()[0], sys.executable)') $(sha256sum "$reqs" | cut -d' ' -f1)"
check() {
    "$venv/bin/python" -c 'import mypy, pytest, gssapi.raw' 2>/dev/null \
        && [[ -x "$venv/bin/ruff" && -x "$venv/bin/mypy" ]]
}
if [[ $force -eq 0 && -f "$venv/.krbprobe-stamp" && "$(cat "$venv/.krbprobe-stamp")" == "$stamp_want" ]] \
      && check; then
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
"$py" -m venv --system-site-packages "$venv"
log "pip install -r $(basename "$reqs")"
"$venv/bin/pip" install --disable-pip-version-check --no-cache-dir --ignore-installed -q -r "$reqs" >&2
if ! check; then
    rm -rf "$venv"
    die "the venv lacks ruff, mypy or pytest, or cannot import the system's gssapi"
fi
echo "$stamp_want" > "$venv/.krbprobe-stamp"
trap - ERR
log "ready in $(( $(date +%s) - t0 ))s: $venv ($("$venv/bin/ruff" --version), $("$venv/bin/mypy" --version))"
echo "$venv"
