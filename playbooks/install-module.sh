#!/usr/bin/env bash
# playbooks/install-module.sh - make the static krbprobe binary the Ansible module krbprobe:
# copies it to playbooks/library/krbprobe (not committed: playbooks/.gitignore).
#
# Usage:
#   playbooks/install-module.sh [--build] [BINARY]
#
#   BINARY    the binary to install (default: the release build,
#             target/x86_64-unknown-linux-musl/release/krbprobe; built with
#             'cargo build --release' when it does not exist)
#   --build   run 'cargo build --release' first even if the binary exists
#
# Idempotent: an up-to-date copy is left alone. In an execution environment image, copy the
# binary to /usr/share/ansible/plugins/modules/krbprobe instead (a default module path) and
# the action plugin with it to /usr/share/ansible/plugins/action/krbprobe.py.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
bin=$repo/target/x86_64-unknown-linux-musl/release/krbprobe
build=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --build) build=1 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "install-module.sh: unknown option: $1" >&2; exit 2 ;;
        *) bin=$1 ;;
    esac
    shift
done

if [[ $build -eq 1 || ! -e "$bin" ]]; then
    echo "install-module.sh: cargo build --release" >&2
    (cd "$repo" && cargo build --release >&2)
fi
[[ -x "$bin" ]] || { echo "install-module.sh: error: $bin is not an executable" >&2; exit 1; }

dest=$here/library/krbprobe
if cmp -s "$bin" "$dest"; then
    echo "install-module.sh: up to date: $dest" >&2
else
    install -m 0755 "$bin" "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
    echo "install-module.sh: installed $bin as $dest" >&2
fi
