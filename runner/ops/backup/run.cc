// The backup run, in phases: claim the name, start (InProgress, heartbeat), stream the objects,
// publish the manifest, finish (final phase and exit code).
#include <algorithm>
#include <set>
#include <thread>

#include "archive/tar.h"
#include "base/log.h"
#include "ops/backup/archive_stream.h"
#include "ops/backup/backup.h"
#include "ops/backup/entry_queue.h"
#include "ops/backup/run_state.h"
#include "ops/backup/snapshots.h"
#include "ops/backup/volumes.h"
#include "ops/backup/walker.h"
#include "vault/manifest.h"
#include "vault/random_id.h"
#include "vault/vault_info.h"

namespace cairn::ops::backup {
namespace {

using base::Code;
using base::Status;

// What the listers may hold ahead of the archive writer (memory stays flat: see EntryQueue).
constexpr uint64_t kQueueBytes = 8u << 20;

std::string StringAt(const nlohmann::json& obj, std::string_view a, std::string_view b) {
  auto m = obj.find(a);
  if (m == obj.end() || !m->is_object()) return "";
  auto v = m->find(b);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}

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
                        base::TimePoint start, const std::vector<std::string>& not_backed_up,
                        std::vector<std::string>* warnings) {
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
          {"notBackedUp", not_backed_up},
          {"cluster",
           {{"serverVersion", version.ok() ? *version : ""},
            {"apiGroups", groups},
            {"resources", resources},
            {"storageClasses", classes},
            {"zones", std::vector<std::string>(zones.begin(), zones.end())}}}};
}

// What the stream phase leaves for publication.
struct Streamed {
  std::unique_ptr<ArchiveStream> archive;
  ClaimCollector claims;  // the PersistentVolumeClaims archived
  std::vector<VolumeOutcome> volumes;
  std::vector<vault::SnapshotRecord> snapshots;  // CSI snapshots taken, as they were taken
};

// --- claim ------------------------------------------------------------------------------------

// The vault is usable and of a format we write; the name is ours: status.json is created
// (create-only) before any data, so of two runs with one name exactly one goes on.
// kAlreadyExists when the name is taken.
Status Claim(Deps& deps, const Options& opts, const vault::RunStatus& st) {
  const vault::Layout& layout = deps.layout;
  ASSIGN_OR_RETURN(auto info, vault::ReadVaultInfo(deps.store, layout));
  if (!info) {
    RETURN_IF_ERROR(vault::InitVault(deps.store, layout, deps.clock, opts.created_by).status());
  }
  auto taken = [&] {
    return base::Error(Code::kAlreadyExists, "backup '" + opts.name + "' already exists in vault")
        .WithHint(
            "pick another --name, or delete the old backup first (gc removes it once it "
            "has expired, or on a delete request)");
  };
  auto head = deps.store.Head(layout.ManifestKey(opts.name));
  if (head.ok()) return taken();
  if (head.status().code() != Code::kNotFound) return head.status();
  Status created =
      vault::CreateStatus(deps.store, layout.BackupObjectKey(opts.name, vault::kStatusObject), st);
  if (created.code() == Code::kAlreadyExists) return taken();
  return created;
}

// --- start ------------------------------------------------------------------------------------

void InitStatus(Deps& deps, const Options& opts, vault::RunStatus& st) {
  st.kind = std::string(vault::kKindBackup);
  st.name = opts.name;
  st.vault = opts.vault_name;
  st.policy = opts.policy.name;
  st.start_time = deps.clock.Now();
  st.heartbeat_time = st.start_time;
  // Unique per run: a create whose answer was lost is recognised as this run's own.
  st.extra["runId"] = "\"" + vault::NewUuidV4() + "\"";
  st.extra["fromSchedule"] = opts.from_schedule ? "true" : "false";
  st.extra["ttl"] = "\"" + base::FormatDuration(opts.policy.ttl) + "\"";
  st.extra["expiration"] =
      "\"" +
      base::FormatRfc3339(st.start_time +
                          std::chrono::duration_cast<base::TimePoint::duration>(opts.policy.ttl)) +
      "\"";
}

