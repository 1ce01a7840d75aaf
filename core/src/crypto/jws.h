// The signed identity header: a compact JWS (RFC 7515) with ES256 (ECDSA
// P-256, SHA-256), so that an upstream can verify who a request belongs to
// with the gateway's public key (served as a JWK Set, RFC 7517) instead of
// trusting whoever can reach it on the network.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/owned.h"
#include "common/result.h"

namespace edgeidp::crypto {

class JwsSigner {
 public:
  // load reads a PEM P-256 private key from a secret file (mode 0600).
  static Result<std::shared_ptr<const JwsSigner>> load(const std::string &path);
  // from_pem is load for key text already in memory; 'where' names it.
  static Result<std::shared_ptr<const JwsSigner>> from_pem(std::string_view pem,
                                                           const std::string &where);

  // sign returns header.payload.signature (base64url), or an error if
  // OpenSSL failed. 'payload' is the JSON claims text.
  Result<std::string> sign(std::string_view payload) const;

  // The key id: the RFC 7638 thumbprint of the public key.
  const std::string &kid() const { return kid_; }
  // jwks is {"keys":[{kty, crv, x, y, kid, alg, use}]}: the public key for
  // upstreams to verify with.
  const std::string &jwks() const { return jwks_; }

  // Use load/from_pem: they refuse a key whose public part cannot be read
  // (kid and jwks are then empty).
  explicit JwsSigner(Owned<EVP_PKEY> key);

 private:
  Owned<EVP_PKEY> key_;
  std::string kid_, jwks_, header_b64_;
};

// make_es256_key_pem returns a new P-256 private key as PKCS#8 PEM.
Result<std::string> make_es256_key_pem();

}  // namespace edgeidp::crypto
