#include "report/metrics.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../http/scripted_server.h"
#include "report/metrics_catalog.h"

namespace cairn::report {
namespace {

using namespace std::chrono_literals;

TEST(Exposition, EscapesLabelValuesAndHelpAndWritesHelpTypeOnce) {
  MetricSet m;
  m.Gauge("cairn_x", "a \\ help\nline", {{"reason", "say \"hi\"\\\nnext"}}, 0.5);
  m.Gauge("cairn_x", "ignored", {{"reason", "b"}}, 3);
  EXPECT_EQ(Exposition(m),
            "# HELP cairn_x a \\\\ help\\nline\n"
            "# TYPE cairn_x gauge\n"
            "cairn_x{reason=\"say \\\"hi\\\"\\\\\\nnext\"} 0.5\n"
            "cairn_x{reason=\"b\"} 3\n");
}

TEST(Exposition, FormatsValuesAsPrometheusReadsThem) {
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(1764660000.25), "1764660000.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
}

TEST(Exposition, HistogramIsCumulativeWithInfSumAndCount) {
  MetricSet m;
  m.Histogram("h", "durations", {{"policyName", "p"}}, {15, 60}, {10, 20, 100});
  EXPECT_EQ(Exposition(m),
            "# HELP h durations\n# TYPE h histogram\n"
            "h_bucket{policyName=\"p\",le=\"15\"} 1\n"
            "h_bucket{policyName=\"p\",le=\"60\"} 2\n"
            "h_bucket{policyName=\"p\",le=\"+Inf\"} 3\n"
            "h_sum{policyName=\"p\"} 130\n"
            "h_count{policyName=\"p\"} 3\n");
}

TEST(GroupingPath, EncodesValuesAndUsesBase64ForSlashesAndEmpty) {
  EXPECT_EQ(GroupingPath("cairn-backup", {{"vault", "main"}, {"policy", "_manual"}}),
            "/metrics/job/cairn-backup/vault/main/policy/_manual");
  EXPECT_EQ(GroupingPath("cairn-backup", {{"vault", "a b%"}}),
            "/metrics/job/cairn-backup/vault/a%20b%25");
  // URL-safe base64 of "a/b?" is YS9iPw== ; of "??>" is Pz8- (the '-' of the safe alphabet).
  EXPECT_EQ(GroupingPath("j", {{"vault", "a/b?"}}), "/metrics/job/j/vault@base64/YS9iPw==");
  EXPECT_EQ(GroupingPath("j", {{"v", "/?\?>"}}), "/metrics/job/j/v@base64/Lz8_Pg==");
  EXPECT_EQ(GroupingPath("j", {{"v", ""}}), "/metrics/job/j/v@base64/=");
}

TEST(Textfile, WrittenAtomicallyAndFailureIsAnError) {
  const auto dir = std::filesystem::temp_directory_path() / "cairn-metrics-textfile-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "cairn.prom").string();
  ASSERT_TRUE(WriteTextfile(path, "a 1\n").ok());
  ASSERT_TRUE(WriteTextfile(path, "a 2\n").ok());
  std::ifstream f(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f), {}), "a 2\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);  // no temp left
  EXPECT_FALSE(WriteTextfile((dir / "missing" / "x.prom").string(), "a 1\n").ok());
  std::filesystem::remove_all(dir);
}

TEST(Deliver, AnUnreachablePushgatewayIsAWarningWithinTheDeadline) {
  MetricsTarget t;
  t.pushgateway = "http://127.0.0.1:1";
  t.push_deadline = 1500ms;
  MetricSet m;
  m.Gauge("a", "b", {}, 1);
  const auto start = std::chrono::steady_clock::now();
  auto w = Deliver(t, "cairn-backup", {{"vault", "v"}}, m);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("unable to push metrics"), std::string::npos) << w[0];
}

TEST(Deliver, AMissingTokenFileIsAWarning) {
  MetricsTarget t;
  t.pushgateway = "http://127.0.0.1:1";
  t.bearer_token_file = "/nonexistent/token";
  MetricSet m;
  auto w = Deliver(t, "cairn-backup", {}, m);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("bearer token file '/nonexistent/token'"), std::string::npos) << w[0];
}

