"""scripts/bench volume: the volume data path (backup-run --mover / restore-run --mover) against
`tar -c | zstd -3 -T2 | aws s3 cp -` / `aws s3 cp - | zstd -d | tar -x` and restic (first
backup, restore) on the same data and the same S3 server, and to a file vault.

The dataset (default 1 GiB): tens of thousands of small JSON/YAML files, copies of shared
libraries from /usr/lib, headers and documentation from /usr/include and /usr/share/doc,
incompressible random files, a few hard links and symlinks, and one sparse file. The 4 GiB set is
the 1 GiB set plus larger random files (cairn only: peak RSS must stay flat). A tree of 200,000
small files measures RSS against the file count. Every restore is compared with the source
(content, mode, symlink targets, hard links). Prints seconds, MB/s, peak RSS and the ratios
against the targets: backup >= 2x restic's first backup and not slower than the naive pipeline;
restore not slower than the naive pipeline and >= 1.5x restic's restore; peak RSS <= 64 MiB.

cairn and the naive pipeline share the 2 cores with the S3 server, whose pace varies from run to
run (its first upload, its garbage collection): after an untimed warm-up upload, the two run in
three interleaved rounds and their medians are compared."""
import hashlib
import json
import os
import random
import re
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import time

RSS_LIMIT_KIB = 64 * 1024
ROUNDS = 3  # cairn and the naive pipeline on S3: the median of three interleaved rounds
NAIVE = "tar|zstd -3 -T2|aws s3 cp"
MiB = 1 << 20


def _fill_small_files(root, budget, rng):
    """Small JSON and YAML documents, 500 per directory; returns bytes written."""
    written, i = 0, 0
    while written < budget:
        d = os.path.join(root, "config", f"app-{i // 500:03d}")
        if i % 500 == 0:
            os.makedirs(d, exist_ok=True)
        doc = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": f"cm-{i}", "uid": "%032x" % rng.getrandbits(128)},
               "data": {f"key{k}": "%x" % rng.getrandbits(64) for k in range(rng.randint(2, 60))}}
        if i % 2:
            text = json.dumps(doc, indent=2)
            name = f"doc-{i}.json"
        else:
            text = "\n".join(f"{k}: {v}" for k, v in doc["data"].items()) + "\n"
            name = f"doc-{i}.yaml"
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        written += len(text)
        i += 1
    return written


