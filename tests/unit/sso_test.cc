// Parsing what service providers send: SP metadata and AuthnRequests, with
// the hostile inputs the issue lists. Every case must fail cleanly. Signed
// requests are made here the way an SP makes them (xmlsec for the POST
// binding, a raw RSA signature over the query for the Redirect binding).
#include <ctime>
#include <vector>

#include <libxml/parser.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <zlib.h>

#include "common/file.h"
#include "common/owned.h"
#include "common/strings.h"
#include "crypto/keygen.h"
#include "portal/http.h"
#include "saml/library.h"
#include "sso/authn_request.h"
#include "sso/sp_metadata.h"
#include "sso/untrusted_xml.h"

// Last: cmocka defines macros that clash with core names.
#include "test_util.h"

using namespace edgeidp;

namespace {

const std::string kAwsMetadata =
    std::string(EDGEIDP_TEST_DATA) + "/aws-identity-center-sp-metadata.xml";

std::string deflate_raw(const std::string &in) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 16, '\0');
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef *>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string request_xml(const std::string &id = "_r1",
                        const std::string &instant = "2026-11-23T12:00:00Z",
                        const std::string &version = "2.0", const std::string &extra = "") {
  return "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
         "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"" +
         id + "\" Version=\"" + version + "\" IssueInstant=\"" + instant +
         "\" AssertionConsumerServiceURL=\"https://sp.example/acs\"" + extra +
         "><saml:Issuer>https://sp.example/entity</saml:Issuer>"
         "<samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\"/>"
         "</samlp:AuthnRequest>";
}

// Decodes a redirect-binding query; "" on success, else the error.
std::string redirect_error(const std::string &query) {
  auto msg = sso::parse_redirect_query(query);
  if (!msg) {
    return msg.error().message;
  }
  auto r = sso::decode_redirect(*msg);
  return r ? "" : r.error().message;
}

std::string redirect_query(const std::string &xml) {
  return "SAMLRequest=" + portal::percent_encode(base64_encode(deflate_raw(xml))) +
         "&RelayState=abc";
}

std::string post_error(const std::string &b64) {
  auto r = sso::decode_post(b64);
  return r ? "" : r.error().message;
}

// The SP's signing key and certificate, and a key pair that is not the
// SP's; generated once in the group setup (RSA key generation is slow).
crypto::KeyPair g_sp;
crypto::KeyPair g_other;

constexpr const char *kRsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

const xmlChar *x(const char *s) {
  return reinterpret_cast<const xmlChar *>(s);
}

// Signs an AuthnRequest as an SP's xmlsec does: an enveloped signature
// right after the Issuer, its one Reference to ref_uri (the root's own ID
// when null), exclusive c14n. Returns the serialized document, "" on
// failure.
std::string sign_xml(const std::string &xml, const std::string &key_pem,
                     const char *ref_uri = nullptr,
                     xmlSecTransformId sig_method = xmlSecTransformRsaSha256Id) {
  Owned<xmlDoc> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "sp.xml", nullptr, XML_PARSE_NONET));
  xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  xmlNode *issuer = root != nullptr ? xmlFirstElementChild(root) : nullptr;
  xmlAttr *id_attr = root != nullptr ? xmlHasProp(root, x("ID")) : nullptr;
  if (issuer == nullptr || id_attr == nullptr) {
    return {};
  }
  Owned<xmlChar> id(xmlNodeListGetString(doc.get(), id_attr->children, 1));
  const std::string uri =
      ref_uri == nullptr ? "#" + std::string(reinterpret_cast<const char *>(id.get())) : ref_uri;
  xmlNode *sig = xmlSecTmplSignatureCreateNsPref(doc.get(), xmlSecTransformExclC14NId, sig_method,
                                                 nullptr, x("ds"));
  if (sig == nullptr) {
    return {};
  }
  if (xmlAddNextSibling(issuer, sig) == nullptr) {
    xmlFreeNode(sig);
    return {};
  }
  xmlNode *ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, nullptr,
                                                 x(uri.c_str()), nullptr);
  if (ref == nullptr ||
      xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == nullptr ||
      xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == nullptr ||
      xmlAddID(nullptr, doc.get(), id.get(), id_attr) == nullptr) {
    return {};
  }
  Owned<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  if (!ctx) {
    return {};
  }
  ctx->signKey = xmlSecCryptoAppKeyLoadMemory(  // the context owns the key
      reinterpret_cast<const xmlSecByte *>(key_pem.data()), static_cast<xmlSecSize>(key_pem.size()),
      xmlSecKeyDataFormatPem, nullptr, nullptr, nullptr);
  if (ctx->signKey == nullptr || xmlSecDSigCtxSign(ctx.get(), sig) < 0) {
    ERR_clear_error();
    return {};
  }
  xmlChar *out = nullptr;
  int len = 0;
  xmlDocDumpMemory(doc.get(), &out, &len);
  Owned<xmlChar> owned(out);
  return out != nullptr ? std::string(reinterpret_cast<const char *>(out), len) : "";
}

