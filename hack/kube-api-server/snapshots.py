"""CSI volume snapshots: the snapshot.storage.k8s.io/v1 CRDs as the external-snapshotter ships
them (client/config/crd: OpenAPI schemas with their enums, required fields and
x-kubernetes-validations rules; descriptions left out), and a snapshot controller that the tests
drive through the admin API, doing what the external-snapshotter's snapshot-controller and
csi-snapshotter sidecar do once the CSI driver answers: a dynamic snapshot gets its bound
VolumeSnapshotContent `snapcontent-<snapshot uid>` (driver and deletionPolicy of its class; the
default class of the PVC's driver when none is named, written back into the snapshot) and both
statuses (readyToUse, creationTime, restoreSize, snapshotHandle); a failed one gets
status.error. A pre-provisioned pair (content with source.snapshotHandle naming the snapshot,
snapshot with source.volumeSnapshotContentName) is bound and made ready the same way. The
"physical" snapshots of the storage system are a registry here: deleting a content whose
deletionPolicy is Delete (or a snapshot bound to one) deletes its physical snapshot; Retain
keeps it."""
import time
import uuid

from errors import bad_request, field_invalid, field_required, not_found
from kinds import now
from patch import deepcopy

GROUP = "snapshot.storage.k8s.io"
DEFAULT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
_STR = {"type": "string"}
_POLICY = {"type": "string", "enum": ["Delete", "Retain"]}
_ERROR = {"type": "object", "properties": {"message": _STR,
                                           "time": {"type": "string", "format": "date-time"}}}
_QUANTITY = {"type": "string", "x-kubernetes-int-or-string": True,
             "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                        r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"}


def _immutable(name):
    return [{"rule": "self == oldSelf", "message": f"{name} is immutable"}]


def _once_set(a):
    return {"rule": f"!has(oldSelf.{a}) || has(self.{a})", "message": f"{a} is required once set"}


def _exactly_one(a, b):
    return {"rule": f"(has(self.{a}) && !has(self.{b})) || (!has(self.{a}) && has(self.{b}))",
            "message": f"exactly one of {a} and {b} must be set"}


_SNAPSHOT = {"type": "object", "required": ["spec"], "properties": {
    "apiVersion": _STR, "kind": _STR, "metadata": {"type": "object"},
    "spec": {"type": "object", "required": ["source"], "properties": {
        "source": {"type": "object", "properties": {
            "persistentVolumeClaimName": dict(_STR, **{"x-kubernetes-validations":
                                                      _immutable("persistentVolumeClaimName")}),
            "volumeSnapshotContentName": dict(_STR, **{"x-kubernetes-validations":
                                                      _immutable("volumeSnapshotContentName")})},
            "x-kubernetes-validations": [
                _once_set("persistentVolumeClaimName"), _once_set("volumeSnapshotContentName"),
                _exactly_one("volumeSnapshotContentName", "persistentVolumeClaimName")]},
        "volumeSnapshotClassName": dict(_STR, **{"x-kubernetes-validations": [
            {"rule": "size(self) > 0",
             "message": "volumeSnapshotClassName must not be the empty string when set"}]})}},
    "status": {"type": "object", "properties": {
        "boundVolumeSnapshotContentName": _STR,
        "creationTime": {"type": "string", "format": "date-time"},
        "error": _ERROR, "readyToUse": {"type": "boolean"}, "restoreSize": _QUANTITY,
        "volumeGroupSnapshotName": _STR}}}}

_REF = {"type": "object", "x-kubernetes-map-type": "atomic",
        "properties": {k: _STR for k in ("apiVersion", "fieldPath", "kind", "name", "namespace",
                                         "resourceVersion", "uid")},
        "x-kubernetes-validations": [{
            "rule": "has(self.name) && has(self.__namespace__)",
            "message": "both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace "
                       "must be set"}]}

