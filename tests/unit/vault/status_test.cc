#include "vault/status.h"

#include <gtest/gtest.h>

#include <string>

#include "store/memory/memory_store.h"
#include "test_support.h"

namespace cairn::vault {
namespace {

using base::Code;
using vaulttest::At;
using vaulttest::ReadFixture;

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(StatusTest, GoldenBackupStatusRoundTrips) {
  const std::string golden = ReadFixture("status-backup-v1.json");
  ASSERT_FALSE(golden.empty());
  auto s = ParseRunStatus(golden, "backups/shop-nightly-20261121044800/status.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->api_version, "cairn.io/v1");
  EXPECT_EQ(s->kind, kKindBackup);
  EXPECT_EQ(s->name, "shop-nightly-20261121044800");
  EXPECT_EQ(s->vault, "primary");
  EXPECT_EQ(s->policy, "shop-nightly");
  EXPECT_EQ(s->phase, kPhasePartiallyFailed);
  EXPECT_EQ(s->start_time, At("2026-11-21T04:48:00Z"));
  EXPECT_EQ(s->heartbeat_time, At("2026-11-21T04:52:14Z"));
  EXPECT_EQ(s->completion_time, At("2026-11-21T04:52:14Z"));
  EXPECT_DOUBLE_EQ(s->duration_seconds, 254.412);
  EXPECT_EQ(s->job.namespace_name, "cairn-system");
  EXPECT_EQ(s->job.cronjob, "shop-nightly");
  EXPECT_EQ(s->counts.at("objects"), 412);
  EXPECT_EQ(s->sizes.at("logicalBytes"), 2149568351);
  EXPECT_EQ(s->errors.count, 2);
  EXPECT_EQ(s->errors.by_scope.at("namespace/shop"), 2);
  ASSERT_EQ(s->errors.items.size(), 2u);
  EXPECT_EQ(s->errors.items[0].object, "widgets.example.com/v1");
  EXPECT_EQ(s->errors.items[1].object, "");
  EXPECT_EQ(s->warnings.count, 3);
  EXPECT_TRUE(s->checks.empty());
  EXPECT_FALSE(s->last_validated.has_value());
  EXPECT_TRUE(s->extra.empty());
  EXPECT_EQ(ToJson(*s), golden);
}

TEST(StatusTest, GoldenVaultCheckStatusRoundTrips) {
  const std::string golden = ReadFixture("status-vaultcheck-v1.json");
  auto s = ParseRunStatus(golden, "vault-status.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->kind, kKindVaultCheck);
  EXPECT_EQ(s->phase, kPhaseAvailable);
  EXPECT_EQ(s->policy, "");
  ASSERT_EQ(s->checks.size(), 7u);
  EXPECT_EQ(s->checks[0].name, "vault-info");
  EXPECT_EQ(s->checks[0].result, kCheckPassed);
  EXPECT_EQ(s->checks[0].duration_ms, 41);
  EXPECT_EQ(s->checks[5].result, kCheckWarning);
  EXPECT_EQ(s->checks[6].result, kCheckSkipped);
  EXPECT_EQ(s->last_validated, At("2026-11-21T05:00:02Z"));
  EXPECT_EQ(s->errors.count, 0);
  EXPECT_TRUE(s->errors.items.empty());
  EXPECT_EQ(ToJson(*s), golden);
}

TEST(StatusTest, NewStatusHasEveryRequiredMember) {
  RunStatus s;
  s.kind = std::string(kKindRestore);
  s.name = "r1";
  s.backup = "b1";
  s.start_time = s.heartbeat_time = At("2026-11-21T04:48:00Z");
  s.duration_seconds = 1.23456;
  const std::string json = ToJson(s);
  for (const char* member :
       {"\"apiVersion\": \"cairn.io/v1\"", "\"phase\": \"InProgress\"", "\"vault\": \"\"",
        "\"policy\": \"\"", "\"message\": \"\"", "\"backup\": \"b1\"", "\"durationSeconds\": 1.235",
        "\"cronjob\": \"\"", "\"counts\": {}", "\"sizes\": {}", "\"byScope\": {}",
        "\"items\": []"}) {
    EXPECT_TRUE(Contains(json, member)) << member << "\n" << json;
  }
  EXPECT_FALSE(Contains(json, "completionTime"));
  EXPECT_FALSE(Contains(json, "checks"));
  EXPECT_FALSE(Contains(json, "lastValidated"));
  EXPECT_EQ(json.back(), '\n');
  auto back = ParseRunStatus(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), json);
}

TEST(StatusTest, ErrorsAreCountedInFullButCapped) {
  RunStatus s;
  for (int i = 0; i < 120; ++i) {
    s.AddError(
        i % 3 == 0 ? std::string(kScopeRunner) : NamespaceScope("ns" + std::to_string(i % 2)),
        "error " + std::to_string(i), i % 2 ? "pods/p" + std::to_string(i) : "");
  }
  s.AddWarning(kScopeCluster, "skipped something");
  EXPECT_EQ(s.errors.count, 120);
  ASSERT_EQ(s.errors.items.size(), kMaxIssueItems);
  EXPECT_EQ(s.errors.items.front().message, "error 0");
  EXPECT_EQ(s.errors.items.back().message, "error 49");
  int64_t sum = 0;
  for (const auto& [scope, n] : s.errors.by_scope) sum += n;
  EXPECT_EQ(sum, 120);
  EXPECT_EQ(s.errors.by_scope.at("runner"), 40);
  EXPECT_EQ(s.warnings.count, 1);
  EXPECT_EQ(s.warnings.by_scope.at("cluster"), 1);

  s.name = "b";
  s.kind = "Backup";
  auto back = ParseRunStatus(ToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->errors.count, 120);
  EXPECT_EQ(back->errors.items.size(), kMaxIssueItems);
}

TEST(StatusTest, ScopesBeyondTheLimitAreCountedAsOther) {
  IssueList list;
  for (int i = 0; i < 150; ++i) list.Add(NamespaceScope("ns" + std::to_string(i)), "m");
  list.Add(NamespaceScope("ns3"), "known scope keeps its own count");
  list.Add(NamespaceScope("ns149"), "overflowed scope stays in other");
  EXPECT_EQ(list.count, 152);
  EXPECT_EQ(list.by_scope.size(), kMaxIssueScopes + 1);
  EXPECT_EQ(list.by_scope.at("other"), 51);
  EXPECT_EQ(list.by_scope.at("namespace/ns3"), 2);
}

TEST(StatusTest, LongTextIsCutAtACharacterBoundary) {
  IssueList list;
  std::string message;
  while (message.size() < 5000) message += "é€";  // 2- and 3-byte characters
  list.Add(kScopeRunner, message, std::string(2000, 'o'));
  const Issue& i = list.items[0];
  EXPECT_LE(i.message.size(), kMaxIssueTextBytes);
  EXPECT_GE(i.message.size(), kMaxIssueTextBytes - 6);
  EXPECT_EQ(i.message.substr(i.message.size() - 3), "...");
  EXPECT_TRUE(IsValidUtf8(i.message));
  EXPECT_EQ(i.object.size(), kMaxIssueTextBytes);
  list.Add(kScopeRunner, "short");
  EXPECT_EQ(list.items[1].message, "short");
}

TEST(StatusTest, InvalidUtf8IsReplacedOnWrite) {
  RunStatus s;
  s.kind = "Backup";
  s.name = "b";
  s.AddError(kScopeRunner, "server said \xff\xfe");
  const std::string json = ToJson(s);
  EXPECT_TRUE(IsValidUtf8(json));
  auto back = ParseRunStatus(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->errors.items[0].message, "server said \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(StatusTest, UnknownFieldsArePreserved) {
  std::string json = ReadFixture("status-vaultcheck-v1.json");
  auto insert_after = [&](std::string_view anchor, std::string_view text) {
    size_t at = json.find(anchor);
    ASSERT_NE(at, std::string::npos) << anchor;
    json.insert(at + anchor.size(), text);
  };
  insert_after("{\n", "  \"zFuture\": {\"nested\": [1, 2.5, \"x\", null]},\n");
  insert_after("\"job\": {\n", "    \"node\": \"node-3\",\n");
  insert_after("\"count\": 1,\n", "    \"firstAt\": \"2026-11-21T05:00:01Z\",\n");
  insert_after("\"durationMs\": 41,\n", "      \"attempts\": 2,\n");
  insert_after("\"items\": [\n      {\n        ", "\"code\": \"SKEW\",\n        ");
  auto s = ParseRunStatus(json);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->extra.at("zFuture"), "{\"nested\":[1,2.5,\"x\",null]}");
  EXPECT_EQ(s->job.extra.at("node"), "\"node-3\"");
  EXPECT_EQ(s->warnings.extra.at("firstAt"), "\"2026-11-21T05:00:01Z\"");
  EXPECT_EQ(s->warnings.items[0].extra.at("code"), "\"SKEW\"");
  EXPECT_EQ(s->checks[0].extra.at("attempts"), "2");

  const std::string out = ToJson(*s);
  EXPECT_TRUE(Contains(out, "\"zFuture\": {\n    \"nested\": [\n      1,\n      2.5,"));
  EXPECT_TRUE(Contains(out, "\"node\": \"node-3\""));
  EXPECT_TRUE(Contains(out, "\"firstAt\": \"2026-11-21T05:00:01Z\""));
  EXPECT_TRUE(Contains(out, "\"code\": \"SKEW\""));
  EXPECT_TRUE(Contains(out, "\"attempts\": 2"));
  auto again = ParseRunStatus(out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ToJson(*again), out);
}

TEST(StatusTest, NewerApiVersionIsRefused) {
  auto s = ParseRunStatus("{\"apiVersion\": \"cairn.io/v2\", \"kind\": \"Backup\"}",
                          "backups/b/status.json");
  EXPECT_EQ(s.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.status().message(), "newer than this cairn understands"));
  EXPECT_EQ(ParseRunStatus("{\"apiVersion\": \"v1\"}").status().code(), Code::kDataLoss);
  EXPECT_EQ(ParseRunStatus("{\"apiVersion\": \"cairn.io/v01\"}").status().code(), Code::kDataLoss);
}

// A run claims its name by creating its status: the second run with the name gets
// AlreadyExists and the first run's status is untouched.
TEST(StatusTest, CreateStatusClaimsTheKeyOnce) {
  store::MemoryStore store;
  RunStatus first;
  first.kind = "Backup";
  first.name = "b";
  first.extra["runId"] = "\"run-1\"";
  RunStatus second = first;
  second.extra["runId"] = "\"run-2\"";
  ASSERT_TRUE(CreateStatus(store, "backups/b/status.json", first).ok());
  EXPECT_EQ(CreateStatus(store, "backups/b/status.json", second).code(), Code::kAlreadyExists);
  EXPECT_EQ(ReadStatus(store, "backups/b/status.json")->extra.at("runId"), "\"run-1\"");
}

TEST(StatusTest, MalformedStatusIsDataLoss) {
  const std::string golden = ReadFixture("status-backup-v1.json");
  auto replaced = [&](std::string_view from, std::string_view to) {
    std::string s = golden;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  for (const std::string& bad : {
           std::string("not json"),
           std::string("[]"),
           replaced("\"startTime\"", "\"beginTime\""),
           replaced("\"2026-11-21T04:48:00Z\"", "\"2026-11-21 04:48\""),
           replaced("\"phase\": \"PartiallyFailed\"", "\"phase\": 3"),
           replaced("\"objects\": 412", "\"objects\": \"many\""),
           replaced("\"count\": 2", "\"count\": 2.5"),
           replaced("\"name\": \"shop-nightly-20261121044800\"", "\"name\": \"\""),
       }) {
    auto s = ParseRunStatus(bad);
    EXPECT_EQ(s.status().code(), Code::kDataLoss) << bad;
  }
}

TEST(StatusTest, WriteAndReadThroughAStore) {
  store::MemoryStore store;
  RunStatus s;
  s.kind = "Backup";
  s.name = "b1";
  s.start_time = s.heartbeat_time = At("2026-11-21T04:48:00Z");
  ASSERT_TRUE(WriteStatus(store, "p/backups/b1/status.json", s).ok());
  s.phase = std::string(kPhaseCompleted);
  s.completion_time = At("2026-11-21T04:50:00Z");
  ASSERT_TRUE(WriteStatus(store, "p/backups/b1/status.json", s).ok());  // overwrite
  auto back = ReadStatus(store, "p/backups/b1/status.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->phase, "Completed");
  EXPECT_EQ(ReadStatus(store, "p/backups/none/status.json").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace cairn::vault
