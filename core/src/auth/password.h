// Password hashes (crypt(3) strings: yescrypt, bcrypt as written by
// `htpasswd -B`, sha512crypt) through libxcrypt's reentrant crypt_rn;
// bcrypt checks through bcrypt.h, which can pause between rounds.
#pragma once

#include <string>
#include <string_view>

#include "auth/bcrypt.h"
#include "common/result.h"
#include "directory/directory.h"

namespace edgeidp::auth {

// verify_password is true when 'password' hashes to 'hash'. The comparison
// is constant-time. An unknown or malformed hash is false. 'pause' (may be
// null) is called between a bcrypt hash's rounds.
bool verify_password(std::string_view hash, std::string_view password, Pause pause = nullptr);

// hash_password makes a new hash. method: "yescrypt" (default), "bcrypt" or
// "sha512crypt"; cost 0 picks libxcrypt's default for the method.
Result<std::string> hash_password(std::string_view password, std::string_view method = "yescrypt",
                                  unsigned long cost = 0);

// authenticate checks a username and password against the directory. It
// does the same hashing work whether or not the user exists, so response
// time does not tell who has an account; inactive users and users without
// a password never authenticate. Errors are Errc::denied with a message for
// the log (never shown to the person logging in).
Result<const directory::User *> authenticate(const directory::Directory &dir,
                                             std::string_view username, std::string_view password,
                                             Pause pause = nullptr);

}  // namespace edgeidp::auth
