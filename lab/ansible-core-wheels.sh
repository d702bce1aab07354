#!/usr/bin/env bash
# lab/ansible-core-wheels.sh - the ansible-core wheels whose psrp connection defaults krbprobe
# mirrors, for lab/test_ansible.py's version test (negotiate_service: WSMAN up to 2.20, host
# from 2.21). Only their plugin documentation is read; they are never installed (2.20 and later
# need Python 3.12, Debian 12 has 3.11), so pip fetches them for 3.12 without dependencies.
#
# Usage: lab/ansible-core-wheels.sh [DIR]   (default <repo>/target/ansible-core-wheels)
# Idempotent: a wheel already there is not fetched again. Prints DIR on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
dir=${1:-$repo/target/ansible-core-wheels}
py=${KRBPROBE_LAB_PYTHON:-/usr/bin/python3}

# The last release of each minor version on PyPI when this list was written (2026-12-03).
VERSIONS="2.16.19 2.17.14 2.18.19 2.19.14 2.20.10 2.21.5"

mkdir -p "$dir"
for v in $VERSIONS; do
    if [ -f "$dir/ansible_core-$v-py3-none-any.whl" ]; then
        continue
    fi
    "$py" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.12 --dest "$dir" "ansible-core==$v" >&2
done
echo "$dir"
