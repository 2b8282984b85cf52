"""Metrics as a platform team reads them: vault-check, backup-run (Completed, PartiallyFailed,
Failed, SIGTERMed) and restore-run push to the real Pushgateway that scripts/test starts
(hack/metrics-servers), and the series are read back from the Pushgateway and from the real
Prometheus scraping it (honor_labels: true). The textfile output passes `promtool check metrics`.

Environment (exported by scripts/test): PUSHGATEWAY_URL, PROMETHEUS_URL; CAIRN_REQUIRE_METRICS=1
makes their absence a failure instead of a skip."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from cairn_test_support import KubeApiServer, binary, run, unique


def servers():
    pg, prom = os.environ.get("PUSHGATEWAY_URL"), os.environ.get("PROMETHEUS_URL")
    if not pg or not prom:
        if os.environ.get("CAIRN_REQUIRE_METRICS") == "1":
            raise AssertionError("CAIRN_REQUIRE_METRICS=1 but no Pushgateway/Prometheus is set")
        raise unittest.SkipTest("no Pushgateway/Prometheus (run through scripts/test)")
    return pg, prom


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg, cls.prom = servers()
        cls.kube = KubeApiServer("--samples")
        cls.dir = tempfile.mkdtemp(prefix="cairn-metrics-")
        cls.vault = unique("mv")
        cls.config = os.path.join(cls.dir, "cairn.toml")
        with open(cls.config, "w") as f:
            f.write(f"""
[defaults]
pushgateway = "{cls.pg}"

[vaults.{cls.vault}]
url = "file://{cls.dir}/vault"

