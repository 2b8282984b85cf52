#include "vault/manifest.h"

#include <gtest/gtest.h>

#include <string>

#include "io/hash.h"
#include "store/memory/memory_store.h"
#include "test_support.h"

namespace cairn::vault {
namespace {

using base::Code;
using vaulttest::At;
using vaulttest::HookStore;
using vaulttest::ReadFixture;

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// Replaces `from` (which must occur) by `to` in manifest bytes and recomputes the checksum
// the way FORMAT.md §6.4 allows: the bytes before ',"checksum"' plus '}' are the hashed form.
std::string EditAndReseal(std::string bytes, std::string_view from, std::string_view to) {
  size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) bytes.replace(at, from.size(), to);
  std::string body = bytes.substr(0, bytes.rfind(",\"checksum\":")) + "}";
  return body.substr(0, body.size() - 1) + ",\"checksum\":\"sha256:" + io::Sha256Hex(body) +
         "\"}\n";
}

StoredObject Object(std::string key, std::string payload) {
  StoredObject o;
  o.key = std::move(key);
  o.stored_size = payload.size();
  o.stored_sha256 = io::Sha256Hex(payload);
  o.logical_size = payload.size() * 4;
  o.logical_sha256 = io::Sha256Hex(payload + payload + payload + payload);
  o.content_type = "application/x-tar";
  return o;
}

Manifest SmallManifest() {
  Manifest m;
  m.name = "b1";
  m.created = At("2026-11-21T04:48:00Z");
  m.completed = At("2026-11-21T04:49:00Z");
  m.created_by = "cairn 0.1.0";
  m.objects.push_back(Object("volumes/ns/pvc.tar.zst", "volume bytes"));
  m.objects.push_back(Object("resources.tar.zst", "resource bytes"));
  m.objects.back().entry_count = 7;
  return m;
}

TEST(ManifestTest, GoldenV1ParsesAndReserialisesByteIdentically) {
  const std::string golden = ReadFixture("manifest-v1.json");
  ASSERT_FALSE(golden.empty());
  auto m = ParseManifest(golden, "backups/shop-nightly-20261121044800/manifest.json");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->format_version, "1.0");
  EXPECT_EQ(m->kind, "Backup");
  EXPECT_EQ(m->name, "shop-nightly-20261121044800");
  EXPECT_EQ(m->policy, "shop-nightly");
  EXPECT_EQ(m->created_by, "cairn 0.1.0");
  EXPECT_EQ(m->created, At("2026-11-21T04:48:00Z"));
  EXPECT_EQ(m->completed, At("2026-11-21T04:52:13Z"));
  ASSERT_EQ(m->objects.size(), 3u);
  EXPECT_EQ(m->objects[0].key, "logs.jsonl.zst");
  EXPECT_FALSE(m->objects[0].entry_count.has_value());
  EXPECT_EQ(m->objects[1].key, "resources.tar.zst");
  EXPECT_EQ(m->objects[1].stored_size, 201337u);
  EXPECT_EQ(m->objects[1].entry_count, 412u);
  EXPECT_EQ(m->objects[2].key, "volumes/shop/data-postgres-0.tar.zst");
  EXPECT_EQ(m->objects[2].logical_size, 2147483648u);
  EXPECT_TRUE(m->extra.empty());
  ManifestTotals t = ComputeTotals(*m);
  EXPECT_EQ(t.object_count, 3u);
  EXPECT_EQ(t.stored_size, 734222748u);
  EXPECT_EQ(t.entry_count, 1944u);

  auto again = SerializeManifest(*m);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, golden);
  EXPECT_EQ(ComputeManifestChecksum(*m).value(), m->checksum);
}

TEST(ManifestTest, GoldenIsItsCanonicalBodyPlusChecksum) {
  // FORMAT.md §6.4, checked on bytes alone, independently of the parser.
  const std::string golden = ReadFixture("manifest-v1.json");
  size_t at = golden.rfind(",\"checksum\":\"sha256:");
  ASSERT_NE(at, std::string::npos);
  std::string body = golden.substr(0, at) + "}";
  EXPECT_EQ(golden.substr(at), ",\"checksum\":\"sha256:" + io::Sha256Hex(body) + "\"}\n");
}

TEST(ManifestTest, TamperedContentIsDataLoss) {
  std::string bytes = ReadFixture("manifest-v1.json");
  size_t at = bytes.find("\"stored_size\":201337");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 20, "\"stored_size\":201338");
  auto m = ParseManifest(bytes, "backups/shop-nightly-20261121044800/manifest.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kDataLoss);
  EXPECT_TRUE(Contains(m.status().message(), "manifest checksum mismatch"));
  EXPECT_TRUE(Contains(m.status().message(), "backup 'shop-nightly-20261121044800'"));
}

