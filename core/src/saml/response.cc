#include "saml/response.h"

#include <string_view>
#include <utility>

#include <libxml/tree.h>

#include "common/owned.h"
#include "common/strings.h"
#include "saml/dsig.h"
#include "saml/xml.h"

namespace edgeidp::saml {
namespace {

using detail::Tree;

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

// The Assertion with its content, below 'parent'; returns its Issuer,
// after which its signature goes.
xmlNode *add_assertion(Tree &t, xmlNode *parent, xmlNs *saml, const ResponseInput &in,
                       const Ids &ids, const Times &times) {
  const bool has_attributes = !in.attributes.empty();
  xmlNode *assertion = t.element(parent, saml, "Assertion");
  xmlNs *xsi = nullptr;
  if (has_attributes) {
    t.ns(assertion, kXsNs, "xs");
    xsi = t.ns(assertion, kXsiNs, "xsi");
  }
  t.attr(assertion, "ID", ids.assertion);
  t.attr(assertion, "IssueInstant", times.now);
  t.attr(assertion, "Version", "2.0");
  xmlNode *issuer = t.text_element(assertion, saml, "Issuer", in.issuer);
  add_subject(t, assertion, saml, in, times);
  add_conditions(t, assertion, saml, in, times);
  add_authn_statement(t, assertion, saml, times, ids.session_index);
  if (has_attributes) {
    add_attributes(t, assertion, saml, xsi, in.attributes);
  }
  return issuer;
}

struct Built {
  Owned<xmlDoc> doc;
  xmlNode *response_issuer = nullptr;
  xmlNode *assertion_issuer = nullptr;
};

Result<Built> build_tree(const ResponseInput &in, const Ids &ids, const Times &times) {
  Built b;
  b.doc.reset(xmlNewDoc(detail::x("1.0")));
  if (!b.doc) {
    return make_error(Errc::internal, "out of memory building the SAML response");
  }
  Tree t(b.doc.get());
  xmlNode *root = t.root(kProtocolNs, "samlp", "Response");
  xmlNs *samlp = root != nullptr ? root->ns : nullptr;
  xmlNs *saml = t.ns(root, kAssertionNs, "saml");
  t.attr(root, "ID", ids.response);
  t.attr(root, "Version", "2.0");
  t.attr(root, "IssueInstant", times.now);
  t.attr(root, "Destination", in.destination);
  if (!in.in_response_to.empty()) {
    t.attr(root, "InResponseTo", in.in_response_to);
  }
  b.response_issuer = t.text_element(root, saml, "Issuer", in.issuer);
  xmlNode *status = t.element(root, samlp, "Status");
  t.attr(t.element(status, samlp, "StatusCode"), "Value", kStatusSuccess);
  b.assertion_issuer = add_assertion(t, root, saml, in, ids, times);
  if (!t.ok()) {
    return make_error(Errc::internal, "out of memory building the SAML response");
  }
  return b;
}

// Adds the signature templates first and signs afterwards, the assertion
// before the response, so the response's digest covers the assertion's
// finished signature.
Status sign(const ResponseInput &in, const Built &b, const Ids &ids, const SigningKey &key) {
  const bool xs_prefix = !in.attributes.empty();
  xmlNode *assertion_sig = nullptr;
  xmlNode *response_sig = nullptr;
  if (in.sign_assertion) {
    auto sig = detail::add_signature_template(b.doc.get(), b.assertion_issuer, ids.assertion,
                                              xs_prefix, key);
    if (!sig) {
      return sig.take_error();
    }
    assertion_sig = *sig;
  }
  if (in.sign_response) {
    auto sig = detail::add_signature_template(b.doc.get(), b.response_issuer, ids.response,
                                              xs_prefix, key);
    if (!sig) {
      return sig.take_error();
    }
    response_sig = *sig;
  }
  for (xmlNode *sig : {assertion_sig, response_sig}) {
    if (sig != nullptr) {
      if (auto st = detail::sign_enveloped(b.doc.get(), sig, xs_prefix, key); !st) {
        return st;
      }
    }
  }
  return {};
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
  const Times times{iso8601(in.now), iso8601(in.now - in.clock_skew), iso8601(in.now + in.validity),
                    iso8601(in.authn_instant != 0 ? in.authn_instant : in.now)};
  auto built = build_tree(in, *ids, times);
  if (!built) {
    return built.take_error();
  }
  if (auto st = sign(in, *built, *ids, key); !st) {
    return st.take_error();
  }
  return detail::serialize(built->doc.get(), false);
}

}  // namespace edgeidp::saml
