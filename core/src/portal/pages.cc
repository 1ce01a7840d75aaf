#include "portal/pages.h"

#include "common/strings.h"

namespace edgeidp::portal {
namespace {

constexpr const char *kBaseCsp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
    "frame-ancestors 'none'";

constexpr const char *kStyle =
    "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:4rem auto;"
    "padding:0 1rem;color:#1b1b1b}h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}"
    "input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}"
    "button{margin-top:1rem;padding:.5rem 1.2rem;font:inherit}"
    ".error{color:#a00000}.notice{color:#205020}ul{padding-left:1.2rem}"
    "li{margin:.4rem 0}small{color:#555}</style>";

std::string document(std::string_view title, const std::string &body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"robots\" content=\"noindex\"><title>" +
         html_escape(title) + "</title>" + kStyle + "</head><body>\n" + body + "</body></html>\n";
}

// The origin (scheme://host[:port]) of an absolute URL, for form-action.
std::string origin_of(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return {};
  }
  const std::size_t end = url.find('/', scheme + 3);
  return std::string(url.substr(0, end));
}

}  // namespace

Page login_page(const LoginPage &p) {
  std::string form;
  if (!p.notice.empty()) {
    form += "<p class=\"notice\" role=\"status\">" + html_escape(p.notice) + "</p>\n";
  }
  if (!p.error.empty()) {
    form += "<p class=\"error\" role=\"alert\">" + html_escape(p.error) + "</p>\n";
  }
  form += "<form method=\"post\" action=\"" + html_escape(p.action) +
          "\">\n"
          "<input type=\"hidden\" name=\"csrf\" value=\"" +
          html_escape(p.csrf) +
          "\">\n"
          "<label for=\"username\">Username</label>\n"
          "<input id=\"username\" name=\"username\" autocomplete=\"username\" required "
          "autofocus value=\"" +
          html_escape(p.username) +
          "\">\n"
          "<label for=\"password\">Password</label>\n"
          "<input id=\"password\" name=\"password\" type=\"password\" "
          "autocomplete=\"current-password\" required>\n"
          "<button type=\"submit\">Sign in</button>\n</form>\n";
  Page page;
  page.csp = std::string(kBaseCsp) + "; form-action 'self'";
  if (!p.custom_template.empty()) {
    page.html = p.custom_template;
    const auto pos = page.html.find("{{form}}");
    page.html.replace(pos, 8, form);
    return page;
  }
  page.html = document("Sign in", "<main><h1>Sign in</h1>\n" + form + "</main>\n");
  return page;
}

Page launcher_page(std::string_view display_name, std::string_view logout_url,
                   const std::vector<LauncherEntry> &entries) {
  std::string body = "<main><h1>Applications</h1>\n<p>Signed in as <strong>" +
                     html_escape(display_name) + "</strong>.</p>\n";
  if (entries.empty()) {
    body += "<p>No applications are available to you.</p>\n";
  } else {
    body += "<ul>\n";
    for (const auto &e : entries) {
      body += "<li><a href=\"" + html_escape(e.url) + "\">" + html_escape(e.name) + "</a> <small>" +
              html_escape(e.kind) + "</small></li>\n";
    }
    body += "</ul>\n";
  }
  body += "<form method=\"post\" action=\"" + html_escape(logout_url) +
          "\"><button type=\"submit\">Sign out</button></form>\n</main>\n";
  return Page{document("Applications", body), std::string(kBaseCsp) + "; form-action 'self'"};
}

Page auto_post_page(const AutoPost &p) {
  std::string body = "<main><h1>Signing in to " + html_escape(p.app_name) +
                     "</h1>\n<form method=\"post\" action=\"" + html_escape(p.acs_url) +
                     "\">\n<input type=\"hidden\" name=\"SAMLResponse\" value=\"" +
                     html_escape(p.saml_response) + "\">\n";
  if (!p.relay_state.empty()) {
    body += "<input type=\"hidden\" name=\"RelayState\" value=\"" + html_escape(p.relay_state) +
            "\">\n";
  }
  body +=
      "<noscript><p>JavaScript is off: press the button to continue.</p></noscript>\n"
      "<button type=\"submit\">Continue</button>\n</form>\n</main>\n"
      "<script nonce=\"" +
      html_escape(p.nonce) + "\">document.forms[0].submit();</script>\n";
  Page page;
  page.html = document("Signing in", body);
  page.csp = std::string(kBaseCsp) + "; script-src 'nonce-" + p.nonce + "'; form-action " +
             origin_of(p.acs_url);
  return page;
}

Page message_page(std::string_view title, std::string_view message) {
  return Page{document(title, "<main><h1>" + html_escape(title) + "</h1>\n<p>" +
                                  html_escape(message) + "</p>\n</main>\n"),
              kBaseCsp};
}

}  // namespace edgeidp::portal
