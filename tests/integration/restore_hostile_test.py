"""restore-run against forged vaults: a real backup whose archive entry is rewritten and whose
manifest is re-sealed (sizes, SHA-256 and the checksum over its canonical JSON, FORMAT.md §6.4,
are public), so every checksum passes. Deep nesting, duplicate members and an entry whose
content disagrees with its path are each refused before anything is applied: exit 1, status
Failed naming the entry, and the target API test server unchanged. Memory and time stay
bounded. Runs against a file vault and the S3 test server."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import unittest

from cairn_test_support import KubeApiServer, Result, binary, run, s3_env, unique
from vault_access import FileVault, S3Vault

BACKUP = "full"
DEPTH = 100_000


def zstd(data, *args):
    return subprocess.run(["zstd", "-q", "-c", *args], input=data, capture_output=True,
                          check=True).stdout


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sealed(manifest):
    """manifest.json bytes for `manifest` (its checksum recomputed), FORMAT.md §6.4."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    c = canonical(body)
    digest = hashlib.sha256(c.encode()).hexdigest()
    return (c[:-1] + f',"checksum":"sha256:{digest}"}}\n').encode()


def run_measured(name, *args):
    """Runs a cairn executable; returns its Result and its peak RSS in KiB."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([binary(name), *args], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        proc.stdout, proc.stderr = out.read(), err.read()
    return Result(proc), usage.ru_maxrss


class RestoreHostile(unittest.TestCase):
    """Against a file vault."""

    @classmethod
    def make_vault(cls):
        return FileVault(os.path.join(cls.dir, "vault"))

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-hostile-")
        cls.vault = cls.make_vault()
        cls.source = KubeApiServer("--samples")
        try:
            r = run("backup-run", *cls.vault.args(), "--kubeconfig", cls.source.kubeconfig,
                    "--include-namespaces", "shop,data", "--name", BACKUP)
            if r.code != 0:
                raise AssertionError(f"backup failed: {r}")
        finally:
            cls.source.stop()
        cls.manifest = json.loads(cls.vault.read(f"backups/{BACKUP}/manifest.json"))
        tar = zstd(cls.vault.read(f"backups/{BACKUP}/resources.tar.zst"), "-d")
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            cls.entries = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.target = KubeApiServer()
        self.addCleanup(self.target.stop)

    def entry(self, kind, want=lambda obj: True):
        """The path and object of the last entry of `kind` (so others are applied before it)."""
        for path, data in reversed(self.entries):
            if path.startswith("resources/"):
                obj = json.loads(data)
                if obj.get("kind") == kind and want(obj):
                    return path, obj
        raise AssertionError(f"no {kind} in the backup")

    def forge(self, name, path, text):
        """A copy of the backup in a new vault with entry `path` replaced by `text`, the
        archive recompressed and the manifest re-sealed: every checksum matches."""
        vault = self.vault.another(name)
        src = f"backups/{BACKUP}/"
        vault.write("cairn-vault.json", self.vault.read("cairn-vault.json"))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
            for p, data in self.entries:
                data = text if p == path else data
                info = tarfile.TarInfo(p)
                info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
                t.addfile(info, io.BytesIO(data))
        tar = out.getvalue()
        archive = zstd(tar, "-3")
        manifest = json.loads(json.dumps(self.manifest))
        for o in manifest["objects"]:
            if o["key"] == "resources.tar.zst":
                o.update(stored_size=len(archive), stored_sha256=hashlib.sha256(archive).hexdigest(),
                         logical_size=len(tar), logical_sha256=hashlib.sha256(tar).hexdigest())
                vault.write(src + o["key"], archive)
            else:
                vault.write(src + o["key"], self.vault.read(src + o["key"]))
        manifest["totals"]["stored_size"] = sum(o["stored_size"] for o in manifest["objects"])
        manifest["totals"]["logical_size"] = sum(o["logical_size"] for o in manifest["objects"])
        vault.write(src + "status.json", self.vault.read(src + "status.json"))
        vault.write(src + "manifest.json", sealed(manifest))
        self.assertEqual(run("vault-check", *vault.args(), "--list", "--output", "json").code, 0)
        return vault

    def target_objects(self):
        p = self.target.kubectl("get", "namespaces,configmaps,secrets,serviceaccounts,services,"
                                "deployments,persistentvolumes,persistentvolumeclaims,"
                                "customresourcedefinitions", "-A", "-o", "name")
        # cairn's own status ConfigMap (cairn-restore-<name>) is the run's report, not restored.
        return sorted(n for n in p.stdout.split() if not n.startswith("configmap/cairn-restore-"))

    def assert_refused(self, vault, path, *expected):
        """restore-run refuses before applying: exit 1, Failed naming `path` and each of
        `expected`, and no write reached the target."""
        before = self.target_objects()
        since = max([r["seq"] for r in self.target.admin_requests(0)] + [0])
        start = time.time()
        name = unique("r")
        r, peak_kib = run_measured("restore-run", *vault.args(), "--kubeconfig",
                                   self.target.kubeconfig, "--backup", BACKUP, "--name", name,
                                   "--output", "json")
        elapsed = time.time() - start
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Failed", status)
        self.assertIn("failed verification", status["message"])
        self.assertIn(path, status["message"])
        self.assertIn("nothing was applied", status["message"])
        self.assertEqual(status["errors"]["items"][0]["object"], path)
        errors = json.dumps(status["errors"])
        for e in expected:
            self.assertIn(e, errors)
        writes = [q for q in self.target.admin_requests(since)
                  if q["method"] not in ("GET", "HEAD")
                  and f"/configmaps/cairn-restore-{name}" not in q["path"]
                  and "/events" not in q["path"]]
        self.assertEqual(writes, [], "the target cluster was written to")
        self.assertEqual(self.target_objects(), before)
        self.assertEqual(json.loads(vault.read(f"restores/{name}/status.json"))["phase"],
                         "Failed")
        self.assertLess(elapsed, 30, "verification took too long")
        self.assertLess(peak_kib, 64 * 1024, "restore-run used too much memory")
        return status

    def test_deep_nesting_is_refused_before_anything_is_applied(self):
        path, obj = self.entry("Deployment")
        text = json.dumps(obj)[:-1] + ',"x":' + "[" * DEPTH + "]" * DEPTH + "}"
        vault = self.forge("deep", path, text.encode())
        # The object is level 1, its member "x" holds DEPTH levels more.
        self.assert_refused(vault, path,
                            f"nested {DEPTH + 1} levels deep, more than the limit of 64")

    def test_duplicate_members_are_refused(self):
        path, obj = self.entry("ConfigMap", lambda o: "data" in o)
        text = json.dumps(obj)[:-1] + ',"data":{"mode":"a","mode":"b"}}'
        vault = self.forge("dup", path, text.encode())
        self.assert_refused(vault, path, "duplicate member 'data', 'mode' in data")

    def test_content_that_disagrees_with_its_path_is_refused(self):
        # An entry stored under shop that would write into kube-system, as another kind.
        path, obj = self.entry("ConfigMap")
        ns = obj["metadata"]["namespace"]
        obj["metadata"]["namespace"] = "kube-system"
        obj["metadata"]["name"] = "cluster-admin"
        obj["kind"] = "Secret"
        obj["apiVersion"] = "apps/v1"
        vault = self.forge("moved", path, json.dumps(obj).encode())
        self.assert_refused(
            vault, path, "apiVersion 'apps/v1' differs from the path's 'v1'",
            "kind 'Secret' differs from the backup's kind of configmaps 'ConfigMap'",
            "metadata.name 'cluster-admin' differs from the path's",
            f"metadata.namespace 'kube-system' differs from the path's '{ns}'")

    def test_a_manifest_edited_without_resealing_is_refused(self):
        # Everything else consistent: only the checksum tells the edit.
        vault = self.forge("unsealed", "", b"")
        key = f"backups/{BACKUP}/manifest.json"
        text = vault.read(key).decode()
        edited = json.loads(text)
        self.assertIn("checksum", edited)
        edited["created_by"] = "someone else"
        vault.write(key, (canonical(edited) + "\n").encode())  # the old checksum kept
        before = self.target_objects()
        since = max([q["seq"] for q in self.target.admin_requests(0)] + [0])
        r = run("restore-run", *vault.args(), "--kubeconfig", self.target.kubeconfig,
                "--backup", BACKUP, "--output", "json")
        self.assertEqual(r.code, 1, r)
        self.assertIn(f"manifest checksum mismatch for backup '{BACKUP}'", r.json()["message"])
        writes = [q for q in self.target.admin_requests(since)
                  if q["method"] not in ("GET", "HEAD") and "/configmaps/cairn-restore-" not in
                  q["path"] and "/events" not in q["path"]]
        self.assertEqual(writes, [], "the target cluster was written to")
        self.assertEqual(self.target_objects(), before)


class RestoreHostileS3(RestoreHostile):
    """The same forgeries in a vault on the S3 test server."""

    @classmethod
    def make_vault(cls):
        return S3Vault(s3_env(), unique("hostile"))


if __name__ == "__main__":
    unittest.main()
