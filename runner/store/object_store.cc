#include "store/object_store.h"

namespace cairn::store {

Result<std::string> ObjectStore::GetAll(std::string_view key, size_t limit) {
  ASSIGN_OR_RETURN(auto src, Get(key));
  auto data = io::ReadAll(*src, limit);
  if (!data.ok()) return data.status().Wrap("unable to read '" + std::string(key) + "'");
  return data;
}

Result<std::vector<ObjectInfo>> ObjectStore::ListAll(const ListOptions& opts) {
  std::vector<ObjectInfo> all;
  RETURN_IF_ERROR(List(opts, [&](const ListPage& p) {
    all.insert(all.end(), p.objects.begin(), p.objects.end());
    return true;
  }));
  return all;
}

Result<uint64_t> ObjectStore::PendingUploadBytes(const PendingUpload& upload) {
  return base::Error(base::Code::kFailedPrecondition,
                     Describe() + " cannot tell the size of pending upload '" + upload.key + "'");
}

}  // namespace cairn::store
