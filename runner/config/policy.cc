#include "config/policy.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "config/values.h"

namespace cairn::config {
namespace {

using base::Code;
using base::Error;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// The class starting at pattern[i] == '[': its end (index of ']'), or npos when malformed.
size_t ClassEnd(std::string_view pattern, size_t i) {
  size_t j = i + 1;
  if (j < pattern.size() && (pattern[j] == '!' || pattern[j] == '^')) ++j;
  const size_t first = j;
  while (j < pattern.size() && pattern[j] != ']') ++j;
  if (j >= pattern.size() || j == first) return std::string_view::npos;
  return j;
}

// Whether `c` is in the class pattern[i..end] ('[' at i, ']' at end).
bool ClassMatches(std::string_view pattern, size_t i, size_t end, char c) {
  size_t j = i + 1;
  const bool negate = pattern[j] == '!' || pattern[j] == '^';
  if (negate) ++j;
  bool found = false;
  for (; j < end; ++j) {
    if (j + 2 < end && pattern[j + 1] == '-') {
      found = found || (c >= pattern[j] && c <= pattern[j + 2]);
      j += 2;
    } else {
      found = found || c == pattern[j];
    }
  }
  return found != negate;
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])? segments joined by '.', at most 253 characters.
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    if (dot == std::string_view::npos) dot = s.size();
    std::string_view label = s.substr(start, dot - start);
    if (label.empty() || !IsLowerAlnum(label.front()) || !IsLowerAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsLowerAlnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

// A label value or the name part of a key: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63.
bool IsLabelName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

base::Status CheckLabelKey(std::string_view key) {
  const size_t slash = key.find('/');
  const std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  if (slash != std::string_view::npos && !IsDnsSubdomain(key.substr(0, slash))) {
    return Error(Code::kInvalidArgument,
                 "invalid label key " + Quote(key) + ": the prefix must be a dns subdomain");
  }
  if (!IsLabelName(name)) {
    return Error(Code::kInvalidArgument,
                 "invalid label key " + Quote(key) +
                     ": want at most 63 letters, digits, '-', '_' and '.', starting and ending "
                     "with a letter or digit, after an optional 'prefix/'");
  }
  return base::Status::Ok();
}

base::Status CheckLabelValue(std::string_view v) {
  if (v.empty() || IsLabelName(v)) return base::Status::Ok();
  return Error(Code::kInvalidArgument,
               "invalid label value " + Quote(v) +
                   ": want at most 63 letters, digits, '-', '_' and '.', starting and ending "
                   "with a letter or digit");
}

// --- Label selector lexer and parser ---------------------------------------------------------

enum class Tok { kIdent, kEq, kDoubleEq, kNotEq, kBang, kOpen, kClose, kComma, kGtLt, kEnd };

struct Token {
  Tok type;
  std::string text;
};

bool IsSpecial(char c) {
  return c == ',' || c == '(' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>' ||
         std::isspace(static_cast<unsigned char>(c));
}

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '=' || c == '!') {
      const bool eq_next = i + 1 < s.size() && s[i + 1] == '=';
      out.push_back(
          {c == '=' ? (eq_next ? Tok::kDoubleEq : Tok::kEq) : (eq_next ? Tok::kNotEq : Tok::kBang),
           std::string(s.substr(i, eq_next ? 2 : 1))});
      i += eq_next ? 2 : 1;
    } else if (c == '(' || c == ')' || c == ',' || c == '<' || c == '>') {
      const Tok t = c == '('   ? Tok::kOpen
                    : c == ')' ? Tok::kClose
                    : c == ',' ? Tok::kComma
                               : Tok::kGtLt;
      out.push_back({t, std::string(1, c)});
      ++i;
    } else {
      const size_t start = i;
      while (i < s.size() && !IsSpecial(s[i])) ++i;
      out.push_back({Tok::kIdent, std::string(s.substr(start, i - start))});
    }
  }
  out.push_back({Tok::kEnd, ""});
  return out;
}

class SelectorParser {
 public:
  explicit SelectorParser(std::string_view s) : input_(s), tokens_(Lex(s)) {}

