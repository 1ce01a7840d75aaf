// The one way edgeidp parses XML it did not write (AuthnRequests, SP
// metadata): size-checked first, UTF-8 only, no DTD at all (so no XXE and
// no entity expansion), no network, and inflate with a bounded output.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/owned.h"
#include "common/result.h"

namespace edgeidp::sso {

// parse_untrusted_xml returns the parsed document, or an Errc::invalid /
// Errc::limit error: over max_bytes, not UTF-8, a DOCTYPE anywhere, or not
// well-formed.
Result<Owned<xmlDoc>> parse_untrusted_xml(std::string_view bytes, std::size_t max_bytes);

// inflate_raw undoes DEFLATE without zlib headers (the SAML HTTP-Redirect
// binding), refusing output over max_out bytes: an inflate bomb stops at
// the limit, not at the memory limit.
Result<std::string> inflate_raw(std::string_view in, std::size_t max_out);

// Namespace-aware element helpers for walking a parsed document.
inline constexpr const char *kNsProtocol = "urn:oasis:names:tc:SAML:2.0:protocol";
inline constexpr const char *kNsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion";
inline constexpr const char *kNsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata";
inline constexpr const char *kNsDsig = "http://www.w3.org/2000/09/xmldsig#";

bool is_element(const xmlNode *node, const char *ns, const char *name);
// first_child returns the first child element with that name, or null.
const xmlNode *first_child(const xmlNode *parent, const char *ns, const char *name);
// attr returns an attribute's value (no namespace), or empty.
std::string attr(const xmlNode *node, const char *name);
bool has_attr(const xmlNode *node, const char *name);
// text returns the element's text content.
std::string text(const xmlNode *node);

}  // namespace edgeidp::sso
