#include "saml/response.h"

#include <string_view>
#include <utility>

#include <libxml/tree.h>
#include <libxml/valid.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>

#include "common/owned.h"
#include "common/strings.h"
#include "saml/errors.h"
#include "saml/xml.h"

namespace edgeidp::saml {
namespace {

using detail::Tree;
using detail::x;

constexpr const char *kProtocolNs = "urn:oasis:names:tc:SAML:2.0:protocol";
constexpr const char *kAssertionNs = "urn:oasis:names:tc:SAML:2.0:assertion";
constexpr const char *kXsNs = "http://www.w3.org/2001/XMLSchema";
constexpr const char *kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";
constexpr const char *kStatusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success";
constexpr const char *kBearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
constexpr const char *kPasswordProtectedTransport =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

Status check_required(const std::string &text, const char *field) {
  return detail::check_xml_required(text, std::string("SAML response: ") + field);
}

Status check_text(const std::string &text, const std::string &field) {
  return detail::check_xml_text(text, "SAML response: " + field);
}

Status check_attributes(const std::vector<AttributeValues> &attributes) {
  for (const AttributeValues &a : attributes) {
    Status st = check_required(a.name, "attribute name");
    if (st) {
      st = check_text(a.name_format, "attribute " + a.name + " name format");
    }
    for (std::size_t i = 0; st && i < a.values.size(); ++i) {
      st = check_text(a.values[i], "attribute " + a.name + " value");
    }
    if (!st) {
      return st;
    }
  }
  return {};
}

Status check_input(const ResponseInput &in) {
  if (auto st = check_required(in.issuer, "issuer"); !st) {
    return st;
  }
  if (auto st = check_required(in.destination, "destination"); !st) {
    return st;
  }
  if (auto st = check_required(in.audience, "audience"); !st) {
    return st;
  }
  if (auto st = check_required(in.name_id, "name_id"); !st) {
    return st;
  }
  if (auto st = check_text(in.name_id_format, "name_id_format"); !st) {
    return st;
  }
  if (auto st = check_text(in.in_response_to, "in_response_to"); !st) {
    return st;
  }
  if (auto st = check_text(in.session_index, "session_index"); !st) {
    return st;
  }
  if (in.validity <= 0 || in.clock_skew < 0) {
    return make_error(Errc::invalid,
                      "SAML response: validity must be positive and clock skew not negative");
  }
  return check_attributes(in.attributes);
}

struct Ids {
  std::string response;
  std::string assertion;
  std::string session_index;
};

Result<Ids> make_ids(const ResponseInput &in, Random &rng) {
  Ids ids{random_id(rng), random_id(rng), in.session_index};
  if (ids.session_index.empty()) {
    ids.session_index = random_id(rng);
  }
  if (ids.response.empty() || ids.assertion.empty() || ids.session_index.empty()) {
    return make_error(Errc::crypto, "SAML response: the random generator failed");
  }
  return ids;
}

// An enveloped-signature template, placed right after 'issuer' as the
// schema wants, with the certificate already in KeyInfo: the key given to
// xmlsec carries no certificate, so xmlsec leaves KeyInfo alone.
xmlNode *add_signature_template(xmlDoc *doc, xmlNode *issuer, const std::string &id,
                                bool xs_prefix, const SigningKey &key) {
  xmlNode *sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId,
                                                 xmlSecTransformRsaSha256Id, nullptr, x("ds"));
  if (sig == nullptr) {
    return nullptr;
  }
  if (xmlAddNextSibling(issuer, sig) == nullptr) {
    xmlFreeNode(sig);
    return nullptr;
  }
  const std::string uri = "#" + id;
  xmlNode *ref =
      xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, nullptr, x(uri), nullptr);
  if (ref == nullptr || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == nullptr) {
    return nullptr;
  }
  xmlNode *c14n = xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
  if (c14n == nullptr) {
    return nullptr;
  }
  // "xs" only occurs inside xsi:type values, which exclusive c14n does not
  // see as a use; listing it keeps its binding under the signature
  // (Shibboleth does the same).
  if (xs_prefix && xmlSecTmplTransformAddC14NInclNamespaces(c14n, x("xs")) < 0) {
    return nullptr;
  }
  xmlNode *key_info = xmlSecTmplSignatureEnsureKeyInfo(sig, nullptr);
  xmlNode *x509 = key_info != nullptr ? xmlSecTmplKeyInfoAddX509Data(key_info) : nullptr;
  xmlNode *cert = x509 != nullptr ? xmlSecTmplX509DataAddCertificate(x509) : nullptr;
  if (cert == nullptr) {
    return nullptr;
  }
  const std::string &b64 = key.cert_base64();
  xmlNodeAddContentLen(cert, x(b64), static_cast<int>(b64.size()));
  if (cert->children == nullptr) {
    return nullptr;
  }
  return sig;
}