  base::Result<std::vector<LabelRequirement>> Parse() {
    std::vector<LabelRequirement> out;
    if (Peek().type == Tok::kEnd) return out;
    while (true) {
      ASSIGN_OR_RETURN(LabelRequirement r, Requirement());
      out.push_back(std::move(r));
      const Token& t = Next();
      if (t.type == Tok::kEnd) return out;
      if (t.type != Tok::kComma) return Bad("expected ',' or the end, found " + Quote(t.text));
    }
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  base::Status Bad(std::string_view why) const {
    return Error(Code::kInvalidArgument,
                 "invalid label selector " + Quote(input_) + ": " + std::string(why));
  }
  base::Status Wrap(const base::Status& st) const { return Bad(st.message()); }

  base::Result<LabelRequirement> Requirement() {
    LabelRequirement r;
    const bool negated = Peek().type == Tok::kBang;
    if (negated) Next();
    const Token& key = Next();
    if (key.type != Tok::kIdent) {
      return Bad(key.type == Tok::kEnd ? "missing a label key at the end"
                                       : "expected a label key, found " + Quote(key.text));
    }
    r.key = key.text;
    if (base::Status st = CheckLabelKey(r.key); !st.ok()) return Wrap(st);
    const Tok op = Peek().type;
    if (negated || op == Tok::kComma || op == Tok::kEnd) {
      if (negated && op != Tok::kComma && op != Tok::kEnd) {
        return Bad("'!" + r.key + "' takes no operator or value");
      }
      r.op = negated ? LabelRequirement::Op::kNotExists : LabelRequirement::Op::kExists;
      return r;
    }
    Next();
    if (op == Tok::kEq || op == Tok::kDoubleEq || op == Tok::kNotEq) {
      r.op = op == Tok::kNotEq ? LabelRequirement::Op::kNotEquals : LabelRequirement::Op::kEquals;
      std::string value;
      if (Peek().type == Tok::kIdent) {
        value = Next().text;
      } else if (Peek().type != Tok::kComma && Peek().type != Tok::kEnd) {
        return Bad("expected a value after " + Quote(r.key) + ", found " + Quote(Peek().text));
      }
      if (base::Status st = CheckLabelValue(value); !st.ok()) return Wrap(st);
      r.values.push_back(std::move(value));
      return r;
    }
    if (op == Tok::kIdent &&
        (tokens_[pos_ - 1].text == "in" || tokens_[pos_ - 1].text == "notin")) {
      r.op =
          tokens_[pos_ - 1].text == "in" ? LabelRequirement::Op::kIn : LabelRequirement::Op::kNotIn;
      RETURN_IF_ERROR(ValueSet(r));
      return r;
    }
    if (op == Tok::kGtLt) return Bad("'>' and '<' are not supported in label selectors");
    return Bad("unknown operator " + Quote(tokens_[pos_ - 1].text) + " after " + Quote(r.key) +
               " (want =, ==, !=, in or notin)");
  }

  // "(a, b, c)"; "()" and empty items are the empty value, as in Kubernetes.
  base::Status ValueSet(LabelRequirement& r) {
    if (Next().type != Tok::kOpen) return Bad("expected '(' after " + Quote(r.key) + " in/notin");
    while (true) {
      std::string value;
      if (Peek().type == Tok::kIdent) value = Next().text;
      if (base::Status st = CheckLabelValue(value); !st.ok()) return Wrap(st);
      r.values.push_back(std::move(value));
      const Token& t = Next();
      if (t.type == Tok::kClose) break;
      if (t.type != Tok::kComma) {
        return Bad(t.type == Tok::kEnd ? "missing ')'" : "unexpected " + Quote(t.text));
      }
    }
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    return base::Status::Ok();
  }

  std::string input_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

base::Status CheckSelector(std::string_view s) { return ParseLabelSelector(s).status(); }

}  // namespace

base::Status ValidatePolicyName(std::string_view name) {
  return ValidateLabelName(name, "policy name", 63);
}

base::Status ValidateBackupPolicyName(std::string_view name) {
  if (name.size() <= kMaxBackupPolicyNameLength) {
    return ValidateLabelName(name, "policy name", kMaxBackupPolicyNameLength);
  }
  return Error(Code::kInvalidArgument,
               "invalid policy name '" + std::string(name) + "': " + std::to_string(name.size()) +
                   " characters is too long (at most " +
                   std::to_string(kMaxBackupPolicyNameLength) + "): scheduled backups are named '" +
                   std::string(name) + "-YYYYMMDDHHMMSS' and a backup name has at most " +
                   std::to_string(kMaxBackupNameLength) + " characters");
}

base::Status ValidateNamespacePattern(std::string_view pattern) {
  auto bad = [&](std::string_view why) {
    return Error(Code::kInvalidArgument,
                 "invalid namespace pattern " + Quote(pattern) + ": " + std::string(why));
  };
  if (pattern.empty()) return bad("empty");
  if (pattern.size() > 63 && IsLiteralPattern(pattern)) return bad("longer than 63 characters");
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '[') {
      const size_t end = ClassEnd(pattern, i);
      if (end == std::string_view::npos) return bad("unterminated or empty '[...]'");
      i = end;
    } else if (c == ']') {
      return bad("']' without '['");
    } else if (std::isupper(static_cast<unsigned char>(c))) {
      return bad("namespace names are lowercase");
    } else if (!IsLowerAlnum(c) && c != '-' && c != '*' && c != '?') {
      return bad("invalid character " + Quote(std::string(1, c)) +
                 " (want lowercase letters, digits, '-' and the wildcards *, ? and [...])");
    }
  }
  return base::Status::Ok();
}

