"""What the controllers of a small real cluster would do right after a write, done inline:
CRD registration, a namespace's `default` ServiceAccount and `kube-root-ca.crt` ConfigMap,
PersistentVolume binding and dynamic provisioning, StatefulSet claims from
volumeClaimTemplates, workloads reported ready, and the Events these controllers record.
Off with --no-controllers (CRD registration stays)."""
import hashlib
import time

import kinds
import quota
import snapshots
from patch import deepcopy

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ROOT_CA_NOTE = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
                "internal endpoints such as the internal service IP or kubernetes.default.svc. No "
                "other usage is guaranteed across distributions of Kubernetes clusters.")


def _hash(obj):
    text = repr((obj.get("spec") or {}).get("template"))
    h = hashlib.sha256(text.encode()).hexdigest()
    return "".join("bcdfghjklmnpqrstvwxz2456789"[int(h[i:i + 2], 16) % 27] for i in range(0, 20, 2))


def _quantity_bytes(q):
    q = str(q or "0")
    units = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50,
             "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15}
    for u, mult in units.items():
        if q.endswith(u):
            try:
                return float(q[:-len(u)]) * mult
            except ValueError:
                return 0
    try:
        return float(q)
    except ValueError:
        return 0


def _job_pod(pod):
    return any(r.get("kind") == "Job" for r in pod["metadata"].get("ownerReferences") or [])


