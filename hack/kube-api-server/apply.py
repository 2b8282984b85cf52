"""Field ownership (metadata.managedFields in FieldsV1) and server-side apply: field sets of
objects, the structural merge of an applied configuration, conflicts with other managers,
removal of fields the applier stopped applying, and ownership transfer on updates."""
import json

from errors import ApiError
from patch import KEY_DEFAULTS, list_keys

META_TRACKED = ("labels", "annotations", "finalizers", "ownerReferences")


def _kj(v):
    return json.dumps(v, separators=(",", ":"), sort_keys=False)


def _elem_key(item, keys):
    return "k:" + _kj({k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys})


def field_set(obj, kind, section="main", has_status=True):
    """All field paths of obj (a set of tuples of FieldsV1 elements)."""
    out = set()
    for k, v in obj.items():
        if k in ("apiVersion", "kind"):
            continue
        if k == "metadata":
            for mk in META_TRACKED:
                if mk in (v or {}):
                    _walk(v[mk], ("metadata", mk), ("f:metadata", "f:" + mk), kind, out)
            continue
        if has_status and (section == "status") != (k == "status"):
            continue
        _walk(v, (k,), ("f:" + k,), kind, out)
    return out


def _walk(v, fpath, epath, kind, out):
    if isinstance(v, dict):
        if not v:
            out.add(epath)
        for k, x in v.items():
            _walk(x, fpath + (k,), epath + ("f:" + k,), kind, out)
    elif isinstance(v, list):
        keys = list_keys(fpath, kind)
        if keys == "set" and all(not isinstance(x, (dict, list)) for x in v):
            for x in v:
                out.add(epath + ("v:" + _kj(x),))
        elif isinstance(keys, list) and all(isinstance(x, dict) for x in v):
            for x in v:
                ek = epath + (_elem_key(x, keys),)
                out.add(ek + (".",))
                for k, y in x.items():
                    _walk(y, fpath + (k,), ek + ("f:" + k,), kind, out)
        else:
            out.add(epath)
    else:
        out.add(epath)


def to_fieldsv1(paths):
    root = {}
    for p in sorted(paths):
        cur = root
        for e in p:
            cur = cur.setdefault(e, {})
    return root


def from_fieldsv1(d, prefix=()):
    out = set()
    for k, v in (d or {}).items():
        p = prefix + (k,)
        if not v:
            out.add(p)
        else:
            out |= from_fieldsv1(v, p)
    return out


_MISSING = object()


def value_at(obj, path, kind):
    cur = obj
    fpath = ()
    for e in path:
        if e == ".":
            return cur
        if e.startswith("f:"):
            name = e[2:]
            if not isinstance(cur, dict) or name not in cur:
                return _MISSING
            cur = cur[name]
            fpath += (name,)
        elif e.startswith("k:"):
            keys = list_keys(fpath, kind)
            want = json.loads(e[2:])
            if not isinstance(cur, list) or not isinstance(keys, list):
                return _MISSING
            cur = next((x for x in cur if isinstance(x, dict) and
                        {k: x.get(k, KEY_DEFAULTS.get(k)) for k in want} == want), _MISSING)
            if cur is _MISSING:
                return cur
        elif e.startswith("v:"):
            want = json.loads(e[2:])
            return want if isinstance(cur, list) and want in cur else _MISSING
    return cur


def _remove_path(obj, path, kind):
    """Removes the field or list element at path (path ends in a field or '.')."""
    if path[-1] == ".":
        path = path[:-1]
    parent = value_at(obj, path[:-1], kind) if len(path) > 1 else obj
    last = path[-1]
    if parent is _MISSING:
        return
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
        if not parent and len(path) > 1 and path[-2].startswith("f:"):
            _remove_path(obj, path[:-1], kind)
    elif last.startswith("k:") and isinstance(parent, list):
        target = value_at(obj, path, kind)
        if target is not _MISSING:
            parent.remove(target)
    elif last.startswith("v:") and isinstance(parent, list):
        v = json.loads(last[2:])
        if v in parent:
            parent.remove(v)


def ssa_merge(live, applied, kind, fpath=()):
    if isinstance(applied, dict) and isinstance(live, dict):
        out = dict(live)
        for k, v in applied.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = ssa_merge(live.get(k), v, kind, fpath + (k,))
        return out
    if isinstance(applied, list) and isinstance(live, list):
        keys = list_keys(fpath, kind)
        if keys == "set":
            return list(live) + [x for x in applied if x not in live]
        if isinstance(keys, list) and all(isinstance(x, dict) for x in applied + live):
            out = list(live)
            for item in applied:
                ek = _elem_key(item, keys)
                idx = next((i for i, x in enumerate(out) if _elem_key(x, keys) == ek), None)
                if idx is None:
                    out.append(item)
                else:
                    out[idx] = ssa_merge(out[idx], item, kind, fpath)
            return out
    return applied


def _entries(obj):
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry_key(e):
    return (e.get("manager"), e.get("operation"), e.get("subresource", ""))


