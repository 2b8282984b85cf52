"""Volume data in cluster mode end to end: backup-run --volumes fs without
--local-volumes creates mover Jobs in the claims' namespaces; fake_kubelet.py plays the job
controller, scheduler and kubelet and runs the real mover (backup-run --mover) with each Job's
claim mounted from a directory. Asserts the Job specs the kubelet saw (pinning to the workload's
node, its uid/gid/fsGroup/tolerations, a read-only mount), that the credentials Secret existed
while the mover ran and nothing of cairn is left afterwards, then restores into a second API
test server (also with a fake kubelet) and compares the trees byte for byte. An unschedulable
mover (mover_nodes = "include", no node labelled) fails its claim with the scheduler's reason.
Needs the S3 test server (mover Jobs reach the vault over the network)."""
import json
import os
import re
import shutil
import tempfile
import time
import unittest

from cairn_test_support import KubeApiServer, run, s3_env, unique
from fake_kubelet import FakeKubelet
from manifests_test import VOLUMES, docs_of, render
from vault_access import S3Vault
from volume_backup_test import describe, make_tree

WORKER = "cairn-worker-1"
TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}

OBJECTS = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: app}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: idle}}
---
apiVersion: v1
kind: Node
metadata: {{name: {WORKER}, labels: {{kubernetes.io/hostname: {WORKER}}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: app}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: shared, namespace: app}}
spec:
  accessModes: [ReadWriteMany]
  storageClassName: standard
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: cache, namespace: app, labels: {{cairn.io/volume-backup: "false"}}}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: db-0, namespace: app}}
spec:
  nodeName: {WORKER}
  securityContext: {{runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000}}
  tolerations: [{json.dumps(TOLERATION)}]
  containers:
  - name: db
    image: registry.example/db:1
    volumeMounts: [{{name: data, mountPath: /var/lib/db}}]
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: data}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: spare, namespace: idle}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {{requests: {{storage: 1Gi}}}}
"""

CONFIG = """
[policies.cluster]
volumes = "fs"
mover_image = "registry.example/cairn:test"

[policies.included]
volumes = "fs"
mover_nodes = "include"
mover_image = "registry.example/cairn:test"
volume_timeout = "3s"

[policies.noimage]
volumes = "fs"

[restores.cluster]
mover_image = "registry.example/cairn:test"
"""


def managed(server, ns):
    """Names of cairn's Jobs, Secrets and mover pods left in `ns`."""
    left = []
    for kind in ("jobs", "secrets", "pods"):
        p = server.kubectl("get", kind, "-n", ns, "-l", "app.kubernetes.io/managed-by=cairn",
                           "-o", "json")
        left += [f"{kind}/{i['metadata']['name']}" for i in json.loads(p.stdout)["items"]]
    return left


def wait_clean(server, ns):
    deadline = time.time() + 5  # pods go through the garbage collector: asynchronous
    while time.time() < deadline and managed(server, ns):
        time.sleep(0.1)
    return managed(server, ns)


class VolumeCluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vault = S3Vault(s3_env(), unique("volcluster"))
        cls.dir = tempfile.mkdtemp(prefix="cairn-volcluster-")
        seed = os.path.join(cls.dir, "source.yaml")
        with open(seed, "w") as f:
            f.write(OBJECTS)
        cls.config = os.path.join(cls.dir, "cairn.toml")
        with open(cls.config, "w") as f:
            f.write(CONFIG)
        cls.source_volumes = os.path.join(cls.dir, "source-volumes")
        make_tree(os.path.join(cls.source_volumes, "app", "data"))
        os.makedirs(os.path.join(cls.source_volumes, "app", "shared", "assets"))
        with open(os.path.join(cls.source_volumes, "app", "shared", "assets", "logo.svg"),
                  "w") as f:
            f.write("<svg/>")
        os.makedirs(os.path.join(cls.source_volumes, "idle", "spare"))
        cls.source = KubeApiServer("--seed", seed)
        cls.source.admin({"job_controller": False})
        cls.kubelet = FakeKubelet(cls.source.dir, cls.source_volumes)
        cls.kubelet.start()

    @classmethod
    def tearDownClass(cls):
        cls.kubelet.stop()
        cls.source.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def tearDown(self):
        self.assertEqual(self.kubelet.errors, [])

    def vault_args(self):
        """The vault over TLS when the S3 test server has it: the mover then gets the CA
        bundle in its Secret, mounted at /cairn/ca/ca.crt."""
        https, ca = os.environ.get("S3_HTTPS_ENDPOINT"), os.environ.get("S3_CA_FILE")
        if not https or not ca:
            return self.vault.args()
        args = self.vault.args()
        args[args.index("--endpoint") + 1] = https
        return args + ["--ca-file", ca]

    def backup(self, name, policy, ns, kubeconfig=None, env=None):
        return run("backup-run", "--config", self.config, "--policy", policy, *self.vault_args(),
                   "--kubeconfig", kubeconfig or self.source.kubeconfig,
                   "--include-namespaces", ns, "--name", name, env=env)

    def test_movers_run_as_jobs_and_restore_is_byte_identical(self):
        name = unique("vol")
        r = self.backup(name, "cluster", "app")
        self.assertEqual(r.code, 0, r)
        st = json.loads(self.vault.read(f"backups/{name}/status.json"))
        self.assertEqual((st["phase"], st["backupType"], st["dataType"]),
                         ("Completed", "AppAndPvBackup", "fs"))
        self.assertEqual({v["pvc"]: v["phase"] for v in st["volumes"]},
                         {"data": "Completed", "shared": "Completed", "cache": "Skipped"})

        rwo = self.kubelet.jobs_seen[f"cairn-backup-{name}-data"]
        self.assertEqual(rwo["metadata"]["namespace"], "app")
        pod = rwo["spec"]["template"]["spec"]
        term = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        self.assertEqual(term["nodeSelectorTerms"][0]["matchFields"][0]["values"], [WORKER])
        sc = pod["securityContext"]
        self.assertEqual((sc["runAsUser"], sc["runAsGroup"], sc["fsGroup"]), (1000, 1000, 2000))
        self.assertEqual(pod["tolerations"], [TOLERATION])
        claim = [v for v in pod["volumes"] if v["name"] == "data"][0]["persistentVolumeClaim"]
        self.assertEqual(claim, {"claimName": "data", "readOnly": True})
        mount = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "data"][0]
        self.assertEqual((mount["mountPath"], mount["readOnly"]), ("/cairn/volume", True))
        self.assertEqual(pod["containers"][0]["image"], "registry.example/cairn:test")

        rwx = self.kubelet.jobs_seen[f"cairn-backup-{name}-shared"]["spec"]["template"]["spec"]
        self.assertNotIn("matchFields", json.dumps(rwx["affinity"]))
        self.assertNotIn("tolerations", rwx)
        self.assertNotIn(f"cairn-backup-{name}-cache", self.kubelet.jobs_seen)

        for job in (f"cairn-backup-{name}-data", f"cairn-backup-{name}-shared"):
            secret = self.kubelet.secrets_seen[job]
            self.assertIsNotNone(secret, f"the credentials Secret of {job} while it ran")
            self.assertEqual(secret["metadata"]["namespace"], "app")
            self.assertIn("AWS_SECRET_ACCESS_KEY", secret["data"])
            if "--ca-file" in self.vault_args():
                self.assertIn("ca.crt", secret["data"])
                args = self.kubelet.jobs_seen[job]["spec"]["template"]["spec"]["containers"][0][
                    "args"]
                self.assertEqual(args[args.index("--ca-file") + 1], "/cairn/ca/ca.crt")
        self.assertEqual(wait_clean(self.source, "app"), [])

        target = KubeApiServer()
        self.addCleanup(target.stop)
        target.admin({"job_controller": False})
        target_volumes = os.path.join(self.dir, unique("target-volumes"))
        kubelet = FakeKubelet(target.dir, target_volumes)
        kubelet.start()
        self.addCleanup(kubelet.stop)
        r = run("restore-run", "--config", self.config, "--policy", "cluster",
                *self.vault_args(), "--kubeconfig", target.kubeconfig, "--backup", name)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(kubelet.errors, [])
        for pvc in ("data", "shared"):
            self.assertEqual(describe(os.path.join(target_volumes, "app", pvc)),
                             describe(os.path.join(self.source_volumes, "app", pvc)), pvc)
        self.assertFalse(os.path.exists(os.path.join(target_volumes, "app", "cache")))
        self.assertEqual(sorted(j["metadata"]["labels"]["cairn.io/mover"]
                                for j in kubelet.jobs_seen.values()), ["restore", "restore"])
        self.assertEqual(wait_clean(target, "app"), [])

    def test_unschedulable_mover_fails_its_claim_with_the_scheduler_reason(self):
        name = unique("pend")
        r = self.backup(name, "included", "idle")
        self.assertEqual(r.code, 3, r)
        st = json.loads(self.vault.read(f"backups/{name}/status.json"))
        self.assertEqual(st["phase"], "PartiallyFailed")
        spare = {v["pvc"]: v for v in st["volumes"]}["spare"]
        self.assertEqual(spare["phase"], "Failed")
        self.assertIn("idle/spare", spare["message"])
        self.assertIn("Pending: 0/2 nodes are available", spare["message"])
        self.assertIn("persistentvolumeclaims idle/spare", r.out)
        self.assertEqual(wait_clean(self.source, "idle"), [])

    def test_no_mover_image_outside_a_pod_fails_the_claim_at_once(self):
        # Not in a pod (no image to copy) and no mover_image: a Job without an image would be
        # accepted but never get a pod, and the mover would wait out volume_timeout (1h).
        name = unique("noimg")
        start = time.time()
        r = self.backup(name, "noimage", "idle")
        self.assertEqual(r.code, 3, r)
        self.assertLess(time.time() - start, 30)
        spare = {v["pvc"]: v for v in json.loads(self.vault.read(
            f"backups/{name}/status.json"))["volumes"]}["spare"]
        self.assertEqual(spare["phase"], "Failed")
        self.assertIn(f"mover Job cairn-backup-{name}-spare has no image", spare["message"])
        self.assertIn("set mover_image in the policy", spare["message"])
        self.assertNotIn(f"cairn-backup-{name}-spare", self.kubelet.jobs_seen)
        self.assertEqual(wait_clean(self.source, "idle"), [])

    def test_a_stop_during_a_mover_jobs_create_still_deletes_the_job(self):
        # The server holds the Job's create 3.5 s and applies it after; the run's timeout
        # comes while it is under way. The create gets its write grace (2 s) to learn that the
        # Job exists, so the stopped run deletes it with its Secret. Aborted at the stop, the
        # Job would be made after the run is gone and left behind.
        name = unique("stopjob")
        self.source.admin({"latency": {"path_regex": "^/apis/batch/v1/namespaces/idle/jobs$",
                                       "ms": 3500, "count": 1}})
        since = self.source.last_request()
        start = time.time()
        r = run("backup-run", "--config", self.config, "--policy", "cluster", *self.vault_args(),
                "--kubeconfig", self.source.kubeconfig, "--include-namespaces", "idle",
                "--name", name, "--timeout", "3s")
        self.assertEqual(r.code, 1, r)
        self.assertIn("timeout 3s exceeded",
                      json.loads(self.vault.read(f"backups/{name}/status.json"))["message"])
        posted = [q for q in self.source.admin_requests(since)
                  if q["method"] == "POST" and q["path"] == "/apis/batch/v1/namespaces/idle/jobs"]
        self.assertEqual(len(posted), 1, "the Job's create was under way at the stop")
        time.sleep(max(0.0, start + 4.5 - time.time()))  # past the held create's answer
        self.assertEqual(wait_clean(self.source, "idle"), [])

    def test_backup_under_the_cairn_backup_token_of_the_rendered_rbac(self):
        # The kind overlay with components/volumes: its ServiceAccounts and RBAC, as deployed.
        kinds = ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
                 "RoleBinding")
        docs = [d for d in docs_of(render(VOLUMES)) if d["kind"] in kinds]
        self.source.kubectl("apply", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": docs}))
        token = self.source.kubectl("create", "token", "cairn-backup", "-n",
                                    "cairn-system").stdout.strip()
        kubeconfig = os.path.join(self.dir, "kubeconfig-cairn-backup")
        with open(self.source.kubeconfig) as f:
            text = f.read()
        with open(kubeconfig, "w") as f:
            f.write(re.sub(r"(?m)^(\s+token: ).*$", lambda m: m.group(1) + token, text))
        since = self.source.last_request()
        name = unique("rbac")
        # Its status ConfigMap and events go where its CronJob's pod runs.
        r = self.backup(name, "cluster", "app", kubeconfig, env={"POD_NAMESPACE": "cairn-system"})
        self.assertEqual(r.code, 0, r)
        mine = [q for q in self.source.admin_requests(since)
                if q["user"] == "system:serviceaccount:cairn-system:cairn-backup"]
        self.assertTrue([q for q in mine if q["method"] == "POST" and "/jobs" in q["path"]])
        self.assertEqual([(q["method"], q["path"]) for q in mine if q["status"] == 403], [])
        st = json.loads(self.vault.read(f"backups/{name}/status.json"))
        self.assertEqual({v["pvc"]: v["phase"] for v in st["volumes"]},
                         {"data": "Completed", "shared": "Completed", "cache": "Skipped"})
        self.assertEqual(wait_clean(self.source, "app"), [])


if __name__ == "__main__":
    unittest.main()
