#include "fuzz.h"
#include "saml/library.h"
#include "sso/sp_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const bool ready = edgeidp::saml::library_init().ok();
  if (ready) {
    (void)edgeidp::sso::parse_sp_metadata(as_text(data, size));
  }
  return 0;
}
