#!/usr/bin/env python3
"""scripts/bench upload: cairn's backup data path (stdin -> zstd -> S3 multipart) against the
plain `zstd -3 -T2 | aws s3 cp -` pipeline and restic, on the same data and the same S3 server.
Prints MB/s and peak RSS per tool and cairn's ratios. Benchmarks, not tests: nothing asserts
a time, but the run fails if cairn's upload does not read back (sha256) or exceeds 64 MiB RSS."""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

RSS_LIMIT_KIB = 64 * 1024
SOURCE = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def parse_size(s):
    m = re.fullmatch(r"(\d+)(MiB|GiB)", s)
    if not m:
        raise SystemExit(f"bad size {s!r}: use e.g. 256MiB or 1GiB")
    return int(m.group(1)) << (20 if m.group(2) == "MiB" else 30)


def make_data(path, size):
    """Backup-like data: JSON-ish records with random ids and values, compressing about 3-4x."""
    rng = random.Random(42)
    blocks = []
    for b in range(64):
        lines = []
        n = 0
        while n < (1 << 20):
            rec = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": f"cm-{rng.getrandbits(40):x}",
                                           "namespace": f"ns-{b % 7}",
                                           "uid": "%032x" % rng.getrandbits(128)},
                              "data": {"k%d" % i: "%x" % rng.getrandbits(64) for i in range(4)}})
            lines.append(rec)
            n += len(rec) + 1
        blocks.append(("\n".join(lines) + "\n").encode()[: 1 << 20])
    h = hashlib.sha256()
    with open(path, "wb") as f:
        written = 0
        i = 0
        while written < size:
            blk = blocks[i % len(blocks)][: size - written]
            f.write(blk)
            h.update(blk)
            written += len(blk)
            i += 1
    return h.hexdigest()


def timed(cmd, stdin_path, env, shell=False):
    """Runs cmd with stdin from a file; returns (seconds, peak RSS KiB per process, stdout)."""
    rss_file = tempfile.mktemp()
    start = time.monotonic()
    with open(stdin_path, "rb") as stdin:
        p = subprocess.run(cmd, stdin=stdin, capture_output=True, env=env, shell=shell,
                           text=True)
    secs = time.monotonic() - start
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {cmd}\n{p.stderr[-2000:]}")
    rss = [int(x) for x in re.findall(r"^RSS (\d+)$", p.stderr, re.M)]
    return secs, rss, p.stdout


def bench_upload(args, env):
    build = args.build
    tools = {"aws": shutil.which("aws"), "restic": shutil.which("restic")}
    work = tempfile.mkdtemp(prefix="cairn-bench-")
    rows = []
    try:
        for size_text in args.sizes.split(","):
            size = parse_size(size_text)
            data = os.path.join(work, "data")
            digest = make_data(data, size)
            tag = f"bench/{int(time.time())}-{size_text}"
            # cairn
            # Peak RSS is measured by /usr/bin/time for every tool alike: ru_maxrss survives
            # exec, so a child forked from this (large) Python process would report our size.
            cmd = (f"/usr/bin/time -f 'RSS %M' {os.path.join(build, 'bin', 'bench-upload')} "
                   f"--endpoint {env['S3_ENDPOINT']} --bucket {env['S3_BUCKET']} "
                   f"--key {tag}/cairn.zst --level 3 --workers 2")
            secs, rss, out = timed(cmd, data, env, shell=True)
            res = json.loads(out)
            if res["sha256"] != digest:
                raise SystemExit("cairn hashed different bytes than the input")
            rows.append((size_text, "cairn (zstd -3, 2 workers, multipart)", secs, sum(rss),
                         res["bytes_stored"]))
            # tar | zstd | upload baseline (the payload is one stream, so tar adds nothing)
            if tools["aws"]:
                cmd = (f"/usr/bin/time -f 'RSS %M' zstd -3 -T2 -q -c | /usr/bin/time -f 'RSS %M' "
                       f"aws s3 cp - s3://{env['S3_BUCKET']}/{tag}/aws.zst "
                       f"--endpoint-url {env['S3_ENDPOINT']} --only-show-errors")
                secs, rss, _ = timed(cmd, data, env, shell=True)
                rows.append((size_text, "zstd -3 -T2 | aws s3 cp -", secs, sum(rss), None))
            if tools["restic"]:
                repo = f"s3:{env['S3_ENDPOINT']}/{env['S3_BUCKET']}/{tag}/restic"
                renv = dict(env, RESTIC_PASSWORD="bench", RESTIC_REPOSITORY=repo)
                subprocess.run(["restic", "init", "-q"], env=renv, check=True,
                               capture_output=True)
                secs, rss, _ = timed("/usr/bin/time -f 'RSS %M' restic backup -q --stdin "
                                     "--stdin-filename data", data, renv, shell=True)
                rows.append((size_text, "restic backup --stdin", secs, sum(rss), None))
            os.remove(data)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'size':<8}{'tool':<42}{'MB/s':>8}{'peak RSS':>12}{'stored':>12}")
    base = {}
    for size_text, tool, secs, rss, stored in rows:
        mbps = parse_size(size_text) / secs / 1e6
        base.setdefault(size_text, {})[tool] = (mbps, rss)
        print(f"{size_text:<8}{tool:<42}{mbps:>8.1f}{rss / 1024:>10.1f}Mi"
              f"{(f'{stored / 2**20:.0f}Mi' if stored else '-'):>12}")
    print("\nratios (cairn / other): throughput higher is better, memory lower is better")
    failed = False
    for size_text, tools_ in base.items():
        c = [v for k, v in tools_.items() if k.startswith("cairn")][0]
        if c[1] > RSS_LIMIT_KIB:
            failed = True
        for k, v in tools_.items():
            if not k.startswith("cairn"):
                print(f"  {size_text:<8}vs {k:<32} throughput x{c[0] / v[0]:.2f}   "
                      f"peak RSS x{c[1] / v[1]:.2f}")
    cairn_rss = [v[1] for t in base.values() for k, v in t.items() if k.startswith("cairn")]
    print(f"\ncairn peak RSS across sizes: {', '.join(f'{r / 1024:.1f}Mi' for r in cairn_rss)}"
          f" (limit {RSS_LIMIT_KIB // 1024}Mi)")
    if failed:
        raise SystemExit("cairn exceeded the 64 MiB peak RSS target")


