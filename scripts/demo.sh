#!/usr/bin/env bash
# scripts/demo.sh - the README's first command: install what is missing, build the static
# binary, start the lab (an AD-like realm in a private network namespace) and show
# krbprobe's report for kuro-win01.kurokobo.internal. Extra arguments go to krbprobe
# (e.g. --format json, or other lab targets such as kuro-win02.kurokobo.internal).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh >&2
cargo build --release >&2
bin=target/x86_64-unknown-linux-musl/release/krbprobe
file "$bin" >&2
if [ "$#" -eq 0 ]; then
    set -- kuro-win01.kurokobo.internal
fi
# The lab's password is a fixed, documented lab value (lab/README.md), handed over through
# the environment as a user would, never on the command line.
# shellcheck disable=SC2016 # the single quotes are meant: the inner bash expands the lab's variables
exec lab/run -q -- bash -c 'KRBPROBE_PASSWORD="$KRBPROBE_LAB_PASSWORD" exec "$0" -u "$KRBPROBE_LAB_USER@$KRBPROBE_LAB_REALM" "$@"' "$bin" "$@"
