"""restore-run writing a backup into a cluster, as processes against the API test server:
a second restore is idempotent (nodePorts held by the very Services, ResourceQuotas that count
creates), ownerReferences re-pointed to the owners' new uids (and cascade deletion working
after the restore), what excluding a resource leaves to controllers, Jobs of CronJobs, the
warnings of every skip, results.json.zst naming the objects as created, restore_workers."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from cairn_test_support import KubeApiServer, run, s3_env, unique
from vault_access import FileVault, S3Vault

NS = "store"


def owner_ref(obj, controller=True):
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
            "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"],
            "controller": controller, "blockOwnerDeletion": True}


def make_source(kube):
    """The namespace `store`: owners and dependents, a quota, an explicit nodePort, a CronJob
    and its Job, a service-account token Secret."""
    def create(obj):
        out = kube.kubectl("create", "-o", "json", "-f", "-", input=json.dumps(obj))
        return json.loads(out.stdout)

    kube.kubectl("create", "namespace", NS)
    create({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "objects",
            "namespace": NS}, "spec": {"hard": {"configmaps": "12", "count/secrets": "6",
                                                 "services": "3"}}})
    # A NodePort the user chose (kubectl apply records it): kept by the restore.
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
           "spec": {"type": "NodePort", "selector": {"app": "web"},
                    "ports": [{"port": 80, "nodePort": 30777}]}}
    kube.kubectl("apply", "-f", "-", input=json.dumps(svc))
    svc = json.loads(kube.kubectl("get", "service", "web", "-n", NS, "-o", "json").stdout)
    # Owners and dependents: a ConfigMap owned by a later one of the same resource, a Secret
    # (an earlier tier) owned by the Service, a Deployment with its ReplicaSet and Pod.
    parent = create({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "b-parent", "namespace": NS}, "data": {"k": "p"}})
    create({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a-child", "namespace": NS,
                         "ownerReferences": [owner_ref(parent, controller=False)]},
            "data": {"k": "c"}})
    create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "web-extra", "namespace": NS,
                         "ownerReferences": [owner_ref(svc)]}, "stringData": {"k": "v"}})
    for i in range(6):
        create({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": f"bulk-{i}", "namespace": NS}, "data": {"i": str(i)}})
    labels = {"app": "web"}
    template = {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}
    dep = create({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": NS},
                  "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                           "template": template}})
    rs = create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                 "metadata": {"name": "web-5d4f8", "namespace": NS,
                              "labels": {**labels, "pod-template-hash": "5d4f8"},
                              "ownerReferences": [owner_ref(dep)]},
                 "spec": {"replicas": 1,
                          "selector": {"matchLabels": {**labels, "pod-template-hash": "5d4f8"}},
                          "template": {"metadata": {"labels": {**labels,
                                                               "pod-template-hash": "5d4f8"}},
                                       "spec": template["spec"]}}})
    create({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-5d4f8-x2k9p", "namespace": NS,
                         "labels": {**labels, "pod-template-hash": "5d4f8"},
                         "ownerReferences": [owner_ref(rs)]},
            "spec": template["spec"]})
    cron = create({"apiVersion": "batch/v1", "kind": "CronJob",
                   "metadata": {"name": "nightly", "namespace": NS},
                   "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {
                       "spec": {"restartPolicy": "Never",
                                "containers": [{"name": "n", "image": "busybox"}]}}}}}})
    create({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "nightly-29000000", "namespace": NS,
                         "ownerReferences": [owner_ref(cron)]},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "n", "image": "busybox"}]}}}})
    create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "default-token-abcde", "namespace": NS,
                         "annotations": {"kubernetes.io/service-account.name": "default"}},
            "data": {"token": "c2VjcmV0"}})


class RestoreApply(unittest.TestCase):
    """Against a file vault."""

    @classmethod
    def make_vault(cls):
        return FileVault(os.path.join(cls.dir, "vault"))

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-restore-apply-")
        try:
            cls.vault = cls.make_vault()
        except BaseException:  # no S3 test server: skipped
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise
        cls.source = KubeApiServer()
        try:
            make_source(cls.source)
            r = run("backup-run", *cls.vault.args(), "--kubeconfig",
                    cls.source.kubeconfig, "--include-namespaces", NS, "--name", "b1")
            if r.code != 0:
                raise AssertionError(f"backup failed: {r}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.source.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.target = KubeApiServer()
        self.addCleanup(self.target.stop)

    def restore(self, name, *args):
        r = run("restore-run", *self.vault.args(), "--kubeconfig", self.target.kubeconfig,
                "--backup", "b1", "--name", name, "--output", "json",
                "--kube-qps", "1000", "--kube-burst", "1000", *args)
        try:
            r.status = r.json()
        except ValueError:
            raise AssertionError(f"no JSON status: {r}")
        return r

    def get(self, resource, name, ns=NS):
        p = self.target.kubectl("get", resource, name, "-n", ns, "-o", "json", check=False)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def results(self, name):
        data = self.vault.read(f"restores/{name}/results.json.zst")
        out = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True)
        return json.loads(out.stdout)

    def vault_status(self, name):
        return json.loads(self.vault.read(f"restores/{name}/status.json"))

    def warnings(self, status):
        return [(w.get("object", ""), w["message"]) for w in status["warnings"]["items"]]

    def test_second_restore_is_idempotent_and_leaves_quotas_alone(self):
        first = self.restore("r1")
        self.assertEqual(first.code, 0, first)
        self.assertEqual(self.get("service", "web")["spec"]["ports"][0]["nodePort"], 30777)
        quota = self.get("resourcequota", "objects")["status"]
        # The first restore came within the quota (it is written after the objects it counts).
        self.assertEqual(quota["used"]["services"], "1")
        second = self.restore("r2")
        self.assertEqual(second.code, 0, second)
        st = second.status
        self.assertEqual(st["phase"], "Completed")
        self.assertEqual(st["errors"]["count"], 0, st["errors"])
        self.assertEqual(st["counts"].get("created", 0), 0, st["counts"])
        self.assertEqual(st["counts"].get("failed", 0), 0, st["counts"])
        self.assertEqual(st["counts"]["skipped"],
                         first.status["counts"]["created"] + first.status["counts"]["skipped"])
        # No create was admitted only to fail: the quota counts what exists, as before.
        self.assertEqual(self.get("resourcequota", "objects")["status"], quota)
        # The Service that holds its nodePort was skipped, not failed.
        web = [o for o in self.results("r2") if o["object"] == f"services/{NS}/web"]
        self.assertEqual([o["action"] for o in web], ["skipped"])

    def test_owner_references_follow_the_owners_and_cascade_deletion_works(self):
        r = self.restore("r3")
        self.assertEqual(r.code, 0, r)
        parent, child = self.get("configmap", "b-parent"), self.get("configmap", "a-child")
        self.assertEqual(child["metadata"]["ownerReferences"][0]["uid"],
                         parent["metadata"]["uid"])
        self.assertEqual(child["metadata"]["ownerReferences"][0]["name"], "b-parent")
        svc, secret = self.get("service", "web"), self.get("secret", "web-extra")
        self.assertEqual(secret["metadata"]["ownerReferences"][0]["uid"], svc["metadata"]["uid"])
        self.assertTrue(secret["metadata"]["ownerReferences"][0]["controller"])
        # The garbage collector deletes the dependents of a deleted owner.
        self.target.kubectl("delete", "configmap", "b-parent", "-n", NS)
        self.assertIsNone(self.get("configmap", "a-child"))
        self.target.kubectl("delete", "service", "web", "-n", NS)
        self.assertIsNone(self.get("secret", "web-extra"))
        # The ReplicaSet is the Deployment's to recreate; Pods the ReplicaSet's; the Job of the
        # CronJob is not restored; every one of these skips is a warning in the status.
        self.assertIsNone(self.get("replicaset.apps", "web-5d4f8"))
        self.assertIsNone(self.get("pod", "web-5d4f8-x2k9p"))
        self.assertIsNone(self.get("job.batch", "nightly-29000000"))
        self.assertIsNotNone(self.get("cronjob.batch", "nightly"))
        warnings = self.warnings(self.vault_status("r3"))
        expect = {
            f"replicasets.apps/{NS}/web-5d4f8": "left for its controller: owned by Deployment "
                                                "'web'",
            f"pods/{NS}/web-5d4f8-x2k9p": "left for its controller: owned by ReplicaSet "
                                          "'web-5d4f8'",
            f"jobs.batch/{NS}/nightly-29000000": "not restored: created by CronJob 'nightly', "
                                                 "which is restored",
            f"secrets/{NS}/default-token-abcde": "not restored: a service-account token secret",
        }
        for obj, text in expect.items():
            self.assertTrue(any(o == obj and text in m for o, m in warnings),
                            f"no warning '{text}' for {obj}: {warnings}")

    def test_excluding_deployments_restores_their_replicasets(self):
        r = self.restore("r4", "--exclude-resources", "deployments")
        self.assertEqual(r.code, 0, r)
        self.assertIsNone(self.get("deployment.apps", "web"))
        rs = self.get("replicaset.apps", "web-5d4f8")
        self.assertIsNotNone(rs, "the ReplicaSet of an excluded Deployment was not restored")
        self.assertNotIn("ownerReferences", rs["metadata"])
        # Its Pod is the restored ReplicaSet's to create.
        self.assertIsNone(self.get("pod", "web-5d4f8-x2k9p"))
        warnings = self.warnings(r.status)
        self.assertIn((f"replicasets.apps/{NS}/web-5d4f8",
                       "ownerReference to Deployment 'web' dropped: the owner is not restored by "
                       "this restore"), warnings)
        # The filter itself is no warning: the Deployment is only "excluded" in the results.
        self.assertFalse(any(o.startswith("deployments.apps/") for o, _ in warnings), warnings)
        dep = [o for o in self.results("r4") if o["object"] == f"deployments.apps/{NS}/web"]
        self.assertEqual([o["action"] for o in dep], ["excluded"])

    def test_excluding_replicasets_still_leaves_pods_to_them(self):
        r = self.restore("r5", "--exclude-resources", "replicasets")
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(self.get("deployment.apps", "web"))
        self.assertIsNone(self.get("pod", "web-5d4f8-x2k9p"))

    def test_results_name_the_objects_as_created_under_a_mapping(self):
        r = self.restore("r6", "--namespace-mapping", f"{NS}={NS}-copy")
        self.assertEqual(r.code, 0, r)
        results = self.results("r6")
        created = {o["object"] for o in results if o["action"] == "created"}
        self.assertIn(f"namespaces/{NS}-copy", created)
        self.assertIn(f"configmaps/{NS}-copy/b-parent", created)
        for o in results:
            self.assertNotIn(f"/{NS}/", o["object"], o)
            if o["namespace"]:
                self.assertEqual(o["namespace"], f"{NS}-copy", o)
            self.assertTrue(o["path"].startswith("resources/"), o)
        # Owners are found in the mapped namespace too.
        parent = self.get("configmap", "b-parent", f"{NS}-copy")
        child = self.get("configmap", "a-child", f"{NS}-copy")
        self.assertEqual(child["metadata"]["ownerReferences"][0]["uid"],
                         parent["metadata"]["uid"])
        # A second restore under the mapping finds the Namespace by its mapped name.
        again = self.restore("r6b", "--namespace-mapping", f"{NS}={NS}-copy",
                             "--existing-resource-policy", "update")
        self.assertEqual(again.code, 0, again)
        self.assertIsNone(self.get("namespace", NS, ""))

    def test_restore_workers_is_the_number_of_writes_at_once(self):
        def most_at_once(workers):
            target = KubeApiServer()
            try:
                target.admin({"latency": {"path_regex": f"^/api/v1/namespaces/{NS}/"
                                                        "configmaps$", "ms": 400}})
                r = run("restore-run", *self.vault.args(), "--kubeconfig",
                        target.kubeconfig, "--backup", "b1", "--name", f"w{workers}",
                        "--kube-qps", "1000", "--kube-burst", "1000",
                        "--restore-workers", str(workers))
                self.assertEqual(r.code, 0, r)
                reqs = [q for q in target.admin_requests()
                        if q["method"] == "POST" and q["path"].endswith("/configmaps")]
                self.assertGreaterEqual(len(reqs), 2)
                # Each write takes 400 ms; the log's start time and duration are taken apart, so
                # a span is cut by 50 ms at its end: one worker's back-to-back writes never
                # count as overlapping, while real parallel writes overlap by hundreds of ms.
                spans = [(q["time"], q["time"] + q["durationMs"] / 1000 - 0.05) for q in reqs]
                return max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
            finally:
                target.stop()
        self.assertEqual(most_at_once(1), 1)
        self.assertGreaterEqual(most_at_once(4), 2)


class RestoreApplyS3(RestoreApply):
    """The same tests against the S3 test server: restore reads everything from S3."""

    @classmethod
    def make_vault(cls):
        return S3Vault(s3_env(), unique("restore-apply"))


if __name__ == "__main__":
    unittest.main()
