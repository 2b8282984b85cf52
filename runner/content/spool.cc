#include "content/spool.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "io/zstd.h"

namespace cairn::content {
namespace {

// A chunk is a sequence of records; a record is four length-prefixed fields (4-byte little
// endian lengths): version, namespace, name, text. The group and resource are the chunk's.
void PutField(std::string& out, std::string_view f) {
  uint32_t n = static_cast<uint32_t>(f.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(f);
}

bool GetField(std::string_view& in, std::string* f) {
  if (in.size() < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  if (in.size() - 4 < n) return false;
  f->assign(in.substr(4, n));
  in.remove_prefix(4 + size_t{n});
  return true;
}

constexpr int kLevel = 3;

// Writes or reads `n` bytes at `offset` of the spool's file, whole (short transfers resumed).
// On failure, `why` says why ("No space left on device").
base::Status Transfer(bool write, int fd, char* p, size_t n, uint64_t offset,
                      std::string* why = nullptr) {
  for (size_t done = 0; done < n;) {
    const off_t at = static_cast<off_t>(offset + done);
    ssize_t got =
        write ? ::pwrite(fd, p + done, n - done, at) : ::pread(fd, p + done, n - done, at);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      std::string reason = got < 0 ? std::strerror(errno) : "no progress";
      if (why) *why = reason;
      return base::Error(write ? base::Code::kUnavailable : base::Code::kDataLoss,
                         std::string("spool: cannot ") + (write ? "write" : "read") +
                             " the temporary file: " + reason);
    }
    done += static_cast<size_t>(got);
  }
  return base::Status::Ok();
}

}  // namespace

Spool::Spool(const std::string& dir) : dir_(dir) {
  if (dir.empty()) return;
  std::string path = dir + "/cairn-restore-spool.XXXXXX";
  std::vector<char> templ(path.begin(), path.end());
  templ.push_back('\0');
  fd_ = ::mkstemp(templ.data());
  if (fd_ < 0) {
    disk_error_ = "cannot create a file in " + dir + ": " + std::strerror(errno);
    return;
  }
  ::unlink(templ.data());  // gone with the process, whatever way it ends
}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

base::Status Spool::Seal(const ResourceKey& key) {
  auto it = open_.find(key);
  if (it == open_.end()) return base::Status::Ok();
  ASSIGN_OR_RETURN(std::string z, io::ZstdCompress(it->second, kLevel));
  sealed_in_ += it->second.size();
  sealed_out_ += z.size();
  compressed_bytes_ += z.size();
  open_bytes_ -= it->second.size();
  Chunk c;
  c.size = z.size();
  if (fd_ >= 0) {
    c.offset = file_end_;
    RETURN_IF_ERROR(Transfer(true, fd_, z.data(), z.size(), c.offset, &write_error_));
    file_end_ += z.size();
  } else {
    c.data = std::move(z);
  }
  resources_[key].chunks.push_back(chunks_.size());
  chunks_.push_back(std::move(c));
  open_.erase(it);
  return base::Status::Ok();
}

base::Status Spool::Add(const EntryRef& ref, std::string_view kind, std::string_view text) {
  ResourceKey key{ref.group, ref.resource};
  ResourceInfo& info = resources_[key];
  if (std::find(info.versions.begin(), info.versions.end(), ref.version) == info.versions.end()) {
    info.versions.push_back(ref.version);
  }
  if (info.kind.empty()) info.kind = std::string(kind);
  ++info.objects;
  logical_bytes_ += text.size();
  std::string& buf = open_[key];
  const size_t before = buf.size();
  PutField(buf, ref.version);
  PutField(buf, ref.namespace_name);
  PutField(buf, ref.name);
  PutField(buf, text);
  open_bytes_ += buf.size() - before;
  if (buf.size() >= kChunkBytes) return Seal(key);
  while (open_bytes_ > kOpenBytes) {  // many resources half full: seal the largest
    auto largest = std::max_element(open_.begin(), open_.end(), [](const auto& a, const auto& b) {
      return a.second.size() < b.second.size();
    });
    RETURN_IF_ERROR(Seal(largest->first));
  }
  return base::Status::Ok();
}

base::Status Spool::Finish() {
  while (!open_.empty()) RETURN_IF_ERROR(Seal(open_.begin()->first));
  return base::Status::Ok();
}

std::optional<uint64_t> Spool::FreeBytes() const {
  struct statvfs fs {};
  if (dir_.empty() || ::statvfs(dir_.c_str(), &fs) != 0) return std::nullopt;
  return uint64_t{fs.f_bavail} * uint64_t{fs.f_frsize};
}

uint64_t Spool::EstimateStored(uint64_t logical) const {
  if (sealed_in_ == 0) return logical;
  return static_cast<uint64_t>(static_cast<double>(logical) * static_cast<double>(sealed_out_) /
                               static_cast<double>(sealed_in_));
}

const Spool::ResourceInfo* Spool::Find(const ResourceKey& key) const {
  auto it = resources_.find(key);
  return it == resources_.end() ? nullptr : &it->second;
}

base::Status Spool::ForEach(
    const ResourceKey& key,
    const std::function<base::Status(std::vector<SpooledObject>&)>& batch) const {
  const ResourceInfo* info = Find(key);
  if (!info) return base::Status::Ok();
  for (size_t c : info->chunks) {
    const Chunk& chunk = chunks_[c];
    if (chunk.released) {
      return base::Error(base::Code::kInternal,
                         "spool: " + QualifiedResource(key.first, key.second) + " was released");
    }
    std::string from_disk;
    if (fd_ >= 0) {
      from_disk.resize(chunk.size);
      RETURN_IF_ERROR(Transfer(false, fd_, from_disk.data(), chunk.size, chunk.offset));
    }
    // One chunk holds at most kChunkBytes of records plus one object (16 MiB at most).
    ASSIGN_OR_RETURN(std::string records,
                     io::ZstdDecompress(fd_ >= 0 ? std::string_view(from_disk) : chunk.data,
                                        kChunkBytes + (size_t{20} << 20)));
    std::string().swap(from_disk);
    std::vector<SpooledObject> objects;
    std::string_view in = records;
    while (!in.empty()) {
      SpooledObject o;
      o.ref.group = key.first;
      o.ref.resource = key.second;
      if (!GetField(in, &o.ref.version) || !GetField(in, &o.ref.namespace_name) ||
          !GetField(in, &o.ref.name) || !GetField(in, &o.text)) {
        return base::Error(
            base::Code::kDataLoss,
            "spool: a chunk of " + QualifiedResource(key.first, key.second) + " is damaged");
      }
      objects.push_back(std::move(o));
    }
    std::string().swap(records);
    RETURN_IF_ERROR(batch(objects));
  }
  return base::Status::Ok();
}

void Spool::Release(const ResourceKey& key) {
  auto it = resources_.find(key);
  if (it == resources_.end()) return;
  for (size_t c : it->second.chunks) {
    Chunk& chunk = chunks_[c];
    if (chunk.released) continue;
    compressed_bytes_ -= chunk.size;
    std::string().swap(chunk.data);
    chunk.released = true;  // on disk the space stays until the process ends
  }
}

}  // namespace cairn::content
