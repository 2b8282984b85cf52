// vault/read_lease: shared read leases on a backup (FORMAT.md §9.1).
//
// A run that reads a backup (restore, conversion) writes <p>/locks/read/<backup>/<reader>.json,
// a lease document (§9) with operation = the reader's kind, renews it with its heartbeat and
// deletes it when done. Readers never conflict with each other (each has its own key, written
// with a plain PUT); gc lists the live ones and never deletes a backup that has one. A reader
// that dies leaves a lease that simply expires.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/object_store.h"
#include "vault/layout.h"
#include "vault/lease.h"

namespace cairn::vault {

// Writes (or rewrites, renewing) the read lease of `reader` on `backup` for `ttl` from now.
[[nodiscard]] base::Result<Lease> WriteReadLease(store::ObjectStore& store, const Layout& layout,
                                                 std::string_view backup, std::string_view kind,
                                                 std::string_view reader, LeaseHolder holder,
                                                 std::chrono::seconds ttl,
                                                 const base::Clock& clock);

// The live (not expired) read leases of the vault, by backup name (one listing of
// <p>/locks/read/). Unreadable lease documents count as live until their object is older than
// kUnreadableReadLeaseGrace (the safe side); store failures fail the call.
inline constexpr std::chrono::seconds kUnreadableReadLeaseGrace{3600};
[[nodiscard]] base::Result<std::map<std::string, std::vector<Lease>>> LiveReadLeases(
    store::ObjectStore& store, const Layout& layout, base::TimePoint now);

// A read lease held for a scope: written by Take, rewritten by Renew (the reader's heartbeat),
// deleted by the destructor. Failures are logged as warnings: the reader then runs unprotected
// and restore's verification still catches a backup deleted under it.
class ReadLeaseGuard {
 public:
  // Does nothing when `enabled` is false (dry runs read without writing).
  ReadLeaseGuard(store::ObjectStore& store, Layout layout, std::string backup, std::string kind,
                 std::string reader, std::chrono::seconds heartbeat, const base::Clock& clock,
                 bool enabled);
  ~ReadLeaseGuard();
  ReadLeaseGuard(const ReadLeaseGuard&) = delete;
  ReadLeaseGuard& operator=(const ReadLeaseGuard&) = delete;
  void Renew();

 private:
  store::ObjectStore& store_;
  Layout layout_;
  std::string backup_, kind_, reader_;
  std::chrono::seconds ttl_;
  const base::Clock& clock_;
  bool enabled_;
  std::mutex mu_;
};

}  // namespace cairn::vault
