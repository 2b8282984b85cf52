// `vault-check --list`: the vault's backups with their state and the pending multipart uploads
// under its prefix, as a table and as JSON.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ops/vault_check/vault_check.h"

namespace cairn::ops::vault_check {
namespace {

std::string HumanSize(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
  return buf;
}

std::string HumanAge(base::Duration d) {
  int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

// Left-aligned columns of the widths given; the last column is not padded.
class Table {
 public:
  explicit Table(std::vector<size_t> widths) : widths_(std::move(widths)) {}
  void Row(const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size() && i < widths_.size()) {
        line.append(std::max<size_t>(widths_[i], cells[i].size() + 1) - cells[i].size(), ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << "\n";
  }
  std::string str() const { return out_.str(); }

 private:
  std::vector<size_t> widths_;
  std::ostringstream out_;
};

struct UploadTotals {
  size_t count = 0;
  uint64_t bytes = 0;
};

// Pending uploads per backup name, for the backups' rows.
std::map<std::string, UploadTotals> UploadsByBackup(const Listing& l) {
  std::map<std::string, UploadTotals> out;
  if (!l.pending) return out;
  for (const auto& u : l.pending->uploads) {
    if (u.backup.empty()) continue;
    ++out[u.backup].count;
    out[u.backup].bytes += u.bytes.value_or(0);
  }
  return out;
}

std::string UploadsText(const UploadTotals& t) {
  return std::to_string(t.count) + (t.count == 1 ? " pending upload" : " pending uploads") +
         " holding " + HumanSize(t.bytes);
}

std::string BackupsTable(const Listing& l, base::TimePoint now) {
  size_t name_width = 6;
  for (const auto& b : l.backups) name_width = std::max(name_width, b.name.size() + 2);
  const auto uploads = UploadsByBackup(l);
  Table t({name_width, 12, 17, 10, 6});
  t.Row({"NAME", "STATE", "PHASE", "SIZE", "AGE", "DETAIL"});
  for (const auto& b : l.backups) {
    std::string detail = vault::NotRestorableReason(b, now);
    if (auto it = uploads.find(b.name); it != uploads.end()) {
      detail += (detail.empty() ? "" : "; ") + UploadsText(it->second);
    }
    t.Row({b.name, std::string(vault::StateName(b.state)), b.phase, HumanSize(b.size),
           HumanAge(now - b.created), detail});
  }
  return t.str();
}

std::string PendingText(const Listing& l, base::TimePoint now) {
  if (!l.pending) return "pending uploads: unknown (" + l.pending_error + ")\n";
  const vault::PendingUploads& p = *l.pending;
  const std::string where = p.prefix.empty() ? "the bucket" : "'" + p.prefix + "'";
  if (p.uploads.empty()) return "no pending uploads under " + where + "\n";
  std::string out = "pending uploads under " + where + ": " + std::to_string(p.uploads.size()) +
                    " holding " + HumanSize(p.bytes);
  if (p.unsized > 0) out += " (and " + std::to_string(p.unsized) + " more not sized)";
  out += ", never completed or aborted; gc aborts them\n";
  for (const auto& u : p.uploads) {
    out += "  " + u.upload.key + "  " + (u.bytes ? HumanSize(*u.bytes) : "not sized") +
           "  started " + HumanAge(now - u.upload.initiated) + " ago\n";
  }
  return out;
}

nlohmann::json BackupJson(const vault::BackupEntry& b,
                          const std::map<std::string, UploadTotals>& up, base::TimePoint now) {
  nlohmann::json e = {{"name", b.name},
                      {"state", vault::StateName(b.state)},
                      {"phase", b.phase},
                      {"complete", b.complete},
                      {"restorable", b.restorable()},
                      {"size", b.size},
                      {"objects", b.object_count},
                      {"created", base::FormatRfc3339(b.created)}};
  if (!b.restorable()) e["reason"] = vault::NotRestorableReason(b, now);
  if (!b.warnings.empty()) e["warnings"] = b.warnings;
  if (auto it = up.find(b.name); it != up.end()) {
    e["pendingUploads"] = {{"count", it->second.count}, {"bytes", it->second.bytes}};
  }
  return e;
}

nlohmann::json PendingJson(const Listing& l) {
  if (!l.pending) return {{"error", l.pending_error}};
  const vault::PendingUploads& p = *l.pending;
  nlohmann::json uploads = nlohmann::json::array();
  for (const auto& u : p.uploads) {
    nlohmann::json j = {{"key", u.upload.key},
                        {"uploadId", u.upload.upload_id},
                        {"initiated", base::FormatRfc3339(u.upload.initiated)}};
    if (u.bytes) j["bytes"] = *u.bytes;
    if (!u.backup.empty()) j["backup"] = u.backup;
    uploads.push_back(std::move(j));
  }
  return {{"prefix", p.prefix},
          {"count", p.uploads.size()},
          {"bytes", p.bytes},
          {"unsized", p.unsized},
          {"uploads", std::move(uploads)}};
}

}  // namespace

base::Result<Listing> ListVault(store::ObjectStore& store, const vault::Layout& layout) {
  Listing out;
  ASSIGN_OR_RETURN(out.backups, vault::ListBackups(store, layout));
  auto pending = vault::ListPendingUploads(store, layout);
  if (pending.ok()) {
    out.pending = std::move(pending).value();
  } else {
    out.pending_error = pending.status().message();
  }
  return out;
}

std::string FormatBackupList(const Listing& listing, base::TimePoint now) {
  std::string out =
      listing.backups.empty() ? "no backups in this vault\n" : BackupsTable(listing, now);
  return out + PendingText(listing, now);
}

std::string BackupListJson(const Listing& listing, base::TimePoint now) {
  const auto uploads = UploadsByBackup(listing);
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& b : listing.backups) arr.push_back(BackupJson(b, uploads, now));
  return nlohmann::json{{"backups", std::move(arr)}, {"pendingUploads", PendingJson(listing)}}.dump(
             2) +
         "\n";
}

}  // namespace cairn::ops::vault_check
