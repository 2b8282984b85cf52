// Tests of ops/restore/verify: every archive entry checked against its path before anything is
// applied (hostile nesting, duplicate members, identity), every problem reported, and a failure
// of this machine (the spool's directory full) told apart from a problem of the backup.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "archive/tar.h"
#include "io/hash.h"
#include "io/stream.h"
#include "io/zstd.h"
#include "ops/restore/verify.h"
#include "store/memory/memory_store.h"
#include "vault/status.h"

namespace cairn::ops::restore {
namespace {

using nlohmann::json;

EntryRef Ref(std::string group, std::string resource, std::string version, std::string ns,
             std::string name) {
  return {std::move(group), std::move(resource), std::move(version), std::move(ns),
          std::move(name)};
}

std::string ConfigMapText(const std::string& ns, const std::string& name) {
  return json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"data", {{"k", "v"}}}}
      .dump();
}

// `depth` levels in all: the object, then nested "a" members.
std::string Nested(int depth) {
  std::string open = R"({"apiVersion":"v1","kind":"ConfigMap",)"
                     R"("metadata":{"name":"deep","namespace":"shop"},"data":)";
  std::string out = open;
  for (int i = 2; i < depth; ++i) out += R"({"a":)";
  out += "{}";
  for (int i = 2; i < depth; ++i) out += "}";
  return out + "}";
}

std::vector<std::string> Check(const EntryRef& ref, const std::string& text,
                               std::string_view want_kind = "ConfigMap") {
  std::string kind;
  return CheckEntry(ref, text, want_kind, &kind);
}

std::string All(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

std::vector<std::string> Messages(const std::vector<VerifyProblem>& v) {
  std::vector<std::string> out;
  for (const auto& p : v) out.push_back(p.message);
  return out;
}

const EntryRef kCm = Ref("", "configmaps", "v1", "shop", "deep");

TEST(CheckEntry, ASoundObjectHasNoProblemAndGivesItsKind) {
  std::string kind;
  auto found = CheckEntry(Ref("", "configmaps", "v1", "shop", "web"), ConfigMapText("shop", "web"),
                          "ConfigMap", &kind);
  EXPECT_TRUE(found.empty()) << All(found);
  EXPECT_EQ(kind, "ConfigMap");
  // A group's apiVersion and a cluster-scoped object.
  json crb = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
              {"kind", "ClusterRoleBinding"},
              {"metadata", {{"name", "admins"}}}};
  EXPECT_TRUE(Check(Ref("rbac.authorization.k8s.io", "clusterrolebindings", "v1", "", "admins"),
                    crb.dump(), "ClusterRoleBinding")
                  .empty());
  // Unknown kind of the resource: any non-empty kind.
  EXPECT_TRUE(
      Check(Ref("", "configmaps", "v1", "shop", "web"), ConfigMapText("shop", "web"), "").empty());
}

TEST(CheckEntry, NestingUpToTheLimitIsAcceptedBeyondItRefused) {
  EXPECT_TRUE(Check(kCm, Nested(kMaxEntryDepth)).empty()) << All(Check(kCm, Nested(64)));
  auto found = Check(kCm, Nested(kMaxEntryDepth + 1));
  ASSERT_EQ(found.size(), 1u) << All(found);
  EXPECT_EQ(found[0], "nested 65 levels deep, more than the limit of 64");
  // Arrays count as levels too.
  std::string arrays = R"({"apiVersion":"v1","kind":"ConfigMap",)"
                       R"("metadata":{"name":"deep","namespace":"shop"},"x":)" +
                       std::string(kMaxEntryDepth, '[') + std::string(kMaxEntryDepth, ']') + "}";
  EXPECT_NE(All(Check(kCm, arrays)).find("nested 65 levels"), std::string::npos);
}

