// config/cli: from argv and the config file to the settings one run uses.
//
// Every executable does the same four steps:
//   FlagSet flags("vault-check", "proves a vault usable");   // common flags included
//   flags.AddBool("init", "...");                             // its own flags
//   ASSIGN_OR_RETURN(ParsedFlags parsed, flags.Parse(argc, argv));
//   ASSIGN_OR_RETURN(CommonFlags common, GetCommonFlags(parsed));
//   ASSIGN_OR_RETURN(std::optional<Config> cfg, LoadConfigForFlags(common));
//   ASSIGN_OR_RETURN(ResolvedVault vault, ResolveVault(cfg ? &*cfg : nullptr, common));
//   ResolvedSettings settings = ResolveSettings(cfg ? &*cfg : nullptr, common);
// Precedence is always: flag, then config key, then built-in default. Every error here is an
// invalid invocation (kInvalidArgument: exit code 2), except kInternal for a FlagSet bug.
// Environment variables (AWS_REGION, AWS_ENDPOINT_URL, AWS_CA_BUNDLE) are not read here: the
// S3 driver applies them to whatever this leaves empty.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "config/config.h"
#include "config/flags.h"

namespace cairn::config {

// The common flags as given; empty / nullopt when absent.
struct CommonFlags {
  std::string config_path;                // --config
  std::string vault;                      // --vault
  std::string url;                        // --url
  std::string endpoint;                   // --endpoint
  std::string region;                     // --region
  std::optional<bool> path_style;         // --path-style[=true|false]
  std::string ca_file;                    // --ca-file
  std::string kubeconfig;                 // --kubeconfig
  std::string context;                    // --context
  std::optional<int> kube_qps;            // --kube-qps
  std::optional<int> kube_burst;          // --kube-burst
  std::string output;                     // --output text|json
  std::string log_format;                 // --log-format text|json
  std::string pushgateway;                // --pushgateway
  std::string metrics_file;               // --metrics-file
  std::optional<base::Duration> timeout;  // --timeout
  // --retry-timeout
  std::optional<base::Duration> retry_timeout;
  bool dry_run = false;
  bool help = false;
  bool version = false;
};

// Extracts the common flags and checks the values a FlagSet cannot (URLs, the vault name).
base::Result<CommonFlags> GetCommonFlags(const ParsedFlags& flags);

// --config FILE must exist and parse. Without it, `default_path` is loaded when it exists and
// otherwise there is no config (nullopt); a default file that exists but is broken is an error.
base::Result<std::optional<Config>> LoadConfigForFlags(
    const CommonFlags& flags, std::string_view default_path = kDefaultConfigPath);

struct ResolvedVault {
  VaultConfig vault;   // merged settings; vault.location is the parsed URL
  std::string source;  // how it was chosen, for logs: "--url", "--vault main", "defaults.vault"...
};

// Picks the vault of this run, first match wins:
//   1. --url: an ad-hoc vault named "default", or named by --vault when that is also given (if
//      the config defines that name, its settings are the base and --url replaces its url);
//   2. --vault NAME: must be defined in the config (the error lists the defined names);
//   3. defaults.vault from the config;
//   4. the only vault the config defines;
//   otherwise "no vault given: ...". Then --endpoint, --region, --path-style and --ca-file
// replace the vault's keys. `cfg` is null when there is no config file.
base::Result<ResolvedVault> ResolveVault(const Config* cfg, const CommonFlags& flags);

// Everything but the vault, merged the same way (flag, then config, then default).
struct ResolvedSettings {
  std::string output = "text";
  std::string log_format = "text";
  std::string pushgateway;
  std::string metrics_file;
  std::optional<base::Duration> timeout;
  base::Duration retry_timeout = kDefaultRetryTimeout;  // per request, within `timeout`
  bool retry_timeout_given = false;  // set by [defaults] retry_timeout or --retry-timeout
  std::string kubeconfig;
  std::string context;
  int kube_qps = kDefaultKubeQps;
  int kube_burst = kDefaultKubeBurst;
  bool dry_run = false;
};

ResolvedSettings ResolveSettings(const Config* cfg, const CommonFlags& flags);

}  // namespace cairn::config
