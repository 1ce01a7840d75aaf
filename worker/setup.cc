#include "setup.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace edgeidp::worker {

std::optional<Loaded> load_all(const std::string &config_file, std::int64_t now) {
  config::LoadOptions opts;
  opts.now = now;
  auto cfg = config::load(config_file, opts);
  if (!cfg) {
    std::fprintf(stderr, "edgeidp: %s\n", cfg.error().describe().c_str());
    return std::nullopt;
  }
  auto dir = directory::Directory::load((*cfg)->directory.path);
  if (!dir) {
    std::fprintf(stderr, "edgeidp: %s\n", dir.error().describe().c_str());
    return std::nullopt;
  }
  return Loaded{std::move(*cfg), std::move(*dir)};
}

std::optional<std::int64_t> now_from(const std::string &text) {
  if (text.empty()) {
    return static_cast<std::int64_t>(std::time(nullptr));
  }
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) {
    return std::nullopt;
  }
  return v;
}

}  // namespace edgeidp::worker
