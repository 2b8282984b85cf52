#include "vault/manifest.h"

#include <algorithm>
#include <utility>

#include "io/hash.h"
#include "vault/create.h"
#include "vault/json_document.h"

namespace cairn::vault {

using base::Code;
using base::Error;
using base::Result;
using base::Status;
using internal::Json;

namespace {

constexpr size_t kMaxManifestBytes = 16 << 20;
constexpr std::string_view kChecksumPrefix = "sha256:";

bool IsSha256Hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// "backup 'x'" or "conversion 'n' of backup 'b'", for messages.
std::string Describe(const Manifest& m) {
  if (m.kind == kManifestKindConversion) {
    return "conversion '" + m.name + "' of backup '" + m.backup + "'";
  }
  return "backup '" + m.name + "'";
}

// The first rule of FORMAT.md §6 that `m` breaks, or "". Objects must already be sorted.
std::string FindProblem(const Manifest& m) {
  auto version = internal::ParseFormatVersion(m.format_version, "manifest");
  if (!version.ok()) return "format_version '" + m.format_version + "' is not MAJOR.MINOR";
  if (m.kind != kManifestKindBackup && m.kind != kManifestKindConversion) {
    return "kind '" + m.kind + "' is neither Backup nor Conversion";
  }
  if (Status s = ValidateName(m.name, "backup name"); !s.ok()) return s.message();
  if (m.kind == kManifestKindConversion) {
    if (Status s = ValidateName(m.backup, "backup name"); !s.ok()) return s.message();
  } else if (!m.backup.empty()) {
    return "member 'backup' is only allowed in a Conversion manifest";
  }
  for (size_t i = 0; i < m.objects.size(); ++i) {
    const StoredObject& o = m.objects[i];
    const std::string at = "object '" + o.key + "'";
    if (Status s = ValidateObjectKey(o.key); !s.ok()) return s.message();
    if (o.key == kManifestObject || o.key == kStatusObject) return at + " is reserved";
    if (i > 0 && !(m.objects[i - 1].key < o.key)) {
      return at + (m.objects[i - 1].key == o.key ? " is listed twice" : " is out of order");
    }
    if (!IsSha256Hex(o.stored_sha256)) return at + ": stored_sha256 is not 64 lowercase hex";
    if (!IsSha256Hex(o.logical_sha256)) return at + ": logical_sha256 is not 64 lowercase hex";
    if (o.compression != "zstd" && o.compression != "none") {
      return at + ": compression '" + o.compression + "' is neither zstd nor none";
    }
    if (o.compression == "none" &&
        (o.stored_size != o.logical_size || o.stored_sha256 != o.logical_sha256)) {
      return at + ": uncompressed but stored and logical size or digest differ";
    }
    if (o.content_type.empty()) return at + ": content_type is empty";
  }
  return "";
}

Json ObjectToJson(const StoredObject& o) {
  Json j = Json::object();
  j["key"] = o.key;
  j["stored_size"] = o.stored_size;
  j["stored_sha256"] = o.stored_sha256;
  j["logical_size"] = o.logical_size;
  j["logical_sha256"] = o.logical_sha256;
  j["compression"] = o.compression;
  j["content_type"] = o.content_type;
  if (o.entry_count) j["entry_count"] = *o.entry_count;
  internal::AddUnknown(j, o.extra);
  return j;
}

Json TotalsToJson(const ManifestTotals& t) {
  Json j = Json::object();
  j["object_count"] = t.object_count;
  j["stored_size"] = t.stored_size;
  j["logical_size"] = t.logical_size;
  if (t.entry_count) j["entry_count"] = *t.entry_count;
  return j;
}

// The manifest as a JSON object without "checksum"; objects sorted by key.
Result<Json> ToJsonWithoutChecksum(Manifest m) {
  std::sort(m.objects.begin(), m.objects.end(),
            [](const StoredObject& a, const StoredObject& b) { return a.key < b.key; });
  if (std::string problem = FindProblem(m); !problem.empty()) {
    return Error(Code::kInvalidArgument,
                 "unable to serialise manifest of " + Describe(m) + ": " + problem);
  }
  Json j = Json::object();
  j["format_version"] = m.format_version;
  j["kind"] = m.kind;
  j["name"] = m.name;
  if (m.kind == kManifestKindConversion) j["backup"] = m.backup;
  j["created"] = base::FormatRfc3339(m.created);
  j["completed"] = base::FormatRfc3339(m.completed);
  if (!m.created_by.empty()) j["created_by"] = m.created_by;
  if (!m.policy.empty()) j["policy"] = m.policy;
  Json objects = Json::array();
  for (const StoredObject& o : m.objects) objects.push_back(ObjectToJson(o));
  j["objects"] = std::move(objects);
  j["totals"] = TotalsToJson(ComputeTotals(m));
  internal::AddUnknown(j["totals"], m.totals_extra);
  internal::AddUnknown(j, m.extra);
  j.erase("checksum");
  return j;
}

std::string ChecksumOf(std::string_view canonical) {
  return std::string(kChecksumPrefix) + io::Sha256Hex(canonical);
}

}  // namespace

ManifestTotals ComputeTotals(const Manifest& manifest) {
  ManifestTotals t;
  for (const StoredObject& o : manifest.objects) {
    ++t.object_count;
    t.stored_size += o.stored_size;
    t.logical_size += o.logical_size;
    if (o.entry_count) t.entry_count = t.entry_count.value_or(0) + *o.entry_count;
  }
  return t;
}

Result<std::string> ComputeManifestChecksum(const Manifest& manifest) {
  ASSIGN_OR_RETURN(Json j, ToJsonWithoutChecksum(manifest));
  ASSIGN_OR_RETURN(std::string canonical,
                   internal::Canonical(j, "manifest of " + Describe(manifest)));
  return ChecksumOf(canonical);
}

Result<std::string> SerializeManifest(const Manifest& manifest) {
  ASSIGN_OR_RETURN(Json j, ToJsonWithoutChecksum(manifest));
  ASSIGN_OR_RETURN(std::string canonical,
                   internal::Canonical(j, "manifest of " + Describe(manifest)));
  // FORMAT.md §6.4: the canonical body with the checksum appended as its last member.
  std::string out = canonical.substr(0, canonical.size() - 1);
  out += ",\"checksum\":\"" + ChecksumOf(canonical) + "\"}\n";
  return out;
}

Result<Manifest> ParseManifest(std::string_view bytes, std::string_view source) {
  // "backup 'x' ('<key>')" once the name is known, for messages.
  std::string subject = "'" + std::string(source) + "'";
  std::string what = "manifest " + subject;
  ASSIGN_OR_RETURN(Json doc, internal::ParseDocument(bytes, what));
  if (auto it = doc.find("name"); it != doc.end() && it->is_string()) {
    subject = "backup '" + it->get<std::string>() + "' (" + subject + ")";
    what = "manifest of " + subject;
  }
  internal::FieldReader r(doc);
  Manifest m;
  // 1. The version decides how to read everything else, the checksum included.
  m.format_version = r.Str("format_version");
  RETURN_IF_ERROR(r.status(what));
  RETURN_IF_ERROR(internal::CheckFormatReadable(m.format_version, what));

  // 2. The checksum, over the document as parsed (members this version does not know too).
  m.checksum = r.Str("checksum");
  RETURN_IF_ERROR(r.status(what));
  if (m.checksum.compare(0, kChecksumPrefix.size(), kChecksumPrefix) != 0 ||
      !IsSha256Hex(std::string_view(m.checksum).substr(kChecksumPrefix.size()))) {
    return Error(Code::kDataLoss, what + " is malformed: checksum '" + m.checksum +
                                      "' is not \"sha256:\" and 64 lowercase hex");
  }
  Json body = doc;
  body.erase("checksum");
  auto canonical = internal::Canonical(body, what);
  if (!canonical.ok()) {
    return Error(Code::kDataLoss, what + " is malformed: " + canonical.status().message());
  }
  const std::string computed = ChecksumOf(*canonical);
  if (computed != m.checksum) {
    return Error(Code::kDataLoss, "manifest checksum mismatch for " + subject + ": recorded " +
                                      m.checksum + ", computed " + computed)
        .WithHint(
            "the manifest was modified or damaged after it was written; this backup "
            "cannot be trusted");
  }

  // 3. The members.
  m.kind = r.Str("kind");
  m.name = r.Str("name");
  if (m.kind == kManifestKindConversion) m.backup = r.Str("backup");
  m.created = r.Time("created");
  m.completed = r.Time("completed");
  m.created_by = r.OptStr("created_by");
  m.policy = r.OptStr("policy");
  size_t n = r.ArraySize("objects");
  for (size_t i = 0; i < n && r.ok(); ++i) {
    internal::FieldReader e = r.Element("objects", i);
    StoredObject o;
    o.key = e.Str("key");
    o.stored_size = e.U64("stored_size");
    o.stored_sha256 = e.Str("stored_sha256");
    o.logical_size = e.U64("logical_size");
    o.logical_sha256 = e.Str("logical_sha256");
    o.compression = e.Str("compression");
    o.content_type = e.Str("content_type");
    o.entry_count = e.OptU64("entry_count");
    if (e.ok()) {
      o.extra = internal::CollectUnknown(
          doc["objects"][i], {"key", "stored_size", "stored_sha256", "logical_size",
                              "logical_sha256", "compression", "content_type", "entry_count"});
    }
    m.objects.push_back(std::move(o));
  }
  internal::FieldReader totals = r.Child("totals");
  ManifestTotals recorded;
  recorded.object_count = totals.U64("object_count");
  recorded.stored_size = totals.U64("stored_size");
  recorded.logical_size = totals.U64("logical_size");
  recorded.entry_count = totals.OptU64("entry_count");
  RETURN_IF_ERROR(r.status(what));
  m.totals_extra = internal::CollectUnknown(
      doc["totals"], {"object_count", "stored_size", "logical_size", "entry_count"});
  if (std::string problem = FindProblem(m); !problem.empty()) {
    return Error(Code::kDataLoss, what + " is malformed: " + problem);
  }
  ManifestTotals sums = ComputeTotals(m);
  if (sums.object_count != recorded.object_count || sums.stored_size != recorded.stored_size ||
      sums.logical_size != recorded.logical_size || sums.entry_count != recorded.entry_count) {
    return Error(Code::kDataLoss, what + " is malformed: totals do not match its objects");
  }
  m.extra = internal::CollectUnknown(
      doc, {"format_version", "kind", "name", "backup", "created", "completed", "created_by",
            "policy", "objects", "totals", "checksum"});
  // "backup" is a member of Conversion manifests only; elsewhere it is unknown, so kept.
  if (auto it = doc.find("backup"); m.kind != kManifestKindConversion && it != doc.end()) {
    m.extra["backup"] = it->dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return m;
}

Result<Manifest> ReadManifest(store::ObjectStore& store, const Layout& layout,
                              std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name, "backup name"));
  const std::string key = layout.ManifestKey(name);
  auto bytes = store.GetAll(key, kMaxManifestBytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return Error(Code::kNotFound, "backup '" + std::string(name) + "' not found in vault " +
                                        store.Describe() + " (no '" + key + "')")
          .WithHint(
              "a backup without a manifest does not exist or is incomplete; list the "
              "vault's backups with vault-check");
    }
    return bytes.status().Wrap("unable to read manifest of backup '" + std::string(name) + "'");
  }
  ASSIGN_OR_RETURN(Manifest m, ParseManifest(*bytes, key));
  if (m.kind != kManifestKindBackup || m.name != name) {
    return Error(Code::kDataLoss, "manifest '" + key + "' describes " + m.kind + " '" + m.name +
                                      "', not backup '" + std::string(name) + "'");
  }
  return m;
}

