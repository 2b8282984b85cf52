"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch with the
patch directives kubectl sends ($patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList),
and the list merge keys of the built-in types."""
import copy
import json


class PatchError(Exception):
    pass


def deepcopy(v):
    return json.loads(json.dumps(v))


# -- JSON merge patch ---------------------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# -- JSON patch ---------------------------------------------------------------------------------

def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts, op):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError(f"{op} operation does not apply: doc is missing path: "
                                 f"/{'/'.join(parts)}")
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise PatchError(f"{op} operation does not apply: doc is missing path: "
                                 f"/{'/'.join(parts)}") from None
        else:
            raise PatchError(f"{op} operation does not apply: doc is missing path")
    return cur


def _get(doc, parts, op):
    if not parts:
        return doc
    parent = _parent(doc, parts, op)
    last = parts[-1]
    try:
        if isinstance(parent, dict):
            return parent[last]
        return parent[int(last)]
    except (KeyError, ValueError, IndexError, TypeError):
        raise PatchError(f"{op} operation does not apply: doc is missing path: "
                         f"/{'/'.join(parts)}") from None


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        parts = _pointer(op.get("path", ""))
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"{kind} operation does not apply: missing value")
        if kind == "test":
            if _get(doc, parts, "test") != op["value"]:
                raise PatchError(f"testing value /{'/'.join(parts)} failed: test failed")
            continue
        if kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = deepcopy(_get(doc, src, kind))
            if kind == "move":
                doc = _remove(doc, src)
            doc = _add(doc, parts, value, False)
        elif kind == "add":
            doc = _add(doc, parts, deepcopy(op["value"]), False)
        elif kind == "replace":
            _get(doc, parts, "replace")
            doc = _add(doc, parts, deepcopy(op["value"]), True)
        elif kind == "remove":
            doc = _remove(doc, parts)
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc


def _add(doc, parts, value, replace):
    if not parts:
        return value
    parent = _parent(doc, parts, "add")
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                idx = int(last)
            except ValueError:
                raise PatchError(f"add operation does not apply: invalid index {last}") from None
            if idx < 0 or idx > len(parent) or (replace and idx >= len(parent)):
                raise PatchError(f"add operation does not apply: index {idx} out of bounds")
            if replace:
                parent[idx] = value
            else:
                parent.insert(idx, value)
    else:
        raise PatchError("add operation does not apply: parent is not a container")
    return doc


def _remove(doc, parts):
    _get(doc, parts, "remove")
    parent = _parent(doc, parts, "remove")
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]
    return doc


# -- list merge keys of the built-in types ------------------------------------------------------

CONTAINER_LISTS = {"containers", "initContainers", "ephemeralContainers"}
NAME_KEYED = CONTAINER_LISTS | {"env", "volumes", "imagePullSecrets", "resourceClaims",
                                "secrets"}


def list_keys(path, kind, smp=False):
    """Merge keys for the list at `path` (field names from the object root), or "set" for
    lists of scalars merged as sets, or None for atomic lists."""
    if not path:
        return None
    last = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if last in NAME_KEYED:
        if last == "secrets" and kind != "ServiceAccount":
            return None
        return ["name"]
    if last == "volumeMounts":
        return ["mountPath"]
    if last == "volumeDevices":
        return ["devicePath"]
    if last == "ports":
        if parent in CONTAINER_LISTS:
            return ["containerPort"] if smp else ["containerPort", "protocol"]
        if kind == "Service" and path[:2] == ("spec", "ports"):
            return ["port"] if smp else ["port", "protocol"]
        return None
    if last == "conditions":
        return ["type"]
    if last == "ownerReferences":
        return ["uid"]
    if last == "finalizers" and parent == "metadata":
        return "set"
    if last == "topologySpreadConstraints":
        return ["topologyKey"] if smp else ["topologyKey", "whenUnsatisfiable"]
    if last == "hostAliases":
        return ["ip"]
    return None


KEY_DEFAULTS = {"protocol": "TCP"}


def item_key(item, keys):
    if not isinstance(item, dict):
        return None
    return tuple(item.get(k, KEY_DEFAULTS.get(k)) for k in keys)


# -- strategic merge patch ----------------------------------------------------------------------

def strategic_merge(original, patch, kind, path=()):
    if not isinstance(patch, dict):
        return deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = deepcopy(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in (v or [])]
            continue
        if v is None:
            out.pop(k, None)
            continue
        cur = out.get(k)
        if isinstance(v, dict):
            merged = strategic_merge(cur, v, kind, path + (k,))
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list):
            out[k] = _merge_list(cur if isinstance(cur, list) else [], v, kind, path + (k,))
        else:
            out[k] = v
    for field, order in orders.items():
        if isinstance(out.get(field), list):
            out[field] = _apply_order(out[field], order, list_keys(path + (field,), kind, True))
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(cur, patch, kind, path):
    keys = list_keys(path, kind, smp=True)
    if keys is None:
        if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
            return [deepcopy(x) for x in patch if not (isinstance(x, dict) and "$patch" in x)]
        return deepcopy(patch)
    if keys == "set":
        out = list(cur)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [deepcopy(x) for x in patch if not (isinstance(x, dict) and "$patch" in x)]
    out = [deepcopy(x) for x in cur]
    for item in patch:
        if not isinstance(item, dict):
            out.append(item)
            continue
        k = item_key(item, keys)
        idx = next((i for i, x in enumerate(out) if item_key(x, keys) == k), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(strategic_merge({}, item, kind, path))
        else:
            out[idx] = strategic_merge(out[idx], item, kind, path)
    return out


def _apply_order(items, order, keys):
    if not isinstance(keys, list):
        ranked = {json.dumps(o, sort_keys=True): i for i, o in enumerate(order)}
        pos = [ranked.get(json.dumps(x, sort_keys=True)) for x in items]
    else:
        ranked = {item_key(o, keys): i for i, o in enumerate(order)}
        pos = [ranked.get(item_key(x, keys)) for x in items]
    listed = sorted((p, i) for i, p in enumerate(pos) if p is not None)
    slots = [i for i, p in enumerate(pos) if p is not None]
    out = list(items)
    for slot, (_, i) in zip(slots, listed):
        out[slot] = items[i]
    return out
