#include "content/verify.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "archive/tar.h"
#include "content/entry_ref.h"
#include "io/hash.h"
#include "io/zstd.h"
#include "vault/status.h"

namespace cairn::content {
namespace {

using base::Status;
using Json = nlohmann::json;

// Duplicate member names listed per entry; more are counted.
constexpr size_t kMaxListedDuplicates = 5;
// What may follow the tar archive's end blocks in resources.tar.zst (a writer pads the archive
// to its record size: 10 KiB for libarchive and GNU tar).
constexpr uint64_t kMaxPaddingBytes = uint64_t{1} << 20;

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

// One member of the object that says who it is (apiVersion, kind, metadata.name, ...).
struct IdentityField {
  bool present = false;
  bool is_string = false;
  std::string value;
};

// The SAX handler of CheckEntry. nlohmann's parser keeps its own state in a vector (no
// recursion) and this handler keeps a frame per open container only for the first
// kMaxEntryDepth levels, so any depth costs bounded memory and stack. It never stops before
// the end of the text (except on a syntax error), so every problem is found.
class EntryScanner : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return Value(nullptr); }
  bool boolean(bool) override { return Value(nullptr); }
  bool number_integer(number_integer_t) override { return Value(nullptr); }
  bool number_unsigned(number_unsigned_t) override { return Value(nullptr); }
  bool number_float(number_float_t, const string_t&) override { return Value(nullptr); }
  bool string(string_t& s) override { return Value(&s); }
  bool binary(binary_t&) override { return Value(nullptr); }
  bool start_object(std::size_t) override { return Open(true); }
  bool start_array(std::size_t) override { return Open(false); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }
  bool key(string_t& k) override;
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override;

  // Problems of structure: syntax, not an object, depth, duplicate members.
  std::vector<std::string> Structure() const;
  bool parsed() const { return syntax_.empty(); }
  bool top_object() const { return top_object_; }
  void Fail(std::string why) { syntax_ = std::move(why); }
  IdentityField api_version, kind, name, namespace_name;
  bool metadata_object = false;

 private:
  struct Frame {
    bool object = false;
    std::string key;                // object: the member being read
    size_t elements = 0;            // array: elements begun so far
    std::vector<std::string> keys;  // object: the member names seen (a few: a linear search)
    std::set<std::string> many;     // ... or all of them once there are kLinearKeys
    static constexpr size_t kLinearKeys = 32;
    // False when `k` was seen before in this object.
    bool Insert(const std::string& k) {
      if (many.empty() && keys.size() < kLinearKeys) {
        if (std::find(keys.begin(), keys.end(), k) != keys.end()) return false;
        keys.push_back(k);
        return true;
      }
      if (many.empty()) many.insert(keys.begin(), keys.end());
      return many.insert(k).second;
    }
  };
  Frame* Top() { return depth_ >= 1 && depth_ <= kMaxEntryDepth ? &frames_[depth_ - 1] : nullptr; }
  IdentityField* Slot();
  void BeginValue(const std::string* s);
  bool Value(const std::string* s);
  bool Open(bool object);
  bool Close();
  std::string Where() const;

  std::vector<Frame> frames_;  // reused; frames_[0..min(depth_, limit)) are open
  int depth_ = 0, max_depth_ = 0;
  bool top_object_ = false, seen_value_ = false;
  std::vector<std::string> duplicates_;
  size_t more_duplicates_ = 0;
  std::string syntax_;
};

// The identity member the value now beginning lands in, if any.
IdentityField* EntryScanner::Slot() {
  if (depth_ == 1 && frames_[0].object) {
    if (frames_[0].key == "apiVersion") return &api_version;
    if (frames_[0].key == "kind") return &kind;
  } else if (depth_ == 2 && frames_[0].object && frames_[0].key == "metadata" &&
             frames_[1].object) {
    if (frames_[1].key == "name") return &name;
    if (frames_[1].key == "namespace") return &namespace_name;
  }
  return nullptr;
}

