#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "config/config.h"
#include "directory/directory.h"

namespace edgeidp::worker {

struct Loaded {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const directory::Directory> directory;
};

// load_all loads the config (with keys) and its directory; on failure it
// prints the error to stderr and returns nullopt.
std::optional<Loaded> load_all(const std::string &config_file, std::int64_t now);

// now_from parses --now (unix seconds, for reproducible output) or uses
// the clock.
std::optional<std::int64_t> now_from(const std::string &text);

}  // namespace edgeidp::worker
