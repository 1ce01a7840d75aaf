// Enveloped XML signatures (exclusive c14n, RSA-SHA256, SHA-256 digest) for
// the SAML documents saml/ builds itself. Internal to saml/.
#pragma once

#include <string>

#include <libxml/tree.h>

#include "common/result.h"
#include "saml/signing_key.h"

namespace edgeidp::saml::detail {

// add_signature_template inserts a ds:Signature right after 'after' (the
// Issuer, where the SAML schema puts it) that will sign 'after's parent,
// whose ID is 'id'. KeyInfo carries the certificate. 'xs_prefix' adds
// InclusiveNamespaces PrefixList="xs" to the reference's c14n. Returns the
// Signature element (owned by 'doc').
Result<xmlNode *> add_signature_template(xmlDoc *doc, xmlNode *after, const std::string &id,
                                         bool xs_prefix, const SigningKey &key);

// sign_enveloped fills in DigestValue and SignatureValue of a template made
// by add_signature_template. Everything the signature covers must be final.
Status sign_enveloped(xmlDoc *doc, xmlNode *signature, bool xs_prefix, const SigningKey &key);

}  // namespace edgeidp::saml::detail
