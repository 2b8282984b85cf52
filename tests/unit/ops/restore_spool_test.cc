// Tests of ops/restore/spool (the compressed objects between verification and apply) and of
// the restore ledger (results.json.zst written as outcomes are recorded).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/zstd.h"
#include "ops/restore/apply.h"
#include "ops/restore/spool.h"

namespace cairn::ops::restore {
namespace {

EntryRef Ref(std::string group, std::string resource, std::string version, std::string ns,
             std::string name) {
  return {std::move(group), std::move(resource), std::move(version), std::move(ns),
          std::move(name)};
}

std::string ConfigMap(int i) {
  nlohmann::json obj = {{"apiVersion", "v1"},
                        {"kind", "ConfigMap"},
                        {"metadata", {{"name", "cm-" + std::to_string(i)}, {"namespace", "shop"}}},
                        {"data", {{"key", std::string(200 + i % 50, 'x')}}}};
  return obj.dump();
}

// Everything ForEach returns for one resource, in order.
std::vector<SpooledObject> All(const Spool& spool, const Spool::ResourceKey& key,
                               int* batches = nullptr) {
  std::vector<SpooledObject> out;
  base::Status st = spool.ForEach(key, [&](std::vector<SpooledObject>& batch) {
    if (batches) ++*batches;
    for (auto& o : batch) out.push_back(std::move(o));
    return base::Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

class SpoolBothWays : public ::testing::TestWithParam<bool> {
 protected:
  // On disk: an unlinked file in the test's temporary directory; else in memory.
  std::string Dir() const { return GetParam() ? ::testing::TempDir() : ""; }
};

TEST_P(SpoolBothWays, RoundTripsEveryObjectInArchiveOrderAcrossChunks) {
  Spool spool(Dir());
  EXPECT_EQ(spool.on_disk(), GetParam()) << spool.disk_error();
  const int n = 6000;  // about 1.5 MiB of records: more than one chunk
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(spool
                    .Add(Ref("", "configmaps", "v1", "shop", "cm-" + std::to_string(i)),
                         i == 0 ? "ConfigMap" : "", ConfigMap(i))
                    .ok());
  }
  ASSERT_TRUE(spool.Finish().ok());
  const Spool::ResourceInfo* info = spool.Find({"", "configmaps"});
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->objects, n);
  EXPECT_EQ(info->kind, "ConfigMap");
  EXPECT_EQ(info->versions, std::vector<std::string>{"v1"});
  EXPECT_GE(info->chunks.size(), 2u);
  // Repetitive JSON compresses: the spool holds a small fraction of the text.
  EXPECT_LT(spool.compressed_bytes() * 5, spool.logical_bytes());

  int batches = 0;
  auto all = All(spool, {"", "configmaps"}, &batches);
  EXPECT_EQ(batches, static_cast<int>(info->chunks.size()));
  ASSERT_EQ(all.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i += 997) {
    EXPECT_EQ(all[i].ref.group, "");
    EXPECT_EQ(all[i].ref.resource, "configmaps");
    EXPECT_EQ(all[i].ref.version, "v1");
    EXPECT_EQ(all[i].ref.namespace_name, "shop");
    EXPECT_EQ(all[i].ref.name, "cm-" + std::to_string(i));
    EXPECT_EQ(all[i].text, ConfigMap(i));
  }
}

TEST(Spool, KeepsResourcesApartWhenTheArchiveInterleavesThem) {
  Spool spool;
  ASSERT_TRUE(spool.Add(Ref("apps", "deployments", "v1", "a", "web"), "Deployment", "{1}").ok());
  ASSERT_TRUE(spool.Add(Ref("", "pods", "v1", "a", "p"), "Pod", "{2}").ok());
  ASSERT_TRUE(spool.Add(Ref("apps", "deployments", "v1beta2", "a", "web"), "", "{3}").ok());
  ASSERT_TRUE(spool.Add(Ref("", "persistentvolumes", "v1", "", "pv"), "", "").ok());
  ASSERT_TRUE(spool.Finish().ok());

  auto deployments = All(spool, {"apps", "deployments"});
  ASSERT_EQ(deployments.size(), 2u);
  EXPECT_EQ(deployments[0].text, "{1}");
  EXPECT_EQ(deployments[1].text, "{3}");
  EXPECT_EQ(deployments[1].ref.version, "v1beta2");
  EXPECT_EQ(spool.Find({"apps", "deployments"})->versions,
            (std::vector<std::string>{"v1", "v1beta2"}));
  EXPECT_EQ(spool.Find({"apps", "deployments"})->kind, "Deployment");

  auto pvs = All(spool, {"", "persistentvolumes"});
  ASSERT_EQ(pvs.size(), 1u);
  EXPECT_EQ(pvs[0].ref.namespace_name, "");  // cluster-scoped, empty text kept as stored
  EXPECT_EQ(pvs[0].text, "");
  EXPECT_EQ(spool.Find({"", "persistentvolumes"})->kind, "");

  EXPECT_TRUE(All(spool, {"", "secrets"}).empty());  // not in the backup: nothing, no error
  EXPECT_EQ(spool.resources().size(), 3u);
}

// backup-run lists resources in parallel, so the archive alternates between them object by
// object; each resource still gets full chunks (few frames, good compression).
TEST_P(SpoolBothWays, ObjectByObjectInterleavingStillFillsChunks) {
  Spool spool(Dir());
  const std::vector<std::string> resources = {"configmaps", "secrets", "services", "pods"};
  const int per_resource = 6000;  // about 2 MiB of records each: 2 or 3 chunks, never 6000
  for (int i = 0; i < per_resource; ++i) {
    for (const auto& r : resources) {
      ASSERT_TRUE(spool.Add(Ref("", r, "v1", "a", r + std::to_string(i)), "", ConfigMap(i)).ok());
    }
  }
  ASSERT_TRUE(spool.Finish().ok());
  for (const auto& r : resources) {
    const Spool::ResourceInfo* info = spool.Find({"", r});
    ASSERT_NE(info, nullptr);
    EXPECT_GE(info->chunks.size(), 2u) << r;
    EXPECT_LE(info->chunks.size(), 3u) << r;
    auto all = All(spool, {"", r});
    ASSERT_EQ(all.size(), static_cast<size_t>(per_resource));
    for (int i = 0; i < per_resource; i += 1999) EXPECT_EQ(all[i].ref.name, r + std::to_string(i));
  }
  EXPECT_LT(spool.compressed_bytes() * 5, spool.logical_bytes());
}

// Many resources half full at once: the open buffers stay under kOpenBytes in total.
TEST(Spool, ManyOpenResourcesAreSealedEarlyAndKeepTheirOrder) {
  Spool spool;
  const int resources = 40, per_resource = 1200;  // 40 x ~300 KiB: over kOpenBytes together
  for (int i = 0; i < per_resource; ++i) {
    for (int r = 0; r < resources; ++r) {
      ASSERT_TRUE(spool
                      .Add(Ref("g", "r" + std::to_string(r), "v1", "a", std::to_string(i)), "",
                           ConfigMap(i))
                      .ok());
    }
  }
  ASSERT_TRUE(spool.Finish().ok());
  size_t chunks = 0;
  for (int r = 0; r < resources; ++r) {
    chunks += spool.Find({"g", "r" + std::to_string(r)})->chunks.size();
    auto all = All(spool, {"g", "r" + std::to_string(r)});
    ASSERT_EQ(all.size(), static_cast<size_t>(per_resource));
    for (int i = 0; i < per_resource; ++i) ASSERT_EQ(all[i].ref.name, std::to_string(i));
  }
  EXPECT_GT(chunks, static_cast<size_t>(resources));  // some were sealed early
  EXPECT_LT(chunks, static_cast<size_t>(resources) * 4);
}

TEST(Spool, AnObjectLargerThanAChunkIsOneRecord) {
  Spool spool;
  std::string big(3 * Spool::kChunkBytes, 'y');
  ASSERT_TRUE(spool.Add(Ref("", "configmaps", "v1", "a", "small"), "ConfigMap", "{}").ok());
  ASSERT_TRUE(spool.Add(Ref("", "configmaps", "v1", "a", "big"), "", big).ok());
  ASSERT_TRUE(spool.Add(Ref("", "configmaps", "v1", "a", "after"), "", "{}").ok());
  ASSERT_TRUE(spool.Finish().ok());
  auto all = All(spool, {"", "configmaps"});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].ref.name, "big");
  EXPECT_EQ(all[1].text, big);
  EXPECT_EQ(all[2].ref.name, "after");
}

INSTANTIATE_TEST_SUITE_P(MemoryAndDisk, SpoolBothWays, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Disk" : "Memory"; });

TEST(Spool, ADirectoryWithoutRoomForAFileKeepsTheObjectsInMemory) {
  Spool spool("/nonexistent/cairn");
  EXPECT_FALSE(spool.on_disk());
  EXPECT_NE(spool.disk_error().find("cannot create a file in /nonexistent/cairn"),
            std::string::npos)
      << spool.disk_error();
  ASSERT_TRUE(spool.Add(Ref("", "configmaps", "v1", "a", "x"), "ConfigMap", ConfigMap(1)).ok());
  ASSERT_TRUE(spool.Finish().ok());
  auto all = All(spool, {"", "configmaps"});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].text, ConfigMap(1));
}

