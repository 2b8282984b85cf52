#include <gtest/gtest.h>

#include <string>

#include "archive/tar.h"

namespace cairn::archive {
namespace {

TEST(ValidateEntryPath, AcceptsVaultPaths) {
  for (std::string p : {
           "resources/apps/deployments/v1/namespaces/shop/web.json",
           "resources/core/namespaces/v1/cluster/shop.json",
           "metadata/backup.json",
           "a",
           "a.b/c..d/.hidden/e..",                       // dots inside names are fine
           "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.json",  // non-ASCII UTF-8
           "emoji/\xf0\x9f\x93\xa6.json",
       }) {
    EXPECT_TRUE(ValidateEntryPath(p).ok()) << p << ": " << ValidateEntryPath(p).message();
  }
  // A 253-character object name (the longest DNS subdomain Kubernetes accepts) makes a
  // 258-byte file name: segments have no 255-byte limit.
  const std::string name253 =
      "resources/core/configmaps/v1/namespaces/shop/" + std::string(253, 'n') + ".json";
  EXPECT_TRUE(ValidateEntryPath(name253).ok()) << ValidateEntryPath(name253).message();
  EXPECT_TRUE(ValidateEntryPath(std::string(4096, 's')).ok());
  std::string longest(kMaxEntryPathBytes - 4, 'x');
  longest += "/a.b";
  ASSERT_EQ(longest.size(), kMaxEntryPathBytes);
  EXPECT_TRUE(ValidateEntryPath(longest).ok()) << ValidateEntryPath(longest).message();
}

TEST(ValidateEntryPath, RejectsUnsafePaths) {
  struct Case {
    std::string path;
    std::string why;
  };
  const Case cases[] = {
      {"", "empty"},
      {"/abs", "absolute"},
      {"/", "absolute"},
      {"a/../b", "'..' segment"},
      {"..", "'..' segment"},
      {"../evil", "'..' segment"},
      {"a/..", "'..' segment"},
      {"./a", "'.' segment"},
      {"a/./b", "'.' segment"},
      {"a//b", "empty segment"},
      {"a/", "empty segment"},
      {std::string("a\0b", 3), "NUL"},
      {"a\nb", "control character"},
      {"a\tb", "control character"},
      {"a\x1b[31mb", "control character"},
      {"a\x7f", "control character"},
      {"bad\xff.json", "UTF-8"},
      {"overlong\xc0\xaf", "UTF-8"},
      {"surrogate\xed\xa0\x80", "UTF-8"},
      {"cut\xe6\x97", "UTF-8"},
      {std::string(kMaxEntryPathBytes + 1, 'a'), "longer than 65536"},
  };
  for (const Case& c : cases) {
    base::Status st = ValidateEntryPath(c.path);
    ASSERT_FALSE(st.ok()) << QuoteEntryPath(c.path);
    EXPECT_EQ(st.code(), base::Code::kInvalidArgument);
    EXPECT_NE(st.message().find(c.why), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("invalid tar entry path '"), std::string::npos) << st.message();
  }
  // The message names the path.
  EXPECT_NE(ValidateEntryPath("a/../b").message().find("'a/../b'"), std::string::npos);
}

TEST(QuoteEntryPath, EscapesWhatCannotBeShown) {
  EXPECT_EQ(QuoteEntryPath("a/b.json"), "'a/b.json'");
  EXPECT_EQ(QuoteEntryPath("caf\xc3\xa9"), "'caf\xc3\xa9'");
  EXPECT_EQ(QuoteEntryPath(std::string("a\0b\n", 4)), "'a\\x00b\\x0a'");
  // Not UTF-8: every high byte is escaped so the message stays valid UTF-8.
  EXPECT_EQ(QuoteEntryPath("caf\xc3\xa9\xff"), "'caf\\xc3\\xa9\\xff'");
  const std::string quoted = QuoteEntryPath(std::string(5000, 'x'));
  EXPECT_LT(quoted.size(), 300u);
  EXPECT_NE(quoted.find("5000 bytes, shortened"), std::string::npos);
}

}  // namespace
}  // namespace cairn::archive