// The forged entry of the report: 100,000 levels (and a million) are scanned without recursion,
// and the identity after the deep part is still checked.
TEST(CheckEntry, AHundredThousandLevelsAreRefusedWithoutExhaustingTheStack) {
  for (int depth : {100'000, 1'000'000}) {
    std::string text = R"({"apiVersion":"v1","kind":"ConfigMap","data":)";
    for (int i = 1; i < depth; ++i) text += "[";
    for (int i = 1; i < depth; ++i) text += "]";
    text += R"(,"metadata":{"name":"other","namespace":"shop"}})";
    auto found = Check(kCm, text);
    ASSERT_EQ(found.size(), 2u) << All(found);
    EXPECT_EQ(found[0],
              "nested " + std::to_string(depth) + " levels deep, more than the limit " + "of 64");
    EXPECT_EQ(found[1], "metadata.name 'other' differs from the path's 'deep'");
  }
  // Unclosed: a syntax error, with the depth reached.
  auto found = Check(kCm, std::string(200'000, '['));
  ASSERT_EQ(found.size(), 2u) << All(found);
  EXPECT_NE(found[0].find("not valid JSON"), std::string::npos) << found[0];
  EXPECT_EQ(found[1], "nested at least 200000 levels deep, more than the limit of 64");
}

TEST(CheckEntry, DuplicateMembersAreRefusedAndLocated) {
  std::string text = R"({"apiVersion":"v1","kind":"ConfigMap","kind":"Secret",)"
                     R"("metadata":{"name":"deep","namespace":"shop",)"
                     R"("labels":{"app":"a","app":"b"}},)"
                     R"("spec":{"ports":[{"port":1},{"port":2,"port":3}]}})";
  auto found = Check(kCm, text);
  ASSERT_EQ(found.size(), 2u) << All(found);
  EXPECT_EQ(found[0], "duplicate member 'kind', 'app' in metadata.labels, 'port' in spec.ports[1]");
  // The last duplicate wins, as in a parsed document: "Secret" is not the resource's kind.
  EXPECT_EQ(found[1], "kind 'Secret' differs from the backup's kind of configmaps 'ConfigMap'");
  // Many duplicates: the first few, then a count.
  std::string many = R"({"apiVersion":"v1","kind":"ConfigMap",)"
                     R"("metadata":{"name":"deep","namespace":"shop"},"data":{)";
  for (int i = 0; i < 20; ++i) many += std::string(i ? "," : "") + R"("x":"1")";
  many += "}}";
  found = Check(kCm, many);
  ASSERT_EQ(found.size(), 1u) << All(found);
  EXPECT_NE(found[0].find("and 14 more"), std::string::npos) << found[0];
}

TEST(CheckEntry, EveryDisagreementWithThePathIsReported) {
  json obj = {{"apiVersion", "apps/v1"},
              {"kind", "Secret"},
              {"metadata", {{"name", "other"}, {"namespace", "billing"}}}};
  auto found = Check(kCm, obj.dump());
  EXPECT_EQ(found, (std::vector<std::string>{
                       "apiVersion 'apps/v1' differs from the path's 'v1'",
                       "kind 'Secret' differs from the backup's kind of configmaps 'ConfigMap'",
                       "metadata.name 'other' differs from the path's 'deep'",
                       "metadata.namespace 'billing' differs from the path's 'shop'"}));
  // Missing members, and a namespace on an object stored as cluster-scoped.
  found = Check(kCm, R"({"metadata":{"name":7}})");
  EXPECT_EQ(found, (std::vector<std::string>{
                       "apiVersion is missing (the path's 'v1')",
                       "kind is missing (the backup's kind of configmaps 'ConfigMap')",
                       "metadata.name is not a string (the path's 'deep')",
                       "metadata.namespace is missing (the path's 'shop')"}));
  found = Check(Ref("", "namespaces", "v1", "", "shop"),
                R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop",)"
                R"("namespace":"x"}})",
                "Namespace");
  EXPECT_EQ(found, std::vector<std::string>{
                       "metadata.namespace 'x' on an object stored as cluster-scoped"});
  EXPECT_EQ(Check(kCm, R"({"apiVersion":"v1","kind":"ConfigMap","metadata":[]})"),
            std::vector<std::string>{"metadata is missing or not an object"});
  EXPECT_EQ(Check(kCm, R"({"apiVersion":"v1","kind":"","metadata":{}})", ""),
            (std::vector<std::string>{"kind is empty",
                                      "metadata.name is missing (the path's "
                                      "'deep')",
                                      "metadata.namespace is missing (the path's 'shop')"}));
}

TEST(CheckEntry, NotOneJsonObjectIsRefused) {
  EXPECT_EQ(Check(kCm, "[1,2]"), std::vector<std::string>{"not a JSON object"});
  EXPECT_EQ(Check(kCm, "7"), std::vector<std::string>{"not a JSON object"});
  for (const char* bad : {"", "{", R"({"a":1} {"b":2})", "{\"a\":\"\xff\"}", "{'a':1}"}) {
    auto found = Check(kCm, bad);
    ASSERT_EQ(found.size(), 1u) << bad;
    EXPECT_EQ(found[0].rfind("not valid JSON", 0), 0u) << found[0];
  }
}

// --- ReadVerified -------------------------------------------------------------------------------

// A backup in a memory store: resources.tar.zst of `entries` (path, text) after the metadata,
// and a manifest that describes it exactly (as a forger re-sealing it would).
class Vault {
 public:
  explicit Vault(std::vector<std::pair<std::string, std::string>> entries,
                 std::string metadata = Metadata()) {
    std::string tar;
    io::StringSink sink(&tar);
    auto w = archive::TarWriter::Create(&sink);
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Add("metadata/backup.json", metadata).ok());
    for (const auto& [path, text] : entries) EXPECT_TRUE((*w)->Add(path, text).ok()) << path;
    EXPECT_TRUE((*w)->Finish().ok());
    Seal(tar, entries.size() + 1);
  }
  // A backup whose archive is `tar` (made by the test), holding `entry_count` entries.
  Vault(const std::string& tar, uint64_t entry_count) { Seal(tar, entry_count); }
  void Seal(const std::string& tar, uint64_t entry_count) {
    auto z = io::ZstdCompress(tar, 3);
    EXPECT_TRUE(z.ok());
    EXPECT_TRUE(store.Put(layout.BackupObjectKey("b", "resources.tar.zst"), *z, {}).ok());
    manifest.name = "b";
    vault::StoredObject o;
    o.key = "resources.tar.zst";
    o.stored_size = z->size();
    o.stored_sha256 = io::Sha256Hex(*z);
    o.logical_size = tar.size();
    o.logical_sha256 = io::Sha256Hex(tar);
    o.compression = "zstd";
    o.content_type = "application/x-tar";
    o.entry_count = entry_count;
    manifest.objects.push_back(o);
  }
  static std::string Metadata() {
    return json{{"cluster",
                 {{"resources",
                   {{{"group", ""},
                     {"version", "v1"},
                     {"resource", "configmaps"},
                     {"kind", "ConfigMap"}}}}}}}
        .dump();
  }
  store::MemoryStore store;
  vault::Layout layout{"p"};
  vault::Manifest manifest;
};

std::string CmPath(const std::string& name) {
  return "resources/core/configmaps/v1/namespaces/shop/" + name + ".json";
}

TEST(ReadVerified, AGoodArchiveIsKeptWhole) {
  Vault v({{CmPath("a"), ConfigMapText("shop", "a")}, {CmPath("b"), ConfigMapText("shop", "b")}});
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &problems).ok());
  EXPECT_TRUE(problems.empty()) << All(Messages(problems));
  EXPECT_EQ(content.entries, 3);
  ASSERT_NE(content.objects.Find({"", "configmaps"}), nullptr);
  EXPECT_EQ(content.objects.Find({"", "configmaps"})->objects, 2);
  EXPECT_EQ(content.objects.Find({"", "configmaps"})->kind, "ConfigMap");
}

// A volume archive is not read by the restore's verification (its mover checks its digests as
// it streams): only its presence and stored size are checked.
TEST(ReadVerified, VolumeArchivesAreCheckedForPresenceAndSizeOnly) {
  Vault v({{CmPath("a"), ConfigMapText("shop", "a")}});
  vault::StoredObject vol;
  vol.key = "volumes/shop/data.tar.zst";
  vol.stored_size = 5;
  vol.stored_sha256 = std::string(64, '0');  // not what the bytes hash to: never read here
  vol.logical_size = 10;
  vol.logical_sha256 = std::string(64, '0');
  vol.content_type = "application/x-tar";
  v.manifest.objects.push_back(vol);
  BackupContent content("");
  std::vector<VerifyProblem> missing;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &missing).ok());
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].object, "volumes/shop/data.tar.zst");

  ASSERT_TRUE(v.store.Put(v.layout.BackupObjectKey("b", vol.key), "12345", {}).ok());
  BackupContent again("");
  std::vector<VerifyProblem> none;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &again, &none).ok());
  EXPECT_TRUE(none.empty()) << All(Messages(none));

  ASSERT_TRUE(v.store.Put(v.layout.BackupObjectKey("b", vol.key), "123456", {}).ok());
  BackupContent third("");
  std::vector<VerifyProblem> resized;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &third, &resized).ok());
  ASSERT_EQ(resized.size(), 1u);
  EXPECT_EQ(resized[0].message,
            "volumes/shop/data.tar.zst: stored size 6 bytes, the manifest records 5");
}

