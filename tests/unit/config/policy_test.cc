#include "config/policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "config_test_util.h"

namespace cairn::config {
namespace {

using test_util::Fixture;
using test_util::ParseError;

using base::Code;
using std::chrono::hours;
using std::chrono::minutes;
using Op = LabelRequirement::Op;

TEST(PolicyConfigTest, EveryKey) {
  base::Result<Config> cfg = LoadConfig(Fixture("policy_full.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->policies.size(), 3u);
  const BackupPolicy& p = cfg->policies.at("shop");
  EXPECT_EQ(p.name, "shop");
  EXPECT_EQ(p.origin, Fixture("policy_full.toml") + ":8");
  EXPECT_EQ(p.vault, "main");
  EXPECT_EQ(p.include_namespaces, (std::vector<std::string>{"shop", "billing-*"}));
  EXPECT_EQ(p.exclude_namespaces, (std::vector<std::string>{"billing-tmp?", "[x-z]*"}));
  EXPECT_EQ(p.include_resources, (std::vector<std::string>{"deployments.apps", "ConfigMap",
                                                           "secrets", "databases.example.com"}));
  EXPECT_EQ(p.exclude_resources, (std::vector<std::string>{"Event"}));
  EXPECT_EQ(p.label_selector, "app.kubernetes.io/part-of=shop, tier notin (test, dev), !legacy");
  EXPECT_EQ(p.or_label_selectors, (std::vector<std::string>{"backup in (always)", "critical"}));
  EXPECT_EQ(p.include_cluster_resources, "true");
  EXPECT_EQ(p.api_versions, "preferred");
  EXPECT_EQ(p.ttl, hours(168));
  EXPECT_EQ(p.timeout, minutes(30));
  EXPECT_TRUE(p.schedule.is_cron());
  EXPECT_EQ(p.schedule.text, "30 2 * * MON-FRI");
  EXPECT_EQ(p.compression_level, 9);

  const BackupPolicy& n = cfg->policies.at("nightly");
  EXPECT_EQ(n.origin, Fixture("policy_full.toml") + ":23");
  EXPECT_EQ(n.include_cluster_resources, "auto");
  ASSERT_TRUE(n.schedule.interval.has_value());
  EXPECT_EQ(*n.schedule.interval, hours(6) + minutes(30));
  EXPECT_FALSE(n.schedule.is_cron());
  // Absent keys: built-in defaults, except timeout which comes from [defaults].
  EXPECT_EQ(n.vault, "");
  EXPECT_TRUE(n.include_namespaces.empty());
  EXPECT_EQ(n.api_versions, "all");
  EXPECT_EQ(n.ttl, hours(720));
  EXPECT_EQ(n.timeout, hours(2));
  EXPECT_EQ(n.compression_level, 3);
  EXPECT_EQ(cfg->policies.at("none").include_cluster_resources, "false");
}

TEST(PolicyConfigTest, BuiltInDefaults) {
  base::Result<Config> cfg = ParseConfig("[policies.p]\n", "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const BackupPolicy& p = cfg->policies.at("p");
  EXPECT_EQ(p.origin, "t.toml:1");
  EXPECT_EQ(p.timeout, minutes(60));
  EXPECT_EQ(p.ttl, hours(720));
  EXPECT_EQ(p.include_cluster_resources, "auto");
  EXPECT_TRUE(p.schedule.empty());
  EXPECT_EQ(p.compression_level, kDefaultCompressionLevel);
}

TEST(PolicyConfigTest, EveryErrorAtItsPosition) {
  base::Result<Config> cfg = LoadConfig(Fixture("policy_errors.toml"));
  ASSERT_FALSE(cfg.ok());
  const std::string f = Fixture("policy_errors.toml");
  const std::vector<std::string> want = {
      ":6:1: policies.shop.vault: vault 'mian' is not defined (did you mean 'main'?) (defined: "
      "main)",
      ":7:1: unknown key 'policies.shop.include_namespace' (did you mean 'include_namespaces'?)",
      ":8:31: policies.shop.include_namespaces[1]: invalid namespace pattern 'Billing': "
      "namespace names are lowercase",
      ":8:42: policies.shop.include_namespaces[2]: expected a string, got integer",
      ":9:22: policies.shop.exclude_resources[0]: invalid resource 'deployments..apps' (want a "
      "resource such as deployments, resource.group such as deployments.apps, a Kind such as "
      "Deployment, or *)",
      ":10:1: policies.shop.label_selector: invalid label selector 'app in (shop': missing ')'",
      ":11:35: policies.shop.or_label_selectors[1]: invalid label selector 'a b': unknown "
      "operator 'b' after 'a' (want =, ==, !=, in or notin)",
      ":12:1: policies.shop.include_cluster_resources: invalid value 'yes' (want \"auto\", true "
      "or false; booleans are not quoted)",
      ":13:1: policies.shop.api_versions: invalid value 'prefered' (want all or preferred) (did "
      "you mean 'preferred'?)",
      ":14:1: policies.shop.ttl: invalid duration 'forever': want a number and unit such as "
      "90s, 6h30m",
      ":15:1: policies.shop.schedule: invalid cron schedule '61 * * * *': minute 61 is out of "
      "range (want 0-59)",
      ":16:1: policies.shop.compression_level: 20 is out of range (want 1 to 19)",
      ":18:11: policies.Bad_Name: invalid policy name 'Bad_Name': invalid character (want "
      "lowercase letters, digits and '-', starting and ending with a letter or digit, at most "
      "48 characters)",
  };
  std::string expected;
  for (const std::string& line : want) expected += (expected.empty() ? "" : "\n") + f + line;
  EXPECT_EQ(cfg.status().message(), expected);
}

TEST(PolicyConfigTest, TypeAndVaultErrors) {
  EXPECT_EQ(ParseError("[policies.p]\ninclude_namespaces = \"shop\"\n"),
            "t.toml:2:1: policies.p.include_namespaces: expected an array of strings, got string");
  EXPECT_EQ(ParseError("[policies.p]\ninclude_cluster_resources = 1\n"),
            "t.toml:2:1: policies.p.include_cluster_resources: expected \"auto\", true or false, "
            "got integer");
  EXPECT_EQ(ParseError("[policies.p]\nvault = \"main\"\n"),
            "t.toml:2:1: policies.p.vault: vault 'main' is not defined (no [vaults.NAME] tables "
            "in this file)");
  EXPECT_EQ(ParseError("[policies.p]\nschedule = \"30s\"\n"),
            "t.toml:2:1: policies.p.schedule: schedule interval '30s' is shorter than the "
            "minimum of 1m");
  EXPECT_EQ(ParseError("policies = [1]\n"),
            "t.toml:1:1: policies: expected a table of named tables ([policies.NAME]), got array");
  EXPECT_EQ(ParseError("[policys.p]\n"),
            "t.toml:1:2: unknown key 'policys' (did you mean 'policies'?)");
}

TEST(RetentionConfigTest, KeysFlagsAndErrors) {
  base::Result<Config> cfg = ParseConfig(
      "[policies.p]\nkeep_last = 3\nkeep_hourly = 24\nkeep_daily = 7\nkeep_weekly = 4\n"
      "keep_monthly = 12\nkeep_yearly = -1\nkeep_within = \"72h\"\nkeep_failed_last = 2\n"
      "[policies.q]\n",
      "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const Retention& r = cfg->policies.at("p").retention;
  EXPECT_EQ(r.keep_last, 3);
  EXPECT_EQ(r.keep_hourly, 24);
  EXPECT_EQ(r.keep_daily, 7);
  EXPECT_EQ(r.keep_weekly, 4);
  EXPECT_EQ(r.keep_monthly, 12);
  EXPECT_EQ(r.keep_yearly, -1);
  EXPECT_EQ(r.keep_within, hours(72));
  EXPECT_EQ(r.keep_failed_last, 2);
  EXPECT_TRUE(r.Any());
  const Retention& d = cfg->policies.at("q").retention;  // defaults: TTL only, last failure kept
  EXPECT_FALSE(d.Any());
  EXPECT_EQ(d.keep_failed_last, 1);
  EXPECT_FALSE(ParseConfig("[policies.p]\nkeep_daily = -2\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("[policies.p]\nkeep_within = \"0s\"\n", "t.toml").ok());

  FlagSet flags("gc", "collects");
  AddRetentionFlags(flags);
  auto none = flags.Parse(std::vector<std::string>{});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(HasRetentionFlags(*none));
  auto parsed = flags.Parse(
      std::vector<std::string>{"--keep-daily", "7", "--keep-weekly", "4", "--keep-within", "1h"});
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(HasRetentionFlags(*parsed));
  Retention f = RetentionFromFlags(*parsed, r);
  EXPECT_EQ(f.keep_daily, 7);
  EXPECT_EQ(f.keep_weekly, 4);
  EXPECT_EQ(f.keep_within, hours(1));
  EXPECT_EQ(f.keep_last, 3);  // not given: the base's
}

TEST(NamespacePatternTest, Validation) {
  for (const char* ok : {"shop", "shop-*", "*", "?", "team-[a-c]", "[!x]*", "[^0-9]x", "a-b-c"}) {
    EXPECT_TRUE(ValidateNamespacePattern(ok).ok()) << ok;
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "invalid namespace pattern '': empty"},
      {"Shop", "invalid namespace pattern 'Shop': namespace names are lowercase"},
      {"shop_1",
       "invalid namespace pattern 'shop_1': invalid character '_' (want lowercase "
       "letters, digits, '-' and the wildcards *, ? and [...])"},
      {"team-[a-c", "invalid namespace pattern 'team-[a-c': unterminated or empty '[...]'"},
      {"x[]", "invalid namespace pattern 'x[]': unterminated or empty '[...]'"},
      {"a]", "invalid namespace pattern 'a]': ']' without '['"},
      {std::string(64, 'a'),
       "invalid namespace pattern '" + std::string(64, 'a') + "': longer than 63 characters"},
  };
  for (const auto& [pattern, message] : bad) {
    base::Status st = ValidateNamespacePattern(pattern);
    EXPECT_EQ(st.message(), message) << pattern;
  }
}

TEST(NamespacePatternTest, GlobMatch) {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  };
  const Case cases[] = {
      {"shop", "shop", true},
      {"shop", "shop2", false},
      {"shop*", "shop", true},
      {"shop*", "shop-eu", true},
      {"*-prod", "a-prod", true},
      {"*-prod", "a-prod-x", false},
      {"*a*b*", "xaybz", true},
      {"*a*b", "ab-a", false},
      {"?", "a", true},
      {"?", "ab", false},
      {"team-[a-c]", "team-b", true},
      {"team-[a-c]", "team-d", false},
      {"[!a-c]x", "dx", true},
      {"[!a-c]x", "ax", false},
      {"[^0-9]*", "x1", true},
      {"[abc]*", "b-1", true},
      {"*", "", true},
      {"", "", true},
      {"a[", "a[", false},
      {"**", "anything", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.name), c.match) << c.pattern << " vs " << c.name;
  }
  EXPECT_TRUE(IsLiteralPattern("kube-system"));
  EXPECT_FALSE(IsLiteralPattern("kube-*"));
  EXPECT_FALSE(IsLiteralPattern("kube-syste[m]"));
}

TEST(ResourceNameTest, Forms) {
  for (const char* ok : {"pods", "deployments.apps", "Deployment", "Deployment.apps",
                         "databases.example.com", "*", "horizontalpodautoscalers.autoscaling"}) {
    EXPECT_TRUE(ValidateResourceName(ok).ok()) << ok;
  }
  for (const char* bad : {"", ".apps", "deployments.", "deployments..apps", "pods/log", "a b",
                          "deployments.Apps", "**"}) {
    EXPECT_FALSE(ValidateResourceName(bad).ok()) << bad;
  }
}

TEST(LabelSelectorParseTest, Forms) {
  struct Case {
    const char* text;
    std::vector<LabelRequirement> want;
  };
  const std::vector<Case> cases = {
      {"", {}},
      {"app=web", {{"app", Op::kEquals, {"web"}}}},
      {"app==web", {{"app", Op::kEquals, {"web"}}}},
      {"app != web", {{"app", Op::kNotEquals, {"web"}}}},
      {"app=", {{"app", Op::kEquals, {""}}}},
      {"tier in (web, db,web)", {{"tier", Op::kIn, {"db", "web"}}}},
      {"tier notin (a)", {{"tier", Op::kNotIn, {"a"}}}},
      {"tier in ()", {{"tier", Op::kIn, {""}}}},
      {"app", {{"app", Op::kExists, {}}}},
      {"!app", {{"app", Op::kNotExists, {}}}},
      {" example.com/team=a_b.c , !x,y ",
       {{"example.com/team", Op::kEquals, {"a_b.c"}},
        {"x", Op::kNotExists, {}},
        {"y", Op::kExists, {}}}},
  };
  for (const Case& c : cases) {
    base::Result<std::vector<LabelRequirement>> got = ParseLabelSelector(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().message();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(LabelSelectorParseTest, Errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"app in (a", "missing ')'"},
      {"app in a", "expected '(' after 'app' in/notin"},
      {"app in (a b)", "unexpected 'b'"},
      {"!app=x", "'!app' takes no operator or value"},
      {"app=web,", "missing a label key at the end"},
      {",app", "expected a label key, found ','"},
      {"app=(x)", "expected a value after 'app', found '('"},
      {"app=a b", "expected ',' or the end, found 'b'"},
      {"replicas>3", "'>' and '<' are not supported in label selectors"},
      {"app=-web",
       "invalid label value '-web': want at most 63 letters, digits, '-', '_' and "
       "'.', starting and ending with a letter or digit"},
      {"Bad_Prefix/app=x",
       "invalid label key 'Bad_Prefix/app': the prefix must be a dns subdomain"},
      {std::string(64, 'k') + "=v",
       "invalid label key '" + std::string(64, 'k') +
           "': want at most 63 letters, digits, '-', '_' and '.', starting and ending with a "
           "letter or digit, after an optional 'prefix/'"},
  };
  for (const auto& [text, why] : cases) {
    base::Result<std::vector<LabelRequirement>> got = ParseLabelSelector(text);
    ASSERT_FALSE(got.ok()) << text;
    EXPECT_EQ(got.status().message(), "invalid label selector '" + text + "': " + why);
  }
}

TEST(ScheduleTest, Cron) {
  for (const char* ok :
       {"* * * * *", "0 3 * * *", "*/15 0-6,22-23 1,15 jan-MAR,dec sun", "0 0 ? * MON-FRI",
        "5/10 * * * *", "0 12 1-31/2 * 0-6", "@daily", "@hourly", "@annually"}) {
    EXPECT_TRUE(ValidateCron(ok).ok()) << ok << ": " << ValidateCron(ok).message();
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"* * * *", "want 5 fields (minute hour day-of-month month day-of-week), found 4"},
      {"0 24 * * *", "hour 24 is out of range (want 0-23)"},
      {"0 0 0 * *", "day of month 0 is out of range (want 1-31)"},
      {"0 0 * 13 *", "month 13 is out of range (want 1-12)"},
      {"0 0 * * 7", "day of week 7 is out of range (want 0-6)"},
      {"0 0 * * fun", "invalid day of week 'fun'"},
      {"*/0 * * * *", "invalid step '0' in minute"},
      {"5-1 * * * *", "range '5-1' in minute is backwards"},
      {"1,,2 * * * *", "empty item in minute"},
      {"@every 1h", "write an interval as the schedule itself, e.g. schedule = \"6h30m\""},
      {"@sometimes", "unknown descriptor (want @yearly, @monthly, @weekly, @daily or @hourly)"},
      {"TZ=UTC 0 3 * * *",
       "time zones are not part of the schedule (Kubernetes rejects them "
       "there)"},
  };
  for (const auto& [expr, why] : bad) {
    EXPECT_EQ(ValidateCron(expr).message(), "invalid cron schedule '" + expr + "': " + why);
  }
}

TEST(ScheduleTest, IntervalOrCron) {
  base::Result<Schedule> s = ParseSchedule("6h30m");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->interval, std::optional<base::Duration>(hours(6) + minutes(30)));
  s = ParseSchedule("0 */6 * * *");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->is_cron());
  EXPECT_EQ(ParseSchedule("daily").status().message(),
            "invalid schedule 'daily': want a 5-field cron expression such as \"30 2 * * *\" or "
            "an interval such as \"6h30m\"");
  EXPECT_FALSE(ParseSchedule("0 3 * * * *").ok());
  EXPECT_FALSE(ParseSchedule("59s").ok());
  EXPECT_TRUE(ParseSchedule("1m").ok());
}

FlagSet BackupFlags() {
  FlagSet flags("backup-run", "backs up applications");
  AddPolicyFlags(flags);
  return flags;
}

base::Result<BackupPolicy> FromArgs(const std::vector<std::string>& args,
                                    const BackupPolicy& base = {}) {
  FlagSet flags = BackupFlags();
  base::Result<ParsedFlags> parsed = flags.Parse(args);
  if (!parsed.ok()) return parsed.status();
  return PolicyFromFlags(*parsed, base);
}

TEST(PolicyFlagsTest, FlagsWinOverThePolicy) {
  BackupPolicy base;
  base.name = "shop";
  base.vault = "main";
  base.include_namespaces = {"shop"};
  base.exclude_resources = {"secrets"};
  base.label_selector = "app=shop";
  base.compression_level = 5;
  base::Result<BackupPolicy> p = FromArgs(
      {"--include-namespaces", "shop,billing-*", "--include-resources=deployments.apps,ConfigMap",
       "--or-label-selectors", "tier in (web, db), app=x or critical",
       "--include-cluster-resources", "false", "--api-versions", "preferred", "--ttl", "48h",
       "--timeout", "10m", "--compression-level", "19", "--exclude-namespaces", "billing-tmp"},
      base);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "shop");
  EXPECT_EQ(p->vault, "main");
  EXPECT_EQ(p->include_namespaces, (std::vector<std::string>{"shop", "billing-*"}));
  EXPECT_EQ(p->exclude_namespaces, (std::vector<std::string>{"billing-tmp"}));
  EXPECT_EQ(p->include_resources, (std::vector<std::string>{"deployments.apps", "ConfigMap"}));
  EXPECT_EQ(p->exclude_resources, (std::vector<std::string>{"secrets"}));  // kept
  EXPECT_EQ(p->label_selector, "app=shop");                                // kept
  EXPECT_EQ(p->or_label_selectors,
            (std::vector<std::string>{"tier in (web, db), app=x", "critical"}));
  EXPECT_EQ(p->include_cluster_resources, "false");
  EXPECT_EQ(p->api_versions, "preferred");
  EXPECT_EQ(p->ttl, hours(48));
  EXPECT_EQ(p->timeout, minutes(10));
  EXPECT_EQ(p->compression_level, 19);
}