TEST(ManifestTest, TamperedChecksumIsDataLoss) {
  std::string bytes = ReadFixture("manifest-v1.json");
  size_t at = bytes.find("sha256:37d4");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 7] = '4';
  auto m = ParseManifest(bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kDataLoss);
  EXPECT_TRUE(Contains(m.status().message(), "manifest checksum mismatch"));

  std::string no_prefix = ReadFixture("manifest-v1.json");
  no_prefix.replace(no_prefix.find("sha256:37d4"), 7, "md5:");
  EXPECT_EQ(ParseManifest(no_prefix).status().code(), Code::kDataLoss);
}

TEST(ManifestTest, WhitespaceDoesNotMatter) {
  std::string bytes = ReadFixture("manifest-v1.json");
  bytes.replace(bytes.find("\"name\":"), 7, "\n  \"name\" :  ");
  auto m = ParseManifest(bytes);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(SerializeManifest(*m).value(), ReadFixture("manifest-v1.json"));
}

TEST(ManifestTest, NewerMajorVersionIsRefusedBeforeTheChecksum) {
  std::string bytes = ReadFixture("manifest-v1.json");
  bytes.replace(bytes.find("\"format_version\":\"1.0\""), 22, "\"format_version\":\"2.0\"");
  auto m = ParseManifest(bytes, "backups/x/manifest.json");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(m.status().message(),
                       "vault format 2.0 is newer than this cairn understands (1.x); upgrade "
                       "cairn"))
      << m.status().message();
  EXPECT_FALSE(Contains(m.status().message(), "checksum"));
}

TEST(ManifestTest, MinorVersionWithOptionalFieldsIsAcceptedAndPreserved) {
  const std::string golden = ReadFixture("manifest-v1.1-optional-field.json");
  auto m = ParseManifest(golden);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->format_version, "1.1");
  EXPECT_EQ(m->extra.count("source_cluster"), 1u);
  EXPECT_EQ(m->extra.count("description"), 1u);
  EXPECT_EQ(m->objects[1].extra.at("storage_class"), "\"STANDARD_IA\"");
  EXPECT_EQ(m->totals_extra.at("archives"), "2");
  EXPECT_EQ(SerializeManifest(*m).value(), golden);
}

TEST(ManifestTest, MalformedDocumentsAreDataLoss) {
  const std::string golden = ReadFixture("manifest-v1.json");
  struct Case {
    const char* what;
    std::string bytes;
  } cases[] = {
      {"not json", "{\"format_version\": "},
      {"not an object", "[1,2]"},
      {"no version", "{\"kind\":\"Backup\"}"},
      {"bad version", EditAndReseal(golden, "\"1.0\"", "\"1\"")},
      {"version 0", EditAndReseal(golden, "\"1.0\"", "\"0.9\"")},
      {"duplicate member",
       EditAndReseal(golden, "\"kind\":\"Backup\"", "\"kind\":\"Backup\",\"kind\":\"Backup\"")},
      {"bad totals", EditAndReseal(golden, "\"object_count\":3", "\"object_count\":4")},
      {"negative size", EditAndReseal(golden, "\"stored_size\":18211", "\"stored_size\":-1")},
      {"float size", EditAndReseal(golden, "\"stored_size\":18211", "\"stored_size\":1.5")},
      {"unknown compression", EditAndReseal(golden, "\"zstd\"", "\"lz4\"")},
      {"bad key", EditAndReseal(golden, "\"key\":\"logs.jsonl.zst\"", "\"key\":\"../x\"")},
      {"reserved key",
       EditAndReseal(golden, "\"key\":\"logs.jsonl.zst\"", "\"key\":\"manifest.json\"")},
      {"unsorted", EditAndReseal(golden, "\"key\":\"logs.jsonl.zst\"", "\"key\":\"z.zst\"")},
      {"bad name", EditAndReseal(golden, "\"name\":\"shop", "\"name\":\"Shop")},
      {"bad time", EditAndReseal(golden, "2026-11-21T04:48:00Z", "yesterday")},
      {"short digest", EditAndReseal(golden, "\"stored_sha256\":\"9e", "\"stored_sha256\":\"")},
      {"missing objects", EditAndReseal(golden, "\"objects\":", "\"objectz\":")},
      {"unknown kind", EditAndReseal(golden, "\"Backup\"", "\"Snapshot\"")},
  };
  for (const Case& c : cases) {
    auto m = ParseManifest(c.bytes);
    EXPECT_FALSE(m.ok()) << c.what;
    EXPECT_EQ(m.status().code(), Code::kDataLoss) << c.what << ": " << m.status().message();
  }
}

