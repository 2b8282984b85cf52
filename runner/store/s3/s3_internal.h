// store/s3 internals shared by the driver's files (not part of the module's interface).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/object_store.h"
#include "store/s3/s3_store.h"

namespace cairn::store::s3internal {

inline std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// The ETag S3 gives a completed multipart upload: hex MD5 of the parts' binary MD5s (their
// ETags, in part order), "-", the number of parts. nullopt when a part's ETag is not an MD5.
std::optional<std::string> MultipartEtag(const std::vector<std::pair<int, std::string>>& parts);

std::unique_ptr<io::Sink> NewUploadSink(S3Store* store, std::string key, PutOptions opts);
Result<std::unique_ptr<io::Source>> NewRangeSource(S3Store* store, std::string key,
                                                   ByteRange range);

}  // namespace cairn::store::s3internal