// InProgress everywhere (vault, ConfigMap) and the BackupStarted event.
void Start(Deps& deps, const Options& opts, RunState& state) {
  const auto warnings = deps.reporter.Publish(
      state.Snapshot(),
      report::Event{"Normal", "BackupStarted", "backup " + opts.name + " started"}, "");
  for (const auto& w : warnings) state.AddWarning(vault::kScopeCluster, w);
}

// --- stream -----------------------------------------------------------------------------------

// How deeply `value` nests (a scalar is 0, `{}` is 1), without recursion: the object comes from
// the API server, and a restore refuses entries deeper than vault::kMaxObjectEntryDepth.
int Depth(const nlohmann::json& value) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> pending{{&value, 1}};
  while (!pending.empty()) {
    auto [v, level] = pending.back();
    pending.pop_back();
    if (!v->is_structured()) continue;
    deepest = std::max(deepest, level);
    if (level > vault::kMaxObjectEntryDepth) break;  // deep enough to refuse
    for (const auto& child : *v) pending.emplace_back(&child, level + 1);
  }
  return deepest;
}

// One object as an archive entry. An object that cannot be stored (not serialisable, larger
// than a restore reads, a name no tar path can carry) is an error of that object: the walk
// goes on. Only a broken archive (the queue failed) stops it.
Status Enqueue(const Visit& v, EntryQueue& queue, RunState& state) {
  ArchiveEntry e;
  e.namespace_name = StringAt(v.object, "metadata", "namespace");
  const std::string name = StringAt(v.object, "metadata", "name");
  e.path = ObjectEntryPath(v.resource, v.version, e.namespace_name, name);
  e.object = QualifiedResource(v.resource) + "/" + v.version + " " +
             (e.namespace_name.empty() ? name : e.namespace_name + "/" + name);
  e.scope = e.namespace_name.empty() ? std::string(vault::kScopeCluster)
                                     : vault::NamespaceScope(e.namespace_name);
  e.primary = v.primary;
  e.pulled_in = !v.reason.empty();
  auto refuse = [&](const std::string& why) {
    state.AddError(e.scope, "object not backed up: " + why, e.object);
    return Status::Ok();
  };
  if (Status p = archive::ValidateEntryPath(e.path); !p.ok()) return refuse(p.message());
  if (Depth(v.object) > vault::kMaxObjectEntryDepth) {
    return refuse("it nests more than " + std::to_string(vault::kMaxObjectEntryDepth) +
                  " levels deep, the most a restore reads");
  }
  nlohmann::json line = {{"path", e.path},
                         {"group", v.resource.group},
                         {"version", v.version},
                         {"resource", v.resource.resource},
                         {"kind", v.resource.kind},
                         {"namespace", e.namespace_name},
                         {"name", name}};
  if (!v.reason.empty()) line["reason"] = v.reason;
  try {  // nlohmann::json throws on strings that are not UTF-8
    e.data = v.object.dump();
    e.line = line.dump();
  } catch (const nlohmann::json::exception& ex) {
    return refuse("unable to serialise it as JSON: " + std::string(ex.what()));
  }
  if (e.data.size() > vault::kMaxObjectEntryBytes) {
    return refuse("it is " + std::to_string(e.data.size()) + " bytes as JSON, more than the " +
                  std::to_string(vault::kMaxObjectEntryBytes) + " a restore reads");
  }
  return queue.Push(std::move(e));
}

