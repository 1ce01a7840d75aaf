#include "sso/authn_request.h"

#include <ctime>
#include <tuple>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <xmlsec/crypto.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "common/owned.h"
#include "common/strings.h"
#include "portal/http.h"
#include "sso/untrusted_xml.h"

namespace edgeidp::sso {
namespace {

constexpr const char *kRsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
constexpr const char *kRsaSha512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
constexpr const char *kPostBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

Error bad(const std::string &why) {
  return make_error(Errc::invalid, "AuthnRequest: " + why);
}

// Reads the request's fields from the root element of a parsed document.
Result<AuthnRequest> read_request(const xmlNode *root) {
  if (!is_element(root, kNsProtocol, "AuthnRequest")) {
    return bad("the message is not a samlp:AuthnRequest");
  }
  if (attr(root, "Version") != "2.0") {
    return bad("unsupported SAML Version \"" + attr(root, "Version") + "\" (expected 2.0)");
  }
  AuthnRequest r;
  r.id = attr(root, "ID");
  if (r.id.empty() || r.id.size() > 256) {
    return bad("missing or oversized ID");
  }
  r.issue_instant = parse_xml_time(attr(root, "IssueInstant"));
  if (r.issue_instant < 0) {
    return bad("missing or malformed IssueInstant");
  }
  r.acs_url = attr(root, "AssertionConsumerServiceURL");
  r.destination = attr(root, "Destination");
  r.protocol_binding = attr(root, "ProtocolBinding");
  if (!r.protocol_binding.empty() && r.protocol_binding != kPostBinding) {
    return bad("ProtocolBinding \"" + r.protocol_binding + "\" is not HTTP-POST");
  }
  // AssertionConsumerServiceIndex is not looked up: without a URL, the
  // response goes to the metadata's default ACS (what AWS lists first).
  r.force_authn = attr(root, "ForceAuthn") == "true";
  const xmlNode *issuer = first_child(root, kNsAssertion, "Issuer");
  if (issuer == nullptr) {
    return bad("no Issuer");
  }
  r.issuer = text(issuer);
  if (const xmlNode *policy = first_child(root, kNsProtocol, "NameIDPolicy")) {
    r.name_id_format = attr(policy, "Format");
  }
  r.signed_xml = first_child(root, kNsDsig, "Signature") != nullptr;
  return r;
}

// Parses the XML once; keep_doc leaves the document in the result for
// verify_post_signature.
Result<AuthnRequest> parse_request(std::string_view xml, bool keep_doc) {
  auto doc = parse_untrusted_xml(xml, kMaxInflated);
  if (!doc) {
    return bad(doc.error().message);
  }
  auto r = read_request(xmlDocGetRootElement(doc->get()));
  if (r && keep_doc) {
    r->doc = std::move(*doc);
  }
  return r;
}

// Every field read_request sets, to compare a request with its document.
auto fields(const AuthnRequest &r) {
  return std::tie(r.id, r.issuer, r.acs_url, r.destination, r.protocol_binding, r.name_id_format,
                  r.issue_instant, r.force_authn, r.signed_xml);
}

Owned<EVP_PKEY> public_key(const std::string &cert_pem) {
  Owned<BIO> bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  Owned<X509> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  Owned<EVP_PKEY> key(cert ? X509_get_pubkey(cert.get()) : nullptr);
  ERR_clear_error();
  return key;
}

// Verifies the enveloped signature of the request's root element: the one
// Reference must point at the root's ID, so what was signed is exactly what
// we read (no signature wrapping).
Status verify_xml_signature(xmlDoc *doc, const std::string &id,
                            const std::vector<std::string> &certs_pem) {
  xmlNode *root = xmlDocGetRootElement(doc);
  xmlNode *sig = nullptr;
  for (xmlNode *c = root->children; c != nullptr; c = c->next) {
    if (is_element(c, kNsDsig, "Signature")) {
      if (sig != nullptr) {
        return bad("more than one signature");
      }
      sig = c;
    }
  }
  if (sig == nullptr) {
    return bad("the request is not signed, and the SP metadata says it signs its requests");
  }
  // Registering the ID fails when another attribute (an xml:id) already
  // claims the value: the reference must resolve to the root and nothing
  // else. The registration is undone on return, so verifying leaves the
  // document as decode_post left it.
  xmlAttr *id_attr = xmlHasProp(root, reinterpret_cast<const xmlChar *>("ID"));
  if (id_attr == nullptr ||
      xmlAddID(nullptr, doc, reinterpret_cast<const xmlChar *>(id.c_str()), id_attr) == nullptr) {
    return bad("duplicate or unusable ID");
  }
  struct Unregister {
    xmlDoc *doc;
    xmlAttr *attr;
    ~Unregister() { xmlRemoveID(doc, attr); }
  } unregister{doc, id_attr};
  for (const auto &pem : certs_pem) {
    Owned<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
    if (!ctx) {
      return make_error(Errc::internal, "cannot create a signature context");
    }
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    if (xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId) < 0 ||
        xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformExclC14NId) < 0 ||
        xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha256Id) < 0 ||
        xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformExclC14NId) < 0 ||
        xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformRsaSha256Id) < 0) {
      return make_error(Errc::internal, "cannot restrict signature transforms");
    }
    ctx->signKey = xmlSecCryptoAppKeyLoadMemory(
        reinterpret_cast<const xmlSecByte *>(pem.data()), static_cast<xmlSecSize>(pem.size()),
        xmlSecKeyDataFormatCertPem, nullptr, nullptr, nullptr);
    if (ctx->signKey == nullptr) {
      continue;
    }
    const bool ok = xmlSecDSigCtxVerify(ctx.get(), sig) >= 0 &&
                    ctx->status == xmlSecDSigStatusSucceeded &&
                    xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1;
    if (ok) {
      auto *ref = static_cast<xmlSecDSigReferenceCtxPtr>(
          xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0));
      const std::string uri =
          ref != nullptr && ref->uri != nullptr ? reinterpret_cast<const char *>(ref->uri) : "";
      ERR_clear_error();
      if (uri == "#" + id) {
        return {};
      }
      return bad("the signature does not cover the request itself");
    }
    ERR_clear_error();
  }
  return bad("the XML signature does not verify with the SP metadata's certificate");
}

}  // namespace