// A value begins (a scalar, or a container before it opens): `s` is its text when a string.
void EntryScanner::BeginValue(const std::string* s) {
  if (depth_ == 0) seen_value_ = true;
  if (Frame* top = Top(); top && !top->object) ++top->elements;
  if (IdentityField* f = Slot()) {
    *f = IdentityField{true, s != nullptr, s ? *s : ""};  // a duplicate member: the last wins
  }
}

bool EntryScanner::Value(const std::string* s) {
  BeginValue(s);
  return true;
}

bool EntryScanner::Open(bool object) {
  if (depth_ == 0 && !seen_value_) top_object_ = object;
  if (depth_ == 1 && frames_[0].object && frames_[0].key == "metadata") metadata_object = object;
  BeginValue(nullptr);
  ++depth_;
  max_depth_ = std::max(max_depth_, depth_);
  if (depth_ <= kMaxEntryDepth) {
    if (frames_.size() < static_cast<size_t>(depth_)) frames_.emplace_back();
    Frame& f = frames_[depth_ - 1];
    f.object = object;
    f.key.clear();
    f.elements = 0;
    f.keys.clear();
    f.many.clear();
  }
  return true;
}

bool EntryScanner::Close() {
  --depth_;
  return true;
}

bool EntryScanner::key(string_t& k) {
  Frame* top = Top();
  if (!top) return true;  // deeper than the limit: that is already the problem
  top->key = k;
  if (!top->Insert(k)) {
    if (duplicates_.size() < kMaxListedDuplicates) {
      std::string where = Where();
      duplicates_.push_back("'" + k + "'" + (where.empty() ? "" : " in " + where));
    } else {
      ++more_duplicates_;
    }
  }
  return true;
}

// Where the innermost open container is ("metadata.labels", "spec.ports[1]"); "" at the top.
std::string EntryScanner::Where() const {
  std::string out;
  const int open = std::min(depth_, kMaxEntryDepth);
  for (int i = 0; i + 1 < open; ++i) {
    const Frame& f = frames_[i];
    if (f.object) {
      out += (out.empty() ? "" : ".") + f.key;
    } else {
      out += "[" + std::to_string(f.elements - 1) + "]";
    }
  }
  return out;
}

bool EntryScanner::parse_error(std::size_t position, const std::string&,
                               const nlohmann::detail::exception& e) {
  std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
  if (size_t end = what.find("] "); !what.empty() && what[0] == '[' && end != std::string::npos) {
    what.erase(0, end + 2);
  }
  syntax_ = "not valid JSON (byte " + std::to_string(position) + "): " + what;
  return false;
}

std::vector<std::string> EntryScanner::Structure() const {
  std::vector<std::string> out;
  if (!syntax_.empty()) out.push_back(syntax_);
  if (syntax_.empty() && !top_object_) out.push_back("not a JSON object");
  if (max_depth_ > kMaxEntryDepth) {
    out.push_back("nested " + std::string(syntax_.empty() ? "" : "at least ") +
                  std::to_string(max_depth_) + " levels deep, more than the limit of " +
                  std::to_string(kMaxEntryDepth));
  }
  if (!duplicates_.empty()) {
    out.push_back("duplicate member " + Join(duplicates_, ", ") +
                  (more_duplicates_ ? " and " + std::to_string(more_duplicates_) + " more" : ""));
  }
  return out;
}

// Scans `text` to its end (or its first syntax error). No nlohmann exception leaves here.
void Scan(std::string_view text, EntryScanner* scanner) {
  try {
    Json::sax_parse(text.begin(), text.end(), scanner);
  } catch (const std::exception& e) {  // syntax errors come through parse_error, not here
    scanner->Fail(std::string("unreadable: ") + e.what());
  }
}

// Problems of one identity member against what the path (or the backup) says it must be.
void CheckField(const IdentityField& f, std::string_view member, const std::string& want,
                std::string_view from, std::vector<std::string>* out) {
  if (!f.present || !f.is_string) {
    out->push_back(std::string(member) + (f.present ? " is not a string" : " is missing") +
                   (want.empty() ? "" : " (" + std::string(from) + " '" + want + "')"));
  } else if (f.value.empty() && want.empty()) {
    out->push_back(std::string(member) + " is empty");
  } else if (!want.empty() && f.value != want) {
    out->push_back(std::string(member) + " '" + f.value + "' differs from " + std::string(from) +
                   " '" + want + "'");
  }
}

