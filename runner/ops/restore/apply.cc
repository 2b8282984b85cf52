#include "ops/restore/apply.h"

#include <optional>

#include "io/zstd.h"

namespace cairn::ops::restore {

using base::Code;

// --- Ledger ----------------------------------------------------------------------------------

Ledger::Ledger(vault::RunStatus& st) : st_(st) {
  raw_ = std::make_unique<io::StringSink>(&compressed_);
  auto z = io::ZstdCompressSink::Create(raw_.get(), 3, 0);
  if (z.ok()) {
    zstd_ = std::move(z).value();
    write_status_ = zstd_->Write("[");
  } else {
    write_status_ = z.status();
  }
}

void Ledger::Record(const std::string& path, const std::string& ns, const std::string& object,
                    const std::string& action, const std::string& message) {
  nlohmann::json line = {{"path", path}, {"namespace", ns}, {"object", object}, {"action", action}};
  if (!message.empty()) line["message"] = message;
  std::string text = line.dump();
  std::lock_guard<std::mutex> l(mu_);
  st_.counts[action]++;
  if (write_status_.ok()) write_status_ = zstd_->Write((first_ ? "\n" : ",\n") + text);
  first_ = false;
  if (auto ref = ParseEntryPath(path);
      ref && ref->group.empty() && ref->resource == "persistentvolumeclaims") {
    claims_[ref->namespace_name + "/" + ref->name] = action;
  }
  std::string scope = ns.empty() ? std::string(vault::kScopeCluster) : vault::NamespaceScope(ns);
  if (action == "failed") st_.AddError(scope, message, object);
  if (action == "skipped" && !message.empty()) st_.AddWarning(scope, message, object);
}

void Ledger::Warn(const std::string& scope, const std::string& message, const std::string& object) {
  std::lock_guard<std::mutex> l(mu_);
  st_.AddWarning(scope, message, object);
}

void Ledger::Error(const std::string& scope, const std::string& message,
                   const std::string& object) {
  std::lock_guard<std::mutex> l(mu_);
  st_.AddError(scope, message, object);
}

std::string Ledger::ClaimAction(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = claims_.find(ns + "/" + name);
  return it == claims_.end() ? "" : it->second;
}

void Ledger::Update(const std::function<void(vault::RunStatus&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  fn(st_);
}

vault::RunStatus Ledger::Snapshot() {
  std::lock_guard<std::mutex> l(mu_);
  return st_;
}

base::Result<std::string> Ledger::Finish() {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(write_status_);
  RETURN_IF_ERROR(zstd_->Write("\n]\n"));
  RETURN_IF_ERROR(zstd_->Close());
  write_status_ = base::Error(Code::kFailedPrecondition, "the results were written already");
  return std::move(compressed_);
}

// --- Owners and quotas ----------------------------------------------------------------------

void OwnerTable::Expect(const std::string& source_uid) {
  std::lock_guard<std::mutex> l(mu_);
  owners_[source_uid] = OwnerState{OwnerState::Kind::kPending, ""};
}

bool OwnerTable::Expected(const std::string& source_uid) const {
  std::lock_guard<std::mutex> l(mu_);
  return owners_.count(source_uid) > 0;
}

void OwnerTable::Resolve(const std::string& source_uid, const std::string& target_uid) {
  std::lock_guard<std::mutex> l(mu_);
  owners_[source_uid] = target_uid.empty() ? OwnerState{OwnerState::Kind::kFailed, ""}
                                           : OwnerState{OwnerState::Kind::kWritten, target_uid};
}

OwnerState OwnerTable::Get(const std::string& source_uid) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = owners_.find(source_uid);
  return it == owners_.end() ? OwnerState{} : it->second;
}

size_t OwnerTable::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return owners_.size();
}

bool QuotaScope::Counts(const std::string& ns, const std::string& qualified) const {
  if (ns.empty()) return false;  // quotas are namespaced
  if (everywhere) return true;
  auto it = counted.find(ns);
  return it != counted.end() && it->second.count(qualified) > 0;
}

// --- Applying one object ---------------------------------------------------------------------