Status sign(xmlNode *sig, const SigningKey &key, const char *what) {
  Owned<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  if (!ctx) {
    return make_error(Errc::internal, "out of memory creating a signature context");
  }
  ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
  ctx->signKey = key.xmlsec_key().release();  // the context owns the key from here
  if (ctx->signKey == nullptr) {
    return make_error(Errc::crypto, "cannot hand the signing key to xmlsec");
  }
  detail::reset_xmlsec_error();
  if (xmlSecDSigCtxSign(ctx.get(), sig) < 0) {
    return make_error(Errc::crypto,
                      std::string("cannot sign the SAML ") + what + ": " + detail::xmlsec_error());
  }
  return {};
}

struct Times {
  std::string now;
  std::string not_before;
  std::string not_on_or_after;
  std::string authn_instant;
};

void add_subject(Tree &t, xmlNode *assertion, xmlNs *saml, const ResponseInput &in,
                 const Times &times) {
  xmlNode *subject = t.element(assertion, saml, "Subject");
  xmlNode *name_id = t.text_element(subject, saml, "NameID", in.name_id);
  t.attr(name_id, "Format", in.name_id_format.empty() ? kNameIdUnspecified : in.name_id_format);
  xmlNode *conf = t.element(subject, saml, "SubjectConfirmation");
  t.attr(conf, "Method", kBearer);
  xmlNode *data = t.element(conf, saml, "SubjectConfirmationData");
  t.attr(data, "NotOnOrAfter", times.not_on_or_after);
  t.attr(data, "Recipient", in.destination);
  if (!in.in_response_to.empty()) {
    t.attr(data, "InResponseTo", in.in_response_to);
  }
}

void add_conditions(Tree &t, xmlNode *assertion, xmlNs *saml, const ResponseInput &in,
                    const Times &times) {
  xmlNode *cond = t.element(assertion, saml, "Conditions");
  t.attr(cond, "NotBefore", times.not_before);
  t.attr(cond, "NotOnOrAfter", times.not_on_or_after);
  xmlNode *restriction = t.element(cond, saml, "AudienceRestriction");
  t.text_element(restriction, saml, "Audience", in.audience);
}

void add_authn_statement(Tree &t, xmlNode *assertion, xmlNs *saml, const Times &times,
                         const std::string &session_index) {
  // No SessionNotOnOrAfter: it would cap the AWS console session below the
  // role's own duration.
  xmlNode *stmt = t.element(assertion, saml, "AuthnStatement");
  t.attr(stmt, "AuthnInstant", times.authn_instant);
  t.attr(stmt, "SessionIndex", session_index);
  xmlNode *ctx = t.element(stmt, saml, "AuthnContext");
  t.text_element(ctx, saml, "AuthnContextClassRef", kPasswordProtectedTransport);
}

void add_attributes(Tree &t, xmlNode *assertion, xmlNs *saml, xmlNs *xsi,
                    const std::vector<AttributeValues> &attributes) {
  xmlNode *stmt = t.element(assertion, saml, "AttributeStatement");
  for (const AttributeValues &a : attributes) {
    xmlNode *attr = t.element(stmt, saml, "Attribute");
    t.attr(attr, "Name", a.name);
    t.attr(attr, "NameFormat", a.name_format.empty() ? kNameFormatUri : a.name_format);
    for (const std::string &v : a.values) {
      xmlNode *value = t.text_element(attr, saml, "AttributeValue", v);
      t.attr(value, xsi, "type", "xs:string");
    }
  }
}