// Decodes a POST-binding request from its XML and verifies its signature;
// "" when it verifies, else the error.
std::string post_verify(const std::string &xml, const std::vector<std::string> &certs) {
  auto r = sso::decode_post(base64_encode(xml));
  if (!r) {
    return "decode: " + r.error().message;
  }
  auto st = sso::verify_post_signature(*r, certs);
  return st ? "" : st.error().message;
}

// What decode_post read from a signed request, as plain values.
struct Decoded {
  std::string error;
  std::string id;
  std::string issuer;
  bool signed_xml = false;
  bool has_doc = false;
  std::string first_verify;   // "" when it verifies
  std::string second_verify;  // verifying again on the same request
  std::string edited_verify;  // after changing the Issuer
};

Decoded decode_and_verify_twice(const std::string &xml, const std::vector<std::string> &certs) {
  Decoded out;
  auto r = sso::decode_post(base64_encode(xml));
  if (!r) {
    out.error = r.error().message;
    return out;
  }
  out.id = r->id;
  out.issuer = r->issuer;
  out.signed_xml = r->signed_xml;
  out.has_doc = r->doc != nullptr;
  auto first = sso::verify_post_signature(*r, certs);
  out.first_verify = first ? "" : first.error().message;
  auto second = sso::verify_post_signature(*r, certs);
  out.second_verify = second ? "" : second.error().message;
  r->issuer = "https://evil.example/entity";
  auto edited = sso::verify_post_signature(*r, certs);
  out.edited_verify = edited ? "" : edited.error().message;
  return out;
}

// verify_post_signature on what decode_redirect made (no document).
std::string verify_redirect_decoded_as_post(const std::string &xml) {
  auto msg = sso::parse_redirect_query(redirect_query(xml));
  if (!msg) {
    return "parse: " + msg.error().message;
  }
  auto r = sso::decode_redirect(*msg);
  if (!r) {
    return "decode: " + r.error().message;
  }
  if (r->doc != nullptr) {
    return "decode_redirect kept a document";
  }
  auto st = sso::verify_post_signature(*r, {g_sp.cert_pem});
  return st ? "" : st.error().message;
}

// A Redirect-binding query signed as SAML bindings 3.4.4.1 says: RSA-SHA256
// over the URL-encoded fields in order.
std::string signed_redirect_query(const std::string &xml, const std::string &relay_state,
                                  const std::string &key_pem) {
  const std::string octets =
      "SAMLRequest=" + portal::percent_encode(base64_encode(deflate_raw(xml))) +
      "&RelayState=" + portal::percent_encode(relay_state) +
      "&SigAlg=" + portal::percent_encode(kRsaSha256);
  Owned<BIO> bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Owned<EVP_PKEY> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                          : nullptr);
  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!key || !md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char *>(octets.data()), octets.size()) != 1) {
    return {};
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char *>(sig.data()), &len,
                     reinterpret_cast<const unsigned char *>(octets.data()), octets.size()) != 1) {
    return {};
  }
  sig.resize(len);
  return octets + "&Signature=" + portal::percent_encode(base64_encode(sig));
}

