// Strict, line-aware reading of one TOML table. Keeps the FIRST error (file,
// line, key, what was expected), so loaders read every field in a straight
// line and check once; unknown keys are errors (finish()).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/toml.h"

namespace edgeidp {

class TableReader {
 public:
  // origin: the file name for messages; path: this table's key path
  // ("idp", "app[2]"); empty for the root table.
  TableReader(const toml::table &table, std::string origin, std::string path);

  std::string str(std::string_view key, bool required = false, std::string fallback = {});
  bool boolean(std::string_view key, bool fallback);
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  std::vector<std::string> str_list(std::string_view key);
  // A sub-table, or null if absent (an error if it is not a table).
  const toml::table *table(std::string_view key, bool required = false);
  // An array of tables ([[key]]); empty if absent.
  std::vector<const toml::table *> tables(std::string_view key);
  // The raw node, marked as read; null if absent.
  const toml::node *node(std::string_view key);

  // fail records an error about 'key' (which may be absent: the table's
  // line is used) unless an earlier one is already recorded.
  void fail(std::string_view key, std::string message);
  // finish reports the first key that was never read.
  void finish();

  int line_of(std::string_view key) const;
  int line() const;
  std::string key_path(std::string_view key) const;
  const std::string &origin() const { return origin_; }
  bool ok() const { return !error_.has_value(); }
  const std::optional<Error> &error() const { return error_; }
  // adopt keeps another reader's error as this one's if it is the first.
  void adopt(const TableReader &child);
  void adopt(const Error &error);

 private:
  const toml::table &table_;
  std::string origin_;
  std::string path_;
  std::set<std::string, std::less<>> used_;
  std::optional<Error> error_;
};

// parse_toml parses text; errors carry origin and line.
Result<toml::table> parse_toml(std::string_view text, const std::string &origin);

// toml_type_name: "string", "integer", ... for messages.
const char *toml_type_name(const toml::node &node);

}  // namespace edgeidp
