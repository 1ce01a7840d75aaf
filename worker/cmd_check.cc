// edgeidp check: everything that can be known before a user signs in.
// Prints one line per problem; exit 0 when there is no error.
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "idp/aws_rules.h"
#include "idp/issue.h"
#include "saml/signing_key.h"
#include "setup.h"

namespace edgeidp::worker {
namespace {

constexpr std::int64_t kExpiryWarningDays = 30;

struct Report {
  int errors = 0;
  int warnings = 0;
  void error(const std::string &msg) {
    ++errors;
    std::printf("error: %s\n", msg.c_str());
  }
  void warning(const std::string &msg) {
    ++warnings;
    std::printf("warning: %s\n", msg.c_str());
  }
};

// Identity Center finds the user by comparing the SAML NameID with the
// userName SCIM gave it (seed 003, authentik #4554): the two must render
// the same for every user.
void check_name_id_matches_scim(const Loaded &l, const config::App &app, Report &report) {
  std::vector<const config::ScimTarget *> targets;
  for (const auto &t : l.config->scim) {
    if (t.app == app.name) {
      targets.push_back(&t);
    }
  }
  if (targets.empty()) {
    if (app.name_id.source() != "{user.username}") {
      report.warning("app " + app.name + ": no [[scim]] target has app = \"" + app.name +
                     "\"; its name_id \"" + app.name_id.source() +
                     "\" differs from the default SCIM userName {user.username}: make sure the "
                     "users' userName in Identity Center is what name_id gives");
    }
    return;
  }
  for (const auto *t : targets) {
    for (const auto &user : l.directory->users()) {
      if (!idp::may_use(app, user)) {
        continue;
      }
      const mapping::Context ctx(*l.directory, user);
      const auto name_id = app.name_id.render(ctx);
      const auto user_name = t->user.user_name.render(ctx);
      if (name_id != user_name) {
        report.error("app " + app.name + ", user " + user.username + ": the NameID \"" +
                     (name_id.empty() ? "" : name_id[0]) + "\" (name_id \"" + app.name_id.source() +
                     "\") differs from the userName \"" + (user_name.empty() ? "" : user_name[0]) +
                     "\" that [[scim]] " + t->name + " sends (\"" + t->user.user_name.source() +
                     "\"); Identity Center matches the two, so sign-in would fail. Use one "
                     "template for both");
      }
    }
  }
}

void check_app(const Loaded &l, const config::App &app, Report &report) {
  for (const auto &problem : idp::lint_app(*l.config, app)) {
    report.error(problem);
  }
  int users = 0;
  for (const auto &user : l.directory->users()) {
    if (!idp::may_use(app, user)) {
      continue;
    }
    ++users;
    const mapping::Context ctx(*l.directory, user);
    auto attrs = idp::map_attributes(app, ctx);
    if (!attrs) {
      // A user with no role at all cannot use the app but breaks nothing;
      // a malformed value is a mistake in the mapping.
      if (attrs.error().code == Errc::not_found && app.groups.empty()) {
        report.warning(attrs.error().message);
      } else {
        report.error(attrs.error().message);
      }
    }
    if (auto name_id = idp::map_name_id(app, ctx); !name_id) {
      report.error(name_id.error().message);
    }
  }
  if (app.preset == config::Preset::aws_identity_center) {
    check_name_id_matches_scim(l, app, report);
  }
  std::printf("app %s (%s): %d user(s) may sign in\n", app.name.c_str(),
              config::preset_name(app.preset), users);
}

}  // namespace

int cmd_check(const std::vector<std::string> &argv) {
  std::string err;
  const auto args =
      Args::parse(argv, {"--config", "--now"}, {"--strict"}, {{"-c", "--config"}}, err);
  const auto now = args ? now_from(args->get("--now")) : std::nullopt;
  if (!args || !now) {
    std::fprintf(stderr, "edgeidp check: %s\n",
                 args ? "--now: expected unix seconds" : err.c_str());
    return 2;
  }
  const std::string path = config_path(*args);
  const auto loaded = load_all(path, *now);
  if (!loaded) {
    return 1;
  }
  Report report;
  const std::int64_t days_left = (loaded->config->signing_key->not_after() - *now) / 86400;
  if (days_left < kExpiryWarningDays) {
    report.warning("the signing certificate expires in " + std::to_string(days_left) +
                   " day(s): make a new one and upload the new metadata to AWS first");
  }
  if (loaded->config->apps.empty()) {
    report.warning("no [[app]] is configured");
  }
  for (const auto &app : loaded->config->apps) {
    check_app(*loaded, app, report);
  }
  std::printf("%s: %d error(s), %d warning(s), %zu user(s), %zu group(s)\n", path.c_str(),
              report.errors, report.warnings, loaded->directory->users().size(),
              loaded->directory->groups().size());
  return report.errors > 0 || (args->has("--strict") && report.warnings > 0) ? 1 : 0;
}

}  // namespace edgeidp::worker
