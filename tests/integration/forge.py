"""Forged vaults for the hostile-vault suites (restore_hostile_test.py,
restore_hostile_archive_test.py): a real backup whose resources.tar.zst is rewritten and whose
manifest is re-sealed (sizes, SHA-256 and the checksum over its canonical JSON, FORMAT.md §6.4,
are public), so every checksum passes; and the check that restore-run refuses such a backup
before it writes anything to the target API test server, within bounded memory and time.

Large payloads are never held here: a run of zero bytes is made of RLE blocks in a hand-made
zstd frame (4 bytes per 128 KiB), and its SHA-256 is computed in chunks."""
import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

from cairn_test_support import SANITIZED, KubeApiServer, Result, binary, run, unique

BACKUP = "full"
ARCHIVE = "resources.tar.zst"
BLOCK = 512
END = bytes(2 * BLOCK)  # the end-of-archive blocks
MAX_SECONDS = 120 if SANITIZED else 30
MAX_RSS_KIB = None if SANITIZED else 64 * 1024
# What the restore-runs of a suite measured: runs, writes seen at the target, the largest
# peak RSS and the longest run.
STATS = {"runs": 0, "writes": 0, "peak_kib": 0, "seconds": 0.0}


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


# Runs a command and writes its peak RSS (KiB) to a file. restore-run is started from this
# small process: a child forked from the test itself would count the test's memory as its own
# (ru_maxrss keeps the high-water mark from before exec).
_MEASURE = ("import os, subprocess, sys\n"
            "p = subprocess.Popen(sys.argv[2:])\n"
            "_, status, usage = os.wait4(p.pid, 0)\n"
            "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
            "sys.exit(os.waitstatus_to_exitcode(status) % 256)\n")


def run_measured(name, *args):
    """Runs a cairn executable; returns its Result and its peak RSS in KiB."""
    with tempfile.TemporaryDirectory() as tmp:
        rss = os.path.join(tmp, "rss")
        proc = subprocess.run([sys.executable, "-c", _MEASURE, rss, binary(name), *args],
                              capture_output=True, text=True)
        with open(rss) as f:
            peak_kib = int(f.read())
    return Result(proc), peak_kib


def member(name, data=b"", kind=tarfile.REGTYPE, size=None, linkname="", pax=None):
    """One tar member (pax format): its header(s), then `data` padded to a block. `size`
    declares another size than len(data) (the caller then appends the data itself)."""
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode, info.mtime = kind, linkname, 0o600, 1_700_000_000
    info.size = len(data) if size is None else size
    info.pax_headers = pax or {}
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + padded(data)


def uniform_members(items):
    """Members for (name, data) pairs whose names (ASCII, < 100 bytes) and data are each of
    one length: one header patched per member, much faster than member()."""
    items = iter(items)
    name, data = next(items)
    tmpl = bytearray(member(name, data))
    yield bytes(tmpl)
    for name, data in items:
        tmpl[0:len(name)] = name.encode()
        tmpl[BLOCK:BLOCK + len(data)] = data
        tmpl[148:156] = b" " * 8  # the checksum counts its own field as spaces
        tmpl[148:156] = b"%06o\0 " % sum(tmpl[:BLOCK])
        yield bytes(tmpl)


def padded(data):
    return data + bytes(-len(data) % BLOCK)


def frame(parts, window_log=17):
    """One zstd frame (no checksum, no declared size) of `parts`: bytes as raw blocks, an int
    n as n zero bytes in RLE blocks (4 bytes per 128 KiB). `window_log`: the window its header
    asks for."""
    blocks, most = [], 1 << 17
    for p in parts:
        if isinstance(p, int):
            blocks += [(1, min(most, p - i), b"\0") for i in range(0, p, most)]
        else:
            blocks += [(0, len(p[i:i + most]), p[i:i + most]) for i in range(0, len(p), most)]
    out = bytearray(b"\x28\xb5\x2f\xfd\x00" + bytes([(window_log - 10) << 3]))
    for k, (kind, size, data) in enumerate(blocks):
        last = 1 if k == len(blocks) - 1 else 0
        out += (last | kind << 1 | size << 3).to_bytes(3, "little") + data
    return bytes(out)


@functools.lru_cache(maxsize=None)
def digest(parts):
    """(size, SHA-256) of what frame(parts) decodes to, hashed in chunks."""
    h, size, chunk = hashlib.sha256(), 0, bytes(1 << 20)
    for p in parts:
        if isinstance(p, int):
            for i in range(0, p, len(chunk)):
                h.update(chunk[:min(len(chunk), p - i)])
            size += p
        else:
            h.update(p)
            size += len(p)
    return size, h.hexdigest()


