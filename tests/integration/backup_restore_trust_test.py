"""One namespace holding what once broke a backup or a restore,
backed up into the S3 test server and restored into an empty second API test server: a
ConfigMap with a 253-character name, a Job created with kubectl, a Service without a selector
and its hand-written Endpoints, a Retain PV and its bound claim, and objects owned by others.
A second restore of the same backup exits 0 and changes nothing."""
import json
import shutil
import tempfile
import unittest

from cairn_test_support import KubeApiServer, run, s3_env, unique
from restore_cluster_test import NS, seed

LONG_NAME = ("c" * 62 + ".") * 4 + "c"  # 253 characters, a valid DNS subdomain


def seed_more(server):
    """What restore_cluster_test.seed leaves out: a long name, Endpoints, owners."""
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": LONG_NAME, "namespace": NS}, "data": {"k": "v"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": NS},
         "spec": {"ports": [{"port": 5432}]}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "db", "namespace": NS},
         "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 5432}]}]},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "owner", "namespace": NS}, "data": {"role": "owner"}},
    ]
    for obj in objects:
        server.kubectl("create", "-f", "-", input=json.dumps(obj))
    owner = get(server, "configmap", "owner", NS)
    server.kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "owned", "namespace": NS, "ownerReferences": [
             {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
              "uid": owner["metadata"]["uid"]}]},
         "data": {"role": "dependent"}}))


def get(server, resource, name, ns=None):
    args = ["get", resource, name, "-o", "json"] + (["-n", ns] if ns else [])
    p = server.kubectl(*args, check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


class BackupRestoreTrust(unittest.TestCase):
    def setUp(self):
        env = s3_env()
        self.url = f"s3://{env['S3_BUCKET']}/{unique('trust')}"
        self.s3 = ["--url", self.url, "--endpoint", env["S3_ENDPOINT"], "--path-style"]
        self.source = KubeApiServer()
        self.addCleanup(self.source.stop)
        self.target = KubeApiServer()
        self.addCleanup(self.target.stop)
        self.dir = tempfile.mkdtemp(prefix="cairn-trust-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def restore(self, name):
        r = run("restore-run", *self.s3, "--kubeconfig", self.target.kubeconfig,
                "--backup", "trust", "--name", name, "--output", "json")
        self.assertEqual(r.code, 0, r)
        return r.json()

    def test_backup_and_restore_reproduce_what_once_broke_them(self):
        seed(self.source)
        seed_more(self.source)
        r = run("backup-run", *self.s3, "--kubeconfig", self.source.kubeconfig,
                "--include-namespaces", NS, "--name", "trust", "--output", "json")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["phase"], "Completed")

        status = self.restore("first")
        self.assertEqual(status["phase"], "Completed", status)
        self.assertEqual(status["counts"].get("failed", 0), 0, status)
        self.assertEqual(get(self.target, "configmap", LONG_NAME, NS)["data"], {"k": "v"})
        job = get(self.target, "job", "report", NS)
        self.assertIsNotNone(job, "the Job was not restored")
        self.assertEqual(job["spec"]["selector"]["matchLabels"],
                         {"batch.kubernetes.io/controller-uid": job["metadata"]["uid"]})
        pvc = get(self.target, "pvc", "data", NS)
        self.assertEqual(pvc["status"]["phase"], "Bound", pvc)
        pv = get(self.target, "pv", "retain-pv")
        self.assertEqual(pv["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"])
        endpoints = get(self.target, "endpoints", "db", NS)
        self.assertIsNotNone(endpoints, "the hand-written Endpoints were not restored")
        self.assertEqual(endpoints["subsets"][0]["addresses"][0]["ip"], "10.1.2.3")
        owner = get(self.target, "configmap", "owner", NS)
        owned = get(self.target, "configmap", "owned", NS)
        self.assertEqual([ref["uid"] for ref in owned["metadata"]["ownerReferences"]],
                         [owner["metadata"]["uid"]])

        again = self.restore("second")
        self.assertEqual(again["phase"], "Completed", again)
        self.assertEqual(again["counts"].get("created", 0), 0, again["counts"])
        self.assertEqual(again["counts"].get("failed", 0), 0, again["counts"])
        self.assertGreater(again["counts"]["skipped"], 10)
        self.assertEqual(get(self.target, "pvc", "data", NS)["status"]["phase"], "Bound")


if __name__ == "__main__":
    unittest.main()
