#!/usr/bin/env python3
"""Fault-injecting HTTP/1.1 reverse proxy for S3 client tests.

Sits between an S3 client (cairn, curl, ...) and a real S3 server
(e.g. Ceph radosgw) and forwards requests byte-for-byte (request line,
headers -- including Host, which SigV4 signs -- and bodies), streaming
bodies in 64 KiB pieces.  Faults are configured at runtime through an
admin API under /__fault/ on the same port (never forwarded).

Python 3 standard library only.  See tests/harness/README.md.
"""

import argparse
import json
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 64 * 1024
MAX_LINE = 65536
ADMIN_PREFIX = "/__fault/"
UPSTREAM_TIMEOUT = 300.0

# ---------------------------------------------------------------------------
# Fault configuration
# ---------------------------------------------------------------------------

# code -> (status, message)
S3_CODES = {
    "SlowDown": (503, "Please reduce your request rate."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "BadGateway": (502, "Bad gateway."),
    "GatewayTimeout": (504, "Gateway timeout."),
    "RequestTimeout": (400, "Your socket connection to the server was not read "
                            "from or written to within the timeout period."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and "
                                  "the current time is too large."),
    "AccessDenied": (403, "Access Denied"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "TooManyRequests": (429, "Too many requests."),
}
# status -> default code
STATUS_CODES = {
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
    400: "RequestTimeout",
    403: "AccessDenied",
    404: "NoSuchKey",
    429: "TooManyRequests",
}

DEFAULT_CONFIG = {
    "error_rate": 0.0,
    "errors": ["SlowDown", 500, 503],
    "reset_rate": 0.0,
    "truncate_rate": 0.0,
    "latency_ms": 0,
    "corrupt_get_rate": 0.0,
    "methods": None,
    "path_regex": None,
    "seed": None,
    "max_faults": None,
}


class ConfigError(ValueError):
    pass


def resolve_error(spec):
    """Turn an `errors` list entry into (status, code, message)."""
    if isinstance(spec, bool):
        raise ConfigError("bad error spec %r" % (spec,))
    if isinstance(spec, int):
        code = STATUS_CODES.get(spec, "InternalError" if spec >= 500 else "InvalidRequest")
        msg = S3_CODES.get(code, (spec, "Injected fault."))[1]
        return spec, code, msg
    if isinstance(spec, str):
        if spec.isdigit():
            return resolve_error(int(spec))
        if spec not in S3_CODES:
            raise ConfigError("unknown S3 error code %r (known: %s; or give a dict "
                              "{status, code, message})" % (spec, ", ".join(sorted(S3_CODES))))
        status, msg = S3_CODES[spec]
        return status, spec, msg
    if isinstance(spec, dict):
        try:
            status = int(spec["status"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError("error dict needs an integer 'status': %r" % (spec,))
        code = str(spec.get("code") or STATUS_CODES.get(status, "InternalError"))
        msg = str(spec.get("message") or S3_CODES.get(code, (status, "Injected fault."))[1])
        return status, code, msg
    raise ConfigError("bad error spec %r" % (spec,))


def validate_config(raw):
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    unknown = set(raw) - set(DEFAULT_CONFIG)
    if unknown:
        raise ConfigError("unknown config keys: %s" % ", ".join(sorted(unknown)))
    cfg = dict(DEFAULT_CONFIG)
    cfg.update(raw)
    for k in ("error_rate", "reset_rate", "truncate_rate", "corrupt_get_rate"):
        try:
            cfg[k] = float(cfg[k] or 0.0)
        except (TypeError, ValueError):
            raise ConfigError("%s must be a number" % k)
        if not 0.0 <= cfg[k] <= 1.0:
            raise ConfigError("%s must be within [0, 1]" % k)
    if cfg["error_rate"] + cfg["reset_rate"] + cfg["truncate_rate"] > 1.0 + 1e-9:
        raise ConfigError("error_rate + reset_rate + truncate_rate must be <= 1")
    try:
        cfg["latency_ms"] = float(cfg["latency_ms"] or 0)
    except (TypeError, ValueError):
        raise ConfigError("latency_ms must be a number")
    if cfg["latency_ms"] < 0:
        raise ConfigError("latency_ms must be >= 0")
    errs = cfg["errors"]
    if not isinstance(errs, list) or not errs:
        raise ConfigError("errors must be a non-empty list")
    for e in errs:
        resolve_error(e)
    if cfg["methods"] is not None:
        if not isinstance(cfg["methods"], list) or not all(isinstance(m, str) for m in cfg["methods"]):
            raise ConfigError("methods must be a list of strings")
        cfg["methods"] = [m.upper() for m in cfg["methods"]]
    if cfg["path_regex"] is not None:
        try:
            re.compile(cfg["path_regex"])
        except (re.error, TypeError) as e:
            raise ConfigError("bad path_regex: %s" % e)
    for k in ("seed", "max_faults"):
        if cfg[k] is not None and (isinstance(cfg[k], bool) or not isinstance(cfg[k], int)):
            raise ConfigError("%s must be an integer or null" % k)
    return cfg


class Decision:
    __slots__ = ("kind", "error", "frac", "corrupt", "corrupt_frac", "latency", "req_no")

    def __init__(self):
        self.kind = None        # None | "error" | "reset" | "truncate"
        self.error = None       # (status, code, message)
        self.frac = 0.0         # where to cut for truncate/reset
        self.corrupt = False
        self.corrupt_frac = 0.0
        self.latency = 0.0
        self.req_no = 0


class FaultState:
    """Config + RNG + counters, all guarded by one lock."""

    COUNTERS = ("requests", "forwarded", "error", "reset", "truncate", "corrupt",
                "latency", "upstream_error", "outages")

    def __init__(self):
        self.lock = threading.Lock()
        self.stats = {k: 0 for k in self.COUNTERS}
        self.error_codes = {}
        self.set_config({})

    def set_config(self, raw):
        cfg = validate_config(raw)
        with self.lock:
            self.cfg = cfg
            self.path_re = re.compile(cfg["path_regex"]) if cfg["path_regex"] is not None else None
            self.errors = [resolve_error(e) for e in cfg["errors"]]
            self.rng = random.Random(cfg["seed"]) if cfg["seed"] is not None else random.Random()
            self.faults_left = cfg["max_faults"]
        return cfg

    def get_config(self):
        with self.lock:
            return dict(self.cfg)

    def bump(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def count_error(self, code):
        with self.lock:
            self.stats["error"] += 1
            self.error_codes[code] = self.error_codes.get(code, 0) + 1

    def snapshot(self):
        with self.lock:
            out = dict(self.stats)
            out["error_codes"] = dict(self.error_codes)
            out["faults_left"] = self.faults_left
            return out

    def clear_stats(self):
        with self.lock:
            self.stats = {k: 0 for k in self.COUNTERS}
            self.error_codes = {}

    def decide(self, method, path):
        """Draw every random choice for one request under the lock, in a
        fixed order, so a seeded run is reproducible for a given request
        sequence."""
        d = Decision()
        with self.lock:
            self.stats["requests"] += 1
            d.req_no = self.stats["requests"]
            cfg = self.cfg
            if cfg["methods"] is not None and method.upper() not in cfg["methods"]:
                return d
            if self.path_re is not None and not self.path_re.search(path):
                return d
            d.latency = cfg["latency_ms"] / 1000.0
            if self.faults_left is not None and self.faults_left <= 0:
                return d
            rng = self.rng
            r = rng.random()
            er, rr, tr = cfg["error_rate"], cfg["reset_rate"], cfg["truncate_rate"]
            if r < er:
                d.kind = "error"
                d.error = self.errors[rng.randrange(len(self.errors))]
            elif r < er + rr:
                d.kind = "reset"
                d.frac = rng.random()
            elif r < er + rr + tr:
                d.kind = "truncate"
                d.frac = rng.random()
            if d.kind is None and method.upper() == "GET" and cfg["corrupt_get_rate"] > 0:
                if rng.random() < cfg["corrupt_get_rate"]:
                    d.corrupt = True
                    d.corrupt_frac = rng.random()
            if (d.kind or d.corrupt) and self.faults_left is not None:
                self.faults_left -= 1
        return d


# ---------------------------------------------------------------------------
# Low-level helpers
# ---------------------------------------------------------------------------

class UpstreamError(Exception):
    pass


class SourceEOF(UpstreamError):
    """The side we were reading from closed early."""


class ClientGone(Exception):
    pass


def read_line(f):
    line = f.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise UpstreamError("line too long")
    return line


def read_header_block(f):
    """Read header lines up to and including the blank line; return raw lines."""
    lines = []
    while True:
        line = read_line(f)
        if not line:
            raise UpstreamError("EOF inside header block")
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return lines
        if len(lines) > 200:
            raise UpstreamError("too many header lines")


def parse_headers(lines):
    out = {}
    for line in lines:
        if b":" not in line:
            continue
        k, v = line.split(b":", 1)
        k = k.strip().lower().decode("latin-1")
        v = v.strip().decode("latin-1")
        out[k] = (out[k] + ", " + v) if k in out else v
    return out


def wait_send_queue_drained(sock, timeout=1.0):
    """Wait (Linux: TIOCOUTQ) until sent data was acked, so that a following
    RST does not discard what we just wrote."""
    TIOCOUTQ = 0x5411
    deadline = time.monotonic() + timeout
    try:
        import fcntl
        while time.monotonic() < deadline:
            buf = fcntl.ioctl(sock.fileno(), TIOCOUTQ, b"\0\0\0\0")
            if struct.unpack("i", buf)[0] == 0:
                return
            time.sleep(0.002)
    except (ImportError, OSError):
        time.sleep(0.05)


def copy_exact(src, n, write, cut=None, flip=None):
    """Copy n bytes from src to write().  Stop after `cut` bytes if given
    (returns False).  XOR 0xFF the byte at offset `flip` if given."""
    off = 0
    limit = n if cut is None else min(cut, n)
    while off < limit:
        data = src.read(min(CHUNK, limit - off))
        if not data:
            raise SourceEOF("EOF with %d body bytes outstanding" % (n - off))
        if flip is not None and off <= flip < off + len(data):
            b = bytearray(data)
            b[flip - off] ^= 0xFF
            data = bytes(b)
        write(data)
        off += len(data)
    return cut is None or cut >= n


def copy_chunked(src, write, cut_frac=None, flip_frac=None):
    """Relay a chunked body verbatim (framing included).  cut/flip apply to
    the first non-empty chunk (total size is unknown up front).  Returns
    False if the body was cut short."""
    first = True
    while True:
        line = read_line(src)
        if not line:
            raise SourceEOF("EOF in chunked body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise UpstreamError("bad chunk size line %r" % line[:80])
        write(line)
        if size == 0:
            # trailers up to blank line
            while True:
                t = read_line(src)
                if not t:
                    raise SourceEOF("EOF in chunked trailers")
                write(t)
                if t in (b"\r\n", b"\n"):
                    return True
        cut = flip = None
        if first:
            if cut_frac is not None:
                cut = int(cut_frac * size)
            if flip_frac is not None:
                flip = int(flip_frac * size)
            first = False
        if not copy_exact(src, size, write, cut=cut, flip=flip):
            return False
        crlf = read_line(src)
        if crlf not in (b"\r\n", b"\n"):
            raise UpstreamError("missing CRLF after chunk")
        write(crlf)


class Upstream:
    """One upstream connection, tied to one client connection."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = None
        self.rfile = None

    def close(self):
        if self.rfile is not None:
            try:
                self.rfile.close()
            except OSError:
                pass
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def ensure(self):
        """Connect if needed; returns True if this is a reused connection."""
        if self.sock is not None:
            try:
                r, _, _ = select.select([self.sock], [], [], 0)
            except (OSError, ValueError):
                r = [True]
            if r:
                # Readable while idle: EOF or junk -> stale.
                self.close()
            else:
                return True
        try:
            self.sock = socket.create_connection((self.host, self.port), timeout=UPSTREAM_TIMEOUT)
        except OSError as e:
            self.sock = None
            raise UpstreamError("connect to upstream %s:%s failed: %s" % (self.host, self.port, e))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb", buffering=CHUNK)
        return False

    def sendall(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise UpstreamError("send to upstream failed: %s" % e)


# ---------------------------------------------------------------------------
# HTTP handler
# ---------------------------------------------------------------------------

def s3_error_body(code, message, req_no, resource=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            "<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource>"
            "<RequestId>fault-%d</RequestId></Error>"
            % (code, message, _xml_escape(resource), req_no)).encode()


def _xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"
    sys_version = ""

    # -- plumbing -------------------------------------------------------

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.upstream = Upstream(self.server.upstream_host, self.server.upstream_port)
        self._reset_done = False
        self.server.track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)
            self.upstream.close()

    def log_message(self, fmt, *args):
        if self.server.verbosity >= 2:
            sys.stderr.write("fault_proxy: %s %s\n" % (self.address_string(), fmt % args))

    def log_fault(self, msg):
        if self.server.verbosity >= 1:
            sys.stderr.write("fault_proxy: FAULT %s %s: %s\n" % (self.command, self.path, msg))
            sys.stderr.flush()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout, ClientGone):
            self.close_connection = True
        if self._reset_done:
            self.close_connection = True

    def client_write(self, data):
        try:
            self.wfile.write(data)
        except OSError as e:
            raise ClientGone(str(e))

    def abort_with_rst(self):
        """Close the client socket so the peer sees ECONNRESET."""
        sock = self.connection
        try:
            wait_send_queue_drained(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass
        self._reset_done = True
        self.close_connection = True

    def request_body_framing(self):
        te = self.headers.get("Transfer-Encoding")
        if te and "chunked" in te.lower():
            return "chunked", None
        cl = self.headers.get("Content-Length")
        if cl is not None:
            try:
                n = int(cl)
                if n < 0:
                    raise ValueError
            except ValueError:
                return "bad", None
            return "length", n
        return "none", 0

    def drain_request_body(self):
        kind, n = self.request_body_framing()
        sink = lambda data: None
        try:
            if kind == "length":
                copy_exact(self.rfile, n, sink)
            elif kind == "chunked":
                copy_chunked(self.rfile, sink)
            elif kind == "bad":
                self.close_connection = True
        except UpstreamError:  # client EOF while draining
            raise ClientGone("client closed while sending body")

    def send_simple(self, status, body, ctype, extra_headers=(), head_only=False):
        reason = self.responses.get(status, ("Error",))[0]
        hdrs = ["HTTP/1.1 %d %s" % (status, reason),
                "Content-Type: %s" % ctype,
                "Content-Length: %d" % len(body),
                "Date: %s" % self.date_time_string(),
                "Server: fault-proxy"]
        hdrs.extend(extra_headers)
        if self.close_connection:
            hdrs.append("Connection: close")
        data = ("\r\n".join(hdrs) + "\r\n\r\n").encode("latin-1")
        if not head_only:
            data += body
        self.client_write(data)

    # -- dispatch -------------------------------------------------------

    def handle_any(self):
        if self.path.startswith(ADMIN_PREFIX):
            return self.handle_admin()
        state = self.server.state
        d = state.decide(self.command, self.path)
        if self.server.verbosity >= 2:
            self.log_message('"%s" fault=%s%s', self.requestline, d.kind or "none",
                             " +corrupt" if d.corrupt else "")
        if d.latency > 0:
            state.bump("latency")
            time.sleep(d.latency)
        if d.kind == "error":
            return self.inject_error(d)
        return self.forward(d)

    # -- admin ----------------------------------------------------------

    def handle_admin(self):
        state = self.server.state
        kind, n = self.request_body_framing()
        body = b""
        if kind == "length":
            body = self.rfile.read(n)
        elif kind != "none":
            self.drain_request_body()
        route = self.path[len(ADMIN_PREFIX):].split("?", 1)[0].strip("/")
        m = self.command
        try:
            if route == "config" and m == "POST":
                raw = json.loads(body.decode() or "{}")
                cfg = state.set_config(raw)
                if self.server.verbosity >= 1:
                    sys.stderr.write("fault_proxy: admin: config set: %s\n" % json.dumps(raw, sort_keys=True))
                    sys.stderr.flush()
                return self.admin_reply(200, cfg)
            if route == "config" and m == "GET":
                return self.admin_reply(200, state.get_config())
            if route == "reset" and m == "POST":
                return self.admin_reply(200, state.set_config({}))
            if route == "stats" and m == "GET":
                return self.admin_reply(200, state.snapshot())
            if route == "clear-stats" and m == "POST":
                state.clear_stats()
                return self.admin_reply(200, state.snapshot())
            if route == "outage" and m == "POST":
                seconds = float(json.loads(body.decode() or "{}").get("seconds", 0))
                if not 0 < seconds <= 3600:
                    raise ValueError("outage needs 0 < seconds <= 3600")
                state.bump("outages")
                self.close_connection = True
                self.admin_reply(200, {"outage_seconds": seconds})
                self.server.start_outage(seconds, keep=self.connection)
                return None
            return self.admin_reply(404, {"error": "unknown admin endpoint %s %s" % (m, self.path)})
        except (ConfigError, ValueError) as e:
            return self.admin_reply(400, {"error": str(e)})

    def admin_reply(self, status, obj):
        body = (json.dumps(obj, sort_keys=True) + "\n").encode()
        self.send_simple(status, body, "application/json", head_only=self.command == "HEAD")

    # -- faults ---------------------------------------------------------

    def inject_error(self, d):
        status, code, message = d.error
        self.drain_request_body()
        self.server.state.count_error(code)
        self.log_fault("error %d %s" % (status, code))
        body = s3_error_body(code, message, d.req_no, self.path.split("?", 1)[0])
        extra = ["x-amz-request-id: fault-%d" % d.req_no]
        if status == 503:
            extra.append("Retry-After: 1")
        self.send_simple(status, body, "application/xml", extra, head_only=self.command == "HEAD")

    def upstream_failed(self, err):
        self.server.state.bump("upstream_error")
        sys.stderr.write("fault_proxy: upstream error for %s %s: %s\n" % (self.command, self.path, err))
        self.upstream.close()
        # Be conservative after upstream trouble: the client may still have
        # unread body bytes in flight.
        self.close_connection = True
        body = s3_error_body("BadGateway", "fault_proxy: %s" % _xml_escape(str(err)),
                             0, self.path.split("?", 1)[0])
        try:
            self.send_simple(502, body, "application/xml", head_only=self.command == "HEAD")
        except ClientGone:
            pass

    # -- forwarding -----------------------------------------------------

    def build_request_head(self):
        lines = [self.raw_requestline.rstrip(b"\r\n") + b"\r\n"]
        for k, v in self.headers.items():
            lines.append(("%s: %s\r\n" % (k, v)).encode("latin-1"))
        lines.append(b"\r\n")
        return b"".join(lines)

    def forward(self, d):
        kind, n = self.request_body_framing()
        if kind == "bad":
            self.close_connection = True
            return self.send_simple(400, b"bad Content-Length\n", "text/plain")
        head = self.build_request_head()
        up = self.upstream
        no_body = kind == "none" or (kind == "length" and n == 0)

        # A reused idle upstream connection may turn out to be dead (closed
        # by the server while idle).  Retry once on a fresh connection when
        # that is safe: failure while sending the head, or EOF before the
        # status line for a request without body.
        for attempt in (0, 1):
            reused = False
            try:
                reused = up.ensure()
                up.sendall(head)
            except UpstreamError as e:
                up.close()
                if attempt == 0 and reused:
                    continue
                return self.upstream_failed(e)
            if attempt == 0:
                self.server.state.bump("forwarded")

            # Stream the request body.  The upstream may answer early (e.g.
            # radosgw rejects a bad signature with 403 right after the head
            # when it sees Expect: 100-continue, without reading the body):
            # then stop sending, drain the rest of the client's body and relay
            # that early response.
            early = None        # (status, status_line, hdr_lines)
            send_err = None

            def send_body(data):
                nonlocal early, send_err
                if early is not None or send_err is not None:
                    return
                try:
                    r, _, _ = select.select([up.sock], [], [], 0)
                    while r and early is None:
                        st, sl, hl = self.read_response_head(up)
                        if 100 <= st < 200 and st != 101:
                            r, _, _ = select.select([up.sock], [], [], 0)
                            continue
                        early = (st, sl, hl)
                    if early is None:
                        up.sendall(data)
                except (UpstreamError, OSError) as e:
                    send_err = e

            try:
                if kind == "length":
                    copy_exact(self.rfile, n, send_body)
                elif kind == "chunked":
                    copy_chunked(self.rfile, send_body)
            except SourceEOF as e:
                raise ClientGone("client closed while sending body: %s" % e)
            except UpstreamError as e:  # e.g. bad chunk framing from the client
                return self.upstream_failed(e)
            except OSError as e:
                raise ClientGone(str(e))

            if early is not None:
                status, status_line, hdr_lines = early
                upstream_reusable = False
                break
            # Read the final response (skip 1xx interim responses such as the
            # upstream's own "100 Continue" -- we already answered the
            # client's Expect ourselves).
            got_any = False
            try:
                while True:
                    status, status_line, hdr_lines = self.read_response_head(up)
                    got_any = True
                    if 100 <= status < 200 and status != 101:
                        continue
                    break
            except (UpstreamError, OSError) as e:
                up.close()
                if attempt == 0 and reused and no_body and not got_any:
                    continue
                return self.upstream_failed(send_err or e)
            # If sending failed but a response still arrived, relay it; the
            # upstream connection is unusable afterwards.
            upstream_reusable = send_err is None
            break

        rh = parse_headers(hdr_lines)
        if self.command == "HEAD" or status in (204, 304) or 100 <= status < 200:
            framing, blen = "none", 0
        elif "chunked" in rh.get("transfer-encoding", "").lower():
            framing, blen = "chunked", None
        elif "content-length" in rh:
            try:
                framing, blen = "length", int(rh["content-length"].split(",")[0])
            except ValueError:
                return self.upstream_failed(UpstreamError("bad Content-Length from upstream"))
        else:
            framing, blen = "close", None
        conn_tokens = rh.get("connection", "").lower()
        if "close" in conn_tokens or framing == "close" or status_line.startswith(b"HTTP/1.0"):
            self.close_connection = True
        resp_head = status_line + b"".join(hdr_lines)
        has_body = framing in ("chunked", "close") or (framing == "length" and blen > 0)

        kind_fault = d.kind
        state = self.server.state
        try:
            if kind_fault == "reset":
                state.bump("reset")
                if has_body:
                    self.client_write(resp_head)
                    self.log_fault("reset after headers + partial body (status %d)" % status)
                    self.relay_body(framing, blen, cut_frac=d.frac)
                else:
                    self.log_fault("reset before response (upstream status %d)" % status)
                up.close()
                self.abort_with_rst()
                return
            if kind_fault == "truncate":
                state.bump("truncate")
                up_ok = False
                if has_body:
                    self.client_write(resp_head)
                    self.log_fault("truncate body (status %d)" % status)
                    up_ok = self.relay_body(framing, blen, cut_frac=d.frac)
                else:
                    self.log_fault("truncate: close before response (no body, status %d)" % status)
                if not up_ok:
                    up.close()
                self.close_connection = True
                return
            flip_frac = None
            if d.corrupt and self.command == "GET" and status in (200, 206) and has_body:
                state.bump("corrupt")
                flip_frac = d.corrupt_frac
                self.log_fault("corrupt one body byte (status %d)" % status)
            self.client_write(resp_head)
            self.relay_body(framing, blen, flip_frac=flip_frac)
            if framing == "close" or self.close_connection or not upstream_reusable:
                up.close()
        except (UpstreamError, OSError) as e:
            # Response already (partially) sent: all we can do is drop the
            # client connection.
            state.bump("upstream_error")
            sys.stderr.write("fault_proxy: upstream error mid-response for %s %s: %s\n"
                             % (self.command, self.path, e))
            up.close()
            self.close_connection = True

    @staticmethod
    def read_response_head(up):
        status_line = read_line(up.rfile)
        if not status_line:
            raise UpstreamError("upstream closed before response")
        parts = status_line.split(None, 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            raise UpstreamError("bad status line %r" % status_line[:100])
        return status, status_line, read_header_block(up.rfile)

    def relay_body(self, framing, blen, cut_frac=None, flip_frac=None):
        """Stream the upstream response body to the client.  Returns True if
        the whole body was relayed (upstream connection reusable)."""
        up = self.upstream
        w = self.client_write
        if framing == "none":
            return True
        if framing == "length":
            cut = int(cut_frac * blen) if cut_frac is not None else None
            flip = int(flip_frac * blen) if flip_frac is not None else None
            return copy_exact(up.rfile, blen, w, cut=cut, flip=flip)
        if framing == "chunked":
            return copy_chunked(up.rfile, w, cut_frac=cut_frac, flip_frac=flip_frac)
        # read until close
        first = True
        while True:
            data = up.rfile.read1(CHUNK)
            if not data:
                return True
            if first:
                first = False
                if flip_frac is not None:
                    b = bytearray(data)
                    b[int(flip_frac * len(b))] ^= 0xFF
                    data = bytes(b)
                if cut_frac is not None:
                    w(data[:int(cut_frac * len(data))])
                    return False
            w(data)


for _m in ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"):
    setattr(ProxyHandler, "do_" + _m, ProxyHandler.handle_any)


class FaultProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, listen, upstream_host, upstream_port, state, verbosity=1):
        host, port = listen
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.state = state
        self.verbosity = verbosity
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.outage_over = None
        super().__init__((host, port), ProxyHandler)

    def handle_error(self, request, client_address):
        if self.verbosity >= 1:
            super().handle_error(request, client_address)

    # -- outage: the port refuses connections for a while ------------------

    def track(self, conn, add):
        with self.conns_lock:
            (self.conns.add if add else self.conns.discard)(conn)

    def start_outage(self, seconds, keep=None):
        """Closes the listening socket and resets every open client connection (but `keep`, the
        admin request's own), so clients see ECONNREFUSED / ECONNRESET; after `seconds` the port
        listens again. serve_forever is stopped meanwhile (run_server restarts it)."""
        if self.verbosity >= 1:
            sys.stderr.write("fault_proxy: outage: refusing connections for %.1f s\n" % seconds)
            sys.stderr.flush()
        self.outage_over = threading.Event()
        threading.Thread(target=self._outage, args=(seconds, keep), daemon=True).start()

    def _outage(self, seconds, keep):
        self.shutdown()  # serve_forever returns; run_server waits for outage_over
        port = self.server_address[1]
        self.socket.close()
        with self.conns_lock:
            conns = [c for c in self.conns if c is not keep]
        for c in conns:
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        time.sleep(seconds)
        self.socket = socket.socket(self.address_family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((self.server_address[0], port))
        self.socket.listen(self.request_queue_size)
        if self.verbosity >= 1:
            sys.stderr.write("fault_proxy: outage over: listening again\n")
            sys.stderr.flush()
        self.outage_over.set()

    def run(self):
        """serve_forever, restarted after each outage."""
        while True:
            self.outage_over = None
            self.serve_forever(poll_interval=0.2)
            if self.outage_over is None:
                return
            self.outage_over.wait()


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def parse_hostport(s):
    s = s.strip()
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % s)
    return host, int(port)


def parse_upstream(s):
    u = urllib.parse.urlsplit(s)
    if u.scheme != "http" or not u.hostname:
        raise argparse.ArgumentTypeError("upstream must be http://HOST[:PORT], got %r" % s)
    if u.path not in ("", "/"):
        raise argparse.ArgumentTypeError("upstream URL must not have a path: %r" % s)
    return u.hostname, u.port or 80


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=parse_hostport, default=("127.0.0.1", 0),
                    help="HOST:PORT to bind (port 0 = pick a free port); default 127.0.0.1:0")
    ap.add_argument("--upstream", type=parse_upstream, required=True,
                    help="upstream S3 endpoint, http://HOST:PORT")
    ap.add_argument("--port-file", help="write the bound port number to this file")
    ap.add_argument("--config", help="initial fault config as JSON (or @FILE)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    ap.add_argument("-q", "--quiet", action="store_true", help="do not log injected faults")
    args = ap.parse_args(argv)

    state = FaultState()
    if args.config:
        text = args.config
        if text.startswith("@"):
            with open(text[1:]) as f:
                text = f.read()
        try:
            state.set_config(json.loads(text))
        except (ValueError, ConfigError) as e:
            ap.error("--config: %s" % e)

    verbosity = 0 if args.quiet else (2 if args.verbose else 1)
    srv = FaultProxyServer(args.listen, args.upstream[0], args.upstream[1], state, verbosity)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    host = args.listen[0]
    print("listening on %s:%d" % ("[%s]" % host if ":" in host else host, port), flush=True)
    try:
        srv.run()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
