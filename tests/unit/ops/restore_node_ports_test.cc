// Tests of ops/restore/node_ports through Transform: which nodePorts are explicit (kubectl's
// last-applied configuration or managedFields), and explicit ports the target already holds.
#include <gtest/gtest.h>

#include "ops/restore/transform.h"

namespace cairn::ops::restore {
namespace {

using nlohmann::json;

const char kSvc[] = "resources/core/services/v1/namespaces/shop/web.json";

// A NodePort Service whose managedFields say who set what: `owner` owns the nodePort of port
// 80/TCP, "before-first-apply" that of 81, and nobody that of 82 (assigned).
json ManagedService(const std::string& owner) {
  json svc = json::parse(R"({
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop", "managedFields": [
      {"manager": "OWNER", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:spec": {"f:type": {}, "f:ports": {
         "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:nodePort": {}},
         "k:{\"port\":82,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}}},
      {"manager": "before-first-apply", "operation": "Update", "apiVersion": "v1",
       "fieldsType": "FieldsV1",
       "fieldsV1": {"f:spec": {"f:ports": {
         "k:{\"port\":81,\"protocol\":\"TCP\"}": {".": {}, "f:nodePort": {}}}}}},
      {"manager": "status-writer", "operation": "Update", "subresource": "status",
       "apiVersion": "v1", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:spec": {"f:ports": {
         "k:{\"port\":82,\"protocol\":\"TCP\"}": {"f:nodePort": {}}}}}}]},
    "spec": {"type": "NodePort", "clusterIP": "10.96.0.7", "ports": [
      {"port": 80, "protocol": "TCP", "nodePort": 30443},
      {"port": 81, "protocol": "TCP", "nodePort": 30444},
      {"port": 82, "protocol": "TCP", "nodePort": 30445}]}
  })");
  svc["metadata"]["managedFields"][0]["manager"] = owner;
  return svc;
}

json Restore(const json& obj, const RestoreOptions& o, NodePortOwners taken = {},
             TransformNotes* notes = nullptr) {
  TransformContext ctx{&o, {}, false, std::move(taken)};
  auto e = ParseEntryPath(kSvc);
  auto r = Transform(*e, obj, ctx, notes);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : json();
}

TEST(NodePorts, ExplicitFromManagedFields) {
  for (const char* manager :
       {"helm", "kubectl-create", "argocd-controller", "kustomize-controller"}) {
    const json out = Restore(ManagedService(manager), RestoreOptions{});
    EXPECT_EQ(out["spec"]["ports"], json::parse(R"([
      {"port": 80, "protocol": "TCP", "nodePort": 30443},
      {"port": 81, "protocol": "TCP"},
      {"port": 82, "protocol": "TCP"}])"))
        << manager;
  }
}

TEST(NodePorts, OwnedHealthCheckNodePortIsKept) {
  json svc = ManagedService("helm");
  svc["spec"]["type"] = "LoadBalancer";
  svc["spec"]["healthCheckNodePort"] = 32100;
  EXPECT_FALSE(Restore(svc, RestoreOptions{})["spec"].contains("healthCheckNodePort"));
  svc["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:healthCheckNodePort"] =
      json::object();
  EXPECT_EQ(Restore(svc, RestoreOptions{})["spec"]["healthCheckNodePort"], 32100);
}

TEST(NodePorts, ProtocolDefaultsToTcpAndMustMatch) {
  json svc = ManagedService("helm");
  svc["spec"]["ports"][0].erase("protocol");  // TCP by default
  EXPECT_EQ(Restore(svc, RestoreOptions{})["spec"]["ports"][0]["nodePort"], 30443);
  svc["spec"]["ports"][0]["protocol"] = "UDP";  // another port than the owned 80/TCP
  EXPECT_FALSE(Restore(svc, RestoreOptions{})["spec"]["ports"][0].contains("nodePort"));
}

