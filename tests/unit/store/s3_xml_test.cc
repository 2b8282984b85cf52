// Tests for store/s3/xml: response bodies as AWS documents them and as Ceph RGW and MinIO send
// them (compact, no Message, BucketName/Key, &quot;-escaped ETags), malformed documents, and the
// request bodies cairn builds.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "store/s3/xml.h"

namespace cairn::store::s3 {
namespace {

using base::Code;

template <typename T>
void ExpectMalformed(const base::Result<T>& r, std::string_view fragment) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_TRUE(r.status().message().starts_with("malformed S3 response: ")) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

// --- Errors ---

TEST(S3XmlError, AwsNoSuchKey) {
  auto e = ParseError(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>NoSuchKey</Code>
  <Message>The resource you requested does not exist</Message>
  <Resource>/mybucket/myfoto.jpg</Resource>
  <RequestId>4442587FB7D0A2F9</RequestId>
</Error>)");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->http_status, 0);
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The resource you requested does not exist");
  EXPECT_EQ(e->resource, "/mybucket/myfoto.jpg");
  EXPECT_EQ(e->request_id, "4442587FB7D0A2F9");
  EXPECT_EQ(e->host_id, "");
}

TEST(S3XmlError, AwsSignatureDoesNotMatchWithExtraElements) {
  auto e = ParseError(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>The request signature we calculated does not match the signature you provided. "
      "Check your key and signing method.</Message><AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE"
      "</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20130524T000000Z\n"
      "20130524/us-east-1/s3/aws4_request\n"
      "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972</StringToSign>"
      "<SignatureProvided>f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb42"
      "</SignatureProvided><StringToSignBytes>41 57 53 34</StringToSignBytes><CanonicalRequest>"
      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n</CanonicalRequest>"
      "<CanonicalRequestBytes>47 45 54</CanonicalRequestBytes><RequestId>4B0B5F0E2D2E4E5B"
      "</RequestId><HostId>lhIcBDgkyd1uTW3cBz3b1E3gKSgvHs3d7Vhjq+8bnvL8AOO3V2lT1YDyOMzw1bWg="
      "</HostId></Error>");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->code, "SignatureDoesNotMatch");
  EXPECT_EQ(e->request_id, "4B0B5F0E2D2E4E5B");
  EXPECT_EQ(e->host_id, "lhIcBDgkyd1uTW3cBz3b1E3gKSgvHs3d7Vhjq+8bnvL8AOO3V2lT1YDyOMzw1bWg=");
  EXPECT_EQ(e->resource, "");
}

TEST(S3XmlError, CephRgwWithoutMessage) {
  auto e = ParseError(
      R"(<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code>)"
      R"(<BucketName>cepha</BucketName><RequestId>tx000000000000000000004-005cab7931-4b24e-dc1)"
      R"(</RequestId><HostId>4b24e-dc1-production</HostId></Error>)");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->code, "NoSuchBucket");
  EXPECT_EQ(e->message, "");
  EXPECT_EQ(e->resource, "cepha");
  EXPECT_EQ(e->request_id, "tx000000000000000000004-005cab7931-4b24e-dc1");
  EXPECT_EQ(e->host_id, "4b24e-dc1-production");
}

TEST(S3XmlError, CephRgwEmptyMessageForms) {
  for (const char* message : {"<Message></Message>", "<Message/>", "<Message />"}) {
    auto e = ParseError(std::string(R"(<?xml version="1.0" encoding="UTF-8"?><Error>)") +
                        "<Code>NoSuchKey</Code>" + message +
                        "<BucketName>backups</BucketName><RequestId>tx0000012a3b4c5d6e7f809-"
                        "0065f1a2b3-1a2b3-default</RequestId><HostId>1a2b3-default-default"
                        "</HostId></Error>\r\n");
    ASSERT_TRUE(e.ok()) << message << ": " << e.status().message();
    EXPECT_EQ(e->code, "NoSuchKey");
    EXPECT_EQ(e->message, "");
    EXPECT_EQ(e->resource, "backups");
  }
}

