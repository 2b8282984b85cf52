#include "kube/client.h"

#include <thread>

#include "base/log.h"
#include "kube/auth.h"
#include "kube/errors.h"
#include "kube/rate_limiter.h"

namespace cairn::kube {

using base::Code;
using base::Error;
using base::Result;
using base::Status;
using nlohmann::json;

// One API request, and the words that name it in messages ("get", `configmaps "x" in ...`).
struct Client::Call {
  std::string method = "GET";
  std::string path;  // with the query
  std::string body;
  std::string content_type;
  std::string accept = "application/json";
  std::string verb;    // for messages: "get", "list", "create", ...
  std::string object;  // for messages: DescribeObject(...)
  std::string rbac_verb, rbac_resource;
};

namespace {

std::string Dump(const json& j) {
  // Replace invalid UTF-8 instead of throwing (no exceptions out of this module).
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string MetaString(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto v = m->find(key);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}

bool Success(long status) { return status >= 200 && status < 300; }

// metadata.continue of a 410 Expired Status: the token that continues the list at the current
// resourceVersion; "" when there is none.
std::string ExpiredContinueToken(const std::string& body) {
  auto j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("reason", "") != "Expired") return "";
  return MetaString(j, "continue");
}

// The storage key order of an item ("ns/name", or "name" when cluster-scoped).
std::string ItemKey(const json& item) {
  const std::string ns = MetaString(item, "namespace");
  return ns.empty() ? MetaString(item, "name") : ns + "/" + MetaString(item, "name");
}

// The http module reports a body over its limit this way (kInternal); List answers it by asking
// for smaller pages.
bool BodyTooLarge(const Status& s) {
  return s.code() == Code::kInternal && s.message().find("is larger than") != std::string::npos;
}

}  // namespace

Client::Client(ClusterConfig cfg, ClientOptions opts, base::Clock& clock)
    : cfg_(std::move(cfg)), opts_(std::move(opts)), clock_(clock) {
  auth_ = std::make_unique<Auth>(
      cfg_, clock_, nullptr, ExecLimits{std::chrono::seconds(60), opts_.deadline, opts_.cancel});
  limiter_ = std::make_unique<TokenBucket>(opts_.qps, opts_.burst, clock_);
  in_flight_ = std::make_unique<Semaphore>(opts_.max_in_flight);
}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClusterConfig cfg, ClientOptions opts,
                                               base::Clock& clock) {
  if (cfg.server.empty()) {
    return Error(Code::kInvalidArgument, "kubernetes client: no API server address");
  }
  base::RegisterSecret(cfg.token);
  base::RegisterSecret(cfg.client_key_pem);
  if (cfg.insecure_skip_tls_verify) {
    base::LogWarn(
        "TLS verification of the Kubernetes API server is disabled "
        "(insecure-skip-tls-verify)",
        {{"server", cfg.server}, {"context", cfg.context}});
  }
  // Nothing is contacted and no exec plugin runs until the first request.
  return std::unique_ptr<Client>(new Client(std::move(cfg), std::move(opts), clock));
}

int Client::exec_plugin_runs() const { return auth_->exec_runs(); }

Result<std::shared_ptr<http::Client>> Client::Transport() {
  auto cert = auth_->Cert();
  if (!cert.ok()) return cert.status();
  std::lock_guard<std::mutex> l(transport_mu_);
  if (http_ && cert->generation == http_cert_generation_) return http_;
  http::ClientOptions o;
  o.ca_pem = cfg_.ca_pem;
  o.client_cert_pem = cert->cert_pem;
  o.client_key_pem = cert->key_pem;
  o.insecure_skip_verify = cfg_.insecure_skip_tls_verify;
  o.request_timeout = opts_.request_timeout;
  o.retry = opts_.retry;
  o.user_agent = opts_.user_agent;
  o.cancel = opts_.cancel;
  o.deadline = opts_.deadline;
  o.write_grace = opts_.write_grace;
  auto c = http::Client::Create(std::move(o), clock_);
  if (!c.ok()) return c.status().Wrap("kubernetes client for " + cfg_.server);
  http_ = std::shared_ptr<http::Client>(std::move(c).value());
  http_cert_generation_ = cert->generation;
  return http_;
}

