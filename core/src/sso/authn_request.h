// Incoming SAML AuthnRequests (SP-initiated sign-in) over the HTTP-Redirect
// and HTTP-POST bindings. Decoding is bounded at every step (base64 size,
// inflate output, XML size) and refuses DTDs; signatures are verified with
// the SP metadata's certificates when it has any.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace edgeidp::sso {

struct AuthnRequest {
  std::string id;
  std::string issuer;
  std::string acs_url;           // AssertionConsumerServiceURL, may be empty
  std::string destination;       // may be empty
  std::string protocol_binding;  // may be empty
  std::string name_id_format;    // NameIDPolicy/@Format, may be empty
  std::int64_t issue_instant = 0;
  bool force_authn = false;
  bool signed_xml = false;  // carried an XML signature (POST binding)
};

// The HTTP-Redirect binding's query, with the raw (still URL-encoded)
// values the signature covers.
struct RedirectMessage {
  std::string saml_request;   // decoded base64 text
  std::string relay_state;    // decoded
  std::string sig_alg;        // decoded
  std::string signature;      // decoded base64 text
  std::string signed_octets;  // "SAMLRequest=...&RelayState=...&SigAlg=..." as received
  bool has_relay_state = false;
};

inline constexpr std::size_t kMaxEncodedRequest = 64 * 1024;
inline constexpr std::size_t kMaxInflated = 128 * 1024;
inline constexpr std::size_t kMaxRelayState = 1024;

// parse_redirect_query splits a query string into the binding's fields.
Result<RedirectMessage> parse_redirect_query(std::string_view query);

// decode_redirect: base64, raw inflate (bounded), parse.
Result<AuthnRequest> decode_redirect(const RedirectMessage &msg,
                                     const std::vector<std::string> &certs_pem,
                                     bool require_signature);
// decode_post: base64, parse; verifies an enveloped XML signature over the
// request when certs are given and the request has one or one is required.
Result<AuthnRequest> decode_post(std::string_view saml_request_b64,
                                 const std::vector<std::string> &certs_pem, bool require_signature);

// verify_redirect_signature checks Signature over signed_octets with SigAlg
// (RSA-SHA256 or RSA-SHA512) against any of the certificates.
Status verify_redirect_signature(const RedirectMessage &msg,
                                 const std::vector<std::string> &certs_pem);

// parse_xml_time reads an xs:dateTime in UTC ("2026-11-23T12:00:00Z",
// fractions allowed); -1 if it is not one.
std::int64_t parse_xml_time(std::string_view text);

}  // namespace edgeidp::sso
