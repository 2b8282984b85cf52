"""The endpoints and EndpointSlice controllers, done inline like the other controllers.

As in kube-controller-manager: only a Service with a selector (and not of type ExternalName) gets
Endpoints and an EndpointSlice maintained from the Pods it selects; the Endpoints carry the
Service's labels and the endpoints.kubernetes.io/last-change-trigger-time annotation, the
EndpointSlice the labels kubernetes.io/service-name and
endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io and an owner reference
to the Service. Endpoints of a Service without a selector are written by users and never
touched, except that deleting a Service deletes the Endpoints of its name (the real controller
does so for every Service). Mirroring of hand-written Endpoints into EndpointSlices is not
done."""
import hashlib

import kinds
from patch import deepcopy

MANAGED_BY = "endpointslice-controller.k8s.io"


def has_selector(svc):
    spec = svc.get("spec") or {}
    return spec.get("type") != "ExternalName" and bool(spec.get("selector"))


def _selects(selector, pod):
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def _subsets(svc, pods):
    ready, not_ready = [], []
    for p in pods:
        ip = (p.get("status") or {}).get("podIP")
        if not ip or p["metadata"].get("deletionTimestamp"):
            continue
        addr = {"ip": ip, "nodeName": (p.get("spec") or {}).get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": p["metadata"]["namespace"],
                              "name": p["metadata"]["name"], "uid": p["metadata"].get("uid")}}
        phase = (p.get("status") or {}).get("phase")
        (ready if phase == "Running" else not_ready).append(addr)
    ports = []
    for sp in (svc.get("spec") or {}).get("ports") or []:
        target = sp.get("targetPort", sp.get("port"))
        port = {"port": target if isinstance(target, int) else sp.get("port"),
                "protocol": sp.get("protocol", "TCP")}
        if sp.get("name"):
            port["name"] = sp["name"]
        ports.append(port)
    if not (ready or not_ready) or not ports:
        return [], ports, ready, not_ready
    subset = {"ports": ports}
    if ready:
        subset["addresses"] = ready
    if not_ready:
        subset["notReadyAddresses"] = not_ready
    return [subset], ports, ready, not_ready


class EndpointsControllers:
    """Mixin of the Api class (with Controllers)."""

    def service_endpoints(self, svc):
        """Endpoints and EndpointSlice of a Service with a selector, from its Pods."""
        if not has_selector(svc):
            return
        m = svc["metadata"]
        ns, name = m["namespace"], m["name"]
        sel = (svc.get("spec") or {}).get("selector") or {}
        pods = [p for p in self.store.all(("", "pods"), ns) if _selects(sel, p)]
        subsets, ports, ready, not_ready = _subsets(svc, pods)
        labels = dict(m.get("labels") or {})
        if (svc.get("spec") or {}).get("clusterIP") == "None":
            labels["service.kubernetes.io/headless"] = ""
        ep = {"apiVersion": "v1", "kind": "Endpoints",
              "metadata": {"name": name, "namespace": ns,
                           "annotations": {"endpoints.kubernetes.io/last-change-trigger-time":
                                           kinds.now()}},
              "subsets": subsets}  # an empty list is left out, as the real API does
        if labels:
            ep["metadata"]["labels"] = labels
        self._controller_put(("", "endpoints"), ep, lambda cur: (cur.get("subsets") or []) ==
                             subsets and (cur["metadata"].get("labels") or {}) == labels)
        slice_name = name + "-" + hashlib.sha256(ns.encode() + b"/" + name.encode()) \
            .hexdigest()[:5]
        slice_labels = dict(labels, **{"kubernetes.io/service-name": name,
                                       "endpointslice.kubernetes.io/managed-by": MANAGED_BY})
        endpoints = [{"addresses": [a["ip"]], "conditions": {"ready": a in ready},
                      "nodeName": a.get("nodeName"), "targetRef": a["targetRef"]}
                     for a in ready + not_ready]
        es = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": slice_name, "namespace": ns, "labels": slice_labels,
                           "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                                "name": name, "uid": m.get("uid"),
                                                "controller": True,
                                                "blockOwnerDeletion": True}]},
              "addressType": "IPv4", "endpoints": endpoints, "ports": ports}
        self._controller_put(("discovery.k8s.io", "endpointslices"), es,
                             lambda cur: cur.get("endpoints") == endpoints
                             and cur.get("ports") == ports)

    def _controller_put(self, key, obj, unchanged):
        res = self.registry.storage_resource(key)
        if res is None:
            return
        m = obj["metadata"]
        cur = self.store.get(key, m["namespace"], m["name"])
        if cur is not None and unchanged(cur):
            return
        new = deepcopy(cur) if cur is not None else {}
        new.update({k: v for k, v in obj.items() if k != "metadata"})
        if not new.get("subsets"):
            new.pop("subsets", None)
        meta = new.setdefault("metadata", {})
        meta.update(obj["metadata"])
        self.commit(res, cur, new, "kube-controller-manager")

    def pods_changed(self, pod):
        """Services of the Pod's namespace whose selector matches it are synced again."""
        ns = pod["metadata"].get("namespace", "")
        for svc in self.store.all(("", "services"), ns):
            if has_selector(svc) and _selects(svc["spec"]["selector"], pod):
                self.service_endpoints(svc)

    def service_deleted(self, svc):
        m = svc["metadata"]
        ep = self.store.get(("", "endpoints"), m.get("namespace", ""), m["name"])
        if ep is not None:
            self.finish_delete(self.registry.storage_resource(("", "endpoints")), ep)
