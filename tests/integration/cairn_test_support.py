"""Shared helpers for the integration tests: run cairn executables as processes, and start the
fault-injecting proxy (tests/harness/fault_proxy.py) in front of the S3 test server.

Environment (exported by scripts/test): CAIRN_BUILD_DIR, S3_ENDPOINT, S3_BUCKET,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION; CAIRN_REQUIRE_S3=1 makes a missing S3
server a failure instead of a skip."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("CAIRN_BUILD_DIR", os.path.join(SOURCE, "build", "ci"))
# scripts/asan runs suites against executables built with ASan+UBSan: their memory and time are
# the sanitizers' (shadow memory, quarantine), so the bounds cairn's own builds meet are not
# asserted there; the ci build's run of the same suites asserts them.
SANITIZED = os.environ.get("CAIRN_SANITIZED") == "1"


def binary(name):
    path = os.path.join(BUILD, "bin", name)
    if not os.path.exists(path):
        raise unittest.SkipTest(f"{path} is not built")
    return path


def s3_env():
    keys = ["S3_ENDPOINT", "S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    if not all(os.environ.get(k) for k in keys):
        if os.environ.get("CAIRN_REQUIRE_S3") == "1":
            raise AssertionError("CAIRN_REQUIRE_S3=1 but the S3 test server is not configured")
        raise unittest.SkipTest("no S3 test server (run through scripts/test)")
    return {k: os.environ[k] for k in keys}


def unique(prefix="it"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    @property
    def all(self):
        return self.out + self.err

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run(name, *args, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.pop("CAIRN_LOG_FORMAT", None)
    if env:
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
    proc = subprocess.run([binary(name), *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)
    SECRETS.output(name, proc.stdout, proc.stderr)
    return Result(proc)


class FaultProxy:
    """tests/harness/fault_proxy.py in front of `upstream`, configured through its admin API."""

    def __init__(self, upstream, config=None):
        self.dir = tempfile.mkdtemp(prefix="cairn-proxy-")
        port_file = os.path.join(self.dir, "port")
        cmd = [sys.executable, os.path.join(SOURCE, "tests", "harness", "fault_proxy.py"),
               "--listen", "127.0.0.1:0", "--upstream", upstream, "--port-file", port_file]
        if config:
            cmd += ["--config", json.dumps(config)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            port = ""
            if os.path.exists(port_file):
                with open(port_file) as f:
                    port = f.read().strip()
            if port:
                self.port = int(port)
                self.url = f"http://127.0.0.1:{self.port}"
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("fault proxy did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of `upstream_port` (TLS passes through untouched), for
    an outage of a server the test does not own: outage(seconds) resets every open connection
    and closes the listening port, so clients get ECONNREFUSED, then listens on the same port
    again. `connections` counts the connections accepted."""

    def __init__(self, upstream_port):
        import socket
        import threading
        self.upstream = upstream_port
        self.outages = 0
        self.lock = threading.Lock()
        self.connections = 0
        self.down_until = 0.0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                # Shut for an outage: listen again on the same port once it is over.
                self.listener.close()
                while not self.stopped and time.time() < self.down_until:
                    time.sleep(0.05)
                if self.stopped:
                    return
                self.listener = socket.create_server(("127.0.0.1", self.port))
                continue
            if time.time() < self.down_until:
                _reset(client)
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, self.outages),
                             daemon=True).start()

    def _pump(self, client, server, outages):
        """Both directions of one connection; reset both ends when an outage begins."""
        import select
        socks, done = [client, server], set()
        try:
            while len(done) < 2 and self.outages == outages and not self.stopped:
                ready, _, _ = select.select([s for s in socks if s not in done], [], [], 0.1)
                for src in ready:
                    dst = server if src is client else client
                    data = src.recv(65536)
                    if data:
                        dst.sendall(data)
                    else:
                        done.add(src)
                        dst.shutdown(1)
        except OSError:
            pass
        _reset(client)
        _reset(server)

    def outage(self, seconds):
        import socket
        self.down_until = time.time() + seconds
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept(): the port closes
        except OSError:
            pass
        self.outages += 1  # every connection's pump resets it

    def kubeconfig(self, kube, path):
        """A copy of `kube`'s kubeconfig whose server is this proxy."""
        with open(os.path.join(kube.dir, "port")) as f:
            port = f.read().strip()
        with open(kube.kubeconfig) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace(f"https://127.0.0.1:{port}", f"https://127.0.0.1:{self.port}"))
        return path

    def stop(self):
        import socket
        self.stopped = True
        self.down_until = 0
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _reset(sock):
    """Closes with a TCP RST (SO_LINGER 0)."""
    import socket
    import struct
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


