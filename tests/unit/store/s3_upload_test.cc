// Tests for the s3 driver's multipart sink against a scripted server on 127.0.0.1: what it does
// when a CreateMultipartUpload or CompleteMultipartUpload response is lost, and that an upload
// stopped by cancellation is still aborted (the abort goes on the cleanup path).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../http/scripted_server.h"
#include "io/hash.h"
#include "store/s3/s3_internal.h"
#include "store/s3/s3_store.h"

namespace cairn::store {
namespace {

using namespace std::chrono_literals;
using testing::Reply;
using testing::RequestLine;
using testing::ScriptedReply;
using testing::ScriptedServer;

constexpr uint64_t kPart = 5u << 20;  // S3's minimum part size

std::string Initiated(const std::string& id) {
  return "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key><UploadId>" + id +
         "</UploadId></InitiateMultipartUploadResult>";
}

std::string NoSuchUpload() {
  return "<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist."
         "</Message><RequestId>R9</RequestId></Error>";
}

// A connection closed before any response: the request may have been carried out.
ScriptedReply Lost() { return ScriptedReply{""}; }

ScriptedReply HeadReply(const std::string& etag, uint64_t size) {
  return ScriptedReply{"HTTP/1.1 200 OK\r\nETag: \"" + etag + "\"\r\nContent-Length: " +
                       std::to_string(size) + "\r\nConnection: close\r\n\r\n"};
}

class S3UploadTest : public ::testing::Test {
 protected:
  std::unique_ptr<S3Store> NewStore(const std::string& endpoint, S3Options o = {}) {
    o.bucket = "bucket";
    o.endpoint = endpoint;
    o.credentials = {"AKIDCAIRNTEST", "secret", ""};
    o.part_size = kPart;
    o.parallel_parts = 1;  // the scripted replies are answered in order
    auto s = S3Store::Create(o, clock_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Two parts: a full one and a short last one.
  const std::string part1_ = std::string(kPart, 'a');
  const std::string part2_ = "tail bytes";
  std::string Composite() const {
    return *s3internal::MultipartEtag(
        {{1, "\"" + io::Md5Hex(part1_) + "\""}, {2, "\"" + io::Md5Hex(part2_) + "\""}});
  }
  std::vector<ScriptedReply> InitiateAndParts(const std::string& id) const {
    return {Reply(200, {}, Initiated(id)), Reply(200, {{"ETag", "\"" + io::Md5Hex(part1_) + "\""}}),
            Reply(200, {{"ETag", "\"" + io::Md5Hex(part2_) + "\""}})};
  }
  Status Upload(S3Store& store) {
    auto sink = store.PutStream("k", {});
    if (!sink.ok()) return sink.status();
    Status st = (*sink)->Write(part1_);
    if (st.ok()) st = (*sink)->Write(part2_);
    if (st.ok()) st = (*sink)->Close();
    return st;
  }
  static std::vector<std::string> Lines(const ScriptedServer& s) {
    std::vector<std::string> out;
    for (const auto& r : s.requests()) out.push_back(RequestLine(r));
    return out;
  }

  base::FakeClock clock_{std::chrono::sys_days{std::chrono::September / 21 / 2026} + 12h};
};

TEST(MultipartEtagTest, IsTheMd5OfThePartMd5s) {
  // Two parts "a" and "b": md5(md5("a") || md5("b")) - 2, as S3 computes it.
  std::string a = io::Md5Hex("a"), b = io::Md5Hex("b");
  EXPECT_EQ(a, "0cc175b9c0f1b6a831c399e269772661");
  auto etag = s3internal::MultipartEtag({{1, "\"" + a + "\""}, {2, b}});
  ASSERT_TRUE(etag);
  std::string raw;
  for (const std::string& hex : {a, b}) {
    for (size_t i = 0; i < hex.size(); i += 2) {
      raw += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
  }
  EXPECT_EQ(*etag, io::Md5Hex(raw) + "-2");
  EXPECT_FALSE(s3internal::MultipartEtag({{1, "not-an-md5"}}));
}

TEST_F(S3UploadTest, CompleteWhoseResponseWasLostIsAcceptedWhenTheObjectIsOurs) {
  auto replies = InitiateAndParts("U1");
  replies.push_back(Lost());                          // the Complete went through, unheard
  replies.push_back(Reply(404, {}, NoSuchUpload()));  // its retry finds no upload
  replies.push_back(HeadReply(Composite(), kPart + part2_.size()));
  ScriptedServer server(replies);
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  Status st = Upload(*store);
  EXPECT_TRUE(st.ok()) << st.message();
  auto lines = Lines(server);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[3], "POST /bucket/k?uploadId=U1 HTTP/1.1");
  EXPECT_EQ(lines[4], "POST /bucket/k?uploadId=U1 HTTP/1.1");
  EXPECT_EQ(lines[5], "HEAD /bucket/k HTTP/1.1");
  EXPECT_FALSE(server.overrun());
}

TEST_F(S3UploadTest, CompleteWhoseResponseWasLostFailsWhenTheObjectIsAnother) {
  auto replies = InitiateAndParts("U1");
  replies.push_back(Lost());
  replies.push_back(Reply(404, {}, NoSuchUpload()));
  replies.push_back(HeadReply("0123456789abcdef0123456789abcdef-2", kPart + part2_.size()));
  replies.push_back(Reply(204));  // the abort
  ScriptedServer server(replies);
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  Status st = Upload(*store);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::Code::kDataLoss) << st.message();
  EXPECT_NE(st.message().find("not the one this run wrote"), std::string::npos) << st.message();
}

TEST_F(S3UploadTest, RetriedInitiateAbortsTheUploadItOrphaned) {
  std::vector<ScriptedReply> replies = {Lost()};  // the first initiate created an upload, unheard
  for (auto& r : InitiateAndParts("U1")) replies.push_back(r);
  // This run's orphan (same key, started now), someone's old upload and another key's.
  replies.push_back(
      Reply(200, {},
            "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
            "<Upload><Key>k</Key><UploadId>U0</UploadId><Initiated>2026-09-21T12:00:00.000Z"
            "</Initiated></Upload>"
            "<Upload><Key>k</Key><UploadId>U1</UploadId><Initiated>2026-09-21T12:00:00.000Z"
            "</Initiated></Upload>"
            "<Upload><Key>k</Key><UploadId>OLD</UploadId><Initiated>2026-09-20T08:00:00.000Z"
            "</Initiated></Upload>"
            "<Upload><Key>k2</Key><UploadId>OTHER</UploadId><Initiated>2026-09-21T12:00:00.000Z"
            "</Initiated></Upload></ListMultipartUploadsResult>"));
  replies.push_back(Reply(204));  // abort U0
  replies.push_back(Reply(200, {},
                          "<CompleteMultipartUploadResult><ETag>\"e\"</ETag>"
                          "</CompleteMultipartUploadResult>"));
  ScriptedServer server(replies);
  ASSERT_TRUE(server.ok());
  auto store = NewStore(server.url());
  ASSERT_TRUE(store);
  Status st = Upload(*store);
  EXPECT_TRUE(st.ok()) << st.message();
  auto lines = Lines(server);
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "POST /bucket/k?uploads= HTTP/1.1");
  EXPECT_EQ(lines[1], "POST /bucket/k?uploads= HTTP/1.1");
  EXPECT_EQ(lines[4], "GET /bucket?prefix=k&uploads= HTTP/1.1");
  EXPECT_EQ(lines[5], "DELETE /bucket/k?uploadId=U0 HTTP/1.1");
  EXPECT_EQ(lines[6], "POST /bucket/k?uploadId=U1 HTTP/1.1");
  EXPECT_FALSE(server.overrun());
}

TEST_F(S3UploadTest, CancelledUploadIsStillAborted) {
  std::atomic<bool> cancel{false};
  ScriptedServer server(
      {Reply(200, {}, Initiated("U1")), ScriptedReply{Reply(200).raw, 2s}, Reply(204)});
  ASSERT_TRUE(server.ok());
  S3Options o;
  o.http.cancel = &cancel;
  auto store = NewStore(server.url(), o);
  ASSERT_TRUE(store);
  auto sink = store->PutStream("k", {});
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(part1_).ok());  // part 1 is under way (its answer is slow)
  std::this_thread::sleep_for(300ms);
  cancel = true;  // SIGTERM
  Status st = (*sink)->Close();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::Code::kCancelled) << st.message();
  auto lines = Lines(server);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "DELETE /bucket/k?uploadId=U1 HTTP/1.1");
}

}  // namespace
}  // namespace cairn::store
