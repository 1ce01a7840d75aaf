// The IdP's signing key and certificate, parsed once at config load and
// shared read-only by every signature.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/owned.h"
#include "common/result.h"

namespace edgeidp::saml {

class SigningKey {
 public:
  // load reads a PEM private key (a secret file: mode 0600/0400) and a PEM
  // certificate. It fails when the key does not match the certificate, the
  // certificate is expired or not yet valid at 'now', or the key is not RSA
  // of at least 2048 bits.
  static Result<std::shared_ptr<const SigningKey>> load(const std::string &key_file,
                                                        const std::string &cert_file,
                                                        std::int64_t now);
  // from_pem is load for PEM text already in memory (no permission check).
  static Result<std::shared_ptr<const SigningKey>> from_pem(std::string_view key_pem,
                                                            std::string_view cert_pem,
                                                            std::int64_t now);

  EVP_PKEY *pkey() const { return pkey_.get(); }
  X509 *cert() const { return cert_.get(); }
  // The certificate as PEM text, and as base64 DER (ds:X509Certificate).
  const std::string &cert_pem() const { return cert_pem_; }
  const std::string &cert_base64() const { return cert_b64_; }
  std::int64_t not_after() const { return not_after_; }
  // sha256 fingerprint of the DER certificate, hex: safe to log.
  const std::string &fingerprint() const { return fingerprint_; }

  // xmlsec_key returns a new xmlsec key sharing this key's EVP_PKEY (an
  // xmlSecDSigCtx takes ownership of the key it signs with). Null on failure.
  Owned<xmlSecKey> xmlsec_key() const;

 private:
  Owned<EVP_PKEY> pkey_;
  Owned<X509> cert_;
  std::string cert_pem_;
  std::string cert_b64_;
  std::string fingerprint_;
  std::int64_t not_after_ = 0;
};

}  // namespace edgeidp::saml