TEST(PolicyConfigTest, HeartbeatInterval) {
  base::Result<Config> cfg =
      ParseConfig("[policies.p]\nheartbeat_interval = \"1s\"\n[policies.q]\n", "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->policies.at("p").heartbeat_interval, std::chrono::seconds(1));
  EXPECT_EQ(cfg->policies.at("q").heartbeat_interval, std::chrono::seconds(30));
  EXPECT_FALSE(ParseConfig("[policies.p]\nheartbeat_interval = \"0s\"\n", "t.toml").ok());
  // Above 5m a live run could look abandoned to gc (15m without a heartbeat).
  base::Result<Config> slow = ParseConfig("[policies.p]\nheartbeat_interval = \"20m\"\n", "t.toml");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.status().message(),
            "t.toml:2:1: policies.p.heartbeat_interval: heartbeat interval '20m0s' must be from 1s "
            "to 5m (a third of the 15m after which a silent run is taken for abandoned)");
  EXPECT_TRUE(ParseConfig("[policies.p]\nheartbeat_interval = \"5m\"\n", "t.toml").ok());
  base::Result<BackupPolicy> flag = FromArgs({"--heartbeat-interval", "6m"}, BackupPolicy{});
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.status().message().rfind("--heartbeat-interval: heartbeat interval '6m0s'", 0), 0u)
      << flag.status().message();
  base::Result<BackupPolicy> f = FromArgs({"--heartbeat-interval", "2s"}, BackupPolicy{});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->heartbeat_interval, std::chrono::seconds(2));
}

