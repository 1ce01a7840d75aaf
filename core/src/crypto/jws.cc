#include "crypto/jws.h"

#include <array>

#include <nlohmann/json.hpp>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "common/file.h"
#include "common/strings.h"

namespace edgeidp::crypto {
namespace {

constexpr std::size_t kCoordinate = 32;  // P-256: 32-byte coordinates and r, s

Error openssl_error(const std::string &what) {
  const unsigned long e = ERR_peek_error();
  char buf[256] = "unknown error";
  if (e != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
  }
  ERR_clear_error();
  return make_error(Errc::crypto, what + ": " + buf);
}

int refuse_passphrase(char * /*buf*/, int /*size*/, int /*rwflag*/, void * /*u*/) {
  return -1;
}

std::string coordinate(const EVP_PKEY *key, const char *param) {
  BIGNUM *raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &raw) != 1) {
    return {};
  }
  const Owned<BIGNUM> bn(raw);
  std::array<unsigned char, kCoordinate> out{};
  if (BN_bn2binpad(bn.get(), out.data(), kCoordinate) != static_cast<int>(kCoordinate)) {
    return {};
  }
  return base64url_encode(
      std::string_view(reinterpret_cast<const char *>(out.data()), kCoordinate));
}

std::string sha256(std::string_view in) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  if (EVP_Digest(in.data(), in.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return std::string(reinterpret_cast<const char *>(md.data()), len);
}

}  // namespace

JwsSigner::JwsSigner(Owned<EVP_PKEY> key) : key_(std::move(key)) {
  const std::string x = coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X);
  const std::string y = coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y);
  if (x.empty() || y.empty()) {
    return;  // kid_ and jwks_ stay empty: from_pem refuses the key
  }
  // RFC 7638: the required members in lexicographic order, no whitespace.
  kid_ = base64url_encode(
      sha256(R"({"crv":"P-256","kty":"EC","x":")" + x + R"(","y":")" + y + R"("})"));
  const nlohmann::json jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"x", x},      {"y", y},
                              {"kid", kid_}, {"alg", "ES256"}, {"use", "sig"}};
  jwks_ = nlohmann::json{{"keys", nlohmann::json::array({jwk})}}.dump() + "\n";
  header_b64_ =
      base64url_encode(nlohmann::json{{"alg", "ES256"}, {"typ", "JWT"}, {"kid", kid_}}.dump());
}

Result<std::shared_ptr<const JwsSigner>> JwsSigner::load(const std::string &path) {
  auto pem = read_secret_file(path, 64u << 10);
  if (!pem) {
    return pem.take_error();
  }
  return from_pem(*pem, path);
}

Result<std::shared_ptr<const JwsSigner>> JwsSigner::from_pem(std::string_view pem,
                                                             const std::string &where) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Owned<EVP_PKEY> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr)
                          : nullptr);
  if (!key) {
    return openssl_error(where + ": not an unencrypted PEM private key");
  }
  char group[64] = "";
  std::size_t len = 0;
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC ||
      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &len) != 1 ||
      std::string_view(group, len) != "prime256v1") {
    ERR_clear_error();
    return make_error(Errc::crypto, where +
                                        ": the identity key must be an EC P-256 key (ES256); "
                                        "make one with: edgeidp keygen --identity-key FILE");
  }
  auto signer = std::make_shared<const JwsSigner>(std::move(key));
  if (signer->kid().empty() || signer->jwks().empty()) {
    return openssl_error(where + ": cannot read the public key");
  }
  return std::shared_ptr<const JwsSigner>(std::move(signer));
}

Result<std::string> JwsSigner::sign(std::string_view payload) const {
  std::string out = header_b64_;
  out.push_back('.');
  out += base64url_encode(payload);
  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  std::array<unsigned char, 80> der{};  // an ECDSA P-256 signature is at most 72 bytes
  std::size_t der_len = der.size();
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(md.get(), der.data(), &der_len,
                     reinterpret_cast<const unsigned char *>(out.data()), out.size()) != 1) {
    return openssl_error("cannot sign the identity header");
  }
  // JWS wants r || s, 32 bytes each (RFC 7518 3.4), not OpenSSL's DER.
  const unsigned char *p = der.data();
  const Owned<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  std::array<unsigned char, 2 * kCoordinate> raw{};
  if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), kCoordinate) != kCoordinate ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + kCoordinate, kCoordinate) !=
          kCoordinate) {
    return openssl_error("cannot encode the identity header's signature");
  }
  out.push_back('.');
  out += base64url_encode(std::string_view(reinterpret_cast<const char *>(raw.data()), raw.size()));
  return out;
}

Result<std::string> make_es256_key_pem() {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!key || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl_error("cannot make a P-256 key");
  }
  char *data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return openssl_error("cannot write the P-256 key");
  }
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace edgeidp::crypto
