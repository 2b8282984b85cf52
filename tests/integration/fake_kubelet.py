"""A fake kubelet and Job controller for the Kubernetes API test server, driven by a test.

With the server's own inline Job controller off (admin `{"job_controller": false}`), this
thread does for every Job what the real job controller, scheduler and kubelet do
(pkg/controller/job/job_controller.go, Kubernetes 1.31):
- creates the Job's pod (`<job>-<5 chars>`, the template's labels, which carry the generated
  controller-uid / job-name labels, and a controlling ownerReference to the Job); Pod
  Security admission of the namespace judges it;
- schedules it: a node affinity that no Node satisfies leaves it Pending with PodScheduled=False
  reason Unschedulable and the scheduler's message ("0/1 nodes are available: ...");
- until the Secrets its env refers to exist, the container waits in CreateContainerConfigError
  (kubelet retries), then runs the container's command and args as a local process;
- Job status: startTime and active=1 once the pod exists, ready=1 while it runs; on exit 0 the
  pod is Succeeded, the Job gets SuccessCriteriaMet then Complete with completionTime and
  succeeded=1; on another exit code the pod is Failed (terminated exitCode, reason Error, the
  log tail as message, terminationMessagePolicy FallbackToLogsOnError) and with backoffLimit 0
  the Job gets FailureTarget then Failed (reason BackoffLimitExceeded, "Job has reached the
  specified backoff limit"), failed=1, no completionTime;
- a pod deleted (the Job deleted with propagation Background) has its process killed.
It records what it saw (Secrets at start, the Jobs, the most Jobs in flight at once) for assertions.
With `volumes_dir` it runs the real mover as kubelet would mount it: a command without '/' is the
build's bin/ (CAIRN_BUILD_DIR), a persistentVolumeClaim mount is `<volumes_dir>/<ns>/<claim>`,
a Secret mount is a temporary directory holding the Secret's items."""
import base64
import json
import os
import random
import shutil
import signal
import ssl
import string
import tempfile
import subprocess
import threading
import time
import urllib.error
import urllib.request


