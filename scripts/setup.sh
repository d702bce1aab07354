#!/usr/bin/env bash
# scripts/setup.sh - everything a fresh Debian 12 machine needs before building and testing
# krbprobe: apt packages and the Rust musl target, the lab's MIT KDC tools, and the static MIT
# krb5 libraries. Idempotent and quick once done. Run as root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh --lab
lab/install-tools.sh
scripts/build-krb5.sh