class Hostile(unittest.TestCase):
    """A backup of the test server's samples in a vault (make_vault), forged copies of it,
    and a fresh target API server per test."""

    @classmethod
    def make_vault(cls):
        raise NotImplementedError

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
        tar = zstd(cls.vault.read(f"backups/{BACKUP}/{ARCHIVE}"), "-d")
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

    def members(self, replace=None):
        """The backup's entries as tar members; `replace` maps a path to new content."""
        replace = replace or {}
        return [member(p, replace.get(p, data)) for p, data in self.entries]

    def forge(self, name, path, text):
        """A copy of the backup in a new vault with entry `path` replaced by `text`."""
        return self.forge_tar(name, b"".join(self.members({path: text})) + END,
                              len(self.entries))

    def forge_tar(self, name, tar, entries, *zstd_args):
        """A copy of the backup whose archive is `tar` (compressed, level 3 unless
        `zstd_args` say otherwise), holding `entries` entries."""
        return self.forge_archive(name, zstd(tar, *(zstd_args or ("-3",))), len(tar),
                                  hashlib.sha256(tar).hexdigest(), entries)

    def forge_frame(self, name, parts, entries, window_log=17):
        """A copy of the backup whose archive is frame(parts) (see there)."""
        parts = tuple(parts)
        return self.forge_archive(name, frame(parts, window_log), *digest(parts), entries)

    def forge_archive(self, name, archive, logical_size, logical_sha256, entries):
        """A copy of the backup whose stored archive is `archive`, the manifest re-sealed with
        these logical size, digest and entry count: every checksum matches."""
        return self.forge_object(name, ARCHIVE, archive, logical_size=logical_size,
                                 logical_sha256=logical_sha256, entry_count=entries)

    def forge_object(self, name, key, stored, **recorded):
        """A copy of the backup whose object `key` is `stored` (its stored size and digest
        recorded), the manifest re-sealed with `recorded` for that object."""
        vault = self.vault.another(name)
        src = f"backups/{BACKUP}/"
        vault.write("cairn-vault.json", self.vault.read("cairn-vault.json"))
        manifest = json.loads(json.dumps(self.manifest))
        for o in manifest["objects"]:
            if o["key"] == key:
                o.update(stored_size=len(stored),
                         stored_sha256=hashlib.sha256(stored).hexdigest(), **recorded)
                vault.write(src + o["key"], stored)
            else:
                vault.write(src + o["key"], self.vault.read(src + o["key"]))
        totals = manifest["totals"]
        for k in ("stored_size", "logical_size", "entry_count"):
            totals[k] = sum(o.get(k, 0) for o in manifest["objects"])
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

    def restore_measured(self, vault, *extra):
        """restore-run of the backup from `vault` into the target: the Result, the status
        document it printed, and the target's writes (but cairn's status ConfigMap and
        events), with the target's objects checked unchanged. Time and memory are bounded."""
        before = self.target_objects()
        since = max([r["seq"] for r in self.target.admin_requests(0)] + [0])
        start = time.time()
        name = unique("r")
        r, peak_kib = run_measured("restore-run", *vault.args(), "--kubeconfig",
                                   self.target.kubeconfig, "--backup", BACKUP, "--name", name,
                                   "--output", "json", *extra)
        elapsed = time.time() - start
        writes = [q for q in self.target.admin_requests(since)
                  if q["method"] not in ("GET", "HEAD")
                  and f"/configmaps/cairn-restore-{name}" not in q["path"]
                  and "/events" not in q["path"]]
        STATS.update(runs=STATS["runs"] + 1, writes=STATS["writes"] + len(writes),
                     peak_kib=max(STATS["peak_kib"], peak_kib),
                     seconds=max(STATS["seconds"], elapsed))
        self.assertEqual(writes, [], "the target cluster was written to")
        self.assertEqual(self.target_objects(), before)
        self.assertLess(elapsed, MAX_SECONDS, f"restore-run took {elapsed:.1f} s")
        if MAX_RSS_KIB:
            self.assertLess(peak_kib, MAX_RSS_KIB, f"restore-run used {peak_kib} KiB")
        return r, name

    def assert_refused(self, vault, path, *expected):
        """restore-run refuses before applying: exit 1, Failed naming `path` and each of
        `expected`, and no write reached the target."""
        r, name = self.restore_measured(vault)
        self.assertEqual(r.code, 1, r)
        status = r.json()
        self.assertEqual(status["phase"], "Failed", status)
        self.assertIn("failed verification", status["message"])
        self.assertIn(path, status["message"])
        self.assertIn("nothing was applied", status["message"])
        self.assertEqual(status["errors"]["items"][0]["object"], path)
        errors = json.dumps(status["errors"], ensure_ascii=False)
        for e in expected:
            self.assertIn(e, errors)
        self.assertEqual(json.loads(vault.read(f"restores/{name}/status.json"))["phase"],
                         "Failed")
        return status
