"""backup-run against the S3 test server (Ceph RGW) through faults, as processes: SIGTERM and
--timeout in the middle of an upload leave no pending multipart upload and a Failed status with
the reason; a 60-second S3 outage in the middle of a backup is ridden out (Completed, and the
backup restores identically into another cluster); an outage longer than retry_timeout fails
the run naming it, with nothing left behind; a hanging kubeconfig exec plugin is killed at the
run's deadline. The outage is tests/harness/fault_proxy.py refusing connections. Ends with the
secrets scan of its outputs, vaults, ConfigMaps and events."""
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from cairn_test_support import (SECRETS, SOURCE, FaultProxy, KubeApiServer, binary, plant_secret,
                                run, s3_env, unique)

sys.path.insert(0, os.path.join(SOURCE, "tests", "harness"))
from s3_client import S3Client  # noqa: E402

COMPARE = os.path.join(SOURCE, "tests", "compare_clusters.py")
NAMESPACE = "big"


def seed_file(path, count=24, size=700_000):
    """ConfigMaps of random base64 text (about 75% of it survives zstd): a backup of several
    5 MiB parts."""
    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
    for i in range(count):
        data = base64.b64encode(os.urandom(size * 3 // 4)).decode()
        items.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": f"blob-{i:02d}", "namespace": NAMESPACE},
                      "data": {"blob": data}})
    with open(path, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


def proxy_post(proxy, path, body):
    req = urllib.request.Request(proxy.url + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


class BackupFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = s3_env()
        cls.s3 = S3Client.from_env()
        cls.dir = tempfile.mkdtemp(prefix="cairn-backup-faults-")
        seed = os.path.join(cls.dir, "seed.json")
        seed_file(seed)
        cls.kube = KubeApiServer("--seed", seed)
        plant_secret(cls.kube, NAMESPACE)

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.prefix = unique("faults")
        self.addCleanup(SECRETS.collect_s3, self.prefix)
        # Every part upload is slowed down, so a backup stays in the middle of its upload for
        # a while; everything else passes.
        self.proxy = FaultProxy(self.env["S3_ENDPOINT"],
                                {"latency_ms": 1500, "methods": ["PUT"],
                                 "path_regex": "partNumber="})
        self.addCleanup(self.proxy.stop)
        self.config = os.path.join(self.dir, f"{self.prefix}.toml")
        with open(self.config, "w") as f:
            f.write(f'[vaults.s3]\nurl = "s3://{self.env["S3_BUCKET"]}/{self.prefix}"\n'
                    f'endpoint = "{self.proxy.url}"\npath_style = true\npart_size = "5MiB"\n')

    def start_backup(self, name, *args):
        return subprocess.Popen(
            [binary("backup-run"), "--config", self.config, "--vault", "s3", "--kubeconfig",
             self.kube.kubeconfig, "--include-namespaces", NAMESPACE, "--name", name,
             "--output", "json", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def communicate(proc, timeout=None):
        """The backup's output once it ends, handed to the secrets scan."""
        out, err = proc.communicate(timeout=timeout)
        SECRETS.output("backup-run", out, err)
        return out, err

    def wait_for_pending_upload(self, proc, timeout=60):
        """Waits until the backup has a multipart upload under way (seen directly on RGW)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.s3.pending_uploads(self.prefix + "/"):
                return
            if proc.poll() is not None:
                out, err = self.communicate(proc)
                self.fail(f"backup ended before any upload was pending: {out}\n{err[-3000:]}")
            time.sleep(0.1)
        self.fail("no multipart upload appeared")

    def status(self, name):
        body = self.s3.get(f"{self.prefix}/backups/{name}/status.json")
        self.assertIsNotNone(body, "no status.json in the vault")
        return json.loads(body)

    def assert_nothing_left(self, name):
        self.assertEqual(self.s3.pending_uploads(self.prefix + "/"), [],
                         "a multipart upload was left behind")
        self.assertIsNone(self.s3.get(f"{self.prefix}/backups/{name}/manifest.json"))

    def test_sigterm_mid_upload_aborts_the_upload_and_says_why(self):
        proc = self.start_backup("term")
        self.wait_for_pending_upload(proc)
        stopped = time.time()
        proc.send_signal(signal.SIGTERM)
        out, err = self.communicate(proc, 60)
        self.assertLess(time.time() - stopped, 20, "did not end within the final writes' grace")
        self.assertEqual(proc.returncode, 1, out + err[-3000:])
        self.assert_nothing_left("term")
        self.assertNotIn("unable to abort multipart upload", err)
        status = self.status("term")
        self.assertEqual(status["phase"], "Failed")
        self.assertIn("received SIGTERM", status["message"])

    def test_timeout_mid_upload_aborts_the_upload_and_says_why(self):
        proxy_post(self.proxy, "/__fault/config",
                   {"latency_ms": 4000, "methods": ["PUT"], "path_regex": "partNumber="})
        started = time.time()
        proc = self.start_backup("late", "--timeout", "6s")
        self.wait_for_pending_upload(proc)
        out, err = self.communicate(proc, 60)
        self.assertLess(time.time() - started, 6 + 15 + 3, "ran past --timeout and its grace")
        self.assertEqual(proc.returncode, 1, out + err[-3000:])
        self.assert_nothing_left("late")
        status = self.status("late")
        self.assertEqual(status["phase"], "Failed")
        self.assertIn("timeout 6s exceeded", status["message"])

    def test_a_60s_outage_mid_backup_is_ridden_out_and_restores_identically(self):
        proc = self.start_backup("outage")
        self.wait_for_pending_upload(proc)
        proxy_post(self.proxy, "/__fault/outage", {"seconds": 60})
        out, err = self.communicate(proc, 400)
        self.assertEqual(proc.returncode, 0, out + err[-3000:])
        status = json.loads(out)
        self.assertEqual(status["phase"], "Completed")
        self.assertEqual(status["errors"]["count"], 0)
        self.assertEqual(self.s3.pending_uploads(self.prefix + "/"), [])
        # The backup restores into another cluster exactly.
        with KubeApiServer() as target:
            r = run("restore-run", "--url", f"s3://{self.env['S3_BUCKET']}/{self.prefix}",
                    "--endpoint", self.env["S3_ENDPOINT"], "--path-style", "--kubeconfig",
                    target.kubeconfig, "--backup", "outage", timeout=300)
            self.assertEqual(r.code, 0, r)
            cmp = subprocess.run([sys.executable, COMPARE, self.kube.kubeconfig,
                                  target.kubeconfig, NAMESPACE], capture_output=True, text=True)
            self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)
            self.assertIn("0 differences", cmp.stdout)
            restored = json.loads(target.kubectl("get", "configmaps", "-n", NAMESPACE, "-o",
                                                 "json").stdout)["items"]
            self.assertEqual(len([c for c in restored if c["metadata"]["name"].startswith(
                "blob-")]), 24)

    def test_an_outage_longer_than_retry_timeout_fails_naming_it_and_leaves_nothing(self):
        proc = self.start_backup("down", "--retry-timeout", "8s")
        self.wait_for_pending_upload(proc)
        # The data path gives up 6.5-8 s into the outage; the abort then has 15 s of its own,
        # and its backoff surely tries again between 11 s and that end.
        proxy_post(self.proxy, "/__fault/outage", {"seconds": 11})
        out, err = self.communicate(proc, 120)
        self.assertEqual(proc.returncode, 1, out + err[-3000:])
        self.assert_nothing_left("down")
        status = self.status("down")
        self.assertEqual(status["phase"], "Failed")
        self.assertIn("tcp connect failed", status["message"])
        self.assertIn("retry_timeout 8s", status["message"])


class ExecPluginDeadline(unittest.TestCase):
    def test_a_hanging_exec_plugin_is_killed_at_the_deadline(self):
        with KubeApiServer() as kube:
            d = tempfile.mkdtemp(prefix="cairn-exec-")
            self.addCleanup(shutil.rmtree, d, True)
            pids = os.path.join(d, "pids")
            plugin = os.path.join(d, "hang.sh")
            with open(plugin, "w") as f:
                f.write(f"#!/bin/sh\necho $$ >> '{pids}'\nexec sleep 600\n")
            os.chmod(plugin, 0o755)
            # The test server's kubeconfig, with an exec user instead of its token.
            cfg = kube.kubectl("config", "view", "--raw", "-o", "json").stdout
            cfg = json.loads(cfg)
            cfg["users"][0]["user"] = {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": plugin,
                "interactiveMode": "Never"}}
            kubeconfig = os.path.join(d, "kubeconfig")
            with open(kubeconfig, "w") as f:
                json.dump(cfg, f)
            vault = os.path.join(d, "vault")
            self.addCleanup(SECRETS.collect_dir, vault)  # before the removal
            started = time.time()
            r = run("backup-run", "--url", f"file://{vault}", "--kubeconfig", kubeconfig,
                    "--name", "hang", "--timeout", "4s", timeout=200)
            elapsed = time.time() - started
            self.assertEqual(r.code, 1, r)
            # 4 s, then at most the 15 s the final writes get (the plugin is run once more).
            self.assertLess(elapsed, 4 + 15 + 5, r)
            with open(os.path.join(vault, "backups", "hang", "status.json")) as f:
                status = json.load(f)
            self.assertEqual(status["phase"], "Failed")
            self.assertIn("timeout 4s exceeded", status["message"])
            with open(pids) as f:
                for pid in f.read().split():
                    self.assertFalse(os.path.exists(f"/proc/{pid}") and
                                     open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0]
                                     != "Z", f"plugin {pid} is still running")


def setUpModule():
    SECRETS.enable()


def tearDownModule():
    SECRETS.finish("backup_faults_test")


if __name__ == "__main__":
    unittest.main()
