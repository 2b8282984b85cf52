"""The RBAC of cronjobs/ is exactly what the executables need. Each executable runs as its
CronJob's pod would: the rendered kind overlay applied to the API test server, a Job made with
`kubectl create job --from=cronjob/...`, a pod of that Job named by POD_NAME/POD_NAMESPACE, the
overlay's own config (with a file vault), and the ServiceAccount's own token (`kubectl create
token`), whose requests the server authorizes with the stored RBAC objects as the real one does
(hack/kube-api-server/rbac.py). Every run must succeed without a single 403; every request in
the server's log is also checked against the rendered rules (rbac_eval.py), and the namespaced
Roles must hold nothing the runs did not use. convert-run is not covered (not built here)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from cairn_test_support import KubeApiServer, run
from manifests_test import CRD, docs_of, render
from rbac_eval import Rbac, request_attributes

NS = "cairn-system"


class RbacCoversEveryCall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kube = KubeApiServer("--samples")
        cls.tmp = tempfile.mkdtemp(prefix="cairn-rbac-")
        cls.kube.kubectl("apply", "-f", CRD)
        text = render("overlays/kind")
        cls.docs = docs_of(text)
        cls.rbac = Rbac(cls.docs)
        cls.kube.kubectl("apply", "-f", "-", input=json.dumps(
            {"apiVersion": "v1", "kind": "List",
             "items": [d for d in cls.docs if d["kind"] == "Namespace"]}))
        cls.kube.kubectl("apply", "-f", "-", input=text)
        (cm,) = [d for d in cls.docs if d["kind"] == "ConfigMap" and
                 d["metadata"]["name"].startswith("cairn-config-")]
        cls.config = os.path.join(cls.tmp, "cairn.toml")
        with open(cls.config, "w") as f:
            f.write(cm["data"]["cairn.toml"])
        cls.vault = f"file://{cls.tmp}/vault"
        cls.used = {}  # ServiceAccount -> {(verb, group, resource, subresource)}

    @classmethod
    def tearDownClass(cls):
        cls.kube.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pod_of(self, cronjob, job_name, attempt):
        """A Job from the CronJob (on the first attempt) and a pod of it for this attempt, as
        the Job controller makes them (a retry is a new pod of the same Job)."""
        if attempt == 0:
            self.kube.kubectl("create", "job", "-n", NS, f"--from=cronjob/{cronjob}", job_name)
        job = json.loads(self.kube.kubectl("get", "job", "-n", NS, job_name, "-o",
                                           "json").stdout)
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": f"{job_name}-x7k2{attempt}", "namespace": NS,
                            "labels": job["spec"]["template"]["metadata"]["labels"],
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                                 "name": job_name,
                                                 "uid": job["metadata"]["uid"],
                                                 "controller": True}]},
               "spec": job["spec"]["template"]["spec"]}
        # cairn-system enforces Pod Security "restricted": the template must satisfy it.
        self.kube.kubectl("create", "-f", "-", input=json.dumps(pod))
        return job["spec"]["template"]["spec"]["serviceAccountName"], pod["metadata"]["name"]

    def kubeconfig_of(self, sa):
        """A kubeconfig with the ServiceAccount's token (TokenRequest), as its pod has."""
        path = os.path.join(self.tmp, f"kubeconfig-{sa}")
        if not os.path.exists(path):
            token = self.kube.kubectl("create", "token", sa, "-n", NS).stdout.strip()
            with open(self.kube.kubeconfig) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(re.sub(r"(?m)^(\s+token: ).*$", lambda m: m.group(1) + token, text))
        return path

    def run_as(self, cronjob, job_name, executable, *args, expect=0, attempt=0):
        sa, pod = self.pod_of(cronjob, job_name, attempt)
        kubeconfig = self.kubeconfig_of(sa)
        self.kube.admin({"clear_requests": True})
        r = run(executable, "--config", self.config, "--url", self.vault,
                "--kubeconfig", kubeconfig, *args,
                env={"POD_NAME": pod, "POD_NAMESPACE": NS})
        self.assertEqual(r.code, expect, r)
        requests = self.kube.admin_requests()
        self.assertTrue(requests, "no API request logged")
        self.assertEqual({q["user"] for q in requests}, {f"system:serviceaccount:{NS}:{sa}"},
                         [(q["user"], q["method"], q["path"]) for q in requests][:5])
        self.assertEqual([q for q in requests if q["status"] == 403], [], r)
        denied = []
        for q in requests:
            checks = [request_attributes(q["method"], q["path"], q["query"])]
            if q["method"] == "PATCH" and q["status"] == 201:
                # A patch (server-side apply) that creates the object is also authorized as a
                # create (apiserver handlers/patch.go: createAuthorizerAttributes).
                checks.append(request_attributes("POST", q["path"], q["query"]))
                checks[-1].name = checks[0].name
            for a in checks:
                if not self.rbac.allows(NS, sa, a):
                    denied.append(f"{q['method']} {q['path']} -> {a}")
                elif a.resource_request:
                    self.used.setdefault(sa, set()).add((a.verb, a.group, a.resource,
                                                         a.subresource, a.namespace))
        self.assertEqual(denied, [], f"{sa} lacks permissions for {executable}")
        return r

    def status(self, kind, name):
        cm = json.loads(self.kube.kubectl("get", "cm", "-n", NS, f"cairn-{kind}-{name}",
                                          "-o", "json").stdout)
        return json.loads(cm["data"]["status.json"])

    def assert_roles_exact(self, sa):
        """Every verb on every resource of the ServiceAccount's namespaced Roles was used."""
        used = self.used.get(sa, set())
        for scope, rule in self.rbac.grants(NS, sa):
            if not scope:
                continue
            for group in rule["apiGroups"]:
                for res in rule["resources"]:
                    for verb in rule["verbs"]:
                        self.assertIn(verb, {v for v, g, r, s, ns in used
                                             if g == group and r == res and ns == NS},
                                      f"{sa}: {verb} {res} granted but never used")

    def test_tokens_are_held_to_their_rules(self):
        def as_sa(sa, *args):
            return subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig_of(sa), *args],
                                  capture_output=True, text=True, timeout=60)
        p = as_sa("cairn-vault-check", "get", "secrets", "-n", NS)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('secrets is forbidden: User "system:serviceaccount:cairn-system:'
                      'cairn-vault-check" cannot list resource "secrets" in API group "" in the '
                      'namespace "cairn-system"', p.stderr)
        self.assertEqual(as_sa("cairn-backup", "get", "secrets", "-A").returncode, 0)
        p = as_sa("cairn-backup", "create", "configmap", "x", "-n", "default")
        self.assertIn('cannot create resource "configmaps" in API group "" in the namespace '
                      '"default"', p.stderr)
        p = as_sa("cairn-restore", "delete", "namespace", "shop")
        self.assertIn('cannot delete resource "namespaces"', p.stderr)

    def test_operations_in_order(self):
        # One vault through the whole life cycle: check, back up, restore, collect.
        self.run_as("cairn-vault-check", "vault-check-1", "vault-check", "--init")
        self.run_as("cairn-vault-check", "vault-check-2", "vault-check")
        # A retried pod of the same Job repeats its event: counted on the existing one.
        self.run_as("cairn-vault-check", "vault-check-2", "vault-check", attempt=1)
        self.assertEqual(self.status("vault", "default")["phase"], "Available")
        self.assert_roles_exact("cairn-vault-check")

        self.run_as("cairn-backup-apps", "apps-1", "backup-run", "--policy", "apps",
                    "--name", "apps-1")
        self.run_as("cairn-backup-apps", "apps-1", "backup-run", "--policy", "apps",
                    "--name", "apps-2", attempt=1)  # a retried pod: its events repeat
        self.assertEqual(self.status("backup", "apps-1")["phase"], "Completed")
        self.assert_roles_exact("cairn-backup")
        backup_writes = {(v, r, ns) for v, g, r, s, ns in self.used["cairn-backup"]
                         if v not in ("get", "list", "watch")}
        self.assertTrue(backup_writes)
        self.assertEqual({ns for _, _, ns in backup_writes}, {NS})

        self.run_as("cairn-restore", "restore-1", "restore-run", "--policy", "copy",
                    "--backup", "apps-1", "--name", "restore-1")
        self.assertEqual(self.status("restore", "restore-1")["phase"], "Completed")
        self.kube.kubectl("get", "ns", "shop-restored")

        self.kube.kubectl("create", "cm", "-n", NS, "delete-apps-2",
                          "--from-literal=backup=apps-2")
        self.kube.kubectl("label", "cm", "-n", NS, "delete-apps-2",
                          "cairn.io/delete-request=true")
        time.sleep(1)
        self.run_as("cairn-gc", "gc-1", "gc")
        self.run_as("cairn-gc", "gc-1", "gc", attempt=1)
        gone = self.kube.kubectl("get", "cm", "-n", NS, "delete-apps-2", check=False)
        self.assertNotEqual(gone.returncode, 0, "the delete request was not honoured")
        self.assert_roles_exact("cairn-gc")


if __name__ == "__main__":
    unittest.main()
