// Golden files: tests/unit/mover/golden/<case>.json. CAIRN_UPDATE_GOLDEN=1 rewrites them;
// otherwise each built Job must equal its file exactly.
#include "mover/job_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

namespace cairn::mover {
namespace {

using nlohmann::json;

const std::string kGoldenDir = std::string(CAIRN_SOURCE_DIR) + "/tests/unit/mover/golden/";

void ExpectGolden(const std::string& name, const json& got) {
  std::string path = kGoldenDir + name + ".json";
  std::string text = got.dump(2) + "\n";
  const char* update = std::getenv("CAIRN_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << text;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing golden file " << path << " (CAIRN_UPDATE_GOLDEN=1 writes it)";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(text, want.str()) << "Job spec differs from " << path;
}

Placement Workload() {
  Placement p;
  p.workload_pod = "db-0";
  p.access_mode = "ReadWriteOnce";
  p.node_name = "worker-2";
  p.identity.uid = 1000;
  p.identity.gid = 2000;
  p.identity.fs_group = 3000;
  p.identity.supplemental_groups = {4000};
  p.tolerations = json::array(
      {{{"key", "dedicated"}, {"operator", "Equal"}, {"value", "db"}, {"effect", "NoSchedule"}}});
  return p;
}

JobSpecInput Base() {
  JobSpecInput in;
  in.direction = Direction::kBackup;
  in.backup_name = "nightly-20261202";
  in.namespace_name = "shop";
  in.pvc = "data-db-0";
  in.image = "registry.example/cairn:1.4.0";
  in.vault_args = {"--url",    "s3://backups/prod", "--endpoint", "https://s3.example",
                   "--region", "eu-west-1"};
  in.secret_name = SecretName(JobName(in.direction, in.backup_name, in.pvc));
  in.credential_keys = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
  in.resources = {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}},
                  {"limits", {{"memory", "512Mi"}}}};
  in.active_deadline_seconds = 3600;
  in.ttl_seconds_after_finished = 600;
  return in;
}

TEST(JobSpecGolden, ReadWriteOnceInUse) {
  JobSpecInput in = Base();
  in.placement = Workload();
  in.ca_bundle = true;
  in.owner = OwnerRef{"v1", "ConfigMap", "cairn-backup-nightly-20261202", "0b7c-uid"};
  ExpectGolden("rwo_in_use", BuildJob(in));
}

TEST(JobSpecGolden, ReadWriteMany) {
  JobSpecInput in = Base();
  in.placement = Workload();
  in.placement.access_mode = "ReadWriteMany";
  in.placement.node_name = "";
  ExpectGolden("rwx", BuildJob(in));
}

TEST(JobSpecGolden, UnusedWithIncludePolicy) {
  JobSpecInput in = Base();
  in.node_policy = NodePolicy::kInclude;
  ExpectGolden("unused_include", BuildJob(in));
}

TEST(JobSpecGolden, UnusedWithPreferPolicy) {
  JobSpecInput in = Base();
  in.node_policy = NodePolicy::kPrefer;
  ExpectGolden("unused_prefer", BuildJob(in));
}

TEST(JobSpecGolden, ReadWriteOncePodThroughSnapshot) {
  JobSpecInput in = Base();
  in.placement = Workload();
  in.placement.access_mode = "ReadWriteOncePod";
  in.placement.mountable = false;
  in.placement.node_name = "";  // the temporary claim is used by nobody
  in.claim_name = "cairn-snap-data-db-0-4f2a";
  ExpectGolden("rwop_snapshot", BuildJob(in));
}

TEST(JobSpecGolden, RootWorkloadPrivilegedBackup) {
  JobSpecInput in = Base();
  std::vector<json> pods = {
      {{"metadata", {{"name", "legacy-0"}}},
       {"spec",
        {{"nodeName", "worker-1"},
         {"containers", {{{"name", "app"}}}},
         {"volumes", {{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", "data-db-0"}}}}}}}},
       {"status", {{"phase", "Running"}}}}};
  json pvc = {{"metadata", {{"name", "data-db-0"}, {"namespace", "shop"}}},
              {"spec", {{"accessModes", {"ReadWriteOnce"}}}}};
  auto refused = Place(pvc, pods, false);
  ASSERT_FALSE(refused.ok());
  ExpectGolden("root_refused", {{"code", base::CodeName(refused.status().code())},
                                {"message", refused.status().message()},
                                {"hint", refused.status().hint()}});
  auto allowed = Place(pvc, pods, true);
  ASSERT_TRUE(allowed.ok());
  in.placement = *allowed;
  ExpectGolden("root_privileged_backup", BuildJob(in));
  in.direction = Direction::kRestore;
  in.restore_name = "move-to-dr";
  in.placement.node_name = "";  // the new claim is used by nobody yet: anywhere
  ExpectGolden("root_privileged_restore", BuildJob(in));
}

TEST(JobSpecGolden, Restore) {
  JobSpecInput in = Base();
  in.direction = Direction::kRestore;
  in.restore_name = "move-to-dr";
  in.job_namespace = "shop-dr";  // restored into a mapped namespace
  in.claim_name = "data-db-0";
  in.placement.identity.uid = 1000;
  in.placement.identity.fs_group = 3000;
  in.extra_args = {"--existing-data", "overwrite"};
  in.secret_name = SecretName(JobName(in.direction, in.restore_name, in.pvc));
  ExpectGolden("restore", BuildJob(in));
}

TEST(JobSpec, RestrictedByDefault) {
  json job = BuildJob(Base());
  const json& pod = job["spec"]["template"]["spec"];
  const json& sc = pod["containers"][0]["securityContext"];
  EXPECT_EQ(sc["allowPrivilegeEscalation"], false);
  EXPECT_EQ(sc["capabilities"]["drop"], json({"ALL"}));
  EXPECT_FALSE(sc["capabilities"].contains("add"));
  EXPECT_EQ(sc["readOnlyRootFilesystem"], true);
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  EXPECT_EQ(job["spec"]["backoffLimit"], 0);
  EXPECT_EQ(pod["volumes"][0]["persistentVolumeClaim"]["readOnly"], true);
}

TEST(JobName, ShortNamesAreReadable) {
  EXPECT_EQ(JobName(Direction::kBackup, "nightly", "data"), "cairn-backup-nightly-data");
  EXPECT_EQ(SecretName("cairn-backup-nightly-data"), "cairn-backup-nightly-data-vault");
}

TEST(JobName, LongOrChangedNamesAreValidDistinctAndDeterministic) {
  const std::regex dns_label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  std::string long_pvc(200, 'p');
  std::vector<std::string> names = {
      JobName(Direction::kBackup, "nightly", long_pvc),
      JobName(Direction::kBackup, "nightly", long_pvc + "q"),
      JobName(Direction::kRestore, "nightly", long_pvc),
      JobName(Direction::kBackup, "a.b", "c"),
      JobName(Direction::kBackup, "a-b", "c"),
      JobName(Direction::kBackup, "Nightly", "c"),
  };
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_LE(names[i].size(), 63u) << names[i];
    EXPECT_TRUE(std::regex_match(names[i], dns_label)) << names[i];
    EXPECT_TRUE(std::regex_match(SecretName(names[i]), dns_label)) << SecretName(names[i]);
    EXPECT_LE(SecretName(names[i]).size(), 63u);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(names[i], names[j]);
  }
  EXPECT_EQ(names[0], JobName(Direction::kBackup, "nightly", long_pvc));
}

TEST(LabelValue, InvalidValuesAreMadeValid) {
  const std::regex value("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?");
  EXPECT_EQ(LabelValue("nightly-1"), "nightly-1");
  for (std::string v : {std::string(80, 'x'), std::string("-x-"), std::string("a/b")}) {
    std::string got = LabelValue(v);
    EXPECT_LE(got.size(), 63u);
    EXPECT_TRUE(std::regex_match(got, value)) << got;
  }
}

// A Job with no image is accepted by the API server but never gets a pod: refused before it is
// created, naming the Job and the key that sets the image.
TEST(CheckClusterJob, AJobWithoutImageIsRefused) {
  JobSpecInput in = Base();
  EXPECT_TRUE(CheckClusterJob(BuildJob(in)).ok());
  in.image = "";
  base::Status st = CheckClusterJob(BuildJob(in));
  EXPECT_EQ(st.code(), base::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("mover Job " + JobName(in.direction, in.backup_name, in.pvc) +
                              " has no image"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("mover_image"), std::string::npos);
  EXPECT_FALSE(CheckClusterJob(json::object()).ok());
  EXPECT_FALSE(CheckClusterJob(json::array()).ok());
}

}  // namespace
}  // namespace cairn::mover
