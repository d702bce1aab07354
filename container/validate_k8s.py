"""Validate Kubernetes manifests against the API's JSON schema, strictly.

Used by container/test.sh. Every YAML document in every FILE is checked with
kubernetes-validate in strict mode (unknown fields are errors) for each
--k8s-version; a document that cannot be parsed, has a duplicate key (AWX and
PyYAML would silently keep the last one), or has no schema for its
apiVersion/kind is an error too. Prints one line per document and version,
errors on stderr; exits 1 when any document failed.

    validate_k8s.py --k8s-version 1.30.0 [--k8s-version ...] FILE...
"""

import argparse
import sys

import kubernetes_validate.utils as kv
import yaml


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping with the same key twice."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def where(err):
    """JSON path of a jsonschema error, e.g. spec.containers[0].volumeMounts."""
    out = ""
    for p in err.absolute_path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document root)"


def check_file(path, versions):
    failures = 0
    try:
        with open(path, encoding="utf-8") as f:
            docs = list(yaml.load_all(f, Loader=UniqueKeyLoader))
    except (OSError, yaml.YAMLError) as e:
        print(f"FAIL {path}: {e}", file=sys.stderr)
        return 1
    docs = [d for d in docs if d is not None]
    if not docs:
        print(f"FAIL {path}: no YAML document", file=sys.stderr)
        return 1
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
            print(f"FAIL {path} document {i}: not a Kubernetes object (apiVersion/kind)", file=sys.stderr)
            failures += 1
            continue
        what = f"{doc['kind']} {doc.get('metadata', {}).get('name', '(generated name)')}"
        for v in versions:
            try:
                got = kv.validate(doc, v, strict=True)
            except kv.ValidationError as e:
                print(f"FAIL {path} document {i} ({what}), Kubernetes {v}: {where(e)}: {e.message}",
                      file=sys.stderr)
                failures += 1
            except (kv.SchemaNotFoundError, kv.VersionNotSupportedError, kv.InvalidSchemaError) as e:
                print(f"FAIL {path} document {i} ({what}), Kubernetes {v}: {e.message}", file=sys.stderr)
                failures += 1
            else:
                print(f"ok   {path} document {i} ({what}), Kubernetes {got} strict")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k8s-version", action="append", required=True, dest="versions")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    shipped = sorted(set(kv.all_versions()), key=kv.Version)
    for v in args.versions:
        # kubernetes-validate silently falls back to an older schema for a version it does not ship.
        if v not in shipped:
            ap.error(f"kubernetes-validate {kv.__version__} ships no schema for {v} "
                     f"(it has {', '.join(shipped)})")
    failures = sum(check_file(p, args.versions) for p in args.files)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