bool IsLiteralPattern(std::string_view pattern) {
  return pattern.find_first_of("*?[") == std::string_view::npos;
}

bool GlobMatch(std::string_view p, std::string_view s) {
  // Iterative matching with one backtrack point for the last '*' (linear in practice).
  size_t pi = 0, si = 0, star = std::string_view::npos, star_si = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      star_si = si;
      continue;
    }
    if (pi < p.size()) {
      if (p[pi] == '[') {
        const size_t end = ClassEnd(p, pi);
        if (end == std::string_view::npos) return false;
        if (ClassMatches(p, pi, end, s[si])) {
          pi = end + 1;
          ++si;
          continue;
        }
      } else if (p[pi] == '?' || p[pi] == s[si]) {
        ++pi;
        ++si;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    pi = star + 1;
    si = ++star_si;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

base::Status ValidateResourceName(std::string_view name) {
  if (name == "*") return base::Status::Ok();
  const size_t dot = name.find('.');
  const std::string_view head = name.substr(0, dot);
  const bool head_ok = !head.empty() && std::all_of(head.begin(), head.end(),
                                                    [](char c) { return IsAlnum(c) || c == '-'; });
  if (!head_ok || (dot != std::string_view::npos && !IsDnsSubdomain(name.substr(dot + 1)))) {
    return Error(Code::kInvalidArgument,
                 "invalid resource " + Quote(name) +
                     " (want a resource such as deployments, resource.group such as "
                     "deployments.apps, a Kind such as Deployment, or *)");
  }
  return base::Status::Ok();
}

base::Result<std::vector<LabelRequirement>> ParseLabelSelector(std::string_view selector) {
  return SelectorParser(selector).Parse();
}

// --- Flags -----------------------------------------------------------------------------------

void AddPolicyFlags(FlagSet& flags) {
  flags.AddList("include-namespaces", "GLOB,...",
                "namespaces to back up (default all but kube-system, kube-public, "
                "kube-node-lease and cairn's own)");
  flags.AddList("exclude-namespaces", "GLOB,...", "namespaces not to back up");
  flags.AddList("include-resources", "RES,...",
                "resources to back up, as resource, resource.group or Kind (default all)");
  flags.AddList("exclude-resources", "RES,...", "resources not to back up");
  flags.AddString("label-selector", "SELECTOR", "back up only objects matching SELECTOR");
  flags.AddString("or-label-selectors", "'SEL or SEL...'",
                  "back up objects matching any of these selectors (or --label-selector)");
  flags.AddChoice("include-cluster-resources", {"auto", "true", "false"},
                  "cluster-scoped objects: those the selection depends on (auto), all, or none");
  flags.AddChoice("api-versions", {"all", "preferred"},
                  "store every served API version of a resource, or only the preferred one");
  flags.AddDuration("ttl", "DURATION", "keep the backup this long (default 720h)");
  flags.AddInt("compression-level", "N", "zstd level of the archives (default 3)",
               kMinCompressionLevel, kMaxCompressionLevel);
  flags.AddDuration("heartbeat-interval", "DURATION",
                    "rewrite the running backup's status this often (default 30s)");
  flags.AddChoice("volumes", {"none", "fs", "snapshot", "all"},
                  "volume data: none (API objects only), fs (each PVC's files through a mover), "
                  "snapshot (CSI snapshots) or all (snapshots, exported through movers)");
  flags.AddString("volume-snapshot-class", "NAME",
                  "the VolumeSnapshotClass of snapshots (default: each driver's default class)");
  flags.AddDuration("volume-timeout", "DURATION",
                    "give up on one volume's mover after DURATION (default 1h)");
}

base::Result<std::vector<std::string>> SplitOrSelectors(std::string_view value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t sep = value.find(" or ", start);
    if (sep == std::string_view::npos) sep = value.size();
    std::string_view part = value.substr(start, sep - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.empty()) {
      return Error(Code::kInvalidArgument,
                   "empty selector in " + Quote(value) + " (want SELECTOR or SELECTOR ...)");
    }
    RETURN_IF_ERROR(CheckSelector(part));
    out.emplace_back(part);
    start = sep + 4;
  }
  return out;
}

base::Status CheckHeartbeatInterval(base::Duration d) {
  if (d >= std::chrono::seconds(1) && d <= kMaxHeartbeatInterval) return base::Status::Ok();
  return Error(Code::kInvalidArgument,
               "heartbeat interval '" + base::FormatDuration(d) +
                   "' must be from 1s to 5m (a third of the 15m after which a silent run is "
                   "taken for abandoned)");
}

base::Result<BackupPolicy> PolicyFromFlags(const ParsedFlags& flags, const BackupPolicy& base) {
  BackupPolicy p = base;
  auto wrap = [](std::string_view flag, const base::Status& st) {
    return Error(Code::kInvalidArgument, "--" + std::string(flag) + ": " + st.message());
  };
  struct ListFlag {
    const char* name;
    std::vector<std::string> BackupPolicy::*member;
    base::Status (*check)(std::string_view);
  };
  static constexpr std::array<ListFlag, 4> kLists = {{
      {"include-namespaces", &BackupPolicy::include_namespaces, ValidateNamespacePattern},
      {"exclude-namespaces", &BackupPolicy::exclude_namespaces, ValidateNamespacePattern},
      {"include-resources", &BackupPolicy::include_resources, ValidateResourceName},
      {"exclude-resources", &BackupPolicy::exclude_resources, ValidateResourceName},
  }};
  for (const ListFlag& f : kLists) {
    if (!flags.Has(f.name)) continue;
    std::vector<std::string> items = flags.GetList(f.name);
    for (const std::string& item : items) {
      if (base::Status st = f.check(item); !st.ok()) return wrap(f.name, st);
    }
    p.*f.member = std::move(items);
  }
  if (flags.Has("label-selector")) {
    p.label_selector = flags.GetString("label-selector");
    if (base::Status st = CheckSelector(p.label_selector); !st.ok()) {
      return wrap("label-selector", st);
    }
  }
  if (flags.Has("or-label-selectors")) {
    base::Result<std::vector<std::string>> ors =
        SplitOrSelectors(flags.GetString("or-label-selectors"));
    if (!ors.ok()) return wrap("or-label-selectors", ors.status());
    p.or_label_selectors = std::move(ors).value();
  }
  // Choice flags: FlagSet has checked the word already.
  if (flags.Has("include-cluster-resources")) {
    p.include_cluster_resources = flags.GetString("include-cluster-resources");
  }
  if (flags.Has("api-versions")) p.api_versions = flags.GetString("api-versions");
  if (auto ttl = flags.GetDuration("ttl")) p.ttl = *ttl;
  if (auto timeout = flags.GetDuration("timeout")) p.timeout = *timeout;
  if (flags.Has("compression-level")) {
    p.compression_level = static_cast<int>(flags.GetInt("compression-level"));
  }
  if (auto hb = flags.GetDuration("heartbeat-interval")) {
    if (auto st = CheckHeartbeatInterval(*hb); !st.ok()) return wrap("heartbeat-interval", st);
    p.heartbeat_interval = *hb;
  }
  if (flags.Has("volumes")) p.volumes = flags.GetString("volumes");
  if (auto vt = flags.GetDuration("volume-timeout")) p.movers.volume_timeout = *vt;
  if (flags.Has("volume-snapshot-class")) {
    p.volume_snapshot_class = flags.GetString("volume-snapshot-class");
    if (auto st = CheckSnapshotClassName(p.volume_snapshot_class); !st.ok()) {
      return wrap("volume-snapshot-class", st);
    }
  }
  return p;
}

bool LabelRequirementHolds(const LabelRequirement& r, const std::string* value) {
  const bool listed =
      value != nullptr && std::find(r.values.begin(), r.values.end(), *value) != r.values.end();
  switch (r.op) {
    case LabelRequirement::Op::kEquals:
    case LabelRequirement::Op::kIn: return listed;
    case LabelRequirement::Op::kNotEquals:
    case LabelRequirement::Op::kNotIn: return !listed;
    case LabelRequirement::Op::kExists: return value != nullptr;
    case LabelRequirement::Op::kNotExists: return value == nullptr;
  }
  return false;
}

bool ResourceMatches(std::string_view group, std::string_view resource, std::string_view kind,
                     std::string_view item) {
  auto iequal = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  if (item == "*") return true;
  const size_t dot = item.find('.');
  const std::string_view head = item.substr(0, dot);
  if (dot != std::string_view::npos && !iequal(item.substr(dot + 1), group)) return false;
  return head == resource || (!kind.empty() && iequal(head, kind));
}

}  // namespace cairn::config
