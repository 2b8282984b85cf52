#!/usr/bin/env python3
"""Benchmarks behind scripts/bench; nothing here is a test.

upload: cairn's backup data path (stdin -> zstd -> S3 multipart) against the plain
`zstd -3 -T2 | aws s3 cp -` pipeline and restic, on the same data and the same S3 server. Prints
MB/s and peak RSS per tool and cairn's ratios; fails if cairn's upload does not read back
(sha256) or exceeds 64 MiB RSS.

kube-list: cairn's paged listing of N ConfigMaps next to `kubectl get`.

resources: backup-run of N objects like a real cluster's (ConfigMaps, Secrets, Deployments over
20 namespaces) into file:// and s3:// vaults, next to the listing floor `kubectl get
configmaps,secrets,deployments -A -o json`. Prints time, objects/s, archive ratio and peak RSS,
and the targets (time <= 1.5x the floor, peak RSS <= 64 MiB and flat with the count); fails
only when a backup fails, and says clearly when a target is missed.

restore: the same object mix (N objects) backed up from one API test server into a file://
vault, restored by restore-run into a second, empty one (once per --restore-workers, default
4,16), next to 16 raw creates at once (the API server's own pace: POSTs of the seed file's
objects over keep-alive connections, nothing in between) and `kubectl create -f` of the seed file
(restore-run at --kube-qps 5000 by default, high enough not to bind; --kube-qps N to change it).
Prints seconds, objects/s, peak RSS and the ratios, whether restore-run reaches 90% of the raw
creates' objects/s and stays under 64 MiB (MISSED when not, not a failure); fails only when the
restore does not complete or restores fewer objects than the seeded ones and their
Namespaces."""
import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

RSS_LIMIT_KIB = 64 * 1024
RAW_TARGET = 0.90  # scripts/bench restore: restore-run objects/s / the raw creates' objects/s
TIME_TARGET = 1.5  # scripts/bench resources: backup time / kubectl listing time
FLAT_TOLERANCE = 1.15  # peak RSS at the largest count / at the smallest: "flat"
KUBE_QPS, KUBE_BURST = 50, 100  # kube::ClientOptions defaults (runner/kube/client.h)
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
    secs, rss, out, code, err = timed_rc(cmd, stdin_path, env, shell)
    if code != 0:
        raise SystemExit(f"command failed ({code}): {cmd}\n{err[-2000:]}")
    return secs, rss, out


def timed_rc(cmd, stdin_path, env, shell=False):
    """timed() that leaves the exit code to the caller: (seconds, RSS list, stdout, exit code,
    stderr)."""
    start = time.monotonic()
    with open(stdin_path, "rb") as stdin:
        p = subprocess.run(cmd, stdin=stdin, capture_output=True, env=env, shell=shell,
                           text=True)
    secs = time.monotonic() - start
    rss = [int(x) for x in re.findall(r"^RSS (\d+)$", p.stderr, re.M)]
    return secs, rss, p.stdout, p.returncode, p.stderr


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


# -- scripts/bench resources ------------------------------------------------------------------

BENCH_NAMESPACES = 20
WORDS = ("server", "cache", "timeout", "retries", "endpoint", "pool", "max", "min", "log",
         "level", "feature", "enabled", "path", "host", "port", "user", "queue", "batch",
         "interval", "region", "bucket", "metrics", "tracing", "sampler", "buffer", "tls")
IMAGES = ("nginx:1.27.2", "redis:7.4.1-alpine", "postgres:16.4", "ghcr.io/acme/api:v2.14.3",
          "ghcr.io/acme/worker:v2.14.3", "quay.io/prometheus/node-exporter:v1.8.2",
          "registry.k8s.io/ingress-nginx/controller:v1.11.3", "docker.io/bitnami/kafka:3.8.0")


def _config_text(rng, size):
    """Config-file-like text (dotted keys, numbers, hosts, ids) of `size` bytes."""
    lines, n = [], 0
    while n < size:
        k = ".".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4)))
        r = rng.random()
        if r < 0.3:
            v = str(rng.randint(0, 100000))
        elif r < 0.5:
            v = rng.choice(("true", "false", "info", "debug", "warn"))
        elif r < 0.7:
            v = (f"{rng.choice(WORDS)}-{rng.randint(0, 99)}.svc.cluster.local:"
                 f"{rng.randint(1024, 9999)}")
        else:
            v = "%x" % rng.getrandbits(rng.choice((32, 64, 128)))
        line = f"{k} = {v}"
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines)[:size]


