#include "args.h"

#include <cstdlib>

namespace edgeidp::worker {

std::optional<Args> Args::parse(const std::vector<std::string> &argv,
                                const std::set<std::string> &options,
                                const std::set<std::string> &flags,
                                const std::map<std::string, std::string> &aliases,
                                std::string &error) {
  Args out;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    std::string name = argv[i];
    std::optional<std::string> value;
    if (const auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (const auto a = aliases.find(name); a != aliases.end()) {
      name = a->second;
    }
    if (flags.count(name) != 0) {
      if (value) {
        error = name + " takes no value";
        return std::nullopt;
      }
      out.values_.insert_or_assign(name, std::string(1, '1'));
    } else if (options.count(name) != 0) {
      if (!value) {
        if (i + 1 >= argv.size()) {
          error = name + " needs a value";
          return std::nullopt;
        }
        value = argv[++i];
      }
      out.values_[name] = *value;
    } else {
      error = "unknown argument \"" + argv[i] + "\"";
      return std::nullopt;
    }
  }
  return out;
}

std::string Args::get(const std::string &name, const std::string &fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

bool Args::has(const std::string &name) const {
  return values_.count(name) != 0;
}

std::string config_path(const Args &args) {
  if (args.has("--config")) {
    return args.get("--config");
  }
  if (const char *env = std::getenv("EDGEIDP_CONFIG"); env != nullptr && *env != '\0') {
    return env;
  }
  return "/etc/edgeidp/edgeidp.toml";
}

}  // namespace edgeidp::worker