TEST(ManifestTest, SerializeSortsObjectsAndRoundTrips) {
  Manifest m = SmallManifest();
  auto bytes = SerializeManifest(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto back = ParseManifest(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->objects.size(), 2u);
  EXPECT_EQ(back->objects[0].key, "resources.tar.zst");
  EXPECT_EQ(back->objects[0].entry_count, 7u);
  EXPECT_EQ(back->objects[1].key, "volumes/ns/pvc.tar.zst");
  EXPECT_TRUE(Contains(*bytes, "\"totals\":{\"entry_count\":7,"));
  EXPECT_EQ(SerializeManifest(*back).value(), *bytes);
  EXPECT_EQ(bytes->back(), '\n');
}

TEST(ManifestTest, SerializeRefusesInvalidManifests) {
  auto refuse = [](Manifest m, std::string_view why) {
    auto r = SerializeManifest(m);
    EXPECT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << why;
  };
  Manifest m = SmallManifest();
  m.name = "Bad";
  refuse(m, "name");
  m = SmallManifest();
  m.objects.push_back(m.objects[0]);
  refuse(m, "duplicate key");
  m = SmallManifest();
  m.objects[0].stored_sha256 = "ABC";
  refuse(m, "digest");
  m = SmallManifest();
  m.objects[0].key = "status.json";
  refuse(m, "reserved");
  m = SmallManifest();
  m.objects[0].compression = "none";
  refuse(m, "uncompressed with different sizes");
  m = SmallManifest();
  m.objects[0].content_type = "";
  refuse(m, "content type");
  m = SmallManifest();
  m.backup = "b0";
  refuse(m, "backup member on a Backup");
  m = SmallManifest();
  m.objects[0].content_type = "bad \xff utf-8";
  refuse(m, "invalid utf-8");
}

class PublishTest : public ::testing::Test {
 protected:
  base::FakeClock clock_{At("2026-11-21T04:48:00Z")};
  store::MemoryStore store_{clock_};
  Layout layout_{"vault"};

  void PutData(const Manifest& m) {
    for (const StoredObject& o : m.objects) {
      ASSERT_TRUE(
          store_.Put(layout_.BackupObjectKey(m.name, o.key), std::string(o.stored_size, 'x'), {})
              .ok());
    }
  }
};

TEST_F(PublishTest, PublishesAfterDataAndReadsBack) {
  Manifest m = SmallManifest();
  PutData(m);
  ASSERT_TRUE(PublishManifest(store_, layout_, m).ok());
  auto stored = store_.GetAll("vault/backups/b1/manifest.json");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, SerializeManifest(m).value());
  auto back = ReadManifest(store_, layout_, "b1");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, "b1");
  EXPECT_EQ(back->objects.size(), 2u);
}

// The run notes each object's ETag as its upload completes; publication refuses to describe an
// object another writer replaced since (same size, other bytes), and leaves no manifest.
TEST_F(PublishTest, AnObjectReplacedByAnotherWriterIsRefused) {
  Manifest m = SmallManifest();
  PutData(m);
  std::map<std::string, std::string> etags;
  for (const StoredObject& o : m.objects) {
    etags[o.key] = store_.Head(layout_.BackupObjectKey(m.name, o.key))->etag;
  }
  const StoredObject& first = m.objects.front();
  ASSERT_TRUE(
      store_
          .Put(layout_.BackupObjectKey(m.name, first.key), std::string(first.stored_size, 'y'), {})
          .ok());
  base::Status s = PublishManifest(store_, layout_, m, etags);
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "is not the one this run wrote")) << s.message();
  EXPECT_TRUE(Contains(s.message(), first.key)) << s.message();
  EXPECT_EQ(store_.Head("vault/backups/b1/manifest.json").status().code(), Code::kNotFound);
  // With the ETags of what is stored now, it publishes.
  etags[first.key] = store_.Head(layout_.BackupObjectKey(m.name, first.key))->etag;
  EXPECT_TRUE(PublishManifest(store_, layout_, m, etags).ok());
}

TEST_F(PublishTest, SecondPublishIsAlreadyExists) {
  Manifest m = SmallManifest();
  PutData(m);
  ASSERT_TRUE(PublishManifest(store_, layout_, m).ok());
  m.completed = At("2026-11-21T05:00:00Z");
  base::Status s = PublishManifest(store_, layout_, m);
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_EQ(s.message(), "backup 'b1' already exists in vault");
  // The first manifest is untouched.
  EXPECT_EQ(ReadManifest(store_, layout_, "b1")->completed, At("2026-11-21T04:49:00Z"));
}

