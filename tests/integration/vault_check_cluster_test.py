"""vault-check reporting into a cluster: run as a Job's pod would be (kubeconfig, POD_NAME,
POD_NAMESPACE) against the Kubernetes API test server, it leaves its status ConfigMap and a
VaultAvailable / VaultError event on its Job that kubectl shows."""
import json
import os
import shutil
import tempfile
import unittest

from cairn_test_support import KubeApiServer, run, s3_env, unique

JOB_AND_POD = """
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cairn"}},
 {"apiVersion": "batch/v1", "kind": "Job",
  "metadata": {"name": "vault-check-1", "namespace": "cairn"},
  "spec": {"template": {"spec": {"restartPolicy": "Never",
    "containers": [{"name": "c", "image": "cairn/runner"}]}}}}
]}
"""


class VaultCheckInCluster(unittest.TestCase):
    def setUp(self):
        self.env = s3_env()
        self.kube = KubeApiServer()
        self.addCleanup(self.kube.stop)
        self.kube.kubectl("apply", "-f", "-", input=JOB_AND_POD)
        job = json.loads(self.kube.kubectl("get", "job", "vault-check-1", "-n", "cairn",
                                           "-o", "json").stdout)
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "vault-check-1-abcde", "namespace": "cairn",
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                                 "name": "vault-check-1",
                                                 "uid": job["metadata"]["uid"],
                                                 "controller": True}]},
               "spec": {"containers": [{"name": "c", "image": "cairn/runner"}]}}
        self.kube.kubectl("create", "-f", "-", input=json.dumps(pod))
        self.pod_env = {"POD_NAME": "vault-check-1-abcde", "POD_NAMESPACE": "cairn"}

    def check(self, *args, env=None):
        e = dict(self.pod_env)
        e.update(env or {})
        return run("vault-check", "--url", f"s3://{self.env['S3_BUCKET']}/{unique('vcc')}",
                   "--endpoint", self.env["S3_ENDPOINT"], "--path-style",
                   "--kubeconfig", self.kube.kubeconfig, *args, env=e)

    def test_available_writes_configmap_and_normal_event(self):
        r = self.check("--init")
        self.assertEqual(r.code, 0, r)
        cms = json.loads(self.kube.kubectl("get", "cm", "-n", "cairn", "-l",
                                           "cairn.io/kind=vault", "-o", "json").stdout)
        self.assertEqual(len(cms["items"]), 1, cms)
        cm = cms["items"][0]
        self.assertEqual(cm["metadata"]["name"], "cairn-vault-default")
        self.assertEqual(cm["metadata"]["labels"]["cairn.io/vault"], "default")
        self.assertEqual(cm["metadata"]["ownerReferences"][0]["name"], "vault-check-1")
        status = json.loads(cm["data"]["status.json"])
        self.assertEqual(status["phase"], "Available")
        self.assertEqual(status["job"]["name"], "vault-check-1")
        events = json.loads(self.kube.kubectl("get", "events", "-n", "cairn",
                                              "-o", "json").stdout)["items"]
        ok = [e for e in events if e["reason"] == "VaultAvailable"]
        self.assertEqual(len(ok), 1, events)
        self.assertEqual(ok[0]["type"], "Normal")
        self.assertEqual(ok[0]["involvedObject"]["kind"], "Job")
        self.assertEqual(ok[0]["source"]["component"], "cairn")

    def test_failure_is_a_warning_event_and_repeats_count(self):
        for _ in range(2):
            r = self.check(env={"AWS_SECRET_ACCESS_KEY": "wrong-secret-value"})
            self.assertEqual(r.code, 1, r)
        out = self.kube.kubectl("get", "events", "-n", "cairn",
                                "--field-selector", "type!=Normal").stdout
        self.assertIn("VaultError", out)
        self.assertIn("backup vault is unavailable", out)
        self.assertIn("SignatureDoesNotMatch", out)
        self.assertNotIn("wrong-secret-value", out)
        events = json.loads(self.kube.kubectl("get", "events", "-n", "cairn",
                                              "-o", "json").stdout)["items"]
        errors = [e for e in events if e["reason"] == "VaultError"]
        self.assertEqual(len(errors), 1, events)
        self.assertEqual(errors[0]["count"], 2)
        cm = json.loads(self.kube.kubectl("get", "cm", "cairn-vault-default", "-n", "cairn",
                                          "-o", "json").stdout)
        self.assertEqual(json.loads(cm["data"]["status.json"])["phase"], "Unavailable")
        self.assertNotIn("wrong-secret-value", json.dumps(cm))

    def test_cluster_problems_are_warnings_not_failures(self):
        # Events forbidden (like missing RBAC): the check still passes and says why.
        self.kube.admin({"forbid": {"resource": "events", "verb": "create"}})
        r = self.check("--init", "--output", "json")
        self.assertEqual(r.code, 0, r)
        status = r.json()
        self.assertEqual(status["phase"], "Available")
        self.assertGreaterEqual(status["warnings"]["count"], 1)
        self.assertIn("VaultAvailable", json.dumps(status["warnings"]))


if __name__ == "__main__":
    unittest.main()
