#include "crypto/keygen.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "common/owned.h"

namespace edgeidp::crypto {
namespace {

Error openssl_error(const char *what) {
  const unsigned long e = ERR_peek_error();
  char buf[256] = "unknown error";
  if (e != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
  }
  ERR_clear_error();
  return make_error(Errc::crypto, std::string(what) + ": " + buf);
}

Result<std::string> bio_string(BIO *bio) {
  char *data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) {
    return openssl_error("cannot write PEM");
  }
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

Result<KeyPair> make_self_signed(const std::string &common_name, int bits, int days,
                                 std::int64_t now) {
  if (bits < 2048 || bits > 8192) {
    return make_error(Errc::invalid, "RSA key size must be 2048 to 8192 bits");
  }
  if (days < 1 || days > 36500) {
    return make_error(Errc::invalid, "certificate lifetime must be 1 to 36500 days");
  }
  Owned<EVP_PKEY> pkey(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (!pkey) {
    return openssl_error("cannot generate RSA key");
  }
  Owned<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) {
    return openssl_error("cannot create certificate");
  }
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    return openssl_error("cannot make serial number");
  }
  serial[0] &= 0x7f;  // a positive INTEGER
  BIGNUM *bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_ok) {
    return openssl_error("cannot set serial number");
  }
  time_t start = static_cast<time_t>(now - 3600);
  if (X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &start) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &start) == nullptr) {
    return openssl_error("cannot set validity");
  }
  X509_NAME *name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char *>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), pkey.get()) != 1 ||
      X509_sign(cert.get(), pkey.get(), EVP_sha256()) == 0) {
    return openssl_error("cannot sign certificate");
  }
  Owned<BIO> key_bio(BIO_new(BIO_s_mem()));
  Owned<BIO> cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return openssl_error("cannot encode PEM");
  }
  auto key_pem = bio_string(key_bio.get());
  auto cert_pem = bio_string(cert_bio.get());
  if (!key_pem) {
    return key_pem.take_error();
  }
  if (!cert_pem) {
    return cert_pem.take_error();
  }
  return KeyPair{std::move(*key_pem), std::move(*cert_pem)};
}

}  // namespace edgeidp::crypto