Status PublishManifest(store::ObjectStore& store, const Layout& layout, const Manifest& manifest,
                       const std::map<std::string, std::string>& etags) {
  ASSIGN_OR_RETURN(std::string bytes, SerializeManifest(manifest));
  const bool conversion = manifest.kind == kManifestKindConversion;
  const std::string dir = conversion ? layout.ConversionDir(manifest.backup, manifest.name)
                                     : layout.BackupDir(manifest.name);
  const std::string context = "unable to publish manifest of " + Describe(manifest);
  // Data first: a manifest never points at an object that is not there.
  for (const StoredObject& o : manifest.objects) {
    const std::string key = dir + o.key;
    auto info = store.Head(key);
    if (!info.ok()) {
      if (info.status().code() == Code::kNotFound) {
        return Error(Code::kFailedPrecondition,
                     context + ": object '" + key + "' is missing from the vault");
      }
      return info.status().Wrap(context);
    }
    if (info->size != o.stored_size) {
      return Error(Code::kDataLoss, context + ": object '" + key + "' has " +
                                        std::to_string(info->size) + " bytes in the vault, " +
                                        "the manifest records " + std::to_string(o.stored_size));
    }
    if (auto e = etags.find(o.key); e != etags.end() && e->second != info->etag) {
      return Error(Code::kDataLoss,
                   context + ": object '" + key + "' in the vault is not the one this run " +
                       "wrote (ETag '" + info->etag + "', the upload completed as '" + e->second +
                       "'): another writer replaced it")
          .WithHint("two runs wrote backup '" + manifest.name +
                    "' at once; run the backup again under a new name");
    }
  }
  const std::string key = dir + std::string(kManifestObject);
  Status created = CreateIfAbsent(store, key, bytes);
  if (created.code() == Code::kAlreadyExists) {
    return Error(Code::kAlreadyExists, Describe(manifest) + " already exists in vault")
        .WithHint("'" + key + "' is already published in " + store.Describe() +
                  "; a backup is never overwritten, choose another name");
  }
  if (!created.ok()) return created.Wrap(context);
  return Status::Ok();
}

}  // namespace cairn::vault
