#!/usr/bin/env bash
# scripts/build-krb5.sh [PREFIX_DIR] - build MIT krb5 as static musl libraries
# from Debian's *patched* source package (bookworm-security), for linking into
# the static krbprobe binary (see build.rs and .cargo/config.toml).
#
#   PREFIX_DIR  install prefix; default: <repo>/target/mit-krb5 (gitignored).
#               Gets include/, lib/*.a and a KRB5_VERSION stamp holding the
#               Debian version (e.g. 1.20.1-2+deb12u5), read by build.rs.
#
# Options:
#   --force     rebuild even when the prefix's stamp is up to date.
# Environment:
#   KRB5_DEBIAN_VERSION  pin an exact Debian version (default: the newest one
#                        the machine's Debian/Debian-security entries offer,
#                        which must be >= KRB5_MIN_VERSION below).
#   JOBS                 make parallelism (default: nproc).
#
# Needs the packages from scripts/install-deps.sh (dpkg-dev, musl-tools,
# build-essential, xz-utils). Does not need root and never edits /etc: apt is
# pointed at a private, temporary sources/lists/cache directory whose deb-src
# entries are derived at run time from the machine's own apt sources, so no
# mirror host name is ever stored in this repository.
set -euo pipefail

# Oldest acceptable version: bookworm-security's krb5 with the CVE fixes we
# rely on. Anything older means the security suite was not consulted.
KRB5_MIN_VERSION=1.20.1-2+deb12u5
# Bump when the recipe below changes in a way that affects the output; it is
# recorded next to the stamp so a stale prefix is rebuilt automatically.
RECIPE_REV=3
# Only these parts of the tree are built: a full `make` fails in the server
# tools (kdc, kadmin, ...) under a static musl build, and krbprobe only needs
# the client libraries (gssapi_krb5, krb5, k5crypto, com_err, krb5support).
# Of lib/ only crypto, krb5 and gssapi are built: rpc (gssrpc), kdb, kadm5,
# apputils and krad are server/admin libraries krbprobe never links, and
# skipping them roughly halves the build time.
BUILD_SUBDIRS=(util/support util/et util/profile util/verto include
               lib/crypto lib/krb5 lib/gssapi)

die() { echo "build-krb5.sh: error: $*" >&2; exit 1; }
log() { echo "build-krb5.sh: $*" >&2; }

force=0
prefix_arg=
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option: $arg" ;;
        *) [[ -z $prefix_arg ]] || die "only one PREFIX_DIR allowed"; prefix_arg=$arg ;;
    esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${prefix_arg:-$REPO/target/mit-krb5}
mkdir -p "$(dirname "$PREFIX")"
PREFIX=$(cd "$(dirname "$PREFIX")" && pwd)/$(basename "$PREFIX")   # absolute
WORK=$PREFIX-build          # sources + object files (kept for debugging)
STAMP=$PREFIX/KRB5_VERSION  # plain Debian version string, read by build.rs
INFO=$PREFIX/KRB5_BUILD_INFO
MARKER_H=built-by-scripts-build-krb5.sh.h   # see "publish" below
JOBS=${JOBS:-$(nproc)}

# The recipe fingerprint: this script's content + an optional version pin.
recipe_id() {
    printf 'rev=%s pin=%s script=%s\n' "$RECIPE_REV" "${KRB5_DEBIAN_VERSION:-}" \
        "$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
}

# --- fast path: prefix already built by this exact recipe -----------------
if [[ $force -eq 0 && -s $STAMP && -f $INFO && -f $PREFIX/lib/libgssapi_krb5.a \
      && -f $PREFIX/include/$MARKER_H ]] \
   && [[ $(sed -n 1p "$INFO") == "$(recipe_id)" ]]; then
    log "up to date: MIT krb5 $(cat "$STAMP") in $PREFIX (use --force to rebuild)"
    exit 0
fi

for tool in apt-get apt-cache dpkg-source dpkg musl-gcc make ar strings; do
    command -v "$tool" >/dev/null || die "'$tool' not found; run scripts/install-deps.sh"
done

t_start=$(date +%s.%N)
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }

# --- private apt configuration --------------------------------------------
# A throwaway directory holds our sources, lists and cache; it is deleted on
# exit, so the derived mirror URIs never persist on disk.
APTDIR=$(mktemp -d "${TMPDIR:-/tmp}/krbprobe-apt.XXXXXX")
cleanup() { rm -rf "$APTDIR"; }
trap cleanup EXIT
mkdir -p "$APTDIR"/sources.list.d "$APTDIR"/lists/partial \
         "$APTDIR"/cache/archives/partial "$APTDIR"/dl

# apt downloads as the unprivileged _apt user when run as root; let it write
# into our private dirs instead of falling back to unsandboxed downloads.
if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
    chmod 755 "$APTDIR"
    chown _apt "$APTDIR"/lists/partial "$APTDIR"/cache/archives/partial "$APTDIR"/dl
fi

# shellcheck disable=SC1091  # os-release is a system file, not ours
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n $CODENAME ]] || die "cannot determine the Debian codename from /etc/os-release"

# Which host entries to mirror as deb-src: Debian's own archive only, i.e.
#  - suite is <codename>, <codename>-updates or <codename>-security, and
#  - the URI path has a "debian" or "debian-security" component
#    (covers deb.debian.org, local mirrors and snapshot.debian.org layouts;
#    third-party repos such as nodesource/google-cloud do not match).
SUITE_RE="^${CODENAME}(-updates|-security)?\$"
URI_RE='^[a-z+]+://[^/]+(/.*)?/debian(-security)?(/|$)'

# deb822 files (*.sources): rewrite "Types: deb" stanzas to "Types: deb-src",
# keeping URIs/Suites that match and every other field (Signed-By, possibly an
# inline multi-line key, Architectures, ...) verbatim. "Enabled: no" stanzas
# are skipped. Files with other extensions (*.disabled-*) are not read by apt
# and therefore not by us either.
derive_deb822() {
    awk -v suite_re="$SUITE_RE" -v uri_re="$URI_RE" '
    function flush(   i, n, parts, out_uris, out_suites, tok) {
        if (nf == 0) return
        if (tolower(val["enabled"]) == "no" || (" " val["types"] " ") !~ / deb /) { nf = 0; return }
        out_uris = ""; n = split(val["uris"], parts, /[ \t]+/)
        for (i = 1; i <= n; i++) if (parts[i] ~ uri_re) out_uris = out_uris " " parts[i]
        out_suites = ""; n = split(val["suites"], parts, /[ \t]+/)
        for (i = 1; i <= n; i++) if (parts[i] ~ suite_re) out_suites = out_suites " " parts[i]
        if (out_uris != "" && out_suites != "") {
            print "Types: deb-src"; print "URIs:" out_uris; print "Suites:" out_suites
            for (i = 1; i <= nf; i++) {
                tok = tolower(key[i])
                if (tok != "types" && tok != "uris" && tok != "suites" && tok != "enabled") print raw[i]
            }
            print ""
        }
        nf = 0; delete val
    }
    /^#/ { next }
    /^[ \t]*$/ { flush(); next }
    /^[ \t]/ { if (nf) raw[nf] = raw[nf] "\n" $0; next }     # continuation line
    {
        k = $0; sub(/:.*/, "", k); v = $0; sub(/^[^:]*:[ \t]*/, "", v)
        nf++; key[nf] = k; raw[nf] = $0; val[tolower(k)] = v
        gsub(/[ \t]+/, " ", val[tolower(k)])
    }
    END { flush() }' "$1"
}

