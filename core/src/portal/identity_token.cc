#include "portal/identity_token.h"

#include <nlohmann/json.hpp>

namespace edgeidp::portal {
namespace {

// Host names are case-insensitive; the token names the host it was made
// for (aud), so an upstream can refuse one minted for another vhost.
std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + 32);
    }
  }
  return out;
}

}  // namespace

IdentityTokens::IdentityTokens(std::shared_ptr<const crypto::JwsSigner> signer, std::string issuer,
                               std::int64_t lifetime)
    : signer_(std::move(signer)), issuer_(std::move(issuer)), lifetime_(lifetime) {}

std::string IdentityTokens::claims(const directory::User &user, std::string_view host,
                                   std::int64_t now) const {
  const nlohmann::json j = {{"iss", issuer_},      {"aud", lower(host)},    {"sub", user.username},
                            {"email", user.email}, {"name", user.name},     {"groups", user.groups},
                            {"iat", now},          {"exp", now + lifetime_}};
  // Directory text is valid UTF-8 (checked on load); replace, never throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::shared_ptr<const std::string> IdentityTokens::get(
    const std::shared_ptr<const directory::Directory> &dir, const directory::User &user,
    std::string_view host, std::int64_t now) const {
  std::string key = user.username;
  key.push_back('\n');
  key += lower(host);
  {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = cache_.find(key);
    if (it != cache_.end() && !it->second.dir.owner_before(dir) &&
        !dir.owner_before(it->second.dir) && now >= it->second.issued &&
        now - it->second.issued < lifetime_ / 2) {
      return it->second.token;
    }
  }
  auto token = signer_->sign(claims(user, host, now));  // outside the lock: the slow part
  if (!token) {
    return nullptr;
  }
  auto shared = std::make_shared<const std::string>(std::move(*token));
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kMaxEntries) {
    cache_.clear();  // many users at once: start over rather than grow
  }
  cache_.insert_or_assign(std::move(key), Entry{dir, now, shared});
  return shared;
}

}  // namespace edgeidp::portal
