"""Routing of API requests to discovery, OpenAPI and resource operations (get, list, watch,
create, update, patch, server-side apply, delete, deletecollection, status and scale)."""
import json
import time

import kinds
import labelsel
import openapi
import rbac
import yamlmini
from apply import server_side_apply
from controllers import Controllers
from endpoints import EndpointsControllers
from errors import (ApiError, bad_request, method_not_allowed, not_acceptable, not_found,
                    page_not_found, rbac_forbidden, unsupported_media)
from patch import PatchError, deepcopy, json_patch, merge_patch, strategic_merge
from subresources import Subresources
from writes import Writer, ordered

PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml"]
UPGRADE_SUBRESOURCES = {"exec", "attach", "portforward", "proxy"}


class Request:
    def __init__(self, method, path, query, headers, body, user, groups=()):
        self.groups = list(groups)
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.user = user

    def q(self, name, default=None):
        return self.query.get(name, default)

    def header(self, name, default=""):
        return self.headers.get(name.lower(), default)


class Response:
    def __init__(self, code, body=None, ctype="application/json", headers=None, stream=None):
        self.code = code
        self.body = body
        self.ctype = ctype
        self.headers = headers or {}
        self.stream = stream


def _media(accept):
    """[(type, params)] from an Accept or Content-Type header."""
    out = []
    for part in (accept or "").split(","):
        bits = [b.strip() for b in part.split(";")]
        if not bits[0]:
            continue
        params = dict(b.split("=", 1) for b in bits[1:] if "=" in b)
        out.append((bits[0].lower(), params))
    return out


def wants_as(accept, as_kind, group, versions):
    for mtype, p in _media(accept):
        if p.get("as") == as_kind and p.get("g") == group and p.get("v") in versions:
            return p["v"]
    return None


def accepts_json(accept):
    types = [m for m, _ in _media(accept)]
    return not types or any(t in ("application/json", "*/*", "application/*",
                                  "application/yaml") for t in types)