def seed_configmaps(path, count, namespaces=10):
    """A List of `count` ConfigMaps of mixed sizes (like real ones) over `namespaces`."""
    rng = random.Random(7)
    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"bench-{n}"}}
             for n in range(namespaces)]
    for i in range(count):
        size = rng.choice([64, 256, 1024, 4096])
        items.append({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": f"cm-{i:06d}", "namespace": f"bench-{i % namespaces}",
                                   "labels": {"app": f"app-{i % 50}", "tier": "bench"}},
                      "data": {"config.yaml": "%x" % rng.getrandbits(size * 4)}})
    with open(path, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


def bench_kube_list(args, env):
    """Lists N ConfigMaps through cairn's kube client page by page, next to kubectl."""
    server = os.path.join(SOURCE, "hack", "kube-api-server", "kube-api-server")
    rows = []
    for count in [int(c) for c in args.counts.split(",")]:
        work = tempfile.mkdtemp(prefix="cairn-bench-kube-")
        try:
            seed = os.path.join(work, "seed.json")
            seed_configmaps(seed, count)
            subprocess.run([server, "start", os.path.join(work, "kube"), "--seed", seed],
                           check=True, capture_output=True, timeout=600)
            kubeconfig = os.path.join(work, "kube", "kubeconfig")
            secs, rss, out = timed(f"/usr/bin/time -f 'RSS %M' "
                                   f"{os.path.join(args.build, 'bin', 'bench-kube-list')} "
                                   f"--kubeconfig {kubeconfig} --count {count}", "/dev/null",
                                   env, shell=True)
            res = json.loads(out)
            rows.append((count, "cairn kube::Client (limit 500)", res["seconds"], sum(rss),
                         res["objects"]))
            secs, rss, _ = timed(f"/usr/bin/time -f 'RSS %M' kubectl --kubeconfig {kubeconfig} "
                                 f"get configmaps -A -o json >/dev/null", "/dev/null", env,
                                 shell=True)
            rows.append((count, "kubectl get configmaps -A -o json", secs, sum(rss), None))
        finally:
            subprocess.run([server, "stop", os.path.join(work, "kube")], capture_output=True)
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'objects':>8}  {'tool':<36}{'seconds':>9}{'objects/s':>11}{'peak RSS':>11}")
    for count, tool, secs, rss, _ in rows:
        print(f"{count:>8}  {tool:<36}{secs:>9.2f}{count / secs:>11.0f}{rss / 1024:>9.1f}Mi")
    cairn = [(c, s, r) for c, t, s, r, _ in rows if t.startswith("cairn")]
    kubectl = {c: (s, r) for c, t, s, r, _ in rows if t.startswith("kubectl")}
    print("\nratios (cairn / kubectl): time lower is better, memory lower is better")
    for c, s, r in cairn:
        print(f"  {c:>8} objects: time x{s / kubectl[c][0]:.2f}   peak RSS x{r / kubectl[c][1]:.2f}")
    if len(cairn) > 1:
        print(f"cairn peak RSS from {cairn[0][0]} to {cairn[-1][0]} objects: "
              f"x{cairn[-1][2] / cairn[0][2]:.2f} (flat is ~1.0)")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("what", choices=["upload", "kube-list"])
    ap.add_argument("--sizes", default="256MiB,1GiB")
    ap.add_argument("--counts", default="20000,40000")
    ap.add_argument("--build", default=os.environ.get("CAIRN_BUILD_DIR", "build/release"))
    args = ap.parse_args()
    env = dict(os.environ)
    if args.what == "kube-list":
        bench_kube_list(args, env)
        return
    for k in ["S3_ENDPOINT", "S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]:
        if not env.get(k):
            raise SystemExit(f"{k} is not set (scripts/bench starts the S3 test server)")
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    bench_upload(args, env)


if __name__ == "__main__":
    main()