TEST(Spool, ReleaseFreesAResourceAndReadingItAgainIsAnError) {
  Spool spool(::testing::TempDir());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        spool.Add(Ref("", "configmaps", "v1", "a", std::to_string(i)), "", ConfigMap(i)).ok());
  }
  ASSERT_TRUE(spool.Add(Ref("", "secrets", "v1", "a", "s"), "Secret", "{}").ok());
  ASSERT_TRUE(spool.Finish().ok());
  uint64_t before = spool.compressed_bytes();
  spool.Release({"", "configmaps"});
  EXPECT_LT(spool.compressed_bytes(), before);
  base::Status st = spool.ForEach({"", "configmaps"},
                                  [](std::vector<SpooledObject>&) { return base::Status::Ok(); });
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("configmaps was released"), std::string::npos) << st.message();
  EXPECT_EQ(All(spool, {"", "secrets"}).size(), 1u);  // the others are untouched
}

TEST(Spool, ABatchErrorStopsTheWalk) {
  Spool spool;
  for (int i = 0; i < 6000; ++i) {
    ASSERT_TRUE(
        spool.Add(Ref("", "configmaps", "v1", "a", std::to_string(i)), "", ConfigMap(i)).ok());
  }
  ASSERT_TRUE(spool.Finish().ok());
  ASSERT_GE(spool.Find({"", "configmaps"})->chunks.size(), 2u);
  int calls = 0;
  base::Status st = spool.ForEach({"", "configmaps"}, [&](std::vector<SpooledObject>&) {
    ++calls;
    return base::Error(base::Code::kCancelled, "stop");
  });
  EXPECT_EQ(st.code(), base::Code::kCancelled);
  EXPECT_EQ(calls, 1);
}

