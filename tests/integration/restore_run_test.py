"""restore-run as a user runs it: the sample workloads backed up from one API test server
(cluster A) and restored into a second, empty one (cluster B), compared with
tests/compare_clusters.py; mappings, policies, corruption and rejected objects. Every test runs
twice: against a file vault (RestoreRun) and against the S3 test server (RestoreRunS3)."""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from cairn_test_support import SECRETS, SOURCE, KubeApiServer, binary, run, s3_env, unique
from vault_access import FileVault, S3Vault

COMPARE = os.path.join(SOURCE, "tests", "compare_clusters.py")


class RestoreRun(unittest.TestCase):
    """Against a file vault."""

    @classmethod
    def make_vault(cls):
        return FileVault(os.path.join(cls.dir, "vault"))

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-restore-")
        cls.vault = cls.make_vault()
        cls.source = KubeApiServer("--samples")
        r = run("backup-run", *cls.vault.args(), "--kubeconfig",
                cls.source.kubeconfig, "--include-namespaces", "shop,data", "--name", "full")
        if r.code != 0:
            cls.source.stop()
            raise AssertionError(f"backup failed: {r}")

    @classmethod
    def tearDownClass(cls):
        if isinstance(cls.vault, S3Vault):
            SECRETS.collect_s3(cls.vault.prefix)
        else:
            SECRETS.collect_dir(cls.vault.root)
        cls.source.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.target = KubeApiServer()
        self.addCleanup(self.target.stop)

    def restore(self, *args, vault=None, env=None):
        return run("restore-run", *(vault or self.vault).args(), "--kubeconfig",
                   self.target.kubeconfig, "--backup", "full", *args, env=env)

    def objects(self, resource, ns):
        p = self.target.kubectl("get", resource, "-n", ns, "-o", "json", check=False)
        return {o["metadata"]["name"]: o for o in json.loads(p.stdout)["items"]} \
            if p.returncode == 0 else {}

    def test_restore_into_another_cluster_reproduces_the_workloads(self):
        r = self.restore("--name", "r1", "--output", "json")
        self.assertEqual(r.code, 0, r)
        status = r.json()
        self.assertEqual(status["phase"], "Completed")
        self.assertGreater(status["counts"]["created"], 30)
        cmp = subprocess.run([sys.executable, COMPARE, self.source.kubeconfig,
                              self.target.kubeconfig, "shop", "data"],
                             capture_output=True, text=True)
        self.assertEqual(cmp.returncode, 0, cmp.stdout + cmp.stderr)
        self.assertIn("0 differences", cmp.stdout)
        # The CRD and its custom resources came in one run; labels name backup and restore.
        crs = self.objects("databases.demo.cairn.dev", "data")
        self.assertTrue(crs, "custom resources were not restored")
        cm = next(iter(self.objects("configmaps", "shop").values()))
        self.assertEqual(cm["metadata"]["labels"]["cairn.io/backup-name"], "full")
        self.assertEqual(cm["metadata"]["labels"]["cairn.io/restore-name"], "r1")
        # Restoring again with policy none creates nothing.
        r = self.restore("--name", "r1-again", "--output", "json")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["counts"].get("created", 0), 0)
        self.assertGreater(r.json()["counts"]["skipped"], 30)

    def test_namespace_and_image_and_storage_mappings(self):
        r = self.restore("--name", "r2", "--namespace-mapping", "shop=shop-copy,data=data-copy",
                         "--image-registry-mapping", "docker.io/library/=mirror.example.com/lib/",
                         "--storage-class-mapping", "fast=standard",
                         "--convert-to-access-modes", "ReadWriteMany=ReadWriteOnce")
        self.assertEqual(r.code, 0, r)
        self.assertFalse(self.objects("configmaps", "shop"))
        self.assertTrue(self.objects("configmaps", "shop-copy"))
        cmp = subprocess.run([sys.executable, COMPARE, self.source.kubeconfig,
                              self.target.kubeconfig, "shop=shop-copy"],
                             capture_output=True, text=True)
        images = [c["image"] for d in self.objects("deployments.apps", "shop-copy").values()
                  for c in d["spec"]["template"]["spec"].get("containers", [])]
        self.assertTrue(images)
        for image in images:
            self.assertFalse(image.startswith("docker.io/library/"), image)
        for pvc in self.objects("persistentvolumeclaims", "data-copy").values():
            self.assertNotEqual(pvc["spec"].get("storageClassName"), "fast")
            self.assertNotIn("ReadWriteMany", pvc["spec"].get("accessModes", []))
        for sts in self.objects("statefulsets.apps", "data-copy").values():
            for t in sts["spec"].get("volumeClaimTemplates", []):
                self.assertNotEqual(t["spec"].get("storageClassName"), "fast")
        self.assertIn("differences", cmp.stdout)

    def test_existing_objects_none_warns_update_converges(self):
        self.assertEqual(self.restore("--name", "r3").code, 0)
        name, cm = next((n, o) for n, o in sorted(self.objects("configmaps", "shop").items())
                        if o.get("data"))
        key = sorted(cm["data"])[0]
        original = cm["data"][key]
        self.target.kubectl("patch", "configmap", name, "-n", "shop", "--type", "merge",
                            "-p", json.dumps({"data": {key: "changed in the target"}}))
        r = self.restore("--name", "r3b", "--output", "json")
        self.assertEqual(r.code, 0, r)
        self.assertIn("differs from the backup", json.dumps(r.json()["warnings"]))
        self.assertEqual(self.objects("configmaps", "shop")[name]["data"][key],
                         "changed in the target")
        r = self.restore("--name", "r3c", "--existing-resource-policy", "update",
                         "--output", "json")
        self.assertEqual(r.code, 0, r)
        self.assertGreater(r.json()["counts"]["updated"], 0)
        self.assertEqual(self.objects("configmaps", "shop")[name]["data"][key], original)

    def test_corrupted_archive_fails_and_leaves_the_cluster_unchanged(self):
        vault = self.vault.another("corrupt")
        r = run("backup-run", *vault.args(), "--kubeconfig", self.source.kubeconfig,
                "--include-namespaces", "shop,data", "--name", "full")
        self.assertEqual(r.code, 0, r)
        archive = bytearray(vault.read("backups/full/resources.tar.zst"))
        archive[len(archive) // 2] ^= 0x01
        vault.write("backups/full/resources.tar.zst", bytes(archive))
        before = self.target.kubectl("get", "all", "-A", "-o", "name").stdout
        r = self.restore("--name", "r4", "--output", "json", vault=vault)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.json()["phase"], "Failed")
        self.assertIn("resources.tar.zst", r.json()["message"])
        self.assertIn("nothing was applied", r.json()["message"])
        self.assertEqual(self.target.kubectl("get", "all", "-A", "-o", "name").stdout, before)
        self.assertFalse(self.objects("configmaps", "shop"))

    def test_no_room_in_tmpdir_is_a_local_failure_that_names_it(self):
        room = tempfile.mkdtemp(prefix="cairn-small-tmp-")
        self.addCleanup(os.rmdir, room)
        # One page of tmpfs: the spool's first few KiB fit, then "No space left on device".
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", room],
                          capture_output=True).returncode != 0:
            self.skipTest("mounting a small tmpfs needs root")
        self.addCleanup(subprocess.run, ["umount", room], check=True)
        r = self.restore("--name", "r9", "--output", "json", env={"TMPDIR": room})
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Failed")
        message = status["message"]
        self.assertIn(f"unable to keep the verified objects in $TMPDIR ({room})", message)
        self.assertRegex(message, r"\): No space left on device after writing [0-9.]+ [KM]iB "
                                  r"there; this restore needs about [0-9.]+ [KM]iB, "
                                  r"[0-9]+ bytes are free; give it a larger emptyDir")
        self.assertIn("nothing was applied", message)
        self.assertNotIn("verification", message)  # the backup is not blamed
        self.assertFalse(self.objects("configmaps", "shop"))

    def test_a_partial_backup_restores_with_a_warning_saying_so(self):
        vault = self.vault.another("partial")
        self.source.admin({"forbid": {"resource": "secrets", "verb": "list"}})
        try:
            r = run("backup-run", *vault.args(), "--kubeconfig", self.source.kubeconfig,
                    "--include-namespaces", "shop", "--name", "full", "--output", "json")
        finally:
            self.source.admin({"unforbid": {"resource": "secrets"}})
        self.assertEqual(r.code, 3, r)
        errors = r.json()["errors"]["count"]
        self.assertGreater(errors, 0)
        r = self.restore("--name", "r10", "--output", "json", vault=vault)
        self.assertEqual(r.code, 0, r)
        self.assertIn(f"the backup itself was partial: {errors} error",
                      json.dumps(r.json()["warnings"]))
        # A complete backup carries no such warning.
        r = self.restore("--name", "r11", "--output", "json")
        self.assertNotIn("the backup itself was partial", json.dumps(r.json()["warnings"]))

    def test_rejected_object_is_partially_failed_and_named(self):
        # A NodePort the restore wants to keep is already taken in the target.
        svc = [s for s in json.loads(self.source.kubectl(
            "get", "services", "-n", "shop", "-o", "json").stdout)["items"]
            if s["spec"].get("type") == "NodePort"]
        self.assertTrue(svc, "the sample set has a NodePort service")
        port = svc[0]["spec"]["ports"][0]["nodePort"]
        self.target.kubectl("create", "namespace", "other")
        taken = {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "taken", "namespace": "other"},
                 "spec": {"type": "NodePort", "selector": {"a": "b"},
                          "ports": [{"port": 80, "nodePort": port}]}}
        self.target.kubectl("create", "-f", "-", input=json.dumps(taken))
        r = self.restore("--name", "r5", "--preserve-node-ports", "--output", "json")
        self.assertEqual(r.code, 3, r)
        status = r.json()
        self.assertEqual(status["phase"], "PartiallyFailed")
        errors = json.dumps(status["errors"])
        self.assertIn(svc[0]["metadata"]["name"], errors)
        self.assertIn("already allocated", errors)

    def test_restore_status_writes_the_status_of_custom_resources(self):
        ns = "status-demo"
        self.source.kubectl("create", "namespace", ns)
        db = {"apiVersion": "demo.cairn.dev/v1", "kind": "Database",
              "metadata": {"name": "orders", "namespace": ns},
              "spec": {"engine": "postgres", "replicas": 2}}
        self.source.kubectl("create", "-f", "-", input=json.dumps(db))
        self.source.kubectl("patch", "databases.demo.cairn.dev", "orders", "-n", ns,
                            "--subresource=status", "--type=merge", "-p",
                            json.dumps({"status": {"phase": "Ready", "replicas": 2}}))
        vault = self.vault.another("status")
        r = run("backup-run", *vault.args(), "--kubeconfig",
                self.source.kubeconfig, "--include-namespaces", ns, "--name", "full")
        self.assertEqual(r.code, 0, r)
        # Without restore_status the status is reset (the controller's to write again).
        r = self.restore("--name", "rs1", vault=vault)
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("phase", self.objects("databases.demo.cairn.dev", ns)["orders"]
                         .get("status", {}))
        # With it, through the status subresource, on a create and on an update.
        self.target.kubectl("delete", "databases.demo.cairn.dev", "orders", "-n", ns)
        r = self.restore("--name", "rs2", "--restore-status", "--output", "json", vault=vault)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["warnings"]["count"], 0, r.json()["warnings"])
        got = self.objects("databases.demo.cairn.dev", ns)["orders"]
        self.assertEqual(got.get("status"), {"phase": "Ready", "replicas": 2})
        self.target.kubectl("patch", "databases.demo.cairn.dev", "orders", "-n", ns,
                            "--subresource=status", "--type=merge", "-p",
                            json.dumps({"status": {"phase": "Failed"}}))
        r = self.restore("--name", "rs3", "--restore-status", "--existing-resource-policy",
                         "update", vault=vault)
        self.assertEqual(r.code, 0, r)
        got = self.objects("databases.demo.cairn.dev", ns)["orders"]
        self.assertEqual(got["status"]["phase"], "Ready")

    def test_timeout_stops_between_objects_and_fails_with_the_reason(self):
        # 2 requests/s against 40-odd objects: the 3 s timeout passes while applying.
        start = time.time()
        r = self.restore("--name", "r7", "--kube-qps", "2", "--kube-burst", "1", "--timeout",
                         "3s", "--output", "json")
        self.assertLess(time.time() - start, 15, "did not stop soon after its timeout")
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Failed")
        self.assertIn("timeout 3s exceeded", status["message"])
        created = status["counts"].get("created", 0)
        self.assertGreater(created, 0)
        self.assertLess(created, 20)
        self.assertEqual(json.loads(self.vault.read("restores/r7/status.json"))["phase"],
                         "Failed")
        results = subprocess.run(["zstd", "-dc"], input=self.vault.read(
            "restores/r7/results.json.zst"), capture_output=True, check=True)
        actions = [o["action"] for o in json.loads(results.stdout)]
        self.assertEqual(actions.count("created"), created)

    def test_default_restore_name_of_a_63_character_backup_is_valid(self):
        long_name = "b" * 40 + "-" + "c" * 22
        self.assertEqual(len(long_name), 63)
        r = run("backup-run", *self.vault.args(), "--kubeconfig", self.source.kubeconfig,
                "--include-namespaces", "data", "--name", long_name)
        self.assertEqual(r.code, 0, r)
        r = run("restore-run", *self.vault.args(), "--kubeconfig", self.target.kubeconfig,
                "--backup", long_name, "--output", "json")
        self.assertEqual(r.code, 0, r)
        name = r.json()["name"]
        self.assertRegex(name, r"^b{40}-restore-[0-9]{14}$")

    def test_file_size_limit_fails_the_run_instead_of_killing_it(self):
        if not isinstance(self.vault, FileVault):
            self.skipTest("the limit bites on files the run writes: a file vault's")
        limit = 2000  # below the status document: its first write fails with EFBIG
        p = subprocess.run(
            [binary("restore-run"), *self.vault.args(), "--kubeconfig", self.target.kubeconfig,
             "--backup", "full", "--name", "r-fsize"],
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
            capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 1, p.stderr)  # not -SIGXFSZ
        self.assertIn("File too large", p.stderr)

    def test_dry_run_prints_the_plan_in_tier_order(self):
        r = self.restore("--name", "r6", "--dry-run")
        self.assertEqual(r.code, 0, r)
        lines = r.out.splitlines()
        ns_line = next(i for i, l in enumerate(lines) if " namespaces/" in l)
        dep_line = next(i for i, l in enumerate(lines) if "deployments.apps" in l)
        self.assertLess(ns_line, dep_line)
        self.assertFalse(self.objects("configmaps", "shop"))


class RestoreRunS3(RestoreRun):
    """The same tests against the S3 test server: restore reads everything from S3."""

    @classmethod
    def make_vault(cls):
        return S3Vault(s3_env(), unique("restore"))


def setUpModule():
    SECRETS.enable()


def tearDownModule():
    SECRETS.finish("restore_run_test")


if __name__ == "__main__":
    unittest.main()
