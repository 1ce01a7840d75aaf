#include "saml/library.h"

#include <cstdio>
#include <mutex>
#include <string>

#include <libxml/parser.h>
#include <openssl/err.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmlsec.h>

#include "saml/errors.h"

namespace edgeidp::saml {
namespace {

// The one piece of process-wide state in saml/: how many library_init calls
// are outstanding. nginx runs init_module again on every reload, so a second
// init must be a no-op rather than a re-initialisation under live users.
std::mutex g_init_mutex;
int g_init_count = 0;

// First xmlsec error of the current operation on this thread. A plain char
// array: trivially destructible, so no per-thread destructor is registered
// in the web server's threads.
thread_local char t_xmlsec_error[256];

const char *or_empty(const char *s) {
  return s != nullptr ? s : "";
}

// Replaces xmlsec's default callback, which prints every error to stderr
// (the web server's error log at best, a closed fd at worst). xmlsec reports
// the innermost failure first, so the first message is the root cause.
void record_xmlsec_error(const char * /*file*/, int /*line*/, const char *func, const char *object,
                         const char *subject, int /*reason*/, const char *msg) {
  if (t_xmlsec_error[0] != '\0') {
    return;
  }
  std::snprintf(t_xmlsec_error, sizeof t_xmlsec_error, "%s: %s%s%s%s%s", or_empty(func),
                or_empty(object), object != nullptr ? ": " : "", or_empty(subject),
                subject != nullptr ? ": " : "", or_empty(msg));
}

Error init_error(const char *what) {
  return make_error(Errc::crypto,
                    std::string("cannot initialise the XML security library: ") + what + " failed");
}

}  // namespace

namespace detail {

std::string openssl_reason() {
  const unsigned long err = ERR_get_error();
  std::string out;
  if (err == 0) {
    out = "unknown error";
  } else {
    const char *lib = ERR_lib_error_string(err);
    const char *reason = ERR_reason_error_string(err);
    if (lib != nullptr) {
      out += lib;
      out += ": ";
    }
    out += reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(err));
  }
  ERR_clear_error();
  return out;
}

void reset_xmlsec_error() {
  t_xmlsec_error[0] = '\0';
}

std::string xmlsec_error() {
  std::string out = t_xmlsec_error[0] != '\0' ? t_xmlsec_error : "unknown xmlsec error";
  t_xmlsec_error[0] = '\0';
  ERR_clear_error();
  return out;
}

}  // namespace detail

Status library_init() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (g_init_count > 0) {
    ++g_init_count;
    return {};
  }
  xmlInitParser();
  if (xmlSecInit() < 0) {
    return init_error("xmlSecInit");
  }
  if (xmlSecCheckVersion() != 1) {
    xmlSecShutdown();
    return make_error(Errc::crypto,
                      "the xmlsec library loaded at run time is not compatible with "
                      "version " XMLSEC_VERSION ", which edgeidp was built with");
  }
  if (xmlSecCryptoAppInit(nullptr) < 0) {
    xmlSecShutdown();
    return init_error("xmlSecCryptoAppInit");
  }
  if (xmlSecCryptoInit() < 0) {
    xmlSecCryptoAppShutdown();
    xmlSecShutdown();
    return init_error("xmlSecCryptoInit");
  }
  // After xmlSecCryptoInit, which installs the OpenSSL backend's own
  // (printing) callback.
  xmlSecErrorsSetCallback(record_xmlsec_error);
  ERR_clear_error();
  g_init_count = 1;
  return {};
}

void library_shutdown() {
  std::lock_guard<std::mutex> lock(g_init_mutex);
  if (g_init_count == 0 || --g_init_count > 0) {
    return;
  }
  xmlSecCryptoShutdown();
  xmlSecCryptoAppShutdown();
  xmlSecShutdown();
  xmlCleanupParser();
}

}  // namespace edgeidp::saml