def _set_entries(obj, entries, sets, api_version, now, changed):
    out = []
    for e in entries:
        key = _entry_key(e)
        paths = sets.get(key, set())
        if not paths:
            continue
        e = dict(e)
        if key in changed:
            e["apiVersion"] = api_version
            e["time"] = now
        e["fieldsType"] = "FieldsV1"
        e["fieldsV1"] = to_fieldsv1(paths)
        out.append(e)
    obj.setdefault("metadata", {})["managedFields"] = out
    if not out:
        obj["metadata"].pop("managedFields")


def _prune(sets, obj, kind):
    for key, paths in sets.items():
        sets[key] = {p for p in paths if value_at(obj, p, kind) is not _MISSING}


def track_update(old, new, manager, api_version, now, kind, subresource="", has_status=True,
                 allocated=()):
    """Records an Update by manager: it takes ownership of every field it changed, except
    the `allocated` paths (set by the server after the request was recorded)."""
    section = "status" if subresource == "status" else "main"
    entries = _entries(old) if old else []
    requested = (new.get("metadata") or {}).get("managedFields")
    if old is not None and requested is not None and requested != _entries(old):
        entries = list(requested)  # the client rewrote managedFields; keep its version
    sets = {_entry_key(e): from_fieldsv1(e.get("fieldsV1")) for e in entries}
    new_fields = field_set(new, kind, section, has_status)
    if old is None:
        changed = new_fields
    else:
        changed = {p for p in new_fields if value_at(old, p, kind) != value_at(new, p, kind)}
    changed -= set(allocated)
    me = (manager, "Update", subresource)
    if changed:
        for key in sets:
            if key != me:
                sets[key] -= changed
        if me not in sets:
            entry = {"manager": manager, "operation": "Update", "apiVersion": api_version,
                     "time": now}
            if subresource:
                entry["subresource"] = subresource
            entries.append(entry)
            sets[me] = set()
        sets[me] |= changed
    _prune(sets, new, kind)
    _set_entries(new, entries, sets, api_version, now, {me} if changed else set())


def _path_text(p):
    out = ""
    for e in p:
        if e == ".":
            continue
        if e.startswith("f:"):
            out += "." + e[2:]
        elif e.startswith("k:"):
            out += "[" + ",".join(f"{k}={_kj(v)}" for k, v in json.loads(e[2:]).items()) + "]"
        else:
            out += "[" + e + "]"
    return out


def server_side_apply(live, applied, manager, force, api_version, now, kind,
                      subresource="", has_status=True):
    """Returns the object after applying `applied` as `manager` (live may be None)."""
    section = "status" if subresource == "status" else "main"
    base = live if live is not None else {}
    entries = _entries(base)
    sets = {_entry_key(e): from_fieldsv1(e.get("fieldsV1")) for e in entries}
    if live is not None and not entries:
        everything = field_set(live, kind, section, has_status)
        if everything:
            entries = [{"manager": "before-first-apply", "operation": "Update",
                        "apiVersion": api_version, "time": now}]
            sets = {("before-first-apply", "Update", ""): everything}
    me = (manager, "Apply", subresource)
    applied_fields = field_set(applied, kind, section, has_status)
    conflicts = []
    for key, paths in sets.items():
        if key == me:
            continue
        for p in sorted(paths & applied_fields):
            if p[-1] == ".":
                continue
            if value_at(base, p, kind) != value_at(applied, p, kind):
                conflicts.append((key, p))
    if conflicts and not force:
        causes = [{"reason": "FieldManagerConflict",
                   "message": f'conflict with "{k[0]}"'
                              + (f' with subresource "{k[2]}"' if k[2] else "")
                              + f' using {api_version}', "field": _path_text(p)}
                  for k, p in conflicts]
        texts = [f'{c["message"]}: {c["field"]}' for c in causes]
        n = len(causes)
        msg = f"Apply failed with {n} conflict{'s' if n > 1 else ''}: " + "\n".join(texts)
        raise ApiError(409, "Conflict", msg, {"causes": causes})
    for key, p in conflicts:
        sets[key].discard(p)
    merged = ssa_merge(base, applied, kind)
    merged = json.loads(json.dumps(merged))
    previously = sets.get(me, set())
    others = set()
    for key, paths in sets.items():
        if key != me:
            others |= paths
    for p in sorted(previously - applied_fields, key=len, reverse=True):
        if p in others:
            continue
        prefix = p[:-1] if p[-1] == "." else p
        if any(o[:len(prefix)] == prefix for o in others):
            continue
        _remove_path(merged, p, kind)
    if me not in sets:
        entry = {"manager": manager, "operation": "Apply", "apiVersion": api_version,
                 "time": now}
        if subresource:
            entry["subresource"] = subresource
        entries.append(entry)
    sets[me] = applied_fields
    _prune(sets, merged, kind)
    _set_entries(merged, entries, sets, api_version, now, {me})
    return merged
