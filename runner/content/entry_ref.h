// content/entry_ref: the identity of an object entry of resources.tar.zst (FORMAT.md §5.1),
// parsed from and turned back into its archive path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cairn::content {

// One archive entry: an object of one resource in one stored version.
struct EntryRef {
  std::string group;  // "" for the core group ("core" in the path)
  std::string resource;
  std::string version;
  std::string namespace_name;  // "" for cluster-scoped objects
  std::string name;
};

// "resources/<group|core>/<resource>/<version>/namespaces/<ns>/<name>.json" or
// "resources/<group|core>/<resource>/<version>/cluster/<name>.json" (runner/vault/FORMAT.md
// §5.1); nullopt for anything else (metadata/backup.json, empty segments, garbage).
std::optional<EntryRef> ParseEntryPath(std::string_view path);

// The inverse of ParseEntryPath: the archive entry path of `e` (for messages and results).
std::string EntryPath(const EntryRef& e);

// "resource" for the core group, "resource.group" otherwise.
std::string QualifiedResource(std::string_view group, std::string_view resource);

}  // namespace cairn::content