class Controllers:
    """Mixin of the Api class."""

    def res(self, group, plural):
        return self.registry.storage_resource((group, plural))

    def current(self, group, plural, obj):
        m = obj["metadata"]
        return self.store.get((group, plural), m.get("namespace", ""), m["name"])

    def put_status(self, group, plural, obj, status, manager):
        cur = self.current(group, plural, obj)
        if cur is None:
            return obj
        new = deepcopy(cur)
        new["status"] = status
        return self.commit(self.res(group, plural), cur, new, manager, sub="status")[0]

    def put_main(self, group, plural, obj, mutate, manager):
        """Re-reads obj, applies mutate(copy) and writes it (controllers may have written
        since the caller read it)."""
        cur = self.current(group, plural, obj)
        if cur is None:
            return obj
        new = deepcopy(cur)
        mutate(new)
        return self.commit(self.res(group, plural), cur, new, manager)[0]

    def emit(self, involved, reason, message, component, etype="Normal"):
        m = involved["metadata"]
        ns = m.get("namespace") or "default"
        if self.store.get(("", "namespaces"), "", ns) is None:
            return
        ts = kinds.now()
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": f"{m['name']}.{time.time_ns():x}", "namespace": ns},
              "involvedObject": {"kind": involved.get("kind"), "namespace": m.get("namespace"),
                                 "name": m["name"], "uid": m.get("uid"),
                                 "apiVersion": involved.get("apiVersion"),
                                 "resourceVersion": m.get("resourceVersion")},
              "reason": reason, "message": message, "source": {"component": component},
              "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": etype,
              "eventTime": None, "reportingComponent": component, "reportingInstance": ""}
        if ev["involvedObject"]["namespace"] is None:
            del ev["involvedObject"]["namespace"]
        self.commit(self.res("", "events"), None, ev, component)

    # -- dispatch ----------------------------------------------------------------------------
    def after_write(self, sres, old, new):
        kind = sres.kind if sres.builtin else None
        if kind == "CustomResourceDefinition":
            self.registry.add_crd(new)
            return
        if self.controllers_on and not sres.builtin and sres.group == snapshots.GROUP:
            snapshots.written(self, sres, old, new)
        if not self.controllers_on or kind is None:
            return
        if kind == "Namespace" and old is None:
            self.namespace_created(new)
        elif kind == "ResourceQuota":
            quota.quota_written(self, old, new)
        elif kind == "PersistentVolumeClaim":
            self.bind_claim(new)
        elif kind == "PersistentVolume":
            self.volume_written(new)
        elif kind == "Pod":
            if self.admin.job_controller or not _job_pod(new):
                self.pod_running(new)
            self.pods_changed(new)
        elif kind == "Service":
            self.service_endpoints(new)
        elif kind == "Job" and self.admin.job_controller:
            self.job_complete(new)
        elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet",
                      "ReplicationController"):
            if kind == "StatefulSet":
                self.statefulset_claims(new)
            self.workload_ready(kind, sres, old, new)

    def after_delete(self, sres, obj, propagation=None):
        m = obj["metadata"]
        if propagation != "Orphan":
            self.collect_garbage(m.get("namespace", ""), m.get("uid"))
        quota.replenish(self, sres.storage_key, obj)
        if not sres.builtin and sres.group == snapshots.GROUP:
            snapshots.deleted(self, sres, obj)
        if sres.builtin and (sres.kind, m["name"]) in (("ConfigMap", "kube-root-ca.crt"),
                                                        ("ServiceAccount", "default")):
            ns = self.store.get(("", "namespaces"), "", m.get("namespace", ""))
            if ns is not None and not ns["metadata"].get("deletionTimestamp"):
                self.namespace_created(ns)
            return
        if sres.builtin and sres.kind in ("Service", "Pod"):
            (self.service_deleted if sres.kind == "Service" else self.pods_changed)(obj)
        if sres.builtin and sres.kind == "PersistentVolumeClaim":
            vol = (obj.get("spec") or {}).get("volumeName")
            pv = self.store.get(("", "persistentvolumes"), "", vol) if vol else None
            if pv and ((pv["spec"].get("claimRef") or {}).get("uid") == obj["metadata"]["uid"]):
                if pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
                    self.finish_delete(self.res("", "persistentvolumes"), pv)
                else:
                    self.put_status("", "persistentvolumes", pv, {"phase": "Released"},
                                    "kube-controller-manager")

    # -- namespaces ------------------------------------------------------------------------
    def namespace_created(self, ns):
        name = ns["metadata"]["name"]
        if self.store.get(("", "serviceaccounts"), name, "default") is None:
            self.commit(self.res("", "serviceaccounts"), None,
                        {"apiVersion": "v1", "kind": "ServiceAccount",
                         "metadata": {"name": "default", "namespace": name}},
                        "kube-controller-manager")
        if self.options.ca_pem and \
                self.store.get(("", "configmaps"), name, "kube-root-ca.crt") is None:
            self.commit(self.res("", "configmaps"), None,
                        {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "kube-root-ca.crt", "namespace": name,
                                      "annotations": {"kubernetes.io/description":
                                                      ROOT_CA_NOTE}},
                         "data": {"ca.crt": self.options.ca_pem}},
                        "kube-controller-manager")

    # -- volumes ---------------------------------------------------------------------------
    def volume_written(self, pv):
        """The binder's view of a written volume: Available, Released (its claim is gone),
        or bound to the claim it is pre-bound to."""
        phase = (pv.get("status") or {}).get("phase")
        ref = pv["spec"].get("claimRef")

        def set_phase(p):
            if phase != p:
                self.put_status("", "persistentvolumes", pv, {"phase": p},
                                "kube-controller-manager")
        if not ref:
            return set_phase("Available")
        pvc = self.store.get(("", "persistentvolumeclaims"), ref.get("namespace", ""),
                             ref.get("name", ""))
        if ref.get("uid") and (pvc is None or pvc["metadata"]["uid"] != ref["uid"]):
            return set_phase("Released") if phase != "Failed" else None
        if pvc is None:
            return set_phase("Available")
        if phase == "Bound" or pvc["metadata"]["uid"] in self.__dict__.get("_binding", ()):
            return None
        if not ref.get("uid") and BIND_COMPLETED in (pvc["metadata"].get("annotations") or {}):
            # Pre-bound (no uid): the volume is Available and the claim's sync decides.
            set_phase("Available")
            return self.bind_claim(pvc)
        if (pvc.get("status") or {}).get("phase") != "Bound" and \
                pvc["spec"].get("volumeName") in (None, "", pv["metadata"]["name"]):
            self.bind(pv, pvc, False)
        return None

    def bind_claim(self, pvc):
        busy = self.__dict__.setdefault("_binding", set())
        uid = pvc["metadata"].get("uid")
        if uid in busy:
            return
        busy.add(uid)
        try:
            self._bind_claim(pvc)
        finally:
            busy.discard(uid)

    def _bind_claim(self, pvc):
        pvc = self.current("", "persistentvolumeclaims", pvc) or pvc
        if (pvc.get("status") or {}).get("phase") == "Bound" or \
                pvc["metadata"].get("deletionTimestamp"):
            return
        spec = pvc.get("spec") or {}
        m = pvc["metadata"]
        pvs = self.store.all(("", "persistentvolumes"))
        if BIND_COMPLETED in (m.get("annotations") or {}):
            return self.sync_bound_claim(pvc, pvs)
        if spec.get("volumeName"):
            pv = next((p for p in pvs if p["metadata"]["name"] == spec["volumeName"]), None)
            ref = (pv or {}).get("spec", {}).get("claimRef") or {}
            if pv and (not ref or (ref.get("namespace"), ref.get("name")) ==
                       (m.get("namespace"), m["name"]) and ref.get("uid") in (None, m["uid"])):
                self.bind(pv, pvc, False)
            return
        class_name = spec.get("storageClassName") or ""
        sc = self.store.get(("storage.k8s.io", "storageclasses"), "", class_name) \
            if class_name else None
        want = _quantity_bytes(((spec.get("resources") or {}).get("requests") or {})
                               .get("storage"))
        modes = set(spec.get("accessModes") or [])
        for pv in pvs:
            ps = pv.get("spec") or {}
            ref = ps.get("claimRef") or {}
            if (pv.get("status") or {}).get("phase") not in ("Available", None, "Pending"):
                continue
            if ref and (ref.get("namespace"), ref.get("name")) != (m.get("namespace"), m["name"]):
                continue
            if (ps.get("storageClassName") or "") != class_name:
                continue
            if _quantity_bytes((ps.get("capacity") or {}).get("storage")) < want:
                continue
            if not modes <= set(ps.get("accessModes") or []):
                continue
            self.bind(pv, pvc, True)
            return
        if sc is None:
            return
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            self.emit(pvc, "WaitForFirstConsumer",
                      "waiting for first consumer to be created before binding",
                      "persistentvolume-controller")
            return
        why = snapshots.provisioning_problem(self, pvc, sc)
        if why:
            self.emit(pvc, "ProvisioningFailed", why, sc.get("provisioner"), "Warning")
            return
        provisioner = sc.get("provisioner")
        pv_name = f"pvc-{m['uid']}"
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": pv_name,
                           "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
              "spec": {"capacity": {"storage": ((spec.get("resources") or {}).get("requests")
                                                or {}).get("storage", "1Gi")},
                       "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                       "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                       "storageClassName": class_name,
                       "volumeMode": spec.get("volumeMode", "Filesystem"),
                       "csi": {"driver": provisioner, "volumeHandle": f"vol-{m['uid']}",
                               "fsType": "ext4"},
                       "claimRef": {"kind": "PersistentVolumeClaim",
                                    "namespace": m.get("namespace"), "name": m["name"],
                                    "uid": m["uid"], "apiVersion": "v1",
                                    "resourceVersion": m.get("resourceVersion")}}}
        if self.store.get(("", "persistentvolumes"), "", pv_name) is None:
            self.commit(self.res("", "persistentvolumes"), None, pv, provisioner)
        pv = self.store.get(("", "persistentvolumes"), "", pv_name)

        def annotate(new):
            ann = new["metadata"].setdefault("annotations", {})
            ann["volume.beta.kubernetes.io/storage-provisioner"] = provisioner
            ann["volume.kubernetes.io/storage-provisioner"] = provisioner
        pvc = self.put_main("", "persistentvolumeclaims", pvc, annotate, "kube-controller-manager")
        if (pvc.get("status") or {}).get("phase") == "Bound":
            return
        self.emit(pvc, "ProvisioningSucceeded",
                  f"Successfully provisioned volume {pv_name}", provisioner)
        self.bind(pv, pvc, True)

    def sync_bound_claim(self, pvc, pvs):
        """syncBoundClaim (pkg/controller/volume/persistentvolume/pv_controller.go): a claim
        marked bind-completed is Lost unless its volume exists and is unclaimed or claimed by
        this claim's uid."""
        name = (pvc.get("spec") or {}).get("volumeName")
        pv = next((p for p in pvs if p["metadata"]["name"] == name), None) if name else None
        if not name:
            return self.claim_lost(pvc, "ClaimLost", "Bound claim has lost reference to "
                                   "PersistentVolume. Data on the volume is lost!")
        if pv is None:
            return self.claim_lost(pvc, "ClaimLost", "Bound claim has lost its "
                                   "PersistentVolume. Data on the volume is lost!")
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or ref.get("uid") == pvc["metadata"]["uid"]:
            return self.bind(pv, pvc, False)
        return self.claim_lost(pvc, "ClaimMisbound", "Two claims are bound to the same volume, "
                               "this one is bound incorrectly")

    def claim_lost(self, pvc, reason, message):
        if (pvc.get("status") or {}).get("phase") == "Lost":
            return
        pvc = self.put_status("", "persistentvolumeclaims", pvc, {"phase": "Lost"},
                              "kube-controller-manager")
        self.emit(pvc, reason, message, "persistentvolume-controller", "Warning")

    def bind(self, pv, pvc, by_controller):
        m = pvc["metadata"]
        pre_bound = bool(pv["spec"].get("claimRef", {}).get("uid"))

        def claim(new_pv):
            new_pv["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim",
                                          "namespace": m.get("namespace"), "name": m["name"],
                                          "uid": m["uid"], "apiVersion": "v1",
                                          "resourceVersion": m.get("resourceVersion")}
            if not pre_bound and not pv["spec"].get("claimRef"):
                new_pv["metadata"].setdefault("annotations", {})[
                    "pv.kubernetes.io/bound-by-controller"] = "yes"
        pv = self.put_main("", "persistentvolumes", pv, claim, "kube-controller-manager")
        pv = self.put_status("", "persistentvolumes", pv, {"phase": "Bound"},
                             "kube-controller-manager")

        def bound(new_pvc):
            ann = new_pvc["metadata"].setdefault("annotations", {})
            ann["pv.kubernetes.io/bind-completed"] = "yes"
            if by_controller:
                ann["pv.kubernetes.io/bound-by-controller"] = "yes"
            new_pvc["spec"]["volumeName"] = pv["metadata"]["name"]
        pvc = self.put_main("", "persistentvolumeclaims", pvc, bound, "kube-controller-manager")
        self.put_status("", "persistentvolumeclaims", pvc,
                        {"phase": "Bound", "accessModes": pv["spec"].get("accessModes"),
                         "capacity": pv["spec"].get("capacity")}, "kube-controller-manager")

    # -- workloads -------------------------------------------------------------------------
    def statefulset_claims(self, sts):
        spec = sts.get("spec") or {}
        m = sts["metadata"]
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        for i in range(spec.get("replicas") or 0):
            for t in spec.get("volumeClaimTemplates") or []:
                tname = (t.get("metadata") or {}).get("name")
                name = f"{tname}-{m['name']}-{i}"
                if self.store.get(("", "persistentvolumeclaims"), m["namespace"], name):
                    continue
                labels = dict((t.get("metadata") or {}).get("labels") or {})
                labels.update(sel)
                pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": name, "namespace": m["namespace"]},
                       "spec": deepcopy(t.get("spec") or {})}
                if labels:
                    pvc["metadata"]["labels"] = labels
                ann = (t.get("metadata") or {}).get("annotations")
                if ann:
                    pvc["metadata"]["annotations"] = dict(ann)
                policy = spec.get("persistentVolumeClaimRetentionPolicy") or {}
                if policy.get("whenDeleted") == "Delete":
                    pvc["metadata"]["ownerReferences"] = [
                        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": m["name"],
                         "uid": m["uid"], "controller": True, "blockOwnerDeletion": True}]
                self.commit(self.res("", "persistentvolumeclaims"), None, pvc,
                            "kube-controller-manager")
                self.emit(sts, "SuccessfulCreate",
                          f"create Claim {name} Pod {m['name']}-{i} in StatefulSet "
                          f"{m['name']} success", "statefulset-controller")

    def workload_ready(self, kind, sres, old, new):
        m = new["metadata"]
        gen = m.get("generation") or 1
        status = new.get("status") or {}
        if status.get("observedGeneration") == gen:
            return
        spec = new.get("spec") or {}
        r = spec.get("replicas", 1) if kind != "DaemonSet" else 1
        ts = kinds.now()
        h = _hash(new)
        if kind == "Deployment":
            prev = ((old or {}).get("status") or {}).get("replicas", 0)
            st = {"observedGeneration": gen, "replicas": r, "updatedReplicas": r,
                  "readyReplicas": r, "availableReplicas": r,
                  "conditions": [
                      {"type": "Available", "status": "True", "lastUpdateTime": ts,
                       "lastTransitionTime": ts, "reason": "MinimumReplicasAvailable",
                       "message": "Deployment has minimum availability."},
                      {"type": "Progressing", "status": "True", "lastUpdateTime": ts,
                       "lastTransitionTime": ts, "reason": "NewReplicaSetAvailable",
                       "message": f'ReplicaSet "{m["name"]}-{h}" has successfully '
                                  f'progressed.'}]}
            if prev != r:
                verb = "up" if r > prev else "down"
                self.emit(new, "ScalingReplicaSet",
                          f"Scaled {verb} replica set {m['name']}-{h} from {prev} to {r}",
                          "deployment-controller")
        elif kind == "StatefulSet":
            st = {"observedGeneration": gen, "replicas": r, "readyReplicas": r,
                  "currentReplicas": r, "updatedReplicas": r, "availableReplicas": r,
                  "currentRevision": f"{m['name']}-{h}", "updateRevision": f"{m['name']}-{h}",
                  "collisionCount": 0}
        elif kind == "DaemonSet":
            st = {"currentNumberScheduled": 1, "numberMisscheduled": 0,
                  "desiredNumberScheduled": 1, "numberReady": 1, "observedGeneration": gen,
                  "updatedNumberScheduled": 1, "numberAvailable": 1}
        else:
            st = {"replicas": r, "fullyLabeledReplicas": r, "readyReplicas": r,
                  "availableReplicas": r, "observedGeneration": gen}
        st = {k: v for k, v in st.items() if v != 0 or k in ("observedGeneration",
                                                              "numberMisscheduled")}
        if r == 0 and kind != "DaemonSet":
            st.pop("conditions", None)
        cur = self.store.get(sres.storage_key, m.get("namespace", ""), m["name"])
        if cur is not None:
            self.put_status(sres.group, sres.plural, cur, st, "kube-controller-manager")

    # -- garbage collection, pods and jobs -------------------------------------------------------
    def collect_garbage(self, ns, uid):
        """Deletes the dependents (ownerReferences) of a deleted object, as the garbage
        collector does in the background."""
        if not uid:
            return
        for sres in self.registry.all_storage():
            if ns and not sres.namespaced:
                continue
            for o in self.store.all(sres.storage_key, ns or None):
                refs = o["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    if self.store.get(sres.storage_key, o["metadata"].get("namespace", ""),
                                      o["metadata"]["name"]) is not None:
                        self.finish_delete(sres, o)

    def pod_running(self, pod):
        """Scheduled to the one node and running, as the scheduler and kubelet would."""
        spec = pod.get("spec") or {}
        if (pod.get("status") or {}).get("phase") not in (None, "Pending") or \
                pod["metadata"].get("deletionTimestamp"):
            return
        if not spec.get("nodeName"):
            pod = self.put_main("", "pods", pod,
                                lambda new: new["spec"].__setitem__("nodeName",
                                                                    "cairn-control-plane"),
                                "kube-scheduler")
            self.emit(pod, "Scheduled", f"Successfully assigned {pod['metadata']['namespace']}/"
                      f"{pod['metadata']['name']} to cairn-control-plane", "default-scheduler")
        ts = kinds.now()
        conds = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
                 for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                           "ContainersReady", "PodScheduled")]
        statuses = [{"name": c.get("name"), "image": c.get("image"),
                     "imageID": "", "containerID": "", "ready": True, "restartCount": 0,
                     "started": True, "state": {"running": {"startedAt": ts}},
                     "lastState": {}} for c in spec.get("containers") or []]
        self.put_status("", "pods", pod, {
            "phase": "Running", "conditions": conds, "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}], "podIP": "10.244.0.%d" % (hash(pod["metadata"][
                "uid"]) % 250 + 2), "startTime": ts, "containerStatuses": statuses,
            "qosClass": "BestEffort"}, "kubelet")

    def job_complete(self, job):
        status = job.get("status") or {}
        if status.get("completionTime") or (job.get("spec") or {}).get("suspend"):
            return
        ts = kinds.now()
        n = (job.get("spec") or {}).get("completions") or 1
        self.put_status("batch", "jobs", job, {
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": ts,
                 "lastTransitionTime": ts, "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"},
                {"type": "Complete", "status": "True", "lastProbeTime": ts,
                 "lastTransitionTime": ts, "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"}],
            "startTime": ts, "completionTime": ts, "succeeded": n, "ready": 0,
            "terminating": 0, "uncountedTerminatedPods": {}}, "kube-controller-manager")
        self.emit(job, "Completed", "Job completed", "job-controller")
