"""Check what the Kubernetes schema cannot: that the Container Group pod spec is one AWX accepts
and that it mounts the krb5.conf of the ConfigMap the way Kerberos in a job needs it.

Used by container/test.sh:

    check_awx_pod.py POD_YAML CONFIGMAP_YAML [--krb5-conf-out FILE]

Exits 1 with one line per problem on stderr. --krb5-conf-out writes the ConfigMap's krb5.conf,
for test.sh to run krbprobe's own krb5-conf check on it.
"""

import argparse
import sys

import yaml

# AWX overwrites image and args of containers[0] anyway (awx/main/tasks/receptor.py); the
# spec should say the same so that what is pasted is what runs.
AWX_ARGS = ["ansible-runner", "worker", "--private-data-dir=/runner"]


def problems(pod, cm):
    spec = pod.get("spec", {})
    ns = pod.get("metadata", {}).get("namespace")
    if not ns:
        yield "pod: metadata.namespace is required by AWX (it creates the pod there)"
    if cm.get("metadata", {}).get("namespace") != ns:
        yield f"ConfigMap namespace {cm.get('metadata', {}).get('namespace')!r} != pod namespace {ns!r}"
    if spec.get("automountServiceAccountToken") is not False:
        yield "pod: automountServiceAccountToken should be false (jobs need no API token)"
    containers = spec.get("containers") or [{}]
    worker = containers[0]
    if worker.get("name") != "worker":
        yield f"pod: containers[0] must be AWX's 'worker', not {worker.get('name')!r}"
    if worker.get("args") != AWX_ARGS:
        yield f"pod: containers[0].args must be {AWX_ARGS}"
    volumes = {v.get("name"): v for v in spec.get("volumes", [])}
    mounts = {m.get("mountPath"): m for m in worker.get("volumeMounts", [])}

    krb5 = mounts.get("/etc/krb5.conf")
    if krb5 is None:
        yield "worker: nothing is mounted at /etc/krb5.conf"
    else:
        if krb5.get("subPath") != "krb5.conf":
            yield ("worker: /etc/krb5.conf must be mounted with subPath: krb5.conf "
                   "(a file, not a directory over /etc)")
        if krb5.get("readOnly") is not True:
            yield "worker: /etc/krb5.conf mount should be readOnly"
        vol = volumes.get(krb5.get("name"), {})
        cfg = vol.get("configMap")
        if cfg is None:
            yield f"pod: volume {krb5.get('name')!r} for /etc/krb5.conf is not a configMap volume"
        else:
            if cfg.get("name") != cm.get("metadata", {}).get("name"):
                yield (f"pod: volume uses ConfigMap {cfg.get('name')!r}, "
                       f"the ConfigMap is {cm['metadata'].get('name')!r}")
            paths = {i.get("path"): i.get("key") for i in cfg.get("items", [])} or {"krb5.conf": "krb5.conf"}
            key = paths.get("krb5.conf")
            if key is None:
                yield "pod: the configMap volume has no item with path krb5.conf (the subPath)"
            elif key not in cm.get("data", {}):
                yield f"ConfigMap has no data key {key!r}"
            mode = cfg.get("defaultMode", 0o644)
            if mode & 0o004 == 0:
                yield f"pod: configMap defaultMode {mode:o} is not world-readable; the job's uid is not root"

    # default_ccache_name and Ansible's per-connection cache live in /tmp: it must be writable
    # even when the root filesystem is not.
    tmp = mounts.get("/tmp")
    if tmp is None or "emptyDir" not in volumes.get(tmp.get("name"), {}):
        yield "worker: /tmp should be an emptyDir (Kerberos caches live there)"
    conf = cm.get("data", {}).get("krb5.conf", "")
    for line in conf.splitlines():
        s = line.strip()
        if s.startswith("default_ccache_name") and "FILE:/tmp/" not in s:
            yield f"krb5.conf: {s}: use FILE:/tmp/krb5cc_%{{uid}} (writable for uid 1000 on a read-only root)"
        if s.startswith(("include", "includedir")):
            yield f"krb5.conf: {s}: the included file does not exist in the pod"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pod")
    ap.add_argument("configmap")
    ap.add_argument("--krb5-conf-out")
    args = ap.parse_args()
    with open(args.pod, encoding="utf-8") as f:
        pod = yaml.safe_load(f)
    with open(args.configmap, encoding="utf-8") as f:
        cm = yaml.safe_load(f)
    found = list(problems(pod, cm))
    for p in found:
        print(f"FAIL {p}", file=sys.stderr)
    if args.krb5_conf_out:
        with open(args.krb5_conf_out, "w", encoding="utf-8") as f:
            f.write(cm.get("data", {}).get("krb5.conf", ""))
    if not found:
        print(f"ok   {args.pod} mounts krb5.conf of {args.configmap} as AWX and Kerberos need it")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
