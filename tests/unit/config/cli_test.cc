#include "config/cli.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "config_test_util.h"

namespace cairn::config {
namespace {

using test_util::Fixture;

using base::Code;

FlagSet VaultCheckFlags() {
  FlagSet flags("vault-check", "proves a vault usable: put, get, list and delete a probe object");
  flags.AddBool("init", "create the vault's format file when the vault is empty");
  flags.AddBool("list", "list the backups present in the vault");
  flags.AddBool("verify", "re-read every backup and check its checksums");
  return flags;
}

ParsedFlags MustParse(const FlagSet& flags, const std::vector<std::string>& args) {
  base::Result<ParsedFlags> p = flags.Parse(args);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : ParsedFlags();
}

std::string ParseFailure(const FlagSet& flags, const std::vector<std::string>& args) {
  base::Result<ParsedFlags> p = flags.Parse(args);
  EXPECT_FALSE(p.ok());
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  return p.status().message();
}

TEST(FlagSetTest, BothValueForms) {
  FlagSet flags = VaultCheckFlags();
  ParsedFlags p = MustParse(flags, {"--vault", "main", "--region=eu-west-1", "--timeout", "10m",
                                    "--output=json", "--init", "--dry-run"});
  EXPECT_EQ(p.GetString("vault"), "main");
  EXPECT_EQ(p.GetString("region"), "eu-west-1");
  EXPECT_EQ(p.GetDuration("timeout"), std::chrono::minutes(10));
  EXPECT_EQ(p.GetString("output"), "json");
  EXPECT_TRUE(p.GetBool("init"));
  EXPECT_TRUE(p.GetBool("dry-run"));
  EXPECT_FALSE(p.GetBool("list"));
  EXPECT_FALSE(p.Has("list"));
  EXPECT_FALSE(p.Has("url"));
  EXPECT_EQ(p.GetString("url"), "");
  EXPECT_TRUE(p.positional().empty());
}

TEST(FlagSetTest, BoolForms) {
  FlagSet flags = VaultCheckFlags();
  ParsedFlags on = MustParse(flags, {"--path-style"});
  EXPECT_TRUE(on.Has("path-style"));
  EXPECT_TRUE(on.GetBool("path-style"));
  ParsedFlags off = MustParse(flags, {"--path-style=false"});
  EXPECT_TRUE(off.Has("path-style"));
  EXPECT_FALSE(off.GetBool("path-style"));
  EXPECT_TRUE(MustParse(flags, {"--path-style=true"}).GetBool("path-style"));
  EXPECT_EQ(ParseFailure(flags, {"--path-style=maybe"}),
            "--path-style: invalid boolean 'maybe' (want true or false)");
  // A bool flag never swallows the next argument.
  EXPECT_EQ(ParseFailure(flags, {"--path-style", "false"}),
            "unexpected argument 'false' (bool flags take their value after '=': "
            "--path-style=false)");
}

TEST(FlagSetTest, LastValueWins) {
  ParsedFlags p = MustParse(VaultCheckFlags(), {"--vault", "a", "--vault=b"});
  EXPECT_EQ(p.GetString("vault"), "b");
}

TEST(FlagSetTest, UnknownFlagSuggestsTheClosest) {
  FlagSet flags = VaultCheckFlags();
  base::Result<ParsedFlags> p = flags.Parse({"--edpoint", "https://minio:9000"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(p.status().message(), "unknown flag '--edpoint' (did you mean '--endpoint'?)");
  EXPECT_EQ(p.status().hint(), "run 'vault-check --help' for the list of flags");
  EXPECT_EQ(ParseFailure(flags, {"--verfiy"}),
            "unknown flag '--verfiy' (did you mean '--verify'?)");
  EXPECT_EQ(ParseFailure(flags, {"--dry_run"}),
            "unknown flag '--dry_run' (did you mean '--dry-run'?)");
  EXPECT_EQ(ParseFailure(flags, {"--bucket=x"}), "unknown flag '--bucket'");
  EXPECT_EQ(ParseFailure(flags, {"-v"}), "unknown flag '-v' (flags start with '--', e.g. --help)");
}

TEST(FlagSetTest, MissingValueNamesTheFlag) {
  FlagSet flags = VaultCheckFlags();
  EXPECT_EQ(ParseFailure(flags, {"--vault"}), "flag '--vault' needs a value (--vault NAME)");
  EXPECT_EQ(ParseFailure(flags, {"--url", "--dry-run"}), "flag '--url' needs a value (--url URL)");
  EXPECT_EQ(ParseFailure(flags, {"--output"}),
            "flag '--output' needs a value (--output text|json)");
  EXPECT_EQ(ParseFailure(flags, {"--region="}), "--region: empty value (want R)");
}

TEST(FlagSetTest, ValueChecks) {
  FlagSet flags = VaultCheckFlags();
  EXPECT_EQ(ParseFailure(flags, {"--output", "yaml"}),
            "--output: invalid value 'yaml' (want text or json)");
  EXPECT_EQ(ParseFailure(flags, {"--timeout=5"}),
            "--timeout: invalid duration '5': missing unit after 5 (use ms, s, m, h or d, as in "
            "90s)");
  EXPECT_EQ(ParseFailure(flags, {"--timeout=0s"}), "--timeout: duration '0s' must be positive");
  EXPECT_EQ(ParseFailure(flags, {"--timeout=99999999999h"}),
            "--timeout: invalid duration '99999999999h': too large (at most 2562047h, about 292 "
            "years)");
}

TEST(FlagSetTest, PositionalArguments) {
  FlagSet flags = VaultCheckFlags();
  EXPECT_EQ(ParseFailure(flags, {"main"}),
            "unexpected argument 'main': vault-check takes no positional arguments");

  FlagSet restore("restore-run", "restores a backup");
  restore.AllowPositional("BACKUP", "the backup to restore", 1);
  ParsedFlags p = MustParse(restore, {"nightly-1", "--dry-run"});
  EXPECT_EQ(p.positional(), std::vector<std::string>{"nightly-1"});
  EXPECT_EQ(ParseFailure(restore, {"a", "b"}),
            "unexpected argument 'b': restore-run takes at most 1 BACKUP");
  // "--" ends the flags; "-" is a positional argument.
  FlagSet any("x", "y");
  any.AllowPositional("ARG", "");
  ParsedFlags q = MustParse(any, {"-", "--", "--vault", "-h"});
  EXPECT_EQ(q.positional(), (std::vector<std::string>{"-", "--vault", "-h"}));
  EXPECT_FALSE(q.Has("vault"));
  EXPECT_TRUE(MustParse(any, {"-h"}).GetBool("help"));
}

TEST(FlagSetTest, ExecutableSpecificFlags) {
  FlagSet flags("restore-run", "restores a backup");
  flags.AddString("policy", "NAME", "restore policy");
  flags.AddList("include-namespaces", "NS,...", "namespaces to restore");
  flags.AddMap("namespace-mapping", "FROM=TO,...", "rename namespaces");
  flags.AddInt("parallel", "N", "objects applied at once", 1, 32);
  ParsedFlags p = MustParse(
      flags, {"--policy=nightly", "--include-namespaces", "shop, billing",
              "--include-namespaces=web", "--namespace-mapping", "a=b,c=d", "--parallel", "8"});
  EXPECT_EQ(p.GetString("policy"), "nightly");
  EXPECT_EQ(p.GetList("include-namespaces"), (std::vector<std::string>{"shop", "billing", "web"}));
  EXPECT_EQ(p.GetMap("namespace-mapping"),
            (std::vector<std::pair<std::string, std::string>>{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(p.GetInt("parallel"), 8);
  EXPECT_EQ(MustParse(flags, {}).GetInt("parallel", 4), 4);

  EXPECT_EQ(ParseFailure(flags, {"--include-namespaces=a,,b"}),
            "--include-namespaces: empty item in 'a,,b' (want NS,...)");
  EXPECT_EQ(ParseFailure(flags, {"--namespace-mapping=a=b,c"}),
            "--namespace-mapping: invalid item 'c' in 'a=b,c' (want FROM=TO,..., e.g. a=b,c=d)");
  EXPECT_EQ(ParseFailure(flags, {"--namespace-mapping=a=b,a=c"}),
            "--namespace-mapping: 'a' is mapped twice");
  EXPECT_EQ(ParseFailure(flags, {"--parallel=0"}), "--parallel: 0 is out of range (want 1 to 32)");
  EXPECT_EQ(ParseFailure(flags, {"--parallel=x"}), "--parallel: invalid integer 'x'");
}

TEST(FlagSetTest, HelpWinsOverAWrongCommandLine) {
  FlagSet flags = VaultCheckFlags();
  ParsedFlags p = MustParse(flags, {"--bogus", "--vault", "--help"});
  EXPECT_TRUE(p.GetBool("help"));
  EXPECT_FALSE(p.Has("vault"));
  EXPECT_TRUE(MustParse(flags, {"-h", "--output=xml"}).GetBool("help"));
  // After "--", --help is an argument like any other.
  EXPECT_EQ(ParseFailure(flags, {"--bogus", "--", "--help"}), "unknown flag '--bogus'");
}

TEST(FlagSetTest, RegisteringANameTwiceIsABug) {
  FlagSet flags("gc", "collects garbage");
  flags.AddBool("dry-run", "again");
  base::Result<ParsedFlags> p = flags.Parse(std::vector<std::string>{});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInternal);
  EXPECT_EQ(p.status().message(), "flag '--dry-run' is registered twice in gc");
}

TEST(FlagSetTest, ParsesArgv) {
  const char* argv[] = {"/usr/bin/vault-check", "--list", "--url=file:///tmp/v"};
  base::Result<ParsedFlags> p = VaultCheckFlags().Parse(3, argv);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->GetBool("list"));
  EXPECT_EQ(p->GetString("url"), "file:///tmp/v");
}

TEST(FlagSetTest, UsageListsGroupsAndFlags) {
  FlagSet flags("vault-check",
                "proves a vault usable: put, get (bytes compared), list and delete of a probe "
                "object; checks bucket, prefix, credentials, storage class and clock skew");
  flags.AddBool("init", "create the vault's format file when the vault is empty");
  flags.Group("selection flags");
  flags.AddList("include-namespaces", "NS,...", "namespaces to back up");
  const std::string usage = flags.Usage();
  EXPECT_EQ(usage.rfind("usage: vault-check [flags]\n\nproves a vault usable", 0), 0u) << usage;
  EXPECT_NE(usage.find("bucket,\nprefix, credentials"), std::string::npos)
      << usage;  // wrapped, no indent
  const size_t own = usage.find("\nvault-check flags:\n  --init ");
  const size_t selection = usage.find("\nselection flags:\n  --include-namespaces NS,...");
  const size_t common = usage.find("\ncommon flags:\n  --config FILE ");
  ASSERT_NE(own, std::string::npos) << usage;
  ASSERT_NE(selection, std::string::npos) << usage;
  ASSERT_NE(common, std::string::npos) << usage;
  EXPECT_LT(own, selection);
  EXPECT_LT(selection, common);
  for (const char* name :
       {"--config FILE", "--vault NAME", "--url URL", "--endpoint URL", "--region R",
        "--path-style", "--ca-file FILE", "--kubeconfig FILE", "--context NAME",
        "--output text|json", "--log-format text|json", "--pushgateway URL", "--metrics-file FILE",
        "--timeout DURATION", "--dry-run", "--help", "--version"}) {
    EXPECT_NE(usage.find(std::string("  ") + name + " "), std::string::npos) << name;
  }
  size_t start = 0;
  while (start < usage.size()) {
    size_t end = usage.find('\n', start);
    if (end == std::string::npos) end = usage.size();
    EXPECT_LE(end - start, 100u) << usage.substr(start, end - start);
    start = end + 1;
  }
}

// --- CommonFlags -----------------------------------------------------------------------------

TEST(CommonFlagsTest, Extracted) {
  ParsedFlags p = MustParse(VaultCheckFlags(), {"--config=/c.toml",
                                                "--vault",
                                                "dr",
                                                "--endpoint",
                                                "http://minio:9000",
                                                "--region",
                                                "r1",
                                                "--path-style=false",
                                                "--ca-file",
                                                "/ca.pem",
                                                "--kubeconfig",
                                                "/kc",
                                                "--context",
                                                "kind",
                                                "--output",
                                                "json",
                                                "--log-format",
                                                "json",
                                                "--pushgateway",
                                                "http://pg:9091",
                                                "--metrics-file",
                                                "/m.prom",
                                                "--timeout",
                                                "90s",
                                                "--dry-run",
                                                "--help",
                                                "--version"});
  base::Result<CommonFlags> f = GetCommonFlags(p);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->config_path, "/c.toml");
  EXPECT_EQ(f->vault, "dr");
  EXPECT_EQ(f->endpoint, "http://minio:9000");
  EXPECT_EQ(f->region, "r1");
  EXPECT_EQ(f->path_style, std::optional<bool>(false));
  EXPECT_EQ(f->ca_file, "/ca.pem");
  EXPECT_EQ(f->kubeconfig, "/kc");
  EXPECT_EQ(f->context, "kind");
  EXPECT_EQ(f->output, "json");
  EXPECT_EQ(f->log_format, "json");
  EXPECT_EQ(f->pushgateway, "http://pg:9091");
  EXPECT_EQ(f->metrics_file, "/m.prom");
  EXPECT_EQ(f->timeout, std::chrono::seconds(90));
  EXPECT_TRUE(f->dry_run);
  EXPECT_TRUE(f->help);
  EXPECT_TRUE(f->version);

  base::Result<CommonFlags> none = GetCommonFlags(MustParse(VaultCheckFlags(), {}));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->path_style.has_value());
  EXPECT_FALSE(none->timeout.has_value());
}

TEST(CommonFlagsTest, ValuesAreChecked) {
  auto failure = [](std::vector<std::string> args) {
    base::Result<CommonFlags> f = GetCommonFlags(MustParse(VaultCheckFlags(), args));
    EXPECT_FALSE(f.ok());
    return f.ok() ? std::string() : f.status().message();
  };
  EXPECT_EQ(failure({"--url", "s3:/bucket"}),
            "--url: invalid vault url 's3:/bucket': want s3://BUCKET[/PREFIX] or "
            "file:///ABSOLUTE/PATH");
  EXPECT_EQ(failure({"--vault", "Main"}).substr(0, 37), "--vault: invalid vault name 'Main': i");
  EXPECT_EQ(failure({"--endpoint", "minio:9000"}),
            "--endpoint: invalid endpoint url 'minio:9000': the scheme must be http:// or "
            "https:// (want http://HOST[:PORT] or https://HOST[:PORT])");
  EXPECT_EQ(failure({"--endpoint", "http://minio:99999"}),
            "--endpoint: invalid endpoint url 'http://minio:99999': port 99999 is not from 1 to "
            "65535 (want http://HOST[:PORT] or https://HOST[:PORT])");
  EXPECT_EQ(failure({"--endpoint", "http://minio/s3"}),
            "--endpoint: invalid endpoint url 'http://minio/s3': an endpoint has no path, query "
            "or fragment (want http://HOST[:PORT] or https://HOST[:PORT])");
  EXPECT_EQ(failure({"--pushgateway", "https://"}),
            "--pushgateway: invalid url 'https://': no host");
  // Credentials in the URL are refused, and the URL (with its password) is not repeated.
  const std::string with_password = failure({"--pushgateway", "https://ops:s3cr3t@pg:9091"});
  EXPECT_EQ(with_password.find("s3cr3t"), std::string::npos) << with_password;
  EXPECT_NE(with_password.find("--pushgateway: invalid url: credentials in a URL are not accepted"),
            std::string::npos)
      << with_password;
  EXPECT_NE(with_password.find("HINT: put user:password in a file"), std::string::npos);
  EXPECT_EQ(
      failure({"--pushgateway", "http://pg:9091/?x=1"}),
      "--pushgateway: invalid url 'http://pg:9091/?x=1': a query or fragment is not accepted");
  EXPECT_TRUE(
      GetCommonFlags(MustParse(VaultCheckFlags(), {"--pushgateway", "http://pg:9091/pushgateway"}))
          .ok());
}

// --- LoadConfigForFlags ----------------------------------------------------------------------

TEST(LoadConfigForFlagsTest, DefaultPathRule) {
  CommonFlags f;
  // No --config and no default file: no config.
  base::Result<std::optional<Config>> none = LoadConfigForFlags(f, Fixture("absent.toml"));
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());
  // No --config, default file present: it is loaded.
  base::Result<std::optional<Config>> dflt = LoadConfigForFlags(f, Fixture("full.toml"));
  ASSERT_TRUE(dflt.ok()) << dflt.status().ToString();
  ASSERT_TRUE(dflt->has_value());
  EXPECT_EQ((*dflt)->defaults.vault, "main");
  // A broken default file is an error, not silently skipped.
  base::Result<std::optional<Config>> broken = LoadConfigForFlags(f, Fixture("bad_enum.toml"));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(broken.status().hint(), "the default config " + Fixture("bad_enum.toml") +
                                        " is read when --config is not given");
  // --config wins over the default path and must exist.
  f.config_path = Fixture("full.toml");
  base::Result<std::optional<Config>> given = LoadConfigForFlags(f, Fixture("bad_enum.toml"));
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  EXPECT_EQ((*given)->path, Fixture("full.toml"));
  f.config_path = Fixture("absent.toml");
  base::Result<std::optional<Config>> missing = LoadConfigForFlags(f, Fixture("full.toml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "--config: config file '" + Fixture("absent.toml") + "' does not exist");
}

// --- ResolveVault ----------------------------------------------------------------------------

constexpr std::string_view kTwoVaults = R"(
[defaults]
vault = "main"

[vaults.main]
url = "s3://main-bucket/prod"
endpoint = "https://minio.example:9000"
region = "us-east-1"
path_style = true
ca_file = "/etc/ssl/main.pem"

[vaults.dr]
url = "s3://dr-bucket/prod"
region = "eu-west-1"
)";

Config MustParseConfig(std::string_view text) {
  base::Result<Config> cfg = ParseConfig(text, "/etc/cairn/cairn.toml");
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return cfg.ok() ? std::move(cfg).value() : Config();
}

struct PrecedenceCase {
  std::string label;
  std::string config;  // "" means no config file
  CommonFlags flags;
  // Expected outcome: a vault, or an error message.
  std::string name;
  std::string url;
  std::string region;
  std::string source;
  std::string error;
};

TEST(ResolveVaultTest, PrecedenceTable) {
  const std::string two(kTwoVaults);
  const std::string no_default =
      "[vaults.main]\nurl = \"s3://main-bucket/prod\"\n"
      "[vaults.dr]\nurl = \"s3://dr-bucket/prod\"\n";
  const std::string only_one = "[vaults.solo]\nurl = \"file:///srv/vault\"\n";
  const std::string no_vault =
      "no vault given: use --url s3://BUCKET/PREFIX or file:///PATH, or --vault NAME with --config";
  auto flags = [](std::string vault, std::string url) {
    CommonFlags f;
    f.vault = std::move(vault);
    f.url = std::move(url);
    return f;
  };
  const std::vector<PrecedenceCase> cases = {
      {"--url alone is ad hoc", two, flags("", "s3://adhoc-bucket/x"), "default",
       "s3://adhoc-bucket/x", "", "--url", ""},
      {"--url without config", "", flags("", "file:///tmp/v"), "default", "file:///tmp/v", "",
       "--url", ""},
      {"--url with a defined --vault keeps its settings", two, flags("dr", "s3://other-bucket"),
       "dr", "s3://other-bucket", "eu-west-1", "--url with --vault dr", ""},
      {"--url names an undefined --vault", two, flags("scratch", "s3://other-bucket"), "scratch",
       "s3://other-bucket", "", "--url with --vault scratch", ""},
      {"--vault beats defaults.vault", two, flags("dr", ""), "dr", "s3://dr-bucket/prod",
       "eu-west-1", "--vault dr", ""},
      {"--vault must be defined", two, flags("mian", ""), "", "", "", "",
       "--vault mian: no vault 'mian' in /etc/cairn/cairn.toml (did you mean 'main'?) (defined: "
       "dr, main)"},
      {"--vault needs a config", "", flags("main", ""), "", "", "", "",
       "--vault main: there is no config file to define it (use --config FILE, or --url "
       "s3://BUCKET/PREFIX or file:///PATH)"},
      {"defaults.vault", two, flags("", ""), "main", "s3://main-bucket/prod", "us-east-1",
       "defaults.vault in /etc/cairn/cairn.toml", ""},
      {"the only vault", only_one, flags("", ""), "solo", "file:///srv/vault", "",
       "the only vault in /etc/cairn/cairn.toml", ""},
      {"several vaults, no default", no_default, flags("", ""), "", "", "", "", no_vault},
      {"no config, no flags", "", flags("", ""), "", "", "", "", no_vault},
      {"config without vaults", "[kubernetes]\ncontext = \"x\"\n", flags("", ""), "", "", "", "",
       no_vault},
  };
  for (const PrecedenceCase& c : cases) {
    SCOPED_TRACE(c.label);
    std::optional<Config> cfg;
    if (!c.config.empty()) cfg = MustParseConfig(c.config);
    base::Result<ResolvedVault> r = ResolveVault(cfg ? &*cfg : nullptr, c.flags);
    if (!c.error.empty()) {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_EQ(r.status().message(), c.error);
      continue;
    }
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->vault.name, c.name);
    EXPECT_EQ(r->vault.location.ToString(), c.url);
    EXPECT_EQ(r->vault.region, c.region);
    EXPECT_EQ(r->source, c.source);
  }
}

TEST(ResolveVaultTest, NoVaultHintListsDefinedVaults) {
  Config cfg =
      MustParseConfig("[vaults.a]\nurl = \"file:///a\"\n[vaults.b]\nurl = \"file:///b\"\n");
  base::Result<ResolvedVault> r = ResolveVault(&cfg, CommonFlags());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().hint(),
            "/etc/cairn/cairn.toml defines a, b and no defaults.vault: pick one with --vault NAME");
}

TEST(ResolveVaultTest, FlagsWinOverConfigKeys) {
  Config cfg = MustParseConfig(kTwoVaults);
  base::Result<ResolvedVault> kept = ResolveVault(&cfg, CommonFlags());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->vault.endpoint, "https://minio.example:9000");
  EXPECT_EQ(kept->vault.path_style, std::optional<bool>(true));
  EXPECT_EQ(kept->vault.ca_file, "/etc/ssl/main.pem");
  EXPECT_EQ(kept->vault.origin, "/etc/cairn/cairn.toml:5");

