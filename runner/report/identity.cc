#include "report/identity.h"

#include <cstdlib>

namespace cairn::report {
namespace {

std::string Env(const char* n) {
  const char* v = std::getenv(n);
  return v ? v : "";
}

// The owner of `obj` with the given kind, or null.
const nlohmann::json* OwnerOfKind(const nlohmann::json& obj, std::string_view kind) {
  auto meta = obj.find("metadata");
  if (meta == obj.end() || !meta->is_object()) return nullptr;
  auto refs = meta->find("ownerReferences");
  if (refs == meta->end() || !refs->is_array()) return nullptr;
  for (const auto& ref : *refs) {
    if (StringAt(ref, "kind") == kind) return &ref;
  }
  return nullptr;
}

}  // namespace

std::string StringAt(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

Identity WhoAmI(kube::Client& client, std::vector<std::string>* warnings) {
  Identity id;
  id.pod = Env("POD_NAME");
  id.namespace_name = Env("POD_NAMESPACE");
  if (id.namespace_name.empty()) id.namespace_name = client.config().default_namespace;
  if (id.namespace_name.empty()) id.namespace_name = "default";
  if (id.pod.empty()) {
    id.note = "not running in a pod (POD_NAME unset): reporting without a Job";
    return id;
  }
  auto pod = client.Get({"", "v1", "pods", true}, id.namespace_name, id.pod);
  if (!pod.ok()) {
    warnings->push_back("unable to find this run's Job: " + pod.status().message());
    id.note = "pod not readable";
    return id;
  }
  const nlohmann::json* job_ref = OwnerOfKind(*pod, "Job");
  if (!job_ref) {
    id.note = "pod " + id.pod + " is not owned by a Job";
    return id;
  }
  id.job = StringAt(*job_ref, "name");
  id.job_uid = StringAt(*job_ref, "uid");
  auto job = client.Get({"batch", "v1", "jobs", true}, id.namespace_name, id.job);
  if (!job.ok()) {
    warnings->push_back("unable to read Job " + id.job + ": " + job.status().message());
    return id;
  }
  if (const nlohmann::json* cj = OwnerOfKind(*job, "CronJob")) id.cronjob = StringAt(*cj, "name");
  return id;
}

}  // namespace cairn::report
