#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "config/quantity.h"
#include "config/toml_binder.h"
#include "config/volume_keys.h"

namespace cairn::config {
namespace {

using base::Code;
using base::Error;
using internal::Binder;
using internal::Field;

// Region, profile and storage class names: no whitespace, quotes or control characters; the
// services define the actual names, so anything else is passed through.
base::Status CheckToken(std::string_view v) {
  for (char c : v) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.') continue;
    return Error(Code::kInvalidArgument,
                 "invalid value '" + std::string(v) + "': only letters, digits, '-', '_' and '.'");
  }
  return base::Status::Ok();
}

base::Status CheckVaultName(std::string_view v) { return ValidateVaultName(v); }
base::Status CheckHttpUrl(std::string_view v) { return ValidateHttpUrl(v); }
base::Status CheckEndpointUrl(std::string_view v) { return ValidateEndpointUrl(v); }

// Function-local statics (never destroyed) keep the schema tables out of static init order.
const std::vector<Field<Defaults>>& DefaultsFields() {
  using namespace internal;  // NOLINT: the field factories
  static const auto* fields = new std::vector<Field<Defaults>>{
      StringField("vault", &Defaults::vault, CheckVaultName),
      EnumField("output", &Defaults::output, {"text", "json"}),
      EnumField("log_format", &Defaults::log_format, {"text", "json"}),
      StringField("pushgateway", &Defaults::pushgateway, CheckHttpUrl),
      StringField("metrics_file", &Defaults::metrics_file),
      DurationField("timeout", &Defaults::timeout),
      DurationField("retry_timeout", &Defaults::retry_timeout),
  };
  return *fields;
}

const std::vector<Field<MetricsConfig>>& MetricsFields() {
  using namespace internal;  // NOLINT: the field factories
  using M = MetricsConfig;
  static const auto* fields = new std::vector<Field<M>>{
      StringField("pushgateway", &M::pushgateway, CheckHttpUrl),
      StringField("basic_auth_file", &M::basic_auth_file),
      StringField("bearer_token_file", &M::bearer_token_file),
      DurationField("push_timeout", &M::push_timeout),
      IntField("failure_info_limit", &M::failure_info_limit, 0, 1000),
      BoolField("kubedr_metrics", &M::kubedr_metrics),
  };
  return *fields;
}

// `url` is stored as written and parsed into `location` in one step, so the two never disagree.
Field<VaultConfig> UrlField() {
  return {"url", [](const toml::node& n, VaultConfig& out, Binder&, const std::string&) {
            const auto* v = n.as_string();
            if (v == nullptr) return internal::TypeError("a string", n);
            ASSIGN_OR_RETURN(VaultUrl location, ParseVaultUrl(v->get()));
            out.url = v->get();
            out.location = std::move(location);
            return base::Status::Ok();
          }};
}

const std::vector<Field<VaultConfig>>& VaultFields() {
  using namespace internal;  // NOLINT: the field factories
  static const auto* fields = new std::vector<Field<VaultConfig>>{
      UrlField(),
      StringField("endpoint", &VaultConfig::endpoint, CheckEndpointUrl),
      StringField("region", &VaultConfig::region, CheckToken),
      OptionalBoolField("path_style", &VaultConfig::path_style),
      StringField("ca_file", &VaultConfig::ca_file),
      StringField("credentials_file", &VaultConfig::credentials_file),
      StringField("profile", &VaultConfig::profile, CheckToken),
      StringField("storage_class", &VaultConfig::storage_class, CheckToken),
      EnumField("oss_network", &VaultConfig::oss_network, {"internal", "public"}),
      EnumField("payload_signing", &VaultConfig::payload_signing, {"signed", "unsigned"}),
      SizeField("part_size", &VaultConfig::part_size, kMinPartSize, kMaxPartSize),
      IntField("parallel_parts", &VaultConfig::parallel_parts, 1, kMaxParallelParts),
      BoolField("insecure_skip_tls_verify", &VaultConfig::insecure_skip_tls_verify),
  };
  return *fields;
}

const std::vector<Field<KubernetesConfig>>& KubernetesFields() {
  using namespace internal;  // NOLINT: the field factories
  static const auto* fields = new std::vector<Field<KubernetesConfig>>{
      StringField("kubeconfig", &KubernetesConfig::kubeconfig),
      StringField("context", &KubernetesConfig::context),
      IntField("qps", &KubernetesConfig::qps, 1, kMaxKubeQps),
      IntField("burst", &KubernetesConfig::burst, 1, kMaxKubeQps),
  };
  return *fields;
}

// After a [vaults.NAME] table is bound: its identity, and the one required key.
void FinishVault(const internal::NamedEntry& entry, VaultConfig& vault, Binder& b) {
  vault.name = entry.name;
  vault.origin = b.Origin(entry.pos);
  if (!entry.table->contains("url")) {
    b.Add(entry.pos, entry.path,
          "missing required key 'url' (s3://BUCKET[/PREFIX] or file:///PATH)");
  }
}

// --- [policies.NAME] (config/policy.h defines the value languages) --------------------------

// An array of non-empty strings, each checked; a bad item is reported at its own position.
template <typename S>
Field<S> StringListField(std::string_view key, std::vector<std::string> S::*member,
                         internal::StringCheck check) {
  return {key, [member, check](const toml::node& n, S& out, Binder& b, const std::string& path) {
            const auto* arr = n.as_array();
            if (arr == nullptr) return internal::TypeError("an array of strings", n);
            std::vector<std::string> values;
            for (size_t i = 0; i < arr->size(); ++i) {
              const toml::node& item = *arr->get(i);
              const auto* s = item.as_string();
              base::Status st = s == nullptr ? internal::TypeError("a string", item)
                                : s->get().empty()
                                    ? Error(Code::kInvalidArgument, "must not be empty")
                                    : check(s->get());
              if (!st.ok()) {
                b.Add(internal::PositionOf(item.source()), path + "[" + std::to_string(i) + "]",
                      st.message());
                continue;
              }
              values.push_back(s->get());
            }
            out.*member = std::move(values);
            return base::Status::Ok();
          }};
}

Field<BackupPolicy> PolicyDurationField(std::string_view key,
                                        base::Duration BackupPolicy::*member) {
  return {key, [member](const toml::node& n, BackupPolicy& out, Binder&, const std::string&) {
            ASSIGN_OR_RETURN(out.*member, internal::PositiveDuration(n));
            return base::Status::Ok();
          }};
}

base::Status BindHeartbeatInterval(const toml::node& n, BackupPolicy& out, Binder&,
                                   const std::string&) {
  ASSIGN_OR_RETURN(out.heartbeat_interval, internal::PositiveDuration(n));
  return CheckHeartbeatInterval(out.heartbeat_interval);
}

Field<BackupPolicy> KeepField(std::string_view key, int Retention::*member) {
  return {key, [member](const toml::node& n, BackupPolicy& out, Binder&, const std::string&) {
            ASSIGN_OR_RETURN(int64_t v, internal::IntInRange(n, -1, kMaxKeepCount));
            out.retention.*member = static_cast<int>(v);
            return base::Status::Ok();
          }};
}

base::Status BindKeepWithin(const toml::node& n, BackupPolicy& out, Binder&, const std::string&) {
  ASSIGN_OR_RETURN(out.retention.keep_within, internal::PositiveDuration(n));
  return base::Status::Ok();
}

base::Status CheckSelector(std::string_view v) { return ParseLabelSelector(v).status(); }

// "auto" or a boolean, stored as "auto", "true" or "false".
base::Status BindClusterResources(const toml::node& n, BackupPolicy& out, Binder&,
                                  const std::string&) {
  if (const auto* b = n.as_boolean()) {
    out.include_cluster_resources = b->get() ? "true" : "false";
    return base::Status::Ok();
  }
  const auto* s = n.as_string();
  if (s == nullptr) return internal::TypeError("\"auto\", true or false", n);
  if (s->get() != "auto") {
    return Error(
        Code::kInvalidArgument,
        "invalid value '" + s->get() + "' (want \"auto\", true or false; booleans are not quoted)");
  }
  out.include_cluster_resources = "auto";
  return base::Status::Ok();
}

base::Status BindSchedule(const toml::node& n, BackupPolicy& out, Binder&, const std::string&) {
  const auto* s = n.as_string();
  if (s == nullptr) return internal::TypeError("a string", n);
  ASSIGN_OR_RETURN(out.schedule, ParseSchedule(s->get()));
  return base::Status::Ok();
}

const std::vector<Field<BackupPolicy>>& PolicyFields() {
  using namespace internal;  // NOLINT: the field factories
  static auto* fields = new std::vector<Field<BackupPolicy>>{
      StringField("vault", &BackupPolicy::vault, CheckVaultName),
      StringListField("include_namespaces", &BackupPolicy::include_namespaces,
                      ValidateNamespacePattern),
      StringListField("exclude_namespaces", &BackupPolicy::exclude_namespaces,
                      ValidateNamespacePattern),
      StringListField("include_resources", &BackupPolicy::include_resources, ValidateResourceName),
      StringListField("exclude_resources", &BackupPolicy::exclude_resources, ValidateResourceName),
      StringField("label_selector", &BackupPolicy::label_selector, CheckSelector),
      StringListField("or_label_selectors", &BackupPolicy::or_label_selectors, CheckSelector),
      {"include_cluster_resources", BindClusterResources},
      EnumField("api_versions", &BackupPolicy::api_versions, {"all", "preferred"}),
      PolicyDurationField("ttl", &BackupPolicy::ttl),
      PolicyDurationField("timeout", &BackupPolicy::timeout),
      {"schedule", BindSchedule},
      IntField("compression_level", &BackupPolicy::compression_level, kMinCompressionLevel,
               kMaxCompressionLevel),
      KeepField("keep_last", &Retention::keep_last),
      KeepField("keep_hourly", &Retention::keep_hourly),
      KeepField("keep_daily", &Retention::keep_daily),
      KeepField("keep_weekly", &Retention::keep_weekly),
      KeepField("keep_monthly", &Retention::keep_monthly),
      KeepField("keep_yearly", &Retention::keep_yearly),
      {"keep_within", BindKeepWithin},
      KeepField("keep_failed_last", &Retention::keep_failed_last),
      {"heartbeat_interval", BindHeartbeatInterval},
  };
  static const bool with_volume_keys = [] {
    const auto& volume = VolumePolicyFields();
    fields->insert(fields->end(), volume.begin(), volume.end());
    return true;
  }();
  (void)with_volume_keys;
  return *fields;
}

void FinishPolicy(const internal::NamedEntry& entry, BackupPolicy& policy, Binder& b) {
  policy.name = entry.name;
  policy.origin = b.Origin(entry.pos);
}

// --- [restores.NAME] (config/restore_policy.h defines the value languages) -------------------

// A key as it is written in a TOML key path: bare when it can be, else quoted.
std::string TomlKey(std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (bare) return std::string(key);
  std::string out = "\"";
  for (char c : key) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A table of FROM = "TO" pairs (usually inline: { shop = "shop-copy" }), kept in file order.
// A bad FROM is reported at its key, a bad TO at its value.
Field<RestorePolicy> MappingField(MappingKind kind, Mapping RestorePolicy::*member,
                                  std::string_view example) {
  const std::string want = "a table such as " + std::string(example);
  return {MappingKey(kind),
          [=](const toml::node& n, RestorePolicy& out, Binder& b, const std::string& path) {
            const auto* table = n.as_table();
            if (table == nullptr) return internal::TypeError(want, n);
            struct Entry {
              internal::Position key_pos, value_pos;
              std::string path;
              std::pair<std::string, std::string> pair;
            };
            std::vector<Entry> entries;
            for (auto&& [key, value] : *table) {
              Entry e{internal::PositionOf(key.source()),
                      internal::PositionOf(value.source()),
                      path + "." + TomlKey(key.str()),
                      {std::string(key.str()), ""}};
              const auto* s = value.as_string();
              if (s == nullptr) {
                b.Add(e.value_pos, e.path, internal::TypeError("a string", value).message());
                continue;
              }
              e.pair.second = s->get();
              entries.push_back(std::move(e));
            }
            // toml++ iterates in key order; the restore applies mappings in file order.
            std::stable_sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
              return std::pair(x.key_pos.line, x.key_pos.column) <
                     std::pair(y.key_pos.line, y.key_pos.column);
            });
            Mapping mapping;
            for (const Entry& e : entries) mapping.push_back(e.pair);
            for (const MappingProblem& p : CheckMapping(kind, mapping)) {
              const Entry& e = entries[p.index];
              b.Add(p.at_target ? e.value_pos : e.key_pos, e.path, p.message);
            }
            out.*member = std::move(mapping);
            return base::Status::Ok();
          }};
}

