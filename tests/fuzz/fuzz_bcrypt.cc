// Differential: edgeidp's bcrypt against libxcrypt's. Whenever bcrypt_hash
// takes a setting, its string must be libxcrypt's, byte for byte. The
// input is "setting\npassword"; settings with a cost above 6 are skipped
// (too slow to fuzz), NUL bytes end the password as they would in C.
#include <cstdlib>
#include <memory>
#include <string>

#include <crypt.h>

#include "auth/bcrypt.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view in = as_text(data, size);
  const auto nl = in.find('\n');
  if (nl == std::string_view::npos || nl > 100) {
    return 0;
  }
  const std::string setting(in.substr(0, nl));
  std::string password(in.substr(nl + 1));
  password = password.substr(0, password.find('\0'));
  if (setting.size() >= 6 && (setting[4] != '0' || setting[5] > '6')) {
    return 0;
  }
  const auto ours = edgeidp::auth::bcrypt_hash(setting, password, nullptr);
  if (!ours) {
    return 0;
  }
  auto buf = std::make_unique<crypt_data>();
  const char *theirs = crypt_rn(password.c_str(), setting.c_str(), buf.get(), sizeof(crypt_data));
  if (theirs == nullptr || *ours != theirs) {
    std::abort();
  }
  return 0;
}
