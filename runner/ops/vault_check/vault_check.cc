#include "ops/vault_check/vault_check.h"

#include <algorithm>
#include <random>
#include <set>

#include "base/log.h"
#include "io/hash.h"
#include "vault/vault_info.h"

namespace cairn::ops::vault_check {
namespace {

using Ms = std::chrono::milliseconds;

// Top-level entries a vault may hold (FORMAT.md §2); anything else is foreign.
const std::set<std::string, std::less<>> kKnownTopLevel = {
    "cairn-vault.json", "vault-status.json", "backups/", "restores/", "conversions/", "gc/",
    "locks/",           ".cairn-probe/"};

// Storage classes whose objects cannot be read without a restore request first.
bool IsArchiveClass(std::string_view sc) {
  std::string s(sc);
  std::transform(s.begin(), s.end(), s.begin(), ::toupper);
  return s == "GLACIER" || s == "DEEP_ARCHIVE" || s == "ARCHIVE" || s == "COLDARCHIVE" ||
         s == "DEEPCOLDARCHIVE";
}

std::string RandomHex(size_t bytes) {
  std::random_device rd;
  std::string raw(bytes, '\0');
  for (auto& c : raw) c = static_cast<char>(rd());
  return io::HexEncode(raw);
}

bool Contains(const std::string& s, std::string_view what) {
  return s.find(what) != std::string::npos;
}

class Checker {
 public:
  Checker(vault::RunStatus& st, base::Clock& clock) : st_(st), clock_(clock) {}

  // Runs `f` (returning result and message) as the check `name`, timed.
  template <typename F>
  bool Run(std::string name, F&& f) {
    auto start = clock_.Steady();
    auto [result, message] = f();
    Add(std::move(name), result, std::move(message),
        std::chrono::duration_cast<Ms>(clock_.Steady() - start).count());
    return result != vault::kCheckFailed;
  }
  void Add(std::string name, std::string_view result, std::string message, int64_t ms = 0) {
    st_.checks.push_back(vault::Check{std::move(name), std::string(result), ms, message, {}});
    if (result == vault::kCheckFailed) failed_ = true;
    if (result == vault::kCheckWarning) st_.AddWarning(vault::kScopeRunner, message);
  }
  void Skip(std::string name, std::string why) {
    Add(std::move(name), vault::kCheckSkipped, std::move(why));
  }
  bool failed() const { return failed_; }

