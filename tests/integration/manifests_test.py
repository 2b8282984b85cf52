"""The Kubernetes manifests of cronjobs/ as a platform engineer deploys them: every overlay
renders with `kubectl kustomize`, passes `kubectl apply --dry-run=server` against the API test
server (which validates CronJobs, Jobs, RBAC and the PrometheusRule schema and warns about Pod
Security violations as the real one does), and the rendered YAML keeps its promises: the
Pod Security `restricted` settings of every pod template, least-privilege RBAC, CronJob
settings in step with the config, podFailurePolicy, mounts and sizing. The README's one-liners
for manual runs work with the real kubectl."""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unittest

from cairn_test_support import SOURCE, KubeApiServer, run

sys.path.insert(0, os.path.join(SOURCE, "hack", "kube-api-server"))
import yamlmini  # noqa: E402

from rbac_eval import WRITE_VERBS  # noqa: E402

# "OVERLAY+COMPONENT": the overlay with one more component, as a user's kustomization adds it.
VOLUMES = "overlays/kind+components/volumes"
OVERLAYS = ["base", "overlays/kind", "overlays/example-s3", VOLUMES]
# What the volumes component may let each ServiceAccount write, cluster-wide (its rbac.yaml).
VOLUME_WRITES = {
    "cairn-backup": {"jobs", "secrets", "persistentvolumeclaims", "volumesnapshots",
                     "volumesnapshotcontents"},
    "cairn-restore": {"jobs", "secrets", "volumesnapshots", "volumesnapshotcontents"},
    "cairn-gc": {"volumesnapshots", "volumesnapshotcontents"},
}
CRD = os.path.join(SOURCE, "tests", "integration", "fixtures", "prometheusrule-crd.yaml")
MEASURED_PEAK_RSS_MIB = 31  # restore-run, 20,000-40,000 objects (runner/ops/restore/README.md)
POD_SECURITY_SLACK_S = 300  # activeDeadlineSeconds = the run's timeout + 5 minutes


