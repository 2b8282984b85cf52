"""Signals and deadlines of backup-run, restore-run and gc against the S3 test server, as
processes: SIGTERM and --timeout at seeded random moments. Each stop must end the run with exit
1 within 10 s (of the signal, or of the deadline), status Failed with the reason in the vault, in
the status ConfigMap and in a Warning event; no pending multipart upload is left, and no object
of an earlier backup is touched (the same policy's earlier backup, the restored backup, the
backups gc was to keep). A stopped backup publishes no manifest, and the next backup of the
policy completes. A stopped restore's results.json.zst lists exactly what it applied (compared
with what the target API server holds).

CAIRN_SIGNALS_SEED sets the seed (printed; random by default). Prints "signals: N stops, ..."."""
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from cairn_test_support import (SECRETS, FaultProxy, KubeApiServer, binary, plant_secret,
                                report_summary, run, s3_env, unique)
from gc_test import DAY, S3Vault, now, write_backup

SEED = int(os.environ.get("CAIRN_SIGNALS_SEED", str(random.SystemRandom().randrange(1 << 31))))
NAMESPACE = "sig"
GRACE = 10  # seconds from the stop to the exit
TOTALS = {"stops": 0, "backup": 0, "restore": 0, "gc": 0, "applied": 0, "late": 0,
          "gc_defects": 0}


def log(msg):
    print(f"signals: {msg}", file=sys.stderr, flush=True)


def seed_cluster(kube):
    """A namespace of 150 ConfigMaps and 30 Secrets: a restore that applies for seconds."""
    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
    for i in range(150):
        items.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": f"cm-{i:03d}", "namespace": NAMESPACE},
                      "data": {"n": str(i)}})
    for i in range(30):
        items.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": {"name": f"secret-{i:02d}", "namespace": NAMESPACE},
                      "data": {"v": base64.b64encode(os.urandom(18)).decode()}})
    kube.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                       "items": items}))
    plant_secret(kube, NAMESPACE)


def zstd_json(data):
    return json.loads(subprocess.run(["zstd", "-dcq"], input=data, capture_output=True,
                                     check=True).stdout)


class StopChecks(unittest.TestCase):
    """What every stopped run must leave behind."""

    @classmethod
    def connect_s3(cls):
        cls.env = s3_env()
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))
        from s3_client import S3Client
        cls.s3 = S3Client.from_env()

    def stop(self, proc, how, delay, codes=(1,)):
        """SIGTERM after `delay` seconds, or wait for the --timeout; returns (out, err, when the
        run should have ended at the latest)."""
        if how == "SIGTERM":
            time.sleep(delay)
            self.assertIsNone(proc.poll(), f"the run ended before its SIGTERM at {delay:.2f}s")
            proc.send_signal(signal.SIGTERM)
            limit = time.time() + GRACE
        else:
            limit = proc.started + delay + GRACE
        out, err = proc.communicate(timeout=120)
        SECRETS.output(proc.args[0], out, err)
        ended = time.time()
        if ended > limit:
            TOTALS["late"] += 1
        self.assertLessEqual(ended, limit, f"ended {ended - limit + GRACE:.1f}s after the stop")
        self.assertIn(proc.returncode, codes, out + err[-3000:])
        TOTALS["stops"] += 1
        return out, err

    def reason(self, how, delay):
        if how == "SIGTERM":
            return "received SIGTERM"
        return f"timeout {delay:g}s exceeded" if delay >= 1 else \
            f"timeout {round(delay * 1000)}ms exceeded"

    def assert_failed_everywhere(self, vault_status, kube, kind, name, reason):
        self.assertEqual(vault_status["phase"], "Failed", vault_status)
        self.assertIn(reason, vault_status["message"])
        cm = json.loads(kube.kubectl("get", "cm", f"cairn-{kind}-{name}", "-n", "cairn", "-o",
                                     "json").stdout)
        in_cm = json.loads(cm["data"]["status.json"])
        self.assertEqual((in_cm["phase"], in_cm["message"]),
                         (vault_status["phase"], vault_status["message"]))
        events = json.loads(kube.kubectl("get", "events", "-n", "cairn", "-o",
                                         "json").stdout)["items"]
        warnings = [e for e in events if e["type"] == "Warning" and reason in e["message"]
                    and e["involvedObject"]["name"] == f"cairn-{kind}-{name}"]
        self.assertTrue(warnings, [(e["type"], e["reason"], e["message"]) for e in events])

    def snapshot(self, prefix):
        """Every object under `prefix`: key -> sha256 of its bytes."""
        return {k: hashlib.sha256(self.s3.get(k) or b"").hexdigest()
                for k in self.s3.keys(prefix)}


