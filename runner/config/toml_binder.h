// config/toml_binder: table-driven binding of a parsed TOML document onto plain structs.
//
// Internal to the config module: only .cc files of config/ include it (toml++ is a private
// dependency and must not leak into config.h). A section of the config is a list of Field<S>:
// a key and a function that checks the node's type, validates the value and stores it in S.
// Binder::BindTable walks a table, reports every unknown key with a did-you-mean from the field
// list, and records where each key was written so later cross-field checks can point at it.
// Every message is "FILE:LINE:COLUMN: KEY.PATH: what is wrong", positions from toml++.
// Adding a section = a Field<S> list plus one SectionField (or NamedTablesField) entry in the
// root list of config.cc.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/suggest.h"

namespace cairn::config::internal {

struct Position {
  uint32_t line = 0;
  uint32_t column = 0;
};

Position PositionOf(const toml::source_region& region);

// "integer", "string", "float", "boolean", "table", "array", "date", "time", "date-time".
std::string_view TypeName(const toml::node& node);

class Binder;

template <typename S>
struct Field {
  std::string_view key;
  // Stores `value` into `out`. A non-ok Status is reported at the key as "KEY.PATH: message";
  // nested tables report their own errors through `binder` and return Ok.
  std::function<base::Status(const toml::node& value, S& out, Binder& binder,
                             const std::string& key_path)>
      bind;
};

class Binder {
 public:
  explicit Binder(std::string file) : file_(std::move(file)) {}

  // Binds every key of `table` (whose dotted path is `table_path`, "" for the root).
  template <typename S>
  void BindTable(const toml::table& table, std::string_view table_path,
                 const std::vector<Field<S>>& fields, S& out) {
    for (auto&& [key, node] : table) {
      const std::string path = Join(table_path, key.str());
      const Position pos = PositionOf(key.source());
      positions_[path] = pos;
      const Field<S>* field = nullptr;
      for (const Field<S>& f : fields) {
        if (f.key == key.str()) field = &f;
      }
      if (field == nullptr) {
        std::vector<std::string_view> names;
        for (const Field<S>& f : fields) names.push_back(f.key);
        AddAt(pos, "unknown key '" + path + "'" + DidYouMean(key.str(), names));
        continue;
      }
      base::Status st = field->bind(node, out, *this, path);
      if (!st.ok()) Add(pos, path, st.message());
    }
  }

  // Reports "FILE:L:C: KEY.PATH: message".
  void Add(Position pos, std::string_view key_path, std::string_view message);
  // Reports "FILE:L:C: message".
  void AddAt(Position pos, std::string message);

  // Where `key_path` was written, if it was.
  std::optional<Position> Find(std::string_view key_path) const;
  // "FILE:LINE", for provenance fields such as VaultConfig::origin.
  std::string Origin(Position pos) const;
  // Ok, or kInvalidArgument with the errors in file order, one per line.
  base::Status Finish() const;

  static std::string Join(std::string_view table_path, std::string_view key);

