"""Fault injection and the request log, driven through /__admin/ (see README.md)."""
import collections
import re
import threading
import time

from errors import (ApiError, bad_request, internal, too_many_requests, unavailable)

VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}


class Admin:
    def __init__(self):
        self.lock = threading.Lock()
        self.fail_rules = []
        self.latency = []
        self.forbid = []
        self.log = collections.deque(maxlen=200000)
        self.seq = 0
        self.aggregated_discovery = True
        self.expire_rules = []
        # False: no inline Job controller nor kubelet for Jobs' pods; the test drives them.
        self.job_controller = True

    # -- configuration ---------------------------------------------------------------------
    def configure(self, body, store):
        if not isinstance(body, dict):
            raise bad_request("admin body must be a JSON object")
        applied = []
        with self.lock:
            if body.get("reset"):
                self.fail_rules, self.latency, self.forbid = [], [], []
                self.expire_rules = []
                self.aggregated_discovery = True
                self.job_controller = True
                applied.append("reset")
            if body.get("clear_requests"):
                self.log.clear()
                applied.append("clear_requests")
            for rule in _as_list(body.get("fail")):
                status = int(rule.get("status", 503))
                if status not in (0, 429, 500, 502, 503, 504):
                    raise bad_request("fail.status must be one of 0, 429, 500, 502, 503, 504")
                self.fail_rules.append({
                    "regex": re.compile(rule.get("path_regex", ".*")),
                    "path_regex": rule.get("path_regex", ".*"),
                    "method": (rule.get("method") or "").upper() or None,
                    "status": status, "count": int(rule.get("count", 1)),
                    "retry_after": rule.get("retry_after", 1 if status == 429 else None),
                    "message": rule.get("message")})
                applied.append("fail")
            if "latency_ms" in body:
                self.latency = [r for r in self.latency if r["path_regex"] != ".*"]
                if int(body["latency_ms"]) > 0:
                    self.latency.append({"regex": re.compile(".*"), "path_regex": ".*",
                                         "ms": int(body["latency_ms"]), "count": -1})
                applied.append("latency_ms")
            for rule in _as_list(body.get("latency")):
                self.latency.append({"regex": re.compile(rule.get("path_regex", ".*")),
                                     "path_regex": rule.get("path_regex", ".*"),
                                     "ms": int(rule.get("ms", 0)),
                                     "count": int(rule.get("count", -1))})
                applied.append("latency")
            for rule in _as_list(body.get("forbid")):
                verb = rule.get("verb", "*")
                if verb != "*" and verb not in VERBS:
                    raise bad_request(f"forbid.verb must be * or one of {sorted(VERBS)}")
                self.forbid.append({"resource": rule.get("resource", "*"), "verb": verb,
                                    "group": rule.get("group"), "namespace": rule.get("namespace"),
                                    "name": rule.get("name")})
                applied.append("forbid")
            for rule in _as_list(body.get("unforbid")):
                self.forbid = [f for f in self.forbid if f["resource"] != rule.get("resource")]
                applied.append("unforbid")
            for rule in _as_list(body.get("expire_continue")):
                self.expire_rules.append({"regex": re.compile(rule.get("path_regex", ".*")),
                                          "path_regex": rule.get("path_regex", ".*"),
                                          "count": int(rule.get("count", 1)),
                                          "new_token": bool(rule.get("new_token", True))})
                applied.append("expire_continue")
            if "job_controller" in body:
                self.job_controller = bool(body["job_controller"])
                applied.append("job_controller")
            if "aggregated_discovery" in body:
                self.aggregated_discovery = bool(body["aggregated_discovery"])
                applied.append("aggregated_discovery")
        if body.get("expire_continue_tokens"):
            store.compact()
            applied.append("expire_continue_tokens")
        return {"applied": applied, "state": self.state()}

    def state(self):
        return {"fail": [{k: v for k, v in r.items() if k != "regex"} for r in self.fail_rules],
                "latency": [{k: v for k, v in r.items() if k != "regex"} for r in self.latency],
                "forbid": list(self.forbid), "aggregated_discovery": self.aggregated_discovery,
                "job_controller": self.job_controller,
                "expire_continue": [{k: v for k, v in r.items() if k != "regex"}
                                    for r in self.expire_rules]}

    # -- per request -------------------------------------------------------------------------
    def record(self, method, path, query, user, agent):
        with self.lock:
            self.seq += 1
            entry = {"seq": self.seq, "time": time.time(), "method": method, "path": path,
                     "query": query, "user": user, "userAgent": agent, "status": None}
            self.log.append(entry)
            return entry

    def requests(self, since=0):
        with self.lock:
            return [dict(e) for e in self.log if e["seq"] > since]

    def delay(self, method, target):
        total = 0
        with self.lock:
            for r in self.latency:
                if r["count"] != 0 and r["regex"].search(target):
                    total += r["ms"]
                    if r["count"] > 0:
                        r["count"] -= 1
            self.latency = [r for r in self.latency if r["count"] != 0]
        if total:
            time.sleep(total / 1000.0)

    def fault(self, method, target):
        """The injected failure for this request: None, "abort", or an ApiError."""
        with self.lock:
            for r in self.fail_rules:
                if r["count"] == 0 or not r["regex"].search(target):
                    continue
                if r["method"] and r["method"] != method:
                    continue
                r["count"] -= 1
                status = r["status"]
                self.fail_rules = [x for x in self.fail_rules if x["count"] != 0]
                if status == 0:
                    return "abort"
                if status == 429:
                    err = too_many_requests(int(r["retry_after"] or 1))
                elif status == 500:
                    err = internal(r["message"] or "injected fault")
                elif status == 503:
                    err = unavailable(r["message"] or
                                      "the server is currently unable to handle the request")
                else:
                    err = ApiError(status, "InternalError" if status == 502 else "Timeout",
                                   r["message"] or f"injected {status}", {})
                if r["retry_after"] is not None:
                    err.headers["Retry-After"] = str(r["retry_after"])
                return err
        return None

    def expire_continue(self, path):
        """None, or whether the expired answer carries a new token, for a list request with a
        continue token whose path matches an expire_continue rule (counted down)."""
        with self.lock:
            for r in self.expire_rules:
                if r["count"] != 0 and r["regex"].search(path):
                    r["count"] -= 1
                    self.expire_rules = [x for x in self.expire_rules if x["count"] != 0]
                    return r["new_token"]
        return None

    def forbidden(self, verb, group, resource, ns, name):
        with self.lock:
            for f in self.forbid:
                if f["resource"] not in ("*", resource):
                    continue
                if f["verb"] not in ("*", verb):
                    continue
                if f["group"] is not None and f["group"] != group:
                    continue
                if f["namespace"] is not None and f["namespace"] != ns:
                    continue
                if f["name"] is not None and f["name"] != name:
                    continue
                return True
        return False


def _as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]
