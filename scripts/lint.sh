#!/usr/bin/env bash
# scripts/lint.sh - lint the repository's Python and shell; a step of scripts/test.sh.
#   1. ruff check, every *.py (rules in pyproject.toml)
#   2. mypy, every *.py (pyproject.toml: lab/krblab strictly, the rest with its bodies checked)
#   3. shellcheck, every shell script: *.sh and the files whose shebang is sh or bash (lab/run, .ci/run)
# ruff and mypy are pinned in scripts/lint-requirements.txt (venv: scripts/lint-venv.sh), shellcheck
# is Debian's (scripts/install-deps.sh --lab). The files are the ones git knows (tracked, and untracked
# but not ignored), so a new script is linted without being listed anywhere.
# No `ruff format --check`: the code is hand-formatted (aligned continuation lines), and ruff's
# formatter would rewrite about 2,000 lines for no change in behaviour.
#
# Usage:
#   scripts/lint.sh          # exit 1 when anything outside PENDING has a finding
#   scripts/lint.sh --fix    # let ruff apply its safe fixes first (not to PENDING)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Files being rewritten on another branch: linted and their findings shown, but not fatal, so that
# the rewrite, not this script, fixes them. Remove an entry once its file is clean.
PENDING=()

log() { printf 'lint.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

fix=0
case "${1:-}" in
    "") ;;
    --fix) fix=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lint.sh: unknown argument: $1" >&2; exit 2 ;;
esac

venv=$(scripts/lint-venv.sh)
command -v shellcheck >/dev/null || die "shellcheck not found: run scripts/install-deps.sh --lab (as root)"

is_pending() {
    local p
    for p in "${PENDING[@]}"; do [[ $1 == "$p" ]] && return 0; done
    return 1
}

# The files, each into its tool's list: checked (findings fail the run) or pending.
py=() py_pending=() sh=() sh_pending=()
shell_re='^#!(/usr)?/bin/(env[[:space:]]+)?(ba)?sh([[:space:]]|$)'
while IFS= read -r -d '' f; do
    [[ -f $f && ! -L $f ]] || continue   # deleted in the worktree, or a symlink
    first=''
    if [[ $f == *.py ]]; then
        kind='py'
    elif [[ $f == *.sh ]] || { IFS= read -r first <"$f" || true; [[ $first =~ $shell_re ]]; }; then
        kind='sh'
    else
        continue
    fi
    case $kind,$(is_pending "$f" && echo pending) in
        py,) py+=("$f") ;;
        py,pending) py_pending+=("$f") ;;
        sh,) sh+=("$f") ;;
        sh,pending) sh_pending+=("$f") ;;
    esac
done < <(git ls-files -z --cached --others --exclude-standard | sort -zu)

failed=()
pending_report=()

# 1. ruff -----------------------------------------------------------------------------------------
log "ruff check: ${#py[@]} files ($("$venv/bin/ruff" --version))"
if [[ $fix -eq 1 && ${#py[@]} -gt 0 ]]; then
    "$venv/bin/ruff" check --fix --quiet "${py[@]}" || true
fi
if [[ ${#py[@]} -gt 0 ]] && ! "$venv/bin/ruff" check "${py[@]}"; then
    failed+=(ruff)
fi
if [[ ${#py_pending[@]} -gt 0 ]]; then
    out=$("$venv/bin/ruff" check --output-format concise --no-fix "${py_pending[@]}" 2>&1 || true)
    pending_report+=("ruff check:" "$out")
fi

# 2. mypy -----------------------------------------------------------------------------------------
# One run over every file (imports reach across them); the lines about PENDING files are set aside.
all_py=("${py[@]}" "${py_pending[@]}")
if [[ ${#all_py[@]} -gt 0 ]]; then
    log "mypy: ${#all_py[@]} files ($("$venv/bin/mypy" --version))"
    rc=0
    out=$("$venv/bin/mypy" "${all_py[@]}" 2>&1) || rc=$?
    mine='' theirs=''
    while IFS= read -r line; do
        if is_pending "${line%%:*}"; then
            theirs+=$line$'\n'
        elif [[ ! $line =~ ^(Found\ [0-9]+\ errors?\ in|Success:) ]]; then
            mine+=$line$'\n'
        fi
    done <<<"$out"
    [[ -z $theirs ]] || pending_report+=("mypy:" "${theirs%$'\n'}")
    printf '%s' "$mine"
    # Fatal: a finding in a checked file, or a failure that is not about PENDING files at all.
    if [[ $rc -ne 0 && ( -n $mine || -z $theirs ) ]]; then
        failed+=(mypy)
    fi
fi

# 3. shellcheck -----------------------------------------------------------------------------------
# -x: follow the files a script sources (the paths they name are relative to the repository).
log "shellcheck: ${#sh[@]} files ($(shellcheck --version | sed -n 's/^version: /shellcheck /p'))"
if [[ ${#sh[@]} -gt 0 ]] && ! shellcheck -x "${sh[@]}"; then
    failed+=(shellcheck)
fi
if [[ ${#sh_pending[@]} -gt 0 ]]; then
    out=$(shellcheck -x -f gcc "${sh_pending[@]}" 2>&1 || true)
    pending_report+=("shellcheck:" "$out")
fi

# -------------------------------------------------------------------------------------------------
if [[ ${#pending_report[@]} -gt 0 ]]; then
    log "findings in PENDING files (not fatal; see PENDING in scripts/lint.sh):"
    printf '%s\n' "${pending_report[@]}" | sed 's/^/    /' >&2
fi
if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED: ${failed[*]}"
    exit 1
fi
log "ok"