// Parses a query and verifies its Redirect-binding signature; "" when it
// verifies, else the error.
std::string redirect_verify(const std::string &query, const std::vector<std::string> &certs) {
  auto msg = sso::parse_redirect_query(query);
  if (!msg) {
    return "parse: " + msg.error().message;
  }
  if (auto r = sso::decode_redirect(*msg); !r) {
    return "decode: " + r.error().message;
  }
  auto st = sso::verify_redirect_signature(*msg, certs);
  return st ? "" : st.error().message;
}

// Inserts 'what' before the first occurrence of 'before'.
std::string insert_before(std::string s, const std::string &before, const std::string &what) {
  const std::size_t at = s.find(before);
  return at == std::string::npos ? "" : s.insert(at, what);
}

std::string signature_element(const std::string &s) {
  const std::size_t from = s.find("<ds:Signature");
  const std::size_t to = s.find("</ds:Signature>");
  return from == std::string::npos || to == std::string::npos
             ? ""
             : s.substr(from, to + sizeof "</ds:Signature>" - 1 - from);
}

}  // namespace

static void aws_metadata_fixture(void **) {
  auto md = sso::load_sp_metadata(kAwsMetadata);
  assert_true(md.ok());
  assert_string_equal(md->entity_id.c_str(),
                      "https://eu-central-1.signin.aws.amazon.com/platform/saml/d-99677451d0");
  assert_int_equal(md->acs_urls.size(), 1);
  assert_string_equal(md->acs_urls[0].c_str(),
                      "https://eu-central-1.signin.aws.amazon.com/platform/saml/acs/"
                      "e4f71ab4-31d3-46cd-a105-2c2c38ec0032");
  assert_false(md->authn_requests_signed);
  assert_int_equal(md->signing_certs_pem.size(), 0);
}

static void bad_metadata(void **) {
  struct Case {
    const char *xml;
    const char *expect;
  };
  const Case cases[] = {
      {"<x/>", "expected an md:EntityDescriptor"},
      {"<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>", "no entityID"},
      {"<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"e\">"
       "<md:IDPSSODescriptor/></md:EntityDescriptor>",
       "not service provider metadata"},
      {"<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"e\">"
       "<md:SPSSODescriptor/></md:EntityDescriptor>",
       "no AssertionConsumerService"},
      {"<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"e\">"
       "<md:SPSSODescriptor><md:AssertionConsumerService "
       "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"http://x\"/>"
       "</md:SPSSODescriptor></md:EntityDescriptor>",
       "is not an https:// URL"},
      {"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
       "DTD"},
      {"<a><b></a>", "not well-formed"},
      {"\xff\xfe<\0x\0/\0>\0", "not valid UTF-8"},
  };
  for (const auto &c : cases) {
    auto md = sso::parse_sp_metadata(c.xml);
    if (md.ok() || !test::contains(md.error().message, c.expect)) {
      print_error("expected \"%s\", got \"%s\"\n", c.expect,
                  md.ok() ? "ok" : md.error().message.c_str());
      fail();
    }
  }
  auto missing = sso::load_sp_metadata("/nonexistent/md.xml");
  assert_false(missing.ok());
}

static void redirect_binding_decodes(void **) {
  auto msg = sso::parse_redirect_query(redirect_query(request_xml()));
  assert_true(msg.ok());
  assert_string_equal(msg->relay_state.c_str(), "abc");
  auto r = sso::decode_redirect(*msg);
  assert_true(r.ok());
  assert_string_equal(r->id.c_str(), "_r1");
  assert_string_equal(r->issuer.c_str(), "https://sp.example/entity");
  assert_string_equal(r->acs_url.c_str(), "https://sp.example/acs");
  assert_int_equal(r->issue_instant, 1795435200);
}