class Api:
    def __init__(self, server_dir):
        with open(os.path.join(server_dir, "port")) as f:
            self.base = f"https://127.0.0.1:{f.read().strip()}"
        with open(os.path.join(server_dir, "token")) as f:
            self.token = f.read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(server_dir, "ca.crt"))

    def call(self, method, path, body=None, ctype="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, method=method, data=data, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise AssertionError(f"{method} {path}: {e.code} {e.read().decode()}") from None

    def items(self, path):
        return (self.call("GET", path) or {}).get("items", [])

    def patch_status(self, path, status):
        return self.call("PATCH", path + "/status", {"status": status},
                         "application/merge-patch+json")


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def cond(type_, reason="", message="", status="True"):
    ts = now()
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastProbeTime": ts, "lastTransitionTime": ts}


def _matches(term, node):
    labels = node["metadata"].get("labels") or {}
    for f in term.get("matchFields") or []:
        if f["key"] == "metadata.name" and (node["metadata"]["name"] in f["values"]) != (
                f["operator"] == "In"):
            return False
    for e in term.get("matchExpressions") or []:
        has = labels.get(e["key"]) in (e.get("values") or [])
        if (e["operator"] == "In" and not has) or (e["operator"] == "NotIn" and has):
            return False
    return True


def schedulable(pod_spec, nodes):
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms")
    fits = [n for n in nodes if not terms or any(_matches(t, n) for t in terms)]
    return fits[0]["metadata"]["name"] if fits else None


class FakeKubelet(threading.Thread):
    def __init__(self, server_dir, volumes_dir=None):
        super().__init__(daemon=True)
        self.volumes_dir = volumes_dir
        self.jobs_seen = {}  # job name -> the Job as it was when its pod was made
        self.tmpdirs = []  # Secret volumes written for containers
        self.api = Api(server_dir)
        self.stop_flag = False
        self.jobs = {}  # uid -> state dict
        self.secrets_seen = {}  # job name -> the Secret as it was when the container started
        self.max_active = 0
        self.errors = []

    def stop(self):
        self.stop_flag = True
        self.join(10)
        for d in self.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
        for st in self.jobs.values():
            if st.get("proc") and st["proc"].poll() is None:
                os.killpg(st["proc"].pid, signal.SIGKILL)

    def run(self):
        while not self.stop_flag:
            try:
                self.step()
            except Exception as e:  # noqa: BLE001 - reported by the test
                if repr(e) not in self.errors:
                    self.errors.append(repr(e))
            time.sleep(0.05)

    def step(self):
        jobs = self.api.items("/apis/batch/v1/jobs")
        live = {j["metadata"]["uid"] for j in jobs}
        for uid in list(self.jobs):
            if uid not in live:
                self.forget(uid)
        active = 0
        for job in jobs:
            if job["spec"].get("suspend"):
                continue  # the job controller makes no pods for a suspended Job
            st = self.jobs.setdefault(job["metadata"]["uid"], {"phase": "new"})
            self.drive(job, st)
            active += st["phase"] in ("pending", "waiting", "running")
        self.max_active = max(self.max_active, active)

    def forget(self, uid):
        st = self.jobs.pop(uid)
        if st.get("pod"):
            # A pod made just as its Job went: the garbage collector deletes dependents whose
            # owner no longer exists.
            self.api.call("DELETE", self.pod_path(st))
        if st.get("proc") and st["proc"].poll() is None:
            os.killpg(st["proc"].pid, signal.SIGKILL)  # kubelet kills a deleted pod's containers
            st["proc"].wait()
        if st.get("log") and not st["log"].closed:
            st["log"].close()

    def job_path(self, job):
        m = job["metadata"]
        return f"/apis/batch/v1/namespaces/{m['namespace']}/jobs/{m['name']}"

    def pod_path(self, st):
        return f"/api/v1/namespaces/{st['ns']}/pods/{st['pod']}"

    def drive(self, job, st):
        if st["phase"] == "new":
            self.create_pod(job, st)
        elif st["phase"] == "waiting":
            self.start_container(job, st)
        elif st["phase"] == "running" and st["proc"].poll() is not None:
            self.finish(job, st)

    def create_pod(self, job, st):
        m, tmpl = job["metadata"], job["spec"]["template"]
        st["ns"] = m["namespace"]
        self.jobs_seen[m["name"]] = job
        st["pod"] = m["name"] + "-" + "".join(random.choices(string.ascii_lowercase, k=5))
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": st["pod"], "namespace": m["namespace"],
                            "labels": tmpl["metadata"].get("labels") or {},
                            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                                 "name": m["name"], "uid": m["uid"],
                                                 "controller": True,
                                                 "blockOwnerDeletion": True}]},
               "spec": dict(tmpl["spec"])}
        nodes = self.api.items("/api/v1/nodes")
        node = schedulable(pod["spec"], nodes)
        if node:
            pod["spec"]["nodeName"] = node
        self.api.call("POST", f"/api/v1/namespaces/{m['namespace']}/pods", pod)
        self.api.patch_status(self.job_path(job), {"startTime": now(), "active": 1, "ready": 0,
                                                   "terminating": 0,
                                                   "uncountedTerminatedPods": {}})
        if node is None:
            msg = (f"0/{len(nodes)} nodes are available: {len(nodes)} node(s) didn't match "
                   f"Pod's node affinity/selector. preemption: 0/{len(nodes)} nodes are "
                   f"available: {len(nodes)} Preemption is not helpful for scheduling.")
            self.api.patch_status(self.pod_path(st), {
                "phase": "Pending", "conditions": [cond("PodScheduled", "Unschedulable", msg,
                                                        "False")]})
            st["phase"] = "pending"
            return
        st["phase"] = "waiting"
        self.start_container(job, st)

    def env(self, container, ns):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for e in container.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref is None:
                env[e["name"]] = e.get("value", "")
                continue
            secret = self.api.call("GET", f"/api/v1/namespaces/{ns}/secrets/{ref['name']}")
            if secret is None:
                return None, f'secret "{ref["name"]}" not found'
            env[e["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        return env, None

    def start_container(self, job, st):
        c = job["spec"]["template"]["spec"]["containers"][0]
        env, missing = self.env(c, st["ns"])
        if env is None:
            self.api.patch_status(self.pod_path(st), {"phase": "Pending", "containerStatuses": [{
                "name": c["name"], "image": c["image"], "imageID": "", "ready": False,
                "restartCount": 0, "started": False,
                "state": {"waiting": {"reason": "CreateContainerConfigError",
                                      "message": missing}}}]})
            return
        ann = job["metadata"].get("annotations") or {}
        name = ann.get("cairn.io/credentials-secret", "")
        self.secrets_seen[job["metadata"]["name"]] = self.api.call(
            "GET", f"/api/v1/namespaces/{st['ns']}/secrets/{name}")
        st["log"] = tempfile.TemporaryFile("w+")
        st["proc"] = subprocess.Popen(self.argv(job, c, st["ns"]), env=env,
                                      stdout=st["log"], stderr=st["log"],
                                      start_new_session=True)
        self.api.patch_status(self.pod_path(st), {"phase": "Running", "containerStatuses": [{
            "name": c["name"], "image": c["image"], "imageID": "", "ready": True,
            "restartCount": 0, "started": True, "state": {"running": {"startedAt": now()}}}],
            "conditions": [cond("PodScheduled"), cond("Ready")]})
        self.api.patch_status(self.job_path(job), {"ready": 1})
        st["phase"] = "running"

    def argv(self, job, c, ns):
        argv = (c.get("command") or []) + (c.get("args") or [])
        if self.volumes_dir is None:
            return argv
        if "/" not in argv[0]:
            argv[0] = os.path.join(os.environ.get("CAIRN_BUILD_DIR", ""), "bin", argv[0])
        volumes = {v["name"]: v for v in job["spec"]["template"]["spec"].get("volumes") or []}
        for mount in c.get("volumeMounts") or []:
            v, host = volumes.get(mount["name"]) or {}, None
            if "persistentVolumeClaim" in v:
                host = os.path.join(self.volumes_dir, ns, v["persistentVolumeClaim"]["claimName"])
                os.makedirs(host, exist_ok=True)  # a newly provisioned volume is empty
            elif "secret" in v:
                secret = self.api.call("GET", f"/api/v1/namespaces/{ns}/secrets/"
                                              f"{v['secret']['secretName']}") or {"data": {}}
                host = tempfile.mkdtemp(prefix="cairn-kubelet-")
                self.tmpdirs.append(host)
                for item in v["secret"].get("items") or []:
                    with open(os.path.join(host, item["path"]), "wb") as f:
                        f.write(base64.b64decode(secret["data"][item["key"]]))
            if host is not None:
                argv = [host + a[len(mount["mountPath"]):]
                        if a == mount["mountPath"] or a.startswith(mount["mountPath"] + "/")
                        else a for a in argv]
        return argv

    def finish(self, job, st):
        code = st["proc"].returncode
        st["log"].seek(0)
        tail = st["log"].read()[-2048:].strip()
        st["log"].close()
        c = job["spec"]["template"]["spec"]["containers"][0]
        term = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                "startedAt": now(), "finishedAt": now()}
        if code != 0 and c.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            term["message"] = tail
        self.api.patch_status(self.pod_path(st), {
            "phase": "Succeeded" if code == 0 else "Failed", "containerStatuses": [{
                "name": c["name"], "image": c["image"], "imageID": "", "ready": False,
                "restartCount": 0, "started": False, "state": {"terminated": term}}]})
        path = self.job_path(job)
        base = {"active": 0, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
        if code == 0:
            met = cond("SuccessCriteriaMet", "CompletionsReached",
                       "Reached expected number of succeeded pods")
            self.api.patch_status(path, {**base, "succeeded": 1, "conditions": [met]})
            done = cond("Complete", "CompletionsReached",
                        "Reached expected number of succeeded pods")
            self.api.patch_status(path, {"conditions": [met, done], "completionTime": now()})
        else:
            target = cond("FailureTarget", "BackoffLimitExceeded",
                          "Job has reached the specified backoff limit")
            self.api.patch_status(path, {**base, "failed": 1, "conditions": [target]})
            failed = cond("Failed", "BackoffLimitExceeded",
                          "Job has reached the specified backoff limit")
            self.api.patch_status(path, {"conditions": [target, failed]})
        st["phase"] = "done"
