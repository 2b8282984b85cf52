#include "ops/restore/node_ports.h"

#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "ops/restore/plan.h"

namespace cairn::ops::restore {
namespace {

using nlohmann::json;

constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";
constexpr std::string_view kBeforeFirstApply = "before-first-apply";

std::string StringOr(const json* j, std::string fallback) {
  return j != nullptr && j->is_string() ? j->get<std::string>() : std::move(fallback);
}

// A Service port is identified as the API server's list map key does: (port, protocol).
using PortKey = std::pair<int64_t, std::string>;

std::optional<PortKey> KeyOf(const json& port) {
  const json* number = JsonMember(port, "port");
  if (number == nullptr || !number->is_number_integer()) return std::nullopt;
  return PortKey{number->get<int64_t>(), StringOr(JsonMember(port, "protocol"), "TCP")};
}

// What the backed-up object says its user set.
struct ExplicitPorts {
  std::set<int64_t> applied;  // nodePort values in kubectl's last-applied configuration
  std::set<PortKey> owned;    // ports whose f:nodePort a field manager owns
  bool health_owned = false;  // a field manager owns f:healthCheckNodePort
};

void ReadLastApplied(const json& obj, ExplicitPorts* out) {
  const json* text = JsonAt(obj, {"metadata", "annotations", kLastApplied});
  if (text == nullptr || !text->is_string()) return;
  const json applied = json::parse(text->get_ref<const std::string&>(), nullptr, false);
  const json* spec = JsonMember(applied, "spec");
  if (spec == nullptr) return;
  const json* health = JsonMember(*spec, "healthCheckNodePort");
  if (health != nullptr && health->is_number_integer()) out->applied.insert(health->get<int64_t>());
  const json* ports = JsonMember(*spec, "ports");
  if (ports == nullptr || !ports->is_array()) return;
  for (const json& p : *ports) {
    const json* node_port = JsonMember(p, "nodePort");
    if (node_port != nullptr && node_port->is_number_integer()) {
      out->applied.insert(node_port->get<int64_t>());
    }
  }
}

// The ports of one managedFields entry's f:spec whose nodePort it owns.
void ReadOwnedSpec(const json& fields_spec, ExplicitPorts* out) {
  if (JsonMember(fields_spec, "f:healthCheckNodePort") != nullptr) out->health_owned = true;
  const json* ports = JsonMember(fields_spec, "f:ports");
  if (ports == nullptr || !ports->is_object()) return;
  for (auto it = ports->begin(); it != ports->end(); ++it) {
    if (!it.key().starts_with("k:") || JsonMember(*it, "f:nodePort") == nullptr) continue;
    const json key = json::parse(it.key().substr(2), nullptr, false);
    if (std::optional<PortKey> k = KeyOf(key)) out->owned.insert(*k);
  }
}

void ReadManagedFields(const json& obj, ExplicitPorts* out) {
  const json* entries = JsonAt(obj, {"metadata", "managedFields"});
  if (entries == nullptr || !entries->is_array()) return;
  for (const json& e : *entries) {
    if (StringOr(JsonMember(e, "manager"), "") == kBeforeFirstApply) continue;
    if (!StringOr(JsonMember(e, "subresource"), "").empty()) continue;
    const json* spec = JsonAt(e, {"fieldsV1", "f:spec"});
    if (spec != nullptr) ReadOwnedSpec(*spec, out);
  }
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

void RestoreNodePorts(json& spec, const json& obj, const std::string& service,
                      bool preserve_node_ports, const NodePortOwners& taken,
                      std::vector<ReassignedNodePort>* reassigned) {
  if (preserve_node_ports || !spec.is_object()) return;
  ExplicitPorts user;
  ReadLastApplied(obj, &user);
  ReadManagedFields(obj, &user);
  // Keeps the port when it is explicit and free; returns whether it is kept.
  auto keep = [&](const json& value, bool owned, ReassignedNodePort r) {
    if (!value.is_number_integer()) return false;
    const int64_t port = value.get<int64_t>();
    if (!owned && user.applied.count(port) == 0) return false;
    auto holder = taken.find(port);
    if (holder == taken.end() || holder->second == service) return true;
    r.service = service;
    r.node_port = port;
    r.held_by = holder->second;
    if (reassigned != nullptr) reassigned->push_back(std::move(r));
    return false;
  };
  if (const json* health = JsonMember(spec, "healthCheckNodePort"); health != nullptr) {
    ReassignedNodePort r;
    r.health_check = true;
    if (!keep(*health, user.health_owned, std::move(r))) spec.erase("healthCheckNodePort");
  }
  auto ports = spec.find("ports");
  if (ports == spec.end() || !ports->is_array()) return;
  for (json& p : *ports) {
    const json* node_port = JsonMember(p, "nodePort");
    if (node_port == nullptr) continue;
    const std::optional<PortKey> key = KeyOf(p);
    ReassignedNodePort r;
    if (key) std::tie(r.port, r.protocol) = *key;
    if (!keep(*node_port, key && user.owned.count(*key) > 0, std::move(r))) p.erase("nodePort");
  }
}

std::vector<std::string> ReassignedNodePortWarnings(const std::vector<ReassignedNodePort>& ports,
                                                    const json& written) {
  std::vector<std::string> out;
  for (const ReassignedNodePort& r : ports) {
    const json* now = nullptr;
    std::string what;
    if (r.health_check) {
      now = JsonAt(written, {"spec", "healthCheckNodePort"});
      what = "healthCheckNodePort " + std::to_string(r.node_port);
    } else {
      const json* list = JsonAt(written, {"spec", "ports"});
      for (size_t i = 0; list != nullptr && list->is_array() && i < list->size(); ++i) {
        if (KeyOf((*list)[i]) == PortKey{r.port, r.protocol})
          now = JsonMember((*list)[i], "nodePort");
      }
      what = "nodePort " + std::to_string(r.node_port) + " (port " + std::to_string(r.port) + "/" +
             r.protocol + ")";
    }
    const std::string assigned = now != nullptr && now->is_number_integer()
                                     ? std::to_string(now->get<int64_t>())
                                     : std::string("a new port");
    out.push_back("Service " + Quote(r.service) + ": " + what +
                  " is already allocated in the target cluster to Service " + Quote(r.held_by) +
                  "; restored with " + assigned +
                  " instead (preserve_node_ports = true makes this an error)");
  }
  return out;
}

}  // namespace cairn::ops::restore