TEST(PolicyFlagsTest, NoFlagsKeepTheBase) {
  BackupPolicy base;
  base.include_cluster_resources = "true";
  base.ttl = hours(1);
  base::Result<BackupPolicy> p = FromArgs({}, base);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->include_cluster_resources, "true");
  EXPECT_EQ(p->ttl, hours(1));
  EXPECT_EQ(p->timeout, kDefaultPolicyTimeout);
}

TEST(PolicyFlagsTest, Errors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--include-namespaces", "shop,Billing"},
       "--include-namespaces: invalid namespace pattern 'Billing': namespace names are lowercase"},
      {{"--exclude-resources", "pods/log"},
       "--exclude-resources: invalid resource 'pods/log' (want a resource such as deployments, "
       "resource.group such as deployments.apps, a Kind such as Deployment, or *)"},
      {{"--label-selector", "app in (a"},
       "--label-selector: invalid label selector 'app in (a': missing ')'"},
      {{"--or-label-selectors", "a=b or "},
       "--or-label-selectors: empty selector in 'a=b or ' (want SELECTOR or SELECTOR ...)"},
      {{"--or-label-selectors", "a=b or c d"},
       "--or-label-selectors: invalid label selector 'c d': unknown operator 'd' after 'c' "
       "(want =, ==, !=, in or notin)"},
      {{"--include-cluster-resources", "yes"},
       "--include-cluster-resources: invalid value 'yes' (want auto or true or false)"},
      {{"--compression-level", "0"}, "--compression-level: 0 is out of range (want 1 to 19)"},
      {{"--api-versions", "newest"},
       "--api-versions: invalid value 'newest' (want all or preferred)"},
  };
  for (const auto& [args, message] : cases) {
    base::Result<BackupPolicy> p = FromArgs(args);
    ASSERT_FALSE(p.ok()) << args[0];
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(p.status().message(), message);
  }
}

