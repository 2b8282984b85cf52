#include "config/config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/cli.h"
#include "config/suggest.h"
#include "config/values.h"
#include "config_test_util.h"

namespace cairn::config {
namespace {

using test_util::Fixture;
using test_util::ParseError;

using base::Code;

// The message of a config that must fail to load.
std::string LoadError(const std::string& name) {
  base::Result<Config> cfg = LoadConfig(Fixture(name));
  EXPECT_FALSE(cfg.ok()) << name << " loaded";
  if (cfg.ok()) return "";
  EXPECT_EQ(cfg.status().code(), Code::kInvalidArgument);
  return cfg.status().message();
}

TEST(LoadConfigTest, FullConfig) {
  base::Result<Config> cfg = LoadConfig(Fixture("full.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->path, Fixture("full.toml"));
  EXPECT_EQ(cfg->defaults.vault, "main");
  EXPECT_EQ(cfg->defaults.output, "json");
  EXPECT_EQ(cfg->defaults.log_format, "json");
  EXPECT_EQ(cfg->defaults.pushgateway, "http://pushgateway:9091");
  EXPECT_EQ(cfg->defaults.metrics_file, "/var/lib/node-exporter/cairn.prom");
  ASSERT_TRUE(cfg->defaults.timeout.has_value());
  EXPECT_EQ(*cfg->defaults.timeout, std::chrono::minutes(90));

  ASSERT_EQ(cfg->vaults.size(), 2u);
  const VaultConfig& m = cfg->vaults.at("main");
  EXPECT_EQ(m.name, "main");
  EXPECT_EQ(m.url, "s3://cairn-backups/prod/cluster-a/");
  EXPECT_EQ(m.location.scheme, VaultUrl::Scheme::kS3);
  EXPECT_EQ(m.location.bucket, "cairn-backups");
  EXPECT_EQ(m.location.prefix, "prod/cluster-a");
  EXPECT_EQ(m.endpoint, "https://oss-cn-hangzhou.aliyuncs.com");
  EXPECT_EQ(m.region, "oss-cn-hangzhou");
  EXPECT_EQ(m.path_style, std::optional<bool>(false));
  EXPECT_EQ(m.ca_file, "/etc/ssl/custom.pem");
  EXPECT_EQ(m.credentials_file, "/var/run/secrets/cairn/credentials");
  EXPECT_EQ(m.profile, "backup");
  EXPECT_EQ(m.storage_class, "STANDARD_IA");
  EXPECT_EQ(m.oss_network, "internal");
  EXPECT_EQ(m.payload_signing, "unsigned");
  EXPECT_EQ(m.part_size, 64u << 20);
  EXPECT_EQ(m.parallel_parts, 8);
  EXPECT_TRUE(m.insecure_skip_tls_verify);
  EXPECT_EQ(m.origin, Fixture("full.toml") + ":10");

  const VaultConfig& l = cfg->vaults.at("local-2");
  EXPECT_EQ(l.location.scheme, VaultUrl::Scheme::kFile);
  EXPECT_EQ(l.location.path, "/var/lib/cairn/vault");
  EXPECT_EQ(l.part_size, 10u << 20);
  // Absent keys keep their defaults.
  EXPECT_EQ(l.parallel_parts, kDefaultParallelParts);
  EXPECT_EQ(l.payload_signing, "signed");
  EXPECT_FALSE(l.path_style.has_value());
  EXPECT_FALSE(l.insecure_skip_tls_verify);
  EXPECT_EQ(l.origin, Fixture("full.toml") + ":25");

  EXPECT_EQ(cfg->kubernetes.kubeconfig, "/etc/cairn/kubeconfig");
  EXPECT_EQ(cfg->kubernetes.context, "prod");
}

TEST(ParseConfigTest, EmptyFileHasDefaults) {
  base::Result<Config> cfg = ParseConfig("", "empty.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_TRUE(cfg->vaults.empty());
  EXPECT_EQ(cfg->defaults.output, "text");
  EXPECT_EQ(cfg->defaults.log_format, "text");
  EXPECT_FALSE(cfg->defaults.timeout.has_value());
}

TEST(ParseConfigTest, RetryTimeout) {
  base::Result<Config> cfg = ParseConfig("[defaults]\nretry_timeout = \"90s\"\n", "r.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->defaults.retry_timeout, std::optional<base::Duration>(std::chrono::seconds(90)));
  ResolvedSettings s = ResolveSettings(&*cfg, CommonFlags());
  EXPECT_EQ(s.retry_timeout, std::chrono::seconds(90));
  CommonFlags f;
  f.retry_timeout = std::chrono::seconds(20);
  EXPECT_EQ(ResolveSettings(&*cfg, f).retry_timeout, std::chrono::seconds(20));
}

TEST(ParseConfigTest, DottedAndInlineTablesBindTheSame) {
  base::Result<Config> cfg = ParseConfig(
      "vaults.a.url = \"file:///a\"\nvaults.b = { url = \"s3://bkt\", parallel_parts = 2 }\n",
      "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->vaults.at("a").location.path, "/a");
  EXPECT_EQ(cfg->vaults.at("b").parallel_parts, 2);
  EXPECT_EQ(cfg->vaults.at("b").location.prefix, "");
}

TEST(LoadConfigTest, WrongType) {
  EXPECT_EQ(
      LoadError("wrong_type.toml"),
      Fixture("wrong_type.toml") + ":3:1: vaults.main.region: expected a string, got integer");
}

TEST(LoadConfigTest, UnknownKeyWithSuggestion) {
  EXPECT_EQ(LoadError("unknown_key.toml"),
            Fixture("unknown_key.toml") +
                ":7:1: unknown key 'vaults.main.edpoint' (did you mean 'endpoint'?)");
}

TEST(LoadConfigTest, BadEnum) {
  EXPECT_EQ(
      LoadError("bad_enum.toml"),
      Fixture("bad_enum.toml") + ":2:1: defaults.output: invalid value 'yaml' (want text or json)");
}

TEST(LoadConfigTest, BadUrl) {
  EXPECT_EQ(LoadError("bad_url.toml"),
            Fixture("bad_url.toml") +
                ":2:1: vaults.main.url: invalid vault url 's3://My_Bucket/prefix': bucket "
                "'My_Bucket' must be lowercase");
}

TEST(LoadConfigTest, BadSize) {
  EXPECT_EQ(LoadError("bad_size.toml"),
            Fixture("bad_size.toml") +
                ":3:1: vaults.main.part_size: size 4MiB is out of range (want 5MiB to 5GiB)");
}

TEST(LoadConfigTest, SyntaxErrorHasTomlPosition) {
  EXPECT_EQ(
      LoadError("syntax_error.toml"),
      Fixture("syntax_error.toml") +
          ":3:10: toml syntax error: error while parsing value: could not determine value type");
  base::Result<Config> cfg = LoadConfig(Fixture("syntax_error.toml"));
  EXPECT_EQ(cfg.status().hint(), "strings are quoted in toml: key = \"value\"");
}

TEST(LoadConfigTest, DefaultVaultUndefinedPointsAtDefaultsVault) {
  EXPECT_EQ(LoadError("undefined_default.toml"),
            Fixture("undefined_default.toml") +
                ":4:1: defaults.vault: vault 'mian' is not defined (did you mean 'main'?) "
                "(defined: dr, main)");
}

TEST(LoadConfigTest, EveryErrorIsReportedInFileOrder) {
  const std::string f = Fixture("many_errors.toml");
  EXPECT_EQ(LoadError("many_errors.toml"),
            f + ":1:2: unknown key 'defualts' (did you mean 'defaults'?)\n" + f +
                ":5:1: vaults.main.url: unsupported vault url scheme 'http' in "
                "'http://bucket/prefix': want s3://BUCKET[/PREFIX] or file:///ABSOLUTE/PATH\n" +
                f + ":6:1: vaults.main.parallel_parts: 100 is out of range (want 1 to 64)\n" + f +
                ":7:1: vaults.main.path_style: expected a boolean, got string\n" + f +
                ":9:9: vaults.Bad_Name: invalid vault name 'Bad_Name': invalid character (want "
                "lowercase letters, digits and '-', starting and ending with a letter or digit, "
                "at most 63 characters)\n" +
                f +
                ":12:9: vaults.nourl: missing required key 'url' (s3://BUCKET[/PREFIX] or "
                "file:///PATH)");
}

TEST(LoadConfigTest, TheShippedExampleLoads) {
  const std::string path = std::string(CAIRN_TEST_DATA) + "/../../config/example.toml";
  base::Result<Config> cfg = LoadConfig(path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_TRUE(cfg->policies.count("demo"));
  EXPECT_EQ(cfg->kubernetes.qps, kDefaultKubeQps);
  EXPECT_EQ(cfg->kubernetes.burst, kDefaultKubeBurst);
}

TEST(LoadConfigTest, MissingFileIsNotFound) {
  base::Result<Config> cfg = LoadConfig(Fixture("does-not-exist.toml"));
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), Code::kNotFound);
  EXPECT_EQ(cfg.status().message(), "unable to read config '" + Fixture("does-not-exist.toml") +
                                        "': No such file or directory");
}

TEST(ParseConfigTest, UnknownSectionAndNestedTable) {
  EXPECT_EQ(ParseError("[kubernets]\ncontext = \"x\"\n"),
            "t.toml:1:2: unknown key 'kubernets' (did you mean 'kubernetes'?)");
  EXPECT_EQ(ParseError("[vaults.a]\nurl = \"file:///a\"\n[vaults.a.tls]\nca = 1\n"),
            "t.toml:3:11: unknown key 'vaults.a.tls'");
  EXPECT_EQ(ParseError("[kubernetes]\nnamespace = \"x\"\n"),
            "t.toml:2:1: unknown key 'kubernetes.namespace'");
}

TEST(ParseConfigTest, KubernetesRateLimit) {
  base::Result<Config> cfg = ParseConfig("[kubernetes]\nqps = 300\nburst = 600\n", "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->kubernetes.qps, 300);
  EXPECT_EQ(cfg->kubernetes.burst, 600);
  EXPECT_EQ(ParseError("[kubernetes]\nqps = 0\n"),
            "t.toml:2:1: kubernetes.qps: 0 is out of range (want 1 to 10000)");
  EXPECT_EQ(ParseError("[kubernetes]\nburst = \"many\"\n"),
            "t.toml:2:1: kubernetes.burst: expected an integer, got string");
}

TEST(ParseConfigTest, SectionTypeErrors) {
  EXPECT_EQ(ParseError("defaults = 3\n"), "t.toml:1:1: defaults: expected a table, got integer");
  EXPECT_EQ(ParseError("[[vaults]]\nurl = \"file:///a\"\n"),
            "t.toml:1:3: vaults: expected a table of named tables ([vaults.NAME]), got array");
  EXPECT_EQ(ParseError("vaults.a = \"s3://x\"\n"),
            "t.toml:1:8: vaults.a: expected a table ([vaults.a]), got string");
}

TEST(ParseConfigTest, ValueErrors) {
  const std::string v = "[vaults.v]\nurl = \"file:///v\"\n";
  EXPECT_EQ(ParseError(v + "part_size = \"16M\"\n"),
            "t.toml:3:1: vaults.v.part_size: invalid size '16M': unknown unit 'M' (want a whole "
            "number of bytes or a number with KiB, MiB, GiB, TiB, KB, MB, GB or TB, e.g. 16MiB)");
  EXPECT_EQ(ParseError(v + "part_size = 6GiB\n").substr(0, 26), "t.toml:3:14: toml syntax e");
  EXPECT_EQ(ParseError(v + "part_size = -1\n"),
            "t.toml:3:1: vaults.v.part_size: size -1 is negative");
  EXPECT_EQ(ParseError(v + "part_size = 1.5\n"),
            "t.toml:3:1: vaults.v.part_size: expected a size such as \"16MiB\" or a number of "
            "bytes, got float");
  EXPECT_EQ(ParseError(v + "part_size = \"6GiB\"\n"),
            "t.toml:3:1: vaults.v.part_size: size 6GiB is out of range (want 5MiB to 5GiB)");
  EXPECT_EQ(ParseError(v + "parallel_parts = 0\n"),
            "t.toml:3:1: vaults.v.parallel_parts: 0 is out of range (want 1 to 64)");
  EXPECT_EQ(ParseError(v + "oss_network = \"internl\"\n"),
            "t.toml:3:1: vaults.v.oss_network: invalid value 'internl' (want internal or public) "
            "(did you mean 'internal'?)");
  EXPECT_EQ(ParseError(v + "payload_signing = \"none\"\n"),
            "t.toml:3:1: vaults.v.payload_signing: invalid value 'none' (want signed or unsigned)");
  EXPECT_EQ(ParseError(v + "endpoint = \"minio:9000\"\n"),
            "t.toml:3:1: vaults.v.endpoint: invalid endpoint url 'minio:9000': the scheme must be "
            "http:// or https:// (want http://HOST[:PORT] or https://HOST[:PORT])");
  EXPECT_EQ(ParseError(v + "endpoint = \"http://minio:abc\"\n"),
            "t.toml:3:1: vaults.v.endpoint: invalid endpoint url 'http://minio:abc': port 'abc' "
            "is not a number from 1 to 65535 (want http://HOST[:PORT] or https://HOST[:PORT])");
  EXPECT_EQ(ParseError(v + "region = \"\"\n"),
            "t.toml:3:1: vaults.v.region: must not be empty (remove the key to use the default)");
  EXPECT_EQ(ParseError(v + "region = \"us east\"\n"),
            "t.toml:3:1: vaults.v.region: invalid value 'us east': only letters, digits, '-', "
            "'_' and '.'");
  EXPECT_EQ(ParseError(v + "insecure_skip_tls_verify = 1\n"),
            "t.toml:3:1: vaults.v.insecure_skip_tls_verify: expected a boolean, got integer");
  EXPECT_EQ(ParseError("[defaults]\ntimeout = \"ten minutes\"\n"),
            "t.toml:2:1: defaults.timeout: invalid duration 'ten minutes': want a number and unit "
            "such as 90s, 6h30m");
  EXPECT_EQ(
      ParseError("[defaults]\ntimeout = 600\n"),
      "t.toml:2:1: defaults.timeout: expected a duration string such as \"10m\", got integer");
  EXPECT_EQ(ParseError("[defaults]\ntimeout = \"0s\"\n"),
            "t.toml:2:1: defaults.timeout: duration '0s' must be positive");
  // An overflowing duration is too large, not negative.
  EXPECT_EQ(ParseError("[policies.p]\nttl = \"99999999999h\"\n"),
            "t.toml:2:1: policies.p.ttl: invalid duration '99999999999h': too large (at most "
            "2562047h, about 292 years)");
  EXPECT_EQ(ParseError("[defaults]\npushgateway = \"pushgateway:9091\"\n"),
            "t.toml:2:1: defaults.pushgateway: invalid url 'pushgateway:9091': want "
            "http://HOST[:PORT] or https://HOST[:PORT]");
  const std::string with_password =
      ParseError("[metrics]\npushgateway = \"http://ops:s3cr3t@pg:9091\"\n");
  EXPECT_EQ(with_password.rfind("t.toml:2:1: metrics.pushgateway: invalid url: credentials", 0), 0u)
      << with_password;
  EXPECT_EQ(with_password.find("s3cr3t"), std::string::npos) << with_password;
}

TEST(ParseConfigTest, DefaultVaultWithoutAnyVault) {
  EXPECT_EQ(ParseError("[defaults]\nvault = \"main\"\n"),
            "t.toml:2:1: defaults.vault: vault 'main' is not defined (no [vaults.NAME] tables in "
            "this file)");
}

// --- values ----------------------------------------------------------------------------------

TEST(ParseSizeTest, Accepts) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("5242880"), 5242880u);
  EXPECT_EQ(*ParseSize("512B"), 512u);
  EXPECT_EQ(*ParseSize("1KiB"), 1024u);
  EXPECT_EQ(*ParseSize("16MiB"), 16u << 20);
  EXPECT_EQ(*ParseSize("16 MiB"), 16u << 20);
  EXPECT_EQ(*ParseSize("16mib"), 16u << 20);
  EXPECT_EQ(*ParseSize("5GiB"), uint64_t{5} << 30);
  EXPECT_EQ(*ParseSize("2TiB"), uint64_t{2} << 40);
  EXPECT_EQ(*ParseSize("1KB"), 1000u);
  EXPECT_EQ(*ParseSize("10MB"), 10'000'000u);
  EXPECT_EQ(*ParseSize("1GB"), 1'000'000'000u);
}

TEST(ParseSizeTest, Rejects) {
  for (const char* bad :
       {"", "MiB", "-1MiB", "1.5GiB", "16M", "16 MiBs", "99999999999999999999", "20000000TiB"}) {
    base::Result<uint64_t> r = ParseSize(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find("e.g. 16MiB"), std::string::npos) << bad;
    }
  }
}

TEST(FormatSizeTest, Units) {
  EXPECT_EQ(FormatSize(16u << 20), "16MiB");
  EXPECT_EQ(FormatSize(uint64_t{5} << 30), "5GiB");
  EXPECT_EQ(FormatSize(1536), "1536B");
  EXPECT_EQ(FormatSize(2048), "2KiB");
  EXPECT_EQ(FormatSize(0), "0B");
}

TEST(ParseVaultUrlTest, S3) {
  base::Result<VaultUrl> u = ParseVaultUrl("s3://my-bucket.example/a/b/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, VaultUrl::Scheme::kS3);
  EXPECT_EQ(u->bucket, "my-bucket.example");
  EXPECT_EQ(u->prefix, "a/b");
  EXPECT_EQ(u->ToString(), "s3://my-bucket.example/a/b");
  EXPECT_EQ(ParseVaultUrl("s3://abc")->prefix, "");
  EXPECT_EQ(ParseVaultUrl("s3://abc/")->ToString(), "s3://abc");
  EXPECT_EQ(ParseVaultUrl("S3://abc//x//")->prefix, "x");
}

TEST(ParseVaultUrlTest, File) {
  base::Result<VaultUrl> u = ParseVaultUrl("file:///var/lib/cairn/");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, VaultUrl::Scheme::kFile);
  EXPECT_EQ(u->path, "/var/lib/cairn");
  EXPECT_EQ(u->ToString(), "file:///var/lib/cairn");
  EXPECT_EQ(ParseVaultUrl("file:///")->path, "/");
}

TEST(ParseVaultUrlTest, Rejects) {
  auto msg = [](std::string_view url) {
    base::Result<VaultUrl> u = ParseVaultUrl(url);
    EXPECT_FALSE(u.ok()) << url;
    return u.ok() ? std::string() : u.status().message();
  };
  EXPECT_EQ(msg(""), "empty vault url: want s3://BUCKET[/PREFIX] or file:///ABSOLUTE/PATH");
  EXPECT_EQ(msg("/var/lib/cairn"),
            "invalid vault url '/var/lib/cairn': want s3://BUCKET[/PREFIX] or "
            "file:///ABSOLUTE/PATH");
  EXPECT_EQ(msg("gs://bucket"),
            "unsupported vault url scheme 'gs' in 'gs://bucket': want s3://BUCKET[/PREFIX] or "
            "file:///ABSOLUTE/PATH");
  EXPECT_EQ(msg("s3://"), "invalid vault url 's3://': no bucket (want s3://BUCKET[/PREFIX])");
  EXPECT_EQ(msg("s3://ab"),
            "invalid vault url 's3://ab': bucket 'ab' must be 3 to 63 characters long");
  EXPECT_EQ(msg("s3://" + std::string(64, 'a')).substr(0, 20), "invalid vault url 's");
  EXPECT_EQ(
      msg("s3://-abc"),
      "invalid vault url 's3://-abc': bucket '-abc' must start and end with a letter or digit");
  EXPECT_EQ(msg("s3://a..b"), "invalid vault url 's3://a..b': bucket 'a..b' must not contain '..'");
  EXPECT_EQ(msg("s3://a_b"),
            "invalid vault url 's3://a_b': bucket 'a_b' has an invalid character '_'");
  EXPECT_EQ(msg("s3://192.168.1.1"),
            "invalid vault url 's3://192.168.1.1': bucket '192.168.1.1' must not be an ip address");
  EXPECT_EQ(msg("s3://abc/x/../y"),
            "invalid vault url 's3://abc/x/../y': the prefix has a '..' segment");
  EXPECT_EQ(msg("s3://abc/x//y"),
            "invalid vault url 's3://abc/x//y': the prefix has an empty segment ('//')");
  EXPECT_EQ(msg("s3://abc/x?y"),
            "invalid vault url 's3://abc/x?y': the prefix must not contain '?', '#' or '\\'");
  EXPECT_EQ(msg("file://var/lib"),
            "invalid vault url 'file://var/lib': a file url takes an absolute path and no host "
            "(want file:///ABSOLUTE/PATH, three slashes)");
  EXPECT_EQ(msg("file:///a/./b"), "invalid vault url 'file:///a/./b': the path has a '.' segment");
  EXPECT_EQ(msg("s3://abc/a\nb"), "invalid vault url 's3://abc/a\nb': control character");
  base::Result<VaultUrl> hinted = ParseVaultUrl("s3://ABC");
  ASSERT_FALSE(hinted.ok());
  EXPECT_NE(hinted.status().hint().find("3-63 characters"), std::string::npos);
}

TEST(ValidateVaultNameTest, Rules) {
  EXPECT_TRUE(ValidateVaultName("main").ok());
  EXPECT_TRUE(ValidateVaultName("0-dr-2").ok());
  EXPECT_TRUE(ValidateVaultName(std::string(63, 'a')).ok());
  EXPECT_FALSE(ValidateVaultName("").ok());
  EXPECT_FALSE(ValidateVaultName("-a").ok());
  EXPECT_FALSE(ValidateVaultName("a-").ok());
  EXPECT_FALSE(ValidateVaultName("Main").ok());
  EXPECT_FALSE(ValidateVaultName("a_b").ok());
  EXPECT_FALSE(ValidateVaultName("a.b").ok());
  EXPECT_FALSE(ValidateVaultName(std::string(64, 'a')).ok());
}

TEST(SuggestTest, ClosestPlausibleCandidate) {
  EXPECT_EQ(EditDistance("edpoint", "endpoint"), 1u);
  EXPECT_EQ(EditDistance("reigon", "region"), 1u);  // a transposition is one edit
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  const std::vector<std::string_view> keys = {"url", "endpoint", "region", "path_style"};
  EXPECT_EQ(Suggest("edpoint", keys), "endpoint");
  EXPECT_EQ(Suggest("reigon", keys), "region");
  EXPECT_EQ(Suggest("uri", keys), "url");
  EXPECT_EQ(Suggest("path", keys), "path_style");  // unique prefix
  EXPECT_EQ(Suggest("bucket", keys), std::nullopt);
  EXPECT_EQ(DidYouMean("edpoint", keys, "--"), " (did you mean '--endpoint'?)");
  EXPECT_EQ(DidYouMean("zzz", keys), "");
}

}  // namespace
}  // namespace cairn::config