std::vector<std::string> CheckIdentity(const EntryScanner& s, const EntryRef& ref,
                                       std::string_view want_kind) {
  std::vector<std::string> out;
  const std::string api_version = ref.group.empty() ? ref.version : ref.group + "/" + ref.version;
  CheckField(s.api_version, "apiVersion", api_version, "the path's", &out);
  CheckField(s.kind, "kind", std::string(want_kind),
             "the backup's kind of " + QualifiedResource(ref.group, ref.resource), &out);
  if (!s.metadata_object) {
    out.push_back("metadata is missing or not an object");
    return out;
  }
  CheckField(s.name, "metadata.name", ref.name, "the path's", &out);
  if (!ref.namespace_name.empty()) {
    CheckField(s.namespace_name, "metadata.namespace", ref.namespace_name, "the path's", &out);
  } else if (s.namespace_name.present &&
             !(s.namespace_name.is_string && s.namespace_name.value.empty())) {
    out.push_back("metadata.namespace '" + s.namespace_name.value +
                  "' on an object stored as cluster-scoped");
  }
  return out;
}

}  // namespace

std::vector<std::string> CheckEntry(const EntryRef& ref, std::string_view text,
                                    std::string_view want_kind, std::string* kind) {
  EntryScanner scanner;
  Scan(text, &scanner);
  std::vector<std::string> out = scanner.Structure();
  *kind = scanner.kind.is_string ? scanner.kind.value : "";
  if (!scanner.parsed() || !scanner.top_object()) return out;
  for (auto& p : CheckIdentity(scanner, ref, want_kind)) out.push_back(std::move(p));
  return out;
}

namespace {

// Reads `src` to its end (what a tar reader leaves: padding), so the hashes cover every byte.
Status Drain(io::Source& src) {
  std::vector<char> buf(64 * 1024);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, src.Read(buf));
    if (n == 0) return Status::Ok();
  }
}

// The kind metadata/backup.json gives each (group, version, resource) it lists as served.
using KindTable = std::map<std::tuple<std::string, std::string, std::string>, std::string>;

