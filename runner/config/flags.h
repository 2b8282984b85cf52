// config/flags: the command line of a cairn executable.
//
// A FlagSet starts with the common flags every executable takes (docs/configuration.md: --config,
// --vault, --url, --endpoint, --region, --path-style, --ca-file, --kubeconfig, --context,
// --kube-qps, --kube-burst, --output, --log-format, --pushgateway, --metrics-file, --timeout,
// --retry-timeout, --dry-run, --help,
// --version); the executable adds its own. Flags are only long ("--name value" or
// "--name=value"); bool flags never take the next argument ("--path-style=false"); "--" ends the
// flags; "-h" is --help. A scalar flag given twice keeps the last value; list and map flags
// append. Values are checked at parse time (ints, choices, durations, lists, maps), so
// ParsedFlags getters cannot fail. Parse errors are kInvalidArgument naming the flag, with
// "(did you mean '--x'?)" for unknown flags. Registering a name twice is a programming error
// reported by Parse as kInternal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace cairn::config {

class ParsedFlags {
 public:
  // Whether the flag was given on the command line (also for bool flags set to false).
  bool Has(std::string_view name) const;
  // The value as given; "" when absent. Works for every flag type.
  std::string GetString(std::string_view name) const;
  // false when absent.
  bool GetBool(std::string_view name) const;
  // `fallback` when absent.
  int64_t GetInt(std::string_view name, int64_t fallback = 0) const;
  std::optional<base::Duration> GetDuration(std::string_view name) const;
  // "a,b" -> {"a", "b"}; repeated flags append. Empty when absent.
  std::vector<std::string> GetList(std::string_view name) const;
  // "a=b,c=d" -> {{"a","b"},{"c","d"}} in the order given. Empty when absent.
  std::vector<std::pair<std::string, std::string>> GetMap(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend class FlagSet;
  struct Value {
    std::string text;
    bool boolean = false;
    int64_t integer = 0;
    base::Duration duration{0};
    std::vector<std::string> list;
    std::vector<std::pair<std::string, std::string>> map;
  };
  std::map<std::string, Value, std::less<>> values_;
  std::vector<std::string> positional_;
};

class FlagSet {
 public:
  // `program` is the executable's name; `description` one line on what a run does.
  FlagSet(std::string program, std::string description);

  // Flags added after this call are listed under `title` in Usage(). The first group after
  // the constructor is "<program> flags".
  void Group(std::string title);

  void AddBool(std::string name, std::string help);
  void AddString(std::string name, std::string metavar, std::string help);
  void AddInt(std::string name, std::string metavar, std::string help, int64_t min = 0,
              int64_t max = std::numeric_limits<int64_t>::max());
  void AddChoice(std::string name, std::vector<std::string> choices, std::string help);
  // A positive duration ("90s", "1h30m"; base::ParseDuration).
  void AddDuration(std::string name, std::string metavar, std::string help);
  // Comma-separated, e.g. --include-namespaces shop,billing. Empty items are rejected.
  void AddList(std::string name, std::string metavar, std::string help);
  // Comma-separated FROM=TO pairs, e.g. --namespace-mapping a=b,c=d. Keys must be unique.
  void AddMap(std::string name, std::string metavar, std::string help);

  // Accepts up to `max` positional arguments, shown as `metavar` in the usage line.
  void AllowPositional(std::string metavar, std::string help, size_t max = SIZE_MAX);

  // argv[0] is skipped.
  base::Result<ParsedFlags> Parse(int argc, const char* const* argv) const;
  // `args` excludes the program name. When --help (or -h) is among the arguments, a command
  // line that fails to parse yields just {help: true}, so the caller prints Usage().
  base::Result<ParsedFlags> Parse(const std::vector<std::string>& args) const;

  // The --help text: usage line, description, then the groups (the executable's first, the
  // common flags last), one flag per line with its help, wrapped at 100 columns.
  std::string Usage() const;

  const std::string& program() const { return program_; }

 private:
  enum class Type { kBool, kString, kInt, kChoice, kDuration, kList, kMap };
  struct Flag {
    std::string name;
    Type type = Type::kBool;
    std::string metavar;
    std::string help;
    size_t group = 0;
    int64_t min = 0;
    int64_t max = 0;
    std::vector<std::string> choices;
  };

  // The new flag, or nullptr when the name is taken (recorded for Parse to report).
  Flag* Add(std::string name, Type type, std::string metavar, std::string help);
  const Flag* Find(std::string_view name) const;
  base::Result<ParsedFlags> ParseArgs(const std::vector<std::string>& args) const;
  base::Status SetValue(const Flag& flag, std::string_view text, ParsedFlags& out) const;
  base::Status UsageError(std::string message) const;

  std::string program_;
  std::string description_;
  std::vector<std::string> groups_;
  size_t current_group_ = 0;
  std::vector<Flag> flags_;
  std::string registration_error_;
  size_t max_positional_ = 0;
  std::string positional_metavar_;
  std::string positional_help_;
};

}  // namespace cairn::config
