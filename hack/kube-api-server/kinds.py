"""Per-kind behaviour of the built-in types: defaulting (as the real API server's defaulters and
admission plugins do), validation and immutable fields, and conversion between the versions of a
resource that share storage (autoscaling v1/v2, core and events.k8s.io Events)."""
import base64
import binascii
import datetime
import re

import batch_validation
import rbac_validation
from errors import (bad_request, field_forbidden, field_invalid, field_required,
                    field_unsupported)
from patch import deepcopy

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
               "start with an alphabetic character, and end with an alphanumeric character (e.g. "
               "'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")

LABEL_NAMES = {"namespaces"}
DNS1035_NAMES = {"services"}
PATH_SEGMENT_NAMES = {"roles", "clusterroles", "rolebindings", "clusterrolebindings", "events",
                      "nodes"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController",
             "Job", "CronJob", "PodTemplate"}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- names and metadata -------------------------------------------------------------------------

def name_errors(resource, name, field="metadata.name"):
    if resource in PATH_SEGMENT_NAMES:
        if name in (".", "..") or "/" in name or "%" in name:
            return [field_invalid(field, name, "may not contain '/' or '%'")]
        return []
    if resource in LABEL_NAMES:
        pattern, msg, limit = LABEL, LABEL_MSG, 63
    elif resource in DNS1035_NAMES:
        pattern, msg, limit = DNS1035, DNS1035_MSG, 63
    else:
        pattern, msg, limit = SUBDOMAIN, SUBDOMAIN_MSG, 253
    out = []
    if len(name) > limit:
        out.append(field_invalid(field, name, f"must be no more than {limit} characters"))
    if not pattern.fullmatch(name):
        out.append(field_invalid(field, name, msg))
    return out


