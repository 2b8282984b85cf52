#include "report/reporter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/log.h"
#include "store/memory/memory_store.h"
#include "store/posix/posix_store.h"

namespace cairn::report {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(TerminationMessage, WrittenOnlyWhenTheFileExistsOneLineRedactedCapped) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "cairn-termination-test").string();
  std::filesystem::remove(path);
  WriteTerminationMessage(path, "BackupFailed: x");
  EXPECT_FALSE(std::filesystem::exists(path));  // outside a pod: nothing is created
  std::ofstream(path).close();
  base::RegisterSecret("sekrit-termination-value");
  WriteTerminationMessage(path, "BackupFailed: sekrit-termination-value\nHINT: second line");
  EXPECT_EQ(Slurp(path), "BackupFailed: [REDACTED]\n");
  WriteTerminationMessage(path, std::string(10000, 'x'));
  EXPECT_EQ(Slurp(path).size(), 4097u);  // 4 KiB, the kubelet's limit, plus the newline
  std::filesystem::remove(path);
}

TEST(Reporter, WritesTheStatusAndReportsWhatItCouldNot) {
  store::MemoryStore store;
  vault::RunStatus st;
  st.kind = "Backup";
  st.name = "b1";
  st.phase = "Completed";
  Reporter ok(&store, "v/backups/b1/status.json", nullptr);
  EXPECT_TRUE(ok.Publish(st, std::nullopt, "").empty());
  auto written = vault::ReadStatus(store, "v/backups/b1/status.json");
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->phase, "Completed");

  // A store that refuses the write: a warning, never the run's failure.
  auto dir = std::filesystem::temp_directory_path() / "cairn-reporter-test";
  auto posix = store::PosixStore::Open(dir.string());
  ASSERT_TRUE(posix.ok());
  Reporter bad(posix->get(), "../outside", nullptr);
  auto warnings = bad.Publish(st, std::nullopt, "");
  std::filesystem::remove_all(dir);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("unable to write status to the vault"), std::string::npos);
}

}  // namespace
}  // namespace cairn::report
