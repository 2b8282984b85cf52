#!/usr/bin/env python3
"""Self-contained tests for fault_proxy.py (stdlib unittest).

Starts a tiny in-process upstream HTTP/1.1 server, runs the proxy as a
subprocess in front of it and exercises pass-through and every fault type
with http.client (and curl, if installed).

    python3 tests/harness/fault_proxy_test.py [-v]
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "fault_proxy.py")
MiB = 1024 * 1024

# Deterministic pseudo-random 1 MiB block; /blob/N serves N bytes of it repeated.
BLOCK = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(MiB // 32))


def blob_iter(n):
    while n > 0:
        piece = BLOCK[:min(n, len(BLOCK))]
        yield piece
        n -= len(piece)


def blob(n):
    return b"".join(blob_iter(n))


def blob_sha(n):
    h = hashlib.sha256()
    for p in blob_iter(n):
        h.update(p)
    return h.hexdigest()


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []  # (method, path, [(hdr, value), ...])
    seen_lock = threading.Lock()

    def log_message(self, *a):
        pass

    def record(self):
        with Upstream.seen_lock:
            Upstream.seen.append((self.command, self.path, list(self.headers.items())))

    def reply(self, status, body, ctype="application/octet-stream", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.record()
        m = re.match(r"^/blob/(\d+)", self.path)
        if m:
            n = int(m.group(1))
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.send_header("ETag", '"blob"')
            self.end_headers()
            if self.command != "HEAD":
                for p in blob_iter(n):
                    self.wfile.write(p)
            return
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                for piece in (b"hello ", b"chunked ", b"world" * 1000):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/headers"):
            body = json.dumps(list(self.headers.items())).encode()
            return self.reply(200, body, "application/json")
        if self.path.startswith("/missing"):
            return self.reply(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
        return self.reply(200, b"hello from upstream " + self.path.encode())

    do_HEAD = do_GET

    def handle_expect_100(self):
        if self.path.startswith("/reject"):
            return True  # answer without 100 Continue, like radosgw on a bad signature
        return super().handle_expect_100()

    def do_PUT(self):
        self.record()
        if self.path.startswith("/reject"):
            # early final response without reading the body, then close
            self.close_connection = True
            return self.reply(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>",
                              "application/xml", extra=[("Connection", "close")])
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        left = n
        while left:
            data = self.rfile.read(min(left, 65536))
            if not data:
                break
            h.update(data)
            left -= len(data)
        body = json.dumps({"sha256": h.hexdigest(), "length": n - left}).encode()
        self.reply(200, body, "application/json", extra=[("ETag", '"%s"' % h.hexdigest()[:32])])

    do_POST = do_PUT

    def do_DELETE(self):
        self.record()
        self.send_response(204)
        self.end_headers()


class UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The proxy drops its upstream connection mid-response when it
        # truncates/resets; that is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = UpstreamServer(("127.0.0.1", 0), Upstream)
        cls.up_port = cls.upstream.server_address[1]
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()

        cls.tmp = tempfile.mkdtemp(prefix="fault_proxy_test.")
        port_file = os.path.join(cls.tmp, "port")
        cls.stderr = open(os.path.join(cls.tmp, "proxy.stderr"), "w+")
        cls.proc = subprocess.Popen(
            [sys.executable, PROXY, "--listen", "127.0.0.1:0",
             "--upstream", "http://127.0.0.1:%d" % cls.up_port, "--port-file", port_file,
             "--config", '{"latency_ms": 0}'],
            stdout=subprocess.PIPE, stderr=cls.stderr, text=True)
        line = cls.proc.stdout.readline()
        m = re.match(r"^listening on 127\.0\.0\.1:(\d+)$", line.strip())
        assert m, "unexpected first line %r" % line
        cls.port = int(m.group(1))
        with open(port_file) as f:
            assert int(f.read()) == cls.port

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        try:
            rc = cls.proc.wait(5)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            rc = cls.proc.wait()
        cls.proc.stdout.close()
        cls.upstream.shutdown()
        cls.upstream.server_close()
        cls.stderr.seek(0)
        err = cls.stderr.read()
        cls.stderr.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if os.environ.get("FAULT_PROXY_TEST_SHOW_LOG"):
            sys.stderr.write(err)
        assert rc == 0, "proxy exit code %r\n%s" % (rc, err)
        assert "Traceback" not in err, err

    def setUp(self):
        self.admin("POST", "/__fault/reset")
        with Upstream.seen_lock:
            Upstream.seen.clear()

    # -- helpers ----------------------------------------------------------

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def admin(self, method, path, obj=None, expect=200):
        c = self.conn()
        body = json.dumps(obj).encode() if obj is not None else None
        c.request(method, path, body=body,
                  headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        data = r.read()
        c.close()
        self.assertEqual(r.status, expect, data)
        return json.loads(data)

    def configure(self, **cfg):
        return self.admin("POST", "/__fault/config", cfg)

    def stats(self):
        return self.admin("GET", "/__fault/stats")

    def get(self, path, c=None, method="GET", headers=None):
        own = c is None
        c = c or self.conn()
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if own:
            c.close()
        return r, data

    # -- pass-through -------------------------------------------------------

    def test_passthrough_keepalive(self):
        c = self.conn()
        for i in range(5):
            r, data = self.get("/obj/%d?x=1&y=%%2F" % i, c)
            self.assertEqual(r.status, 200)
            self.assertEqual(data, b"hello from upstream /obj/%d?x=1&y=%%2F" % i)
        # all over one client connection
        self.assertIsNotNone(c.sock)
        c.close()
        r, data = self.get("/missing")
        self.assertEqual(r.status, 404)
        self.assertIn(b"NoSuchKey", data)
        r, data = self.get("/blob/1000", method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Length"), "1000")
        self.assertEqual(data, b"")
        c = self.conn()
        c.request("DELETE", "/obj/1")
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (204, b""))
        c.close()

    def test_headers_and_host_preserved(self):
        c = self.conn()
        c.putrequest("GET", "/headers?list-type=2", skip_host=True, skip_accept_encoding=True)
        sent = [("Host", "mybucket.s3.example.test:9000"),
                ("X-Amz-Date", "20240101T000000Z"),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/s3/"
                                  "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"),
                ("X-Dup", "one"), ("X-Dup", "two")]
        for k, v in sent:
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        got = json.loads(r.read())
        c.close()
        self.assertEqual([tuple(x) for x in got], sent)

    def test_chunked_response(self):
        r, data = self.get("/chunked")
        self.assertEqual(r.status, 200)
        self.assertEqual(data, b"hello chunked " + b"world" * 1000)
        # raw framing is passed through verbatim
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            raw += d
        s.close()
        self.assertIn(b"\r\n\r\n6\r\nhello \r\n8\r\nchunked \r\n", raw)
        self.assertTrue(raw.endswith(b"\r\n0\r\n\r\n"))

    def test_big_put_streamed_and_big_get(self):
        n = 50 * MiB
        c = self.conn(timeout=30)
        # Expect: 100-continue, as libcurl sends for large PUTs; http.client
        # skips the interim 100 response.
        t0 = time.monotonic()
        c.request("PUT", "/bucket/big", body=blob_iter(n),
                  headers={"Content-Length": str(n), "Expect": "100-continue"})
        r = c.getresponse()
        res = json.loads(r.read())
        self.assertEqual(r.status, 200)
        self.assertEqual(res, {"sha256": blob_sha(n), "length": n})
        # same connection: 50 MiB GET
        c.request("GET", "/blob/%d" % n)
        r = c.getresponse()
        h = hashlib.sha256()
        got = 0
        while True:
            d = r.read(1 << 20)
            if not d:
                break
            h.update(d)
            got += len(d)
        c.close()
        self.assertEqual(got, n)
        self.assertEqual(h.hexdigest(), blob_sha(n))
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 15)
        # The proxy must stream, not buffer: its peak RSS stays far below 50 MiB.
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                hwm = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
        except (OSError, AttributeError):
            return
        self.assertLess(hwm, 40 * 1024, "proxy peak RSS %d kB" % hwm)

    def test_early_upstream_response(self):
        # upstream rejects a PUT right after the head without reading the
        # body: the client still gets the 403, not a 502
        n = 8 * MiB
        for _ in range(3):
            c = self.conn()
            c.request("PUT", "/reject/x", body=blob_iter(n),
                      headers={"Content-Length": str(n), "Expect": "100-continue"})
            r = c.getresponse()
            self.assertEqual(r.status, 403)
            self.assertIn(b"SignatureDoesNotMatch", r.read())
            c.close()
        r, data = self.get("/after-reject")
        self.assertEqual(r.status, 200)

    # -- faults ---------------------------------------------------------------

    def test_error_faults(self):
        for spec, status, code in (("SlowDown", 503, "SlowDown"),
                                   (500, 500, "InternalError"),
                                   (503, 503, "ServiceUnavailable")):
            self.configure(error_rate=1.0, errors=[spec])
            c = self.conn()
            # a PUT with a body: the body is drained, the connection stays usable
            c.request("PUT", "/b/k", body=b"x" * 300000, headers={"Expect": "100-continue"})
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.status, status)
            self.assertEqual(r.getheader("Content-Type"), "application/xml")
            self.assertEqual(int(r.getheader("Content-Length")), len(body))
            self.assertRegex(body.decode(), r"<Error><Code>%s</Code><Message>[^<]+</Message>"
                                            r".*<RequestId>fault-\d+</RequestId></Error>" % code)
            if spec == "SlowDown":
                self.assertIn(b"<Message>Please reduce your request rate.</Message>", body)
            r, data = self.get("/b/k", c, method="HEAD")
            self.assertEqual((r.status, data), (status, b""))
            self.admin("POST", "/__fault/reset")
            r, data = self.get("/b/k", c)  # same connection still fine
            self.assertEqual((r.status, data), (200, b"hello from upstream /b/k"))
            c.close()
        # nothing got through to upstream while erroring
        self.assertEqual([s[:2] for s in Upstream.seen], [("GET", "/b/k")] * 3)

    def test_reset(self):
        before = self.stats()["reset"]
        self.configure(reset_rate=1.0, seed=1)
        # GET with body: headers + part of body, then RST
        c = self.conn()
        c.request("GET", "/blob/%d" % (4 * MiB))
        with self.assertRaises(ConnectionResetError):
            r = c.getresponse()
            r.read()
        c.close()
        # PUT: request reaches upstream, then RST after partial response
        c = self.conn()
        c.request("PUT", "/b/reset", body=b"y" * 1000)
        with self.assertRaises(ConnectionResetError):
            c.getresponse().read()
        c.close()
        self.assertIn(("PUT", "/b/reset"), [s[:2] for s in Upstream.seen])
        # DELETE (204, no body): RST before any response, after upstream saw it
        c = self.conn()
        c.request("DELETE", "/b/reset")
        with self.assertRaises(ConnectionResetError):  # incl. RemoteDisconnected
            c.getresponse()
        c.close()
        self.assertIn(("DELETE", "/b/reset"), [s[:2] for s in Upstream.seen])
        self.assertEqual(self.stats()["reset"] - before, 3)

    def test_truncate(self):
        before = self.stats()["truncate"]
        self.configure(truncate_rate=1.0, methods=["GET"], seed=7)
        c = self.conn()
        c.request("GET", "/blob/%d" % MiB)
        r = c.getresponse()
        self.assertEqual(r.getheader("Content-Length"), str(MiB))
        with self.assertRaises(http.client.IncompleteRead) as cm:
            r.read()
        self.assertLess(len(cm.exception.partial), MiB)
        c.close()
        # chunked: missing terminating chunk
        c = self.conn()
        c.request("GET", "/chunked")
        r = c.getresponse()
        with self.assertRaises(http.client.IncompleteRead):
            r.read()
        c.close()
        # PUT not in methods filter: passes
        c = self.conn()
        c.request("PUT", "/b/k", body=b"abc")
        r = c.getresponse()
        self.assertEqual(json.loads(r.read())["sha256"], hashlib.sha256(b"abc").hexdigest())
        c.close()
        self.assertEqual(self.stats()["truncate"] - before, 2)

    def test_corrupt_get(self):
        n = 3 * MiB + 17
        before = self.stats()["corrupt"]
        self.configure(corrupt_get_rate=1.0)
        r, data = self.get("/blob/%d" % n)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(data), n)
        good = blob(n)
        diff = [i for i, (x, y) in enumerate(zip(data, good)) if x != y]
        self.assertEqual(len(diff), 1)
        # non-200/206 and non-GET are untouched
        r, data = self.get("/missing")
        self.assertEqual(data, b"<Error><Code>NoSuchKey</Code></Error>")
        c = self.conn()
        c.request("PUT", "/b/k", body=b"abc")
        self.assertEqual(json.loads(c.getresponse().read())["sha256"],
                         hashlib.sha256(b"abc").hexdigest())
        c.close()
        r, data = self.get("/chunked")
        self.assertEqual(len(data), len(b"hello chunked " + b"world" * 1000))
        self.assertNotEqual(data, b"hello chunked " + b"world" * 1000)
        self.assertEqual(self.stats()["corrupt"] - before, 2)

    def test_latency_and_path_filter(self):
        self.configure(latency_ms=300, path_regex=r"^/slow/")
        t0 = time.monotonic()
        self.get("/fast/x")
        self.assertLess(time.monotonic() - t0, 0.25)
        t0 = time.monotonic()
        r, _ = self.get("/slow/x")
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)

    def test_seed_deterministic_and_max_faults(self):
        def run():
            self.configure(error_rate=0.5, errors=["SlowDown", 500], seed=1234)
            c = self.conn()
            out = []
            for i in range(40):
                r, _ = self.get("/d/%d" % i, c)
                out.append(r.status)
            c.close()
            return out
        a, b = run(), run()
        self.assertEqual(a, b)
        self.assertEqual(set(a), {200, 500, 503})
        self.configure(error_rate=1.0, errors=[500], max_faults=2)
        self.assertEqual([self.get("/m")[0].status for _ in range(4)], [500, 500, 200, 200])

    def test_stats_and_admin(self):
        before = self.stats()
        self.configure(error_rate=1.0, errors=["SlowDown"], methods=["DELETE"])
        self.get("/s/1")
        c = self.conn()
        c.request("DELETE", "/s/1")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 503)
        c.close()
        self.assertEqual(self.admin("GET", "/__fault/config")["methods"], ["DELETE"])
        self.admin("POST", "/__fault/reset")  # back to pass-through, counters kept
        self.assertEqual(self.admin("GET", "/__fault/config")["error_rate"], 0.0)
        c = self.conn()
        c.request("DELETE", "/s/1")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 204)
        c.close()
        after = self.stats()
        self.assertEqual(after["requests"] - before["requests"], 3)
        self.assertEqual(after["forwarded"] - before["forwarded"], 2)
        self.assertEqual(after["error"] - before["error"], 1)
        self.assertEqual(after["error_codes"].get("SlowDown", 0)
                         - before["error_codes"].get("SlowDown", 0), 1)
        # admin requests are never forwarded
        self.assertFalse([s for s in Upstream.seen if s[1].startswith("/__fault")])
        # bad config rejected, old config kept
        err = self.admin("POST", "/__fault/config", {"error_rate": 2}, expect=400)
        self.assertIn("error_rate", err["error"])
        self.admin("POST", "/__fault/config", {"bogus": 1}, expect=400)
        self.admin("GET", "/__fault/nope", expect=404)
        cleared = self.admin("POST", "/__fault/clear-stats")
        self.assertEqual(cleared["requests"], 0)

    def test_outage_refuses_connections_then_recovers(self):
        before = self.stats()["outages"]
        idle = self.conn()
        r, _ = self.get("/obj/1", idle)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.admin("POST", "/__fault/outage", {"seconds": 1.5}),
                         {"outage_seconds": 1.5})
        time.sleep(0.3)
        # New connections are refused, and the kept-alive one was reset.
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.get("/obj/2", idle)
        idle.close()
        deadline = time.time() + 10
        while True:
            try:
                r, data = self.get("/obj/3")
                break
            except ConnectionRefusedError:
                self.assertLess(time.time(), deadline, "the port never listened again")
                time.sleep(0.1)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.stats()["outages"], before + 1)
        self.admin("POST", "/__fault/outage", {"seconds": 0}, expect=400)

    def test_upstream_down_gives_502(self):
        # a second proxy pointing at a closed port
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
        s.close()
        p = subprocess.Popen([sys.executable, PROXY, "--upstream", "http://127.0.0.1:%d" % dead],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = int(p.stdout.readline().rsplit(":", 1)[1])
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/x")
            r = c.getresponse()
            self.assertEqual(r.status, 502)
            r.read()
            c.close()
        finally:
            p.terminate()
            self.assertEqual(p.wait(5), 0)
            p.stdout.close()

    # -- curl / libcurl behaviour -------------------------------------------

    def curl(self, *args, timeout=20):
        return subprocess.run(["curl", "-sS", "-o", os.devnull, "-w", "%{http_code} %{time_total}",
                               *args], capture_output=True, text=True, timeout=timeout)

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl(self):
        base = "http://127.0.0.1:%d" % self.port
        path = os.path.join(self.tmp, "put.bin")
        with open(path, "wb") as f:
            for p in blob_iter(8 * MiB):
                f.write(p)
        # Expect: 100-continue must not stall (libcurl waits 1 s for a 100)
        r = self.curl("-v", "--data-binary", "@" + path, "-X", "PUT", base + "/b/curl")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Expect: 100-continue", r.stderr)
        self.assertIn("HTTP/1.1 100 Continue", r.stderr)
        code, secs = r.stdout.split()
        self.assertEqual(code, "200")
        self.assertLess(float(secs), 0.9)
        # error -> HTTP status, exit 0 (22 with -f)
        self.configure(error_rate=1.0, errors=["SlowDown"])
        r = self.curl(base + "/b/curl")
        self.assertEqual((r.returncode, r.stdout.split()[0]), (0, "503"))
        # truncate -> exit 18 "transfer closed with N bytes remaining to read"
        self.configure(truncate_rate=1.0)
        r = self.curl(base + "/blob/%d" % MiB)
        self.assertEqual(r.returncode, 18, r.stderr)
        self.assertIn("bytes remaining to read", r.stderr)
        # reset -> exit 56 "Recv failure: Connection reset by peer"
        self.configure(reset_rate=1.0)
        r = self.curl(base + "/blob/%d" % MiB)
        self.assertEqual(r.returncode, 56, r.stderr)
        self.assertIn("reset by peer", r.stderr)
        r = self.curl("-T", path, base + "/b/curl-reset")
        self.assertEqual(r.returncode, 56, r.stderr)


if __name__ == "__main__":
    unittest.main()