KindTable KindsOf(const Json& metadata) {
  KindTable out;
  auto cluster = metadata.find("cluster");
  if (cluster == metadata.end() || !cluster->is_object()) return out;
  auto resources = cluster->find("resources");
  if (resources == cluster->end() || !resources->is_array()) return out;
  for (const auto& r : *resources) {
    if (!r.is_object()) continue;
    auto field = [&](const char* k) {
      auto it = r.find(k);
      return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    out[{field("group"), field("version"), field("resource")}] = field("kind");
  }
  return out;
}

// Reading resources.tar.zst: the entries' problems (capped), the kinds the metadata gives.
struct ArchiveRead {
  explicit ArchiveRead(BackupContent* c) : content(c) {}
  BackupContent* content;
  std::vector<VerifyProblem> problems;  // {entry, "<entry>: <every problem of it>"}
  size_t unlisted = 0;                  // entries with problems beyond kMaxListedProblems
  KindTable kinds;
  std::unordered_set<uint64_t> seen;  // FirstTime
  Status local;                       // the spool failed: this machine's problem, the read stops

  // False when `path` was read before. 64 bits of each path's SHA-256 are kept (about 3 MiB
  // for 100,000 entries, whatever the paths' length); two paths sharing them, one chance in
  // 10^9 for 100,000 paths, would refuse a sound archive, never accept a repeated path.
  bool FirstTime(std::string_view path) {
    io::Sha256 h;
    h.Update(path);
    const std::string d = h.Digest();
    uint64_t key = 0;
    for (int i = 0; i < 8; ++i) key = key << 8 | static_cast<unsigned char>(d[i]);
    return seen.insert(key).second;
  }
  void Problem(const std::string& path, const std::vector<std::string>& found) {
    if (problems.size() < kMaxListedProblems) {
      problems.push_back({path, path + ": " + Join(found, "; ")});
    } else {
      ++unlisted;
    }
  }
  void Metadata(std::string_view text);
  void Object(const std::string& path, const EntryRef& ref, std::string_view text);
};

void ArchiveRead::Metadata(std::string_view text) {
  EntryScanner scanner;
  Scan(text, &scanner);
  std::vector<std::string> found = scanner.Structure();
  if (!found.empty()) return Problem("metadata/backup.json", found);
  // Bounded by the scan: this parse and everything done with the value cannot recurse deeply.
  content->metadata = Json::parse(text, nullptr, false);
  kinds = KindsOf(content->metadata);
}

void ArchiveRead::Object(const std::string& path, const EntryRef& ref, std::string_view text) {
  std::string want;
  if (auto k = kinds.find({ref.group, ref.version, ref.resource}); k != kinds.end()) {
    want = k->second;
  } else if (const Spool::ResourceInfo* info = content->objects.Find({ref.group, ref.resource})) {
    want = info->kind;  // not in the metadata: every object of a resource has one kind
  }
  std::string kind;
  std::vector<std::string> found = CheckEntry(ref, text, want, &kind);
  if (!found.empty()) return Problem(path, found);
  if (!problems.empty() || unlisted) return;  // the restore is refused: keep nothing more
  local = content->objects.Add(ref, kind, text);
}

// An entry path for a problem's `object`: as it is when it reads cleanly, else quoted with
// its control bytes and invalid UTF-8 escaped (archive::QuoteEntryPath).
std::string Shown(const std::string& path) {
  std::string quoted = archive::QuoteEntryPath(path);
  return quoted == "'" + path + "'" ? path : quoted;
}

// Verification stops at an entry it cannot pass over cheaply: what follows is not read.
Status StoppedAt(const archive::EntryInfo& entry) {
  return base::Error(base::Code::kDataLoss,
                     "verification stopped at tar entry " + archive::QuoteEntryPath(entry.path) +
                         " (" + std::to_string(entry.size) +
                         " bytes declared): the entries after it were not checked");
}

// Every entry of the archive; a failure of the stream is returned (the entries' problems and
// a failure of the spool are in `read`). An entry the reader refuses (type, path) or larger
// than kMaxEntryBytes is a problem of that entry; the read goes on past it unless that means
// reading more than kMaxEntryBytes of it.
Status ReadArchive(archive::TarReader& tar, ArchiveRead* read) {
  while (read->local.ok()) {
    auto entry = tar.Next();
    if (!entry.ok()) {
      std::optional<archive::EntryInfo> refused = tar.rejected();
      if (!refused) return entry.status();
      ++read->content->entries;  // a member of the archive all the same (FORMAT.md §6.2)
      read->Problem(Shown(refused->path), {entry.status().message()});
      if (refused->size > kMaxEntryBytes) return StoppedAt(*refused);
      continue;
    }
    if (!*entry) {
      read->local = read->content->objects.Finish();
      return Status::Ok();
    }
    ++read->content->entries;
    const archive::EntryInfo& e = **entry;
    if (e.size > kMaxEntryBytes) {
      read->Problem(e.path, {"tar entry " + archive::QuoteEntryPath(e.path) + " has " +
                             std::to_string(e.size) + " bytes, more than the " +
                             std::to_string(kMaxEntryBytes) + " allowed"});
      return StoppedAt(e);
    }
    if (!read->FirstTime(e.path)) {
      read->Problem(e.path, {"duplicate entry: the path is already in the archive"});
      continue;
    }
    ASSIGN_OR_RETURN(std::string text, tar.ReadEntry(kMaxEntryBytes));
    if (e.path == "metadata/backup.json") {
      read->Metadata(text);
    } else if (auto ref = ParseEntryPath(e.path)) {
      read->Object(e.path, *ref, text);
    }  // else: an entry a later format added, ignored (still hashed)
  }
  return Status::Ok();
}

// Reads what follows the tar archive's end: block padding, at most kMaxPaddingBytes of it
// (counted from where the tar reader stopped reading: it may hold up to 64 KiB more).
Status DrainPadding(io::Source& src) {
  std::vector<char> buf(64 * 1024);
  uint64_t read = 0;
  while (true) {
    ASSIGN_OR_RETURN(size_t n, src.Read(buf));
    if (n == 0) return Status::Ok();
    read += n;
    if (read > kMaxPaddingBytes) {
      return base::Error(base::Code::kDataLoss,
                         "more than " + std::to_string(kMaxPaddingBytes >> 20) +
                             " MiB of data after the end of the tar archive");
    }
  }
}

// "2.9 KiB", "11.0 MiB", "12 bytes".
std::string Size(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  } else {
    const bool mib = bytes >= (1 << 20);
    std::snprintf(buf, sizeof buf, "%.1f %s", static_cast<double>(bytes) / (mib ? 1 << 20 : 1024),
                  mib ? "MiB" : "KiB");
  }
  return buf;
}

