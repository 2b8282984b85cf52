// Tests for kube/discovery: the aggregated (apidiscovery.k8s.io/v2) and classic wire forms give
// the same Discovery; subresources fold into their parent; stale group versions are failed;
// Find/PreferredVersion/FindPreferred.
#include "kube/discovery.h"

#include <gtest/gtest.h>

namespace cairn::kube {
namespace {

using nlohmann::json;

const char kAggregatedApi[] = R"({
  "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
  "items": [{"metadata": {"creationTimestamp": null}, "versions": [{"version": "v1",
    "freshness": "Current", "resources": [
      {"resource": "configmaps", "responseKind": {"group": "", "version": "", "kind": "ConfigMap"},
       "scope": "Namespaced", "singularResource": "configmap", "shortNames": ["cm"],
       "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
      {"resource": "namespaces", "responseKind": {"group": "", "version": "", "kind": "Namespace"},
       "scope": "Cluster", "singularResource": "namespace", "shortNames": ["ns"],
       "verbs": ["create", "delete", "get", "list"],
       "subresources": [{"subresource": "finalize", "verbs": ["update"]},
                        {"subresource": "status", "verbs": ["get", "patch", "update"]}]}]}]}]})";

const char kAggregatedApis[] = R"({
  "kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
  "items": [
    {"metadata": {"name": "apps"}, "versions": [{"version": "v1", "resources": [
      {"resource": "deployments", "responseKind": {"group": "apps", "version": "v1",
       "kind": "Deployment"}, "scope": "Namespaced", "singularResource": "deployment",
       "shortNames": ["deploy"], "categories": ["all"], "verbs": ["get", "list"],
       "subresources": [{"subresource": "scale"}, {"subresource": "status"}]}]}]},
    {"metadata": {"name": "autoscaling"}, "versions": [
      {"version": "v2", "resources": [{"resource": "horizontalpodautoscalers",
        "responseKind": {"kind": "HorizontalPodAutoscaler"}, "scope": "Namespaced",
        "singularResource": "horizontalpodautoscaler", "verbs": ["get", "list"]}]},
      {"version": "v1", "resources": [{"resource": "horizontalpodautoscalers",
        "responseKind": {"kind": "HorizontalPodAutoscaler"}, "scope": "Namespaced",
        "singularResource": "horizontalpodautoscaler", "verbs": ["get", "list"]}]}]},
    {"metadata": {"name": "metrics.k8s.io"}, "versions": [{"version": "v1beta1",
      "freshness": "Stale", "resources": [{"resource": "pods", "scope": "Namespaced"}]}]}]})";

const char kClassicApi[] = R"({"kind": "APIVersions", "versions": ["v1"],
  "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]})";

const char kClassicApis[] = R"({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
  {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
   "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
  {"name": "autoscaling", "versions": [{"groupVersion": "autoscaling/v2", "version": "v2"},
                                       {"groupVersion": "autoscaling/v1", "version": "v1"}],
   "preferredVersion": {"groupVersion": "autoscaling/v2", "version": "v2"}}]})";

const char kClassicCoreV1[] = R"({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
  {"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap",
   "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["cm"]},
  {"name": "namespaces", "singularName": "", "namespaced": false, "kind": "Namespace",
   "verbs": ["create", "delete", "get", "list"], "shortNames": ["ns"]},
  {"name": "namespaces/finalize", "singularName": "", "namespaced": false, "kind": "Namespace",
   "verbs": ["update"]},
  {"name": "namespaces/status", "singularName": "", "namespaced": false, "kind": "Namespace",
   "verbs": ["get", "patch", "update"]}]})";

const char kClassicAppsV1[] = R"({"kind": "APIResourceList", "groupVersion": "apps/v1",
  "resources": [{"name": "deployments", "singularName": "deployment", "namespaced": true,
   "kind": "Deployment", "verbs": ["get", "list"], "shortNames": ["deploy"],
   "categories": ["all"]},
  {"name": "deployments/scale", "namespaced": true, "group": "autoscaling", "version": "v1",
   "kind": "Scale", "verbs": ["get", "patch", "update"]},
  {"name": "deployments/status", "namespaced": true, "kind": "Deployment",
   "verbs": ["get", "patch", "update"]}]})";

Discovery Aggregated() {
  Discovery d;
  EXPECT_TRUE(AddAggregatedDiscovery(json::parse(kAggregatedApis), &d).ok());
  EXPECT_TRUE(AddAggregatedDiscovery(json::parse(kAggregatedApi), &d).ok());
  SortCoreFirst(&d);
  return d;
}

Discovery Classic() {
  Discovery d;
  EXPECT_TRUE(AddCoreVersions(json::parse(kClassicApi), &d).ok());
  EXPECT_TRUE(AddGroupList(json::parse(kClassicApis), &d).ok());
  EXPECT_TRUE(AddResourceList(json::parse(kClassicCoreV1), "", "v1", &d).ok());
  EXPECT_TRUE(AddResourceList(json::parse(kClassicAppsV1), "apps", "v1", &d).ok());
  return d;
}