Result<http::Response> Client::Send(const Call& call) {
  Semaphore::Guard slot(*in_flight_);
  for (int auth_retry = 0;; ++auth_retry) {
    auto transport = Transport();
    if (!transport.ok())
      return transport.status().Wrap("unable to " + call.verb + " " + call.object);
    http::Request req;
    req.method = call.method;
    req.url = cfg_.server + call.path;
    req.headers.emplace_back("Accept", call.accept);
    if (!call.content_type.empty()) req.headers.emplace_back("Content-Type", call.content_type);
    req.body = call.body;
    http::Hooks hooks;
    hooks.sign = [this](const http::Request&) -> Result<std::vector<http::Header>> {
      limiter_->Wait();  // per attempt, as client-go throttles retries too
      auto token = auth_->BearerToken();
      if (!token.ok()) return token.status();
      std::vector<http::Header> h;
      if (!token->empty()) h.emplace_back("Authorization", "Bearer " + *token);
      return h;
    };
    auto resp = (*transport)->Do(req, hooks);
    if (!resp.ok()) {
      Status s = resp.status().Wrap("unable to " + call.verb + " " + call.object);
      if (s.code() == Code::kFailedPrecondition && s.hint().empty()) {  // TLS verification
        s.WithHint(cfg_.in_cluster
                       ? "the API server's certificate is not signed by " + cfg_.source + "/ca.crt"
                       : "the API server's certificate is not signed by the certificate-authority "
                         "of context \"" +
                             cfg_.context + "\" in '" + cfg_.source + "'");
      }
      return s;
    }
    if (resp->status == 401 && auth_retry == 0 && auth_->Invalidate()) {
      base::LogDebug("kubernetes API answered 401; refreshing the credential and retrying",
                     {{"path", call.path}});
      continue;
    }
    return resp;
  }
}

Status Client::Failure(const Call& call, const http::Response& resp) const {
  Status s = ApiError(call.verb, call.object, resp.status, resp.body, resp.attempts);
  switch (s.code()) {
    case Code::kUnauthenticated:
      s.WithHint(cfg_.in_cluster
                     ? "the service account token in " + cfg_.source + " was rejected"
                     : "the credentials of context \"" + cfg_.context + "\" in '" + cfg_.source +
                           "' were rejected; renew them (kubectl fails the same way)");
      break;
    case Code::kPermissionDenied:
      if (!call.rbac_verb.empty()) {
        s.WithHint("the identity cairn runs as needs RBAC permission to " + call.rbac_verb + " " +
                   call.rbac_resource);
      }
      break;
    case Code::kAlreadyExists:
      if (resp.attempts > 1) {
        s.WithHint("an earlier attempt of this request failed in transit and may have created it");
      }
      break;
    default: break;
  }
  return s;
}

Result<json> Client::SendForObject(const Call& call) {
  auto resp = Send(call);
  if (!resp.ok()) return resp.status();
  if (!Success(resp->status)) return Failure(call, *resp);
  auto j = json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return Error(Code::kInternal, "unable to " + call.verb + " " + call.object +
                                      ": the API server's answer is not valid JSON");
  }
  return j;
}

Result<json> Client::GetJson(const std::string& path, const std::string& what, const char* accept) {
  Call c;
  c.path = path;
  c.accept = accept;
  c.verb = "get";
  c.object = what;
  return SendForObject(c);
}

Result<std::string> Client::ServerVersion() {
  auto v = GetJson("/version", "the server version", "application/json");
  if (!v.ok()) return v.status();
  auto it = v->find("gitVersion");
  if (it == v->end() || !it->is_string()) {
    return Error(Code::kInternal, "unable to get the server version: /version has no gitVersion");
  }
  return it->get<std::string>();
}

