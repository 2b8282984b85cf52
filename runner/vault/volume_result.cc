#include "vault/volume_result.h"

#include "vault/json_document.h"
#include "vault/layout.h"

namespace cairn::vault {

using base::Code;
using base::Error;
using base::Result;
using base::Status;
using internal::Json;

namespace {

bool IsHexDigest(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// At most kMaxVolumeMessageBytes, cut at a UTF-8 character boundary.
std::string Truncated(std::string_view s) {
  if (s.size() <= kMaxVolumeMessageBytes) return std::string(s);
  size_t n = kMaxVolumeMessageBytes - 3;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

Json Messages(const std::vector<std::string>& items) {
  Json out = Json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    if (i + 1 == kMaxVolumeResultItems && items.size() > kMaxVolumeResultItems) {
      out.push_back("... and " + std::to_string(items.size() - i) + " more not listed");
      break;
    }
    out.push_back(Truncated(items[i]));
  }
  return out;
}

Status Check(const VolumeResult& r) {
  if (r.kind != kKindVolumeBackup && r.kind != kKindVolumeRestore) {
    return Error(Code::kInvalidArgument, "unknown kind '" + r.kind + "'");
  }
  if (r.phase != "Completed" && r.phase != "PartiallyFailed" && r.phase != "Failed") {
    return Error(Code::kInvalidArgument, "unknown phase '" + r.phase + "'");
  }
  RETURN_IF_ERROR(ValidateVolumeName(r.backup, "backup"));
  if (r.kind == kKindVolumeRestore) RETURN_IF_ERROR(ValidateVolumeName(r.restore, "restore"));
  RETURN_IF_ERROR(ValidateVolumeName(r.namespace_name, "namespace"));
  RETURN_IF_ERROR(ValidateVolumeName(r.pvc, "pvc"));
  if (r.object) {
    const VolumeObject& o = *r.object;
    if (o.key != VolumeObjectKey(r.namespace_name, r.pvc)) {
      return Error(Code::kInvalidArgument, "object key '" + o.key + "' is not the volume's");
    }
    if (!IsHexDigest(o.stored_sha256) || !IsHexDigest(o.logical_sha256)) {
      return Error(Code::kInvalidArgument, "object digests must be 64 lowercase hex");
    }
    if (o.compression != "zstd" || o.content_type != "application/x-tar") {
      return Error(Code::kInvalidArgument, "object must be a zstd-compressed tar");
    }
  }
  if (r.warnings.size() > kMaxVolumeResultItems || r.errors.size() > kMaxVolumeResultItems) {
    return Error(Code::kInvalidArgument,
                 "more than " + std::to_string(kMaxVolumeResultItems) + " warnings or errors");
  }
  for (const auto* list : {&r.warnings, &r.errors}) {
    for (const auto& m : *list) {
      if (m.size() > kMaxVolumeMessageBytes) {
        return Error(Code::kInvalidArgument, "a message is longer than " +
                                                 std::to_string(kMaxVolumeMessageBytes) + " bytes");
      }
    }
  }
  return Status::Ok();
}

std::vector<std::string> ReadMessages(const Json& doc, std::string_view name,
                                      internal::FieldReader& r) {
  std::vector<std::string> out;
  auto it = doc.find(std::string(name));
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) {
    r.Fail("field '" + std::string(name) + "' must be an array of strings");
    return out;
  }
  for (const auto& v : *it) {
    if (!v.is_string()) {
      r.Fail("field '" + std::string(name) + "' must be an array of strings");
      return {};
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

std::string VolumeResultRel(std::string_view ns, std::string_view pvc) {
  return "volumes/" + std::string(ns) + "/" + std::string(pvc) + ".json";
}

Status ValidateVolumeName(std::string_view name, std::string_view what) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = !name.empty() && name.size() <= 253 && alnum(name.front()) && alnum(name.back());
  for (char c : name) ok = ok && (alnum(c) || c == '-' || c == '.');
  if (ok) return Status::Ok();
  return Error(Code::kInvalidArgument,
               "invalid " + std::string(what) + " name '" + std::string(name.substr(0, 300)) +
                   "': must be 1 to 253 of [a-z0-9.-], starting and ending with [a-z0-9]");
}

Result<std::string> SerializeVolumeResult(const VolumeResult& in) {
  VolumeResult r = in;
  r.message = Truncated(r.message);
  Json doc = Json::object();
  doc["formatVersion"] = std::string(kVolumeResultFormatVersion);
  doc["kind"] = r.kind;
  doc["backup"] = r.backup;
  if (r.kind == kKindVolumeRestore) doc["restore"] = r.restore;
  doc["namespace"] = r.namespace_name;
  doc["pvc"] = r.pvc;
  doc["phase"] = r.phase;
  doc["message"] = r.message;
  if (r.object) {
    const VolumeObject& o = *r.object;
    doc["object"] = {{"key", o.key},
                     {"storedSize", o.stored_size},
                     {"storedSha256", o.stored_sha256},
                     {"logicalSize", o.logical_size},
                     {"logicalSha256", o.logical_sha256},
                     {"compression", o.compression},
                     {"contentType", o.content_type}};
  }
  const VolumeCounts& c = r.counts;
  doc["counts"] = {{"files", c.files},         {"dirs", c.dirs},   {"symlinks", c.symlinks},
                   {"hardlinks", c.hardlinks}, {"bytes", c.bytes}, {"skipped", c.skipped}};
  doc["warnings"] = Messages(r.warnings);
  doc["errors"] = Messages(r.errors);
  doc["startTime"] = base::FormatRfc3339(r.start_time);
  doc["completionTime"] = base::FormatRfc3339(r.completion_time);
  r.warnings = doc["warnings"].get<std::vector<std::string>>();
  r.errors = doc["errors"].get<std::vector<std::string>>();
  if (Status st = Check(r); !st.ok()) {
    return Error(Code::kInvalidArgument, "unable to write volume result: " + st.message());
  }
  return internal::Canonical(doc, "volume result");
}

Result<VolumeResult> ParseVolumeResult(std::string_view bytes, std::string_view source) {
  const std::string what = "volume result '" + std::string(source) + "'";
  if (bytes.size() > kMaxVolumeResultBytes) {
    return Error(Code::kDataLoss,
                 what + " is larger than " + std::to_string(kMaxVolumeResultBytes) + " bytes");
  }
  ASSIGN_OR_RETURN(Json doc, internal::ParseDocument(bytes, what));
  internal::FieldReader r(doc);
  VolumeResult out;
  if (r.Str("formatVersion") != kVolumeResultFormatVersion && r.ok()) {
    return Error(Code::kFailedPrecondition, what +
                                                ": format version is newer than this cairn "
                                                "understands (1); upgrade cairn");
  }
  out.kind = r.Str("kind");
  out.backup = r.Str("backup");
  out.restore = r.OptStr("restore");
  out.namespace_name = r.Str("namespace");
  out.pvc = r.Str("pvc");
  out.phase = r.Str("phase");
  out.message = r.OptStr("message");
  if (doc.contains("object") && !doc["object"].is_null()) {
    internal::FieldReader o = r.Child("object");
    out.object = VolumeObject{o.Str("key"),          o.U64("storedSize"),    o.U64("logicalSize"),
                              o.Str("storedSha256"), o.Str("logicalSha256"), o.Str("compression"),
                              o.Str("contentType")};
  }
  internal::FieldReader c = r.Child("counts");
  out.counts = {c.U64("files"),     c.U64("dirs"),  c.U64("symlinks"),
                c.U64("hardlinks"), c.U64("bytes"), c.U64("skipped")};
  out.warnings = ReadMessages(doc, "warnings", r);
  out.errors = ReadMessages(doc, "errors", r);
  out.start_time = r.Time("startTime");
  out.completion_time = r.Time("completionTime");
  RETURN_IF_ERROR(r.status(what));
  if (Status st = Check(out); !st.ok()) {
    return Error(Code::kDataLoss, what + " is malformed: " + st.message());
  }
  return out;
}

}  // namespace cairn::vault
