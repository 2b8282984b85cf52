#include "content/entry_ref.h"

#include <algorithm>
#include <vector>

namespace cairn::content {
namespace {

// A path segment of an archive entry: non-empty, no '/', not "." or "..".
bool GoodSegment(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos;
}

}  // namespace

std::optional<EntryRef> ParseEntryPath(std::string_view path) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t slash = path.find('/', start);
    parts.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 6 || parts[0] != "resources") return std::nullopt;
  if (!std::all_of(parts.begin(), parts.end(), GoodSegment)) return std::nullopt;
  EntryRef e;
  e.group = parts[1] == "core" ? "" : std::string(parts[1]);
  e.resource = parts[2];
  e.version = parts[3];
  std::string_view file;
  if (parts.size() == 6 && parts[4] == "cluster") {
    file = parts[5];
  } else if (parts.size() == 7 && parts[4] == "namespaces") {
    e.namespace_name = parts[5];
    file = parts[6];
  } else {
    return std::nullopt;
  }
  constexpr std::string_view kSuffix = ".json";
  if (file.size() <= kSuffix.size() || !file.ends_with(kSuffix)) return std::nullopt;
  e.name = file.substr(0, file.size() - kSuffix.size());
  return e;
}

std::string EntryPath(const EntryRef& e) {
  std::string out = "resources/" + (e.group.empty() ? std::string("core") : e.group) + "/" +
                    e.resource + "/" + e.version;
  out += e.namespace_name.empty() ? "/cluster/" : "/namespaces/" + e.namespace_name + "/";
  return out + e.name + ".json";
}

std::string QualifiedResource(std::string_view group, std::string_view resource) {
  std::string out(resource);
  if (!group.empty()) {
    out += ".";
    out += group;
  }
  return out;
}

}  // namespace cairn::content
