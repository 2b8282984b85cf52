// vault/lease: leases on <prefix>/locks/<operation>.json for operations that must not overlap
// on one vault (FORMAT.md §9).
//
// Acquire creates the lease conditionally; a live lease of another holder is kConflict naming
// it, an expired one is taken over (re-read, delete only if unchanged, create conditionally,
// read back). Renew and Release act only while the lease is still ours. Object stores have no
// conditional delete, so two takers of one expired lease can both believe they won until the
// next renewal: protected work must tolerate one renewal period of overlap (FORMAT.md §9).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "store/object_store.h"
#include "vault/layout.h"

namespace cairn::vault {

struct LeaseHolder {
  std::string id;    // random UUID v4 per process; AcquireLease fills it when empty
  std::string host;  // for humans: where the holder runs
  std::string pod;
  std::string job;
};

struct Lease {
  std::string key;        // the lease object, not part of the document
  std::string operation;  // "gc"
  LeaseHolder holder;
  base::TimePoint acquired{};
  base::TimePoint renewed{};
  base::TimePoint expires{};  // renewed + lease_seconds
  int64_t lease_seconds = 0;
};

// The document's bytes: two-space indented JSON, sorted members, final newline.
std::string ToJson(const Lease& lease);
// kDataLoss when malformed. The result's key is `source`.
[[nodiscard]] base::Result<Lease> ParseLease(std::string_view json, std::string_view source);

// True when `now` has reached the lease's expiry.
bool IsExpired(const Lease& lease, base::TimePoint now);

// Acquires the lease of `operation` for `holder` for `ttl` (≥ 1s, whole seconds).
// kConflict when another holder's lease is live (the message names holder and expiry) or when
// a concurrent taker won.
[[nodiscard]] base::Result<Lease> AcquireLease(store::ObjectStore& store, const Layout& layout,
                                               std::string_view operation, LeaseHolder holder,
                                               std::chrono::seconds ttl, const base::Clock& clock);

// Extends `lease` by its duration from now. kConflict when the lease is no longer ours
// (deleted, taken over) or has already expired: the caller must stop the protected work.
[[nodiscard]] base::Status RenewLease(store::ObjectStore& store, Lease& lease,
                                      const base::Clock& clock);

// Deletes the lease when it is still ours and live. Ok when it is already gone or expired
// (an expired lease is left for the next taker); kConflict when another holder has it.
[[nodiscard]] base::Status ReleaseLease(store::ObjectStore& store, const Lease& lease,
                                        const base::Clock& clock);

}  // namespace cairn::vault
