// gc's plan (ops/gc/plan.h): every decision from a table of backups, and its printed form.
#include <gtest/gtest.h>

#include "ops/gc/plan.h"

namespace cairn::ops::gc {
namespace {

base::TimePoint At(std::string_view s) { return base::ParseRfc3339(s).value(); }
const base::TimePoint kNow = At("2026-12-01T12:00:00Z");

vault::BackupEntry Backup(std::string name, std::string policy, std::string phase, bool complete,
                          base::TimePoint created, std::optional<base::TimePoint> expires = {}) {
  vault::BackupEntry e;
  e.name = name;
  e.complete = complete;
  e.phase = phase;
  e.created = created;
  e.last_modified = created;
  e.has_status = true;
  e.object_count = complete ? 4 : 2;
  e.size = 100;
  vault::RunStatus st;
  st.kind = "Backup";
  st.name = name;
  st.policy = policy;
  st.phase = phase;
  st.start_time = st.heartbeat_time = created;
  if (expires) st.extra["expiration"] = "\"" + base::FormatRfc3339(*expires) + "\"";
  e.status = st;
  return e;
}

const BackupDecision& Find(const Plan& p, const std::string& name) {
  for (const auto& d : p.backups) {
    if (d.name == name) return d;
  }
  static BackupDecision none;
  ADD_FAILURE() << "no decision for " << name;
  return none;
}

PlanOptions Options() {
  PlanOptions o;
  o.now = kNow;
  config::Retention daily;
  daily.keep_last = 1;
  o.policies["daily"] = daily;
  o.policies["plain"] = config::Retention{};  // no keep_* rule: TTL only
  return o;
}

TEST(GcPlan, TtlRetentionAndManualBackups) {
  Inputs in;
  const auto day = std::chrono::hours(24);
  in.backups = {
      Backup("m-old", "", "Completed", true, kNow - 40 * day, kNow - 10 * day),
      Backup("m-young", "", "Completed", true, kNow - 5 * day, kNow + 25 * day),
      Backup("m-nottl", "", "Completed", true, kNow - 400 * day),
      Backup("d-1", "daily", "Completed", true, kNow - 3 * day),
      Backup("d-2", "daily", "Completed", true, kNow - 2 * day),
      Backup("d-3", "daily", "Completed", true, kNow - 1 * day),
      Backup("d-ttl", "daily", "Completed", true, kNow - 4 * day, kNow + day),
      Backup("p-1", "plain", "Completed", true, kNow - 2 * day),
  };
  Plan p = MakePlan(in, Options());
  EXPECT_EQ(Find(p, "m-old").action, Action::kExpire);
  EXPECT_EQ(Find(p, "m-old").reason, "TTL expired at 2026-11-21T12:00:00Z");
  EXPECT_EQ(Find(p, "m-young").action, Action::kKeep);
  EXPECT_EQ(Find(p, "m-young").reason, "within its TTL (expires 2026-12-26T12:00:00Z)");
  EXPECT_EQ(Find(p, "m-nottl").action, Action::kKeep);
  EXPECT_EQ(Find(p, "d-3").action, Action::kKeep);
  EXPECT_EQ(Find(p, "d-3").reason, "keep_last");
  EXPECT_EQ(Find(p, "d-1").action, Action::kRetention);
  EXPECT_EQ(Find(p, "d-1").reason, "not kept by retention (keep_last=1)");
  EXPECT_EQ(Find(p, "d-2").action, Action::kRetention);
  EXPECT_EQ(Find(p, "d-ttl").action, Action::kKeep);  // its TTL has not passed
  EXPECT_EQ(Find(p, "p-1").action, Action::kKeep);
  EXPECT_EQ(Find(p, "p-1").reason, "no TTL and no retention rule");
}

TEST(GcPlan, RulesProtectExpiredBackupsAndTtlOverrideApplies) {
  Inputs in;
  in.backups = {Backup("d-1", "daily", "Completed", true, kNow - std::chrono::hours(48),
                       kNow - std::chrono::hours(1))};
  Plan p = MakePlan(in, Options());
  EXPECT_EQ(Find(p, "d-1").action, Action::kKeep);  // keep_last keeps it past its TTL
  PlanOptions o = Options();
  o.retention_override = config::Retention{};
  o.ttl_override = std::chrono::hours(1);
  p = MakePlan(in, o);
  EXPECT_EQ(Find(p, "d-1").action, Action::kExpire);
  EXPECT_EQ(Find(p, "d-1").reason, "TTL expired at 2026-11-29T13:00:00Z");
}

TEST(GcPlan, FailedRunsKeepTheLatestAndLoseTheirPartialObjects) {
  Inputs in;
  const auto h = std::chrono::hours(1);
  in.backups = {Backup("f-1", "daily", "Failed", false, kNow - 3 * h, kNow - 2 * h),
                Backup("f-2", "daily", "Failed", false, kNow - 2 * h, kNow - 1 * h),
                Backup("pf", "daily", "PartiallyFailed", true, kNow - 5 * h, kNow + h),
                Backup("ok", "daily", "Completed", true, kNow - 4 * h)};
  Plan p = MakePlan(in, Options());
  EXPECT_EQ(Find(p, "f-2").action, Action::kKeep);
  EXPECT_TRUE(Find(p, "f-2").purge_partial);
  EXPECT_EQ(Find(p, "f-2").reason, "keep_failed_last (1); its partial objects go");
  EXPECT_EQ(Find(p, "f-1").action, Action::kExpire);
  EXPECT_EQ(Find(p, "pf").action, Action::kKeep);  // within its TTL
  EXPECT_EQ(Find(p, "ok").action, Action::kKeep);
}

TEST(GcPlan, StaleAndLiveRunsOrphansAndUnfinishedDeletions) {
  Inputs in;
  const auto m = std::chrono::minutes(1);
  in.backups = {Backup("stale", "daily", "InProgress", false, kNow - 60 * m),
                Backup("live", "daily", "InProgress", false, kNow - 60 * m),
                Backup("deleting", "daily", "Deleting", false, kNow - 600 * m)};
  in.backups[0].status->heartbeat_time = kNow - 16 * m;
  in.backups[1].status->heartbeat_time = kNow - 14 * m;
  vault::BackupEntry orphan;
  orphan.name = "orphan";
  orphan.last_modified = kNow - 20 * m;
  vault::BackupEntry fresh = orphan;
  fresh.name = "fresh";
  fresh.last_modified = kNow - 1 * m;
  in.backups.push_back(orphan);
  in.backups.push_back(fresh);
  in.uploads = {{"p/backups/stale/resources.tar.zst", "u1", kNow - 50 * m},
                {"p/backups/live/resources.tar.zst", "u2", kNow - 50 * m},
                {"p/backups/gone/resources.tar.zst", "u3", kNow - 50 * m},
                {"p/backups/gone/x", "u4", kNow - 5 * m}};
  PlanOptions o = Options();
  o.backups_prefix = "p/backups/";
  Plan p = MakePlan(in, o);
  EXPECT_EQ(Find(p, "stale").action, Action::kAbandon);
  EXPECT_EQ(Find(p, "stale").reason,
            "run stopped without finishing (heartbeat lost at 2026-12-01T11:44:00Z)");
  ASSERT_EQ(Find(p, "stale").uploads.size(), 1u);
  EXPECT_EQ(Find(p, "live").action, Action::kKeep);
  EXPECT_EQ(Find(p, "deleting").action, Action::kFinishDeleting);
  EXPECT_EQ(Find(p, "orphan").action, Action::kOrphan);
  EXPECT_EQ(Find(p, "fresh").action, Action::kKeep);
  ASSERT_EQ(p.uploads.size(), 1u);  // u3: stale, no live run; u2 is the live run's; u4 young
  EXPECT_EQ(p.uploads[0].upload_id, "u3");
  o.stale_after = base::Duration::zero();
  p = MakePlan(in, o);
  EXPECT_EQ(Find(p, "live").action, Action::kAbandon);
}

// A run killed after publishing its manifest leaves a complete backup whose status says
// InProgress and whose final status write may be a pending upload. Once its heartbeat is lost
// it is a successful backup for the rules (kept here by keep_last, or deleted on request) and
// its uploads are stale; with a fresh heartbeat it is a live run finishing its report.
TEST(GcPlan, ACompleteBackupWhoseRunStoppedAfterPublishingIsABackupLikeAny) {
  Inputs in;
  const auto m = std::chrono::minutes(1);
  in.backups = {Backup("older", "daily", "Completed", true, kNow - 120 * m),
                Backup("published", "daily", "InProgress", true, kNow - 60 * m),
                Backup("finishing", "plain", "InProgress", true, kNow - 60 * m)};
  in.backups[1].status->heartbeat_time = kNow - 50 * m;
  in.backups[2].status->heartbeat_time = kNow - 1 * m;
  in.uploads = {{"p/backups/published/status.json", "u1", kNow - 50 * m},
                {"p/backups/finishing/status.json", "u2", kNow - 50 * m}};
  PlanOptions o = Options();
  o.backups_prefix = "p/backups/";
  Plan p = MakePlan(in, o);
  EXPECT_EQ(Find(p, "published").action, Action::kKeep);
  EXPECT_EQ(Find(p, "published").reason,
            "keep_last; its run stopped after publishing it (heartbeat lost at "
            "2026-12-01T11:10:00Z)");
  EXPECT_EQ(Find(p, "older").action, Action::kRetention) << "the published one is the newest";
  EXPECT_EQ(Find(p, "finishing").action, Action::kKeep);
  EXPECT_EQ(Find(p, "finishing").reason, "run in progress (heartbeat 2026-12-01T11:59:00Z)");
  ASSERT_EQ(p.uploads.size(), 1u) << "the live run's upload stays";
  EXPECT_EQ(p.uploads[0].upload_id, "u1");

  o.requests = {{"cm", "published", ""}};
  p = MakePlan(in, o);
  EXPECT_EQ(Find(p, "published").action, Action::kRequest);
  ASSERT_EQ(Find(p, "published").uploads.size(), 1u) << "aborted with the backup";
  EXPECT_TRUE(p.uploads.empty());
}

TEST(GcPlan, RequestsHonouredUnlessReadOrUnknown) {
  Inputs in;
  in.backups = {Backup("a", "", "Completed", true, kNow), Backup("b", "", "Completed", true, kNow),
                Backup("c", "", "Completed", true, kNow)};
  vault::Lease l;
  l.operation = "restore";
  l.holder.id = "r1";
  l.expires = kNow + std::chrono::minutes(2);
  in.read_leases["b"] = {l};
  PlanOptions o = Options();
  o.requests = {{"cm-a", "a", ""}, {"cm-b", "b", ""}, {"cm-x", "x", ""}};
  Plan p = MakePlan(in, o);
  EXPECT_EQ(Find(p, "a").action, Action::kRequest);
  EXPECT_EQ(Find(p, "a").reason, "deletion requested by ConfigMap 'cm-a'");
  EXPECT_EQ(Find(p, "b").action, Action::kKeep);
  EXPECT_EQ(Find(p, "b").reason, "read by restore 'r1' (lease until 2026-12-01T12:02:00Z)");
  EXPECT_EQ(Find(p, "c").action, Action::kKeep);
  ASSERT_EQ(p.requests.size(), 3u);
  EXPECT_TRUE(p.requests[0].found && p.requests[0].refusal.empty());
  EXPECT_TRUE(p.requests[1].found);
  EXPECT_EQ(p.requests[1].refusal, Find(p, "b").reason);
  EXPECT_FALSE(p.requests[2].found);
  o.only_requests = true;
  o.requests = {{"", "a", ""}};
  p = MakePlan(in, o);
  ASSERT_EQ(p.backups.size(), 1u);
  EXPECT_EQ(p.backups[0].reason, "deletion requested (--delete)");
}

TEST(GcPlan, UnknownPolicyWarnsAndAbandonedRestores) {
  Inputs in;
  in.backups = {Backup("x", "gone", "Completed", true, kNow)};
  vault::RunStatus r;
  r.kind = "Restore";
  r.name = "r1";
  r.phase = "InProgress";
  r.heartbeat_time = kNow - std::chrono::hours(1);
  in.restores = {r};
  Plan p = MakePlan(in, Options());
  EXPECT_EQ(Find(p, "x").action, Action::kKeep);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0],
            "policy 'gone' is not defined in the config: its backups are governed by TTL only");
  ASSERT_EQ(p.restores.size(), 1u);
  EXPECT_EQ(p.restores[0].name, "r1");
}

TEST(GcPlan, PrintsEveryDecisionAndASummary) {
  Inputs in;
  const auto day = std::chrono::hours(24);
  in.backups = {Backup("d-1", "daily", "Completed", true, At("2026-11-28T00:00:00Z")),
                Backup("d-2", "daily", "Completed", true, At("2026-11-29T00:00:00Z")),
                Backup("m", "", "Completed", true, kNow - 40 * day, kNow - day)};
  std::string text = FormatPlan(MakePlan(in, Options()));
  EXPECT_NE(text.find("  EXPIRE  m  2026-10-22T12:00:00Z  (manual)  Completed  TTL expired at "
                      "2026-11-30T12:00:00Z\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  DELETE  d-1  2026-11-28T00:00:00Z  policy daily  Completed  not kept "
                      "by retention (keep_last=1)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  KEEP    d-2  2026-11-29T00:00:00Z  policy daily  Completed  keep_last\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("3 backups: 1 kept, 2 to delete (1 expired, 1 by retention, 0 requested"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace cairn::ops::gc
