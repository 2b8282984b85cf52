// ops/restore/apply: writing planned objects to the target cluster, and the ledger of what
// happened to each. Used by run.cc; not a public interface of the op.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "io/stream.h"
#include "kube/client.h"
#include "ops/restore/plan.h"
#include "ops/restore/transform.h"
#include "vault/status.h"

namespace cairn::ops::restore {

// Every object's outcome (results.json.zst, compressed as it is recorded, so memory stays
// small however many objects a restore has) and the run's counts and issues, from several
// apply threads.
class Ledger {
 public:
  explicit Ledger(vault::RunStatus& st);
  // `action`: created | updated | skipped | excluded | failed. A failure is an error of the
  // run; a skip with a message is a warning.
  void Record(const std::string& path, const std::string& ns, const std::string& object,
              const std::string& action, const std::string& message);
  void Warn(const std::string& scope, const std::string& message, const std::string& object);
  // An error of the run that is not one object's write (a volume's data).
  void Error(const std::string& scope, const std::string& message, const std::string& object);
  // What was done to the PersistentVolumeClaim `name` of namespace `ns` (as backed up):
  // created | updated | skipped | excluded | failed, or "" when the restore did not meet it.
  std::string ClaimAction(const std::string& ns, const std::string& name);
  // Under the ledger's lock: changes the run's status (volume outcomes).
  void Update(const std::function<void(vault::RunStatus&)>& fn);
  // A copy of the run's status as it is now (for the heartbeat).
  vault::RunStatus Snapshot();
  // The compressed JSON array of every recorded outcome; ends the ledger.
  base::Result<std::string> Finish();

 private:
  vault::RunStatus& st_;
  std::mutex mu_;
  std::string compressed_;
  std::unique_ptr<io::Sink> raw_;
  std::unique_ptr<io::Sink> zstd_;
  base::Status write_status_;
  bool first_ = true;
  std::map<std::string, std::string> claims_;  // "ns/name" as backed up -> action
};

// The owners this restore writes, by their uid in the backup: pending until written, then
// their uid in the target (or failed). Dependents are written after their owners (run.cc) and
// their ownerReferences re-pointed (RepointOwnerReferences). Thread-safe.
class OwnerTable {
 public:
  void Expect(const std::string& source_uid);  // an owner restored by this run
  bool Expected(const std::string& source_uid) const;
  // After the owner's write: its uid in the target; "" when it failed.
  void Resolve(const std::string& source_uid, const std::string& target_uid);
  OwnerState Get(const std::string& source_uid) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, OwnerState> owners_;
};

// Where a create can consume quota: the resources (QualifiedResource) a ResourceQuota counts
// in each target namespace (QuotaCountedResources), from the target's quotas and those this
// restore writes. Such objects are looked up before they are created: a create of an object
// that exists is admitted, and counted, before the API server finds that it exists.
struct QuotaScope {
  std::map<std::string, std::set<std::string>> counted;  // target namespace -> resources
  bool everywhere = false;  // the quotas could not be listed: look before every create
  bool Counts(const std::string& ns, const std::string& qualified) const;
};

// What the apply workers share besides the client and the ledger.
struct ApplyShared {
  OwnerTable owners;
  QuotaScope quota;
};

// One resource of the plan: where its objects go and in which order.
struct ResourcePlan {
  std::pair<std::string, std::string> key;  // (group, resource) as backed up
  std::string qualified;                    // QualifiedResource(group, resource)
  kube::ApiResource target;                 // in the target cluster, version chosen
  std::string version;                      // the stored version preferred (target.version)
  std::pair<int, std::string> tier;
  bool custom = false;        // defined by a CustomResourceDefinition of the backup
  std::vector<bool> restore;  // per chosen object, in spool order: restored or not
  // Per chosen object: it has ownerReferences (restored objects only; checked for owners
  // written by this restore before the object is handed over), and it waits for an owner.
  std::vector<bool> has_owners, deferred;
  size_t deferred_count = 0;
};

// One object to write.
struct ApplyItem {
  const ResourcePlan* plan;
  EntryRef ref;      // as backed up (namespace before mapping)
  std::string text;  // the object as backed up (JSON)
};

// Applies items on `workers` threads; Push blocks while `workers` * 4 items wait, so memory
// stays bounded whatever the size of a tier. Drain waits until every pushed item is done.
// Items are skipped once `cancel` is set.
class ApplyPool {
 public:
  ApplyPool(kube::Client& kube, const TransformContext& builtin, const TransformContext& custom,
            const RestoreOptions& opts, Ledger& ledger, ApplyShared& shared,
            const std::atomic<bool>& cancel, int workers);
  ~ApplyPool();
  void Push(ApplyItem item);
  void Drain();

 private:
  void Work();
  kube::Client& kube_;
  const TransformContext& builtin_;
  const TransformContext& custom_;
  const RestoreOptions& opts_;
  Ledger& ledger_;
  ApplyShared& shared_;
  const std::atomic<bool>& cancel_;
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ApplyItem> queue_;
  size_t busy_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Creates the target namespaces in `needed` that the restore does not create itself.
void EnsureNamespaces(kube::Client& kube, const std::set<std::string>& needed,
                      const RestoreOptions& opts, Ledger& ledger);

// Waits until each CRD of `names` reports Established (up to `wait` each), so its resources are
// served; a warning names each one that does not. Returns early once `cancel` is set.
void WaitEstablished(kube::Client& kube, const std::string& version,
                     const std::vector<std::string>& names, std::chrono::seconds wait,
                     base::Clock& clock, const std::atomic<bool>& cancel, Ledger& ledger);

}  // namespace cairn::ops::restore