// A re-sealed forgery passes every checksum: the entries themselves are refused, each named
// with every problem it has, and nothing is kept for the apply.
TEST(ReadVerified, ForgedEntriesAreEachNamedWithEveryProblem) {
  Vault v({{CmPath("a"), ConfigMapText("shop", "a")},
           {"resources/core/secrets/v1/namespaces/shop/s.json",
            R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s","namespace":"shop"}})"},
           {"resources/core/secrets/v1/namespaces/shop/t.json",
            R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"t","namespace":"shop"}})"},
           {CmPath("deep"), Nested(100'000)},
           {CmPath("dup"), R"({"apiVersion":"v1","kind":"ConfigMap","kind":"ConfigMap",)"
                           R"("metadata":{"name":"dup","namespace":"shop"}})"},
           {CmPath("moved"), ConfigMapText("kube-system", "admin")}});
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &problems).ok());
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems[0].object, "resources/core/secrets/v1/namespaces/shop/t.json");
  EXPECT_EQ(Messages(problems),
            (std::vector<std::string>{
                // secrets are not in the metadata: the resource's first kind is the kind.
                "resources.tar.zst: resources/core/secrets/v1/namespaces/shop/t.json: kind "
                "'Secret' differs from the backup's kind of secrets 'ConfigMap'",
                "resources.tar.zst: " + CmPath("deep") +
                    ": nested 100000 levels deep, more than the limit of 64",
                "resources.tar.zst: " + CmPath("dup") + ": duplicate member 'kind'",
                "resources.tar.zst: " + CmPath("moved") +
                    ": metadata.name 'admin' differs from the path's 'moved'; metadata.namespace "
                    "'kube-system' differs from the path's 'shop'"}));
  // Nothing after the first problem is kept for an apply that will not happen.
  EXPECT_EQ(content.objects.Find({"", "configmaps"})->objects, 1);
}