# One-line format files (sources.list, *.list): "deb [opts] uri suite comps"
# becomes "deb-src [opts] uri suite comps" under the same filters.
derive_oneline() {
    awk -v suite_re="$SUITE_RE" -v uri_re="$URI_RE" '
    { sub(/#.*/, "") }
    $1 == "deb" {
        i = 2; opts = ""
        if ($2 ~ /^\[/) { while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ } }
        uri = $i; suite = $(i + 1)
        if (uri ~ uri_re && suite ~ suite_re) {
            line = "deb-src" opts
            for (j = i; j <= NF; j++) line = line " " $j
            print line
        }
    }' "$1"
}

: >"$APTDIR/sources.list"
shopt -s nullglob
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] && derive_oneline "$f" >>"$APTDIR/sources.list"
done
for f in /etc/apt/sources.list.d/*.sources; do
    derive_deb822 "$f" >>"$APTDIR/sources.list.d/derived.sources"
done
shopt -u nullglob
if ! grep -qs '^deb-src' "$APTDIR/sources.list" \
   && ! grep -qs '^Types: deb-src' "$APTDIR/sources.list.d/derived.sources"; then
    die "no Debian '$CODENAME' entries found in /etc/apt/sources.list{,.d/*} to derive deb-src from"
fi
log "derived deb-src entries (private, temporary):"
cat "$APTDIR/sources.list" "$APTDIR"/sources.list.d/*.sources 2>/dev/null \
    | grep -E '^(deb-src|URIs|Suites)' | sed 's/^/    /' >&2

# Everything else (proxies, Check-Valid-Until, trusted keyrings) comes from the
# host's normal apt configuration, so the download is verified exactly like an
# ordinary apt run: InRelease signature -> Sources hashes -> .dsc/.tar hashes.
APT_OPTS=(
    -o "Dir::Etc::SourceList=$APTDIR/sources.list"
    -o "Dir::Etc::SourceParts=$APTDIR/sources.list.d"
    -o "Dir::State::Lists=$APTDIR/lists"
    -o "Dir::Cache=$APTDIR/cache"
    -o "Acquire::Languages=none"
    -o "APT::Get::List-Cleanup=false"
)

t_fetch=$(now)
apt-get -q "${APT_OPTS[@]}" update >&2

# Pick the version: pinned, else the newest source version offered (madison
# lists "krb5 | <version> | <uri> <suite>/<component> Sources").
madison=$(apt-cache "${APT_OPTS[@]}" madison krb5 | grep ' Sources$' || true)
[[ -n $madison ]] || die "no krb5 source package found via the derived deb-src entries"
log "available krb5 source versions:"
while read -r line; do echo "    $line"; done <<<"$madison" >&2
if [[ -n ${KRB5_DEBIAN_VERSION:-} ]]; then
    VERSION=$KRB5_DEBIAN_VERSION
    echo "$madison" | awk -F' [|] ' -v v="$VERSION" '$2 == v { ok = 1 } END { exit !ok }' \
        || die "pinned KRB5_DEBIAN_VERSION=$VERSION is not offered by the mirrors"
else
    VERSION=
    while read -r v; do
        if [[ -z $VERSION ]] || dpkg --compare-versions "$v" gt "$VERSION"; then VERSION=$v; fi
    done < <(echo "$madison" | awk -F' [|] ' '{ gsub(/ /, "", $2); print $2 }')
fi
dpkg --compare-versions "$VERSION" ge "$KRB5_MIN_VERSION" \
    || die "krb5 $VERSION is older than $KRB5_MIN_VERSION; is ${CODENAME}-security in the apt sources?"
# Suites offering that version ("<uri> <suite>/<component> Sources").
SUITE=$(echo "$madison" | awk -F' [|] ' -v v="$VERSION" '
    { gsub(/ /, "", $2) } $2 == v { n = split($3, a, " "); print a[n - 1] }' | paste -sd, -)
log "selected krb5 $VERSION (offered by: $SUITE)"

# Download only; we unpack ourselves so the patch step is explicit. When the
# security suite offers the chosen version, fetch it from there explicitly
# (a point release may carry the identical version in <codename> too; the
# files are then byte-identical, apt verifies them either way).
if [[ ,$SUITE, == *",${CODENAME}-security/"* ]]; then
    fetch_spec=krb5/${CODENAME}-security
else
    fetch_spec=krb5=$VERSION
fi
(cd "$APTDIR/dl" && apt-get -q "${APT_OPTS[@]}" source --download-only "$fetch_spec" >&2)
dsc=$(ls "$APTDIR"/dl/krb5_*.dsc)
[[ $dsc == */krb5_"${VERSION#*:}".dsc ]] || die "downloaded $dsc, expected version $VERSION"
t_fetched=$(now)

