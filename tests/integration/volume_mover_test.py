"""The volume mover as a process: `backup-run --mover` streams a directory into the vault (file
vault and the S3 test server), the test publishes a manifest listing the archive the way the
parent backup-run does (FORMAT.md "Volume data"), and `restore-run --mover` restores it into an
empty directory byte for byte. A forged archive whose manifest was re-sealed (every checksum
matches) is refused entry by entry, and nothing lands outside the target."""
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import unittest

from cairn_test_support import run, s3_env, unique
from vault_access import FileVault, S3Vault


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sealed_manifest(name, objects):
    """manifest.json bytes (FORMAT.md §6) listing `objects` (manifest object dicts)."""
    objects = sorted(objects, key=lambda o: o["key"])
    m = {"format_version": "1.0", "kind": "Backup", "name": name,
         "created": "2026-11-01T00:00:00Z", "completed": "2026-11-01T00:00:00Z",
         "objects": objects,
         "totals": {"object_count": len(objects),
                    "stored_size": sum(o["stored_size"] for o in objects),
                    "logical_size": sum(o["logical_size"] for o in objects)}}
    c = canonical(m)
    return (c[:-1] + ',"checksum":"sha256:' + hashlib.sha256(c.encode()).hexdigest()
            + '"}\n').encode()


def manifest_object(result):
    """The manifest entry the parent run makes of a mover's result document."""
    o = result["object"]
    return {"key": o["key"], "stored_size": o["storedSize"], "stored_sha256": o["storedSha256"],
            "logical_size": o["logicalSize"], "logical_sha256": o["logicalSha256"],
            "compression": "zstd", "content_type": "application/x-tar",
            "volume": {"namespace": result["namespace"], "pvc": result["pvc"],
                       "files": result["counts"]["files"], "bytes": result["counts"]["bytes"]}}


def make_tree(root):
    os.makedirs(os.path.join(root, "data", "nested"))
    with open(os.path.join(root, "data", "random.bin"), "wb") as f:
        f.write(os.urandom(12 << 20))  # more than one multipart part on S3
    for i in range(50):
        with open(os.path.join(root, "data", "nested", f"doc-{i}.json"), "w") as f:
            json.dump({"i": i, "text": "x" * i}, f)
    with open(os.path.join(root, "new\nline"), "w") as f:
        f.write("newline")
    with open(os.path.join(root, "run.sh"), "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(os.path.join(root, "run.sh"), 0o750)
    os.symlink("data/nested/doc-1.json", os.path.join(root, "link"))
    os.link(os.path.join(root, "run.sh"), os.path.join(root, "data", "hard"))
    os.utime(os.path.join(root, "run.sh"), ns=(1_700_000_000_123_456_789,) * 2)


def walk(root):
    """{relative path: (type, mode, mtime_ns, content sha or link target, link group)}."""
    out, inodes = {}, {}
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", 0, st.st_mtime_ns, os.readlink(path), None)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", st.st_mode & 0o7777, st.st_mtime_ns, None, None)
            else:
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                group = inodes.setdefault(st.st_ino, rel)
                out[rel] = ("f", st.st_mode & 0o7777, st.st_mtime_ns, digest, group)
    return out


