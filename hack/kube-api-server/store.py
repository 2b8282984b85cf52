"""Object storage: one sorted table per stored resource (keyed like etcd, "namespace/name"), one
global resourceVersion, continue tokens, and the change history watches are served from.

Stored objects are never mutated in place: writers build a new dict and put() it."""
import base64
import binascii
import bisect
import collections
import json
import threading

from errors import bad_request, expired, gone


class _Table:
    __slots__ = ("objs", "keys")

    def __init__(self):
        self.objs = {}
        self.keys = []


def obj_key(ns, name):
    return f"{ns}/{name}" if ns else name


def _prefix_end(prefix):
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


EXPIRED_MESSAGE = ("The provided continue parameter is too old to display a consistent list "
                   "result. You can start a new list without the continue parameter, or use the "
                   "continue token in this response to retrieve the remainder of the results. "
                   "Continuing with the provided token results in an inconsistent list - objects "
                   "that were created, modified, or deleted between the time the first chunk was "
                   "returned and now may show up in the list.")


class Store:
    def __init__(self, history=100000):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 1
        self.compacted = 0
        self.tables = collections.defaultdict(_Table)
        self.history = collections.deque(maxlen=history)

    # -- basic operations ------------------------------------------------------------------
    def get(self, key, ns, name):
        with self.lock:
            t = self.tables.get(key)
            return t.objs.get(obj_key(ns, name)) if t else None

    def put(self, key, obj):
        """Stores obj (assigning a new resourceVersion to it) and returns it."""
        with self.lock:
            meta = obj["metadata"]
            k = obj_key(meta.get("namespace", ""), meta["name"])
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            t = self.tables[key]
            etype = "MODIFIED" if k in t.objs else "ADDED"
            if etype == "ADDED":
                bisect.insort(t.keys, k)
            t.objs[k] = obj
            self.history.append((self.rv, etype, key, obj))
            self.cond.notify_all()
            return obj

    def delete(self, key, ns, name):
        with self.lock:
            t = self.tables.get(key)
            k = obj_key(ns, name)
            if not t or k not in t.objs:
                return None
            obj = t.objs.pop(k)
            del t.keys[bisect.bisect_left(t.keys, k)]
            self.rv += 1
            gone_obj = dict(obj)
            gone_obj["metadata"] = dict(obj["metadata"], resourceVersion=str(self.rv))
            self.history.append((self.rv, "DELETED", key, gone_obj))
            self.cond.notify_all()
            return obj

    def drop_table(self, key):
        with self.lock:
            t = self.tables.pop(key, None)
            return list(t.objs.values()) if t else []

    def count(self, key):
        with self.lock:
            t = self.tables.get(key)
            return len(t.keys) if t else 0

    def all(self, key, ns=None):
        with self.lock:
            return self.scan(key, ns, None, 0, None)[0]

    # -- listing ---------------------------------------------------------------------------
    def scan(self, key, ns, start, limit, pred):
        """Objects of a table in key order from `start` (exclusive key) on, at most `limit`
        matching pred. Returns (items, last_key_examined, more, remaining_count)."""
        with self.lock:
            t = self.tables.get(key)
            if not t:
                return [], None, False, None
            keys = t.keys
            if ns:
                prefix = ns + "/"
                lo = bisect.bisect_left(keys, prefix)
                hi = bisect.bisect_left(keys, _prefix_end(prefix))
            else:
                lo, hi = 0, len(keys)
            if start is not None:
                lo = max(lo, bisect.bisect_right(keys, start))
            items = []
            i = lo
            while i < hi:
                o = t.objs[keys[i]]
                i += 1
                if pred is None or pred(o):
                    items.append(o)
                    if limit and len(items) >= limit:
                        break
            more = i < hi
            remaining = (hi - i) if more and pred is None else None
            return items, keys[i - 1] if i > lo else None, more, remaining

    # -- continue tokens -------------------------------------------------------------------
    @staticmethod
    def encode_continue(rv, last_key):
        token = {"v": "meta.k8s.io/v1", "rv": rv, "start": last_key + "\x00"}
        raw = json.dumps(token, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode_continue(self, token, ns):
        """Returns (rv, start_key_exclusive) or raises 400/410."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            data = json.loads(raw)
            if data.get("v") != "meta.k8s.io/v1":
                raise ValueError("continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)")
            rv = int(data["rv"])
            start = data["start"]
            if rv == 0:
                raise ValueError("continue key is not valid: incorrect encoded start "
                                 "resourceVersion (version meta.k8s.io/v1)")
        except (ValueError, KeyError, TypeError, binascii.Error) as e:
            msg = str(e) if str(e).startswith("continue key") else \
                "continue key is not valid: illegal base64 data at input byte 0"
            raise bad_request(msg) from None
        if not start.endswith("\x00") or start.startswith("/") or ".." in start:
            raise bad_request("continue key is not valid: invalid start key")
        start = start[:-1]
        if ns and not start.startswith(ns + "/"):
            raise bad_request("continue key is not valid: key is outside the namespace")
        with self.lock:
            if rv < 0:  # an inconsistent continuation: the rest of the list as it is now
                return self.rv, start
            if rv <= self.compacted or rv > self.rv:
                raise expired(EXPIRED_MESSAGE, self.encode_continue(-1, start))
        return rv, start

    def expire(self, token, ns, with_new_token=True):
        """The 410 a compaction would give `token` (for the admin API's expire_continue rule);
        with_new_token=False is the answer without a token to continue with."""
        _, start = self.decode_continue(token, ns)
        if not with_new_token:
            return expired("The provided continue parameter is too old to display a consistent "
                           "list result. You can start a new list without the continue "
                           "parameter.")
        return expired(EXPIRED_MESSAGE, self.encode_continue(-1, start))

    def compact(self):
        """Expires every continue token and watch resourceVersion issued so far."""
        with self.lock:
            self.compacted = self.rv
            self.rv += 1
            self.history.clear()

    # -- watch -----------------------------------------------------------------------------
    def check_watch_rv(self, rv):
        with self.lock:
            oldest = self.history[0][0] if self.history else self.rv + 1
            if rv < self.compacted or (rv < oldest - 1 and rv < self.rv):
                raise gone(f"too old resource version: {rv} ({self.rv})")

    def events_after(self, rv, key):
        """History entries of one table newer than rv (caller holds the lock)."""
        out = []
        for entry in reversed(self.history):
            if entry[0] <= rv:
                break
            if entry[2] == key:
                out.append(entry)
        out.reverse()
        return out
