"""restore-run against forged vaults: a real backup whose archive entry is rewritten and whose
manifest is re-sealed (sizes, SHA-256 and the checksum over its canonical JSON, FORMAT.md §6.4,
are public), so every checksum passes. Deep nesting, duplicate members and an entry whose
content disagrees with its path are each refused before anything is applied: exit 1, status
Failed naming the entry, and the target API test server unchanged. Memory and time stay
bounded. Runs against a file vault and the S3 test server. The forging and the refusal check
are forge.py's; restore_hostile_archive_test.py forges the archive's structure itself."""
import json
import os
import unittest

from cairn_test_support import run, s3_env, unique
from forge import BACKUP, Hostile, canonical
from vault_access import FileVault, S3Vault

DEPTH = 100_000


class RestoreHostile(Hostile):
    """Against a file vault."""

    @classmethod
    def make_vault(cls):
        return FileVault(os.path.join(cls.dir, "vault"))

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
        since = self.target.last_request()
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
