"""ResourceQuota as the real API server and controller manager enforce it, for object counts.

Admission (the ResourceQuota validating plugin, plugin/pkg/admission/resourcequota): a create in
a namespace is checked against every ResourceQuota of the namespace whose status.hard names a
resource the new object uses. It runs after validation and before storage, so a create that is
then refused as AlreadyExists has been admitted and counted already. When the new usage passes
a hard limit the create is 403 Forbidden:

    configmaps "x" is forbidden: exceeded quota: q, requested: configmaps=1, used:
    configmaps=2, limited: configmaps=2

(prettyPrint: resource=value pairs sorted by name, joined with ","). Otherwise the admitted
usage is written to the quota's status.used at once, before the object is stored, and it is
not given back when the create then fails: only the resource quota controller recomputes the
usage, on a change of the quota's spec, when a counted object is deleted (replenishment) and
on its periodic resync (5 minutes by default; not emulated). A quota whose status the
controller has not written yet refuses what it would count ("status unknown for quota").

Counted: count/<resource>[.<group>] for every namespaced resource, the core names pods
(non-terminal), services, configmaps, secrets, persistentvolumeclaims, replicationcontrollers,
resourcequotas, services.nodeports, services.loadbalancers, and requests.storage (claims'
storage requests). Compute resources (cpu, memory, extended resources) are not counted: their
used value stays 0 and they refuse nothing."""
import re

from errors import forbidden

CORE_COUNTS = {"pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
               "replicationcontrollers", "resourcequotas"}
UNITS = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50,
         "Ei": 2 ** 60, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12,
         "P": 10 ** 15, "E": 10 ** 18, "m": 0.001}
QUOTAS = ("", "resourcequotas")


def parse(q):
    """A resource.Quantity as a number (0 for what cannot be read)."""
    m = re.fullmatch(r"\s*([0-9.]+)([A-Za-z]*)\s*", str(q if q is not None else "0"))
    if not m:
        return 0
    try:
        return float(m.group(1)) * UNITS.get(m.group(2), 1 if not m.group(2) else 0)
    except ValueError:
        return 0


def fmt(v):
    """A number as the quantity the controller writes: integers plainly, bytes in the largest
    binary unit that divides them."""
    v = int(v) if float(v).is_integer() else v
    if isinstance(v, int) and v >= 2 ** 10:
        for unit in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            if v % UNITS[unit] == 0:
                return f"{v // UNITS[unit]}{unit}"
    return str(v)


def _count_key(group, plural):
    return f"count/{plural}" + (f".{group}" if group else "")


def usage(skey, obj):
    """What one stored object uses, by quota resource name."""
    group, plural = skey
    out = {_count_key(group, plural): 1}
    if group:
        return out
    spec = obj.get("spec") or {}
    if plural == "pods":
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return {}
        out["pods"] = 1
    elif plural in CORE_COUNTS:
        out[plural] = 1
    if plural == "services":
        t = spec.get("type", "ClusterIP")
        if t in ("NodePort", "LoadBalancer"):
            out["services.nodeports"] = sum(1 for p in spec.get("ports") or []
                                            if p.get("nodePort") or t == "NodePort")
        if t == "LoadBalancer":
            out["services.loadbalancers"] = 1
    if plural == "persistentvolumeclaims":
        req = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
        out["requests.storage"] = parse(req)
    return out


def _quotas(api, ns):
    return api.store.all(QUOTAS, ns) if ns else []


def _pretty(d):
    return ",".join(f"{k}={fmt(d[k])}" for k in sorted(d))


def admit(api, res, skey, obj, dry_run):
    """The admission check of a create of `obj` (storage key `skey`) in its namespace: raises
    403 when a quota would be exceeded, else reserves the usage in the quotas' status."""
    ns = obj["metadata"].get("namespace") or ""
    quotas = _quotas(api, ns)
    if not quotas:
        return
    delta = {k: v for k, v in usage(skey, obj).items() if v}
    name = obj["metadata"].get("name") or ""
    reserved = []
    for q in quotas:
        status = q.get("status") or {}
        hard_spec = (q.get("spec") or {}).get("hard") or {}
        interesting = sorted(k for k in delta if k in hard_spec)
        if not interesting:
            continue
        if not status.get("hard"):
            raise forbidden(res.plural, res.group, name,
                            f"status unknown for quota: {q['metadata']['name']}, resources: "
                            f"{','.join(interesting)}")
        hard = {k: parse(v) for k, v in status["hard"].items()}
        used = {k: parse(v) for k, v in (status.get("used") or {}).items()}
        requested = {k: delta[k] for k in delta if k in hard}
        new = {k: used.get(k, 0) + v for k, v in requested.items()}
        exceeded = sorted(k for k, v in new.items() if v > hard[k])
        if exceeded:
            raise forbidden(res.plural, res.group, name,
                            f"exceeded quota: {q['metadata']['name']}, requested: "
                            f"{_pretty({k: requested[k] for k in exceeded})}, used: "
                            f"{_pretty({k: used.get(k, 0) for k in exceeded})}, limited: "
                            f"{_pretty({k: hard[k] for k in exceeded})}")
        used.update(new)
        reserved.append((q, {k: fmt(used.get(k, 0)) for k in hard}))
    if dry_run:
        return
    for q, used in reserved:
        status = dict(q.get("status") or {})
        status["used"] = used
        api.put_status("", "resourcequotas", q, status, "kube-apiserver")


def _actual(api, ns, names):
    """Usage of `names` in namespace `ns`, counted from the stored objects."""
    total = {k: 0 for k in names}
    keys = set()
    for k in names:
        if k.startswith("count/"):
            plural, _, group = k[len("count/"):].partition(".")
            keys.add((group, plural))
        elif k in CORE_COUNTS:
            keys.add(("", k))
        elif k.startswith("services."):
            keys.add(("", "services"))
        elif k == "requests.storage":
            keys.add(("", "persistentvolumeclaims"))
    for skey in keys:
        if api.registry.storage_resource(skey) is None:
            continue
        for obj in api.store.all(skey, ns):
            for k, v in usage(skey, obj).items():
                if k in total:
                    total[k] += v
    return total


def recalculate(api, ns, only=None):
    """The resource quota controller's sync of the quotas of `ns` (all, or the one named)."""
    for q in _quotas(api, ns):
        if only and q["metadata"]["name"] != only:
            continue
        hard = dict((q.get("spec") or {}).get("hard") or {})
        used = _actual(api, ns, list(hard))
        status = {"hard": hard, "used": {k: fmt(used[k]) for k in hard}}
        if q.get("status") != status:
            api.put_status("", "resourcequotas", q, status, "resourcequota-controller")


def quota_written(api, old, new):
    """A ResourceQuota was created or its spec changed: the controller computes its status."""
    if old is not None and (old.get("spec") or {}) == (new.get("spec") or {}) and \
            (new.get("status") or {}).get("hard"):
        return
    recalculate(api, new["metadata"].get("namespace") or "", new["metadata"]["name"])


def replenish(api, skey, obj):
    """A counted object was deleted: the controller recomputes its namespace's quotas."""
    ns = obj["metadata"].get("namespace") or ""
    nsobj = api.store.get(("", "namespaces"), "", ns) if ns else None
    if nsobj is None or nsobj["metadata"].get("deletionTimestamp"):
        return  # a namespace being deleted: its quotas go with it
    if skey != QUOTAS and _quotas(api, ns):
        recalculate(api, ns)
