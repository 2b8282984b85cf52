"""The write path shared by create, update, patch, apply and the built-in controllers:
metadata bookkeeping (uid, resourceVersion, generation, timestamps), preconditions, status
subresource rules, defaulting, validation, allocation, managed fields, storage, and deletion
(finalizers, namespace cascade, CRD removal)."""
import random
import uuid

import cel
import crd as crdmod
import batch_validation
import kinds
import podsecurity
import quota
import services
import snapshots
from apply import field_set, track_update
from errors import (ApiError, STALE, already_exists, bad_request, conflict, forbidden,
                    invalid, not_found, success)
from patch import deepcopy

NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
RETURN_DELETED = {("", "pods"), ("", "services"), ("", "serviceaccounts"),
                  ("", "persistentvolumes"), ("", "persistentvolumeclaims"), ("", "namespaces"),
                  ("apiextensions.k8s.io", "customresourcedefinitions")}
SYSTEM_FINALIZERS = {"kubernetes.io/pvc-protection", "kubernetes.io/pv-protection",
                     "customresourcecleanup.apiextensions.k8s.io", "foregroundDeletion",
                     "orphan", "kubernetes"}
META_ORDER = ["name", "generateName", "namespace", "uid", "resourceVersion", "generation",
              "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
              "annotations", "ownerReferences", "finalizers", "managedFields"]


def ordered(obj):
    """kind, apiVersion, metadata (in ObjectMeta field order) first, like the real encoder."""
    out = {}
    for k in ("kind", "apiVersion"):
        if k in obj:
            out[k] = obj[k]
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        m = {k: meta[k] for k in META_ORDER if k in meta}
        m.update((k, v) for k, v in meta.items() if k not in m)
        out["metadata"] = m
    for k, v in obj.items():
        if k not in out:
            out[k] = v
    return out


