// Tokens for the signed identity header ([headers] jwt_key). Signing costs
// tens of microseconds, far more than the rest of a protected request, so a
// token is made once per user and host and reused for the first half of
// its lifetime: an upstream always gets one with at least half its lifetime
// left. A new directory (a group change) makes a new token at once.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crypto/jws.h"
#include "directory/directory.h"

namespace edgeidp::portal {

class IdentityTokens {
 public:
  IdentityTokens(std::shared_ptr<const crypto::JwsSigner> signer, std::string issuer,
                 std::int64_t lifetime);

  // get returns the token for a user of 'dir' on 'host', or null if
  // signing failed (the caller then refuses the request: an upstream that
  // expects a token must not get a request without one).
  std::shared_ptr<const std::string> get(const std::shared_ptr<const directory::Directory> &dir,
                                         const directory::User &user, std::string_view host,
                                         std::int64_t now) const;

  // claims is the JSON payload of a token (exposed for tests).
  std::string claims(const directory::User &user, std::string_view host, std::int64_t now) const;

 private:
  struct Entry {
    // The directory the token was made from: a weak_ptr, so old versions
    // are not kept alive, and compared by owner, so a new version at the
    // address of a freed one still counts as new.
    std::weak_ptr<const directory::Directory> dir;
    std::int64_t issued = 0;
    std::shared_ptr<const std::string> token;
  };
  static constexpr std::size_t kMaxEntries = 4096;

  const std::shared_ptr<const crypto::JwsSigner> signer_;
  const std::string issuer_;
  const std::int64_t lifetime_;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, Entry> cache_;
};

}  // namespace edgeidp::portal
