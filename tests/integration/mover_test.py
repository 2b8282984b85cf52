"""runner/mover against the Kubernetes API test server: the Kubernetes
launcher creates the Job and its credentials Secret in the PVC's namespace, watches the Job
to Complete or Failed (driven by fake_kubelet.py as the real job controller and kubelet would),
surfaces a Pending pod's scheduling message, honours volume_timeout and SIGTERM, bounds movers
per node, and leaves no Job, Secret or pod behind. The local launcher runs the same spec as a
child process. The mover command is a harmless shell script (mover_launcher_tool.cc)."""
import base64
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from cairn_test_support import KubeApiServer, binary, unique
from fake_kubelet import FakeKubelet

NODE = "cairn-control-plane"


class MoverKubeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tool = binary("mover_launcher_tool")
        cls.server = KubeApiServer()
        cls.server.admin({"job_controller": False})
        cls.kubelet = FakeKubelet(cls.server.dir)
        cls.kubelet.start()

    @classmethod
    def tearDownClass(cls):
        cls.kubelet.stop()
        cls.server.stop()

    def setUp(self):
        self.kubelet.errors = []
        self.ns = unique("mv")
        # The mover must pass Pod Security "restricted": the fake kubelet's pod create is
        # refused otherwise.
        self.server.kubectl("create", "namespace", self.ns)
        self.server.kubectl("label", "namespace", self.ns,
                            "pod-security.kubernetes.io/enforce=restricted")

    def tearDown(self):
        self.assertEqual(self.kubelet.errors, [])

    def start(self, *args):
        return subprocess.Popen([self.tool, "--kubeconfig", self.server.kubeconfig,
                                 "--namespace", self.ns, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run_tool(self, *args):
        p = self.start(*args)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        return json.loads(out)

    def left(self, kind):
        p = self.server.kubectl("get", kind, "-n", self.ns, "-o", "json")
        return [i["metadata"]["name"] for i in json.loads(p.stdout)["items"]]

    def assert_clean(self):
        for kind in ("jobs", "secrets"):  # deleted by the launcher itself
            self.assertEqual(self.left(kind), [], f"{kind} left in {self.ns}")
        # Pods go through the garbage collector (propagationPolicy Background): asynchronous.
        deadline = time.time() + 5
        while time.time() < deadline and self.left("pods"):
            time.sleep(0.1)
        self.assertEqual(self.left("pods"), [], f"pods left in {self.ns}")

    def test_completed_job_secret_in_pvc_namespace_and_cleanup(self):
        out = self.run_tool("--pvcs", "data", "--node", NODE, "--access-key", "AKIAMOVER")
        self.assertEqual(out[0]["completed"], True, out)
        self.assertEqual(out[0]["node"], NODE)
        job = "cairn-backup-it-backup-data"
        secret = self.kubelet.secrets_seen[job]
        self.assertEqual(secret["metadata"]["namespace"], self.ns)
        self.assertEqual(secret["type"], "Opaque")
        self.assertEqual(base64.b64decode(secret["data"]["AWS_ACCESS_KEY_ID"]), b"AKIAMOVER")
        owner = secret["metadata"]["ownerReferences"][0]
        self.assertEqual((owner["kind"], owner["name"]), ("Job", job))
        self.assert_clean()

    def test_failed_job_reason_names_pvc_condition_and_termination_message(self):
        out = self.run_tool("--pvcs", "data", "--node", NODE, "--exit", "3")
        self.assertFalse(out[0]["completed"])
        reason = out[0]["reason"]
        self.assertIn(f"volume {self.ns}/data: mover cairn-backup-it-backup-data failed: "
                      "BackoffLimitExceeded: Job has reached the specified backoff limit", reason)
        self.assertIn("exit code 3: mover stderr: done", reason)
        self.assertNotIn("AKIA", reason)
        self.assert_clean()

    def test_pending_reason_surfaces_at_volume_timeout(self):
        out = self.run_tool("--pvcs", "data", "--node", "gone-node", "--timeout-ms", "2500")
        self.assertFalse(out[0]["completed"])
        self.assertIn("did not finish within volume_timeout 2.5s", out[0]["reason"])
        self.assertIn("Pending: 0/1 nodes are available: 1 node(s) didn't match Pod's node "
                      "affinity/selector", out[0]["reason"])
        self.assert_clean()

    def test_unpinned_mover_goes_where_node_policy_allows(self):
        out = self.run_tool("--pvcs", "data")
        self.assertTrue(out[0]["completed"], out)
        self.assertEqual(out[0]["node"], NODE)
        self.server.kubectl("label", "node", NODE, "cairn.io/agent-excluded=true")
        try:
            out = self.run_tool("--pvcs", "data", "--timeout-ms", "1500")
        finally:
            self.server.kubectl("label", "node", NODE, "cairn.io/agent-excluded-")
        self.assertIn("Pending: 0/1 nodes are available", out[0]["reason"])
        self.assert_clean()

    def test_movers_per_node_are_bounded(self):
        self.kubelet.max_active = 0
        out = self.run_tool("--pvcs", "a,b,c", "--node", NODE, "--sleep", "0.5")
        self.assertEqual([o["completed"] for o in out], [True, True, True], out)
        self.assertEqual(self.kubelet.max_active, 1)
        self.kubelet.max_active = 0
        out = self.run_tool("--pvcs", "a,b,c", "--node", NODE, "--sleep", "1",
                            "--concurrency", "2")
        self.assertEqual(self.kubelet.max_active, 2)
        self.assert_clean()

    def test_sigterm_deletes_the_movers(self):
        p = self.start("--pvcs", "data", "--node", NODE, "--sleep", "60")
        deadline = time.time() + 20
        while time.time() < deadline and not any(
                st.get("proc") and st.get("ns") == self.ns for st in self.kubelet.jobs.values()):
            time.sleep(0.05)
        procs = [st["proc"] for st in self.kubelet.jobs.values() if st.get("ns") == self.ns]
        self.assertTrue(procs, "the mover never ran")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        self.assertIn("cancelled (deleted)", json.loads(out)[0]["reason"], err)
        self.assert_clean()
        deadline = time.time() + 5
        while time.time() < deadline and procs[0].poll() is None:
            time.sleep(0.05)
        self.assertIsNotNone(procs[0].poll(), "the deleted pod's container still runs")

    def test_secret_create_failure_deletes_the_job(self):
        self.server.admin({"forbid": {"resource": "secrets", "verb": "create",
                                      "namespace": self.ns}})
        try:
            out = self.run_tool("--pvcs", "data", "--node", NODE)
        finally:
            self.server.admin({"unforbid": {"resource": "secrets"}})
        self.assertIn(f"volume {self.ns}/data: unable to start mover: ", out[0]["reason"])
        self.assertIn("secrets is forbidden", out[0]["reason"])
        self.assert_clean()

    def test_server_refuses_job_conditions_a_controller_never_writes(self):
        job = self.kubelet.api.call("POST", f"/apis/batch/v1/namespaces/{self.ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "odd"},
            "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never",
                                                            "containers": [
                {"name": "c", "image": "x", "command": ["/bin/false"]}]}}}})
        path = f"/apis/batch/v1/namespaces/{self.ns}/jobs/odd"
        with self.assertRaisesRegex(AssertionError, "422.*cannot set Complete=True and "
                                                    "Failed=true conditions"):
            self.kubelet.api.call("PATCH", path + "/status", {"status": {"conditions": [
                {"type": "Complete", "status": "True"}, {"type": "Failed", "status": "True"}]}},
                "application/merge-patch+json")
        self.assertIsNotNone(job)
        self.server.kubectl("delete", "job", "odd", "-n", self.ns)
        self.assert_clean()