static void post_binding_decodes(void **) {
  auto r = sso::decode_post(base64_encode(request_xml("_p1")));
  assert_true(r.ok());
  assert_string_equal(r->id.c_str(), "_p1");
  assert_false(r->signed_xml);
  assert_non_null(r->doc.get());
}

static void hostile_requests_fail_cleanly(void **) {
  const std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
      "\"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>" +
      request_xml("&c;");
  const std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
      "\"file:///etc/passwd\">]>" +
      request_xml("_x", "2026-11-23T12:00:00Z", "2.0", " ProviderName=\"&x;\"");
  const std::string bomb = base64_encode(deflate_raw(std::string(20u << 20, 'a')));
  struct Case {
    std::string query;
    const char *expect;
  };
  const Case cases[] = {
      {redirect_query(laughs), "DTD"},
      {redirect_query(xxe), "DTD"},
      {"SAMLRequest=" + portal::percent_encode(bomb), "inflated data is over"},
      {"SAMLRequest=" + std::string(70000, 'A'), "over 65536 bytes"},
      {"SAMLRequest=%%%", "bad percent-encoding"},
      {"SAMLRequest=not*base64", "not valid base64"},
      {"SAMLRequest=" + portal::percent_encode(base64_encode("not deflate")), "DEFLATE"},
      {redirect_query("<x>\xc3\x28</x>"), "not valid UTF-8"},
      {redirect_query(request_xml("_v", "2026-11-23T12:00:00Z", "1.1")),
       "unsupported SAML Version"},
      {redirect_query(request_xml("_t", "yesterday")), "IssueInstant"},
      {redirect_query(
           "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>"),
       "not a samlp:AuthnRequest"},
      {redirect_query(
           request_xml("_b", "2026-11-23T12:00:00Z", "2.0",
                       " ProtocolBinding=\"urn:oasis:names:tc:SAML:2.0:bindings:PAOS\"")),
       "is not HTTP-POST"},
      {"RelayState=x", "no SAMLRequest"},
      {"SAMLRequest=a&SAMLRequest=b", "repeated SAMLRequest"},
      {redirect_query(request_xml()) + "&RelayState=" + std::string(2000, 'r'),
       "repeated RelayState"},
  };
  for (const auto &c : cases) {
    const std::string got = redirect_error(c.query);
    if (got.empty() || !test::contains(got, c.expect)) {
      print_error("query %.80s...: expected \"%s\", got \"%s\"\n", c.query.c_str(), c.expect,
                  got.empty() ? "accepted" : got.c_str());
      fail();
    }
  }
  assert_true(test::contains(post_error(std::string(70000, 'A')), "over 65536 bytes"));
  assert_true(test::contains(post_error(base64_encode(laughs)), "DTD"));
  assert_true(test::contains(post_error("@@@"), "not valid base64"));
}