def _content(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _comparable(obj):
    o = dict(obj)
    m = dict(o.get("metadata") or {})
    for k in ("resourceVersion", "managedFields"):
        m.pop(k, None)
    o["metadata"] = m
    return o


class Writer:
    """Mixin of the Api class: needs self.registry, self.store, self.controllers,
    self.options."""

    def default_storage_class(self):
        for sc in self.store.all(("storage.k8s.io", "storageclasses")):
            ann = sc["metadata"].get("annotations") or {}
            if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
                return sc["metadata"]["name"]
        return None

    @property
    def controllers_on(self):
        return self.options.controllers

    def check_namespace(self, res, ns, name, creating=True):
        if not res.namespaced:
            return
        nsobj = self.store.get(("", "namespaces"), "", ns)
        if nsobj is None:
            raise not_found("namespaces", "", ns)
        if creating and nsobj["metadata"].get("deletionTimestamp"):
            err = forbidden(res.plural, res.group, name,
                            f"unable to create new content in namespace {ns} because it is "
                            f"being terminated")
            err.details["causes"] = [{"reason": "NamespaceTerminating",
                                      "message": f"namespace {ns} is being terminated",
                                      "field": "metadata.namespace"}]
            raise err

    # -- the write pipeline ------------------------------------------------------------------
    def commit(self, res, old, new, manager, sub="", dry_run=False, managed=False,
               seed=False, validation=None, warnings=None):
        """Stores `new` (in res's version) as the next state of `old` (storage version, or
        None to create). Returns (stored object in storage version, created). `validation`
        is the fieldValidation directive (Strict, Warn, Ignore) for unknown fields; warnings
        are appended to `warnings`."""
        with self.store.lock:
            self._field_validation = (validation or "Warn", warnings)
            return self._commit(res, old, new, manager, sub, dry_run, managed, seed)

    def _commit(self, res, old, new, manager, sub, dry_run, managed, seed):
        skey = res.storage_key
        sres = self.registry.storage_resource(skey) or res
        new = kinds.to_storage(res, deepcopy(new))
        new["apiVersion"] = sres.api_version
        new["kind"] = sres.kind
        meta = new.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if old is None:
            if not meta.get("name") and meta.get("generateName"):
                for _ in range(8):
                    cand = meta["generateName"] + "".join(random.choice(NAME_CHARS)
                                                          for _ in range(5))
                    if self.store.get(skey, meta.get("namespace", ""), cand) is None:
                        break
                meta["name"] = cand
            name = meta.get("name") or ""
            errs = kinds.name_errors(res.plural, name) if name else \
                [kinds.field_required("metadata.name", "name or generateName is required")]
            if errs:
                raise invalid(res.kind, res.group, name, errs)
            # Storage answers AlreadyExists only after validation and admission (quota).
            exists = self.store.get(skey, meta.get("namespace", ""), name) is not None
            if meta.get("resourceVersion") and not seed:
                # The storage layer's plain error, answered as the real server answers it.
                raise ApiError(500, "", "resourceVersion should not be set on objects to be "
                                        "created", None)
            meta["uid"] = meta.get("uid") if seed and meta.get("uid") else str(uuid.uuid4())
            if not (seed and meta.get("creationTimestamp")):
                meta["creationTimestamp"] = kinds.now()
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "selfLink"):
                meta.pop(k, None)
            if not seed:
                meta.pop("generation", None)
            if res.generation:
                meta.setdefault("generation", 1)
            if not (managed or seed):
                meta.pop("managedFields", None)
            if sres.has_status and not seed and res.kind != "CustomResourceDefinition":
                new.pop("status", None)
        else:
            new = self._update_meta(res, old, new, sub)
            meta = new["metadata"]
        allocated = set()
        if sub != "status" or seed:
            allocated = self._defaults_and_validation(res, sres, old, new)
        elif sres.builtin and sres.kind == "Job":  # ValidateJobUpdateStatus
            errs = batch_validation.job_status_errors(new, old)
            if errs:
                raise invalid(res.kind, res.group, meta.get("name") or "", errs)
        if old is None and not seed and res.namespaced:
            quota.admit(self, res, skey, new, dry_run)
        if old is None and exists:
            raise already_exists(res.plural, res.group, meta.get("name") or "")
        if old is not None and (sres.generation) and _content(new) != _content(old):
            meta["generation"] = (old["metadata"].get("generation") or 1) + 1
        if old is not None and _comparable(new) == _comparable(old):
            return old, False
        if not managed and manager:
            track_update(old, new, manager, res.api_version, kinds.now(), sres.kind, sub,
                         sres.has_status, allocated)
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and old is not None:
            if not dry_run:
                self.finish_delete(res, old)
            return new, False
        new = ordered(new)
        if dry_run:
            return new, old is None
        self.store.put(skey, new)
        if self.controllers_on or res.kind == "CustomResourceDefinition":
            self.after_write(sres, old, new)
        return new, old is None

    def _update_meta(self, res, old, new, sub):
        meta = new["metadata"]
        omd = old["metadata"]
        name = omd["name"]
        if meta.get("uid") and meta["uid"] != omd.get("uid"):
            raise conflict(res.plural, res.group, name,
                           f"Precondition failed: UID in precondition: {meta['uid']}, UID in "
                           f"object meta: {omd.get('uid')}")
        if meta.get("resourceVersion") and meta["resourceVersion"] != omd.get("resourceVersion"):
            raise conflict(res.plural, res.group, name, STALE)
        if sub == "status":
            out = deepcopy(old)
            out["status"] = new.get("status")
            if new["metadata"].get("managedFields") is not None:
                out["metadata"]["managedFields"] = new["metadata"]["managedFields"]
            return out
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "generation", "namespace", "name"):
            if k in omd:
                meta[k] = omd[k]
            else:
                meta.pop(k, None)
        meta["resourceVersion"] = omd.get("resourceVersion")
        if "managedFields" not in meta and "managedFields" in omd:
            meta["managedFields"] = omd["managedFields"]
        sres = self.registry.storage_resource(res.storage_key) or res
        if sres.has_status and res.kind != "CustomResourceDefinition":
            if "status" in old:
                new["status"] = deepcopy(old["status"])
            else:
                new.pop("status", None)
        if meta.get("deletionTimestamp") and set(meta.get("finalizers") or []) - \
                set(omd.get("finalizers") or []):
            raise invalid(res.kind, res.group, name, [kinds.field_forbidden(
                "metadata.finalizers", "no new finalizers can be added if the object is being "
                                       "deleted")])
        return new

    def _pod_security(self, sres, obj):
        """Pod Security admission (podsecurity.py): Pods refused, workloads warned."""
        ns = obj["metadata"].get("namespace")
        if not ns:
            return
        message, warns = podsecurity.check(sres.kind, obj,
                                           self.store.get(("", "namespaces"), "", ns))
        if message:
            raise forbidden(sres.plural, sres.group, obj["metadata"].get("name", ""), message)
        _, warnings = getattr(self, "_field_validation", ("Warn", None))
        if warns and warnings is not None:
            warnings.extend(warns)

    def _defaults_and_validation(self, res, sres, old, new):
        meta = new["metadata"]
        errs = kinds.meta_errors(meta)
        if sres.builtin:
            kinds.default(sres.kind, new, self)
            if sres.kind == "CustomResourceDefinition":
                crdmod.default_crd(new)
                crdmod.validate_crd(new, old)
                new["status"] = crdmod.crd_status(new, (old or {}).get("status"))
            errs += kinds.validate(sres, new, old)
            if sres.kind == "PersistentVolumeClaim" and old is None:
                errs += snapshots.pvc_data_source(new)
            if not errs:
                self._pod_security(sres, new)
        else:
            schema_res = self.registry.lookup(res.group, res.version, res.plural) or sres
            pruned = []
            crdmod.process(schema_res.schema, new, errs, pruned)
            errs += cel.check(schema_res.schema, new, old)  # x-kubernetes-validations
            directive, warnings = getattr(self, "_field_validation", ("Warn", None))
            unknown = ", ".join(f'unknown field "{p}"' for p in pruned)
            if pruned and directive == "Strict":
                raise bad_request(f'{res.kind} in version "{res.version}" cannot be handled as '
                                  f'a {res.kind}: strict decoding error: {unknown}')
            if pruned and directive == "Warn" and warnings is not None:
                warnings.extend(f'unknown field "{p}"' for p in pruned)
            if sres is not schema_res and sres.schema:
                crdmod.process(sres.schema, new, [])  # storage-version pruning and defaults
        if errs:
            raise invalid(res.kind, res.group, meta.get("name", ""), errs)
        if sres.kind == "Service" and sres.builtin:
            # The real server allocates in its REST storage, after the field manager recorded
            # the request: an allocated cluster IP or node port has no manager.
            before = field_set(new, sres.kind)
            services.allocate(new, old, self.store.all(("", "services")))
            return field_set(new, sres.kind) - before
        return set()

    # -- deletion ----------------------------------------------------------------------------
    def delete(self, res, ns, name, options, dry_run=False):
        """DELETE of one object; returns (code, body)."""
        with self.store.lock:
            skey = res.storage_key
            old = self.store.get(skey, ns, name)
            if old is None:
                raise not_found(res.plural, res.group, name)
            pre = (options or {}).get("preconditions") or {}
            omd = old["metadata"]
            if pre.get("uid") and pre["uid"] != omd.get("uid"):
                raise conflict(res.plural, res.group, name,
                               f"Precondition failed: UID in precondition: {pre['uid']}, UID in "
                               f"object meta: {omd.get('uid')}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != omd.get("resourceVersion"):
                raise conflict(res.plural, res.group, name,
                               f"Precondition failed: ResourceVersion in precondition: "
                               f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                               f"{omd.get('resourceVersion')}")
            if dry_run:
                return 200, old if skey in RETURN_DELETED else \
                    success(res.plural, res.group, name, omd.get("uid"))
            if res.kind == "Namespace" and res.group == "":
                return 200, self.delete_namespace(old)
            user_fins = [f for f in omd.get("finalizers") or [] if f not in SYSTEM_FINALIZERS]
            if user_fins:
                if omd.get("deletionTimestamp"):
                    return 202, old
                upd = deepcopy(old)
                upd["metadata"]["deletionTimestamp"] = kinds.now()
                upd["metadata"]["deletionGracePeriodSeconds"] = 0
                upd["metadata"]["finalizers"] = user_fins
                if res.generation:
                    upd["metadata"]["generation"] = (omd.get("generation") or 1) + 1
                self.store.put(skey, upd)
                return 202, upd
            gone = self.finish_delete(res, old, (options or {}).get("propagationPolicy"))
            if skey in RETURN_DELETED:
                return 200, gone
            return 200, success(res.plural, res.group, name, omd.get("uid"))

    def finish_delete(self, res, obj, propagation=None):
        skey = res.storage_key
        meta = obj["metadata"]
        self.store.delete(skey, meta.get("namespace", ""), meta["name"])
        sres = self.registry.storage_resource(skey) or res
        if sres.kind == "CustomResourceDefinition" and sres.builtin:
            self.remove_crd(obj)
        elif self.controllers_on:
            self.after_delete(sres, obj, propagation)
        return obj

    def delete_namespace(self, ns_obj):
        name = ns_obj["metadata"]["name"]
        if not ns_obj["metadata"].get("deletionTimestamp"):
            upd = deepcopy(ns_obj)
            upd["metadata"]["deletionTimestamp"] = kinds.now()
            upd["metadata"]["deletionGracePeriodSeconds"] = 0
            upd["status"] = {"phase": "Terminating"}
            ns_obj = self.store.put(("", "namespaces"), upd)
        delay = self.options.namespace_delay
        if delay > 0:
            import threading
            t = threading.Timer(delay, self.finalize_namespace, args=(name,))
            t.daemon = True
            t.start()
        else:
            self.finalize_namespace(name)
        return ns_obj

    def finalize_namespace(self, name):
        with self.store.lock:
            for sres in self.registry.all_storage():
                if not sres.namespaced:
                    continue
                for obj in self.store.all(sres.storage_key, name):
                    self.finish_delete(sres, obj)
            if self.store.get(("", "namespaces"), "", name) is not None:
                self.store.delete(("", "namespaces"), "", name)

    def remove_crd(self, crd_obj):
        name = crd_obj["metadata"]["name"]
        key = self.registry.crd_keys.get(name)
        if key:
            for obj in self.store.all(key):
                m = obj["metadata"]
                self.store.delete(key, m.get("namespace", ""), m["name"])
        self.registry.remove_crd(name)