TEST(DiscoveryTest, AggregatedGroupsCoreFirstWithPreferredVersions) {
  Discovery d = Aggregated();
  EXPECT_TRUE(IsAggregatedDiscovery(json::parse(kAggregatedApi)));
  ASSERT_EQ(d.groups.size(), 4u);
  EXPECT_EQ(d.groups[0].group, "");
  EXPECT_EQ(d.groups[1].group, "apps");
  EXPECT_EQ(d.groups[2].group, "autoscaling");
  EXPECT_EQ(d.groups[2].versions, (std::vector<std::string>{"v2", "v1"}));
  EXPECT_EQ(d.PreferredVersion(""), "v1");
  EXPECT_EQ(d.PreferredVersion("autoscaling"), "v2");
  EXPECT_EQ(d.PreferredVersion("nope"), "");
  EXPECT_EQ(d.failed, (std::vector<std::string>{"metrics.k8s.io/v1beta1"}));
  EXPECT_EQ(d.Find("metrics.k8s.io", "v1beta1", "pods"), nullptr);
}

TEST(DiscoveryTest, AggregatedResources) {
  Discovery d = Aggregated();
  const ApiResource* cm = d.Find("", "v1", "configmaps");
  ASSERT_NE(cm, nullptr);
  EXPECT_EQ(cm->kind, "ConfigMap");
  EXPECT_EQ(cm->singular, "configmap");
  EXPECT_TRUE(cm->namespaced);
  EXPECT_EQ(cm->short_names, (std::vector<std::string>{"cm"}));
  const ApiResource* ns = d.Find("", "v1", "namespaces");
  ASSERT_NE(ns, nullptr);
  EXPECT_FALSE(ns->namespaced);
  EXPECT_EQ(ns->subresources, (std::vector<std::string>{"finalize", "status"}));
  const ApiResource* deploy = d.Find("apps", "v1", "deployments");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ(deploy->kind, "Deployment");
  EXPECT_EQ(deploy->categories, (std::vector<std::string>{"all"}));
  EXPECT_NE(d.Find("autoscaling", "v1", "horizontalpodautoscalers"), nullptr);
  const ApiResource* hpa = d.FindPreferred("autoscaling", "horizontalpodautoscalers");
  ASSERT_NE(hpa, nullptr);
  EXPECT_EQ(hpa->version, "v2");
  EXPECT_EQ(d.Find("apps", "v2", "deployments"), nullptr);
  EXPECT_EQ(d.Find("", "v1", "deployments"), nullptr);
}

TEST(DiscoveryTest, ClassicFoldsSubresources) {
  Discovery d = Classic();
  ASSERT_EQ(d.groups.size(), 3u);
  EXPECT_EQ(d.groups[0].group, "");
  EXPECT_EQ(d.PreferredVersion("autoscaling"), "v2");
  ASSERT_EQ(d.resources.size(), 3u);  // configmaps, namespaces, deployments: no "x/y"
  const ApiResource* ns = d.Find("", "v1", "namespaces");
  ASSERT_NE(ns, nullptr);
  EXPECT_FALSE(ns->namespaced);
  EXPECT_EQ(ns->singular, "namespace");  // derived from the kind when the server leaves it empty
  EXPECT_EQ(ns->subresources, (std::vector<std::string>{"finalize", "status"}));
  const ApiResource* deploy = d.Find("apps", "v1", "deployments");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ(deploy->subresources, (std::vector<std::string>{"scale", "status"}));
  EXPECT_EQ(deploy->short_names, (std::vector<std::string>{"deploy"}));
}

TEST(DiscoveryTest, ClassicAndAggregatedAgree) {
  Discovery a = Aggregated(), c = Classic();
  for (const auto* key : {"configmaps", "namespaces"}) {
    const ApiResource* x = a.Find("", "v1", key);
    const ApiResource* y = c.Find("", "v1", key);
    ASSERT_TRUE(x && y) << key;
    EXPECT_EQ(x->kind, y->kind);
    EXPECT_EQ(x->namespaced, y->namespaced);
    EXPECT_EQ(x->verbs, y->verbs);
    EXPECT_EQ(x->subresources, y->subresources);
  }
}

TEST(DiscoveryTest, MalformedDocumentsAreErrorsNotExceptions) {
  Discovery d;
  EXPECT_FALSE(AddAggregatedDiscovery(json::parse(R"({"kind":"APIGroupList"})"), &d).ok());
  EXPECT_FALSE(AddGroupList(json::parse("[1,2]"), &d).ok());
  EXPECT_FALSE(AddCoreVersions(json::parse(R"({"versions": 7})"), &d).ok());
  EXPECT_FALSE(AddResourceList(json::parse("null"), "apps", "v1", &d).ok());
  // Wrong types inside are skipped.
  EXPECT_TRUE(AddAggregatedDiscovery(json::parse(R"({"kind": "APIGroupDiscoveryList",
      "items": [7, {"metadata": 3, "versions": [{"version": "v1", "resources": [5, {}]}]}]})"),
                                     &d)
                  .ok());
  EXPECT_TRUE(d.resources.empty());
}

}  // namespace
}  // namespace cairn::kube
