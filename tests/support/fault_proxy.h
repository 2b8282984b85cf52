// Test support: runs tests/harness/fault_proxy.py as a child process in front of an upstream
// HTTP server, with a fault configuration, and reads its counters through its admin API.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http/client.h"

extern char** environ;

namespace cairn::testing {

class FaultProxy {
 public:
  FaultProxy(const std::string& upstream, const nlohmann::json& config) {
    char tmpl[] = "/tmp/cairn-fp-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string port_file = dir_ + "/port";
    std::string script = std::string(CAIRN_SOURCE_DIR) + "/tests/harness/fault_proxy.py";
    std::string cfg = config.dump();
    const char* argv[] = {"python3",    script.c_str(),   "--listen",    "127.0.0.1:0",
                          "--upstream", upstream.c_str(), "--port-file", port_file.c_str(),
                          "--config",   cfg.c_str(),      "-q",          nullptr};
    if (posix_spawnp(&pid_, "python3", nullptr, nullptr, const_cast<char* const*>(argv), environ) !=
        0) {
      pid_ = -1;
      return;
    }
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      std::ifstream f(port_file);
      int p = 0;
      if (f >> p) port_ = p;
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~FaultProxy() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st;
      waitpid(pid_, &st, 0);
    }
    std::string cmd = "rm -rf " + dir_;
    (void)!system(cmd.c_str());
  }
  bool ok() const { return port_ != 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  nlohmann::json Stats() const {
    auto client = http::Client::Create({});
    if (!client.ok()) return {};
    auto r = (*client)->Do(http::Request{"GET", url() + "/__fault/stats", {}, {}});
    if (!r.ok()) return {};
    return nlohmann::json::parse(r->body, nullptr, false);
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

}  // namespace cairn::testing
