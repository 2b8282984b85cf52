"""RBAC of rendered manifests for the manifest tests: which rules a ServiceAccount holds through
the Roles, ClusterRoles and bindings of a set of documents, and whether they allow a request,
with the API test server's authorizer logic (hack/kube-api-server/rbac.py: the real
RequestInfoFactory attributes and RBAC rule matching, plus the default discovery bindings)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hack",
                                "kube-api-server"))
from rbac import default_allows, request_attributes, rule_allows  # noqa: E402,F401

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind",
               "impersonate"}


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
        if default_allows(a):
            return True
        for scope, rule in self.grants(sa_namespace, sa_name):
            if scope and (not a.resource_request or a.namespace != scope):
                continue
            if rule_allows(rule, a):
                return True
        return False
