"""restore-run against forged archives: resources.tar.zst rebuilt with hostile tar members or
zstd frames, the manifest re-sealed so every size and SHA-256 matches (forge.py). Each forgery
is refused before anything is applied (exit 1, status Failed naming the entry, or the archive
when the damage is in the stream itself; the target API test server unchanged), within 64 MiB
of peak RSS and 30 s:

- entry paths with '..' segments or absolute (FORMAT.md §5.1: relative, no '..');
- a symlink and a hard link (only regular files);
- a 4 GiB entry (refused by its declared size, never read), 1 GiB of data after the
  end-of-archive blocks (at most 1 MiB of padding may follow them), a zstd frame asking for a
  128 MiB window (cairn never writes more than 8 MiB; a larger one is refused at the frame
  header), a sparse entry declaring 1 TiB (only regular files, never sparse ones) and one
  whose sparse map holds a million regions (libarchive reads it with the header: the input
  one entry's headers may take is bounded to 256 KiB);
- the same path twice (each object is stored once);
- a zstd stream cut short, a tar cut inside an entry and one cut before its end blocks;
- 100,000 tiny entries that are not objects: refused, with the first 1,000 listed and the rest
  counted; and the same number of valid ConfigMaps, consistently re-sealed: a backup of 100,000
  small objects is a backup like any other (FORMAT.md sets no limit on the entry count), so it
  is verified and planned (restore-run --dry-run, which applies nothing) within the same bounds;
- a manifest of format 2.0 (FORMAT.md §3): refused naming the version;
- zstd bombs (128 GiB of zeros in about 12 MiB, as many 16 MiB entries of the archive and as
  the resource list) whose manifest keeps the real logical sizes: refused where the payload
  passes the size the manifest records, never decoded to its end.
Runs against a file vault and the S3 test server; the suite summary counts the refusals."""
import functools
import hashlib
import json
import os
import tarfile
import unittest

from cairn_test_support import report_summary, s3_env, unique
from forge import (ARCHIVE, BACKUP, BLOCK, END, STATS, Hostile, frame, member, padded, sealed,
                   uniform_members, zstd)
from vault_access import FileVault, S3Vault

CM_DIR = "resources/core/configmaps/v1/namespaces/shop/"
MANY = 100_000
BOMB_GIB = 128
RESOURCE_LIST = "resource-list.json.zst"
TOTALS = {"refused": 0, "verified": 0}


def configmap(name):
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": name, "namespace": "shop"}}).encode()


