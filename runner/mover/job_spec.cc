#include "mover/job_spec.h"

#include <algorithm>
#include <cstdio>

namespace cairn::mover {
namespace {

using nlohmann::json;

constexpr size_t kMaxName = 63;

std::string Hash8(std::string_view a, std::string_view b = "", std::string_view c = "") {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a 64: stable across builds and platforms
  for (std::string_view part : {a, b, c}) {
    for (unsigned char ch : part) h = (h ^ ch) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;  // separator: ("ab","c") differs from ("a","bc")
  }
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(h ^ (h >> 32)));
  return buf;
}

std::string Sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out += ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '-';
  }
  return out;
}

std::string TrimDashes(std::string s) {
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s;
}

bool Alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ValidLabelValue(std::string_view v) {
  if (v.size() > kMaxName) return false;
  if (v.empty()) return true;
  if (!Alnum(v.front()) || !Alnum(v.back())) return false;
  for (char c : v) {
    if (!Alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

json Labels(const JobSpecInput& in) {
  json l = {{"app.kubernetes.io/managed-by", "cairn"},
            {"app.kubernetes.io/name", "cairn-mover"},
            {"cairn.io/backup-name", LabelValue(in.backup_name)},
            {"cairn.io/mover", std::string(DirectionName(in.direction))}};
  if (in.direction == Direction::kRestore) l["cairn.io/restore-name"] = LabelValue(in.restore_name);
  return l;
}

json Annotations(const JobSpecInput& in) {
  return {{kNamespaceAnnotation, in.namespace_name},
          {kPvcAnnotation, in.pvc},
          {kSecretAnnotation, in.secret_name}};
}

std::string RunName(const JobSpecInput& in) {
  return in.direction == Direction::kBackup ? in.backup_name : in.restore_name;
}

std::vector<std::string> Command(const JobSpecInput& in) {
  return {in.direction == Direction::kBackup ? "backup-run" : "restore-run"};
}

std::vector<std::string> Args(const JobSpecInput& in) {
  std::vector<std::string> a = {"--mover"};
  if (in.direction == Direction::kBackup) {
    a.insert(a.end(), {"--name", in.backup_name});
  } else {
    a.insert(a.end(), {"--backup", in.backup_name, "--name", in.restore_name});
  }
  a.insert(a.end(), {"--volume", in.namespace_name + "/" + in.pvc, "--path", kVolumeMountPath});
  a.insert(a.end(), in.vault_args.begin(), in.vault_args.end());
  if (in.ca_bundle) a.insert(a.end(), {"--ca-file", std::string(kCaMountDir) + "/" + kCaKey});
  a.insert(a.end(), in.extra_args.begin(), in.extra_args.end());
  return a;
}

// Explicit env entries rather than envFrom: kubelet skips a Secret key that is not a valid
// variable name (the CA bundle's "ca.crt") with a Warning event on every mover pod.
json Env(const JobSpecInput& in) {
  json env = json::array();
  for (const std::string& k : in.credential_keys) {
    env.push_back(
        {{"name", k}, {"valueFrom", {{"secretKeyRef", {{"name", in.secret_name}, {"key", k}}}}}});
  }
  env.push_back({{"name", "TMPDIR"}, {"value", "/tmp"}});
  return env;
}

json Capabilities(const JobSpecInput& in) {
  json caps = {{"drop", {"ALL"}}};
  if (!in.placement.identity.privileged) return caps;
  caps["add"] =
      in.direction == Direction::kBackup ? json{"DAC_READ_SEARCH"} : json{"CHOWN", "FOWNER"};
  return caps;
}

json ContainerSecurity(const JobSpecInput& in) {
  return {{"allowPrivilegeEscalation", false},
          {"capabilities", Capabilities(in)},
          {"privileged", false},
          {"readOnlyRootFilesystem", true},
          {"runAsNonRoot", !in.placement.identity.privileged}};
}

json PodSecurity(const JobSpecInput& in) {
  const Identity& id = in.placement.identity;
  json sc = {{"runAsNonRoot", !id.privileged}, {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  if (id.privileged) {
    sc["runAsUser"] = 0;
    sc["runAsGroup"] = id.gid.value_or(0);
  } else {
    if (id.uid) sc["runAsUser"] = *id.uid;
    if (id.gid) sc["runAsGroup"] = *id.gid;
  }
  if (id.fs_group) {
    sc["fsGroup"] = *id.fs_group;
    // The workload's volume already has this group at its root: no recursive chown of the
    // workload's files by kubelet.
    sc["fsGroupChangePolicy"] = "OnRootMismatch";
  }
  if (!id.supplemental_groups.empty()) sc["supplementalGroups"] = id.supplemental_groups;
  return sc;
}

json NodeAffinity(const JobSpecInput& in) {
  if (!in.placement.node_name.empty()) {  // the scheduler still checks taints and resources
    json term = {
        {"matchFields",
         {{{"key", "metadata.name"}, {"operator", "In"}, {"values", {in.placement.node_name}}}}}};
    return {{"requiredDuringSchedulingIgnoredDuringExecution", {{"nodeSelectorTerms", {term}}}}};
  }
  auto expr = [](const char* key, const char* op) {
    return json{{"matchExpressions", {{{"key", key}, {"operator", op}, {"values", {"true"}}}}}};
  };
  switch (in.node_policy) {
    case NodePolicy::kInclude:
      return {{"requiredDuringSchedulingIgnoredDuringExecution",
               {{"nodeSelectorTerms", {expr("cairn.io/agent-included", "In")}}}}};
    case NodePolicy::kPrefer:
      return {{"preferredDuringSchedulingIgnoredDuringExecution",
               {{{"weight", 100}, {"preference", expr("cairn.io/agent-included", "In")}}}}};
    case NodePolicy::kExclude: break;
  }
  return {{"requiredDuringSchedulingIgnoredDuringExecution",
           {{"nodeSelectorTerms", {expr("cairn.io/agent-excluded", "NotIn")}}}}};
}

json Volumes(const JobSpecInput& in) {
  std::string claim = in.claim_name.empty() ? in.pvc : in.claim_name;
  json v = {{{"name", "data"},
             {"persistentVolumeClaim",
              {{"claimName", claim}, {"readOnly", in.direction == Direction::kBackup}}}},
            {{"name", "tmp"}, {"emptyDir", json::object()}}};
  if (in.ca_bundle) {
    v.push_back({{"name", "ca"},
                 {"secret",
                  {{"secretName", in.secret_name},
                   {"defaultMode", 0444},
                   {"items", {{{"key", kCaKey}, {"path", kCaKey}}}}}}});
  }
  return v;
}

json Mounts(const JobSpecInput& in) {
  json m = {{{"name", "data"},
             {"mountPath", kVolumeMountPath},
             {"readOnly", in.direction == Direction::kBackup}},
            {{"name", "tmp"}, {"mountPath", "/tmp"}}};
  if (in.ca_bundle) m.push_back({{"name", "ca"}, {"mountPath", kCaMountDir}, {"readOnly", true}});
  return m;
}

json Container(const JobSpecInput& in) {
  return {{"name", kContainerName},
          {"image", in.image},
          {"imagePullPolicy", "IfNotPresent"},
          {"command", Command(in)},
          {"args", Args(in)},
          {"env", Env(in)},
          {"resources", in.resources.is_object() ? in.resources : json::object()},
          {"securityContext", ContainerSecurity(in)},
          {"terminationMessagePolicy", "FallbackToLogsOnError"},
          {"volumeMounts", Mounts(in)}};
}

json PodSpec(const JobSpecInput& in) {
  json spec = {{"restartPolicy", "Never"},
               {"automountServiceAccountToken", false},
               {"enableServiceLinks", false},
               {"securityContext", PodSecurity(in)},
               {"affinity", {{"nodeAffinity", NodeAffinity(in)}}},
               {"containers", {Container(in)}},
               {"volumes", Volumes(in)}};
  if (in.placement.tolerations.is_array() && !in.placement.tolerations.empty()) {
    spec["tolerations"] = in.placement.tolerations;
  }
  return spec;
}

}  // namespace

std::string_view DirectionName(Direction d) {
  return d == Direction::kBackup ? "backup" : "restore";
}

std::string JobName(Direction d, std::string_view run_name, std::string_view pvc) {
  std::string raw = "cairn-" + std::string(DirectionName(d)) + "-" + std::string(run_name) + "-" +
                    std::string(pvc);
  std::string name = Sanitize(raw);
  if (name == raw && name.size() <= kMaxName && name.back() != '-') return name;
  std::string cut = TrimDashes(name.substr(0, kMaxName - 9));
  return cut + "-" + Hash8(DirectionName(d), run_name, pvc);
}

std::string SecretName(std::string_view job_name) {
  std::string s = std::string(job_name) + "-vault";
  if (s.size() <= kMaxName) return s;
  return TrimDashes(std::string(job_name.substr(0, kMaxName - 15))) + "-" + Hash8(job_name) +
         "-vault";
}

std::string LabelValue(std::string_view v) {
  if (ValidLabelValue(v)) return std::string(v);
  std::string cut = Sanitize(v).substr(0, kMaxName - 9);
  while (!cut.empty() && !Alnum(cut.front())) cut.erase(0, 1);
  return TrimDashes(cut) + (cut.empty() ? "" : "-") + Hash8(v);
}

nlohmann::json BuildJob(const JobSpecInput& in) {
  std::string name = JobName(in.direction, RunName(in), in.pvc);
  std::string ns = in.job_namespace.empty() ? in.namespace_name : in.job_namespace;
  json meta = {
      {"name", name}, {"namespace", ns}, {"labels", Labels(in)}, {"annotations", Annotations(in)}};
  if (in.owner) {
    meta["ownerReferences"] = {{{"apiVersion", in.owner->api_version},
                                {"kind", in.owner->kind},
                                {"name", in.owner->name},
                                {"uid", in.owner->uid},
                                {"blockOwnerDeletion", false},
                                {"controller", false}}};
  }
  json spec = {{"backoffLimit", 0},
               {"activeDeadlineSeconds", in.active_deadline_seconds},
               {"ttlSecondsAfterFinished", in.ttl_seconds_after_finished},
               {"template",
                {{"metadata", {{"labels", Labels(in)}, {"annotations", Annotations(in)}}},
                 {"spec", PodSpec(in)}}}};
  return {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", meta}, {"spec", spec}};
}

base::Status CheckClusterJob(const json& job) {
  // A path of objects down to the containers; anything else reads as missing.
  const json* at = &job;
  for (const char* key : {"spec", "template", "spec", "containers"}) {
    auto it = at->is_object() ? at->find(key) : at->end();
    at = (at->is_object() && it != at->end()) ? &*it : nullptr;
    if (at == nullptr) break;
  }
  const bool has_image = at != nullptr && at->is_array() && !at->empty() &&
                         std::all_of(at->begin(), at->end(), [](const json& c) {
                           auto img = c.is_object() ? c.find("image") : c.end();
                           return c.is_object() && img != c.end() && img->is_string() &&
                                  !img->get<std::string>().empty();
                         });
  if (has_image) return base::Status::Ok();
  const json* meta = job.is_object() && job.contains("metadata") ? &job["metadata"] : nullptr;
  const std::string name =
      meta != nullptr && meta->is_object() && meta->contains("name") && (*meta)["name"].is_string()
          ? (*meta)["name"].get<std::string>()
          : "";
  return base::Error(base::Code::kFailedPrecondition,
                     "mover Job " + name +
                         " has no image: cairn does not run in a pod whose image it can read; "
                         "set mover_image in the policy");
}

}  // namespace cairn::mover
