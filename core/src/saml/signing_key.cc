#include "saml/signing_key.h"

#include <time.h>

#include <ctime>
#include <utility>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>

#include "common/file.h"
#include "common/strings.h"
#include "saml/errors.h"

namespace edgeidp::saml {
namespace {

// AWS accepts 1024-bit keys in metadata, but NIST retired them in 2013.
constexpr int kMinRsaBits = 2048;

struct Parts {
  Owned<EVP_PKEY> pkey;
  Owned<X509> cert;
  std::string cert_pem;
  std::string cert_b64;
  std::string fingerprint;
  std::int64_t not_after = 0;
};

Error crypto_error(const std::string &where, const std::string &what) {
  return make_error(Errc::crypto, where + ": " + what);
}

Owned<BIO> memory_bio(std::string_view data) {
  return Owned<BIO>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Without a callback OpenSSL would prompt for a passphrase on the terminal,
// which inside a web server blocks or reads garbage.
int refuse_passphrase(char * /*buf*/, int /*size*/, int /*rwflag*/, void * /*u*/) {
  return -1;
}

Result<Owned<EVP_PKEY>> parse_key(std::string_view pem, const std::string &where) {
  Owned<BIO> bio = memory_bio(pem);
  if (!bio) {
    return crypto_error(where, "out of memory: " + detail::openssl_reason());
  }
  Owned<EVP_PKEY> pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!pkey) {
    const std::string reason = detail::openssl_reason();
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
      return crypto_error(where,
                          "the private key is encrypted; store it unencrypted with mode "
                          "0600 (openssl pkey -in KEY -out KEY.plain)");
    }
    return crypto_error(where, "not a PEM private key: " + reason);
  }
  // RSA-PSS keys cannot make the PKCS#1 v1.5 signatures of rsa-sha256.
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
    const char *type = EVP_PKEY_get0_type_name(pkey.get());
    return crypto_error(where, std::string("the key is ") + (type != nullptr ? type : "not RSA") +
                                   "; SAML signing needs an RSA key (rsa-sha256)");
  }
  const int bits = EVP_PKEY_get_bits(pkey.get());
  if (bits < kMinRsaBits) {
    return crypto_error(where, "the RSA key has " + std::to_string(bits) + " bits; at least " +
                                   std::to_string(kMinRsaBits) + " are required");
  }
  return pkey;
}

Result<Owned<X509>> parse_cert(std::string_view pem, const std::string &where) {
  Owned<BIO> bio = memory_bio(pem);
  if (!bio) {
    return crypto_error(where, "out of memory: " + detail::openssl_reason());
  }
  Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, refuse_passphrase, nullptr));
  if (!cert) {
    return crypto_error(where, "not a PEM certificate: " + detail::openssl_reason());
  }
  return cert;
}

bool to_unix(const ASN1_TIME *t, std::int64_t *out) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return false;
  }
  *out = static_cast<std::int64_t>(timegm(&tm));
  return true;
}

// X.509 validity is inclusive at both ends (RFC 5280 section 4.1.2.5).
Result<std::int64_t> check_validity(X509 *cert, std::int64_t now, const std::string &where) {
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  if (!to_unix(X509_get0_notBefore(cert), &not_before) ||
      !to_unix(X509_get0_notAfter(cert), &not_after)) {
    ERR_clear_error();
    return crypto_error(where, "the certificate has an unreadable validity period");
  }
  if (now < not_before) {
    return crypto_error(where, "the certificate is not valid before " + iso8601(not_before) +
                                   " (now " + iso8601(now) + ")");
  }
  if (now > not_after) {
    return crypto_error(
        where, "the certificate expired at " + iso8601(not_after) + " (now " + iso8601(now) + ")");
  }
  return not_after;
}

