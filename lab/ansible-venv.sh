#!/usr/bin/env bash
# lab/ansible-venv.sh - a Python venv with ansible-core, ansible-lint, the
# winrm connection's client (pywinrm with its kerberos extra) and the psrp
# connection's (pypsrp, pyspnego[kerberos]) plus pytest, for
# lab/test_ansible.py (krbprobe as an Ansible module, playbooks/).
#
# Usage:
#   lab/ansible-venv.sh [--no-apt] [--force] [DIR]
#
#   DIR        where the venv goes (default: $KRBPROBE_ANSIBLE_VENV or
#              <repo>/target/ansible-venv)
#   --no-apt   do not apt-get install the build dependencies (just check)
#   --force    re-create the venv even if it is up to date
#
# Versions are pinned below (PyPI), every package including the transitive
# ones; the WinRM clients are lab/pywinrm-requirements.txt's (and their build
# tools lab/pywinrm-build-constraints.txt's). ansible-core 2.19 needs python
# >= 3.11: Debian 12's /usr/bin/python3 is 3.11. pykerberos, gssapi and krb5
# have no Linux wheels: they are compiled against the system's MIT krb5, so this installs
# (apt) python3-venv, python3-dev, libkrb5-dev and gcc when missing (none of
# them writes /etc/krb5.conf).
# Idempotent: with the venv in place for the same pins and python it touches
# neither apt nor the network. Prints the venv dir on stdout.
# Then: lab/run -q -- DIR/bin/pytest -q lab/test_ansible.py
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
pywinrm_reqs=$here/pywinrm-requirements.txt
build_constraints=$here/pywinrm-build-constraints.txt
venv=${KRBPROBE_ANSIBLE_VENV:-$repo/target/ansible-venv}
py=${KRBPROBE_LAB_PYTHON:-/usr/bin/python3}
do_apt=1
force=0

# ansible-core 2.19 (the AWX EE generation of 2025/26) and the ansible-lint
# that supports it; the rest is what pip resolved for them, pinned.
ANSIBLE_REQUIREMENTS='
ansible-core==2.19.14
ansible-lint==26.10.1
ansible-compat==26.10.0
attrs==26.1.0
black==26.10.1
bracex==3.2.3
click==8.5.1
distro==1.9.0
filelock==4.3.1
Jinja2==3.1.6
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
MarkupSafe==3.0.4
mypy_extensions==1.2.0
pathspec==1.1.1
platformdirs==4.14.8
pytokens==0.4.1
PyYAML==6.0.4
referencing==0.37.0
resolvelib==1.2.1
rpds-py==2026.9.1
ruamel.yaml==0.19.1
subprocess-tee==0.4.2
typing_extensions==4.16.0
wcmatch==12.0.1
yamllint==1.38.0
'

log() { echo "ansible-venv.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-apt) do_apt=0 ;;
        --force) force=1 ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "ansible-venv.sh: unknown option: $1" >&2; exit 2 ;;
        *) venv=$1 ;;
    esac
    shift
done
[[ -x "$py" ]] || py=$(command -v python3) || die "no python3"
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$py is $("$py" -V 2>&1): ansible-core 2.19 needs python >= 3.11"

# 1. build dependencies (pykerberos, gssapi, krb5) -------------------------------------------
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
stamp_want="$("$py" -c 'import sys; print(sys.version.split()[0], sys.executable)') $( { cat "$pywinrm_reqs" "$build_constraints"; echo "$ANSIBLE_REQUIREMENTS"; } | sha256sum | cut -d' ' -f1)"
check() {
    "$venv/bin/python" -c 'import ansible, ansiblelint, winrm, kerberos, pypsrp.powershell, gssapi, krb5, pytest' \
        2>/dev/null \
        && [[ -x "$venv/bin/ansible-playbook" && -x "$venv/bin/ansible-lint" && -x "$venv/bin/pytest" ]]
}
if [[ $force -eq 0 && -f "$venv/.krbprobe-stamp" && "$(cat "$venv/.krbprobe-stamp")" == "$stamp_want" ]] && check; then
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
reqs=$(mktemp)
trap 'rm -f "$reqs"' EXIT
{ cat "$pywinrm_reqs"; echo "$ANSIBLE_REQUIREMENTS"; } > "$reqs"
log "pip install ansible-core, ansible-lint, pywinrm[kerberos], pypsrp[kerberos] (pinned)"
PIP_CONSTRAINT=$build_constraints "$venv/bin/pip" install --disable-pip-version-check --no-cache-dir -q -r "$reqs" >&2
if ! check; then
    rm -rf "$venv"
    die "the venv lacks ansible-playbook, ansible-lint, winrm, kerberos, pypsrp, gssapi, krb5 or pytest"
fi
echo "$stamp_want" > "$venv/.krbprobe-stamp"
trap - ERR
log "ready in $(( $(date +%s) - t0 ))s: $venv ($("$venv/bin/ansible-playbook" --version | sed -n 1p))"
echo "$venv"