class Api(Writer, Controllers, EndpointsControllers, Subresources):
    def __init__(self, registry, store, admin, options):
        self.registry = registry
        self.store = store
        self.admin = admin
        self.options = options
        self.authorizer = rbac.Authorizer(store)
        self.sa_tokens = {}  # TokenRequest tokens -> (namespace, ServiceAccount name)
        self.physical = {}  # snapshots.py: snapshot handle -> the storage system's snapshot
        self.snapshot_auto = ("off", "")

    # -- top level ---------------------------------------------------------------------------
    def dispatch(self, req):
        path = req.path
        if path == "/version" or path == "/version/":
            return Response(200, self.options.version_info)
        if path.split("/")[1] in ("healthz", "livez", "readyz"):
            return Response(200, "ok", "text/plain; charset=utf-8")
        accept = req.header("accept")
        if path in ("/api", "/apis", "/api/", "/apis/"):
            v = wants_as(accept, "APIGroupDiscoveryList", "apidiscovery.k8s.io",
                         ("v2", "v2beta1")) if self.admin.aggregated_discovery else None
            legacy = path.startswith("/api") and not path.startswith("/apis")
            if v:
                doc = self.registry.aggregated(legacy, f"apidiscovery.k8s.io/{v}")
                ctype = f"application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"
                return Response(200, doc, ctype, {"Vary": "Accept"})
            if legacy:
                return Response(200, self.registry.api_versions(self.options.address))
            return Response(200, self.registry.api_group_list())
        if path.rstrip("/") == "/openapi/v2":
            if "protobuf" in accept:
                return Response(200, openapi.v2(self.options.git_version, True),
                                "application/octet-stream")
            return Response(200, openapi.v2(self.options.git_version, False))
        if path.startswith("/openapi/"):
            return self.openapi(path)
        parts = [p for p in path.split("/") if p]
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                doc = self.registry.api_group(parts[1])
                if doc is None:
                    raise page_not_found()
                return Response(200, doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise page_not_found()
        if not rest:
            doc = self.registry.resource_list(group, version) if group or version == "v1" \
                else None
            if doc is None:
                raise page_not_found()
            return Response(200, doc)
        return self.resource_request(req, group, version, rest)

    def openapi(self, path):
        if path.rstrip("/") == "/openapi/v3":
            return Response(200, openapi.root(self.registry, self.options.git_version))
        if path.startswith("/openapi/v3/"):
            parts = path[len("/openapi/v3/"):].strip("/").split("/")
            if parts[0] == "api" and len(parts) == 2:
                doc = openapi.group_version(self.registry, "", parts[1], self.options.git_version)
            elif parts[0] == "apis" and len(parts) == 3:
                doc = openapi.group_version(self.registry, parts[1], parts[2],
                                            self.options.git_version)
            else:
                doc = None
            if doc is not None:
                return Response(200, doc)
        raise page_not_found()

    # -- resources ---------------------------------------------------------------------------
    def resource_request(self, req, group, version, rest):
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces" and \
                not (len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise page_not_found()
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        res = self.registry.lookup(group, version, plural)
        if res is None or (res.namespaced and ns is None and name is not None) or \
                (not res.namespaced and ns is not None) or (sub and sub not in res.subresources):
            raise page_not_found()
        m = req.method
        if m == "GET":
            verb = "get" if name else ("watch" if req.q("watch") in ("1", "true") else "list")
        elif m == "POST":
            verb = "create"
        elif m == "PUT":
            verb = "update"
        elif m == "PATCH":
            verb = "patch"
        elif m == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            raise method_not_allowed()
        if verb not in res.verbs and not sub:
            raise method_not_allowed()
        if self.admin.forbidden(verb, group, plural + (f"/{sub}" if sub else ""), ns, name):
            raise rbac_forbidden(req.user, verb, plural, group, sub, name, ns)
        self.authorize(req, verb, group, plural, sub, ns, name)
        if res.virtual:
            return self.review(req, res)
        dry = req.q("dryRun")
        if dry not in (None, "", "All"):
            raise bad_request(f'Invalid dry run value: "{dry}"')
        dry = dry == "All"
        if sub in UPGRADE_SUBRESOURCES:
            raise bad_request("Upgrade request required")
        if verb == "get":
            return self.get(req, res, ns or "", name, sub)
        if verb == "list":
            return self.list(req, res, ns)
        if verb == "watch":
            return self.watch(req, res, ns)
        if verb == "create":
            if name and sub == "token":
                return self.token_request(req, res, ns, name)
            if name and sub == "eviction":
                self.delete(res, ns, name, {}, dry)
                return Response(201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                      "status": "Success", "code": 201})
            if name:
                raise method_not_allowed()
            return self.create(req, res, ns or "", dry)
        if verb == "update":
            return self.update(req, res, ns or "", name, sub, dry)
        if verb == "patch":
            return self.patch(req, res, ns or "", name, sub, dry)
        if verb == "delete":
            opts = self.delete_options(req)
            code, body = self.delete(res, ns or "", name, opts, dry)
            return Response(code, self.view(res, body) if body.get("kind") != "Status" else body)
        return self.delete_collection(req, res, ns, dry)

    def write(self, req, res, old, obj, sub, dry, apply_manager=None):
        """commit() with the request's field manager and fieldValidation; returns
        (stored, created, response headers with the Warning header if any)."""
        directive = req.q("fieldValidation") or "Warn"
        if directive not in ("Strict", "Warn", "Ignore"):
            raise bad_request(f'fieldValidation: Unsupported value: "{directive}": supported '
                              f'values: "Ignore", "Strict", "Warn"')
        warnings = []
        stored, created = self.commit(res, old, obj, apply_manager or self.manager(req), sub,
                                      dry, managed=apply_manager is not None,
                                      validation=directive, warnings=warnings)
        headers = {}
        if warnings:
            headers["Warning"] = ", ".join('299 - "%s"' % w.replace('"', '\\"')
                                           for w in warnings)
        return stored, created, headers

    @staticmethod
    def respond(code, body, headers=None):
        return Response(code, body, headers=headers)

    def view(self, res, obj):
        return ordered(kinds.from_storage(res, obj))

    def manager(self, req):
        fm = req.q("fieldManager")
        if fm:
            if len(fm) > 128:
                raise bad_request("fieldManager: Too long: may not be more than 128 bytes")
            return fm
        return req.header("user-agent").split("/")[0] or "unknown"

    def decode(self, req, patch_type=None):
        ctype = (req.header("content-type") or "application/json").split(";")[0].strip().lower()
        if patch_type is None and ctype not in ("application/json", "application/yaml", "*/*"):
            raise unsupported_media(ctype, ["application/json", "application/yaml"])
        text = req.body.decode("utf-8", "replace")
        try:
            if ctype in ("application/yaml", "application/apply-patch+yaml"):
                return yamlmini.load(text)
            return json.loads(text)
        except ValueError as e:
            what = "yaml" if "yaml" in ctype else "json"
            raise bad_request(f"error decoding {what}: {e}") from None

    def check_body(self, res, obj, ns, name=None):
        if not isinstance(obj, dict):
            raise bad_request("the body of the request was in an unknown format - accepted media "
                              "types include: application/json, application/yaml")
        if res.builtin:
            obj.setdefault("apiVersion", res.api_version)
            obj.setdefault("kind", res.kind)
        if not obj.get("kind"):
            raise bad_request(f"Object 'Kind' is missing in '{json.dumps(obj)[:200]}'")
        if obj.get("apiVersion") != res.api_version:
            raise bad_request(f"the API version in the data ({obj.get('apiVersion')}) does not "
                              f"match the expected API version ({res.api_version})")
        if obj.get("kind") != res.kind:
            raise bad_request(f"the object provided is unrecognized (must be of type {res.kind}): "
                              f"kind {obj.get('kind')!r} in the data")
        meta = obj.setdefault("metadata", {})
        if meta is None:
            meta = obj["metadata"] = {}
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        if name is not None and meta.get("name") and meta["name"] != name:
            raise bad_request(f"the name of the object ({meta['name']}) does not match the name "
                              f"on the URL ({name})")
        if name is not None:
            meta["name"] = name
        return obj

    # -- reads -------------------------------------------------------------------------------
    def get(self, req, res, ns, name, sub):
        obj = self.store.get(res.storage_key, ns, name)
        if obj is None:
            raise not_found(res.plural, res.group, name)
        if sub == "scale":
            return Response(200, self.scale_view(res, obj))
        if sub == "log":
            return Response(200, "", "text/plain")
        out = self.view(res, obj)
        if wants_as(req.header("accept"), "Table", "meta.k8s.io", ("v1", "v1beta1")):
            from tables import table
            return Response(200, table(res, [out], req.q("includeObject"),
                                       {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                       lambda o: o))
        if wants_as(req.header("accept"), "PartialObjectMetadata", "meta.k8s.io",
                    ("v1", "v1beta1")):
            return Response(200, {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                  "metadata": out["metadata"]})
        if not accepts_json(req.header("accept")):
            raise not_acceptable(["application/json", "application/yaml"])
        return Response(200, out)

    def selectors(self, req, res):
        lreqs = labelsel.parse_labels(req.q("labelSelector"))
        freqs = labelsel.parse_fields(req.q("fieldSelector"), res)
        if not lreqs and not freqs:
            return None
        is_event = res.storage_key == ("", "events")

        def pred(o):
            return labelsel.match_labels(lreqs, o["metadata"].get("labels")) and \
                labelsel.match_fields(freqs, o, is_event)
        return pred

    def list(self, req, res, ns):
        pred = self.selectors(req, res)
        try:
            limit = int(req.q("limit") or 0)
        except ValueError:
            raise bad_request(f"invalid limit: {req.q('limit')}") from None
        limit = max(limit, 0)
        cont = req.q("continue")
        with self.store.lock:
            if cont:
                if req.q("resourceVersion") not in (None, ""):
                    raise bad_request("specifying resource version is not allowed when using "
                                      "continue")
                new_token = self.admin.expire_continue(req.path)
                if new_token is not None:
                    raise self.store.expire(cont, ns, new_token)
                rv, start = self.store.decode_continue(cont, ns)
            else:
                rv, start = self.store.rv, None
            items, last, more, remaining = self.store.scan(res.storage_key, ns, start, limit, pred)
        meta = {"resourceVersion": str(rv)}
        if more and limit:
            meta["continue"] = self.store.encode_continue(rv, last)
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        views = [self.view(res, o) for o in items]
        accept = req.header("accept")
        if wants_as(accept, "Table", "meta.k8s.io", ("v1", "v1beta1")):
            from tables import table
            return Response(200, table(res, views, req.q("includeObject"), meta, lambda o: o))
        if wants_as(accept, "PartialObjectMetadataList", "meta.k8s.io", ("v1", "v1beta1")):
            return Response(200, {"kind": "PartialObjectMetadataList",
                                  "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                                  "items": [{"kind": "PartialObjectMetadata",
                                             "apiVersion": "meta.k8s.io/v1",
                                             "metadata": v["metadata"]} for v in views]})
        if not accepts_json(accept):
            raise not_acceptable(["application/json", "application/yaml"])
        if res.builtin:
            views = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                     for o in views]
        return Response(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                              "metadata": meta, "items": views})

    def watch(self, req, res, ns):
        pred = self.selectors(req, res)
        rv_param = req.q("resourceVersion") or ""
        try:
            timeout = int(req.q("timeoutSeconds") or 1800)
        except ValueError:
            raise bad_request("invalid timeoutSeconds") from None
        key = res.storage_key
        as_table = wants_as(req.header("accept"), "Table", "meta.k8s.io", ("v1", "v1beta1"))
        include = req.q("includeObject")

        def matches(o):
            return (not ns or o["metadata"].get("namespace") == ns) and (pred is None or pred(o))

        def line(etype, obj):
            if as_table and etype != "ERROR":
                from tables import table
                obj = table(res, [obj], include,
                            {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                            lambda o: o)
            return (json.dumps({"type": etype, "object": obj}, separators=(",", ":")) +
                    "\n").encode()

        def events():
            deadline = time.monotonic() + timeout
            with self.store.lock:
                if rv_param in ("", "0"):
                    last = self.store.rv
                    initial = [o for o in self.store.all(key, ns) if matches(o)]
                else:
                    try:
                        last = int(rv_param)
                        self.store.check_watch_rv(last)
                    except (ApiError, ValueError) as e:
                        err = e if isinstance(e, ApiError) else bad_request(str(e))
                        status = err.status()
                        status["reason"] = "Expired" if err.code == 410 else status.get("reason")
                        yield line("ERROR", status)
                        return
                    initial = []
            for o in initial:
                yield line("ADDED", self.view(res, o))
            while True:
                with self.store.cond:
                    evs = self.store.events_after(last, key)
                    if not evs:
                        left = deadline - time.monotonic()
                        if left <= 0 or self.options.stopping:
                            return
                        self.store.cond.wait(min(left, 1.0))
                        if last <= self.store.compacted:
                            yield line("ERROR", {"kind": "Status", "apiVersion": "v1",
                                                 "metadata": {}, "status": "Failure",
                                                 "message": "too old resource version",
                                                 "reason": "Expired", "code": 410})
                            return
                        evs = self.store.events_after(last, key)
                for erv, etype, _, obj in evs:
                    last = erv
                    if matches(obj):
                        yield line(etype, self.view(res, obj))
        return Response(200, stream=events(), ctype="application/json")

    # -- writes ------------------------------------------------------------------------------
    def create(self, req, res, ns, dry):
        obj = self.check_body(res, self.decode(req), ns)
        self.check_namespace(res, ns, obj["metadata"].get("name"))
        stored, _, headers = self.write(req, res, None, obj, "", dry)
        return Response(201, self.view(res, stored), headers=headers)

    def update(self, req, res, ns, name, sub, dry):
        body = self.decode(req)
        with self.store.lock:
            old = self.store.get(res.storage_key, ns, name)
            if old is None:
                raise not_found(res.plural, res.group, name)
            if sub == "scale":
                return self.write_scale(req, res, old, body, dry)
            obj = self.check_body(res, body, ns, name)
            if sub != "status":
                self.check_namespace(res, ns, name, creating=False)
            stored, _, headers = self.write(req, res, old, obj, sub, dry)
            return Response(200, self.view(res, stored), headers=headers)

    def authorize(self, req, verb, group, plural, sub, ns, name):
        """RBAC for ServiceAccount tokens (rbac.py); other users are not restricted."""
        if rbac.service_account(req.user) is None:
            return
        a = rbac.Attributes(verb, req.path, group, plural, sub, ns or "", name or "")
        if not self.authorizer.allows(req.user, req.groups, a):
            raise rbac_forbidden(req.user, verb, plural, group, sub, name, ns)

    def patch(self, req, res, ns, name, sub, dry):
        ptype = (req.header("content-type") or "").split(";")[0].strip().lower()
        allowed = PATCH_TYPES if res.builtin else [t for t in PATCH_TYPES if "strategic" not in t]
        if ptype not in allowed:
            raise unsupported_media(ptype, allowed)
        body = self.decode(req, ptype)
        with self.store.lock:
            old = self.store.get(res.storage_key, ns, name)
            if ptype == "application/apply-patch+yaml":
                if old is None:  # an apply that creates is also a create (handlers/patch.go)
                    self.authorize(req, "create", res.group, res.plural, sub, ns, name)
                return self.apply(req, res, ns, name, sub, old, body, dry)
            if old is None:
                raise not_found(res.plural, res.group, name)
            current = self.scale_view(res, old) if sub == "scale" else self.view(res, old)
            try:
                if ptype == "application/json-patch+json":
                    patched = json_patch(current, body)
                elif ptype == "application/merge-patch+json":
                    if not isinstance(body, dict):
                        raise bad_request("merge patch must be a JSON object")
                    patched = merge_patch(current, body)
                else:
                    if not isinstance(body, dict):
                        raise bad_request("strategic merge patch must be a JSON object")
                    patched = strategic_merge(current, body, res.kind)
            except PatchError as e:
                raise ApiError(422, "Invalid", str(e), {}) from None
            if sub == "scale":
                return self.write_scale(req, res, old, patched, dry)
            obj = self.check_body(res, patched, ns, name)
            stored, _, headers = self.write(req, res, old, obj, sub, dry)
            return Response(200, self.view(res, stored), headers=headers)

    def apply(self, req, res, ns, name, sub, old, body, dry):
        if not req.q("fieldManager"):
            raise bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be "
                              "set")
        if not isinstance(body, dict):
            raise bad_request("error decoding YAML: the applied configuration is not an object")
        if body.get("apiVersion") != res.api_version or body.get("kind") != res.kind:
            raise bad_request(f"the API version in the data ({body.get('apiVersion')}) does not "
                              f"match the expected API version ({res.api_version})"
                              if body.get("apiVersion") != res.api_version else
                              f"the object provided is unrecognized (must be of type {res.kind})")
        body = self.check_body(res, body, ns, name)
        if (body.get("metadata") or {}).get("managedFields"):
            raise bad_request("metadata.managedFields must be nil")
        force = req.q("force") in ("true", "1")
        manager = req.q("fieldManager")
        live = self.view(res, old) if old is not None else None
        if old is None:
            self.check_namespace(res, ns, name)
        merged = server_side_apply(deepcopy(live) if live else None, body, manager, force,
                                   res.api_version, kinds.now(), res.kind, sub, res.has_status)
        stored, created, headers = self.write(req, res, old, merged, sub, dry, manager)
        return Response(201 if created else 200, self.view(res, stored), headers=headers)

    def delete_options(self, req):
        opts = {}
        if req.body.strip():
            try:
                opts = json.loads(req.body)
            except ValueError as e:
                raise bad_request(f"error decoding DeleteOptions: {e}") from None
        for k in ("propagationPolicy", "gracePeriodSeconds"):
            if req.q(k) is not None:
                opts[k] = req.q(k)
        if (opts.get("propagationPolicy") or "Background") not in ("Background", "Foreground",
                                                                     "Orphan"):
            raise bad_request(f"propagationPolicy: Unsupported value: "
                              f"\"{opts['propagationPolicy']}\"")
        return opts

    def delete_collection(self, req, res, ns, dry):
        pred = self.selectors(req, res)
        opts = self.delete_options(req)
        deleted = []
        with self.store.lock:
            items = self.store.scan(res.storage_key, ns, None, 0, pred)[0]
            for o in items:
                m = o["metadata"]
                self.delete(res, m.get("namespace", ""), m["name"], opts, dry)
                deleted.append(self.view(res, o))
            rv = self.store.rv
        if res.builtin:
            deleted = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                       for o in deleted]
        return Response(200, {"kind": res.list_kind, "apiVersion": res.api_version,
                              "metadata": {"resourceVersion": str(rv)}, "items": deleted})