static void redirect_signature_rules(void **) {
  // A SigAlg we do not accept, and a signature required but absent.
  auto msg =
      sso::parse_redirect_query(redirect_query(request_xml()) +
                                "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2000%2F09%2Fxmldsig%23rsa-sha1"
                                "&Signature=AAAA");
  assert_true(msg.ok());
  assert_true(test::contains(msg->signed_octets, "&SigAlg=http%3A%2F%2Fwww.w3.org"));
  auto st = sso::verify_redirect_signature(*msg, {"x"});
  assert_false(st.ok());
  assert_true(test::contains(st.error().message, "unsupported SigAlg"));
  const std::vector<std::string> sp = {g_sp.cert_pem};
  const std::vector<std::string> other = {g_other.cert_pem};
  // Unsigned, when a signature is required.
  assert_true(test::contains(redirect_verify(redirect_query(request_xml()), sp),
                             "the request is not signed"));
  // Signed by the SP: verifies with its certificate (also as the second of
  // two, as during a key rollover), not with another one.
  const std::string signed_query = signed_redirect_query(request_xml(), "rs", g_sp.key_pem);
  assert_false(signed_query.empty());
  assert_string_equal(redirect_verify(signed_query, sp).c_str(), "");
  assert_string_equal(redirect_verify(signed_query, {g_other.cert_pem, g_sp.cert_pem}).c_str(), "");
  assert_true(test::contains(redirect_verify(signed_query, other), "does not verify"));
  assert_true(test::contains(redirect_verify(signed_query, {}), "does not verify"));
  // Tampered after signing: the RelayState, or the signature itself.
  std::string tampered = signed_query;
  tampered.replace(tampered.find("RelayState=rs"), 13, "RelayState=rx");
  assert_true(test::contains(redirect_verify(tampered, sp), "does not verify"));
  std::string no_sig = signed_query.substr(0, signed_query.find("&Signature="));
  assert_true(test::contains(redirect_verify(no_sig, sp), "not valid base64"));
}

static void post_signature_rules(void **) {
  const std::vector<std::string> sp = {g_sp.cert_pem};
  const std::vector<std::string> other = {g_other.cert_pem};
  const std::string good = sign_xml(request_xml("_s1"), g_sp.key_pem);
  assert_false(good.empty());

  // One decode, then verification with the keys the Issuer picks; again on
  // the same request (the ID registration is undone), and refused once a
  // field no longer matches the signed document.
  const Decoded d = decode_and_verify_twice(good, sp);
  assert_string_equal(d.error.c_str(), "");
  assert_string_equal(d.id.c_str(), "_s1");
  assert_string_equal(d.issuer.c_str(), "https://sp.example/entity");
  assert_true(d.signed_xml);
  assert_true(d.has_doc);
  assert_string_equal(d.first_verify.c_str(), "");
  assert_string_equal(d.second_verify.c_str(), "");
  assert_true(test::contains(d.edited_verify, "fields do not match"));

  // The SP's certificate second in the list (key rollover) still verifies.
  assert_string_equal(post_verify(good, {g_other.cert_pem, g_sp.cert_pem}).c_str(), "");
  // Signed by someone else, or no certificate to check with.
  assert_true(test::contains(post_verify(good, other), "does not verify"));
  assert_true(test::contains(post_verify(sign_xml(request_xml("_s2"), g_other.key_pem), sp),
                             "does not verify"));
  assert_true(test::contains(post_verify(good, {}), "no signing certificate"));
  assert_true(test::contains(post_verify(good, {"not a certificate"}), "does not verify"));

  // Changed after signing: an attribute the gateway acts on, the Issuer.
  std::string acs = good;
  acs.replace(acs.find("https://sp.example/acs"), 22, "https://sp.example/acz");
  assert_true(test::contains(post_verify(acs, sp), "does not verify"));
  std::string issuer = good;
  issuer.replace(issuer.find("https://sp.example/entity"), 25, "https://sp.example/entitz");
  assert_true(test::contains(post_verify(issuer, sp), "does not verify"));

  // Unsigned, when a signature is required.
  assert_true(test::contains(post_verify(request_xml("_u"), sp), "not signed"));
  // A verify call on a Redirect-binding request: there is no document.
  assert_true(
      test::contains(verify_redirect_decoded_as_post(request_xml("_rd")), "no XML document"));
}