Result<Discovery> Client::Discover() {
  std::lock_guard<std::mutex> l(discovery_mu_);
  if (discovery_) return *discovery_;
  auto api = GetJson("/api", "the core API versions (discovery)", kAggregatedDiscoveryAccept);
  if (!api.ok()) return api.status();
  Discovery d;
  if (IsAggregatedDiscovery(*api)) {
    auto apis = GetJson("/apis", "the API groups (discovery)", kAggregatedDiscoveryAccept);
    if (!apis.ok()) return apis.status();
    if (IsAggregatedDiscovery(*apis)) {
      RETURN_IF_ERROR(AddAggregatedDiscovery(*api, &d));
      RETURN_IF_ERROR(AddAggregatedDiscovery(*apis, &d));
      SortCoreFirst(&d);
      for (const auto& gv : d.failed) {
        base::LogWarn("API group version is stale in discovery; its resources are skipped",
                      {{"groupVersion", gv}});
      }
    } else {
      auto classic = DiscoverClassic(*api);
      if (!classic.ok()) return classic.status();
      d = std::move(classic).value();
    }
  } else {
    auto classic = DiscoverClassic(*api);
    if (!classic.ok()) return classic.status();
    d = std::move(classic).value();
  }
  discovery_ = d;
  return d;
}

Result<Discovery> Client::DiscoverClassic(const json& api_doc) {
  Discovery d;
  json core = api_doc;
  if (IsAggregatedDiscovery(core)) {  // /apis was classic after all: ask /api again plainly
    auto again = GetJson("/api", "the core API versions (discovery)", "application/json");
    if (!again.ok()) return again.status();
    core = std::move(again).value();
  }
  RETURN_IF_ERROR(AddCoreVersions(core, &d));
  auto apis = GetJson("/apis", "the API groups (discovery)", "application/json");
  if (!apis.ok()) return apis.status();
  RETURN_IF_ERROR(AddGroupList(*apis, &d));
  SortCoreFirst(&d);

  // One APIResourceList per group version, fetched by a few threads (the semaphore and the rate
  // limiter still apply), then merged in the server's order so the result is deterministic.
  struct Task {
    std::string group, version;
    std::optional<Result<json>> result;
  };
  std::vector<Task> tasks;
  for (const auto& g : d.groups) {
    for (const auto& v : g.versions) tasks.push_back({g.group, v, std::nullopt});
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < tasks.size();) {
      Task& t = tasks[i];
      std::string path =
          t.group.empty() ? "/api/" + t.version : "/apis/" + t.group + "/" + t.version;
      t.result = GetJson(
          path, "the resources of " + (t.group.empty() ? t.version : t.group + "/" + t.version),
          "application/json");
    }
  };
  const int workers = opts_.max_in_flight <= 0 ? 8 : std::min(opts_.max_in_flight, 8);
  size_t n = std::min<size_t>(tasks.size(), static_cast<size_t>(workers));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (auto& t : tasks) {
    std::string gv = t.group.empty() ? t.version : t.group + "/" + t.version;
    Status st =
        t.result->ok() ? AddResourceList(**t.result, t.group, t.version, &d) : t.result->status();
    if (st.ok()) continue;
    if (t.group.empty()) return st;  // nothing works without the core group
    base::LogWarn("API group version discovery failed; its resources are skipped",
                  {{"groupVersion", gv}, {"error", st.message()}});
    d.failed.push_back(gv);
  }
  return d;
}

Status Client::List(const ResourceRef& r, const ListOptions& o,
                    const std::function<bool(const json& page)>& on_page, ListStats* stats) {
  return ListPages(r, o, on_page, nullptr, stats);
}

Status Client::ListItems(const ResourceRef& r, const ListOptions& o,
                         const std::function<bool(const json& item)>& on_item, ListStats* stats) {
  return ListPages(r, o, nullptr, on_item, stats);
}

namespace {

// Where a paged list stands: the continue token, and what was delivered, so that a list that
// must start over delivers nothing twice.
struct ListCursor {
  std::string token;
  std::string last_key;      // key of the last item delivered
  std::string resume_after;  // after a restart: items up to this key were delivered already
  bool ordered = true;       // every delivered key was greater than the one before
  int expired_in_a_row = 0;

