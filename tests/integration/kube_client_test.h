// Test support for kube_client_test.cc: the Kubernetes API test server
// (hack/kube-api-server/server.py) as a child process in a temporary state directory, and its
// admin API (fault injection, the request log). Reusable by other C++ integration tests if moved
// to tests/support/.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/client.h"

extern char** environ;

namespace cairn::testing {

using nlohmann::json;
using namespace std::chrono_literals;

inline const std::string kKubeApiServerScript =
    std::string(CAIRN_SOURCE_DIR) + "/hack/kube-api-server/server.py";

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The API test server as a child process, in a temporary state directory.
class KubeApiServer {
 public:
  explicit KubeApiServer(const std::vector<std::string>& extra_args) {
    char tmpl[] = "/tmp/cairn-kas-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::vector<std::string> args = {
        "python3", kKubeApiServerScript, "--listen", "127.0.0.1:0", "--dir", dir_};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string log = dir_ + "/server.log";
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    if (posix_spawnp(&pid_, "python3", &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    // "listening on" is printed after every state file is written.
    for (int i = 0; i < 600 && pid_ > 0; ++i) {
      if (Slurp(log).find("listening on") != std::string::npos) {
        port_ = std::atoi(Slurp(dir_ + "/port").c_str());
        break;
      }
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    if (port_ == 0) return;
    token_ = Trimmed(Slurp(dir_ + "/token"));
    http::ClientOptions o;
    o.ca_pem = Slurp(dir_ + "/ca.crt");
    auto c = http::Client::Create(o);
    if (c.ok()) admin_ = std::move(c).value();
  }
  ~KubeApiServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st;
      waitpid(pid_, &st, 0);
    }
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)!system(cmd.c_str());
  }
  bool ok() const { return port_ != 0 && admin_; }
  const std::string& dir() const { return dir_; }
  const std::string& token() const { return token_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return Slurp(dir_ + "/server.log"); }

  // POST /__admin/ (fault injection and state), GET /__admin/requests.
  json Admin(const json& body) {
    std::string b = body.dump();
    auto r =
        admin_->Do({"POST",
                    url() + "/__admin/",
                    {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}},
                    b});
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().message());
    return r.ok() ? json::parse(r->body, nullptr, false) : json();
  }
  // The logged requests whose path starts with `path_prefix`. The server records a request's
  // status only after it has sent the answer, so this waits (up to a second) for every matching
  // entry to have one.
  std::vector<json> Requests(std::string_view path_prefix) {
    std::vector<json> out;
    for (int i = 0; i < 50; ++i) {
      out.clear();
      auto r = admin_->Do(
          {"GET", url() + "/__admin/requests", {{"Authorization", "Bearer " + token_}}, {}});
      if (!r.ok()) return out;
      auto j = json::parse(r->body, nullptr, false);
      if (!j.is_object() || !j["requests"].is_array()) return out;
      bool settled = true;
      for (const auto& e : j["requests"]) {
        if (e["path"].get<std::string>().rfind(path_prefix, 0) != 0) continue;
        out.push_back(e);
        if (e["status"].is_null()) settled = false;
      }
      if (settled) break;
      std::this_thread::sleep_for(20ms);
    }
    return out;
  }

 private:
  std::string dir_, token_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<http::Client> admin_;
};

// A seed manifest (--seed) with namespace `ns` and `count` ConfigMaps "cm-0".. labelled
// set=<ns>, each with data.index; returns its path.
inline std::string WriteConfigMapSeed(const std::string& ns, int count) {
  std::string path =
      ::testing::TempDir() + "cairn-kube-seed-" + ns + "-" + std::to_string(getpid()) + ".json";
  json items = json::array();
  items.push_back({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
  for (int i = 0; i < count; ++i) {
    items.push_back(
        {{"apiVersion", "v1"},
         {"kind", "ConfigMap"},
         {"metadata",
          {{"name", "cm-" + std::to_string(i)}, {"namespace", ns}, {"labels", {{"set", ns}}}}},
         {"data", {{"index", std::to_string(i)}}}});
  }
  std::ofstream(path) << json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}}.dump();
  return path;
}

}  // namespace cairn::testing