TEST(NodePorts, GarbledManagedFieldsAreNoEvidence) {
  json svc = ManagedService("helm");
  svc["metadata"]["managedFields"] = json::parse(R"([
    {"manager": "helm", "fieldsV1": {"f:spec": {"f:ports": {"k:{not json": {"f:nodePort": {}},
      "k:{\"port\":\"80\"}": {"f:nodePort": {}}, "f:nodePort": {}}}}},
    {"manager": 5, "fieldsV1": "x"}, "garbage"])");
  const json out = Restore(svc, RestoreOptions{});
  for (const json& p : out["spec"]["ports"]) EXPECT_FALSE(p.contains("nodePort")) << p;
}

TEST(NodePorts, ExplicitPortHeldByAnotherServiceIsReassignedWithAWarning) {
  RestoreOptions o;
  o.namespace_mapping = {{"shop", "shop-copy"}};
  TransformNotes notes;
  const json out = Restore(ManagedService("helm"), o, {{30443, "shop/web"}}, &notes);
  EXPECT_FALSE(out["spec"]["ports"][0].contains("nodePort"));
  ASSERT_EQ(notes.node_ports.size(), 1u);
  EXPECT_EQ(notes.node_ports[0].service, "shop-copy/web");
  EXPECT_EQ(notes.node_ports[0].held_by, "shop/web");
  // The warning names the port the target assigned instead.
  json written = out;
  written["spec"]["ports"][0]["nodePort"] = 31234;
  EXPECT_EQ(NoteWarnings(notes, written),
            std::vector<std::string>{
                "Service 'shop-copy/web': nodePort 30443 (port 80/TCP) is already allocated in "
                "the target cluster to Service 'shop/web'; restored with 31234 instead "
                "(preserve_node_ports = true makes this an error)"});
}

TEST(NodePorts, PortHeldByTheSameServiceOrPreservedIsKept) {
  TransformNotes notes;
  // The target's own copy of this Service (a second restore) holds it: not a conflict.
  json out = Restore(ManagedService("helm"), RestoreOptions{}, {{30443, "shop/web"}}, &notes);
  EXPECT_EQ(out["spec"]["ports"][0]["nodePort"], 30443);
  // A port nobody set explicitly is dropped whoever holds it, without a warning.
  out = Restore(ManagedService("helm"), RestoreOptions{}, {{30445, "other/x"}}, &notes);
  EXPECT_FALSE(out["spec"]["ports"][2].contains("nodePort"));
  EXPECT_TRUE(notes.node_ports.empty());
  // preserve_node_ports keeps every port: a taken one fails at create, as before.
  RestoreOptions preserve;
  preserve.preserve_node_ports = true;
  out = Restore(ManagedService("helm"), preserve, {{30443, "other/x"}}, &notes);
  EXPECT_EQ(out["spec"]["ports"], ManagedService("helm")["spec"]["ports"]);
  EXPECT_TRUE(notes.node_ports.empty());
}

TEST(NodePorts, TakenHealthCheckNodePortAndLastAppliedPorts) {
  const json applied = {
      {"spec", {{"healthCheckNodePort", 32100}, {"ports", {{{"port", 80}, {"nodePort", 30080}}}}}}};
  const json svc = {
      {"kind", "Service"},
      {"metadata",
       {{"name", "web"},
        {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", applied.dump()}}}}},
      {"spec",
       {{"type", "LoadBalancer"},
        {"healthCheckNodePort", 32100},
        {"ports", {{{"port", 80}, {"nodePort", 30080}}}}}}};
  TransformNotes notes;
  const json out = Restore(svc, RestoreOptions{}, {{32100, "a/b"}, {30080, "c/d"}}, &notes);
  EXPECT_FALSE(out["spec"].contains("healthCheckNodePort"));
  EXPECT_FALSE(out["spec"]["ports"][0].contains("nodePort"));
  // The API's answer shows no port (e.g. a type without node ports): "a new port".
  EXPECT_EQ(NoteWarnings(notes, json::object()),
            (std::vector<std::string>{
                "Service 'shop/web': healthCheckNodePort 32100 is already allocated in the target "
                "cluster to Service 'a/b'; restored with a new port instead "
                "(preserve_node_ports = true makes this an error)",
                "Service 'shop/web': nodePort 30080 (port 80/TCP) is already allocated in the "
                "target cluster to Service 'c/d'; restored with a new port instead "
                "(preserve_node_ports = true makes this an error)"}));
}

}  // namespace
}  // namespace cairn::ops::restore