class VolumeMoverCases:
    """Cases run against one vault (self.vault)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-mover-")
        self.src = os.path.join(self.tmp, "src")
        os.makedirs(self.src)
        make_tree(self.src)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def backup(self, name, path, *extra):
        return run("backup-run", "--mover", "--name", name, "--volume", "shop/data",
                   "--path", path, *self.vault.args(), *extra)

    def restore(self, backup, name, path, *extra):
        return run("restore-run", "--mover", "--backup", backup, "--name", name,
                   "--volume", "shop/data", "--path", path, *self.vault.args(), *extra)

    def test_backup_and_restore_are_byte_identical(self):
        name = unique("vol")
        r = self.backup(name, self.src)
        self.assertEqual(r.code, 0, r)
        result = json.loads(self.vault.read(f"backups/{name}/volumes/shop/data.json"))
        self.assertEqual(result["kind"], "VolumeBackup")
        self.assertEqual(result["phase"], "Completed")
        self.assertEqual(result["counts"]["hardlinks"], 1)
        self.assertEqual(result["object"]["key"], "volumes/shop/data.tar.zst")
        stored = self.vault.read(f"backups/{name}/volumes/shop/data.tar.zst")
        self.assertEqual(len(stored), result["object"]["storedSize"])
        self.assertEqual(hashlib.sha256(stored).hexdigest(), result["object"]["storedSha256"])
        self.vault.write(f"backups/{name}/manifest.json",
                         sealed_manifest(name, [manifest_object(result)]))

        dst = os.path.join(self.tmp, "dst")
        os.makedirs(dst)
        r = self.restore(name, unique("rst"), dst)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(walk(self.src), walk(dst))

        # Not again into a volume that now holds data, unless told to overwrite.
        rname = unique("rst")
        r = self.restore(name, rname, dst)
        self.assertEqual(r.code, 1, r)
        self.assertIn("is not empty", r.out)
        doc = json.loads(self.vault.read(f"restores/{rname}/volumes/shop/data.json"))
        self.assertEqual((doc["kind"], doc["phase"]), ("VolumeRestore", "Failed"))
        r = self.restore(name, unique("rst"), dst, "--existing-data", "overwrite")
        self.assertEqual(r.code, 0, r)

        # A published backup is immutable: a second mover run is refused.
        r = self.backup(name, self.src)
        self.assertEqual(r.code, 1, r)
        self.assertIn("already published", r.err)

    def test_forged_archive_with_resealed_manifest_is_refused(self):
        name = unique("forged")
        # A well-formed archive whose entries reach out of the target; the manifest is
        # re-sealed over it, so size, SHA-256 and the manifest checksum all match.
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for entry, kind, target in [("../escaped", tarfile.REGTYPE, None),
                                        ("abs", tarfile.SYMTYPE, "/etc"),
                                        ("up", tarfile.SYMTYPE, "../../outside"),
                                        ("hard", tarfile.LNKTYPE, "../outside/victim"),
                                        ("ok", tarfile.REGTYPE, None)]:
                info = tarfile.TarInfo(entry)
                info.type = kind
                data = b"forged" if kind == tarfile.REGTYPE else b""
                info.size = len(data)
                if target:
                    info.linkname = target
                tar.addfile(info, io.BytesIO(data))
        logical = buf.getvalue()
        stored = subprocess.run(["zstd", "-q", "-c"], input=logical,
                                              capture_output=True, check=True).stdout
        self.vault.write(f"backups/{name}/volumes/shop/data.tar.zst", stored)
        obj = {"key": "volumes/shop/data.tar.zst", "stored_size": len(stored),
               "stored_sha256": hashlib.sha256(stored).hexdigest(),
               "logical_size": len(logical), "logical_sha256": hashlib.sha256(logical).hexdigest(),
               "compression": "zstd", "content_type": "application/x-tar"}
        self.vault.write(f"backups/{name}/manifest.json", sealed_manifest(name, [obj]))

        outside = os.path.join(self.tmp, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "victim"), "w") as f:
            f.write("victim")
        target = os.path.join(self.tmp, "target")
        os.makedirs(target)
        before = (walk(outside), sorted(os.listdir(self.tmp)))
        rname = unique("rst")
        r = self.restore(name, rname, target)
        self.assertEqual(r.code, 3, r)
        doc = json.loads(self.vault.read(f"restores/{rname}/volumes/shop/data.json"))
        self.assertEqual(doc["phase"], "PartiallyFailed")
        errors = "\n".join(doc["errors"])
        for entry in ("'../escaped'", "'abs'", "'up'", "'hard'"):
            self.assertIn(entry, errors)
        self.assertEqual(before, (walk(outside), sorted(os.listdir(self.tmp))),
                         "written outside the target")
        self.assertEqual(os.listdir(target), ["ok"])

        # The archive replaced without re-sealing: the recorded digests no longer match.
        self.vault.write(f"backups/{name}/volumes/shop/data.tar.zst",
                         stored[:-8] + b"\0" * 8)
        shutil.rmtree(target)
        os.makedirs(target)
        r = self.restore(name, unique("rst"), target)
        self.assertEqual(r.code, 1, r)

    def test_mover_flags_apply_only_to_movers(self):
        r = run("backup-run", "--name", "x", "--volume", "shop/data", *self.vault.args())
        self.assertEqual(r.code, 2, r)
        self.assertIn("--volume applies only with --mover", r.err)
        r = run("restore-run", "--backup", "x", "--existing-data", "overwrite",
                *self.vault.args())
        self.assertEqual(r.code, 2, r)
        r = run("backup-run", "--mover", "--name", "x", "--path", self.src, *self.vault.args())
        self.assertEqual(r.code, 2, r)
        self.assertIn("--volume NAMESPACE/PVC is required", r.err)
        r = run("backup-run", "--mover", "--policy", "p", "--name", "x", "--volume", "a/b",
                "--path", self.src, *self.vault.args())
        self.assertEqual(r.code, 2, r)
        r = run("backup-run", "--mover", "--name", "x", "--volume", "Bad/pvc",
                "--path", self.src, *self.vault.args())
        self.assertEqual(r.code, 2, r)


class FileVaultMoverTest(VolumeMoverCases, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.vault = FileVault(os.path.join(self.tmp, "vault"))


class S3VaultMoverTest(VolumeMoverCases, unittest.TestCase):
    def setUp(self):
        env = s3_env()
        super().setUp()
        os.environ.setdefault("AWS_REGION", "us-east-1")
        self.vault = S3Vault(env, unique("mover"))


if __name__ == "__main__":
    unittest.main()
