// The conversion run: lease, verify, read the target, plan, publish, report.
#include <condition_variable>
#include <mutex>
#include <thread>

#include "content/verify.h"
#include "io/hash.h"
#include "ops/convert/convert.h"
#include "ops/convert/plan.h"
#include "ops/convert/target.h"
#include "vault/manifest.h"
#include "vault/read_lease.h"

namespace cairn::ops::convert {
namespace {

using base::Code;
using base::Status;

// Renews the read lease and rewrites the InProgress status until stopped.
class Heartbeat {
 public:
  Heartbeat(Deps& deps, vault::ReadLeaseGuard& lease, vault::RunStatus start,
            std::chrono::seconds every) {
    thread_ = std::thread([&deps, &lease, start, every, this]() mutable {
      std::unique_lock<std::mutex> l(mu_);
      while (!cv_.wait_for(l, every, [&] { return done_; })) {
        lease.Renew();
        start.heartbeat_time = deps.clock.Now();
        deps.reporter.Publish(start, std::nullopt, "");
      }
    });
  }
  ~Heartbeat() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

// The run's status and exit code as it ends.
struct Finisher {
  Deps& deps;
  Outcome& out;
  std::chrono::steady_clock::time_point steady_start;
  Outcome& operator()(std::string_view phase, std::string message, int code) {
    vault::RunStatus& st = out.status;
    st.phase = std::string(phase);
    st.message = std::move(message);
    st.completion_time = deps.clock.Now();
    st.heartbeat_time = *st.completion_time;
    st.duration_seconds = std::chrono::duration<double>(deps.clock.Steady() - steady_start).count();
    out.exit_code = code;
    return out;
  }
  Outcome& Fail(const std::string& why, const std::string& object = "") {
    out.status.AddError(vault::kScopeRunner, why, object);
    return (*this)(vault::kPhaseFailed, "conversion failed: " + why, 1);
  }
};

// --reset: deletes the conversion (or, dry, says what would go).
Outcome& Reset(Deps& deps, const Options& opts, Finisher& finish) {
  finish.out.reset = true;
  const std::string dir = deps.layout.ConversionDir(opts.backup, opts.name);
  if (opts.dry_run) {
    store::ListOptions lo;
    lo.prefix = dir;
    auto objects = deps.store.ListAll(lo);
    if (!objects.ok()) return finish.Fail(objects.status().message());
    finish.out.plan_text =
        "reset would delete " + std::to_string(objects->size()) + " objects under " + dir + "\n";
    return finish(vault::kPhaseCompleted, "dry run: nothing deleted", 0);
  }
  auto deleted = content::DeleteConversion(deps.store, deps.layout, opts.backup, opts.name);
  if (!deleted.ok())
    return finish.Fail("unable to delete " + dir + ": " + deleted.status().message());
  finish.out.plan_text =
      "deleted " + std::to_string(deleted->size()) + " objects under " + dir + "\n";
  return finish(vault::kPhaseCompleted,
                deleted->empty()
                    ? "conversion '" + opts.name + "' of backup '" + opts.backup +
                          "' did not exist: nothing to delete"
                    : "conversion '" + opts.name + "' of backup '" + opts.backup + "' deleted",
                0);
}

// Phase 1: the backup's objects, verified. A non-empty return is the failure message.
std::string ReadBackup(Deps& deps, const Options& opts, content::BackupContent& content,
                       std::string* checksum, Finisher& finish) {
  auto manifest = vault::ReadManifest(deps.store, deps.layout, opts.backup);
  if (!manifest.ok()) return manifest.status().message();
  *checksum = manifest->checksum;
  std::vector<content::VerifyProblem> problems;
  Status kept = content::ReadVerified(deps.store, deps.layout, *manifest, &content, &problems);
  if (!kept.ok()) return kept.message();
  if (problems.empty()) return "";
  for (const auto& p : problems)
    finish.out.status.AddError(vault::kScopeRunner, p.message, p.object);
  return "backup '" + opts.backup + "' failed verification (" + std::to_string(problems.size()) +
         (problems.size() == 1 ? " problem: " : " problems, first: ") + problems.front().message +
         ")";
}

// Records the plan's counts and validation results in the status.
void RecordPlan(const Plan& plan, vault::RunStatus& st) {
  st.counts["persistentVolumeClaims"] = plan.pvcs;
  st.counts["persistentVolumes"] = plan.pvs;
  st.counts["volumeClaimTemplates"] = plan.templates;
  st.counts["rewritten"] = static_cast<int64_t>(plan.conversion.objects.size());
  st.counts["sizesRaised"] = plan.sizes_raised;
  for (const auto& i : plan.conversion.validation) {
    if (i.severity == "error") {
      st.AddError(vault::kScopeCluster, i.message, i.object);
    } else {
      st.AddWarning(vault::kScopeCluster, i.message, i.object);
    }
  }
}

// Phase 4: publishes the conversion, or finds the identical one already there.
Outcome& Publish(Deps& deps, const Options& opts, const Plan& plan, Finisher& finish) {
  const std::string bytes = content::SerializeConversion(plan.conversion);
  const std::string summary = std::to_string(plan.conversion.objects.size()) +
                              " objects rewritten, " + std::to_string(plan.warnings()) +
                              " warnings";
  auto existing = [&]() -> Outcome& {
    auto digest =
        content::PublishedConversionDigest(deps.store, deps.layout, opts.backup, opts.name);
    if (!digest.ok()) return finish.Fail(digest.status().message());
    if (*digest == io::Sha256Hex(bytes)) {
      return finish(vault::kPhaseCompleted,
                    "conversion completed: already published, unchanged (" + summary + ")", 0);
    }
    return finish.Fail("conversion '" + opts.name + "' of backup '" + opts.backup +
                       "' already exists and differs from this one (another mapping, or the "
                       "target cluster changed)\nHINT: convert-run --backup " +
                       opts.backup + " --name " + opts.name +
                       " --reset deletes it; or choose another --name");
  };
  if (deps.store.Head(deps.layout.ConversionManifestKey(opts.backup, opts.name)).ok()) {
    return existing();
  }
  Status published =
      content::PublishConversion(deps.store, deps.layout, plan.conversion,
                                 finish.out.status.start_time, deps.clock.Now(), opts.created_by);
  if (published.code() == Code::kAlreadyExists) return existing();
  if (!published.ok()) return finish.Fail(published.message());
  return finish(vault::kPhaseCompleted, "conversion completed: " + summary, 0);
}

}  // namespace

Outcome Run(Deps& deps, const Options& opts) {
  Outcome out;
  vault::RunStatus& st = out.status;
  st.kind = std::string(vault::kKindConversion);
  st.name = opts.name;
  st.backup = opts.backup;
  st.vault = opts.vault_name;
  st.start_time = deps.clock.Now();
  st.heartbeat_time = st.start_time;
  Finisher finish{deps, out, deps.clock.Steady()};
  if (opts.reset) return Reset(deps, opts, finish);

  vault::ReadLeaseGuard lease(deps.store, deps.layout, opts.backup, "conversion", opts.name,
                              opts.heartbeat, deps.clock, !opts.dry_run);
  std::optional<Heartbeat> heartbeat;
  if (!opts.dry_run) {
    for (const auto& w : deps.reporter.Publish(
             st,
             report::Event{"Normal", "ConvertStarted",
                           "conversion " + st.name + " of backup " + st.backup + " started"},
             "")) {
      st.AddWarning(vault::kScopeCluster, w);
    }
    heartbeat.emplace(deps, lease, st, opts.heartbeat);
  }
  content::BackupContent content(opts.spool_dir);
  std::string checksum;
  if (std::string why = ReadBackup(deps, opts, content, &checksum, finish); !why.empty()) {
    return finish.Fail(why);
  }
  if (deps.cancel.load()) return finish.Fail("cancelled before the conversion was written");
  if (deps.kube == nullptr) return finish.Fail("no target cluster to read (--kubeconfig)");
  auto target = ReadTarget(*deps.kube);
  if (!target.ok()) return finish.Fail(target.status().message());
  CapabilityTable table(opts.provisioners);
  auto plan =
      MakePlan(content.objects, {opts.backup, checksum, opts.name, opts.storage_class_mapping,
                                 opts.access_mode_mapping, &table, &*target});
  if (!plan.ok()) return finish.Fail(plan.status().message());
  out.plan_text = FormatPlan(*plan);
  RecordPlan(*plan, st);
  if (heartbeat) heartbeat->Stop();
  if (plan->errors() > 0) {
    const auto& first =
        *std::find_if(plan->conversion.validation.begin(), plan->conversion.validation.end(),
                      [](const content::ConversionIssue& i) { return i.severity == "error"; });
    return finish(vault::kPhaseFailed,
                  "conversion failed: " + first.message +
                      (plan->errors() > 1
                           ? "\n(" + std::to_string(plan->errors()) + " errors; see the status)"
                           : ""),
                  1);
  }
  if (opts.dry_run) return finish(vault::kPhaseCompleted, "dry run: nothing written", 0);
  return Publish(deps, opts, *plan, finish);
}

}  // namespace cairn::ops::convert