[policies.nightly]
vault = "{cls.vault}"
schedule = "0 2 * * *"
include_namespaces = ["shop"]
""")

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def cairn(self, name, *args, kube=None):
        return run(name, "--config", self.config, "--kubeconfig", (kube or self.kube).kubeconfig,
                   *args)

    def group(self, job, **grouping):
        """{metric name: [(labels, value)]} of one Pushgateway group, or None."""
        want = dict(job=job, vault=self.vault, **grouping)
        for g in get_json(self.pg + "/api/v1/metrics")["data"]:
            if g["labels"] == want:
                return {name: [(m["labels"], float(m.get("value", m.get("count", "nan"))))
                           for m in fam["metrics"]]
                        for name, fam in g.items() if isinstance(fam, dict) and "metrics" in fam}
        return None

    def value(self, group, name, **labels):
        found = [v for l, v in group.get(name, []) if all(l.get(k) == x for k, x in labels.items())]
        self.assertEqual(len(found), 1, f"{name}{labels}: {group.get(name)}")
        return found[0]

    def assert_no_run_names(self, group, names):
        for metric, samples in group.items():
            for labels, _ in samples:
                for k, v in labels.items():
                    if metric == "cairn_backup_failure_info" and k == "backup":
                        continue  # the bounded failed-backup table names its backups
                    for n in names:
                        self.assertNotIn(n, v, f"{metric} label {k} carries run name {n}")

    def prometheus(self, query, until):
        """Polls Prometheus until `until(result)` holds; returns the result vector."""
        url = self.prom + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
        deadline = time.time() + 30
        while True:
            body = get_json(url)
            self.assertEqual(body["status"], "success", body)
            result = body["data"]["result"]
            if until(result) or time.time() > deadline:
                return result
            time.sleep(0.5)

    def test_runs_push_what_the_vault_says(self):
        # vault-check: the vault's state set and catalog counts.
        r = self.cairn("vault-check", "--init")
        self.assertEqual(r.code, 0, r)
        g = self.group("cairn-vault-check")
        self.assertIsNotNone(g, "vault-check pushed nothing")
        self.assertEqual(self.value(g, "cairn_vault_phase", phase="Available"), 1)
        self.assertEqual(self.value(g, "cairn_vault_phase", phase="Unavailable"), 0)
        self.assertEqual(self.value(g, "cairn_vault_info", network="default"), 1)
        self.assertEqual(self.value(g, "cairn_vault_backups", phase="Completed"), 0)

        # Completed.
        r = self.cairn("backup-run", "--policy", "nightly", "--name", "mt-ok")
        self.assertEqual(r.code, 0, r)
        g = self.group("cairn-backup", policy="nightly")
        self.assertEqual(self.value(g, "cairn_backup_last_status"), 1)
        success = self.value(g, "cairn_backup_last_success_timestamp_seconds")
        self.assertAlmostEqual(success, time.time(), delta=60)
        self.assertGreater(self.value(g, "cairn_backup_last_items"), 5)
        self.assertGreater(self.value(g, "cairn_backup_last_size_bytes"), 0)
        self.assertEqual(self.value(g, "cairn_backup_schedule_interval_seconds"), 86400)
        self.assertEqual(self.value(g, "cairn_backup_info", backup_type="AppBackup",
                                    data_type="none"), 1)
        self.assertEqual(self.value(g, "kubedr_num_successful_backups", policyName="nightly"), 1)

        # PartiallyFailed: secrets cannot be listed.
        time.sleep(1.1)
        self.kube.admin({"forbid": {"resource": "secrets", "verb": "list"}})
        r = self.cairn("backup-run", "--policy", "nightly", "--name", "mt-partial")
        self.assertEqual(r.code, 3, r)
        g = self.group("cairn-backup", policy="nightly")
        self.assertEqual(self.value(g, "cairn_backup_last_status"), 0.5)
        self.assertEqual(self.value(g, "cairn_backup_last_success_timestamp_seconds"), success)
        self.assertEqual(self.value(g, "cairn_backup_last_errors"), 1)

        # Failed: the run's timeout passes while the API server is slow.
        self.kube.admin({"latency_ms": 300})
        r = self.cairn("backup-run", "--policy", "nightly", "--name", "mt-failed",
                       "--timeout", "1s")
        self.assertEqual(r.code, 1, r)
        g = self.group("cairn-backup", policy="nightly")
        self.assertEqual(self.value(g, "cairn_backup_last_status"), 0)
        self.assertEqual(self.value(g, "cairn_backup_last_success_timestamp_seconds"), success)
        self.assertEqual(self.value(g, "cairn_backup_runs", phase="Completed"), 1)
        self.assertEqual(self.value(g, "cairn_backup_runs", phase="PartiallyFailed"), 1)
        self.assertEqual(self.value(g, "cairn_backup_runs", phase="Failed"), 1)
        self.assertEqual(self.value(g, "kubedr_num_backups", policyName="nightly"), 3)
        self.assertEqual(self.value(g, "kubedr_num_failed_backups", policyName="nightly"), 2)
        failures = {l["backup"]: l for l, _ in g["cairn_backup_failure_info"]}
        self.assertEqual(set(failures), {"mt-partial", "mt-failed"})
        self.assertIn("timeout", failures["mt-failed"]["reason"])
        self.assertEqual(failures["mt-failed"]["policy"], "nightly")
        self.assert_no_run_names(g, ["mt-ok", "mt-partial", "mt-failed"])

        # SIGTERM: the run still pushes, within seconds.
        before = self.value(g, "push_time_seconds")
        proc = subprocess.Popen([binary("backup-run"), "--config", self.config, "--kubeconfig",
                                 self.kube.kubeconfig, "--policy", "nightly", "--name",
                                 "mt-term"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(2.5)
        start = time.time()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        self.assertLess(time.time() - start, 10, "did not exit within 10 s of SIGTERM")
        self.assertEqual(proc.returncode, 1, out + err)
        g = self.group("cairn-backup", policy="nightly")
        self.assertGreater(self.value(g, "push_time_seconds"), before)
        self.assertEqual(self.value(g, "cairn_backup_runs", phase="Failed"), 2)
        self.assertEqual(self.value(g, "cairn_backup_last_success_timestamp_seconds"), success)
        self.kube.admin({"latency_ms": 0})

        # Restore of the completed backup into an empty cluster.
        target = KubeApiServer()
        self.addCleanup(target.stop)
        r = self.cairn("restore-run", "--backup", "mt-ok", "--name", "mt-restore", kube=target)
        self.assertEqual(r.code, 0, r)
        g = self.group("cairn-restore", policy="_manual")
        self.assertEqual(self.value(g, "cairn_restore_last_status"), 1)
        self.assertGreater(self.value(g, "cairn_restore_last_items", action="created"), 5)
        self.assert_no_run_names(g, ["mt-ok", "mt-restore"])

        # vault-check again: the catalog by phase.
        self.assertEqual(self.cairn("vault-check").code, 0)
        g = self.group("cairn-vault-check")
        self.assertEqual(self.value(g, "cairn_vault_backups", phase="Completed"), 1)
        self.assertEqual(self.value(g, "cairn_vault_backups", phase="Failed"), 2)
        self.assertGreater(self.value(g, "cairn_vault_stored_bytes"), 0)

        # Prometheus scraped the Pushgateway with honor_labels: the pushed job and labels.
        q = f'cairn_backup_last_status{{vault="{self.vault}"}}'
        result = self.prometheus(q, lambda r: r and r[0]["value"][1] == "0"
                                 and float(self.prometheus(
                                     f'cairn_backup_runs{{vault="{self.vault}",phase="Failed"}}',
                                     lambda x: True)[0]["value"][1]) == 2)
        self.assertEqual(len(result), 1, result)
        self.assertEqual(result[0]["metric"]["job"], "cairn-backup")
        self.assertEqual(result[0]["metric"]["policy"], "nightly")
        self.assertEqual(result[0]["value"][1], "0")
        q = f'cairn_backup_last_success_timestamp_seconds{{vault="{self.vault}"}}'
        result = self.prometheus(q, lambda r: bool(r))
        self.assertEqual(float(result[0]["value"][1]), success)
        q = f'sum(kubedr_backup_duration_seconds_count{{policyName="nightly",job="cairn-backup"}})'
        self.assertTrue(self.prometheus(q, lambda r: bool(r)))
        q = f'cairn_vault_phase{{vault="{self.vault}",phase="Available"}}'
        result = self.prometheus(q, lambda r: bool(r))
        self.assertEqual(result[0]["metric"]["job"], "cairn-vault-check")
        self.assertEqual(result[0]["value"][1], "1")
        self.check_dashboards()

    def check_dashboards(self):
        """Every query of every dashboard parses in the real Prometheus; the panels of the
        Vaults and Backup operations dashboards return data for this test's vault."""
        grafana = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                               "grafana")
        for name in sorted(n for n in os.listdir(grafana) if n.endswith(".json")):
            with open(os.path.join(grafana, name)) as f:
                dash = json.load(f)
            names = [v["name"] for v in dash["templating"]["list"]]
            self.assertIn("vault", names, name)
            self.assertIn("policy", names, name)
            for panel in dash["panels"]:
                for target in panel["targets"]:
                    expr = target["expr"].replace("$vault", self.vault).replace("$policy", ".*")
                    needs_data = name != "jobs.json"  # kube-state-metrics/cAdvisor are absent here
                    result = self.prometheus(expr, lambda r: bool(r) or not needs_data)
                    if needs_data:
                        self.assertTrue(result, f"{name}: panel {panel['title']!r}: {expr}")

    def test_textfile_parses_with_promtool_and_push_failure_is_a_warning(self):
        prom_file = os.path.join(self.dir, "cairn.prom")
        r = run("vault-check", "--url", f"file://{self.dir}/other", "--init", "--metrics-file",
                prom_file, "--pushgateway", "http://127.0.0.1:1", "--output", "json")
        self.assertEqual(r.code, 0, r)  # the push failed: a warning, not a failed check
        self.assertIn("unable to push metrics", json.dumps(r.json()["warnings"]))
        with open(prom_file) as f:
            text = f.read()
        self.assertIn('cairn_vault_phase{vault="default",phase="Available"} 1', text)
        check = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertEqual([n for n in os.listdir(self.dir) if n.startswith("cairn.prom")],
                         ["cairn.prom"])


