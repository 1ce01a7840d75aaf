#include <algorithm>

#include "common/random.h"
#include "idp/issue.h"
#include "portal/gateway.h"
#include "portal/http.h"
#include "portal/responses.h"
#include "portal/session.h"

namespace edgeidp::portal {

Decision Gateway::launcher(const Location &loc, const Request &req) const {
  Decision d;
  Identity id;
  if (!identify(req, id, d)) {
    d.headers.clear();
    redirect(d, portal_path(*cfg_, loc) + "/login");
    return d;
  }
  const std::string base = portal_path(*cfg_, loc);
  std::vector<LauncherEntry> entries;
  for (const auto &app : cfg_->apps) {
    if (idp::may_use(app, *id.user)) {
      entries.push_back(
          {app.display_name,
           app.launch_url.empty() ? base + "/app/" + percent_encode(app.name) : app.launch_url,
           "SAML"});
    }
  }
  for (const auto &link : cfg_->portal.links) {
    if (in_any(link.groups, *id.user)) {
      entries.push_back({link.display_name, link.url, "web"});
    }
  }
  page(d, 200, launcher_page(id.user->name, base + "/logout", entries));
  d.user = id.user->username;
  return d;
}

Decision Gateway::saml_app(const Location &loc, const Request &req,
                           std::string_view app_name) const {
  Decision d;
  const config::App *app = cfg_->find_app(app_name);
  if (app == nullptr) {
    message(d, 404, "Not found", "There is no such application.");
    return d;
  }
  Identity id;
  if (!identify(req, id, d)) {
    d.headers.clear();
    redirect(d, portal_path(*cfg_, loc) + "/login?return_to=" + percent_encode(req.uri));
    return d;
  }
  idp::IssueOptions opts;
  opts.now = req.now;
  opts.authn_instant = id.session.auth_time;
  post_response(d, *app, id, opts);
  return d;
}

void Gateway::post_response(Decision &d, const config::App &app, const Identity &id,
                            const idp::IssueOptions &opts) const {
  SystemRandom rng;
  auto issued = idp::issue(*cfg_, *id.dir, app, *id.user, opts, rng);
  if (!issued) {
    const bool denied = issued.error().code == Errc::denied;
    message(d, 403, "Access denied",
            denied ? "You are not allowed to use this application."
                   : "Your account is not set up for this application. Ask your administrator.");
    log_line(d, denied ? 5 : 4, issued.error().describe());
    return;
  }
  AutoPost p;
  p.acs_url = issued->acs_url;
  p.saml_response = issued->base64;
  p.relay_state = issued->relay_state;
  p.nonce = random_token();
  p.app_name = app.display_name;
  page(d, 200, auto_post_page(p));
  d.user = id.user->username;
  log_line(d, 6,
           std::string(opts.in_response_to.empty() ? "issued"
                                                   : "answered an SP-initiated request with") +
               " a SAML response for app " + app.name + " to " + id.user->username);
}

}  // namespace edgeidp::portal