// --- Ledger -----------------------------------------------------------------------------------

TEST(Ledger, ResultsAreACompressedArrayOfEveryOutcomeAndCountsFollow) {
  vault::RunStatus st;
  Ledger ledger(st);
  for (int i = 0; i < 2000; ++i) {
    ledger.Record("resources/core/configmaps/v1/namespaces/shop/cm-" + std::to_string(i) + ".json",
                  "shop", "configmaps/shop/cm-" + std::to_string(i), "created", "");
  }
  ledger.Record("p", "shop", "services/shop/web", "failed", "provided port is already allocated");
  ledger.Record("q", "", "namespaces/shop", "skipped", "exists and differs from the backup");
  ledger.Record("r", "", "namespaces/kube-system", "skipped", "");
  auto z = ledger.Finish();
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  auto text = io::ZstdDecompress(*z, 64 << 20);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_LT(z->size() * 5, text->size());
  auto results = nlohmann::json::parse(*text, nullptr, false);
  ASSERT_TRUE(results.is_array()) << text->substr(0, 200);
  ASSERT_EQ(results.size(), 2003u);
  EXPECT_EQ(results[0]["action"], "created");
  EXPECT_EQ(results[0]["object"], "configmaps/shop/cm-0");
  EXPECT_FALSE(results[0].contains("message"));
  EXPECT_EQ(results[2000]["message"], "provided port is already allocated");
  EXPECT_EQ(st.counts["created"], 2000);
  EXPECT_EQ(st.counts["failed"], 1);
  EXPECT_EQ(st.counts["skipped"], 2);
  EXPECT_EQ(st.errors.count, 1);
  EXPECT_EQ(st.errors.items[0].object, "services/shop/web");
  EXPECT_EQ(st.errors.items[0].scope, "namespace/shop");
  EXPECT_EQ(st.warnings.count, 1);     // a skip without a message is not a warning
  EXPECT_FALSE(ledger.Finish().ok());  // once
}

TEST(Ledger, NoOutcomesIsAnEmptyArray) {
  vault::RunStatus st;
  Ledger ledger(st);
  auto z = ledger.Finish();
  ASSERT_TRUE(z.ok());
  auto text = io::ZstdDecompress(*z, 1 << 20);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(nlohmann::json::parse(*text), nlohmann::json::array());
}

}  // namespace
}  // namespace cairn::ops::restore
