// Helpers shared by the config unit tests: fixture paths and the message of a config that must
// not parse.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace cairn::config::test_util {

// tests/data/config/<name>.
inline std::string Fixture(const std::string& name) {
  return std::string(CAIRN_TEST_DATA) + "/config/" + name;
}

// The error of `text` parsed as "t.toml", which must fail with InvalidArgument ("" if it parses).
inline std::string ParseError(const std::string& text) {
  base::Result<Config> cfg = ParseConfig(text, "t.toml");
  EXPECT_FALSE(cfg.ok()) << text;
  if (cfg.ok()) return "";
  EXPECT_EQ(cfg.status().code(), base::Code::kInvalidArgument);
  return cfg.status().message();
}

}  // namespace cairn::config::test_util