// An array of resource names, each at most once; problems at the item.
base::Status BindPriorities(const toml::node& n, RestorePolicy& out, Binder& b,
                            const std::string& path) {
  const auto* arr = n.as_array();
  if (arr == nullptr) return internal::TypeError("an array of strings", n);
  std::vector<std::string> values;
  std::vector<size_t> index;  // position in `arr` of values[i]
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& item = *arr->get(i);
    const auto* s = item.as_string();
    if (s == nullptr) {
      b.Add(internal::PositionOf(item.source()), path + "[" + std::to_string(i) + "]",
            internal::TypeError("a string", item).message());
      continue;
    }
    values.push_back(s->get());
    index.push_back(i);
  }
  for (const auto& [i, message] : CheckPriorities(values)) {
    b.Add(internal::PositionOf(arr->get(index[i])->source()),
          path + "[" + std::to_string(index[i]) + "]", message);
  }
  out.priorities = std::move(values);
  return base::Status::Ok();
}

const std::vector<Field<RestorePolicy>>& RestoreFields() {
  using namespace internal;  // NOLINT: the field factories
  using R = RestorePolicy;
  static auto* fields = new std::vector<Field<R>>{
      StringField("vault", &R::vault, CheckVaultName),
      StringListField("include_namespaces", &R::include_namespaces, ValidateNamespacePattern),
      StringListField("exclude_namespaces", &R::exclude_namespaces, ValidateNamespacePattern),
      StringListField("include_resources", &R::include_resources, ValidateResourceName),
      StringListField("exclude_resources", &R::exclude_resources, ValidateResourceName),
      StringField("label_selector", &R::label_selector, CheckSelector),
      MappingField(MappingKind::kNamespace, &R::namespace_mapping, "{ shop = \"shop-copy\" }"),
      MappingField(MappingKind::kStorageClass, &R::storage_class_mapping,
                   "{ standard = \"fast-ssd\" }"),
      MappingField(MappingKind::kAccessMode, &R::convert_to_access_modes,
                   "{ ReadWriteMany = \"ReadWriteOnce\" }"),
      MappingField(MappingKind::kImageRegistry, &R::image_registry_mapping,
                   "{ \"docker.io/library/\" = \"mirror.example.com/lib/\" }"),
      EnumField("existing_resource_policy", &R::existing_resource_policy, {"none", "update"}),
      EnumField("existing_data", &R::existing_data, {"empty", "overwrite"}),
      BoolField("preserve_node_ports", &R::preserve_node_ports),
      BoolField("restore_status", &R::restore_status),
      {"priorities", BindPriorities},
      IntField("restore_workers", &R::restore_workers, 1, kMaxRestoreWorkers),
      DurationField("timeout", &R::timeout),
  };
  static const bool with_mover_keys = [] {
    const auto& movers = RestoreMoverFields();
    fields->insert(fields->end(), movers.begin(), movers.end());
    return true;
  }();
  (void)with_mover_keys;
  return *fields;
}

