#!/usr/bin/env bash
# container/test.sh - tests of everything under container/, without a container engine:
#   ee-context          ansible-builder 3.2.0 turns execution-environment.yml (via build-ee.sh) into a
#                       build context whose final stage COPYs the real release binary, byte for byte,
#                       to /usr/local/bin/krbprobe, and puts the module (a symlink to it), its action
#                       plugin and docs into Ansible's default plugin paths
#   k8s-schema          every document under container/k8s is valid for the Kubernetes API, strictly
#                       (unknown fields are errors), for each of K8S_VERSIONS
#   k8s-negative-*      the validators reject broken copies (a misspelled field, a wrong type, a
#                       duplicate key, krb5.conf mounted elsewhere), so the checks above can fail
#   awx-pod             the pod spec is one AWX accepts and mounts the ConfigMap's krb5.conf as needed
#   setup-output        what `krbprobe setup` writes in the lab (MIT and Samba realms, another namespace
#                       and ConfigMap name, KRB5_TRACE on) passes the same schema and AWX checks
#   krb5-conf-scratch   krbprobe, as uid 1000 in an otherwise empty root (what FROM scratch and the
#                       pod give it), parses the ConfigMap's krb5.conf: krb5-conf-ok
#   containerfile       static checks of container/Containerfile (stages, COPY sources, USER 1000)
#   build-ee-*          build-ee.sh's argument handling and its message for a missing binary
#
# Needs: the release binary (cargo build --release), python3 with venv, PyPI on first run (the
# tools go into target/ee-tools-venv, pinned by container/test-requirements.txt; later runs reuse
# it). Root only for the empty-root run (chroot); as another user that part runs krbprobe in place.
# Touches nothing outside the repo's target/ and container/files/ and a temporary directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

K8S_VERSIONS=(1.30.0 1.37.0)
bin=${KRBPROBE_BIN:-target/x86_64-unknown-linux-musl/release/krbprobe}
venv=${KRBPROBE_EE_TOOLS_VENV:-$PWD/target/ee-tools-venv}
reqs=container/test-requirements.txt
t_start=$SECONDS

die() { echo "container/test.sh: error: $*" >&2; exit 1; }

# --- prerequisites (fatal) ----------------------------------------------------------------------
[[ -f $bin ]] || die "$bin does not exist: run 'cargo build --release' first (the tests bake the real binary into the EE build context)"
[[ -x $bin ]] || die "$bin is not executable"

py=${KRBPROBE_EE_PYTHON:-}
if [[ -z $py ]]; then
    if [[ -x /usr/bin/python3 ]]; then py=/usr/bin/python3; else py=python3; fi
fi
# The venv is rebuilt only when the pins or the interpreter change.
want="$(sha256sum "$reqs" | cut -d' ' -f1) $("$py" -c 'import sys; print(sys.version.split()[0])') $py"
if [[ ! -x $venv/bin/python || "$(cat "$venv/.krbprobe-stamp" 2>/dev/null)" != "$want" ]]; then
    echo "container/test.sh: creating $venv (ansible-builder, kubernetes-validate from PyPI)" >&2
    rm -rf "$venv"
    "$py" -m venv "$venv" || die "$py -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs" \
        || { rm -rf "$venv"; die "pip install -r $reqs failed"; }
    echo "$want" >"$venv/.krbprobe-stamp"
fi
vpy=$venv/bin/python