class KubeApiServer:
    """hack/kube-api-server/server.py in a temporary directory: .kubeconfig, .kubectl(...)."""

    def __init__(self, *extra_args):
        script = os.path.join(SOURCE, "hack", "kube-api-server", "server.py")
        if not os.path.exists(script):
            raise unittest.SkipTest("the Kubernetes API test server is not present")
        self.dir = tempfile.mkdtemp(prefix="cairn-kube-")
        with open(os.path.join(self.dir, "server.log"), "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, script, "--listen", "127.0.0.1:0", "--dir", self.dir,
                 *extra_args], stdout=subprocess.DEVNULL, stderr=log)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(os.path.join(self.dir, "port")) and os.path.exists(self.kubeconfig):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(os.path.join(self.dir, "server.log")) as f:
            log = f.read()[-2000:]
        self.stop()
        raise RuntimeError("kube api server did not start: " + log)

    def kubectl(self, *args, input=None, check=True):
        p = subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args], input=input,
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {p.stderr}")
        return p

    def stop(self):
        if self.proc.poll() is None:
            SECRETS.collect_kube(self)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _admin_call(server, path, body=None):
    """One call to the test server's admin API: POST `body` as JSON, or GET when None."""
    import ssl
    import urllib.request
    with open(os.path.join(server.dir, "port")) as f:
        port = f.read().strip()
    with open(os.path.join(server.dir, "token")) as f:
        token = f.read().strip()
    ctx = ssl.create_default_context(cafile=os.path.join(server.dir, "ca.crt"))
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"https://127.0.0.1:{port}/__admin/{path}",
                                 method="POST" if data else "GET", data=data, headers=headers)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return json.loads(resp.read() or b"{}")


def _kube_admin(self, body):
    """POSTs to the test server's admin API (faults, forbidden resources)."""
    return _admin_call(self, "", body)


def _kube_admin_requests(self, since=0):
    """The test server's request log after sequence number `since`."""
    return _admin_call(self, f"requests?since={since}")["requests"]


def _kube_last_request(self):
    """The sequence number of the newest request the test server has logged (0: none), to pass
    as `since` to admin_requests() for what comes after."""
    return max([q["seq"] for q in self.admin_requests(0)] + [0])


KubeApiServer.admin = _kube_admin
KubeApiServer.admin_requests = _kube_admin_requests
KubeApiServer.last_request = _kube_last_request


def report_summary(line):
    """A suite's one-line result ("crash: 20 kills, ..."): printed, and appended to the file
    $CAIRN_SUITE_SUMMARY names, which scripts/test prints after ctest (ctest hides passing
    output)."""
    print(line, flush=True)
    path = os.environ.get("CAIRN_SUITE_SUMMARY")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


