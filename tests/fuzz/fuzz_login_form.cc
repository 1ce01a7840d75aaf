// The login form body, query strings and return paths.
#include "fuzz.h"
#include "portal/http.h"
#include "portal/redirect.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view in = as_text(data, size);
  if (auto form = edgeidp::portal::parse_form(in)) {
    if (const std::string *r = edgeidp::portal::field(*form, "return_to")) {
      (void)edgeidp::portal::is_safe_return_path(*r);
    }
  }
  (void)edgeidp::portal::is_safe_return_path(in);
  (void)edgeidp::portal::percent_decode(in, true);
  return 0;
}
