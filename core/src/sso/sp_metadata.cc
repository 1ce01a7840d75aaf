#include "sso/sp_metadata.h"

#include <algorithm>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/file.h"
#include "sso/untrusted_xml.h"

namespace edgeidp::sso {
namespace {

constexpr std::size_t kMaxMetadata = 1u << 20;
constexpr const char *kPostBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

bool is_https_url(const std::string &s) {
  return s.rfind("https://", 0) == 0 && s.size() > 8 &&
         std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

// The base64 DER in ds:X509Certificate as PEM, checked to parse.
Result<std::string> cert_pem(const std::string &b64_text) {
  std::string b64;
  for (const char c : b64_text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      b64 += c;
    }
  }
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    pem += b64.substr(i, 64) + "\n";
  }
  pem += "-----END CERTIFICATE-----\n";
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Owned<X509> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (!cert) {
    return make_error(Errc::invalid, "a signing certificate in the SP metadata does not parse");
  }
  return pem;
}

}  // namespace

Result<SpMetadata> parse_sp_metadata(std::string_view xml) {
  auto doc = parse_untrusted_xml(xml, kMaxMetadata);
  if (!doc) {
    return doc.take_error();
  }
  const xmlNode *root = xmlDocGetRootElement(doc->get());
  if (!is_element(root, kNsMetadata, "EntityDescriptor")) {
    return make_error(Errc::invalid,
                      "expected an md:EntityDescriptor as the root element (SAML 2.0 "
                      "metadata from the service provider)");
  }
  SpMetadata md;
  md.entity_id = attr(root, "entityID");
  if (md.entity_id.empty()) {
    return make_error(Errc::invalid, "the EntityDescriptor has no entityID");
  }
  const xmlNode *sp = first_child(root, kNsMetadata, "SPSSODescriptor");
  if (sp == nullptr) {
    return make_error(Errc::invalid,
                      "no SPSSODescriptor: this is not service provider metadata "
                      "(did you give the IdP metadata?)");
  }
  md.authn_requests_signed = attr(sp, "AuthnRequestsSigned") == "true";
  std::vector<std::pair<bool, std::string>> acs;
  for (const xmlNode *c = sp->children; c != nullptr; c = c->next) {
    if (is_element(c, kNsMetadata, "AssertionConsumerService")) {
      if (attr(c, "Binding") != kPostBinding) {
        continue;
      }
      const std::string loc = attr(c, "Location");
      if (!is_https_url(loc)) {
        return make_error(Errc::invalid, "AssertionConsumerService Location \"" + loc +
                                             "\" is not an https:// URL");
      }
      acs.emplace_back(attr(c, "isDefault") == "true", loc);
    } else if (is_element(c, kNsMetadata, "NameIDFormat")) {
      md.name_id_formats.push_back(text(c));
    } else if (is_element(c, kNsMetadata, "KeyDescriptor")) {
      const std::string use = attr(c, "use");
      if (!use.empty() && use != "signing") {
        continue;
      }
      const xmlNode *ki = first_child(c, kNsDsig, "KeyInfo");
      const xmlNode *data = first_child(ki, kNsDsig, "X509Data");
      for (const xmlNode *x = data == nullptr ? nullptr : data->children; x != nullptr;
           x = x->next) {
        if (is_element(x, kNsDsig, "X509Certificate")) {
          auto pem = cert_pem(text(x));
          if (!pem) {
            return pem.take_error();
          }
          md.signing_certs_pem.push_back(std::move(*pem));
        }
      }
    }
  }
  if (acs.empty()) {
    return make_error(Errc::invalid, "no AssertionConsumerService with the HTTP-POST binding");
  }
  std::stable_partition(acs.begin(), acs.end(), [](const auto &a) { return a.first; });
  for (auto &a : acs) {
    md.acs_urls.push_back(std::move(a.second));
  }
  return md;
}

Result<SpMetadata> load_sp_metadata(const std::string &path) {
  auto text = read_file(path, kMaxMetadata + 1);
  if (!text) {
    return text.take_error();
  }
  auto md = parse_sp_metadata(*text);
  if (!md) {
    Error e = md.take_error();
    e.message = path + ": " + e.message;
    return e;
  }
  return md;
}

}  // namespace edgeidp::sso
