// store/s3/xml: the S3 XML bodies cairn reads and writes, without an XML library.
//
// A small, strict parser handles what S3 servers (AWS, Ceph RGW, MinIO, ...) send: elements,
// attributes (skipped, so xmlns declarations do not matter), namespace prefixes (dropped),
// character data with the five predefined entities and numeric character references, CDATA,
// comments, processing instructions and the XML declaration, and leading whitespace (S3 pads
// CompleteMultipartUpload responses with it while it works). DOCTYPE is refused. Anything that
// is not well formed, or lacks a required element, is Code::kInternal "malformed S3 response:
// ...": a server that answers nonsense is a bug somewhere, not a condition to retry.
// Text is never trimmed for keys, ETags or tokens (a key may begin or end with spaces); numbers
// and booleans may be surrounded by whitespace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cairn::store::s3 {

// An S3 error document. http_status is not in the body: parsers leave it 0 for the caller.
struct S3Error {
  int http_status = 0;
  std::string code;     // "NoSuchKey"
  std::string message;  // may be empty (Ceph RGW sends none or <Message/>)
  std::string request_id;
  std::string host_id;
  std::string resource;  // <Resource>, else <Key>, else <BucketName>
};

// <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId><HostId>..</HostId></Error>.
// An empty body, or a body that is not an <Error> document (an HTML page from a proxy), is an
// error: the caller then reports the HTTP status alone.
base::Result<S3Error> ParseError(std::string_view body);

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  std::string etag;           // surrounding quotes stripped
  std::string last_modified;  // as given, "2009-10-12T17:50:30.000Z"
  std::string storage_class;  // may be empty
};

struct ListObjectsResult {
  std::vector<ListedObject> objects;
  std::vector<std::string> common_prefixes;
  bool is_truncated = false;
  std::string next_continuation_token;  // always set when is_truncated
};

// <ListBucketResult> of ListObjectsV2. With <EncodingType>url</EncodingType> keys and prefixes
// are URL-decoded. A truncated result without NextContinuationToken is refused (it would make
// the caller list the same page forever).
base::Result<ListObjectsResult> ParseListObjectsV2(std::string_view body);

struct ListedUpload {
  std::string key;
  std::string upload_id;
  std::string initiated;  // as given
};

struct ListUploadsResult {
  std::vector<ListedUpload> uploads;
  bool is_truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

// <ListMultipartUploadsResult>; keys URL-decoded under EncodingType url.
base::Result<ListUploadsResult> ParseListMultipartUploads(std::string_view body);

// <ListPartsResult>: the parts' sizes summed, and where the next page starts.
struct ListPartsResult {
  uint64_t bytes = 0;  // sum of <Part><Size> on this page
  size_t parts = 0;
  bool is_truncated = false;
  std::string next_part_number_marker;  // always set when is_truncated
};
base::Result<ListPartsResult> ParseListParts(std::string_view body);

// <InitiateMultipartUploadResult>: the non-empty UploadId.
base::Result<std::string> ParseInitiateMultipartUpload(std::string_view body);

// CompleteMultipartUpload can fail after HTTP 200 has been sent: the body is then an <Error>
// document, reported here as is_error with the error (http_status 0), not as a parse failure.
struct CompleteResult {
  bool is_error = false;
  S3Error error;
  std::string etag;  // of the completed object, quotes stripped
};
base::Result<CompleteResult> ParseCompleteMultipartUpload(std::string_view body);

// <DeleteResult>: keys deleted, and per-key failures with the key in S3Error::resource.
struct DeleteResult {
  std::vector<std::string> deleted;
  std::vector<S3Error> errors;
};
base::Result<DeleteResult> ParseDeleteObjects(std::string_view body);

// Escapes & < > " ' as entities, and CR and LF as character references (S3's documented rule
// for keys in XML: a raw CR would be turned into LF by the server's parser).
std::string XmlEscape(std::string_view s);

// The CompleteMultipartUpload request body. Parts must be given in ascending part-number order
// (S3 answers InvalidPartOrder otherwise); ETags may be given with or without their quotes.
std::string BuildCompleteMultipartUpload(
    const std::vector<std::pair<int, std::string>>& part_etags);

// The DeleteObjects request body (at most 1000 keys per request, the caller's job). S3 requires
// a Content-MD5 (or x-amz-checksum-*) header on this request.
std::string BuildDeleteObjects(const std::vector<std::string>& keys, bool quiet);

}  // namespace cairn::store::s3