Result<std::string> cert_to_pem(X509 *cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return crypto_error("certificate", "cannot write PEM: " + detail::openssl_reason());
  }
  char *data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<std::string> cert_to_der(X509 *cert) {
  unsigned char *der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) {
    return crypto_error("certificate", "cannot encode DER: " + detail::openssl_reason());
  }
  std::string out(reinterpret_cast<const char *>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<Parts> parse(std::string_view key_pem, std::string_view cert_pem, std::int64_t now,
                    const std::string &key_where, const std::string &cert_where) {
  Parts p;
  auto pkey = parse_key(key_pem, key_where);
  if (!pkey) {
    return pkey.take_error();
  }
  p.pkey = std::move(*pkey);
  auto cert = parse_cert(cert_pem, cert_where);
  if (!cert) {
    return cert.take_error();
  }
  p.cert = std::move(*cert);
  if (X509_check_private_key(p.cert.get(), p.pkey.get()) != 1) {
    return crypto_error(key_where, "the private key does not match the certificate in " +
                                       cert_where + " (" + detail::openssl_reason() + ")");
  }
  auto not_after = check_validity(p.cert.get(), now, cert_where);
  if (!not_after) {
    return not_after.take_error();
  }
  p.not_after = *not_after;
  auto pem = cert_to_pem(p.cert.get());
  if (!pem) {
    return pem.take_error();
  }
  p.cert_pem = std::move(*pem);
  auto der = cert_to_der(p.cert.get());
  if (!der) {
    return der.take_error();
  }
  p.cert_b64 = base64_encode(*der);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(der->data(), der->size(), md, &md_len, EVP_sha256(), nullptr) != 1) {
    return crypto_error(cert_where, "cannot hash the certificate: " + detail::openssl_reason());
  }
  p.fingerprint = hex_encode(std::string_view(reinterpret_cast<const char *>(md), md_len));
  // Successful PEM decoding may leave tried-and-rejected decoder errors behind.
  ERR_clear_error();
  return p;
}

}  // namespace

Result<std::shared_ptr<const SigningKey>> SigningKey::load(const std::string &key_file,
                                                           const std::string &cert_file,
                                                           std::int64_t now) {
  auto key_pem = read_secret_file(key_file);
  if (!key_pem) {
    return key_pem.take_error();
  }
  auto cert_pem = read_file(cert_file);
  if (!cert_pem) {
    return cert_pem.take_error();
  }
  auto parts = parse(*key_pem, *cert_pem, now, key_file, cert_file);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!parts) {
    return parts.take_error();
  }
  auto key = std::make_shared<SigningKey>();
  key->pkey_ = std::move(parts->pkey);
  key->cert_ = std::move(parts->cert);
  key->cert_pem_ = std::move(parts->cert_pem);
  key->cert_b64_ = std::move(parts->cert_b64);
  key->fingerprint_ = std::move(parts->fingerprint);
  key->not_after_ = parts->not_after;
  return std::shared_ptr<const SigningKey>(std::move(key));
}

Result<std::shared_ptr<const SigningKey>> SigningKey::from_pem(std::string_view key_pem,
                                                               std::string_view cert_pem,
                                                               std::int64_t now) {
  auto parts = parse(key_pem, cert_pem, now, "private key", "certificate");
  if (!parts) {
    return parts.take_error();
  }
  auto key = std::make_shared<SigningKey>();
  key->pkey_ = std::move(parts->pkey);
  key->cert_ = std::move(parts->cert);
  key->cert_pem_ = std::move(parts->cert_pem);
  key->cert_b64_ = std::move(parts->cert_b64);
  key->fingerprint_ = std::move(parts->fingerprint);
  key->not_after_ = parts->not_after;
  return std::shared_ptr<const SigningKey>(std::move(key));
}

Owned<xmlSecKey> SigningKey::xmlsec_key() const {
  // An up-ref'd EVP_PKEY instead of PEM re-parsing: per-signature cost stays
  // two small allocations, and every thread shares one immutable RSA key.
  if (pkey_ == nullptr || EVP_PKEY_up_ref(pkey_.get()) != 1) {
    return nullptr;
  }
  Owned<xmlSecKeyData> data(xmlSecOpenSSLEvpKeyAdopt(pkey_.get()));
  if (!data) {
    EVP_PKEY_free(pkey_.get());  // adopt failed, so the reference is still ours
    ERR_clear_error();
    return nullptr;
  }
  Owned<xmlSecKey> key(xmlSecKeyCreate());
  if (!key) {
    return nullptr;
  }
  if (xmlSecKeySetValue(key.get(), data.get()) < 0) {
    ERR_clear_error();
    return nullptr;
  }
  data.release();  // the key owns its value now
  return key;
}

}  // namespace edgeidp::saml
