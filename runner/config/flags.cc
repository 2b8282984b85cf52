#include "config/flags.h"

#include <algorithm>
#include <charconv>

#include "config/config.h"
#include "config/suggest.h"

namespace cairn::config {
namespace {

using base::Code;
using base::Error;

constexpr size_t kUsageWidth = 100;
constexpr size_t kHelpColumn = 30;

std::string Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string_view> SplitComma(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::string JoinChoices(const std::vector<std::string>& choices, std::string_view sep) {
  std::string out;
  for (const std::string& c : choices) out += (out.empty() ? "" : std::string(sep)) + c;
  return out;
}

// Appends `text`, starting at `column`, wrapped to kUsageWidth; continuation lines are
// indented to `column`.
void AppendWrapped(std::string& out, std::string_view text, size_t column) {
  size_t col = column;
  size_t start = 0;
  bool first = true;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    if (!first && col + 1 + word.size() > kUsageWidth) {
      out += "\n" + std::string(column, ' ');
      col = column;
      first = true;
    }
    if (!first) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    first = false;
    start = end + 1;
  }
}

}  // namespace

// --- ParsedFlags -----------------------------------------------------------------------------

bool ParsedFlags::Has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::string ParsedFlags::GetString(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? "" : it->second.text;
}

bool ParsedFlags::GetBool(std::string_view name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.boolean;
}

int64_t ParsedFlags::GetInt(std::string_view name, int64_t fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.integer;
}

std::optional<base::Duration> ParsedFlags::GetDuration(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.duration;
}

std::vector<std::string> ParsedFlags::GetList(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second.list;
}

std::vector<std::pair<std::string, std::string>> ParsedFlags::GetMap(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return {};
  return it->second.map;
}

// --- FlagSet ---------------------------------------------------------------------------------

FlagSet::FlagSet(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {
  groups_.push_back("common flags");
  AddString("config", "FILE", "TOML config file (default /etc/cairn/cairn.toml when it exists)");
  AddString("vault", "NAME", "vault defined in the config as [vaults.NAME]");
  AddString("url", "URL", "ad-hoc vault: s3://BUCKET/PREFIX or file:///PATH");
  AddString("endpoint", "URL", "S3 endpoint of a non-AWS service (overrides the vault's)");
  AddString("region", "R", "S3 region (overrides the vault's)");
  AddBool("path-style",
          "path-style S3 addressing (bucket in the path); --path-style=false forces "
          "virtual-hosted style");
  AddString("ca-file", "FILE", "CA bundle that signs the S3 endpoint's certificate");
  AddString("kubeconfig", "FILE", "kubeconfig (default: the pod's service account)");
  AddString("context", "NAME", "kubeconfig context (default: its current context)");
  AddInt("kube-qps", "N", "Kubernetes API requests per second, on average (default 50)", 1,
         kMaxKubeQps);
  AddInt("kube-burst", "N", "Kubernetes API requests in a burst (default 100)", 1, kMaxKubeQps);
  AddChoice("output", {"text", "json"}, "format of the result on stdout (default text)");
  AddChoice("log-format", {"text", "json"}, "format of the log on stderr (default text)");
  AddString("pushgateway", "URL", "Prometheus Pushgateway to push the run's metrics to");
  AddString("metrics-file", "FILE", "also write the metrics as a node-exporter textfile");
  AddDuration("timeout", "DURATION", "give up after DURATION, e.g. 10m or 1h30m");
  AddDuration("retry-timeout", "DURATION",
              "retry a failing S3 or API request for up to DURATION (default 5m)");
  AddBool("dry-run", "print what would change and change nothing");
  AddBool("help", "print this help and exit");
  AddBool("version", "print the version and exit");
  Group(program_ + " flags");
}

void FlagSet::Group(std::string title) {
  groups_.push_back(std::move(title));
  current_group_ = groups_.size() - 1;
}

FlagSet::Flag* FlagSet::Add(std::string name, Type type, std::string metavar, std::string help) {
  if (Find(name) != nullptr) {
    if (registration_error_.empty()) {
      registration_error_ = "flag '--" + name + "' is registered twice in " + program_;
    }
    return nullptr;
  }
  Flag& f = flags_.emplace_back();
  f.name = std::move(name);
  f.type = type;
  f.metavar = std::move(metavar);
  f.help = std::move(help);
  f.group = current_group_;
  return &f;
}

void FlagSet::AddBool(std::string name, std::string help) {
  Add(std::move(name), Type::kBool, "", std::move(help));
}

void FlagSet::AddString(std::string name, std::string metavar, std::string help) {
  Add(std::move(name), Type::kString, std::move(metavar), std::move(help));
}

void FlagSet::AddInt(std::string name, std::string metavar, std::string help, int64_t min,
                     int64_t max) {
  if (Flag* f = Add(std::move(name), Type::kInt, std::move(metavar), std::move(help))) {
    f->min = min;
    f->max = max;
  }
}

void FlagSet::AddChoice(std::string name, std::vector<std::string> choices, std::string help) {
  std::string metavar = JoinChoices(choices, "|");
  if (Flag* f = Add(std::move(name), Type::kChoice, std::move(metavar), std::move(help))) {
    f->choices = std::move(choices);
  }
}

void FlagSet::AddDuration(std::string name, std::string metavar, std::string help) {
  Add(std::move(name), Type::kDuration, std::move(metavar), std::move(help));
}

void FlagSet::AddList(std::string name, std::string metavar, std::string help) {
  Add(std::move(name), Type::kList, std::move(metavar), std::move(help));
}

void FlagSet::AddMap(std::string name, std::string metavar, std::string help) {
  Add(std::move(name), Type::kMap, std::move(metavar), std::move(help));
}

void FlagSet::AllowPositional(std::string metavar, std::string help, size_t max) {
  positional_metavar_ = std::move(metavar);
  positional_help_ = std::move(help);
  max_positional_ = max;
}

const FlagSet::Flag* FlagSet::Find(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

base::Status FlagSet::UsageError(std::string message) const {
  return Error(Code::kInvalidArgument, std::move(message))
      .WithHint("run '" + program_ + " --help' for the list of flags");
}

base::Status FlagSet::SetValue(const Flag& flag, std::string_view text, ParsedFlags& out) const {
  const std::string where = "--" + flag.name;
  const std::string quoted = "'" + std::string(text) + "'";
  ParsedFlags::Value& v = out.values_[flag.name];
  if (flag.type != Type::kList && flag.type != Type::kMap) v = ParsedFlags::Value{};
  v.text = std::string(text);
  switch (flag.type) {
    case Type::kBool:
      if (text == "true" || text == "1") {
        v.boolean = true;
      } else if (text == "false" || text == "0") {
        v.boolean = false;
      } else {
        return UsageError(where + ": invalid boolean " + quoted + " (want true or false)");
      }
      return base::Status::Ok();
    case Type::kString:
      if (text.empty()) return UsageError(where + ": empty value (want " + flag.metavar + ")");
      return base::Status::Ok();
    case Type::kInt: {
      int64_t n = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || ptr != text.data() + text.size()) {
        return UsageError(where + ": invalid integer " + quoted);
      }
      if (n < flag.min || n > flag.max) {
        return UsageError(where + ": " + std::to_string(n) + " is out of range (want " +
                          std::to_string(flag.min) + " to " + std::to_string(flag.max) + ")");
      }
      v.integer = n;
      return base::Status::Ok();
    }
    case Type::kChoice: {
      if (std::find(flag.choices.begin(), flag.choices.end(), text) != flag.choices.end()) {
        return base::Status::Ok();
      }
      return UsageError(where + ": invalid value " + quoted + " (want " +
                        JoinChoices(flag.choices, " or ") + ")");
    }
    case Type::kDuration: {
      base::Result<base::Duration> d = base::ParseDuration(text);
      if (!d.ok()) return UsageError(where + ": " + d.status().message());
      if (*d <= base::Duration::zero()) {
        return UsageError(where + ": duration " + quoted + " must be positive");
      }
      v.duration = *d;
      return base::Status::Ok();
    }
    case Type::kList:
      for (std::string_view item : SplitComma(text)) {
        std::string s = Trim(item);
        if (s.empty()) {
          return UsageError(where + ": empty item in " + quoted + " (want " + flag.metavar + ")");
        }
        v.list.push_back(std::move(s));
      }
      return base::Status::Ok();
    case Type::kMap:
      for (std::string_view item : SplitComma(text)) {
        const size_t eq = item.find('=');
        std::string from = Trim(item.substr(0, eq));
        std::string to = eq == std::string_view::npos ? "" : Trim(item.substr(eq + 1));
        if (eq == std::string_view::npos || from.empty() || to.empty()) {
          return UsageError(where + ": invalid item '" + std::string(item) + "' in " + quoted +
                            " (want " + flag.metavar + ", e.g. a=b,c=d)");
        }
        for (const auto& [k, unused] : v.map) {
          if (k == from) return UsageError(where + ": '" + from + "' is mapped twice");
        }
        v.map.emplace_back(std::move(from), std::move(to));
      }
      return base::Status::Ok();
  }
  return base::Status::Ok();
}

base::Result<ParsedFlags> FlagSet::Parse(int argc, const char* const* argv) const {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

base::Result<ParsedFlags> FlagSet::Parse(const std::vector<std::string>& args) const {
  if (!registration_error_.empty()) return Error(Code::kInternal, registration_error_);
  base::Result<ParsedFlags> parsed = ParseArgs(args);
  if (parsed.ok()) return parsed;
  // Whoever asks for help gets it, even when the rest of the command line is wrong.
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      ParsedFlags help_only;
      help_only.values_["help"].boolean = true;
      help_only.values_["help"].text = "true";
      return help_only;
    }
  }
  return parsed;
}

base::Result<ParsedFlags> FlagSet::ParseArgs(const std::vector<std::string>& args) const {
  ParsedFlags out;
  const Flag* last_bare_bool = nullptr;  // for the "--path-style false" hint
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const Flag* previous_bool = last_bare_bool;
    last_bare_bool = nullptr;
    if (arg == "--") {
      out.positional_.insert(out.positional_.end(), args.begin() + static_cast<long>(i) + 1,
                             args.end());
      break;
    }
    if (arg == "-h") {
      RETURN_IF_ERROR(SetValue(*Find("help"), "true", out));
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      out.positional_.push_back(arg);
      if (out.positional_.size() > max_positional_) {
        std::string msg = "unexpected argument '" + arg + "'";
        if (previous_bool != nullptr) {
          msg +=
              " (bool flags take their value after '=': --" + previous_bool->name + "=" + arg + ")";
        } else if (max_positional_ == 0) {
          msg += ": " + program_ + " takes no positional arguments";
        } else {
          msg += ": " + program_ + " takes at most " + std::to_string(max_positional_) + " " +
                 positional_metavar_;
        }
        return UsageError(std::move(msg));
      }
      continue;
    }
    if (arg[1] != '-') {
      return UsageError("unknown flag '" + arg + "' (flags start with '--', e.g. --help)");
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      std::vector<std::string_view> names;
      for (const Flag& f : flags_) names.push_back(f.name);
      return UsageError("unknown flag '--" + name + "'" + DidYouMean(name, names, "--"));
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (flag->type == Type::kBool) {
      value = "true";
      last_bare_bool = flag;
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      value = args[++i];
    } else {
      return UsageError("flag '--" + name + "' needs a value (--" + name + " " + flag->metavar +
                        ")");
    }
    RETURN_IF_ERROR(SetValue(*flag, value, out));
  }
  return out;
}

std::string FlagSet::Usage() const {
  std::string out = "usage: " + program_ + " [flags]";
  if (max_positional_ > 0) out += " " + positional_metavar_;
  out += "\n\n";
  AppendWrapped(out, description_, 0);
  out += "\n";
  if (max_positional_ > 0 && !positional_help_.empty()) {
    out += "\n  " + positional_metavar_ +
           std::string(kHelpColumn > positional_metavar_.size() + 2
                           ? kHelpColumn - positional_metavar_.size() - 2
                           : 1,
                       ' ');
    AppendWrapped(out, positional_help_, kHelpColumn);
    out += "\n";
  }
  // The executable's own groups first: they are what a reader of --help is looking for.
  std::vector<size_t> order;
  for (size_t g = 1; g < groups_.size(); ++g) order.push_back(g);
  order.push_back(0);
  for (size_t g : order) {
    std::string block;
    for (const Flag& f : flags_) {
      if (f.group != g) continue;
      std::string left = "  --" + f.name + (f.metavar.empty() ? "" : " " + f.metavar);
      if (left.size() + 2 > kHelpColumn) {
        left += "\n" + std::string(kHelpColumn, ' ');
      } else {
        left += std::string(kHelpColumn - left.size(), ' ');
      }
      block += left;
      AppendWrapped(block, f.help, kHelpColumn);
      block += "\n";
    }
    if (!block.empty()) out += "\n" + groups_[g] + ":\n" + block;
  }
  return out;
}

}  // namespace cairn::config
