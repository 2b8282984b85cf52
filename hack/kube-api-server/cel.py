"""x-kubernetes-validations of CRD schemas: the subset of CEL that CRDs such as the
snapshot.storage.k8s.io ones use (`self`, `oldSelf`, field selection, `has()`, `size()`, `!`,
`&&`, `||`, comparisons, integer and string literals, parentheses), evaluated as the
apiextensions-apiserver does: a rule runs where it is declared when the value is present; a
transition rule (one that names `oldSelf`) runs only on update and only when the old object has
a value at that place. A failed rule is `<path>: Invalid value: "<type>": <message>`. A rule
outside the subset is a server bug, reported as such (never silently passed)."""
import re

from errors import field_invalid

_TOKEN = re.compile(r"\s*(?:(\d+)|(\"[^\"]*\"|'[^']*')|([A-Za-z_][A-Za-z0-9_]*)|"
                    r"(&&|\|\||==|!=|>=|<=|[!().><]))")
_MISSING = object()


class CelError(Exception):
    pass


def _tokens(rule):
    out, pos = [], 0
    while pos < len(rule):
        if rule[pos:].strip() == "":
            break
        m = _TOKEN.match(rule, pos)
        if not m:
            raise CelError(f"unsupported CEL at {rule[pos:]!r}")
        num, s, ident, op = m.groups()
        out.append(("num", int(num)) if num else ("str", s[1:-1]) if s else
                   ("id", ident) if ident else ("op", op))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent to a tiny AST of tuples."""

    def __init__(self, rule):
        self.t, self.i = _tokens(rule), 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise CelError(f"expected {value or 'a token'}")
        self.i += 1
        return tok

    def parse(self):
        e = self.or_()
        if self.i != len(self.t):
            raise CelError("trailing tokens")
        return e

    def or_(self):
        e = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            e = ("or", e, self.and_())
        return e

    def and_(self):
        e = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            e = ("and", e, self.cmp())
        return e

    def cmp(self):
        e = self.unary()
        if self.peek()[0] == "op" and self.peek()[1] in ("==", "!=", ">", "<", ">=", "<="):
            op = self.take()[1]
            e = ("cmp", op, e, self.unary())
        return e

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.primary()

    def primary(self):
        kind, v = self.take()
        if kind == "num":
            return ("lit", v)
        if kind == "str":
            return ("lit", v)
        if kind == "op" and v == "(":
            e = self.or_()
            self.take(")")
            return e
        if kind == "id" and v in ("has", "size"):
            self.take("(")
            arg = self.path() if v == "has" else self.or_()
            self.take(")")
            return (v, arg)
        if kind == "id" and v in ("self", "oldSelf"):
            self.i -= 1
            return self.path()
        raise CelError(f"unsupported CEL token {v!r}")

    def path(self):
        root = self.take()[1]
        if root not in ("self", "oldSelf"):
            raise CelError(f"unsupported CEL variable {root!r}")
        fields = []
        while self.peek() == ("op", "."):
            self.take()
            name = self.take()[1]
            # CEL escapes property names that are CEL keywords (`__namespace__`).
            fields.append(name[2:-2] if name.startswith("__") and name.endswith("__") else name)
        return ("path", root, fields)


def _eval(e, env):
    op = e[0]
    if op == "lit":
        return e[1]
    if op == "path":
        v = env[e[1]]
        for f in e[2]:
            if not isinstance(v, dict) or f not in v:
                raise CelError(f"no such key: {f}")
            v = v[f]
        return v
    if op == "has":
        _, root, fields = e[1]
        v = env[root]
        for f in fields[:-1]:
            v = v.get(f) if isinstance(v, dict) else None
        return isinstance(v, dict) and fields[-1] in v
    if op == "size":
        return len(_eval(e[1], env))
    if op == "not":
        return not _eval(e[1], env)
    if op == "and":
        return bool(_eval(e[1], env)) and bool(_eval(e[2], env))
    if op == "or":
        return bool(_eval(e[1], env)) or bool(_eval(e[2], env))
    a, b = _eval(e[2], env), _eval(e[3], env)
    return {"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b,
            "<=": a <= b}[e[1]]


def _type_name(schema):
    return schema.get("type") or "object"


def validate(schema, new, old, path, errs):
    """Walks `schema` over `new` (and `old`, the stored object on update, else _MISSING)
    appending a field error per failed rule."""
    if not isinstance(schema, dict) or new is None:
        return
    for rule in schema.get("x-kubernetes-validations") or []:
        text = rule.get("rule", "")
        transition = "oldSelf" in text
        if transition and old is _MISSING:
            continue
        try:
            ok = _eval(_Parser(text).parse(), {"self": new, "oldSelf": old})
        except CelError as e:
            ok, rule = False, {"message": f"server cannot evaluate rule {text!r}: {e}"}
        if not ok:
            errs.append(field_invalid(path or "<root>", _type_name(schema),
                                      rule.get("message") or f"failed rule: {text}"))
    props = schema.get("properties") or {}
    if isinstance(new, dict):
        for k, sub in props.items():
            if k in new and k not in ("metadata",):
                sub_old = old.get(k, _MISSING) if isinstance(old, dict) else _MISSING
                validate(sub, new[k], sub_old, f"{path}.{k}" if path else k, errs)


def check(schema, new, old):
    """Errors of the rules of a custom resource; `old` None on create."""
    errs = []
    validate(schema, new, _MISSING if old is None else old, "", errs)
    return errs
