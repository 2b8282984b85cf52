#include "report/cluster.h"

#include <algorithm>
#include <cctype>

#include "io/hash.h"

namespace cairn::report {
namespace {

const kube::ResourceRef kConfigMaps{"", "v1", "configmaps", true};
const kube::ResourceRef kEvents{"", "v1", "events", true};

}  // namespace

std::string LabelValue(std::string_view s) {
  std::string out;
  for (char c : s) {
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
    if (out.size() == 63) break;
  }
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(0, 1);
  return out;
}

std::string ClusterReporter::ConfigMapName(const vault::RunStatus& status) const {
  std::string name = "cairn-" + kind_ + "-" + status.name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.size() > 253) name.resize(253);
  return name;
}

base::Status ClusterReporter::ApplyStatus(const vault::RunStatus& status) {
  vault::RunStatus st = status;
  st.job.namespace_name = id_.namespace_name;
  st.job.name = id_.job;
  st.job.pod = id_.pod;
  st.job.cronjob = id_.cronjob;
  nlohmann::json cm = {{"apiVersion", "v1"},
                       {"kind", "ConfigMap"},
                       {"metadata",
                        {{"name", ConfigMapName(status)},
                         {"namespace", id_.namespace_name},
                         {"labels",
                          {{"app.kubernetes.io/managed-by", "cairn"},
                           {"cairn.io/kind", kind_},
                           {"cairn.io/vault", LabelValue(status.vault)},
                           {"cairn.io/policy", LabelValue(status.policy)},
                           {"cairn.io/phase", status.phase}}}}},
                       {"data", {{"status.json", vault::ToJson(st)}, {"phase", status.phase}}}};
  if (!id_.job.empty() && !id_.job_uid.empty()) {
    // The ConfigMap goes when the Job does (ttlSecondsAfterFinished, history limits).
    cm["metadata"]["ownerReferences"] = nlohmann::json::array(
        {{{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"name", id_.job}, {"uid", id_.job_uid}}});
  }
  kube::ApplyOptions opts;
  opts.force = true;
  auto applied = client_.Apply(kConfigMaps, id_.namespace_name, ConfigMapName(status), cm, opts);
  if (!applied.ok()) return applied.status().Wrap("unable to write status ConfigMap");
  auto meta = applied->find("metadata");
  if (meta != applied->end()) configmap_uid_ = StringAt(*meta, "uid");
  return base::Status::Ok();
}

base::Status ClusterReporter::Emit(const vault::RunStatus& status, const Event& event) {
  nlohmann::json involved;
  if (!id_.job.empty()) {
    involved = {{"apiVersion", "batch/v1"},
                {"kind", "Job"},
                {"name", id_.job},
                {"namespace", id_.namespace_name},
                {"uid", id_.job_uid}};
  } else {
    involved = {{"apiVersion", "v1"},
                {"kind", "ConfigMap"},
                {"name", ConfigMapName(status)},
                {"namespace", id_.namespace_name},
                {"uid", configmap_uid_}};
  }
  return EmitOn(involved, event);
}

base::Status ClusterReporter::EmitOn(const nlohmann::json& involved, const Event& event) {
  const std::string ns = StringAt(involved, "namespace");
  const std::string object = StringAt(involved, "name");
  const std::string name = object + "." +
                           io::Sha256Hex(StringAt(involved, "kind") + "/" + object + "/" +
                                         event.type + "/" + event.reason)
                               .substr(0, 16);
  const std::string now = base::FormatRfc3339(clock_.Now());
  std::string message = event.message.substr(0, 1024);
  nlohmann::json ev = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata",
       {{"name", name},
        {"namespace", ns},
        {"labels", {{"app.kubernetes.io/managed-by", "cairn"}, {"cairn.io/kind", kind_}}}}},
      {"involvedObject", involved},
      {"type", event.type},
      {"reason", event.reason},
      {"message", message},
      {"source", {{"component", "cairn"}}},
      {"reportingComponent", "cairn"},
      {"reportingInstance", id_.pod.empty() ? "cairn" : id_.pod},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"count", 1}};
  auto created = client_.Create(kEvents, ns, ev);
  if (created.ok()) return base::Status::Ok();
  if (created.status().code() != base::Code::kAlreadyExists) {
    return created.status().Wrap("unable to record event " + event.reason);
  }
  // The same event again: count it on the existing one.
  auto existing = client_.Get(kEvents, ns, name);
  if (!existing.ok()) return existing.status().Wrap("unable to record event " + event.reason);
  auto it = existing->find("count");
  int64_t count = it != existing->end() && it->is_number_integer() ? it->get<int64_t>() : 1;
  auto patched = client_.MergePatch(
      kEvents, ns, name, {{"count", count + 1}, {"lastTimestamp", now}, {"message", message}});
  if (!patched.ok()) return patched.status().Wrap("unable to record event " + event.reason);
  return base::Status::Ok();
}

}  // namespace cairn::report
