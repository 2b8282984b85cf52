"""CustomResourceDefinitions: validation, defaulting and status (NamesAccepted, Established),
and for custom resources the structural-schema work the API server does: pruning unknown
fields, applying defaults, and validating types, required fields, enums and bounds."""
import re

from errors import field_invalid, field_required, field_unsupported, invalid
from kinds import now
from patch import deepcopy


def default_crd(crd):
    spec = crd.setdefault("spec", {})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    spec.setdefault("conversion", {"strategy": "None"})
    for v in spec.get("versions") or []:
        v.setdefault("served", True)
        v.setdefault("storage", False)


def validate_crd(crd, old):
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    name = crd["metadata"].get("name", "")
    errs = []
    group = spec.get("group") or ""
    if not group:
        errs.append(field_required("spec.group"))
    elif "." not in group:
        errs.append(field_invalid("spec.group", group, "should be a domain with at least one dot"))
    if not names.get("plural"):
        errs.append(field_required("spec.names.plural"))
    if not names.get("kind"):
        errs.append(field_required("spec.names.kind"))
    if names.get("plural") and group and name != f"{names['plural']}.{group}":
        errs.append(field_invalid("metadata.name", name,
                                  'must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errs.append(field_unsupported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        errs.append(field_invalid("spec.versions", versions, "must have exactly one version "
                                  "marked as storage version"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errs.append(field_invalid("spec.versions", versions, "must have exactly one version "
                                  "marked as storage version"))
    for i, v in enumerate(versions):
        if not (v.get("schema") or {}).get("openAPIV3Schema"):
            errs.append(field_required(f"spec.versions[{i}].schema.openAPIV3Schema",
                                       "schemas are required"))
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", v.get("name") or ""):
            errs.append(field_invalid(f"spec.versions[{i}].name", v.get("name"),
                                      "a DNS-1035 label must consist of lower case alphanumeric "
                                      "characters or '-'"))
    if old is not None:
        if group != (old.get("spec") or {}).get("group"):
            errs.append(field_invalid("spec.group", group, "field is immutable"))
        if spec.get("scope") != (old.get("spec") or {}).get("scope"):
            errs.append(field_invalid("spec.scope", spec.get("scope"), "field is immutable"))
    if errs:
        raise invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, errs)


def crd_status(crd, old_status):
    spec = crd["spec"]
    ts = now()
    prev = {c.get("type"): c for c in (old_status or {}).get("conditions") or []}
    conds = [
        {"type": "NamesAccepted", "status": "True",
         "lastTransitionTime": prev.get("NamesAccepted", {}).get("lastTransitionTime", ts),
         "reason": "NoConflicts", "message": "no conflicts found"},
        {"type": "Established", "status": "True",
         "lastTransitionTime": prev.get("Established", {}).get("lastTransitionTime", ts),
         "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
    ]
    stored = list((old_status or {}).get("storedVersions") or [])
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    if storage not in stored:
        stored.append(storage)
    return {"conditions": conds, "acceptedNames": deepcopy(spec["names"]),
            "storedVersions": stored}


# -- custom resources ---------------------------------------------------------------------------

_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def _type_ok(t, v):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool) or \
            isinstance(v, float) and v.is_integer()
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, _TYPES[t]) if t in _TYPES else True


def _go_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def process(schema, obj, errs, pruned=None):
    """Prunes, defaults and validates a custom resource in place against its schema; the
    paths of pruned (unknown) fields are appended to `pruned`."""
    if pruned is None:
        pruned = []
    if not schema:
        return
    props = schema.get("properties") or {}
    for k in list(obj.keys()):
        if k in ("apiVersion", "kind", "metadata"):
            continue
        if k in props:
            obj[k] = _walk(props[k], obj[k], k, errs, pruned)
        elif not schema.get("x-kubernetes-preserve-unknown-fields"):
            del obj[k]
            pruned.append(k)
    for k, p in props.items():
        if k not in obj and "default" in p and k not in ("metadata",):
            obj[k] = deepcopy(p["default"])
    for r in schema.get("required") or []:
        if r not in obj:
            errs.append(field_required(r))


def _walk(schema, v, path, errs, pruned):
    if v is None:
        if not schema.get("nullable"):
            if schema.get("type"):
                errs.append(field_invalid(path, "null", f"{path} in body must be of type "
                                          f"{schema['type']}: \"null\""))
        return v
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(v, (int, str)) or isinstance(v, bool):
            errs.append(field_invalid(path, _go_type(v), f"{path} in body must be of type "
                                      f"integer,string: \"{_go_type(v)}\""))
        return v
    t = schema.get("type")
    if t and not _type_ok(t, v):
        errs.append(field_invalid(path, _go_type(v), f"{path} in body must be of type {t}: "
                                  f"\"{_go_type(v)}\""))
        return v
    if "enum" in schema and v not in schema["enum"]:
        errs.append(field_unsupported(path, v, schema["enum"]))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in schema and v < schema["minimum"]:
            errs.append(field_invalid(path, v, f"{path} in body should be greater than or "
                                      f"equal to {schema['minimum']}"))
        if "maximum" in schema and v > schema["maximum"]:
            errs.append(field_invalid(path, v, f"{path} in body should be less than or equal "
                                      f"to {schema['maximum']}"))
        if t == "integer" and isinstance(v, float):
            v = int(v)
    if isinstance(v, str):
        if "maxLength" in schema and len(v) > schema["maxLength"]:
            errs.append(field_invalid(path, v, f"{path} in body should be at most "
                                      f"{schema['maxLength']} chars long"))
        if "minLength" in schema and len(v) < schema["minLength"]:
            errs.append(field_invalid(path, v, f"{path} in body should be at least "
                                      f"{schema['minLength']} chars long"))
        if "pattern" in schema and not re.search(schema["pattern"], v):
            errs.append(field_invalid(path, v, f"{path} in body should match "
                                      f"'{schema['pattern']}'"))
    if isinstance(v, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        out = {}
        for k, x in v.items():
            sub = f"{path}.{k}"
            if props and k in props:
                out[k] = _walk(props[k], x, sub, errs, pruned)
            elif isinstance(addl, dict):
                out[k] = _walk(addl, x, sub, errs, pruned)
            elif addl is True or preserve:
                out[k] = x
            else:
                pruned.append(sub)
        for k, p in (props or {}).items():
            if k not in out and "default" in p:
                out[k] = deepcopy(p["default"])
        for r in schema.get("required") or []:
            if r not in out:
                errs.append(field_required(f"{path}.{r}"))
        return out
    if isinstance(v, list):
        items = schema.get("items")
        if "maxItems" in schema and len(v) > schema["maxItems"]:
            errs.append(field_invalid(path, len(v), f"must have at most {schema['maxItems']} "
                                      f"items"))
        if "minItems" in schema and len(v) < schema["minItems"]:
            errs.append(field_invalid(path, len(v), f"{path} in body should have at least "
                                      f"{schema['minItems']} items"))
        if isinstance(items, dict):
            return [_walk(items, x, f"{path}[{i}]", errs, pruned) for i, x in enumerate(v)]
    return v


def get_path(obj, json_path):
    cur = obj
    for part in json_path.lstrip(".").split("."):
        if not part:
            continue
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def set_path(obj, json_path, value):
    parts = [p for p in json_path.lstrip(".").split(".") if p]
    cur = obj
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
