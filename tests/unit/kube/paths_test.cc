// Tests for kube/paths: REST paths of core and group resources, namespaced and cluster-scoped,
// subresources, encoding, list queries and the object names used in messages.
#include "kube/paths.h"

#include <gtest/gtest.h>

namespace cairn::kube {
namespace {

const ResourceRef kConfigMaps{"", "v1", "configmaps", true};
const ResourceRef kDeployments{"apps", "v1", "deployments", true};
const ResourceRef kNamespaces{"", "v1", "namespaces", false};
const ResourceRef kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles", false};

TEST(ResourcePathTest, Core) {
  EXPECT_EQ(ResourcePath(kConfigMaps, "shop", "x"), "/api/v1/namespaces/shop/configmaps/x");
  EXPECT_EQ(ResourcePath(kConfigMaps, "shop"), "/api/v1/namespaces/shop/configmaps");
  EXPECT_EQ(ResourcePath(kConfigMaps, ""), "/api/v1/configmaps");  // all namespaces
  EXPECT_EQ(ResourcePath(kNamespaces, "", "shop"), "/api/v1/namespaces/shop");
  EXPECT_EQ(ResourcePath(kNamespaces, "ignored", "shop"), "/api/v1/namespaces/shop");
}

TEST(ResourcePathTest, Groups) {
  EXPECT_EQ(ResourcePath(kDeployments, "shop", "web"),
            "/apis/apps/v1/namespaces/shop/deployments/web");
  EXPECT_EQ(ResourcePath(kDeployments, "shop", "web", "status"),
            "/apis/apps/v1/namespaces/shop/deployments/web/status");
  EXPECT_EQ(ResourcePath(kDeployments, "", ""), "/apis/apps/v1/deployments");
  EXPECT_EQ(ResourcePath(kClusterRoles, "", "system:controller:x"),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Acontroller%3Ax");
}

TEST(ResourcePathTest, SubresourceNeedsAName) {
  EXPECT_EQ(ResourcePath(kDeployments, "shop", "", "status"),
            "/apis/apps/v1/namespaces/shop/deployments");
}

TEST(ListQueryTest, EncodesSelectorsAndToken) {
  EXPECT_EQ(ListQuery(500, "", "", ""), "?limit=500");
  EXPECT_EQ(ListQuery(0, "", "", ""), "");
  EXPECT_EQ(ListQuery(500, "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ==",
                      "app in (web,api),tier!=db", "metadata.name=x"),
            "?limit=500&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzfQ%3D%3D"
            "&labelSelector=app%20in%20%28web%2Capi%29%2Ctier%21%3Ddb"
            "&fieldSelector=metadata.name%3Dx");
}

TEST(DescribeObjectTest, NamesResourceObjectAndNamespace) {
  EXPECT_EQ(DescribeObject(kConfigMaps, "shop", "x"), "configmaps \"x\" in namespace \"shop\"");
  EXPECT_EQ(DescribeObject(kConfigMaps, "", ""), "configmaps in all namespaces");
  EXPECT_EQ(DescribeObject(kConfigMaps, "shop", ""), "configmaps in namespace \"shop\"");
  EXPECT_EQ(DescribeObject(kDeployments, "shop", "web"),
            "deployments.apps \"web\" in namespace \"shop\"");
  EXPECT_EQ(DescribeObject(kNamespaces, "", "shop"), "namespaces \"shop\"");
  EXPECT_EQ(DescribeObject(kClusterRoles, "", ""), "clusterroles.rbac.authorization.k8s.io");
  EXPECT_EQ(QualifiedResource(kDeployments), "deployments.apps");
}

}  // namespace
}  // namespace cairn::kube
