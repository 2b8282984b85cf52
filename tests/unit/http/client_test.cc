// Tests for http/client: the verdict table and the retry loop of Client::Do, against a scripted
// server on 127.0.0.1 and a fake clock (backoff sleeps advance it instantly, so the waits the
// client chose can be read off the clock).
#include "http/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "scripted_server.h"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;
using testing::ClosedPort;
using testing::Reply;
using testing::RequestBody;
using testing::RequestHeader;
using testing::RequestLine;
using testing::ScriptedReply;
using testing::ScriptedServer;

Response WithStatus(long status) {
  Response r;
  r.status = status;
  return r;
}

TEST(DefaultVerdictTest, FinalStatuses) {
  for (long s : {200L, 201L, 204L, 206L, 301L, 304L, 400L, 403L, 404L, 409L, 412L, 416L, 501L}) {
    EXPECT_EQ(DefaultVerdict(WithStatus(s)), Verdict::kDone) << s;
  }
}

TEST(DefaultVerdictTest, TransientStatuses) {
  for (long s : {429L, 500L, 502L, 503L, 504L}) {
    EXPECT_EQ(DefaultVerdict(WithStatus(s)), Verdict::kRetry) << s;
  }
}

TEST(ResponseTest, GetIsCaseInsensitiveAndReturnsFirst) {
  Response r;
  r.headers = {{"etag", "\"a\""}, {"x-amz-request-id", "R1"}, {"x-amz-request-id", "R2"}};
  EXPECT_EQ(r.Get("ETag"), "\"a\"");
  EXPECT_EQ(r.Get("X-Amz-Request-Id"), "R1");
  EXPECT_EQ(r.Get("missing"), "");
}

TEST(UrlEncodeTest, KeepsUnreservedAndOptionallySlash) {
  EXPECT_EQ(UrlEncode("a-b_c.d~e/f g+ü", true), "a-b_c.d~e/f%20g%2B%C3%BC");
  EXPECT_EQ(UrlEncode("a/b", false), "a%2Fb");
}

class ClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> NewClient(ClientOptions opts = {}) {
    auto c = Client::Create(std::move(opts), clock_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  // How far the fake clock moved, i.e. the sum of the backoff waits.
  std::chrono::milliseconds Slept() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - kStart);
  }
  // Sends `req` with `write_grace` (and the run's `deadline`, if any) and sets the cancel flag
  // `after` into the transfer; the result and how long the request took.
  std::pair<Result<Response>, std::chrono::steady_clock::duration> DoCancelledAfter(
      const Request& req, std::chrono::milliseconds after, std::chrono::milliseconds write_grace,
      const base::Deadline* deadline = nullptr) {
    std::atomic<bool> cancel{false};
    ClientOptions opts;
    opts.cancel = &cancel;
    opts.write_grace = write_grace;
    opts.deadline = deadline;
    auto client = NewClient(opts);
    std::thread stopper([&] {
      std::this_thread::sleep_for(after);
      cancel = true;
    });
    auto started = std::chrono::steady_clock::now();
    auto r = client->Do(req);
    stopper.join();
    return {std::move(r), std::chrono::steady_clock::now() - started};
  }
  static ClientOptions Attempts(int n) {
    ClientOptions o;
    o.retry.max_attempts = n;
    return o;
  }

  const base::TimePoint kStart = base::TimePoint(std::chrono::seconds(1'790'000'000));
  base::FakeClock clock_{kStart};
};

TEST_F(ClientTest, RetriesTransientStatusThenReturnsSuccess) {
  ScriptedServer server({Reply(503), Reply(503), Reply(200, {}, "done")});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  auto r = client->Do({"GET", server.url() + "/obj", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->attempt_log,
            (std::vector<std::string>{"attempt 1: HTTP 503", "attempt 2: HTTP 503"}));
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_FALSE(server.overrun());
  // Backoff with jitter in [cap/2, cap]: at least 100 ms after the first, 200 ms after the second.
  EXPECT_GE(Slept(), 300ms);
  EXPECT_LE(Slept(), 600ms);
}

TEST_F(ClientTest, HonoursRetryAfter) {
  ScriptedServer server({Reply(429, {{"Retry-After", "1"}}), Reply(200)});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->attempt_log, std::vector<std::string>{"attempt 1: HTTP 429"});
  // Jitter alone would wait at most 200 ms.
  EXPECT_GE(Slept(), 1000ms);
}

TEST_F(ClientTest, RetryAfterBeyondDeadlineReturnsTheTransientResponse) {
  ScriptedServer server({Reply(503, {{"Retry-After", "30"}}, "busy")});
  ASSERT_TRUE(server.ok());
  ClientOptions opts;
  opts.retry.overall_deadline = 5s;
  auto client = NewClient(opts);
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "busy");
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(Slept(), 0ms);
}

