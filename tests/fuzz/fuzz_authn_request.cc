// AuthnRequest decoding and signature checks, both bindings. The low two
// bits of the first byte pick what the rest is:
//   0  an HTTP-Redirect query string (percent, base64, inflate, XML); when
//      it carries SigAlg or Signature, verify_redirect_signature runs too
//   1  an HTTP-POST SAMLRequest value (base64, XML); when the request
//      carries a ds:Signature, verify_post_signature runs too
//   2  the XML itself, deflated and base64-encoded here, then decoded as a
//      Redirect message: the mutations reach the XML parser and the
//      AuthnRequest reader instead of dying in base64 or inflate
//   3  the XML itself, base64-encoded here, decoded as a POST message and
//      verified as if the SP's metadata said it signs: the enveloped-
//      signature checks (reference lookup, duplicate IDs, xmlsec) run on
//      it, twice on the same request, and a request that verified once
//      must verify again (verifying leaves the document as it was)
#include <cstdlib>
#include <ctime>

#include <zlib.h>

#include "common/strings.h"
#include "crypto/keygen.h"
#include "fuzz.h"
#include "saml/library.h"
#include "sso/authn_request.h"

namespace {

std::string raw_deflate(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef *>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const bool ready = edgeidp::saml::library_init().ok();
  static const std::vector<std::string> certs = [] {
    auto kp = edgeidp::crypto::make_self_signed("fuzz-sp", 2048, 30, std::time(nullptr));
    return kp ? std::vector<std::string>{kp->cert_pem} : std::vector<std::string>{};
  }();
  if (!ready || size == 0) {
    return 0;
  }
  const std::string_view rest = as_text(data + 1, size - 1);
  switch (data[0] & 3) {
    case 0:
      if (auto msg = edgeidp::sso::parse_redirect_query(rest)) {
        (void)edgeidp::sso::decode_redirect(*msg);
        if (!msg->signature.empty() || !msg->sig_alg.empty()) {
          (void)edgeidp::sso::verify_redirect_signature(*msg, certs);
        }
      }
      break;
    case 1:
      if (auto req = edgeidp::sso::decode_post(rest); req && req->signed_xml) {
        (void)edgeidp::sso::verify_post_signature(*req, certs);
      }
      break;
    case 2: {
      edgeidp::sso::RedirectMessage msg;
      msg.saml_request = edgeidp::base64_encode(raw_deflate(rest));
      (void)edgeidp::sso::decode_redirect(msg);
      break;
    }
    default:
      if (auto req = edgeidp::sso::decode_post(edgeidp::base64_encode(rest))) {
        const bool first = edgeidp::sso::verify_post_signature(*req, certs).ok();
        const bool again = edgeidp::sso::verify_post_signature(*req, certs).ok();
        if (first && !again) {
          std::abort();
        }
      }
      break;
  }
  return 0;
}
