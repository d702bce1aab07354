#!/usr/bin/env bash
# scripts/fuzz.sh - build and run krbprobe's fuzz targets (fuzz/, cargo-fuzz + libFuzzer).
#
# Usage:
#   scripts/fuzz.sh                      # every target, 60 s each
#   scripts/fuzz.sh --time 300 --target kdc_reply [--target krb5_conf ...]
#   scripts/fuzz.sh --build-only         # install what is missing and build, no fuzzing
#   scripts/fuzz.sh --keep-going         # libFuzzer fork mode: record crashes, go on fuzzing
#
# Targets: krb5_conf (src/profile/), kdc_reply (src/kdcproto/), wsman_soap
# (src/winrm/soap.rs), winrm_multipart (src/winrm/multipart.rs), inventory (src/inventory.rs).
#
# Installs what it needs when missing (as root): Debian packages (libkrb5-dev for the gssapi
# headers and pkg-config file, clang/libclang for bindgen, a C++ compiler for libFuzzer),
# cargo-fuzz from crates.io, and a nightly toolchain when rustup can fetch one; without
# nightly it runs stable with RUSTC_BOOTSTRAP=1.
#
# Per target: replays fuzz/regressions/<target>/* (inputs that once crashed it), then fuzzes
# with the corpus in fuzz/corpus/<target> (kept between runs, seeded from fuzz/seeds/<target>)
# and the dictionary fuzz/dicts/<target>.dict if there is one, in one process on one core (what
# libFuzzer's -jobs=1 gives, without its detour through a fuzz-0.log file). Prints executions, exec/s, corpus size and crashes; exits 1 when a
# crash was found (artifact path and the commands to reproduce and minimize it are printed),
# 2 on a usage or setup error. Logs: fuzz/target/fuzz-logs/<target>.log.
#
# Why the glibc target: AddressSanitizer does not work on musl, so unlike every other build of
# this repository (.cargo/config.toml defaults to x86_64-unknown-linux-musl with the static MIT
# libraries of scripts/build-krb5.sh) the fuzz targets build for x86_64-unknown-linux-gnu and
# libgssapi-sys finds Debian's MIT krb5 through pkg-config (mit-krb5-gssapi). LIBGSSAPI_PREFIX
# is emptied so that the static musl prefix is never put on a glibc link line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL_TARGETS=(krb5_conf kdc_reply wsman_soap winrm_multipart inventory psrp_fragments)
HOST_TRIPLE=x86_64-unknown-linux-gnu
# Debian packages the fuzz build needs (see above); build-essential brings g++ for libFuzzer.
PACKAGES=(build-essential clang libclang-dev pkg-config libkrb5-dev)

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "fuzz.sh: $*" >&2; exit 2; }

time_s=60
targets=()
build_only=0
keep_going=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --time) [[ ${2:-} =~ ^[0-9]+$ ]] || die "--time needs a number of seconds"; time_s=$2; shift 2 ;;
        --time=*) time_s=${1#--time=}; [[ $time_s =~ ^[0-9]+$ ]] || die "--time needs a number of seconds"; shift ;;
        --target) [[ -n ${2:-} ]] || die "--target needs a name"; targets+=("$2"); shift 2 ;;
        --target=*) targets+=("${1#--target=}"); shift ;;
        --build-only) build_only=1; shift ;;
        --keep-going) keep_going=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [[ -f fuzz/fuzz_targets/$t.rs ]] || die "no such target: $t (have: ${ALL_TARGETS[*]})"
done

# --- what the build needs -------------------------------------------------------------------

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true) == installed ]]
}

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] || die "missing Debian packages (${missing[*]}); run as root or install them"
    echo "fuzz.sh: installing ${missing[*]}"
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
        --no-install-recommends "${missing[@]}"
}

# Sets TOOLCHAIN (a `+name` argument for cargo) and exports RUSTC_BOOTSTRAP when needed.
choose_toolchain() {
    if rustup run nightly rustc --version >/dev/null 2>&1; then
        TOOLCHAIN=+nightly
        return
    fi
    if rustup toolchain install nightly --profile minimal >/dev/null 2>&1 \
        && rustup run nightly rustc --version >/dev/null 2>&1; then
        TOOLCHAIN=+nightly
        return
    fi
    # cargo-fuzz only needs -Z flags (sanitizer, coverage passes): stable accepts them with
    # RUSTC_BOOTSTRAP=1, and its rust-std ships the ASan runtime for the glibc target.
    echo "fuzz.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1"
    TOOLCHAIN=+stable
    export RUSTC_BOOTSTRAP=1
}

install_cargo_fuzz() {
    cargo fuzz --version >/dev/null 2>&1 && return 0
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
}

install_packages
pkg-config --exists mit-krb5-gssapi \
    || die "pkg-config does not find mit-krb5-gssapi (Debian package libkrb5-dev)"
choose_toolchain
install_cargo_fuzz

export LIBGSSAPI_IMPL=mit LIBGSSAPI_PREFIX=
fuzz_cmd=(cargo "$TOOLCHAIN" fuzz)
# How to run the same command by hand, from the repository root (printed for reproducers).
env_prefix="LIBGSSAPI_PREFIX=${RUSTC_BOOTSTRAP:+ RUSTC_BOOTSTRAP=1}"

