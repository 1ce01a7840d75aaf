// Parsing what service providers send: SP metadata and AuthnRequests, with
// the hostile inputs the issue lists. Every case must fail cleanly.
#include <zlib.h>

#include "common/file.h"
#include "common/strings.h"
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
  auto r = sso::decode_redirect(*msg, {}, false);
  return r ? "" : r.error().message;
}

std::string redirect_query(const std::string &xml) {
  return "SAMLRequest=" + portal::percent_encode(base64_encode(deflate_raw(xml))) +
         "&RelayState=abc";
}

std::string post_error(const std::string &b64) {
  auto r = sso::decode_post(b64, {}, false);
  return r ? "" : r.error().message;
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
  auto r = sso::decode_redirect(*msg, {}, false);
  assert_true(r.ok());
  assert_string_equal(r->id.c_str(), "_r1");
  assert_string_equal(r->issuer.c_str(), "https://sp.example/entity");
  assert_string_equal(r->acs_url.c_str(), "https://sp.example/acs");
  assert_int_equal(r->issue_instant, 1795435200);
}

static void post_binding_decodes(void **) {
  auto r = sso::decode_post(base64_encode(request_xml("_p1")), {}, false);
  assert_true(r.ok());
  assert_string_equal(r->id.c_str(), "_p1");
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
  auto unsigned_msg = sso::parse_redirect_query(redirect_query(request_xml()));
  auto r = sso::decode_redirect(*unsigned_msg, {}, true);
  assert_false(r.ok());
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
  return saml::library_init().ok() ? 0 : -1;
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(aws_metadata_fixture),
      cmocka_unit_test(bad_metadata),
      cmocka_unit_test(redirect_binding_decodes),
      cmocka_unit_test(post_binding_decodes),
      cmocka_unit_test(hostile_requests_fail_cleanly),
      cmocka_unit_test(redirect_signature_rules),
      cmocka_unit_test(xml_times),
  };
  return cmocka_run_group_tests(tests, setup, nullptr);
}
