"""convert-run as a user runs it: a backup of PVCs and a StatefulSet in one API test server,
converted for a second one whose StorageClasses and Nodes the test seeds (a multi-zone cluster
with --zones), then restored there with restore-run --conversion and read back from its API.
Every test runs twice: against a file vault (ConvertRun) and the S3 test server (ConvertRunS3).
Ends with the secrets scan of its outputs, vaults, ConfigMaps and events."""
import json
import os
import shutil
import tempfile
import unittest

from cairn_test_support import SECRETS, KubeApiServer, plant_secret, run, s3_env, unique
from vault_access import FileVault, S3Vault

SOURCE_OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: app}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: old-nfs
  resources: {requests: {storage: 5Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: small, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: old-disk
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: legacy
  resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: app}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - {name: db, image: postgres:16}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: old-disk
      resources: {requests: {storage: 2Gi}}
"""

# The target's classes: a zonal cloud disk (20Gi minimum, single-node) binding late and
# immediately, and a shared file system.
TARGET_CLASSES = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: cloud-disk}
provisioner: diskplugin.csi.alibabacloud.com
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: cloud-disk-now}
provisioner: diskplugin.csi.alibabacloud.com
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: cloud-nas}
provisioner: nasplugin.csi.alibabacloud.com
"""

VALID = ["--storage-class-mapping", "old-disk=cloud-disk,old-nfs=cloud-disk",
         "--convert-to-access-modes", "ReadWriteMany=ReadWriteOnce"]


class ConvertRun(unittest.TestCase):
    """Against a file vault."""

    @classmethod
    def make_vault(cls):
        return FileVault(os.path.join(cls.dir, "vault"))

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-convert-")
        cls.vault = cls.make_vault()
        seed = os.path.join(cls.dir, "source.yaml")
        with open(seed, "w") as f:
            f.write(SOURCE_OBJECTS)
        cls.targets = os.path.join(cls.dir, "classes.yaml")
        with open(cls.targets, "w") as f:
            f.write(TARGET_CLASSES)
        cls.source = KubeApiServer("--seed", seed)
        try:
            plant_secret(cls.source, "app")
            for name in ("full", "other"):
                r = run("backup-run", *cls.vault.args(), "--kubeconfig", cls.source.kubeconfig,
                        "--include-namespaces", "app", "--name", name)
                if r.code != 0:
                    raise AssertionError(f"backup failed: {r}")
        except BaseException:
            cls.source.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        SECRETS.collect_vault(cls.vault)
        cls.source.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def target(self, *args):
        t = KubeApiServer("--seed", self.targets, *args)
        self.addCleanup(t.stop)
        return t

    def convert(self, target, *args, backup="full"):
        return run("convert-run", *self.vault.args(), "--kubeconfig", target.kubeconfig,
                   "--backup", backup, *args)

    def manifest(self, name, backup="full"):
        try:
            return self.vault.read(f"conversions/{backup}/{name}/manifest.json")
        except Exception:  # noqa: BLE001 - absent in either vault kind
            return None

    def status(self, name, backup="full"):
        return json.loads(self.vault.read(f"conversions/{backup}/{name}/status.json"))

    def test_missing_class_fails_naming_object_and_class(self):
        t = self.target()
        r = self.convert(t, "--storage-class-mapping", "old-disk=nope", "--name", "missing")
        self.assertEqual(r.code, 1, r)
        self.assertIn("storageclass 'nope' not exists in the target cluster", r.out)
        self.assertIn("PVC app/small", r.out)
        self.assertIn("StatefulSet app/db volumeClaimTemplate 'data'", r.out)
        self.assertIsNone(self.manifest("missing"))
        st = self.status("missing")
        self.assertEqual((st["kind"], st["phase"]), ("Conversion", "Failed"))
        cm = json.loads(t.kubectl("get", "configmaps", "-A", "-l", "cairn.io/kind=conversion",
                                  "-o", "json").stdout)["items"]
        self.assertTrue(any(c["metadata"]["name"] == "cairn-conversion-missing" for c in cm), cm)
        events = t.kubectl("get", "events", "-A", "-o", "json").stdout
        self.assertIn("ConvertFailed", events)

    def test_immediate_zonal_class_fails_only_in_a_multi_zone_cluster(self):
        args = ["--storage-class-mapping", "old-disk=cloud-disk-now", "--name", "zonal"]
        r = self.convert(self.target("--zones", "cn-hangzhou-h,cn-hangzhou-i"), *args)
        self.assertEqual(r.code, 1, r)
        self.assertIn("current cluster is multi-zoned: storageclass 'cloud-disk-now' binds "
                      "immediately and would pin volumes to one zone", r.out)
        self.assertIn("HINT: map it to a StorageClass with volumeBindingMode: "
                      "WaitForFirstConsumer", r.out)
        self.assertIsNone(self.manifest("zonal"))
        # One zone: the same class is fine.
        r = self.convert(self.target("--zones", "cn-hangzhou-h"), *args)
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(self.manifest("zonal"))

    def test_rwx_to_single_node_class_fails_unless_access_modes_are_converted(self):
        t = self.target()
        mapping = ["--storage-class-mapping", "old-disk=cloud-disk,old-nfs=cloud-disk"]
        r = self.convert(t, *mapping, "--name", "rwx")
        self.assertEqual(r.code, 1, r)
        self.assertIn("multi-node writing is only supported for block volume or shared file "
                      "systems: PVC app/shared is ReadWriteMany, storageclass 'cloud-disk' "
                      "(provisioner diskplugin.csi.alibabacloud.com) is single-node", r.out)
        r = self.convert(t, *mapping, "--convert-to-access-modes", "ReadWriteMany=ReadWriteOnce",
                         "--name", "rwx")
        self.assertEqual(r.code, 0, r)
        # A shared file system takes ReadWriteMany as it is.
        r = self.convert(t, "--storage-class-mapping", "old-nfs=cloud-nas", "--name", "nas")
        self.assertEqual(r.code, 0, r)

    def test_sizes_raised_unmapped_class_warned_and_rerun_idempotent(self):
        t = self.target()
        r = self.convert(t, *VALID, "--name", "valid")
        self.assertEqual(r.code, 0, r)
        self.assertIn("PVC app/small requests 1Gi, below the minimum of storageclass "
                      "'cloud-disk' (provisioner diskplugin.csi.alibabacloud.com): raised from "
                      "1Gi to 20Gi", r.out)
        self.assertIn("StatefulSet app/db volumeClaimTemplate 'data' requests 2Gi", r.out)
        self.assertIn("will stay Pending until a class 'legacy' exists", r.out)
        first = self.manifest("valid")
        doc = json.loads(self.vault.read("conversions/full/valid/conversion.json"))
        self.assertEqual(doc["backup"], "full")
        small = [o for o in doc["objects"] if o["name"] == "small"][0]
        self.assertEqual(small["spec"]["resources"]["requests"]["storage"], "20Gi")
        self.assertEqual(small["spec"]["storageClassName"], "cloud-disk")
        self.assertTrue(any(v["severity"] == "warning" for v in doc["validation"]))
        st = self.status("valid")
        self.assertEqual(st["phase"], "Completed")
        # small, shared, the template and the claim data-db-0 the source made from it
        self.assertEqual(st["counts"]["sizesRaised"], 4)
        # The same conversion again: nothing rewritten, the manifest is the same bytes.
        r = self.convert(t, *VALID, "--name", "valid")
        self.assertEqual(r.code, 0, r)
        self.assertIn("already published, unchanged", r.out)
        self.assertEqual(self.manifest("valid"), first)
        # Another mapping under the same name is refused until --reset deletes it.
        other = ["--storage-class-mapping", "old-nfs=cloud-nas", "--name", "valid"]
        r = self.convert(t, *other)
        self.assertEqual(r.code, 1, r)
        self.assertIn("already exists and differs", r.out)
        r = self.convert(t, "--name", "valid", "--reset")
        self.assertEqual(r.code, 0, r)
        self.assertIsNone(self.manifest("valid"))
        self.assertIsNotNone(self.vault.read("backups/full/manifest.json"))
        r = self.convert(t, *other)
        self.assertEqual(r.code, 0, r)

    def test_dry_run_prints_the_plan_and_writes_nothing(self):
        t = self.target()
        r = self.convert(t, *VALID, "--name", "dry", "--dry-run")
        self.assertEqual(r.code, 0, r)
        self.assertIn("PVC app/shared: class old-nfs -> cloud-disk, access modes ReadWriteOnce, "
                      "size 20Gi", r.out)
        self.assertIsNone(self.manifest("dry"))

    def test_restore_with_conversion_carries_classes_modes_and_sizes(self):
        t = self.target("--zones", "cn-hangzhou-h,cn-hangzhou-i")
        r = self.convert(t, *VALID, "--name", "for-restore")
        self.assertEqual(r.code, 0, r)
        r = run("restore-run", *self.vault.args(), "--kubeconfig", t.kubeconfig, "--backup",
                "full", "--conversion", "for-restore", "--name", "r-conv")
        self.assertEqual(r.code, 0, r)
        pvcs = {p["metadata"]["name"]: p for p in json.loads(
            t.kubectl("get", "pvc", "-n", "app", "-o", "json").stdout)["items"]}
        shared = pvcs["shared"]["spec"]
        self.assertEqual(shared["storageClassName"], "cloud-disk")
        self.assertEqual(shared["accessModes"], ["ReadWriteOnce"])
        self.assertEqual(shared["resources"]["requests"]["storage"], "20Gi")
        self.assertEqual(pvcs["small"]["spec"]["storageClassName"], "cloud-disk")
        self.assertEqual(pvcs["logs"]["spec"]["storageClassName"], "legacy")  # unmapped
        sts = json.loads(t.kubectl("get", "statefulset", "db", "-n", "app", "-o", "json").stdout)
        vct = sts["spec"]["volumeClaimTemplates"][0]["spec"]
        self.assertEqual(vct["storageClassName"], "cloud-disk")
        self.assertEqual(vct["resources"]["requests"]["storage"], "20Gi")

    def test_restore_refuses_a_conversion_of_another_backup_or_a_contradiction(self):
        t = self.target()
        r = self.convert(t, *VALID, "--name", "of-full")
        self.assertEqual(r.code, 0, r)
        r = run("restore-run", *self.vault.args(), "--kubeconfig", t.kubeconfig, "--backup",
                "other", "--conversion", "of-full", "--name", "r-other")
        self.assertEqual(r.code, 1, r)
        self.assertIn("conversion 'of-full' was made for backup 'full', not for 'other'", r.all)
        r = run("restore-run", *self.vault.args(), "--kubeconfig", t.kubeconfig, "--backup",
                "full", "--conversion", "of-full", "--storage-class-mapping",
                "old-disk=cloud-nas", "--name", "r-contra")
        self.assertEqual(r.code, 1, r)
        self.assertIn("contradicts conversion 'of-full'", r.all)
        got = t.kubectl("get", "pvc", "-n", "app", "-o", "json", check=False)
        items = json.loads(got.stdout)["items"] if got.returncode == 0 else []
        self.assertEqual(items, [], "a refused restore applied objects")


class ConvertRunS3(ConvertRun):
    """The same tests against the S3 test server."""

    @classmethod
    def make_vault(cls):
        return S3Vault(s3_env(), unique("convert"))


def setUpModule():
    SECRETS.enable()


def tearDownModule():
    SECRETS.finish("convert_test")


if __name__ == "__main__":
    unittest.main()