TEST(ReadVerified, ABadMetadataDocumentIsAProblem) {
  Vault v({{CmPath("a"), ConfigMapText("shop", "a")}},
          R"({"cluster":{"resources":[],"resources":[]}})");
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &problems).ok());
  EXPECT_EQ(Messages(problems),
            std::vector<std::string>{"resources.tar.zst: metadata/backup.json: "
                                     "duplicate member 'resources' in cluster"});
}

TEST(ReadVerified, ProblemsBeyondTheListedOnesAreCounted) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (size_t i = 0; i < kMaxListedProblems + 7; ++i) {
    entries.push_back({CmPath("c" + std::to_string(i)), ConfigMapText("shop", "x")});
  }
  Vault v(entries);
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &problems).ok());
  ASSERT_EQ(problems.size(), kMaxListedProblems + 1);
  EXPECT_EQ(problems.back().message,
            "resources.tar.zst: 7 more entries with problems are not listed");
}

// A tar of metadata/backup.json and `entries`, each added as is (TarWriter lets a path repeat).
std::string Tar(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string tar;
  io::StringSink sink(&tar);
  auto w = archive::TarWriter::Create(&sink);
  EXPECT_TRUE((*w)->Add("metadata/backup.json", Vault::Metadata()).ok());
  for (const auto& [path, text] : entries) EXPECT_TRUE((*w)->Add(path, text).ok()) << path;
  EXPECT_TRUE((*w)->Finish().ok());
  return tar;
}

TEST(ReadVerified, ThePathOfAnEarlierEntryIsAProblemOfThatEntry) {
  Vault v(Tar({{CmPath("a"), ConfigMapText("shop", "a")},
               {CmPath("b"), ConfigMapText("shop", "b")},
               {CmPath("a"), ConfigMapText("shop", "a")}}),
          4);
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &problems).ok());
  ASSERT_EQ(problems.size(), 1u) << All(Messages(problems));
  EXPECT_EQ(problems[0].object, CmPath("a"));
  EXPECT_EQ(problems[0].message, "resources.tar.zst: " + CmPath("a") +
                                     ": duplicate entry: the path is already in the archive");
}