TEST(S3XmlError, MinioPrefersResourceOverKeyAndBucket) {
  auto e = ParseError(
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      "\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
      "<Key>a/b</Key><BucketName>bkt</BucketName><Resource>/bkt/a/b</Resource>"
      "<RequestId>17A2B3C4D5E6F708</RequestId><HostId>dd9025bab4ad464b049177c95eb6ebf3</HostId>"
      "</Error>");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->resource, "/bkt/a/b");
  auto k = ParseError(
      "<Error><Code>NoSuchKey</Code><Key>a &amp; b</Key>"
      "<BucketName>bkt</BucketName></Error>");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->resource, "a & b");
}

TEST(S3XmlError, NotAnErrorDocument) {
  ExpectMalformed(ParseError(""), "no root element");
  ExpectMalformed(ParseError("   \n"), "no root element");
  ExpectMalformed(ParseError("<html><body><h1>502 Bad Gateway</h1></body></html>"),
                  "expected <Error>, got <html>");
  ExpectMalformed(ParseError("Service Unavailable"), "text outside the root element");
  ExpectMalformed(ParseError("<Error><Message>x</Message></Error>"), "without <Code>");
}

// --- ListObjectsV2 ---

TEST(S3XmlList, AwsDocumentedListing) {
  auto r = ParseListObjectsV2(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix/>
  <KeyCount>2</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <IsTruncated>false</IsTruncated>
  <Contents>
    <Key>my-image.jpg</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>"fba9dede5f27731c9771645a39863328"</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>backups/run 1/resources.tar.zst</Key>
    <LastModified>2026-11-21T04:48:00.000Z</LastModified>
    <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
    <Size>18446744073709551615</Size>
    <StorageClass>STANDARD_IA</StorageClass>
  </Contents>
</ListBucketResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->is_truncated);
  EXPECT_EQ(r->next_continuation_token, "");
  EXPECT_TRUE(r->common_prefixes.empty());
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "my-image.jpg");
  EXPECT_EQ(r->objects[0].size, 434234u);
  EXPECT_EQ(r->objects[0].etag, "fba9dede5f27731c9771645a39863328");
  EXPECT_EQ(r->objects[0].last_modified, "2009-10-12T17:50:30.000Z");
  EXPECT_EQ(r->objects[0].storage_class, "STANDARD");
  EXPECT_EQ(r->objects[1].key, "backups/run 1/resources.tar.zst");
  EXPECT_EQ(r->objects[1].size, UINT64_MAX);
  EXPECT_EQ(r->objects[1].etag, "3858f62230ac3c915f300c664312c11f-9");
}

TEST(S3XmlList, TruncatedWithContinuationToken) {
  auto r = ParseListObjectsV2(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix></Prefix>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <KeyCount>1</KeyCount>
  <MaxKeys>1</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>happyface.jpg</Key>
    <LastModified>2014-11-21T19:40:05.000Z</LastModified>
    <ETag>"70ee1738b6b21e2c8a43f3a5ab0eee71"</ETag>
    <Size>11</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
</ListBucketResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].size, 11u);
}

TEST(S3XmlList, EmptyListing) {
  auto r = ParseListObjectsV2(
      R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult )"
      R"(xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>nothing/</Prefix>)"
      R"(<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount>)"
      R"(</ListBucketResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->objects.empty());
  EXPECT_TRUE(r->common_prefixes.empty());
  EXPECT_FALSE(r->is_truncated);
}

TEST(S3XmlList, DelimiterCommonPrefixes) {
  auto r = ParseListObjectsV2(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>example-bucket</Name>
  <Prefix></Prefix>
  <KeyCount>3</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>false</IsTruncated>
  <Contents>
    <Key>sample.jpg</Key>
    <LastModified>2011-02-26T01:56:20.000Z</LastModified>
    <ETag>"bf1d737a4d46a19f3bced6905cc8b902"</ETag>
    <Size>142863</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <CommonPrefixes>
    <Prefix>photos/</Prefix>
  </CommonPrefixes>
  <CommonPrefixes>
    <Prefix>videos &amp; more/</Prefix>
  </CommonPrefixes>
</ListBucketResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->common_prefixes, (std::vector<std::string>{"photos/", "videos & more/"}));
}

