"""Contract test of the Kubernetes API test server (hack/kube-api-server/) with the real kubectl:
where kubectl and the server disagree, the server is wrong."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
SERVER_DIR = os.path.join(SOURCE, "hack", "kube-api-server")
SERVER = os.path.join(SERVER_DIR, "server.py")
SAMPLES = os.path.join(SERVER_DIR, "samples")
KUBECTL = shutil.which("kubectl")

TORTURE_YAML = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: torture   # comment
  annotations: {a: "1", "b-c": 'x''y', d: "[1, 2]"}
  labels:
    "quoted.key/x": v
data:
  plain: hello world
  colon: "a: b"
  url: http://example.com:8080/path#frag
  hash: value#notcomment
  folded: >
    first line
    same paragraph

    second paragraph
      indented kept
    back
  literal_keep: |+
    keep trailing


  literal_strip: |-
    no trailing
  literal_indent: |2
      two extra
    base
  dq_multi: "line one
    continued\\tTab \\"q\\" \\\\ end"
  sq_multi: 'single
    folded

    para'
  multi_plain: this is
    a multi line
    plain scalar
  empty_str: ""
  tilde: "~"
  octal_str: "0777"
  unicode: "caf\\u00e9 \\U0001F600"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: types
spec:
  replicas: 0x3
  revisionHistoryLimit: 0o7
  progressDeadlineSeconds: 1_000
  paused: off
  minReadySeconds: 010
  selector:
    matchLabels: {app: t}
  template:
    metadata:
      labels:
        app: t
    spec:
      terminationGracePeriodSeconds: 3.0
      containers:
        - name: c
          image: "x"
          args:
            - yes
            - "yes"
            - ~
            - 1.5
            - -2
            - 1e3
            - [a, {b: c}]
            -
              - nested
          env: [ {name: A, value: "1"},
                 {name: B, value: "two"} ]
...
---
# only a comment
"""


