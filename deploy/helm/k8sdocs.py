#!/usr/bin/env python3
"""Helpers of deploy/helm/check.sh, run in its venv (PyYAML comes with
kubernetes-validate).

  k8sdocs.py split RENDERED.yaml OUTDIR
      Writes each document of a `helm template` output to OUTDIR, as
      core-NNN.yaml for the Kubernetes kinds and crd-NNN-<kind>.yaml for the
      monitoring.coreos.com ones, and prints one line per document:
      "<file> <apiVersion> <kind> <name>".

  k8sdocs.py crd2schema CRD.yaml OUT.json
      Turns the served version's openAPIV3Schema of a CustomResourceDefinition
      into a JSON Schema (draft-07) for check-jsonschema. The API server prunes
      unknown fields of a custom resource silently, so a misspelt field would
      be lost without an error: the schema makes every object that declares
      properties closed (additionalProperties false) unless it preserves
      unknown fields, and pins apiVersion and kind.
"""

import json
import os
import sys

import yaml


def split(rendered, outdir):
    with open(rendered, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    os.makedirs(outdir, exist_ok=True)
    for i, doc in enumerate(docs):
        api, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        name = doc.get("metadata", {}).get("name", "")
        if api.startswith("monitoring.coreos.com/"):
            path = os.path.join(outdir, "crd-%03d-%s.yaml" % (i, kind.lower()))
        else:
            path = os.path.join(outdir, "core-%03d.yaml" % i)
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(doc, f, sort_keys=False)
        print(path, api, kind, name)
    if not docs:
        sys.exit("k8sdocs: %s holds no documents" % rendered)


def ecma_pattern(p):
    """Rewrites Go's case-insensitive flag, which ECMA regular expressions (the
    dialect of JSON Schema) lack, as letter classes: (?i)warn becomes
    [wW][aA][rR][nN]. A pattern too complex for that is dropped (None)."""
    if "(?i)" not in p:
        return p
    p = p.replace("(?i)", "")
    if "[" in p or "\\" in p:
        return None
    return "".join("[%s%s]" % (c.lower(), c.upper()) if c.isalpha() else c for c in p)


def close_objects(schema):
    if isinstance(schema, dict):
        if isinstance(schema.get("pattern"), str):
            pattern = ecma_pattern(schema["pattern"])
            if pattern is None:
                del schema["pattern"]
            else:
                schema["pattern"] = pattern
        if (schema.get("type") == "object" and "properties" in schema
                and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        for v in schema.values():
            close_objects(v)
    elif isinstance(schema, list):
        for v in schema:
            close_objects(v)


def crd2schema(crd_path, out):
    with open(crd_path, encoding="utf-8") as f:
        crd = yaml.safe_load(f)
    if crd.get("kind") != "CustomResourceDefinition":
        sys.exit("k8sdocs: %s is not a CustomResourceDefinition" % crd_path)
    spec = crd["spec"]
    versions = [v for v in spec["versions"] if v.get("served") and v.get("storage")]
    if len(versions) != 1:
        sys.exit("k8sdocs: %s has no single served storage version" % crd_path)
    v = versions[0]
    schema = v["schema"]["openAPIV3Schema"]
    close_objects(schema)
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"const": "%s/%s" % (spec["group"], v["name"])}
    props["kind"] = {"const": spec["names"]["kind"]}
    props["metadata"] = {"type": "object"}  # checked by the API server, not the CRD
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "%s %s/%s (from %s)" % (spec["names"]["kind"], spec["group"], v["name"], os.path.basename(crd_path))
    with open(out, "w", encoding="utf-8") as f:
        json.dump(schema, f, indent=1)
    print(out, schema["title"])


def main(argv):
    if len(argv) == 4 and argv[1] == "split":
        split(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "crd2schema":
        crd2schema(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
