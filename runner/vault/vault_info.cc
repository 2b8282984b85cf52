#include "vault/vault_info.h"

#include "vault/create.h"
#include "vault/json_document.h"
#include "vault/random_id.h"

namespace cairn::vault {

using base::Code;
using base::Error;
using base::Result;
using base::Status;
using internal::Json;

namespace {

constexpr size_t kMaxVaultInfoBytes = 1 << 20;

}  // namespace

std::string ToJson(const VaultInfo& info) {
  Json enc = Json::object();
  enc["mode"] = info.encryption.mode;
  internal::AddUnknown(enc, info.encryption.extra);
  Json doc = Json::object();
  doc["format_version"] = info.format_version;
  doc["vault_id"] = info.vault_id;
  doc["created"] = base::FormatRfc3339(info.created);
  doc["created_by"] = info.created_by;
  doc["encryption"] = std::move(enc);
  internal::AddUnknown(doc, info.extra);
  return internal::Pretty(doc);
}

Result<VaultInfo> ParseVaultInfo(std::string_view json, std::string_view source) {
  const std::string what = "vault info '" + std::string(source) + "'";
  ASSIGN_OR_RETURN(Json doc, internal::ParseDocument(json, what));
  internal::FieldReader r(doc);
  VaultInfo info;
  info.format_version = r.Str("format_version");
  RETURN_IF_ERROR(r.status(what));
  RETURN_IF_ERROR(internal::CheckFormatReadable(info.format_version, what));
  info.vault_id = r.Str("vault_id");
  info.created = r.Time("created");
  info.created_by = r.Str("created_by");
  internal::FieldReader enc = r.Child("encryption");
  info.encryption.mode = enc.Str("mode");
  RETURN_IF_ERROR(r.status(what));
  if (info.vault_id.empty()) {
    return Error(Code::kDataLoss, what + " is malformed: field 'vault_id' is empty");
  }
  if (info.encryption.mode != "none") {
    return Error(Code::kFailedPrecondition,
                 what + ": vault encryption mode '" + info.encryption.mode +
                     "' is not supported by this cairn (supports: none); upgrade cairn");
  }
  info.encryption.extra = internal::CollectUnknown(doc["encryption"], {"mode"});
  info.extra = internal::CollectUnknown(
      doc, {"format_version", "vault_id", "created", "created_by", "encryption"});
  return info;
}

Result<std::optional<VaultInfo>> ReadVaultInfo(store::ObjectStore& store, const Layout& layout) {
  const std::string key = layout.VaultInfoKey();
  auto bytes = store.GetAll(key, kMaxVaultInfoBytes);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) return std::optional<VaultInfo>();
    return bytes.status().Wrap("unable to read vault info '" + key + "' from " + store.Describe());
  }
  ASSIGN_OR_RETURN(VaultInfo info, ParseVaultInfo(*bytes, key));
  return std::optional<VaultInfo>(std::move(info));
}

Result<InitVaultResult> InitVault(store::ObjectStore& store, const Layout& layout,
                                  const base::Clock& clock, std::string_view created_by) {
  ASSIGN_OR_RETURN(std::optional<VaultInfo> existing, ReadVaultInfo(store, layout));
  if (existing) return InitVaultResult{std::move(*existing), false};

  VaultInfo info;
  info.vault_id = NewUuidV4();
  info.created = clock.Now();
  info.created_by = std::string(created_by);
  const std::string key = layout.VaultInfoKey();
  Status created = CreateIfAbsent(store, key, ToJson(info));
  if (created.ok()) return InitVaultResult{std::move(info), true};
  if (created.code() != Code::kAlreadyExists) {
    return created.Wrap("unable to initialise vault '" + key + "' in " + store.Describe());
  }
  // Another run initialised the vault between our read and our create: adopt its identity.
  ASSIGN_OR_RETURN(existing, ReadVaultInfo(store, layout));
  if (!existing) {
    return Error(Code::kConflict, "unable to initialise vault '" + key + "' in " +
                                      store.Describe() +
                                      ": it was created and deleted again concurrently");
  }
  return InitVaultResult{std::move(*existing), false};
}

}  // namespace cairn::vault