def _qualified_name_errors(field, key):
    prefix, _, name = key.rpartition("/")
    out = []
    if "/" in key and (not prefix or len(prefix) > 253 or not SUBDOMAIN.fullmatch(prefix)):
        out.append(field_invalid(field, key, "prefix part " + SUBDOMAIN_MSG))
    if not name or len(name) > 63 or not QUALIFIED.fullmatch(name):
        out.append(field_invalid(field, key, "name part must consist of alphanumeric characters, "
                                 "'-', '_' or '.', and must start and end with an alphanumeric "
                                 "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                                 "used for validation is "
                                 "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))
    return out


def meta_errors(meta):
    out = []
    for k, v in (meta.get("labels") or {}).items():
        out += _qualified_name_errors("metadata.labels", k)
        if not isinstance(v, str) or len(v) > 63 or not LABEL_VALUE.fullmatch(v):
            out.append(field_invalid("metadata.labels", v, "a valid label must be an empty "
                                     "string or consist of alphanumeric characters, '-', '_' or "
                                     "'.', and must start and end with an alphanumeric character "
                                     "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
                                     "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                                     "[A-Za-z0-9])?')"))
    for k, v in (meta.get("annotations") or {}).items():
        out += _qualified_name_errors("metadata.annotations", k.lower())
        if not isinstance(v, str):
            raise bad_request("json: cannot unmarshal value into Go struct field "
                              "ObjectMeta.metadata.annotations of type string")
    return out


# -- defaulting ---------------------------------------------------------------------------------

def _setdefault(d, key, value):
    if d.get(key) is None:
        d[key] = value
    return d[key]


def default_pod_spec(spec, template=True):
    _setdefault(spec, "restartPolicy", "Always")
    _setdefault(spec, "terminationGracePeriodSeconds", 30)
    _setdefault(spec, "dnsPolicy", "ClusterFirst")
    _setdefault(spec, "securityContext", {})
    _setdefault(spec, "schedulerName", "default-scheduler")
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or []:
            if not isinstance(c, dict):
                continue
            _setdefault(c, "resources", {})
            _setdefault(c, "terminationMessagePath", "/dev/termination-log")
            _setdefault(c, "terminationMessagePolicy", "File")
            image = c.get("image") or ""
            tag = image.rsplit("/", 1)[-1]
            latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
            _setdefault(c, "imagePullPolicy", "Always" if latest else "IfNotPresent")
            for p in c.get("ports") or []:
                _setdefault(p, "protocol", "TCP")
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("fieldRef")
                if ref:
                    _setdefault(ref, "apiVersion", "v1")
    for v in spec.get("volumes") or []:
        for src in ("configMap", "secret"):
            if isinstance(v.get(src), dict):
                _setdefault(v[src], "defaultMode", 420)
        if isinstance(v.get("hostPath"), dict):
            _setdefault(v["hostPath"], "type", "")
        if isinstance(v.get("downwardAPI"), dict):
            _setdefault(v["downwardAPI"], "defaultMode", 420)
        if isinstance(v.get("projected"), dict):
            _setdefault(v["projected"], "defaultMode", 420)
    if not template:
        _setdefault(spec, "enableServiceLinks", True)
        _setdefault(spec, "preemptionPolicy", "PreemptLowerPriority")
        _setdefault(spec, "priority", 0)
        if spec.get("serviceAccountName") is None:
            spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
        _setdefault(spec, "serviceAccount", spec["serviceAccountName"])


def _template(spec):
    t = spec.get("template")
    if isinstance(t, dict):
        t.setdefault("metadata", {})
        if isinstance(t.get("spec"), dict):
            default_pod_spec(t["spec"])
        t["metadata"].setdefault("creationTimestamp", None)
    return t


def _pvc_template(t):
    t.setdefault("apiVersion", "v1")
    t.setdefault("kind", "PersistentVolumeClaim")
    t.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    spec = t.setdefault("spec", {})
    _setdefault(spec, "volumeMode", "Filesystem")
    t.setdefault("status", {"phase": "Pending"})


def default(kind, obj, ctx):
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else None
    if kind == "Pod" and spec is not None:
        default_pod_spec(spec, template=False)
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController") and spec:
        _setdefault(spec, "replicas", 1)
        t = _template(spec)
        if kind == "ReplicationController" and t and not spec.get("selector"):
            spec["selector"] = dict((t.get("metadata") or {}).get("labels") or {})
        if kind == "Deployment":
            _setdefault(spec, "revisionHistoryLimit", 10)
            _setdefault(spec, "progressDeadlineSeconds", 600)
            strategy = _setdefault(spec, "strategy", {})
            _setdefault(strategy, "type", "RollingUpdate")
            if strategy["type"] == "RollingUpdate":
                ru = _setdefault(strategy, "rollingUpdate", {})
                _setdefault(ru, "maxUnavailable", "25%")
                _setdefault(ru, "maxSurge", "25%")
        if kind == "StatefulSet":
            _setdefault(spec, "podManagementPolicy", "OrderedReady")
            us = _setdefault(spec, "updateStrategy", {})
            _setdefault(us, "type", "RollingUpdate")
            if us["type"] == "RollingUpdate":
                _setdefault(_setdefault(us, "rollingUpdate", {}), "partition", 0)
            _setdefault(spec, "revisionHistoryLimit", 10)
            pol = _setdefault(spec, "persistentVolumeClaimRetentionPolicy", {})
            _setdefault(pol, "whenDeleted", "Retain")
            _setdefault(pol, "whenScaled", "Retain")
            for t in spec.get("volumeClaimTemplates") or []:
                _pvc_template(t)
    elif kind == "DaemonSet" and spec:
        _template(spec)
        us = _setdefault(spec, "updateStrategy", {})
        _setdefault(us, "type", "RollingUpdate")
        if us["type"] == "RollingUpdate":
            ru = _setdefault(us, "rollingUpdate", {})
            _setdefault(ru, "maxUnavailable", 1)
            _setdefault(ru, "maxSurge", 0)
        _setdefault(spec, "revisionHistoryLimit", 10)
    elif kind == "Job" and spec:
        user_labels = dict(((spec.get("template") or {}).get("metadata") or {}).get("labels")
                           or {})
        default_job(spec, obj)
        if not obj["metadata"].get("labels"):
            # SetDefaults_Job copies the template's labels to a Job without labels: the user's
            # when it is created, the generated ones too when it is read back.
            t_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
            if user_labels or t_labels:
                obj["metadata"]["labels"] = dict(user_labels or t_labels)
    elif kind == "CronJob" and spec:
        _setdefault(spec, "concurrencyPolicy", "Allow")
        _setdefault(spec, "suspend", False)
        _setdefault(spec, "successfulJobsHistoryLimit", 3)
        _setdefault(spec, "failedJobsHistoryLimit", 1)
        jt = _setdefault(spec, "jobTemplate", {})
        jt.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        if isinstance(jt.get("spec"), dict):
            default_job(jt["spec"], None)
    elif kind == "PodTemplate":
        _template(obj)
    elif kind == "Service" and spec is not None:
        _setdefault(spec, "type", "ClusterIP")
        if spec["type"] != "ExternalName":
            _setdefault(spec, "sessionAffinity", "None")
            _setdefault(spec, "internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            _setdefault(spec, "externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            _setdefault(spec, "allocateLoadBalancerNodePorts", True)
        for p in spec.get("ports") or []:
            _setdefault(p, "protocol", "TCP")
            if spec["type"] != "ExternalName" and p.get("targetPort") is None:
                p["targetPort"] = p.get("port")
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
    elif kind == "PersistentVolumeClaim" and spec is not None:
        _setdefault(spec, "volumeMode", "Filesystem")
        if "storageClassName" not in spec and ctx.default_storage_class():
            spec["storageClassName"] = ctx.default_storage_class()
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        _add_finalizer(obj, "kubernetes.io/pvc-protection", ctx)
    elif kind == "PersistentVolume" and spec is not None:
        _setdefault(spec, "persistentVolumeReclaimPolicy", "Retain")
        _setdefault(spec, "volumeMode", "Filesystem")
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        _add_finalizer(obj, "kubernetes.io/pv-protection", ctx)
    elif kind == "Secret":
        _setdefault(obj, "type", "Opaque")
        _canonical_base64(obj, "data")
        string_data = obj.pop("stringData", None)
        if string_data:
            data = obj.setdefault("data", {}) or {}
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
    elif kind == "ConfigMap":
        _canonical_base64(obj, "binaryData")
    elif kind == "Namespace":
        obj["metadata"].setdefault("labels", {})
        obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = obj["metadata"].get("name")
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif kind == "NetworkPolicy" and spec is not None:
        if not spec.get("policyTypes"):
            spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    elif kind == "StorageClass":
        _setdefault(obj, "reclaimPolicy", "Delete")
        _setdefault(obj, "volumeBindingMode", "Immediate")
    elif kind == "Ingress":
        obj.setdefault("status", {}).setdefault("loadBalancer", {})


def _canonical_base64(obj, field):
    """[]byte fields are decoded by Go's encoding/base64, which skips '\\r' and '\\n' (kustomize
    folds a long Secret value over lines), and read back in canonical form. Values that do not
    decode are left for validate() to refuse."""
    for k, v in (obj.get(field) or {}).items():
        if isinstance(v, str) and ("\n" in v or "\r" in v):
            try:
                raw = base64.b64decode(v.replace("\n", "").replace("\r", ""), validate=True)
            except (binascii.Error, ValueError):
                continue
            obj[field][k] = base64.b64encode(raw).decode()


def _add_finalizer(obj, name, ctx):
    if ctx.controllers_on and obj["metadata"].get("deletionTimestamp") is None:
        fins = obj["metadata"].setdefault("finalizers", [])
        if name not in fins:
            fins.append(name)


def default_job(spec, job):
    _setdefault(spec, "parallelism", 1)
    _setdefault(spec, "completions", 1)
    _setdefault(spec, "backoffLimit", 6)
    _setdefault(spec, "completionMode", "NonIndexed")
    _setdefault(spec, "suspend", False)
    _setdefault(spec, "podReplacementPolicy", "TerminatingOrFailed")
    for rule in (spec.get("podFailurePolicy") or {}).get("rules") or []:
        for pattern in (rule or {}).get("onPodConditions") or []:
            _setdefault(pattern, "status", "True")  # SetDefaults_PodFailurePolicy...Pattern
    t = spec.get("template")
    if isinstance(t, dict):
        t.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        if isinstance(t.get("spec"), dict):
            default_pod_spec(t["spec"])
            t["spec"].setdefault("restartPolicy", "Never")
    if job is not None and not spec.get("manualSelector") and isinstance(t, dict):
        # generateSelector (pkg/registry/batch/job/strategy.go): labels the user already set
        # are kept (validation then refuses wrong values); on create, the selector gets the
        # controller-uid key whatever else it holds.
        uid = job["metadata"].get("uid", "")
        labels = t["metadata"].setdefault("labels", {})
        name = job["metadata"].get("name", "")
        for k, v in (("batch.kubernetes.io/controller-uid", uid),
                     ("batch.kubernetes.io/job-name", name), ("controller-uid", uid),
                     ("job-name", name)):
            labels.setdefault(k, v)
        creating = job["metadata"].get("resourceVersion") is None
        if not spec.get("selector") or (creating and isinstance(spec["selector"], dict)):
            sel = spec.setdefault("selector", {}) or {}
            spec["selector"] = sel
            match = sel.setdefault("matchLabels", {})
            match.setdefault("batch.kubernetes.io/controller-uid", uid)


def _job_errors(job, old):
    """validateGeneratedSelector and ValidateJobSpec's selector checks
    (pkg/apis/batch/validation/validation.go)."""
    spec = job.get("spec") if isinstance(job.get("spec"), dict) else {}
    sel = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    errs = []
    if sel and not spec.get("manualSelector"):
        uid, name = job["metadata"].get("uid", ""), job["metadata"].get("name", "")
        want = [("controller-uid", uid), ("job-name", name)]
        old_labels = (((old or {}).get("spec") or {}).get("template") or {}).get(
            "metadata", {}).get("labels") or {}
        if old is None or ("batch.kubernetes.io/controller-uid" in old_labels and
                           "batch.kubernetes.io/job-name" in old_labels):
            want += [("batch.kubernetes.io/controller-uid", uid),
                     ("batch.kubernetes.io/job-name", name)]
        for key, value in want:
            path = f"spec.template.metadata.labels[{key}]"
            if key not in labels:
                errs.append(field_required(path, value))
            elif labels[key] != value:
                errs.append(field_invalid(path, labels, f"must be '{value}'"))
        if not _selector_matches(sel, dict(want)):
            errs.append(field_invalid("spec.selector", sel, "`selector` not auto-generated"))
    if not sel:
        errs.append(field_required("spec.selector"))
    elif not _selector_matches(sel, labels):
        errs.append(field_invalid("spec.template.metadata.labels", labels,
                                  "`selector` does not match template `labels`"))
    return errs


# -- validation ---------------------------------------------------------------------------------

def _selector_matches(sel, labels):
    from labelsel import match_labels, selector_from_object
    return match_labels(selector_from_object(sel), labels or {})


def validate(res, obj, old):
    """field errors for the object (and for the update from old)."""
    kind = res.kind
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    errs = []
    if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        sel = spec.get("selector")
        if not sel:
            errs.append(field_required("spec.selector"))
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if sel and not _selector_matches(sel, labels):
            errs.append(field_invalid("spec.template.metadata.labels", labels,
                                      "`selector` does not match template `labels`"))
        if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
            errs.append(field_required("spec.template.spec.containers"))
        if old is not None and sel != (old.get("spec") or {}).get("selector"):
            errs.append(field_invalid("spec.selector", sel, "field is immutable"))
    if kind == "StatefulSet" and old is not None:
        allowed = {"replicas", "ordinals", "template", "updateStrategy", "minReadySeconds",
                   "persistentVolumeClaimRetentionPolicy"}
        a = {k: v for k, v in spec.items() if k not in allowed}
        b = {k: v for k, v in (old.get("spec") or {}).items() if k not in allowed}
        if a != b:
            errs.append(field_forbidden("spec", "updates to statefulset spec for fields other "
                                        "than 'replicas', 'ordinals', 'template', "
                                        "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
                                        "and 'minReadySeconds' are forbidden"))
    if kind == "Pod":
        if not spec.get("containers"):
            errs.append(field_required("spec.containers"))
        for i, c in enumerate(spec.get("containers") or []):
            if not c.get("name"):
                errs.append(field_required(f"spec.containers[{i}].name"))
            if not c.get("image"):
                errs.append(field_required(f"spec.containers[{i}].image"))
    if kind in ("ConfigMap", "Secret"):
        for field in ("data", "binaryData") if kind == "ConfigMap" else ("data",):
            for k, v in (obj.get(field) or {}).items():
                if not CONFIG_KEY.fullmatch(k):
                    errs.append(field_invalid(f"{field}[{k}]", k, "a valid config key must "
                                              "consist of alphanumeric characters, '-', '_' or "
                                              "'.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                                              "'key-name', regex used for validation is "
                                              "'[-._a-zA-Z0-9]+')"))
                if kind == "Secret" or field == "binaryData":
                    try:
                        base64.b64decode(v or "", validate=True)
                    except (binascii.Error, ValueError, TypeError):
                        raise bad_request(f"illegal base64 data in {field}[{k}]") from None
        if old is not None and old.get("immutable"):
            for field in ("data", "binaryData", "stringData"):
                if obj.get(field) != old.get(field):
                    errs.append(field_forbidden(field, "field is immutable when `immutable` "
                                                "is set"))
            if not obj.get("immutable"):
                errs.append(field_forbidden("immutable", "field is immutable when `immutable` "
                                            "is set"))
        if kind == "Secret" and old is not None and obj.get("type") != old.get("type"):
            errs.append(field_invalid("type", obj.get("type"), "field is immutable"))
    if kind == "PersistentVolumeClaim":
        if not spec.get("accessModes") and old is None:
            errs.append(field_required("spec.accessModes", "at least 1 access mode is required"))
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage") \
                and not spec.get("volumeName"):
            errs.append(field_required("spec.resources[storage]"))
        if old is not None:
            a = {k: v for k, v in spec.items() if k not in ("resources", "volumeName",
                                                            "volumeAttributesClassName")}
            b = {k: v for k, v in (old.get("spec") or {}).items()
                 if k not in ("resources", "volumeName", "volumeAttributesClassName")}
            if a != b or (old["spec"].get("volumeName") and
                          spec.get("volumeName") != old["spec"].get("volumeName")):
                errs.append(field_forbidden("spec", "spec is immutable after creation except "
                                            "resources.requests and volumeAttributesClassName "
                                            "for bound claims"))
    if kind == "Job":
        errs += _job_errors(obj, old)
    if kind == "Job" and old is not None:
        for f in ("selector", "template", "completions"):
            if f == "template" and spec.get("suspend"):
                continue
            if spec.get(f) != (old.get("spec") or {}).get(f):
                errs.append(field_invalid(f"spec.{f}", spec.get(f), "field is immutable"))
    if kind == "Service":
        from services import validate_service
        errs += validate_service(obj, old)
    if kind == "Ingress":
        for i, rule in enumerate(spec.get("rules") or []):
            for j, p in enumerate(((rule.get("http") or {}).get("paths")) or []):
                if not p.get("pathType"):
                    errs.append(field_required(f"spec.rules[{i}].http.paths[{j}].pathType",
                                               "pathType must be specified"))
    if kind == "StorageClass" and not obj.get("provisioner"):
        errs.append(field_required("provisioner"))
    if kind == "StorageClass" and old is not None:
        for f in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
            if obj.get(f) != old.get(f):
                errs.append(field_forbidden(f, "updates to " + f + " are forbidden."))
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = obj.get("roleRef") or {}
        if not ref.get("name"):
            errs.append(field_required("roleRef.name"))
        if old is not None and ref != old.get("roleRef"):
            errs.append(field_invalid("roleRef", ref, "cannot change roleRef"))
    if kind == "PersistentVolume":
        if not (spec.get("capacity") or {}).get("storage"):
            errs.append(field_required("spec.capacity"))
        policy = spec.get("persistentVolumeReclaimPolicy")
        if policy not in ("Retain", "Delete", "Recycle"):
            errs.append(field_unsupported("spec.persistentVolumeReclaimPolicy", policy,
                                          ["Delete", "Recycle", "Retain"]))
    errs += batch_validation.errors(kind, obj) + rbac_validation.errors(kind, obj)
    return errs


# -- versions sharing storage -------------------------------------------------------------------

def to_storage(res, obj):
    """Converts an object of res's version into the storage version."""
    if res.group == "autoscaling" and res.version == "v1":
        return hpa_v1_to_v2(obj)
    if res.group == "events.k8s.io":
        return event_new_to_core(obj)
    if not res.builtin and res.version != res.storage_version:
        obj = dict(obj, apiVersion=f"{res.group}/{res.storage_version}")
    return obj


def from_storage(res, obj):
    if res.group == "autoscaling" and res.version == "v1":
        return hpa_v2_to_v1(obj)
    if res.group == "events.k8s.io":
        return event_core_to_new(obj)
    if obj.get("apiVersion") != res.api_version:
        obj = dict(obj, apiVersion=res.api_version)
    return obj


def hpa_v1_to_v2(o):
    o = deepcopy(o)
    o["apiVersion"] = "autoscaling/v2"
    spec = o.get("spec") or {}
    cpu = spec.pop("targetCPUUtilizationPercentage", None)
    if cpu is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": cpu}}}]
    status = o.get("status") or {}
    cur = status.pop("currentCPUUtilizationPercentage", None)
    if cur is not None:
        status["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
            "averageUtilization": cur}}}]
    return o


def hpa_v2_to_v1(o):
    o = deepcopy(o)
    o["apiVersion"] = "autoscaling/v1"
    spec = o.get("spec") or {}
    for m in spec.pop("metrics", None) or []:
        r = m.get("resource") or {}
        if m.get("type") == "Resource" and r.get("name") == "cpu" and \
                (r.get("target") or {}).get("type") == "Utilization":
            spec["targetCPUUtilizationPercentage"] = r["target"].get("averageUtilization")
    spec.pop("behavior", None)
    status = o.get("status")
    if isinstance(status, dict):
        for m in status.pop("currentMetrics", None) or []:
            r = m.get("resource") or {}
            if r.get("name") == "cpu" and "averageUtilization" in (r.get("current") or {}):
                status["currentCPUUtilizationPercentage"] = r["current"]["averageUtilization"]
        status.pop("conditions", None)
    return o


_EVENT_MAP = [("regarding", "involvedObject"), ("note", "message"),
              ("deprecatedSource", "source"), ("deprecatedFirstTimestamp", "firstTimestamp"),
              ("deprecatedLastTimestamp", "lastTimestamp"), ("deprecatedCount", "count"),
              ("reportingController", "reportingComponent")]
_EVENT_SAME = ["metadata", "eventTime", "series", "reportingInstance", "action", "reason",
               "related", "type"]


def event_core_to_new(o):
    out = {"kind": "Event", "apiVersion": "events.k8s.io/v1"}
    for k in ("metadata", "eventTime", "series", "reportingController", "reportingInstance",
              "action", "reason", "regarding", "related", "note", "type", "deprecatedSource",
              "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"):
        src = dict((a, b) for a, b in _EVENT_MAP).get(k, k)
        if o.get(src) is not None:
            out[k] = deepcopy(o[src])
    out.setdefault("eventTime", None)
    return out


def event_new_to_core(o):
    out = {"kind": "Event", "apiVersion": "v1"}
    for new, core in _EVENT_MAP:
        if o.get(new) is not None:
            out[core] = deepcopy(o[new])
    for k in _EVENT_SAME:
        if o.get(k) is not None:
            out[k] = deepcopy(o[k])
    out.setdefault("involvedObject", {})
    out.setdefault("source", {})
    return out