// The credentials come from files, trimmed of the trailing newline a Secret file often has, and
// reach the Pushgateway as standard Authorization headers.
TEST(Push, SendsBasicAndBearerAuthFromFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "cairn-push-auth-test";
  std::filesystem::create_directories(dir);
  const std::string basic = (dir / "basic").string(), bearer = (dir / "token").string();
  std::ofstream(basic) << "ops:s3cr3t?\n";
  std::ofstream(bearer) << "tok-123\n";
  testing::ScriptedServer server({testing::Reply(200), testing::Reply(200)});
  ASSERT_TRUE(server.ok());
  MetricsTarget t;
  t.pushgateway = server.url() + "/";
  t.basic_auth_file = basic;
  ASSERT_TRUE(Push(t, "cairn-gc", {{"vault", "v"}}, "a 1\n").ok());
  t.basic_auth_file.clear();
  t.bearer_token_file = bearer;
  ASSERT_TRUE(Push(t, "cairn-gc", {{"vault", "v"}}, "a 1\n").ok());
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].rfind("PUT /metrics/job/cairn-gc/vault/v HTTP/1.1\r\n", 0), 0u)
      << requests[0];
  EXPECT_NE(requests[0].find("Authorization: Basic b3BzOnMzY3IzdD8=\r\n"), std::string::npos)
      << requests[0];
  EXPECT_NE(requests[1].find("Authorization: Bearer tok-123\r\n"), std::string::npos)
      << requests[1];
  std::filesystem::remove_all(dir);
}