_CONTENT = {"type": "object", "required": ["spec"], "properties": {
    "apiVersion": _STR, "kind": _STR, "metadata": {"type": "object"},
    "spec": {"type": "object",
             "required": ["deletionPolicy", "driver", "source", "volumeSnapshotRef"],
             "x-kubernetes-validations": [_once_set("sourceVolumeMode")],
             "properties": {
                 "deletionPolicy": _POLICY, "driver": _STR,
                 "source": {"type": "object", "properties": {
                     "snapshotHandle": dict(_STR, **{"x-kubernetes-validations":
                                                    _immutable("snapshotHandle")}),
                     "volumeHandle": dict(_STR, **{"x-kubernetes-validations":
                                                  _immutable("volumeHandle")})},
                     "x-kubernetes-validations": [
                         _once_set("volumeHandle"), _once_set("snapshotHandle"),
                         _exactly_one("volumeHandle", "snapshotHandle")]},
                 "sourceVolumeMode": dict(_STR, **{"x-kubernetes-validations":
                                                  _immutable("sourceVolumeMode")}),
                 "volumeSnapshotClassName": _STR, "volumeSnapshotRef": _REF}},
    "status": {"type": "object", "properties": {
        "creationTime": {"type": "integer", "format": "int64"}, "error": _ERROR,
        "readyToUse": {"type": "boolean"},
        "restoreSize": {"type": "integer", "format": "int64", "minimum": 0},
        "snapshotHandle": _STR, "volumeGroupSnapshotHandle": _STR}}}}

_CLASS = {"type": "object", "required": ["deletionPolicy", "driver"], "properties": {
    "apiVersion": _STR, "kind": _STR, "metadata": {"type": "object"},
    "deletionPolicy": _POLICY, "driver": _STR,
    "parameters": {"type": "object", "additionalProperties": _STR}}}


def _crd(plural, kind, scope, short, schema, status, api_approved):
    version = {"name": "v1", "served": True, "storage": True,
               "schema": {"openAPIV3Schema": schema}}
    if status:
        version["subresources"] = {"status": {}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{GROUP}",
                         "annotations": {"api-approved.kubernetes.io":
                                         "https://github.com/kubernetes-csi/external-snapshotter/"
                                         f"pull/{api_approved}"}},
            "spec": {"group": GROUP,
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                               "listKind": kind + "List", "shortNames": short},
                     "scope": scope, "versions": [version]}}


def crds():
    return [_crd("volumesnapshotclasses", "VolumeSnapshotClass", "Cluster",
                 ["vsclass", "vsclasses"], _CLASS, False, 814),
            _crd("volumesnapshotcontents", "VolumeSnapshotContent", "Cluster", ["vsc", "vscs"],
                 _CONTENT, True, 955),
            _crd("volumesnapshots", "VolumeSnapshot", "Namespaced", ["vs"], _SNAPSHOT, True,
                 814)]


# -- the controller --------------------------------------------------------------------------

def _get(api, plural, ns, name):
    return api.store.get((GROUP, plural), ns, name)


def _bytes(q):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6,
             "G": 10**9, "T": 10**12}
    q = str(q or "0")
    for u, f in units.items():
        if q.endswith(u):
            return int(float(q[:-len(u)]) * f)
    return int(float(q))


def _fail(api, vs, message):
    err = {"message": message, "time": now()}
    st = dict((vs.get("status") or {}), error=err, readyToUse=False)
    api.put_status(GROUP, "volumesnapshots", vs, st, "snapshot-controller")
    api.emit(vs, "SnapshotCreationFailed", message, "snapshot-controller", "Warning")
    return {"error": message}


