// Incoming SAML AuthnRequests (SP-initiated sign-in) over the HTTP-Redirect
// and HTTP-POST bindings. Decoding is bounded at every step (base64 size,
// inflate output, XML size) and refuses DTDs. Decoding needs no keys, so the
// caller can read the Issuer, find the SP, and then verify the signature
// with that SP's certificates: verify_redirect_signature for the query of
// the Redirect binding, verify_post_signature for the enveloped XML
// signature of the POST binding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/owned.h"
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
  // HTTP-POST binding: the parsed document the fields above were read from,
  // kept so verify_post_signature checks the element they came from without
  // a second parse. Null for the Redirect binding, whose signature covers
  // the query string instead.
  Owned<xmlDoc> doc;
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

// decode_redirect: base64, raw inflate (bounded), parse. It does not look
// at the signature: see verify_redirect_signature.
Result<AuthnRequest> decode_redirect(const RedirectMessage &msg);
// decode_post: base64, parse. It does not check the signature either; the
// result keeps the parsed document for verify_post_signature.
Result<AuthnRequest> decode_post(std::string_view saml_request_b64);

// verify_redirect_signature checks Signature over signed_octets with SigAlg
// (RSA-SHA256 or RSA-SHA512) against any of the certificates.
Status verify_redirect_signature(const RedirectMessage &msg,
                                 const std::vector<std::string> &certs_pem);

// verify_post_signature checks the enveloped XML signature of a request from
// decode_post against any of the certificates: one ds:Signature among the
// root's children, whose one Reference is the root's own ID (claimed by no
// other attribute), with only exclusive c14n, SHA-256 and RSA-SHA256. So
// what was signed is the element the fields were read from, and fields
// changed after decoding are refused. It fails when the request is not
// signed, when certs_pem is empty, and for a request from decode_redirect
// (no document). It registers the root's ID in the document while it runs
// and removes it again, so only one thread at a time may verify a request.
Status verify_post_signature(const AuthnRequest &request,
                             const std::vector<std::string> &certs_pem);

// parse_xml_time reads an xs:dateTime in UTC ("2026-11-23T12:00:00Z",
// fractions allowed); -1 if it is not one.
std::int64_t parse_xml_time(std::string_view text);

}  // namespace edgeidp::sso
