// The Kubernetes Job launcher. Order of creation (README "Secret handling"): the Job first,
// then the Secret with an ownerReference to the Job's uid. The Secret is thus born owned: if
// this process dies at any point, the garbage collector deletes the Secret with the Job (TTL,
// the owner ConfigMap, or the next explicit deletion). Until the Secret exists the pod waits in
// CreateContainerConfigError, which kubelet retries.
#include <string>

#include "base/log.h"
#include "kube/base64.h"
#include "kube/client.h"
#include "mover/job_spec.h"
#include "mover/launcher.h"

namespace cairn::mover {
namespace {

using nlohmann::json;

const kube::ResourceRef kJobs{"batch", "v1", "jobs", true};
const kube::ResourceRef kSecrets{"", "v1", "secrets", true};
const kube::ResourceRef kPods{"", "v1", "pods", true};

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Obj(const json& j, const char* key) {
  static const json kEmpty = json::object();
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : kEmpty;
}

const json& Arr(const json& j, const char* key) {
  static const json kEmpty = json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

// "reason: message" of the condition `type` when its status is True, else "".
std::string TrueCondition(const json& status, const char* type, bool* found) {
  for (const json& c : Arr(status, "conditions")) {
    if (Str(c, "type") == type && Str(c, "status") == "True") {
      *found = true;
      std::string msg = Str(c, "message");
      return Str(c, "reason") + (msg.empty() ? "" : ": " + msg);
    }
  }
  *found = false;
  return "";
}

// Reasons end up in one-line status messages: a multi-line termination message is joined.
std::string OneLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (size_t p = s.find('\n'); p != std::string::npos; p = s.find('\n', p)) s.replace(p, 1, "; ");
  return s;
}

std::string Selector(const json& job) {
  std::string sel;
  for (const auto& [k, v] : Obj(Obj(Obj(job, "spec"), "selector"), "matchLabels").items()) {
    if (!v.is_string()) continue;
    sel += (sel.empty() ? "" : ",") + k + "=" + v.get<std::string>();
  }
  return sel;
}

// What a pod of the Job says about itself: why it waits, or why its container ended.
struct PodView {
  std::string node, pending, terminated;
  bool running = false;
};

PodView ViewPod(const json& pod) {
  PodView v;
  v.node = Str(Obj(pod, "spec"), "nodeName");
  const json& st = Obj(pod, "status");
  v.running = Str(st, "phase") == "Running";
  for (const json& c : Arr(st, "conditions")) {
    if (Str(c, "type") == "PodScheduled" && Str(c, "status") == "False") {
      v.pending = "Pending: " + (Str(c, "message").empty() ? Str(c, "reason") : Str(c, "message"));
    }
  }
  for (const json& cs : Arr(st, "containerStatuses")) {
    const json& state = Obj(cs, "state");
    const json& waiting = Obj(state, "waiting");
    std::string reason = Str(waiting, "reason");
    if (v.pending.empty() && !reason.empty() && reason != "ContainerCreating") {
      std::string msg = Str(waiting, "message");
      v.pending = "Pending: " + reason + (msg.empty() ? "" : ": " + msg);
    }
    const json& term = Obj(state, "terminated");
    if (!term.empty()) {
      std::string msg = Str(term, "message");
      v.terminated = "exit code " + std::to_string(term.value("exitCode", 0)) +
                     (msg.empty() ? "" : ": " + msg);
    }
  }
  return v;
}

class KubeLauncher final : public Launcher {
 public:
  KubeLauncher(kube::Client& client, kube::Client& cleanup) : client_(client), cleanup_(cleanup) {}

  base::Result<MoverId> Start(const json& job, const SecretData& secret) override {
    MoverId id{Str(Obj(job, "metadata"), "namespace"), Str(Obj(job, "metadata"), "name")};
    RETURN_IF_ERROR(CheckClusterJob(job));
    ASSIGN_OR_RETURN(json created, client_.Create(kJobs, id.namespace_name, job));
    std::string secret_name = SecretNameOf(job);
    base::Status st = CreateSecret(created, secret_name, secret);
    if (!st.ok()) {
      (void)Delete(id);  // the Secret, if made, goes with the Job
      return st;
    }
    return id;
  }

