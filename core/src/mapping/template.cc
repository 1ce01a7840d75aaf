#include "mapping/template.h"

#include <algorithm>

namespace edgeidp::mapping {
namespace {

using directory::Attributes;

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool valid_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Error at(std::size_t column, const std::string &message) {
  return make_error(Errc::invalid,
                    "template column " + std::to_string(column + 1) + ": " + message);
}

const char *const kFields =
    "expected user.username, user.name, user.email, user.uid, user.attributes.KEY, group.KEY or "
    "groups.KEY";

Result<Template::Part> parse_expression(std::string_view expr, std::size_t column) {
  Template::Part part;
  const std::size_t bar = expr.find('|');
  const std::string_view path = trim_view(expr.substr(0, bar));
  struct Fixed {
    std::string_view name;
    Template::Source source;
  };
  static constexpr Fixed kFixed[] = {{"user.username", Template::Source::username},
                                     {"user.name", Template::Source::name},
                                     {"user.email", Template::Source::email},
                                     {"user.uid", Template::Source::uid}};
  struct Prefixed {
    std::string_view prefix;
    Template::Source source;
  };
  static constexpr Prefixed kPrefixed[] = {{"user.attributes.", Template::Source::user_attribute},
                                           {"groups.", Template::Source::groups},
                                           {"group.", Template::Source::group}};
  bool found = false;
  for (const auto &f : kFixed) {
    if (path == f.name) {
      part.source = f.source;
      found = true;
    }
  }
  for (const auto &p : kPrefixed) {
    if (!found && path.substr(0, p.prefix.size()) == p.prefix) {
      const std::string_view key = path.substr(p.prefix.size());
      if (!valid_key(key)) {
        return at(column, "attribute name \"" + std::string(key) +
                              "\" must be letters, digits, '_' or '-'");
      }
      part.source = p.source;
      part.text = std::string(key);
      found = true;
    }
  }
  if (!found) {
    return at(column, "unknown field \"" + std::string(path) + "\"; " + kFields);
  }
  std::string_view rest = bar == std::string_view::npos ? std::string_view{} : expr.substr(bar + 1);
  while (bar != std::string_view::npos) {
    const std::size_t next = rest.find('|');
    const std::string_view spec = trim_view(rest.substr(0, next));
    Template::FilterStep step{};
    if (spec == "lower") {
      step.filter = Template::Filter::lower;
    } else if (spec == "upper") {
      step.filter = Template::Filter::upper;
    } else if (spec == "trim") {
      step.filter = Template::Filter::trim;
    } else if (spec == "given_name") {
      step.filter = Template::Filter::given_name;
    } else if (spec == "family_name") {
      step.filter = Template::Filter::family_name;
    } else if (spec.substr(0, 8) == "default:") {
      step.filter = Template::Filter::default_value;
      step.arg = std::string(spec.substr(8));
    } else {
      return at(column, "unknown filter \"" + std::string(spec) +
                            "\"; expected lower, upper, trim, given_name, family_name or "
                            "default:TEXT");
    }
    part.filters.push_back(std::move(step));
    if (next == std::string_view::npos) {
      break;
    }
    rest = rest.substr(next + 1);
  }
  return part;
}

std::string apply(const Template::FilterStep &step, std::string v) {
  switch (step.filter) {
    case Template::Filter::lower:
      std::transform(v.begin(), v.end(), v.begin(),
                     [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
      return v;
    case Template::Filter::upper:
      std::transform(v.begin(), v.end(), v.begin(),
                     [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
      return v;
    case Template::Filter::trim:
      return std::string(trim_view(v));
    case Template::Filter::given_name: {
      // authentik's split: everything before the first space.
      const auto sp = v.find(' ');
      return sp == std::string::npos ? v : v.substr(0, sp);
    }
    case Template::Filter::family_name: {
      const auto sp = v.find(' ');
      return sp == std::string::npos ? std::string() : v.substr(sp + 1);
    }
    case Template::Filter::default_value:
      return v.empty() ? step.arg : v;
  }
  return v;
}

std::string lookup(const Attributes &attrs, const std::string &key) {
  const auto it = attrs.find(key);
  return it == attrs.end() ? std::string() : it->second;
}

std::string field(const Template::Part &part, const Context &ctx, const directory::Group *group) {
  switch (part.source) {
    case Template::Source::text:
      return part.text;
    case Template::Source::username:
      return ctx.user.username;
    case Template::Source::name:
      return ctx.user.name;
    case Template::Source::email:
      return ctx.user.email;
    case Template::Source::uid:
      return ctx.user.uid;
    case Template::Source::user_attribute:
      return lookup(ctx.user.attributes, part.text);
    case Template::Source::group:
      return lookup(ctx.merged, part.text);
    case Template::Source::groups:
      return group != nullptr ? lookup(group->attributes, part.text) : std::string();
  }
  return {};
}

// One rendering; false when a referenced field came out empty.
bool render_once(const std::vector<Template::Part> &parts, const Context &ctx,
                 const directory::Group *group, std::string &out) {
  out.clear();
  for (const auto &part : parts) {
    if (part.source == Template::Source::text) {
      out += part.text;
      continue;
    }
    std::string v = field(part, ctx, group);
    for (const auto &step : part.filters) {
      v = apply(step, std::move(v));
    }
    if (v.empty()) {
      return false;
    }
    out += v;
  }
  return true;
}

}  // namespace

Result<Template> Template::parse(std::string_view text) {
  Template t;
  t.source_ = std::string(text);
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) {
      t.parts_.push_back(Part{Source::text, std::move(literal), {}});
      literal.clear();
    }
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal += '}';
      ++i;
    } else if (c == '}') {
      return at(i, "unmatched '}' (write '}}' for a literal brace)");
    } else if (c == '{') {
      const std::size_t close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        return at(i, "unclosed '{'");
      }
      const std::string_view expr = text.substr(i + 1, close - i - 1);
      if (expr.find('{') != std::string_view::npos) {
        return at(i, "'{' inside a field");
      }
      auto part = parse_expression(expr, i);
      if (!part) {
        return part.take_error();
      }
      flush();
      t.per_group_ = t.per_group_ || part->source == Source::groups;
      t.parts_.push_back(std::move(*part));
      i = close;
    } else {
      literal += c;
    }
  }
  flush();
  return t;
}

std::vector<std::string> Template::render(const Context &ctx) const {
  std::vector<std::string> out;
  std::string value;
  if (!per_group_) {
    if (render_once(parts_, ctx, nullptr, value)) {
      out.push_back(std::move(value));
    }
    return out;
  }
  for (const directory::Group *g : ctx.groups) {
    if (render_once(parts_, ctx, g, value) &&
        std::find(out.begin(), out.end(), value) == out.end()) {
      out.push_back(value);
    }
  }
  return out;
}

}  // namespace edgeidp::mapping