TEST(S3XmlList, CephRgwEscapedKeysUnicodeAndQuotedEtags) {
  auto r = ParseListObjectsV2(
      R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult )"
      R"(xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix>)"
      R"(<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a&amp;b&lt;c&gt;)"
      R"(&quot;d&apos; </Key><LastModified>2024-03-01T10:00:00.123Z</LastModified><ETag>)"
      R"(&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>)"
      R"(STANDARD</StorageClass><Owner><ID>cairn</ID><DisplayName>cairn</DisplayName></Owner>)"
      R"(<Type>Normal</Type></Contents><Contents><Key>)"
      "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/&#x1F600;&#233;&#10;"
      R"(</Key><LastModified>2024-03-01T10:00:01.000Z</LastModified><ETag>&quot;)"
      R"(0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size> 1 </Size><StorageClass>STANDARD)"
      R"(</StorageClass></Contents><NextContinuationToken>caf&#xE9;/x</NextContinuationToken>)"
      R"(<KeyCount>2</KeyCount></ListBucketResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "a&b<c>\"d' ");  // trailing space kept
  EXPECT_EQ(r->objects[0].etag, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(r->objects[0].last_modified, "2024-03-01T10:00:00.123Z");
  EXPECT_EQ(r->objects[1].key, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80\xc3\xa9\n");
  EXPECT_EQ(r->objects[1].size, 1u);
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_continuation_token, "caf\xc3\xa9/x");
}

TEST(S3XmlList, UrlEncodingTypeIsDecoded) {
  auto r = ParseListObjectsV2(
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
      "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated><Contents><Key>"
      "a+b%2Fc%0Dd%E2%82%AC</Key><Size>3</Size><ETag>\"x\"</ETag></Contents><CommonPrefixes>"
      "<Prefix>p+q%2F</Prefix></CommonPrefixes></ListBucketResult>");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->objects[0].key, "a b/c\rd\xe2\x82\xac");
  EXPECT_EQ(r->common_prefixes[0], "p q/");
}

