#include "kube/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "base/log.h"
#include "kube/base64.h"

namespace cairn::kube {
namespace {

using base::Code;
using base::Error;
using base::Result;
using base::Status;

constexpr char kDefaultSaDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

// The whole file; the error message is strerror's ("No such file or directory", "Is a
// directory", "Permission denied").
Result<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(Code::kNotFound, std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    close(fd);
    return Error(Code::kNotFound, std::strerror(EISDIR));
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Error(Code::kNotFound, std::strerror(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string DirOf(const std::string& file) {
  size_t slash = file.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : file.substr(0, slash);
}

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return dir + "/" + path;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// yaml-cpp accessors that never throw for a missing or mistyped key.
std::string Str(const YAML::Node& n, const char* key) {
  if (!n.IsDefined() || !n.IsMap()) return "";  // IsMap throws on a node that is not there
  const YAML::Node v = n[key];
  return v && v.IsScalar() ? v.Scalar() : "";
}

bool Bool(const YAML::Node& n, const char* key) {
  std::string v = Str(n, key);
  return v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "on";
}

// One named entry of clusters/users/contexts, the file that defined it (relative paths
// resolve against that file's directory), where in it ("users[0].user") and what it is
// ("user \"u\""), for messages.
struct Entry {
  YAML::Node body;
  std::string file;
  std::string field;
  std::string label;
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::vector<std::string> context_names;  // in file order, for messages
  std::string current_context;
  std::vector<std::string> files;  // those actually read
};

Status AddEntries(const YAML::Node& root, const char* list, const char* body_key,
                  const std::string& file, std::map<std::string, Entry>* out,
                  std::vector<std::string>* names) {
  const YAML::Node seq = root[list];
  if (!seq) return Status::Ok();
  if (!seq.IsSequence()) {
    return Error(Code::kInvalidArgument,
                 "kubeconfig '" + file + "': '" + list + "' must be a list");
  }
  size_t index = 0;
  for (const auto& item : seq) {
    const std::string field = std::string(list) + "[" + std::to_string(index++) + "]." + body_key;
    std::string name = Str(item, "name");
    if (name.empty()) {
      return Error(Code::kInvalidArgument, "kubeconfig '" + file + "': an entry of '" + list +
                                               "' has no name (line " +
                                               std::to_string(item.Mark().line + 1) + ")");
    }
    // An entry without its body ("contxt:" for "context:") has no settings, as in client-go;
    // a body that is not a mapping is refused here, where the entry is known.
    // (A node that is not there must not be assigned to: yaml-cpp throws.)
    const YAML::Node given = item[body_key];
    const YAML::Node body =
        given.IsDefined() && !given.IsNull() ? given : YAML::Node(YAML::NodeType::Map);
    if (!body.IsMap()) {
      return Error(Code::kInvalidArgument, "kubeconfig '" + file + "': " + field +
                                               ": must be a mapping (" + std::string(list) +
                                               " entry \"" + name + "\")");
    }
    // The first file that defines a name wins, as in client-go's merge.
    const std::string label = std::string(body_key) + " \"" + name + "\"";
    if (out->emplace(name, Entry{body, file, field, label}).second && names) {
      names->push_back(name);
    }
  }
  return Status::Ok();
}

Status ParseFile(const std::string& file, const std::string& text, Merged* m) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) return Status::Ok();  // an empty file merges as nothing
    if (!root.IsMap()) {
      return Error(Code::kInvalidArgument, "kubeconfig '" + file + "' is not a YAML mapping");
    }
    RETURN_IF_ERROR(AddEntries(root, "clusters", "cluster", file, &m->clusters, nullptr));
    RETURN_IF_ERROR(AddEntries(root, "users", "user", file, &m->users, nullptr));
    RETURN_IF_ERROR(AddEntries(root, "contexts", "context", file, &m->contexts, &m->context_names));
    if (m->current_context.empty()) m->current_context = Str(root, "current-context");
  } catch (const YAML::Exception& e) {
    return Error(Code::kInvalidArgument, "unable to parse kubeconfig '" + file + "': line " +
                                             std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return Status::Ok();
}

// A problem with the field `key` of `entry`, named as a path into the file: "kubeconfig 'F':
// users[0].user.client-key: <problem> (user "u" of context "c")". An invocation error.
Status FieldError(const Entry& entry, const std::string& key, const std::string& problem,
                  const std::string& context) {
  return Error(Code::kInvalidArgument, "kubeconfig '" + entry.file + "': " + entry.field + "." +
                                           key + ": " + problem + " (" + entry.label +
                                           " of context \"" + context + "\")");
}

// Reads the file a field names (already resolved against the kubeconfig's directory).
Result<std::string> ReadFieldFile(const Entry& entry, const std::string& key,
                                  const std::string& path, const std::string& context) {
  auto content = ReadFile(path);
  if (!content.ok()) {
    return FieldError(entry, key, "cannot read '" + path + "': " + content.status().message(),
                      context);
  }
  return std::move(content).value();
}

// Reads a PEM (or token) either inline from `<key>-data` (base64) or from the file `<key>`.
Result<std::string> DataOrFile(const YAML::Node& body, const std::string& key, const Entry& entry,
                               const std::string& context) {
  std::string data = Str(body, (key + "-data").c_str());
  if (!data.empty()) {
    auto decoded = Base64Decode(data);
    if (!decoded) return FieldError(entry, key + "-data", "not valid base64", context);
    return *decoded;
  }
  std::string path = Str(body, key.c_str());
  if (path.empty()) return std::string();
  return ReadFieldFile(entry, key, Resolve(DirOf(entry.file), path), context);
}

Result<ExecConfig> ParseExec(const YAML::Node& n, const Entry& entry, const std::string& what) {
  ExecConfig e;
  e.api_version = Str(n, "apiVersion");
  e.command = Str(n, "command");
  e.install_hint = Trim(Str(n, "installHint"));
  e.provide_cluster_info = Bool(n, "provideClusterInfo");
  if (e.command.empty()) {
    return Error(Code::kInvalidArgument, "exec plugin of " + what + " has no command");
  }
  if (Str(n, "interactiveMode") == "Always") {
    return Error(Code::kInvalidArgument,
                 "exec plugin of " + what +
                     " needs a terminal (interactiveMode: Always); cairn runs non-interactively")
        .WithHint("use a plugin mode that does not prompt, or a token or client certificate");
  }
  if (e.api_version != "client.authentication.k8s.io/v1" &&
      e.api_version != "client.authentication.k8s.io/v1beta1") {
    return Error(Code::kInvalidArgument, "exec plugin of " + what + " has apiVersion '" +
                                             e.api_version +
                                             "'; supported: client.authentication.k8s.io/v1, "
                                             "client.authentication.k8s.io/v1beta1");
  }
  // client-go resolves the command against the kubeconfig's directory only when it is a path
  // ("./bin/plugin"); a bare name is looked up in $PATH.
  if (e.command.find('/') != std::string::npos) e.command = Resolve(DirOf(entry.file), e.command);
  if (const YAML::Node args = n["args"]; args && args.IsSequence()) {
    for (const auto& a : args) e.args.push_back(a.IsScalar() ? a.Scalar() : "");
  }
  if (const YAML::Node env = n["env"]; env && env.IsSequence()) {
    for (const auto& v : env) e.env.emplace_back(Str(v, "name"), Str(v, "value"));
  }
  return e;
}

Status FillUser(const Entry& entry, const std::string& what, ClusterConfig* cfg) {
  const YAML::Node& u = entry.body;
  if (!u || u.IsNull()) return Status::Ok();
  const std::string& ctx = cfg->context;
  ASSIGN_OR_RETURN(cfg->client_cert_pem, DataOrFile(u, "client-certificate", entry, ctx));
  ASSIGN_OR_RETURN(cfg->client_key_pem, DataOrFile(u, "client-key", entry, ctx));
  if (cfg->client_cert_pem.empty() != cfg->client_key_pem.empty()) {
    return Error(Code::kInvalidArgument,
                 what + " has a client certificate without a key, or a key without a certificate");
  }
  base::RegisterSecret(cfg->client_key_pem);
  cfg->token = Trim(Str(u, "token"));
  base::RegisterSecret(cfg->token);
  if (std::string f = Str(u, "tokenFile"); !f.empty()) {
    cfg->token_file = Resolve(DirOf(entry.file), f);
    ASSIGN_OR_RETURN(std::string t, ReadFieldFile(entry, "tokenFile", cfg->token_file, ctx));
    base::RegisterSecret(Trim(t));
  }
  if (const YAML::Node exec = u["exec"]; exec && exec.IsMap()) {
    ASSIGN_OR_RETURN(cfg->exec, ParseExec(exec, entry, what));
  }
  if (const YAML::Node ap = u["auth-provider"]; ap && ap.IsMap()) {
    return Error(Code::kInvalidArgument, "auth-provider '" + Str(ap, "name") + "' of " + what +
                                             " is not supported (removed from client-go)")
        .WithHint("use an exec credential plugin (for GKE: gke-gcloud-auth-plugin)");
  }
  if (!Str(u, "username").empty() && cfg->token.empty() && cfg->client_cert_pem.empty() &&
      !cfg->exec) {
    return Error(Code::kInvalidArgument,
                 "basic authentication (username/password) of " + what + " is not supported")
        .WithHint("use a token, a client certificate or an exec credential plugin");
  }
  return Status::Ok();
}

}  // namespace

Result<ClusterConfig> LoadKubeconfig(const std::vector<std::string>& files,
                                     const std::string& context) {
  Merged m;
  std::vector<std::string> missing;
  for (const auto& f : files) {
    if (files.size() > 1 && !Exists(f)) {  // client-go skips missing files of a list
      missing.push_back(f);
      continue;
    }
    auto text = ReadFile(f);
    if (!text.ok()) {
      return Error(Code::kInvalidArgument,
                   "unable to read kubeconfig '" + f + "': " + text.status().message());
    }
    RETURN_IF_ERROR(ParseFile(f, *text, &m));
    m.files.push_back(f);
  }
  if (m.files.empty()) {
    return Error(Code::kInvalidArgument,
                 "none of the kubeconfig files exists: " + Join(missing, ":"));
  }
  const std::string source = Join(m.files, ":");
  const std::string name = context.empty() ? m.current_context : context;
  if (name.empty()) {
    return Error(Code::kInvalidArgument, "kubeconfig '" + source + "' has no current-context")
        .WithHint("pass --context (contexts: " + Join(m.context_names, ", ") + ")");
  }
  auto ctx = m.contexts.find(name);
  if (ctx == m.contexts.end()) {
    return Error(Code::kInvalidArgument,
                 "context \"" + name + "\" not found in kubeconfig '" + source + "'")
        .WithHint(m.context_names.empty() ? "the kubeconfig defines no contexts"
                                          : "contexts: " + Join(m.context_names, ", "));
  }
  ClusterConfig cfg;
  cfg.context = name;
  cfg.source = source;
  const std::string where = "(context \"" + name + "\", kubeconfig '" + ctx->second.file + "')";
  const YAML::Node& c = ctx->second.body;
  std::string cluster_name = Str(c, "cluster");
  std::string user_name = Str(c, "user");
  cfg.default_namespace = Str(c, "namespace");
  if (cfg.default_namespace.empty()) cfg.default_namespace = "default";

  auto cl = m.clusters.find(cluster_name);
  if (cluster_name.empty() || cl == m.clusters.end()) {
    return Error(Code::kInvalidArgument, "cluster \"" + cluster_name + "\" of context \"" + name +
                                             "\" not found in kubeconfig '" + source + "'");
  }
  const std::string cluster_what = "cluster \"" + cluster_name + "\" " + where;
  try {
    const YAML::Node& cb = cl->second.body;
    cfg.server = Str(cb, "server");
    while (!cfg.server.empty() && cfg.server.back() == '/') cfg.server.pop_back();
    if (cfg.server.empty()) {
      return Error(Code::kInvalidArgument, cluster_what + " has no server");
    }
    if (cfg.server.rfind("https://", 0) != 0 && cfg.server.rfind("http://", 0) != 0) {
      return Error(Code::kInvalidArgument,
                   "server '" + cfg.server + "' of " + cluster_what + " is not an http(s) URL");
    }
    cfg.insecure_skip_tls_verify = Bool(cb, "insecure-skip-tls-verify");
    for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
      if (!Str(cb, unsupported).empty()) {
        base::LogWarn(
            "kubeconfig setting not supported; ignored",
            {{"setting", unsupported}, {"cluster", cluster_name}, {"kubeconfig", source}});
      }
    }
    ASSIGN_OR_RETURN(cfg.ca_pem, DataOrFile(cb, "certificate-authority", cl->second, name));
    if (!user_name.empty()) {
      auto us = m.users.find(user_name);
      if (us == m.users.end()) {
        return Error(Code::kInvalidArgument, "user \"" + user_name + "\" of context \"" + name +
                                                 "\" not found in kubeconfig '" + source + "'");
      }
      RETURN_IF_ERROR(FillUser(us->second, "user \"" + user_name + "\" " + where, &cfg));
    }
  } catch (const YAML::Exception& e) {
    return Error(Code::kInvalidArgument, "unable to read context \"" + name + "\" of kubeconfig '" +
                                             source + "': " + e.msg);
  }
  return cfg;
}

Result<ClusterConfig> LoadInCluster() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    return Error(Code::kFailedPrecondition,
                 "not running in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  const char* dir_env = std::getenv("CAIRN_SA_DIR");
  const std::string dir = dir_env && *dir_env ? dir_env : kDefaultSaDir;
  ClusterConfig cfg;
  cfg.in_cluster = true;
  cfg.source = dir;
  std::string h = host;
  if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";  // IPv6
  cfg.server = "https://" + h + ":" + port;
  cfg.token_file = dir + "/token";
  auto token = ReadFile(cfg.token_file);
  if (!token.ok()) {
    return Error(Code::kFailedPrecondition, "unable to read the service account token '" +
                                                cfg.token_file + "': " + token.status().message())
        .WithHint(
            "the pod needs automountServiceAccountToken (or a projected token) "
            "to reach the Kubernetes API");
  }
  base::RegisterSecret(Trim(*token));
  auto ca = ReadFile(dir + "/ca.crt");
  if (ca.ok()) {
    cfg.ca_pem = std::move(ca).value();
  } else {
    base::LogWarn("no in-cluster CA certificate; verifying the API server with the system bundle",
                  {{"file", dir + "/ca.crt"}, {"error", ca.status().message()}});
  }
  auto ns = ReadFile(dir + "/namespace");
  cfg.default_namespace = ns.ok() ? Trim(*ns) : "";
  if (cfg.default_namespace.empty()) cfg.default_namespace = "default";
  return cfg;
}

Result<ClusterConfig> LoadClusterConfig(const LoadOptions& opts) {
  if (!opts.kubeconfig.empty()) return LoadKubeconfig({opts.kubeconfig}, opts.context);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::vector<std::string> files;
    std::stringstream ss(env);
    for (std::string f; std::getline(ss, f, ':');) {
      if (!f.empty()) files.push_back(f);
    }
    if (!files.empty()) return LoadKubeconfig(files, opts.context);
  }
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  if (host && *host && opts.context.empty()) return LoadInCluster();
  const char* home = std::getenv("HOME");
  std::string path = std::string(home ? home : "") + "/.kube/config";
  if (!home || !*home || !Exists(path)) {
    return Error(Code::kInvalidArgument,
                 "no kubernetes configuration: not running in a cluster and '" + path +
                     "' does not exist")
        .WithHint("pass --kubeconfig FILE or set KUBECONFIG");
  }
  return LoadKubeconfig({path}, opts.context);
}

}  // namespace cairn::kube