struct Built {
  Owned<xmlDoc> doc;
  xmlNode *response_sig = nullptr;   // null when the response is not signed
  xmlNode *assertion_sig = nullptr;  // null when the assertion is not signed
};

Result<Built> build_tree(const ResponseInput &in, const SigningKey &key, const Ids &ids,
                         const Times &times) {
  Built b;
  b.doc.reset(xmlNewDoc(x("1.0")));
  if (!b.doc) {
    return make_error(Errc::internal, "out of memory building the SAML response");
  }
  Tree t(b.doc.get());
  xmlNode *root = t.root(kProtocolNs, "samlp", "Response");
  xmlNs *samlp = root != nullptr ? root->ns : nullptr;
  xmlNs *saml = t.ns(root, kAssertionNs, "saml");
  t.id_attr(root, ids.response);
  t.attr(root, "Version", "2.0");
  t.attr(root, "IssueInstant", times.now);
  t.attr(root, "Destination", in.destination);
  if (!in.in_response_to.empty()) {
    t.attr(root, "InResponseTo", in.in_response_to);
  }
  xmlNode *issuer = t.text_element(root, saml, "Issuer", in.issuer);
  xmlNode *status = t.element(root, samlp, "Status");
  t.attr(t.element(status, samlp, "StatusCode"), "Value", kStatusSuccess);

  const bool has_attributes = !in.attributes.empty();
  xmlNode *assertion = t.element(root, saml, "Assertion");
  xmlNs *xsi = nullptr;
  if (has_attributes) {
    t.ns(assertion, kXsNs, "xs");
    xsi = t.ns(assertion, kXsiNs, "xsi");
  }
  t.id_attr(assertion, ids.assertion);
  t.attr(assertion, "IssueInstant", times.now);
  t.attr(assertion, "Version", "2.0");
  xmlNode *assertion_issuer = t.text_element(assertion, saml, "Issuer", in.issuer);
  add_subject(t, assertion, saml, in, times);
  add_conditions(t, assertion, saml, in, times);
  add_authn_statement(t, assertion, saml, times, ids.session_index);
  if (has_attributes) {
    add_attributes(t, assertion, saml, xsi, in.attributes);
  }
  if (!t.ok()) {
    return make_error(Errc::internal, "out of memory building the SAML response");
  }
  if (in.sign_assertion) {
    b.assertion_sig =
        add_signature_template(b.doc.get(), assertion_issuer, ids.assertion, has_attributes, key);
    if (b.assertion_sig == nullptr) {
      return make_error(Errc::internal, "cannot create the assertion's signature template");
    }
  }
  if (in.sign_response) {
    b.response_sig = add_signature_template(b.doc.get(), issuer, ids.response, has_attributes, key);
    if (b.response_sig == nullptr) {
      return make_error(Errc::internal, "cannot create the response's signature template");
    }
  }
  return b;
}

}  // namespace

Result<std::string> build_response(const ResponseInput &in, const SigningKey &key, Random &rng) {
  if (auto st = check_input(in); !st) {
    return st.take_error();
  }
  auto ids = make_ids(in, rng);
  if (!ids) {
    return ids.take_error();
  }
  const Times times{iso8601(in.now), iso8601(in.now - in.clock_skew),
                    iso8601(in.now + in.validity),
                    iso8601(in.authn_instant != 0 ? in.authn_instant : in.now)};
  auto built = build_tree(in, key, *ids, times);
  if (!built) {
    return built.take_error();
  }
  // The assertion first: the response's digest then covers the assertion's
  // finished signature.
  if (built->assertion_sig != nullptr) {
    if (auto st = sign(built->assertion_sig, key, "assertion"); !st) {
      return st.take_error();
    }
  }
  if (built->response_sig != nullptr) {
    if (auto st = sign(built->response_sig, key, "response"); !st) {
      return st.take_error();
    }
  }
  return detail::serialize(built->doc.get(), false);
}

}  // namespace edgeidp::saml
