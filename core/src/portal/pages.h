// The HTML the portal serves. Every value is escaped for its context, and
// each page comes with a Content-Security-Policy that allows nothing it
// does not use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgeidp::portal {

struct Page {
  std::string html;
  std::string csp;
};

struct LoginPage {
  std::string action;  // the form's POST target (portal login URL)
  std::string csrf;
  std::string username;         // to keep in the field after a failed attempt
  std::string error;            // shown above the form, already generic
  std::string notice;           // e.g. "You have been signed out."
  std::string custom_template;  // operator's page with {{form}}; empty: ours
};

struct LauncherEntry {
  std::string name;
  std::string url;
  std::string kind;  // "SAML" or "web"
};

struct AutoPost {
  std::string acs_url;
  std::string saml_response;
  std::string relay_state;
  std::string nonce;  // CSP nonce for the submit script
  std::string app_name;
};

Page login_page(const LoginPage &p);
Page launcher_page(std::string_view display_name, std::string_view logout_url,
                   const std::vector<LauncherEntry> &entries);
Page auto_post_page(const AutoPost &p);
Page message_page(std::string_view title, std::string_view message);

}  // namespace edgeidp::portal
