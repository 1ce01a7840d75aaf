#include "saml/metadata.h"

#include <libxml/tree.h>

#include "common/owned.h"
#include "common/strings.h"
#include "saml/xml.h"

namespace edgeidp::saml {
namespace {

using detail::Tree;

constexpr const char *kMetadataNs = "urn:oasis:names:tc:SAML:2.0:metadata";
constexpr const char *kDsigNs = "http://www.w3.org/2000/09/xmldsig#";
constexpr const char *kProtocolNs = "urn:oasis:names:tc:SAML:2.0:protocol";
constexpr const char *kBindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
constexpr const char *kBindingPost = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

Status check_input(const IdpMetadataInput &in) {
  if (auto st = detail::check_xml_required(in.entity_id, "IdP metadata: entity ID"); !st) {
    return st;
  }
  if (auto st = detail::check_xml_required(in.sso_url, "IdP metadata: SSO URL"); !st) {
    return st;
  }
  for (const std::string &format : in.name_id_formats) {
    if (auto st = detail::check_xml_required(format, "IdP metadata: NameID format"); !st) {
      return st;
    }
  }
  return {};
}

void add_signing_key(Tree &t, xmlNode *sso, xmlNs *md, xmlNs *ds, const SigningKey &key) {
  xmlNode *descriptor = t.element(sso, md, "KeyDescriptor");
  t.attr(descriptor, "use", "signing");
  xmlNode *key_info = t.element(descriptor, ds, "KeyInfo");
  xmlNode *x509 = t.element(key_info, ds, "X509Data");
  t.text_element(x509, ds, "X509Certificate", key.cert_base64());
}

}  // namespace

Result<std::string> build_idp_metadata(const IdpMetadataInput &in, const SigningKey &key) {
  if (auto st = check_input(in); !st) {
    return st.take_error();
  }
  Owned<xmlDoc> doc(xmlNewDoc(detail::x("1.0")));
  if (!doc) {
    return make_error(Errc::internal, "out of memory building IdP metadata");
  }
  Tree t(doc.get());
  xmlNode *root = t.root(kMetadataNs, "md", "EntityDescriptor");
  xmlNs *md = root != nullptr ? root->ns : nullptr;
  xmlNs *ds = t.ns(root, kDsigNs, "ds");
  t.attr(root, "entityID", in.entity_id);
  if (in.valid_until != 0) {
    t.attr(root, "validUntil", iso8601(in.valid_until));
  }
  xmlNode *sso = t.element(root, md, "IDPSSODescriptor");
  t.attr(sso, "protocolSupportEnumeration", kProtocolNs);
  t.attr(sso, "WantAuthnRequestsSigned", "false");
  // Schema order: KeyDescriptor, NameIDFormat, then SingleSignOnService.
  add_signing_key(t, sso, md, ds, key);
  for (const std::string &format : in.name_id_formats) {
    t.text_element(sso, md, "NameIDFormat", format);
  }
  for (const char *binding : {kBindingRedirect, kBindingPost}) {
    xmlNode *service = t.element(sso, md, "SingleSignOnService");
    t.attr(service, "Binding", binding);
    t.attr(service, "Location", in.sso_url);
  }
  if (!t.ok()) {
    return make_error(Errc::internal, "out of memory building IdP metadata");
  }
  // Indented: people read and diff metadata; nothing signs it here.
  return detail::serialize(doc.get(), true);
}

}  // namespace edgeidp::saml
