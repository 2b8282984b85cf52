"""Startup objects: the baseline every cluster has (system namespaces, the `kubernetes`
Service and Endpoints, a node, a default StorageClass, the snapshot.storage.k8s.io CRDs), and
seed manifests loaded from YAML/JSON files or directories (--seed, --samples)."""
import json
import os

import snapshots
import yamlmini
from errors import ApiError

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samples")
MANAGER = "cairn-seed"


def baseline(api, port, git_version):
    objs = snapshots.crds()
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    objs += [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"component": "apiserver", "provider": "kubernetes"}},
         "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443,
                                                       "protocol": "TCP", "targetPort": port}],
                  "sessionAffinity": "None", "type": "ClusterIP"}},
        {"apiVersion": "v1", "kind": "Endpoints",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
         "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                      "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]},
        {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": "cairn-control-plane",
                      "labels": {"kubernetes.io/hostname": "cairn-control-plane",
                                 "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                 "node-role.kubernetes.io/control-plane": ""}},
         "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
         "status": {"capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
                    "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status"}],
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                                  {"type": "Hostname", "address": "cairn-control-plane"}],
                    "nodeInfo": {"kubeletVersion": git_version, "kubeProxyVersion": git_version,
                                 "operatingSystem": "linux", "architecture": "amd64",
                                 "containerRuntimeVersion": "containerd://1.7.18"}}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "standard",
                      "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
         "volumeBindingMode": "Immediate"},
    ]
    load_objects(api, objs, "baseline")


def zone_nodes(api, zones, git_version):
    """--zones a,b,c: one worker Node per zone (cairn-worker-1, ...), labelled as cloud nodes
    are (topology.kubernetes.io/zone and /region, the region being the zone without its last
    letter and dash: eu-west-1a -> eu-west-1, cn-hangzhou-h -> cn-hangzhou), so the cluster is multi-zoned
    for whoever reads its Nodes."""
    objs = []
    for i, zone in enumerate(zones, 1):
        name = f"cairn-worker-{i}"
        region = zone[:-1].rstrip("-") if len(zone) > 1 and zone[-1].isalpha() else zone
        objs.append(
            {"apiVersion": "v1", "kind": "Node",
             "metadata": {"name": name,
                          "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                     "kubernetes.io/arch": "amd64",
                                     "topology.kubernetes.io/zone": zone,
                                     "topology.kubernetes.io/region": region}},
             "spec": {"podCIDR": f"10.244.{i}.0/24", "podCIDRs": [f"10.244.{i}.0/24"]},
             "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                        "conditions": [{"type": "Ready", "status": "True",
                                        "reason": "KubeletReady",
                                        "message": "kubelet is posting ready status"}],
                        "addresses": [{"type": "InternalIP", "address": f"10.0.{i}.10"},
                                      {"type": "Hostname", "address": name}],
                        "nodeInfo": {"kubeletVersion": git_version,
                                     "kubeProxyVersion": git_version,
                                     "operatingSystem": "linux", "architecture": "amd64",
                                     "containerRuntimeVersion": "containerd://1.7.18"}}})
    load_objects(api, objs, "zones")


def read_manifests(path):
    """Documents of a file, or of every .yaml/.yml/.json file in a directory (recursively,
    in name order). `List` documents are expanded."""
    files = []
    if not os.path.exists(path):
        raise SystemExit(f"{path}: no such file or directory")
    if os.path.isdir(path):
        for root, dirs, names in os.walk(path):
            dirs.sort()
            for n in sorted(names):
                if n.endswith((".yaml", ".yml", ".json")):
                    files.append(os.path.join(root, n))
    else:
        files.append(path)
    docs = []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        try:
            for d in yamlmini.load_all(text):
                docs.extend((f, x) for x in _expand(d))
        except ValueError as e:
            raise SystemExit(f"{f}: {e}") from None
    return docs


def _expand(doc):
    if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc:
        out = []
        for item in doc.get("items") or []:
            out.extend(_expand(item))
        return out
    return [doc]


def _rank(doc):
    kind = doc.get("kind")
    if kind == "CustomResourceDefinition":
        return 0
    if kind == "Namespace":
        return 1
    if kind in ("StorageClass", "PersistentVolume"):
        return 2
    return 3


def load_objects(api, docs, source):
    pending = []
    for d in docs:
        pending.append(d if isinstance(d, tuple) else (source, d))
    pending.sort(key=lambda p: _rank(p[1]))
    for src, doc in pending:
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            raise SystemExit(f"{src}: a manifest needs apiVersion and kind: "
                             f"{json.dumps(doc)[:120]}")
        res = api.registry.by_kind(doc["apiVersion"], doc["kind"])
        if res is None:
            raise SystemExit(f"{src}: no resource for {doc['apiVersion']} {doc['kind']}")
        meta = doc.setdefault("metadata", {})
        ns = meta.get("namespace") or ("default" if res.namespaced else "")
        if res.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        try:
            if res.namespaced:
                api.check_namespace(res, ns, meta.get("name"))
            status = doc.get("status")
            stored, _ = api.commit(res, None, doc, MANAGER, seed=True)
            if status is not None and res.has_status:
                current = api.store.get(res.storage_key, ns, stored["metadata"]["name"])
                upd = dict(api.view(res, current), status=status)
                api.commit(res, current, upd, MANAGER, sub="status", seed=True)
        except ApiError as e:
            raise SystemExit(f"{src}: {doc['kind']} {meta.get('name')}: {e.message}") from None
