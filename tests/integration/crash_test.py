"""Crash consistency, as processes: backup-run SIGKILLed at seeded random moments between its
start and the publication of its manifest, half against the S3 test server and half against a
file vault. None of the killed backups may be listed as complete (vault-check --list),
restore-run must refuse each (exit 1 naming it, nothing written to the target cluster), a
following backup of the same policy completes, and gc --stale-after 0s then leaves none of their
data and no pending multipart upload (only each run's status, marked Failed). Then gc itself is
SIGKILLed at random moments between its steps and run again: it finishes, and no backup it was
to keep loses anything.

CAIRN_CRASH_N (default 20) sets the number of backup kills, CAIRN_CRASH_SEED the seed (printed;
random by default). Prints "crash: N kills, C complete-looking, U pending uploads after gc"."""
import base64
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
from gc_test import DAY, FileVault, S3Vault, now, write_backup

N = int(os.environ.get("CAIRN_CRASH_N", "20"))
SEED = int(os.environ.get("CAIRN_CRASH_SEED", str(random.SystemRandom().randrange(1 << 31))))
GC_KILLS = int(os.environ.get("CAIRN_CRASH_GC_KILLS", "3"))
NAMESPACE = "crash"
POLICY = "nightly"

# What the summary line reports, filled by the tests.
TOTALS = {"kills": 0, "complete": 0, "left": 0, "uploads": 0, "gc_kills": 0, "gc_lost": 0}


def seed_cluster(kube, workdir):
    """A namespace whose backup is one archive a little over one 5 MiB part once compressed
    (random base64 text), so an S3 backup has a multipart upload open for part of its life."""
    kube.kubectl("create", "namespace", NAMESPACE)
    for i in range(8):
        path = os.path.join(workdir, f"blob{i}")
        with open(path, "w") as f:
            f.write(base64.b64encode(os.urandom(690_000)).decode())
        kube.kubectl("create", "configmap", f"blob{i}", "-n", NAMESPACE, f"--from-file=data={path}")
    plant_secret(kube, NAMESPACE)


def writes_since(kube, since, run_name):
    """Mutating requests that reached `kube` after `since`, apart from the run's own report."""
    return [q for q in kube.admin_requests(since)
            if q["method"] not in ("GET", "HEAD") and f"cairn-restore-{run_name}" not in q["path"]
            and "/events" not in q["path"]]