std::int64_t parse_xml_time(std::string_view s) {
  // YYYY-MM-DDThh:mm:ss[.fraction]Z
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return -1;
  }
  auto num = [&](std::size_t at, std::size_t len, int &out) {
    out = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return false;
      }
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) ||
      !num(17, 2, sec)) {
    return -1;
  }
  if (s.size() > 20) {
    if (s[19] != '.' || s.size() < 22) {
      return -1;
    }
    for (std::size_t i = 20; i + 1 < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') {
        return -1;
      }
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return -1;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm));
}

Result<RedirectMessage> parse_redirect_query(std::string_view query) {
  RedirectMessage m;
  std::string raw_request, raw_relay, raw_alg;
  bool have_request = false, have_alg = false;
  std::size_t fields = 0;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (pair.empty()) {
      continue;
    }
    if (++fields > 16) {
      return bad("too many query fields");
    }
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    auto value = portal::percent_decode(raw, true);
    if (!value) {
      return bad("bad percent-encoding in " + std::string(name));
    }
    std::string *slot = nullptr;
    if (name == "SAMLRequest") {
      slot = have_request ? nullptr : &m.saml_request;
      have_request = true;
      raw_request = std::string(raw);
    } else if (name == "RelayState") {
      slot = m.has_relay_state ? nullptr : &m.relay_state;
      m.has_relay_state = true;
      raw_relay = std::string(raw);
    } else if (name == "SigAlg") {
      slot = have_alg ? nullptr : &m.sig_alg;
      have_alg = true;
      raw_alg = std::string(raw);
    } else if (name == "Signature") {
      slot = m.signature.empty() ? &m.signature : nullptr;
    } else {
      continue;  // other parameters are not part of the binding
    }
    if (slot == nullptr) {
      return bad("repeated " + std::string(name));
    }
    *slot = std::move(*value);
  }
  if (!have_request) {
    return bad("no SAMLRequest");
  }
  if (m.relay_state.size() > kMaxRelayState) {
    return bad("RelayState over " + std::to_string(kMaxRelayState) + " bytes");
  }
  // SAML bindings 3.4.4.1: the signature covers the fields as they were
  // URL-encoded in the request, in this order.
  m.signed_octets = "SAMLRequest=" + raw_request;
  if (m.has_relay_state) {
    m.signed_octets += "&RelayState=" + raw_relay;
  }
  m.signed_octets += "&SigAlg=" + raw_alg;
  return m;
}