# The fuzz crate keeps its own Cargo.lock; a fresh checkout starts from the main one so that
# krbprobe's dependencies are the versions it is tested with.
[[ -f fuzz/Cargo.lock ]] || cp Cargo.lock fuzz/Cargo.lock

started=$(date +%s)
"${fuzz_cmd[@]}" build --target "$HOST_TRIPLE"
echo "fuzz.sh: build took $(( $(date +%s) - started )) s with $(rustc "$TOOLCHAIN" --version)"
[[ $build_only -eq 1 ]] && exit 0

# --- fuzzing --------------------------------------------------------------------------------

# Longest input per target: krb5.conf and XML need room for MIT's 2047-byte line splitting and
# for nesting; KDC replies and multipart bodies are binary and shorter.
max_len() {
    case "$1" in
        krb5_conf|wsman_soap|inventory) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
summary=()
crashed=0

# artifacts_of T: crash, leak, timeout and oom inputs libFuzzer wrote for T, one per line.
artifacts_of() {
    find "fuzz/artifacts/$1" -maxdepth 1 -type f \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | sort
}

report_artifact() {
    local t=$1 a=$2
    echo "  artifact:   $a"
    echo "  reproduce:  $env_prefix ${fuzz_cmd[*]} run --target $HOST_TRIPLE $t $a"
    echo "  minimize:   $env_prefix ${fuzz_cmd[*]} tmin --target $HOST_TRIPLE $t $a"
    echo "  then save the minimized input as fuzz/regressions/$t/<name>"
}

row() { printf '%-16s %12s %8s %14s %12s %8s\n' "$@"; }

for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    if [[ -d fuzz/seeds/$t ]]; then
        cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
    fi
    log=$logs/$t.log
    : >"$log"
    crashes=0

    # Inputs that crashed this target before must not crash it any more. They are replayed
    # here, not put in the corpus: libFuzzer stops at a crashing corpus input.
    if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
        echo "== $t: replaying fuzz/regressions/$t"
        : >"$logs/$t.regressions.log"
        for r in fuzz/regressions/"$t"/*; do
            if ! "${fuzz_cmd[@]}" run --target "$HOST_TRIPLE" "$t" "$r" >>"$logs/$t.regressions.log" 2>&1; then
                echo "  regression still crashes: $r"
                echo "  reproduce:  $env_prefix ${fuzz_cmd[*]} run --target $HOST_TRIPLE $t $r"
                crashes=$((crashes + 1))
            fi
        done
    fi

    if [[ $time_s -eq 0 ]]; then
        summary+=("$(row "$t" - - - - "$crashes")")
        [[ $crashes -eq 0 ]] || crashed=1
        continue
    fi
    before=$(artifacts_of "$t")
    echo "== $t: fuzzing for $time_s s (log $log)"
    flags=(-max_total_time="$time_s" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -max_len="$(max_len "$t")")
    [[ -f fuzz/dicts/$t.dict ]] && flags+=(-dict="fuzz/dicts/$t.dict")
    if [[ $keep_going -eq 1 ]]; then
        flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    fi
    set +e
    "${fuzz_cmd[@]}" run --target "$HOST_TRIPLE" "$t" "$corpus" -- "${flags[@]}" >>"$log" 2>&1
    rc=$?
    set -e

    # In-process runs end with stat:: lines; fork mode (--keep-going) only has "#N: cov: ..."
    # progress lines, of which the last one carries the totals.
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [[ -z $execs ]]; then
        execs=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -1 | sed -E 's/^#([0-9]+):.*/\1/' || true)
        [[ -z $execs ]] || rate=$((execs / time_s))
    fi
    # libFuzzer's own corpus (inputs with distinct features) at the end; the directory also
    # keeps inputs that later ones superseded.
    live=$(grep -oE 'corp: [0-9]+(/[0-9]+[a-zA-Z]+)?' "$log" | tail -1 | sed 's/^corp: //' || true)
    files=$(find "$corpus" -type f | wc -l)
    kib=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print int((s + 1023) / 1024)}')

    # The input of a crash is named in the log ("Test unit written to ..."); in fork mode only
    # the new files in the artifact directory say it.
    new=$( { sed -n 's/.*Test unit written to //p' "$log" | sed "s|^$PWD/||"
             comm -13 <(printf '%s\n' "$before") <(artifacts_of "$t"); } | sed '/^$/d' | sort -u)
    if [[ -n $new ]]; then
        echo "== $t: CRASH"
        grep -m1 -E '^thread .* panicked at|SUMMARY: |==[0-9]+== ERROR' "$log" | sed 's/^/  /' || true
        found=$(wc -l <<<"$new")
        crashes=$((crashes + found))
        # Fork mode can collect many inputs of one bug: show a few.
        head -n 3 <<<"$new" | while read -r a; do report_artifact "$t" "$a"; done
        [[ $found -le 3 ]] || echo "  ... and $((found - 3)) more inputs in fuzz/artifacts/$t/"
    elif [[ $rc -ne 0 ]]; then
        echo "== $t: libFuzzer exited with $rc but named no input; see $log" >&2
        crashes=$((crashes + 1))
    fi
    summary+=("$(row "$t" "${execs:-?}" "${rate:-?}" "${live:-?}" "$files/${kib}KiB" "$crashes")")
    [[ $crashes -eq 0 ]] || crashed=1
done

echo
row target executions exec/s corpus corpus-dir crashes
printf '%s\n' "${summary[@]}"
exit $crashed