// The spool could not keep the objects: a failure of this machine, said as such, with the
// room the restore needs (the archive's logical size at the spool's compression so far).
Status LocalFailure(const Status& st, const Spool& spool, const vault::StoredObject& archive) {
  if (spool.write_error().empty()) {  // not a write (compression): no room to speak of
    return base::Error(st.code(), "unable to keep the verified objects" +
                                      (spool.on_disk() ? " in " + spool.dir() : " in memory") +
                                      ": " + st.message());
  }
  std::optional<uint64_t> free = spool.FreeBytes();
  return base::Error(st.code(), "unable to keep the verified objects in $TMPDIR (" + spool.dir() +
                                    "): " + spool.write_error() + " after writing " +
                                    Size(spool.file_bytes()) + " there; this restore needs about " +
                                    Size(spool.EstimateStored(archive.logical_size)) +
                                    (free ? ", " + Size(*free) + " are free" : "") +
                                    "; give it a larger emptyDir or set TMPDIR to a directory "
                                    "with room");
}

// The checks of one stored object against the manifest, after it was read to its end.
void CompareWithManifest(const vault::StoredObject& o, io::HashingSource* stored,
                         io::HashingSource* logical, std::optional<int64_t> entries,
                         std::vector<std::string>* found) {
  auto size = [&](const char* what, uint64_t got, uint64_t want) {
    if (got != want) {
      found->push_back(std::string(what) + " size " + std::to_string(got) +
                       " differs from the manifest's " + std::to_string(want));
    }
  };
  if (stored) {  // else it could not be read to its end: no stored checks
    size("stored", stored->size(), o.stored_size);
    if (stored->HexDigest() != o.stored_sha256) {
      found->push_back("stored sha256 differs from the manifest");
    }
  }
  if (!logical) return;  // the payload could not be decoded to its end: no logical checks
  size("logical", logical->size(), o.logical_size);
  if (logical->HexDigest() != o.logical_sha256) {
    found->push_back("logical sha256 differs from the manifest");
  }
  if (entries && o.entry_count && static_cast<uint64_t>(*entries) != *o.entry_count) {
    found->push_back(std::to_string(*entries) + " entries, the manifest records " +
                     std::to_string(*o.entry_count));
  }
}

// Volume data: one archive per claim, possibly very large. Reading it here would read every
// volume twice, so only its presence and size are checked; the restore mover checks its sizes
// and digests as it streams, and fails that volume on a mismatch.
void CheckVolumeArchive(store::ObjectStore& store, const vault::Layout& layout,
                        const std::string& backup, const vault::StoredObject& o,
                        std::vector<VerifyProblem>* problems) {
  auto head = store.Head(layout.BackupObjectKey(backup, o.key));
  if (!head.ok()) {
    problems->push_back({o.key, o.key + ": " + head.status().message()});
  } else if (head->size != o.stored_size) {
    problems->push_back({o.key, o.key + ": stored size " + std::to_string(head->size) +
                                    " bytes, the manifest records " +
                                    std::to_string(o.stored_size)});
  }
}

