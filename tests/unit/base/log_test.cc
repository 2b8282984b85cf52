#include "base/log.h"

#include <gtest/gtest.h>

namespace cairn::base {
namespace {

TEST(Log, RegisteredSecretsAreRedactedEverywhere) {
  RegisterSecret("wJalrXUtnFEMI/K7MDENG");
  EXPECT_EQ(Redact("key=wJalrXUtnFEMI/K7MDENG!"), "key=[REDACTED]!");
  std::string captured;
  SetLogCapture(&captured);
  SetLogFormat(LogFormat::kJson);
  LogInfo("signing with wJalrXUtnFEMI/K7MDENG", {{"detail", "x wJalrXUtnFEMI/K7MDENG y"}});
  SetLogCapture(nullptr);
  EXPECT_EQ(captured.find("wJalrXUtnFEMI"), std::string::npos) << captured;
  EXPECT_NE(captured.find("\"msg\":\"signing with [REDACTED]\""), std::string::npos) << captured;
  EXPECT_NE(captured.find("\"detail\":\"x [REDACTED] y\""), std::string::npos) << captured;
}

TEST(Log, JsonEscapesControlCharacters) {
  std::string captured;
  SetLogCapture(&captured);
  LogWarn("line\nbreak \"quoted\"");
  SetLogCapture(nullptr);
  EXPECT_NE(captured.find(R"("msg":"line\nbreak \"quoted\"")"), std::string::npos) << captured;
  EXPECT_NE(captured.find(R"("level":"warning")"), std::string::npos);
}

TEST(Log, ShortValuesAreNotTreatedAsSecrets) {
  RegisterSecret("abc");
  EXPECT_EQ(Redact("abc"), "abc");
}

}  // namespace
}  // namespace cairn::base
