#include "config/volume_keys.h"

#include <algorithm>
#include <array>
#include <string>

#include "config/quantity.h"
#include "config/restore_policy.h"

namespace cairn::config {

using base::Code;
using base::Error;

base::Status CheckVolumesMode(std::string_view mode) {
  if (mode == "none" || mode == "fs" || mode == "snapshot" || mode == "all") {
    return base::Status::Ok();
  }
  return Error(Code::kInvalidArgument, "invalid value '" + std::string(mode) +
                                           "' (want \"none\", \"fs\", \"snapshot\" or \"all\")");
}

base::Status CheckSnapshotClassName(std::string_view name) {
  if (name.empty() || ValidateStorageClassName(name).ok()) return base::Status::Ok();
  return Error(Code::kInvalidArgument,
               "invalid VolumeSnapshotClass name '" + std::string(name) +
                   "': want lowercase letters, digits, '-' and '.', each dot-separated part "
                   "starting and ending with a letter or digit, at most 253 characters");
}

namespace internal {
namespace {

constexpr std::array<std::string_view, 3> kMoverResourceNames = {"cpu", "memory",
                                                                 "ephemeral-storage"};

// A table such as { cpu = "100m", memory = "64Mi" }: known names, Kubernetes quantities.
Field<MoverResources> ResourceMapField(std::string_view key,
                                       std::map<std::string, std::string> MoverResources::*member) {
  return {key,
          [member](const toml::node& n, MoverResources& out, Binder& b, const std::string& path) {
            const auto* table = n.as_table();
            if (table == nullptr) return TypeError("a table such as { memory = \"64Mi\" }", n);
            (out.*member).clear();  // the table replaces the defaults
            for (auto&& [name, value] : *table) {
              const std::string item = Binder::Join(path, name.str());
              const Position pos = PositionOf(name.source());
              if (std::find(kMoverResourceNames.begin(), kMoverResourceNames.end(), name.str()) ==
                  kMoverResourceNames.end()) {
                b.Add(pos, item, "unknown resource (want cpu, memory or ephemeral-storage)");
                continue;
              }
              const auto* s = value.as_string();
              if (s == nullptr) {
                b.Add(pos, item, TypeError("a quantity string such as \"64Mi\"", value).message());
                continue;
              }
              if (base::Result<uint64_t> q = ParseQuantity(s->get()); !q.ok()) {
                b.Add(pos, item, q.status().message());
                continue;
              }
              (out.*member)[std::string(name.str())] = s->get();
            }
            return base::Status::Ok();
          }};
}

const std::vector<Field<MoverResources>>& MoverResourcesFields() {
  static const auto* fields = new std::vector<Field<MoverResources>>{
      ResourceMapField("requests", &MoverResources::requests),
      ResourceMapField("limits", &MoverResources::limits),
  };
  return *fields;
}

// An image reference: no whitespace or control characters (the registry judges the rest).
base::Status CheckImage(std::string_view image) {
  const bool bad = std::any_of(image.begin(), image.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
  if (bad) return Error(Code::kInvalidArgument, "an image reference has no whitespace");
  return base::Status::Ok();
}

template <typename S>
Field<S> VolumeTimeoutField() {
  return {"volume_timeout", [](const toml::node& n, S& out, Binder&, const std::string&) {
            ASSIGN_OR_RETURN(out.movers.volume_timeout, PositiveDuration(n));
            return base::Status::Ok();
          }};
}

template <typename S, typename T>
Field<S> MoverField(Field<MoverSettings> inner) {
  return {inner.key,
          [bind = inner.bind](const toml::node& n, S& out, Binder& b, const std::string& path) {
            return bind(n, out.movers, b, path);
          }};
}

const std::vector<Field<MoverSettings>>& MoverSettingsFields() {
  static const auto* fields = new std::vector<Field<MoverSettings>>{
      IntField("mover_concurrency", &MoverSettings::concurrency, 1, kMaxMoverConcurrency),
      EnumField("mover_nodes", &MoverSettings::nodes, {"exclude", "include", "prefer"}),
      StringField("mover_image", &MoverSettings::image, CheckImage),
      SectionField("mover_resources", &MoverSettings::resources, &MoverResourcesFields()),
      BoolField("mover_privileged", &MoverSettings::privileged),
  };
  return *fields;
}

template <typename S>
std::vector<Field<S>> MoverFieldsOf() {
  std::vector<Field<S>> out = {VolumeTimeoutField<S>()};
  for (const auto& f : MoverSettingsFields()) out.push_back(MoverField<S, MoverSettings>(f));
  return out;
}

}  // namespace

const std::vector<Field<BackupPolicy>>& VolumePolicyFields() {
  static const auto* fields = [] {
    auto* v = new std::vector<Field<BackupPolicy>>{
        StringField("volumes", &BackupPolicy::volumes, CheckVolumesMode),
        StringField("volume_snapshot_class", &BackupPolicy::volume_snapshot_class,
                    CheckSnapshotClassName)};
    for (auto& f : MoverFieldsOf<BackupPolicy>()) v->push_back(std::move(f));
    return v;
  }();
  return *fields;
}

const std::vector<Field<RestorePolicy>>& RestoreMoverFields() {
  static const auto* fields = new std::vector<Field<RestorePolicy>>(MoverFieldsOf<RestorePolicy>());
  return *fields;
}

}  // namespace internal
}  // namespace cairn::config