TEST_F(ClientTest, TransientStatusUntilAttemptsRunOut) {
  ScriptedServer server({Reply(500), Reply(502), Reply(504)});
  ASSERT_TRUE(server.ok());
  auto client = NewClient(Attempts(3));
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();  // the caller names the final status
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(r->attempts, 3);
  ASSERT_GE(r->attempt_log.size(), 2u);
  EXPECT_EQ(r->attempt_log[0], "attempt 1: HTTP 500");
  EXPECT_EQ(r->attempt_log[1], "attempt 2: HTTP 502");
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_FALSE(server.overrun());
}

TEST_F(ClientTest, FinalStatusesReturnAtOnce) {
  for (int status : {400, 404, 412}) {
    ScriptedServer server({Reply(status, {}, "<Error/>"), Reply(200)});
    ASSERT_TRUE(server.ok());
    auto client = NewClient();
    auto r = client->Do({"GET", server.url() + "/", {}, {}});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->body, "<Error/>");
    EXPECT_EQ(r->attempts, 1);
    EXPECT_TRUE(r->attempt_log.empty());
    EXPECT_EQ(server.requests().size(), 1u) << status;
  }
  EXPECT_EQ(Slept(), 0ms);
}

TEST_F(ClientTest, ClassifyHookDecidesWhatIsTransient) {
  ScriptedServer server({Reply(409), Reply(503)});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  Hooks hooks;
  hooks.classify = [](const Response& r) {
    return r.status == 409 ? Verdict::kRetry : Verdict::kDone;
  };
  auto r = client->Do({"GET", server.url() + "/", {}, {}}, hooks);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->attempt_log, std::vector<std::string>{"attempt 1: HTTP 409"});
}

