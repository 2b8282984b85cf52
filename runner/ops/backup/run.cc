// The backup run: vault checks, status and heartbeat, the streamed archive, the manifest.
#include <condition_variable>
#include <set>
#include <thread>

#include "archive/tar.h"
#include "base/log.h"
#include "io/hash.h"
#include "io/zstd.h"
#include "ops/backup/backup.h"
#include "ops/backup/walker.h"
#include "vault/manifest.h"
#include "vault/vault_info.h"

namespace cairn::ops::backup {
namespace {

using base::Code;
using base::Status;

std::string StringAt(const nlohmann::json& obj, std::string_view a, std::string_view b) {
  auto m = obj.find(a);
  if (m == obj.end() || !m->is_object()) return "";
  auto v = m->find(b);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}

// One upload stream with its hashes: out → stored hash → [zstd → logical hash].
struct Upload {
  std::unique_ptr<io::Sink> sink;
  std::unique_ptr<io::HashingSink> stored;
  std::unique_ptr<io::ZstdCompressSink> zstd;
  std::unique_ptr<io::HashingSink> logical;
  io::Sink& in() { return *logical; }

  static base::Result<Upload> Open(store::ObjectStore& store, const std::string& key, int level,
                                   int workers, bool compress, const std::string& type) {
    Upload u;
    store::PutOptions po;
    po.content_type = type;
    ASSIGN_OR_RETURN(u.sink, store.PutStream(key, po));
    u.stored = std::make_unique<io::HashingSink>(u.sink.get());
    if (compress) {
      ASSIGN_OR_RETURN(u.zstd, io::ZstdCompressSink::Create(u.stored.get(), level, workers));
      u.logical = std::make_unique<io::HashingSink>(u.zstd.get());
    } else {
      u.logical = std::make_unique<io::HashingSink>(u.stored.get());
    }
    return u;
  }
  vault::StoredObject Describe(const std::string& rel, const std::string& type) {
    vault::StoredObject o;
    o.key = rel;
    o.stored_size = stored->size();
    o.stored_sha256 = stored->HexDigest();
    o.logical_size = logical->size();
    o.logical_sha256 = logical->HexDigest();
    o.compression = zstd ? "zstd" : "none";
    o.content_type = type;
    return o;
  }
};

nlohmann::json PolicyJson(const config::BackupPolicy& p) {
  return {{"name", p.name},
          {"includeNamespaces", p.include_namespaces},
          {"excludeNamespaces", p.exclude_namespaces},
          {"includeResources", p.include_resources},
          {"excludeResources", p.exclude_resources},
          {"labelSelector", p.label_selector},
          {"orLabelSelectors", p.or_label_selectors},
          {"includeClusterResources", p.include_cluster_resources},
          {"apiVersions", p.api_versions},
          {"compressionLevel", p.compression_level}};
}

// metadata/backup.json: what was asked for and what the source cluster looked like.
nlohmann::json Metadata(kube::Client& kube, const kube::Discovery& d, const Options& opts,
                        base::TimePoint start, std::vector<std::string>* warnings) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : d.groups) {
    groups.push_back(
        {{"group", g.group}, {"preferredVersion", g.preferred_version}, {"versions", g.versions}});
  }
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& r : d.resources) {
    resources.push_back({{"group", r.group},
                         {"version", r.version},
                         {"resource", r.resource},
                         {"kind", r.kind},
                         {"namespaced", r.namespaced}});
  }
  nlohmann::json classes = nlohmann::json::array();
  Status st = kube.List({"storage.k8s.io", "v1", "storageclasses", false}, {},
                        [&](const nlohmann::json& page) {
                          for (const auto& sc : page.value("items", nlohmann::json::array())) {
                            classes.push_back({{"name", StringAt(sc, "metadata", "name")},
                                               {"provisioner", sc.value("provisioner", "")}});
                          }
                          return true;
                        });
  if (!st.ok()) warnings->push_back("storage classes not recorded: " + st.message());
  std::set<std::string> zones;
  st = kube.List({"", "v1", "nodes", false}, {}, [&](const nlohmann::json& page) {
    for (const auto& n : page.value("items", nlohmann::json::array())) {
      auto labels =
          n.value("metadata", nlohmann::json::object()).value("labels", nlohmann::json::object());
      for (const char* key :
           {"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"}) {
        if (labels.contains(key) && labels[key].is_string())
          zones.insert(labels[key].get<std::string>());
      }
    }
    return true;
  });
  if (!st.ok()) warnings->push_back("zones not recorded: " + st.message());
  auto version = kube.ServerVersion();
  return {{"formatVersion", "1.0"},
          {"name", opts.name},
          {"createdBy", opts.created_by},
          {"startTime", base::FormatRfc3339(start)},
          {"fromSchedule", opts.from_schedule},
          {"selection", PolicyJson(opts.policy)},
          {"cluster",
           {{"serverVersion", version.ok() ? *version : ""},
            {"apiGroups", groups},
            {"resources", resources},
            {"storageClasses", classes},
            {"zones", std::vector<std::string>(zones.begin(), zones.end())}}}};
}

}  // namespace

