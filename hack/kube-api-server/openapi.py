"""A small OpenAPI v3 document set (/openapi/v3 and one document per group version) with the
PATCH operations of every resource and their parameters, so that clients that check for
server-side field validation (kubectl create/apply --validate=strict) find it. No component
schemas are published, so kubectl computes strategic merge patches from its compiled-in types
(as it does against servers without OpenAPI). /openapi/v2 is an empty Swagger document (JSON, or
protobuf as kubectl asks for it) on which client-side validation finds no schemas and skips."""
import hashlib
import json

PARAMS = [("dryRun", "string"), ("fieldManager", "string"), ("fieldValidation", "string"),
          ("force", "boolean")]


def gv_path(group, version):
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _doc_hash(doc):
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()[:128]


def root(registry, server_version):
    paths = {}
    gvs = [("", "v1")] + [(g, v) for g, vs in registry.groups() for v in vs]
    for g, v in gvs:
        key = gv_path(g, v)
        digest = _doc_hash(group_version(registry, g, v, server_version))
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest}"}
    return {"paths": paths}


def group_version(registry, group, version, server_version):
    if not registry.has_group_version(group, version) and (group, version) != ("", "v1"):
        return None
    base = "/" + gv_path(group, version)
    gvk_group = group
    paths = {}
    for r in registry.resources_in(group, version):
        gvk = {"group": gvk_group, "version": version, "kind": r.kind}
        if r.namespaced:
            item = f"{base}/namespaces/{{namespace}}/{r.plural}/{{name}}"
        else:
            item = f"{base}/{r.plural}/{{name}}"
        op_id = f"patch{r.kind}"
        content = {t: {"schema": {"type": "object"}} for t in (
            "application/json-patch+json", "application/merge-patch+json",
            "application/apply-patch+yaml")}
        paths[item] = {
            "patch": {"description": f"partially update the specified {r.kind}",
                      "operationId": op_id,
                      "parameters": [{"name": n, "in": "query", "description": n,
                                      "schema": {"type": t, "uniqueItems": True}}
                                     for n, t in PARAMS],
                      "requestBody": {"content": content, "required": True},
                      "responses": {"200": {"description": "OK"},
                                    "201": {"description": "Created"},
                                    "401": {"description": "Unauthorized"}},
                      "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk},
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "description": f"name of the {r.kind}",
                            "schema": {"type": "string", "uniqueItems": True}}]}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": server_version},
            "paths": paths, "components": {}}


def _pb_field(num, payload):
    """A length-delimited protobuf field."""
    out = bytearray([(num << 3) | 2])
    n = len(payload)
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + payload


def v2(server_version, protobuf):
    """An OpenAPI v2 document without paths or definitions."""
    if protobuf:
        # gnostic openapi_v2.Document: swagger=1, info=2 {title=1, version=2}, paths=8.
        info = _pb_field(1, b"Kubernetes") + _pb_field(2, server_version.encode())
        return _pb_field(1, b"2.0") + _pb_field(2, info) + _pb_field(8, b"")
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": server_version},
            "paths": {}, "definitions": {}}
