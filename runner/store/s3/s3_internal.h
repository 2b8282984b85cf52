// store/s3 internals shared by the driver's files (not part of the module's interface).
#pragma once

#include <memory>
#include <string>

#include "store/object_store.h"
#include "store/s3/s3_store.h"

namespace cairn::store::s3internal {

inline std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::unique_ptr<io::Sink> NewUploadSink(S3Store* store, std::string key, PutOptions opts);
Result<std::unique_ptr<io::Source>> NewRangeSource(S3Store* store, std::string key,
                                                   ByteRange range);

}  // namespace cairn::store::s3internal
