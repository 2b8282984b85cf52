#include "config/restore_policy.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "config/config.h"
#include "config/policy.h"
#include "config/suggest.h"

namespace cairn::config {
namespace {

using base::Code;
using base::Error;

constexpr std::array<std::string_view, 4> kAccessModes = {"ReadWriteOnce", "ReadOnlyMany",
                                                          "ReadWriteMany", "ReadWriteOncePod"};

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLowerAlnum(c) || c == '-'; });
}

std::string Join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

base::Status CheckSelector(std::string_view s) { return ParseLabelSelector(s).status(); }

base::Status CheckSource(MappingKind kind, std::string_view v) {
  switch (kind) {
    case MappingKind::kNamespace: return ValidateNamespaceName(v);
    case MappingKind::kStorageClass: return ValidateStorageClassName(v);
    case MappingKind::kAccessMode: return ValidateAccessMode(v);
    case MappingKind::kImageRegistry: return ValidateRegistryPrefix(v);
  }
  return base::Status::Ok();
}

constexpr std::array<MappingKind, 4> kMappingKinds = {
    MappingKind::kNamespace, MappingKind::kStorageClass, MappingKind::kAccessMode,
    MappingKind::kImageRegistry};

Mapping RestorePolicy::*MappingMember(MappingKind kind) {
  switch (kind) {
    case MappingKind::kNamespace: return &RestorePolicy::namespace_mapping;
    case MappingKind::kStorageClass: return &RestorePolicy::storage_class_mapping;
    case MappingKind::kAccessMode: return &RestorePolicy::convert_to_access_modes;
    case MappingKind::kImageRegistry: return &RestorePolicy::image_registry_mapping;
  }
  return &RestorePolicy::namespace_mapping;
}

}  // namespace

// --- Value languages -------------------------------------------------------------------------

base::Status ValidateNamespaceName(std::string_view name) {
  if (IsDnsLabel(name)) return base::Status::Ok();
  std::string why =
      "want at most 63 lowercase letters, digits and '-', starting and ending with "
      "a letter or digit";
  if (name.find_first_of("*?[") != std::string_view::npos) {
    why = "a mapping names one namespace, not a pattern";
  }
  return Error(Code::kInvalidArgument, "invalid namespace name " + Quote(name) + ": " + why);
}

base::Status ValidateStorageClassName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 253;
  size_t start = 0;
  while (ok && start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    ok = IsDnsLabel(name.substr(start, dot - start));
    start = dot + 1;
  }
  if (ok) return base::Status::Ok();
  return Error(Code::kInvalidArgument,
               "invalid storage class name " + Quote(name) +
                   ": want lowercase letters, digits, '-' and '.', each dot-separated part "
                   "starting and ending with a letter or digit, at most 253 characters");
}

base::Status ValidateAccessMode(std::string_view mode) {
  if (std::find(kAccessModes.begin(), kAccessModes.end(), mode) != kAccessModes.end()) {
    return base::Status::Ok();
  }
  std::vector<std::string_view> names(kAccessModes.begin(), kAccessModes.end());
  return Error(Code::kInvalidArgument, "invalid access mode " + Quote(mode) + " (want " +
                                           Join(names) + ")" + DidYouMean(mode, names));
}

base::Status ValidateRegistryPrefix(std::string_view prefix) {
  if (prefix.empty()) {
    return Error(Code::kInvalidArgument,
                 "empty image registry prefix (want e.g. docker.io/library/)");
  }
  for (char c : prefix) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isspace(u) || std::iscntrl(u)) {
      return Error(Code::kInvalidArgument,
                   "invalid image registry prefix " + Quote(prefix) +
                       ": whitespace and control characters are not allowed");
    }
  }
  return base::Status::Ok();
}

std::string_view MappingKey(MappingKind kind) {
  switch (kind) {
    case MappingKind::kNamespace: return "namespace_mapping";
    case MappingKind::kStorageClass: return "storage_class_mapping";
    case MappingKind::kAccessMode: return "convert_to_access_modes";
    case MappingKind::kImageRegistry: return "image_registry_mapping";
  }
  return "";
}

std::string MappingFlag(MappingKind kind) {
  std::string flag(MappingKey(kind));
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

std::vector<MappingProblem> CheckMapping(MappingKind kind, const Mapping& mapping) {
  std::vector<MappingProblem> out;
  for (size_t i = 0; i < mapping.size(); ++i) {
    const auto& [from, to] = mapping[i];
    if (base::Status st = CheckSource(kind, from); !st.ok()) {
      out.push_back({i, false, st.message()});
    }
    if (base::Status st = CheckSource(kind, to); !st.ok()) out.push_back({i, true, st.message()});
    for (size_t j = 0; j < i; ++j) {
      if (mapping[j].first == from) {
        out.push_back({i, false, Quote(from) + " is mapped twice"});
        break;
      }
      // Two storage classes, access modes or registries may become one; two namespaces may
      // not: their objects would collide and the backup's separation would be lost.
      if (kind == MappingKind::kNamespace && mapping[j].second == to) {
        out.push_back(
            {i, true, "namespaces " + mapping[j].first + " and " + from + " both map to " + to});
        break;
      }
    }
  }
  return out;
}

std::vector<std::pair<size_t, std::string>> CheckPriorities(const std::vector<std::string>& list) {
  std::vector<std::pair<size_t, std::string>> out;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == "*") {
      out.emplace_back(i,
                       "'*' is not a resource (priorities lists the resources to restore "
                       "first, in order)");
      continue;
    }
    if (base::Status st = ValidateResourceName(list[i]); !st.ok()) {
      out.emplace_back(i, st.message());
      continue;
    }
    if (std::find(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(i), list[i]) !=
        list.begin() + static_cast<std::ptrdiff_t>(i)) {
      out.emplace_back(i, Quote(list[i]) + " is listed twice");
    }
  }
  return out;
}