static void post_signature_wrapping_refused(void **) {
  const std::vector<std::string> sp = {g_sp.cert_pem};
  const std::string good = sign_xml(request_xml("_w1"), g_sp.key_pem);
  const std::string sig = signature_element(good);
  assert_false(sig.empty());

  // Two signatures on the root.
  assert_true(test::contains(post_verify(insert_before(good, "<samlp:NameIDPolicy", sig), sp),
                             "more than one signature"));
  // Another element claims the root's ID (xml:id is an ID without a DTD),
  // so "#_w1" could resolve to it.
  assert_true(test::contains(
      post_verify(insert_before(good, "<samlp:NameIDPolicy", "<samlp:Extensions xml:id=\"_w1\"/>"),
                  sp),
      "duplicate or unusable ID"));
  // A valid signature by the SP's key over a child element, not the root:
  // what was signed is not what the fields are read from.
  const std::string child_signed =
      sign_xml(insert_before(request_xml("_w2"), "<samlp:NameIDPolicy",
                             "<samlp:Extensions xml:id=\"_inner\"><x xmlns=\"urn:x\">ok</x>"
                             "</samlp:Extensions>"),
               g_sp.key_pem, "#_inner");
  assert_false(child_signed.empty());
  assert_true(test::contains(post_verify(child_signed, sp), "does not cover the request itself"));
  // The signed request wrapped inside another one whose fields differ: the
  // outer root carries no signature of its own.
  std::string inner = good.substr(good.find("<samlp:AuthnRequest"));
  const std::string wrapped = insert_before(request_xml("_evil"), "<samlp:NameIDPolicy",
                                            "<samlp:Extensions>" + inner + "</samlp:Extensions>");
  assert_true(test::contains(post_verify(wrapped, sp), "not signed"));
  // ... and with the signature moved up to the outer root: its reference
  // names an element that is not the root.
  const std::string moved =
      insert_before(request_xml("_evil2"), "<samlp:NameIDPolicy",
                    sig + "<samlp:Extensions>" + inner + "</samlp:Extensions>");
  assert_true(test::contains(post_verify(moved, sp), "does not verify"));
  // A weaker algorithm than RSA-SHA256 is not enabled.
  const std::string sha1 =
      sign_xml(request_xml("_w3"), g_sp.key_pem, nullptr, xmlSecTransformRsaSha1Id);
  if (!sha1.empty()) {  // OpenSSL may refuse to sign with SHA-1 at all
    assert_true(test::contains(post_verify(sha1, sp), "does not verify"));
  }
  // Only same-document references by ID are enabled: URI="" (the whole
  // document) is refused even though it would cover the root.
  const std::string whole = sign_xml(request_xml("_w4"), g_sp.key_pem, "");
  assert_false(whole.empty());
  assert_true(test::contains(post_verify(whole, sp), "does not verify"));
}

static void xml_times(void **) {
  assert_int_equal(sso::parse_xml_time("2026-11-23T12:00:00Z"), 1795435200);
  assert_int_equal(sso::parse_xml_time("2026-11-23T12:00:00.123Z"), 1795435200);
  assert_int_equal(sso::parse_xml_time("2026-11-23T12:00:00"), -1);
  assert_int_equal(sso::parse_xml_time("2026-13-23T12:00:00Z"), -1);
  assert_int_equal(sso::parse_xml_time("2026-11-23T12:00:00.Z"), -1);
  assert_int_equal(sso::parse_xml_time(""), -1);
}

static int setup(void **) {
  if (!saml::library_init().ok()) {
    return -1;
  }
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto sp = crypto::make_self_signed("sso-test-sp", 2048, 30, now);
  auto other = crypto::make_self_signed("sso-test-other", 2048, 30, now);
  if (!sp || !other) {
    return -1;
  }
  g_sp = *sp;
  g_other = *other;
  return 0;
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(aws_metadata_fixture),
      cmocka_unit_test(bad_metadata),
      cmocka_unit_test(redirect_binding_decodes),
      cmocka_unit_test(post_binding_decodes),
      cmocka_unit_test(hostile_requests_fail_cleanly),
      cmocka_unit_test(redirect_signature_rules),
      cmocka_unit_test(post_signature_rules),
      cmocka_unit_test(post_signature_wrapping_refused),
      cmocka_unit_test(xml_times),
  };
  return cmocka_run_group_tests(tests, setup, nullptr);
}
