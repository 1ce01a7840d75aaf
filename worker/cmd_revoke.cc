// edgeidp revoke: log one user out everywhere. Writes "USER NOW" to the
// [session] revocations file; the modules reload it within seconds.
#include <cstdio>
#include <ctime>

#include "args.h"
#include "commands.h"
#include "common/file.h"
#include "config/config.h"
#include "portal/revocations.h"

namespace edgeidp::worker {

int cmd_revoke(const std::vector<std::string> &argv) {
  std::string err;
  const auto args = Args::parse(argv, {"--config", "--user"}, {}, {{"-c", "--config"}}, err);
  if (!args || !args->has("--user")) {
    std::fprintf(stderr, "edgeidp revoke: %s\n", args ? "--user NAME is required" : err.c_str());
    return 2;
  }
  config::LoadOptions opts;
  opts.load_keys = false;
  auto cfg = config::load(config_path(*args), opts);
  if (!cfg) {
    std::fprintf(stderr, "edgeidp: %s\n", cfg.error().describe().c_str());
    return 1;
  }
  const std::string &file = (*cfg)->portal.session.revocations_file;
  if (file.empty()) {
    std::fprintf(stderr, "edgeidp revoke: set [session] revocations = \"FILE\" in %s first\n",
                 (*cfg)->path.c_str());
    return 1;
  }
  auto list = portal::Revocations::load(file);
  if (!list) {
    std::fprintf(stderr, "edgeidp: %s\n", list.error().describe().c_str());
    return 1;
  }
  portal::Revocations updated = **list;
  updated.set(args->get("--user"), static_cast<std::int64_t>(std::time(nullptr)) + 1);
  if (auto st = write_file_atomic(file, updated.text(), 0644); !st) {
    std::fprintf(stderr, "edgeidp: %s\n", st.error().describe().c_str());
    return 1;
  }
  std::printf("revoked every session of %s begun before now\n", args->get("--user").c_str());
  return 0;
}

}  // namespace edgeidp::worker