namespace {

bool HasStatusSubresource(const kube::ApiResource& r) {
  return std::find(r.subresources.begin(), r.subresources.end(), "status") != r.subresources.end();
}

// With restore_status, a custom resource's status is written through its status subresource
// after the object exists (the API server ignores status on create and apply when the
// subresource is enabled). Returns a warning, or "".
std::string RestoreStatus(kube::Client& kube, const kube::ResourceRef& ref, const std::string& ns,
                          const std::string& name, const nlohmann::json& desired,
                          const nlohmann::json& written, const TransformContext& ctx,
                          const kube::ApiResource& target) {
  if (!ctx.is_custom_resource || !ctx.options->restore_status) return "";
  auto st = desired.find("status");
  if (st == desired.end() || !st->is_object() || st->empty() || !HasStatusSubresource(target)) {
    return "";
  }
  nlohmann::json obj = written;
  obj["status"] = *st;
  auto r = kube.Replace(ref, ns, name, obj, "status");
  return r.ok() ? "" : "status not restored: " + r.status().message();
}

// Where one object goes in the target, named as it is there (the mapped namespace, and the
// mapped name of a Namespace object).
struct Target {
  kube::ResourceRef ref;
  std::string ns, name;
  std::string object;  // "<qualified>/<ns>/<name>", for results, errors and warnings
  std::string path;    // the backup's archive entry
  std::string scope;   // status scope
};

Target TargetOf(const ApplyItem& item, const nlohmann::json* obj, const RestoreOptions& opts) {
  const ResourcePlan& p = *item.plan;
  Target t;
  t.ref = {p.target.group, p.target.version, p.target.resource, p.target.namespaced};
  t.ns = p.target.namespaced ? MapNamespace(item.ref.namespace_name, opts) : "";
  t.name = item.ref.name;
  if (obj != nullptr) {
    if (std::string name = ObjectName(*obj); !name.empty()) t.name = std::move(name);
    std::string ns = ObjectNamespace(*obj);
    if (p.target.namespaced && !ns.empty()) t.ns = std::move(ns);
  }
  t.object = p.qualified + "/" + (t.ns.empty() ? "" : t.ns + "/") + t.name;
  t.path = EntryPath(item.ref);
  t.scope = t.ns.empty() ? std::string(vault::kScopeCluster) : vault::NamespaceScope(t.ns);
  return t;
}

// Puts the backed-up ownerReferences (`refs`) on the object to write, re-pointed to the
// owners' new uids; a warning for each reference dropped.
void Repoint(nlohmann::json& obj, const nlohmann::json& refs, const OwnerTable& owners,
             const Target& t, Ledger& ledger) {
  if (!refs.is_array() || refs.empty()) return;
  std::vector<std::string> dropped;
  nlohmann::json kept = RepointOwnerReferences(
      refs, [&](const std::string& uid) { return owners.Get(uid); }, &dropped);
  if (!kept.empty()) obj["metadata"]["ownerReferences"] = std::move(kept);
  for (const auto& d : dropped) ledger.Warn(t.scope, d, t.object);
}

// "ns/name" of the claim a PersistentVolume's claimRef names, "" when none.
std::string ClaimOf(const nlohmann::json& pv) {
  const nlohmann::json* ref = JsonAt(pv, {"spec", "claimRef"});
  if (ref == nullptr || !ref->is_object()) return "";
  return ref->value("namespace", std::string()) + "/" + ref->value("name", std::string());
}

// Why an update must not touch an existing PersistentVolume: it is bound to another claim (a
// copy into a mapped namespace of the same cluster), and re-pointing its claimRef would take the
// volume, and its data, from the claim that uses it. "" when the update is safe.
std::string PvBoundElsewhere(const Target& t, const nlohmann::json& obj,
                             const nlohmann::json& live) {
  if (!t.ref.group.empty() || t.ref.resource != "persistentvolumes") return "";
  const std::string bound = ClaimOf(live), wanted = ClaimOf(obj);
  if (bound.empty() || bound == wanted) return "";
  return "exists and is bound to claim " + bound + " in the target; not updated to claim " +
         (wanted.empty() ? std::string("none") : wanted) +
         " (that would take the volume and its data from the claim using it)";
}

// The object exists (`live`, when already read): kept (none) or updated (update).
void Existing(kube::Client& kube, const Target& t, const nlohmann::json& obj,
              std::optional<nlohmann::json> live, const ApplyItem& item,
              const TransformContext& ctx, const TransformNotes& notes, const RestoreOptions& opts,
              Ledger& ledger, const std::function<void(const std::string&)>& written) {
  if (opts.existing_resource_policy == "update" && t.ref.group.empty() &&
      t.ref.resource == "persistentvolumes" && !live) {
    auto got = kube.Get(t.ref, t.ns, t.name);
    if (got.ok()) live = std::move(got).value();
  }
  if (opts.existing_resource_policy == "update" && live) {
    if (std::string why = PvBoundElsewhere(t, obj, *live); !why.empty()) {
      ledger.Record(t.path, t.ns, t.object, "skipped", why);
      ledger.Warn(t.scope, "PersistentVolume '" + t.name + "' " + why, t.object);
      written(ObjectUid(*live));
      return;
    }
  }
  if (opts.existing_resource_policy == "update") {
    kube::ApplyOptions ao;
    ao.force = true;
    auto applied = kube.Apply(t.ref, t.ns, t.name, obj, ao);
    if (!applied.ok()) {
      ledger.Record(t.path, t.ns, t.object, "failed", applied.status().message());
      written("");
      return;
    }
    ledger.Record(t.path, t.ns, t.object, "updated", "");
    written(ObjectUid(*applied));
    for (const auto& w : NoteWarnings(notes, *applied)) ledger.Warn(t.scope, w, t.object);
    std::string w = RestoreStatus(kube, t.ref, t.ns, t.name, obj, *applied, ctx, item.plan->target);
    if (!w.empty()) ledger.Warn(t.scope, w, t.object);
    return;
  }
  if (!live) {
    auto got = kube.Get(t.ref, t.ns, t.name);
    if (got.ok()) live = std::move(got).value();
  }
  std::string why;
  if (live && DiffersFromLive(obj, *live)) {
    why = "exists and differs from the backup (existing_resource_policy = none keeps it)";
  }
  ledger.Record(t.path, t.ns, t.object, "skipped", why);
  written(live ? ObjectUid(*live) : "");
}

void ApplyOne(kube::Client& kube, const ApplyItem& item, const TransformContext& ctx,
              const RestoreOptions& opts, Ledger& ledger, ApplyShared& shared) {
  const ResourcePlan& p = *item.plan;
  nlohmann::json original = nlohmann::json::parse(item.text, nullptr, false);
  const std::string source_uid = original.is_object() ? ObjectUid(original) : "";
  nlohmann::json refs;
  if (original.is_object() && original.contains("metadata") && original["metadata"].is_object() &&
      original["metadata"].contains("ownerReferences")) {
    refs = original["metadata"]["ownerReferences"];
  }
  auto written = [&](const std::string& uid) {
    if (!source_uid.empty() && shared.owners.Expected(source_uid)) {
      shared.owners.Resolve(source_uid, uid);
    }
  };
  TransformNotes notes;
  auto obj = Transform(item.ref, std::move(original), ctx, &notes);
  const Target t = TargetOf(item, obj.ok() ? &*obj : nullptr, opts);
  if (!obj.ok()) {
    ledger.Record(t.path, t.ns, t.object, "failed", obj.status().message());
    written("");
    return;
  }
  // The version chosen for the target (server-side apply needs both).
  (*obj)["apiVersion"] =
      p.target.group.empty() ? p.target.version : p.target.group + "/" + p.target.version;
  (*obj)["kind"] = p.target.kind;
  Repoint(*obj, refs, shared.owners, t, ledger);
  std::optional<nlohmann::json> live;
  if (shared.quota.Counts(t.ns, p.qualified)) {  // look first: a doomed create counts
    auto got = kube.Get(t.ref, t.ns, t.name);
    if (got.ok()) live = std::move(got).value();
  }
  if (!live) {
    auto created = kube.Create(t.ref, t.ns, *obj);
    if (created.ok()) {
      ledger.Record(t.path, t.ns, t.object, "created", "");
      written(ObjectUid(*created));
      for (const auto& w : NoteWarnings(notes, *created)) ledger.Warn(t.scope, w, t.object);
      std::string w = RestoreStatus(kube, t.ref, t.ns, t.name, *obj, *created, ctx, p.target);
      if (!w.empty()) ledger.Warn(t.scope, w, t.object);
      return;
    }
    if (created.status().code() != Code::kAlreadyExists) {
      // Validation, allocation (a nodePort held by this very object) and admission (quota)
      // answer before storage does: an object that exists is skipped, not failed.
      auto got = kube.Get(t.ref, t.ns, t.name);
      if (!got.ok()) {
        ledger.Record(t.path, t.ns, t.object, "failed", created.status().message());
        written("");
        return;
      }
      live = std::move(got).value();
    }
  }
  Existing(kube, t, *obj, std::move(live), item, ctx, notes, opts, ledger, written);
}

}  // namespace