  // Whether to deliver `item` (false: delivered before the restart), noting its key.
  bool Take(const json& item) {
    std::string key = ItemKey(item);
    if (!resume_after.empty() && key <= resume_after) return false;
    if (!last_key.empty() && key <= last_key) ordered = false;
    last_key = std::move(key);
    return true;
  }
};

// A 410 on a continue token: go on with the token the Status carries, else start over once.
// False when the list cannot go on (the caller reports the 410).
bool OnExpired(const std::string& body, const std::string& object, ListCursor& cur, ListStats& s) {
  if (++cur.expired_in_a_row > 1) return false;
  if (std::string fresh = ExpiredContinueToken(body); !fresh.empty()) {
    ++s.inconsistent;
    cur.token = std::move(fresh);
    base::LogWarn("list continue token expired; continuing at the current resourceVersion",
                  {{"object", object}});
    return true;
  }
  if (s.restarts > 0 || !cur.ordered) return false;
  ++s.restarts;
  cur.token.clear();
  cur.resume_after = cur.last_key;
  base::LogWarn("list continue token expired; listing again from the start", {{"object", object}});
  return true;
}

// One page: with `on_item`, each element of "items" is handed over as soon as it is parsed and
// dropped (not kept in the page); otherwise the page keeps its items, minus those delivered
// before a restart.
json ParsePage(const std::string& body, const std::function<bool(const json&)>& on_item,
               ListCursor& cur, ListStats& s, bool* stopped) {
  std::string key;
  json::parser_callback_t per_item = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      key = parsed.get<std::string>();
    }
    if (event == json::parse_event_t::object_end && depth == 2 && key == "items") {
      ++s.items;
      if (!*stopped && cur.Take(parsed) && !on_item(parsed)) *stopped = true;
      return false;
    }
    return true;
  };
  json page = json::parse(body, on_item ? per_item : nullptr, /*allow_exceptions=*/false);
  if (on_item || !page.is_object()) return page;
  if (auto items = page.find("items"); items != page.end() && items->is_array()) {
    s.items += static_cast<int64_t>(items->size());
    json kept = json::array();
    for (auto& item : *items) {
      if (cur.Take(item)) kept.push_back(std::move(item));
    }
    *items = std::move(kept);
  }
  return page;
}

}  // namespace

Status Client::ListPages(const ResourceRef& r, const ListOptions& o,
                         const std::function<bool(const json& page)>& on_page,
                         const std::function<bool(const json& item)>& on_item, ListStats* stats) {
  ListStats local;
  ListStats& s = stats ? *stats : local;
  const std::string ns = r.namespaced ? o.namespace_name : "";
  const std::string base_path = ResourcePath(r, ns);
  Call c;
  c.verb = "list";
  c.object = DescribeObject(r, ns, "");
  c.rbac_verb = "list";
  c.rbac_resource = QualifiedResource(r);
  int limit = o.limit;
  ListCursor cur;
  for (;;) {
    c.path = base_path + ListQuery(limit, cur.token, o.label_selector, o.field_selector);
    auto resp = Send(c);
    if (!resp.ok()) {
      if (BodyTooLarge(resp.status()) && limit != 1) {
        limit = limit <= 0 ? 100 : std::max(1, limit / 4);
        base::LogWarn("list page too large; asking for smaller pages",
                      {{"object", c.object}, {"limit", std::to_string(limit)}});
        continue;
      }
      return resp.status();
    }
    if (resp->status == 410 && !cur.token.empty()) {
      if (OnExpired(resp->body, c.object, cur, s)) continue;
    }
    if (!Success(resp->status)) return Failure(c, *resp);
    cur.expired_in_a_row = 0;
    bool stopped = false;
    auto page = ParsePage(resp->body, on_item, cur, s, &stopped);
    if (!page.is_object()) {
      return Error(Code::kInternal, "unable to list " + c.object + ": page " +
                                        std::to_string(s.pages + 1) + " is not a JSON object");
    }
    ++s.pages;
    s.bytes += static_cast<int64_t>(resp->body.size());
    cur.token = MetaString(page, "continue");
    // Heavy objects (Deployments with large templates): smaller pages next time.
    constexpr size_t kPageBytes = 4u << 20;
    if (on_item && resp->body.size() > kPageBytes && limit > 50) {
      limit = std::max<int>(50, static_cast<int>(static_cast<double>(limit) * kPageBytes /
                                                 static_cast<double>(resp->body.size())));
    }
    resp->body.clear();
    resp->body.shrink_to_fit();
    if (on_item) {
      if (stopped) return Status::Ok();
    } else if (!on_page(page)) {
      return Status::Ok();
    }
    if (cur.token.empty()) return Status::Ok();
  }
}

