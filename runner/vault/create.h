// vault/create: create-if-absent on any store (FORMAT.md §10.2).
//
// Where the store has an atomic conditional create (caps().conditional_create), exactly one of
// two concurrent creators succeeds. Elsewhere the fallback is HEAD, PUT, then read back and
// compare: a small race window remains and is documented in FORMAT.md. Either way the loser
// gets kAlreadyExists.
#pragma once

#include <string_view>

#include "base/status.h"
#include "store/object_store.h"

namespace cairn::vault {

// Creates `key` with `data` unless it exists; kAlreadyExists when it does (or when the fallback
// detects that another writer won). Other store errors pass through.
[[nodiscard]] base::Status CreateIfAbsent(store::ObjectStore& store, std::string_view key,
                                          std::string_view data,
                                          std::string_view content_type = "application/json");

}  // namespace cairn::vault
