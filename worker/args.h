// Minimal "--flag value" parsing for the edgeidp subcommands. Secrets are
// never accepted on the command line (argv is visible to other users).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace edgeidp::worker {

class Args {
 public:
  // parse accepts "--name value", "--name=value" and boolean "--name" for
  // the names in 'flags'; short aliases map like {"-c", "--config"}.
  // On error, returns nullopt and writes the message to 'error'.
  static std::optional<Args> parse(const std::vector<std::string> &argv,
                                   const std::set<std::string> &options,
                                   const std::set<std::string> &flags,
                                   const std::map<std::string, std::string> &aliases,
                                   std::string &error);

  std::string get(const std::string &name, const std::string &fallback = {}) const;
  bool has(const std::string &name) const;

 private:
  std::map<std::string, std::string> values_;
};

// config_path: --config, else $EDGEIDP_CONFIG, else /etc/edgeidp/edgeidp.toml.
std::string config_path(const Args &args);

}  // namespace edgeidp::worker
