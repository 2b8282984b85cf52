"""Kubernetes RBAC evaluation for the manifest tests: turns a logged API request (method, path,
query) into the authorizer's attributes as the real API server's RequestInfoFactory does
(k8s.io/apiserver/pkg/endpoints/request/requestinfo.go), and decides whether the Roles,
ClusterRoles and bindings of rendered manifests allow it to a ServiceAccount, as the RBAC
authorizer does (plugin/pkg/auth/authorizer/rbac/rbac.go: RuleAllows), plus the default
discovery bindings every authenticated user has (system:discovery, system:basic-user,
system:public-info-viewer)."""
import fnmatch

# Non-resource URLs the default ClusterRoles give every authenticated user.
DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz",
                  "/version", "/version/", "/openapi", "/openapi/*"]
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind",
               "impersonate"}


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
    if parts[0] == "api":
        prefix = 2  # api/v1
        group = ""
    else:
        prefix = 3  # apis/GROUP/VERSION
        group = parts[1] if len(parts) > 1 else ""
    if len(parts) <= prefix:
        return Attributes(verb, path, resource_request=False)  # discovery documents
    rest = parts[prefix:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 2:
        namespace, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) == 2:
        namespace = rest[1]  # the namespace object itself
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name:
        if verb == "get":
            verb = "watch" if query.get("watch") in ("true", "1") else "list"
        elif verb == "delete":
            verb = "deletecollection"
    return Attributes(verb, path, group, resource, subresource, namespace, name)


def _has(values, value):
    return "*" in values or value in values


def rule_allows(rule, a):
    if not a.resource_request:
        urls = rule.get("nonResourceURLs") or []
        return _has(rule.get("verbs") or [], a.verb) and any(
            u == a.path or u == "*" or (u.endswith("*") and a.path.startswith(u[:-1]))
            for u in urls)
    if not _has(rule.get("verbs") or [], a.verb):
        return False
    if not _has(rule.get("apiGroups") or [], a.group):
        return False
    combined = a.resource + (f"/{a.subresource}" if a.subresource else "")
    resources = rule.get("resources") or []
    if not any(r == "*" or r == combined or
               (a.subresource and r == f"*/{a.subresource}") for r in resources):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


class Rbac:
    """The RBAC objects of a rendered manifest set."""

    def __init__(self, docs):
        self.docs = docs
        self.roles = {(d["metadata"].get("namespace", ""), d["metadata"]["name"]): d
                      for d in docs if d.get("kind") == "Role"}
        self.cluster_roles = {d["metadata"]["name"]: d for d in docs
                              if d.get("kind") == "ClusterRole"}
        self.bindings = [d for d in docs if d.get("kind") in ("RoleBinding", "ClusterRoleBinding")]

    def _binds(self, binding, sa_namespace, sa_name):
        return any(s.get("kind") == "ServiceAccount" and s.get("name") == sa_name and
                   s.get("namespace", binding["metadata"].get("namespace")) == sa_namespace
                   for s in binding.get("subjects") or [])

    def grants(self, sa_namespace, sa_name):
        """[(scope namespace or "" for cluster-wide, rule)] the ServiceAccount holds."""
        out = []
        for b in self.bindings:
            if not self._binds(b, sa_namespace, sa_name):
                continue
            ref = b["roleRef"]
            ns = b["metadata"].get("namespace", "") if b["kind"] == "RoleBinding" else ""
            role = (self.cluster_roles.get(ref["name"]) if ref["kind"] == "ClusterRole"
                    else self.roles.get((ns, ref["name"])))
            if role is None:
                raise AssertionError(f"{b['kind']} {b['metadata']['name']} names a missing "
                                     f"{ref['kind']} {ref['name']}")
            out += [(ns, rule) for rule in role.get("rules") or []]
        return out

    def allows(self, sa_namespace, sa_name, a):
        if not a.resource_request and any(fnmatch.fnmatchcase(a.path, u) or u == a.path
                                          for u in DISCOVERY_URLS):
            return True
        for scope, rule in self.grants(sa_namespace, sa_name):
            if scope and (not a.resource_request or a.namespace != scope):
                continue
            if rule_allows(rule, a):
                return True
        return False