  base::Result<MoverState> Poll(const MoverId& id) override {
    ASSIGN_OR_RETURN(json job, client_.Get(kJobs, id.namespace_name, id.name));
    const json& status = Obj(job, "status");
    ASSIGN_OR_RETURN(PodView pod, NewestPod(job));
    MoverState s;
    s.node = pod.node;
    bool done = false;
    (void)TrueCondition(status, "Complete", &done);
    if (done) {
      s.phase = MoverState::Phase::kSucceeded;
      return s;
    }
    // FailureTarget comes first (the pods are still terminating); the outcome is the same.
    bool failed = false;
    std::string why = TrueCondition(status, "Failed", &failed);
    if (!failed) why = TrueCondition(status, "FailureTarget", &failed);
    if (failed) {
      s.phase = MoverState::Phase::kFailed;
      s.reason = OneLine(why + (pod.terminated.empty() ? "" : " (" + pod.terminated + ")"));
      return s;
    }
    s.phase = pod.running ? MoverState::Phase::kRunning : MoverState::Phase::kPending;
    s.reason = OneLine(pod.pending.empty() ? (pod.running ? "Running" : "Pending") : pod.pending);
    return s;
  }

  base::Status Delete(const MoverId& id) override {
    base::Status job = cleanup_.Delete(kJobs, id.namespace_name, id.name, "Background");
    auto known = secret_names_.find(id.name);
    std::string secret = known != secret_names_.end() ? known->second : SecretName(id.name);
    base::Status sec = cleanup_.Delete(kSecrets, id.namespace_name, secret);
    if (!job.ok() && job.code() != base::Code::kNotFound) return job;
    if (!sec.ok() && sec.code() != base::Code::kNotFound) return sec;
    return base::Status();
  }

 private:
  // BuildJob names the Secret in an annotation; a Job built otherwise uses SecretName().
  std::string SecretNameOf(const json& job) {
    const json& meta = Obj(job, "metadata");
    std::string name = Str(Obj(meta, "annotations"), kSecretAnnotation);
    if (name.empty()) name = SecretName(Str(meta, "name"));
    return secret_names_[Str(meta, "name")] = name;
  }

  base::Status CreateSecret(const json& job, const std::string& name, const SecretData& data) {
    const json& meta = Obj(job, "metadata");
    json enc = json::object();
    for (const auto& [k, v] : data) {
      if (k != kCaKey) base::RegisterSecret(v);  // the CA bundle is public
      enc[k] = kube::Base64Encode(v);
    }
    json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"type", "Opaque"},
                   {"metadata",
                    {{"name", name},
                     {"namespace", Str(meta, "namespace")},
                     {"labels", Obj(meta, "labels")},
                     {"ownerReferences",
                      {{{"apiVersion", "batch/v1"},
                        {"kind", "Job"},
                        {"name", Str(meta, "name")},
                        {"uid", Str(meta, "uid")},
                        {"blockOwnerDeletion", false},
                        {"controller", false}}}}}},
                   {"data", enc}};
    auto created = client_.Create(kSecrets, Str(meta, "namespace"), secret);
    return created.ok() ? base::Status() : created.status();
  }

  // The pod the Job made last (a mover Job makes one: backoffLimit 0).
  base::Result<PodView> NewestPod(const json& job) {
    kube::ListOptions o;
    o.namespace_name = Str(Obj(job, "metadata"), "namespace");
    o.label_selector = Selector(job);
    PodView view;
    std::string newest;
    if (o.label_selector.empty()) return view;
    RETURN_IF_ERROR(client_.ListItems(kPods, o, [&](const json& pod) {
      std::string created = Str(Obj(pod, "metadata"), "creationTimestamp");
      if (created >= newest) {
        newest = created;
        view = ViewPod(pod);
      }
      return true;
    }));
    return view;
  }

  kube::Client& client_;
  kube::Client& cleanup_;                            // deletions: not aborted by the run's cancel
  std::map<std::string, std::string> secret_names_;  // job name → Secret name
};

}  // namespace

std::unique_ptr<Launcher> NewKubeLauncher(kube::Client& client, kube::Client* cleanup) {
  return std::make_unique<KubeLauncher>(client, cleanup != nullptr ? *cleanup : client);
}

}  // namespace cairn::mover