// --- Flags -----------------------------------------------------------------------------------

void AddRestorePolicyFlags(FlagSet& flags) {
  flags.AddList("include-namespaces", "GLOB,...",
                "namespaces of the backup to restore (default all)");
  flags.AddList("exclude-namespaces", "GLOB,...", "namespaces of the backup not to restore");
  flags.AddList("include-resources", "RES,...",
                "resources to restore, as resource, resource.group or Kind (default all)");
  flags.AddList("exclude-resources", "RES,...", "resources not to restore");
  flags.AddString("label-selector", "SELECTOR", "restore only objects matching SELECTOR");
  flags.AddMap("namespace-mapping", "FROM=TO,...",
               "restore namespace FROM as TO, e.g. shop=shop-copy");
  flags.AddMap("storage-class-mapping", "FROM=TO,...",
               "replace storage class FROM by TO in PVCs, PVs and volumeClaimTemplates");
  flags.AddMap("convert-to-access-modes", "FROM=TO,...",
               "replace access mode FROM by TO, e.g. ReadWriteMany=ReadWriteOnce");
  flags.AddMap("image-registry-mapping", "FROM=TO,...",
               "replace the image prefix FROM by TO, e.g. "
               "docker.io/library/=mirror.example.com/lib/");
  flags.AddChoice("existing-resource-policy", {"none", "update"},
                  "an object that exists already: keep it (none, default) or update it");
  flags.AddBool("preserve-node-ports", "keep the nodePorts of Services (default: reassigned)");
  flags.AddBool("restore-status", "restore the status of custom resources");
  flags.AddList("priorities", "RES,...",
                "resources to restore first, in this order, before the built-in order");
  flags.AddInt("restore-workers", "N",
               "objects written at once (default " + std::to_string(kDefaultRestoreWorkers) + ")",
               1, kMaxRestoreWorkers);
}

base::Result<RestorePolicy> RestorePolicyFromFlags(const ParsedFlags& flags,
                                                   const RestorePolicy& base) {
  RestorePolicy p = base;
  auto bad = [](std::string_view flag, std::string_view message) {
    return Error(Code::kInvalidArgument, "--" + std::string(flag) + ": " + std::string(message));
  };
  struct ListFlag {
    const char* name;
    std::vector<std::string> RestorePolicy::*member;
    base::Status (*check)(std::string_view);
  };
  static constexpr std::array<ListFlag, 4> kLists = {{
      {"include-namespaces", &RestorePolicy::include_namespaces, ValidateNamespacePattern},
      {"exclude-namespaces", &RestorePolicy::exclude_namespaces, ValidateNamespacePattern},
      {"include-resources", &RestorePolicy::include_resources, ValidateResourceName},
      {"exclude-resources", &RestorePolicy::exclude_resources, ValidateResourceName},
  }};
  for (const ListFlag& f : kLists) {
    if (!flags.Has(f.name)) continue;
    std::vector<std::string> items = flags.GetList(f.name);
    for (const std::string& item : items) {
      if (base::Status st = f.check(item); !st.ok()) return bad(f.name, st.message());
    }
    p.*f.member = std::move(items);
  }
  if (flags.Has("label-selector")) {
    p.label_selector = flags.GetString("label-selector");
    if (base::Status st = CheckSelector(p.label_selector); !st.ok()) {
      return bad("label-selector", st.message());
    }
  }
  for (MappingKind kind : kMappingKinds) {
    const std::string flag = MappingFlag(kind);
    if (!flags.Has(flag)) continue;
    Mapping mapping = flags.GetMap(flag);
    std::vector<MappingProblem> problems = CheckMapping(kind, mapping);
    if (!problems.empty()) return bad(flag, problems.front().message);
    p.*MappingMember(kind) = std::move(mapping);
  }
  // A choice flag: FlagSet has checked the word already.
  if (flags.Has("existing-resource-policy")) {
    p.existing_resource_policy = flags.GetString("existing-resource-policy");
  }
  if (flags.Has("preserve-node-ports"))
    p.preserve_node_ports = flags.GetBool("preserve-node-ports");
  if (flags.Has("restore-status")) p.restore_status = flags.GetBool("restore-status");
  if (flags.Has("priorities")) {
    std::vector<std::string> items = flags.GetList("priorities");
    std::vector<std::pair<size_t, std::string>> problems = CheckPriorities(items);
    if (!problems.empty()) return bad("priorities", problems.front().second);
    p.priorities = std::move(items);
  }
  if (flags.Has("restore-workers")) {
    p.restore_workers = static_cast<int>(flags.GetInt("restore-workers"));
  }
  if (auto timeout = flags.GetDuration("timeout")) p.timeout = *timeout;
  if (!p.timeout) p.timeout = kDefaultRestoreTimeout;
  return p;
}

base::Result<RestorePolicy> SelectRestorePolicy(const Config* cfg, std::string_view name) {
  if (name.empty()) {
    RestorePolicy p;
    if (cfg != nullptr && cfg->defaults.timeout) p.timeout = *cfg->defaults.timeout;
    return p;
  }
  if (cfg != nullptr) {
    auto it = cfg->restores.find(std::string(name));
    if (it != cfg->restores.end()) return it->second;
  }
  std::vector<std::string_view> names;
  if (cfg != nullptr) {
    for (const auto& [n, p] : cfg->restores) names.push_back(n);
  }
  return UnknownPolicy(cfg, name, "restore policy", " (it defines no [restores.NAME])", names);
}

}  // namespace cairn::config
