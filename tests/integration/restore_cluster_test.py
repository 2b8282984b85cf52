"""restore-run against what a real cluster's API server and controllers do with restored objects:
a Retain PV and its bound claim, a Job created with kubectl, a Service whose nodePort a field
manager set (server-side apply, no last-applied annotation), a NetworkPolicy selecting its
namespace by kubernetes.io/metadata.name and a ClusterRoleBinding with a subject in it. Backed
up from one API test server, restored into an empty one, into a mapped namespace of another
empty one, and copied into a mapped namespace of the same one."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from cairn_test_support import SOURCE, KubeApiServer, run, s3_env, unique

COMPARE = os.path.join(SOURCE, "tests", "compare_clusters.py")
NS = "store"
NODE_PORT = 30443


def seed(server):
    """The namespace as a user builds it with kubectl."""
    server.kubectl("create", "namespace", NS)
    objects = [
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "retain-pv"},
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                  "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual",
                  "hostPath": {"path": "/srv/retain"},
                  "claimRef": {"namespace": NS, "name": "data"}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "data", "namespace": NS},
         "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                  "volumeName": "retain-pv", "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": NS}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "store-reader"},
         "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "store-app-reader"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "store-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": NS}]},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "same-namespace", "namespace": NS},
         "spec": {"podSelector": {},
                  "ingress": [{"from": [
                      {"namespaceSelector": {"matchLabels": {
                          "kubernetes.io/metadata.name": NS}}},
                      {"namespaceSelector": {"matchExpressions": [
                          {"key": "kubernetes.io/metadata.name", "operator": "In",
                           "values": [NS, "monitoring"]}]}}]}]}},
    ]
    for obj in objects:
        server.kubectl("create", "-f", "-", input=json.dumps(obj))
    server.kubectl("create", "job", "report", "-n", NS, "--image=busybox")
    web = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
           "spec": {"type": "NodePort", "selector": {"app": "web"},
                    "ports": [{"name": "https", "port": 443, "nodePort": NODE_PORT}]}}
    server.kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-",
                   input=json.dumps(web))


class RestoreCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.source = KubeApiServer()
        cls.dir = tempfile.mkdtemp(prefix="cairn-restore-cluster-")
        cls.vault = os.path.join(cls.dir, "vault")
        try:
            seed(cls.source)
            pvc = cls.get(cls.source, "pvc", "data", NS)
            assert pvc["status"]["phase"] == "Bound", pvc
            assert "pv.kubernetes.io/bind-completed" in pvc["metadata"]["annotations"], pvc
            r = run("backup-run", "--url", f"file://{cls.vault}", "--kubeconfig",
                    cls.source.kubeconfig, "--include-namespaces", NS, "--name", "full")
            assert r.code == 0, f"backup failed: {r}"
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.source.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @staticmethod
    def get(server, resource, name, ns=None):
        args = ["get", resource, name, "-o", "json"] + (["-n", ns] if ns else [])
        p = server.kubectl(*args, check=False)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def restore(self, target, name, *args, vault=None):
        vault = vault or ["--url", f"file://{self.vault}"]
        r = run("restore-run", *vault, "--kubeconfig", target.kubeconfig, "--backup", "full",
                "--name", name, "--output", "json", *args)
        self.assertEqual(r.code, 0, r)
        status = r.json()
        self.assertEqual(status["phase"], "Completed", status)
        return status

    def empty_target(self):
        target = KubeApiServer()
        self.addCleanup(target.stop)
        return target

    def assert_bound(self, server, ns):
        pvc = self.get(server, "pvc", "data", ns)
        pv = self.get(server, "pv", "retain-pv")
        self.assertEqual(pvc["status"]["phase"], "Bound", pvc)
        self.assertEqual(pvc["spec"]["volumeName"], "retain-pv")
        self.assertEqual(pv["status"]["phase"], "Bound", pv)
        self.assertEqual((pv["spec"]["claimRef"]["namespace"], pv["spec"]["claimRef"]["uid"]),
                         (ns, pvc["metadata"]["uid"]))

    def assert_job_accepted(self, server, ns):
        job = self.get(server, "job", "report", ns)
        self.assertIsNotNone(job, "the Job was not restored")
        uid = job["metadata"]["uid"]
        self.assertEqual(job["spec"]["selector"]["matchLabels"],
                         {"batch.kubernetes.io/controller-uid": uid})
        self.assertEqual(job["spec"]["template"]["metadata"]["labels"]["controller-uid"], uid)

    def selected_namespaces(self, server, ns):
        policy = self.get(server, "networkpolicy", "same-namespace", ns)
        peers = policy["spec"]["ingress"][0]["from"]
        return (peers[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                peers[1]["namespaceSelector"]["matchExpressions"][0]["values"])

    def test_restore_into_an_empty_cluster(self):
        target = self.empty_target()
        status = self.restore(target, "into-empty")
        self.assertEqual(status["counts"].get("failed", 0), 0, status)
        self.assert_bound(target, NS)
        self.assert_job_accepted(target, NS)
        # Set by a field manager (no last-applied annotation): explicit, kept.
        web = self.get(target, "service", "web", NS)
        self.assertEqual(web["spec"]["ports"][0]["nodePort"], NODE_PORT)
        self.assertEqual(self.selected_namespaces(target, NS), (NS, [NS, "monitoring"]))
        crb = self.get(target, "clusterrolebinding", "store-app-reader")
        self.assertEqual(crb["subjects"][0]["namespace"], NS)
        cmp = subprocess.run([sys.executable, COMPARE, self.source.kubeconfig,
                              target.kubeconfig, NS], capture_output=True, text=True)
        self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)
        # What the target generated or bound anew is no difference from the backup.
        again = self.restore(target, "into-empty-again")
        self.assertEqual(again["counts"].get("created", 0), 0, again)
        self.assertNotIn("differs from the backup", json.dumps(again["warnings"]))
        self.assert_bound(target, NS)

    def test_restore_into_an_empty_cluster_from_s3(self):
        env = s3_env()
        vault = ["--url", f"s3://{env['S3_BUCKET']}/{unique('rc')}", "--endpoint",
                 env["S3_ENDPOINT"], "--path-style"]
        r = run("backup-run", *vault, "--kubeconfig", self.source.kubeconfig,
                "--include-namespaces", NS, "--name", "full")
        self.assertEqual(r.code, 0, r)
        target = self.empty_target()
        status = self.restore(target, "from-s3", vault=vault)
        self.assertEqual(status["counts"].get("failed", 0), 0, status)
        self.assert_bound(target, NS)
        self.assert_job_accepted(target, NS)
        self.assertEqual(self.get(target, "service", "web", NS)["spec"]["ports"][0]["nodePort"],
                         NODE_PORT)

    def test_mapped_restore_into_an_empty_cluster_follows_the_mapping(self):
        target = self.empty_target()
        status = self.restore(target, "mapped", "--namespace-mapping", f"{NS}={NS}-copy")
        self.assertEqual(status["counts"].get("failed", 0), 0, status)
        self.assertIsNone(self.get(target, "namespace", NS))
        self.assert_bound(target, f"{NS}-copy")  # the PV's claimRef followed the mapping
        self.assert_job_accepted(target, f"{NS}-copy")
        self.assertEqual(self.selected_namespaces(target, f"{NS}-copy"),
                         (f"{NS}-copy", [f"{NS}-copy", "monitoring"]))
        crb = self.get(target, "clusterrolebinding", "store-app-reader")
        self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": "app",
                                            "namespace": f"{NS}-copy"}])

    def test_copy_into_a_mapped_namespace_of_the_same_cluster(self):
        copy = f"{NS}-copy"
        status = self.restore(self.source, "copy", "--namespace-mapping", f"{NS}={copy}")
        self.assertEqual(status["counts"].get("failed", 0), 0, status)
        warnings = json.dumps(status["warnings"])
        # The explicit nodePort is the original's: the copy gets a new one, and a warning
        # naming the Service and both ports.
        port = self.get(self.source, "service", "web", copy)["spec"]["ports"][0]["nodePort"]
        self.assertNotEqual(port, NODE_PORT)
        self.assertIn(f"Service '{copy}/web': nodePort {NODE_PORT} (port 443/TCP) is already "
                      f"allocated in the target cluster to Service '{NS}/web'; restored with "
                      f"{port} instead", warnings)
        self.assertEqual(self.get(self.source, "service", "web", NS)["spec"]["ports"][0][
            "nodePort"], NODE_PORT)
        # The PV exists (it is the original's): the copy's claim is not pointed at it.
        pvc = self.get(self.source, "pvc", "data", copy)
        self.assertNotIn("volumeName", pvc["spec"])
        self.assertEqual(pvc["status"]["phase"], "Pending")
        self.assert_bound(self.source, NS)
        self.assert_job_accepted(self.source, copy)
        self.assertEqual(self.selected_namespaces(self.source, copy),
                         (copy, [copy, "monitoring"]))
        self.assertEqual(self.selected_namespaces(self.source, NS), (NS, [NS, "monitoring"]))


    def test_update_of_a_copy_never_takes_the_originals_volume(self):
        # existing_resource_policy = update re-applies what exists: the original's PV is bound
        # to the original claim and must stay so, not be re-pointed at the copy's claim.
        copy = f"{NS}-upd"
        status = self.restore(self.source, "copy-update", "--namespace-mapping",
                              f"{NS}={copy}", "--existing-resource-policy", "update")
        self.assertEqual(status["counts"].get("failed", 0), 0, status)
        pv = self.get(self.source, "pv", "retain-pv")
        self.assertEqual((pv["spec"]["claimRef"]["namespace"], pv["spec"]["claimRef"]["name"]),
                         (NS, "data"))
        self.assert_bound(self.source, NS)
        self.assertIn(f"PersistentVolume 'retain-pv' exists and is bound to claim {NS}/data",
                      json.dumps(status["warnings"]))

if __name__ == "__main__":
    unittest.main()
