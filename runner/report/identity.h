// report/identity: who is running — the pod, its Job and that Job's CronJob.
//
// From the downward API (POD_NAME, POD_NAMESPACE) the pod is read and its owner chain
// followed: Pod → Job → CronJob. Outside a pod (or without RBAC to read them) the identity is
// partial and says why; reporting then goes on without a Job to attach events to.
#pragma once

#include <string>
#include <vector>

#include "kube/client.h"

namespace cairn::report {

struct Identity {
  std::string namespace_name;  // where the run's ConfigMap and events go
  std::string pod;
  std::string job;
  std::string job_uid;
  std::string cronjob;
  std::string note;  // why something is missing ("not running in a pod", ...)
};

// Reads POD_NAME / POD_NAMESPACE and follows the owners through `client`. Problems become
// `warnings` (never errors): a run is not failed by its own reporting.
Identity WhoAmI(kube::Client& client, std::vector<std::string>* warnings);

// obj[key] when it is a string, else "" (API objects are data: never trust their shape).
std::string StringAt(const nlohmann::json& obj, std::string_view key);

}  // namespace cairn::report
