#include "mover/placement.h"

#include <algorithm>

namespace cairn::mover {
namespace {

using nlohmann::json;

const json& Field(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string Str(const json& obj, std::string_view key) {
  const json& v = Field(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::optional<int64_t> Int(const json& obj, std::string_view key) {
  const json& v = Field(obj, key);
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

std::optional<bool> Bool(const json& obj, std::string_view key) {
  const json& v = Field(obj, key);
  if (v.is_boolean()) return v.get<bool>();
  return std::nullopt;
}

bool PodFinished(const json& pod) {
  std::string phase = Str(Field(pod, "status"), "phase");
  return phase == "Succeeded" || phase == "Failed" ||
         !Field(Field(pod, "metadata"), "deletionTimestamp").is_null();
}

bool PodMountsClaim(const json& pod, std::string_view claim) {
  const json& volumes = Field(Field(pod, "spec"), "volumes");
  if (!volumes.is_array()) return false;
  for (const json& v : volumes) {
    if (Str(Field(v, "persistentVolumeClaim"), "claimName") == claim) return true;
  }
  return false;
}

std::vector<std::string> AccessModes(const json& pvc) {
  std::vector<std::string> modes;
  for (const char* part : {"status", "spec"}) {  // what was bound, else what was asked
    const json& m = Field(Field(pvc, part), "accessModes");
    if (!m.is_array() || m.empty()) continue;
    for (const json& x : m) {
      if (x.is_string()) modes.push_back(x.get<std::string>());
    }
    break;
  }
  return modes;
}

bool Has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The mode that decides the placement: a claim any pod on any node may mount wins.
std::string DecidingMode(const std::vector<std::string>& modes) {
  for (const char* m : {"ReadWriteMany", "ReadOnlyMany", "ReadWriteOnce", "ReadWriteOncePod"}) {
    if (Has(modes, m)) return m;
  }
  return "ReadWriteOnce";  // none given: the most common and the safest to assume
}

}  // namespace

base::Result<NodePolicy> ParseNodePolicy(std::string_view s) {
  if (s == "exclude") return NodePolicy::kExclude;
  if (s == "include") return NodePolicy::kInclude;
  if (s == "prefer") return NodePolicy::kPrefer;
  return base::Error(base::Code::kInvalidArgument,
                     "invalid node policy '" + std::string(s) +
                         "': expected \"exclude\", \"include\" or \"prefer\"");
}

std::string_view NodePolicyName(NodePolicy p) {
  switch (p) {
    case NodePolicy::kInclude: return "include";
    case NodePolicy::kPrefer: return "prefer";
    case NodePolicy::kExclude: break;
  }
  return "exclude";
}

std::vector<const json*> PodsUsingClaim(const std::vector<json>& pods, std::string_view pvc_name) {
  std::vector<const json*> out;
  for (const json& p : pods) {
    if (!PodFinished(p) && PodMountsClaim(p, pvc_name)) out.push_back(&p);
  }
  std::sort(out.begin(), out.end(), [](const json* a, const json* b) {
    return Str(Field(*a, "metadata"), "name") < Str(Field(*b, "metadata"), "name");
  });
  return out;
}

Identity PodIdentity(const json& pod) {
  const json& spec = Field(pod, "spec");
  const json& psc = Field(spec, "securityContext");
  const json& containers = Field(spec, "containers");
  const json& csc = containers.is_array() && !containers.empty()
                        ? Field(containers[0], "securityContext")
                        : Field(json(), "");
  Identity id;
  id.uid = Int(csc, "runAsUser") ? Int(csc, "runAsUser") : Int(psc, "runAsUser");
  id.gid = Int(csc, "runAsGroup") ? Int(csc, "runAsGroup") : Int(psc, "runAsGroup");
  id.fs_group = Int(psc, "fsGroup");
  const json& sg = Field(psc, "supplementalGroups");
  if (sg.is_array()) {
    for (const json& g : sg) {
      if (g.is_number_integer()) id.supplemental_groups.push_back(g.get<int64_t>());
    }
  }
  std::optional<bool> non_root =
      Bool(csc, "runAsNonRoot") ? Bool(csc, "runAsNonRoot") : Bool(psc, "runAsNonRoot");
  id.root = id.uid ? *id.uid == 0 : !non_root.value_or(false);
  return id;
}

base::Result<Placement> Place(const json& pvc, const std::vector<json>& pods,
                              bool mover_privileged) {
  const json& meta = Field(pvc, "metadata");
  std::string name = Str(meta, "name"), ns = Str(meta, "namespace");
  Placement p;
  p.access_mode = DecidingMode(AccessModes(pvc));
  std::vector<const json*> users = PodsUsingClaim(pods, name);
  if (users.empty()) return p;  // unused: anywhere the node policy allows, own identity
  const json& pod = *users.front();
  p.workload_pod = Str(Field(pod, "metadata"), "name");
  p.identity = PodIdentity(pod);
  const json& tol = Field(Field(pod, "spec"), "tolerations");
  if (tol.is_array()) p.tolerations = tol;
  if (p.access_mode == "ReadWriteOnce") p.node_name = Str(Field(pod, "spec"), "nodeName");
  if (p.access_mode == "ReadWriteOncePod") {
    p.mountable = false;
    p.reason = "volume " + ns + "/" + name + " is ReadWriteOncePod and mounted by pod '" +
               p.workload_pod + "': a mover cannot mount it a second time";
  }
  if (p.identity.root) {
    if (!mover_privileged) {
      return base::Error(base::Code::kFailedPrecondition,
                         "unable to move data of volume " + ns + "/" + name + ": its pod '" +
                             p.workload_pod +
                             "' runs as root, so a mover needs CAP_DAC_READ_SEARCH (backup) or "
                             "CAP_CHOWN/CAP_FOWNER (restore) to read and write all of its files")
          .WithHint(
              "set `mover_privileged = true` in the policy (the namespace must then allow Pod "
              "Security level `privileged` for a backup, `baseline` for a restore), or run the "
              "workload as a non-root user");
    }
    p.identity.privileged = true;
  }
  return p;
}

}  // namespace cairn::mover
