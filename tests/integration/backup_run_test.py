"""backup-run as a user runs it: the sample workloads in the Kubernetes API test server backed
up into a file vault and the S3 test server, checked from the outside (tar, zstd, kubectl)."""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from cairn_test_support import SECRETS, KubeApiServer, binary, run, s3_env, unique

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "hack",
                       "kube-api-server", "samples")


def read(path):
    with open(path) as f:
        return f.read()


def archive_entries(path):
    """Entry names of a resources.tar.zst, read with the zstd and tar tools."""
    zstd = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True)
    tar = subprocess.run(["tar", "-t"], input=zstd.stdout, capture_output=True, check=True)
    return tar.stdout.decode().split()


def archive_file(path, entry):
    zstd = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True)
    tar = subprocess.run(["tar", "-xO", entry], input=zstd.stdout, capture_output=True,
                         check=True)
    return json.loads(tar.stdout)


class BackupRun(unittest.TestCase):
    def setUp(self):
        self.kube = KubeApiServer("--samples")
        self.addCleanup(self.kube.stop)
        self.dir = tempfile.mkdtemp(prefix="cairn-backup-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.vault = os.path.join(self.dir, "vault")
        self.addCleanup(SECRETS.collect_dir, self.vault)  # before the removal

    def backup(self, *args, url=None, env=None, timeout=120):
        return run("backup-run", "--url", url or f"file://{self.vault}",
                   "--kubeconfig", self.kube.kubeconfig, *args, env=env, timeout=timeout)

    def bdir(self, name):
        return os.path.join(self.vault, "backups", name)

    def test_archive_holds_exactly_the_selected_objects(self):
        r = self.backup("--include-namespaces", "shop,data", "--name", "b1")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Completed", r.out)
        entries = archive_entries(os.path.join(self.bdir("b1"), "resources.tar.zst"))
        self.assertEqual(entries[0], "metadata/backup.json")
        self.assertEqual(len(entries), len(set(entries)))
        # Every object kubectl sees in the selected namespaces is stored, in every served version.
        expected = set()
        for resource, group, versions in [
                ("configmaps", "core", ["v1"]), ("secrets", "core", ["v1"]),
                ("services", "core", ["v1"]), ("serviceaccounts", "core", ["v1"]),
                ("persistentvolumeclaims", "core", ["v1"]),
                ("deployments", "apps", ["v1"]), ("statefulsets", "apps", ["v1"]),
                ("horizontalpodautoscalers", "autoscaling", ["v2", "v1"])]:
            for ns in ["shop", "data"]:
                items = json.loads(self.kube.kubectl("get", resource, "-n", ns,
                                                     "-o", "json").stdout)["items"]
                for o in items:
                    if o["metadata"].get("labels", {}).get("cairn.io/exclude-from-backup") == "true":
                        continue
                    if o["metadata"]["name"] == "kube-root-ca.crt":  # regenerated: never stored
                        continue
                    for v in versions:
                        expected.add(f"resources/{group}/{resource}/{v}/namespaces/{ns}/"
                                     f"{o['metadata']['name']}.json")
        missing = expected - set(entries)
        self.assertFalse(missing, f"not in the archive: {sorted(missing)}")
        for e in entries:
            self.assertNotIn("/namespaces/monitoring/", e)
            self.assertNotIn("/events/", e)
            self.assertNotIn("/endpoints/", e)
            self.assertNotIn("/nodes/", e)
            self.assertNotIn("/leases/", e)
        # auto: the namespaces themselves and what they depend on come along.
        self.assertIn("resources/core/namespaces/v1/cluster/shop.json", entries)
        self.assertNotIn("resources/core/namespaces/v1/cluster/monitoring.json", entries)
        self.assertTrue(any(e.startswith("resources/storage.k8s.io/storageclasses/")
                            for e in entries), entries)
        # resource-list.json.zst lists every object entry: the archive need not be downloaded.
        listed = [i["path"] for i in json.loads(subprocess.run(
            ["zstd", "-dc", os.path.join(self.bdir("b1"), "resource-list.json.zst")],
            capture_output=True, check=True).stdout)]
        self.assertEqual(sorted(listed), sorted(entries[1:]))
        meta = archive_file(os.path.join(self.bdir("b1"), "resources.tar.zst"),
                            "metadata/backup.json")
        self.assertEqual(meta["selection"]["includeNamespaces"], ["shop", "data"])
        self.assertTrue(meta["cluster"]["serverVersion"])
        self.assertTrue(meta["cluster"]["storageClasses"])
        # The manifest is there and verifies; vault-check lists the backup as complete.
        r = run("vault-check", "--url", f"file://{self.vault}", "--list", "--output", "json")
        b = [x for x in r.json()["backups"] if x["name"] == "b1"][0]
        self.assertTrue(b["complete"])
        self.assertEqual(b["phase"], "Completed")
        with open(os.path.join(self.bdir("b1"), "status.json")) as f:
            status = json.load(f)
        self.assertEqual(status["phase"], "Completed")
        self.assertEqual(status["errors"]["count"], 0)
        self.assertGreater(status["counts"]["objects"], 20)

    def test_a_namespace_named_twice_is_backed_up_once(self):
        r = self.backup("--include-namespaces", "shop,shop", "--name", "b-twice")
        self.assertEqual(r.code, 0, r)
        entries = archive_entries(os.path.join(self.bdir("b-twice"), "resources.tar.zst"))
        self.assertTrue(any("/namespaces/shop/" in e for e in entries))
        self.assertEqual(len(entries), len(set(entries)), "an entry is stored twice")

    def test_forbidden_resource_is_partially_failed_and_named(self):
        self.kube.admin({"forbid": {"resource": "secrets", "verb": "list"}})
        r = self.backup("--include-namespaces", "shop", "--name", "b2", "--output", "json")
        self.assertEqual(r.code, 3, r)
        status = r.json()
        self.assertEqual(status["phase"], "PartiallyFailed")
        text = json.dumps(status["errors"])
        self.assertIn("secrets", text)
        self.assertIn("namespace/shop", text)
        self.assertTrue(os.path.exists(os.path.join(self.bdir("b2"), "manifest.json")))

    def test_api_answering_503_for_a_while_still_completes(self):
        self.kube.admin({"fail": {"path_regex": "configmaps", "status": 503, "count": 3}})
        r = self.backup("--include-namespaces", "shop", "--name", "b3")
        self.assertEqual(r.code, 0, r)
        self.assertIn("Completed", r.out)

    def test_name_collision_leaves_the_existing_backup_alone(self):
        self.assertEqual(self.backup("--include-namespaces", "shop", "--name", "b4").code, 0)
        manifest = os.path.join(self.bdir("b4"), "manifest.json")
        status = os.path.join(self.bdir("b4"), "status.json")
        before = (read(manifest), read(status))
        r = self.backup("--include-namespaces", "data", "--name", "b4")
        self.assertEqual(r.code, 1, r)
        self.assertIn("backup 'b4' already exists in vault", r.all)
        self.assertIn("HINT: pick another --name", r.all)
        self.assertEqual((read(manifest), read(status)), before)

    def test_sigterm_fails_the_run_and_publishes_nothing(self):
        self.kube.admin({"latency_ms": 150})
        proc = subprocess.Popen([binary("backup-run"), "--url", f"file://{self.vault}",
                                 "--kubeconfig", self.kube.kubeconfig, "--name", "b5"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        start = time.time()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertLess(time.time() - start, 10, "did not exit within 10 s of SIGTERM")
        self.assertEqual(proc.returncode, 1, out + err)
        self.assertFalse(os.path.exists(os.path.join(self.bdir("b5"), "manifest.json")))
        with open(os.path.join(self.bdir("b5"), "status.json")) as f:
            status = json.load(f)
        self.assertEqual(status["phase"], "Failed")
        self.assertIn("SIGTERM", status["message"])
        # Nothing was stored: no totals, neither printed nor in the status.
        self.assertNotIn("stored", out)
        self.assertNotIn("objects", out.split("\n")[0])
        self.assertFalse(status.get("sizes"), status)
        r = run("vault-check", "--url", f"file://{self.vault}", "--list", "--output", "json")
        b = [x for x in r.json()["backups"] if x["name"] == "b5"][0]
        self.assertFalse(b["complete"])

    def test_status_configmap_and_events(self):
        self.kube.kubectl("create", "namespace", "cairn")
        r = self.backup("--include-namespaces", "shop", "--name", "b6",
                        env={"POD_NAMESPACE": "cairn"})
        self.assertEqual(r.code, 0, r)
        cm = json.loads(self.kube.kubectl("get", "cm", "cairn-backup-b6", "-n", "cairn",
                                          "-o", "json").stdout)
        self.assertEqual(cm["metadata"]["labels"]["cairn.io/kind"], "backup")
        self.assertEqual(json.loads(cm["data"]["status.json"])["phase"], "Completed")
        reasons = [e["reason"] for e in json.loads(self.kube.kubectl(
            "get", "events", "-n", "cairn", "-o", "json").stdout)["items"]]
        self.assertIn("BackupStarted", reasons)
        self.assertIn("BackupSucceeded", reasons)

    def test_dry_run_counts_and_writes_nothing(self):
        r = self.backup("--include-namespaces", "shop", "--name", "b7", "--dry-run")
        self.assertEqual(r.code, 0, r)
        self.assertIn("shop", r.out)
        self.assertIn("deployments.apps", r.out)
        self.assertIn("cluster objects pulled in", r.out)
        self.assertFalse(os.path.exists(self.bdir("b7")))

    def test_policy_from_config_generated_name_and_min_interval(self):
        cfg = os.path.join(self.dir, "cairn.toml")
        with open(cfg, "w") as f:
            f.write(f'[vaults.local]\nurl = "file://{self.vault}"\n\n'
                    '[policies.demo]\nvault = "local"\ninclude_namespaces = ["shop"]\n'
                    'schedule = "6h"\n')
        args = ["--config", cfg, "--policy", "demo", "--kubeconfig", self.kube.kubeconfig]
        r = run("backup-run", *args, "--min-interval", "1h", "--output", "json")
        self.assertEqual(r.code, 0, r)
        status = r.json()
        self.assertRegex(status["name"], r"^demo-\d{14}$")
        self.assertEqual(status["policy"], "demo")
        self.assertEqual(status["fromSchedule"], True)
        self.assertTrue(os.path.exists(os.path.join(self.bdir(status["name"]), "manifest.json")))
        # A second run within the interval does nothing.
        r = run("backup-run", *args, "--min-interval", "1h")
        self.assertEqual(r.code, 0, r)
        self.assertIn("nothing to do", r.out)
        self.assertEqual(len(os.listdir(os.path.join(self.vault, "backups"))), 1)
        # An unknown policy is an invalid invocation.
        r = run("backup-run", "--config", cfg, "--policy", "nope",
                "--kubeconfig", self.kube.kubeconfig)
        self.assertEqual(r.code, 2, r)

    def entries_of(self, name):
        return archive_entries(os.path.join(self.bdir(name), "resources.tar.zst"))

    def status_of(self, name):
        with open(os.path.join(self.bdir(name), "status.json")) as f:
            return json.load(f)

    def test_a_253_character_name_is_archived_and_restored(self):
        long_name = "c" * 253
        self.kube.kubectl("create", "configmap", long_name, "-n", "shop", "--from-literal=k=v")
        r = self.backup("--include-namespaces", "shop", "--name", "long")
        self.assertEqual(r.code, 0, r)
        entry = f"resources/core/configmaps/v1/namespaces/shop/{long_name}.json"
        self.assertIn(entry, self.entries_of("long"))  # GNU tar reads the pax path
        self.assertEqual(archive_file(os.path.join(self.bdir("long"), "resources.tar.zst"),
                                      entry)["data"], {"k": "v"})
        with KubeApiServer() as target:
            r = run("restore-run", "--url", f"file://{self.vault}", "--kubeconfig",
                    target.kubeconfig, "--backup", "long", "--name", "r-long")
            self.assertEqual(r.code, 0, r)
            cm = json.loads(target.kubectl("get", "configmap", long_name, "-n", "shop",
                                           "-o", "json").stdout)
            self.assertEqual(cm["data"], {"k": "v"})

    def test_an_object_that_cannot_be_archived_is_an_error_of_that_object(self):
        # Role names are path segments: Kubernetes puts no limit on their length.
        huge = "r" * 70000
        self.kube.kubectl("create", "-f", "-", input=json.dumps(
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": {"name": huge, "namespace": "shop"}, "rules": []}))
        r = self.backup("--include-namespaces", "shop", "--name", "huge", "--output", "json")
        self.assertEqual(r.code, 3, r)
        status = r.json()
        self.assertEqual(status["phase"], "PartiallyFailed")
        self.assertEqual(status["errors"]["count"], 1, status["errors"])
        err = status["errors"]["items"][0]
        self.assertEqual(err["scope"], "namespace/shop")
        self.assertTrue(err["object"].startswith("roles.rbac.authorization.k8s.io/v1 shop/rrrr"),
                        err)
        self.assertIn("longer than 65536 bytes", err["message"])
        # The walk went on: everything else is there.
        entries = self.entries_of("huge")
        self.assertIn("resources/apps/deployments/v1/namespaces/shop/web.json", entries)
        self.assertFalse([e for e in entries if "rrrrrrrr" in e])
        self.assertTrue(os.path.exists(os.path.join(self.bdir("huge"), "manifest.json")))

    def test_an_object_nested_deeper_than_a_restore_reads_is_an_error_of_that_object(self):
        # A custom resource with an unstructured spec can nest as deep as the apiserver allows;
        # restore-run refuses entries deeper than 64 levels, so the backup must not store one.
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "trees.deep.cairn.dev"},
               "spec": {"group": "deep.cairn.dev", "scope": "Namespaced",
                        "names": {"plural": "trees", "singular": "tree", "kind": "Tree"},
                        "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                            "openAPIV3Schema": {"type": "object", "properties": {"spec": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True}}}}}]}}
        self.kube.kubectl("create", "-f", "-", input=json.dumps(crd))
        def nested(levels):
            v = {}
            for _ in range(levels):
                v = {"n": v}
            return v
        deadline = time.time() + 20
        for name, levels in (("deep", 80), ("shallow", 40)):
            while True:
                p = self.kube.kubectl("create", "-f", "-", check=False, input=json.dumps(
                    {"apiVersion": "deep.cairn.dev/v1", "kind": "Tree",
                     "metadata": {"name": name, "namespace": "shop"}, "spec": nested(levels)}))
                if p.returncode == 0 or time.time() > deadline:
                    break
                time.sleep(0.2)  # the new resource is being discovered
            self.assertEqual(p.returncode, 0, p.stderr)
        r = self.backup("--include-namespaces", "shop", "--name", "deep", "--output", "json")
        self.assertEqual(r.code, 3, r)
        status = r.json()
        self.assertEqual(status["errors"]["count"], 1, status["errors"])
        err = status["errors"]["items"][0]
        self.assertEqual(err["object"], "trees.deep.cairn.dev/v1 shop/deep", err)
        self.assertIn("nests more than 64 levels", err["message"])
        entries = self.entries_of("deep")
        self.assertIn("resources/deep.cairn.dev/trees/v1/namespaces/shop/shallow.json", entries)
        self.assertNotIn("resources/deep.cairn.dev/trees/v1/namespaces/shop/deep.json", entries)

    def create_configmaps(self, ns, n):
        items = [{"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": f"cm-{i:04d}", "namespace": ns}, "data": {"i": str(i)}}
                 for i in range(n)]
        self.kube.kubectl("create", "namespace", ns)
        self.kube.kubectl("create", "-f", "-",
                          input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))

    def test_an_expired_continue_token_stores_every_object_once_with_a_warning(self):
        self.create_configmaps("big", 700)
        for name, new_token in (("exp-continue", True), ("exp-relist", False)):
            self.kube.admin({"expire_continue": {"path_regex": "/namespaces/big/configmaps",
                                                 "count": 1, "new_token": new_token}})
            r = self.backup("--include-namespaces", "big", "--include-resources",
                            "configmaps,widgetz", "--name", name, "--output", "json")
            self.assertEqual(r.code, 0, r)
            status = r.json()
            self.assertEqual(status["phase"], "Completed")
            entries = self.entries_of(name)
            cms = [e for e in entries if e.startswith("resources/core/configmaps/")]
            self.assertEqual(len(cms), len(set(cms)), f"{name}: an object is stored twice")
            self.assertEqual(len(cms), 700, name)
            self.assertEqual(status["counts"]["objects"], 700)
            warnings = json.dumps(status["warnings"])
            self.assertIn("not one consistent snapshot", warnings)
            self.assertIn("configmaps/v1", warnings)
            # A resource skipped by the policy is a warning too, not a log line.
            self.assertIn("include_resources 'widgetz': matches no listable resource", warnings)
        # The state shows the rule was used up (the continue really expired).
        self.assertEqual(self.kube.admin({})["state"]["expire_continue"], [])

    def test_two_runs_with_one_name_one_wins(self):
        self.kube.admin({"latency_ms": 40})
        self.race("file", [])

    def test_two_runs_with_one_name_one_wins_on_s3(self):
        env = s3_env()
        self.kube.admin({"latency_ms": 40})
        url = f"s3://{env['S3_BUCKET']}/{unique('race')}"
        self.race(url, ["--endpoint", env["S3_ENDPOINT"], "--path-style"])

    def race(self, url, extra):
        url = f"file://{self.vault}" if url == "file" else url
        procs = [subprocess.Popen(
            [binary("backup-run"), "--url", url, "--kubeconfig", self.kube.kubeconfig,
             "--include-namespaces", ns, "--name", "same", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for ns in ("shop", "data")]
        results = [(p.wait(120), *p.communicate()) for p in procs]
        codes = sorted(c for c, _, _ in results)
        self.assertEqual(codes, [0, 1], results)
        loser = [out + err for c, out, err in results if c == 1][0]
        self.assertIn("backup 'same' already exists in vault", loser)
        self.assertIn("HINT:", loser)
        r = run("vault-check", "--url", url, *extra, "--list", "--output", "json")
        b = [x for x in r.json()["backups"] if x["name"] == "same"][0]
        self.assertTrue(b["complete"])
        self.assertEqual(b["phase"], "Completed")
        if url.startswith("file://"):
            # The manifest describes the bytes stored, written by the winner alone.
            with open(os.path.join(self.bdir("same"), "manifest.json")) as f:
                manifest = json.load(f)
            for o in manifest["objects"]:
                with open(os.path.join(self.bdir("same"), o["key"]), "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(), o["stored_sha256"])
            winner_ns = "shop" if results[0][0] == 0 else "data"
            entries = self.entries_of("same")
            self.assertTrue([e for e in entries if f"/namespaces/{winner_ns}/" in e])
            other = "data" if winner_ns == "shop" else "shop"
            self.assertFalse([e for e in entries if f"/namespaces/{other}/" in e])

    def test_heartbeat_advances_while_the_backup_runs(self):
        self.kube.admin({"latency_ms": 300})
        proc = subprocess.Popen([binary("backup-run"), "--url", f"file://{self.vault}",
                                 "--kubeconfig", self.kube.kubeconfig, "--name", "hb",
                                 "--heartbeat-interval", "1s"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = set()
        deadline = time.time() + 60
        while proc.poll() is None and time.time() < deadline:
            try:
                status = self.status_of("hb")
            except (OSError, ValueError):
                status = None
            if status and status["phase"] == "InProgress":
                seen.add(status["heartbeatTime"])
            time.sleep(0.2)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, out + err)
        self.assertGreaterEqual(len(seen), 3, f"heartbeatTime seen while running: {seen}")

    def test_hand_written_endpoints_are_backed_up_and_restored(self):
        self.kube.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "external-db", "namespace": "shop"},
                 "spec": {"ports": [{"port": 5432}]}},
                {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": "external-db", "namespace": "shop"},
                 "subsets": [{"addresses": [{"ip": "192.0.2.10"}],
                              "ports": [{"port": 5432}]}]}]}))
        r = self.backup("--include-namespaces", "shop", "--name", "ep", "--output", "json")
        self.assertEqual(r.code, 0, r)
        entries = self.entries_of("ep")
        self.assertIn("resources/core/endpoints/v1/namespaces/shop/external-db.json", entries)
        # The Services with a selector have Endpoints and EndpointSlices from the controllers:
        # regenerated, not stored.
        self.assertIn("web", self.kube.kubectl("get", "endpoints", "-n", "shop").stdout)
        self.assertNotIn("resources/core/endpoints/v1/namespaces/shop/web.json", entries)
        self.assertFalse([e for e in entries if "/endpointslices/" in e], entries)
        self.assertNotIn("endpoints: regenerated by the cluster", r.all)
        with KubeApiServer() as target:
            r = run("restore-run", "--url", f"file://{self.vault}", "--kubeconfig",
                    target.kubeconfig, "--backup", "ep", "--name", "r-ep")
            self.assertEqual(r.code, 0, r)
            ep = json.loads(target.kubectl("get", "endpoints", "external-db", "-n", "shop",
                                           "-o", "json").stdout)
            self.assertEqual(ep["subsets"][0]["addresses"], [{"ip": "192.0.2.10"}])

    def test_s3_vault(self):
        env = s3_env()
        url = f"s3://{env['S3_BUCKET']}/{unique('br')}"
        args = ["--endpoint", env["S3_ENDPOINT"], "--path-style"]
        r = self.backup("--include-namespaces", "shop", "--name", "s3b", *args, url=url)
        self.assertEqual(r.code, 0, r)
        r = run("vault-check", "--url", url, *args, "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        self.assertTrue([b for b in r.json()["backups"] if b["name"] == "s3b"][0]["complete"])
        SECRETS.collect_s3(url.split("/", 3)[3])


def setUpModule():
    SECRETS.enable()


def tearDownModule():
    SECRETS.finish("backup_run_test")


if __name__ == "__main__":
    unittest.main()
