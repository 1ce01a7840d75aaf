// bcrypt ($2b$, $2y$), so that a hash can pause between its rounds. A
// password check runs on a helper thread at idle priority; when a server
// thread keeps the CPU busy the scheduler still hands the helper a whole
// tick now and then (4 ms here), and requests wait that long. Paused every
// round (~50 µs at cost 10), the helper gives the CPU back at once.
// libxcrypt has no such hook, so this is the one hash computed here;
// everything else goes through crypt_rn (password.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace edgeidp::auth {

// Called between bcrypt's rounds; may be null.
using Pause = void (*)();

// bcrypt_hash returns the crypt(3) string for 'password' with the salt and
// cost of 'setting' (a setting or a whole hash), exactly as libxcrypt
// would, or nullopt when this code does not take that setting: not $2b$ or
// $2y$ (or $2a$ with a 7-bit password, where all three agree), or
// malformed. The caller then asks crypt_rn.
std::optional<std::string> bcrypt_hash(std::string_view setting, std::string_view password,
                                       Pause pause);

}  // namespace edgeidp::auth
