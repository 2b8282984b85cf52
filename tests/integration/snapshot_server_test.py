"""The snapshot.storage.k8s.io CRDs of the Kubernetes API test server, judged with kubectl:
the real CRDs' schema and CEL rules (hack/kube-api-server/snapshots.py) and the test-driven
snapshot controller (admin API `snapshot`)."""
import json
import unittest

from cairn_test_support import KubeApiServer

PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
"""
DEFAULT_CLASS = """apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: local
  annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}
driver: rancher.io/local-path
deletionPolicy: Delete
"""


def snapshot(name, source, extra=""):
    return (f"apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\n"
            f"metadata: {{name: {name}, namespace: default}}\nspec:\n  source: {source}\n{extra}")


class SnapshotServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kube = KubeApiServer()
        cls.kube.kubectl("apply", "-f", "-", input=PVC)

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()

    def create(self, manifest):
        return self.kube.kubectl("create", "-f", "-", input=manifest, check=False)

    def get(self, *what):
        return json.loads(self.kube.kubectl("get", *what, "-o", "json").stdout)

    def test_discovery_serves_the_three_resources(self):
        out = self.kube.kubectl("api-resources", "--api-group=snapshot.storage.k8s.io").stdout
        for line in ("volumesnapshotclasses", "volumesnapshotcontents", "volumesnapshots"):
            self.assertIn(line, out)
        self.assertRegex(out, r"volumesnapshots\s+vs\s+snapshot.storage.k8s.io/v1\s+true")
        self.assertRegex(out, r"volumesnapshotcontents\s+vsc,vscs\s+\S+\s+false")

    def test_source_must_name_exactly_one(self):
        p = self.create(snapshot("both", "{persistentVolumeClaimName: a, "
                                         "volumeSnapshotContentName: b}"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('spec.source: Invalid value: "object": exactly one of '
                      'volumeSnapshotContentName and persistentVolumeClaimName must be set',
                      p.stderr)
        p = self.create(snapshot("none", "{}"))
        self.assertIn("exactly one of", p.stderr)
        p = self.create("apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\n"
                        "metadata: {name: nospec, namespace: default}\n")
        self.assertIn("spec: Required value", p.stderr)

    def test_empty_class_name_and_bad_policy_are_refused(self):
        p = self.create(snapshot("empty", "{persistentVolumeClaimName: data}",
                                 '  volumeSnapshotClassName: ""\n'))
        self.assertIn("volumeSnapshotClassName must not be the empty string when set", p.stderr)
        p = self.create("apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\n"
                        "metadata: {name: bad}\ndriver: x\ndeletionPolicy: Keep\n")
        self.assertIn('deletionPolicy: Unsupported value: "Keep": supported values: "Delete", '
                      '"Retain"', p.stderr)

    def test_source_is_immutable(self):
        self.assertEqual(self.create(snapshot("imm", "{persistentVolumeClaimName: data}"))
                         .returncode, 0)
        p = self.kube.kubectl("patch", "vs", "imm", "--type=merge", "-p",
                              '{"spec":{"source":{"persistentVolumeClaimName":"other"}}}',
                              check=False)
        self.assertIn("persistentVolumeClaimName is immutable", p.stderr)
        p = self.kube.kubectl("patch", "vs", "imm", "--type=json", "-p",
                              '[{"op":"remove","path":"/spec/source/persistentVolumeClaimName"},'
                              '{"op":"add","path":"/spec/source/volumeSnapshotContentName",'
                              '"value":"c"}]', check=False)
        self.assertIn("persistentVolumeClaimName is required once set", p.stderr)

    def test_content_rules(self):
        base = ("apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotContent\n"
                "metadata: {name: NAME}\nspec:\n  driver: d\n  deletionPolicy: Retain\n")
        p = self.create(base.replace("NAME", "c1") + "  source: {snapshotHandle: h}\n"
                        "  volumeSnapshotRef: {name: s}\n")
        self.assertIn("both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace "
                      "must be set", p.stderr)
        p = self.create(base.replace("NAME", "c2") + "  source: {snapshotHandle: h, "
                        "volumeHandle: v}\n  volumeSnapshotRef: {name: s, namespace: default}\n")
        self.assertIn("exactly one of volumeHandle and snapshotHandle must be set", p.stderr)
        ok = self.create(base.replace("NAME", "c3") + "  source: {snapshotHandle: h}\n"
                         "  volumeSnapshotRef: {name: s, namespace: default}\n")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        p = self.kube.kubectl("patch", "vsc", "c3", "--type=merge", "-p",
                              '{"spec":{"source":{"snapshotHandle":"h2"}}}', check=False)
        self.assertIn("snapshotHandle is immutable", p.stderr)
        # deletionPolicy is not immutable: a backup tool retains what it took.
        self.kube.kubectl("patch", "vsc", "c3", "--type=merge", "-p",
                          '{"spec":{"deletionPolicy":"Delete"}}')

    def test_controller_ready_with_default_class(self):
        self.kube.kubectl("apply", "-f", "-", input=DEFAULT_CLASS)
        self.assertEqual(self.create(snapshot("ready", "{persistentVolumeClaimName: data}"))
                         .returncode, 0)
        out = self.kube.admin({"snapshot": {"namespace": "default", "name": "ready",
                                            "action": "ready"}})
        vs = self.get("vs", "ready")
        self.assertEqual(vs["spec"]["volumeSnapshotClassName"], "local")
        st = vs["status"]
        self.assertTrue(st["readyToUse"])
        self.assertEqual(st["restoreSize"], str(2 * 2**30))
        content = self.get("vsc", st["boundVolumeSnapshotContentName"])
        self.assertEqual(content["metadata"]["name"], "snapcontent-" + vs["metadata"]["uid"])
        self.assertEqual(content["spec"]["driver"], "rancher.io/local-path")
        self.assertEqual(content["spec"]["deletionPolicy"], "Delete")
        self.assertEqual(content["spec"]["volumeSnapshotRef"]["uid"], vs["metadata"]["uid"])
        self.assertEqual(content["status"]["snapshotHandle"], out["snapshot"]["snapshotHandle"])
        # A snapshot bound to a Delete content takes the content and the storage's snapshot.
        self.kube.kubectl("delete", "vs", "ready")
        self.assertNotEqual(self.kube.kubectl("get", "vsc", content["metadata"]["name"],
                                              check=False).returncode, 0)
        handle = content["status"]["snapshotHandle"]
        self.assertTrue(self.kube.admin_state()["physicalSnapshots"][handle]["deleted"])

    def test_controller_failure_and_missing_default(self):
        self.assertEqual(self.create(snapshot("broken", "{persistentVolumeClaimName: data}"))
                         .returncode, 0)
        self.kube.admin({"snapshot": {"namespace": "default", "name": "broken",
                                      "action": "fail", "message": "rpc error: quota"}})
        self.assertEqual(self.get("vs", "broken")["status"]["error"]["message"],
                         "rpc error: quota")
        self.assertEqual(self.create(snapshot("orphan", "{persistentVolumeClaimName: nope}"))
                         .returncode, 0)
        self.kube.admin({"snapshot": {"namespace": "default", "name": "orphan",
                                      "action": "ready"}})
        st = self.get("vs", "orphan")["status"]
        self.assertFalse(st["readyToUse"])
        self.assertIn('persistentvolumeclaim \\"nope\\" not found', st["error"]["message"])


def _admin_state(self):
    from cairn_test_support import _admin_call
    return _admin_call(self, "state")


KubeApiServer.admin_state = _admin_state

if __name__ == "__main__":
    unittest.main()
