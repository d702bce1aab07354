#!/usr/bin/env bash
# scripts/deny.sh - supply-chain checks of krbprobe's dependency graph (deny.toml), issue 5:
#   1. cargo-deny at a pinned version (`cargo install --locked`, skipped when already installed)
#   2. licenses, bans and sources: always checked; any error fails the script
#   3. advisories (what `cargo audit` checks: the RustSec database): the database is a git
#      repository on GitHub. Fetched: every vulnerability fails the script. Not fetchable: a copy
#      already in $CARGO_HOME/advisory-dbs (a CI cache, `cargo deny fetch db` on a networked
#      machine) is used if it is under 90 days old; without one the advisories are NOT checked,
#      and the script says so on stderr and in its summary. That is exit 0 unless
#      DENY_REQUIRE_ADVISORIES=1 is set, when it is exit 1.
# Ends with one summary line on stderr. Run from anywhere; needs cargo and git.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Bump deliberately: a new cargo-deny can add lints that fail the build.
version=0.20.2
start=$SECONDS
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

say() { printf 'deny.sh: %s\n' "$*" >&2; }

installed=$(cargo deny --version 2>/dev/null || true)
if [[ $installed != "cargo-deny $version" ]]; then
    say "installing cargo-deny $version (was: ${installed:-none}); 5 to 9 minutes on 2 cores"
    t=$SECONDS
    cargo install cargo-deny --locked --version "$version" --quiet
    say "installed cargo-deny $version in $((SECONDS - t)) s"
fi

# --- licenses, bans, sources ------------------------------------------------------------------
# The inclusion graphs of the multiple-versions warnings are long; on a failure the check runs
# again with them, since they show which dependency pulls the offending crate in.
policy=ok
if ! cargo deny --locked check --hide-inclusion-graph licenses bans sources; then
    policy=FAILED
    say "licenses/bans/sources failed; again with inclusion graphs:"
    cargo deny --locked check licenses bans sources || true
fi

# --- advisories -------------------------------------------------------------------------------
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# deny.toml's only db-url; cargo-deny names its clone advisory-db-<hash of the url>.
db_url=https://github.com/rustsec/advisory-db
db_dir() { compgen -G "$cargo_home/advisory-dbs/advisory-db-*" | head -n1 || true; }
db_desc() { # "1034 advisories, last commit 2026-11-27"
    local dir=$1 n date
    [[ -n $dir ]] || { echo "location unknown"; return; }
    n=$(find "$dir/crates" -name 'RUSTSEC-*.md' 2>/dev/null | wc -l)
    date=$(git -C "$dir" log -1 --format=%cs 2>/dev/null || echo unknown)
    echo "$n advisories, last commit $date"
}

advisories=
if cargo deny fetch db 2>"$log/fetch"; then
    dir=$(db_dir)
    say "advisory database fetched from $db_url ($(db_desc "$dir"))"
    # Offline: the database was just fetched, so this run checks exactly that copy.
    if cargo deny --locked --offline check advisories; then
        advisories="ok ($(db_desc "$dir"))"
    else
        advisories="FAILED"
    fi
else
    reason=$(grep -m1 '^fatal:' "$log/fetch" || grep -m1 ERROR "$log/fetch" || echo "cargo deny fetch db failed")
    dir=$(db_dir)
    # cargo-deny refuses a copy whose last fetch is older than maximum-db-staleness (90 days);
    # the last commit is never later than the last fetch, so this test is the stricter one.
    fresh=
    if [[ -n $dir ]] && committed=$(git -C "$dir" log -1 --format=%ct 2>/dev/null); then
        (( $(date +%s) - committed < 90 * 86400 )) && fresh=yes
    fi
    if [[ -n $fresh ]]; then
        say "cannot fetch the advisory database ($reason); using the copy in $dir ($(db_desc "$dir"))"
        if cargo deny --locked --offline check advisories; then
            advisories="ok (cached copy: $(db_desc "$dir"))"
        else
            advisories="FAILED"
        fi
    else
        cat "$log/fetch" >&2
        say "WARNING: advisories NOT CHECKED: the RustSec advisory database ($db_url) is unreachable"
        say "  from here ($reason), and there is no copy under 90 days old in $cargo_home/advisory-dbs."
        say "  Known vulnerabilities in the dependencies are NOT ruled out. On a machine that reaches"
        say "  GitHub this script fetches the database and fails on any vulnerability."
        advisories="NOT CHECKED (advisory database unreachable)"
    fi
fi

summary="cargo-deny $version: licenses, bans, sources $policy; advisories $advisories; $((SECONDS - start)) s"
say "$summary"
[[ $policy == ok && $advisories != FAILED ]] || exit 1
if [[ $advisories == NOT* && ${DENY_REQUIRE_ADVISORIES:-0} == 1 ]]; then
    say "DENY_REQUIRE_ADVISORIES=1: failing because the advisories were not checked"
    exit 1
fi