TEST(S3XmlList, NamespacePrefixesCommentsAndCdata) {
  auto r = ParseListObjectsV2(
      "\xEF\xBB\xBF<?xml version='1.0'?><!-- listing --><s3:ListBucketResult "
      "xmlns:s3='http://s3.amazonaws.com/doc/2006-03-01/' a=\"x>y\"><s3:IsTruncated>false"
      "</s3:IsTruncated><s3:Contents><s3:Key><![CDATA[raw <&> key]]></s3:Key><!-- c -->"
      "<s3:Size>5</s3:Size></s3:Contents></s3:ListBucketResult>\n<!-- trailer -->\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->objects.size(), 1u);
  EXPECT_EQ(r->objects[0].key, "raw <&> key");
}

TEST(S3XmlList, RejectsMalformedAndIncompleteListings) {
  const std::string head = "<ListBucketResult><IsTruncated>false</IsTruncated>";
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Size>1</Size></Contents>"
                                            "</ListBucketResult>"),
                  "<Contents> without <Key>");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>k</Key></Contents>"
                                            "</ListBucketResult>"),
                  "valid <Size>");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>k</Key><Size>-1</Size></Contents>"
                                            "</ListBucketResult>"),
                  "valid <Size>");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>k</Key><Size>12x</Size></Contents>"
                                            "</ListBucketResult>"),
                  "valid <Size>");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>k</Key><Size>18446744073709551616"
                                            "</Size></Contents></ListBucketResult>"),
                  "valid <Size>");
  ExpectMalformed(ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                     "</ListBucketResult>"),
                  "without <NextContinuationToken>");
  ExpectMalformed(ParseListObjectsV2("<ListBucketResult><IsTruncated>maybe</IsTruncated>"
                                     "</ListBucketResult>"),
                  "not a boolean");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>k</Size></Contents>"),
                  "end tag </Size> does not match <Key>");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>k</Key>"), "document ends inside");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>a &amp b</Key>"), "invalid entity");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>a &nbsp; b</Key>"), "invalid entity");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>&#0;</Key>"), "invalid entity");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>&#xD800;</Key>"), "invalid entity");
  ExpectMalformed(ParseListObjectsV2(head + "<Contents><Key>&#x110000;</Key>"), "invalid entity");
  ExpectMalformed(ParseListObjectsV2(head + "</ListBucketResult><ListBucketResult/>"),
                  "more than one root element");
  ExpectMalformed(ParseListObjectsV2(head + "</ListBucketResult>garbage"),
                  "text outside the root element");
  ExpectMalformed(
      ParseListObjectsV2("<!DOCTYPE x [<!ENTITY e \"boom\">]>" + head + "</ListBucketResult>"),
      "DOCTYPE");
  ExpectMalformed(ParseListObjectsV2("<ListBucketResult a=\"1></ListBucketResult>"),
                  "malformed start tag");
  ExpectMalformed(ParseListObjectsV2("<ListBucketResult a></ListBucketResult>"),
                  "malformed start tag");
  ExpectMalformed(ParseListObjectsV2("<ListBucketResult><![CDATA[x</ListBucketResult>"),
                  "unterminated CDATA");
  ExpectMalformed(ParseListObjectsV2("<ListAllMyBucketsResult/>"),
                  "expected <ListBucketResult>, got <ListAllMyBucketsResult>");
  std::string deep = "<ListBucketResult>";
  for (int i = 0; i < 100; ++i) deep += "<a>";
  ExpectMalformed(ParseListObjectsV2(deep), "nested too deeply");
}

// --- Multipart uploads ---

TEST(S3XmlMultipart, ListMultipartUploadsAwsExample) {
  auto r = ParseListMultipartUploads(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket>
  <KeyMarker></KeyMarker>
  <UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <MaxUploads>3</MaxUploads>
  <IsTruncated>true</IsTruncated>
  <Upload>
    <Key>my-divisor</Key>
    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator>
      <ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID>
      <DisplayName>user1-11111a31-17b5-4fb7-9df5-b111111f13de</DisplayName>
    </Initiator>
    <Owner>
      <ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>
      <DisplayName>OwnerDisplayName</DisplayName>
    </Owner>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
  <Upload>
    <Key>my-movie.m2ts</Key>
    <UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
</ListMultipartUploadsResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_key_marker, "my-movie.m2ts");
  EXPECT_EQ(r->next_upload_id_marker, "YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ");
  ASSERT_EQ(r->uploads.size(), 2u);
  EXPECT_EQ(r->uploads[0].key, "my-divisor");
  EXPECT_EQ(r->uploads[0].upload_id, "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw");
  EXPECT_EQ(r->uploads[0].initiated, "2010-11-10T20:48:33.000Z");
  EXPECT_EQ(r->uploads[1].key, "my-movie.m2ts");
}