TEST_F(ClientTest, TruncatedBodyIsRetried) {
  ScriptedReply cut{
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly ten.."};
  ScriptedServer server({cut, Reply(200, {}, "complete")});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  auto r = client->Do({"GET", server.url() + "/big", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "complete");  // never the short body
  EXPECT_EQ(r->attempts, 2);
  ASSERT_EQ(r->attempt_log.size(), 1u);
  EXPECT_NE(r->attempt_log[0].find("attempt 1: response truncated"), std::string::npos)
      << r->attempt_log[0];
}

TEST_F(ClientTest, TruncatedEveryTimeIsUnavailable) {
  ScriptedReply cut{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nshort"};
  ScriptedServer server({cut, cut});
  ASSERT_TRUE(server.ok());
  auto client = NewClient(Attempts(2));
  auto r = client->Do({"GET", server.url() + "/big", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  EXPECT_NE(r.status().message().find("response truncated"), std::string::npos);
  EXPECT_NE(r.status().message().find("gave up after 2 attempts"), std::string::npos)
      << r.status().message();
}

TEST_F(ClientTest, ConnectionRefusedGivesUpWithTheAttemptLog) {
  int port = ClosedPort();
  ASSERT_NE(port, 0);
  auto client = NewClient(Attempts(3));
  auto r = client->Do({"GET", "http://127.0.0.1:" + std::to_string(port) + "/x", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  const std::string& m = r.status().message();
  EXPECT_EQ(m.rfind("tcp connect failed (127.0.0.1:" + std::to_string(port) + "): ", 0), 0u) << m;
  EXPECT_NE(m.find("gave up after 3 attempts: attempt 1: tcp connect failed"), std::string::npos)
      << m;
  EXPECT_NE(m.find("; attempt 2: tcp connect failed"), std::string::npos) << m;
  EXPECT_GT(Slept(), 0ms);  // it did back off between attempts
}

TEST_F(ClientTest, NonRetriableTransportErrorIsNotRetried) {
  int signs = 0;
  Hooks hooks;
  hooks.sign = [&](const Request&) -> Result<std::vector<Header>> {
    ++signs;
    return std::vector<Header>{};
  };
  auto client = NewClient();
  auto r = client->Do({"GET", "ftp://127.0.0.1:1/x", {}, {}}, hooks);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  EXPECT_EQ(signs, 1);
  EXPECT_EQ(r.status().message().find("gave up"), std::string::npos) << r.status().message();
}

TEST_F(ClientTest, SignHookRunsBeforeEveryAttempt) {
  ScriptedServer server({Reply(503), Reply(500), Reply(200)});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  int calls = 0;
  Hooks hooks;
  hooks.sign = [&](const Request& r) -> Result<std::vector<Header>> {
    ++calls;
    EXPECT_EQ(r.url, server.url() + "/signed");
    return std::vector<Header>{{"X-Attempt", std::to_string(calls)}};
  };
  auto r = client->Do({"GET", server.url() + "/signed", {{"X-Fixed", "f"}}, {}}, hooks);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(calls, 3);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  for (size_t i = 0; i < reqs.size(); ++i) {
    // A fresh header per attempt, never the previous attempt's as well.
    EXPECT_EQ(RequestHeader(reqs[i], "x-attempt"), std::to_string(i + 1));
    EXPECT_EQ(reqs[i].find("X-Attempt"), reqs[i].rfind("X-Attempt"));
    EXPECT_EQ(RequestHeader(reqs[i], "x-fixed"), "f");
  }
}

TEST_F(ClientTest, SignHookErrorStopsBeforeSending) {
  ScriptedServer server({Reply(200)});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  Hooks hooks;
  hooks.sign = [](const Request&) -> Result<std::vector<Header>> {
    return base::Error(base::Code::kUnauthenticated, "no credentials");
  };
  auto r = client->Do({"GET", server.url() + "/", {}, {}}, hooks);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "no credentials");
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(ClientTest, BodyIsSentAgainOnEveryAttempt) {
  ScriptedServer server({Reply(503), Reply(200)});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  const std::string body = "part payload";
  auto r = client->Do({"PUT", server.url() + "/k", {}, body});
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& req : reqs) {
    EXPECT_EQ(RequestLine(req), "PUT /k HTTP/1.1");
    EXPECT_EQ(RequestHeader(req, "content-length"), std::to_string(body.size()));
    EXPECT_EQ(RequestBody(req), body);
    // No Content-Type unless the caller sets one, and no 100-continue round trip.
    EXPECT_EQ(RequestHeader(req, "content-type"), "");
    EXPECT_EQ(RequestHeader(req, "expect"), "");
  }
}

TEST_F(ClientTest, RequestHeadersAndMethodAreSent) {
  // A HEAD answer announces a length but carries no body.
  ScriptedServer server(
      {Reply(200), {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n"}});
  ASSERT_TRUE(server.ok());
  ClientOptions opts;
  opts.user_agent = "cairn-test/1";
  auto client = NewClient(opts);
  auto r = client->Do(
      {"POST", server.url() + "/b?delete", {{"Content-Type", "application/xml"}}, "<Delete/>"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto head = client->Do({"HEAD", server.url() + "/b/k", {}, {}});
  ASSERT_TRUE(head.ok()) << head.status().message();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Get("content-length"), "5");
  EXPECT_EQ(head->body, "");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(RequestLine(reqs[0]), "POST /b?delete HTTP/1.1");
  EXPECT_EQ(RequestHeader(reqs[0], "content-type"), "application/xml");
  EXPECT_EQ(RequestHeader(reqs[0], "user-agent"), "cairn-test/1");
  EXPECT_EQ(RequestLine(reqs[1]), "HEAD /b/k HTTP/1.1");
}

TEST_F(ClientTest, ResponseHeadersAreLowercasedAndTrimmed) {
  ScriptedServer server({Reply(200, {{"X-Amz-Request-Id", "  REQ1  "}, {"ETag", "\"abc\""}})});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  bool saw_request_id = false;
  for (const auto& [k, v] : r->headers) {
    for (char c : k) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << k;
    if (k == "x-amz-request-id") {
      saw_request_id = true;
      EXPECT_EQ(v, "REQ1");
    }
  }
  EXPECT_TRUE(saw_request_id);
  EXPECT_EQ(r->Get("etag"), "\"abc\"");
  EXPECT_EQ(r->Get("content-length"), "0");
}

TEST_F(ClientTest, ResponseBodyLimitIsEnforced) {
  ScriptedServer server({Reply(200, {}, std::string(100, 'x')), Reply(200)});
  ASSERT_TRUE(server.ok());
  ClientOptions opts;
  opts.max_response_body = 16;
  auto client = NewClient(opts);
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kInternal);
  EXPECT_NE(r.status().message().find("larger than 16 bytes"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(server.requests().size(), 1u);  // retrying cannot make it smaller

  ScriptedServer exact({Reply(200, {}, std::string(16, 'y'))});
  ASSERT_TRUE(exact.ok());
  auto ok = client->Do({"GET", exact.url() + "/", {}, {}});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->body, std::string(16, 'y'));
}

TEST_F(ClientTest, FinalErrorAfterARetryNamesTheAttempt) {
  ScriptedServer server({Reply(503), Reply(200, {}, std::string(100, 'x'))});
  ASSERT_TRUE(server.ok());
  ClientOptions opts;
  opts.max_response_body = 16;
  auto client = NewClient(opts);
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kInternal);
  EXPECT_EQ(r.status().message(),
            "response from " + server.host() + " is larger than 16 bytes (attempt 2)");
}

TEST_F(ClientTest, InterimResponseHeadersAreDropped) {
  ScriptedReply reply{"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n" +
                      Reply(200, {{"X-Final", "yes"}}, "body").raw};
  ScriptedServer server({reply});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  auto r = client->Do({"PUT", server.url() + "/k", {}, "data"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "body");
  EXPECT_EQ(r->Get("x-interim"), "");
  EXPECT_EQ(r->Get("x-final"), "yes");
}

TEST_F(ClientTest, CancelFlagAlreadySet) {
  ScriptedServer server({Reply(200), Reply(200)});
  ASSERT_TRUE(server.ok());
  std::atomic<bool> cancel{true};
  ClientOptions opts;
  opts.cancel = &cancel;
  auto client = NewClient(opts);
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_FALSE(r.ok()) << "status " << r->status;
  EXPECT_EQ(r.status().code(), base::Code::kCancelled);
  EXPECT_EQ(r.status().message(), "request to " + server.host() + " not sent: cancelled");
  EXPECT_TRUE(server.requests().empty());
}

// A read is aborted at once, whatever grace writes get.
TEST_F(ClientTest, CancelAbortsATransferInFlight) {
  ScriptedServer server({ScriptedReply{Reply(200).raw, 20s}});
  ASSERT_TRUE(server.ok());
  auto [r, took] = DoCancelledAfter({"GET", server.url() + "/slow", {}, {}}, 200ms, 15s);
  EXPECT_LT(took, 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kCancelled);
  EXPECT_EQ(server.requests().size(), 1u);
}

// A write under way at the cancel finishes within its grace: its answer says it was applied.
TEST_F(ClientTest, AWriteUnderWayAtTheCancelFinishesWithinItsGrace) {
  ScriptedServer server({ScriptedReply{Reply(201, {}, "created").raw, 600ms}});
  ASSERT_TRUE(server.ok());
  auto [r, took] = DoCancelledAfter({"POST", server.url() + "/objects", {}, "{}"}, 150ms, 5s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "created");
}

// ...and is aborted when the grace runs out.
TEST_F(ClientTest, AWritePastItsGraceIsAborted) {
  ScriptedServer server({ScriptedReply{Reply(201).raw, 20s}});
  ASSERT_TRUE(server.ok());
  auto [r, took] = DoCancelledAfter({"POST", server.url() + "/objects", {}, "{}"}, 150ms, 300ms);
  EXPECT_LT(took, 10s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kCancelled);
}

// ...and never outlives the run's deadline, however long its grace.
TEST_F(ClientTest, AWritesGraceEndsAtTheRunsDeadline) {
  ScriptedServer server({ScriptedReply{Reply(201).raw, 20s}});
  ASSERT_TRUE(server.ok());
  base::Deadline deadline(clock_.Steady() + 600ms);  // the fake clock stands still: 600ms real
  auto [r, took] =
      DoCancelledAfter({"POST", server.url() + "/objects", {}, "{}"}, 150ms, 15s, &deadline);
  EXPECT_LT(took, 3s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kCancelled) << r.status().message();
}

TEST(ParseHttpDateTest, TheThreeFormsOfRfc9110) {
  const base::TimePoint want =
      std::chrono::sys_days{std::chrono::November / 6 / 1994} + 8h + 49min + 37s;
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), want);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), want);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), want);
  EXPECT_EQ(ParseHttpDate("120"), std::nullopt);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT trailing"), std::nullopt);
}

TEST_F(ClientTest, RetriesPastSixAttemptsWithinTheBudget) {
  std::vector<ScriptedReply> replies(12, Reply(503));
  replies.push_back(Reply(200, {}, "back"));
  ScriptedServer server(replies);
  ASSERT_TRUE(server.ok());
  auto client = NewClient();  // the default policy: a time budget, no attempt count
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 13);
  EXPECT_LE(Slept(), 300s);
}

TEST_F(ClientTest, HonoursRetryAfterGivenAsAnHttpDate) {
  // kStart is 2026-09-21 ...; the server asks to come back 7 s later.
  std::time_t later = std::chrono::system_clock::to_time_t(kStart + 7s);
  std::tm tm{};
  gmtime_r(&later, &tm);
  char date[64];
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  ScriptedServer server({Reply(503, {{"Retry-After", date}}), Reply(200)});
  ASSERT_TRUE(server.ok());
  auto client = NewClient();
  auto r = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->attempts, 2);
  EXPECT_GE(Slept(), 7s);  // jitter alone would wait at most 200 ms
  EXPECT_LT(Slept(), 8s);
}

TEST_F(ClientTest, AnOutageLongerThanTheBudgetGivesUpNamingIt) {
  int port = ClosedPort();
  ASSERT_NE(port, 0);
  ClientOptions opts;
  opts.retry.overall_deadline = 10s;
  auto client = NewClient(opts);
  auto r = client->Do({"GET", "http://127.0.0.1:" + std::to_string(port) + "/x", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kUnavailable);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("tcp connect failed"), std::string::npos) << m;
  EXPECT_NE(m.find("(retry_timeout 10s)"), std::string::npos) << m;
  EXPECT_NE(r.status().hint().find("raise retry_timeout"), std::string::npos);
  EXPECT_LE(Slept(), 10s);
  // Waits of 0.1-0.2, 0.2-0.4, 0.4-0.8, 0.8-1.6 and 1.6-3.2 s always fit in the budget; the next
  // (3.2-6.4 s) only when it ends before it, so at least 3.1 s were spent waiting.
  EXPECT_GE(Slept(), 3100ms);
}

TEST_F(ClientTest, TheRunsDeadlineEndsRetriesEarly) {
  int port = ClosedPort();
  ASSERT_NE(port, 0);
  base::Deadline deadline(clock_.Steady() + 3s);
  ClientOptions opts;
  opts.deadline = &deadline;
  auto client = NewClient(opts);
  auto r = client->Do({"GET", "http://127.0.0.1:" + std::to_string(port) + "/x", {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDeadlineExceeded);
  EXPECT_NE(r.status().message().find("the run's deadline"), std::string::npos)
      << r.status().message();
  EXPECT_LE(Slept(), 3s);
  // Once it has passed, nothing is sent.
  ScriptedServer server({Reply(200)});
  ASSERT_TRUE(server.ok());
  clock_.Advance(5s);
  auto late = client->Do({"GET", server.url() + "/", {}, {}});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), base::Code::kDeadlineExceeded);
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(ClientTest, TheRunsDeadlineCutsAnAttemptShort) {
  ScriptedServer server({ScriptedReply{Reply(200).raw, 20s}});
  ASSERT_TRUE(server.ok());
  base::Deadline deadline(std::chrono::steady_clock::now() + 400ms);
  ClientOptions opts;
  opts.deadline = &deadline;
  auto c = Client::Create(opts, base::RealClock());
  ASSERT_TRUE(c.ok());
  auto started = std::chrono::steady_clock::now();
  auto r = (*c)->Do({"GET", server.url() + "/hangs", {}, {}});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kDeadlineExceeded) << r.status().message();
}

TEST_F(ClientTest, UnreadableCaFileIsRejected) {
  ClientOptions opts;
  opts.ca_file = "/nonexistent/cairn-ca.pem";
  auto c = Client::Create(opts, clock_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find("/nonexistent/cairn-ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace cairn::http
