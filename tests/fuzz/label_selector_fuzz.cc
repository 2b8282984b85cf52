// Fuzzes the label-selector parsers (config/policy.h): ParseLabelSelector and SplitOrSelectors.
// An accepted selector's requirements have valid shapes (In/NotIn hold a sorted set, Equals one
// value, Exists none), and every requirement can be evaluated.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/policy.h"

using namespace cairn::config;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto reqs = ParseLabelSelector(text); reqs.ok()) {
    for (const LabelRequirement& r : *reqs) {
      if (r.key.empty()) std::abort();
      switch (r.op) {
        case LabelRequirement::Op::kEquals:
        case LabelRequirement::Op::kNotEquals:
          if (r.values.size() != 1) std::abort();
          break;
        case LabelRequirement::Op::kIn:
        case LabelRequirement::Op::kNotIn:
          if (r.values.empty() || !std::is_sorted(r.values.begin(), r.values.end())) std::abort();
          break;
        case LabelRequirement::Op::kExists:
        case LabelRequirement::Op::kNotExists:
          if (!r.values.empty()) std::abort();
          break;
      }
      const std::string value = r.values.empty() ? std::string() : r.values.front();
      (void)LabelRequirementHolds(r, &value);
      (void)LabelRequirementHolds(r, nullptr);
    }
  }
  (void)SplitOrSelectors(text);
  return 0;
}
