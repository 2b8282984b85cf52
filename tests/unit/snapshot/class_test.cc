#include "snapshot/class.h"

#include <gtest/gtest.h>

#include "snapshot/names.h"
#include "snapshot/take.h"

namespace cairn::snapshot {
namespace {

using base::Code;

std::vector<SnapshotClass> Classes() {
  return {{"fast-snap", "fast.csi.example.com", "Delete", true},
          {"fast-retain", "fast.csi.example.com", "Retain", false},
          {"slow-snap", "slow.csi.example.com", "Delete", false}};
}

TEST(ChooseClass, TheNamedClassWins) {
  auto c = ChooseClass(Classes(), "fast.csi.example.com", "fast-retain", "shop/data");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "fast-retain");
}

TEST(ChooseClass, ElseTheDefaultOfTheDriver) {
  auto c = ChooseClass(Classes(), "fast.csi.example.com", "", "shop/data");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "fast-snap");
}

TEST(ChooseClass, NamedClassOfAnotherDriverIsRefused) {
  auto c = ChooseClass(Classes(), "fast.csi.example.com", "slow-snap", "shop/data");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("'slow-snap' is for CSI driver 'slow.csi.example.com', "
                                      "not 'fast.csi.example.com', the driver of PVC 'shop/data'"),
            std::string::npos)
      << c.status().message();
  auto missing = ChooseClass(Classes(), "fast.csi.example.com", "nope", "shop/data");
  EXPECT_NE(missing.status().message().find("'nope' (for PVC 'shop/data') does not exist"),
            std::string::npos);
}

TEST(ChooseClass, NoDefaultNamesTheDriverAndThePvc) {
  auto c = ChooseClass(Classes(), "slow.csi.example.com", "", "data/db-0");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no default VolumeSnapshotClass for CSI driver "
                                      "'slow.csi.example.com' of PVC 'data/db-0'"),
            std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("HINT:"), std::string::npos);
}

TEST(ChooseClass, TwoDefaultsForOneDriverAreRefusedAsTheControllerDoes) {
  auto classes = Classes();
  classes.push_back({"fast-2", "fast.csi.example.com", "Delete", true});
  auto c = ChooseClass(classes, "fast.csi.example.com", "", "shop/data");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("2 default VolumeSnapshotClasses"), std::string::npos);
  EXPECT_NE(c.status().message().find("fast-snap, fast-2"), std::string::npos);
}

TEST(ParseClass, ReadsTheDefaultAnnotation) {
  auto obj = nlohmann::json::parse(R"({"metadata":{"name":"a","annotations":{
      "snapshot.storage.kubernetes.io/is-default-class":"true"}},"driver":"d",
      "deletionPolicy":"Retain"})");
  SnapshotClass c = ParseClass(obj);
  EXPECT_EQ(c.name, "a");
  EXPECT_EQ(c.driver, "d");
  EXPECT_EQ(c.deletion_policy, "Retain");
  EXPECT_TRUE(c.is_default);
  obj["metadata"]["annotations"][std::string(kDefaultClassAnnotation)] = "True";
  EXPECT_FALSE(ParseClass(obj).is_default);  // the controller compares with "true" exactly
}

TEST(Names, DeterministicAndBounded) {
  EXPECT_EQ(SnapshotName("shop-20261202", "data"), "cairn-shop-20261202-data");
  std::string pvc(250, 'a');
  std::string n = SnapshotName("b", pvc);
  EXPECT_EQ(n.size(), 253u);
  EXPECT_EQ(n, SnapshotName("b", pvc));
  EXPECT_NE(n, SnapshotName("c", pvc));
}

TEST(QuantityBytes, ParsesKubernetesQuantities) {
  EXPECT_EQ(*QuantityBytes("2Gi"), 2147483648ULL);
  EXPECT_EQ(*QuantityBytes("500M"), 500000000ULL);
  EXPECT_EQ(*QuantityBytes("1073741824"), 1073741824ULL);
  EXPECT_EQ(*QuantityBytes("1.5Ki"), 1536ULL);
  EXPECT_FALSE(QuantityBytes("").ok());
  EXPECT_FALSE(QuantityBytes("-1Gi").ok());
  EXPECT_FALSE(QuantityBytes("1Zi").ok());
}

TEST(DescribeStatus, SaysWhatTheSnapshotShows) {
  EXPECT_EQ(DescribeStatus(nlohmann::json::object()),
            "no status (is the snapshot controller running?)");
  auto vs = nlohmann::json::parse(
      R"({"status":{"readyToUse":false,"error":{"message":"rpc error: quota exceeded"}}})");
  EXPECT_EQ(DescribeStatus(vs),
            "readyToUse false, not bound to a content, error: rpc error: quota exceeded");
}

}  // namespace
}  // namespace cairn::snapshot