# --- unpack + apply Debian patches ----------------------------------------
UPSTREAM_VERSION=${VERSION#*:}; UPSTREAM_VERSION=${UPSTREAM_VERSION%-*}
rm -rf "$WORK"
mkdir -p "$WORK"
# dpkg-source -x applies debian/patches (quilt 3.0 format). The .dsc signature
# warning (no Debian keyring installed) is harmless: apt already verified the
# files' hashes against the signed Sources index.
dpkg-source -x "$dsc" "$WORK/krb5" >&2
[[ -f $WORK/krb5/debian/patches/series ]] && \
    log "applied $(grep -cv '^#' "$WORK/krb5/debian/patches/series") Debian patches"
SRC=$WORK/krb5/src
t_unpacked=$(now)

# --- configure --------------------------------------------------------------
# --host=x86_64-linux-musl makes configure treat this as a cross build, so the
# run-time probes it cannot execute are answered via cache variables:
#   krb5_cv_attr_constructor_destructor  gcc supports both attributes
#   ac_cv_func_regcomp                   musl has POSIX regcomp
#   ac_cv_printf_positional              musl printf supports %1$s
# --sysconfdir=/etc / --localstatedir=/var: the compiled-in defaults
# (krb5.conf profile path, keytab, KDC dirs) must be the standard system
# paths, never this build's directories.
# --prefix=/usr (not PREFIX_DIR): libdir is compiled in as the plugin and GSS
# module directory (inert here: a static build never dlopen()s plugins), so a
# standard prefix keeps the repo checkout path out of the binary and makes the
# libraries identical wherever the repo lives. We install with
# DESTDIR=<stage> and move <stage>/usr to PREFIX_DIR.
# krb5_cv_pragma_weak_ref=no: MIT otherwise references pthread_* weakly and,
# at run time, treats the process as single-threaded when any of them is
# missing (krb5int_pthread_loaded() == 0): every k5_mutex becomes a no-op and
# thread-specific data one global block. In a static link a weak reference
# does not pull a function out of libc.a, so pthread_once, _mutex_init,
# _getspecific, ... stay missing, and concurrent GSSAPI calls (one per target)
# raced in MIT's shared profile cache: heap corruption, about one crash in 300
# runs with three targets. Without weak references MIT calls pthreads directly.
# src/gss.rs's linked_mit_krb5_uses_its_locks checks it in the linked code.
# --without-keyutils: no static libkeyutils for musl (KEYRING: ccaches off).
# --without-system-verto: use the bundled libverto (only built, not linked).
# CFLAGS: no -g (keeps the final binary small), -ffunction-sections/
# -fdata-sections so the final link's --gc-sections drops unused code,
# -ffile-prefix-map so no build path can leak into __FILE__ strings, and the
# stack protector like Debian's own build.
# -Os and no unwind tables (issue 12: binary size): together 250 KB less
# krbprobe (5.55 -> 5.30 MB). The library's cost is Kerberos crypto, which
# runs a few times per host, not in loops; Rust never unwinds through C frames
# (a panic in an extern "C" callback aborts), so C needs no unwind tables.
STAGE=$WORK/stage
CFLAGS_KRB5="-Os -fno-asynchronous-unwind-tables -fno-unwind-tables -fstack-protector-strong -ffunction-sections -fdata-sections -ffile-prefix-map=$WORK/krb5=krb5-$UPSTREAM_VERSION"
t_conf=$(now)
(
    cd "$SRC"
    CC=musl-gcc CFLAGS="$CFLAGS_KRB5" ./configure \
        --host=x86_64-linux-musl \
        --enable-static --disable-shared --disable-nls \
        --without-keyutils --without-system-verto \
        --sysconfdir=/etc --localstatedir=/var \
        --prefix=/usr \
        krb5_cv_attr_constructor_destructor=yes,yes \
        krb5_cv_pragma_weak_ref=no \
        ac_cv_func_regcomp=yes \
        ac_cv_printf_positional=yes
) >"$WORK/configure.log" 2>&1 || { tail -30 "$WORK/configure.log" >&2; die "configure failed (see $WORK/configure.log)"; }
t_make=$(now)

# --- build + install the client libraries only -----------------------------
# Install into a staging DESTDIR first, then swap it into PREFIX, so a failed
# build never leaves a half-populated prefix behind.
step_times=()
(
    cd "$SRC"
    make DESTDIR="$STAGE" install-mkdirs
) >"$WORK/make.log" 2>&1 || { tail -30 "$WORK/make.log" >&2; die "make install-mkdirs failed (see $WORK/make.log)"; }
for d in "${BUILD_SUBDIRS[@]}"; do
    t0=$(now)
    {
        make -C "$SRC/$d" -j"$JOBS" all
        make -C "$SRC/$d" DESTDIR="$STAGE" install
    } >>"$WORK/make.log" 2>&1 || { tail -30 "$WORK/make.log" >&2; die "make in $d failed (see $WORK/make.log)"; }
    step_times+=("$d=$(elapsed "$t0" "$(now)")")
done
t_made=$(now)
log "make+install per directory: ${step_times[*]}"

NEW=$STAGE/usr
for lib in gssapi_krb5 krb5 k5crypto com_err krb5support; do
    [[ -f $NEW/lib/lib$lib.a ]] || die "lib$lib.a was not installed"
done
[[ -f $NEW/include/gssapi/gssapi.h ]] || die "gssapi/gssapi.h was not installed"
# Drop shared-library leftovers, if any, so only the static .a files can be
# picked up by the linker.
find "$NEW/lib" -maxdepth 1 -name '*.so*' -delete
# Only the libraries' directories get populated; drop the empty bin/, sbin/,
# share/ and plugin dirs created by install-mkdirs.
find "$NEW" -type d -empty -delete
# Point pkg-config files (if any) at the real location (they say prefix=/usr).
for pc in "$NEW"/lib/pkgconfig/*.pc; do
    [[ -f $pc ]] && sed -i "s|^prefix=/usr\$|prefix=$PREFIX|" "$pc"
done

# --- verify the compiled-in paths -------------------------------------------
# The default profile path must be the system one; neither the build tree nor
# the install prefix may appear in the library strings.
profile_path=$(strings -a "$NEW/lib/libkrb5.a" | grep -m1 -E '^/etc/krb5\.conf(:|$)' || true)
[[ -n $profile_path ]] || die "default profile path /etc/krb5.conf not found in libkrb5.a"
log "compiled-in default profile path: $profile_path"
if strings -a "$NEW"/lib/*.a | grep -F -e "$WORK" -e "$PREFIX" -e "$REPO" | sort -u | head -5 | grep .; then
    die "a build/prefix/repo path leaks into the static libraries (see above)"
fi

# --- publish ----------------------------------------------------------------
echo "$VERSION" >"$NEW/KRB5_VERSION"
# Marker header, force-included into libgssapi-sys' bindgen run by
# .cargo/config.toml. libgssapi-sys' build script runs before ours (it has
# `links`), so on a machine without this prefix the first error a developer
# sees is clang's; this way it reads
#   fatal error: 'built-by-scripts-build-krb5.sh.h' file not found
# instead of a bare "'gssapi.h' file not found".
cat >"$NEW/include/$MARKER_H" <<MARKER
/* Generated by scripts/build-krb5.sh: MIT krb5 $UPSTREAM_VERSION (Debian $VERSION).
 * Only a marker; see .cargo/config.toml (BINDGEN_EXTRA_CLANG_ARGS). */
MARKER
{
    recipe_id
    echo "debian_version=$VERSION"
    echo "upstream_version=$UPSTREAM_VERSION"
    echo "suite=$SUITE"
    echo "cflags=$CFLAGS_KRB5"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$NEW/KRB5_BUILD_INFO"

# Only ever delete a previous prefix that this script created (stamp present)
# or an empty directory: PREFIX_DIR is user supplied.
if [[ -e $PREFIX ]]; then
    if [[ -f $PREFIX/KRB5_BUILD_INFO || -f $PREFIX/KRB5_VERSION ]]; then
        rm -rf "$PREFIX"
    else
        rmdir "$PREFIX" 2>/dev/null || die "$PREFIX exists and was not created by this script; refusing to replace it"
    fi
fi
mv "$NEW" "$PREFIX"
rm -rf "$STAGE"
t_end=$(now)

log "timings: fetch $(elapsed "$t_fetch" "$t_fetched"), unpack $(elapsed "$t_fetched" "$t_unpacked"), configure $(elapsed "$t_conf" "$t_make"), make+install $(elapsed "$t_make" "$t_made"), total $(elapsed "$t_start" "$t_end")"
log "installed MIT krb5 $UPSTREAM_VERSION (Debian $VERSION) into $PREFIX"
