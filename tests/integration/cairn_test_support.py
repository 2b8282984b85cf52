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
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read().strip())
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


KubeApiServer.admin = _kube_admin
KubeApiServer.admin_requests = _kube_admin_requests


def report_summary(line):
    """A suite's one-line result ("crash: 20 kills, ..."): printed, and appended to the file
    $CAIRN_SUITE_SUMMARY names, which scripts/test prints after ctest (ctest hides passing
    output)."""
    print(line, flush=True)
    path = os.environ.get("CAIRN_SUITE_SUMMARY")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")