 private:
  std::string file_;
  std::vector<std::pair<Position, std::string>> errors_;
  std::map<std::string, Position, std::less<>> positions_;
};

// --- Field factories -------------------------------------------------------------------------

using StringCheck = std::function<base::Status(std::string_view)>;

base::Status TypeError(std::string_view want, const toml::node& got);

// A non-empty string, optionally checked.
template <typename S>
Field<S> StringField(std::string_view key, std::string S::*member, StringCheck check = nullptr) {
  return {key, [member, check](const toml::node& n, S& out, Binder&, const std::string&) {
            const auto* v = n.as_string();
            if (v == nullptr) return TypeError("a string", n);
            if (v->get().empty()) {
              return base::Error(base::Code::kInvalidArgument,
                                 "must not be empty (remove the key to use the default)");
            }
            if (check) RETURN_IF_ERROR(check(v->get()));
            out.*member = v->get();
            return base::Status::Ok();
          }};
}

base::Status CheckChoice(std::string_view value, const std::vector<std::string>& choices);

template <typename S>
Field<S> EnumField(std::string_view key, std::string S::*member,
                   std::initializer_list<const char*> choices) {
  std::vector<std::string> list(choices.begin(), choices.end());
  return StringField<S>(key, member, [list](std::string_view v) { return CheckChoice(v, list); });
}

template <typename S>
Field<S> BoolField(std::string_view key, bool S::*member) {
  return {key, [member](const toml::node& n, S& out, Binder&, const std::string&) {
            const auto* v = n.as_boolean();
            if (v == nullptr) return TypeError("a boolean", n);
            out.*member = v->get();
            return base::Status::Ok();
          }};
}

template <typename S>
Field<S> OptionalBoolField(std::string_view key, std::optional<bool> S::*member) {
  return {key, [member](const toml::node& n, S& out, Binder&, const std::string&) {
            const auto* v = n.as_boolean();
            if (v == nullptr) return TypeError("a boolean", n);
            out.*member = v->get();
            return base::Status::Ok();
          }};
}

base::Result<int64_t> IntInRange(const toml::node& n, int64_t lo, int64_t hi);

template <typename S>
Field<S> IntField(std::string_view key, int S::*member, int lo, int hi) {
  return {key, [member, lo, hi](const toml::node& n, S& out, Binder&, const std::string&) {
            ASSIGN_OR_RETURN(int64_t v, IntInRange(n, lo, hi));
            out.*member = static_cast<int>(v);
            return base::Status::Ok();
          }};
}

// A size string ("16MiB") or an integer number of bytes, within [lo, hi].
base::Result<uint64_t> SizeInRange(const toml::node& n, uint64_t lo, uint64_t hi);

template <typename S>
Field<S> SizeField(std::string_view key, uint64_t S::*member, uint64_t lo, uint64_t hi) {
  return {key, [member, lo, hi](const toml::node& n, S& out, Binder&, const std::string&) {
            ASSIGN_OR_RETURN(uint64_t v, SizeInRange(n, lo, hi));
            out.*member = v;
            return base::Status::Ok();
          }};
}

// A positive duration string ("10m", "1h30m"; base::ParseDuration).
base::Result<base::Duration> PositiveDuration(const toml::node& n);

template <typename S>
Field<S> DurationField(std::string_view key, std::optional<base::Duration> S::*member) {
  return {key, [member](const toml::node& n, S& out, Binder&, const std::string&) {
            ASSIGN_OR_RETURN(base::Duration v, PositiveDuration(n));
            out.*member = v;
            return base::Status::Ok();
          }};
}

// A sub-table bound with its own field list: [defaults], [kubernetes].
template <typename S, typename T>
Field<S> SectionField(std::string_view key, T S::*member, const std::vector<Field<T>>* fields) {
  return {key, [member, fields](const toml::node& n, S& out, Binder& b, const std::string& path) {
            const auto* t = n.as_table();
            if (t == nullptr) return TypeError("a table", n);
            b.BindTable(*t, path, *fields, out.*member);
            return base::Status::Ok();
          }};
}

// One entry of a NamedTablesField, for its `finish` callback.
struct NamedEntry {
  std::string name;          // NAME in [section.NAME]
  std::string path;          // "section.NAME"
  Position pos;              // where NAME is written
  const toml::table* table;  // the entry's keys
};

// A table of named tables, each bound with `fields` into map[NAME]: [vaults.NAME], and later
// [policies.NAME]. `name_check` validates NAME; `finish` (optional) runs after an entry is bound,
// for required keys and fields derived from the name or position.
template <typename S, typename T>
Field<S> NamedTablesField(
    std::string_view key, std::map<std::string, T> S::*member, const std::vector<Field<T>>* fields,
    StringCheck name_check,
    std::type_identity_t<std::function<void(const NamedEntry&, T&, Binder&)>> finish = nullptr) {
  return {key, [=](const toml::node& n, S& out, Binder& b, const std::string& path) {
            const auto* entries = n.as_table();
            if (entries == nullptr) {
              return TypeError("a table of named tables ([" + path + ".NAME])", n);
            }
            for (auto&& [name, node] : *entries) {
              NamedEntry entry{std::string(name.str()), Binder::Join(path, name.str()),
                               PositionOf(name.source()), node.as_table()};
              base::Status name_ok = name_check(entry.name);
              if (!name_ok.ok()) {
                b.Add(entry.pos, entry.path, name_ok.message());
                continue;
              }
              if (entry.table == nullptr) {
                b.Add(entry.pos, entry.path,
                      TypeError("a table ([" + entry.path + "])", node).message());
                continue;
              }
              T value;
              b.BindTable(*entry.table, entry.path, *fields, value);
              if (finish) finish(entry, value, b);
              (out.*member).emplace(entry.name, std::move(value));
            }
            return base::Status::Ok();
          }};
}

}  // namespace cairn::config::internal