def seed_blobs(kube, ns, count=16, size=700_000):
    """Namespace `ns` of ConfigMaps of random base64 text (about 75% of it survives zstd): an
    archive of several 5 MiB parts, so that a stopped backup has a multipart upload to abort."""
    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    for i in range(count):
        items.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": f"blob-{i:02d}", "namespace": ns},
                      "data": {"blob": base64.b64encode(os.urandom(size * 3 // 4)).decode()}})
    kube.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                       "items": items}))


class BackupSignals(StopChecks):
    @classmethod
    def setUpClass(cls):
        cls.connect_s3()
        cls.rng = random.Random(SEED + 2)
        cls.dir = tempfile.mkdtemp(prefix="cairn-signals-backup-")
        cls.prefix = unique("signals-backup")
        cls.source = KubeApiServer()
        cls.source.kubectl("create", "namespace", "cairn")
        seed_cluster(cls.source)
        seed_blobs(cls.source, "blobs")
        # Every part upload waits, so a backup spends seconds in its multipart upload.
        cls.proxy = FaultProxy(cls.env["S3_ENDPOINT"], {"latency_ms": 1500, "methods": ["PUT"],
                                                        "path_regex": "partNumber="})
        cls.config = os.path.join(cls.dir, "cairn.toml")
        with open(cls.config, "w") as f:
            f.write(f'[vaults.s3]\nurl = "s3://{cls.env["S3_BUCKET"]}/{cls.prefix}"\n'
                    f'endpoint = "{cls.proxy.url}"\npath_style = true\npart_size = "5MiB"\n'
                    f'[policies.apps]\nvault = "s3"\n'
                    f'include_namespaces = ["{NAMESPACE}", "blobs"]\n')
        started = time.time()
        proc = cls.backup_process("base")
        out, err = proc.communicate(timeout=300)
        cls.duration = time.time() - started
        if proc.returncode != 0:
            cls.tearDownClass()
            raise AssertionError(f"backup failed: {out}\n{err[-3000:]}")
        log(f"backup base: {cls.duration:.1f}s unstopped")

    @classmethod
    def tearDownClass(cls):
        SECRETS.collect_s3(cls.prefix)
        cls.proxy.stop()
        cls.source.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def backup_process(cls, name, *args):
        proc = subprocess.Popen(
            [binary("backup-run"), "--config", cls.config, "--policy", "apps", "--kubeconfig",
             cls.source.kubeconfig, "--name", name, "--output", "json", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "POD_NAMESPACE": "cairn"})
        proc.started = time.time()
        return proc

    def stopped_backup(self, how, i):
        name = f"{how.lower()}-{i}"
        before = self.snapshot(f"{self.prefix}/backups/base/")
        # Anywhere from the listing to the last part, before the manifest's publication.
        delay = round(self.rng.uniform(0.3, 0.8 * self.duration), 1)
        args = ["--timeout", f"{delay}s"] if how == "timeout" else []
        log(f"backup {name}: {how} at {delay}s (seed {SEED})")
        self.stop(self.backup_process(name, *args), how, delay)
        status = json.loads(self.s3.get(f"{self.prefix}/backups/{name}/status.json"))
        self.assert_failed_everywhere(status, self.source, "backup", name,
                                      self.reason(how, delay))
        self.assertIsNone(self.s3.get(f"{self.prefix}/backups/{name}/manifest.json"),
                          "a stopped backup published its manifest")
        self.assertEqual(self.s3.pending_uploads(self.prefix + "/"), [])
        self.assertEqual(self.snapshot(f"{self.prefix}/backups/base/"), before,
                         "the earlier backup's objects changed")
        TOTALS["backup"] += 1

    def test_stops_then_the_next_backup_completes(self):
        for i in range(2):
            self.stopped_backup("SIGTERM", i)
        self.stopped_backup("timeout", 0)
        proc = self.backup_process("after")
        out, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 0, out + err[-3000:])
        status = json.loads(self.s3.get(f"{self.prefix}/backups/after/status.json"))
        self.assertEqual(status["phase"], "Completed")