def _source_volume(api, vs):
    """(driver, volumeHandle, volumeMode, capacity) of the snapshot's PVC, or an error text."""
    ns = vs["metadata"]["namespace"]
    claim = vs["spec"]["source"]["persistentVolumeClaimName"]
    pvc = api.store.get(("", "persistentvolumeclaims"), ns, claim)
    if pvc is None:
        return None, f'failed to get input parameters to create snapshot {vs["metadata"]["name"]}'\
                     f': "persistentvolumeclaim \\"{claim}\\" not found"'
    vol = (pvc.get("spec") or {}).get("volumeName")
    pv = api.store.get(("", "persistentvolumes"), "", vol) if vol else None
    csi = ((pv or {}).get("spec") or {}).get("csi")
    if not csi:
        return None, f"the PVC {claim} is not yet bound to a PV, will not attempt to take a " \
                     f"snapshot" if pv is None else \
            f"snapshot controller failed to update {ns}/{vs['metadata']['name']}: the PV " \
            f"{vol} is not a CSI volume"
    size = ((pv["spec"].get("capacity") or {}).get("storage")) or "1Gi"
    return (csi["driver"], csi["volumeHandle"], pv["spec"].get("volumeMode", "Filesystem"),
            size), None


def _class_for(api, vs, driver):
    """The snapshot's class object, or an error text (defaulting as SetDefaultSnapshotClass)."""
    name = vs["spec"].get("volumeSnapshotClassName")
    if name:
        cls = _get(api, "volumesnapshotclasses", "", name)
        if cls is None:
            return None, f'failed to get snapshot class with error volumesnapshotclass.' \
                         f'snapshot.storage.k8s.io "{name}" not found'
        return cls, None
    defaults = [c for c in api.store.all((GROUP, "volumesnapshotclasses"))
                if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) ==
                "true" and c.get("driver") == driver]
    if len(defaults) != 1:
        why = "cannot find default snapshot class" if not defaults else \
            f"{len(defaults)} default snapshot classes were found"
        return None, f"Failed to set default snapshot class with error {why}"

    def set_class(new):
        new["spec"]["volumeSnapshotClassName"] = defaults[0]["metadata"]["name"]
    api.put_main(GROUP, "volumesnapshots", vs, set_class, "snapshot-controller")
    return defaults[0], None


def _ref(vs):
    m = vs["metadata"]
    return {"apiVersion": f"{GROUP}/v1", "kind": "VolumeSnapshot", "name": m["name"],
            "namespace": m["namespace"], "uid": m["uid"],
            "resourceVersion": m.get("resourceVersion")}


def _dynamic(api, vs, opts):
    vol, why = _source_volume(api, vs)
    if why:
        return _fail(api, vs, why)
    driver, handle, mode, size = vol
    cls, why = _class_for(api, vs, driver)
    if why:
        return _fail(api, vs, why)
    if cls.get("driver") != driver:
        return _fail(api, vs, f"failed to take snapshot of the volume {handle}: the driver of "
                              f"snapshot class {cls['metadata']['name']} is {cls.get('driver')}, "
                              f"not {driver}")
    vs = api.current(GROUP, "volumesnapshots", vs)
    name = f"snapcontent-{vs['metadata']['uid']}"
    content = _get(api, "volumesnapshotcontents", "", name)
    if content is None:
        content = {"apiVersion": f"{GROUP}/v1", "kind": "VolumeSnapshotContent",
                   "metadata": {"name": name},
                   "spec": {"volumeSnapshotRef": _ref(vs), "source": {"volumeHandle": handle},
                            "driver": driver, "deletionPolicy": cls["deletionPolicy"],
                            "volumeSnapshotClassName": cls["metadata"]["name"],
                            "sourceVolumeMode": mode}}
        content = api.commit(api.res(GROUP, "volumesnapshotcontents"), None, content,
                             "snapshot-controller")[0]
    snap = opts.get("snapshotHandle") or f"snap-{uuid.uuid4()}"
    api.physical[snap] = {"driver": driver, "volumeHandle": handle, "deleted": False}
    return _ready(api, vs, content, snap, _bytes(opts.get("restoreSize") or size))


