"""Volume data end to end as a user runs it without a cluster: backup-run --volumes fs with
--local-volumes (each mover Job is built as for a cluster, then run as a local process on the
directory that stands for its claim's volume), then restore-run of that backup into a second,
empty API test server with its own volume directories; the trees must come back byte for byte.
Runs against a file vault (VolumeBackup) and the S3 test server (VolumeBackupS3). Ends with the
secrets scan of its outputs, vaults, ConfigMaps and events."""
import json
import os
import shutil
import stat
import tempfile
import unittest

from cairn_test_support import SECRETS, KubeApiServer, plant_secret, run, s3_env, unique
from vault_access import FileVault, S3Vault

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: app}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cache, namespace: app, labels: {cairn.io/volume-backup: "false"}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: standard
  resources: {requests: {storage: 1Gi}}
"""

CLASSES = """
apiVersion: v1
kind: Namespace
metadata: {name: unrelated}
"""


def make_tree(root):
    """Every kind of entry a volume holds: nested directories and modes, a symlink, a hard
    link, an empty file, a sparse file and an awkward name."""
    os.makedirs(os.path.join(root, "db", "wal"))
    with open(os.path.join(root, "db", "table.dat"), "wb") as f:
        f.write(os.urandom(300_000))
    with open(os.path.join(root, "db", "wal", "000001.log"), "wb") as f:
        f.write(b"wal " * 5000)
    os.chmod(os.path.join(root, "db", "wal", "000001.log"), 0o640)
    open(os.path.join(root, "empty"), "w").close()
    os.symlink("db/table.dat", os.path.join(root, "current"))
    os.link(os.path.join(root, "db", "table.dat"), os.path.join(root, "table.hardlink"))
    with open(os.path.join(root, "sparse.img"), "wb") as f:
        f.truncate(64 << 20)
        f.seek(32 << 20)
        f.write(b"middle")
    with open(os.path.join(root, "name with spaces\tand tab"), "w") as f:
        f.write("odd")
    os.utime(os.path.join(root, "db", "table.dat"), (1_600_000_000, 1_600_000_000))


def describe(root):
    """Every entry under root: type, mode, size, mtime, content or target, link identity."""
    out, inodes = {}, {}
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            entry = {"mode": stat.S_IMODE(st.st_mode), "type": stat.S_IFMT(st.st_mode)}
            if stat.S_ISLNK(st.st_mode):
                entry["target"] = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    entry["data"] = f.read()
                entry["mtime"] = int(st.st_mtime)
                entry["link"] = inodes.setdefault(st.st_ino, rel)
            out[rel] = entry
    return out


class VolumeBackup(unittest.TestCase):
    """Against a file vault."""

    @classmethod
    def make_vault(cls):
        return FileVault(os.path.join(cls.dir, "vault"))

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-volume-")
        cls.vault = cls.make_vault()
        seed = os.path.join(cls.dir, "source.yaml")
        with open(seed, "w") as f:
            f.write(OBJECTS)
        cls.classes = os.path.join(cls.dir, "classes.yaml")
        with open(cls.classes, "w") as f:
            f.write(CLASSES)
        cls.source_volumes = os.path.join(cls.dir, "source-volumes")
        make_tree(os.path.join(cls.source_volumes, "app", "data"))
        os.makedirs(os.path.join(cls.source_volumes, "app", "cache"))
        cls.source = KubeApiServer("--seed", seed)
        plant_secret(cls.source, "app")

    @classmethod
    def tearDownClass(cls):
        SECRETS.collect_vault(cls.vault)
        cls.source.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def backup(self, name, *args):
        return run("backup-run", *self.vault.args(), "--kubeconfig", self.source.kubeconfig,
                   "--include-namespaces", "app", "--name", name, *args)

    def test_backup_and_restore_are_byte_identical(self):
        name = unique("vol")
        r = self.backup(name, "--volumes", "fs", "--local-volumes", self.source_volumes)
        self.assertEqual(r.code, 0, r)
        self.assertIn("volumes 1:", r.out)
        st = json.loads(self.vault.read(f"backups/{name}/status.json"))
        self.assertEqual((st["phase"], st["backupType"], st["dataType"]),
                         ("Completed", "AppAndPvBackup", "fs"))
        volumes = {v["pvc"]: v for v in st["volumes"]}
        self.assertEqual(volumes["data"]["phase"], "Completed")
        self.assertEqual(volumes["data"]["archive"], "volumes/app/data.tar.zst")
        self.assertEqual(volumes["cache"]["phase"], "Skipped")
        self.assertIn("cairn.io/volume-backup=false", volumes["cache"]["message"])
        manifest = json.loads(self.vault.read(f"backups/{name}/manifest.json"))
        archived = [o for o in manifest["objects"] if o["key"].startswith("volumes/")]
        self.assertEqual([o["key"] for o in archived], ["volumes/app/data.tar.zst"])
        self.assertEqual(archived[0]["volume"]["namespace"], "app")

        target = KubeApiServer("--seed", self.classes)
        self.addCleanup(target.stop)
        target_volumes = os.path.join(self.dir, unique("target-volumes"))
        r = run("restore-run", *self.vault.args(), "--kubeconfig", target.kubeconfig,
                "--backup", name, "--local-volumes", target_volumes)
        self.assertEqual(r.code, 0, r)
        restored = os.path.join(target_volumes, "app", "data")
        self.assertEqual(describe(restored), describe(os.path.join(self.source_volumes, "app",
                                                                     "data")))
        sparse = os.stat(os.path.join(restored, "sparse.img"))
        self.assertLess(sparse.st_blocks * 512, 8 << 20, "the sparse file stayed sparse")
        self.assertFalse(os.path.exists(os.path.join(target_volumes, "app", "cache")))
        restore = r.out.split()[1]  # "restore NAME of backup ..."
        rst = json.loads(self.vault.read(f"restores/{restore}/status.json"))
        self.assertEqual(rst["phase"], "Completed")
        self.assertEqual([(v["pvc"], v["phase"]) for v in rst["volumes"]], [("data", "Completed")])

    def test_no_volume_data_is_an_app_backup(self):
        name = unique("app")
        r = self.backup(name)
        self.assertEqual(r.code, 0, r)
        st = json.loads(self.vault.read(f"backups/{name}/status.json"))
        self.assertEqual(st["backupType"], "AppBackup")
        self.assertNotIn("dataType", st)

    def test_a_failing_mover_names_the_claim_and_leaves_a_partial_backup(self):
        name = unique("fail")
        empty = os.path.join(self.dir, unique("no-volumes"))
        os.makedirs(empty)
        r = self.backup(name, "--volumes", "fs", "--local-volumes", empty)
        self.assertEqual(r.code, 3, r)
        self.assertIn("persistentvolumeclaims app/data", r.out)
        st = json.loads(self.vault.read(f"backups/{name}/status.json"))
        self.assertEqual((st["phase"], st["backupType"]), ("PartiallyFailed", "AppBackup"))
        self.assertEqual({v["pvc"]: v["phase"] for v in st["volumes"]}["data"], "Failed")


class VolumeBackupS3(VolumeBackup):
    """Against the S3 test server."""

    @classmethod
    def make_vault(cls):
        env = s3_env()
        if env is None:
            raise unittest.SkipTest("S3 test server not configured")
        return S3Vault(env, unique("volumes"))


def setUpModule():
    SECRETS.enable()


def tearDownModule():
    SECRETS.finish("volume_backup_test")


if __name__ == "__main__":
    unittest.main()
