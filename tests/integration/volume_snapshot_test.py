"""CSI snapshots of volume data end to end against the API test server and its snapshot
controller: backup-run --volumes snapshot (a VolumeSnapshot per claim, its content Retain,
recorded in the manifest), --volumes all (also exported through a mover on a temporary claim
made from the snapshot, which is gone afterwards), a snapshot that fails (PartiallyFailed
naming the claim), a ReadWriteOncePod claim in use under --volumes fs (through a snapshot, or
a warning naming it when its driver has no snapshot class),
and restore-run in the same cluster making the claim from the snapshot."""
import json
import os
import shutil
import tempfile
import unittest

from cairn_test_support import KubeApiServer, _admin_call, run, unique
from vault_access import FileVault

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: hostpath.csi.k8s.io
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: csi-hostpath-snapclass
  annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}
driver: hostpath.csi.k8s.io
deletionPolicy: Delete
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
"""


def in_use_read_write_once_pod_claim(ns, storage_class):
    """Namespace `ns` with claim `db` (ReadWriteOncePod, `storage_class`) mounted by pod db-0."""
    return f"""---
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: db, namespace: {ns}}}
spec:
  accessModes: [ReadWriteOncePod]
  storageClassName: {storage_class}
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: db-0, namespace: {ns}}}
spec:
  securityContext: {{runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000}}
  containers:
  - name: db
    image: postgres:16
    volumeMounts: [{{name: data, mountPath: /var/lib/postgresql}}]
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: db}}
"""


# solo: its driver has a snapshot class; lone: its driver (nfs) has none.
OBJECTS += in_use_read_write_once_pod_claim("solo", "fast") + """---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs}
provisioner: nfs.csi.k8s.io
volumeBindingMode: Immediate
""" + in_use_read_write_once_pod_claim("lone", "nfs") + """---
apiVersion: v1
kind: Namespace
metadata: {name: pair}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: a, namespace: pair}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: b, namespace: pair}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
"""


class VolumeSnapshots(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-snapvol-")
        cls.vault = FileVault(os.path.join(cls.dir, "vault"))
        seed = os.path.join(cls.dir, "seed.yaml")
        with open(seed, "w") as f:
            f.write(OBJECTS)
        cls.volumes = os.path.join(cls.dir, "volumes")
        os.makedirs(os.path.join(cls.volumes, "app", "data", "db"))
        with open(os.path.join(cls.volumes, "app", "data", "db", "table.dat"), "wb") as f:
            f.write(os.urandom(100_000))
        for pvc in ("a", "b"):
            os.makedirs(os.path.join(cls.volumes, "pair", pvc))
        os.makedirs(os.path.join(cls.volumes, "solo", "db"))
        with open(os.path.join(cls.volumes, "solo", "db", "PG_VERSION"), "w") as f:
            f.write("16\n")
        cls.kube = KubeApiServer("--seed", seed)

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        _admin_call(self.kube, "", {"snapshot": {"auto": "ready"}})

    def backup(self, name, *args):
        return run("backup-run", *self.vault.args(), "--kubeconfig", self.kube.kubeconfig,
                   "--include-namespaces", "app", "--name", name, *args)

    def get(self, *what):
        return json.loads(self.kube.kubectl("get", *what, "-o", "json").stdout)

    def status(self, name):
        return json.loads(self.vault.read(f"backups/{name}/status.json"))

    def manifest(self, name):
        return json.loads(self.vault.read(f"backups/{name}/manifest.json"))

    def test_snapshot_backup_records_a_retained_snapshot_and_restore_uses_it(self):
        name = unique("snap")
        r = self.backup(name, "--volumes", "snapshot")
        self.assertEqual(r.code, 0, r)
        st = self.status(name)
        self.assertEqual((st["phase"], st["backupType"], st["dataType"]),
                         ("Completed", "AppAndPvBackup", "snapshot"))
        vol = {v["pvc"]: v for v in st["volumes"]}["data"]
        self.assertEqual(vol["snapshot"], f"cairn-{name}-data")
        self.assertNotIn("archive", vol)
        records = self.manifest(name)["snapshots"]
        self.assertEqual([(s["namespace"], s["pvc"]) for s in records], [("app", "data")])
        self.assertEqual(records[0]["volumeSnapshotContent"], vol["snapshotContent"])
        uid = self.kube.kubectl("get", "ns", "kube-system", "-o",
                                "jsonpath={.metadata.uid}").stdout
        self.assertEqual(records[0]["cluster"], uid)
        content = self.get("vsc", records[0]["volumeSnapshotContent"])
        self.assertEqual(content["spec"]["deletionPolicy"], "Retain")
        self.assertFalse([o for o in self.manifest(name)["objects"]
                          if o["key"].startswith("volumes/")])

        # Same cluster, another namespace: the claim is made from the snapshot.
        r = run("restore-run", *self.vault.args(), "--kubeconfig", self.kube.kubeconfig,
                "--backup", name, "--namespace-mapping", "app=app-copy", "--output", "json")
        self.assertEqual(r.code, 0, r)
        pvc = self.get("pvc", "-n", "app-copy", "data")
        source = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot"}
        self.assertEqual({k: pvc["spec"]["dataSource"][k] for k in source}, source)
        vs = self.get("vs", "-n", "app-copy", pvc["spec"]["dataSource"]["name"])
        self.assertTrue(vs["status"]["readyToUse"])
        # The restore's status lists the claim's outcome and the snapshot it was made from.
        vol = {v["pvc"]: v for v in r.json()["volumes"]}["data"]
        self.assertEqual((vol["source"], vol["phase"], vol["namespace"], vol["targetNamespace"],
                          vol["volumeSnapshot"]),
                         ("snapshot", "Completed", "app", "app-copy",
                          pvc["spec"]["dataSource"]["name"]))

    def test_all_exports_the_snapshot_through_a_temporary_claim(self):
        name = unique("all")
        r = self.backup(name, "--volumes", "all", "--local-volumes", self.volumes)
        self.assertEqual(r.code, 0, r)
        st = self.status(name)
        self.assertEqual((st["phase"], st["backupType"], st["dataType"]),
                         ("Completed", "AppAndPvBackup", "all"))
        vol = {v["pvc"]: v for v in st["volumes"]}["data"]
        self.assertEqual(vol["archive"], "volumes/app/data.tar.zst")
        self.assertEqual(vol["snapshot"], f"cairn-{name}-data")
        m = self.manifest(name)
        self.assertEqual([o["key"] for o in m["objects"] if o["key"].startswith("volumes/")],
                         ["volumes/app/data.tar.zst"])
        self.assertEqual([s["pvc"] for s in m["snapshots"]], ["data"])
        claims = [c["metadata"]["name"] for c in self.get("pvc", "-n", "app")["items"]]
        self.assertEqual(claims, ["data"], "the temporary claim is deleted")

    def test_a_read_write_once_pod_claim_in_use_goes_through_a_snapshot_under_fs(self):
        name = unique("rwop")
        r = run("backup-run", *self.vault.args(), "--kubeconfig", self.kube.kubeconfig,
                "--include-namespaces", "solo", "--name", name, "--volumes", "fs",
                "--local-volumes", self.volumes)
        self.assertEqual(r.code, 0, r)
        st = self.status(name)
        self.assertEqual((st["phase"], st["backupType"], st["dataType"]),
                         ("Completed", "AppAndPvBackup", "fs"))
        vol = {v["pvc"]: v for v in st["volumes"]}["db"]
        self.assertEqual(vol["archive"], "volumes/solo/db.tar.zst")
        self.assertEqual(vol["snapshot"], f"cairn-{name}-db")
        self.assertEqual([s["pvc"] for s in self.manifest(name)["snapshots"]], ["db"])
        claims = [c["metadata"]["name"] for c in self.get("pvc", "-n", "solo")["items"]]
        self.assertEqual(claims, ["db"], "the temporary claim is deleted")

    def test_a_read_write_once_pod_claim_in_use_without_a_snapshot_class_is_a_warning(self):
        name = unique("rwop-nfs")
        os.makedirs(os.path.join(self.volumes, "lone", "db"), exist_ok=True)
        r = run("backup-run", *self.vault.args(), "--kubeconfig", self.kube.kubeconfig,
                "--include-namespaces", "lone", "--name", name, "--volumes", "fs",
                "--local-volumes", self.volumes)
        self.assertEqual(r.code, 0, r)
        st = self.status(name)
        self.assertEqual((st["phase"], st["backupType"]), ("Completed", "AppBackup"))
        vol = {v["pvc"]: v for v in st["volumes"]}["db"]
        self.assertEqual(vol["phase"], "Skipped")
        self.assertIn("lone/db is ReadWriteOncePod and mounted by pod 'db-0'", vol["message"])
        self.assertIn("no VolumeSnapshotClass", vol["message"])
        self.assertIn("lone/db", json.dumps(st["warnings"]))
        self.assertNotIn("snapshots", self.manifest(name))
        self.assertEqual(self.get("vs", "-n", "lone")["items"], [], "no snapshot was taken")

    def test_a_failing_snapshot_names_the_claim_and_leaves_a_partial_backup(self):
        _admin_call(self.kube, "", {"snapshot": {"auto": "fail"}})
        name = unique("failsnap")
        r = self.backup(name, "--volumes", "snapshot", "--volume-timeout", "2s")
        self.assertEqual(r.code, 3, r)
        self.assertIn("app/data", r.out)
        st = self.status(name)
        self.assertEqual((st["phase"], st["backupType"]), ("PartiallyFailed", "AppBackup"))
        vol = {v["pvc"]: v for v in st["volumes"]}["data"]
        self.assertEqual(vol["phase"], "Failed")
        self.assertIn("not ready after 2s", vol["message"])
        self.assertNotIn("snapshots", self.manifest(name))
        self.assertEqual(self.get("vs", "-n", "app", "-l", f"cairn.io/backup-name={name}")
                         ["items"], [], "the failed VolumeSnapshot is deleted")

    def test_a_backup_stopped_while_its_snapshot_is_pending_deletes_it(self):
        # No controller answers, so the snapshot never becomes ready; the run's timeout stops
        # the wait. The VolumeSnapshot it created is deleted all the same: the deletion goes
        # through the client the stop does not abort.
        _admin_call(self.kube, "", {"snapshot": {"auto": "off"}})
        name = unique("stopsnap")
        r = self.backup(name, "--volumes", "snapshot", "--volume-timeout", "60s",
                        "--timeout", "3s")
        self.assertEqual(r.code, 1, r)
        st = self.status(name)
        self.assertEqual(st["phase"], "Failed")
        self.assertIn("timeout 3s exceeded", st["message"])
        self.assertEqual(self.get("vs", "-n", "app", "-l", f"cairn.io/backup-name={name}")
                         ["items"], [], "the pending VolumeSnapshot is deleted")

    def test_a_backup_stopped_after_a_snapshot_and_its_temporary_claim_deletes_both(self):
        # Claim a is snapshotted and its temporary claim made; the run's timeout comes while
        # claim b is being read (held by the server). What the stopped run made is deleted
        # through the client the stop does not abort: a's snapshot (DropSnapshots) and its
        # temporary claim (DeleteTemporaryClaims).
        self.kube.admin({"latency": {"path_regex": "/namespaces/pair/persistentvolumeclaims/b$",
                                     "ms": 8000, "count": 1}})
        since = self.kube.last_request()
        name = unique("stopall")
        r = run("backup-run", *self.vault.args(), "--kubeconfig", self.kube.kubeconfig,
                "--include-namespaces", "pair", "--name", name, "--volumes", "all",
                "--local-volumes", self.volumes, "--timeout", "3s")
        self.assertEqual(r.code, 1, r)
        st = self.status(name)
        self.assertEqual(st["phase"], "Failed")
        self.assertIn("timeout 3s exceeded", st["message"])
        made = [(q["method"], q["path"]) for q in self.kube.admin_requests(since)
                if q["method"] in ("POST", "DELETE") and "/namespaces/pair/" in q["path"]]
        snapshot = f"cairn-{name}-a"
        self.assertIn(("POST", "/apis/snapshot.storage.k8s.io/v1/namespaces/pair/volumesnapshots"),
                      made, "a's snapshot was taken")
        self.assertIn(("POST", "/api/v1/namespaces/pair/persistentvolumeclaims"), made,
                      "a's temporary claim was made")
        self.assertIn(("DELETE", "/apis/snapshot.storage.k8s.io/v1/namespaces/pair/"
                                 f"volumesnapshots/{snapshot}"), made)
        self.assertEqual(self.get("vs", "-n", "pair")["items"], [], "a's snapshot is deleted")
        claims = [c["metadata"]["name"] for c in self.get("pvc", "-n", "pair")["items"]]
        self.assertEqual(claims, ["a", "b"], "the temporary claim is deleted")


if __name__ == "__main__":
    unittest.main()
