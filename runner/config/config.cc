#include "config/config.h"

#include <toml++/toml.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "config/toml_binder.h"

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
      StringField("endpoint", &VaultConfig::endpoint, CheckHttpUrl),
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

const std::vector<Field<Config>>& RootFields() {
  using namespace internal;  // NOLINT: the field factories
  static const auto* fields = new std::vector<Field<Config>>{
      SectionField("defaults", &Config::defaults, &DefaultsFields()),
      NamedTablesField("vaults", &Config::vaults, &VaultFields(), CheckVaultName, FinishVault),
      SectionField("kubernetes", &Config::kubernetes, &KubernetesFields()),
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

}  // namespace cairn::config