class RestoreSignals(StopChecks):
    @classmethod
    def setUpClass(cls):
        cls.connect_s3()
        cls.rng = random.Random(SEED)
        cls.prefix = unique("signals")
        cls.url = f"s3://{cls.env['S3_BUCKET']}/{cls.prefix}"
        cls.source = KubeApiServer()
        seed_cluster(cls.source)
        r = run("backup-run", "--url", cls.url, "--endpoint", cls.env["S3_ENDPOINT"],
                "--path-style", "--kubeconfig", cls.source.kubeconfig, "--include-namespaces",
                NAMESPACE, "--name", "base")
        if r.code != 0:
            cls.source.stop()
            raise AssertionError(f"backup failed: {r}")

    @classmethod
    def tearDownClass(cls):
        SECRETS.collect_s3(cls.prefix)
        cls.source.stop()

    def restore(self, name, target, *args):
        proc = subprocess.Popen(
            [binary("restore-run"), "--url", self.url, "--endpoint", self.env["S3_ENDPOINT"],
             "--path-style", "--kubeconfig", target.kubeconfig, "--backup", "base", "--name",
             name, "--output", "json", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, "POD_NAMESPACE": "cairn"})
        proc.started = time.time()
        return proc

    def applied(self, target, name):
        """What the target holds of the restore: (resource, name) of its labelled objects."""
        held = set()
        for resource in ("configmaps", "secrets"):
            items = json.loads(target.kubectl(
                "get", resource, "-n", NAMESPACE, "-l", f"cairn.io/restore-name={name}", "-o",
                "json").stdout)["items"]
            held |= {(resource, o["metadata"]["name"]) for o in items}
        return held

    def listed(self, name):
        """What results.json.zst says of the namespace's objects: (resource, name) -> outcome."""
        data = self.s3.get(f"{self.prefix}/restores/{name}/results.json.zst")
        self.assertIsNotNone(data, "no results.json.zst")
        out = {}
        for r in zstd_json(data):
            resource, ns, obj = (r["object"].split("/") + ["", ""])[:3]
            if ns == NAMESPACE and resource in ("configmaps", "secrets"):
                out[(resource, obj)] = (r["action"], r.get("message", ""))
        return out

    def assert_results_match(self, name, held):
        """Every object the target holds of the restore is in results.json.zst as applied, and
        everything listed as applied is there: a create in flight when the run is stopped gets
        its answer (kube write_grace), so one the server applied is recorded as created."""
        listed = self.listed(name)
        created = {k for k, (action, _) in listed.items() if action in ("created", "updated")}
        self.assertEqual(created - held, set(), "listed as applied but not in the target")
        self.assertEqual({k: listed.get(k) for k in held - created}, {},
                         "applied but not listed as applied in results.json.zst")

    def stopped_restore(self, how, i):
        name = f"{how.lower()}-{i}"
        before = self.snapshot(f"{self.prefix}/backups/")
        with KubeApiServer() as target:
            target.kubectl("create", "namespace", "cairn")
            # Each write into the namespace waits, so the apply phase lasts a few seconds.
            target.admin({"latency": {"path_regex": f"/namespaces/{NAMESPACE}/", "ms": 150}})
            delay = round(self.rng.uniform(1.0, 3.5), 1)
            args = ["--timeout", f"{delay}s"] if how == "timeout" else []
            log(f"restore {name}: {how} at {delay}s (seed {SEED})")
            proc = self.restore(name, target, *args)
            self.stop(proc, how, delay)
            status = json.loads(self.s3.get(f"{self.prefix}/restores/{name}/status.json"))
            self.assert_failed_everywhere(status, target, "restore", name,
                                          self.reason(how, delay))
            target.admin({"reset": True})
            held = self.applied(target, name)
            if "before anything was applied" not in status["message"]:
                self.assert_results_match(name, held)
            else:
                self.assertEqual(held, set())
            TOTALS["applied"] += len(held)
        self.assertEqual(self.s3.pending_uploads(self.prefix + "/"), [])
        self.assertEqual(self.snapshot(f"{self.prefix}/backups/"), before,
                         "the restored backup's objects changed")
        TOTALS["restore"] += 1

    def test_sigterm(self):
        for i in range(2):
            self.stopped_restore("SIGTERM", i)

    def test_timeout(self):
        self.stopped_restore("timeout", 0)


# gc's vault: what it must keep untouched and what it is deleting when it is stopped.
KEEP = ["keep-1", "keep-2"]
EXPIRED = [f"old-{i:02d}" for i in range(12)]


