"""Server-side printing (meta.k8s.io/v1 Table) with the columns the real printers use for the
common built-in kinds, CRD additionalPrinterColumns, and the default Name/Age table."""
import datetime
import json

import crd as crdmod
from labelsel import selector_string


def human_age(ts):
    if not ts:
        return "<unknown>"
    try:
        t = datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return "<invalid>"
    s = int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds())
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if h < 24 * 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if h < 24 * 365 * 2:
        return f"{d}d"
    y = d // 365
    if h < 24 * 365 * 8:
        return f"{y}y{d % 365}d" if d % 365 else f"{y}y"
    return f"{y}y"


def _col(name, typ="string", priority=0, fmt=""):
    return {"name": name, "type": typ, "format": fmt, "description": name, "priority": priority}


NAME = _col("Name", fmt="name")
AGE = _col("Age")


def _age(o):
    return human_age(o["metadata"].get("creationTimestamp"))


def _ports(ports):
    out = []
    for p in ports or []:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _containers(spec):
    cs = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _svc_external(o):
    spec = o.get("spec") or {}
    t = spec.get("type", "ClusterIP")
    if t == "ExternalName":
        return spec.get("externalName", "<none>")
    ips = list(spec.get("externalIPs") or [])
    if t == "LoadBalancer":
        ing = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips += [i.get("ip") or i.get("hostname") for i in ing]
        return ",".join(ips) if ips else "<pending>"
    return ",".join(ips) if ips else "<none>"


def _modes(modes):
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
             "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes or [])


def _event_object(o):
    io = o.get("involvedObject") or {}
    return f"{(io.get('kind') or '').lower()}/{io.get('name', '')}"


def _sc_name(o):
    ann = o["metadata"].get("annotations") or {}
    default = ann.get("storageclass.kubernetes.io/is-default-class") == "true"
    return o["metadata"]["name"] + (" (default)" if default else "")


def _ready(pod):
    return sum(1 for c in (pod.get("status") or {}).get("containerStatuses") or []
               if c.get("ready"))


def _s(v):
    return "<none>" if v in (None, "") else v


