// vault/volume_result: the result document a volume mover leaves in the vault (FORMAT.md
// "Volume data"): backups/<backup>/volumes/<ns>/<pvc>.json (kind VolumeBackup) and
// restores/<restore>/volumes/<ns>/<pvc>.json (kind VolumeRestore).
//
// The parent run reads it back as hostile input: ParseVolumeResult refuses a document over
// kMaxVolumeResultBytes, with unknown kind or phase, invalid names, digests that are not 64
// lowercase hex, more than kMaxVolumeResultItems warnings or errors or longer ones
// (kDataLoss naming the problem). SerializeVolumeResult caps the lists and messages the same
// way (the last kept item says how many were left out), so what it writes always parses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace cairn::vault {

inline constexpr std::string_view kVolumeResultFormatVersion = "1";
inline constexpr std::string_view kKindVolumeBackup = "VolumeBackup";
inline constexpr std::string_view kKindVolumeRestore = "VolumeRestore";
inline constexpr size_t kMaxVolumeResultBytes = 1 << 20;
inline constexpr size_t kMaxVolumeResultItems = 200;
inline constexpr size_t kMaxVolumeMessageBytes = 1024;

// backups/<backup>/volumes/<ns>/<pvc>.json and restores/<restore>/volumes/<ns>/<pvc>.json,
// relative to the backup's (restore's) directory.
std::string VolumeResultRel(std::string_view ns, std::string_view pvc);

// Ok when `name` is a Kubernetes object name as a PVC or namespace has: 1 to 253 of
// [a-z0-9.-], starting and ending with a letter or digit. `what` names it in the message.
[[nodiscard]] base::Status ValidateVolumeName(std::string_view name, std::string_view what);

struct VolumeObject {  // the archive as stored ("object"); keys relative to the backup dir
  std::string key;     // "volumes/<ns>/<pvc>.tar.zst"
  uint64_t stored_size = 0, logical_size = 0;
  std::string stored_sha256, logical_sha256;
  std::string compression = "zstd";
  std::string content_type = "application/x-tar";
};

struct VolumeCounts {
  uint64_t files = 0, dirs = 0, symlinks = 0, hardlinks = 0, bytes = 0, skipped = 0;
};

struct VolumeResult {
  std::string kind = std::string(kKindVolumeBackup);
  std::string backup;
  std::string restore;  // kind VolumeRestore only
  std::string namespace_name, pvc;
  std::string phase;  // Completed | PartiallyFailed | Failed
  std::string message;
  std::optional<VolumeObject> object;  // VolumeBackup: absent when nothing was stored
  VolumeCounts counts;
  std::vector<std::string> warnings, errors;
  base::TimePoint start_time{}, completion_time{};
};

// Canonical JSON. kInvalidArgument when a name, the kind or the phase is invalid.
[[nodiscard]] base::Result<std::string> SerializeVolumeResult(const VolumeResult& result);
// `source` (the key) names the document in messages.
[[nodiscard]] base::Result<VolumeResult> ParseVolumeResult(std::string_view bytes,
                                                           std::string_view source);

}  // namespace cairn::vault