class PushgatewayBasicAuth(unittest.TestCase):
    """A real Pushgateway that requires basic auth (--web.config.file, bcrypt): the credentials
    come from [metrics] basic_auth_file; without them the push is refused and the run says so in
    a warning that carries neither the password nor the header."""

    @classmethod
    def setUpClass(cls):
        servers()  # the same skip/require rule as the other metrics tests
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # deprecated in 3.11, present in Debian 12's python3 (bcrypt: $2b$)
        import socket
        cls.dir = tempfile.mkdtemp(prefix="cairn-pg-auth-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        web = os.path.join(cls.dir, "web.yml")
        with open(web, "w") as f:
            f.write("basic_auth_users:\n  ops: " +
                    crypt.crypt("s3cr3t-pw", crypt.mksalt(crypt.METHOD_BLOWFISH)) + "\n")
        cls.url = f"http://127.0.0.1:{port}"
        cls.proc = subprocess.Popen(
            ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}",
             f"--web.config.file={web}", "--persistence.file="],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(cls.url + "/-/ready", timeout=2)
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    break  # up, and asking for credentials
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def check(self, password):
        auth = os.path.join(self.dir, "auth")
        with open(auth, "w") as f:
            f.write(f"ops:{password}\n")
        config = os.path.join(self.dir, "cairn.toml")
        with open(config, "w") as f:
            f.write(f"""
[metrics]
pushgateway = "{self.url}"
basic_auth_file = "{auth}"

[vaults.authvault]
url = "file://{self.dir}/vault"
""")
        return run("vault-check", "--config", config, "--vault", "authvault", "--init",
                   "--output", "json")

    def groups(self):
        req = urllib.request.Request(self.url + "/api/v1/metrics")
        req.add_header("Authorization", "Basic " + __import__("base64").b64encode(
            b"ops:s3cr3t-pw").decode())
        with urllib.request.urlopen(req, timeout=10) as resp:
            return [g["labels"] for g in json.loads(resp.read())["data"]]

    def test_wrong_password_is_a_warning_without_the_secret(self):
        r = self.check("not-the-pw")
        self.assertEqual(r.code, 0, r)
        warnings = json.dumps(r.json()["warnings"])
        self.assertIn("HTTP 401", warnings)
        self.assertNotIn("not-the-pw", r.all)
        self.assertNotIn("Basic ", r.all)

    def test_right_password_pushes_the_group(self):
        r = self.check("s3cr3t-pw")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("unable to push", json.dumps(r.json()["warnings"]))
        self.assertIn({"job": "cairn-vault-check", "vault": "authvault"}, self.groups())


if __name__ == "__main__":
    unittest.main()
