// edgeidp metadata / edgeidp saml-response
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "common/random.h"
#include "idp/issue.h"
#include "idp/metadata.h"
#include "setup.h"

namespace edgeidp::worker {

int cmd_metadata(const std::vector<std::string> &argv) {
  std::string err;
  const auto args = Args::parse(argv, {"--config", "--now"}, {}, {{"-c", "--config"}}, err);
  const auto now = args ? now_from(args->get("--now")) : std::nullopt;
  if (!args || !now) {
    std::fprintf(stderr, "edgeidp metadata: %s\n",
                 args ? "--now: expected unix seconds" : err.c_str());
    return 2;
  }
  config::LoadOptions opts;
  opts.now = *now;
  auto cfg = config::load(config_path(*args), opts);
  if (!cfg) {
    std::fprintf(stderr, "edgeidp: %s\n", cfg.error().describe().c_str());
    return 1;
  }
  auto xml = idp::idp_metadata(**cfg);
  if (!xml) {
    std::fprintf(stderr, "edgeidp: %s\n", xml.error().describe().c_str());
    return 1;
  }
  std::fwrite(xml->data(), 1, xml->size(), stdout);
  return 0;
}

int cmd_saml_response(const std::vector<std::string> &argv) {
  std::string err;
  const auto args =
      Args::parse(argv, {"--config", "--app", "--user", "--now", "--in-response-to", "--acs"},
                  {"--xml"}, {{"-c", "--config"}}, err);
  if (!args || !args->has("--app") || !args->has("--user")) {
    std::fprintf(stderr, "edgeidp saml-response: %s\n",
                 args ? "--app NAME and --user NAME are required" : err.c_str());
    return 2;
  }
  const auto now = now_from(args->get("--now"));
  if (!now) {
    std::fprintf(stderr, "edgeidp saml-response: --now: expected unix seconds\n");
    return 2;
  }
  const auto loaded = load_all(config_path(*args), *now);
  if (!loaded) {
    return 1;
  }
  const config::App *app = loaded->config->find_app(args->get("--app"));
  if (app == nullptr) {
    std::fprintf(stderr, "edgeidp: no app named \"%s\" in %s\n", args->get("--app").c_str(),
                 loaded->config->path.c_str());
    return 1;
  }
  const directory::User *user = loaded->directory->find_user(args->get("--user"));
  if (user == nullptr) {
    std::fprintf(stderr, "edgeidp: no user named \"%s\" in the directory\n",
                 args->get("--user").c_str());
    return 1;
  }
  idp::IssueOptions opts;
  opts.now = *now;
  opts.in_response_to = args->get("--in-response-to");
  opts.acs_url = args->get("--acs");
  SystemRandom rng;
  auto issued = idp::issue(*loaded->config, *loaded->directory, *app, *user, opts, rng);
  if (!issued) {
    std::fprintf(stderr, "edgeidp: %s\n", issued.error().describe().c_str());
    return 1;
  }
  const std::string &out = args->has("--xml") ? issued->xml : issued->base64;
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace edgeidp::worker