// A create whose first attempt landed but whose response was lost is retried and refused by
// its own manifest: that is a success, while someone else's manifest still is AlreadyExists.
TEST(PublishLostResponseTest, OwnManifestFromALostResponseIsSuccess) {
  base::FakeClock clock(At("2026-11-21T04:48:00Z"));
  for (bool ours : {true, false}) {
    HookStore store(clock);
    Layout layout("vault");
    Manifest m = SmallManifest();
    for (const StoredObject& o : m.objects) {
      ASSERT_TRUE(
          store.inner()
              .Put(layout.BackupObjectKey(m.name, o.key), std::string(o.stored_size, 'x'), {})
              .ok());
    }
    Manifest other = m;
    other.completed = At("2026-11-21T05:00:00Z");
    const std::string landed = SerializeManifest(ours ? m : other).value();
    bool first = true;
    store.hook = [&](std::string_view op, std::string_view key) {
      if (op == "put" && key.ends_with("manifest.json") && first) {
        first = false;
        ASSERT_TRUE(store.inner().Put(key, landed, {}).ok());
      }
    };
    base::Status st = PublishManifest(store, layout, m);
    if (ours) {
      EXPECT_TRUE(st.ok()) << st.ToString();
    } else {
      EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.ToString();
    }
  }
}

TEST_F(PublishTest, MissingOrWrongSizedDataIsRefused) {
  Manifest m = SmallManifest();
  base::Status missing = PublishManifest(store_, layout_, m);
  EXPECT_EQ(missing.code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(missing.message(), "is missing from the vault")) << missing.message();
  PutData(m);
  ASSERT_TRUE(store_.Put("vault/backups/b1/resources.tar.zst", "short", {}).ok());
  base::Status size = PublishManifest(store_, layout_, m);
  EXPECT_EQ(size.code(), Code::kDataLoss);
  EXPECT_FALSE(store_.Head("vault/backups/b1/manifest.json").ok());
}

TEST_F(PublishTest, ReadManifestOfMissingBackupIsNotFound) {
  auto r = ReadManifest(store_, layout_, "nope");
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_TRUE(Contains(r.status().message(), "backup 'nope' not found in vault"));
  EXPECT_EQ(ReadManifest(store_, layout_, "../x").status().code(), Code::kInvalidArgument);
}

TEST_F(PublishTest, ReadManifestRefusesAManifestOfAnotherBackup) {
  Manifest m = SmallManifest();
  ASSERT_TRUE(store_.Put("vault/backups/b2/manifest.json", SerializeManifest(m).value(), {}).ok());
  EXPECT_EQ(ReadManifest(store_, layout_, "b2").status().code(), Code::kDataLoss);
}

TEST(PublishFallbackTest, StoreWithoutConditionalCreate) {
  base::FakeClock clock(At("2026-11-21T04:48:00Z"));
  HookStore store(clock);
  store.conditional = false;
  Layout layout("");
  Manifest m = SmallManifest();
  for (const StoredObject& o : m.objects) {
    ASSERT_TRUE(
        store.Put(layout.BackupObjectKey("b1", o.key), std::string(o.stored_size, 'x'), {}).ok());
  }
  ASSERT_TRUE(PublishManifest(store, layout, m).ok());
  EXPECT_EQ(PublishManifest(store, layout, m).code(), Code::kAlreadyExists);

  // A writer that lands between our PUT and our read-back wins; we report AlreadyExists.
  ASSERT_TRUE(store.Delete({"backups/b1/manifest.json"}).ok());
  store.hook = [&](std::string_view op, std::string_view key) {
    if (op == "get" && key == "backups/b1/manifest.json") {
      store.inner().Put(key, "{\"other\":true}", {}).IgnoreError();
    }
  };
  EXPECT_EQ(PublishManifest(store, layout, m).code(), Code::kAlreadyExists);
}

TEST(ConversionManifestTest, PublishesUnderTheConversionDirectory) {
  base::FakeClock clock(At("2026-11-21T04:48:00Z"));
  store::MemoryStore store(clock);
  Layout layout("p");
  Manifest m = SmallManifest();
  m.kind = std::string(kManifestKindConversion);
  m.name = "to-ceph";
  m.backup = "b1";
  for (const StoredObject& o : m.objects) {
    ASSERT_TRUE(store
                    .Put(layout.ConversionObjectKey("b1", "to-ceph", o.key),
                         std::string(o.stored_size, 'x'), {})
                    .ok());
  }
  ASSERT_TRUE(PublishManifest(store, layout, m).ok());
  auto bytes = store.GetAll(layout.ConversionManifestKey("b1", "to-ceph"));
  ASSERT_TRUE(bytes.ok());
  auto back = ParseManifest(*bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, "Conversion");
  EXPECT_EQ(back->backup, "b1");
  m.completed = At("2026-11-21T05:00:00Z");  // another run of the same name
  base::Status again = PublishManifest(store, layout, m);
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_EQ(again.message(), "conversion 'to-ceph' of backup 'b1' already exists in vault");
}

}  // namespace
}  // namespace cairn::vault
