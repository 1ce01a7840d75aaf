// edgeidp render: what a template gives for a user, one value per line.
// For trying out mappings (and docs/templates.md's examples are tested
// with it).
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "config/config.h"
#include "directory/directory.h"
#include "mapping/template.h"

namespace edgeidp::worker {

int cmd_render(const std::vector<std::string> &argv) {
  std::string err;
  const auto args =
      Args::parse(argv, {"--config", "--user", "--template"}, {}, {{"-c", "--config"}}, err);
  if (!args || !args->has("--user") || !args->has("--template")) {
    std::fprintf(stderr, "edgeidp render: %s\n",
                 args ? "--user NAME and --template TEXT are required" : err.c_str());
    return 2;
  }
  config::LoadOptions opts;
  opts.load_keys = false;
  auto cfg = config::load(config_path(*args), opts);
  if (!cfg) {
    std::fprintf(stderr, "edgeidp: %s\n", cfg.error().describe().c_str());
    return 1;
  }
  auto dir = directory::Directory::load((*cfg)->directory.path);
  if (!dir) {
    std::fprintf(stderr, "edgeidp: %s\n", dir.error().describe().c_str());
    return 1;
  }
  const directory::User *user = (*dir)->find_user(args->get("--user"));
  if (user == nullptr) {
    std::fprintf(stderr, "edgeidp: no user named \"%s\"\n", args->get("--user").c_str());
    return 1;
  }
  auto t = mapping::Template::parse(args->get("--template"));
  if (!t) {
    std::fprintf(stderr, "edgeidp: %s\n", t.error().message.c_str());
    return 1;
  }
  for (const auto &v : t->render(mapping::Context(**dir, *user))) {
    std::printf("%s\n", v.c_str());
  }
  return 0;
}

}  // namespace edgeidp::worker
