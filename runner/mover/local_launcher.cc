// The local launcher: a mover Job's container run as a child process (`--local-volumes DIR`).
// Same spec as in a cluster; only the way it runs differs. The child's stderr goes to an
// unlinked temporary file, of which the last lines become the failure reason.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "mover/job_spec.h"
#include "mover/launcher.h"

extern char** environ;

namespace cairn::mover {
namespace {

using nlohmann::json;

constexpr size_t kReasonTail = 2048;  // bytes of stderr kept for the reason

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string TempDir() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != '\0' ? t : "/tmp";
}

std::string SelfDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

base::Status Errno(const std::string& what);

// mkdir -p, mode 0755.
base::Status MakeDirs(const std::string& path) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    const std::string part = path.substr(0, at);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      return Errno("unable to create the volume directory '" + part + "'");
    }
  }
  return base::Status::Ok();
}

base::Status Errno(const std::string& what) {
  return base::Error(base::Code::kInternal, what + ": " + std::strerror(errno));
}

struct Child {
  pid_t pid = -1;
  int stderr_fd = -1;
  std::string ca_file;  // private copy of the CA bundle, removed on Delete
  bool exited = false;
  int status = 0;
};

// What the child runs: argv and envp as strings, from the Job's only container.
struct Invocation {
  std::vector<std::string> argv, env;
};

base::Result<std::string> WriteCaFile(const std::string& pem) {
  std::string tmpl = TempDir() + "/cairn-mover-ca-XXXXXX";
  std::vector<char> path(tmpl.begin(), tmpl.end());
  path.push_back('\0');
  int fd = mkstemp(path.data());  // mode 0600
  if (fd < 0) return Errno("unable to create a temporary CA file for a local mover");
  bool ok = write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
  close(fd);
  if (!ok) return Errno("unable to write a temporary CA file for a local mover");
  return std::string(path.data());
}

std::vector<std::string> Environment(const json& container, const SecretData& secret) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const json& e : container.value("env", json::array())) {
    std::string name = Str(e, "name");
    std::string value = Str(e, "value");
    if (e.contains("valueFrom")) {
      auto it = secret.find(Str(e["valueFrom"].value("secretKeyRef", json::object()), "key"));
      if (it == secret.end()) continue;
      value = it->second;
    }
    if (name == "TMPDIR") continue;  // the parent's temporary directory, not the pod's /tmp
    env.push_back(name + "=" + value);
  }
  return env;
}

class LocalLauncher final : public Launcher {
 public:
  explicit LocalLauncher(std::string dir) : dir_(std::move(dir)) {}
  ~LocalLauncher() override {
    for (auto& [name, child] : children_) Kill(child);
  }

  base::Result<MoverId> Start(const json& job, const SecretData& secret) override {
    const json& meta = job.at("metadata");
    MoverId id{Str(meta, "namespace"), Str(meta, "name")};
    if (children_.count(id.name)) {
      return base::Error(base::Code::kAlreadyExists, "local mover '" + id.name + "' is running");
    }
    Child child;
    ASSIGN_OR_RETURN(Invocation inv, Prepare(job, secret, &child));
    base::Status st = Spawn(inv, &child);
    if (!st.ok()) {
      Kill(child);
      return st;
    }
    children_[id.name] = child;
    return id;
  }

  base::Result<MoverState> Poll(const MoverId& id) override {
    auto it = children_.find(id.name);
    if (it == children_.end()) {
      return base::Error(base::Code::kNotFound, "local mover '" + id.name + "' not found");
    }
    Child& c = it->second;
    MoverState s;
    s.node = "local";
    if (!c.exited) {
      pid_t r = waitpid(c.pid, &c.status, WNOHANG);
      if (r == 0) {
        s.phase = MoverState::Phase::kRunning;
        return s;
      }
      c.exited = true;
    }
    bool ok = WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0;
    s.phase = ok ? MoverState::Phase::kSucceeded : MoverState::Phase::kFailed;
    if (!ok) s.reason = ExitText(c.status) + StderrTail(c.stderr_fd);
    return s;
  }

  base::Status Delete(const MoverId& id) override {
    auto it = children_.find(id.name);
    if (it == children_.end()) return base::Status();
    Kill(it->second);
    children_.erase(it);
    return base::Status();
  }

