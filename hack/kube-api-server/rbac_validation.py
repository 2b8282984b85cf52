"""Validation of rbac.authorization.k8s.io/v1 objects as the real API server does it
(pkg/apis/rbac/validation/validation.go): every rule has verbs; a resource rule has apiGroups
and resources; nonResourceURLs only in ClusterRoles and never mixed with resources; a binding's
roleRef names a Role or ClusterRole (a ClusterRoleBinding only a ClusterRole) of the RBAC group;
subjects are ServiceAccounts (core group, with a namespace in a ClusterRoleBinding), Users or
Groups (RBAC group). The immutable roleRef is checked by kinds.validate.

errors(kind, obj) returns field causes for kinds.validate()."""
from errors import field_invalid, field_required, field_unsupported

RBAC_GROUP = "rbac.authorization.k8s.io"


def _rule_errors(rule, path, namespaced):
    errs = []
    if not rule.get("verbs"):
        errs.append(field_required(f"{path}.verbs", "verbs must contain at least one value"))
    if rule.get("nonResourceURLs"):
        if namespaced:
            errs.append(field_invalid(f"{path}.nonResourceURLs", rule["nonResourceURLs"],
                                      "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(field_invalid(f"{path}.nonResourceURLs", rule["nonResourceURLs"],
                                      "rules cannot apply to both regular resources and "
                                      "non-resource URLs"))
        return errs
    if not rule.get("apiGroups"):
        errs.append(field_required(f"{path}.apiGroups",
                                   "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errs.append(field_required(f"{path}.resources",
                                   "resource rules must supply at least one resource"))
    return errs


def _binding_errors(obj, namespaced):
    errs = []
    ref = obj.get("roleRef") or {}
    if ref.get("apiGroup") != RBAC_GROUP:
        errs.append(field_unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP]))
    kinds = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.get("kind") not in kinds:
        errs.append(field_unsupported("roleRef.kind", ref.get("kind", ""), kinds))
    for i, s in enumerate(obj.get("subjects") or []):
        path = f"subjects[{i}]"
        s = s or {}
        if not s.get("name"):
            errs.append(field_required(f"{path}.name"))
        kind = s.get("kind")
        if kind == "ServiceAccount":
            if s.get("apiGroup"):
                errs.append(field_unsupported(f"{path}.apiGroup", s["apiGroup"], [""]))
            if not namespaced and not s.get("namespace"):
                errs.append(field_required(f"{path}.namespace"))
        elif kind in ("User", "Group"):
            if s.get("apiGroup") != RBAC_GROUP:
                errs.append(field_unsupported(f"{path}.apiGroup", s.get("apiGroup", ""),
                                              [RBAC_GROUP]))
        else:
            errs.append(field_unsupported(f"{path}.kind", kind or "",
                                          ["ServiceAccount", "User", "Group"]))
    return errs


def errors(kind, obj):
    if kind in ("Role", "ClusterRole"):
        errs = []
        for i, rule in enumerate(obj.get("rules") or []):
            errs += _rule_errors(rule or {}, f"rules[{i}]", kind == "Role")
        return errs
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        return _binding_errors(obj, kind == "RoleBinding")
    return []