Outcome Run(Deps& deps, const Options& opts) {
  Outcome out;
  vault::RunStatus& st = out.status;
  st.kind = std::string(vault::kKindBackup);
  st.name = opts.name;
  st.vault = opts.vault_name;
  st.policy = opts.policy.name;
  st.start_time = deps.clock.Now();
  st.heartbeat_time = st.start_time;
  const auto steady_start = deps.clock.Steady();
  std::mutex st_mu;  // the status is read by the heartbeat thread
  const vault::Layout& layout = deps.layout;
  auto finish = [&](std::string_view phase, std::string message) {
    std::lock_guard<std::mutex> l(st_mu);
    st.phase = std::string(phase);
    st.message = std::move(message);
    st.completion_time = deps.clock.Now();
    st.heartbeat_time = *st.completion_time;
    st.duration_seconds = std::chrono::duration<double>(deps.clock.Steady() - steady_start).count();
  };
  auto fail_early = [&](const Status& why) {
    st.AddError(vault::kScopeRunner, why.message());
    finish(vault::kPhaseFailed, "backup failed: " + why.message());
    out.exit_code = 1;
    return out;
  };

  // 1. The vault is usable and of a format we write; the name is free.
  auto info = vault::ReadVaultInfo(deps.store, layout);
  if (!info.ok()) return fail_early(info.status());
  if (!*info) {
    auto init = vault::InitVault(deps.store, layout, deps.clock, opts.created_by);
    if (!init.ok()) return fail_early(init.status());
  }
  for (const std::string& key :
       {layout.ManifestKey(opts.name), layout.BackupObjectKey(opts.name, vault::kStatusObject)}) {
    auto head = deps.store.Head(key);
    if (head.ok()) {
      out.owns_name = false;
      return fail_early(
          base::Error(Code::kAlreadyExists, "backup '" + opts.name + "' already exists in vault"));
    }
    if (head.status().code() != Code::kNotFound) return fail_early(head.status());
  }

  // 2. InProgress, then a heartbeat until the run ends.
  st.extra["fromSchedule"] = opts.from_schedule ? "true" : "false";
  st.extra["ttl"] = "\"" + base::FormatDuration(opts.policy.ttl) + "\"";
  st.extra["expiration"] =
      "\"" +
      base::FormatRfc3339(st.start_time +
                          std::chrono::duration_cast<base::TimePoint::duration>(opts.policy.ttl)) +
      "\"";
  for (const auto& w : deps.reporter.Publish(
           st, report::Event{"Normal", "BackupStarted", "backup " + opts.name + " started"}, "")) {
    st.AddWarning(vault::kScopeCluster, w);
  }
  std::atomic<bool> done{false};
  std::mutex hb_mu;
  std::condition_variable hb_cv;
  std::thread heartbeat([&] {
    std::unique_lock<std::mutex> l(hb_mu);
    while (!hb_cv.wait_for(l, opts.heartbeat, [&] { return done.load(); })) {
      vault::RunStatus snap;
      {
        std::lock_guard<std::mutex> sl(st_mu);
        st.heartbeat_time = deps.clock.Now();
        st.duration_seconds =
            std::chrono::duration<double>(deps.clock.Steady() - steady_start).count();
        snap = st;
      }
      deps.reporter.Publish(snap, std::nullopt, "");
    }
  });
  auto stop_heartbeat = [&] {
    done = true;
    hb_cv.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  };

  // 3-4. Discover, then stream everything into the archive.
  Status result = [&]() -> Status {
    ASSIGN_OR_RETURN(kube::Discovery discovery, deps.kube.Discover());
    std::vector<std::string> meta_warnings;
    nlohmann::json metadata = Metadata(deps.kube, discovery, opts, st.start_time, &meta_warnings);
    for (const auto& w : meta_warnings) st.AddWarning(vault::kScopeCluster, w);
    ASSIGN_OR_RETURN(
        Upload archive,
        Upload::Open(deps.store, layout.BackupObjectKey(opts.name, vault::kResourcesObject),
                     opts.policy.compression_level, opts.zstd_workers, true, "application/x-tar"));
    ASSIGN_OR_RETURN(
        Upload list,
        Upload::Open(deps.store, layout.BackupObjectKey(opts.name, vault::kResourceListObject), 3,
                     0, true, "application/json"));
    ASSIGN_OR_RETURN(auto tar, archive::TarWriter::Create(&archive.in()));
    auto abort_all = [&] {
      tar->Abort();
      archive.in().Abort();
      list.in().Abort();
    };
    const base::TimePoint now = deps.clock.Now();
    Status ws = tar->Add("metadata/backup.json", metadata.dump(2) + "\n", now);
    if (ws.ok()) ws = list.in().Write("[\n");
    if (!ws.ok()) {
      abort_all();
      return ws;
    }
    Walker walker(deps.kube, discovery, opts.policy, opts.own_namespace, opts.parallel_lists,
                  deps.cancel);
    for (const auto& s : walker.skipped()) base::LogInfo("resource not backed up", {{"why", s}});
    std::set<std::string> namespaces;
    int64_t objects = 0, cluster_objects = 0, entries = 1;
    bool first_line = true;
    std::vector<WalkIssue> issues;
    Status walked = walker.Walk(
        [&](const Visit& v) -> Status {
          const std::string ns = StringAt(v.object, "metadata", "namespace");
          const std::string name = StringAt(v.object, "metadata", "name");
          const std::string path = ObjectEntryPath(v.resource, v.version, ns, name);
          RETURN_IF_ERROR(tar->Add(path, v.object.dump(), now));
          nlohmann::json line = {{"path", path},
                                 {"group", v.resource.group},
                                 {"version", v.version},
                                 {"resource", v.resource.resource},
                                 {"kind", v.resource.kind},
                                 {"namespace", ns},
                                 {"name", name}};
          if (!v.reason.empty()) line["reason"] = v.reason;
          RETURN_IF_ERROR(list.in().Write((first_line ? "" : ",\n") + line.dump()));
          first_line = false;
          ++entries;
          if (v.primary) {
            ++objects;
            if (!ns.empty()) namespaces.insert(ns);
            if (!v.reason.empty()) ++cluster_objects;
            std::lock_guard<std::mutex> l(st_mu);
            st.counts["objects"] = objects;
            st.sizes["storedBytes"] = static_cast<int64_t>(archive.stored->size());
          }
          return Status::Ok();
        },
        &issues);
    if (!walked.ok()) {
      abort_all();
      return walked;
    }
    for (const auto& i : issues) st.AddError(i.scope, i.message, i.object);
    ws = tar->Finish();
    if (ws.ok()) ws = archive.in().Close();
    if (ws.ok()) ws = list.in().Write("\n]\n");
    if (ws.ok()) ws = list.in().Close();
    if (!ws.ok()) {
      abort_all();
      return ws;
    }
    {
      std::lock_guard<std::mutex> l(st_mu);
      st.counts["objects"] = objects;
      st.counts["clusterObjects"] = cluster_objects;
      st.counts["namespaces"] = static_cast<int64_t>(namespaces.size());
      st.counts["entries"] = entries;
      st.counts["resourceErrors"] = static_cast<int64_t>(issues.size());
      st.sizes["storedBytes"] = static_cast<int64_t>(archive.stored->size());
      st.sizes["logicalBytes"] = static_cast<int64_t>(archive.logical->size());
    }

    // 5. The manifest, last: the commit point.
    vault::Manifest m;
    m.kind = std::string(vault::kManifestKindBackup);
    m.name = opts.name;
    m.created = st.start_time;
    m.completed = deps.clock.Now();
    m.created_by = opts.created_by;
    m.policy = opts.policy.name;
    vault::StoredObject res =
        archive.Describe(std::string(vault::kResourcesObject), "application/x-tar");
    res.entry_count = entries;
    m.objects.push_back(res);
    m.objects.push_back(list.Describe(std::string(vault::kResourceListObject), "application/json"));
    if (deps.log) {  // the run's log up to here; what follows is in the status and events
      ASSIGN_OR_RETURN(
          Upload log,
          Upload::Open(deps.store, layout.BackupObjectKey(opts.name, vault::kLogsObject), 3, 0,
                       true, "application/jsonl"));
      Status ls = log.in().Write(base::Redact(*deps.log));
      if (ls.ok()) ls = log.in().Close();
      if (!ls.ok()) {
        log.in().Abort();
        return ls;
      }
      m.objects.push_back(log.Describe(std::string(vault::kLogsObject), "application/jsonl"));
    }
    return vault::PublishManifest(deps.store, layout, m);
  }();
  stop_heartbeat();

  if (deps.cancel.load()) {
    result = base::Error(Code::kCancelled, "backup cancelled: " + deps.cancel_reason());
  }
  if (!result.ok()) {
    st.AddError(vault::kScopeRunner, result.message());
    finish(vault::kPhaseFailed, "backup failed: " + result.message());
    out.exit_code = 1;
  } else if (st.errors.count > 0) {
    finish(vault::kPhasePartiallyFailed, "backup completed with " +
                                             std::to_string(st.errors.count) +
                                             " errors; every failed resource is named in errors");
    out.exit_code = 3;
  } else {
    finish(vault::kPhaseCompleted,
           "backup completed: " + std::to_string(st.counts["objects"]) + " objects");
    out.exit_code = 0;
  }
  return out;
}

}  // namespace cairn::ops::backup