void FinishRestore(const internal::NamedEntry& entry, RestorePolicy& policy, Binder& b) {
  policy.name = entry.name;
  policy.origin = b.Origin(entry.pos);
}

// --- [provisioners."NAME"] (config/provisioners.h) ------------------------------------------

const std::vector<Field<ProvisionerConfig>>& ProvisionerFields() {
  using namespace internal;  // NOLINT: the field factories
  using P = ProvisionerConfig;
  static const auto* fields = new std::vector<Field<P>>{
      OptionalBoolField("zonal", &P::zonal),
      OptionalBoolField("multi_node", &P::multi_node),
      OptionalBoolField("block_multi_attach", &P::block_multi_attach),
      {"min_size",
       [](const toml::node& n, P& out, Binder&, const std::string&) {
         const auto* v = n.as_string();
         if (v == nullptr) return TypeError("a string such as \"20Gi\"", n);
         ASSIGN_OR_RETURN(uint64_t bytes, ParseQuantity(v->get()));
         out.min_size = bytes;
         return base::Status::Ok();
       }},
  };
  return *fields;
}

void FinishProvisioner(const internal::NamedEntry& entry, ProvisionerConfig& p, Binder& b) {
  p.name = entry.name;
  p.origin = b.Origin(entry.pos);
}

