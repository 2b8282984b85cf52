#include "volume/messages.h"

#include <cstdlib>

namespace cairn::volume {
namespace {

constexpr std::string_view kMore = "... and more (";

}  // namespace

void AddMessage(std::vector<std::string>& list, std::string msg) {
  if (list.size() < kMaxMessages - 1) {
    list.push_back(std::move(msg));
    return;
  }
  // The last slot counts what did not fit.
  uint64_t more = 1;
  if (list.size() == kMaxMessages) {
    const std::string& last = list.back();
    more = std::strtoull(last.c_str() + kMore.size(), nullptr, 10) + 1;
    list.pop_back();
  }
  list.push_back(std::string(kMore) + std::to_string(more) + " not listed)");
}

void AddWarning(TreeResult& r, std::string msg) { AddMessage(r.warnings, std::move(msg)); }
void AddError(TreeResult& r, std::string msg) { AddMessage(r.errors, std::move(msg)); }

}  // namespace cairn::volume