tmp=$(mktemp -d "${TMPDIR:-/tmp}/krbprobe-container-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- runner ---------------------------------------------------------------------------------------
passed=0
failed=0
# check NAME FUNCTION: runs FUNCTION in a subshell with errexit, output kept, shown on failure.
check() {
    local name=$1 fn=$2 rc t0=$SECONDS
    set +e
    ( set -euo pipefail; "$fn" ) >"$tmp/$name.log" 2>&1
    rc=$?
    set -e
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1))
        printf 'ok    %-24s %3ss  %s\n' "$name" $((SECONDS - t0)) "$(tail -n 1 "$tmp/$name.log")"
    else
        failed=$((failed + 1))
        printf 'FAIL  %s\n' "$name"
        sed 's/^/      /' "$tmp/$name.log"
    fi
}
# expect_fail LOG PATTERN CMD...: CMD must fail and say PATTERN.
expect_fail() {
    local log=$1 pattern=$2
    shift 2
    if "$@" >"$log" 2>&1; then
        cat "$log"
        echo "expected a failure, but it passed: $*"
        return 1
    fi
    grep -q -- "$pattern" "$log" || { cat "$log"; echo "failed, but without '$pattern'"; return 1; }
}
# mutate SRC DST SED-EXPR: a broken copy; fails when the expression changed nothing.
mutate() {
    sed "$3" "$1" >"$2"
    if cmp -s "$1" "$2"; then echo "mutation '$3' did not change $1"; return 1; fi
}

# --- checks ---------------------------------------------------------------------------------------
ee_context() {
    local ctx=$tmp/ee
    ANSIBLE_BUILDER=$venv/bin/ansible-builder container/build-ee.sh --create-only --context "$ctx" "$bin"
    local cf=$ctx/Containerfile
    [[ -f $cf ]] || { echo "no $cf"; return 1; }
    # The final stage: everything after the last FROM.
    local final
    final=$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$cf")
    grep -qx 'FROM base AS final' <<<"$final" || { echo "final stage is not 'FROM base AS final':"; head -1 <<<"$final"; return 1; }
    local copy='COPY --chmod=0755 _build/bin/krbprobe /usr/local/bin/krbprobe'
    grep -qxF "$copy" <<<"$final" || { echo "final stage lacks: $copy"; cat "$cf"; return 1; }
    # Copied while still root; the image then runs as 1000.
    local n_copy n_user
    n_copy=$(grep -nxF "$copy" <<<"$final" | cut -d: -f1)
    n_user=$(grep -nx 'USER 1000' <<<"$final" | tail -1 | cut -d: -f1)
    [[ -n $n_user && $n_copy -lt $n_user ]] || { echo "USER 1000 does not follow the COPY"; return 1; }
    grep -q '^RUN test .*/usr/local/bin/krbprobe --version$' <<<"$final" || { echo "no smoke test RUN"; return 1; }
    # The module, its action plugin and its docs in Ansible's default plugin paths.
    local line
    for line in \
        'COPY _build/plugins/action/krbprobe.py /usr/share/ansible/plugins/action/krbprobe.py' \
        'COPY _build/plugins/modules/krbprobe.yml /usr/share/ansible/plugins/modules/krbprobe.yml' \
        'RUN ln -s /usr/local/bin/krbprobe /usr/share/ansible/plugins/modules/krbprobe'; do
        grep -qxF "$line" <<<"$final" || { echo "final stage lacks: $line"; return 1; }
    done
    cmp playbooks/action_plugins/krbprobe.py "$ctx/_build/plugins/action/krbprobe.py"
    cmp playbooks/library/krbprobe.yml "$ctx/_build/plugins/modules/krbprobe.yml"
    grep -qxF 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' "$cf" || { echo "unexpected base image"; grep EE_BASE_IMAGE "$cf"; return 1; }
    cmp "$bin" "$ctx/_build/bin/krbprobe"
    cmp "$bin" container/files/krbprobe
    [[ $(stat -c %a "$ctx/_build/bin/krbprobe") == 755 ]] || { echo "context copy is not mode 755"; return 1; }
    # The dependencies made it into the context as ansible-builder's own files.
    grep -qxF 'pywinrm[kerberos]==0.5.0' "$ctx/_build/requirements.txt"
    grep -qxF 'krb5-workstation [platform:rpm]' "$ctx/_build/bindep.txt"
    # Parsable as the image build will parse them: bindep (exit 2 = unparsable) and pip's
    # requirement syntax, with every Python dependency pinned.
    (cd "$ctx/_build" && "$venv/bin/bindep" -l newline >/dev/null)
    "$vpy" -c 'import sys
from packaging.requirements import Requirement
for line in open(sys.argv[1]).read().split("\n"):
    if line.strip():
        r = Requirement(line)
        assert str(r.specifier).startswith("=="), f"not pinned: {line}"' "$ctx/_build/requirements.txt"
    "$vpy" -c 'import sys, yaml
names = {c["name"] for c in yaml.safe_load(open(sys.argv[1]))["collections"]}
want = {"ansible.windows", "community.windows", "microsoft.ad"}
assert want <= names, names' "$ctx/_build/requirements.yml"
    echo "final stage COPYs $(stat -c %s "$bin")-byte krbprobe (identical) to /usr/local/bin/krbprobe before USER 1000"
}

