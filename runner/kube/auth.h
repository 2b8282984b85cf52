// kube/auth: the credentials of each request, kept fresh.
//
// Sources, in client-go's order of precedence: a static token; a token file, re-read whenever
// the file changes (inode, size or mtime: kubelet rotates projected tokens by swapping a
// symlink); an exec plugin, run on first use and again once its credential has expired or the
// server answered 401. The client certificate is the kubeconfig's, or the exec plugin's when
// it gives one; `generation` changes with it so the caller can rebuild its TLS client.
// Thread-safe: concurrent callers share one plugin run.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "kube/config.h"
#include "kube/exec_credential.h"

namespace cairn::kube {

class Auth {
 public:
  using ExecRunner = std::function<base::Result<ExecCredential>(const ClusterConfig&)>;

  // `run_exec` defaults to RunExecPlugin under `limits` (the run's deadline and cancel flag).
  Auth(const ClusterConfig& cfg, base::Clock& clock, ExecRunner run_exec = nullptr,
       ExecLimits limits = {});

  // The bearer token for the next attempt, "" when the config has none.
  base::Result<std::string> BearerToken();

  struct ClientCert {
    std::string cert_pem, key_pem;
    uint64_t generation = 0;
  };
  base::Result<ClientCert> Cert();

  // After a 401: drops the cached exec credential and token file content. True when a retry can
  // present a different credential (token file or exec plugin), i.e. a retry is worth it.
  bool Invalidate();

  // How many times the exec plugin ran (tests and debug logs).
  int exec_runs() const;

 private:
  base::Status RefreshExecLocked();
  base::Status ReadTokenFileLocked();

  const ClusterConfig& cfg_;
  base::Clock& clock_;
  ExecRunner run_exec_;
  mutable std::mutex mu_;
  std::optional<ExecCredential> exec_cred_;
  int exec_runs_ = 0;
  uint64_t cert_generation_ = 0;
  std::string file_token_;
  bool file_read_ = false;
  ino_t file_ino_ = 0;
  off_t file_size_ = 0;
  int64_t file_mtime_ns_ = 0;
};

}  // namespace cairn::kube
