#include "config/restore_policy.h"

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

TEST(RestoreConfigTest, EveryKey) {
  base::Result<Config> cfg = LoadConfig(Fixture("restore_full.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_EQ(cfg->restores.size(), 3u);
  EXPECT_TRUE(cfg->policies.empty());
  const RestorePolicy& p = cfg->restores.at("shop-copy");
  EXPECT_EQ(p.name, "shop-copy");
  EXPECT_EQ(p.origin, Fixture("restore_full.toml") + ":8");
  EXPECT_EQ(p.vault, "main");
  EXPECT_EQ(p.include_namespaces, (std::vector<std::string>{"shop", "billing-*"}));
  EXPECT_EQ(p.exclude_namespaces, (std::vector<std::string>{"billing-tmp?"}));
  EXPECT_EQ(p.include_resources,
            (std::vector<std::string>{"deployments.apps", "ConfigMap", "persistentvolumeclaims"}));
  EXPECT_EQ(p.exclude_resources, (std::vector<std::string>{"Event"}));
  EXPECT_EQ(p.label_selector, "app.kubernetes.io/part-of=shop, !legacy");
  // File order, not toml++'s key order.
  EXPECT_EQ(p.namespace_mapping,
            (Mapping{{"shop", "shop-copy"}, {"billing-eu", "billing-eu-copy"}}));
  EXPECT_EQ(p.storage_class_mapping,
            (Mapping{{"standard", "fast-ssd"}, {"gp2", "ebs.csi.aws.com-gp3"}}));
  EXPECT_EQ(p.convert_to_access_modes, (Mapping{{"ReadWriteMany", "ReadWriteOnce"}}));
  EXPECT_EQ(p.image_registry_mapping, (Mapping{{"docker.io/library/", "mirror.example.com/lib/"},
                                               {"quay.io/", "mirror.example.com/quay/"}}));
  EXPECT_EQ(p.existing_resource_policy, "update");
  EXPECT_TRUE(p.preserve_node_ports);
  EXPECT_TRUE(p.restore_status);
  EXPECT_EQ(p.priorities, (std::vector<std::string>{"customresourcedefinitions", "namespaces",
                                                    "Secret", "configmaps"}));
  EXPECT_EQ(p.timeout, std::optional<base::Duration>(minutes(45)));

  const RestorePolicy& dr = cfg->restores.at("dr");
  EXPECT_EQ(dr.origin, Fixture("restore_full.toml") + ":25");
  EXPECT_EQ(dr.vault, "");
  EXPECT_TRUE(dr.include_namespaces.empty());
  EXPECT_TRUE(dr.namespace_mapping.empty());
  EXPECT_EQ(dr.existing_resource_policy, "none");
  EXPECT_FALSE(dr.preserve_node_ports);
  EXPECT_FALSE(dr.restore_status);
  EXPECT_TRUE(dr.priorities.empty());
  EXPECT_EQ(dr.timeout, std::optional<base::Duration>(hours(2)));  // [defaults] timeout

  EXPECT_EQ(cfg->restores.at("mapped").namespace_mapping, (Mapping{{"b", "x"}, {"a", "y"}}));
}

TEST(RestoreConfigTest, BuiltInDefaults) {
  base::Result<Config> cfg = ParseConfig("[restores.r]\n", "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const RestorePolicy& r = cfg->restores.at("r");
  EXPECT_EQ(r.name, "r");
  EXPECT_EQ(r.origin, "t.toml:1");
  EXPECT_EQ(r.timeout, std::optional<base::Duration>(kDefaultRestoreTimeout));
  EXPECT_EQ(r.existing_resource_policy, "none");
  EXPECT_EQ(r.restore_workers, kDefaultRestoreWorkers);
}

TEST(RestoreConfigTest, PoliciesAndRestoresSideBySide) {
  base::Result<Config> cfg = ParseConfig(
      "[vaults.v]\nurl = \"file:///x\"\n[policies.shop]\nvault = \"v\"\n"
      "[restores.shop]\nvault = \"v\"\nnamespace_mapping = { shop = \"shop-2\" }\n",
      "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->policies.at("shop").vault, "v");
  EXPECT_EQ(cfg->restores.at("shop").namespace_mapping, (Mapping{{"shop", "shop-2"}}));
}

std::string Expected(const std::string& fixture, const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += (out.empty() ? "" : "\n") + Fixture(fixture) + line;
  return out;
}

TEST(RestoreConfigTest, EveryErrorAtItsPosition) {
  base::Result<Config> cfg = LoadConfig(Fixture("restore_errors.toml"));
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(
      cfg.status().message(),
      Expected(
          "restore_errors.toml",
          {
              ":7:1: restores.shop.vault: vault 'mian' is not defined (did you mean 'main'?) "
              "(defined: main)",
              ":8:1: unknown key 'restores.shop.include_namespace' (did you mean "
              "'include_namespaces'?)",
              ":9:31: restores.shop.include_namespaces[1]: invalid namespace pattern 'Billing': "
              "namespace names are lowercase",
              ":10:22: restores.shop.exclude_resources[0]: invalid resource 'deployments..apps' "
              "(want a resource such as deployments, resource.group such as deployments.apps, a "
              "Kind such as Deployment, or *)",
              ":11:1: restores.shop.label_selector: invalid label selector 'app in (shop': "
              "missing ')'",
              ":12:1: restores.shop.existing_resource_policy: invalid value 'replace' (want none "
              "or update)",
              ":13:1: restores.shop.preserve_node_ports: expected a boolean, got string",
              ":14:1: restores.shop.restore_status: expected a boolean, got integer",
              ":15:29: restores.shop.priorities[1]: '*' is not a resource (priorities lists the "
              "resources to restore first, in order)",
              ":15:34: restores.shop.priorities[2]: invalid resource 'pods/log' (want a resource "
              "such as deployments, resource.group such as deployments.apps, a Kind such as "
              "Deployment, or *)",
              ":15:46: restores.shop.priorities[3]: 'namespaces' is listed twice",
              ":15:60: restores.shop.priorities[4]: expected a string, got integer",
              ":16:1: restores.shop.timeout: invalid duration 'soon': want a number and unit such "
              "as 90s, 6h30m",
              ":18:11: restores.Bad_Name: invalid policy name 'Bad_Name': invalid character (want "
              "lowercase letters, digits and '-', starting and ending with a letter or digit, at "
              "most 63 characters)",
          }));
}

TEST(RestoreConfigTest, EveryMappingErrorAtItsPosition) {
  base::Result<Config> cfg = LoadConfig(Fixture("restore_mapping_errors.toml"));
  ASSERT_FALSE(cfg.ok());
  const std::string ns_form =
      "want at most 63 lowercase letters, digits and '-', starting and ending with a letter or "
      "digit";
  const std::string sc_form =
      "want lowercase letters, digits, '-' and '.', each dot-separated part starting and ending "
      "with a letter or digit, at most 253 characters";
  const std::string modes = "(want ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod)";
  EXPECT_EQ(
      cfg.status().message(),
      Expected(
          "restore_mapping_errors.toml",
          {
              ":4:30: restores.shop.namespace_mapping.shop: invalid namespace name 'Shop-Copy': " +
                  ns_form,
              ":4:43: restores.shop.namespace_mapping.\"shop*\": invalid namespace name 'shop*': "
              "a mapping names one namespace, not a pattern",
              // Reported at the later entry's value.
              ":4:82: restores.shop.namespace_mapping.legacy: namespaces billing and legacy both "
              "map to c",
              ":5:38: restores.shop.storage_class_mapping.standard: invalid storage class name "
              "'Fast_SSD': " +
                  sc_form,
              ":5:50: restores.shop.storage_class_mapping.-x: invalid storage class name '-x': " +
                  sc_form,
              ":6:45: restores.shop.convert_to_access_modes.ReadWriteMany: invalid access mode "
              "'ReadWriteOnly' " +
                  modes + " (did you mean 'ReadWriteOnce'?)",
              ":6:62: restores.shop.convert_to_access_modes.RWX: invalid access mode 'RWX' " +
                  modes,
              ":7:51: restores.shop.image_registry_mapping.\"docker.io/library/\": invalid image "
              "registry prefix 'mirror example.com/': whitespace and control characters are not "
              "allowed",
              ":7:74: restores.shop.image_registry_mapping.\"\": empty image registry prefix "
              "(want e.g. docker.io/library/)",
              ":7:97: restores.shop.image_registry_mapping.\"quay.io/\": expected a string, got "
              "integer",
              ":10:1: restores.list.namespace_mapping: expected a table such as { shop = "
              "\"shop-copy\" }, got array",
              ":14:1: restores.sub.storage_class_mapping.Gold: invalid storage class name "
              "'Gold': " +
                  sc_form,
          }));
}

TEST(RestoreConfigTest, MoreErrors) {
  EXPECT_EQ(ParseError("[restores.r]\nvault = \"main\"\n"),
            "t.toml:2:1: restores.r.vault: vault 'main' is not defined (no [vaults.NAME] tables "
            "in this file)");
  EXPECT_EQ(ParseError("[restores.r]\nnamespace_mapping = \"a=b\"\n"),
            "t.toml:2:1: restores.r.namespace_mapping: expected a table such as { shop = "
            "\"shop-copy\" }, got string");
  EXPECT_EQ(ParseError("[restores.r]\nimage_registry_mapping = [\"a=b\"]\n"),
            "t.toml:2:1: restores.r.image_registry_mapping: expected a table such as { "
            "\"docker.io/library/\" = \"mirror.example.com/lib/\" }, got array");
  EXPECT_EQ(ParseError("[restores.r]\nnamespace_mapping = { a = { b = \"c\" } }\n"),
            "t.toml:2:27: restores.r.namespace_mapping.a: expected a string, got table");
  EXPECT_EQ(ParseError("[restores.r]\npriorities = [\"pods\", 3]\n"),
            "t.toml:2:23: restores.r.priorities[1]: expected a string, got integer");
  EXPECT_EQ(ParseError("[restores.r]\nrestore_status = 1\n"),
            "t.toml:2:1: restores.r.restore_status: expected a boolean, got integer");
  EXPECT_EQ(ParseError("restores = 1\n"),
            "t.toml:1:1: restores: expected a table of named tables ([restores.NAME]), got "
            "integer");
  EXPECT_EQ(ParseError("[restore.r]\n"),
            "t.toml:1:2: unknown key 'restore' (did you mean 'restores'?)");
  EXPECT_EQ(ParseError("[restores.r]\nnamespace_maping = { a = \"b\" }\n"),
            "t.toml:2:1: unknown key 'restores.r.namespace_maping' (did you mean "
            "'namespace_mapping'?)");
  // Three namespaces onto one: each later one named with the first.
  EXPECT_EQ(ParseError("[restores.r]\n[restores.r.namespace_mapping]\nz = \"t\"\na = \"t\"\n"
                       "m = \"t\"\n"),
            "t.toml:4:5: restores.r.namespace_mapping.a: namespaces z and a both map to t\n"
            "t.toml:5:5: restores.r.namespace_mapping.m: namespaces z and m both map to t");
}

TEST(RestoreConfigTest, MergingIsOnlyAnErrorForNamespaces) {
  base::Result<Config> cfg = ParseConfig(
      "[restores.r]\nstorage_class_mapping = { a = \"c\", b = \"c\" }\n"
      "convert_to_access_modes = { ReadWriteMany = \"ReadWriteOnce\", ReadOnlyMany = "
      "\"ReadWriteOnce\" }\nimage_registry_mapping = { \"a/\" = \"m/\", \"b/\" = \"m/\" }\n"
      "namespace_mapping = { a = \"b\", b = \"a\" }\n",
      "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->restores.at("r").namespace_mapping, (Mapping{{"a", "b"}, {"b", "a"}}));
}

TEST(RestoreValuesTest, Forms) {
  for (const char* ok : {"a", "shop-copy", "0"}) {
    EXPECT_TRUE(ValidateNamespaceName(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateNamespaceName(std::string(63, 'x')).ok());
  for (const char* bad : {"", "-a", "a-", "a.b", "A", "a_b"}) {
    EXPECT_FALSE(ValidateNamespaceName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateNamespaceName(std::string(64, 'x')).ok());
  for (const char* ok : {"standard", "fast-ssd", "ebs.csi.aws.com", "a.b-c.d"}) {
    EXPECT_TRUE(ValidateStorageClassName(ok).ok()) << ok;
  }
  for (const char* bad : {"", "a..b", ".a", "a.", "Fast", "a_b", "a.-b"}) {
    EXPECT_FALSE(ValidateStorageClassName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateStorageClassName(std::string(254, 'a')).ok());
  for (const char* ok : {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}) {
    EXPECT_TRUE(ValidateAccessMode(ok).ok()) << ok;
  }
  EXPECT_FALSE(ValidateAccessMode("readwriteonce").ok());
  EXPECT_FALSE(ValidateAccessMode("RWO").ok());
  for (const char* ok : {"docker.io/library/", "docker.io", "registry:5000/x/", "ghcr.io/a/b"}) {
    EXPECT_TRUE(ValidateRegistryPrefix(ok).ok()) << ok;
  }
  for (const char* bad : {"", " docker.io", "a\tb", "a\nb", "a\x01"}) {
    EXPECT_FALSE(ValidateRegistryPrefix(bad).ok()) << bad;
  }
  EXPECT_EQ(MappingKey(MappingKind::kAccessMode), "convert_to_access_modes");
  EXPECT_EQ(MappingFlag(MappingKind::kImageRegistry), "image-registry-mapping");
}

TEST(RestoreValuesTest, CheckMapping) {
  std::vector<MappingProblem> p =
      CheckMapping(MappingKind::kNamespace, {{"a", "x"}, {"b", "x"}, {"a", "y"}, {"C", "z"}});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].index, 1u);
  EXPECT_TRUE(p[0].at_target);
  EXPECT_EQ(p[0].message, "namespaces a and b both map to x");
  EXPECT_EQ(p[1].index, 2u);
  EXPECT_FALSE(p[1].at_target);
  EXPECT_EQ(p[1].message, "'a' is mapped twice");
  EXPECT_EQ(p[2].index, 3u);
  EXPECT_FALSE(p[2].at_target);
  EXPECT_TRUE(CheckMapping(MappingKind::kStorageClass, {{"a", "x"}, {"b", "x"}}).empty());
  EXPECT_TRUE(CheckMapping(MappingKind::kNamespace, {{"a", "b"}, {"b", "c"}}).empty());
  EXPECT_TRUE(CheckPriorities({"namespaces", "Secret", "secrets"}).empty());
}

FlagSet RestoreFlags() {
  FlagSet flags("restore-run", "restores a backup");
  AddRestorePolicyFlags(flags);
  return flags;
}

base::Result<RestorePolicy> FromArgs(const std::vector<std::string>& args,
                                     const RestorePolicy& base = {}) {
  FlagSet flags = RestoreFlags();
  base::Result<ParsedFlags> parsed = flags.Parse(args);
  if (!parsed.ok()) return parsed.status();
  return RestorePolicyFromFlags(*parsed, base);
}

TEST(RestoreFlagsTest, FlagsWinOverThePolicy) {
  base::Result<Config> cfg = LoadConfig(Fixture("restore_full.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  base::Result<RestorePolicy> base = SelectRestorePolicy(&*cfg, "shop-copy");
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  base::Result<RestorePolicy> p = FromArgs(
      {"--include-namespaces", "shop", "--namespace-mapping", "shop=shop-2,billing=billing-2",
       "--image-registry-mapping=docker.io/library/=mirror.example.com/lib/",
       "--convert-to-access-modes", "ReadWriteMany=ReadWriteOnce,ReadOnlyMany=ReadWriteOnce",
       "--existing-resource-policy", "none", "--preserve-node-ports=false", "--priorities",
       "namespaces,Secret", "--timeout", "10m", "--label-selector", "app=shop",
       "--exclude-resources", "events,Secret"},
      *base);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "shop-copy");
  EXPECT_EQ(p->vault, "main");
  EXPECT_EQ(p->include_namespaces, (std::vector<std::string>{"shop"}));
  EXPECT_EQ(p->exclude_namespaces, (std::vector<std::string>{"billing-tmp?"}));  // kept
  EXPECT_EQ(p->exclude_resources, (std::vector<std::string>{"events", "Secret"}));
  EXPECT_EQ(p->label_selector, "app=shop");
  EXPECT_EQ(p->namespace_mapping, (Mapping{{"shop", "shop-2"}, {"billing", "billing-2"}}));
  EXPECT_EQ(p->storage_class_mapping, base->storage_class_mapping);  // kept
  EXPECT_EQ(p->convert_to_access_modes,
            (Mapping{{"ReadWriteMany", "ReadWriteOnce"}, {"ReadOnlyMany", "ReadWriteOnce"}}));
  EXPECT_EQ(p->image_registry_mapping,
            (Mapping{{"docker.io/library/", "mirror.example.com/lib/"}}));
  EXPECT_EQ(p->existing_resource_policy, "none");
  EXPECT_FALSE(p->preserve_node_ports);
  EXPECT_TRUE(p->restore_status);  // kept
  EXPECT_EQ(p->priorities, (std::vector<std::string>{"namespaces", "Secret"}));
  EXPECT_EQ(p->timeout, std::optional<base::Duration>(minutes(10)));
}

TEST(RestoreFlagsTest, AdHocRun) {
  base::Result<RestorePolicy> p = FromArgs(
      {"--namespace-mapping", "shop=shop-copy", "--restore-status", "--storage-class-mapping",
       "standard=fast", "--existing-resource-policy=update", "--preserve-node-ports"},
      SelectRestorePolicy(nullptr, "").value());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "");
  EXPECT_EQ(p->namespace_mapping, (Mapping{{"shop", "shop-copy"}}));
  EXPECT_EQ(p->storage_class_mapping, (Mapping{{"standard", "fast"}}));
  EXPECT_TRUE(p->restore_status);
  EXPECT_TRUE(p->preserve_node_ports);
  EXPECT_EQ(p->existing_resource_policy, "update");
  EXPECT_EQ(p->timeout, std::optional<base::Duration>(kDefaultRestoreTimeout));

  base::Result<RestorePolicy> none = FromArgs({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->existing_resource_policy, "none");
  EXPECT_TRUE(none->namespace_mapping.empty());
  EXPECT_EQ(none->timeout, std::optional<base::Duration>(kDefaultRestoreTimeout));
}

TEST(RestoreFlagsTest, RestoreWorkers) {
  base::Result<Config> cfg = ParseConfig("[restores.r]\nrestore_workers = 16\n", "t.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->restores.at("r").restore_workers, 16);
  EXPECT_NE(ParseError("[restores.r]\nrestore_workers = 0\n").find("restores.r.restore_workers"),
            std::string::npos);
  EXPECT_NE(ParseError("[restores.r]\nrestore_workers = 65\n").find("restores.r.restore_workers"),
            std::string::npos);
  base::Result<RestorePolicy> p = FromArgs({"--restore-workers", "12"}, cfg->restores.at("r"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->restore_workers, 12);
  EXPECT_EQ(FromArgs({}, cfg->restores.at("r"))->restore_workers, 16);  // kept
  EXPECT_FALSE(FromArgs({"--restore-workers", "0"}).ok());
  EXPECT_FALSE(FromArgs({"--restore-workers", "65"}).ok());
}

TEST(RestoreFlagsTest, Errors) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      // Rejected by the flag parser itself.
      {{"--namespace-mapping", "a=b,a=c"}, "--namespace-mapping: 'a' is mapped twice"},
      {{"--namespace-mapping", "a=b", "--namespace-mapping", "a=c"},
       "--namespace-mapping: 'a' is mapped twice"},
      {{"--namespace-mapping", "a"},
       "--namespace-mapping: invalid item 'a' in 'a' (want FROM=TO,..., e.g. a=b,c=d)"},
      {{"--storage-class-mapping", "a="},
       "--storage-class-mapping: invalid item 'a=' in 'a=' (want FROM=TO,..., e.g. a=b,c=d)"},
      {{"--existing-resource-policy", "replace"},
       "--existing-resource-policy: invalid value 'replace' (want none or update)"},
      {{"--restore-status=yes"}, "--restore-status: invalid boolean 'yes' (want true or false)"},
      // Rejected by RestorePolicyFromFlags.
      {{"--namespace-mapping", "a=c,b=c"}, "--namespace-mapping: namespaces a and b both map to c"},
      {{"--namespace-mapping", "shop=Shop"},
       "--namespace-mapping: invalid namespace name 'Shop': want at most 63 lowercase letters, "
       "digits and '-', starting and ending with a letter or digit"},
      {{"--namespace-mapping", "shop-*=x"},
       "--namespace-mapping: invalid namespace name 'shop-*': a mapping names one namespace, not "
       "a pattern"},
      {{"--storage-class-mapping", "standard=fast_ssd"},
       "--storage-class-mapping: invalid storage class name 'fast_ssd': want lowercase letters, "
       "digits, '-' and '.', each dot-separated part starting and ending with a letter or "
       "digit, at most 253 characters"},
      {{"--convert-to-access-modes", "ReadWriteMany=ReadWriteOne"},
       "--convert-to-access-modes: invalid access mode 'ReadWriteOne' (want ReadWriteOnce, "
       "ReadOnlyMany, ReadWriteMany, ReadWriteOncePod) (did you mean 'ReadWriteOnce'?)"},
      {{"--image-registry-mapping", "docker.io/=mirror\x01/"},
       "--image-registry-mapping: invalid image registry prefix 'mirror\x01/': whitespace and "
       "control characters are not allowed"},
      {{"--include-namespaces", "shop,Billing"},
       "--include-namespaces: invalid namespace pattern 'Billing': namespace names are lowercase"},
      {{"--include-resources", "pods/log"},
       "--include-resources: invalid resource 'pods/log' (want a resource such as deployments, "
       "resource.group such as deployments.apps, a Kind such as Deployment, or *)"},
      {{"--label-selector", "app in (a"},
       "--label-selector: invalid label selector 'app in (a': missing ')'"},
      {{"--priorities", "namespaces,secrets,namespaces"},
       "--priorities: 'namespaces' is listed twice"},
      {{"--priorities", "*"},
       "--priorities: '*' is not a resource (priorities lists the resources to restore first, in "
       "order)"},
  };
  for (const auto& [args, message] : cases) {
    base::Result<RestorePolicy> p = FromArgs(args);
    ASSERT_FALSE(p.ok()) << args[0] << " " << (args.size() > 1 ? args[1] : "");
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(p.status().message(), message);
  }
}

TEST(RestoreFlagsTest, RegisteredOnceAndListedInHelp) {
  FlagSet flags = RestoreFlags();
  ASSERT_TRUE(flags.Parse(std::vector<std::string>{}).ok());
  const std::string usage = flags.Usage();
  for (const char* name :
       {"--include-namespaces GLOB,...", "--namespace-mapping FROM=TO,...",
        "--existing-resource-policy none|update", "--preserve-node-ports", "--restore-status",
        "--priorities RES,...", "--image-registry-mapping FROM=TO,...", "--restore-workers N"}) {
    EXPECT_NE(usage.find(name), std::string::npos) << name;
  }
  // Both sets in one FlagSet is a programming error the parser reports.
  FlagSet both = RestoreFlags();
  AddPolicyFlags(both);
  EXPECT_EQ(both.Parse(std::vector<std::string>{}).status().code(), Code::kInternal);
}

TEST(SelectRestorePolicyTest, ByName) {
  base::Result<Config> cfg = LoadConfig(Fixture("restore_full.toml"));
  ASSERT_TRUE(cfg.ok());
  base::Result<RestorePolicy> p = SelectRestorePolicy(&*cfg, "dr");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "dr");
  EXPECT_EQ(SelectRestorePolicy(&*cfg, "shop-cpy").status().message(),
            "--policy shop-cpy: no restore policy 'shop-cpy' in " + Fixture("restore_full.toml") +
                " (did you mean 'shop-copy'?) (defined: dr, mapped, shop-copy)");
  EXPECT_EQ(SelectRestorePolicy(&*cfg, "zzz").status().message(),
            "--policy zzz: no restore policy 'zzz' in " + Fixture("restore_full.toml") +
                " (defined: dr, mapped, shop-copy)");
  EXPECT_EQ(SelectRestorePolicy(nullptr, "dr").status().message(),
            "--policy dr: there is no config file to define it (use --config FILE)");
  base::Result<Config> empty = ParseConfig("", "e.toml");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(SelectRestorePolicy(&*empty, "dr").status().message(),
            "--policy dr: no restore policy 'dr' in e.toml (it defines no [restores.NAME])");
  base::Result<RestorePolicy> adhoc = SelectRestorePolicy(&*cfg, "");
  ASSERT_TRUE(adhoc.ok());
  EXPECT_EQ(adhoc->name, "");
  EXPECT_EQ(adhoc->timeout, std::optional<base::Duration>(hours(2)));  // [defaults] timeout
  EXPECT_EQ(SelectRestorePolicy(nullptr, "")->timeout,
            std::optional<base::Duration>(kDefaultRestoreTimeout));
}

}  // namespace
}  // namespace cairn::config