def _ready(api, vs, content, handle, size):
    created = time.time_ns()
    api.put_status(GROUP, "volumesnapshotcontents", content,
                   {"snapshotHandle": handle, "creationTime": created, "restoreSize": size,
                    "readyToUse": True}, "csi-snapshotter")
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created // 10**9))
    api.put_status(GROUP, "volumesnapshots", vs,
                   {"boundVolumeSnapshotContentName": content["metadata"]["name"],
                    "creationTime": ts, "readyToUse": True, "restoreSize": str(size)},
                   "snapshot-controller")
    _retry_claims(api, vs)
    return {"content": content["metadata"]["name"], "snapshotHandle": handle}


def _pre_provisioned(api, vs):
    cname = vs["spec"]["source"]["volumeSnapshotContentName"]
    content = _get(api, "volumesnapshotcontents", "", cname)
    m = vs["metadata"]
    if content is None:
        return _fail(api, vs, f"VolumeSnapshotContent {cname} is missing")
    ref = content["spec"]["volumeSnapshotRef"]
    if ref.get("name") != m["name"] or ref.get("namespace") != m["namespace"] or \
            (ref.get("uid") and ref["uid"] != m["uid"]):
        return _fail(api, vs, f"Snapshot is bound to a VolumeSnapshotContent which is bound "
                              f"to other Snapshot")
    handle = content["spec"]["source"].get("snapshotHandle")
    phys = api.physical.get(handle)
    if handle is None or phys is None or phys["deleted"]:
        return _fail(api, vs, f"failed to list snapshot for content {cname}: snapshot "
                              f"{handle} not found by the CSI driver")

    def bind(new):
        new["spec"]["volumeSnapshotRef"] = _ref(vs)
    content = api.put_main(GROUP, "volumesnapshotcontents", content, bind, "snapshot-controller")
    size = (content.get("status") or {}).get("restoreSize") or phys.get("size") or 0
    return _ready(api, vs, content, handle, size)


def act(api, body):
    """Admin `{"snapshot": {...}}`: `action` ready|fail on one VolumeSnapshot (`namespace`,
    `name`; `message` for fail; `snapshotHandle`, `restoreSize` optional), or `auto`
    ready|fail|off for every VolumeSnapshot created from now on."""
    if not isinstance(body, dict):
        raise bad_request("snapshot must be a JSON object")
    with api.store.lock:
        if "auto" in body:
            if body["auto"] not in ("ready", "fail", "off"):
                raise bad_request("snapshot.auto must be ready, fail or off")
            api.snapshot_auto = (body["auto"], body.get("message") or "injected failure")
            return {"auto": body["auto"]}
        vs = _get(api, "volumesnapshots", body.get("namespace") or "", body.get("name") or "")
        if vs is None:
            raise not_found("volumesnapshots", GROUP, body.get("name") or "")
        if body.get("action") == "fail":
            return _fail(api, vs, body.get("message") or "injected failure")
        if body.get("action") != "ready":
            raise bad_request("snapshot.action must be ready or fail")
        if vs["spec"]["source"].get("volumeSnapshotContentName"):
            return _pre_provisioned(api, vs)
        return _dynamic(api, vs, body)


def physical_state(api):
    return {"physicalSnapshots": deepcopy(api.physical)}


def written(api, sres, old, new):
    """After a write: the standing `auto` mode acts on new snapshots."""
    mode, message = getattr(api, "snapshot_auto", ("off", ""))
    if sres.plural != "volumesnapshots" or old is not None or mode == "off":
        return
    if mode == "fail":
        _fail(api, new, message)
    elif new["spec"]["source"].get("volumeSnapshotContentName"):
        _pre_provisioned(api, new)
    else:
        _dynamic(api, new, {})


def deleted(api, sres, obj):
    """A content with deletionPolicy Delete takes its physical snapshot along; a snapshot bound
    to such a content takes the content along (as the controller and sidecar do)."""
    if sres.plural == "volumesnapshotcontents":
        handle = (obj.get("status") or {}).get("snapshotHandle") or \
            obj["spec"].get("source", {}).get("snapshotHandle")
        if obj["spec"].get("deletionPolicy") == "Delete" and handle in api.physical:
            api.physical[handle]["deleted"] = True
    elif sres.plural == "volumesnapshots":
        bound = (obj.get("status") or {}).get("boundVolumeSnapshotContentName")
        content = _get(api, "volumesnapshotcontents", "", bound) if bound else None
        ref = (content or {}).get("spec", {}).get("volumeSnapshotRef") or {}
        if content and ref.get("uid") == obj["metadata"]["uid"] and \
                content["spec"].get("deletionPolicy") == "Delete":
            api.finish_delete(api.res(GROUP, "volumesnapshotcontents"), content)


