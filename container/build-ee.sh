#!/usr/bin/env bash
# container/build-ee.sh - the AWX execution environment of container/execution-environment.yml,
# with a freshly built krbprobe in it.
#
# Usage:
#   container/build-ee.sh [--create-only] [--context DIR] [--tag TAG] [BINARY]
#
#   BINARY         the krbprobe to bake in (default:
#                  target/x86_64-unknown-linux-musl/release/krbprobe; run cargo build --release first)
#   --context DIR  ansible-builder's build context (default: target/ee-context)
#   --tag TAG      image tag (default: the one in execution-environment.yml)
#   --create-only  only write the build context (ansible-builder create), even when podman or
#                  docker is installed; build it later with: podman build -f DIR/Containerfile DIR
#
# Copies BINARY to container/files/krbprobe (git-ignored), where execution-environment.yml's
# additional_build_files picks it up, then runs `ansible-builder build` when podman or docker is
# on PATH, else `ansible-builder create`. ansible-builder comes from $ANSIBLE_BUILDER or PATH
# (pip install ansible-builder==3.2.0; container/test.sh keeps one in target/ee-tools-venv).
# Run from anywhere; paths are relative to the repository root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

die() { echo "build-ee.sh: error: $*" >&2; exit 1; }
log() { echo "build-ee.sh: $*" >&2; }
usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

create_only=0
context=$repo/target/ee-context
tag=
bin=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --create-only) create_only=1 ;;
        --context) [[ $# -ge 2 ]] || die "--context needs a directory"; context=$2; shift ;;
        --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; tag=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) usage >&2; die "unknown option: $1" ;;
        *) [[ -z $bin ]] || die "only one BINARY allowed"; bin=$1 ;;
    esac
    shift
done

bin=${bin:-$repo/target/x86_64-unknown-linux-musl/release/krbprobe}
[[ -f $bin ]] || die "$bin does not exist: run 'cargo build --release' in $repo first"
[[ -x $bin ]] || die "$bin is not executable"
# The image has neither musl nor MIT krb5: only a static binary runs there.
if command -v file >/dev/null; then
    file -L "$bin" | grep -q 'statically linked' || die "$bin is not statically linked: $(file -L "$bin")"
fi
version=$("$bin" --version) || die "$bin --version failed"
log "baking in: $bin (${version//$'\n'/, })"

builder=${ANSIBLE_BUILDER:-ansible-builder}
command -v "$builder" >/dev/null \
    || die "ansible-builder not found (set ANSIBLE_BUILDER or: pip install ansible-builder==3.2.0)"

mkdir -p "$here/files"
install -m 0755 "$bin" "$here/files/krbprobe"

runtime=
if [[ $create_only -eq 0 ]]; then
    for r in podman docker; do
        if command -v "$r" >/dev/null; then runtime=$r; break; fi
    done
fi

args=(-f "$here/execution-environment.yml" --context "$context")
if [[ -n $runtime ]]; then
    [[ -n $tag ]] && args+=(--tag "$tag")
    log "ansible-builder build with $runtime, context $context"
    "$builder" build "${args[@]}" --container-runtime "$runtime"
else
    [[ $create_only -eq 1 ]] || log "neither podman nor docker found: writing the build context only"
    # ansible-builder names the file after the runtime it finds (Dockerfile without podman).
    "$builder" create "${args[@]}" --output-filename Containerfile
    log "build context written to $context; build it with:"
    log "    podman build -f $context/Containerfile -t ${tag:-awx-ee-krbprobe} $context"
fi
