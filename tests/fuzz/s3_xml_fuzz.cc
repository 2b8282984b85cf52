// Fuzzes the S3 XML response parsers (store/s3/xml.h) with the same body: each either refuses
// it or returns what its contract promises (a truncated listing has a continuation token, an
// InitiateMultipartUpload result a non-empty UploadId).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/s3/xml.h"

using namespace cairn::store::s3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)ParseError(body);
  if (auto r = ParseListObjectsV2(body); r.ok()) {
    if (r->is_truncated && r->next_continuation_token.empty()) std::abort();
  }
  (void)ParseListMultipartUploads(body);
  if (auto r = ParseListParts(body); r.ok()) {
    if (r->is_truncated && r->next_part_number_marker.empty()) std::abort();
  }
  if (auto r = ParseInitiateMultipartUpload(body); r.ok() && r->empty()) std::abort();
  (void)ParseCompleteMultipartUpload(body);
  (void)ParseDeleteObjects(body);
  return 0;
}
