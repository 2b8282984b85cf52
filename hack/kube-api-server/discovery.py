"""The served resource set (built-in and from CustomResourceDefinitions) and the discovery
documents: /api, /apis, /apis/<group>, /apis/<group>/<version> in the classic formats
(APIVersions, APIGroupList, APIGroup, APIResourceList) and aggregated discovery
(apidiscovery.k8s.io/v2 and v2beta1 APIGroupDiscoveryList)."""
import base64
import hashlib
import re
import threading

FULL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NO_DC = ["create", "delete", "get", "list", "patch", "update", "watch"]
GPU = ["get", "patch", "update"]

# subresource -> (group, version, kind or None for the parent's kind, verbs)
SUBRESOURCES = {
    "status": (None, None, None, GPU),
    "scale": ("autoscaling", "v1", "Scale", GPU),
    "finalize": (None, None, None, ["update"]),
    "attach": ("", "v1", "PodAttachOptions", ["create", "get"]),
    "binding": ("", "v1", "Binding", ["create"]),
    "ephemeralcontainers": (None, None, None, GPU),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "exec": ("", "v1", "PodExecOptions", ["create", "get"]),
    "log": (None, None, None, ["get"]),
    "portforward": ("", "v1", "PodPortForwardOptions", ["create", "get"]),
    "proxy": ("", "v1", "ProxyOptions", ["create", "delete", "get", "patch", "update"]),
    "resize": (None, None, None, GPU),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
}

# group versions plural Kind scope shortNames categories subresources flags
BUILTIN = """
core v1 configmaps ConfigMap ns cm - - -
core v1 endpoints Endpoints ns ep - - -
core v1 events Event ns ev - - -
core v1 limitranges LimitRange ns limits - - -
core v1 namespaces Namespace cluster ns - status,finalize nodc
core v1 nodes Node cluster no - proxy,status -
core v1 persistentvolumeclaims PersistentVolumeClaim ns pvc - status -
core v1 persistentvolumes PersistentVolume cluster pv - status -
core v1 pods Pod ns po all attach,binding,ephemeralcontainers,eviction,exec,log,portforward,proxy,resize,status -
core v1 podtemplates PodTemplate ns - - - -
core v1 replicationcontrollers ReplicationController ns rc all scale,status gen
core v1 resourcequotas ResourceQuota ns quota - status -
core v1 secrets Secret ns - - - -
core v1 serviceaccounts ServiceAccount ns sa - token -
core v1 services Service ns svc all proxy,status -
apps v1 controllerrevisions ControllerRevision ns - - - -
apps v1 daemonsets DaemonSet ns ds all status gen
apps v1 deployments Deployment ns deploy all scale,status gen
apps v1 replicasets ReplicaSet ns rs all scale,status gen
apps v1 statefulsets StatefulSet ns sts all scale,status gen
events.k8s.io v1 events Event ns ev - - shared
authentication.k8s.io v1 selfsubjectreviews SelfSubjectReview cluster - - - virtual
authorization.k8s.io v1 selfsubjectaccessreviews SelfSubjectAccessReview cluster - - - virtual
autoscaling v2,v1 horizontalpodautoscalers HorizontalPodAutoscaler ns hpa all status gen
batch v1 cronjobs CronJob ns cj all status gen
batch v1 jobs Job ns - all status gen
networking.k8s.io v1 ingressclasses IngressClass cluster - - - gen
networking.k8s.io v1 ingresses Ingress ns ing - status gen
networking.k8s.io v1 networkpolicies NetworkPolicy ns netpol - - gen
policy v1 poddisruptionbudgets PodDisruptionBudget ns pdb - status gen
rbac.authorization.k8s.io v1 clusterrolebindings ClusterRoleBinding cluster - - - -
rbac.authorization.k8s.io v1 clusterroles ClusterRole cluster - - - -
rbac.authorization.k8s.io v1 rolebindings RoleBinding ns - - - -
rbac.authorization.k8s.io v1 roles Role ns - - - -
storage.k8s.io v1 csidrivers CSIDriver cluster - - - -
storage.k8s.io v1 csinodes CSINode cluster - - - -
storage.k8s.io v1 csistoragecapacities CSIStorageCapacity ns - - - -
storage.k8s.io v1 storageclasses StorageClass cluster sc - - -
storage.k8s.io v1 volumeattachments VolumeAttachment cluster - - status -
apiextensions.k8s.io v1 customresourcedefinitions CustomResourceDefinition cluster crd,crds api-extensions status gen
coordination.k8s.io v1 leases Lease ns - - - -
discovery.k8s.io v1 endpointslices EndpointSlice ns - - - -
"""