 private:
  vault::RunStatus& st_;
  base::Clock& clock_;
  bool failed_ = false;
};

using Outcome = std::pair<std::string_view, std::string>;
Outcome Passed(std::string m) { return {vault::kCheckPassed, std::move(m)}; }
Outcome Failed(std::string m) { return {vault::kCheckFailed, std::move(m)}; }
Outcome Warning(std::string m) { return {vault::kCheckWarning, std::move(m)}; }

// The first listing answers endpoint, bucket and credentials at once; this splits its error
// into the check that failed and marks the ones it says nothing about as skipped.
void ReportAccess(Checker& c, const base::Status& st, const std::string& where, int64_t ms) {
  const std::string m =
      st.hint().empty() ? st.message() : st.message() + " (hint: " + st.hint() + ")";
  if (st.ok()) {
    c.Add("endpoint", vault::kCheckPassed, "reachable: " + where, ms);
    c.Add("bucket", vault::kCheckPassed, "exists", 0);
    c.Add("credentials", vault::kCheckPassed, "accepted (listing allowed)", 0);
    return;
  }
  bool network = Contains(m, "dns lookup failed") || Contains(m, "tcp connect failed") ||
                 Contains(m, "tls ") || Contains(m, "timed out") ||
                 Contains(m, "connection reset") ||
                 (st.code() == base::Code::kUnavailable && !Contains(m, "StatusCode="));
  if (network) {
    c.Add("endpoint", vault::kCheckFailed, m, ms);
    c.Skip("bucket", "endpoint unreachable");
    c.Skip("credentials", "endpoint unreachable");
    return;
  }
  if (st.code() == base::Code::kUnavailable) {  // answered, but kept failing (5xx, SlowDown)
    c.Add("endpoint", vault::kCheckFailed, m, ms);
    c.Skip("bucket", "service unavailable");
    c.Skip("credentials", "service unavailable");
    return;
  }
  c.Add("endpoint", vault::kCheckPassed, "reachable: " + where, ms);
  if (Contains(m, "ErrorCode=NoSuchBucket")) {
    c.Add("bucket", vault::kCheckFailed, m, 0);
    c.Skip("credentials", "bucket missing");
  } else if (st.code() == base::Code::kUnauthenticated ||
             st.code() == base::Code::kPermissionDenied) {
    c.Skip("bucket", "credentials rejected");
    c.Add("credentials", vault::kCheckFailed, m, 0);
  } else if (Contains(m, "RequestTimeTooSkewed")) {
    c.Skip("bucket", "clock skew");
    c.Skip("credentials", "clock skew");
    c.Add("clock-skew", vault::kCheckFailed, m, 0);
  } else {
    c.Add("bucket", vault::kCheckFailed, m, 0);
    c.Skip("credentials", "listing failed");
  }
}

}  // namespace

vault::RunStatus Run(store::ObjectStore& store, const vault::Layout& layout, const Options& opts,
                     base::Clock& clock, const vault::RunStatus* previous) {
  vault::RunStatus st;
  st.kind = std::string(vault::kKindVaultCheck);
  st.name = opts.vault_name.empty() ? "default" : opts.vault_name;
  st.vault = st.name;
  st.start_time = clock.Now();
  auto steady_start = clock.Steady();
  Checker c(st, clock);
  const std::string where = store.Describe();
  const std::string root = layout.prefix().empty() ? "" : layout.prefix() + "/";

  // endpoint, bucket, credentials (and the top-level entries, for foreign-prefixes).
  std::vector<std::string> top;
  auto list_start = clock.Steady();
  base::Status access = store.List({root, "/", 1000}, [&](const store::ListPage& p) {
    for (const auto& o : p.objects) top.push_back(o.key.substr(root.size()));
    for (const auto& cp : p.common_prefixes) top.push_back(cp.substr(root.size()));
    return top.size() < 10'000;
  });
  ReportAccess(c, access, where,
               std::chrono::duration_cast<Ms>(clock.Steady() - list_start).count());

  if (access.ok()) {
    c.Run("vault-format", [&]() -> Outcome {
      auto info = vault::ReadVaultInfo(store, layout);
      if (!info.ok()) return Failed(info.status().message());
      if (*info) {
        st.counts["formatMajor"] = std::stoi((*info)->format_version);
        return Passed("format " + (*info)->format_version + ", vault id " + (*info)->vault_id);
      }
      if (!opts.init) {
        return Warning(
            "vault is not initialised (no cairn-vault.json): run vault-check --init, "
            "or the first backup-run initialises it");
      }
      auto created = vault::InitVault(store, layout, clock, opts.created_by);
      if (!created.ok()) return Failed(created.status().message());
      st.counts["formatMajor"] = std::stoi(created->info.format_version);
      return Passed(std::string(created->created ? "initialised" : "already initialised") +
                    ": format " + created->info.format_version + ", vault id " +
                    created->info.vault_id);
    });
  } else {
    c.Skip("vault-format", "vault not reachable");
  }

  // write → read → list → delete of a probe object under the prefix.
  const std::string probe = layout.ProbeKey(RandomHex(8));
  const std::string payload = "cairn vault-check probe " + RandomHex(512);
  std::string probe_class;
  bool wrote = access.ok() && c.Run("write", [&]() -> Outcome {
    store::PutOptions po;
    po.storage_class = opts.storage_class;
    base::Status put = store.Put(probe, payload, po);
    if (!put.ok()) return Failed(put.message());
    if (auto head = store.Head(probe); head.ok()) probe_class = head->storage_class;
    return Passed("wrote " + std::to_string(payload.size()) + " bytes to " + probe);
  });
  if (wrote) {
    c.Run("read", [&]() -> Outcome {
      auto got = store.GetAll(probe, 1 << 20);
      if (!got.ok()) return Failed(got.status().message());
      if (*got != payload) {
        return Failed("read back different bytes than written to " + probe + " (" +
                      std::to_string(got->size()) + " bytes, sha256 " +
                      io::Sha256Hex(*got).substr(0, 16) + "... instead of " +
                      std::to_string(payload.size()) + " bytes, sha256 " +
                      io::Sha256Hex(payload).substr(0, 16) + "...)");
      }
      return Passed("read back " + std::to_string(got->size()) + " identical bytes");
    });
    c.Run("list", [&]() -> Outcome {
      auto all = store.ListAll({layout.ProbePrefix(), "", 1000});
      if (!all.ok()) return Failed(all.status().message());
      for (const auto& o : *all) {
        if (o.key == probe) return Passed("probe object listed");
      }
      return Failed("probe object " + probe + " is missing from the listing of " +
                    layout.ProbePrefix());
    });
    c.Run("delete", [&]() -> Outcome {
      base::Status del = store.Delete({probe});
      if (!del.ok()) return Failed(del.message());
      auto head = store.Head(probe);
      if (head.ok()) return Failed("probe object " + probe + " still exists after delete");
      if (head.status().code() != base::Code::kNotFound) return Failed(head.status().message());
      return Passed("probe object deleted");
    });
  } else {
    if (!access.ok()) c.Skip("write", "vault not reachable");
    for (const char* name : {"read", "list", "delete"}) c.Skip(name, "nothing written");
  }

  if (wrote) {
    c.Run("conditional-create", [&]() -> Outcome {
      if (!store.caps().conditional_create) {
        return Warning(
            "the store does not create atomically; cairn checks before it writes, "
            "which leaves a short race between two writers of the same backup name");
      }
      const std::string key = layout.ProbeKey(RandomHex(8));
      store::PutOptions create;
      create.if_none_match = true;
      base::Status first = store.Put(key, "1", create);
      if (!first.ok()) return Failed(first.message());
      base::Status second = store.Put(key, "2", create);
      store.Delete({key}).IgnoreError();
      if (second.code() == base::Code::kAlreadyExists) {
        return Passed("a second create of the same key is refused");
      }
      if (second.ok()) {
        return Warning(
            "the server ignores If-None-Match: *; two writers of the same backup "
            "name could overwrite each other's manifest: give each cluster its own "
            "vault prefix, or upgrade the server");
      }
      return Failed(second.message());
    });
  } else {
    c.Skip("conditional-create", "nothing written");
  }

  if (std::none_of(st.checks.begin(), st.checks.end(),
                   [](const vault::Check& k) { return k.name == "clock-skew"; })) {
    auto skew = store.ObservedClockSkew();
    if (!skew) {
      c.Skip("clock-skew", access.ok() ? "the store has no remote clock" : "no successful listing");
    } else {
      int64_t s = skew->count();
      std::string text = "server clock differs from ours by " + std::to_string(s) + "s";
      if (std::abs(s) > 900) {
        c.Add("clock-skew", vault::kCheckFailed,
              text +
                  "; s3 rejects requests skewed by more than 15 minutes: synchronise this "
                  "machine's clock (NTP)");
      } else if (std::abs(s) > 60) {
        c.Add("clock-skew", vault::kCheckWarning, text);
      } else {
        c.Add("clock-skew", vault::kCheckPassed, text);
      }
    }
  }

  if (IsArchiveClass(opts.storage_class) || IsArchiveClass(probe_class)) {
    const std::string& sc = IsArchiveClass(opts.storage_class) ? opts.storage_class : probe_class;
    c.Add("storage-class", vault::kCheckFailed,
          "storage class '" + sc +
              "' is an archive class: its objects cannot be read without a "
              "restore request first, so backups could not be verified or restored; use a standard "
              "or infrequent-access class");
  } else if (wrote) {
    c.Add("storage-class", vault::kCheckPassed,
          probe_class.empty() ? "default" : "objects are stored as " + probe_class);
  } else {
    c.Skip("storage-class", "nothing written");
  }

  if (access.ok()) {
    std::vector<std::string> foreign;
    int64_t backups = 0;
    for (const auto& t : top) {
      if (!kKnownTopLevel.count(t)) foreign.push_back(t);
    }
    auto listed = store.List({layout.BackupsPrefix(), "/", 1000}, [&](const store::ListPage& p) {
      backups += static_cast<int64_t>(p.common_prefixes.size());
      return true;
    });
    if (listed.ok()) st.counts["backups"] = backups;
    if (foreign.empty()) {
      c.Add("foreign-prefixes", vault::kCheckPassed, "only cairn data under the prefix");
    } else {
      std::string list;
      for (size_t i = 0; i < foreign.size() && i < 10; ++i) list += (i ? ", " : "") + foreign[i];
      if (foreign.size() > 10) list += ", ... (" + std::to_string(foreign.size()) + " in all)";
      c.Add("foreign-prefixes", vault::kCheckWarning,
            "entries not written by cairn under the vault prefix: " + list +
                " (left alone; cairn never deletes outside its own keys)");
    }
  }

  st.completion_time = clock.Now();
  st.heartbeat_time = *st.completion_time;
  st.duration_seconds = std::chrono::duration<double>(clock.Steady() - steady_start).count();
  if (!c.failed()) {
    st.phase = std::string(vault::kPhaseAvailable);
    st.last_validated = st.completion_time;
    st.message = "backup vault is available";
  } else {
    st.phase = std::string(vault::kPhaseUnavailable);
    if (previous) st.last_validated = previous->last_validated;
    for (const auto& k : st.checks) {
      if (k.result != vault::kCheckFailed) continue;
      // The first failure is the reason; every failure is an error.
      if (st.message.empty()) st.message = "backup vault is unavailable: " + k.message;
      st.AddError(vault::kScopeRunner, k.name + ": " + k.message);
    }
  }
  return st;
}

vault::RunStatus Unopenable(const Options& opts, const base::Status& why, base::Clock& clock) {
  vault::RunStatus st;
  st.kind = std::string(vault::kKindVaultCheck);
  st.name = opts.vault_name.empty() ? "default" : opts.vault_name;
  st.vault = st.name;
  st.start_time = clock.Now();
  st.heartbeat_time = st.start_time;
  st.completion_time = st.start_time;
  st.phase = std::string(vault::kPhaseUnavailable);
  st.message = "backup vault is unavailable: " + why.message();
  st.checks.push_back(
      vault::Check{"endpoint", std::string(vault::kCheckFailed), 0, why.message(), {}});
  st.AddError(vault::kScopeRunner, "endpoint: " + why.message());
  return st;
}

std::string FailureLine(const vault::RunStatus& status) { return "VaultError: " + status.message; }

}  // namespace cairn::ops::vault_check
