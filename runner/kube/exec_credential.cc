#include "kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/log.h"
#include "kube/base64.h"

extern char** environ;

namespace cairn::kube {
namespace {

using base::Code;
using base::Error;

constexpr size_t kMaxOutput = 1 << 20;  // an ExecCredential is a few KiB

std::string PluginName(const ExecConfig& exec) { return "exec plugin '" + exec.command + "'"; }

// The last 300 characters of stderr, on one line, with registered secrets hidden.
std::string StderrTail(const std::string& err) {
  std::string tail = err.size() > 300 ? "..." + err.substr(err.size() - 300) : err;
  for (char& c : tail) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!tail.empty() && tail.back() == ' ') tail.pop_back();
  return base::Redact(tail);
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int* out() { return &fd_; }

 private:
  int fd_;
};

}  // namespace

std::string ExecInfoJson(const ExecConfig& exec, const ClusterConfig& cluster) {
  nlohmann::json spec = {{"interactive", false}};
  if (exec.provide_cluster_info) {
    nlohmann::json c = {{"server", cluster.server}};
    if (!cluster.ca_pem.empty()) c["certificate-authority-data"] = Base64Encode(cluster.ca_pem);
    if (cluster.insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
    spec["cluster"] = c;
  }
  return nlohmann::json{
      {"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}}
      .dump();
}

base::Result<ExecCredential> ParseExecCredential(std::string_view out, const ExecConfig& exec) {
  // Never quote `out`: it holds the credential.
  auto j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  const std::string name = PluginName(exec);
  if (!j.is_object() || j.value("kind", "") != "ExecCredential") {
    return Error(Code::kUnauthenticated, name + " did not print an ExecCredential JSON object");
  }
  std::string version = j.value("apiVersion", "");
  if (version != exec.api_version) {
    return Error(Code::kUnauthenticated, name + " printed an ExecCredential of apiVersion '" +
                                             version + "', but the kubeconfig asks for '" +
                                             exec.api_version + "'");
  }
  auto status = j.find("status");
  if (status == j.end() || !status->is_object()) {
    return Error(Code::kUnauthenticated, name + " printed an ExecCredential without a status");
  }
  auto str = [&status](const char* k) {
    auto it = status->find(k);
    return it != status->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ExecCredential c;
  c.token = str("token");
  c.client_cert_pem = str("clientCertificateData");
  c.client_key_pem = str("clientKeyData");
  base::RegisterSecret(c.token);
  base::RegisterSecret(c.client_key_pem);
  if (c.client_cert_pem.empty() != c.client_key_pem.empty()) {
    return Error(Code::kUnauthenticated,
                 name + " printed clientCertificateData without clientKeyData, or the reverse");
  }
  if (c.token.empty() && c.client_cert_pem.empty()) {
    return Error(Code::kUnauthenticated,
                 name + " printed an ExecCredential with neither a token nor a client certificate");
  }
  if (std::string exp = str("expirationTimestamp"); !exp.empty()) {
    auto t = base::ParseRfc3339(exp);
    if (!t.ok()) {
      return Error(Code::kUnauthenticated,
                   name + " printed an invalid expirationTimestamp '" + exp + "'");
    }
    c.expiry = *t;
  }
  return c;
}

namespace {

// argv and envp of a plugin run: our environment, then the kubeconfig's (overriding), then
// KUBERNETES_EXEC_INFO.
struct PluginCommand {
  std::vector<std::string> args, env;
  std::vector<char*> argv, envp;
};

void BuildCommand(const ClusterConfig& cluster, PluginCommand* cmd) {
  const ExecConfig& exec = *cluster.exec;
  auto overridden = [&exec](std::string_view entry) {
    if (entry.rfind("KUBERNETES_EXEC_INFO=", 0) == 0) return true;
    for (const auto& [k, v] : exec.env) {
      if (entry.size() > k.size() && entry.rfind(k, 0) == 0 && entry[k.size()] == '=') return true;
    }
    return false;
  };
  for (char** e = environ; e && *e; ++e) {
    if (!overridden(*e)) cmd->env.emplace_back(*e);
  }
  for (const auto& [k, v] : exec.env) cmd->env.push_back(k + "=" + v);
  cmd->env.push_back("KUBERNETES_EXEC_INFO=" + ExecInfoJson(exec, cluster));
  for (auto& e : cmd->env) cmd->envp.push_back(e.data());
  cmd->envp.push_back(nullptr);
  cmd->args = {exec.command};
  cmd->args.insert(cmd->args.end(), exec.args.begin(), exec.args.end());
  for (auto& a : cmd->args) cmd->argv.push_back(a.data());
  cmd->argv.push_back(nullptr);
}

// How a plugin run ended while its output was read.
enum class Stop { kExited, kTimeout, kDeadline, kCancelled, kTooLarge };

// Reads stdout and stderr until both close or a limit stops the plugin. Polls in slices of
// 100 ms so a cancel is seen promptly.
Stop ReadOutput(Fd& out_r, Fd& err_r, const ExecLimits& limits, std::string* out,
                std::string* err) {
  using Steady = std::chrono::steady_clock;
  const auto start = Steady::now();
  const auto own_end = start + limits.timeout;
  while (out_r.get() >= 0 || err_r.get() >= 0) {
    const auto now = Steady::now();
    if (limits.cancel && limits.cancel->load()) return Stop::kCancelled;
    auto run_left = limits.deadline ? limits.deadline->Left(now) : std::nullopt;
    if (run_left && run_left->count() <= 0 && now < own_end) return Stop::kDeadline;
    if (now >= own_end) return Stop::kTimeout;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(own_end - now);
    if (run_left) left = std::min(left, *run_left);
    left = std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(100));
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Stop::kExited;
    Fd* owners[2] = {&out_r, &err_r};
    std::string* sinks[2] = {out, err};
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        owners[i]->Reset();
        continue;
      }
      if (sinks[i]->size() + got > kMaxOutput) return Stop::kTooLarge;
      sinks[i]->append(buf, static_cast<size_t>(got));
    }
  }
  return Stop::kExited;
}

// The error of a plugin that was stopped, or that exited with a failure; Ok when it succeeded.
base::Status PluginFailure(const ExecConfig& exec, const std::string& what, Stop stop, int wstatus,
                           const ExecLimits& limits, const std::string& err) {
  switch (stop) {
    case Stop::kTimeout:
      return Error(Code::kDeadlineExceeded, what + " did not finish within " +
                                                base::FormatDuration(limits.timeout) + "; killed");
    case Stop::kDeadline:
      return Error(Code::kDeadlineExceeded,
                   what + " was still running at the run's deadline (--timeout); killed");
    case Stop::kCancelled:
      return Error(Code::kCancelled, what + " was running when the run was cancelled; killed");
    case Stop::kTooLarge: return Error(Code::kUnauthenticated, what + " printed more than 1 MiB");
    case Stop::kExited: break;
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return base::Status::Ok();
  std::string how = WIFEXITED(wstatus) ? "exit status " + std::to_string(WEXITSTATUS(wstatus))
                                       : "signal " + std::to_string(WTERMSIG(wstatus));
  std::string tail = StderrTail(err);
  base::Status st = Error(Code::kUnauthenticated,
                          what + " failed with " + how + (tail.empty() ? "" : ": " + tail));
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127 && !exec.install_hint.empty()) {
    st.WithHint(exec.install_hint);
  }
  return st;
}

}  // namespace

base::Result<ExecCredential> RunExecPlugin(const ClusterConfig& cluster, const ExecLimits& limits) {
  const ExecConfig& exec = *cluster.exec;
  const std::string name = PluginName(exec);
  const std::string what = name + " for context \"" + cluster.context + "\"";
  auto run_left =
      limits.deadline ? limits.deadline->Left(std::chrono::steady_clock::now()) : std::nullopt;
  if (run_left && run_left->count() <= 0) {
    return Error(Code::kDeadlineExceeded, what + " not run: the run's deadline (--timeout) passed");
  }
  PluginCommand cmd;
  BuildCommand(cluster, &cmd);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    return Error(Code::kInternal, "unable to run " + name + ": pipe: " + std::strerror(errno));
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Error(Code::kInternal, "unable to run " + name + ": pipe: " + std::strerror(errno));
  }
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  // Its own process group: a stopped plugin is killed with whatever it started.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, exec.command.c_str(), &fa, &attr, cmd.argv.data(), cmd.envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  out_w.Reset();
  err_w.Reset();
  if (rc != 0) {
    base::Status st =
        Error(Code::kUnauthenticated, "unable to run " + what + ": " + std::strerror(rc));
    if (!exec.install_hint.empty()) st.WithHint(exec.install_hint);
    return st;
  }
  std::string out, err;
  Stop stop = ReadOutput(out_r, err_r, limits, &out, &err);
  if (stop != Stop::kExited) kill(-pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  RETURN_IF_ERROR(PluginFailure(exec, what, stop, wstatus, limits, err));
  if (!err.empty())
    base::LogDebug("exec plugin stderr", {{"plugin", exec.command}, {"stderr", StderrTail(err)}});
  auto cred = ParseExecCredential(out, exec);
  if (!cred.ok()) return cred.status().Wrap("context \"" + cluster.context + "\"");
  return cred;
}

}  // namespace cairn::kube