class SecretsScan:
    """The secrets scan: credentials and Secret values may appear nowhere but inside the archive. A
    suite enables it (SECRETS.enable()); from then on every executable's stdout and stderr run
    through run() is kept (Popen users hand theirs to output()), every KubeApiServer contributes,
    when it stops, its Secrets' values, its token and client key (what is looked for) and its status
    ConfigMaps and events (where it is looked for), and collect_dir()/collect_s3() add a vault's
    documents (.zst ones decompressed; the archives of resources and volumes are the one place the
    values belong). finish() looks for every value in every place, prints "secrets: N places
    scanned, H hits" and fails naming each hit's place and what was found (never the value)."""

    MIN_LEN = 12  # shorter values ("postgres", "true") would be found by chance

    def __init__(self):
        self.active = False
        self.places = []  # (where, text)
        self.needles = {}  # value -> what it is

    def enable(self):
        self.active = True
        for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            if os.environ.get(name):
                self.needle(os.environ[name], f"${name}")

    def needle(self, value, what):
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if len(value) >= self.MIN_LEN:
            self.needles.setdefault(value, what)

    def secret_value(self, b64, what):
        """A Secret's data value: as stored (base64), raw, and raw as JSON escapes it."""
        import base64
        self.needle(b64, what + " (base64)")
        raw = base64.b64decode(b64)
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            return
        self.needle(text, what)
        self.needle(json.dumps(text)[1:-1], what + " (JSON-escaped)")

    def output(self, name, out, err):
        if self.active:
            self.places.append((f"{name} stdout", out or ""))
            self.places.append((f"{name} stderr", err or ""))

    def collect_kube(self, server):
        if not self.active:
            return
        import base64
        server.admin({"reset": True})  # no fault or forbid rule in the way of what follows
        with open(os.path.join(server.dir, "token")) as f:
            self.needle(f.read().strip(), "the kube token")
        with open(os.path.join(server.dir, "client.key")) as f:
            key = f.read()
        self.needle(base64.b64encode(key.encode()).decode(), "the client key (base64)")
        body = [line for line in key.splitlines() if line and not line.startswith("-----")]
        for line in body:
            self.needle(line, "the client key")
        for s in _api_get(server, "/api/v1/secrets")["items"]:
            meta = s["metadata"]
            for k, v in (s.get("data") or {}).items():
                self.secret_value(v, f"Secret {meta.get('namespace')}/{meta['name']} key {k}")
        cms = _api_get(server, "/api/v1/configmaps?labelSelector=cairn.io%2Fkind")["items"]
        for cm in cms:
            meta = cm["metadata"]
            self.places.append((f"ConfigMap {meta['namespace']}/{meta['name']}", json.dumps(cm)))
        for e in _api_get(server, "/api/v1/events")["items"]:
            meta = e["metadata"]
            self.places.append((f"Event {meta['namespace']}/{meta['name']}", json.dumps(e)))

    def document(self, where, data):
        """One vault document; .zst ones decompressed, the archives skipped."""
        key = where.split("/", 1)[-1]
        if key.endswith("resources.tar.zst") or "/volumes/" in key:
            return
        if key.endswith(".zst"):
            # A document cut short (a killed run's) is scanned as far as it goes.
            data = subprocess.run(["zstd", "-dcq"], input=data, capture_output=True).stdout
        self.places.append((where, data.decode("utf-8", "replace")))

    def collect_dir(self, root):
        """Every document of a file vault (call before it is removed)."""
        if not self.active or not os.path.isdir(root):
            return
        for d, _, files in os.walk(root):
            for name in files:
                path = os.path.join(d, name)
                with open(path, "rb") as f:
                    self.document("vault file://" + path, f.read())

    def collect_s3(self, prefix):
        """Every document under `prefix` of the S3 test server's bucket."""
        if not self.active:
            return
        sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))
        from s3_client import S3Client
        s3 = S3Client.from_env()
        for key in s3.keys(prefix.rstrip("/") + "/"):
            self.document(f"vault s3://{s3.bucket}/{key}", s3.get(key) or b"")

    def collect_vault(self, vault):
        """Every document of a vault_access.FileVault or S3Vault."""
        if hasattr(vault, "root"):
            self.collect_dir(vault.root)
        else:
            self.collect_s3(vault.prefix)

    def finish(self, suite):
        """Scans every place for every value; fails naming each hit."""
        hits = [f"{what} in {where}" for where, text in self.places
                for value, what in self.needles.items() if value in text]
        report_summary(f"secrets ({suite}): {len(self.places)} places scanned for "
                       f"{len(self.needles)} values, {len(hits)} hits")
        if hits:
            raise AssertionError("credentials or Secret values found outside the archive:\n"
                                 + "\n".join(hits[:50]))
        if self.active and not self.needles:
            raise AssertionError("the secrets scan had nothing to look for")


SECRETS = SecretsScan()


def _api_get(server, path):
    """GET on the API test server with its admin token."""
    import ssl
    import urllib.request
    with open(os.path.join(server.dir, "port")) as f:
        port = f.read().strip()
    with open(os.path.join(server.dir, "token")) as f:
        token = f.read().strip()
    ctx = ssl.create_default_context(cafile=os.path.join(server.dir, "ca.crt"))
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        return json.loads(resp.read())


def plant_secret(kube, namespace, name="cairn-scan-canary"):
    """A Secret of random values (text, multi-line, binary) in `namespace`: values that can only
    turn up where cairn put them."""
    import base64
    data = {"token": uuid.uuid4().hex + uuid.uuid4().hex,
            "multiline": f"first {uuid.uuid4().hex}\nsecond {uuid.uuid4().hex}\n",
            "binary": None}
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items() if v}
    encoded["binary"] = base64.b64encode(os.urandom(24)).decode()
    kube.kubectl("apply", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
         "type": "Opaque", "data": encoded}))
