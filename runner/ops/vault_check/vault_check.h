// ops/vault_check: proves a vault usable and says exactly why not.
//
// Run() performs the checks in order, each timed and reported as passed / failed / warning /
// skipped: endpoint, bucket, credentials (one listing answers all three, and its failure is
// named as DNS/TCP/TLS, NoSuchBucket or InvalidAccessKeyId/SignatureDoesNotMatch/AccessDenied),
// vault-format (cairn-vault.json readable; created with `init`), write, read (bytes compared),
// list, delete of a probe object, conditional-create, clock-skew, storage-class, and
// foreign-prefixes (warnings only). The vault is Available when no check failed. Nothing is
// written but the probe objects, cairn-vault.json (with `init`) and, by the caller, the status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "store/object_store.h"
#include "vault/catalog.h"
#include "vault/layout.h"
#include "vault/status.h"

namespace cairn::ops::vault_check {

struct Options {
  std::string vault_name;     // for the status object
  bool init = false;          // create cairn-vault.json in an uninitialised vault
  std::string storage_class;  // the vault's configured storage class ("" = default)
  std::string created_by;     // "cairn <version>"
};

// Runs every check and returns the VaultCheck status object (phase Available / Unavailable,
// message, checks, lastValidated when Available). `previous` is the status of the last check,
// used to carry lastValidated over an Unavailable result.
vault::RunStatus Run(store::ObjectStore& store, const vault::Layout& layout, const Options& opts,
                     base::Clock& clock, const vault::RunStatus* previous = nullptr);

// The status of a vault whose store cannot even be opened (a file vault's directory cannot be
// created, say): Unavailable, with the reason as the failed endpoint check.
vault::RunStatus Unopenable(const Options& opts, const base::Status& why, base::Clock& clock);

// The one-line reason a vault is unavailable, as events and termination messages show it:
// "VaultError: backup vault is unavailable: <first failed check>".
std::string FailureLine(const vault::RunStatus& status);

// Human text for a check result.
std::string FormatChecks(const vault::RunStatus& status, const std::string& where);

// What `vault-check --list` shows: every backup with its state (only a Complete one is
// restorable; an Unreadable or Incomplete one says why) and the pending multipart uploads
// under the vault's prefix with their bytes, the space they hold until gc aborts them.
struct Listing {
  std::vector<vault::BackupEntry> backups;
  std::optional<vault::PendingUploads> pending;  // unset when they could not be listed
  std::string pending_error;                     // why, then
};

// The backups (a store failure is an error: nothing true could be shown) and the pending
// uploads (a failure is kept in the listing: a store may deny listing uploads alone).
base::Result<Listing> ListVault(store::ObjectStore& store, const vault::Layout& layout);

// The listing as a table and as JSON ({"backups": [...], "pendingUploads": {...}}).
std::string FormatBackupList(const Listing& listing, base::TimePoint now);
std::string BackupListJson(const Listing& listing, base::TimePoint now);

}  // namespace cairn::ops::vault_check