def _b64(rng, n):
    return base64.b64encode(rng.getrandbits(8 * n).to_bytes(n, "little")).decode()


def _meta(i, kind, ns, app, extra_labels=None):
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": f"{app}-{i % 7}",
              "app.kubernetes.io/managed-by": "Helm" if i % 3 else "kustomize",
              "app.kubernetes.io/part-of": f"suite-{i % 11}"}
    labels.update(extra_labels or {})
    return {"name": f"{kind}-{i:06d}", "namespace": ns, "labels": labels,
            "annotations": {"meta.helm.sh/release-name": f"{app}-{i % 7}",
                            "meta.helm.sh/release-namespace": ns}}


def _configmap(rng, i, ns, app):
    # 64 B .. 8 KiB of data, most of them small, as in real clusters.
    size = rng.choices((64, 256, 1024, 2048, 4096, 8192), (20, 25, 25, 15, 10, 5))[0]
    keys = rng.randint(1, 3)
    data = {f"{rng.choice(WORDS)}-{k}.properties": _config_text(rng, max(16, size // keys))
            for k in range(keys)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(i, "cm", ns, app),
            "data": data}


def _secret(rng, i, ns, app):
    r = rng.random()
    if r < 0.7:
        typ = "Opaque"
        data = {k: _b64(rng, rng.choice((16, 24, 32, 64, 256)))
                for k in rng.sample(("password", "username", "token", "api-key", "dsn",
                                     "client-secret"), rng.randint(1, 4))}
    elif r < 0.9:
        typ = "kubernetes.io/tls"
        data = {"tls.crt": _b64(rng, rng.choice((900, 1300, 2600))),
                "tls.key": _b64(rng, rng.choice((120, 240, 1200)))}
    else:
        typ = "kubernetes.io/dockerconfigjson"
        auth = _b64(rng, 48)
        cfg = json.dumps({"auths": {"ghcr.io": {"username": "acme-ci", "auth": auth}}})
        data = {".dockerconfigjson": base64.b64encode(cfg.encode()).decode()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(i, "secret", ns, app),
            "type": typ, "data": data}


def _deployment(rng, i, ns, app):
    sel = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": f"{app}-{i % 7}"}
    image = rng.choice(IMAGES)
    pod_labels = dict(sel, **{"app.kubernetes.io/version": image.split(":")[-1]})
    containers = [{
        "name": app, "image": image, "imagePullPolicy": "IfNotPresent",
        "args": ["--config=/etc/app/config.properties", f"--port={8000 + i % 100}",
                 "--log-format=json"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
        "env": [{"name": f"{rng.choice(WORDS).upper()}_{k}", "value": str(rng.randint(0, 9999))}
                for k in range(rng.randint(3, 10))] + [
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {
                "name": f"secret-{max(0, i - 3):06d}", "key": "password"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "resources": {"requests": {"cpu": f"{rng.choice((50, 100, 250))}m",
                                   "memory": f"{rng.choice((64, 128, 256))}Mi"},
                      "limits": {"cpu": "1", "memory": f"{rng.choice((256, 512, 1024))}Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                          "initialDelaySeconds": 10, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}}}]
    if rng.random() < 0.3:  # a sidecar
        containers.append({"name": "proxy", "image": "envoyproxy/envoy:v1.31.2",
                           "args": ["-c", "/etc/envoy/envoy.yaml"],
                           "ports": [{"containerPort": 15001, "protocol": "TCP"}],
                           "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}})
    spec = {"replicas": rng.choice((1, 2, 3)), "revisionHistoryLimit": 10,
            "selector": {"matchLabels": sel},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": pod_labels,
                             "annotations": {"checksum/config": "%064x" % rng.getrandbits(256),
                                             "prometheus.io/scrape": "true",
                                             "prometheus.io/port": "9090"}},
                "spec": {"serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
                         "securityContext": {"fsGroup": 2000, "runAsUser": 1000},
                         "affinity": {"podAntiAffinity": {
                             "preferredDuringSchedulingIgnoredDuringExecution": [{
                                 "weight": 100, "podAffinityTerm": {
                                     "topologyKey": "kubernetes.io/hostname",
                                     "labelSelector": {"matchLabels": sel}}}]}},
                         "containers": containers,
                         "volumes": [{"name": "config", "configMap": {
                                         "name": f"cm-{max(0, i - 1):06d}"}},
                                     {"name": "tmp", "emptyDir": {}}]}}}
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": _meta(i, "deploy", ns, app), "spec": spec}
    # kubectl apply's annotation: a copy of the applied object, as in many real clusters.
    obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = \
        json.dumps(obj, separators=(",", ":"))
    return obj


def bench_namespaces(n=BENCH_NAMESPACES):
    return [f"bench-{k:02d}" for k in range(n)]


def seed_cluster(path, count, namespaces=BENCH_NAMESPACES):
    """A List of `count` objects like a real cluster's: 60% ConfigMaps (64 B - 8 KiB), 25%
    Secrets (Opaque, TLS, docker config), 15% Deployments with full pod templates, over
    `namespaces` namespaces (plus their Namespace objects). Written item by item: memory does
    not grow with count. Returns {kind: n} and the bytes written."""
    if count < 1:
        raise SystemExit("--counts: give positive object counts")
    rng = random.Random(11)
    kinds = {"ConfigMap": 0, "Secret": 0, "Deployment": 0}
    nss = bench_namespaces(namespaces)
    with open(path, "w") as f:
        f.write('{"apiVersion": "v1", "kind": "List", "items": [\n')
        for ns in nss:
            f.write(json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": ns, "labels": {"team": ns}}}) + ",\n")
        for i in range(count):
            ns = nss[i % namespaces]
            app = f"app-{(i // namespaces) % 40:02d}"
            slot = (i // namespaces) % 20  # every namespace gets the same mix
            if slot < 12:
                obj = _configmap(rng, i, ns, app)
            elif slot < 17:
                obj = _secret(rng, i, ns, app)
            else:
                obj = _deployment(rng, i, ns, app)
            kinds[obj["kind"]] += 1
            f.write(json.dumps(obj, separators=(",", ":")))
            f.write(",\n" if i < count - 1 else "\n")
        f.write("]}\n")
        size = f.tell()
    return kinds, size


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


def start_seeded_kube(work, seed, timeout=900, name="kube"):
    """Starts server.py seeded from `seed` (None: an empty cluster, only the server's baseline
    objects) in work/name; returns (Popen, kubeconfig, seconds to seed).
    Not `kube-api-server start`: that waits 10 s for the server, and seeding 20,000 objects
    through the server's defaulting and validation already takes longer."""
    d = os.path.join(work, name)
    os.makedirs(d)
    log = open(os.path.join(d, "server.log"), "w+")
    start = time.monotonic()
    p = subprocess.Popen([sys.executable, os.path.join(SOURCE, "hack", "kube-api-server",
                                                       "server.py"),
                          "--listen", "127.0.0.1:0", "--dir", d] +
                         (["--seed", seed] if seed else []),
                         stdout=log, stderr=subprocess.STDOUT)
    while time.monotonic() - start < timeout:
        log.seek(0)
        if re.search(r"^listening on ", log.read(), re.M):
            return p, os.path.join(d, "kubeconfig"), time.monotonic() - start
        if p.poll() is not None:
            break
        time.sleep(0.5)
    stop_kube(p)
    log.seek(0)
    raise SystemExit(f"kube-api-server did not start within {timeout}s:\n{log.read()[-2000:]}")


def stop_kube(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def peak_rss_kib(pid):
    """VmHWM of a running process (the API server, which /usr/bin/time does not wrap)."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M).group(1))


def api_requests(kubeconfig, clear=False, method="GET"):
    """`method` requests (None: all) in the test server's request log (admin API); `clear`
    empties it."""
    d = os.path.dirname(kubeconfig)
    with open(os.path.join(d, "env")) as f:
        url = re.search(r"KUBE_API_SERVER=(\S+)", f.read()).group(1)
    with open(os.path.join(d, "token")) as f:
        token = f.read().strip()
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    req = urllib.request.Request(url + "/__admin/requests", method="DELETE" if clear else "GET",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        body = r.read()
    return 0 if clear else sum(1 for x in json.loads(body)["requests"]
                               if method is None or x["method"] == method)


def bench_resources(args, env):
    """Backs up N objects like a real cluster's into a file:// and an s3:// vault with
    backup-run, next to the listing floor `kubectl get configmaps,secrets,deployments -A`."""
    if not shutil.which("kubectl"):
        raise SystemExit("kubectl is not installed: it is the listing floor")
    backup_run = os.path.join(args.build, "bin", "backup-run")
    namespaces = ",".join(bench_namespaces())
    counts = [int(c) for c in args.counts.split(",")]
    rows = []  # (count, target, seconds, peak RSS KiB, objects, logical, stored, API GETs)
    notes = []
    for count in counts:
        work = tempfile.mkdtemp(prefix="cairn-bench-res-")
        server = None
        try:
            seed = os.path.join(work, "seed.json")
            t = time.monotonic()
            kinds, seed_bytes = seed_cluster(seed, count)
            gen_secs = time.monotonic() - t
            server, kubeconfig, seed_secs = start_seeded_kube(work, seed)
            os.remove(seed)
            notes.append(f"{count:>7} objects ({', '.join(f'{n} {k}s' for k, n in kinds.items())}"
                         f", {BENCH_NAMESPACES} namespaces): seed file {seed_bytes / 2**20:.0f}Mi "
                         f"written in {gen_secs:.1f}s; API server seeded in {seed_secs:.1f}s, "
                         f"its RSS {peak_rss_kib(server.pid) / 2**20:.2f}Gi")
            print(notes[-1], flush=True)
            secs, rss, _ = timed(f"/usr/bin/time -f 'RSS %M' kubectl --kubeconfig {kubeconfig} "
                                 f"get configmaps,secrets,deployments -A -o json >/dev/null",
                                 "/dev/null", env, shell=True)
            rows.append((count, "kubectl (floor)", secs, sum(rss), None, None, None, None))
            print(f"  kubectl get -A -o json: {secs:.1f}s", flush=True)
            stamp = int(time.time())
            targets = [("file", f"--url file://{os.path.join(work, 'vault')}")]
            if env.get("S3_ENDPOINT"):
                targets.append(("s3", f"--url s3://{env['S3_BUCKET']}/bench-resources-{stamp}-"
                                      f"{count} --endpoint {env['S3_ENDPOINT']} --path-style"))
            for target, vault in targets:
                # /usr/bin/time measures backup-run alone (see timed()); --output json gives
                # the run status with its counts and sizes.
                api_requests(kubeconfig, clear=True)
                secs, rss, out = timed(f"/usr/bin/time -f 'RSS %M' {backup_run} {vault} "
                                       f"--kubeconfig {kubeconfig} --include-namespaces "
                                       f"{namespaces} --name b{count} --output json",
                                       "/dev/null", env, shell=True)
                st = json.loads(out)
                if st.get("phase") != "Completed":
                    raise SystemExit(f"backup-run to {target} ended {st.get('phase')}: "
                                     f"{st.get('message')}")
                objects = st["counts"].get("objects", 0)
                if objects < count:
                    raise SystemExit(f"backup-run to {target} stored {objects} objects of "
                                     f"{count} seeded")
                gets = api_requests(kubeconfig)
                rows.append((count, target, secs, sum(rss), objects,
                             st["sizes"]["logicalBytes"], st["sizes"]["storedBytes"], gets))
                print(f"  backup-run {target}: {secs:.1f}s, {objects} objects, {gets} API GETs",
                      flush=True)
        finally:
            if server:
                stop_kube(server)
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'objects':>8}  {'target':<16}{'seconds':>9}{'objects/s':>11}{'logical':>10}"
          f"{'stored':>9}{'ratio':>8}{'peak RSS':>11}{'GETs':>7}")
    for count, target, secs, rss, objects, logical, stored, gets in rows:
        n = objects or count
        arch = (f"{logical / 2**20:>8.1f}Mi{stored / 2**20:>7.1f}Mi{logical / stored:>7.1f}x"
                if stored else f"{'-':>10}{'-':>9}{'-':>8}")
        print(f"{count:>8}  {target:<16}{secs:>9.2f}{n / secs:>11.0f}{arch}"
              f"{rss / 1024:>9.1f}Mi{gets if gets else '-':>7}")
    floor = {c: s for c, t, s, *_ in rows if t.startswith("kubectl")}
    missed = []
    flat_text = f", flat from {counts[0]} to {counts[-1]} objects" if len(counts) > 1 else ""
    print(f"\ntargets: backup time <= {TIME_TARGET}x the kubectl floor; peak RSS <= "
          f"{RSS_LIMIT_KIB // 1024}Mi{flat_text}")
    for count, target, secs, rss, *_, gets in rows:
        if target.startswith("kubectl"):
            continue
        ratio = secs / floor[count]
        t_ok = ratio <= TIME_TARGET
        m_ok = rss <= RSS_LIMIT_KIB
        print(f"  {count:>8} {target:<5} time x{ratio:.2f} of the floor "
              f"{'ok' if t_ok else 'MISSED':<7}(rate limit alone "
              f"{max(0, gets - KUBE_BURST) / KUBE_QPS:.1f}s)"
              f"  peak RSS {rss / 1024:.1f}Mi = {rss / RSS_LIMIT_KIB:.0%} of "
              f"{RSS_LIMIT_KIB // 1024}Mi {'ok' if m_ok else 'MISSED'}")
        if not t_ok:
            missed.append(f"{target} at {count}: {ratio:.2f}x the kubectl floor")
        if not m_ok:
            missed.append(f"{target} at {count}: peak RSS {rss / 1024:.1f}Mi")
    if len(counts) > 1:
        for target in sorted({t for _, t, *_ in rows if not t.startswith("kubectl")}):
            by = {c: r for c, t, _, r, *_ in rows if t == target}
            growth = by[counts[-1]] / by[counts[0]]
            flat = growth <= FLAT_TOLERANCE
            print(f"  {target:<5} peak RSS from {counts[0]} to {counts[-1]} objects: "
                  f"{by[counts[0]] / 1024:.1f}Mi -> {by[counts[-1]] / 1024:.1f}Mi, "
                  f"x{growth:.2f} {'flat' if flat else 'GROWS (MISSED)'}")
            if not flat:
                missed.append(f"{target}: peak RSS grows x{growth:.2f} with the object count")
    print("\nnotes:")
    for n in notes:
        print(f"  {n}")
    print("  seconds: wall time around each process (backup-run: start, discovery, listing, "
          "upload, manifest)\n  peak RSS: /usr/bin/time's, per process\n"
          "  objects/s: objects backup-run stored (seeded + each namespace's Namespace and "
          "default ServiceAccount)\n  ratio: tar bytes / stored zstd bytes\n"
          "  GETs: API requests of the backup (a list per resource, version and namespace, "
          f"their pages,\n  discovery); the kube client's rate limit ({KUBE_QPS} qps, burst "
          f"{KUBE_BURST}) alone takes (GETs - {KUBE_BURST}) / {KUBE_QPS} s")
    if missed:
        print("\nMISSED TARGETS (not a failure of the run):\n  " + "\n  ".join(missed))
    else:
        print("\nall targets met")


# -- scripts/bench restore --------------------------------------------------------------------

RAW_WORKERS = 16  # the baseline's creates at once
SEED_PATHS = {"Namespace": "/api/v1/namespaces",
              "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
              "Secret": "/api/v1/namespaces/{ns}/secrets",
              "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments"}


def raw_creates(kubeconfig, seed, workers=RAW_WORKERS):
    """The API server's own pace for creates: every object of the seed file POSTed to its
    collection, `workers` at a time over keep-alive connections (Namespaces first), with
    nothing else in between (no verification, plan, transform or rate limit). Returns
    (seconds, objects created)."""
    import http.client
    import queue
    import threading
    d = os.path.dirname(kubeconfig)
    with open(os.path.join(d, "env")) as f:
        url = re.search(r"KUBE_API_SERVER=https://([^:/]+):(\d+)", f.read())
    host, port = url.group(1), int(url.group(2))
    with open(os.path.join(d, "token")) as f:
        headers = {"Authorization": f"Bearer {f.read().strip()}",
                   "Content-Type": "application/json", "Accept": "application/json"}
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    first, rest = [], []
    with open(seed) as f:  # one object per line (seed_cluster)
        for line in f:
            line = line.strip().rstrip(",")
            if not line.startswith('{"') or '"kind": "List"' in line:
                continue
            obj = json.loads(line)
            path = SEED_PATHS[obj["kind"]].format(ns=obj["metadata"].get("namespace"))
            (first if obj["kind"] == "Namespace" else rest).append((path, line))
    created = [0]
    lock = threading.Lock()

    def post_all(items):
        q = queue.SimpleQueue()
        for item in items:
            q.put(item)

        def worker():
            conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=120)
            while True:
                try:
                    path, body = q.get_nowait()
                except queue.Empty:
                    conn.close()
                    return
                conn.request("POST", path, body, headers)
                r = conn.getresponse()
                r.read()
                if r.status == 201:
                    with lock:
                        created[0] += 1
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    start = time.monotonic()
    post_all(first)
    post_all(rest)
    return time.monotonic() - start, created[0]


def bench_restore(args, env):
    """Restores a backup of N cluster-like objects into an empty API server with restore-run,
    next to `kubectl create -f` of the same objects into another empty one."""
    if not shutil.which("kubectl"):
        raise SystemExit("kubectl is not installed: it is the baseline")
    backup_run = os.path.join(args.build, "bin", "backup-run")
    restore_run = os.path.join(args.build, "bin", "restore-run")
    namespaces = ",".join(bench_namespaces())
    qps, burst = args.kube_qps, 2 * args.kube_qps  # restore-run --kube-qps/--kube-burst
    rows = []  # (count, tool, seconds, peak RSS KiB, objects restored, API requests)
    notes = []
    failures = []
    for count in [int(c) for c in args.counts.split(",")]:
        work = tempfile.mkdtemp(prefix="cairn-bench-restore-")
        server = None
        expected = count + BENCH_NAMESPACES  # the seeded objects and their Namespaces
        try:
            # 1. Source cluster, backed up into a file:// vault.
            seed = os.path.join(work, "seed.json")
            t = time.monotonic()
            kinds, seed_bytes = seed_cluster(seed, count)
            gen_secs = time.monotonic() - t
            server, kubeconfig, seed_secs = start_seeded_kube(work, seed, name="source")
            notes.append(f"{count:>7} objects ({', '.join(f'{n} {k}s' for k, n in kinds.items())}"
                         f", {BENCH_NAMESPACES} namespaces): seed file {seed_bytes / 2**20:.0f}Mi "
                         f"written in {gen_secs:.1f}s; source API server seeded in "
                         f"{seed_secs:.1f}s")
            print(notes[-1], flush=True)
            vault = f"--url file://{os.path.join(work, 'vault')}"
            backup = f"b{count}"
            secs, rss, out = timed(f"/usr/bin/time -f 'RSS %M' {backup_run} {vault} "
                                   f"--kubeconfig {kubeconfig} --include-namespaces "
                                   f"{namespaces} --name {backup} --output json",
                                   "/dev/null", env, shell=True)
            st = json.loads(out)
            if st.get("phase") != "Completed" or st["counts"].get("objects", 0) < count:
                raise SystemExit(f"backup-run ended {st.get('phase')} with "
                                 f"{st['counts'].get('objects', 0)} objects of {count} seeded: "
                                 f"{st.get('message')}")
            notes.append(f"  backup {backup}: {st['counts']['objects']} objects, "
                         f"{st['sizes']['logicalBytes'] / 2**20:.1f}Mi of JSON in tar, "
                         f"{st['sizes']['storedBytes'] / 2**20:.1f}Mi stored, in {secs:.1f}s")
            print(notes[-1], flush=True)
            stop_kube(server)
            server = None

            # 2. cairn: restore-run into an empty cluster, with each number of workers.
            for workers in [int(w) for w in args.restore_workers.split(",")]:
                server, kubeconfig, _ = start_seeded_kube(work, None, name=f"target-{workers}")
                api_requests(kubeconfig, clear=True)
                print(f"  restore-run, {workers} workers: {expected} creates at the kube "
                      f"client's {qps} qps take at least {max(0, expected - burst) / qps:.0f}s",
                      flush=True)
                secs, rss, out, code, err = timed_rc(
                    f"/usr/bin/time -f 'RSS %M' {restore_run} {vault} --kubeconfig {kubeconfig} "
                    f"--backup {backup} --kube-qps {qps} --kube-burst {burst} "
                    f"--restore-workers {workers} --output json", "/dev/null", env, shell=True)
                try:
                    st = json.loads(out)
                except ValueError:
                    raise SystemExit(f"restore-run exited {code} without a JSON status:\n"
                                     f"{err[-2000:]}")
                counts = st.get("counts", {})
                restored = counts.get("created", 0) + counts.get("updated", 0)
                writes = api_requests(kubeconfig, method="POST")
                requests = api_requests(kubeconfig, method=None)
                rows.append((count, f"cairn restore-run, {workers} workers", secs, sum(rss),
                             restored, requests))
                print(f"  restore-run: exit {code}, {st.get('phase')}: {st.get('message')} "
                      f"in {secs:.1f}s; {requests} API requests ({writes} POSTs)", flush=True)
                notes.append(f"  restore-run ({workers} workers) counts: " +
                             ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
                if st.get("phase") != "Completed" or code != 0:
                    first = (st.get("errors") or [{}])[:3]
                    failures.append(f"restore at {count} ended {st.get('phase')} (exit {code}): "
                                    f"{st.get('message')} {json.dumps(first)[:600]}")
                if restored < expected:
                    failures.append(f"restore at {count}: {restored} objects restored, "
                                    f"{expected} expected ({count} seeded + {BENCH_NAMESPACES} "
                                    f"Namespaces)")
                stop_kube(server)
                server = None

            # 2b. Baseline: the server's own pace, RAW_WORKERS raw creates at once.
            server, kubeconfig, _ = start_seeded_kube(work, None, name="raw")
            api_requests(kubeconfig, clear=True)
            secs, created = raw_creates(kubeconfig, seed)
            rows.append((count, f"raw creates, {RAW_WORKERS} at once", secs, 0, created,
                         api_requests(kubeconfig, method=None)))
            print(f"  raw creates ({RAW_WORKERS} at once): {created} created in {secs:.1f}s",
                  flush=True)
            if created < expected:
                notes.append(f"  raw creates: {created} of {expected} created")
            stop_kube(server)
            server = None

            # 3. Baseline: kubectl create -f of the seed file into another empty cluster.
            server, kubeconfig, _ = start_seeded_kube(work, None, name="baseline")
            api_requests(kubeconfig, clear=True)
            secs, rss, out, code, err = timed_rc(
                f"/usr/bin/time -f 'RSS %M' kubectl --kubeconfig {kubeconfig} create -f {seed}",
                "/dev/null", env, shell=True)
            created = len(re.findall(r" created$", out, re.M))
            requests = api_requests(kubeconfig, method=None)
            rows.append((count, "kubectl create -f (seed file)", secs, sum(rss), created,
                         requests))
            print(f"  kubectl create -f: exit {code}, {created} created in {secs:.1f}s; "
                  f"{requests} API requests", flush=True)
            if code != 0 or created < expected:
                notes.append(f"  kubectl create -f exited {code} with {created} of {expected} "
                             f"created: {err.strip()[-400:]}")
        finally:
            if server:
                stop_kube(server)
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'objects':>8}  {'tool':<34}{'seconds':>9}{'objects/s':>11}{'peak RSS':>11}"
          f"{'restored':>10}{'requests':>10}")
    for count, tool, secs, rss, n, reqs in rows:
        print(f"{count:>8}  {tool:<34}{secs:>9.2f}{n / secs:>11.0f}{rss / 1024:>9.1f}Mi"
              f"{n:>10}{reqs:>10}")
    print("\nratios (cairn / kubectl): objects/s higher is better, time and memory lower is "
          "better")
    missed = []
    for count in sorted({r[0] for r in rows}):
        k = [r for r in rows if r[0] == count and r[1].startswith("kubectl")][0]
        raw = [r for r in rows if r[0] == count and r[1].startswith("raw")][0]
        for c in [r for r in rows if r[0] == count and r[1].startswith("cairn")]:
            rate = f"x{(c[4] / c[2]) / (k[4] / k[2]):.2f}" if k[4] else "- (kubectl created none)"
            print(f"  {count:>8} objects, {c[1]}: objects/s {rate}   "
                  f"time x{c[2] / k[2]:.2f}   peak RSS x{c[3] / k[3]:.2f}")
            floor = max(0, c[5] - burst) / qps
            print(f"  {'':>8}  restore-run's {c[5]} requests at {qps} qps (burst {burst}): "
                  f"{floor:.1f}s of its {c[2]:.1f}s are the client's rate limit alone")
            share = (c[4] / c[2]) / (raw[4] / raw[2]) if raw[4] else 0
            ok = share >= RAW_TARGET
            print(f"  {'':>8}  {share:.0%} of the raw creates' objects/s "
                  f"(target {RAW_TARGET:.0%}) {'ok' if ok else 'MISSED'}")
            if not ok:
                missed.append(f"restore at {count}, {c[1]}: {share:.0%} of the raw creates' "
                              f"objects/s")
    print(f"\ntarget: restore-run peak RSS <= {RSS_LIMIT_KIB // 1024}Mi")
    for count, tool, secs, rss, *_ in rows:
        if not tool.startswith("cairn"):
            continue
        ok = rss <= RSS_LIMIT_KIB
        print(f"  {count:>8} objects: peak RSS {rss / 1024:.1f}Mi = {rss / RSS_LIMIT_KIB:.0%} "
              f"of {RSS_LIMIT_KIB // 1024}Mi {'ok' if ok else 'MISSED'}")
        if not ok:
            missed.append(f"restore at {count}: peak RSS {rss / 1024:.1f}Mi > "
                          f"{RSS_LIMIT_KIB // 1024}Mi")
    print("\nnotes:")
    for n in notes:
        print(f"  {n}")
    print("  seconds: wall time around each process (restore-run: read and verify the backup, "
          "discovery,\n  plan, create tier by tier N at a time, results); peak RSS: "
          "/usr/bin/time's, per process\n"
          f"  restored: objects created (expected: the seeded ones + {BENCH_NAMESPACES} "
          "Namespaces; the backed-up default\n  ServiceAccounts exist in the target once "
          "their Namespace does and are skipped)\n"
          "  kubectl creates the seed file as generated; restore-run the objects as the source "
          "server\n  returned them (defaulted, with managedFields), which it resets as documented\n"
          "  requests: API requests the target server logged, all methods; the kube client's "
          f"rate limit\n  ({qps} qps, burst {burst}) alone takes (requests - "
          f"{burst}) / {qps} s")
    if missed:
        print("\nMISSED TARGETS (not a failure of the run):\n  " + "\n  ".join(missed))
    else:
        print("\nall targets met")
    if failures:
        raise SystemExit("RESTORE FAILED:\n  " + "\n  ".join(failures))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("what", choices=["upload", "kube-list", "resources", "restore", "volume"])
    ap.add_argument("--sizes", default="256MiB,1GiB")
    ap.add_argument("--counts", default=None,
                    help="kube-list: 20000,40000; resources: 20000,100000; restore: 20000")
    ap.add_argument("--kube-qps", type=int, default=5000,
                    help="restore: restore-run --kube-qps (burst twice that), high enough not "
                    "to bind; 50 is the default of every cairn client")
    ap.add_argument("--restore-workers", default="4,16",
                    help="restore: restore-run --restore-workers, one run each")
    ap.add_argument("--build", default=os.environ.get("CAIRN_BUILD_DIR", "build/release"))
    ap.add_argument("--workdir", default=None, help="volume: where the datasets go (~10 GiB)")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.what == "kube-list":
        args.counts = args.counts or "20000,40000"
        bench_kube_list(args, env)
        return
    if args.what == "restore":
        args.counts = args.counts or "20000"
        bench_restore(args, env)
        return
    if args.what == "resources":
        args.counts = args.counts or "20000,100000"
        if not env.get("S3_ENDPOINT"):
            print("S3_ENDPOINT is not set: backing up to file:// only")
        env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
        bench_resources(args, env)
        return
    for k in ["S3_ENDPOINT", "S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]:
        if not env.get(k):
            raise SystemExit(f"{k} is not set (scripts/bench starts the S3 test server)")
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    if args.what == "volume":
        from volume_bench import bench_volume  # tests/bench/volume_bench.py
        bench_volume(args, env)
        return
    bench_upload(args, env)


if __name__ == "__main__":
    main()