TEST(S3XmlMultipart, ListMultipartUploadsEmptyAndBroken) {
  auto r = ParseListMultipartUploads(
      "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Bucket>b</Bucket><NextKeyMarker/><NextUploadIdMarker/><MaxUploads>1000</MaxUploads>"
      "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->uploads.empty());
  EXPECT_FALSE(r->is_truncated);
  ExpectMalformed(ParseListMultipartUploads("<ListMultipartUploadsResult><IsTruncated>true"
                                            "</IsTruncated></ListMultipartUploadsResult>"),
                  "without <NextKeyMarker>");
  ExpectMalformed(ParseListMultipartUploads("<ListMultipartUploadsResult><Upload><Key>k</Key>"
                                            "</Upload></ListMultipartUploadsResult>"),
                  "<Upload> without");
}

TEST(S3XmlMultipart, ListPartsSumsSizes) {
  // The example of the S3 API reference (ListParts), abridged.
  auto r = ParseListParts(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <PartNumberMarker>1</PartNumberMarker>
  <NextPartNumberMarker>3</NextPartNumberMarker>
  <MaxParts>2</MaxParts>
  <IsTruncated>true</IsTruncated>
  <Part>
    <PartNumber>2</PartNumber>
    <LastModified>2010-11-10T20:48:34.000Z</LastModified>
    <ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag>
    <Size>10485760</Size>
  </Part>
  <Part>
    <PartNumber>3</PartNumber>
    <LastModified>2010-11-10T20:48:33.000Z</LastModified>
    <ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag>
    <Size>10485760</Size>
  </Part>
</ListPartsResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->bytes, 20971520u);
  EXPECT_EQ(r->parts, 2u);
  EXPECT_TRUE(r->is_truncated);
  EXPECT_EQ(r->next_part_number_marker, "3");
  auto empty =
      ParseListParts("<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->bytes, 0u);
  ExpectMalformed(ParseListParts("<ListPartsResult><IsTruncated>true</IsTruncated>"
                                 "</ListPartsResult>"),
                  "without <NextPartNumberMarker>");
  ExpectMalformed(ParseListParts("<ListPartsResult><Part><Size>-1</Size></Part>"
                                 "<IsTruncated>false</IsTruncated></ListPartsResult>"),
                  "<Part> with <Size> '-1'");
}

TEST(S3XmlMultipart, InitiateMultipartUpload) {
  auto id = ParseInitiateMultipartUpload(R"(<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
</InitiateMultipartUploadResult>)");
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  // RGW upload ids contain '~' and '.'.
  auto rgw = ParseInitiateMultipartUpload(
      R"(<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult )"
      R"(xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Tenant></Tenant><Bucket>b</Bucket>)"
      R"(<Key>k</Key><UploadId>2~iCw_lDY8VoNVKTEpRHxEBhQbT4_ojbm</UploadId>)"
      R"(</InitiateMultipartUploadResult>)");
  ASSERT_TRUE(rgw.ok());
  EXPECT_EQ(*rgw, "2~iCw_lDY8VoNVKTEpRHxEBhQbT4_ojbm");
  ExpectMalformed(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult><UploadId/>"
                                               "</InitiateMultipartUploadResult>"),
                  "no <UploadId>");
}

TEST(S3XmlMultipart, CompleteMultipartUploadSuccess) {
  auto r = ParseCompleteMultipartUpload(R"(<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>https://example-bucket.s3.us-east-1.amazonaws.com/Example-Object</Location>
  <Bucket>Example-Bucket</Bucket>
  <Key>Example-Object</Key>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
</CompleteMultipartUploadResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->is_error);
  EXPECT_EQ(r->etag, "3858f62230ac3c915f300c664312c11f-9");
}

TEST(S3XmlMultipart, CompleteMultipartUploadErrorAfter200WithPadding) {
  // S3 sends whitespace while it assembles the parts, then the document.
  auto r = ParseCompleteMultipartUpload(
      "          \n          \n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error>\n"
      "<Code>InternalError</Code>\n<Message>We encountered an internal error. Please try "
      "again.</Message>\n<RequestId>656c76696e6727732072657175657374</RequestId>\n"
      "<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>\n</Error>");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_error);
  EXPECT_EQ(r->error.code, "InternalError");
  EXPECT_EQ(r->error.message, "We encountered an internal error. Please try again.");
  EXPECT_EQ(r->error.request_id, "656c76696e6727732072657175657374");
  EXPECT_EQ(r->error.http_status, 0);
  EXPECT_EQ(r->etag, "");
}

