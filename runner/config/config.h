// config/config: the cairn TOML config file (/etc/cairn/cairn.toml) as typed, validated structs.
//
// Contract: LoadConfig/ParseConfig either return a Config in which every value has been checked
// (types, enums, sizes, URLs, vault names, defaults.vault and policies.NAME.vault naming a
// defined vault, policies as config/policy.h describes, restores.NAME.vault naming a defined vault
// and restore policies as config/restore_policy.h describes), or
// kInvalidArgument listing every problem found, one per line, in file order, each as
// "FILE:LINE:COLUMN: KEY.PATH: what is wrong" (unknown keys: "unknown key 'a.b' (did you mean
// 'c'?)"; TOML syntax errors carry toml++'s position). Keys absent from the file keep the
// defaults below. Flags are merged on top of a Config in config/cli.h, never here.
// Paths in the file (ca_file, credentials_file, ...) are kept as written.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"
#include "config/policy.h"
#include "config/provisioners.h"
#include "config/restore_policy.h"
#include "config/values.h"

namespace cairn::config {

inline constexpr std::string_view kDefaultConfigPath = "/etc/cairn/cairn.toml";

inline constexpr uint64_t kMinPartSize = uint64_t{5} << 20;  // S3's minimum part size
inline constexpr uint64_t kMaxPartSize = uint64_t{5} << 30;  // S3's maximum part size
// Memory of an upload is about (parallel_parts + 1) * part_size; these defaults keep a backup
// run under its 64 MiB target with zstd's workers (scripts/bench upload measures it).
inline constexpr uint64_t kDefaultPartSize = uint64_t{8} << 20;
inline constexpr int kMaxParallelParts = 64;
inline constexpr int kDefaultParallelParts = 2;

// How long a request is retried (S3, Kubernetes API) when [defaults] retry_timeout and
// --retry-timeout are not given: a storage or API server outage shorter than this is ridden out.
inline constexpr base::Duration kDefaultRetryTimeout = std::chrono::minutes(5);

// [defaults]
struct Defaults {
  std::string vault;                      // vault used when neither --vault nor --url is given
  std::string output = "text";            // text|json
  std::string log_format = "text";        // text|json
  std::string pushgateway;                // http(s) URL; empty: no push
  std::string metrics_file;               // node-exporter textfile; empty: none
  std::optional<base::Duration> timeout;  // whole-run deadline; unset: none
  // How long one request is retried through failures and outages; unset: kDefaultRetryTimeout.
  std::optional<base::Duration> retry_timeout;
};

// [vaults.NAME]
struct VaultConfig {
  std::string name;      // NAME: [a-z0-9][-a-z0-9]*
  std::string url;       // s3://BUCKET[/PREFIX] or file:///PATH, as written (required)
  std::string endpoint;  // http(s) URL of a non-AWS S3 service; empty: AWS
  std::string region;
  std::string ca_file;           // extra CA bundle for the endpoint
  std::string credentials_file;  // AWS-style INI file; empty: the AWS environment variables
  std::string profile;           // section of credentials_file; empty: "default"
  std::string storage_class;     // empty: the service's default
  std::string oss_network;       // internal|public, or empty (Alibaba OSS endpoint selection)
  std::string payload_signing = "signed";      // signed|unsigned
  std::optional<bool> path_style;              // unset: the driver decides from the endpoint
  uint64_t part_size = kDefaultPartSize;       // multipart part size, 5MiB..5GiB
  int parallel_parts = kDefaultParallelParts;  // parts in flight, 1..64
  bool insecure_skip_tls_verify = false;
  std::string origin;  // "FILE:LINE" where the vault is defined; empty if ad hoc

  VaultUrl location;  // `url` parsed (filled by the config loader and ResolveVault)
};

// [kubernetes]
// The client-side rate limit of every cairn client (a token bucket: `qps` requests per second
// on average, bursts of `burst`). The API server's own priority and fairness still applies;
// raising these mostly speeds up restores, which write one object per request.
inline constexpr int kDefaultKubeQps = 50;
inline constexpr int kDefaultKubeBurst = 100;
inline constexpr int kMaxKubeQps = 10000;

struct KubernetesConfig {
  std::string kubeconfig;         // empty: in-cluster service account, then $KUBECONFIG
  std::string context;            // empty: the kubeconfig's current context
  int qps = kDefaultKubeQps;      // 1..kMaxKubeQps
  int burst = kDefaultKubeBurst;  // 1..kMaxKubeQps
};

// [metrics]: where a run's metrics go (report/metrics.h). `pushgateway` wins over [defaults]
// pushgateway; --pushgateway wins over both. Credentials are files (a mounted Secret): the
// basic auth file holds "user:password", the bearer token file the token.
inline constexpr int kDefaultFailureInfoLimit = 10;
struct MetricsConfig {
  std::string pushgateway;                            // http(s) URL; empty: [defaults] pushgateway
  std::string basic_auth_file;                        // empty: none
  std::string bearer_token_file;                      // empty: none; wins over basic_auth_file
  std::optional<base::Duration> push_timeout;         // one push with retries; unset: 5s
  int failure_info_limit = kDefaultFailureInfoLimit;  // cairn_backup_failure_info series
  bool kubedr_metrics = true;                         // the kubedr_* families
};

struct Config {
  Defaults defaults;
  MetricsConfig metrics;
  std::map<std::string, VaultConfig> vaults;  // by name
  KubernetesConfig kubernetes;
  std::map<std::string, BackupPolicy> policies;  // [policies.NAME] (config/policy.h), by name
  // [restores.NAME] (config/restore_policy.h), by name; SelectRestorePolicy picks one.
  std::map<std::string, RestorePolicy> restores;
  // [provisioners."NAME"] (config/provisioners.h): convert-run's provisioner capabilities.
  std::map<std::string, ProvisionerConfig> provisioners;
  std::string path;  // the file it came from (as given to LoadConfig / ParseConfig)
};

// Reads and parses `path`. A missing file is kNotFound; unreadable is kInvalidArgument.
base::Result<Config> LoadConfig(const std::string& path);

// Parses config text; `path_for_messages` prefixes every error and becomes Config::path.
base::Result<Config> ParseConfig(std::string_view text, const std::string& path_for_messages);

// The policy of a run (--policy NAME): [policies.NAME] of `cfg` (kInvalidArgument naming the
// defined policies when there is none), or for an empty `name` an ad-hoc policy with the
// built-in defaults and [defaults] timeout. `cfg` is null when there is no config file.
base::Result<BackupPolicy> SelectPolicy(const Config* cfg, std::string_view name);

// The error for `--policy NAME` when `cfg` (null: no config file) defines no such `what`
// ("policy", "restore policy"); `defined` lists the names it has, `none` ends the message when
// there are none. Shared by SelectPolicy and SelectRestorePolicy.
base::Status UnknownPolicy(const Config* cfg, std::string_view name, std::string_view what,
                           std::string_view none, const std::vector<std::string_view>& defined);

}  // namespace cairn::config