class RestoreHostileArchive(Hostile):
    """Against a file vault."""

    @classmethod
    def make_vault(cls):
        return FileVault(os.path.join(cls.dir, "vault"))

    def refused(self, vault, path, *expected):
        status = self.assert_refused(vault, path, *expected)
        TOTALS["refused"] += 1
        return status

    def objects_named(self, status):
        return [i.get("object") for i in status["errors"]["items"]]

    def with_extra(self, name, *extra):
        """The backup plus `extra` members at the end (after every real entry)."""
        tar = b"".join(self.members()) + b"".join(extra) + END
        return self.forge_tar(name, tar, len(self.entries) + len(extra))

    def forge_many(self, name, kind):
        """The backup's metadata/backup.json and MANY ConfigMaps (many_members)."""
        metadata = [m for (p, _), m in zip(self.entries, self.members()) if not
                    p.startswith("resources/")]
        return self.forge_tar(name, b"".join(metadata) + many_members(kind) + END,
                              MANY + len(metadata))

    def test_paths_outside_the_archive_are_refused(self):
        unsafe = ["resources/../../etc/x.json", "../x", "/etc/passwd"]
        vault = self.with_extra("paths", *(member(p, configmap("x")) for p in unsafe))
        status = self.refused(vault, unsafe[0],
                              "invalid tar entry path 'resources/../../etc/x.json': "
                              "a '..' segment is not allowed",
                              "invalid tar entry path '../x': a '..' segment is not allowed",
                              "invalid tar entry path '/etc/passwd': an absolute path is not "
                              "allowed")
        self.assertEqual(self.objects_named(status)[:3], unsafe)

    def test_links_are_refused(self):
        target = self.entry("ConfigMap")[0]
        link, hard = CM_DIR + "link.json", CM_DIR + "hard.json"
        vault = self.with_extra("links", member(link, kind=tarfile.SYMTYPE, linkname="/etc/passwd"),
                                member(hard, kind=tarfile.LNKTYPE, linkname=target))
        status = self.refused(vault, link,
                              f"tar entry '{link}' is a symbolic link: only regular files",
                              f"tar entry '{hard}' is a hard link to '{target}': only regular "
                              "files")
        self.assertEqual(self.objects_named(status)[:2], [link, hard])

    def test_a_huge_entry_is_refused_by_its_declared_size(self):
        # 4 GiB of zeros in 128 KiB of zstd: cairn refuses the header and never reads the data.
        path, size = CM_DIR + "bomb.json", 4 << 30
        vault = self.forge_frame("bomb", (b"".join(self.members()), member(path, size=size),
                                          size, END), len(self.entries) + 1)
        self.refused(vault, path, f"tar entry '{path}' has {size} bytes, more than the "
                                  "16777216 allowed")

    def test_data_after_the_end_of_the_archive_is_refused(self):
        vault = self.forge_frame("trailing", (b"".join(self.members()), END, 1 << 30),
                                 len(self.entries))
        self.refused(vault, ARCHIVE, "more than 1 MiB of data after the end of the tar archive")

    def test_a_zstd_frame_with_a_huge_window_is_refused(self):
        # One frame asking for a 128 MiB window, of 8 entries of 16 MiB (zeros, within the
        # limit of an entry): decoded, they would fill the window, and the peak RSS with it.
        parts = [b"".join(self.members())]
        for i in range(8):
            parts += [member(f"{CM_DIR}w{i}.json", size=16 << 20), 16 << 20]
        vault = self.forge_frame("window", parts + [END], len(self.entries) + 8, window_log=27)
        self.refused(vault, ARCHIVE, "zstd frame asks for a window of 128 MiB, more than the "
                                     "16 MiB allowed")

    def test_a_sparse_entry_is_refused(self):
        # GNU sparse 1.0 in pax records: 1 TiB declared, one byte stored.
        path = CM_DIR + "sparse.json"
        pax = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": path,
               "GNU.sparse.realsize": str(1 << 40)}
        sparse = member(CM_DIR + "GNUSparseFile.0/sparse.json", b"1\n0\n1\n" + bytes(506) + b"{",
                        pax=pax)
        vault = self.with_extra("sparse", sparse)
        self.refused(vault, path, f"tar entry '{path}' is a sparse file: only regular files")
        # A map of a million one-byte regions, which libarchive reads with the header (a list
        # entry per region, about 90 MiB) before the entry can be refused: the input one
        # entry's headers may take is bounded.
        regions = 1_000_000
        body = padded(b"%d\n" % regions + b"".join(b"%d\n1\n" % (2 * i)
                                                    for i in range(regions)))
        pax["GNU.sparse.realsize"] = str(2 * regions)
        vault = self.with_extra("sparse-map", member(CM_DIR + "GNUSparseFile.0/sparse.json",
                                                     body + bytes(regions), pax=pax))
        self.refused(vault, ARCHIVE, "unable to read the tar header after entry",
                     "the headers of one tar entry take more than 256 KiB")

    def test_zstd_bombs_are_read_no_further_than_their_recorded_size(self):
        # 128 GiB of zeros in about 12 MiB of zstd, the manifest keeping the real logical size
        # (its digest cannot be computed by a forger in time either). Read to its end, either
        # would take minutes to decode and hash; each is refused where it passes the size the
        # manifest records. In the archive: 8,192 entries of 16 MiB (each within the limit of an
        # entry) at paths a later format could add, which are read and hashed, not kept.
        real = b"".join(self.members()) + END
        parts = [b"".join(self.members())]
        for i in range(BOMB_GIB * 64):
            parts += [member(f"later/bomb-{i:05d}", size=16 << 20), 16 << 20]
        vault = self.forge_archive("bomb-entries", frame(tuple(parts + [END])), len(real),
                                   hashlib.sha256(real).hexdigest(), len(self.entries))
        self.refused(vault, ARCHIVE, f"the payload is longer than the {len(real)} bytes the "
                                     "manifest records")
        # Another zstd object of the backup, a bomb of zeros.
        recorded = next(o for o in self.manifest["objects"] if o["key"] == RESOURCE_LIST)
        vault = self.forge_object("bomb-list", RESOURCE_LIST, frame((BOMB_GIB << 30,)))
        self.refused(vault, RESOURCE_LIST, f"the payload is longer than the "
                                           f"{recorded['logical_size']} bytes the manifest "
                                           "records")

    def test_the_same_path_twice_is_refused(self):
        same, _ = self.entry("ConfigMap")
        other, obj = self.entry("Deployment")
        obj["metadata"].setdefault("labels", {})["forged"] = "yes"
        vault = self.with_extra("twice", member(same, dict(self.entries)[same]),
                                member(other, json.dumps(obj).encode()))
        status = self.refused(vault, same, f"{same}: duplicate entry: the path is already in "
                                           "the archive")
        self.assertEqual(self.objects_named(status)[:2], [same, other])

    def test_truncated_archives_are_refused(self):
        tar = b"".join(self.members()) + END
        whole = zstd(tar, "-3")
        cut = whole[:len(whole) // 2]
        vault = self.forge_archive("cut-zstd", cut, len(tar), hashlib.sha256(tar).hexdigest(),
                                   len(self.entries))
        self.refused(vault, ARCHIVE, "zstd stream is truncated: it ends inside a frame")
        last = b"".join(self.members()[:-1])
        inside = last + self.members()[-1][:BLOCK + 10]  # the last entry's header and 10 bytes
        vault = self.forge_tar("cut-entry", inside, len(self.entries))
        self.refused(vault, ARCHIVE, f"unable to read tar entry '{self.entries[-1][0]}': "
                                     "truncated tar archive")
        vault = self.forge_tar("cut-end", last, len(self.entries) - 1)
        self.refused(vault, ARCHIVE, "tar archive ends without its end-of-archive blocks")

    def test_many_tiny_entries_that_are_not_objects_are_refused(self):
        vault = self.forge_many("many-bad", "bad")
        first = CM_DIR + "c000000.json"
        status = self.refused(vault, first, "apiVersion is missing")
        # 1,000 entries listed, then one problem counting the rest; the status keeps 50 items.
        self.assertEqual(status["errors"]["count"], 1001)
        self.assertIn("(1001 problems, first: ", status["message"])

    def test_many_tiny_objects_are_verified_within_bounds(self):
        # Consistent and re-sealed, this is a sound backup (FORMAT.md sets no limit on the
        # entry count): --dry-run verifies and plans it, applying nothing.
        vault = self.forge_many("many-good", "good")
        r, _ = self.restore_measured(vault, "--dry-run")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out.count("configmaps/v1 shop/c"), MANY)
        TOTALS["verified"] += 1

    def test_a_manifest_from_a_future_format_is_refused(self):
        vault = self.forge("future", "", b"")
        key = f"backups/{BACKUP}/manifest.json"
        manifest = json.loads(vault.read(key))
        manifest["format_version"] = "2.0"
        vault.write(key, sealed(manifest))
        r, _ = self.restore_measured(vault)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(r.json()["phase"], "Failed")
        self.assertIn("vault format 2.0 is newer than this cairn understands (1.x); "
                      "upgrade cairn", r.json()["message"])
        self.assertIn(key, r.json()["message"])
        TOTALS["refused"] += 1


@functools.lru_cache(maxsize=None)
def many_members(kind):
    """MANY ConfigMap members: "bad" ones hold {}, "good" ones their ConfigMap."""
    return b"".join(uniform_members(
        (f"{CM_DIR}c{i:06d}.json", b"{}" if kind == "bad" else configmap(f"c{i:06d}"))
        for i in range(MANY)))


class RestoreHostileArchiveS3(RestoreHostileArchive):
    """The same forgeries in a vault on the S3 test server."""

    @classmethod
    def make_vault(cls):
        return S3Vault(s3_env(), unique("hostile-archive"))


def tearDownModule():
    report_summary(f"hostile: {TOTALS['refused']} forgeries refused, {STATS['writes']} writes to "
                   f"the target; {TOTALS['verified']} backups of {MANY} objects verified; "
                   f"{STATS['runs']} restore-runs, peak RSS at most "
                   f"{STATS['peak_kib'] // 1024} MiB, the longest {STATS['seconds']:.1f} s")


if __name__ == "__main__":
    unittest.main()