 private:
  base::Result<Invocation> Prepare(const json& job, const SecretData& secret, Child* child) {
    const json& meta = job.at("metadata");
    const json& ann = meta.value("annotations", json::object());
    // The claim as mounted: the Job's namespace (a restore's target namespace) and the PVC.
    std::string volume = dir_ + "/" + Str(meta, "namespace") + "/" + Str(ann, kPvcAnnotation);
    // A restore's claim is new: its volume starts as an empty directory.
    const json& labels = meta.value("labels", json::object());
    if (Str(labels, "cairn.io/mover") == "restore") RETURN_IF_ERROR(MakeDirs(volume));
    const json& container = job.at("spec").at("template").at("spec").at("containers").at(0);
    Invocation inv;
    for (const json& a : container.value("command", json::array())) inv.argv.push_back(a);
    for (const json& a : container.value("args", json::array())) inv.argv.push_back(a);
    if (inv.argv.empty()) {
      return base::Error(base::Code::kInvalidArgument,
                         "mover Job '" + Str(meta, "name") + "' has no command");
    }
    if (inv.argv[0].find('/') == std::string::npos) inv.argv[0] = SelfDir() + "/" + inv.argv[0];
    auto ca = secret.find(kCaKey);
    if (ca != secret.end()) {
      ASSIGN_OR_RETURN(child->ca_file, WriteCaFile(ca->second));
    }
    for (size_t i = 1; i + 1 < inv.argv.size(); ++i) {
      if (inv.argv[i] == "--path") inv.argv[i + 1] = volume;
      if (inv.argv[i] == "--ca-file" && !child->ca_file.empty()) inv.argv[i + 1] = child->ca_file;
    }
    inv.env = Environment(container, secret);
    return inv;
  }

  base::Status Spawn(const Invocation& inv, Child* child) {
    std::string tmpl = TempDir() + "/cairn-mover-stderr-XXXXXX";
    child->stderr_fd = mkstemp(tmpl.data());
    if (child->stderr_fd < 0) return Errno("unable to create a stderr file for a local mover");
    unlink(tmpl.c_str());
    std::vector<char*> argv, envp;
    for (const auto& a : inv.argv) argv.push_back(const_cast<char*>(a.c_str()));
    for (const auto& e : inv.env) envp.push_back(const_cast<char*>(e.c_str()));
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return Errno("unable to start local mover '" + inv.argv[0] + "'");
    if (pid == 0) {
      setpgid(0, 0);
      dup2(child->stderr_fd, 2);
      dup2(child->stderr_fd, 1);  // as a pod's log: the parent's stdout stays its own
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      execve(argv[0], argv.data(), envp.data());
      dprintf(2, "unable to run '%s': %s\n", argv[0], std::strerror(errno));
      _exit(127);
    }
    setpgid(pid, pid);  // also here: no race with an early Kill
    child->pid = pid;
    return base::Status();
  }

  static std::string ExitText(int status) {
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "exit code " + std::to_string(WEXITSTATUS(status));
  }

  // The last lines of the child's stderr (at most kReasonTail bytes), for the reason.
  static std::string StderrTail(int fd) {
    if (fd < 0) return "";
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > static_cast<off_t>(kReasonTail) ? size - kReasonTail : 0;
    std::string buf(static_cast<size_t>(size - from), '\0');
    ssize_t n = pread(fd, buf.data(), buf.size(), from);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (from > 0 && buf.find('\n') != std::string::npos) buf.erase(0, buf.find('\n') + 1);
    while (!buf.empty() && (buf.back() == '\n' || buf.back() == ' ')) buf.pop_back();
    for (size_t p = buf.find('\n'); p != std::string::npos; p = buf.find('\n', p)) {
      buf.replace(p, 1, "; ");  // one line for the status
    }
    return buf.empty() ? "" : ": " + buf;
  }

  static void Kill(Child& c) {
    if (c.pid > 0 && !c.exited) {
      kill(-c.pid, SIGTERM);
      int waited = 0;
      while (waitpid(c.pid, &c.status, WNOHANG) == 0) {
        if (++waited > 50) {  // 5 s: the whole group, then reap
          kill(-c.pid, SIGKILL);
          waitpid(c.pid, &c.status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      c.exited = true;
    }
    if (c.stderr_fd >= 0) close(c.stderr_fd);
    c.stderr_fd = -1;
    if (!c.ca_file.empty()) unlink(c.ca_file.c_str());
    c.ca_file.clear();
  }

  std::string dir_;
  std::map<std::string, Child> children_;
};

}  // namespace

std::unique_ptr<Launcher> NewLocalLauncher(std::string volumes_dir) {
  return std::make_unique<LocalLauncher>(std::move(volumes_dir));
}

std::string JobVolume(const json& job) {
  const json& ann = job.value("metadata", json::object()).value("annotations", json::object());
  return Str(ann, kNamespaceAnnotation) + "/" + Str(ann, kPvcAnnotation);
}

}  // namespace cairn::mover