Status verify_redirect_signature(const RedirectMessage &msg,
                                 const std::vector<std::string> &certs_pem) {
  const EVP_MD *md = nullptr;
  if (msg.sig_alg == kRsaSha256) {
    md = EVP_sha256();
  } else if (msg.sig_alg == kRsaSha512) {
    md = EVP_sha512();
  } else {
    return bad(msg.sig_alg.empty() ? "the request is not signed (no SigAlg/Signature)"
                                   : "unsupported SigAlg \"" + msg.sig_alg + "\"");
  }
  auto sig = base64_decode(msg.signature, 1024);
  if (!sig || sig->empty()) {
    return bad("Signature is not valid base64");
  }
  for (const auto &pem : certs_pem) {
    Owned<EVP_PKEY> key = public_key(pem);
    Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (!key || !ctx) {
      continue;
    }
    const bool ok =
        EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char *>(sig->data()),
                         sig->size(),
                         reinterpret_cast<const unsigned char *>(msg.signed_octets.data()),
                         msg.signed_octets.size()) == 1;
    ERR_clear_error();
    if (ok) {
      return {};
    }
  }
  return bad("the signature does not verify with the SP metadata's certificate");
}

Result<AuthnRequest> decode_redirect(const RedirectMessage &msg) {
  if (msg.saml_request.size() > kMaxEncodedRequest) {
    return bad("SAMLRequest over " + std::to_string(kMaxEncodedRequest) + " bytes");
  }
  auto deflated = base64_decode(msg.saml_request, kMaxEncodedRequest);
  if (!deflated) {
    return bad("SAMLRequest is not valid base64");
  }
  auto xml = inflate_raw(*deflated, kMaxInflated);
  if (!xml) {
    return bad(xml.error().message);
  }
  return parse_request(*xml, false);
}

Result<AuthnRequest> decode_post(std::string_view saml_request_b64) {
  if (saml_request_b64.size() > kMaxEncodedRequest) {
    return bad("SAMLRequest over " + std::to_string(kMaxEncodedRequest) + " bytes");
  }
  auto xml = base64_decode(saml_request_b64, kMaxEncodedRequest);
  if (!xml) {
    return bad("SAMLRequest is not valid base64");
  }
  return parse_request(*xml, true);
}

Status verify_post_signature(const AuthnRequest &request,
                             const std::vector<std::string> &certs_pem) {
  if (!request.doc) {
    return make_error(Errc::internal,
                      "AuthnRequest: no XML document to verify (not from the HTTP-POST binding)");
  }
  if (certs_pem.empty()) {
    return bad("a signature is required but the SP metadata has no signing certificate");
  }
  // The caller acts on the fields; the signature covers the document. Read
  // them again from the root, so a request edited since decode_post (or a
  // document moved between requests) cannot pass with another's signature.
  auto again = read_request(xmlDocGetRootElement(request.doc.get()));
  if (!again || fields(*again) != fields(request)) {
    return bad("the request's fields do not match its XML document");
  }
  return verify_xml_signature(request.doc.get(), request.id, certs_pem);
}

}  // namespace edgeidp::sso
