#include "kube/auth.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/log.h"

namespace cairn::kube {

Auth::Auth(const ClusterConfig& cfg, base::Clock& clock, ExecRunner run_exec, ExecLimits limits)
    : cfg_(cfg), clock_(clock), run_exec_(std::move(run_exec)) {
  if (!run_exec_) {
    run_exec_ = [limits](const ClusterConfig& c) { return RunExecPlugin(c, limits); };
  }
}

base::Status Auth::RefreshExecLocked() {
  bool valid = exec_cred_ && (!exec_cred_->expiry || clock_.Now() < *exec_cred_->expiry);
  if (valid) return base::Status::Ok();
  auto cred = run_exec_(cfg_);
  ++exec_runs_;
  if (!cred.ok()) return cred.status();
  base::LogDebug("exec credential obtained",
                 {{"plugin", cfg_.exec->command},
                  {"expires", cred->expiry ? base::FormatRfc3339(*cred->expiry) : "never"}});
  if (!exec_cred_ || exec_cred_->client_cert_pem != cred->client_cert_pem ||
      exec_cred_->client_key_pem != cred->client_key_pem) {
    ++cert_generation_;
  }
  exec_cred_ = std::move(cred).value();
  return base::Status::Ok();
}

base::Status Auth::ReadTokenFileLocked() {
  struct stat st;
  if (stat(cfg_.token_file.c_str(), &st) != 0) {
    if (file_read_) return base::Status::Ok();  // mid-rotation: keep the last token
    return base::Error(
        base::Code::kUnauthenticated,
        "unable to read token file '" + cfg_.token_file + "': " + std::strerror(errno));
  }
  int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (file_read_ && st.st_ino == file_ino_ && st.st_size == file_size_ &&
      mtime_ns == file_mtime_ns_) {
    return base::Status::Ok();
  }
  std::ifstream in(cfg_.token_file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in) {
    if (file_read_) return base::Status::Ok();
    return base::Error(base::Code::kUnauthenticated,
                       "unable to read token file '" + cfg_.token_file + "'");
  }
  std::string t = ss.str();
  size_t b = t.find_first_not_of(" \t\r\n");
  size_t e = t.find_last_not_of(" \t\r\n");
  t = b == std::string::npos ? "" : t.substr(b, e - b + 1);
  base::RegisterSecret(t);
  if (file_read_ && t != file_token_) {
    base::LogDebug("token file changed; using the new token", {{"file", cfg_.token_file}});
  }
  file_token_ = std::move(t);
  file_read_ = true;
  file_ino_ = st.st_ino;
  file_size_ = st.st_size;
  file_mtime_ns_ = mtime_ns;
  return base::Status::Ok();
}

base::Result<std::string> Auth::BearerToken() {
  if (!cfg_.token.empty()) return cfg_.token;
  std::lock_guard<std::mutex> l(mu_);
  if (!cfg_.token_file.empty()) {
    RETURN_IF_ERROR(ReadTokenFileLocked());
    return file_token_;
  }
  if (cfg_.exec) {
    RETURN_IF_ERROR(RefreshExecLocked());
    return exec_cred_->token;
  }
  return std::string();
}

base::Result<Auth::ClientCert> Auth::Cert() {
  if (!cfg_.exec || !cfg_.client_cert_pem.empty()) {
    return ClientCert{cfg_.client_cert_pem, cfg_.client_key_pem, 0};
  }
  std::lock_guard<std::mutex> l(mu_);
  // A plugin that gives tokens is run by BearerToken() when a request first needs one; one
  // that gives certificates must run before the connection is made.
  if (!cfg_.token.empty() || !cfg_.token_file.empty()) return ClientCert{};
  RETURN_IF_ERROR(RefreshExecLocked());
  return ClientCert{exec_cred_->client_cert_pem, exec_cred_->client_key_pem, cert_generation_};
}

bool Auth::Invalidate() {
  if (!cfg_.token.empty()) return false;
  std::lock_guard<std::mutex> l(mu_);
  if (!cfg_.token_file.empty()) {
    file_read_ = false;  // re-read even if the stat looks the same
    return true;
  }
  if (cfg_.exec) {
    exec_cred_.reset();
    return true;
  }
  return false;
}

int Auth::exec_runs() const {
  std::lock_guard<std::mutex> l(mu_);
  return exec_runs_;
}

}  // namespace cairn::kube
