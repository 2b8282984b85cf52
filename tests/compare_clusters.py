#!/usr/bin/env python3
"""Compares the objects of namespaces in two clusters (kubeconfigs), after the resets a restore
documents (runner/ops/restore/README.md): server-set metadata, status, Service cluster IPs and
node ports, owner references and cairn's own labels. Prints every difference; exit 1 if any.

  tests/compare_clusters.py SOURCE_KUBECONFIG TARGET_KUBECONFIG NS[=TARGET_NS] ...
"""
import json
import subprocess
import sys

RESOURCES = ["configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims",
             "deployments.apps", "statefulsets.apps", "daemonsets.apps", "cronjobs.batch",
             "jobs.batch", "roles.rbac.authorization.k8s.io",
             "rolebindings.rbac.authorization.k8s.io", "networkpolicies.networking.k8s.io",
             "ingresses.networking.k8s.io", "poddisruptionbudgets.policy", "limitranges",
             "resourcequotas", "horizontalpodautoscalers.autoscaling"]
META_RESET = ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
              "selfLink", "ownerReferences", "deletionTimestamp"]
SKIP_NAMES = {"kube-root-ca.crt", "default"}  # regenerated in every namespace


def get(kubeconfig, resource, ns):
    p = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "get", resource, "-n", ns,
                        "-o", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        return {}
    return {o["metadata"]["name"]: o for o in json.loads(p.stdout)["items"]}


def normalise(obj, target_ns):
    obj = json.loads(json.dumps(obj))
    meta = obj.get("metadata", {})
    for k in META_RESET:
        meta.pop(k, None)
    meta["namespace"] = target_ns
    labels = meta.get("labels", {})
    for k in list(labels):
        if k.startswith("cairn.io/"):
            labels.pop(k)
    if not labels:
        meta.pop("labels", None)
    obj.pop("status", None)
    spec = obj.get("spec", {})
    if obj.get("kind") == "Service":
        if spec.get("clusterIP") != "None":
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        spec.pop("healthCheckNodePort", None)
        for port in spec.get("ports", []):
            port.pop("nodePort", None)
    if obj.get("kind") == "PersistentVolumeClaim":
        spec.pop("volumeName", None)
        ann = meta.get("annotations", {})
        for k in list(ann):
            if k.startswith("pv.kubernetes.io/") or "storage-provisioner" in k or \
                    k == "volume.kubernetes.io/selected-node":
                ann.pop(k)
        if not ann:
            meta.pop("annotations", None)
    return obj


def compare(source, target, mapping):
    diffs = []
    for src_ns, dst_ns in mapping:
        for resource in RESOURCES:
            src = get(source, resource, src_ns)
            dst = get(target, resource, dst_ns)
            for name, obj in src.items():
                if name in SKIP_NAMES or obj.get("type") == "kubernetes.io/service-account-token":
                    continue
                if obj["metadata"].get("ownerReferences"):
                    continue  # left for its controller to recreate
                if name not in dst:
                    diffs.append(f"{resource} {dst_ns}/{name}: missing in the target")
                    continue
                a, b = normalise(obj, dst_ns), normalise(dst[name], dst_ns)
                if a != b:
                    diffs.append(f"{resource} {dst_ns}/{name}: differs\n  source: "
                                 f"{json.dumps(a, sort_keys=True)}\n  target: "
                                 f"{json.dumps(b, sort_keys=True)}")
    return diffs


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    mapping = [(m.split("=", 1) + [m])[:2] if "=" in m else (m, m) for m in sys.argv[3:]]
    diffs = compare(sys.argv[1], sys.argv[2], mapping)
    for d in diffs:
        print(d)
    print(f"{len(diffs)} differences beyond the documented resets")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