// --- ApplyPool -------------------------------------------------------------------------------

ApplyPool::ApplyPool(kube::Client& kube, const TransformContext& builtin,
                     const TransformContext& custom, const RestoreOptions& opts, Ledger& ledger,
                     ApplyShared& shared, const std::atomic<bool>& cancel, int workers)
    : kube_(kube),
      builtin_(builtin),
      custom_(custom),
      opts_(opts),
      ledger_(ledger),
      shared_(shared),
      cancel_(cancel),
      capacity_(static_cast<size_t>(std::max(1, workers)) * 4) {
  for (int i = 0; i < std::max(1, workers); ++i) threads_.emplace_back([this] { Work(); });
}

ApplyPool::~ApplyPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ApplyPool::Push(ApplyItem item) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return queue_.size() < capacity_; });
  queue_.push_back(std::move(item));
  cv_.notify_all();
}

void ApplyPool::Drain() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return queue_.empty() && busy_ == 0; });
}

void ApplyPool::Work() {
  while (true) {
    ApplyItem item;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      item = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    cv_.notify_all();  // room in the queue
    if (!cancel_.load()) {
      ApplyOne(kube_, item, item.plan->custom ? custom_ : builtin_, opts_, ledger_, shared_);
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      --busy_;
    }
    cv_.notify_all();
  }
}