GROUP_ORDER = ["apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
               "autoscaling", "batch", "networking.k8s.io", "policy",
               "rbac.authorization.k8s.io", "storage.k8s.io", "apiextensions.k8s.io",
               "coordination.k8s.io", "discovery.k8s.io"]


def version_priority(v):
    """Kube-aware version order key: GA before beta before alpha, newer first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0, v)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), v)


def storage_hash(group, version, kind):
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


class Resource:
    """One resource served in one group version."""

    def __init__(self, group, version, plural, kind, namespaced, short=(), categories=(),
                 subresources=(), verbs=None, generation=False, builtin=True, singular=None,
                 list_kind=None, storage_key=None, storage_version=None, crd=None,
                 scale_paths=None, printer_columns=None, schema=None, selectable=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.categories = list(categories)
        self.subresources = list(subresources)
        self.verbs = verbs or FULL
        self.generation = generation
        self.builtin = builtin
        self.singular = singular or kind.lower()
        self.list_kind = list_kind or kind + "List"
        self.storage_key = storage_key or (group, plural)
        self.storage_version = storage_version or version
        self.crd = crd
        self.scale_paths = scale_paths
        self.printer_columns = printer_columns
        self.schema = schema
        self.selectable = list(selectable)
        self.virtual = False

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_status(self):
        return "status" in self.subresources

    def classic(self):
        out = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": self.verbs}]
        if self.short:
            out[0]["shortNames"] = self.short
        if self.categories:
            out[0]["categories"] = self.categories
        out[0]["storageVersionHash"] = storage_hash(self.group, self.storage_version, self.kind)
        for sub in self.subresources:
            g, v, k, verbs = SUBRESOURCES[sub]
            entry = {"name": f"{self.plural}/{sub}", "singularName": "",
                     "namespaced": self.namespaced}
            if g is not None:
                entry["group"] = g
                entry["version"] = v
            entry["kind"] = k or self.kind
            entry["verbs"] = verbs
            out.append(entry)
        return out

    def aggregated(self):
        entry = {"resource": self.plural,
                 "responseKind": {"group": self.group, "version": self.version, "kind": self.kind},
                 "scope": "Namespaced" if self.namespaced else "Cluster",
                 "singularResource": self.singular, "verbs": self.verbs}
        if self.short:
            entry["shortNames"] = self.short
        if self.categories:
            entry["categories"] = self.categories
        subs = []
        for sub in self.subresources:
            g, v, k, verbs = SUBRESOURCES[sub]
            subs.append({"subresource": sub,
                         "responseKind": {"group": self.group if g is None else g,
                                          "version": self.version if v is None else v,
                                          "kind": k or self.kind},
                         "verbs": verbs})
        if subs:
            entry["subresources"] = subs
        return entry


class Registry:
    def __init__(self):
        self.lock = threading.RLock()
        self.resources = {}       # (group, version, plural) -> Resource
        self.versions = {}        # group -> [versions], preferred first
        self.crd_groups = {}      # group -> {crd name: [versions]}
        self.storage = {}         # storage key -> Resource in the storage version
        self.crd_keys = {}        # crd name -> storage key
        for line in BUILTIN.strip().splitlines():
            group, versions, plural, kind, scope, short, cats, subs, flags = line.split()
            group = "" if group == "core" else group
            vlist = versions.split(",")
            for v in vlist:
                r = Resource(group, v, plural, kind, scope == "ns",
                             short=[] if short == "-" else short.split(","),
                             categories=[] if cats == "-" else cats.split(","),
                             subresources=[] if subs == "-" else subs.split(","),
                             verbs=["create"] if "virtual" in flags else
                             NO_DC if "nodc" in flags else FULL,
                             generation="gen" in flags, storage_version=vlist[0])
                r.virtual = "virtual" in flags
                if "shared" in flags:
                    r.storage_key = ("", plural)
                    r.storage_version = "v1"
                self._add(r)
        for r in list(self.resources.values()):
            if not r.virtual and r.version == r.storage_version and \
                    r.storage_key == (r.group, r.plural):
                self.storage[r.storage_key] = r

    def _add(self, r):
        self.resources[(r.group, r.version, r.plural)] = r
        vs = self.versions.setdefault(r.group, [])
        if r.version not in vs:
            vs.append(r.version)

    def lookup(self, group, version, plural):
        with self.lock:
            return self.resources.get((group, version, plural))

    def storage_resource(self, key):
        with self.lock:
            return self.storage.get(key)

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        with self.lock:
            for r in self.resources.values():
                if r.group == group and r.version == version and r.kind == kind:
                    return r
        return None

    def resources_in(self, group, version):
        with self.lock:
            return sorted((r for (g, v, _), r in self.resources.items()
                           if g == group and v == version), key=lambda r: r.plural)

    def groups(self):
        """[(group, [versions preferred first])] in discovery order, without the core group."""
        with self.lock:
            named = [g for g in GROUP_ORDER if g in self.versions]
            named += sorted(g for g in self.versions if g and g not in GROUP_ORDER)
            return [(g, list(self.versions[g])) for g in named]

    def has_group_version(self, group, version):
        with self.lock:
            return version in self.versions.get(group, [])

    def all_storage(self):
        with self.lock:
            return list(self.storage.values())

    # -- CustomResourceDefinitions ---------------------------------------------------------
    def add_crd(self, crd):
        """(Re)registers the served versions of a CRD; returns the storage Resource."""
        spec = crd["spec"]
        group = spec["group"]
        names = spec["names"]
        name = crd["metadata"]["name"]
        with self.lock:
            self.remove_crd(name, keep_storage=True)
            storage_version = next(v["name"] for v in spec["versions"] if v.get("storage"))
            served = [v for v in spec["versions"] if v.get("served")]
            served.sort(key=lambda v: version_priority(v["name"]))
            key = (group, names["plural"])
            storage_res = None
            for v in spec["versions"]:
                subs = v.get("subresources") or {}
                sub_list = [s for s in ("scale", "status") if s in subs]
                r = Resource(group, v["name"], names["plural"], names["kind"],
                             spec["scope"] == "Namespaced", short=names.get("shortNames", []),
                             categories=names.get("categories", []), subresources=sub_list,
                             generation=True, builtin=False, singular=names.get("singular"),
                             list_kind=names.get("listKind"), storage_key=key,
                             storage_version=storage_version, crd=name,
                             scale_paths=subs.get("scale"),
                             printer_columns=v.get("additionalPrinterColumns"),
                             schema=(v.get("schema") or {}).get("openAPIV3Schema"),
                             selectable=[f["jsonPath"].lstrip(".")
                                         for f in v.get("selectableFields") or []])
                if v["name"] == storage_version:
                    storage_res = r
                if v.get("served"):
                    self.resources[(group, v["name"], names["plural"])] = r
            self.crd_groups.setdefault(group, {})[name] = [v["name"] for v in served]
            self._rebuild_versions(group)
            self.storage[key] = storage_res
            self.crd_keys[name] = key
            return storage_res

    def remove_crd(self, name, keep_storage=False):
        with self.lock:
            key = self.crd_keys.pop(name, None)
            if key and not keep_storage:
                self.storage.pop(key, None)
            for k, r in list(self.resources.items()):
                if r.crd == name:
                    del self.resources[k]
            for group, crds in list(self.crd_groups.items()):
                if crds.pop(name, None) is not None:
                    self._rebuild_versions(group)

    def _rebuild_versions(self, group):
        vs = set()
        for versions in self.crd_groups.get(group, {}).values():
            vs.update(versions)
        if not vs:
            self.versions.pop(group, None)
            self.crd_groups.pop(group, None)
        else:
            self.versions[group] = sorted(vs, key=version_priority)

    # -- documents -------------------------------------------------------------------------
    def api_versions(self, server_address):
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": server_address}]}

    @staticmethod
    def _group_entry(group, versions):
        vlist = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": vlist, "preferredVersion": vlist[0]}

    def api_group_list(self):
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [self._group_entry(g, vs) for g, vs in self.groups()]}

    def api_group(self, group):
        with self.lock:
            vs = self.versions.get(group)
            if not group or not vs:
                return None
            return dict({"kind": "APIGroup", "apiVersion": "v1"}, **self._group_entry(group, vs))

    def resource_list(self, group, version):
        if not self.has_group_version(group, version):
            return None
        resources = []
        for r in self.resources_in(group, version):
            resources.extend(r.classic())
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": resources}

    def aggregated(self, legacy, api_version):
        items = []
        groups = [("", ["v1"])] if legacy else self.groups()
        for g, versions in groups:
            vlist = [{"version": v,
                      "resources": [r.aggregated() for r in self.resources_in(g, v)],
                      "freshness": "Current"} for v in versions]
            items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": vlist})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version,
                "metadata": {}, "items": items}
