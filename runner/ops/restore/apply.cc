#include "ops/restore/apply.h"

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
  std::string scope = ns.empty() ? std::string(vault::kScopeCluster) : vault::NamespaceScope(ns);
  if (action == "failed") st_.AddError(scope, message, object);
  if (action == "skipped" && !message.empty()) st_.AddWarning(scope, message, object);
}

void Ledger::Warn(const std::string& scope, const std::string& message, const std::string& object) {
  std::lock_guard<std::mutex> l(mu_);
  st_.AddWarning(scope, message, object);
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

void ApplyOne(kube::Client& kube, const ApplyItem& item, const TransformContext& ctx,
              const RestoreOptions& opts, Ledger& ledger) {
  const ResourcePlan& p = *item.plan;
  const std::string target_ns =
      p.target.namespaced ? MapNamespace(item.ref.namespace_name, opts) : "";
  const std::string object =
      p.qualified + "/" + (target_ns.empty() ? "" : target_ns + "/") + item.ref.name;
  const std::string path = EntryPath(item.ref);
  TransformNotes notes;
  auto obj = Transform(item.ref, nlohmann::json::parse(item.text, nullptr, false), ctx, &notes);
  if (!obj.ok()) {
    ledger.Record(path, target_ns, object, "failed", obj.status().message());
    return;
  }
  // The version chosen for the target (server-side apply needs both).
  (*obj)["apiVersion"] =
      p.target.group.empty() ? p.target.version : p.target.group + "/" + p.target.version;
  (*obj)["kind"] = p.target.kind;
  kube::ResourceRef ref{p.target.group, p.target.version, p.target.resource, p.target.namespaced};
  auto warn = [&](const std::string& w) {
    if (!w.empty()) {
      ledger.Warn(
          target_ns.empty() ? std::string(vault::kScopeCluster) : vault::NamespaceScope(target_ns),
          w, object);
    }
  };
  auto created = kube.Create(ref, target_ns, *obj);
  if (created.ok()) {
    ledger.Record(path, target_ns, object, "created", "");
    for (const auto& w : NoteWarnings(notes, *created)) warn(w);
    warn(RestoreStatus(kube, ref, target_ns, item.ref.name, *obj, *created, ctx, p.target));
    return;
  }
  if (created.status().code() != Code::kAlreadyExists) {
    ledger.Record(path, target_ns, object, "failed", created.status().message());
    return;
  }
  if (opts.existing_resource_policy == "update") {
    kube::ApplyOptions ao;
    ao.force = true;
    auto applied = kube.Apply(ref, target_ns, item.ref.name, *obj, ao);
    if (applied.ok()) {
      ledger.Record(path, target_ns, object, "updated", "");
      for (const auto& w : NoteWarnings(notes, *applied)) warn(w);
      warn(RestoreStatus(kube, ref, target_ns, item.ref.name, *obj, *applied, ctx, p.target));
    } else {
      ledger.Record(path, target_ns, object, "failed", applied.status().message());
    }
    return;
  }
  auto live = kube.Get(ref, target_ns, item.ref.name);
  std::string why;
  if (live.ok() && DiffersFromLive(*obj, *live)) {
    why = "exists and differs from the backup (existing_resource_policy = none keeps it)";
  }
  ledger.Record(path, target_ns, object, "skipped", why);
}

}  // namespace

// --- ApplyPool -------------------------------------------------------------------------------

ApplyPool::ApplyPool(kube::Client& kube, const TransformContext& builtin,
                     const TransformContext& custom, const RestoreOptions& opts, Ledger& ledger,
                     const std::atomic<bool>& cancel, int workers)
    : kube_(kube),
      builtin_(builtin),
      custom_(custom),
      opts_(opts),
      ledger_(ledger),
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
      ApplyOne(kube_, item, item.plan->custom ? custom_ : builtin_, opts_, ledger_);
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