std::string DefinedNames(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

const std::vector<Field<Config>>& RootFields() {
  using namespace internal;  // NOLINT: the field factories
  static const auto* fields = new std::vector<Field<Config>>{
      SectionField("defaults", &Config::defaults, &DefaultsFields()),
      NamedTablesField("vaults", &Config::vaults, &VaultFields(), CheckVaultName, FinishVault),
      SectionField("kubernetes", &Config::kubernetes, &KubernetesFields()),
      SectionField("metrics", &Config::metrics, &MetricsFields()),
      NamedTablesField("policies", &Config::policies, &PolicyFields(), ValidateBackupPolicyName,
                       FinishPolicy),
      NamedTablesField("restores", &Config::restores, &RestoreFields(), ValidatePolicyName,
                       FinishRestore),
      NamedTablesField("provisioners", &Config::provisioners, &ProvisionerFields(),
                       ValidateProvisionerName, FinishProvisioner),
  };
  return *fields;
}

// Checks that need the whole document.
void CrossCheck(const Config& cfg, Binder& b) {
  const std::string& want = cfg.defaults.vault;
  if (want.empty() || cfg.vaults.count(want) > 0) return;
  std::string defined;
  std::vector<std::string_view> names;
  for (const auto& [name, v] : cfg.vaults) {
    defined += (defined.empty() ? "" : ", ") + name;
    names.push_back(name);
  }
  const internal::Position pos = b.Find("defaults.vault").value_or(internal::Position{});
  b.Add(pos, "defaults.vault",
        "vault '" + want + "' is not defined" + DidYouMean(want, names) +
            (defined.empty() ? " (no [vaults.NAME] tables in this file)"
                             : " (defined: " + defined + ")"));
}

// After the whole file: policies.NAME.vault and restores.NAME.vault must name a defined vault,
// and a policy or restore without `timeout` takes [defaults] timeout.
void FinishPolicies(Config& cfg, Binder& b) {
  std::vector<std::string_view> vaults;
  for (const auto& [name, v] : cfg.vaults) vaults.push_back(name);
  auto check_vault = [&](const std::string& path, const std::string& vault) {
    if (vault.empty() || cfg.vaults.count(vault) > 0) return;
    b.Add(b.Find(path + ".vault").value_or(internal::Position{}), path + ".vault",
          "vault '" + vault + "' is not defined" + DidYouMean(vault, vaults) +
              (vaults.empty() ? " (no [vaults.NAME] tables in this file)"
                              : " (defined: " + DefinedNames(vaults) + ")"));
  };
  for (auto& [name, policy] : cfg.policies) {
    const std::string path = "policies." + name;
    if (!b.Find(path + ".timeout") && cfg.defaults.timeout) policy.timeout = *cfg.defaults.timeout;
    check_vault(path, policy.vault);
  }
  for (auto& [name, restore] : cfg.restores) {
    const std::string path = "restores." + name;
    if (!b.Find(path + ".timeout") && cfg.defaults.timeout) restore.timeout = cfg.defaults.timeout;
    check_vault(path, restore.vault);
  }
}

std::string LowerFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace

base::Result<Config> ParseConfig(std::string_view text, const std::string& path_for_messages) {
  toml::table root;
  // toml++ reports syntax errors by throwing; this is the only place they can escape from.
  try {
    root = toml::parse(text, std::string_view(path_for_messages));
  } catch (const toml::parse_error& e) {
    const internal::Position pos = internal::PositionOf(e.source());
    base::Status st =
        Error(Code::kInvalidArgument, path_for_messages + ":" + std::to_string(pos.line) + ":" +
                                          std::to_string(pos.column) +
                                          ": toml syntax error: " + LowerFirst(e.description()));
    // The usual cause: a string value written without quotes (region = us-east-1).
    if (e.description().find("could not determine value type") != std::string_view::npos) {
      st.WithHint("strings are quoted in toml: key = \"value\"");
    }
    return st;
  } catch (const std::exception& e) {
    return Error(Code::kInternal,
                 "unable to parse config '" + path_for_messages + "': " + e.what());
  }
  Binder binder(path_for_messages);
  Config cfg;
  cfg.path = path_for_messages;
  binder.BindTable(root, "", RootFields(), cfg);
  CrossCheck(cfg, binder);
  FinishPolicies(cfg, binder);
  RETURN_IF_ERROR(binder.Finish());
  return cfg;
}

base::Result<Config> LoadConfig(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    const int err = errno;
    return Error(err == ENOENT ? Code::kNotFound : Code::kInvalidArgument,
                 "unable to read config '" + path + "': " + std::strerror(err));
  }
  std::string text;
  char buf[16384];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) text.append(buf, n);
  if (std::ferror(f.get())) {
    const int err = errno;
    return Error(Code::kInvalidArgument,
                 "unable to read config '" + path + "': " + std::strerror(err));
  }
  return ParseConfig(text, path);
}

