// kube/client: the Kubernetes REST API as cairn uses it: version, discovery, paged lists, and
// get/create/apply/merge-patch/replace/delete of single objects, as JSON.
//
// Every request goes through http::Client, which owns TLS (the cluster CA, client certificates,
// insecure-skip-tls-verify) and retries (5xx, 429 with Retry-After, timeouts and resets, under
// the retry policy's deadline); everything else is a permanent error, decoded by kube/errors.
// The bearer token is added per attempt, so a rotated token file or an expired exec credential
// is picked up by the next attempt; a 401 drops the cached credential and retries once. Tokens
// are registered as secrets and never appear in messages. A token bucket (qps, burst) paces
// attempts and a semaphore bounds the requests in flight; both are shared by all threads, and
// every method is thread-safe. Lists are paged (limit/continue): memory holds one page.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/retry.h"
#include "base/status.h"
#include "http/client.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/paths.h"

namespace cairn::kube {

class Auth;
class TokenBucket;
class Semaphore;

struct ClientOptions {
  double qps = 50;
  int burst = 100;
  int max_in_flight = 8;
  std::chrono::milliseconds request_timeout{60000};  // one attempt
  base::RetryPolicy retry;
  std::string user_agent = "cairn";
  const std::atomic<bool>* cancel = nullptr;  // added: set (SIGTERM) to abort transfers
  // A write (create, update, patch, delete) under way at the cancel gets this long to finish:
  // its answer says whether the server applied it, so the run records what it did.
  std::chrono::milliseconds write_grace{2000};
  // The run's deadline: no request, retry wait or exec plugin outlives it.
  const base::Deadline* deadline = nullptr;
};

struct ListOptions {
  std::string namespace_name;  // "" = all namespaces (or a cluster-scoped resource)
  std::string label_selector, field_selector;
  int limit = 500;
};

struct ListStats {
  int pages = 0;
  int64_t items = 0;
  // The continue token expired (410 Expired) and the list went on with the token the Status
  // carried: the result is not one consistent snapshot (objects changed meanwhile may show).
  int inconsistent = 0;
  int restarts = 0;   // the continue token expired without a new one: the list started over
  int64_t bytes = 0;  // added: response bytes of all pages
};

struct ApplyOptions {
  bool force = false;
  std::string field_manager = "cairn";
  std::string subresource;
};

class Client {
 public:
  static base::Result<std::unique_ptr<Client>> Create(ClusterConfig cfg, ClientOptions opts = {},
                                                      base::Clock& clock = base::RealClock());
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClusterConfig& config() const { return cfg_; }

  // GET /version: gitVersion ("v1.30.2").
  base::Result<std::string> ServerVersion();

  // Once per client (cached): aggregated discovery when the server offers it, else /api, /apis
  // and /apis/{group}/{version}.
  base::Result<Discovery> Discover();

  // Lists page by page (limit/continue); `on_page` receives each raw page (a List with items)
  // and returns false to stop. When a continue token expires (410 Expired, etcd compacted), the
  // list goes on from the token the apiserver put in the Status's metadata.continue: an
  // inconsistent continuation at the current resourceVersion (stats->inconsistent), as
  // client-go's pager does. Without such a token it starts over once (stats->restarts) and
  // passes over the items it already delivered (keys up to the last one delivered: the API
  // server lists in key order), so no item is delivered twice. A second expiry in a row, or a
  // server that does not list in key order when a restart is needed, is an error.
  base::Status List(const ResourceRef& r, const ListOptions& o,
                    const std::function<bool(const nlohmann::json& page)>& on_page,
                    ListStats* stats = nullptr);

  // Like List, but delivers one item at a time, parsed as the page is read: at most one
  // item's tree exists at once, and pages shrink (limit) when their bodies pass 4 MiB, so
  // memory does not depend on how large the objects are. `on_item` returns false to stop.
  base::Status ListItems(const ResourceRef& r, const ListOptions& o,
                         const std::function<bool(const nlohmann::json& item)>& on_item,
                         ListStats* stats = nullptr);

  base::Result<nlohmann::json> Get(const ResourceRef& r, std::string_view ns,
                                   std::string_view name);
  // POST to the collection; `ns` "" takes metadata.namespace of `obj`.
  base::Result<nlohmann::json> Create(const ResourceRef& r, std::string_view ns,
                                      const nlohmann::json& obj);
  // Server-side apply: PATCH application/apply-patch+yaml ?fieldManager=..&force=..
  base::Result<nlohmann::json> Apply(const ResourceRef& r, std::string_view ns,
                                     std::string_view name, const nlohmann::json& obj,
                                     const ApplyOptions& o = {});
  base::Result<nlohmann::json> MergePatch(const ResourceRef& r, std::string_view ns,
                                          std::string_view name, const nlohmann::json& patch,
                                          std::string_view subresource = "");
  // PUT (the status subresource too); `obj` carries metadata.resourceVersion for a conditional
  // update (409 Conflict → kConflict when it is stale).
  base::Result<nlohmann::json> Replace(const ResourceRef& r, std::string_view ns,
                                       std::string_view name, const nlohmann::json& obj,
                                       std::string_view subresource = "");
  // DELETE with propagationPolicy ("" = the server's default). 200 and 202 are success.
  base::Status Delete(const ResourceRef& r, std::string_view ns, std::string_view name,
                      std::string_view propagation = "Background");

  // Added: how many times the exec credential plugin ran (tests, debug).
  int exec_plugin_runs() const;

 private:
  struct Call;
  Client(ClusterConfig cfg, ClientOptions opts, base::Clock& clock);
  // One request: in-flight slot, credentials, rate limit per attempt, one retry after a 401
  // when the credential can be refreshed.
  base::Result<http::Response> Send(const Call& call);
  // A request whose answer is one object.
  base::Result<nlohmann::json> SendForObject(const Call& call);
  // A write to one object or its subresource (Apply, MergePatch, Replace).
  static Call WriteCall(std::string method, const std::string& verb, const char* rbac_verb,
                        const ResourceRef& r, std::string_view ns, std::string_view name,
                        std::string_view subresource, std::string body, std::string content_type);
  base::Status ListPages(const ResourceRef& r, const ListOptions& o,
                         const std::function<bool(const nlohmann::json& page)>& on_page,
                         const std::function<bool(const nlohmann::json& item)>& on_item,
                         ListStats* stats);
  base::Result<std::shared_ptr<http::Client>> Transport();
  base::Status Failure(const Call& call, const http::Response& resp) const;
  base::Result<Discovery> DiscoverClassic(const nlohmann::json& api_doc);
  base::Result<nlohmann::json> GetJson(const std::string& path, const std::string& what,
                                       const char* accept);

  const ClusterConfig cfg_;
  const ClientOptions opts_;
  base::Clock& clock_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<TokenBucket> limiter_;
  std::unique_ptr<Semaphore> in_flight_;
  std::mutex transport_mu_;
  std::shared_ptr<http::Client> http_;
  uint64_t http_cert_generation_ = 0;
  std::mutex discovery_mu_;
  std::optional<Discovery> discovery_;
};

}  // namespace cairn::kube
