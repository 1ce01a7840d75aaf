// AuthnRequest decoding, both bindings. The first byte picks the binding:
// even = HTTP-Redirect query string, odd = HTTP-POST base64 body.
#include "fuzz.h"
#include "saml/library.h"
#include "sso/authn_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const bool ready = edgeidp::saml::library_init().ok();
  if (!ready || size == 0) {
    return 0;
  }
  const std::string_view rest = as_text(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    auto msg = edgeidp::sso::parse_redirect_query(rest);
    if (msg) {
      (void)edgeidp::sso::decode_redirect(*msg, {}, false);
    }
  } else {
    (void)edgeidp::sso::decode_post(rest, {}, false);
  }
  return 0;
}