// Lists (several threads) into the queue while this thread's writer drains it into the archive.
Status WalkInto(Walker& walker, ArchiveStream& archive, RunState& state, ClaimCollector& claims) {
  EntryQueue queue(kQueueBytes);
  Status written;
  std::thread writer([&] { written = archive.Drain(queue, state); });
  std::vector<WalkIssue> issues;
  Status walked = walker.Walk(
      [&](const Visit& v) {
        claims.Offer(v);
        return Enqueue(v, queue, state);
      },
      &issues);
  if (walked.ok()) {
    queue.Close();
  } else {
    queue.Fail(walked);
  }
  writer.join();
  for (const auto& i : issues) {
    if (i.warning) {
      state.AddWarning(i.scope, i.message, i.object);
    } else {
      state.AddError(i.scope, i.message, i.object);
    }
  }
  state.Update([&](vault::RunStatus& st) {
    st.counts["resourceErrors"] = static_cast<int64_t>(
        std::count_if(issues.begin(), issues.end(), [](const auto& i) { return !i.warning; }));
  });
  return !written.ok() ? written : walked;
}

// Discovers, then streams every selected object into resources.tar.zst.
Status Stream(Deps& deps, const Options& opts, RunState& state, Streamed* out) {
  ASSIGN_OR_RETURN(kube::Discovery discovery, deps.kube.Discover());
  Walker walker(deps.kube, discovery, opts.policy, opts.own_namespace, opts.parallel_lists,
                deps.cancel);
  // Resources the cluster regenerates go on record in metadata/backup.json; every other skip
  // (a group that could not be discovered, an include that matches nothing) is a warning.
  std::vector<std::string> regenerated;
  for (const auto& s : walker.skipped()) {
    if (s.ends_with(kRegeneratedReason)) {
      regenerated.push_back(s);
    } else {
      state.AddWarning(vault::kScopeCluster, "not backed up: " + s);
    }
  }
  std::vector<std::string> meta_warnings;
  const vault::RunStatus st = state.Snapshot();
  nlohmann::json metadata =
      Metadata(deps.kube, discovery, opts, st.start_time, regenerated, &meta_warnings);
  for (const auto& w : meta_warnings) state.AddWarning(vault::kScopeCluster, w);
  ASSIGN_OR_RETURN(out->archive,
                   ArchiveStream::Open(
                       deps.store, deps.layout.BackupObjectKey(opts.name, vault::kResourcesObject),
                       deps.layout.BackupObjectKey(opts.name, vault::kResourceListObject),
                       opts.policy.compression_level, opts.zstd_workers, deps.clock.Now()));
  ArchiveStream& archive = *out->archive;
  Status ws = archive.AddMetadata(metadata.dump(2) + "\n");
  if (ws.ok()) ws = WalkInto(walker, archive, state, out->claims);
  if (ws.ok()) ws = archive.Finish();
  if (!ws.ok()) {
    archive.Abort();
    return ws;
  }
  state.Update([&](vault::RunStatus& s) {
    s.counts["objects"] = archive.objects();
    s.counts["clusterObjects"] = archive.cluster_objects();
    s.counts["namespaces"] = archive.namespaces();
    s.counts["entries"] = archive.entries();
    s.sizes["storedBytes"] = static_cast<int64_t>(archive.archive().stored->size());
    s.sizes["logicalBytes"] = static_cast<int64_t>(archive.archive().logical->size());
  });
  return Status::Ok();
}

// --- volumes ----------------------------------------------------------------------------------

// The data of the archived claims (policy `volumes`), recorded in the status either way.
Status CopyVolumes(Deps& deps, const Options& opts, RunState& state, Streamed& streamed) {
  std::vector<nlohmann::json> claims = streamed.claims.Take();
  if (opts.policy.volumes != "none") {
    ASSIGN_OR_RETURN(streamed.volumes,
                     BackupVolumes(deps, opts, state, claims, &streamed.snapshots));
  }
  state.Update(
      [&](vault::RunStatus& st) { RecordVolumes(opts.policy.volumes, streamed.volumes, st); });
  return Status::Ok();
}

// --- publish ----------------------------------------------------------------------------------