class MoverLocalTest(unittest.TestCase):
    def setUp(self):
        self.tool = binary("mover_launcher_tool")
        self.dir = tempfile.mkdtemp(prefix="cairn-mover-")
        os.makedirs(os.path.join(self.dir, "shop", "data"))

    def run_local(self, *args):
        p = subprocess.run([self.tool, "--local", self.dir, "--namespace", "shop",
                            "--pvcs", "data", "--access-key", "AKIALOCAL", *args],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout)[0]

    def test_path_env_and_credentials_reach_the_process(self):
        out = self.run_local()
        self.assertTrue(out["completed"], out)
        with open(os.path.join(self.dir, "shop", "data", "seen")) as f:
            self.assertEqual(f.read(), "AKIALOCAL")

    def test_failure_reason_has_exit_code_and_stderr_tail(self):
        out = self.run_local("--exit", "4")
        self.assertFalse(out["completed"])
        self.assertEqual(out["reason"], "volume shop/data: mover cairn-backup-it-backup-data "
                                        "failed: exit code 4: mover stderr: done")

    def test_timeout_kills_the_process_group(self):
        start = time.time()
        out = self.run_local("--sleep", "30", "--timeout-ms", "1000")
        self.assertLess(time.time() - start, 15)
        self.assertIn("did not finish within volume_timeout 1s", out["reason"])
        self.assertFalse(os.path.exists(os.path.join(self.dir, "shop", "data", "seen")))


if __name__ == "__main__":
    unittest.main()
