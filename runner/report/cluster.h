// report/cluster: a run's traces in the cluster — its status ConfigMap and its Events.
//
// The ConfigMap `cairn-<kind>-<name>` (labels cairn.io/kind, cairn.io/vault, cairn.io/policy,
// owned by the Job when there is one) holds the same status document as the vault, applied
// with server-side apply so each update replaces it. Events (core/v1) go on the Job, or on the
// ConfigMap when there is no Job, with source and reportingComponent "cairn". An event's name
// is derived from its object, type and reason, so a repeated event (a failure that comes back
// with another request id) increments `count` and shows the latest message instead of piling
// up. Every failure here is returned for the caller to record as a warning.
#pragma once

#include <string>

#include "base/clock.h"
#include "kube/client.h"
#include "report/identity.h"
#include "vault/status.h"

namespace cairn::report {

struct Event {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
};

class ClusterReporter {
 public:
  // `kind` is the lowercase run kind used in names and labels: backup, restore, conversion,
  // vault, gc.
  ClusterReporter(kube::Client& client, Identity id, std::string kind, base::Clock& clock)
      : client_(client), id_(std::move(id)), kind_(std::move(kind)), clock_(clock) {}

  // "cairn-vault-main"
  std::string ConfigMapName(const vault::RunStatus& status) const;
  base::Status ApplyStatus(const vault::RunStatus& status);
  base::Status Emit(const vault::RunStatus& status, const Event& event);
  // An event on another object (`involved`: apiVersion, kind, name, namespace, uid), in its
  // namespace: gc answering a delete request, or marking another run Failed.
  base::Status EmitOn(const nlohmann::json& involved, const Event& event);
  const Identity& identity() const { return id_; }

 private:
  kube::Client& client_;
  Identity id_;
  std::string kind_;
  base::Clock& clock_;
  std::string configmap_uid_;  // set once the ConfigMap exists (events fall back to it)
};

// A valid label value from free text: at most 63 characters of [A-Za-z0-9._-], starting and
// ending alphanumeric ("" stays "").
std::string LabelValue(std::string_view s);

}  // namespace cairn::report