// The run's log, then the manifest: the commit point. Publication checks that the vault still
// holds what this run uploaded (size and ETag as the uploads completed).
Status Publish(Deps& deps, const Options& opts, const vault::RunStatus& st, ArchiveStream& archive,
               const std::vector<VolumeOutcome>& volumes,
               const std::vector<vault::SnapshotRecord>& snapshots) {
  vault::Manifest m;
  m.kind = std::string(vault::kManifestKindBackup);
  m.name = opts.name;
  m.created = st.start_time;
  m.created_by = opts.created_by;
  m.policy = opts.policy.name;
  vault::StoredObject res = archive.archive().Describe(vault::kResourcesObject);
  res.entry_count = static_cast<uint64_t>(archive.entries());
  m.objects.push_back(res);
  m.objects.push_back(archive.list().Describe(vault::kResourceListObject));
  for (const VolumeOutcome& v : volumes) {
    if (v.object) m.objects.push_back(*v.object);
  }
  RETURN_IF_ERROR(vault::SetManifestSnapshots(m, snapshots));
  std::map<std::string, std::string> etags = {
      {std::string(vault::kResourcesObject), archive.archive().etag},
      {std::string(vault::kResourceListObject), archive.list().etag}};
  if (deps.log) {  // the run's log up to here; what follows is in the status and events
    ASSIGN_OR_RETURN(
        Upload log,
        Upload::Open(deps.store, deps.layout.BackupObjectKey(opts.name, vault::kLogsObject), 3, 0,
                     "application/jsonl"));
    Status ls = log.in().Write(base::Redact(*deps.log));
    if (ls.ok()) ls = log.Commit();
    if (!ls.ok()) {
      log.in().Abort();
      return ls;
    }
    m.objects.push_back(log.Describe(vault::kLogsObject));
    etags[std::string(vault::kLogsObject)] = log.etag;
  }
  m.completed = deps.clock.Now();
  return vault::PublishManifest(deps.store, deps.layout, m, etags);
}

// --- finish -----------------------------------------------------------------------------------

void Finish(Deps& deps, Status result, std::chrono::steady_clock::time_point steady_start,
            Outcome& out) {
  vault::RunStatus& st = out.status;
  const bool stopped = deps.cancel.load();
  out.exit_code = Settle(std::move(result), stopped, stopped ? deps.cancel_reason() : "", st);
  st.completion_time = deps.clock.Now();
  st.heartbeat_time = *st.completion_time;
  st.duration_seconds = std::chrono::duration<double>(deps.clock.Steady() - steady_start).count();
}

}  // namespace

Outcome Run(Deps& deps, const Options& opts) {
  Outcome out;
  const auto steady_start = deps.clock.Steady();
  InitStatus(deps, opts, out.status);
  if (Status claimed = Claim(deps, opts, out.status); !claimed.ok()) {
    // A taken name belongs to another run: its status and ConfigMap are left alone.
    out.owns_name = claimed.code() != Code::kAlreadyExists;
    Finish(deps, claimed, steady_start, out);
    return out;
  }
  RunState state(&out.status);
  Start(deps, opts, state);
  Status result;
  {
    Heartbeat heartbeat(
        state, deps.reporter, deps.clock, steady_start,
        std::chrono::duration_cast<std::chrono::milliseconds>(opts.policy.heartbeat_interval));
    Streamed streamed;
    result = Stream(deps, opts, state, &streamed);
    if (result.ok()) result = CopyVolumes(deps, opts, state, streamed);
    if (result.ok()) {
      result = Publish(deps, opts, state.Snapshot(), *streamed.archive, streamed.volumes,
                       streamed.snapshots);
    }
    if (!result.ok()) DropSnapshots(deps, opts, state, streamed.snapshots);
  }  // the heartbeat has stopped: the status is this thread's again
  Finish(deps, result, steady_start, out);
  return out;
}

}  // namespace cairn::ops::backup