# -- PVCs made from snapshots ----------------------------------------------------------------

def pvc_data_source(pvc):
    """The API server's PVC dataSource rules (validateDataSource, and dataSourceRef defaulted
    from dataSource as EnforceDataSourceBackwardsCompatibility does); returns field errors."""
    spec = pvc.get("spec") or {}
    errs = []
    for field in ("dataSource", "dataSourceRef"):
        ds = spec.get(field)
        if ds is None:
            continue
        if not isinstance(ds, dict):
            errs.append(field_invalid(f"spec.{field}", ds, "must be an object"))
            continue
        if not ds.get("name"):
            errs.append(field_required(f"spec.{field}.name"))
        if not ds.get("kind"):
            errs.append(field_required(f"spec.{field}.kind"))
        elif not ds.get("apiGroup") and ds["kind"] != "PersistentVolumeClaim":
            errs.append(field_invalid(f"spec.{field}", ds["kind"], "must be 'PersistentVolumeClaim'"
                                      " when referencing the default apiGroup"))
    ds, ref = spec.get("dataSource"), spec.get("dataSourceRef")
    if not errs and ds is not None and ref is None:
        spec["dataSourceRef"] = deepcopy(ds)
    elif not errs and ds is not None and ref is not None and \
            {k: v for k, v in ref.items() if k != "namespace"} != ds:
        errs.append(field_invalid("spec.dataSource", ds, "must match dataSourceRef"))
    return errs


def provisioning_problem(api, pvc, sc):
    """What keeps the external-provisioner from provisioning a PVC from a VolumeSnapshot (it
    retries when the snapshot becomes ready), or None."""
    ds = (pvc.get("spec") or {}).get("dataSource") or {}
    if ds.get("kind") != "VolumeSnapshot" or ds.get("apiGroup") != GROUP:
        return None
    name, ns = ds.get("name"), pvc["metadata"].get("namespace")
    prefix = f"error getting handle for DataSource Type VolumeSnapshot by Name {name}"
    vs = _get(api, "volumesnapshots", ns, name)
    if vs is None:
        return f'{prefix}: error getting snapshot {name} from api server: ' \
               f'volumesnapshots.{GROUP} "{name}" not found'
    st = vs.get("status") or {}
    if not st.get("readyToUse") or not st.get("boundVolumeSnapshotContentName"):
        return f"{prefix}: snapshot {name} is not Ready"
    content = _get(api, "volumesnapshotcontents", "", st["boundVolumeSnapshotContentName"])
    if content is None or content["spec"].get("driver") != sc.get("provisioner"):
        return f"{prefix}: snapshot {name} was taken by another CSI driver than " \
               f"{sc.get('provisioner')}"
    want = _bytes(((pvc["spec"].get("resources") or {}).get("requests") or {}).get("storage"))
    size = _bytes(st.get("restoreSize") or 0)
    if want < size:
        return f"requested volume size {want} is less than the size {size} for the source " \
               f"snapshot {name}"
    return None


def _retry_claims(api, vs):
    """The provisioner retries the PVCs waiting for this snapshot."""
    ns, name = vs["metadata"]["namespace"], vs["metadata"]["name"]
    for pvc in api.store.all(("", "persistentvolumeclaims"), ns):
        ds = (pvc.get("spec") or {}).get("dataSource") or {}
        if ds.get("kind") == "VolumeSnapshot" and ds.get("name") == name and \
                (pvc.get("status") or {}).get("phase") == "Pending":
            api.bind_claim(pvc)
