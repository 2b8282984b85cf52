#include "main/mover.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "base/log.h"
#include "config/policy.h"
#include "report/reporter.h"
#include "vault/manifest.h"
#include "vault/volume_result.h"
#include "volume/volume.h"

namespace cairn::mover_main {
namespace {

using base::Code;

// Flags of a normal run that mean nothing to a mover.
constexpr const char* kNotForMover[] = {"policy",  "min-interval",   "dry-run",      "conversion",
                                        "volumes", "volume-timeout", "local-volumes"};
constexpr const char* kMoverOnly[] = {"volume", "path"};

struct Target {
  std::string ns, pvc, path;
};

int Usage(Direction d, const std::string& msg) {
  const char* exe = d == Direction::kBackup ? "backup-run" : "restore-run";
  std::fprintf(stderr, "%s: %s\nrun '%s --help' for usage\n", exe, msg.c_str(), exe);
  return wiring::kExitUsage;
}

std::optional<std::string> CheckFlags(const wiring::Invocation& inv) {
  const bool mover = inv.flags.GetBool("mover");
  for (const char* f : kMoverOnly) {
    if (!mover && inv.flags.Has(f)) return "--" + std::string(f) + " applies only with --mover";
  }
  if (!mover) return std::nullopt;
  for (const char* f : kNotForMover) {
    if (inv.flags.Has(f) && (std::string_view(f) != "dry-run" || inv.flags.GetBool(f))) {
      return "--" + std::string(f) + " does not apply with --mover";
    }
  }
  return std::nullopt;
}

base::Result<Target> ParseTarget(const wiring::Invocation& inv) {
  Target t;
  const std::string volume = inv.flags.GetString("volume");
  const size_t slash = volume.find('/');
  if (volume.empty() || slash == std::string::npos) {
    return base::Error(Code::kInvalidArgument, "--volume NAMESPACE/PVC is required with --mover");
  }
  t.ns = volume.substr(0, slash);
  t.pvc = volume.substr(slash + 1);
  RETURN_IF_ERROR(vault::ValidateVolumeName(t.ns, "namespace"));
  RETURN_IF_ERROR(vault::ValidateVolumeName(t.pvc, "pvc"));
  t.path = inv.flags.GetString("path");
  if (t.path.empty()) {
    return base::Error(Code::kInvalidArgument, "--path DIR is required with --mover");
  }
  return t;
}

// Worker threads of zstd: every core up to 4, minus none (reading the volume is I/O).
int ZstdWorkers() {
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
}

void Fill(vault::VolumeResult& r, const volume::TreeResult& tree) {
  const volume::TreeCounts& c = tree.counts;
  r.counts = {c.files, c.dirs, c.symlinks, c.hardlinks, c.bytes, c.skipped};
  r.warnings = tree.warnings;
  r.errors = tree.errors;
  r.phase = tree.errors.empty() ? "Completed" : "PartiallyFailed";
  r.message = tree.errors.empty() ? "" : std::to_string(tree.errors.size()) + " file(s) failed";
}

void Fail(vault::VolumeResult& r, const base::Status& st) {
  r.phase = "Failed";
  r.message = st.message();
}

// Writes the result document, prints it, and returns the exit code of its phase.
int Finish(vault::VolumeResult& r, store::ObjectStore& store, const std::string& key,
           const base::Clock& clock) {
  r.completion_time = clock.Now();
  auto bytes = vault::SerializeVolumeResult(r);
  store::PutOptions po;
  po.content_type = "application/json";
  base::Status put = bytes.ok() ? store.Put(key, *bytes, po) : bytes.status();
  if (!put.ok()) {
    r.phase = "Failed";
    // Keep the run's own failure first: it is usually why the vault did not answer either.
    r.message = (r.message.empty() ? "" : r.message + "; ") + "unable to write volume result '" +
                key + "': " + put.message();
  }
  const std::string line = r.kind + " " + r.namespace_name + "/" + r.pvc + ": " + r.phase +
                           (r.message.empty() ? "" : ": " + r.message);
  std::printf(
      "%s\n  files %llu, dirs %llu, symlinks %llu, hard links %llu, bytes %llu, "
      "skipped %llu\n",
      base::Redact(line).c_str(), static_cast<unsigned long long>(r.counts.files),
      static_cast<unsigned long long>(r.counts.dirs),
      static_cast<unsigned long long>(r.counts.symlinks),
      static_cast<unsigned long long>(r.counts.hardlinks),
      static_cast<unsigned long long>(r.counts.bytes),
      static_cast<unsigned long long>(r.counts.skipped));
  for (const auto& e : r.errors) std::printf("  error: %s\n", e.c_str());
  for (const auto& w : r.warnings) std::printf("  warning: %s\n", w.c_str());
  if (r.phase == "Failed") {
    base::LogError(line, {});
    report::WriteTerminationMessage("/dev/termination-log", line);
    return wiring::kExitFailed;
  }
  base::LogInfo(line, {});
  return r.phase == "Completed" ? wiring::kExitOk : wiring::kExitPartiallyFailed;
}

int RunBackup(const wiring::Invocation& inv, const Target& t) {
  const std::string name = inv.flags.GetString("name");
  if (name.empty()) return Usage(Direction::kBackup, "--name BACKUP is required with --mover");
  if (auto st = vault::ValidateName(name, "backup name"); !st.ok()) {
    return Usage(Direction::kBackup, "--name: " + st.message());
  }
  int level = config::kDefaultCompressionLevel;
  if (inv.flags.Has("compression-level")) {
    level = static_cast<int>(inv.flags.GetInt("compression-level"));
  }
  base::Clock& clock = base::RealClock();
  wiring::RunControl control(inv.flags.GetDuration("timeout"));
  auto report_store = wiring::OpenStore(inv.vault.vault, inv.settings, control.ReportPath());
  if (!report_store.ok()) {
    if (report_store.status().code() == Code::kInvalidArgument) {
      return Usage(Direction::kBackup, report_store.status().message());
    }
    std::fprintf(stderr, "VolumeBackup failed: %s\n", report_store.status().message().c_str());
    return wiring::kExitFailed;
  }
  auto data_store = wiring::OpenStore(inv.vault.vault, inv.settings, control.DataPath());
  const vault::Layout layout = wiring::LayoutFor(inv.vault.vault);
  vault::VolumeResult r;
  r.kind = std::string(vault::kKindVolumeBackup);
  r.backup = name;
  r.namespace_name = t.ns;
  r.pvc = t.pvc;
  r.start_time = clock.Now();
  // A published backup is immutable: its volumes and their results cannot change.
  auto published = (*report_store)->Head(layout.ManifestKey(name));
  if (published.ok()) {
    std::fprintf(stderr,
                 "VolumeBackup failed: backup '%s' is already published in the vault; "
                 "its volume data cannot change\n",
                 name.c_str());
    return wiring::kExitFailed;
  }
  const std::string rel = vault::VolumeObjectKey(t.ns, t.pvc);
  auto info = published.status().code() != Code::kNotFound
                  ? base::Result<volume::ArchiveInfo>(published.status())
                  : volume::BackupToStore(**data_store, layout.BackupObjectKey(name, rel), t.path,
                                          level, ZstdWorkers(), control.cancel());
  control.Stop();
  if (info.ok()) {
    Fill(r, info->tree);
    r.object = vault::VolumeObject{rel, info->stored_size, info->logical_size, info->stored_sha256,
                                   info->logical_sha256};
  } else {
    const std::string reason = control.Reason();
    Fail(r, reason.empty() ? info.status() : info.status().Wrap(reason));
  }
  return Finish(r, **report_store,
                layout.BackupObjectKey(name, vault::VolumeResultRel(t.ns, t.pvc)), clock);
}

// The volume's archive as the verified manifest records it (never from a result document).
base::Result<volume::ArchiveInfo> FindArchive(store::ObjectStore& store,
                                              const vault::Layout& layout,
                                              const std::string& backup, const Target& t) {
  ASSIGN_OR_RETURN(vault::Manifest m, vault::ReadManifest(store, layout, backup));
  const std::string rel = vault::VolumeObjectKey(t.ns, t.pvc);
  for (const auto& o : m.objects) {
    if (o.key != rel) continue;
    volume::ArchiveInfo info;
    info.key = layout.BackupObjectKey(backup, rel);
    info.stored_size = o.stored_size;
    info.stored_sha256 = o.stored_sha256;
    info.logical_size = o.logical_size;
    info.logical_sha256 = o.logical_sha256;
    return info;
  }
  return base::Error(Code::kNotFound,
                     "backup '" + backup + "' holds no data of volume " + t.ns + "/" + t.pvc);
}

int RunRestore(const wiring::Invocation& inv, const Target& t) {
  const std::string backup = inv.flags.GetString("backup");
  const std::string name = inv.flags.GetString("name");
  if (backup.empty() || name.empty()) {
    return Usage(Direction::kRestore,
                 "--backup BACKUP and --name RESTORE are required with --mover");
  }
  for (const auto& [v, what] : {std::pair{backup, "backup name"}, {name, "restore name"}}) {
    if (auto st = vault::ValidateName(v, what); !st.ok()) {
      return Usage(Direction::kRestore, st.message());
    }
  }
  base::Clock& clock = base::RealClock();
  wiring::RunControl control(inv.flags.GetDuration("timeout"));
  auto store = wiring::OpenStore(
      inv.vault.vault, inv.settings,
      wiring::Bounds{nullptr, &control.final_deadline(), &control.final_deadline(), std::nullopt});
  if (!store.ok()) {
    if (store.status().code() == Code::kInvalidArgument) {
      return Usage(Direction::kRestore, store.status().message());
    }
    std::fprintf(stderr, "VolumeRestore failed: %s\n", store.status().message().c_str());
    return wiring::kExitFailed;
  }
  const vault::Layout layout = wiring::LayoutFor(inv.vault.vault);
  vault::VolumeResult r;
  r.kind = std::string(vault::kKindVolumeRestore);
  r.backup = backup;
  r.restore = name;
  r.namespace_name = t.ns;
  r.pvc = t.pvc;
  r.start_time = clock.Now();
  volume::RestoreOptions opts;
  opts.overwrite = inv.flags.GetString("existing-data") == "overwrite";
  // Archived owners are restored when the mover may chown (it runs as root: mover_privileged).
  opts.restore_ownership = geteuid() == 0;
  auto expected = FindArchive(**store, layout, backup, t);
  auto tree = expected.ok()
                  ? volume::RestoreFromStore(**store, *expected, t.path, opts, control.cancel())
                  : base::Result<volume::TreeResult>(expected.status());
  control.Stop();
  if (tree.ok()) {
    Fill(r, *tree);
  } else {
    const std::string reason = control.Reason();
    Fail(r, reason.empty() ? tree.status() : tree.status().Wrap(reason));
  }
  return Finish(r, **store, layout.RestoreObjectKey(name, vault::VolumeResultRel(t.ns, t.pvc)),
                clock);
}

}  // namespace

void AddMoverFlags(config::FlagSet& flags, Direction direction) {
  flags.AddBool("mover",
                "run as a volume mover: one volume's data between --path and the vault "
                "(started by the parent run; talks to no cluster)");
  flags.AddString("volume", "NAMESPACE/PVC",
                  "the volume a mover handles, as it was backed up (with --mover)");
  flags.AddString("path", "DIR", "where the volume is mounted (with --mover)");
  if (direction == Direction::kRestore) {
    flags.AddChoice("existing-data", {"empty", "overwrite"},
                    "volume data goes only into empty volumes (default), or over existing "
                    "files");
  }
}

std::optional<int> MaybeRunMover(const wiring::Invocation& inv, Direction direction) {
  if (auto problem = CheckFlags(inv)) return Usage(direction, *problem);
  if (!inv.flags.GetBool("mover")) return std::nullopt;
  auto target = ParseTarget(inv);
  if (!target.ok()) return Usage(direction, target.status().message());
  return direction == Direction::kBackup ? RunBackup(inv, *target) : RunRestore(inv, *target);
}

}  // namespace cairn::mover_main
