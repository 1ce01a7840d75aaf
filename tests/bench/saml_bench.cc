// SAML response throughput against the raw RSA-2048 signature rate of the
// same key, measured in one run on one thread. The ratios are the result:
// absolute rates depend on the machine, the ratios show what XML building,
// canonicalisation and serialization cost on top of the RSA operation.
//
//   saml_bench [seconds per measurement, default 6]
//
// The three measurements run interleaved in rounds, so a change in machine
// load during the run affects all three alike.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/owned.h"
#include "common/random.h"
#include "common/strings.h"
#include "saml/library.h"
#include "saml/response.h"
#include "saml/signing_key.h"

using namespace edgeidp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRounds = 3;

std::string bio_string(BIO *bio) {
  char *data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// A fresh RSA-2048 key and a self-signed certificate, valid around 'now'.
std::shared_ptr<const saml::SigningKey> make_key(std::int64_t now) {
  Owned<EVP_PKEY> pkey(EVP_RSA_gen(2048));
  Owned<X509> cert(X509_new());
  if (!pkey || !cert) {
    return nullptr;
  }
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now - 86400));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(now + 86400));
  X509_set_pubkey(cert.get(), pkey.get());
  X509_NAME *name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char *>("edgeidp bench"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  Owned<BIO> key_bio(BIO_new(BIO_s_mem()));
  Owned<BIO> cert_bio(BIO_new(BIO_s_mem()));
  if (X509_sign(cert.get(), pkey.get(), EVP_sha256()) <= 0 || !key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return nullptr;
  }
  auto key = saml::SigningKey::from_pem(bio_string(key_bio.get()), bio_string(cert_bio.get()), now);
  if (!key) {
    std::fprintf(stderr, "saml_bench: %s\n", key.error().describe().c_str());
    return nullptr;
  }
  return *key;
}

// A response as idp/ would ask for it for AWS: two roles, a session name.
saml::ResponseInput aws_input(std::int64_t now, bool sign_response) {
  saml::ResponseInput in;
  in.issuer = "https://idp.example.org/saml";
  in.destination = "https://signin.aws.amazon.com/saml";
  in.audience = "urn:amazon:webservices";
  in.name_id = "alice@example.org";
  in.name_id_format = saml::kNameIdPersistent;
  in.now = now;
  in.attributes = {
      {"https://aws.amazon.com/SAML/Attributes/Role",
       "",
       {"arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/edgeidp",
        "arn:aws:iam::123456789012:role/Dev,arn:aws:iam::123456789012:saml-provider/edgeidp"}},
      {"https://aws.amazon.com/SAML/Attributes/RoleSessionName", "", {"alice@example.org"}},
  };
  in.sign_assertion = true;
  in.sign_response = sign_response;
  return in;
}

struct Tally {
  long ops = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? ops / seconds : 0; }
};

// Runs 'op' until 'seconds' have passed; false if op failed.
template <class Op>
bool measure(double seconds, Tally *tally, Op op) {
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  auto now = start;
  long ops = 0;
  while (now < end) {
    if (!op()) {
      return false;
    }
    ++ops;
    now = Clock::now();
  }
  tally->ops += ops;
  tally->seconds += std::chrono::duration<double>(now - start).count();
  return true;
}

// One RSA-SHA256 signature as any signer makes it in OpenSSL 3: initialise
// the digest-sign operation for the key, then sign.
bool raw_sign(EVP_MD_CTX *ctx, EVP_PKEY *pkey, const std::string &data) {
  unsigned char sig[512];
  size_t sig_len = sizeof sig;
  const bool ok =
      EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
      EVP_DigestSign(ctx, sig, &sig_len, reinterpret_cast<const unsigned char *>(data.data()),
                     data.size()) == 1;
  EVP_MD_CTX_reset(ctx);
  return ok;
}

bool response(const saml::ResponseInput &in, const saml::SigningKey &key, Random &rng,
              std::size_t *size) {
  auto xml = saml::build_response(in, key, rng);
  if (!xml) {
    std::fprintf(stderr, "saml_bench: %s\n", xml.error().describe().c_str());
    return false;
  }
  *size = base64_encode(*xml).size();
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 6.0;
  if (seconds <= 0) {
    std::fprintf(stderr, "usage: saml_bench [seconds per measurement]\n");
    return 2;
  }
  if (auto st = saml::library_init(); !st) {
    std::fprintf(stderr, "saml_bench: %s\n", st.error().describe().c_str());
    return 1;
  }
  const std::int64_t now = std::time(nullptr);
  auto key = make_key(now);
  Owned<EVP_MD_CTX> md_ctx(EVP_MD_CTX_new());
  if (!key || !md_ctx) {
    return 1;
  }
  const std::string kilobyte(1024, 'x');
  const saml::ResponseInput assertion_only = aws_input(now, false);
  const saml::ResponseInput both_signed = aws_input(now, true);
  SystemRandom rng;
  std::size_t b64_size = 0;
  std::size_t b64_size_both = 0;
  Tally raw, resp, both;
  const double slice = seconds / kRounds;
  for (int round = 0; round < kRounds; ++round) {
    const bool ok =
        measure(slice, &raw, [&] { return raw_sign(md_ctx.get(), key->pkey(), kilobyte); }) &&
        measure(slice, &resp, [&] { return response(assertion_only, *key, rng, &b64_size); }) &&
        measure(slice, &both, [&] { return response(both_signed, *key, rng, &b64_size_both); });
    if (!ok) {
      return 1;
    }
  }
  std::printf("raw_rsa_per_s %.1f\n", raw.rate());
  std::printf("response_per_s %.1f\n", resp.rate());
  std::printf("both_per_s %.1f\n", both.rate());
  std::printf("ratio response/raw_rsa %.3f\n", resp.rate() / raw.rate());
  std::printf("ratio both/raw_rsa %.3f\n", both.rate() / raw.rate());
  std::printf("# base64 response bytes: assertion signed %zu, both signed %zu\n", b64_size,
              b64_size_both);
  std::printf("# both signed needs two RSA signatures: its ceiling is 0.5 of raw_rsa\n");
  saml::library_shutdown();
  return 0;
}