def render(overlay):
    base, _, component = overlay.partition("+")
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(SOURCE, "cronjobs", base)
        if component:  # kustomize takes no absolute path: relative ones from a kustomization
            def rel(path):
                return os.path.relpath(os.path.join(SOURCE, "cronjobs", path), tmp)
            with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
                f.write("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                        f"resources: [{rel(base)}]\ncomponents: [{rel(component)}]\n")
            root = tmp
        p = subprocess.run(["kubectl", "kustomize", root], capture_output=True, text=True,
                           timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay} failed: {p.stderr}")
    return p.stdout


def docs_of(text):
    return [d for d in yamlmini.load_all(text) if d]


def pod_templates(docs):
    """(object, pod template) of every object that makes pods."""
    out = []
    for d in docs:
        if d["kind"] == "CronJob":
            out.append((d, d["spec"]["jobTemplate"]["spec"]["template"]))
        elif d["kind"] in ("Job", "Deployment", "StatefulSet", "DaemonSet"):
            out.append((d, d["spec"]["template"]))
    return out


def duration_seconds(text):
    total = 0
    for n, unit in re.findall(r"(\d+)(h|m|s)", text):
        total += int(n) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def mib(quantity):
    m = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


class Rendered(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rendered = {o: render(o) for o in OVERLAYS}
        cls.docs = {o: docs_of(t) for o, t in cls.rendered.items()}

    def each(self):
        return list(self.docs.items())

    def config(self, docs):
        cms = [d for d in docs if d["kind"] == "ConfigMap" and
               d["metadata"]["name"].startswith("cairn-config-")]
        self.assertEqual(len(cms), 1, [d["metadata"]["name"] for d in cms])
        return cms[0], tomllib.loads(cms[0]["data"]["cairn.toml"])

    def test_every_pod_template_is_restricted(self):
        for overlay, docs in self.each():
            templates = pod_templates(docs)
            self.assertGreaterEqual(len(templates), 5)
            for obj, t in templates:
                where = f"{overlay} {obj['kind']}/{obj['metadata']['name']}"
                spec = t["spec"]
                psc = spec.get("securityContext") or {}
                self.assertIs(psc.get("runAsNonRoot"), True, where)
                self.assertEqual(psc["seccompProfile"]["type"], "RuntimeDefault", where)
                self.assertNotEqual(psc.get("runAsUser"), 0, where)
                for key in ("hostNetwork", "hostPID", "hostIPC"):
                    self.assertFalse(spec.get(key), where)
                for v in spec.get("volumes") or []:
                    self.assertNotIn("hostPath", v, where)
                for c in spec.get("initContainers", []) + spec["containers"]:
                    sc = c.get("securityContext") or {}
                    self.assertIs(sc.get("allowPrivilegeEscalation"), False, where)
                    self.assertIs(sc.get("readOnlyRootFilesystem"), True, where)
                    self.assertFalse(sc.get("privileged"), where)
                    self.assertEqual(sc["capabilities"]["drop"], ["ALL"], where)
                    self.assertNotIn("add", sc["capabilities"], where)

    def cairn_cronjobs(self, docs):
        return [d for d in docs if d["kind"] == "CronJob"]

    def test_cairn_pods_mounts_env_and_termination_message(self):
        for overlay, docs in self.each():
            cm, _ = self.config(docs)
            secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
            for cj in self.cairn_cronjobs(docs):
                where = f"{overlay} {cj['metadata']['name']}"
                spec = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                self.assertEqual(spec["restartPolicy"], "Never", where)
                self.assertEqual(spec["securityContext"]["runAsUser"], 65532, where)
                (c,) = spec["containers"]
                self.assertTrue(c["image"].endswith(("cairn:0.1.0", "cairn:dev")), where)
                self.assertTrue(c["command"][0].startswith("/usr/local/bin/"), where)
                self.assertEqual(c["terminationMessagePolicy"], "FallbackToLogsOnError", where)
                env = {e["name"]: e for e in c["env"]}
                self.assertEqual(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"],
                                 "metadata.name", where)
                self.assertEqual(env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"],
                                 "metadata.namespace", where)
                for e in c["env"]:  # credentials never as values in a manifest
                    self.assertNotRegex(e["name"], "SECRET|TOKEN|PASSWORD|ACCESS_KEY", where)
                mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
                volumes = {v["name"]: v for v in spec["volumes"]}
                cfg = volumes[mounts["/etc/cairn"]["name"]]
                self.assertTrue(mounts["/etc/cairn"]["readOnly"], where)
                self.assertEqual(cfg["configMap"]["name"], cm["metadata"]["name"], where)
                creds = volumes[mounts["/var/run/secrets/cairn"]["name"]]
                self.assertTrue(mounts["/var/run/secrets/cairn"]["readOnly"], where)
                self.assertTrue(creds["secret"]["secretName"].startswith(
                    "cairn-vault-credentials"), where)
                if overlay == "overlays/kind":  # generated there, with its hash
                    self.assertIn(creds["secret"]["secretName"], secrets, where)
                tmp = volumes[mounts["/tmp"]["name"]]
                self.assertIn("sizeLimit", tmp["emptyDir"], where)
                size = mib(tmp["emptyDir"]["sizeLimit"])
                self.assertGreaterEqual(size, 1024 if "restore" in where else 256, where)
                self.assertEqual(len(mounts), 3, where)

    def test_config_is_valid_and_names_the_credentials_file(self):
        for overlay, docs in self.each():
            cm, cfg = self.config(docs)
            for name, vault in cfg["vaults"].items():
                self.assertEqual(vault.get("credentials_file"),
                                 "/var/run/secrets/cairn/credentials", name)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "cairn.toml")
                with open(path, "w") as f:
                    f.write(cm["data"]["cairn.toml"])
                # The executables' own loader: exit 2 would be an invalid config.
                r = run("vault-check", "--config", path, "--url", f"file://{d}/vault")
                self.assertIn(r.code, (0, 1), f"{overlay}: {r}")
                self.assertNotRegex(r.all, r"cairn\.toml:\d+:\d+", r)

    def test_backup_cronjobs_follow_their_policies(self):
        for overlay, docs in self.each():
            _, cfg = self.config(docs)
            backups = [d for d in self.cairn_cronjobs(docs)
                       if d["metadata"]["name"].startswith("cairn-backup-")]
            self.assertEqual({d["metadata"]["name"][len("cairn-backup-"):] for d in backups},
                             set(cfg["policies"]), overlay)
            for cj in backups:
                policy = cj["metadata"]["name"][len("cairn-backup-"):]
                spec = cj["spec"]
                c = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
                self.assertEqual(c["command"], ["/usr/local/bin/backup-run"])
                self.assertEqual(c["args"][c["args"].index("--policy") + 1], policy)
                self.assertEqual(spec["schedule"], cfg["policies"][policy]["schedule"], policy)
                self.assertEqual(spec["jobTemplate"]["spec"]["activeDeadlineSeconds"],
                                 duration_seconds(cfg["policies"][policy]["timeout"]) +
                                 POD_SECURITY_SLACK_S, policy)
                self.assertEqual(spec["jobTemplate"]["spec"]["template"]["spec"][
                    "serviceAccountName"], "cairn-backup")
                self.assertNotIn("suspend", spec)

    def test_cronjob_settings(self):
        for overlay, docs in self.each():
            by_name = {d["metadata"]["name"]: d for d in self.cairn_cronjobs(docs)}
            self.assertEqual(by_name["cairn-vault-check"]["spec"]["schedule"], "*/5 * * * *")
            self.assertRegex(by_name["cairn-gc"]["spec"]["schedule"], r"^\d+ \* \* \* \*$")
            for name, cj in by_name.items():
                spec, job = cj["spec"], cj["spec"]["jobTemplate"]["spec"]
                self.assertEqual(spec["concurrencyPolicy"], "Forbid", name)
                self.assertGreater(spec["startingDeadlineSeconds"], 0, name)
                self.assertGreaterEqual(spec["successfulJobsHistoryLimit"], 1, name)
                self.assertGreaterEqual(spec["failedJobsHistoryLimit"], 1, name)
                self.assertEqual(spec["timeZone"], "Etc/UTC", name)
                self.assertIn("backoffLimit", job, name)
                self.assertGreater(job["activeDeadlineSeconds"], 0, name)
                one_off = name in ("cairn-restore", "cairn-convert")
                self.assertEqual(spec.get("suspend", False), one_off, name)
                self.assertEqual("ttlSecondsAfterFinished" in job, one_off, name)
                res = job["template"]["spec"]["containers"][0]["resources"]
                for key in ("cpu", "memory"):
                    self.assertIn(key, res["requests"], name)
                self.assertIn("memory", res["limits"], name)
                if re.search("backup|restore|convert", name):
                    self.assertGreaterEqual(mib(res["requests"]["memory"]),
                                            2 * MEASURED_PEAK_RSS_MIB, name)
                    self.assertGreaterEqual(mib(res["limits"]["memory"]),
                                            4 * mib(res["requests"]["memory"]), name)

    def test_pod_failure_policy(self):
        for overlay, docs in self.each():
            for cj in self.cairn_cronjobs(docs):
                name = cj["metadata"]["name"]
                rules = cj["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
                by_code = {}
                for r in rules:
                    codes = r.get("onExitCodes")
                    if codes:
                        self.assertEqual(codes["operator"], "In", name)
                        self.assertEqual(codes["containerName"], "cairn", name)
                        for v in codes["values"]:
                            by_code.setdefault(v, r["action"])
                self.assertEqual(by_code.get(2), "FailJob", name)  # invalid invocation/config
                self.assertEqual(by_code.get(1), "Count", name)    # failed: retried
                self.assertIn({"action": "Ignore", "onPodConditions": [
                    {"type": "DisruptionTarget"}]}, rules, name)

    def test_rbac_least_privilege(self):
        for overlay, docs in self.each():
            roles = {(d["kind"], d["metadata"]["name"]): d for d in docs
                     if d["kind"] in ("Role", "ClusterRole")}
            bindings = [d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")]
            for (kind, name), role in roles.items():
                for rule in role["rules"]:
                    self.assertNotIn("*", rule["verbs"], f"{kind} {name}")
                    self.assertFalse(set(rule["verbs"]) & {"escalate", "bind", "impersonate"})
                    if kind == "Role":
                        self.assertEqual(role["metadata"]["namespace"], "cairn-system")
            bound = {}
            for b in bindings:
                for s in b["subjects"]:
                    self.assertEqual(s["namespace"], "cairn-system")
                    bound.setdefault(s["name"], []).append(
                        (b["kind"], roles[(b["roleRef"]["kind"], b["roleRef"]["name"])]))
            self.assertEqual(set(bound), {"cairn-backup", "cairn-restore", "cairn-convert",
                                          "cairn-gc", "cairn-vault-check"})
            for sa, held in bound.items():
                for binding_kind, role in held:
                    cluster_wide = binding_kind == "ClusterRoleBinding"
                    if role["metadata"]["name"].endswith("-volumes"):
                        self.assertEqual(overlay, VOLUMES)
                        self.assertEqual(role["metadata"]["name"], f"{sa}-volumes")
                        self.check_volume_rules(sa, role["rules"])
                        continue
                    for rule in role["rules"]:
                        if sa == "cairn-backup" and cluster_wide:
                            self.assertEqual(set(rule["verbs"]), {"get", "list", "watch"})
                        if sa in ("cairn-gc", "cairn-vault-check"):
                            self.assertFalse(cluster_wide, sa)
                        if sa == "cairn-vault-check":
                            self.assertFalse({"secrets", "*"} & set(rule["resources"]), rule)
                        if sa != "cairn-restore" and cluster_wide:
                            self.assertFalse(set(rule["verbs"]) & WRITE_VERBS, (sa, rule))
                        if sa == "cairn-restore":
                            self.assertNotIn("delete", rule["verbs"])

    def check_volume_rules(self, sa, rules):
        """The volumes component: writes only to what movers and snapshots make; never a
        delete for restore-run but of its own movers; namespaces only kube-system's get."""
        for rule in rules:
            writes = set(rule["verbs"]) & WRITE_VERBS
            if writes:
                self.assertLessEqual(set(rule["resources"]), VOLUME_WRITES[sa], (sa, rule))
            if sa == "cairn-restore" and "delete" in writes:
                self.assertEqual(set(rule["resources"]) - {"jobs", "secrets"}, set(), rule)
            if "namespaces" in rule["resources"]:
                self.assertEqual((rule["resourceNames"], rule["verbs"]), (["kube-system"],
                                                                          ["get"]))
        granted = {(g, r, v) for rule in rules for g in rule["apiGroups"]
                   for r in rule["resources"] for v in rule["verbs"]}
        if sa in ("cairn-backup", "cairn-restore"):  # runner/mover/kube_launcher.cc's calls
            for need in [("batch", "jobs", v) for v in ("create", "get", "delete")] + [
                    ("", "secrets", "create"), ("", "secrets", "delete"), ("", "pods", "list")]:
                self.assertIn(need, granted, sa)

    def test_monitoring_component(self):
        for overlay in ("overlays/kind", "overlays/example-s3"):
            docs = self.docs[overlay]
            dashboards = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap" and
                          d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"}
            files = sorted(f for f in os.listdir(os.path.join(SOURCE, "config", "grafana"))
                           if f.endswith(".json"))
            self.assertEqual(sorted(k for d in dashboards.values() for k in d["data"]), files)
            for d in dashboards.values():
                for key, text in d["data"].items():
                    with open(os.path.join(SOURCE, "config", "grafana", key)) as f:
                        self.assertEqual(json.loads(text), json.load(f), key)
            (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
            with open(os.path.join(SOURCE, "config", "prometheus", "cairn-alerts.yml")) as f:
                self.assertEqual(rule["spec"], yamlmini.load(f.read()))
            (scrape,) = [d for d in docs if d["metadata"]["name"] == "cairn-pushgateway-scrape"]
            jobs = yamlmini.load(scrape["data"]["pushgateway-scrape.yml"])
            self.assertIs(jobs[0]["honor_labels"], True)

    def test_pushgateway_scrape_example_is_valid_prometheus_config(self):
        with open(os.path.join(SOURCE, "cronjobs", "components", "monitoring",
                               "pushgateway-scrape.yml")) as f:
            jobs = f.read()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "prometheus.yml")
            with open(path, "w") as f:
                f.write("scrape_configs:\n" + "".join(f"  {line}\n" if line else "\n"
                                                      for line in jobs.splitlines()))
            p = subprocess.run(["promtool", "check", "config", "--syntax-only", path],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class ServerDryRun(unittest.TestCase):
    """kubectl apply --dry-run=server of every overlay, as CI and a GitOps tool's diff do."""

    @classmethod
    def setUpClass(cls):
        cls.kube = KubeApiServer()
        cls.kube.kubectl("apply", "-f", CRD)

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()

    def dry_run(self, text):
        # Namespaces first, for real, as a GitOps tool creates them before their contents
        # (a dry-run create never makes the namespace the rest needs).
        docs = docs_of(text)
        namespaces = [d for d in docs if d["kind"] == "Namespace"]
        self.kube.kubectl("apply", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "List", "items": namespaces}))
        return self.kube.kubectl("apply", "--dry-run=server", "-f", "-", input=text,
                                 check=False)

    def test_every_overlay_passes_without_warnings(self):
        for overlay in OVERLAYS:
            with self.subTest(overlay=overlay):
                text = render(overlay)
                p = self.dry_run(text)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stderr, "", p.stderr)  # no Pod Security warning
                created = [l for l in p.stdout.splitlines() if "(server dry run)" in l]
                self.assertEqual(len(created), len(docs_of(text)), p.stdout)

    def test_a_weakened_pod_is_warned_and_a_broken_job_refused(self):
        text = render("base")
        weak = text.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true")
        p = self.dry_run(weak)
        self.assertIn('would violate PodSecurity "restricted:latest": allowPrivilegeEscalation',
                      p.stderr)
        broken = text.replace("restartPolicy: Never", "restartPolicy: OnFailure")
        p = self.dry_run(broken)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('only "Never" is supported when podFailurePolicy is specified', p.stderr)
        bad_cron = text.replace("schedule: '*/5 * * * *'", "schedule: '*/5 * * *'")
        self.assertNotEqual(bad_cron, text)
        p = self.dry_run(bad_cron)
        self.assertIn("expected exactly 5 fields, found 4", p.stderr)

    def test_server_checks_rbac_pods_and_secrets_as_the_real_one(self):
        self.kube.kubectl("apply", "-f", "-", input=render("base"))
        bad = [
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, "
             "namespace: cairn-system}\nrules:\n- apiGroups: ['']\n  resources: [pods]\n"
             "  verbs: []\n", "rules[0].verbs: Required value: verbs must contain at least one "
             "value"),
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, "
             "namespace: cairn-system}\nrules:\n- nonResourceURLs: [/metrics]\n  verbs: [get]\n",
             "namespaced rules cannot apply to non-resource URLs"),
            ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: "
             "{name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, "
             "name: cairn-backup}\nsubjects:\n- {kind: ServiceAccount, name: cairn-backup}\n",
             "subjects[0].namespace: Required value"),
            ("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: cairn-system}\nspec:\n"
             "  containers: [{name: c, image: busybox}]\n",
             'pods "p" is forbidden: violates PodSecurity "restricted:latest": '
             "allowPrivilegeEscalation != false"),
        ]
        for manifest, message in bad:
            p = self.kube.kubectl("create", "--dry-run=server", "-f", "-", input=manifest,
                                  check=False)
            self.assertNotEqual(p.returncode, 0, manifest)
            self.assertIn(message, p.stderr)
        # Base64 folded over lines, as kustomize writes long Secret values: read back whole.
        text = render("overlays/kind")
        self.assertRegex(text, r"credentials: \|\n")
        self.kube.kubectl("apply", "-f", "-", input=text)
        secret = json.loads(self.kube.kubectl("get", "secret", "-n", "cairn-system", "-o",
                                              "json").stdout)["items"]
        (creds,) = [x for x in secret if x["metadata"]["name"].startswith(
            "cairn-vault-credentials")]
        self.assertIn(b"aws_access_key_id = cairn-kind",
                      base64.b64decode(creds["data"]["credentials"], validate=True))

    def test_manual_run_one_liners(self):
        """README: kubectl create job --from=cronjob/... for a backup, and for a restore and a
        conversion with their arguments set through kubectl set env --local."""
        self.kube.kubectl("apply", "-f", "-", input=render("overlays/kind"))
        k = ["kubectl", "--kubeconfig", self.kube.kubeconfig, "-n", "cairn-system"]
        p = subprocess.run(k + ["create", "job", "--from=cronjob/cairn-backup-apps",
                                "apps-manual-1"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        job = json.loads(self.kube.kubectl("get", "job", "-n", "cairn-system", "apps-manual-1",
                                           "-o", "json").stdout)
        self.assertEqual(job["metadata"]["ownerReferences"][0]["name"], "cairn-backup-apps")
        pipeline = (f"{' '.join(k)} create job --from=cronjob/cairn-restore restore-1 "
                    f"--dry-run=client -o yaml | kubectl set env --local -f - "
                    f"CAIRN_BACKUP=apps-20260101020000 CAIRN_RESTORE_POLICY=copy -o yaml | "
                    f"{' '.join(k)} create -f -")
        p = subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        job = json.loads(self.kube.kubectl("get", "job", "-n", "cairn-system", "restore-1",
                                           "-o", "json").stdout)
        c = job["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in c["env"]}
        self.assertEqual(env["CAIRN_BACKUP"], "apps-20260101020000")
        self.assertEqual(env["CAIRN_RESTORE_POLICY"], "copy")
        self.assertIn("$(CAIRN_BACKUP)", c["args"])
        self.assertIn("POD_NAME", env)
        self.assertEqual(job["spec"]["ttlSecondsAfterFinished"], 604800)


class KindDryRunScript(unittest.TestCase):
    """hack/kind-dry-run's own logic, with the API test server standing in for the kind
    cluster (a `kind` on PATH that reports the cluster as existing, the kubeconfig's context
    renamed kind-cairn): it passes on the overlays and fails on a Pod Security warning."""

    def setUp(self):
        self.kube = KubeApiServer()
        self.addCleanup(self.kube.stop)
        self.bin = tempfile.mkdtemp(prefix="cairn-kind-")
        with open(os.path.join(self.bin, "kind"), "w") as f:
            f.write("#!/bin/sh\n[ \"$1 $2\" = 'get clusters' ] && echo cairn && exit 0\n"
                    "echo \"kind stub: $*\" >&2; exit 1\n")
        os.chmod(os.path.join(self.bin, "kind"), 0o755)
        self.kube.kubectl("config", "rename-context", "cairn-test", "kind-cairn")

    def kind_dry_run(self, source):
        env = dict(os.environ, PATH=f"{self.bin}:{os.environ['PATH']}",
                   KUBECONFIG=self.kube.kubeconfig)
        return subprocess.run([os.path.join(source, "hack", "kind-dry-run")], env=env,
                              capture_output=True, text=True, timeout=180)

    def test_passes_and_fails_on_a_warning(self):
        p = self.kind_dry_run(SOURCE)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("every overlay passes the server dry-run", p.stdout)
        self.assertIn("cronjob.batch/cairn-backup-databases created (server dry run)", p.stdout)
        with tempfile.TemporaryDirectory() as copy:
            for d in ("cronjobs", "hack", "config", "tests"):
                subprocess.run(["cp", "-r", os.path.join(SOURCE, d), copy], check=True)
            pod = os.path.join(copy, "cronjobs", "components", "pod-defaults",
                               "pod-defaults.yaml")
            with open(pod) as f:
                text = f.read()
            with open(pod, "w") as f:
                f.write(text.replace("allowPrivilegeEscalation: false",
                                     "allowPrivilegeEscalation: true"))
            p = self.kind_dry_run(copy)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn('would violate PodSecurity "restricted:latest"', p.stderr)


if __name__ == "__main__":
    unittest.main()