// An entry above kMaxEntryBytes is refused by its declared size: its data is never read, and
// neither is anything after it (passing over it would mean reading it).
TEST(ReadVerified, AnEntryAboveTheLimitStopsVerificationUnread) {
  std::string tar;
  io::StringSink sink(&tar);
  auto w = archive::TarWriter::Create(&sink);
  ASSERT_TRUE((*w)->Add("metadata/backup.json", Vault::Metadata()).ok());
  const std::string big(kMaxEntryBytes + 1, '\0');
  io::StringSource zeros(big);
  ASSERT_TRUE((*w)->AddFrom(CmPath("big"), kMaxEntryBytes + 1, zeros).ok());
  ASSERT_TRUE((*w)->Add(CmPath("bad"), "not read, so not reported").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  Vault v(tar, 3);
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &problems).ok());
  EXPECT_EQ(Messages(problems),
            (std::vector<std::string>{
                "resources.tar.zst: " + CmPath("big") + ": tar entry '" + CmPath("big") +
                    "' has 16777217 bytes, more than the 16777216 allowed",
                "resources.tar.zst: verification stopped at tar entry '" + CmPath("big") +
                    "' (16777217 bytes declared): the entries after it were not checked"}))
      << All(Messages(problems));
}

// A record of padding may follow the end-of-archive blocks; a stream of data may not.
TEST(ReadVerified, MoreThanAMebibyteAfterTheArchiveIsRefused) {
  const std::string tar = Tar({{CmPath("a"), ConfigMapText("shop", "a")}});
  Vault padded(tar + std::string(10240, '\0'), 2);
  BackupContent content("");
  std::vector<VerifyProblem> none;
  ASSERT_TRUE(ReadVerified(padded.store, padded.layout, padded.manifest, &content, &none).ok());
  EXPECT_TRUE(none.empty()) << All(Messages(none));

  Vault trailing(tar + std::string(2 << 20, '\0'), 2);
  BackupContent again("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(
      ReadVerified(trailing.store, trailing.layout, trailing.manifest, &again, &problems).ok());
  ASSERT_EQ(problems.size(), 1u) << All(Messages(problems));
  EXPECT_EQ(problems[0].object, "resources.tar.zst");
  EXPECT_EQ(problems[0].message,
            "resources.tar.zst: more than 1 MiB of data after the end of the tar archive");
}

// Corrupt compressed data: the decoding error and the stored checksum, not only the first.
TEST(ReadVerified, ACorruptObjectReportsEveryProblemOfIt) {
  Vault v({{CmPath("a"), ConfigMapText("shop", "a")}});
  std::string key = v.layout.BackupObjectKey("b", "resources.tar.zst");
  auto src = v.store.Get(key);
  ASSERT_TRUE(src.ok());
  std::string bytes;
  for (char buf[4096];;) {
    auto n = (*src)->Read(buf);
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    bytes.append(buf, *n);
  }
  ASSERT_EQ(bytes.size(), v.manifest.objects[0].stored_size);
  bytes[bytes.size() / 2] ^= 0x5a;
  ASSERT_TRUE(v.store.Put(key, bytes, {}).ok());
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &content, &problems).ok());
  ASSERT_EQ(problems.size(), 1u) << All(Messages(problems));
  EXPECT_EQ(problems[0].object, "resources.tar.zst");
  const std::string& m = problems[0].message;
  EXPECT_EQ(m.rfind("resources.tar.zst: ", 0), 0u) << m;
  EXPECT_NE(m.find("; stored sha256 differs from the manifest"), std::string::npos) << m;

  // The same bytes and more: the stored object is read no further than its recorded size.
  ASSERT_TRUE(v.store.Put(key, bytes + "trailing", {}).ok());
  problems.clear();
  BackupContent again("");
  ASSERT_TRUE(ReadVerified(v.store, v.layout, v.manifest, &again, &problems).ok());
  ASSERT_EQ(problems.size(), 1u) << All(Messages(problems));
  EXPECT_NE(problems[0].message.find("the stored object is longer than the " +
                                     std::to_string(v.manifest.objects[0].stored_size) +
                                     " bytes the manifest records"),
            std::string::npos)
      << problems[0].message;
}