def _copy_files(dest, sources, budget, pattern=None):
    """Copies regular files from `sources` (walked) into dest until `budget` bytes."""
    written = 0
    for src in sources:
        for dirpath, _, files in os.walk(src):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                if pattern and not re.search(pattern, name):
                    continue
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or st.st_size > 64 * MiB:
                    continue
                rel = os.path.relpath(path, "/")
                target = os.path.join(dest, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                try:
                    shutil.copy2(path, target)
                except OSError:
                    continue
                written += st.st_size
                if written >= budget:
                    return written
    return written


def _random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(os.urandom(n))
            left -= n


def make_dataset(root, size):
    """The mixed 1 GiB-style set (scaled to `size`); returns its byte count."""
    rng = random.Random(14)
    os.makedirs(root)
    total = _fill_small_files(root, size * 15 // 100, rng)
    total += _copy_files(os.path.join(root, "libs"), ["/usr/lib"], size * 25 // 100,
                         r"\.so(\.|$)")
    total += _copy_files(os.path.join(root, "src"), ["/usr/include", "/usr/share/doc"],
                         size * 15 // 100)
    os.makedirs(os.path.join(root, "blobs"))
    i = 0
    while total < size - 64 * MiB:
        n = min(64 * MiB, size - 64 * MiB - total)
        _random_file(os.path.join(root, "blobs", f"random-{i}.bin"), n)
        total += n
        i += 1
    os.link(os.path.join(root, "blobs", "random-0.bin"), os.path.join(root, "blobs", "hard-0"))
    os.link(os.path.join(root, "config", "app-000", "doc-0.yaml"),
            os.path.join(root, "config", "hard.yaml"))
    os.symlink("blobs/random-0.bin", os.path.join(root, "latest"))
    os.symlink("../config/app-000", os.path.join(root, "blobs", "cfg"))
    with open(os.path.join(root, "sparse.img"), "wb") as f:  # 256 MiB apparent, 2 MiB data
        f.truncate(256 * MiB)
        f.seek(100 * MiB)
        f.write(os.urandom(2 * MiB))
    return total + 2 * MiB


def tree_digest(root):
    """One digest over every entry: path, type, mode, content or target, hard-link group."""
    h, inodes = hashlib.sha256(), {}
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            h.update(f"{rel}\0{stat.S_IFMT(st.st_mode)}\0{st.st_mode & 0o7777}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(path).encode())
            elif stat.S_ISREG(st.st_mode):
                h.update(inodes.setdefault(st.st_ino, rel).encode())
                with open(path, "rb") as f:
                    while chunk := f.read(4 * MiB):
                        h.update(chunk)
    return h.hexdigest()


def run_timed(cmd, env, cwd=None):
    """Runs a shell pipeline whose commands are wrapped in /usr/bin/time; (seconds, RSS KiB
    summed over the pipeline's processes, stdout). Dirty pages of the step before (a tree just
    written or deleted) are flushed first, so that no tool pays for another's writeback."""
    os.sync()
    start = time.monotonic()
    p = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env, cwd=cwd)
    secs = time.monotonic() - start
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {cmd}\n{p.stdout[-2000:]}"
                         f"{p.stderr[-2000:]}")
    rss = [int(x) for x in re.findall(r"^RSS (\d+)$", p.stderr, re.M)]
    return secs, sum(rss), p.stdout


T = "/usr/bin/time -f 'RSS %M'"


def sealed_manifest(name, result):
    o = result["object"]
    obj = {"key": o["key"], "stored_size": o["storedSize"], "stored_sha256": o["storedSha256"],
           "logical_size": o["logicalSize"], "logical_sha256": o["logicalSha256"],
           "compression": "zstd", "content_type": "application/x-tar",
           "volume": {"namespace": result["namespace"], "pvc": result["pvc"],
                      "files": result["counts"]["files"], "bytes": result["counts"]["bytes"]}}
    m = {"format_version": "1.0", "kind": "Backup", "name": name,
         "created": result["startTime"], "completed": result["completionTime"],
         "objects": [obj], "totals": {"object_count": 1, "stored_size": obj["stored_size"],
                                      "logical_size": obj["logical_size"]}}
    c = json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (c[:-1] + ',"checksum":"sha256:' + hashlib.sha256(c.encode()).hexdigest()
            + '"}\n').encode()


class Vault:
    def __init__(self, env, url, work):
        self.env, self.url, self.work = env, url, work

    def args(self):
        if self.url.startswith("file://"):
            return f"--url {self.url}"
        return f"--url {self.url} --endpoint {self.env['S3_ENDPOINT']} --path-style"

    def aws(self, sub):
        return f"aws s3 {sub} --endpoint-url {self.env['S3_ENDPOINT']} --only-show-errors"

    def read(self, key):
        if self.url.startswith("file://"):
            with open(os.path.join(self.url[len("file://"):], key), "rb") as f:
                return f.read()
        path = os.path.join(self.work, "fetched")
        subprocess.run(self.aws(f"cp {self.url}/{key} {path}"), shell=True, check=True,
                       env=self.env)
        with open(path, "rb") as f:
            return f.read()

    def write(self, key, data):
        if self.url.startswith("file://"):
            path = os.path.join(self.url[len("file://"):], key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            return
        path = os.path.join(self.work, "upload")
        with open(path, "wb") as f:
            f.write(data)
        subprocess.run(self.aws(f"cp {path} {self.url}/{key}"), shell=True, check=True,
                       env=self.env)


def cairn_round_trip(build, vault, src, work, name):
    """backup-run --mover then restore-run --mover; (backup s, backup RSS, restore s, restore
    RSS, stored bytes, restored dir)."""
    bin_ = os.path.join(build, "bin")
    secs_b, rss_b, _ = run_timed(f"{T} {bin_}/backup-run --mover --name {name} --volume "
                                 f"bench/data --path {src} {vault.args()}", vault.env)
    result = json.loads(vault.read(f"backups/{name}/volumes/bench/data.json"))
    if result["phase"] != "Completed":
        raise SystemExit(f"volume backup {name}: {result['phase']}: {result['errors'][:5]}")
    vault.write(f"backups/{name}/manifest.json", sealed_manifest(name, result))
    dst = os.path.join(work, f"restore-{name}")
    os.makedirs(dst)
    secs_r, rss_r, _ = run_timed(f"{T} {bin_}/restore-run --mover --backup {name} --name "
                                 f"{name}-r --volume bench/data --path {dst} {vault.args()}",
                                 vault.env)
    return secs_b, rss_b, secs_r, rss_r, result["object"]["storedSize"], dst


def check_same(src, dst, what, strict=True):
    """cairn's restores must be identical and keep holes (else the bench fails); the other
    tools' differences are printed only."""
    problems = []
    if tree_digest(src) != tree_digest(dst):
        problems.append("the restored tree differs from the source")
    sparse = os.path.join(dst, "sparse.img")
    if os.path.exists(sparse) and os.stat(sparse).st_blocks * 512 > 16 * MiB:
        problems.append("sparse.img was restored without its holes")
    if problems and strict:
        raise SystemExit(f"{what}: " + "; ".join(problems))
    for p in problems:
        print(f"note: {what}: {p}")


def bench_volume(args, env):
    """Restored trees stay until the end: on ext4 without a journal, creating files within 30 s
    of deleting many others scans every recently deleted inode (ext4's recently_deleted()), and
    the restore that follows a deletion would pay for it (3x slower, measured)."""
    sys.stdout.reconfigure(line_buffering=True)  # each result as soon as it is known
    work = tempfile.mkdtemp(prefix="cairn-bench-volume-", dir=args.workdir)
    tag = f"bench/volume-{int(time.time())}"
    s3 = Vault(env, f"s3://{env['S3_BUCKET']}/{tag}", work)
    fv = Vault(env, f"file://{work}/vault", work)
    rows, rss_by_size = [], {}
    try:
        src = os.path.join(work, "data")
        size = make_dataset(src, 1 << 30)
        print(f"dataset: {size / MiB:.0f} MiB in "
              f"{sum(len(f) for _, _, f in os.walk(src))} files", flush=True)
        warm_up(s3, work)
        cairn_s3, naive_s3 = [], []
        for i in range(ROUNDS):  # interleaved, so that neither meets the server in one state
            b, rb, r, rr, stored, dst = cairn_round_trip(args.build, s3, src, work, f"c1-s3-{i}")
            check_same(src, dst, "cairn S3")
            cairn_s3.append((b, rb, r, rr, stored))
            naive_s3.append(naive(env, s3, src, work, i))
        rows.append(median_row("cairn --mover (S3)", cairn_s3))
        rss_by_size["1GiB"] = [max(x[1] for x in cairn_s3), max(x[3] for x in cairn_s3)]
        rows.append(median_row(NAIVE, naive_s3))
        b, rb, r, rr, stored, dst = cairn_round_trip(args.build, fv, src, work, "c1-file")
        check_same(src, dst, "cairn file")
        rows.append(("cairn --mover (file)", b, rb, r, rr, stored))
        rss_by_size["1GiB"] = [max(rss_by_size["1GiB"][0], rb), max(rss_by_size["1GiB"][1], rr)]
        if shutil.which("restic"):
            rows.append(restic(env, src, work, tag))
        report(rows, size)
        # Flat memory: the 4 GiB set (plus larger random files), and 200,000 small files.
        big = os.path.join(work, "data", "big")
        os.makedirs(big)
        for i in range(3):
            _random_file(os.path.join(big, f"large-{i}.bin"), 1 << 30)
        b, rb, r, rr, _, dst = cairn_round_trip(args.build, s3, src, work, "c4-s3")
        rss_by_size["4GiB"] = [rb, rr]
        print(f"\n4 GiB set (S3): backup {b:.1f}s ({4096 / b:.0f} MB/s), restore {r:.1f}s "
              f"({4096 / r:.0f} MB/s)")
        many = os.path.join(work, "many")
        for i in range(200_000):
            if i % 1000 == 0:
                os.makedirs(os.path.join(many, f"d{i // 1000}"))
            with open(os.path.join(many, f"d{i // 1000}", f"f{i}"), "w") as f:
                f.write(f"{i}\n")
        b, rb, r, rr, _, dst = cairn_round_trip(args.build, fv, many, work, "c200k-file")
        check_same(many, dst, "cairn 200k files")
        rss_by_size["200k files"] = [rb, rr]
        print(f"200,000 small files (file vault): backup {b:.1f}s, restore {r:.1f}s")
        print("\ncairn peak RSS (backup, restore): " + ", ".join(
            f"{k}: {v[0] / 1024:.1f}Mi/{v[1] / 1024:.1f}Mi" for k, v in rss_by_size.items()) +
            f" (limit {RSS_LIMIT_KIB // 1024}Mi)")
        worst = max(max(v) for v in rss_by_size.values())
        print("peak RSS target: " + ("met" if worst <= RSS_LIMIT_KIB else "MISSED"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def warm_up(s3, work):
    """A freshly started S3 server answers its first large upload far slower (19 s instead of
    6 s, measured): 256 MiB go through it untimed, so that no tool pays for that."""
    path = os.path.join(work, "warm-up")
    _random_file(path, 256 * MiB)
    subprocess.run(s3.aws(f"cp {path} {s3.url}/warm-up"), shell=True, check=True, env=s3.env)
    os.unlink(path)


def median_row(tool, runs):
    """The median of each measure over the rounds; the spread of the seconds is printed."""
    b, rb, r, rr, stored = (statistics.median(col) if col[0] is not None else None
                            for col in zip(*runs))
    print(f"{tool}: backup {', '.join(f'{x[0]:.1f}' for x in runs)} s, restore "
          f"{', '.join(f'{x[2]:.1f}' for x in runs)} s over {len(runs)} rounds")
    return (tool, b, rb, r, rr, stored)


def naive(env, s3, src, work, i):
    key = f"{s3.url}/naive-{i}.tar.zst"
    b, rb, _ = run_timed(f"{T} tar -C {src} -cf - . | {T} zstd -3 -T2 -q -c | "
                         f"{T} {s3.aws('cp - ' + key)}", env)
    dst = os.path.join(work, f"restore-naive-{i}")
    os.makedirs(dst)
    r, rr, _ = run_timed(f"{T} {s3.aws('cp ' + key + ' -')} | {T} zstd -d -q -c | "
                         f"{T} tar -C {dst} -xf -", env)
    check_same(src, dst, "naive pipeline", strict=False)
    return (b, rb, r, rr, None)


def restic(env, src, work, tag):
    renv = dict(env, RESTIC_PASSWORD="bench",
                RESTIC_REPOSITORY=f"s3:{env['S3_ENDPOINT']}/{env['S3_BUCKET']}/{tag}/restic")
    subprocess.run(["restic", "init", "-q"], env=renv, check=True, capture_output=True)
    b, rb, _ = run_timed(f"{T} restic backup -q .", renv, cwd=src)
    dst = os.path.join(work, "restore-restic")
    r, rr, _ = run_timed(f"{T} restic restore -q latest --target {dst}", renv)
    check_same(src, dst, "restic", strict=False)
    return ("restic (first backup, restore)", b, rb, r, rr, None)


def report(rows, size):
    mb = size / 1e6
    print(f"\n{'tool':<34}{'backup s':>9}{'MB/s':>8}{'RSS':>9}{'restore s':>10}{'MB/s':>8}"
          f"{'RSS':>9}{'stored':>9}")
    for tool, b, rb, r, rr, stored in rows:
        print(f"{tool:<34}{b:>9.1f}{mb / b:>8.0f}{rb / 1024:>7.1f}Mi{r:>10.1f}{mb / r:>8.0f}"
              f"{rr / 1024:>7.1f}Mi{(f'{stored / MiB:.0f}Mi' if stored else '-'):>9}")
    c = next(row for row in rows if row[0] == "cairn --mover (S3)")
    by = {row[0]: row for row in rows}
    print("\nratios (speed: other's seconds / cairn's, higher is better)")
    checks = []
    if (n := by.get(NAIVE)):
        checks += [("backup vs naive pipeline", n[1] / c[1], 1.0),
                   ("restore vs naive pipeline", n[3] / c[3], 1.0)]
    if (rs := by.get("restic (first backup, restore)")):
        checks += [("backup vs restic first backup", rs[1] / c[1], 2.0),
                   ("restore vs restic restore", rs[3] / c[3], 1.5)]
    for what, ratio, target in checks:
        print(f"  {what:<32} x{ratio:.2f}  (target >= x{target:.1f}: "
              f"{'met' if ratio >= target else 'MISSED'})")
