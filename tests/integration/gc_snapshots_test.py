"""gc and CSI snapshots, end to end: the gc executable deletes the VolumeSnapshotContents a
deleted backup's manifest lists (and the storage snapshots go with them) in the API test server,
when the records name this cluster; records of another cluster are a warning naming them."""
import hashlib
import json
import os
import unittest
from datetime import timedelta

from cairn_test_support import _admin_call
from gc_test import DAY, GcClusterBase, status, ts, now

PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: snapme, namespace: shop}
spec:
  storageClassName: fast
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


def manifest_with_snapshots(name, created, data, snapshots):
    digest = hashlib.sha256(data).hexdigest()
    m = {"format_version": "1.0", "kind": "Backup", "name": name, "created": ts(created),
         "completed": ts(created + timedelta(minutes=1)), "created_by": "cairn test",
         "policy": "",
         "objects": [{"key": "resources.tar.zst", "stored_size": len(data),
                      "stored_sha256": digest, "logical_size": len(data),
                      "logical_sha256": digest, "compression": "none",
                      "content_type": "application/x-tar"}],
         "totals": {"object_count": 1, "stored_size": len(data), "logical_size": len(data)},
         "snapshots": snapshots}
    canonical = json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    check = hashlib.sha256(canonical.encode()).hexdigest()
    return (canonical[:-1] + f',"checksum":"sha256:{check}"}}\n').encode()


class GcSnapshots(GcClusterBase):
    def take(self, name):
        """A snapshot of shop/snapme made ready by the test's snapshot controller, its content
        retained as backup-run leaves it; returns the record."""
        self.kube.kubectl("apply", "-f", "-", input=PVC)
        vs = {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
              "metadata": {"name": name, "namespace": "shop"},
              "spec": {"volumeSnapshotClassName": "csi-hostpath-snapclass",
                       "source": {"persistentVolumeClaimName": "snapme"}}}
        self.kube.kubectl("create", "-f", "-", input=json.dumps(vs))
        out = _admin_call(self.kube, "", {"snapshot": {"namespace": "shop", "name": name,
                                                       "action": "ready"}})
        content = out["snapshot"]["content"]
        self.kube.kubectl("patch", "vsc", content, "--type=merge", "-p",
                          '{"spec":{"deletionPolicy":"Retain"}}')
        uid = self.kube.kubectl("get", "ns", "kube-system", "-o",
                                "jsonpath={.metadata.uid}").stdout
        return {"cluster": uid, "namespace": "shop", "pvc": "snapme", "volumeSnapshot": name,
                "volumeSnapshotContent": content,
                "snapshotHandle": out["snapshot"]["snapshotHandle"],
                "driver": "hostpath.csi.k8s.io", "volumeSnapshotClass": "csi-hostpath-snapclass",
                "restoreSize": 1073741824, "readyTime": ts(now())}

    def write(self, vault, name, records):
        data = os.urandom(256)
        created = now() - DAY
        vault.put(f"backups/{name}/status.json", status(name, "Completed", created))
        vault.put(f"backups/{name}/resources.tar.zst", data)
        vault.put(f"backups/{name}/manifest.json",
                  manifest_with_snapshots(name, created, data, records))

    def exists(self, content):
        return self.kube.kubectl("get", "vsc", content, check=False).returncode == 0

    def test_gc_deletes_the_snapshots_of_the_backups_it_deletes(self):
        vault = self.file_vault()
        self.init(vault)
        mine = self.take("cairn-mine-snapme")
        self.write(vault, "mine", [mine])
        r = self.gc("--kubeconfig", self.kube.kubeconfig, "--delete", "mine", env=self.env)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(vault.keys("backups/mine/"), set())
        self.assertFalse(self.exists(mine["volumeSnapshotContent"]))
        self.assertEqual(self.kube.kubectl("get", "vs", "-n", "shop", "-o", "name").stdout, "")
        physical = _admin_call(self.kube, "state")["physicalSnapshots"]
        self.assertTrue(physical[mine["snapshotHandle"]]["deleted"])

    def test_snapshots_of_another_cluster_are_a_warning_naming_them(self):
        vault = self.file_vault()
        self.init(vault)
        rec = self.take("cairn-foreign-snapme")
        rec["cluster"] = "1f0e7a9c-0000-4000-8000-000000000000"
        self.write(vault, "foreign", [rec])
        r = self.gc("--kubeconfig", self.kube.kubeconfig, "--delete", "foreign", env=self.env)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(vault.keys("backups/foreign/"), set())
        self.assertTrue(self.exists(rec["volumeSnapshotContent"]))
        cms = json.loads(self.kube.kubectl("get", "cm", "-n", "cairn", "-l", "cairn.io/kind=gc",
                                           "-o", "json").stdout)["items"]
        st = json.loads(cms[0]["data"]["status.json"])
        messages = [w["message"] for w in st["warnings"]["items"]]
        self.assertTrue(any("its CSI snapshots stay in cluster 1f0e7a9c-0000-4000-8000-"
                            "000000000000" in m and rec["volumeSnapshotContent"] in m
                            for m in messages), messages)


if __name__ == "__main__":
    unittest.main()