class GcSignals(StopChecks):
    @classmethod
    def setUpClass(cls):
        cls.connect_s3()
        cls.rng = random.Random(SEED + 1)
        cls.dir = tempfile.mkdtemp(prefix="cairn-signals-")
        cls.kube = KubeApiServer()
        cls.kube.kubectl("create", "namespace", "cairn")
        # Every S3 request of gc waits, so its deletions last seconds.
        cls.proxy = FaultProxy(cls.env["S3_ENDPOINT"], {"latency_ms": 40})

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.kube.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def vault(self):
        vault = S3Vault(self.env, unique("signals-gc"))
        r = run("vault-check", "--url", vault.url, *vault.args, "--init")
        self.assertEqual(r.code, 0, r)
        t = now()
        for name in KEEP:
            write_backup(vault, name, "Completed", t - DAY, expiration=t + 10 * DAY)
        for name in EXPIRED:
            write_backup(vault, name, "Completed", t - 40 * DAY, expiration=t - 10 * DAY)
        cfg = os.path.join(self.dir, unique("cairn") + ".toml")
        with open(cfg, "w") as f:
            f.write(f'[vaults.v]\nurl = "{vault.url}"\nendpoint = "{self.proxy.url}"\n'
                    'path_style = true\n')
        return vault, cfg

    def stopped_gc(self, how, i):
        vault, cfg = self.vault()
        keep = {n: self.snapshot(f"{vault.prefix}/backups/{n}/") for n in KEEP}
        delay = round(self.rng.uniform(1.0, 3.0), 1)
        args = ["--timeout", f"{delay}s"] if how == "timeout" else []
        log(f"gc {how.lower()}-{i}: {how} at {delay}s (seed {SEED})")
        proc = subprocess.Popen([binary("gc"), "--config", cfg, "--kubeconfig",
                                 self.kube.kubeconfig, "--output", "json", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "POD_NAMESPACE": "cairn"})
        proc.started = time.time()
        self.stop(proc, how, delay, codes=(1,))
        self.exit_code = proc.returncode
        # The run's name, from its status ConfigMap (the newest gc one).
        cms = json.loads(self.kube.kubectl("get", "cm", "-n", "cairn", "-l", "cairn.io/kind=gc",
                                           "-o", "json").stdout)["items"]
        cm = max(cms, key=lambda c: json.loads(c["data"]["status.json"])["startTime"] +
                 c["metadata"]["name"])
        in_cm = json.loads(cm["data"]["status.json"])
        name = in_cm["name"]
        self.assertEqual(in_cm["phase"], "Failed", in_cm)
        events = json.loads(self.kube.kubectl("get", "events", "-n", "cairn", "-o",
                                              "json").stdout)["items"]
        self.assertTrue([e for e in events if e["type"] == "Warning" and e["reason"] == "GCFailed"
                         and e["involvedObject"]["name"] == f"cairn-gc-{name}"])
        self.assertEqual(vault.uploads(), [])
        for n in KEEP:
            self.assertEqual(self.snapshot(f"{vault.prefix}/backups/{n}/"), keep[n],
                             f"gc touched {n}, a backup it was to keep")
        # Nothing half-deleted looks complete: a manifest still there has all its objects.
        for n in EXPIRED:
            left = vault.keys(f"backups/{n}/")
            if f"backups/{n}/manifest.json" in left:
                self.assertIn(f"backups/{n}/resources.tar.zst", left, n)
        TOTALS["gc"] += 1
        return vault, name, self.reason(how, delay)

    def problems(self, vault, name, reason):
        """What a stopped gc gets wrong: its status (vault and ConfigMap) must be Failed and
        name the stop, its exit code 1, and its lease released for the next gc."""
        found = []
        if self.exit_code != 1:
            found.append(f"exit {self.exit_code} instead of 1")
        if f"gc/{name}/status.json" not in vault.keys(f"gc/{name}/"):
            found.append("no status in the vault")
        else:
            st = json.loads(vault.get(f"gc/{name}/status.json"))
            if st["phase"] != "Failed" or reason not in st["message"]:
                found.append(f"vault status {st['phase']}: {st['message']}")
        cm = json.loads(self.kube.kubectl("get", "cm", f"cairn-gc-{name}", "-n", "cairn", "-o",
                                          "json").stdout)
        in_cm = json.loads(cm["data"]["status.json"])
        message = in_cm["message"]
        if in_cm["phase"] != "Failed":
            found.append(f"phase {in_cm['phase']} instead of Failed")
        if reason not in message:
            found.append(f"the ConfigMap's message does not name the stop: {message}")
        if "locks/gc.json" in vault.keys("locks/"):
            found.append("the gc lease was not released")
        if found:
            TOTALS["gc_defects"] += 1
            log(f"gc {name}: {found}")
        return found

    def test_sigterm(self):
        self.assertEqual(self.problems(*self.stopped_gc("SIGTERM", 0)), [])

    def test_timeout(self):
        self.assertEqual(self.problems(*self.stopped_gc("timeout", 0)), [])


def setUpModule():
    SECRETS.enable()
    log(f"seed {SEED} (CAIRN_SIGNALS_SEED={SEED} reproduces)")


def tearDownModule():
    report_summary(f"signals: {TOTALS['stops']} stops ({TOTALS['backup']} backup-run, "
                   f"{TOTALS['restore']} restore-run, "
                   f"{TOTALS['gc']} gc), {TOTALS['late']} late exits, {TOTALS['applied']} "
                   f"objects applied before a stop, each listed in results; gc: "
                   f"{TOTALS['gc_defects']} stops without the reason in its status or with its "
                   f"lease left (seed {SEED})")
    SECRETS.finish("signals_test")


if __name__ == "__main__":
    unittest.main()
