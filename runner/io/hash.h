// io/hash: SHA-256 (OpenSSL EVP) and byte counting as pass-through stream filters.
//
// The manifest records size and SHA-256 of every object twice: as stored and of the logical
// payload. Both come from these filters placed on either side of compression, so the bytes
// are hashed as they stream and never re-read.
#pragma once

#include <memory>
#include <string>

#include "io/stream.h"

namespace cairn::io {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // Lowercase hex digest; the hasher must not be updated afterwards.
  std::string HexDigest();
  // Raw 32-byte digest.
  std::string Digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string HexEncode(std::string_view bytes);
// Base64 of the MD5 digest: the Content-MD5 header S3 requires on some requests.
std::string Md5Base64(std::string_view data);
// Hex of the MD5 digest: S3's ETags are made of it.
std::string Md5Hex(std::string_view data);

// Hashes and counts every byte written before passing it to `next` (borrowed).
class HashingSink final : public Sink {
 public:
  explicit HashingSink(Sink* next) : next_(next) {}
  Status Write(std::string_view data) override;
  Status Close() override { return next_->Close(); }
  void Abort() override { next_->Abort(); }
  uint64_t size() const { return size_; }
  std::string HexDigest() { return hash_.HexDigest(); }

 private:
  Sink* next_;
  Sha256 hash_;
  uint64_t size_ = 0;
};

// Hashes and counts every byte read through it from `src` (borrowed).
class HashingSource final : public Source {
 public:
  explicit HashingSource(Source* src) : src_(src) {}
  Result<size_t> Read(std::span<char> buf) override;
  uint64_t size() const { return size_; }
  std::string HexDigest() { return hash_.HexDigest(); }

 private:
  Source* src_;
  Sha256 hash_;
  uint64_t size_ = 0;
};

}  // namespace cairn::io