// --- Namespaces and CRDs ---------------------------------------------------------------------

void EnsureNamespaces(kube::Client& kube, const std::set<std::string>& needed,
                      const RestoreOptions& opts, Ledger& ledger) {
  for (const auto& ns : needed) {
    nlohmann::json obj = {
        {"apiVersion", "v1"},
        {"kind", "Namespace"},
        {"metadata",
         {{"name", ns},
          {"labels",
           {{kBackupNameLabel, opts.backup_name}, {kRestoreNameLabel, opts.restore_name}}}}}};
    auto r = kube.Create({"", "v1", "namespaces", false}, "", obj);
    if (!r.ok() && r.status().code() != Code::kAlreadyExists) {
      ledger.Warn(std::string(vault::kScopeCluster),
                  "unable to create namespace " + ns + ": " + r.status().message(),
                  "namespaces/" + ns);
    }
  }
}

void WaitEstablished(kube::Client& kube, const std::string& version,
                     const std::vector<std::string>& names, std::chrono::seconds wait,
                     base::Clock& clock, const std::atomic<bool>& cancel, Ledger& ledger) {
  for (const auto& name : names) {
    if (cancel.load()) return;
    auto deadline = clock.Steady() + wait;
    bool established = false;
    while (!established && clock.Steady() < deadline && !cancel.load()) {
      auto crd =
          kube.Get({"apiextensions.k8s.io", version, "customresourcedefinitions", false}, "", name);
      if (crd.ok()) {
        auto st = crd->find("status");
        if (st != crd->end() && st->is_object() && st->contains("conditions") &&
            (*st)["conditions"].is_array()) {
          for (const auto& c : (*st)["conditions"]) {
            if (c.value("type", "") == "Established" && c.value("status", "") == "True") {
              established = true;
            }
          }
        }
      }
      if (!established) clock.SleepFor(std::chrono::milliseconds(250));
    }
    if (!established && !cancel.load()) {
      ledger.Warn(std::string(vault::kScopeCluster),
                  "CustomResourceDefinition " + name + " is not Established after " +
                      base::FormatDuration(wait),
                  "customresourcedefinitions.apiextensions.k8s.io/" + name);
    }
  }
}

}  // namespace cairn::ops::restore
