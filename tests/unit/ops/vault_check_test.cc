#include "ops/vault_check/vault_check.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "faulty_store.h"
#include "store/memory/memory_store.h"
#include "vault/vault_info.h"

namespace cairn::ops::vault_check {
namespace {

using base::Code;
using base::Status;
using opstest::FaultyStore;
using std::chrono::minutes;
using std::chrono::seconds;

using Results = std::vector<std::pair<std::string, std::string>>;  // check name, result

base::TimePoint At(std::string_view rfc3339) { return base::ParseRfc3339(rfc3339).value(); }

Results ResultsOf(const vault::RunStatus& st) {
  Results out;
  for (const auto& k : st.checks) out.emplace_back(k.name, k.result);
  return out;
}

const vault::Check& CheckNamed(const vault::RunStatus& st, std::string_view name) {
  for (const auto& k : st.checks) {
    if (k.name == name) return k;
  }
  ADD_FAILURE() << "no check named " << name;
  static const vault::Check kNone;
  return kNone;
}

bool StartsWith(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }
bool Has(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::vector<std::string> Keys(store::ObjectStore& store, const std::string& prefix = "") {
  std::vector<std::string> keys;
  auto listed = store.ListAll({prefix, "", 1000});
  EXPECT_TRUE(listed.ok()) << listed.status().ToString();
  if (!listed.ok()) return keys;
  for (const auto& o : *listed) keys.push_back(o.key);
  return keys;
}

constexpr std::string_view kUnreachable =
    "unable to list 'cairn/' in bucket 'b': tcp connect failed (connect to 10.0.0.9 port 9000 "
    "failed: connection refused)";
constexpr std::string_view kNoSuchBucket =
    "unable to list 'cairn/' in bucket 'b': s3: service returned error: StatusCode=404, "
    "ErrorCode=NoSuchBucket, ErrorMessage=\"The specified bucket does not exist\", RequestId=r1";
constexpr std::string_view kBadSignature =
    "unable to list 'cairn/' in bucket 'b': s3: service returned error: StatusCode=403, "
    "ErrorCode=SignatureDoesNotMatch, ErrorMessage=\"The request signature we calculated does "
    "not match the signature you provided\", RequestId=r2";
constexpr std::string_view kSkewed =
    "unable to list 'cairn/' in bucket 'b': s3: service returned error: StatusCode=403, "
    "ErrorCode=RequestTimeTooSkewed, ErrorMessage=\"The difference between the request time and "
    "the server's time is too large\", RequestId=r3";

class VaultCheckTest : public ::testing::Test {
 protected:
  VaultCheckTest() : clock_(At("2026-11-21T04:48:00Z")), store_(clock_) {
    opts_.vault_name = "prod";
    opts_.created_by = "cairn 0.1.0";
  }

  vault::RunStatus Check(const vault::RunStatus* previous = nullptr) {
    return vault_check::Run(store_, layout_, opts_, clock_, previous);
  }

  base::FakeClock clock_;
  FaultyStore store_;
  vault::Layout layout_{""};
  Options opts_;
};

const Results kAllPassed = {
    {"endpoint", "passed"},     {"bucket", "passed"},        {"credentials", "passed"},
    {"vault-format", "passed"}, {"write", "passed"},         {"read", "passed"},
    {"list", "passed"},         {"delete", "passed"},        {"conditional-create", "passed"},
    {"clock-skew", "passed"},   {"storage-class", "passed"}, {"foreign-prefixes", "passed"},
};

// Every check after a failed listing: nothing else can be tried. `access` is what the listing
// reported (endpoint, bucket, credentials, and clock-skew when the server said so).
Results Unreached(Results access) {
  Results r = std::move(access);
  bool skew_reported = r.back().first == "clock-skew";
  for (const char* name :
       {"vault-format", "write", "read", "list", "delete", "conditional-create"}) {
    r.emplace_back(name, "skipped");
  }
  if (!skew_reported) r.emplace_back("clock-skew", "skipped");
  r.emplace_back("storage-class", "skipped");
  return r;
}

TEST_F(VaultCheckTest, HealthyEmptyVaultWithInit) {
  opts_.init = true;
  store_.clock_skew = seconds(0);
  clock_.Advance(seconds(1));  // the status must carry the clock's time, not the start's
  const base::TimePoint now = clock_.Now();
  vault::RunStatus st = Check();

  EXPECT_EQ(st.kind, "VaultCheck");
  EXPECT_EQ(st.name, "prod");
  EXPECT_EQ(st.vault, "prod");
  EXPECT_EQ(st.phase, "Available");
  EXPECT_EQ(st.message, "backup vault is available");
  EXPECT_EQ(ResultsOf(st), kAllPassed);
  EXPECT_EQ(st.errors.count, 0);
  EXPECT_EQ(st.warnings.count, 0);
  EXPECT_EQ(st.start_time, now);
  EXPECT_EQ(st.completion_time, now);
  EXPECT_EQ(st.last_validated, now);
  EXPECT_EQ(st.counts.at("backups"), 0);

  // cairn-vault.json was created, and it is the only object left (no probes).
  EXPECT_EQ(Keys(store_), std::vector<std::string>{"cairn-vault.json"});
  auto info = vault::ReadVaultInfo(store_, layout_);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->format_version, "1.0");
  EXPECT_EQ((*info)->created, now);
  EXPECT_EQ((*info)->created_by, "cairn 0.1.0");

  EXPECT_EQ(CheckNamed(st, "endpoint").message, "reachable: memory://");
  EXPECT_EQ(CheckNamed(st, "bucket").message, "exists");
  EXPECT_EQ(CheckNamed(st, "credentials").message, "accepted (listing allowed)");
  EXPECT_EQ(CheckNamed(st, "vault-format").message,
            "initialised: format 1.0, vault id " + (*info)->vault_id);
  const std::string& wrote = CheckNamed(st, "write").message;
  EXPECT_TRUE(StartsWith(wrote, "wrote 1048 bytes to .cairn-probe/")) << wrote;
  EXPECT_EQ(wrote.size(), std::string("wrote 1048 bytes to .cairn-probe/").size() + 16) << wrote;
  EXPECT_EQ(CheckNamed(st, "read").message, "read back 1048 identical bytes");
  EXPECT_EQ(CheckNamed(st, "list").message, "probe object listed");
  EXPECT_EQ(CheckNamed(st, "delete").message, "probe object deleted");
  EXPECT_EQ(CheckNamed(st, "conditional-create").message,
            "a second create of the same key is refused");
  EXPECT_EQ(CheckNamed(st, "clock-skew").message, "server clock differs from ours by 0s");
  EXPECT_EQ(CheckNamed(st, "storage-class").message, "objects are stored as STANDARD");
  EXPECT_EQ(CheckNamed(st, "foreign-prefixes").message, "only cairn data under the prefix");
  for (const auto& k : st.checks) EXPECT_EQ(k.duration_ms, 0) << k.name;  // fake clock
}

TEST_F(VaultCheckTest, PlainMemoryStoreUnderAPrefixSkipsOnlyClockSkew) {
  store::MemoryStore mem(clock_);
  vault::Layout layout("team/prod");
  opts_.init = true;
  vault::RunStatus st = vault_check::Run(mem, layout, opts_, clock_);
  Results want = kAllPassed;
  want[9].second = "skipped";
  EXPECT_EQ(ResultsOf(st), want);
  EXPECT_EQ(CheckNamed(st, "clock-skew").message, "the store has no remote clock");
  EXPECT_TRUE(
      StartsWith(CheckNamed(st, "write").message, "wrote 1048 bytes to team/prod/.cairn-probe/"));
  EXPECT_EQ(st.phase, "Available");
  EXPECT_EQ(Keys(mem), std::vector<std::string>{"team/prod/cairn-vault.json"});
}

TEST_F(VaultCheckTest, ExistingVaultIsReadNotRewritten) {
  vault::VaultInfo info;
  info.vault_id = "3f2c8a51-7d4e-4b9a-9c1e-5a6b7c8d9e0f";
  info.created = At("2026-11-20T09:15:02Z");
  info.created_by = "cairn 0.0.9";
  const std::string doc = vault::ToJson(info);
  ASSERT_TRUE(store_.inner().Put("cairn-vault.json", doc, {}).ok());
  ASSERT_TRUE(store_.inner().Put("backups/a/manifest.json", "{}", {}).ok());
  ASSERT_TRUE(store_.inner().Put("backups/b/status.json", "{}", {}).ok());
  opts_.init = true;
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Available");
  EXPECT_EQ(CheckNamed(st, "vault-format").result, "passed");
  EXPECT_EQ(CheckNamed(st, "vault-format").message,
            "format 1.0, vault id 3f2c8a51-7d4e-4b9a-9c1e-5a6b7c8d9e0f");
  EXPECT_EQ(st.counts.at("formatMajor"), 1);
  EXPECT_EQ(st.counts.at("backups"), 2);
  EXPECT_EQ(CheckNamed(st, "foreign-prefixes").result, "passed");
  EXPECT_EQ(store_.inner().GetAll("cairn-vault.json").value(), doc);
}

TEST_F(VaultCheckTest, UninitialisedWithoutInitWarns) {
  vault::RunStatus st = Check();
  const std::string want =
      "vault is not initialised (no cairn-vault.json): run vault-check --init, or the first "
      "backup-run initialises it";
  EXPECT_EQ(st.phase, "Available");
  EXPECT_EQ(CheckNamed(st, "vault-format").result, "warning");
  EXPECT_EQ(CheckNamed(st, "vault-format").message, want);
  EXPECT_EQ(st.errors.count, 0);
  ASSERT_EQ(st.warnings.count, 1);
  ASSERT_EQ(st.warnings.items.size(), 1u);
  EXPECT_EQ(st.warnings.items[0].scope, "runner");
  EXPECT_EQ(st.warnings.items[0].message, want);
  EXPECT_EQ(st.last_validated, clock_.Now());
  EXPECT_TRUE(Keys(store_).empty());  // nothing written but the (deleted) probes
}

TEST_F(VaultCheckTest, UnreachableEndpoint) {
  store_.list_error = Status(Code::kUnavailable, std::string(kUnreachable));
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  EXPECT_EQ(ResultsOf(st),
            Unreached({{"endpoint", "failed"}, {"bucket", "skipped"}, {"credentials", "skipped"}}));
  EXPECT_EQ(CheckNamed(st, "endpoint").message, kUnreachable);
  EXPECT_EQ(CheckNamed(st, "bucket").message, "endpoint unreachable");
  EXPECT_EQ(CheckNamed(st, "credentials").message, "endpoint unreachable");
  EXPECT_EQ(CheckNamed(st, "clock-skew").message, "no successful listing");
  EXPECT_TRUE(StartsWith(st.message,
                         "backup vault is unavailable: unable to list 'cairn/' in bucket "
                         "'b': tcp connect failed"));
  EXPECT_EQ(st.message, "backup vault is unavailable: " + std::string(kUnreachable));
  ASSERT_EQ(st.errors.count, 1);
  EXPECT_EQ(st.errors.items[0].scope, "runner");
  EXPECT_EQ(st.errors.items[0].message, "endpoint: " + std::string(kUnreachable));
  EXPECT_FALSE(st.last_validated.has_value());
  EXPECT_EQ(FailureLine(st), "VaultError: " + st.message);
  EXPECT_FALSE(st.counts.count("backups"));
}

TEST_F(VaultCheckTest, BareTransportMessageIsTheEndpoint) {
  // The brief's own form: the message starts with the transport failure.
  store_.list_error = Status(Code::kUnavailable, "tcp connect failed (connection refused)");
  vault::RunStatus st = Check();
  EXPECT_EQ(CheckNamed(st, "endpoint").result, "failed");
  EXPECT_TRUE(StartsWith(st.message, "backup vault is unavailable: tcp connect failed"));
  EXPECT_EQ(FailureLine(st),
            "VaultError: backup vault is unavailable: tcp connect failed (connection refused)");
}

TEST_F(VaultCheckTest, MissingBucket) {
  store_.list_error = Status(Code::kNotFound, std::string(kNoSuchBucket));
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  EXPECT_EQ(ResultsOf(st),
            Unreached({{"endpoint", "passed"}, {"bucket", "failed"}, {"credentials", "skipped"}}));
  EXPECT_EQ(CheckNamed(st, "bucket").message, kNoSuchBucket);
  EXPECT_EQ(CheckNamed(st, "credentials").message, "bucket missing");
  EXPECT_EQ(st.message, "backup vault is unavailable: " + std::string(kNoSuchBucket));
  EXPECT_EQ(st.errors.count, 1);
}

TEST_F(VaultCheckTest, OverloadedServiceIsTheEndpointNotTheBucket) {
  const std::string slow =
      "unable to list 'p/*' in bucket 'b': s3: service returned error: StatusCode=503, "
      "ErrorCode=SlowDown, ErrorMessage=\"\", RequestId=r (after 6 attempts)";
  store_.list_error = Status(Code::kUnavailable, slow);
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  EXPECT_EQ(ResultsOf(st),
            Unreached({{"endpoint", "failed"}, {"bucket", "skipped"}, {"credentials", "skipped"}}));
  EXPECT_EQ(CheckNamed(st, "bucket").message, "service unavailable");
}

TEST_F(VaultCheckTest, HintsReachTheCheckMessage) {
  store_.list_error =
      Status(Code::kNotFound, std::string(kNoSuchBucket)).WithHint("create bucket 'b'");
  vault::RunStatus st = Check();
  EXPECT_EQ(CheckNamed(st, "bucket").message,
            std::string(kNoSuchBucket) + " (hint: create bucket 'b')");
}

TEST_F(VaultCheckTest, RejectedCredentials) {
  store_.list_error = Status(Code::kUnauthenticated, std::string(kBadSignature));
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  EXPECT_EQ(ResultsOf(st),
            Unreached({{"endpoint", "passed"}, {"bucket", "skipped"}, {"credentials", "failed"}}));
  EXPECT_EQ(CheckNamed(st, "bucket").message, "credentials rejected");
  EXPECT_EQ(CheckNamed(st, "credentials").message, kBadSignature);
  EXPECT_EQ(st.message, "backup vault is unavailable: " + std::string(kBadSignature));
  EXPECT_EQ(st.errors.count, 1);
}

TEST_F(VaultCheckTest, RequestTimeTooSkewed) {
  // The s3 driver maps RequestTimeTooSkewed (403) to kFailedPrecondition.
  store_.list_error = Status(Code::kFailedPrecondition, std::string(kSkewed));
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  EXPECT_EQ(ResultsOf(st), Unreached({{"endpoint", "passed"},
                                      {"bucket", "skipped"},
                                      {"credentials", "skipped"},
                                      {"clock-skew", "failed"}}));
  EXPECT_EQ(CheckNamed(st, "clock-skew").message, kSkewed);
  EXPECT_EQ(st.message, "backup vault is unavailable: " + std::string(kSkewed));
  ASSERT_EQ(st.errors.count, 1);
  EXPECT_EQ(st.errors.items[0].message, "clock-skew: " + std::string(kSkewed));
}

TEST_F(VaultCheckTest, ProbeReadsBackDifferentBytes) {
  store_.corrupt_probe_reads = true;
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  const vault::Check& read = CheckNamed(st, "read");
  EXPECT_EQ(read.result, "failed");
  EXPECT_TRUE(StartsWith(read.message, "read back different bytes than written to .cairn-probe/"))
      << read.message;
  EXPECT_TRUE(Has(read.message, " (1048 bytes, sha256 ")) << read.message;
  EXPECT_TRUE(Has(read.message, "... instead of 1048 bytes, sha256 ")) << read.message;
  EXPECT_EQ(st.message, "backup vault is unavailable: " + read.message);
  EXPECT_EQ(st.errors.count, 1);
  // The remaining probe steps still ran and cleaned up.
  EXPECT_EQ(CheckNamed(st, "delete").result, "passed");
  EXPECT_TRUE(Keys(store_).empty());
}

TEST_F(VaultCheckTest, IgnoredConditionalCreateWarns) {
  store_.ignore_if_none_match = true;
  opts_.init = true;
  vault::RunStatus st = Check();
  const std::string want =
      "the server ignores If-None-Match: *; two writers of the same backup name could overwrite "
      "each other's manifest: give each cluster its own vault prefix, or upgrade the server";
  EXPECT_EQ(st.phase, "Available");
  EXPECT_EQ(CheckNamed(st, "conditional-create").result, "warning");
  EXPECT_EQ(CheckNamed(st, "conditional-create").message, want);
  ASSERT_EQ(st.warnings.count, 1);
  EXPECT_EQ(st.warnings.items[0].message, want);
  EXPECT_EQ(st.errors.count, 0);
  EXPECT_EQ(Keys(store_), std::vector<std::string>{"cairn-vault.json"});
}

TEST_F(VaultCheckTest, FailedWriteSkipsTheProbeSteps) {
  store_.put_error = Status(Code::kPermissionDenied, "unable to upload '.cairn-probe/x': denied");
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  EXPECT_EQ(ResultsOf(st), (Results{{"endpoint", "passed"},
                                    {"bucket", "passed"},
                                    {"credentials", "passed"},
                                    {"vault-format", "warning"},
                                    {"write", "failed"},
                                    {"read", "skipped"},
                                    {"list", "skipped"},
                                    {"delete", "skipped"},
                                    {"conditional-create", "skipped"},
                                    {"clock-skew", "skipped"},
                                    {"storage-class", "skipped"},
                                    {"foreign-prefixes", "passed"}}));
  EXPECT_EQ(st.message, "backup vault is unavailable: unable to upload '.cairn-probe/x': denied");
  EXPECT_EQ(CheckNamed(st, "read").message, "nothing written");
}

TEST_F(VaultCheckTest, ProbeThatSurvivesDeleteFails) {
  store_.delete_keeps_objects = true;
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  const vault::Check& del = CheckNamed(st, "delete");
  EXPECT_EQ(del.result, "failed");
  EXPECT_TRUE(StartsWith(del.message, "probe object .cairn-probe/")) << del.message;
  EXPECT_TRUE(Has(del.message, " still exists after delete")) << del.message;
}

TEST_F(VaultCheckTest, ArchiveClassReportedByTheStoreFails) {
  store_.head_storage_class = "GLACIER";
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  const vault::Check& sc = CheckNamed(st, "storage-class");
  EXPECT_EQ(sc.result, "failed");
  EXPECT_EQ(sc.message,
            "storage class 'GLACIER' is an archive class: its objects cannot be read without a "
            "restore request first, so backups could not be verified or restored; use a "
            "standard or infrequent-access class");
  EXPECT_EQ(st.message, "backup vault is unavailable: " + sc.message);
}

TEST_F(VaultCheckTest, ConfiguredArchiveClassFails) {
  opts_.storage_class = "DEEP_ARCHIVE";
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  const vault::Check& sc = CheckNamed(st, "storage-class");
  EXPECT_EQ(sc.result, "failed");
  EXPECT_TRUE(StartsWith(sc.message, "storage class 'DEEP_ARCHIVE' is an archive class"))
      << sc.message;
  EXPECT_TRUE(Has(sc.message, "archive class"));
}

TEST_F(VaultCheckTest, NonArchiveClassIsReported) {
  opts_.storage_class = "STANDARD_IA";
  vault::RunStatus st = Check();
  EXPECT_EQ(CheckNamed(st, "storage-class").result, "passed");
  EXPECT_EQ(CheckNamed(st, "storage-class").message, "objects are stored as STANDARD_IA");
}

struct SkewCase {
  seconds skew;
  std::string result;
  std::string message;
  std::string phase;
};

class ClockSkewTest : public VaultCheckTest, public ::testing::WithParamInterface<SkewCase> {};

TEST_P(ClockSkewTest, Thresholds) {
  const SkewCase& c = GetParam();
  store_.clock_skew = c.skew;
  vault::RunStatus st = Check();
  EXPECT_EQ(CheckNamed(st, "clock-skew").result, c.result);
  EXPECT_EQ(CheckNamed(st, "clock-skew").message, c.message);
  EXPECT_EQ(st.phase, c.phase);
  if (c.result == "failed") {
    EXPECT_EQ(st.message, "backup vault is unavailable: " + c.message);
  }
  if (c.result == "warning") {
    EXPECT_EQ(st.warnings.items.back().message, c.message);
  }
}

const std::string kSkewFix =
    "; s3 rejects requests skewed by more than 15 minutes: synchronise this machine's clock (NTP)";

INSTANTIATE_TEST_SUITE_P(
    VaultCheck, ClockSkewTest,
    ::testing::Values(
        SkewCase{minutes(20), "failed", "server clock differs from ours by 1200s" + kSkewFix,
                 "Unavailable"},
        SkewCase{-minutes(20), "failed", "server clock differs from ours by -1200s" + kSkewFix,
                 "Unavailable"},
        SkewCase{minutes(2), "warning", "server clock differs from ours by 120s", "Available"},
        SkewCase{seconds(10), "passed", "server clock differs from ours by 10s", "Available"}));

TEST_F(VaultCheckTest, NewerVaultFormatFails) {
  vault::VaultInfo info;
  info.format_version = "2.0";
  info.vault_id = "3f2c8a51-7d4e-4b9a-9c1e-5a6b7c8d9e0f";
  info.created = At("2026-11-20T09:15:02Z");
  info.created_by = "cairn 2.0.0";
  const std::string doc = vault::ToJson(info);
  ASSERT_TRUE(store_.inner().Put("cairn-vault.json", doc, {}).ok());
  opts_.init = true;
  vault::RunStatus st = Check();
  EXPECT_EQ(st.phase, "Unavailable");
  const vault::Check& vf = CheckNamed(st, "vault-format");
  EXPECT_EQ(vf.result, "failed");
  EXPECT_EQ(vf.message,
            "vault info 'cairn-vault.json': vault format 2.0 is newer than this cairn "
            "understands (1.x); upgrade cairn");
  EXPECT_TRUE(Has(st.message,
                  "vault format 2.0 is newer than this cairn understands (1.x); upgrade cairn"));
  EXPECT_EQ(st.message, "backup vault is unavailable: " + vf.message);
  EXPECT_EQ(st.errors.count, 1);
  EXPECT_EQ(store_.inner().GetAll("cairn-vault.json").value(), doc);  // never rewritten
}

TEST_F(VaultCheckTest, ForeignTopLevelEntriesWarn) {
  for (const char* key :
       {"other-app/x", "readme.txt", "backups/a/manifest.json", "restores/r/status.json",
        "conversions/a/c/status.json", "gc/g/status.json", "locks/gc.json", "vault-status.json"}) {
    ASSERT_TRUE(store_.inner().Put(key, "x", {}).ok());
  }
  opts_.init = true;
  vault::RunStatus st = Check();
  const std::string want =
      "entries not written by cairn under the vault prefix: readme.txt, other-app/ (left alone; "
      "cairn never deletes outside its own keys)";
  EXPECT_EQ(st.phase, "Available");
  EXPECT_EQ(CheckNamed(st, "foreign-prefixes").result, "warning");
  EXPECT_EQ(CheckNamed(st, "foreign-prefixes").message, want);
  ASSERT_EQ(st.warnings.count, 1);
  EXPECT_EQ(st.warnings.items[0].message, want);
  EXPECT_EQ(st.counts.at("backups"), 1);
}

TEST_F(VaultCheckTest, ForeignEntriesAreRelativeToThePrefix) {
  store::MemoryStore mem(clock_);
  for (const char* key : {"team/prod/cairn-vault-backup.json", "team/prod/backups/a/status.json",
                          "team/other/x", "team/prod-old/y"}) {
    ASSERT_TRUE(mem.Put(key, "x", {}).ok());
  }
  vault::RunStatus st = vault_check::Run(mem, vault::Layout("team/prod"), opts_, clock_);
  EXPECT_EQ(CheckNamed(st, "foreign-prefixes").message,
            "entries not written by cairn under the vault prefix: cairn-vault-backup.json (left "
            "alone; cairn never deletes outside its own keys)");
}

TEST_F(VaultCheckTest, UnavailableCarriesLastValidatedOver) {
  vault::RunStatus previous;
  previous.phase = "Available";
  previous.last_validated = At("2026-11-20T04:48:00Z");
  store_.list_error = Status(Code::kUnavailable, std::string(kUnreachable));
  vault::RunStatus st = Check(&previous);
  EXPECT_EQ(st.phase, "Unavailable");
  EXPECT_EQ(st.last_validated, At("2026-11-20T04:48:00Z"));

  // An Available check validates now, whatever came before.
  store_.list_error.reset();
  clock_.Advance(minutes(5));
  vault::RunStatus next = Check(&st);
  EXPECT_EQ(next.phase, "Available");
  EXPECT_EQ(next.last_validated, clock_.Now());

  // No previous document and unavailable: never validated.
  store_.list_error = Status(Code::kUnavailable, std::string(kUnreachable));
  EXPECT_FALSE(Check().last_validated.has_value());
}

TEST_F(VaultCheckTest, EveryFailureIsAnErrorTheFirstIsTheMessage) {
  store_.head_storage_class = "GLACIER";
  store_.clock_skew = minutes(30);
  vault::RunStatus st = Check();
  ASSERT_EQ(st.errors.count, 2);
  EXPECT_TRUE(StartsWith(st.errors.items[0].message, "clock-skew: server clock differs"));
  EXPECT_TRUE(StartsWith(st.errors.items[1].message, "storage-class: storage class 'GLACIER'"));
  EXPECT_TRUE(StartsWith(st.message, "backup vault is unavailable: server clock differs"));
  EXPECT_EQ(FailureLine(st), "VaultError: " + st.message);
}

TEST_F(VaultCheckTest, FormatChecks) {
  opts_.init = true;
  vault::RunStatus st = Check();
  const std::string text = FormatChecks(st, "memory://");
  EXPECT_TRUE(StartsWith(text, "vault prod: memory://\n")) << text;
  EXPECT_TRUE(Has(text, "\nphase: Available\n")) << text;
  EXPECT_TRUE(Has(text, "\n  ok   endpoint           0ms     reachable: memory://\n")) << text;
  EXPECT_TRUE(Has(text, "\n  skip clock-skew         0ms     the store has no remote clock\n"))
      << text;
  EXPECT_FALSE(Has(text, "VaultError"));
  size_t check_lines = 0;
  for (size_t at = 0; (at = text.find("\n  ", at)) != std::string::npos; ++at) ++check_lines;
  EXPECT_EQ(check_lines, st.checks.size());
  EXPECT_EQ(check_lines, 12u);
  for (const auto& k : st.checks) EXPECT_TRUE(Has(text, k.name + " ")) << k.name;

  store_.list_error = Status(Code::kUnavailable, std::string(kUnreachable));
  const std::string bad = FormatChecks(Check(), "memory://");
  EXPECT_TRUE(Has(bad, "\n  FAIL endpoint ")) << bad;
  EXPECT_TRUE(Has(bad, "\nphase: Unavailable\nVaultError: backup vault is unavailable: ")) << bad;
}

TEST(VaultCheckFormatTest, BackupList) {
  const base::TimePoint now = At("2026-11-21T04:48:00Z");
  Listing empty;
  empty.pending = vault::PendingUploads{"cairn/", {}, 0, 0};
  EXPECT_EQ(FormatBackupList(empty, now),
            "no backups in this vault\nno pending uploads under 'cairn/'\n");
  EXPECT_EQ(BackupListJson(empty, now),
            "{\n  \"backups\": [],\n  \"pendingUploads\": {\n    \"bytes\": 0,\n    \"count\": 0,\n"
            "    \"prefix\": \"cairn/\",\n    \"unsized\": 0,\n    \"uploads\": []\n  }\n}\n");

  vault::BackupEntry done;
  done.name = "nightly-20261121";
  done.complete = true;
  done.state = vault::BackupState::kComplete;
  done.phase = "Completed";
  done.size = 2048;
  done.object_count = 3;
  done.created = now - std::chrono::hours(3);
  vault::BackupEntry forged = done;
  forged.name = "nightly-20261120";
  forged.state = vault::BackupState::kUnreadable;
  forged.unreadable_reason = "manifest 'backups/nightly-20261120/manifest.json' checksum mismatch";
  forged.created = now - std::chrono::hours(50);
  forged.warnings = {"status.json is unreadable"};
  vault::BackupEntry running;
  running.name = "nightly-20261121044000";
  running.phase = "InProgress";
  running.status.emplace();
  running.status->phase = "InProgress";
  running.status->heartbeat_time = now - std::chrono::seconds(20);
  running.created = now - std::chrono::minutes(8);
  vault::PendingUploads pending{"cairn/", {}, 0, 1};
  pending.uploads.push_back(
      {{"cairn/backups/nightly-20261121044000/resources.tar.zst", "u1", now - minutes(7)},
       "nightly-20261121044000",
       16u << 20});
  pending.uploads.push_back({{"cairn/stray", "u2", now - minutes(90)}, "", std::nullopt});
  pending.bytes = 16u << 20;
  Listing l{{done, forged, running}, pending, ""};

  const std::string text = FormatBackupList(l, now);
  EXPECT_TRUE(StartsWith(text, "NAME                    STATE       PHASE")) << text;
  EXPECT_TRUE(Has(text, "\nnightly-20261121        Complete    Completed        2.0KiB    3h\n"))
      << text;
  EXPECT_TRUE(Has(text,
                  "\nnightly-20261120        Unreadable  Completed        2.0KiB    2d    "
                  "manifest unreadable: manifest 'backups/nightly-20261120/manifest.json' "
                  "checksum mismatch\n"))
      << text;
  EXPECT_TRUE(Has(text,
                  "\nnightly-20261121044000  Incomplete  InProgress       0B        8m    in "
                  "progress (last heartbeat 20s ago); 1 pending upload holding 16.0MiB\n"))
      << text;
  EXPECT_TRUE(Has(text,
                  "\npending uploads under 'cairn/': 2 holding 16.0MiB (and 1 more not sized), "
                  "never completed or aborted; gc aborts them\n"
                  "  cairn/backups/nightly-20261121044000/resources.tar.zst  16.0MiB  started "
                  "7m ago\n  cairn/stray  not sized  started 90m ago\n"))
      << text;

  const nlohmann::json json = nlohmann::json::parse(BackupListJson(l, now));
  const auto& backups = json["backups"];
  ASSERT_EQ(backups.size(), 3u);
  EXPECT_EQ(backups[0]["state"], "Complete");
  EXPECT_EQ(backups[0]["restorable"], true);
  EXPECT_FALSE(backups[0].contains("reason"));
  EXPECT_EQ(backups[0]["created"], "2026-11-21T01:48:00Z");
  EXPECT_EQ(backups[1]["state"], "Unreadable");
  EXPECT_EQ(backups[1]["restorable"], false);
  EXPECT_EQ(backups[1]["complete"], true);
  EXPECT_EQ(backups[1]["reason"],
            "manifest unreadable: manifest 'backups/nightly-20261120/manifest.json' checksum "
            "mismatch");
  EXPECT_EQ(backups[1]["warnings"][0], "status.json is unreadable");
  EXPECT_EQ(backups[2]["state"], "Incomplete");
  EXPECT_EQ(backups[2]["pendingUploads"]["bytes"], 16u << 20);
  const auto& up = json["pendingUploads"];
  EXPECT_EQ(up["count"], 2);
  EXPECT_EQ(up["bytes"], 16u << 20);
  EXPECT_EQ(up["unsized"], 1);
  EXPECT_EQ(up["uploads"][0]["backup"], "nightly-20261121044000");
  EXPECT_EQ(up["uploads"][0]["bytes"], 16u << 20);
  EXPECT_FALSE(up["uploads"][1].contains("bytes"));

  // Uploads that could not be listed are said to be unknown, never zero.
  Listing denied{{done}, std::nullopt, "unable to list pending uploads: AccessDenied"};
  EXPECT_TRUE(Has(FormatBackupList(denied, now),
                  "\npending uploads: unknown (unable to list pending uploads: AccessDenied)\n"));
  EXPECT_EQ(nlohmann::json::parse(BackupListJson(denied, now))["pendingUploads"]["error"],
            "unable to list pending uploads: AccessDenied");
}

// ListVault on a store: an unreadable manifest and a pending upload, end to end in memory.
TEST(VaultCheckListTest, ListVaultReadsManifestsAndPendingUploads) {
  base::FakeClock clock(At("2026-11-21T04:48:00Z"));
  store::MemoryStore store(clock);
  vault::Layout layout("cairn");
  ASSERT_TRUE(store.Put(layout.ManifestKey("b1"), "{\"checksum\": \"sha256:0\"}", {}).ok());
  auto upload = store.PutStream(layout.BackupObjectKey("b2", "resources.tar.zst"), {});
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(std::string(1234, 'z')).ok());
  auto l = ListVault(store, layout);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->backups.size(), 1u);
  EXPECT_EQ(l->backups[0].state, vault::BackupState::kUnreadable);
  ASSERT_TRUE(l->pending.has_value());
  ASSERT_EQ(l->pending->uploads.size(), 1u);
  EXPECT_EQ(l->pending->bytes, 1234u);
  EXPECT_EQ(l->pending->uploads[0].backup, "b2");
}

}  // namespace
}  // namespace cairn::ops::vault_check