PRINTERS = {
    "ConfigMap": ([_col("Data", "integer")],
                  lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {})]),
    "Secret": ([_col("Type"), _col("Data", "integer")],
               lambda o: [o.get("type", ""), len(o.get("data") or {})]),
    "Namespace": ([_col("Status")], lambda o: [(o.get("status") or {}).get("phase", "")]),
    "ServiceAccount": ([_col("Secrets", "integer")], lambda o: [len(o.get("secrets") or [])]),
    "Service": ([_col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)")],
                lambda o: [o["spec"].get("type", "ClusterIP"), _s(o["spec"].get("clusterIP")),
                           _svc_external(o), _ports(o["spec"].get("ports"))],
                [_col("Selector", priority=1)],
                lambda o: [",".join(f"{k}={v}" for k, v in
                                    sorted((o["spec"].get("selector") or {}).items()))
                           or "<none>"]),
    "Pod": ([_col("Ready"), _col("Status"), _col("Restarts", "string"), ],
            lambda o: [f"{_ready(o)}/{len((o.get('spec') or {}).get('containers') or [])}",
                       (o.get("status") or {}).get("phase", "Pending"), "0"],
            [_col("IP", priority=1), _col("Node", priority=1)],
            lambda o: [_s((o.get("status") or {}).get("podIP")),
                       _s((o.get("spec") or {}).get("nodeName"))]),
    "Deployment": ([_col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer")],
                   lambda o: [f"{o.get('status', {}).get('readyReplicas', 0)}/"
                              f"{o['spec'].get('replicas', 0)}",
                              o.get("status", {}).get("updatedReplicas", 0),
                              o.get("status", {}).get("availableReplicas", 0)],
                   [_col("Containers", priority=1), _col("Images", priority=1),
                    _col("Selector", priority=1)],
                   lambda o: list(_containers(o["spec"])) +
                   [selector_string(o["spec"].get("selector")) or "<none>"]),
    "StatefulSet": ([_col("Ready")],
                    lambda o: [f"{o.get('status', {}).get('readyReplicas', 0)}/"
                               f"{o['spec'].get('replicas', 0)}"],
                    [_col("Containers", priority=1), _col("Images", priority=1)],
                    lambda o: list(_containers(o["spec"]))),
    "ReplicaSet": ([_col("Desired", "integer"), _col("Current", "integer"),
                    _col("Ready", "integer")],
                   lambda o: [o["spec"].get("replicas", 0), o.get("status", {}).get("replicas", 0),
                              o.get("status", {}).get("readyReplicas", 0)]),
    "DaemonSet": ([_col("Desired", "integer"), _col("Current", "integer"),
                   _col("Ready", "integer"), _col("Up-to-date", "integer"),
                   _col("Available", "integer"), _col("Node Selector")],
                  lambda o: [o.get("status", {}).get(k, 0) for k in (
                      "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                      "updatedNumberScheduled", "numberAvailable")] +
                  [",".join(f"{k}={v}" for k, v in ((o["spec"].get("template") or {}).get(
                      "spec") or {}).get("nodeSelector", {}).items()) or "<none>"]),
    "PersistentVolumeClaim": (
        [_col("Status"), _col("Volume"), _col("Capacity"), _col("Access Modes"),
         _col("StorageClass"), _col("VolumeAttributesClass")],
        lambda o: [(o.get("status") or {}).get("phase", ""), o["spec"].get("volumeName", ""),
                   ((o.get("status") or {}).get("capacity") or {}).get("storage", ""),
                   _modes((o.get("status") or {}).get("accessModes")),
                   _s(o["spec"].get("storageClassName")), "<unset>"],
        [_col("VolumeMode", priority=1)], lambda o: [o["spec"].get("volumeMode", "")]),
    "PersistentVolume": (
        [_col("Capacity"), _col("Access Modes"), _col("Reclaim Policy"), _col("Status"),
         _col("Claim"), _col("StorageClass"), _col("VolumeAttributesClass"), _col("Reason")],
        lambda o: [(o["spec"].get("capacity") or {}).get("storage", ""),
                   _modes(o["spec"].get("accessModes")),
                   o["spec"].get("persistentVolumeReclaimPolicy", ""),
                   (o.get("status") or {}).get("phase", ""),
                   "/".join(filter(None, [(o["spec"].get("claimRef") or {}).get("namespace"),
                                          (o["spec"].get("claimRef") or {}).get("name")])),
                   o["spec"].get("storageClassName", ""), "<unset>",
                   (o.get("status") or {}).get("reason", "")],
        [_col("VolumeMode", priority=1)], lambda o: [o["spec"].get("volumeMode", "")]),
    "StorageClass": ([_col("Provisioner"), _col("ReclaimPolicy"), _col("VolumeBindingMode"),
                      _col("AllowVolumeExpansion", "boolean")],
                     lambda o: [o.get("provisioner", ""), o.get("reclaimPolicy", ""),
                                o.get("volumeBindingMode", ""),
                                bool(o.get("allowVolumeExpansion"))]),
    "Job": ([_col("Status"), _col("Completions"), _col("Duration")],
            lambda o: ["Complete" if o.get("status", {}).get("completionTime") else "Running",
                       f"{o.get('status', {}).get('succeeded', 0)}/"
                       f"{o['spec'].get('completions', 1)}",
                       "0s" if o.get("status", {}).get("completionTime") else ""]),
    "CronJob": ([_col("Schedule"), _col("Timezone"), _col("Suspend", "boolean"),
                 _col("Active", "integer"), _col("Last Schedule")],
                lambda o: [o["spec"].get("schedule", ""), _s(o["spec"].get("timeZone")),
                           bool(o["spec"].get("suspend")),
                           len(o.get("status", {}).get("active") or []),
                           "<none>"]),
    "HorizontalPodAutoscaler": (
        [_col("Reference"), _col("Targets"), _col("MinPods", "integer"),
         _col("MaxPods", "integer"), _col("Replicas", "integer")],
        lambda o: [f"{(o['spec'].get('scaleTargetRef') or {}).get('kind')}/"
                   f"{(o['spec'].get('scaleTargetRef') or {}).get('name')}", "<unknown>",
                   o["spec"].get("minReplicas", 1), o["spec"].get("maxReplicas", 0),
                   o.get("status", {}).get("currentReplicas", 0)]),
    "Ingress": ([_col("Class"), _col("Hosts"), _col("Address"), _col("Ports")],
                lambda o: [_s(o["spec"].get("ingressClassName")),
                           ",".join(r.get("host", "*") for r in o["spec"].get("rules") or [])
                           or "*", "", "443" if o["spec"].get("tls") else "80"]),
    "RoleBinding": ([_col("Role")],
                    lambda o: [f"{o['roleRef'].get('kind')}/{o['roleRef'].get('name')}"]),
    "ClusterRoleBinding": ([_col("Role")],
                           lambda o: [f"{o['roleRef'].get('kind')}/{o['roleRef'].get('name')}"]),
    "Endpoints": ([_col("Endpoints")],
                  lambda o: [",".join(f"{a.get('ip')}:{p.get('port')}"
                                      for s in o.get("subsets") or []
                                      for a in s.get("addresses") or []
                                      for p in s.get("ports") or []) or "<none>"]),
    "Node": ([_col("Status"), _col("Roles"), _col("Version")],
             lambda o: ["Ready", ",".join(sorted(k.split("/", 1)[1] for k in
                                                (o["metadata"].get("labels") or {})
                                                if k.startswith("node-role.kubernetes.io/")))
                        or "<none>",
                        ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")]),
    "Lease": ([_col("Holder")], lambda o: [(o.get("spec") or {}).get("holderIdentity", "")]),
    "NetworkPolicy": ([_col("Pod-Selector")],
                      lambda o: [selector_string(o["spec"].get("podSelector")) or "<none>"]),
    "PodDisruptionBudget": ([_col("Min Available"), _col("Max Unavailable"),
                             _col("Allowed Disruptions", "integer")],
                            lambda o: [str(o["spec"].get("minAvailable", "N/A")),
                                       str(o["spec"].get("maxUnavailable", "N/A")),
                                       (o.get("status") or {}).get("disruptionsAllowed", 0)]),
}


def _event_row(o):
    last = o.get("lastTimestamp") or o.get("eventTime") or o["metadata"].get("creationTimestamp")
    src = (o.get("source") or {}).get("component") or o.get("reportingComponent") or ""
    return [human_age(last), o.get("type", ""), o.get("reason", ""), _event_object(o),
            (o.get("involvedObject") or {}).get("fieldPath", ""), src, o.get("message", ""),
            human_age(o.get("firstTimestamp") or last), o.get("count", 1),
            o["metadata"]["name"]]


EVENT_COLUMNS = [_col("Last Seen"), _col("Type"), _col("Reason"), _col("Object"),
                 _col("Subobject", priority=1), _col("Source", priority=1), _col("Message"),
                 _col("First Seen", priority=1), _col("Count", "integer", 1),
                 _col("Name", priority=1)]


def columns_and_cells(res, objs):
    kind = res.kind
    if res.printer_columns is not None or not res.builtin:
        cols = [NAME]
        pcs = res.printer_columns or []
        for c in pcs:
            cols.append({"name": c["name"], "type": c.get("type", "string"),
                         "format": c.get("format", ""), "description": c.get("description", ""),
                         "priority": c.get("priority", 0)})
        cols.append(_col("Age", "date"))
        rows = []
        for o in objs:
            cells = [o["metadata"]["name"]]
            for c in pcs:
                v = crdmod.get_path(o, c["jsonPath"])
                if c.get("type") == "date" and isinstance(v, str):
                    v = human_age(v)
                elif isinstance(v, (dict, list)):
                    v = json.dumps(v)
                cells.append(v if v is not None else None)
            cells.append(_age(o))
            rows.append(cells)
        return cols, rows
    if res.group == "" and kind == "Event":
        return EVENT_COLUMNS, [_event_row(o) for o in objs]
    p = PRINTERS.get(kind)
    if p is None:
        return [NAME, _col("Created At", "date")], \
            [[o["metadata"]["name"], o["metadata"].get("creationTimestamp")] for o in objs]
    cols = [NAME] + p[0] + [AGE] + (p[2] if len(p) > 2 else [])
    rows = []
    for o in objs:
        o = dict(o, spec=o.get("spec") or {})
        name = _sc_name(o) if kind == "StorageClass" else o["metadata"]["name"]
        try:
            cells = [name] + p[1](o) + [_age(o)] + (p[3](o) if len(p) > 2 else [])
        except (KeyError, TypeError, AttributeError):
            cells = [name] + [""] * len(p[0]) + [_age(o)] + [""] * (len(cols) - 2 - len(p[0]))
        rows.append(cells)
    return cols, rows


def table(res, objs, include, list_meta, wrap):
    cols, cells = columns_and_cells(res, objs)
    rows = []
    for o, c in zip(objs, cells):
        row = {"cells": c}
        if include == "Object":
            row["object"] = wrap(o)
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": cols, "rows": rows}
