// config/values: parsers for the value types shared by the config file and the flags.
//
// Sizes ("16MiB"), vault URLs (s3://BUCKET/PREFIX, file:///PATH), vault names and HTTP(S)
// endpoint URLs. Each returns kInvalidArgument with a lowercase message that quotes the input
// and says which forms are accepted; callers prefix the location (file:line:col and key, or the
// flag name). Nothing here touches the network or the file system.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cairn::config {

// "16MiB", "16 MiB", "1GB", "5242880" (bytes). Units: B, KiB, MiB, GiB, TiB (powers of 1024)
// and KB, MB, GB, TB (powers of 1000), matched case-insensitively. Whole numbers only.
base::Result<uint64_t> ParseSize(std::string_view s);

// Renders bytes the way ParseSize reads them: "16MiB" when exact in a binary unit, else "123B".
std::string FormatSize(uint64_t bytes);

// Where a vault lives. For kS3: bucket and prefix ("" or "a/b": no leading, trailing or doubled
// slashes). For kFile: path (absolute, no trailing slash except for "/").
struct VaultUrl {
  enum class Scheme { kS3, kFile };
  Scheme scheme = Scheme::kFile;
  std::string bucket;
  std::string prefix;
  std::string path;

  // The canonical form: "s3://bucket/prefix", "s3://bucket", "file:///path".
  std::string ToString() const;
  bool operator==(const VaultUrl&) const = default;
};

// Accepts s3://BUCKET[/PREFIX] (bucket: 3-63 characters of a-z, 0-9, '.', '-', starting and
// ending with a letter or digit, no "..", not an IP address) and file:///ABSOLUTE/PATH.
// The scheme is case-insensitive. "." and ".." segments and control characters are rejected.
base::Result<VaultUrl> ParseVaultUrl(std::string_view url);

// Vault names become label values and object names: [a-z0-9][-a-z0-9]*, at most 63 characters,
// and (as Kubernetes label values must) ending with a letter or digit.
base::Status ValidateVaultName(std::string_view name);

// The same rules for a name `what` ("policy name") of at most `max_length` characters.
base::Status ValidateLabelName(std::string_view name, std::string_view what, size_t max_length);

// An http:// or https:// URL with a host (the Pushgateway).
base::Status ValidateHttpUrl(std::string_view url);

// An S3 endpoint: http://HOST[:PORT] or https://HOST[:PORT] (lowercase scheme), where HOST is
// a DNS name or IPv4 address (letters, digits, '-', '_', '.', no empty label) or a bracketed
// IPv6 address, PORT is 1-65535, and nothing follows but '/'. A URL with credentials
// (user:secret@host) is rejected without being quoted, since it may carry a secret.
base::Status ValidateEndpointUrl(std::string_view url);

}  // namespace cairn::config