TEST(Push, ARejectedPushNamesTheStatusButNoCredential) {
  const auto dir = std::filesystem::temp_directory_path() / "cairn-push-reject-test";
  std::filesystem::create_directories(dir);
  const std::string basic = (dir / "basic").string();
  std::ofstream(basic) << "ops:s3cr3t";
  testing::ScriptedServer server({testing::Reply(401, {}, "Unauthorized\n")});
  ASSERT_TRUE(server.ok());
  MetricsTarget t;
  t.pushgateway = server.url();
  t.basic_auth_file = basic;
  base::Status st = Push(t, "cairn-gc", {{"vault", "v"}}, "a 1\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("HTTP 401: Unauthorized"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("s3cr3t"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("b3BzOnMzY3IzdA"), std::string::npos) << st.message();
  std::filesystem::remove_all(dir);
}

vault::BackupEntry Entry(const std::string& name, std::string_view phase, const std::string& policy,
                         int minute, bool complete) {
  vault::BackupEntry e;
  e.name = name;
  e.phase = phase;
  e.complete = complete;
  e.created = base::TimePoint(std::chrono::minutes(minute));
  vault::RunStatus st;
  st.kind = "Backup";
  st.name = name;
  st.policy = policy;
  st.phase = phase;
  st.start_time = e.created;
  st.completion_time = e.created + 30s;
  st.duration_seconds = 30;
  if (phase != vault::kPhaseCompleted) st.AddError("runner", "boom at " + name + "\nmore");
  e.status = st;
  return e;
}

double Value(const MetricSet& m, const std::string& name, const Labels& want = {}) {
  for (const auto& f : m.families()) {
    for (const auto& s : f.samples) {
      if (f.name + s.suffix != name) continue;
      bool match = true;
      for (const auto& l : want) {
        match &= std::find(s.labels.begin(), s.labels.end(), l) != s.labels.end();
      }
      if (match) return s.value;
    }
  }
  return -1;
}

TEST(BackupMetrics, AFailedRunKeepsTheLastSuccessFromTheCatalog) {
  std::vector<vault::BackupEntry> catalog = {
      Entry("p-1", vault::kPhaseCompleted, "p", 10, true),
      Entry("p-2", vault::kPhaseCompleted, "p", 20, true),
      Entry("other-1", vault::kPhaseCompleted, "other", 40, true),
      Entry("p-3", vault::kPhaseInProgress, "p", 50, false),
  };
  vault::RunStatus run = *Entry("p-3", vault::kPhaseFailed, "p", 50, false).status;
  BackupFacts f;
  f.vault = "v";
  f.policy = "p";
  f.schedule_interval = 3600;
  MetricSet m = BackupMetrics(f, run, catalog);
  EXPECT_EQ(Value(m, "cairn_backup_last_status"), 0);
  EXPECT_EQ(Value(m, "cairn_backup_last_success_timestamp_seconds"), 20 * 60 + 30);
  EXPECT_EQ(Value(m, "cairn_backup_runs", {{"phase", "Completed"}}), 2);
  EXPECT_EQ(Value(m, "cairn_backup_runs", {{"phase", "Failed"}}), 1);
  EXPECT_EQ(Value(m, "cairn_backup_runs", {{"phase", "InProgress"}}), 0);
  EXPECT_EQ(Value(m, "cairn_backup_failure_info",
                  {{"backup", "p-3"}, {"reason", "boom at p-3"}, {"policy", "p"}}),
            1);
  EXPECT_EQ(Value(m, "kubedr_num_backups", {{"policyName", "p"}}), 3);
  EXPECT_EQ(Value(m, "kubedr_num_failed_backups"), 1);
  EXPECT_EQ(Value(m, "kubedr_backup_duration_seconds_bucket", {{"le", "30"}}), 3);
  EXPECT_EQ(Value(m, "cairn_backup_schedule_interval_seconds"), 3600);
}

TEST(GcMetrics, DeletionsFreedBytesAndReapedRunsOfTheRun) {
  vault::RunStatus run;
  run.phase = std::string(vault::kPhaseCompleted);
  run.counts = {{"expired", 2},       {"deletedByRetention", 3}, {"deletedByRequest", 1},
                {"abandonedRuns", 1}, {"uploadsAborted", 4},     {"kept", 9}};
  run.sizes = {{"freedBytes", 12345}};
  MetricSet m = GcMetrics("v", run);
  EXPECT_EQ(Value(m, "cairn_gc_last_status"), 1);
  EXPECT_EQ(Value(m, "cairn_gc_last_deleted_backups"), 6);
  EXPECT_EQ(Value(m, "cairn_gc_last_freed_bytes"), 12345);
  EXPECT_EQ(Value(m, "cairn_gc_last_reaped_runs"), 1);
  EXPECT_EQ(Value(m, "cairn_gc_last_aborted_uploads"), 4);
  run.phase = std::string(vault::kPhaseFailed);
  EXPECT_EQ(Value(GcMetrics("v", run), "cairn_gc_last_status"), 0);
}

TEST(BackupMetrics, FailureInfoIsBoundedToTheMostRecent) {
  std::vector<vault::BackupEntry> catalog;
  for (int i = 0; i < 15; ++i) {
    catalog.push_back(Entry("m-" + std::to_string(i), vault::kPhaseFailed, "", i, false));
  }
  vault::RunStatus run = *Entry("m-15", vault::kPhasePartiallyFailed, "", 15, true).status;
  BackupFacts f;
  f.vault = "v";
  f.failure_limit = 3;
  MetricSet m = BackupMetrics(f, run, catalog);
  std::vector<std::string> names;
  for (const auto& fam : m.families()) {
    if (fam.name != "cairn_backup_failure_info") continue;
    for (const auto& s : fam.samples) {
      for (const auto& [k, v] : s.labels) {
        if (k == "backup") names.push_back(v);
        if (k == "policy") {
          EXPECT_EQ(v, "_manual");
        }
      }
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"m-15", "m-14", "m-13"}));
  EXPECT_EQ(Value(m, "cairn_backup_last_status"), 0.5);
  EXPECT_EQ(Value(m, "cairn_backup_last_success_timestamp_seconds"), -1);  // never succeeded
}

TEST(ShortReason, FirstLineCutOnACharacterBoundary) {
  vault::RunStatus st;
  st.message = std::string(119, 'a') + "é and more";
  EXPECT_EQ(ShortReason(st), std::string(119, 'a'));
}

}  // namespace
}  // namespace cairn::report
