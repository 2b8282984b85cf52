#include "ops/gc/cluster.h"

#include <set>

#include "ops/gc/gc.h"
#include "report/identity.h"
#include "snapshot/cleanup.h"
#include "snapshot/names.h"

namespace cairn::ops::gc {
namespace {

using base::Code;
using base::Status;

const kube::ResourceRef kConfigMaps{"", "v1", "configmaps", true};

nlohmann::json ConfigMapRef(const nlohmann::json& cm) {
  const nlohmann::json& meta = cm.contains("metadata") ? cm["metadata"] : nlohmann::json::object();
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"name", report::StringAt(meta, "name")},
          {"namespace", report::StringAt(meta, "namespace")},
          {"uid", report::StringAt(meta, "uid")}};
}

class KubeCluster final : public Cluster {
 public:
  KubeCluster(kube::Client& client, report::ClusterReporter& reporter)
      : client_(client), reporter_(reporter) {}

  Status Emit(const vault::RunStatus& gc, const report::Event& event) override {
    return reporter_.Emit(gc, event);
  }

  Status MarkFailed(std::string_view kind, const vault::RunStatus& run, const vault::RunStatus& gc,
                    const report::Event& event) override {
    const std::string ns = run.job.namespace_name.empty() ? reporter_.identity().namespace_name
                                                          : run.job.namespace_name;
    const std::string name = "cairn-" + std::string(kind) + "-" + run.name;
    nlohmann::json patch = {{"metadata", {{"labels", {{"cairn.io/phase", run.phase}}}}},
                            {"data", {{"status.json", vault::ToJson(run)}, {"phase", run.phase}}}};
    auto patched = client_.MergePatch(kConfigMaps, ns, name, patch);
    if (!patched.ok()) {
      if (patched.status().code() != Code::kNotFound) {
        return patched.status().Wrap("unable to mark ConfigMap " + ns + "/" + name + " Failed");
      }
      return reporter_.Emit(gc, event);  // no ConfigMap (never reachable): on gc itself
    }
    return reporter_.EmitOn(ConfigMapRef(*patched), event);
  }

  base::Result<std::vector<DeleteRequest>> ListDeleteRequests() override {
    std::vector<DeleteRequest> out;
    kube::ListOptions o;
    o.namespace_name = reporter_.identity().namespace_name;
    o.label_selector = std::string(kDeleteRequestLabel) + "=true";
    Status listed = client_.ListItems(kConfigMaps, o, [&](const nlohmann::json& cm) {
      DeleteRequest r;
      r.configmap = report::StringAt(cm.value("metadata", nlohmann::json::object()), "name");
      const nlohmann::json data = cm.value("data", nlohmann::json::object());
      r.backup = report::StringAt(data, "backup");
      r.vault = report::StringAt(data, "vault");
      out.push_back(std::move(r));
      return true;
    });
    if (!listed.ok()) return listed.Wrap("unable to list delete requests");
    return out;
  }

  Status Answer(const DeleteRequest& request, const report::Event& event, bool remove) override {
    const std::string ns = reporter_.identity().namespace_name;
    auto cm = client_.Get(kConfigMaps, ns, request.configmap);
    if (!cm.ok()) return cm.status().Wrap("unable to answer delete request " + request.configmap);
    Status told = reporter_.EmitOn(ConfigMapRef(*cm), event);
    if (!remove) return told;
    Status removed = client_.Delete(kConfigMaps, ns, request.configmap);
    if (!removed.ok() && removed.code() != Code::kNotFound) {
      return removed.Wrap("unable to remove delete request " + request.configmap);
    }
    return told;
  }

  base::Result<std::string> Identity() override {
    if (identity_.empty()) {
      ASSIGN_OR_RETURN(identity_, snapshot::ClusterIdentity(client_));
    }
    return identity_;
  }

  Status DeleteSnapshots(std::string_view backup, const std::vector<vault::SnapshotRecord>& records,
                         std::vector<std::string>* deleted) override {
    return snapshot::DeleteBackupSnapshots(client_, backup, records, deleted);
  }

 private:
  kube::Client& client_;
  report::ClusterReporter& reporter_;
  std::string identity_;
};

// How one request fared across the vaults of the run.
struct Fate {
  bool honoured = false;
  std::string waits;  // why it must wait, when it does
  std::string where;  // the vault that deleted it
};

Fate FateOf(const DeleteRequest& r,
            const std::vector<std::pair<std::string, const Outcome*>>& runs) {
  Fate f;
  for (const auto& [vault, out] : runs) {
    if (!r.vault.empty() && r.vault != vault) continue;
    for (const RequestAnswer& a : out->plan.requests) {
      if (a.request.configmap != r.configmap || !a.found) continue;
      if (!a.refusal.empty()) f.waits = a.refusal;
    }
    for (const std::string& name : out->deleted) {
      if (name == r.backup) {
        f.honoured = true;
        f.where = vault;
      }
    }
    for (const BackupDecision& d : out->plan.backups) {
      if (d.name == r.backup && d.action == Action::kRequest && !f.honoured) {
        f.waits = "deletion failed; see the gc run's errors";
      }
    }
  }
  return f;
}

}  // namespace

std::unique_ptr<Cluster> NewKubeCluster(kube::Client& client, report::ClusterReporter& reporter) {
  return std::make_unique<KubeCluster>(client, reporter);
}

std::vector<std::string> SettleRequests(
    Cluster& cluster, const std::vector<DeleteRequest>& all,
    const std::vector<std::pair<std::string, const Outcome*>>& runs,
    const std::vector<std::string>& defined_vaults, bool all_handled) {
  std::set<std::string> handled, defined(defined_vaults.begin(), defined_vaults.end());
  for (const auto& [vault, out] : runs) handled.insert(vault);
  std::vector<std::string> warnings;
  for (const DeleteRequest& r : all) {
    if (!r.vault.empty() && defined.count(r.vault) && !handled.count(r.vault)) continue;
    Fate f = FateOf(r, runs);
    if (r.vault.empty() && !all_handled && !f.honoured && f.waits.empty()) continue;
    report::Event ev;
    bool remove = true;
    if (f.honoured) {
      ev = {"Normal", "BackupDeleted", "backup " + r.backup + " deleted from vault " + f.where};
    } else if (!f.waits.empty()) {
      ev = {"Warning", "DeleteRequestWaiting",
            "backup " + r.backup + " not deleted yet: " + f.waits + "; the next gc retries"};
      remove = false;
    } else if (r.backup.empty()) {
      ev = {"Warning", "DeleteRequestInvalid", "delete request has no data.backup; removed"};
    } else {
      ev = {"Warning", "BackupNotFound",
            "backup " + r.backup + " not found in vault " +
                (r.vault.empty() ? std::string("(any handled)") : r.vault) + "; request removed"};
    }
    Status answered = cluster.Answer(r, ev, remove);
    if (!answered.ok()) warnings.push_back(answered.message());
  }
  return warnings;
}

}  // namespace cairn::ops::gc