k8s_files() { find container/k8s -type f \( -name '*.yaml' -o -name '*.yml' \) | sort; }

k8s_schema() {
    local files
    mapfile -t files < <(k8s_files)
    [[ ${#files[@]} -ge 2 ]] || { echo "expected the ConfigMap and the pod spec, found: ${files[*]}"; return 1; }
    local vargs=()
    for v in "${K8S_VERSIONS[@]}"; do vargs+=(--k8s-version "$v"); done
    "$vpy" container/validate_k8s.py "${vargs[@]}" "${files[@]}"
    echo "${#files[@]} files valid (strict) for Kubernetes ${K8S_VERSIONS[*]}"
}

pod=container/k8s/container-group-pod.yaml
cm=container/k8s/krb5-configmap.yaml

k8s_negative_field() {
    mutate "$pod" "$tmp/typo.yaml" 's/^      volumeMounts:/      volumeMount:/'
    expect_fail "$tmp/typo.out" "'volumeMount' was unexpected" \
        "$vpy" container/validate_k8s.py --k8s-version "${K8S_VERSIONS[0]}" "$tmp/typo.yaml"
    echo "rejected: $(grep -m1 FAIL "$tmp/typo.out" | sed 's/.*: //')"
}

k8s_negative_type() {
    mutate "$pod" "$tmp/type.yaml" 's/^\(          readOnly:\) true$/\1 "yes"/'
    expect_fail "$tmp/type.out" "readOnly: 'yes' is not of type 'boolean'" \
        "$vpy" container/validate_k8s.py --k8s-version "${K8S_VERSIONS[0]}" "$tmp/type.yaml"
    echo "rejected: $(grep -m1 FAIL "$tmp/type.out" | sed 's/.*: //')"
}

k8s_negative_dupkey() {
    # A second 'name:' in the ConfigMap's metadata: PyYAML (and AWX) would keep the last one.
    mutate "$cm" "$tmp/dup.yaml" 's/^  name: krb5-conf$/  name: krb5-conf\n  name: krb5-conf-2/'
    expect_fail "$tmp/dup.out" "duplicate key 'name'" \
        "$vpy" container/validate_k8s.py --k8s-version "${K8S_VERSIONS[0]}" "$tmp/dup.yaml"
    echo "rejected: $(grep -m1 -o "duplicate key 'name'.*" "$tmp/dup.out")"
}

awx_pod() {
    "$vpy" container/check_awx_pod.py "$pod" "$cm" --krb5-conf-out "$tmp/krb5.conf"
}

awx_pod_negative() {
    mutate "$pod" "$tmp/elsewhere.yaml" 's|mountPath: /etc/krb5.conf$|mountPath: /etc/krb5.conf.d/krb5.conf|'
    expect_fail "$tmp/elsewhere.out" "nothing is mounted at /etc/krb5.conf" \
        "$vpy" container/check_awx_pod.py "$tmp/elsewhere.yaml" "$cm"
    echo "rejected: $(grep -m1 FAIL "$tmp/elsewhere.out" | sed 's/^FAIL //')"
}

krb5_conf_scratch() {
    "$vpy" container/check_awx_pod.py "$pod" "$cm" --krb5-conf-out "$tmp/krb5.conf" >/dev/null
    local out=$tmp/probe.json rc=0 how
    # The network checks fail fast (no resolv.conf in the empty root) or time out after 1 s: only
    # the configuration checks matter here, and krbprobe exits 1 for the failed DNS checks.
    local args=(--format json --timeout 1s -u awx@KUROKOBO.INTERNAL kuro-win01.kurokobo.internal)
    if [[ $(id -u) -eq 0 ]] && command -v chroot >/dev/null; then
        local root=$tmp/scratch-root
        mkdir -p "$root/etc"
        cp "$bin" "$root/krbprobe"
        cp "$tmp/krb5.conf" "$root/etc/krb5.conf"
        chmod 0644 "$root/etc/krb5.conf"
        env -i "$(command -v chroot)" --userspec=1000:1000 "$root" /krbprobe "${args[@]}" </dev/null >"$out" || rc=$?
        how="as uid 1000 in an empty root"
    else
        env -u KRB5_CONFIG -u KRB5CCNAME -u KRBPROBE_PASSWORD "$bin" --krb5-conf "$tmp/krb5.conf" "${args[@]}" </dev/null >"$out" || rc=$?
        how="in place (not root: no empty-root run)"
    fi
    [[ $rc -le 1 ]] || { cat "$out"; echo "krbprobe could not run (exit $rc)"; return 1; }
    "$vpy" - "$out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
got = {c["id"]: c for c in report["checks"] if c["target"] is None}
for cid, code in (("krb5-conf", "krb5-conf-ok"), ("principal", "principal-ok")):
    c = got.get(cid)
    if c is None or c["status"] != "pass" or c["code"] != code:
        sys.exit(f"{cid}: expected pass/{code}, got {c and (c['status'], c['code'], c['summary'])}")
PY
    echo "krb5-conf-ok and principal-ok $how"
}

containerfile() {
    "$vpy" - container/Containerfile <<'PY'
import os, re, shlex, sys

path = sys.argv[1]
lines, cur = [], ""
for raw in open(path, encoding="utf-8"):
    s = raw.rstrip("\n")
    if not cur and (not s.strip() or s.lstrip().startswith("#")):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    lines.append(cur + s)
    cur = ""

stages = []  # [name, base, [instructions]]
for l in lines:
    word = l.split(None, 1)[0].upper()
    if word == "FROM":
        m = re.fullmatch(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", l.strip(), re.I)
        assert m, f"cannot parse {l!r}"
        stages.append([m.group(2), m.group(1), []])
    else:
        assert stages, f"instruction before FROM: {l!r}"
        stages[-1][2].append(l.strip())

def fail(msg):
    sys.exit(f"{path}: {msg}")

names = [s[0] for s in stages]
if names != ["builder", "export", "runtime"]:
    fail(f"stages are {names}, expected builder, export, runtime")
builder, export, runtime = stages
if builder[1] != "docker.io/library/debian:12":
    fail(f"builder is FROM {builder[1]}")
binary = "/src/target/x86_64-unknown-linux-musl/release/krbprobe"
for st in (export, runtime):
    if st[1] != "scratch":
        fail(f"stage {st[0]} is FROM {st[1]}, not scratch")
    copies = [i for i in st[2] if i.upper().startswith("COPY")]
    if copies != [f"COPY --from=builder {binary} /krbprobe"]:
        fail(f"stage {st[0]} copies {copies}")
if export[2] != [f"COPY --from=builder {binary} /krbprobe"]:
    fail(f"export must hold only the binary: {export[2]}")
if "USER 1000" not in runtime[2]:
    fail("runtime stage lacks USER 1000")
if runtime[2][-1] != 'ENTRYPOINT ["/krbprobe"]':
    fail(f"runtime stage must end with ENTRYPOINT [\"/krbprobe\"], ends with {runtime[2][-1]!r}")

# Every COPY of the builder names files that exist in the repo (the build context), nothing of
# the lab, and together they cover what cargo and the scripts read.
copied = set()
for ins in builder[2]:
    if not ins.upper().startswith("COPY"):
        continue
    args = [a for a in shlex.split(ins)[1:] if not a.startswith("--")]
    for src in args[:-1]:
        if not os.path.exists(src):
            fail(f"COPY source {src} does not exist in the repository")
        if src.startswith("lab"):
            fail(f"the builder must not need the lab: {ins}")
        copied.add(src.rstrip("/"))
need = {"Cargo.toml", "Cargo.lock", "build.rs", ".cargo", "src", "scripts/install-deps.sh", "scripts/build-krb5.sh"}
if need - copied:
    fail(f"not copied into the builder: {sorted(need - copied)}")

runs = " ".join(i for i in builder[2] if i.upper().startswith("RUN"))
for needle in ("scripts/install-deps.sh", "scripts/build-krb5.sh", "cargo build --release --locked",
               "sha256sum -c", "statically linked"):
    if needle not in runs:
        fail(f"builder never runs {needle!r}")
if "install-deps.sh --lab" in runs:
    fail("the builder installs the lab packages")
m = re.search(r"ARG RUSTUP_SHA256=(\S+)", " ".join(builder[2]))
if not m or not re.fullmatch(r"[0-9a-f]{64}", m.group(1)):
    fail("ARG RUSTUP_SHA256 is not a SHA-256")
print("3 stages; export and runtime FROM scratch with only /krbprobe; USER 1000; COPY sources exist")
PY
}

build_ee_missing_binary() {
    expect_fail "$tmp/missing.out" "run 'cargo build --release'" \
        env ANSIBLE_BUILDER="$venv/bin/ansible-builder" container/build-ee.sh --create-only --context "$tmp/unused" "$tmp/no-such-krbprobe"
    [[ ! -e $tmp/unused ]] || { echo "build-ee.sh wrote a context for a missing binary"; return 1; }
    cat "$tmp/missing.out"
}

check ee-context ee_context
check k8s-schema k8s_schema
check k8s-negative-field k8s_negative_field
check k8s-negative-type k8s_negative_type
check k8s-negative-dupkey k8s_negative_dupkey
check awx-pod awx_pod
check awx-pod-negative awx_pod_negative
check krb5-conf-scratch krb5_conf_scratch
setup_output() {
    # krbprobe setup discovers the realm from the lab's DNS: it runs inside the lab.
    local realm dir n=0
    for realm in KUROKOBO.INTERNAL SAMBA.KUROKOBO.INTERNAL; do
        dir=$tmp/setup-$realm
        local short=${realm%%.*}
        lab/run -q -- "$bin" setup --realm "$realm" --namespace awx-jobs --configmap "krb5-${short,,}" \
            --pod-trace --output-dir "$dir" --no-check --color never
        local files=("$dir/krb5-configmap.yaml" "$dir/container-group-pod.yaml") vargs=()
        for v in "${K8S_VERSIONS[@]}"; do vargs+=(--k8s-version "$v"); done
        "$vpy" container/validate_k8s.py "${vargs[@]}" "${files[@]}"
        "$vpy" container/check_awx_pod.py "$dir/container-group-pod.yaml" "$dir/krb5-configmap.yaml"
        grep -q '^          value: /dev/stderr$' "$dir/container-group-pod.yaml" \
            || { echo "setup --pod-trace: no KRB5_TRACE in the pod spec"; return 1; }
        n=$((n + 1))
    done
    echo "$n realms: ConfigMap and pod spec valid for Kubernetes ${K8S_VERSIONS[*]} and for AWX"
}

check setup-output setup_output
check containerfile containerfile
check build-ee-missing-binary build_ee_missing_binary

echo "container tests took $((SECONDS - t_start)) s"
echo "container-tests: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