// Reads one object of the manifest to its end through its checks. No more than the stored and
// logical sizes the manifest records is read: a longer stream (a zstd bomb) is a problem as
// soon as it passes them, so the work is bounded by what the manifest says. The archive's
// entries are checked and kept; then the sizes and digests are compared.
Status VerifyObject(io::Source& src, const vault::StoredObject& o, BackupContent* content,
                    std::vector<VerifyProblem>* problems) {
  io::BoundedSource stored_bytes(&src, o.stored_size, "the stored object");
  io::HashingSource stored(&stored_bytes);
  std::unique_ptr<io::ZstdDecompressSource> z;
  if (o.compression == "zstd") z = std::make_unique<io::ZstdDecompressSource>(&stored);
  io::BoundedSource payload(z ? static_cast<io::Source*>(z.get()) : &stored, o.logical_size,
                            "the payload");
  io::HashingSource logical(&payload);
  const bool is_archive = o.key == vault::kResourcesObject;
  ArchiveRead read(content);
  Status st;
  if (is_archive) {
    auto tar = archive::TarReader::Open(&logical);
    st = tar.ok() ? ReadArchive(**tar, &read) : tar.status();
    if (!read.local.ok()) return LocalFailure(read.local, content->objects, o);
  }
  if (st.ok()) st = is_archive ? DrainPadding(logical) : Drain(logical);
  std::vector<std::string> found;
  bool stored_whole = true;
  if (!st.ok()) {
    found.push_back(st.message());
    if (Status d = Drain(stored); !d.ok()) {
      stored_whole = false;
      if (d.code() != base::Code::kDataLoss) {
        found.push_back("the stored object could not be read to its end: " + d.message());
      } else if (st.message().find(d.message()) == std::string::npos) {
        found.push_back(d.message());  // (the stored object is longer than recorded)
      }
    }
  }
  CompareWithManifest(o, stored_whole ? &stored : nullptr, st.ok() ? &logical : nullptr,
                      is_archive ? std::optional<int64_t>(content->entries) : std::nullopt, &found);
  for (auto& p : read.problems) problems->push_back({p.object, o.key + ": " + p.message});
  if (read.unlisted) {
    problems->push_back({o.key, o.key + ": " + std::to_string(read.unlisted) +
                                    " more entries with problems are not listed"});
  }
  if (!found.empty()) problems->push_back({o.key, o.key + ": " + Join(found, "; ")});
  return Status::Ok();
}

}  // namespace

bool IsVolumeArchive(const vault::StoredObject& o) { return o.key.starts_with("volumes/"); }

Status ReadVerified(store::ObjectStore& store, const vault::Layout& layout,
                    const vault::Manifest& manifest, BackupContent* content,
                    std::vector<VerifyProblem>* problems) {
  for (const vault::StoredObject& o : manifest.objects) {
    if (IsVolumeArchive(o)) {  // verified by its restore mover as it streams (FORMAT.md)
      CheckVolumeArchive(store, layout, manifest.name, o, problems);
      continue;
    }
    auto src = store.Get(layout.BackupObjectKey(manifest.name, o.key));
    if (!src.ok()) {
      problems->push_back({o.key, o.key + ": " + src.status().message()});
      continue;
    }
    RETURN_IF_ERROR(VerifyObject(**src, o, content, problems));
  }
  return Status::Ok();
}

std::string PartialBackupWarning(store::ObjectStore& store, const vault::Layout& layout,
                                 const std::string& backup) {
  auto key = layout.StatusKey("backup", backup);
  if (!key.ok()) return "";
  auto status = vault::ReadStatus(store, *key);
  if (!status.ok() || status->phase != vault::kPhasePartiallyFailed) return "";
  const int64_t n = status->errors.count;
  return "the backup itself was partial: " + std::to_string(n) + (n == 1 ? " error" : " errors") +
         " (" + *key + " lists " + (n == 1 ? "it" : "them") +
         "); what it could not back up is not in it and is not restored";
}

}  // namespace cairn::content
