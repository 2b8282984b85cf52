#include "vault/layout.h"

#include <algorithm>

namespace cairn::vault {

using base::Code;
using base::Error;
using base::Status;

namespace {

constexpr size_t kMaxNameLength = 63;
constexpr size_t kMaxObjectKeyLength = 512;
constexpr size_t kMaxSegmentLength = 255;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsSegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

Status ValidateName(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength && IsLowerAlnum(name.front()) &&
            IsLowerAlnum(name.back());
  for (size_t i = 0; ok && i < name.size(); ++i) {
    ok = IsLowerAlnum(name[i]) || name[i] == '-' || name[i] == '.';
  }
  if (ok) return Status::Ok();
  return Error(Code::kInvalidArgument,
               "invalid " + std::string(what) + " '" + std::string(name) +
                   "': must be 1 to 63 characters of lowercase letters, digits, '-' and '.', "
                   "starting and ending with a letter or digit");
}

std::string DerivedName(std::string_view base, std::string_view suffix) {
  const size_t room = suffix.size() < kMaxNameLength ? kMaxNameLength - suffix.size() : 0;
  std::string_view head = base.substr(0, std::min(base.size(), room));
  while (!head.empty() && !IsLowerAlnum(head.back())) head.remove_suffix(1);
  return std::string(head) + std::string(suffix);
}

Status ValidateObjectKey(std::string_view rel) {
  auto invalid = [&](std::string_view why) {
    return Error(Code::kInvalidArgument,
                 "invalid object key '" + std::string(rel) + "': " + std::string(why));
  };
  if (rel.empty()) return invalid("it is empty");
  if (rel.size() > kMaxObjectKeyLength) return invalid("it is longer than 512 bytes");
  size_t start = 0;
  while (start <= rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    std::string_view seg = rel.substr(start, end - start);
    if (seg.empty()) return invalid("it has an empty segment");
    if (seg == "." || seg == "..") return invalid("'.' and '..' segments are not allowed");
    if (seg.size() > kMaxSegmentLength) return invalid("a segment is longer than 255 bytes");
    for (char c : seg) {
      if (!IsSegmentChar(c)) {
        return invalid("segments may contain only letters, digits, '.', '_' and '-'");
      }
    }
    start = end + 1;
  }
  return Status::Ok();
}

std::string VolumeObjectKey(std::string_view ns, std::string_view pvc) {
  return "volumes/" + std::string(ns) + "/" + std::string(pvc) + ".tar.zst";
}

Layout::Layout(std::string_view prefix) {
  // Split on '/', drop empty segments, rejoin: strips leading/trailing '/' and collapses "//".
  size_t start = 0;
  while (start < prefix.size()) {
    size_t end = prefix.find('/', start);
    if (end == std::string_view::npos) end = prefix.size();
    if (end > start) {
      if (!prefix_.empty()) prefix_ += '/';
      prefix_.append(prefix.substr(start, end - start));
    }
    start = end + 1;
  }
}

std::string Layout::Join(std::string_view rel) const {
  if (prefix_.empty()) return std::string(rel);
  std::string out;
  out.reserve(prefix_.size() + 1 + rel.size());
  out.append(prefix_).append("/").append(rel);
  return out;
}

std::string Layout::VaultInfoKey() const { return Join("cairn-vault.json"); }
std::string Layout::VaultStatusKey() const { return Join("vault-status.json"); }

std::string Layout::BackupsPrefix() const { return Join("backups/"); }

std::string Layout::BackupDir(std::string_view name) const {
  return BackupsPrefix() + std::string(name) + "/";
}

std::string Layout::BackupObjectKey(std::string_view name, std::string_view rel) const {
  return BackupDir(name) + std::string(rel);
}

std::string Layout::ManifestKey(std::string_view name) const {
  return BackupObjectKey(name, kManifestObject);
}

std::string Layout::RestoresPrefix() const { return Join("restores/"); }
std::string Layout::RestoreObjectKey(std::string_view name, std::string_view rel) const {
  return RestoresPrefix() + std::string(name) + "/" + std::string(rel);
}
std::string Layout::GcPrefix() const { return Join("gc/"); }

base::Result<std::string> Layout::StatusKey(std::string_view kind, std::string_view name) const {
  std::string dir;
  if (kind == "backup") {
    dir = BackupsPrefix();
  } else if (kind == "restore") {
    dir = RestoresPrefix();
  } else if (kind == "gc") {
    dir = GcPrefix();
  } else {
    return Error(Code::kInvalidArgument, "no status key for run kind '" + std::string(kind) +
                                             "': want backup, restore or gc");
  }
  RETURN_IF_ERROR(ValidateName(name, std::string(kind) + " name"));
  return dir + std::string(name) + "/" + std::string(kStatusObject);
}

std::string Layout::ConversionsPrefix() const { return Join("conversions/"); }

std::string Layout::ConversionDir(std::string_view backup, std::string_view name) const {
  return ConversionsPrefix() + std::string(backup) + "/" + std::string(name) + "/";
}

std::string Layout::ConversionObjectKey(std::string_view backup, std::string_view name,
                                        std::string_view rel) const {
  return ConversionDir(backup, name) + std::string(rel);
}

std::string Layout::ConversionManifestKey(std::string_view backup, std::string_view name) const {
  return ConversionObjectKey(backup, name, kManifestObject);
}

std::string Layout::ConversionStatusKey(std::string_view backup, std::string_view name) const {
  return ConversionObjectKey(backup, name, kStatusObject);
}

std::string Layout::LocksPrefix() const { return Join("locks/"); }

std::string Layout::LockKey(std::string_view operation) const {
  return LocksPrefix() + std::string(operation) + ".json";
}

std::string Layout::ReadLocksPrefix(std::string_view backup) const {
  return LocksPrefix() + "read/" + std::string(backup) + "/";
}

std::string Layout::ReadLockKey(std::string_view backup, std::string_view reader) const {
  return ReadLocksPrefix(backup) + std::string(reader) + ".json";
}

std::string Layout::ProbePrefix() const { return Join(".cairn-probe/"); }

std::string Layout::ProbeKey(std::string_view random) const {
  return ProbePrefix() + std::string(random);
}

std::optional<BackupKeyParts> Layout::ParseBackupKey(std::string_view key) const {
  const std::string prefix = BackupsPrefix();
  if (key.size() <= prefix.size() || key.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  std::string_view rest = key.substr(prefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) return std::nullopt;
  std::string_view name = rest.substr(0, slash);
  if (!ValidateName(name).ok()) return std::nullopt;
  return BackupKeyParts{std::string(name), std::string(rest.substr(slash + 1))};
}

std::optional<std::string> Layout::ParseBackupNameFromKey(std::string_view key) const {
  auto parts = ParseBackupKey(key);
  if (!parts) return std::nullopt;
  return std::move(parts->name);
}

}  // namespace cairn::vault
