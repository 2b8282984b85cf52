"""Label selectors (=, ==, !=, in, notin, exists, !exists, gt, lt) and field selectors, parsed
and matched as k8s.io/apimachinery does."""
import re

from errors import bad_request

_KEY = re.compile(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


class _Lexer:
    SPECIAL = "=!(),<>"

    def __init__(self, text):
        self.text = text
        self.pos = 0

    def tokens(self):
        out = []
        s = self.text
        i = 0
        while i < len(s):
            c = s[i]
            if c.isspace():
                i += 1
            elif s.startswith("==", i) or s.startswith("!=", i):
                out.append(s[i:i + 2])
                i += 2
            elif c in self.SPECIAL:
                out.append(c)
                i += 1
            else:
                j = i
                while j < len(s) and not s[j].isspace() and s[j] not in self.SPECIAL:
                    j += 1
                out.append(s[i:j])
                i = j
        return out


def _check_key(key, text):
    if not key or len(key.split("/")[-1]) > 63 or not _KEY.fullmatch(key):
        raise bad_request(f"unable to parse requirement: invalid label key \"{key}\": name part "
                          f"must consist of alphanumeric characters, '-', '_' or '.', and must "
                          f"start and end with an alphanumeric character")


def _check_value(v):
    if len(v) > 63 or not _VALUE.fullmatch(v):
        raise bad_request(f"unable to parse requirement: values[0][{v}]: Invalid value: \"{v}\": "
                          f"a valid label must be an empty string or consist of alphanumeric "
                          f"characters, '-', '_' or '.', and must start and end with an "
                          f"alphanumeric character")


def parse_labels(text):
    """Returns a list of (key, op, values); op in = != in notin exists !exists gt lt."""
    if text is None or not text.strip():
        return []
    toks = _Lexer(text).tokens()
    reqs = []
    i = 0

    def fail(msg):
        raise bad_request(f"unable to parse requirement: {msg}")

    while i < len(toks):
        t = toks[i]
        if t == "!":
            if i + 1 >= len(toks):
                fail("found '', expected: identifier")
            key = toks[i + 1]
            _check_key(key, text)
            reqs.append((key, "!exists", []))
            i += 2
        else:
            key = t
            if key in _Lexer.SPECIAL or key in ("==", "!="):
                fail(f"found '{key}', expected: !, identifier, or 'end of string'")
            _check_key(key, text)
            i += 1
            op = toks[i] if i < len(toks) else ","
            if op == ",":
                reqs.append((key, "exists", []))
            elif op in ("=", "==", "!="):
                val = ""
                if i + 1 < len(toks) and toks[i + 1] != ",":
                    val = toks[i + 1]
                    i += 1
                _check_value(val)
                reqs.append((key, "!=" if op == "!=" else "=", [val]))
                i += 1
            elif op in ("in", "notin"):
                if i + 1 >= len(toks) or toks[i + 1] != "(":
                    fail(f"found '{toks[i + 1] if i + 1 < len(toks) else ''}', expected: '('")
                i += 2
                vals = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] != ",":
                        _check_value(toks[i])
                        vals.append(toks[i])
                    elif i + 1 < len(toks) and toks[i + 1] in (",", ")"):
                        vals.append("")
                    i += 1
                if i >= len(toks):
                    fail("found '', expected: ')'")
                if not vals:
                    vals = [""]
                reqs.append((key, op, vals))
                i += 1
            elif op in ("<", ">"):
                if i + 1 >= len(toks):
                    fail("found '', expected: integer")
                try:
                    int(toks[i + 1])
                except ValueError:
                    fail(f"for 'Gt', 'Lt' operators, the value must be an integer")
                reqs.append((key, "gt" if op == ">" else "lt", [toks[i + 1]]))
                i += 2
            else:
                fail(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
        if i < len(toks):
            if toks[i] != ",":
                fail(f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
            if i >= len(toks):
                fail("found '', expected: !, identifier, or 'end of string'")
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        present = key in labels
        v = labels.get(key)
        if op == "=":
            ok = present and v == vals[0]
        elif op == "!=":
            ok = not present or v != vals[0]
        elif op == "in":
            ok = present and v in vals
        elif op == "notin":
            ok = not present or v not in vals
        elif op == "exists":
            ok = present
        elif op == "!exists":
            ok = not present
        else:
            try:
                ok = present and (int(v) > int(vals[0]) if op == "gt" else int(v) < int(vals[0]))
            except ValueError:
                ok = False
        if not ok:
            return False
    return True


def selector_from_object(sel):
    """A metav1.LabelSelector (matchLabels/matchExpressions) as requirements."""
    reqs = [(k, "=", [v]) for k, v in sorted((sel or {}).get("matchLabels", {}).items())]
    for e in (sel or {}).get("matchExpressions", []) or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists",
              "DoesNotExist": "!exists"}.get(e.get("operator"), "exists")
        reqs.append((e.get("key"), op, list(e.get("values") or [])))
    return reqs


def selector_string(sel):
    parts = []
    for k, op, vals in selector_from_object(sel):
        if op == "=":
            parts.append(f"{k}={vals[0]}")
        elif op in ("in", "notin"):
            parts.append(f"{k} {op} ({','.join(sorted(vals))})")
        elif op == "exists":
            parts.append(k)
        else:
            parts.append(f"!{k}")
    return ",".join(parts)


# Field selectors -----------------------------------------------------------------------------

def _get(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


EVENT_FIELDS = {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                "involvedObject.uid", "involvedObject.apiVersion",
                "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                "reportingComponent", "source", "type"}
FIELDS = {
    ("", "pods"): {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                   "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                   "status.podIP", "status.nominatedNodeName"},
    ("", "events"): EVENT_FIELDS,
    ("", "secrets"): {"type"},
    ("", "namespaces"): {"status.phase"},
    ("", "nodes"): {"spec.unschedulable"},
    ("", "replicationcontrollers"): {"status.replicas"},
    ("apps", "replicasets"): {"status.replicas"},
    ("batch", "jobs"): {"status.successful"},
    ("", "persistentvolumeclaims"): set(),
    ("", "services"): {"spec.clusterIP", "spec.type"},
}


def event_field(obj, field):
    if field == "source":
        return (obj.get("source") or {}).get("component") or obj.get("reportingComponent")
    return _get(obj, field)


def parse_fields(text, resource):
    """Returns [(field, op, value)] or raises 400 for unsupported fields."""
    if text is None or not text.strip():
        return []
    allowed = {"metadata.name", "metadata.namespace"}
    if resource.builtin:
        allowed |= FIELDS.get(resource.storage_key, set())
    else:
        allowed |= set(resource.selectable)
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in allowed:
            if resource.builtin:
                raise bad_request(f"field label not supported: {field}")
            known = ", ".join(f'"{a}"' for a in sorted(allowed))
            raise bad_request(f'"{field}" is not a known field selector: only {known}')
        out.append((field, "!=" if op == "!=" else "=", value))
    return out


def match_fields(reqs, obj, is_event=False):
    for field, op, value in reqs:
        v = _fmt(event_field(obj, field) if is_event else _get(obj, field))
        if (v == value) != (op == "="):
            return False
    return True