TEST(PolicyFlagsTest, RegisteredOnceAndListedInHelp) {
  FlagSet flags = BackupFlags();
  ASSERT_TRUE(flags.Parse(std::vector<std::string>{}).ok());
  const std::string usage = flags.Usage();
  for (const char* name :
       {"--include-namespaces GLOB,...", "--include-cluster-resources auto|true|false",
        "--api-versions all|preferred", "--or-label-selectors"}) {
    EXPECT_NE(usage.find(name), std::string::npos) << name;
  }
}

TEST(SelectPolicyTest, ByName) {
  base::Result<Config> cfg = LoadConfig(Fixture("policy_full.toml"));
  ASSERT_TRUE(cfg.ok());
  base::Result<BackupPolicy> p = SelectPolicy(&*cfg, "nightly");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "nightly");
  EXPECT_EQ(SelectPolicy(&*cfg, "shpo").status().message(),
            "--policy shpo: no policy 'shpo' in " + Fixture("policy_full.toml") +
                " (did you mean 'shop'?) (defined: nightly, none, shop)");
  EXPECT_EQ(SelectPolicy(nullptr, "shop").status().message(),
            "--policy shop: there is no config file to define it (use --config FILE)");
  base::Result<BackupPolicy> adhoc = SelectPolicy(&*cfg, "");
  ASSERT_TRUE(adhoc.ok());
  EXPECT_EQ(adhoc->name, "");
  EXPECT_EQ(adhoc->timeout, hours(2));  // [defaults] timeout
  EXPECT_EQ(SelectPolicy(nullptr, "")->timeout, kDefaultPolicyTimeout);
}

