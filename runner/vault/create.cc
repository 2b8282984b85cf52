#include "vault/create.h"

namespace cairn::vault {

using base::Code;
using base::Error;
using base::Status;

Status CreateIfAbsent(store::ObjectStore& store, std::string_view key, std::string_view data,
                      std::string_view content_type) {
  store::PutOptions opts;
  opts.content_type = std::string(content_type);
  auto exists = [&] {
    return Error(Code::kAlreadyExists, "object '" + std::string(key) + "' already exists");
  };
  if (store.caps().conditional_create) {
    opts.if_none_match = true;
    Status st = store.Put(key, data, opts);
    if (st.code() != Code::kAlreadyExists) return st;
    // A create whose response was lost is retried and then refused by its own object: the
    // bytes decide. Documents created this way are unique per writer (ids, timestamps).
    auto back = store.GetAll(key);
    if (back.ok() && *back == data) return Status::Ok();
    return st;
  }
  auto head = store.Head(key);
  if (head.ok()) return exists();
  if (head.status().code() != Code::kNotFound) return head.status();
  RETURN_IF_ERROR(store.Put(key, data, opts));
  // Read back: a writer that raced us between HEAD and PUT may have replaced our bytes.
  auto back = store.GetAll(key);
  if (!back.ok()) {
    if (back.status().code() == Code::kNotFound) return exists();
    return back.status();
  }
  if (*back != data) return exists();
  return Status::Ok();
}

}  // namespace cairn::vault