base::Result<BackupPolicy> SelectPolicy(const Config* cfg, std::string_view name) {
  if (name.empty()) {
    BackupPolicy p;
    if (cfg != nullptr && cfg->defaults.timeout) p.timeout = *cfg->defaults.timeout;
    return p;
  }
  if (cfg != nullptr) {
    auto it = cfg->policies.find(std::string(name));
    if (it != cfg->policies.end()) return it->second;
  }
  std::vector<std::string_view> names;
  if (cfg != nullptr) {
    for (const auto& [n, p] : cfg->policies) names.push_back(n);
  }
  return UnknownPolicy(cfg, name, "policy", " (it defines no policies)", names);
}

base::Status UnknownPolicy(const Config* cfg, std::string_view name, std::string_view what,
                           std::string_view none, const std::vector<std::string_view>& defined) {
  const std::string flag = "--policy " + std::string(name) + ": ";
  if (cfg == nullptr) {
    return Error(Code::kInvalidArgument,
                 flag + "there is no config file to define it (use --config FILE)");
  }
  return Error(
      Code::kInvalidArgument,
      flag + "no " + std::string(what) + " '" + std::string(name) + "' in " + cfg->path +
          DidYouMean(name, defined) +
          (defined.empty() ? std::string(none) : " (defined: " + DefinedNames(defined) + ")"));
}

}  // namespace cairn::config
