#include "config/cli.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "config/suggest.h"

namespace cairn::config {
namespace {

using base::Code;
using base::Error;

constexpr std::string_view kNoVault =
    "no vault given: use --url s3://BUCKET/PREFIX or file:///PATH, or --vault NAME with --config";

base::Status FlagError(std::string_view flag, const base::Status& st) {
  return Error(Code::kInvalidArgument, "--" + std::string(flag) + ": " + st.message())
      .WithHint(st.hint());
}

std::string DefinedNames(const Config& cfg) {
  std::string out;
  for (const auto& [name, v] : cfg.vaults) out += (out.empty() ? "" : ", ") + name;
  return out;
}

base::Status CheckCommon(const CommonFlags& f) {
  if (!f.url.empty()) {
    base::Result<VaultUrl> u = ParseVaultUrl(f.url);
    if (!u.ok()) return FlagError("url", u.status());
  }
  if (!f.vault.empty()) {
    base::Status st = ValidateVaultName(f.vault);
    if (!st.ok()) return FlagError("vault", st);
  }
  if (!f.endpoint.empty()) {
    base::Status st = ValidateEndpointUrl(f.endpoint);
    if (!st.ok()) return FlagError("endpoint", st);
  }
  if (!f.pushgateway.empty()) {
    base::Status st = ValidateHttpUrl(f.pushgateway);
    if (!st.ok()) return FlagError("pushgateway", st);
  }
  return base::Status::Ok();
}

// Steps 1-4 of ResolveVault: which vault, before the flag overrides.
base::Result<ResolvedVault> PickVault(const Config* cfg, const CommonFlags& f) {
  ResolvedVault r;
  if (!f.url.empty()) {
    const std::string name = f.vault.empty() ? "default" : f.vault;
    if (cfg != nullptr && !f.vault.empty()) {
      auto it = cfg->vaults.find(f.vault);
      if (it != cfg->vaults.end()) r.vault = it->second;
    }
    r.vault.name = name;
    r.vault.url = f.url;
    r.source = f.vault.empty() ? "--url" : "--url with --vault " + f.vault;
    return r;
  }
  if (!f.vault.empty()) {
    if (cfg == nullptr) {
      return Error(Code::kInvalidArgument,
                   "--vault " + f.vault +
                       ": there is no config file to define it (use --config FILE, "
                       "or --url s3://BUCKET/PREFIX or file:///PATH)");
    }
    auto it = cfg->vaults.find(f.vault);
    if (it == cfg->vaults.end()) {
      std::vector<std::string_view> names;
      for (const auto& [name, v] : cfg->vaults) names.push_back(name);
      const std::string defined = DefinedNames(*cfg);
      return Error(Code::kInvalidArgument, "--vault " + f.vault + ": no vault '" + f.vault +
                                               "' in " + cfg->path + DidYouMean(f.vault, names) +
                                               (defined.empty() ? " (it defines no vaults)"
                                                                : " (defined: " + defined + ")"));
    }
    r.vault = it->second;
    r.source = "--vault " + f.vault;
    return r;
  }
  if (cfg != nullptr && !cfg->defaults.vault.empty()) {
    auto it = cfg->vaults.find(cfg->defaults.vault);
    if (it == cfg->vaults.end()) {  // ParseConfig rejects this; a hand-built Config may not
      return Error(Code::kInvalidArgument,
                   "defaults.vault '" + cfg->defaults.vault + "' is not defined in " + cfg->path);
    }
    r.vault = it->second;
    r.source = "defaults.vault in " + cfg->path;
    return r;
  }
  if (cfg != nullptr && cfg->vaults.size() == 1) {
    r.vault = cfg->vaults.begin()->second;
    r.source = "the only vault in " + cfg->path;
    return r;
  }
  base::Status st = Error(Code::kInvalidArgument, std::string(kNoVault));
  if (cfg != nullptr && !cfg->vaults.empty()) {
    st.WithHint(cfg->path + " defines " + DefinedNames(*cfg) +
                " and no defaults.vault: pick one with --vault NAME");
  }
  return st;
}

}  // namespace

base::Result<CommonFlags> GetCommonFlags(const ParsedFlags& p) {
  CommonFlags f;
  f.config_path = p.GetString("config");
  f.vault = p.GetString("vault");
  f.url = p.GetString("url");
  f.endpoint = p.GetString("endpoint");
  f.region = p.GetString("region");
  if (p.Has("path-style")) f.path_style = p.GetBool("path-style");
  f.ca_file = p.GetString("ca-file");
  f.kubeconfig = p.GetString("kubeconfig");
  f.context = p.GetString("context");
  if (p.Has("kube-qps")) f.kube_qps = static_cast<int>(p.GetInt("kube-qps"));
  if (p.Has("kube-burst")) f.kube_burst = static_cast<int>(p.GetInt("kube-burst"));
  f.output = p.GetString("output");
  f.log_format = p.GetString("log-format");
  f.pushgateway = p.GetString("pushgateway");
  f.metrics_file = p.GetString("metrics-file");
  f.timeout = p.GetDuration("timeout");
  f.retry_timeout = p.GetDuration("retry-timeout");
  f.dry_run = p.GetBool("dry-run");
  f.help = p.GetBool("help");
  f.version = p.GetBool("version");
  RETURN_IF_ERROR(CheckCommon(f));
  return f;
}

base::Result<std::optional<Config>> LoadConfigForFlags(const CommonFlags& flags,
                                                       std::string_view default_path) {
  if (!flags.config_path.empty()) {
    base::Result<Config> cfg = LoadConfig(flags.config_path);
    if (cfg.ok()) return std::optional<Config>(std::move(cfg).value());
    if (cfg.status().code() == Code::kNotFound) {
      return Error(Code::kInvalidArgument,
                   "--config: config file '" + flags.config_path + "' does not exist");
    }
    return cfg.status();
  }
  const std::string path(default_path);
  struct stat st;
  if (path.empty() || (::stat(path.c_str(), &st) != 0 && errno == ENOENT)) {
    return std::optional<Config>();
  }
  base::Result<Config> cfg = LoadConfig(path);
  if (cfg.ok()) return std::optional<Config>(std::move(cfg).value());
  if (cfg.status().code() == Code::kNotFound) return std::optional<Config>();  // removed meanwhile
  return Error(Code::kInvalidArgument, cfg.status().message())
      .WithHint("the default config " + path + " is read when --config is not given");
}

base::Result<ResolvedVault> ResolveVault(const Config* cfg, const CommonFlags& flags) {
  RETURN_IF_ERROR(CheckCommon(flags));
  ASSIGN_OR_RETURN(ResolvedVault r, PickVault(cfg, flags));
  if (!flags.endpoint.empty()) r.vault.endpoint = flags.endpoint;
  if (!flags.region.empty()) r.vault.region = flags.region;
  if (flags.path_style) r.vault.path_style = flags.path_style;
  if (!flags.ca_file.empty()) r.vault.ca_file = flags.ca_file;
  base::Result<VaultUrl> location = ParseVaultUrl(r.vault.url);
  if (!location.ok()) {
    return location.status().Wrap(r.vault.origin.empty() ? "vault '" + r.vault.name + "'"
                                                         : r.vault.origin);
  }
  r.vault.location = std::move(location).value();
  return r;
}

ResolvedSettings ResolveSettings(const Config* cfg, const CommonFlags& f) {
  ResolvedSettings s;
  if (cfg != nullptr) {
    s.output = cfg->defaults.output;
    s.log_format = cfg->defaults.log_format;
    s.pushgateway = cfg->defaults.pushgateway;
    s.metrics_file = cfg->defaults.metrics_file;
    s.timeout = cfg->defaults.timeout;
    if (cfg->defaults.retry_timeout) {
      s.retry_timeout = *cfg->defaults.retry_timeout;
      s.retry_timeout_given = true;
    }
    s.kubeconfig = cfg->kubernetes.kubeconfig;
    s.context = cfg->kubernetes.context;
    s.kube_qps = cfg->kubernetes.qps;
    s.kube_burst = cfg->kubernetes.burst;
  }
  if (!f.output.empty()) s.output = f.output;
  if (!f.log_format.empty()) s.log_format = f.log_format;
  if (!f.pushgateway.empty()) s.pushgateway = f.pushgateway;
  if (!f.metrics_file.empty()) s.metrics_file = f.metrics_file;
  if (f.timeout) s.timeout = f.timeout;
  if (f.retry_timeout) {
    s.retry_timeout = *f.retry_timeout;
    s.retry_timeout_given = true;
  }
  if (!f.kubeconfig.empty()) s.kubeconfig = f.kubeconfig;
  if (!f.context.empty()) s.context = f.context;
  if (f.kube_qps) s.kube_qps = *f.kube_qps;
  if (f.kube_burst) s.kube_burst = *f.kube_burst;
  s.dry_run = f.dry_run;
  return s;
}

}  // namespace cairn::config