TEST(PolicyNamesTest, Names) {
  EXPECT_TRUE(ValidatePolicyName("nightly-2").ok());
  EXPECT_EQ(ValidatePolicyName("-x").message(),
            "invalid policy name '-x': must start with a letter or digit (want lowercase "
            "letters, digits and '-', starting and ending with a letter or digit, at most 63 "
            "characters)");
}

// "<policy>-YYYYMMDDHHMMSS" must be a valid backup name (at most 63): a backup policy's name
// has at most 48 characters, and a longer one is refused where it is written, once.
TEST(PolicyNamesTest, BackupPolicyNameLeavesRoomForTheScheduledSuffix) {
  EXPECT_EQ(kMaxBackupPolicyNameLength, 48u);
  const std::string ok(48, 'a');
  const std::string long_name = std::string(48, 'a') + "b";
  EXPECT_TRUE(ValidateBackupPolicyName(ok).ok());
  EXPECT_TRUE(ValidatePolicyName(long_name).ok());  // a restore policy may be longer
  EXPECT_EQ(ValidateBackupPolicyName(long_name).message(),
            "invalid policy name '" + long_name +
                "': 49 characters is too long (at most 48): scheduled backups are named '" +
                long_name + "-YYYYMMDDHHMMSS' and a backup name has at most 63 characters");
  base::Result<Config> cfg = ParseConfig(
      "[vaults.v]\nurl = \"file:///v\"\n\n[policies." + ok + "]\n\n[policies." + long_name +
          "]\ninclude_namespaces = [\"shop\"]\n\n[restores." + long_name + "]\n",
      "t.toml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message(), "t.toml:6:11: policies." + long_name + ": " +
                                        ValidateBackupPolicyName(long_name).message());
}

}  // namespace
}  // namespace cairn::config