class KubeApiServer:
    """One server process in its own state directory, and kubectl pointed at it."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="kube-api-")
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--listen", "127.0.0.1:0", "--dir",
             os.path.join(self.dir, "state"), *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on https://127.0.0.1:"):
            self.proc.wait(10)
            self.log.seek(0)
            err = self.log.read()
            self.stop()
            raise AssertionError(f"server did not start: {line!r}\n{err}")
        self.url = line.split()[-1]
        self.state = os.path.join(self.dir, "state")
        with open(os.path.join(self.state, "token")) as f:
            self.token = f.read().strip()
        self.kubeconfig = os.path.join(self.state, "kubeconfig")
        self.ssl = ssl.create_default_context(cafile=os.path.join(self.state, "ca.crt"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def kubectl(self, *args, kubeconfig=None, stdin=None, timeout=60):
        env = {"HOME": self.home, "PATH": os.environ.get("PATH", "")}
        proc = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig, *args],
                              capture_output=True, text=True, env=env, input=stdin,
                              timeout=timeout)
        return proc

    def ok(self, *args, **kw):
        proc = self.kubectl(*args, **kw)
        if proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def json(self, *args):
        return json.loads(self.ok(*args, "-o", "json"))

    def http(self, method, path, body=None, token=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.token}")
        req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null"), dict(e.headers)

    def admin(self, body):
        code, out, _ = self.http("POST", "/__admin/", body)
        assert code == 200, out
        return out

    def requests(self):
        return self.http("GET", "/__admin/requests")[1]["requests"]


def names(items):
    return sorted(i["metadata"]["name"] for i in items)


@unittest.skipUnless(KUBECTL, "kubectl is not installed")
class KubectlContract(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = KubeApiServer()
        out = cls.s.ok("apply", "-f", SAMPLES)
        assert "customresourcedefinition.apiextensions.k8s.io/databases.demo.cairn.dev created" \
            in out, out
        cls.s.ok("apply", "-f", os.path.join(SAMPLES, "custom"))

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def setUp(self):
        self.s.admin({"reset": True})

    # -- discovery ---------------------------------------------------------------------------
    def test_api_resources_both_discovery_formats(self):
        for aggregated in (True, False):
            self.s.admin({"aggregated_discovery": aggregated})
            cache = tempfile.mkdtemp(dir=self.s.dir)
            out = self.s.ok("api-resources", "--cache-dir", cache)
            rows = {tuple(line.split()[:1] + [line.split()[-3]]) for line in out.splitlines()[1:]}
            for name, gv in [("namespaces", "v1"), ("configmaps", "v1"), ("secrets", "v1"),
                             ("services", "v1"), ("serviceaccounts", "v1"),
                             ("endpoints", "v1"), ("persistentvolumes", "v1"),
                             ("persistentvolumeclaims", "v1"), ("pods", "v1"),
                             ("events", "v1"), ("limitranges", "v1"),
                             ("resourcequotas", "v1"), ("replicationcontrollers", "v1"),
                             ("deployments", "apps/v1"), ("statefulsets", "apps/v1"),
                             ("cronjobs", "batch/v1"), ("ingresses", "networking.k8s.io/v1"),
                             ("roles", "rbac.authorization.k8s.io/v1"),
                             ("storageclasses", "storage.k8s.io/v1"),
                             ("poddisruptionbudgets", "policy/v1"),
                             ("horizontalpodautoscalers", "autoscaling/v2"),
                             ("leases", "coordination.k8s.io/v1"),
                             ("events", "events.k8s.io/v1"),
                             ("volumesnapshots", "snapshot.storage.k8s.io/v1"),
                             ("customresourcedefinitions", "apiextensions.k8s.io/v1"),
                             ("databases", "demo.cairn.dev/v1")]:
                self.assertIn((name, gv), rows, f"aggregated={aggregated}\n{out}")
            versions = self.s.ok("api-versions", "--cache-dir", cache).split()
            for gv in ("autoscaling/v1", "autoscaling/v2", "demo.cairn.dev/v1",
                       "demo.cairn.dev/v1beta1", "v1"):
                self.assertIn(gv, versions)
        code, group, _ = self.s.http("GET", "/apis/autoscaling")
        self.assertEqual((code, group["kind"]), (200, "APIGroup"))
        self.assertEqual(group["preferredVersion"]["version"], "v2")
        code, v1, _ = self.s.http("GET", "/apis/autoscaling/v1")
        self.assertEqual(v1["kind"], "APIResourceList")
        self.assertIn("horizontalpodautoscalers/status", [r["name"] for r in v1["resources"]])
        code, apps, _ = self.s.http("GET", "/apis/apps/v1")
        scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
        self.assertEqual((scale["group"], scale["version"], scale["kind"]),
                         ("autoscaling", "v1", "Scale"))
        code, api, _ = self.s.http("GET", "/api")
        self.assertEqual((api["kind"], api["versions"]), ("APIVersions", ["v1"]))

    # -- the sample set ----------------------------------------------------------------------
    def test_apply_samples_then_get_all_namespaces(self):
        lst = self.s.json("get", "deployments,statefulsets,daemonsets,services,configmaps,"
                                 "secrets,persistentvolumeclaims,cronjobs,jobs", "-A")
        got = {(i["kind"], i["metadata"].get("namespace"), i["metadata"]["name"])
               for i in lst["items"]}
        for want in [("Deployment", "shop", "web"), ("Deployment", "shop", "api"),
                     ("StatefulSet", "data", "postgres"), ("DaemonSet", "monitoring",
                                                           "node-exporter"),
                     ("Service", "shop", "web-nodeport"), ("Service", "shop", "payments"),
                     ("ConfigMap", "data", "db-config"), ("Secret", "shop", "web-tls"),
                     ("PersistentVolumeClaim", "data", "data-postgres-0"),
                     ("PersistentVolumeClaim", "data", "data-postgres-1"),
                     ("PersistentVolumeClaim", "data", "archive"),
                     ("CronJob", "shop", "nightly-report"), ("Job", "data", "schema-migration"),
                     ("ConfigMap", "shop", "kube-root-ca.crt")]:
            self.assertIn(want, got)
        items = {(i["kind"], i["metadata"]["name"]): i for i in lst["items"]}
        for item in lst["items"]:
            m = item["metadata"]
            self.assertTrue(m["uid"] and m["resourceVersion"] and m["creationTimestamp"], m)
        types = {n: items[("Service", n)]["spec"]["type"] for n in
                 ("web", "web-nodeport", "web-public", "payments")}
        self.assertEqual(types, {"web": "ClusterIP", "web-nodeport": "NodePort",
                                 "web-public": "LoadBalancer", "payments": "ExternalName"})
        self.assertTrue(items[("Service", "web")]["spec"]["clusterIP"].startswith("10."))
        self.assertEqual(items[("Service", "api-headless")]["spec"]["clusterIP"], "None")
        self.assertEqual(items[("PersistentVolumeClaim", "archive")]["status"]["phase"], "Bound")
        self.assertEqual(items[("PersistentVolumeClaim", "archive")]["spec"]["volumeName"],
                         "archive-pv-0")
        secret = items[("Secret", "api-credentials")]
        self.assertNotIn("stringData", secret)
        self.assertEqual(secret["data"]["username"], "c2hvcA==")
        self.assertEqual(items[("Deployment", "web")]["status"]["readyReplicas"], 3)
        pv = self.s.json("get", "pv", "archive-pv-0")
        self.assertEqual((pv["status"]["phase"], pv["spec"]["claimRef"]["name"]),
                         ("Bound", "archive"))
        # Re-applying unchanged manifests changes nothing on the server.
        rv = self.s.json("get", "configmap", "web-config", "-n", "shop")["metadata"]
        out = self.s.ok("apply", "-f", os.path.join(SAMPLES, "30-monitoring.yaml"))
        self.assertIn("configmap/prometheus-config unchanged", out)
        self.assertEqual(rv, self.s.json("get", "configmap", "web-config", "-n",
                                         "shop")["metadata"])

    def test_custom_resources_in_both_versions(self):
        crd = self.s.json("get", "crd", "databases.demo.cairn.dev")
        conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        self.assertEqual(conds, {"NamesAccepted": "True", "Established": "True"})
        self.assertEqual(crd["status"]["storedVersions"], ["v1"])
        v1 = self.s.json("get", "databases.v1.demo.cairn.dev", "-A")
        beta = self.s.json("get", "databases.v1beta1.demo.cairn.dev", "-A")
        self.assertEqual(names(v1["items"]), ["inventory", "orders"])
        self.assertEqual(names(beta["items"]), ["inventory", "orders"])
        self.assertEqual({i["apiVersion"] for i in v1["items"]}, {"demo.cairn.dev/v1"})
        self.assertEqual({i["apiVersion"] for i in beta["items"]}, {"demo.cairn.dev/v1beta1"})
        inventory = next(i for i in v1["items"] if i["metadata"]["name"] == "inventory")
        self.assertEqual(inventory["spec"]["replicas"], 1)  # v1 schema default
        beta_obj = json.dumps({
            "apiVersion": "demo.cairn.dev/v1beta1", "kind": "Database",
            "metadata": {"name": "made-in-beta", "namespace": "data"},
            "spec": {"engine": "postgres", "unknownField": "pruned"}})
        strict = self.s.kubectl("create", "-f", "-", stdin=beta_obj)
        self.assertIn('Database in version "v1beta1" cannot be handled as a Database: strict '
                      'decoding error: unknown field "spec.unknownField"', strict.stderr)
        warn = self.s.kubectl("create", "--validate=warn", "-f", "-", stdin=beta_obj)
        self.assertIn("database.demo.cairn.dev/made-in-beta created", warn.stdout)
        self.assertIn('Warning: unknown field "spec.unknownField"', warn.stderr)
        got = self.s.json("get", "databases.v1.demo.cairn.dev", "made-in-beta", "-n", "data")
        self.assertEqual(got["apiVersion"], "demo.cairn.dev/v1")
        self.assertNotIn("unknownField", got["spec"])
        bad = self.s.kubectl("create", "-f", "-", stdin=json.dumps({
            "apiVersion": "demo.cairn.dev/v1", "kind": "Database",
            "metadata": {"name": "bad-engine", "namespace": "data"},
            "spec": {"engine": "oracle"}}))
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn('spec.engine: Unsupported value: "oracle"', bad.stderr)
        self.s.ok("patch", "database", "orders", "-n", "data", "--subresource=status",
                  "--type=merge", "-p", '{"status":{"phase":"Ready","replicas":2}}')
        self.s.ok("patch", "database", "orders", "-n", "data", "--type=merge",
                  "-p", '{"status":{"phase":"Ignored"}}')
        self.assertEqual(self.s.json("get", "database", "orders", "-n", "data")["status"],
                         {"phase": "Ready", "replicas": 2})
        self.s.ok("scale", "database/orders", "-n", "data", "--replicas=3")
        self.assertEqual(self.s.json("get", "db", "orders", "-n", "data")["spec"]["replicas"], 3)

    def test_crd_lifecycle_adds_and_removes_resources(self):
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "widgets.test.cairn.dev"},
               "spec": {"group": "test.cairn.dev", "scope": "Cluster",
                        "names": {"plural": "widgets", "kind": "Widget"},
                        "versions": [{"name": "v1", "served": True, "storage": True,
                                      "schema": {"openAPIV3Schema": {
                                          "type": "object",
                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}
        self.s.ok("create", "-f", "-", stdin=json.dumps(crd))
        self.s.ok("create", "-f", "-", stdin=json.dumps(
            {"apiVersion": "test.cairn.dev/v1", "kind": "Widget", "metadata": {"name": "w1"},
             "spec": {"size": 3}}))
        self.assertIn("widgets", self.s.ok("api-resources", "--api-group=test.cairn.dev"))
        self.assertEqual(names(self.s.json("get", "widgets")["items"]), ["w1"])
        self.s.ok("delete", "crd", "widgets.test.cairn.dev")
        code, _, _ = self.s.http("GET", "/apis/test.cairn.dev/v1/widgets")
        self.assertEqual(code, 404)
        self.assertNotIn("test.cairn.dev", self.s.ok("api-versions"))

    # -- events, namespaces, paging ----------------------------------------------------------
    def test_get_events(self):
        out = self.s.ok("get", "events", "-n", "shop")
        self.assertIn("ScalingReplicaSet", out)
        self.assertIn("deployment/web", out)
        ev = self.s.json("get", "events.v1.events.k8s.io", "-n", "data")
        notes = [e.get("note", "") for e in ev["items"]]
        self.assertTrue(any("create Claim data-postgres-0" in n for n in notes), notes)
        self.assertEqual(ev["items"][0]["apiVersion"], "events.k8s.io/v1")
        sel = self.s.json("get", "events", "-n", "data", "--field-selector",
                          "involvedObject.kind=StatefulSet,reason=SuccessfulCreate")
        self.assertEqual(len(sel["items"]), 2)

    def test_delete_namespace_cascades(self):
        self.s.ok("create", "namespace", "doomed")
        self.s.ok("create", "configmap", "c1", "-n", "doomed", "--from-literal=a=b")
        self.s.ok("create", "secret", "generic", "s1", "-n", "doomed", "--from-literal=a=b")
        self.s.ok("create", "-f", "-", stdin=json.dumps({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "claim", "namespace": "doomed"},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}))
        pv = self.s.json("get", "pvc", "claim", "-n", "doomed")["spec"]["volumeName"]
        self.assertIn("namespace \"doomed\" deleted", self.s.ok("delete", "namespace", "doomed"))
        for kind in ("configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims"):
            code, body, _ = self.s.http("GET", f"/api/v1/namespaces/doomed/{kind}")
            self.assertEqual((code, body["items"]), (200, []), kind)
        self.assertNotIn("doomed", self.s.ok("get", "namespaces", "-o", "name"))
        out = self.s.kubectl("create", "configmap", "late", "-n", "doomed")
        self.assertIn('namespaces "doomed" not found', out.stderr)
        self.assertIn("NotFound", self.s.kubectl("get", "pv", pv).stderr)

    def test_released_volume_rebinds_when_claim_ref_uid_is_cleared(self):
        self.s.ok("create", "namespace", "rebind")
        self.s.ok("create", "-f", "-", stdin=json.dumps({
            "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "rebind-pv"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": "manual", "hostPath": {"path": "/srv/rebind"},
                     "claimRef": {"namespace": "rebind", "name": "claim"}}}))
        claim = json.dumps({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "claim", "namespace": "rebind"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                     "volumeName": "rebind-pv", "resources": {"requests": {"storage": "1Gi"}}}})
        self.s.ok("create", "-f", "-", stdin=claim)
        self.assertEqual(self.s.json("get", "pv", "rebind-pv")["status"]["phase"], "Bound")
        self.s.ok("delete", "pvc", "claim", "-n", "rebind")
        self.assertEqual(self.s.json("get", "pv", "rebind-pv")["status"]["phase"], "Released")
        self.s.ok("create", "-f", "-", stdin=claim)
        pvc = self.s.json("get", "pvc", "claim", "-n", "rebind")
        self.assertEqual(pvc["status"]["phase"], "Pending")
        self.s.ok("patch", "pv", "rebind-pv", "--type=json", "-p",
                  '[{"op":"remove","path":"/spec/claimRef/uid"}]')
        self.assertEqual(self.s.json("get", "pvc", "claim", "-n", "rebind")["status"]["phase"],
                         "Bound")
        pv = self.s.json("get", "pv", "rebind-pv")
        self.assertEqual((pv["status"]["phase"], pv["spec"]["claimRef"]["uid"]),
                         ("Bound", pvc["metadata"]["uid"]))

    def test_claim_marked_bind_completed_against_a_claim_ref_without_uid_is_lost(self):
        # What restoring a bound claim with its annotations does on a real cluster: the PV
        # controller's syncBoundClaim sees a volume claimed by another uid (none).
        self.s.ok("create", "namespace", "misbound")
        pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "PVNAME"},
              "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                       "storageClassName": "manual", "persistentVolumeReclaimPolicy": "Retain",
                       "hostPath": {"path": "/srv/misbound"},
                       "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                                    "namespace": "misbound", "name": "CLAIM"}}}
        claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                 "metadata": {"name": "CLAIM", "namespace": "misbound", "annotations": {
                     "pv.kubernetes.io/bind-completed": "yes",
                     "pv.kubernetes.io/bound-by-controller": "yes"}},
                 "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                          "volumeName": "PVNAME",
                          "resources": {"requests": {"storage": "1Gi"}}}}

        def create(name, annotated):
            v = json.loads(json.dumps(pv).replace("PVNAME", name).replace("CLAIM", name))
            c = json.loads(json.dumps(claim).replace("PVNAME", name).replace("CLAIM", name))
            if not annotated:
                del c["metadata"]["annotations"]
            self.s.ok("create", "-f", "-", stdin=json.dumps(v))
            self.s.ok("create", "-f", "-", stdin=json.dumps(c))
            return (self.s.json("get", "pvc", name, "-n", "misbound"),
                    self.s.json("get", "pv", name))

        pvc, vol = create("lost", True)
        self.assertEqual(pvc["status"]["phase"], "Lost")
        self.assertEqual(vol["status"]["phase"], "Available")
        self.assertNotIn("uid", vol["spec"]["claimRef"])
        ev = self.s.json("get", "events", "-n", "misbound", "--field-selector",
                         "involvedObject.name=lost,reason=ClaimMisbound")["items"]
        self.assertEqual([(e["type"], e["message"]) for e in ev],
                         [("Warning", "Two claims are bound to the same volume, this one is "
                                      "bound incorrectly")])
        # Without the annotations the controller binds them and fills the claimRef's uid.
        pvc, vol = create("rebound", False)
        self.assertEqual((pvc["status"]["phase"], vol["status"]["phase"]), ("Bound", "Bound"))
        self.assertEqual(vol["spec"]["claimRef"]["uid"], pvc["metadata"]["uid"])
        self.assertEqual(pvc["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"], "yes")
        # A claim marked bound whose volume does not exist is Lost too.
        c = json.loads(json.dumps(claim).replace("PVNAME", "nowhere").replace("CLAIM", "orphan"))
        self.s.ok("create", "-f", "-", stdin=json.dumps(c))
        self.assertEqual(self.s.json("get", "pvc", "orphan", "-n", "misbound")["status"]["phase"],
                         "Lost")

    def test_job_selector_is_generated_and_a_foreign_one_refused(self):
        self.s.ok("create", "namespace", "jobs")
        self.s.ok("create", "job", "once", "-n", "jobs", "--image=busybox")
        job = self.s.json("get", "job", "once", "-n", "jobs")
        uid = job["metadata"]["uid"]
        self.assertEqual(job["spec"]["selector"],
                         {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        labels = job["spec"]["template"]["metadata"]["labels"]
        for key, value in (("controller-uid", uid), ("batch.kubernetes.io/controller-uid", uid),
                           ("job-name", "once"), ("batch.kubernetes.io/job-name", "once")):
            self.assertEqual(labels[key], value)
        # The same Job created again elsewhere (a restore that keeps the selector) is refused.
        copy = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "once", "namespace": "default"},
                "spec": {k: v for k, v in job["spec"].items()}}
        out = self.s.kubectl("create", "-f", "-", stdin=json.dumps(copy))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('The Job "once" is invalid', out.stderr)
        self.assertIn("spec.selector: Invalid value", out.stderr)
        self.assertIn("`selector` not auto-generated", out.stderr)
        self.assertIn("spec.template.metadata.labels[controller-uid]: Invalid value", out.stderr)
        # Without the generated selector and labels it is accepted and gets new ones.
        del copy["spec"]["selector"]
        for key in ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
                    "batch.kubernetes.io/job-name"):
            del copy["spec"]["template"]["metadata"]["labels"][key]
        self.s.ok("create", "-f", "-", stdin=json.dumps(copy))
        again = self.s.json("get", "job", "once", "-n", "default")
        self.assertNotEqual(again["metadata"]["uid"], uid)
        self.assertEqual(again["spec"]["selector"]["matchLabels"],
                         {"batch.kubernetes.io/controller-uid": again["metadata"]["uid"]})
        # manualSelector: the user's selector and labels are taken as they are.
        manual = {"apiVersion": "batch/v1", "kind": "Job",
                  "metadata": {"name": "manual", "namespace": "jobs"},
                  "spec": {"manualSelector": True,
                           "selector": {"matchLabels": {"run": "manual"}},
                           "template": {"metadata": {"labels": {"run": "manual"}},
                                        "spec": {"restartPolicy": "Never", "containers": [
                                            {"name": "c", "image": "busybox"}]}}}}
        self.s.ok("create", "-f", "-", stdin=json.dumps(manual))
        got = self.s.json("get", "job", "manual", "-n", "jobs")
        self.assertEqual(got["spec"]["selector"], {"matchLabels": {"run": "manual"}})
        self.assertEqual(got["spec"]["template"]["metadata"]["labels"], {"run": "manual"})

    def test_node_port_ownership_in_managed_fields(self):
        def node_port_owners(name):
            svc = self.s.json("get", "service", name, "-n", "default", "--show-managed-fields")
            owners = []
            for entry in svc["metadata"]["managedFields"]:
                ports = entry.get("fieldsV1", {}).get("f:spec", {}).get("f:ports", {})
                if any("f:nodePort" in v for v in ports.values() if isinstance(v, dict)):
                    owners.append(entry["manager"])
            return svc, owners

        # Allocated by the server: nobody owns it (nor the cluster IP).
        self.s.ok("create", "service", "nodeport", "assigned", "--tcp=80:80")
        svc, owners = node_port_owners("assigned")
        self.assertTrue(30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767)
        self.assertEqual(owners, [])
        self.assertNotIn("f:clusterIP", json.dumps(svc["metadata"]["managedFields"]))
        # Set by the client, on create or by server-side apply: its manager owns it.
        self.s.ok("create", "service", "nodeport", "chosen", "--tcp=80:80", "--node-port=30991")
        self.assertEqual(node_port_owners("chosen")[1], ["kubectl-create"])
        applied = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "applied", "namespace": "default"},
                   "spec": {"type": "NodePort", "selector": {"app": "a"},
                            "ports": [{"port": 80, "nodePort": 30992}]}}
        self.s.ok("apply", "--server-side", "--field-manager=flux", "-f", "-",
                  stdin=json.dumps(applied))
        svc, owners = node_port_owners("applied")
        self.assertEqual((svc["spec"]["ports"][0]["nodePort"], owners), (30992, ["flux"]))
        # The port is taken now: another Service asking for it is refused.
        applied["metadata"]["name"] = "second"
        out = self.s.kubectl("apply", "--server-side", "--field-manager=flux", "-f", "-",
                             stdin=json.dumps(applied))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("spec.ports[0].nodePort: Invalid value: 30992: provided port is already "
                      "allocated", out.stderr)

    def test_paging_with_chunk_size(self):
        self.s.ok("create", "namespace", "paging")
        for i in range(7):
            self.s.ok("create", "configmap", f"page-{i}", "-n", "paging")
        self.s.http("DELETE", "/__admin/requests")
        out = self.s.ok("get", "configmaps", "-n", "paging", "--chunk-size=2", "-o", "name")
        self.assertEqual(len(out.split()), 8)
        reqs = [r for r in self.s.requests() if r["path"] == "/api/v1/namespaces/paging/configmaps"]
        self.assertEqual(len(reqs), 4, reqs)
        self.assertTrue(all(r["query"].get("limit") == "2" for r in reqs))
        self.assertNotIn("continue", reqs[0]["query"])
        self.assertTrue(all(r["query"].get("continue") for r in reqs[1:]))
        out = self.s.ok("get", "configmaps", "-A", "--chunk-size=2")
        self.assertIn("page-6", out)
        code, first, _ = self.s.http("GET", "/api/v1/namespaces/paging/configmaps?limit=3")
        self.assertEqual((len(first["items"]), first["metadata"]["remainingItemCount"]), (3, 5))

    def test_expired_continue_token_is_410(self):
        code, first, _ = self.s.http("GET", "/api/v1/configmaps?limit=1")
        token = first["metadata"]["continue"]
        self.s.admin({"expire_continue_tokens": True})
        code, body, _ = self.s.http("GET", f"/api/v1/configmaps?limit=1&continue={token}")
        self.assertEqual((code, body["reason"], body["code"]), (410, "Expired", 410))
        self.assertIn("continue", body["metadata"])
        out = self.s.kubectl("get", "--raw", f"/api/v1/configmaps?limit=1&continue={token}")
        self.assertIn("Error from server (Expired)", out.stderr)
        code, again, _ = self.s.http("GET", "/api/v1/configmaps?limit=1")
        code, nxt, _ = self.s.http("GET", "/api/v1/configmaps?limit=1&continue="
                                   + again["metadata"]["continue"])
        self.assertEqual(code, 200)

    # -- errors ------------------------------------------------------------------------------
    def test_errors_like_the_real_server(self):
        out = self.s.kubectl("get", "configmap", "missing", "-n", "shop")
        self.assertIn('Error from server (NotFound): configmaps "missing" not found', out.stderr)
        out = self.s.kubectl("get", "deployment", "missing", "-n", "shop")
        self.assertIn('deployments.apps "missing" not found', out.stderr)
        cm = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "twice", "namespace": "default"}})
        self.s.ok("create", "-f", "-", stdin=cm)
        out = self.s.kubectl("create", "-f", "-", stdin=cm)
        self.assertIn('Error from server (AlreadyExists): error when creating "STDIN": '
                      'configmaps "twice" already exists', out.stderr)
        stale = self.s.json("get", "configmap", "twice")
        self.s.ok("label", "configmap", "twice", "touched=yes")
        out = self.s.kubectl("replace", "-f", "-", stdin=json.dumps(stale))
        self.assertIn("Error from server (Conflict)", out.stderr)
        self.assertIn("the object has been modified", out.stderr)
        out = self.s.kubectl("create", "configmap", "Bad_Name")
        self.assertIn('ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: '
                      '"Bad_Name": a lowercase RFC 1123 subdomain', out.stderr)
        out = self.s.kubectl("create", "configmap", "x", "-n", "nowhere")
        self.assertIn('namespaces "nowhere" not found', out.stderr)
        code, body, _ = self.s.http("GET", "/api/v1/namespaces/default/configmaps/missing")
        self.assertEqual(body, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure",
                                "message": 'configmaps "missing" not found',
                                "reason": "NotFound",
                                "details": {"name": "missing", "kind": "configmaps"},
                                "code": 404})
        code, body, _ = self.s.http("POST", "/api/v1/namespaces/default/configmaps",
                                    {"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "x", "namespace": "other"}})
        self.assertEqual((code, body["reason"]), (400, "BadRequest"))

    def test_unauthorized_without_valid_token(self):
        code, body, _ = self.s.http("GET", "/api/v1/namespaces", token="wrong")
        self.assertEqual((code, body["reason"]), (401, "Unauthorized"))
        bad = os.path.join(self.s.dir, "bad-kubeconfig")
        with open(self.s.kubeconfig) as f, open(bad, "w") as g:
            g.write(f.read().replace(self.s.token, "not-the-token"))
        out = self.s.kubectl("get", "namespaces", kubeconfig=bad)
        self.assertIn("Unauthorized", out.stderr)

    def test_client_certificate_kubeconfig(self):
        cert = os.path.join(self.s.state, "kubeconfig-cert")
        with open(cert) as f:
            text = f.read()
        self.assertIn("client-certificate-data:", text)
        self.assertIn("client-key-data:", text)
        self.assertIn("default", self.s.ok("get", "namespaces", kubeconfig=cert))
        who = self.s.ok("auth", "whoami", kubeconfig=cert)
        self.assertIn("kubernetes-admin", who)

    def test_forbidden_resource(self):
        self.s.admin({"forbid": {"resource": "secrets", "verb": "list", "namespace": "shop"}})
        out = self.s.kubectl("get", "secrets", "-n", "shop")
        self.assertIn('Error from server (Forbidden): secrets is forbidden: User '
                      '"cairn-test-admin" cannot list resource "secrets" in API group "" in the '
                      'namespace "shop"', out.stderr)
        self.s.ok("get", "secrets", "-n", "data")
        self.s.ok("get", "secret", "web-tls", "-n", "shop")
        self.assertEqual(self.s.kubectl("auth", "can-i", "list", "secrets", "-n",
                                        "shop").stdout.strip(), "no")

    def test_503_fault_retried_only_with_retry_after(self):
        path = "/api/v1/namespaces/monitoring/configmaps"
        self.s.admin({"fail": {"path_regex": path, "status": 503, "count": 1}})
        out = self.s.kubectl("get", "configmaps", "-n", "monitoring")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("Error from server (ServiceUnavailable)", out.stderr)
        self.s.http("DELETE", "/__admin/requests")
        self.s.admin({"fail": {"path_regex": path, "status": 503, "count": 2,
                               "retry_after": 1}})
        self.assertIn("prometheus-config", self.s.ok("get", "configmaps", "-n", "monitoring"))
        statuses = [r["status"] for r in self.s.requests() if r["path"] == path]
        self.assertEqual(statuses, [503, 503, 200])
        self.s.admin({"fail": {"path_regex": path, "status": 429, "count": 1}})
        self.assertIn("prometheus-config", self.s.ok("get", "configmaps", "-n", "monitoring"))
        self.s.admin({"fail": {"path_regex": path, "status": 500, "count": 1}})
        code, body, _ = self.s.http("GET", path)
        self.assertEqual((code, body["reason"]), (500, "InternalError"))
        self.s.admin({"latency": {"path_regex": path, "ms": 400, "count": 1}})
        start = time.monotonic()
        self.assertEqual(self.s.http("GET", path)[0], 200)
        self.assertGreaterEqual(time.monotonic() - start, 0.4)
        self.s.admin({"fail": {"path_regex": path, "status": 0, "count": 1}})
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            self.s.http("GET", path)
        self.assertEqual(self.s.http("GET", path)[0], 200)

    # -- selectors ---------------------------------------------------------------------------
    def test_label_and_field_selectors(self):
        def sel(*args):
            return names(self.s.json("get", "configmaps", "-A", *args)["items"])
        self.assertEqual(sel("-l", "app=web,tier!=db"), ["web-config", "web-static"])
        self.assertEqual(sel("-l", "env in (prod,staging)"),
                         ["api-config", "db-config", "prometheus-config", "web-config"])
        self.assertEqual(sel("-l", "env notin (prod),app"),
                         ["api-config", "legacy-settings", "prometheus-config", "web-static"])
        without = sel("-l", "!legacy")
        self.assertNotIn("legacy-settings", without)
        self.assertIn("kube-root-ca.crt", without)
        self.assertEqual(sel("-l", "legacy"), ["legacy-settings"])
        self.assertEqual(sel("--field-selector", "metadata.name=db-config"), ["db-config"])
        self.assertEqual(sel("--field-selector", "metadata.namespace=data,"
                                                 "metadata.name!=kube-root-ca.crt"),
                         ["db-config"])
        out = self.s.kubectl("get", "configmaps", "--field-selector", "spec.nope=1")
        self.assertIn("field label not supported: spec.nope", out.stderr)
        self.assertEqual(names(self.s.json("get", "deployments", "-A", "-l",
                                           "tier=backend,!legacy")["items"]), ["api"])

    # -- patch and apply ---------------------------------------------------------------------
    def test_server_side_apply_and_conflicts(self):
        manifest = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "ssa", "namespace": "default"},
                               "data": {"a": "1", "b": "2"}})
        self.assertIn("serverside-applied", self.s.ok("apply", "--server-side", "-f", "-",
                                                      stdin=manifest))
        cm = self.s.json("get", "configmap", "ssa", "--show-managed-fields")
        mf = cm["metadata"]["managedFields"]
        self.assertEqual([(m["manager"], m["operation"]) for m in mf], [("kubectl", "Apply")])
        self.assertEqual(mf[0]["fieldsV1"]["f:data"], {"f:a": {}, "f:b": {}})
        self.s.ok("patch", "configmap", "ssa", "--type=merge", "--field-manager=other",
                  "-p", '{"data":{"a":"changed"}}')
        out = self.s.kubectl("apply", "--server-side", "-f", "-", stdin=manifest)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('Apply failed with 1 conflict: conflict with "other" using v1: .data.a',
                      out.stderr)
        self.s.ok("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=manifest)
        self.assertEqual(self.s.json("get", "configmap", "ssa")["data"], {"a": "1", "b": "2"})
        smaller = json.loads(manifest)
        del smaller["data"]["b"]
        self.s.ok("apply", "--server-side", "-f", "-", stdin=json.dumps(smaller))
        self.assertEqual(self.s.json("get", "configmap", "ssa")["data"], {"a": "1"})
        created = self.s.ok("apply", "--server-side", "-f", "-", stdin=json.dumps(
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "ssa-deploy", "namespace": "default"},
             "spec": {"selector": {"matchLabels": {"app": "s"}},
                      "template": {"metadata": {"labels": {"app": "s"}},
                                   "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}))
        self.assertIn("deployment.apps/ssa-deploy serverside-applied", created)

    def test_merge_and_strategic_patch(self):
        self.s.ok("create", "deployment", "patchme", "--image=nginx:1.0", "--replicas=1")
        before = self.s.json("get", "deployment", "patchme")
        self.s.ok("patch", "deployment", "patchme", "--type=merge",
                  "-p", '{"spec":{"replicas":4},"metadata":{"labels":{"patched":"yes"}}}')
        after = self.s.json("get", "deployment", "patchme")
        self.assertEqual((after["spec"]["replicas"], after["metadata"]["labels"]["patched"]),
                         (4, "yes"))
        self.assertEqual(after["metadata"]["generation"], before["metadata"]["generation"] + 1)
        self.assertGreater(int(after["metadata"]["resourceVersion"]),
                           int(before["metadata"]["resourceVersion"]))
        self.s.ok("patch", "deployment", "patchme", "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [
                {"name": "sidecar", "image": "busybox:1"}]}}}}))
        containers = self.s.json("get", "deployment", "patchme")["spec"]["template"]["spec"][
            "containers"]
        self.assertEqual([c["name"] for c in containers], ["nginx", "sidecar"])
        self.s.ok("set", "image", "deployment/patchme", "nginx=nginx:2.0")
        containers = self.s.json("get", "deployment", "patchme")["spec"]["template"]["spec"][
            "containers"]
        self.assertEqual([c["image"] for c in containers], ["nginx:2.0", "busybox:1"])
        self.s.ok("patch", "deployment", "patchme", "--type=json",
                  "-p", '[{"op":"remove","path":"/metadata/labels/patched"}]')
        self.assertNotIn("patched", self.s.json("get", "deployment", "patchme")["metadata"][
            "labels"])

    def test_apply_a_list_document(self):
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "from-list", "namespace": "default"}, "data": {"a": "1"}},
            {"apiVersion": "v1", "kind": "Secret",
             "metadata": {"name": "from-list", "namespace": "default"},
             "stringData": {"b": "2"}}]})
        out = self.s.ok("apply", "-f", "-", stdin=doc)
        self.assertIn("configmap/from-list created", out)
        self.assertIn("secret/from-list created", out)
        self.assertIn("configmap/from-list unchanged", self.s.ok("apply", "-f", "-", stdin=doc))

    def test_service_allocation_and_node_port_collision(self):
        out = self.s.kubectl("create", "service", "nodeport", "clash", "--tcp=80:80",
                             "--node-port=30080")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('Service "clash" is invalid: spec.ports[0].nodePort: Invalid value: '
                      '30080: provided port is already allocated', out.stderr)
        self.s.ok("create", "service", "nodeport", "fresh", "--tcp=80:80")
        svc = self.s.json("get", "service", "fresh")
        port = svc["spec"]["ports"][0]["nodePort"]
        self.assertTrue(30000 <= port <= 32767)
        ip = self.s.json("get", "service", "web", "-n", "shop")["spec"]["clusterIP"]
        code, body, _ = self.s.http("POST", "/api/v1/namespaces/default/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ipclash"},
            "spec": {"clusterIP": ip, "ports": [{"port": 80}]}})
        self.assertEqual((code, body["reason"]), (422, "Invalid"))
        self.assertIn("provided IP is already allocated", body["message"])

    def test_generate_name_and_watch(self):
        obj = json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"generateName": "gen-", "namespace": "default"}})
        out = self.s.ok("create", "-f", "-", stdin=obj)
        self.assertRegex(out, r"configmap/gen-[a-z0-9]{5} created")
        env = {"HOME": self.s.home, "PATH": os.environ.get("PATH", "")}
        watcher = subprocess.Popen([KUBECTL, "--kubeconfig", self.s.kubeconfig, "get",
                                    "configmaps", "-n", "default", "--watch-only",
                                    "--output-watch-events", "--no-headers"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                   env=env)
        try:
            time.sleep(1.0)
            self.s.ok("create", "configmap", "watched")
            self.s.ok("delete", "configmap", "watched")
            lines = [watcher.stdout.readline().split()[:2] for _ in range(2)]
        finally:
            watcher.kill()
            watcher.wait()
            watcher.stdout.close()
        self.assertEqual(lines, [["ADDED", "watched"], ["DELETED", "watched"]])


@unittest.skipUnless(KUBECTL, "kubectl is not installed")
class SeedsAndYaml(unittest.TestCase):
    def test_samples_and_seed_files_at_startup(self):
        d = tempfile.mkdtemp()
        try:
            path = os.path.join(d, "seed.yaml")
            with open(path, "w") as f:
                f.write(TORTURE_YAML)
            s = KubeApiServer("--samples", "--seed", path, "--key-type", "rsa")
        finally:
            shutil.rmtree(d)
        try:
            self.assertEqual(names(s.json("get", "databases", "-A")["items"]),
                             ["inventory", "orders"])
            self.assertEqual(s.json("get", "pvc", "data-postgres-1", "-n", "data")["status"][
                "phase"], "Bound")
            cm = s.json("get", "configmap", "torture", "-n", "default")
            self.assertEqual(cm["data"]["folded"],
                             "first line same paragraph\nsecond paragraph\n  indented kept\n"
                             "back\n")
            with open(os.path.join(s.state, "kubeconfig-cert")) as f:
                self.assertIn("client-key-data", f.read())
            self.assertIn("default", s.ok("get", "ns", kubeconfig=os.path.join(
                s.state, "kubeconfig-cert")))
        finally:
            s.stop()

    def test_yaml_subset_parser_matches_kubectl(self):
        sys.path.insert(0, SERVER_DIR)
        import yamlmini
        s = KubeApiServer("--samples")
        try:
            files = [os.path.join(SAMPLES, f) for f in sorted(os.listdir(SAMPLES))
                     if f.endswith(".yaml")] + [os.path.join(SAMPLES, "custom", "databases.yaml")]
            torture = os.path.join(s.dir, "torture.yaml")
            with open(torture, "w") as f:
                f.write(TORTURE_YAML)
            for path in files + [torture]:
                with open(path) as f:
                    mine = yamlmini.load_all(f.read())
                out = s.ok("create", "--dry-run=client", "-o", "json", "--validate=false",
                           "-f", path)
                dec, theirs, i = json.JSONDecoder(), [], 0
                while i < len(out.strip()):
                    obj, i = dec.raw_decode(out.strip(), i)
                    theirs.append(obj)
                    while i < len(out) and out[i].isspace():
                        i += 1
                for a, b in zip(mine, theirs):
                    if "namespace" not in a.get("metadata", {}):
                        b.get("metadata", {}).pop("namespace", None)
                self.assertEqual(mine, theirs, path)
        finally:
            s.stop()

    def test_many_configmaps_page_quickly(self):
        d = tempfile.mkdtemp()
        try:
            items = [{"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": f"cm-{i:05d}", "namespace": "default",
                                   "labels": {"n": str(i % 10)}}, "data": {"k": "v" * 64}}
                     for i in range(20000)]
            path = os.path.join(d, "many.json")
            with open(path, "w") as f:
                json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
            s = KubeApiServer("--seed", path, "--no-controllers")
        finally:
            shutil.rmtree(d)
        try:
            start = time.monotonic()
            count, pages, token = 0, 0, ""
            while True:
                code, body, _ = s.http("GET", "/api/v1/namespaces/default/configmaps?limit=500"
                                       + (f"&continue={token}" if token else ""))
                self.assertEqual(code, 200)
                count += len(body["items"])
                pages += 1
                token = body["metadata"].get("continue")
                if not token:
                    break
            elapsed = time.monotonic() - start
            self.assertEqual((count, pages), (20000, 40))
            self.assertLess(elapsed, 5.0)
            code, body, _ = s.http("GET", "/api/v1/configmaps?limit=500&labelSelector=n%3D3")
            self.assertEqual(len(body["items"]), 500)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