class CrashConsistency(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rng = random.Random(SEED)
        print(f"crash: seed {SEED} (CAIRN_CRASH_SEED={SEED} CAIRN_CRASH_N={N} reproduces)",
              file=sys.stderr, flush=True)
        cls.dir = tempfile.mkdtemp(prefix="cairn-crash-")
        cls.kube = KubeApiServer()
        seed_cluster(cls.kube, cls.dir)
        cls.target = KubeApiServer()

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        cls.target.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def configure(self, vault):
        r = run("vault-check", "--url", vault.url, *vault.args, "--init")
        self.assertEqual(r.code, 0, r)
        self.cfg = os.path.join(self.dir, unique("cairn") + ".toml")
        with open(self.cfg, "w") as f:
            f.write(f'[vaults.v]\n{vault.config}part_size = "5MiB"\n\n'
                    f'[policies.{POLICY}]\nvault = "v"\ninclude_namespaces = ["{NAMESPACE}"]\n')

    def backup(self, name):
        return subprocess.Popen(
            [binary("backup-run"), "--config", self.cfg, "--policy", POLICY, "--kubeconfig",
             self.kube.kubeconfig, "--name", name, "--output", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def complete_backup(self, name):
        """A backup of the policy that must complete; returns how long it took to publish."""
        started = time.time()
        proc = self.backup(name)
        out, err = proc.communicate(timeout=120)
        SECRETS.output("backup-run", out, err)
        self.assertEqual(proc.returncode, 0, out + err[-3000:])
        self.assertEqual(json.loads(out)["phase"], "Completed")
        return time.time() - started

    def kill_backup(self, vault, name, window):
        """Starts a backup and SIGKILLs it at a seeded moment inside `window` seconds. Returns
        False when it published its manifest first (the moment was too late: drawn again)."""
        delay = self.rng.uniform(0, window)
        proc = self.backup(name)
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        SECRETS.output("backup-run", *proc.communicate(timeout=30))
        late = finished or bool(vault.keys(f"backups/{name}/manifest.json"))
        log(f"{name}: SIGKILL at {delay:.2f}s of {window:.2f}s"
            f"{' (after publication: drawn again)' if late else ''}")
        return not late

    def assert_refused(self, vault, name):
        since = self.target.last_request()
        restore = unique("r")
        r = run("restore-run", "--url", vault.url, *vault.args, "--kubeconfig",
                self.target.kubeconfig, "--backup", name, "--name", restore)
        self.assertEqual(r.code, 1, r)
        self.assertIn(f"restore failed: backup '{name}' not found in vault", r.out, r)
        self.assertIn(f"backups/{name}/manifest.json')", r.out, r)
        self.assertEqual(writes_since(self.target, since, restore), [],
                         "restore-run wrote to the target cluster")

    def scenario(self, vault, kills):
        self.configure(vault)
        window = 0.95 * self.complete_backup("calibration")
        killed, published = [], []
        attempts = 0
        while len(killed) < kills:
            attempts += 1
            self.assertLess(attempts, 3 * kills + 5, "the kills keep landing after publication")
            name = f"killed-{attempts:02d}"
            if self.kill_backup(vault, name, window):
                killed.append(name)
            else:
                published.append(name)  # a complete backup: gc must keep it
                window *= 0.8
        # A manifest PUT the server had received in full when the client died can still land
        # after the kill: that run was killed during publication, not before it.
        for name in [n for n in killed if vault.keys(f"backups/{n}/manifest.json")]:
            log(f"{name}: its manifest landed after the kill: counted as published")
            killed.remove(name)
            published.append(name)
        TOTALS["kills"] += len(killed)

        r = run("vault-check", "--url", vault.url, *vault.args, "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        listed = {b["name"]: b for b in r.json()["backups"]}
        complete = [n for n in killed if listed.get(n, {}).get("complete")]
        TOTALS["complete"] += len(complete)
        self.assertEqual(complete, [], "a killed backup is listed as complete")
        for name in killed:
            self.assert_refused(vault, name)

        self.complete_backup("after-kills")
        TOTALS["left"] += len(self.pending(vault))  # what gc has to clean up
        r = run("gc", "--config", self.cfg, "--stale-after", "0s", "--output", "json")
        self.assertEqual(r.code, 0, r)
        pending = self.pending(vault)
        TOTALS["uploads"] += len(pending)
        self.assertEqual(pending, [], "gc left uploads of killed backups")
        for name in killed:
            left = vault.keys(f"backups/{name}/")
            self.assertLessEqual(left, {f"backups/{name}/status.json"}, name)
            if left:
                self.assertEqual(json.loads(vault.get(f"backups/{name}/status.json"))["phase"],
                                 "Failed", name)
        r = run("vault-check", "--url", vault.url, *vault.args, "--list", "--output", "json")
        listed = {b["name"]: b for b in r.json()["backups"]}
        for name in ["calibration", "after-kills"] + published:
            self.assertTrue(listed[name]["complete"], f"gc lost the complete backup {name}")
        if isinstance(vault, S3Vault):
            SECRETS.collect_s3(vault.prefix)
        else:
            SECRETS.collect_dir(vault.root)

    def pending(self, vault):
        if isinstance(vault, S3Vault):
            return vault.uploads()
        # The file vault's uploads in progress: its temporary files.
        tmp = os.path.join(vault.root, ".cairn-tmp")
        return [os.path.join(d, f) for d, _, files in os.walk(tmp) for f in files]

    def test_backup_kills_s3(self):
        prefix = unique("crash")
        vault = S3Vault(s3_env(), prefix)
        self.scenario(vault, N - N // 2)

    def test_backup_kills_file(self):
        self.scenario(FileVault(os.path.join(self.dir, unique("vault"))), N // 2)



# The vault gc is killed in: what it must keep and what it must remove once it has finished.
KEEP = ["daily-5", "daily-6", "manual-new"]
REMOVE = ["daily-1", "daily-2", "daily-3", "daily-4", "manual-old"]


class GcCrash(unittest.TestCase):
    """gc SIGKILLed between its steps (every S3 request slowed down by a proxy, so its steps
    take a while), then run again once its lease has expired: it finishes the work, and no
    backup it was to keep loses anything."""

    @classmethod
    def setUpClass(cls):
        cls.rng = random.Random(SEED + 1)
        cls.env = s3_env()
        cls.dir = tempfile.mkdtemp(prefix="cairn-gc-crash-")
        cls.proxy = FaultProxy(cls.env["S3_ENDPOINT"], {"latency_ms": 60})

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def vault(self):
        vault = S3Vault(self.env, unique("gc-crash"))
        r = run("vault-check", "--url", vault.url, *vault.args, "--init")
        self.assertEqual(r.code, 0, r)
        t = now()
        for i in range(1, 7):
            write_backup(vault, f"daily-{i}", "Completed", t - (7 - i) * DAY, policy="daily")
        write_backup(vault, "manual-old", "Completed", t - 40 * DAY, expiration=t - 10 * DAY)
        write_backup(vault, "manual-new", "Completed", t - DAY, expiration=t + 10 * DAY)
        write_backup(vault, "stale", "InProgress", t - DAY, complete=False, heartbeat=t - DAY)
        cfg = os.path.join(self.dir, unique("cairn") + ".toml")
        with open(cfg, "w") as f:
            f.write(f'[vaults.v]\nurl = "{vault.url}"\nendpoint = "{self.proxy.url}"\n'
                    'path_style = true\n\n[policies.daily]\nvault = "v"\nkeep_last = 2\n')
        return vault, cfg

    def gc(self, cfg):
        return subprocess.Popen([binary("gc"), "--config", cfg, "--output", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def expire_lease(self, vault):
        """What the passing of the lease's duration does: the killed gc's lease runs out."""
        if "locks/gc.json" not in vault.keys("locks/"):
            return
        lease = json.loads(vault.get("locks/gc.json"))
        past = "2000-01-01T00:00:00Z"
        lease.update(acquired=past, renewed=past, expires=past)
        vault.put("locks/gc.json", (json.dumps(lease, indent=2, sort_keys=True) + "\n").encode())

    def assert_finished(self, vault):
        r = run("vault-check", "--url", vault.url, *vault.args, "--list", "--output", "json")
        self.assertEqual(r.code, 0, r)
        listed = {b["name"]: b for b in r.json()["backups"]}
        lost = [n for n in KEEP if not listed.get(n, {}).get("complete")]
        TOTALS["gc_lost"] += len(lost)
        self.assertEqual(lost, [], "gc lost complete backups it was to keep")
        for name in REMOVE:
            self.assertEqual(vault.keys(f"backups/{name}/"), set(), name)
        self.assertEqual(vault.keys("backups/stale/"), {"backups/stale/status.json"})
        self.assertEqual(vault.uploads(), [])

    def test_gc_killed_between_steps_then_run_again(self):
        vault, cfg = self.vault()
        started = time.time()
        out, err = self.gc(cfg).communicate(timeout=120)
        window = time.time() - started
        self.assert_finished(vault)
        for _ in range(GC_KILLS):
            vault, cfg = self.vault()
            proc = self.gc(cfg)
            delay = self.rng.uniform(0.1, window)
            time.sleep(delay)
            log(f"gc: SIGKILL at {delay:.2f}s of {window:.2f}s"
                f"{' (already finished)' if proc.poll() is not None else ''}")
            if proc.poll() is None:
                TOTALS["gc_kills"] += 1
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            self.expire_lease(vault)
            r = run("gc", "--config", cfg, "--endpoint", self.env["S3_ENDPOINT"], "--output",
                    "json")
            self.assertEqual(r.code, 0, r)
            self.assertEqual(r.json()["phase"], "Completed", r)
            self.assert_finished(vault)


def tearDownModule():
    report_summary(f"crash: {TOTALS['kills']} kills, {TOTALS['complete']} complete-looking, "
                   f"{TOTALS['uploads']} pending uploads after gc ({TOTALS['left']} before); {TOTALS['gc_kills']} gc kills, "
                   f"{TOTALS['gc_lost']} complete backups lost (seed {SEED})")
    SECRETS.finish("crash_test")


def setUpModule():
    SECRETS.enable()


def log(msg):
    print(f"crash: {msg}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    unittest.main()
