"""Subresources and virtual resources: scale (built-in and custom resources),
serviceaccounts/token, SelfSubjectReview and SelfSubjectAccessReview."""
import base64
import secrets

import crd as crdmod
import kinds
import labelsel
from errors import bad_request, not_found
from patch import deepcopy


class Subresources:
    """Mixin of the Api class."""

    def review(self, req, res):
        body = self.decode(req)
        if not isinstance(body, dict):
            raise bad_request("the body must be a JSON object")
        out = {"kind": res.kind, "apiVersion": res.api_version,
               "metadata": {"creationTimestamp": None}}
        if res.kind == "SelfSubjectReview":
            out["status"] = {"userInfo": {"username": req.user,
                                          "groups": req.groups + ["system:authenticated"]}}
        else:
            spec = body.get("spec") or {}
            ra = spec.get("resourceAttributes")
            allowed = True
            if ra:
                resource = ra.get("resource", "") + (f"/{ra['subresource']}"
                                                     if ra.get("subresource") else "")
                allowed = not self.admin.forbidden(ra.get("verb", ""), ra.get("group", ""),
                                                   resource, ra.get("namespace") or None,
                                                   ra.get("name") or None)
            out["spec"] = spec
            out["status"] = {"allowed": allowed}
        return self.respond(201, out)

    def scale_view(self, res, obj):
        paths = res.scale_paths or {}
        spec_path = paths.get("specReplicasPath", ".spec.replicas")
        status_path = paths.get("statusReplicasPath", ".status.replicas")
        if res.builtin:
            sel = labelsel.selector_string((obj.get("spec") or {}).get("selector")) \
                if res.kind != "ReplicationController" else ",".join(
                    f"{k}={v}" for k, v in sorted(((obj.get("spec") or {}).get("selector")
                                                   or {}).items()))
        else:
            sel = crdmod.get_path(obj, paths.get("labelSelectorPath", "")) \
                if paths.get("labelSelectorPath") else None
        m = obj["metadata"]
        status = {"replicas": crdmod.get_path(obj, status_path) or 0}
        if sel:
            status["selector"] = sel
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                               "creationTimestamp") if k in m},
                "spec": {"replicas": crdmod.get_path(obj, spec_path) or 0}, "status": status}

    def write_scale(self, req, res, old, scale, dry):
        if not isinstance(scale, dict) or scale.get("kind", "Scale") != "Scale":
            raise bad_request("the body must be an autoscaling/v1 Scale")
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        new = deepcopy(self.view(res, old))
        if rv:
            new["metadata"]["resourceVersion"] = rv
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        crdmod.set_path(new, (res.scale_paths or {}).get("specReplicasPath", ".spec.replicas"),
                        replicas)
        stored, _ = self.commit(res, old, new, self.manager(req), "", dry)
        return self.respond(200, self.scale_view(res, stored))

    def token_request(self, req, res, ns, name):
        if self.store.get(res.storage_key, ns, name) is None:
            raise not_found(res.plural, res.group, name)
        body = self.decode(req)
        exp = int(((body or {}).get("spec") or {}).get("expirationSeconds") or 3600)
        token = base64.urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("=")
        body = body if isinstance(body, dict) else {}
        body.setdefault("metadata", {})["name"] = name
        body["metadata"]["namespace"] = ns
        body.setdefault("spec", {})["expirationSeconds"] = exp
        body["status"] = {"token": token, "expirationTimestamp": kinds.now()}
        self.sa_tokens[token] = (ns, name)  # authenticates as the ServiceAccount (rbac.py)
        body.update(kind="TokenRequest", apiVersion="authentication.k8s.io/v1")
        return self.respond(201, body)
