"""RBAC authorization as the real API server does it, for ServiceAccount tokens only.

Tokens issued by `serviceaccounts/<name>/token` (TokenRequest, what `kubectl create token`
asks for) authenticate as `system:serviceaccount:<ns>:<name>` with the groups
`system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`, and their
requests are authorized by the Roles, ClusterRoles and bindings stored in the server, with the
RBAC authorizer's rule matching (plugin/pkg/auth/authorizer/rbac: verbs, apiGroups,
resources and `resource/subresource`, `*/subresource`, resourceNames, nonResourceURLs) and the
default bindings every authenticated user has (system:discovery, system:basic-user,
system:public-info-viewer). A server-side apply that creates its object is also authorized as
a create (handlers/patch.go). The admin token and client certificates stay unrestricted.

request_attributes() is RequestInfoFactory's view of a request (verb, group, resource,
subresource, namespace, name), shared with the manifest tests."""
import fnmatch

RBAC = "rbac.authorization.k8s.io"
SA_PREFIX = "system:serviceaccount:"
# What the default ClusterRoles give every authenticated user.
DEFAULT_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz",
                "/version", "/version/", "/openapi", "/openapi/*"]
DEFAULT_RULES = [
    {"apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"],
     "verbs": ["create"]},
]


class Attributes:
    def __init__(self, verb, path, group="", resource="", subresource="", namespace="",
                 name="", resource_request=True):
        self.verb, self.path = verb, path
        self.group, self.resource, self.subresource = group, resource, subresource
        self.namespace, self.name = namespace, name
        self.resource_request = resource_request

    def __repr__(self):
        if not self.resource_request:
            return f"{self.verb} {self.path}"
        res = self.resource + (f"/{self.subresource}" if self.subresource else "")
        where = f" in {self.namespace}" if self.namespace else " (cluster)"
        return f"{self.verb} {self.group or 'core'}/{res} {self.name}{where}"


def request_attributes(method, path, query):
    """The attributes the authorizer sees for one request."""
    verb = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete"}.get(method, method.lower())
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or parts[0] not in ("api", "apis"):
        return Attributes(verb, path, resource_request=False)
    prefix, group = (2, "") if parts[0] == "api" else (3, parts[1] if len(parts) > 1 else "")
    if len(parts) <= prefix:
        return Attributes(verb, path, resource_request=False)  # discovery documents
    rest = parts[prefix:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) == 2:
        namespace = rest[1]  # the namespace object itself
    name = rest[1] if len(rest) > 1 else ""
    if not name:
        if verb == "get":
            verb = "watch" if query.get("watch") in ("true", "1") else "list"
        elif verb == "delete":
            verb = "deletecollection"
    return Attributes(verb, path, group, rest[0], rest[2] if len(rest) > 2 else "", namespace,
                      name)


def _has(values, value):
    return "*" in values or value in values


def rule_allows(rule, a):
    if not a.resource_request:
        return _has(rule.get("verbs") or [], a.verb) and any(
            u == a.path or u == "*" or (u.endswith("*") and a.path.startswith(u[:-1]))
            for u in rule.get("nonResourceURLs") or [])
    if not _has(rule.get("verbs") or [], a.verb) or \
            not _has(rule.get("apiGroups") or [], a.group):
        return False
    combined = a.resource + (f"/{a.subresource}" if a.subresource else "")
    if not any(r == "*" or r == combined or (a.subresource and r == f"*/{a.subresource}")
               for r in rule.get("resources") or []):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


def subject_matches(subject, binding_ns, user, groups):
    kind = subject.get("kind")
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_ns
        return user == f"{SA_PREFIX}{ns}:{subject.get('name')}"
    if kind == "User":
        return user == subject.get("name")
    return kind == "Group" and subject.get("name") in groups


def default_allows(a):
    if not a.resource_request:
        return any(fnmatch.fnmatchcase(a.path, u) for u in DEFAULT_URLS)
    return any(rule_allows(r, a) for r in DEFAULT_RULES)


def service_account(user):
    """(namespace, name) of a ServiceAccount user, or None."""
    if not user.startswith(SA_PREFIX):
        return None
    ns, _, name = user[len(SA_PREFIX):].partition(":")
    return ns, name


def sa_groups(ns):
    return ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]


class Authorizer:
    """Decides with the RBAC objects in `store` (hack/kube-api-server/store.py)."""

    def __init__(self, store):
        self.store = store

    def _rules(self, user, groups, namespace):
        out = []
        for b in self.store.all((RBAC, "clusterrolebindings")):
            if any(subject_matches(s, "", user, groups) for s in b.get("subjects") or []):
                role = self.store.get((RBAC, "clusterroles"), "", b["roleRef"]["name"])
                out += (role or {}).get("rules") or []
        if namespace:
            for b in self.store.all((RBAC, "rolebindings"), namespace):
                if not any(subject_matches(s, namespace, user, groups)
                           for s in b.get("subjects") or []):
                    continue
                ref = b.get("roleRef") or {}
                role = (self.store.get((RBAC, "clusterroles"), "", ref.get("name"))
                        if ref.get("kind") == "ClusterRole" else
                        self.store.get((RBAC, "roles"), namespace, ref.get("name")))
                out += (role or {}).get("rules") or []
        return out

    def allows(self, user, groups, a):
        if default_allows(a):
            return True
        rules = self._rules(user, groups, a.namespace if a.resource_request else "")
        return any(rule_allows(r, a) for r in rules)
