#include "common/toml_reader.h"

namespace edgeidp {

TableReader::TableReader(const toml::table &table, std::string origin, std::string path)
    : table_(table), origin_(std::move(origin)), path_(std::move(path)) {}

std::string TableReader::key_path(std::string_view key) const {
  if (path_.empty()) {
    return std::string(key);
  }
  return path_ + "." + std::string(key);
}

int TableReader::line() const {
  return static_cast<int>(table_.source().begin.line);
}

int TableReader::line_of(std::string_view key) const {
  const toml::node *n = table_.get(key);
  return n != nullptr ? static_cast<int>(n->source().begin.line) : line();
}

void TableReader::fail(std::string_view key, std::string message) {
  if (!error_) {
    error_ = config_error(origin_, line_of(key), key_path(key), std::move(message));
  }
}

void TableReader::adopt(const TableReader &child) {
  if (!error_ && child.error_) {
    error_ = child.error_;
  }
}

void TableReader::adopt(const Error &error) {
  if (!error_) {
    error_ = error;
  }
}

const toml::node *TableReader::node(std::string_view key) {
  used_.emplace(key);
  return table_.get(key);
}

std::string TableReader::str(std::string_view key, bool required, std::string fallback) {
  const toml::node *n = node(key);
  if (n == nullptr) {
    if (required) {
      fail(key, "is required (a string)");
    }
    return fallback;
  }
  const auto *s = n->as_string();
  if (s == nullptr) {
    fail(key, std::string("expected a string, found ") + toml_type_name(*n));
    return fallback;
  }
  if (required && s->get().empty()) {
    fail(key, "must not be empty");
  }
  return s->get();
}

bool TableReader::boolean(std::string_view key, bool fallback) {
  const toml::node *n = node(key);
  if (n == nullptr) {
    return fallback;
  }
  const auto *b = n->as_boolean();
  if (b == nullptr) {
    fail(key, std::string("expected true or false, found ") + toml_type_name(*n));
    return fallback;
  }
  return b->get();
}

std::int64_t TableReader::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max) {
  const toml::node *n = node(key);
  if (n == nullptr) {
    return fallback;
  }
  const auto *i = n->as_integer();
  if (i == nullptr) {
    fail(key, std::string("expected an integer, found ") + toml_type_name(*n));
    return fallback;
  }
  if (i->get() < min || i->get() > max) {
    fail(key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                  ", found " + std::to_string(i->get()));
    return fallback;
  }
  return i->get();
}

std::vector<std::string> TableReader::str_list(std::string_view key) {
  std::vector<std::string> out;
  const toml::node *n = node(key);
  if (n == nullptr) {
    return out;
  }
  const auto *arr = n->as_array();
  if (arr == nullptr) {
    fail(key, std::string("expected an array of strings, found ") + toml_type_name(*n));
    return out;
  }
  for (const auto &item : *arr) {
    const auto *s = item.as_string();
    if (s == nullptr) {
      fail(key, std::string("expected an array of strings, found an element of type ") +
                    toml_type_name(item));
      return {};
    }
    out.push_back(s->get());
  }
  return out;
}

const toml::table *TableReader::table(std::string_view key, bool required) {
  const toml::node *n = node(key);
  if (n == nullptr) {
    if (required) {
      fail(key, "is required (a table: [" + key_path(key) + "])");
    }
    return nullptr;
  }
  const auto *t = n->as_table();
  if (t == nullptr) {
    fail(key, std::string("expected a table, found ") + toml_type_name(*n));
  }
  return t;
}

std::vector<const toml::table *> TableReader::tables(std::string_view key) {
  std::vector<const toml::table *> out;
  const toml::node *n = node(key);
  if (n == nullptr) {
    return out;
  }
  const auto *arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    fail(key, "expected an array of tables ([[" + key_path(key) + "]])");
    return out;
  }
  for (const auto &item : *arr) {
    out.push_back(item.as_table());
  }
  return out;
}

void TableReader::finish() {
  for (const auto &[k, v] : table_) {
    if (used_.find(k.str()) == used_.end()) {
      if (!error_) {
        error_ = config_error(origin_, static_cast<int>(v.source().begin.line), key_path(k.str()),
                              "unknown key");
      }
      return;
    }
  }
}

Result<toml::table> parse_toml(std::string_view text, const std::string &origin) {
  toml::parse_result res = toml::parse(text, origin);
  if (!res) {
    const auto &err = res.error();
    return config_error(origin, static_cast<int>(err.source().begin.line), "",
                        "TOML syntax error: " + std::string(err.description()));
  }
  return std::move(res).table();
}

const char *toml_type_name(const toml::node &node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "nothing";
  }
}

}  // namespace edgeidp
