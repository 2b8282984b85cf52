// ops/convert/target: what convert-run reads of the target cluster: its StorageClasses
// (storage.k8s.io/v1: name, provisioner, volumeBindingMode) and the zones of its Nodes
// (topology.kubernetes.io/zone, else the deprecated failure-domain.beta.kubernetes.io/zone).
#pragma once

#include "base/status.h"
#include "kube/client.h"
#include "ops/convert/rules.h"

namespace cairn::ops::convert {

[[nodiscard]] base::Result<Target> ReadTarget(kube::Client& kube);

}  // namespace cairn::ops::convert