  CommonFlags f;
  f.endpoint = "http://127.0.0.1:9000";
  f.region = "local";
  f.path_style = false;  // an explicit false still overrides the config's true
  f.ca_file = "/tmp/ca.pem";
  base::Result<ResolvedVault> r = ResolveVault(&cfg, f);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->vault.name, "main");
  EXPECT_EQ(r->vault.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(r->vault.region, "local");
  EXPECT_EQ(r->vault.path_style, std::optional<bool>(false));
  EXPECT_EQ(r->vault.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(r->vault.location.bucket, "main-bucket");

  // An ad-hoc vault takes the built-in defaults plus the flags.
  f.url = "s3://adhoc-bucket";
  base::Result<ResolvedVault> adhoc = ResolveVault(nullptr, f);
  ASSERT_TRUE(adhoc.ok()) << adhoc.status().ToString();
  EXPECT_EQ(adhoc->vault.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(adhoc->vault.part_size, kDefaultPartSize);
  EXPECT_EQ(adhoc->vault.parallel_parts, kDefaultParallelParts);
  EXPECT_EQ(adhoc->vault.origin, "");
}

TEST(ResolveVaultTest, HandBuiltFlagsAreChecked) {
  CommonFlags f;
  f.url = "s3://UPPER";
  base::Result<ResolvedVault> r = ResolveVault(nullptr, f);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "--url: invalid vault url 's3://UPPER': bucket 'UPPER' must be lowercase");
  EXPECT_FALSE(r.status().hint().empty());
}

TEST(ResolveSettingsTest, FlagThenConfigThenDefault) {
  ResolvedSettings bare = ResolveSettings(nullptr, CommonFlags());
  EXPECT_EQ(bare.output, "text");
  EXPECT_EQ(bare.log_format, "text");
  EXPECT_EQ(bare.pushgateway, "");
  EXPECT_FALSE(bare.timeout.has_value());
  EXPECT_EQ(bare.retry_timeout, std::chrono::minutes(5));
  EXPECT_FALSE(bare.dry_run);
  EXPECT_EQ(bare.kube_qps, 50);
  EXPECT_EQ(bare.kube_burst, 100);

  base::Result<Config> cfg = LoadConfig(Fixture("full.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ResolvedSettings from_config = ResolveSettings(&*cfg, CommonFlags());
  EXPECT_EQ(from_config.output, "json");
  EXPECT_EQ(from_config.log_format, "json");
  EXPECT_EQ(from_config.pushgateway, "http://pushgateway:9091");
  EXPECT_EQ(from_config.metrics_file, "/var/lib/node-exporter/cairn.prom");
  EXPECT_EQ(from_config.timeout, std::chrono::minutes(90));
  EXPECT_EQ(from_config.retry_timeout, std::chrono::minutes(5));  // full.toml has none
  EXPECT_EQ(from_config.kubeconfig, "/etc/cairn/kubeconfig");
  EXPECT_EQ(from_config.context, "prod");
  EXPECT_EQ(from_config.kube_qps, 200);
  EXPECT_EQ(from_config.kube_burst, 400);

  CommonFlags f;
  f.output = "text";
  f.log_format = "text";
  f.pushgateway = "http://pg:9091";
  f.metrics_file = "/m.prom";
  f.timeout = std::chrono::seconds(30);
  f.retry_timeout = std::chrono::seconds(20);
  f.kubeconfig = "/kc";
  f.context = "kind";
  f.kube_qps = 7;
  f.dry_run = true;
  ResolvedSettings from_flags = ResolveSettings(&*cfg, f);
  EXPECT_EQ(from_flags.output, "text");
  EXPECT_EQ(from_flags.log_format, "text");
  EXPECT_EQ(from_flags.pushgateway, "http://pg:9091");
  EXPECT_EQ(from_flags.metrics_file, "/m.prom");
  EXPECT_EQ(from_flags.timeout, std::chrono::seconds(30));
  EXPECT_EQ(from_flags.retry_timeout, std::chrono::seconds(20));
  EXPECT_EQ(from_flags.kubeconfig, "/kc");
  EXPECT_EQ(from_flags.context, "kind");
  EXPECT_EQ(from_flags.kube_qps, 7);
  EXPECT_EQ(from_flags.kube_burst, 400);  // not given: the config's
  EXPECT_TRUE(from_flags.dry_run);
}

TEST(CliEndToEndTest, ArgvToVault) {
  FlagSet flags = VaultCheckFlags();
  const std::string config_flag = "--config=" + Fixture("full.toml");
  const char* argv[] = {"vault-check", config_flag.c_str(), "--vault", "local-2", "--list"};
  base::Result<ParsedFlags> parsed = flags.Parse(5, argv);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  base::Result<CommonFlags> common = GetCommonFlags(*parsed);
  ASSERT_TRUE(common.ok()) << common.status().ToString();
  base::Result<std::optional<Config>> cfg = LoadConfigForFlags(*common, Fixture("absent.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_TRUE(cfg->has_value());
  base::Result<ResolvedVault> vault = ResolveVault(&**cfg, *common);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ(vault->vault.name, "local-2");
  EXPECT_EQ(vault->vault.location.path, "/var/lib/cairn/vault");
  EXPECT_TRUE(parsed->GetBool("list"));
}

}  // namespace
}  // namespace cairn::config
