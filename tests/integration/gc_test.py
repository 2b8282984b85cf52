"""gc as a user runs it: vaults written by hand following runner/vault/FORMAT.md (statuses,
sealed manifests, data objects; times chosen by the test, so no clock in the product is faked),
in a file vault and in the S3 test server, then checked from the outside: which keys are left,
what the plan says, statuses, ConfigMaps and events in the Kubernetes API test server. Ends
with the secrets scan of its outputs, vaults, ConfigMaps and events."""
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from cairn_test_support import SECRETS, KubeApiServer, binary, run, s3_env, unique

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def now():
    return datetime.now(timezone.utc).replace(microsecond=0)


class FileVault:
    def __init__(self, root):
        self.root = root
        self.url = f"file://{root}"
        self.args = []
        self.config = f'url = "{self.url}"\n'

    def put(self, key, data):
        path = os.path.join(self.root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def get(self, key):
        with open(os.path.join(self.root, key), "rb") as f:
            return f.read()

    def keys(self, prefix=""):
        out = set()
        for d, _, files in os.walk(self.root):
            for name in files:
                k = os.path.relpath(os.path.join(d, name), self.root)
                if k.startswith(prefix) and not k.startswith(".cairn-tmp"):
                    out.add(k)
        return out

    def age(self, key, seconds):
        path = os.path.join(self.root, key)
        t = time.time() - seconds
        os.utime(path, (t, t))


class S3Vault:
    """The S3 test server through curl's SigV4 signing (no SDK needed)."""

    def __init__(self, env, prefix):
        self.env = env
        self.prefix = prefix
        self.url = f"s3://{env['S3_BUCKET']}/{prefix}"
        self.args = ["--endpoint", env["S3_ENDPOINT"], "--path-style"]
        self.config = (f'url = "{self.url}"\nendpoint = "{env["S3_ENDPOINT"]}"\n'
                       "path_style = true\n")

    def curl(self, method, path, data=None):
        region = os.environ.get("AWS_REGION", "us-east-1")
        # RGW wants x-amz-content-sha256 with SigV4; curl signs it like any x-amz-* header.
        cmd = ["curl", "-sS", "--fail", "-X", method, "--aws-sigv4", f"aws:amz:{region}:s3",
               "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
               "--user", f"{self.env['AWS_ACCESS_KEY_ID']}:{self.env['AWS_SECRET_ACCESS_KEY']}",
               f"{self.env['S3_ENDPOINT']}/{self.env['S3_BUCKET']}{path}"]
        if data is not None:
            cmd[5:5] = ["--data-binary", "@-", "-H", "Content-Type: application/octet-stream"]
        p = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
        if p.returncode != 0:
            raise AssertionError(f"curl {method} {path}: {p.stderr.decode()}")
        return p.stdout

    def put(self, key, data):
        self.curl("PUT", "/" + urllib.parse.quote(f"{self.prefix}/{key}"), data)

    def get(self, key):
        return self.curl("GET", "/" + urllib.parse.quote(f"{self.prefix}/{key}"))

    def _list(self, query, tag):
        body = self.curl("GET", "?" + query)
        root = ET.fromstring(body)
        return [e.text for e in root.iter() if e.tag.endswith(tag)]

    def keys(self, prefix=""):
        full = f"{self.prefix}/{prefix}"
        keys = self._list("list-type=2&max-keys=1000&prefix=" + urllib.parse.quote(full, safe=""),
                          "}Key")
        return {k[len(self.prefix) + 1:] for k in keys}

    def uploads(self):
        # "uploads=" (not "uploads"): curl signs a bare query key differently from S3.
        q = "prefix=" + urllib.parse.quote(self.prefix + "/", safe="") + "&uploads="
        body = self.curl("GET", "?" + q)
        root = ET.fromstring(body)
        return [u.find("{*}Key").text for u in root.iter() if u.tag.endswith("}Upload")]


def status(name, phase, created, policy="", heartbeat=None, expiration=None, kind="Backup"):
    doc = {"apiVersion": "cairn.io/v1", "kind": kind, "name": name, "vault": "v",
           "policy": policy, "phase": phase, "message": "", "startTime": ts(created),
           "heartbeatTime": ts(heartbeat or created), "durationSeconds": 1,
           "job": {"namespace": "", "name": "", "pod": "", "cronjob": ""}, "counts": {},
           "sizes": {}, "errors": {"count": 0, "byScope": {}, "items": []},
           "warnings": {"count": 0, "byScope": {}, "items": []}}
    if phase not in ("InProgress",):
        doc["completionTime"] = ts(created + timedelta(minutes=1))
    if expiration is not None:
        doc["expiration"] = ts(expiration)
        doc["ttl"] = "720h0m0s"
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def manifest(name, created, policy, data):
    """A sealed manifest (FORMAT.md §6.4) listing resources.tar.zst stored without compression."""
    digest = hashlib.sha256(data).hexdigest()
    m = {"format_version": "1.0", "kind": "Backup", "name": name, "created": ts(created),
         "completed": ts(created + timedelta(minutes=1)), "created_by": "cairn test",
         "policy": policy,
         "objects": [{"key": "resources.tar.zst", "stored_size": len(data),
                      "stored_sha256": digest, "logical_size": len(data),
                      "logical_sha256": digest, "compression": "none",
                      "content_type": "application/x-tar"}],
         "totals": {"object_count": 1, "stored_size": len(data), "logical_size": len(data)}}
    canonical = json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    check = hashlib.sha256(canonical.encode()).hexdigest()
    return (canonical[:-1] + f',"checksum":"sha256:{check}"}}\n').encode()


def write_backup(vault, name, phase, created, policy="", complete=True, heartbeat=None,
                 expiration=None):
    data = os.urandom(512)
    vault.put(f"backups/{name}/status.json",
              status(name, phase, created, policy, heartbeat, expiration))
    vault.put(f"backups/{name}/resources.tar.zst", data)
    if complete:
        vault.put(f"backups/{name}/manifest.json", manifest(name, created, policy, data))


class GcBase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-gc-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.addCleanup(SECRETS.collect_dir, self.dir)  # its file vaults, before the removal

    def file_vault(self):
        return FileVault(os.path.join(self.dir, "vault"))

    def s3_vault(self):
        vault = S3Vault(s3_env(), unique("gc"))
        self.addCleanup(SECRETS.collect_s3, vault.prefix)
        return vault

    def init(self, vault, policies=""):
        r = run("vault-check", "--url", vault.url, *vault.args, "--init")
        self.assertEqual(r.code, 0, r)
        cfg = os.path.join(self.dir, "cairn.toml")
        with open(cfg, "w") as f:
            f.write("[vaults.v]\n" + vault.config + "\n" + policies)
        self.cfg = cfg

    def gc(self, *args, env=None, timeout=120):
        return run("gc", "--config", self.cfg, *args, env=env, timeout=timeout)


class GcExpectedSet(GcBase):
    def scenario(self, vault):
        self.init(vault, "[policies.daily]\nvault = \"v\"\nkeep_last = 2\n")
        t = now()
        write_backup(vault, "manual-old", "Completed", t - 40 * DAY, expiration=t - 10 * DAY)
        write_backup(vault, "manual-young", "Completed", t - 2 * DAY, expiration=t + 28 * DAY)
        write_backup(vault, "manual-nottl", "Completed", t - 400 * DAY)
        for i in range(1, 5):
            write_backup(vault, f"daily-{i}", "Completed", t - (5 - i) * DAY, policy="daily")
        write_backup(vault, "failed-1", "Failed", t - 3 * HOUR, "daily", False,
                     expiration=t - HOUR)
        write_backup(vault, "failed-2", "Failed", t - 2 * HOUR, "daily", False,
                     expiration=t - HOUR)
        write_backup(vault, "stale", "InProgress", t - HOUR, "", False, heartbeat=t - HOUR)
        # A gc killed between marking a backup Deleting and deleting its manifest.
        write_backup(vault, "deleting", "Deleting", t - 50 * DAY, "daily", True)
        vault.put("backups/orphan/volumes/shop/data-0.tar.zst", b"x" * 100)
        vault.put("other-tool/backups/manual-old/manifest.json", b"{}")  # foreign, inside
        time.sleep(2)
        before = vault.keys()
        r = self.gc("--stale-after", "1s", "--output", "json")
        self.assertEqual(r.code, 0, r)
        counts = r.json()["counts"]
        self.assertEqual(counts["expired"], 2, r)            # manual-old, failed-1
        self.assertEqual(counts["deletedByRetention"], 2, r)  # daily-1, daily-2
        self.assertEqual(counts["deletionsFinished"], 1, r)   # deleting
        self.assertEqual(counts["orphansRemoved"], 1, r)
        self.assertEqual(counts["abandonedRuns"], 1, r)
        gone = {"manual-old", "failed-1", "daily-1", "daily-2", "deleting", "orphan"}
        expected = {k for k in before
                    if not k.startswith("backups/") or k.split("/")[1] not in gone}
        # The abandoned run and the kept failed run keep only their status.
        expected -= {"backups/stale/resources.tar.zst", "backups/failed-2/resources.tar.zst"}
        after = {k for k in vault.keys() if not k.startswith(("gc/", "locks/"))}
        self.assertEqual(after, expected)
        st = json.loads(vault.get("backups/stale/status.json"))
        self.assertEqual(st["phase"], "Failed")
        self.assertEqual(st["message"], "run stopped without finishing (heartbeat lost at "
                         f"{ts(t - HOUR)})")
        self.assertEqual(vault.keys("locks/"), set())  # the gc lease was released
        # Twice in a row: the second run deletes nothing.
        r = self.gc("--stale-after", "1s", "--output", "json")
        self.assertEqual(r.code, 0, r)
        c = r.json()["counts"]
        for k in ("expired", "deletedByRetention", "deletedByRequest", "orphansRemoved",
                  "deletionsFinished", "abandonedRuns", "uploadsAborted"):
            self.assertEqual(c.get(k, 0), 0, (k, r))
        self.assertEqual({k for k in vault.keys() if not k.startswith(("gc/", "locks/"))},
                         expected)

    def test_file_vault(self):
        self.scenario(self.file_vault())

    def test_s3_vault(self):
        self.scenario(self.s3_vault())


class GcForms(GcBase):
    def test_dry_run_forty_days_keep_daily_7_weekly_4(self):
        vault = self.file_vault()
        self.init(vault, "[policies.nightly]\nvault = \"v\"\nkeep_daily = 7\nkeep_weekly = 4\n")
        start = (now() - 40 * DAY).replace(hour=1, minute=0, second=0)
        names = []
        for i in range(40):
            t = start + i * DAY
            names.append((f"nightly-{t:%Y%m%d}", t))
            write_backup(vault, names[-1][0], "Completed", t, policy="nightly")
        # The newest of each of the latest 7 days, and of each of the latest 4 ISO weeks.
        days, weeks, keep = [], [], set()
        for name, t in sorted(names, key=lambda x: x[1], reverse=True):
            d, w = t.date(), t.isocalendar()[:2]
            if len(days) < 7 and d not in days:
                days.append(d)
                keep.add(name)
            if len(weeks) < 4 and w not in weeks:
                weeks.append(w)
                keep.add(name)
        before = vault.keys("backups/")
        r = self.gc("--dry-run")
        self.assertEqual(r.code, 0, r)
        for name, t in names:
            line = [x for x in r.out.splitlines() if f" {name} " in x]
            self.assertEqual(len(line), 1, (name, r.out))
            self.assertTrue(line[0].lstrip().startswith("KEEP" if name in keep else "DELETE"),
                            line[0])
            if name not in keep:
                self.assertIn("not kept by retention (keep_daily=7, keep_weekly=4)", line[0])
        self.assertIn("keep_weekly (", r.out)
        self.assertEqual(vault.keys("backups/"), before)  # a dry run changes nothing
        r = self.gc()
        self.assertEqual(r.code, 0, r)
        left = {k.split("/")[1] for k in vault.keys("backups/")}
        self.assertEqual(left, keep)
        r = self.gc("--output", "json")
        self.assertEqual(r.json()["counts"].get("deletedByRetention", 0), 0, r)
        self.assertEqual({k.split("/")[1] for k in vault.keys("backups/")}, keep)

    def test_lease_held_by_another_gc(self):
        vault = self.file_vault()
        self.init(vault)
        write_backup(vault, "old", "Completed", now() - 40 * DAY, expiration=now() - DAY)
        t = now()
        lease = {"holder": {"id": "7d1c3b0e-1111-4222-8333-944455556666", "host": "node-9",
                            "pod": "gc-29876500-abcde", "job": "gc-29876500"},
                 "operation": "gc", "acquired": ts(t), "renewed": ts(t),
                 "expires": ts(t + timedelta(minutes=5)), "lease_seconds": 300}
        vault.put("locks/gc.json", (json.dumps(lease, indent=2, sort_keys=True) + "\n").encode())
        r = self.gc()
        self.assertEqual(r.code, 0, r)
        self.assertIn("gc skipped", r.out)
        self.assertIn("pod 'gc-29876500-abcde'", r.out)
        self.assertIn(f"until {ts(t + timedelta(minutes=5))}", r.out)
        self.assertIn("backups/old/manifest.json", vault.keys())

    def test_two_gc_at_once(self):
        vault = self.file_vault()
        self.init(vault)
        for i in range(150):
            write_backup(vault, f"old-{i:03d}", "Completed", now() - 40 * DAY,
                         expiration=now() - DAY)
        procs = [subprocess.Popen([binary("gc"), "--config", self.cfg, "--output", "json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        self.assertEqual([p.returncode for p in procs], [0, 0], outs)
        skipped = [o for o, _ in outs if "gc skipped" in o]
        worked = [json.loads(o) for o, _ in outs if "gc skipped" not in o]
        # Either one waited out the other's lease, or they ran one after the other.
        total = sum(w["counts"].get("expired", 0) for w in worked)
        self.assertEqual(total, 150, outs)
        self.assertEqual(len(skipped) + len(worked), 2)
        self.assertEqual(vault.keys("backups/"), set())

    def test_a_backup_killed_after_publishing_is_kept_and_its_status_upload_aborted(self):
        # Killed while writing its final status: a manifest, an InProgress status whose
        # heartbeat stopped, and the status write as a pending upload (the file vault's
        # temporary file and its key sidecar, FORMAT.md).
        vault = self.file_vault()
        self.init(vault)
        t = now() - 2 * HOUR
        write_backup(vault, "published", "InProgress", t, heartbeat=t)
        vault.put(".cairn-tmp/0123456789abcdef.key", b"backups/published/status.json")
        vault.put(".cairn-tmp/0123456789abcdef", b'{"phase": "Compl')
        vault.age(".cairn-tmp/0123456789abcdef.key", 3600)
        r = self.gc("--dry-run")
        self.assertEqual(r.code, 0, r)
        self.assertIn("its run stopped after publishing it (heartbeat lost at", r.out)
        self.assertIn("ABORT   upload of backups/published/status.json", r.out)
        r = self.gc("--output", "json")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(os.listdir(os.path.join(vault.root, ".cairn-tmp")), [])
        self.assertIn("backups/published/manifest.json", vault.keys())
        listed = run("vault-check", "--url", vault.url, "--list", "--output", "json")
        self.assertTrue([b for b in listed.json()["backups"] if b["name"] == "published"][0]
                        ["complete"])


class GcClusterBase(GcBase):
    def setUp(self):
        super().setUp()
        self.kube = KubeApiServer("--samples")
        self.addCleanup(self.kube.stop)
        self.kube.kubectl("create", "namespace", "cairn")
        self.env = {"POD_NAMESPACE": "cairn"}

    def request(self, name, backup, vault=None):
        data = {"backup": backup}
        if vault:
            data["vault"] = vault
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": name, "namespace": "cairn",
                           "labels": {"cairn.io/delete-request": "true"}},
              "data": data}
        self.kube.kubectl("apply", "-f", "-", input=json.dumps(cm))

    def events(self, name):
        items = json.loads(self.kube.kubectl("get", "events", "-n", "cairn",
                                             "-o", "json").stdout)["items"]
        return [(e["type"], e["reason"], e["message"]) for e in items
                if e["involvedObject"]["name"] == name]


class GcCluster(GcClusterBase):
    def test_delete_request_configmaps_are_honoured_and_removed(self):
        vault = self.file_vault()
        self.init(vault)
        write_backup(vault, "keepme", "Completed", now() - DAY)
        write_backup(vault, "dropme", "Completed", now() - DAY)
        self.request("del-dropme", "dropme")
        self.request("del-nothere", "nothere")
        r = self.gc("--kubeconfig", self.kube.kubeconfig, env=self.env)
        self.assertEqual(r.code, 0, r)
        left = {k.split("/")[1] for k in vault.keys("backups/")}
        self.assertEqual(left, {"keepme"})
        cms = self.kube.kubectl("get", "cm", "-n", "cairn", "-l", "cairn.io/delete-request=true",
                                "-o", "name").stdout.split()
        self.assertEqual(cms, [])
        ev = self.events("del-dropme")
        self.assertEqual(len(ev), 1, ev)
        self.assertEqual(ev[0][:2], ("Normal", "BackupDeleted"))
        ev = self.events("del-nothere")
        self.assertEqual([e[:2] for e in ev], [("Warning", "BackupNotFound")])
        self.assertIn("backup nothere not found", ev[0][2])
        # The run's own status ConfigMap and events.
        cms = json.loads(self.kube.kubectl("get", "cm", "-n", "cairn", "-l", "cairn.io/kind=gc",
                                           "-o", "json").stdout)["items"]
        self.assertEqual(len(cms), 1)
        st = json.loads(cms[0]["data"]["status.json"])
        self.assertEqual((st["kind"], st["phase"], st["counts"]["deletedByRequest"]),
                         ("GC", "Completed", 1))
        reasons = [e["reason"] for e in json.loads(self.kube.kubectl(
            "get", "events", "-n", "cairn", "-o", "json").stdout)["items"]]
        self.assertIn("GCCompleted", reasons)

    def test_restore_read_lease_blocks_deletion(self):
        vault = self.file_vault()
        self.init(vault)
        r = run("backup-run", "--url", vault.url, "--kubeconfig", self.kube.kubeconfig,
                "--include-namespaces", "shop", "--name", "b1")
        self.assertEqual(r.code, 0, r)
        self.kube.admin({"latency_ms": 200})
        restore = subprocess.Popen(
            [binary("restore-run"), "--url", vault.url, "--kubeconfig", self.kube.kubeconfig,
             "--backup", "b1", "--name", "r1", "--namespace-mapping", "shop=shop-copy"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: restore.poll() is None and restore.kill())
        deadline = time.time() + 30
        while "locks/read/b1/r1.json" not in vault.keys("locks/") and time.time() < deadline:
            time.sleep(0.05)
        self.assertIn("locks/read/b1/r1.json", vault.keys("locks/"))
        lease = json.loads(vault.get("locks/read/b1/r1.json"))
        self.assertEqual((lease["operation"], lease["holder"]["id"]), ("restore", "r1"))
        r = self.gc("--delete", "b1")
        self.assertEqual(r.code, 1, r)
        self.assertIn("refusing to delete backup 'b1': read by restore 'r1' (lease until", r.err)
        self.assertIn("backups/b1/manifest.json", vault.keys())
        out, err = restore.communicate(timeout=120)
        self.assertEqual(restore.returncode, 0, out + err)
        self.assertNotIn("locks/read/b1/r1.json", vault.keys())  # released at the end
        self.kube.admin({"latency_ms": 0})
        r = self.gc("--delete", "b1")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(vault.keys("backups/b1/"), set())



class GcAllVaults(GcClusterBase):
    """--all-vaults collects every vault of the config, one after another, each under its own
    lease; a delete request naming one vault is answered by that vault only."""

    def test_every_vault_is_collected_and_requests_go_to_their_vault(self):
        a, b = FileVault(os.path.join(self.dir, "a")), FileVault(os.path.join(self.dir, "b"))
        for v in (a, b):
            self.assertEqual(run("vault-check", "--url", v.url, "--init").code, 0)
        t = now()
        for v in (a, b):
            write_backup(v, "old", "Completed", t - 40 * DAY, expiration=t - 10 * DAY)
            write_backup(v, "shared", "Completed", t - DAY)
        self.cfg = os.path.join(self.dir, "cairn.toml")
        with open(self.cfg, "w") as f:
            f.write(f"[vaults.a]\n{a.config}\n[vaults.b]\n{b.config}\n")
        self.request("del-shared-b", "shared", vault="b")
        r = self.gc("--all-vaults", "--kubeconfig", self.kube.kubeconfig, env=self.env)
        self.assertEqual(r.code, 0, r)
        self.assertIn("gc of vault a", r.out)
        self.assertIn("gc of vault b", r.out)
        self.assertEqual({k.split("/")[1] for k in a.keys("backups/")}, {"shared"})
        self.assertEqual({k.split("/")[1] for k in b.keys("backups/")}, set())
        self.assertEqual(a.keys("locks/") | b.keys("locks/"), set())
        for v in (a, b):
            self.assertEqual(len([k for k in v.keys("gc/") if k.endswith("status.json")]), 1)
        self.assertEqual([e[:2] for e in self.events("del-shared-b")],
                         [("Normal", "BackupDeleted")])

class GcKilledBackup(GcBase):
    """kill -9 of a backup-run mid-upload, then gc --stale-after 0s."""

    def kill_mid_upload(self, vault, big):
        kube = KubeApiServer("--samples")
        self.addCleanup(kube.stop)
        if big:  # > one 5 MiB part of barely compressible data, so a multipart upload is open
            for i in range(14):
                path = os.path.join(self.dir, f"blob{i}")
                with open(path, "w") as f:
                    f.write(base64.b64encode(os.urandom(690_000)).decode())
                kube.kubectl("create", "configmap", f"blob{i}", "-n", "shop",
                             f"--from-file=data={path}")
        kube.admin({"latency_ms": 250})
        proc = subprocess.Popen([binary("backup-run"), "--config", self.cfg, "--kubeconfig",
                                 kube.kubeconfig, "--name", "killed"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            r = self.gc("--dry-run", "--stale-after", "0s")
            if "pending upload of" in r.out:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.assertIn("pending upload of", r.out, r)
        st = json.loads(vault.get("backups/killed/status.json"))
        self.assertEqual(st["phase"], "InProgress")
        r = run("vault-check", "--url", vault.url, *vault.args, "--list", "--output", "json")
        self.assertFalse([b for b in r.json()["backups"] if b["name"] == "killed"][0]["complete"])
        r = self.gc("--stale-after", "0s", "--output", "json")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.json()["counts"]["abandonedRuns"], 1, r)
        st = json.loads(vault.get("backups/killed/status.json"))
        self.assertEqual(st["phase"], "Failed")
        self.assertEqual(st["message"], "run stopped without finishing (heartbeat lost at "
                         f"{st['heartbeatTime']})")
        self.assertEqual(vault.keys("backups/killed/"), {"backups/killed/status.json"})
        r = self.gc("--dry-run", "--stale-after", "0s")
        self.assertNotIn("pending upload", r.out)
        self.assertNotIn("ABORT", r.out)
        return r

    def test_file_vault(self):
        vault = self.file_vault()
        self.init(vault)
        self.kill_mid_upload(vault, big=False)
        self.assertEqual([k for k in os.listdir(vault.root) if k.startswith(".cairn-tmp")
                          for _ in os.listdir(os.path.join(vault.root, k))], [])

    def test_s3_vault(self):
        vault = self.s3_vault()
        vault.config += 'part_size = "5MiB"\n'
        self.init(vault)
        self.kill_mid_upload(vault, big=True)
        self.assertEqual(vault.uploads(), [])


def setUpModule():
    SECRETS.enable()


def tearDownModule():
    SECRETS.finish("gc_test")


if __name__ == "__main__":
    unittest.main()
