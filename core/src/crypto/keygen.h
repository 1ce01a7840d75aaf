#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace edgeidp::crypto {

struct KeyPair {
  std::string key_pem;   // PKCS#8 private key
  std::string cert_pem;  // self-signed X.509 certificate
};

// make_self_signed creates an RSA key of 'bits' and a self-signed SHA-256
// certificate for common_name, valid from now - 1 hour for 'days' days.
// This is what AWS expects of a SAML IdP signing certificate: it trusts the
// certificate in the uploaded metadata, not a CA chain.
Result<KeyPair> make_self_signed(const std::string &common_name, int bits, int days,
                                 std::int64_t now);

}  // namespace edgeidp::crypto