// A payload that decodes to more than the manifest's logical size (a zstd bomb whose manifest
// keeps the real logical size) is refused once it passes that size, before the rest is decoded.
TEST(ReadVerified, APayloadLongerThanRecordedIsRefusedWhereItPassesTheSize) {
  Vault v({{CmPath("a"), ConfigMapText("shop", "a")}});
  std::string key = v.layout.BackupObjectKey("b", "resources.tar.zst");
  auto src = v.store.Get(key);
  ASSERT_TRUE(src.ok());
  auto stored = io::ReadAll(**src);
  ASSERT_TRUE(stored.ok());
  auto payload = io::ZstdDecompress(*stored, 1 << 20);
  ASSERT_TRUE(payload.ok());
  ASSERT_EQ(payload->size(), v.manifest.objects[0].logical_size);
  auto bomb = io::ZstdCompress(*payload + std::string(32 << 20, '\0'), 3);  // 32 MiB more
  ASSERT_TRUE(bomb.ok());
  ASSERT_TRUE(v.store.Put(key, *bomb, {}).ok());
  vault::Manifest m = v.manifest;
  m.objects[0].stored_size = bomb->size();
  m.objects[0].stored_sha256 = io::Sha256Hex(*bomb);
  BackupContent content("");
  std::vector<VerifyProblem> problems;
  ASSERT_TRUE(ReadVerified(v.store, v.layout, m, &content, &problems).ok());
  ASSERT_EQ(problems.size(), 1u) << All(Messages(problems));
  EXPECT_NE(problems[0].message.find("the payload is longer than the " +
                                     std::to_string(m.objects[0].logical_size) +
                                     " bytes the manifest records"),
            std::string::npos)
      << problems[0].message;
}

// The spool's directory refuses more bytes (RLIMIT_FSIZE: EFBIG, as a full disk gives ENOSPC):
// a failure of this machine naming $TMPDIR and the room needed, not a problem of the backup.
TEST(ReadVerified, NoRoomForTheSpoolIsALocalFailureNamingTheDirectory) {
  std::vector<std::pair<std::string, std::string>> entries;
  uint64_t x = 88172645463325252u;  // xorshift: data that compresses to about half
  for (int i = 0; i < 200; ++i) {   // 3.2 MiB of objects, over 1.5 MiB in the spool
    std::string noise;
    for (int j = 0; j < 16 << 10; ++j) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      noise += "0123456789abcdef"[x & 15];
    }
    json cm = json::parse(ConfigMapText("shop", "c" + std::to_string(i)));
    cm["data"]["k"] = noise;
    entries.push_back({CmPath("c" + std::to_string(i)), cm.dump()});
  }
  Vault v(entries);
  BackupContent content(::testing::TempDir());
  ASSERT_TRUE(content.objects.on_disk()) << content.objects.disk_error();
  std::vector<VerifyProblem> problems;
  struct rlimit before {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  struct rlimit small = before;
  small.rlim_cur = 256 << 10;
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  base::Status st = ReadVerified(v.store, v.layout, v.manifest, &content, &problems);
  ::setrlimit(RLIMIT_FSIZE, &before);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(problems.empty()) << All(Messages(problems));
  const std::string& m = st.message();
  EXPECT_EQ(m.rfind("unable to keep the verified objects in $TMPDIR (" + ::testing::TempDir(), 0),
            0u)
      << m;
  EXPECT_NE(m.find("): File too large after writing "), std::string::npos) << m;
  // The room needed: the archive's objects at the spool's compression (about half here).
  EXPECT_NE(m.find(" there; this restore needs about 1."), std::string::npos) << m;
  EXPECT_NE(m.find(" MiB, "), std::string::npos) << m;
  EXPECT_NE(m.find(" are free; give it a larger emptyDir or set TMPDIR"), std::string::npos) << m;
  EXPECT_EQ(m.find("manifest"), std::string::npos) << m;
}

TEST(PartialBackupWarning, NamesTheErrorsOfAPartiallyFailedBackupOnly) {
  store::MemoryStore store;
  vault::Layout layout("p");
  EXPECT_EQ(PartialBackupWarning(store, layout, "b"), "");  // no status: nothing to say
  vault::RunStatus st;
  st.kind = "Backup";
  st.name = "b";
  st.phase = std::string(vault::kPhaseCompleted);
  auto key = layout.StatusKey("backup", "b");
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(vault::WriteStatus(store, *key, st).ok());
  EXPECT_EQ(PartialBackupWarning(store, layout, "b"), "");
  st.phase = std::string(vault::kPhasePartiallyFailed);
  st.AddError("namespace/shop", "unable to list secrets: forbidden");
  st.AddError("cluster", "unable to list nodes: forbidden");
  ASSERT_TRUE(vault::WriteStatus(store, *key, st).ok());
  EXPECT_EQ(PartialBackupWarning(store, layout, "b"),
            "the backup itself was partial: 2 errors (p/backups/b/status.json lists them); "
            "what it could not back up is not in it and is not restored");
}

}  // namespace
}  // namespace cairn::ops::restore