TEST(S3XmlMultipart, CompleteMultipartUploadBroken) {
  ExpectMalformed(ParseCompleteMultipartUpload(""), "no root element");
  ExpectMalformed(ParseCompleteMultipartUpload("   \n   "), "no root element");
  ExpectMalformed(ParseCompleteMultipartUpload("<Foo/>"), "got <Foo>");
}

TEST(S3XmlMultipart, CompleteMultipartUploadWithEmptyEtagFromRgw) {
  auto r = ParseCompleteMultipartUpload(
      "<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket><Key>k</Key>"
      "<ETag></ETag></CompleteMultipartUploadResult>");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->is_error);
  EXPECT_EQ(r->etag, "");
}

// --- DeleteObjects ---

TEST(S3XmlDelete, DeletedAndPerKeyErrors) {
  auto r = ParseDeleteObjects(R"(<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted>
    <Key>sample1.txt</Key>
  </Deleted>
  <Deleted><Key>a&amp;b</Key><VersionId>null</VersionId></Deleted>
  <Error>
    <Key>sample2.txt</Key>
    <Code>AccessDenied</Code>
    <Message>Access Denied</Message>
  </Error>
</DeleteResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->deleted, (std::vector<std::string>{"sample1.txt", "a&b"}));
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].resource, "sample2.txt");
  EXPECT_EQ(r->errors[0].code, "AccessDenied");
  EXPECT_EQ(r->errors[0].message, "Access Denied");
}

TEST(S3XmlDelete, QuietEmptyResultAndBroken) {
  auto r = ParseDeleteObjects(R"(<?xml version="1.0" encoding="UTF-8"?><DeleteResult )"
                              R"(xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->deleted.empty());
  EXPECT_TRUE(r->errors.empty());
  ExpectMalformed(ParseDeleteObjects("<DeleteResult><Error><Code>X</Code></Error>"
                                     "</DeleteResult>"),
                  "<Error> without <Key>");
  ExpectMalformed(ParseDeleteObjects("<DeleteResult><Deleted/></DeleteResult>"),
                  "<Deleted> without <Key>");
}

// --- Request bodies ---

TEST(S3XmlBuild, XmlEscape) {
  EXPECT_EQ(XmlEscape("plain/key-1.txt"), "plain/key-1.txt");
  EXPECT_EQ(XmlEscape("a&b<c>\"d'e\r\nf\tg"), "a&amp;b&lt;c&gt;&quot;d&apos;e&#13;&#10;f\tg");
  EXPECT_EQ(XmlEscape("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(S3XmlBuild, CompleteMultipartUpload) {
  EXPECT_EQ(BuildCompleteMultipartUpload({{1, "\"a54357aff0632cce46d942af68356b38\""},
                                          {2, "0c78aef83f66abc1fa1e8477f296d394"}}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38&quot;"
            "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>"
            "&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");
  EXPECT_EQ(BuildCompleteMultipartUpload({}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "</CompleteMultipartUpload>");
}

TEST(S3XmlBuild, DeleteObjects) {
  EXPECT_EQ(BuildDeleteObjects({"sample1.txt", "a&b<c>\r"}, true),
            "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            "<Object><Key>sample1.txt</Key></Object><Object><Key>a&amp;b&lt;c&gt;&#13;</Key>"
            "</Object></Delete>");
  EXPECT_EQ(BuildDeleteObjects({"k"}, false),
            "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>k</Key>"
            "</Object></Delete>");
}

TEST(S3XmlBuild, EscapedKeysSurviveTheParser) {
  // What BuildDeleteObjects writes, a server echoes back in <Deleted>; it must decode unchanged.
  const std::string key = "dir/a&b <c> \"q\" 'a'\r\n\xe2\x82\xac ";
  auto r = ParseDeleteObjects("<DeleteResult><Deleted><Key>" + XmlEscape(key) +
                              "</Key></Deleted></DeleteResult>");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->deleted.size(), 1u);
  EXPECT_EQ(r->deleted[0], key);
}

}  // namespace
}  // namespace cairn::store::s3