Result<json> Client::Get(const ResourceRef& r, std::string_view ns, std::string_view name) {
  Call c;
  c.path = ResourcePath(r, ns, name);
  c.verb = "get";
  c.object = DescribeObject(r, ns, name);
  c.rbac_verb = "get";
  c.rbac_resource = QualifiedResource(r);
  return SendForObject(c);
}

Result<json> Client::Create(const ResourceRef& r, std::string_view ns, const json& obj) {
  std::string namespace_name(ns.empty() ? MetaString(obj, "namespace") : std::string(ns));
  std::string name = MetaString(obj, "name");
  if (name.empty()) name = MetaString(obj, "generateName") + "*";
  Call c;
  c.method = "POST";
  c.verb = "create";
  c.object = DescribeObject(r, namespace_name, name);
  c.rbac_verb = "create";
  c.rbac_resource = QualifiedResource(r);
  if (r.namespaced && namespace_name.empty()) {
    return Error(Code::kInvalidArgument, "unable to create " + c.object + ": no namespace");
  }
  c.path = ResourcePath(r, namespace_name);
  c.body = Dump(obj);
  c.content_type = "application/json";
  return SendForObject(c);
}

// "<verb>[ <subresource> of]" for messages, and the RBAC resource ("deployments.apps[/status]")
// a Forbidden answer names.
Client::Call Client::WriteCall(std::string method, const std::string& verb, const char* rbac_verb,
                               const ResourceRef& r, std::string_view ns, std::string_view name,
                               std::string_view subresource, std::string body,
                               std::string content_type) {
  const std::string sub(subresource);
  Client::Call c;
  c.method = std::move(method);
  c.verb = sub.empty() ? verb : verb + " " + sub + " of";
  c.object = DescribeObject(r, ns, name);
  c.rbac_verb = rbac_verb;
  c.rbac_resource = QualifiedResource(r) + (sub.empty() ? "" : "/" + sub);
  c.path = ResourcePath(r, ns, name, sub);
  c.body = std::move(body);
  c.content_type = std::move(content_type);
  return c;
}

Result<json> Client::Apply(const ResourceRef& r, std::string_view ns, std::string_view name,
                           const json& obj, const ApplyOptions& o) {
  // JSON is YAML.
  Call c = WriteCall("PATCH", "apply", "patch", r, ns, name, o.subresource, Dump(obj),
                     "application/apply-patch+yaml");
  c.path += "?fieldManager=" +
            http::UrlEncode(o.field_manager.empty() ? "cairn" : o.field_manager, false) +
            (o.force ? "&force=true" : "");
  return SendForObject(c);
}

Result<json> Client::MergePatch(const ResourceRef& r, std::string_view ns, std::string_view name,
                                const json& patch, std::string_view subresource) {
  return SendForObject(WriteCall("PATCH", "patch", "patch", r, ns, name, subresource, Dump(patch),
                                 "application/merge-patch+json"));
}

Result<json> Client::Replace(const ResourceRef& r, std::string_view ns, std::string_view name,
                             const json& obj, std::string_view subresource) {
  return SendForObject(WriteCall("PUT", "replace", "update", r, ns, name, subresource, Dump(obj),
                                 "application/json"));
}

Status Client::Delete(const ResourceRef& r, std::string_view ns, std::string_view name,
                      std::string_view propagation) {
  Call c;
  c.method = "DELETE";
  c.verb = "delete";
  c.object = DescribeObject(r, ns, name);
  c.rbac_verb = "delete";
  c.rbac_resource = QualifiedResource(r);
  c.path = ResourcePath(r, ns, name);
  if (!propagation.empty()) {
    c.body = Dump(json{{"apiVersion", "v1"},
                       {"kind", "DeleteOptions"},
                       {"propagationPolicy", std::string(propagation)}});
    c.content_type = "application/json";
  }
  auto resp = Send(c);
  if (!resp.ok()) return resp.status();
  if (!Success(resp->status)) return Failure(c, *resp);
  return Status::Ok();
}

}  // namespace cairn::kube