namespace cairn::config {
namespace {

TEST(SharedMatchers, ResourceMatchesTable) {
  EXPECT_TRUE(ResourceMatches("apps", "deployments", "Deployment", "*"));
  EXPECT_TRUE(ResourceMatches("apps", "deployments", "Deployment", "deployments"));
  EXPECT_TRUE(ResourceMatches("apps", "deployments", "Deployment", "deployments.apps"));
  EXPECT_TRUE(
      ResourceMatches("apps", "deployments", "Deployment", "deployment"));  // Kind, any case
  EXPECT_TRUE(ResourceMatches("apps", "deployments", "Deployment", "Deployment.APPS"));
  EXPECT_FALSE(ResourceMatches("apps", "deployments", "Deployment", "deployments.batch"));
  EXPECT_FALSE(ResourceMatches("", "secrets", "", "Secret"));  // no kind known: names only
  EXPECT_FALSE(ResourceMatches("", "configmaps", "ConfigMap", "secrets"));
}

TEST(SharedMatchers, LabelRequirementHoldsTable) {
  const std::string web = "web";
  const std::string db = "db";
  auto req = [](LabelRequirement::Op op, std::vector<std::string> values) {
    return LabelRequirement{"app", op, std::move(values)};
  };
  using Op = LabelRequirement::Op;
  EXPECT_TRUE(LabelRequirementHolds(req(Op::kEquals, {"web"}), &web));
  EXPECT_FALSE(LabelRequirementHolds(req(Op::kEquals, {"web"}), &db));
  EXPECT_FALSE(LabelRequirementHolds(req(Op::kEquals, {"web"}), nullptr));
  EXPECT_TRUE(LabelRequirementHolds(req(Op::kNotEquals, {"web"}), nullptr));  // absent is "not"
  EXPECT_TRUE(LabelRequirementHolds(req(Op::kIn, {"db", "web"}), &web));
  EXPECT_FALSE(LabelRequirementHolds(req(Op::kNotIn, {"db", "web"}), &db));
  EXPECT_TRUE(LabelRequirementHolds(req(Op::kExists, {}), &db));
  EXPECT_TRUE(LabelRequirementHolds(req(Op::kNotExists, {}), nullptr));
  EXPECT_FALSE(LabelRequirementHolds(req(Op::kNotExists, {}), &db));
}

}  // namespace
}  // namespace cairn::config
