// saml/: signing key loading, Response building and signing, IdP metadata.
// Keys and certificates are generated here at run time; no private key is
// committed to the repository.
#include <atomic>
#include <cstdint>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "common/file.h"
#include "common/owned.h"
#include "common/random.h"
#include "common/strings.h"
#include "saml/library.h"
#include "saml/metadata.h"
#include "saml/response.h"
#include "saml/signing_key.h"
#include "test_util.h"

// cmocka asserts longjmp (skipping destructors): RAII lives in helpers; test bodies assert.

using namespace edgeidp;
using edgeidp::saml::SigningKey;

namespace {

constexpr std::int64_t kNow = 1795348800;  // 2026-11-22T12:00:00Z
constexpr std::int64_t kDay = 86400;
constexpr const char *kSamlNs = "urn:oasis:names:tc:SAML:2.0:assertion";
constexpr const char *kSamlpNs = "urn:oasis:names:tc:SAML:2.0:protocol";
constexpr const char *kDsNs = "http://www.w3.org/2000/09/xmldsig#";
constexpr const char *kMdNs = "urn:oasis:names:tc:SAML:2.0:metadata";
constexpr const char *kTricky = "a<b & c\"d'e>f";

struct KeyPair {
  std::string key_pem;
  std::string cert_pem;
};

// Generated once in the group setup: RSA key generation is slow.
KeyPair g_good;           // RSA-2048, cert valid kNow-1d .. kNow+365d
std::string g_other_key;  // another RSA-2048 key, matching no certificate
KeyPair g_expired;        // valid kNow-30d .. kNow-1d
KeyPair g_future;         // valid kNow+1d .. kNow+30d
KeyPair g_small;          // RSA-1024 with a matching certificate
KeyPair g_ec;             // P-256 with a matching certificate

std::string bio_string(BIO *bio) {
  char *data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string key_pem(EVP_PKEY *pkey) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return bio_string(bio.get());
}

// A self-signed certificate for 'pkey' valid over [from, to].
std::string cert_pem(EVP_PKEY *pkey, std::int64_t from, std::int64_t to) {
  Owned<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4711) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(from)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(to)) == nullptr ||
      X509_set_pubkey(cert.get(), pkey) != 1) {
    return {};
  }
  X509_NAME *name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char *>("edgeidp test IdP"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), pkey, EVP_sha256()) <= 0) {
    return {};
  }
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return {};
  }
  return bio_string(bio.get());
}

KeyPair make_pair(EVP_PKEY *pkey, std::int64_t from, std::int64_t to) {
  return KeyPair{key_pem(pkey), cert_pem(pkey, from, to)};
}

bool generate_keys() {
  Owned<EVP_PKEY> good(EVP_RSA_gen(2048));
  Owned<EVP_PKEY> other(EVP_RSA_gen(2048));
  Owned<EVP_PKEY> small(EVP_RSA_gen(1024));
  Owned<EVP_PKEY> ec(EVP_EC_gen("P-256"));
  if (!good || !other || !small || !ec) {
    return false;
  }
  g_good = make_pair(good.get(), kNow - kDay, kNow + 365 * kDay);
  g_other_key = key_pem(other.get());
  g_expired = make_pair(good.get(), kNow - 30 * kDay, kNow - kDay);
  g_future = make_pair(good.get(), kNow + kDay, kNow + 30 * kDay);
  g_small = make_pair(small.get(), kNow - kDay, kNow + kDay);
  g_ec = make_pair(ec.get(), kNow - kDay, kNow + kDay);
  return !g_good.cert_pem.empty() && !g_other_key.empty() && !g_expired.cert_pem.empty() &&
         !g_future.cert_pem.empty() && !g_small.cert_pem.empty() && !g_ec.cert_pem.empty();
}

int group_setup(void **) {
  if (!saml::library_init().ok()) {
    return -1;
  }
  return generate_keys() ? 0 : -1;
}

int group_teardown(void **) {
  saml::library_shutdown();
  return 0;
}

// ---- signing key -----------------------------------------------------------

struct LoadOutcome {
  bool ok = false;
  Errc code = Errc::internal;
  std::string message;
  std::string cert_b64;
  std::string fingerprint;
  std::string expected_fingerprint;
  std::int64_t not_after = 0;
  bool cert_pem_ok = false;
  bool xmlsec_key_ok = false;
};

std::string der_fingerprint(const std::string &pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!cert || X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) {
    return {};
  }
  return hex_encode(std::string_view(reinterpret_cast<const char *>(md), len));
}

// Writes the pair to files (key with 'key_mode') and calls SigningKey::load.
LoadOutcome load_pair(const std::string &key, const std::string &cert, unsigned key_mode,
                      std::int64_t now = kNow) {
  LoadOutcome out;
  const std::string dir = test::make_temp_dir();
  const std::string key_file = dir + "/idp.key";
  const std::string cert_file = dir + "/idp.crt";
  if (!write_file_atomic(key_file, key, 0600).ok() ||
      !write_file_atomic(cert_file, cert, 0644).ok() || ::chmod(key_file.c_str(), key_mode) != 0) {
    out.message = "test setup failed";
    test::remove_tree(dir);
    return out;
  }
  auto loaded = SigningKey::load(key_file, cert_file, now);
  out.ok = loaded.ok();
  if (!loaded) {
    out.code = loaded.error().code;
    out.message = loaded.error().message;
  } else {
    const SigningKey &k = **loaded;
    out.cert_b64 = k.cert_base64();
    out.fingerprint = k.fingerprint();
    out.expected_fingerprint = der_fingerprint(cert);
    out.not_after = k.not_after();
    out.cert_pem_ok =
        test::contains(k.cert_pem(), "-----BEGIN CERTIFICATE-----") && k.cert_pem() == cert;
    out.xmlsec_key_ok = k.xmlsec_key() != nullptr;
  }
  test::remove_tree(dir);
  return out;
}

LoadOutcome load_from_pem(const std::string &key, const std::string &cert) {
  LoadOutcome out;
  auto loaded = SigningKey::from_pem(key, cert, kNow);
  out.ok = loaded.ok();
  if (!loaded) {
    out.code = loaded.error().code;
    out.message = loaded.error().message;
  }
  return out;
}

void key_load_ok(void **) {
  const LoadOutcome o = load_pair(g_good.key_pem, g_good.cert_pem, 0600);
  assert_true(o.ok);
  assert_true(o.cert_pem_ok);
  assert_true(o.xmlsec_key_ok);
  assert_int_equal(o.fingerprint.size(), 64);
  assert_string_equal(o.fingerprint.c_str(), o.expected_fingerprint.c_str());
  assert_true(o.not_after == kNow + 365 * kDay);
  assert_true(o.cert_b64.size() > 500);
  assert_true(o.cert_b64.find('\n') == std::string::npos);
  // Validity is inclusive at both ends.
  assert_true(load_pair(g_good.key_pem, g_good.cert_pem, 0400, kNow + 365 * kDay).ok);
  assert_true(load_pair(g_good.key_pem, g_good.cert_pem, 0600, kNow - kDay).ok);
}

void key_cert_mismatch(void **) {
  const LoadOutcome o = load_pair(g_other_key, g_good.cert_pem, 0600);
  assert_false(o.ok);
  assert_int_equal(o.code, Errc::crypto);
  assert_true(test::contains(o.message, "idp.key"));
  assert_true(test::contains(o.message, "idp.crt"));
  assert_true(test::contains(o.message, "does not match"));
}

void cert_expired(void **) {
  const LoadOutcome o = load_pair(g_expired.key_pem, g_expired.cert_pem, 0600);
  assert_false(o.ok);
  assert_int_equal(o.code, Errc::crypto);
  assert_true(test::contains(o.message, "idp.crt"));
  assert_true(test::contains(o.message, "expired"));
  // The same certificate was fine while it was valid.
  assert_true(load_pair(g_expired.key_pem, g_expired.cert_pem, 0600, kNow - 2 * kDay).ok);
}

void cert_not_yet_valid(void **) {
  const LoadOutcome o = load_pair(g_future.key_pem, g_future.cert_pem, 0600);
  assert_false(o.ok);
  assert_int_equal(o.code, Errc::crypto);
  assert_true(test::contains(o.message, "idp.crt"));
  assert_true(test::contains(o.message, "not valid before"));
}

void key_too_small(void **) {
  const LoadOutcome o = load_pair(g_small.key_pem, g_small.cert_pem, 0600);
  assert_false(o.ok);
  assert_int_equal(o.code, Errc::crypto);
  assert_true(test::contains(o.message, "idp.key"));
  assert_true(test::contains(o.message, "1024 bits"));
}

void key_not_rsa(void **) {
  const LoadOutcome o = load_pair(g_ec.key_pem, g_ec.cert_pem, 0600);
  assert_false(o.ok);
  assert_int_equal(o.code, Errc::crypto);
  assert_true(test::contains(o.message, "RSA"));
}

void garbage_pem(void **) {
  const LoadOutcome key =
      load_pair("-----BEGIN PRIVATE KEY-----\nnonsense\n", g_good.cert_pem, 0600);
  assert_false(key.ok);
  assert_int_equal(key.code, Errc::crypto);
  assert_true(test::contains(key.message, "idp.key"));
  assert_true(test::contains(key.message, "not a PEM private key"));
  const LoadOutcome cert = load_pair(g_good.key_pem, "hello\x01\xff", 0600);
  assert_false(cert.ok);
  assert_int_equal(cert.code, Errc::crypto);
  assert_true(test::contains(cert.message, "idp.crt"));
  assert_true(test::contains(cert.message, "not a PEM certificate"));
  // In-memory PEM names what it is instead of a file.
  const LoadOutcome mem = load_from_pem("", g_good.cert_pem);
  assert_false(mem.ok);
  assert_true(test::contains(mem.message, "private key"));
  assert_true(load_from_pem(g_good.key_pem, g_good.cert_pem).ok);
}

void key_file_permissions(void **) {
  const LoadOutcome o = load_pair(g_good.key_pem, g_good.cert_pem, 0640);
  assert_false(o.ok);
  assert_int_equal(o.code, Errc::permission);
  assert_true(test::contains(o.message, "idp.key"));
}

// ---- response --------------------------------------------------------------

std::shared_ptr<const SigningKey> good_key() {
  auto k = SigningKey::from_pem(g_good.key_pem, g_good.cert_pem, kNow);
  return k ? *k : nullptr;
}

saml::ResponseInput sample_input() {
  saml::ResponseInput in;
  in.issuer = "https://idp.example.org/saml";
  in.destination = "https://signin.aws.amazon.com/saml";
  in.audience = "urn:amazon:webservices";
  in.name_id = "alice@example.org";
  in.name_id_format = saml::kNameIdEmail;
  in.in_response_to = "_req-42";
  in.now = kNow;
  in.validity = 300;
  in.clock_skew = 30;
  in.authn_instant = kNow - 60;
  in.attributes = {
      {"https://aws.amazon.com/SAML/Attributes/Role",
       "",
       {"arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/edge",
        "arn:aws:iam::123456789012:role/Dev,arn:aws:iam::123456789012:saml-provider/edge"}},
      {"https://aws.amazon.com/SAML/Attributes/RoleSessionName", "", {"alice"}},
      {std::string("weird\"name"), saml::kNameFormatBasic, {kTricky}},
  };
  return in;
}

struct BuildOutcome {
  bool ok = false;
  Errc code = Errc::internal;
  std::string message;
  std::string xml;
};

BuildOutcome build(const saml::ResponseInput &in) {
  BuildOutcome out;
  auto key = good_key();
  if (!key) {
    out.message = "no key";
    return out;
  }
  SystemRandom rng;
  auto xml = saml::build_response(in, *key, rng);
  out.ok = xml.ok();
  if (xml) {
    out.xml = std::move(*xml);
  } else {
    out.code = xml.error().code;
    out.message = xml.error().message;
  }
  return out;
}

std::string str(const xmlChar *s) {
  return s != nullptr ? reinterpret_cast<const char *>(s) : "";
}

std::string prop(xmlNode *node, const char *name) {
  if (node == nullptr) {
    return "<missing node>";
  }
  Owned<xmlChar> v(xmlGetProp(node, reinterpret_cast<const xmlChar *>(name)));
  return v ? str(v.get()) : "<missing>";
}

std::string text(xmlNode *node) {
  if (node == nullptr) {
    return "<missing node>";
  }
  Owned<xmlChar> v(xmlNodeGetContent(node));
  return str(v.get());
}

bool is(xmlNode *node, const char *ns, const char *name) {
  return node != nullptr && node->type == XML_ELEMENT_NODE && node->ns != nullptr &&
         str(node->ns->href) == ns && str(node->name) == name;
}

// First element named ns:name in document order below 'start'.
xmlNode *find(xmlNode *start, const char *ns, const char *name) {
  for (xmlNode *n = start != nullptr ? start->children : nullptr; n != nullptr; n = n->next) {
    if (is(n, ns, name)) {
      return n;
    }
    if (xmlNode *hit = find(n, ns, name)) {
      return hit;
    }
  }
  return nullptr;
}

// "prefix:Name,prefix:Name" of the element children, to check schema order.
std::string child_names(xmlNode *node) {
  std::string out;
  for (xmlNode *n = node != nullptr ? node->children : nullptr; n != nullptr; n = n->next) {
    if (n->type == XML_ELEMENT_NODE) {
      if (!out.empty()) {
        out += ',';
      }
      out += str(n->ns != nullptr ? n->ns->prefix : nullptr);
      out += ':';
      out += str(n->name);
    }
  }
  return out;
}

Owned<xmlDoc> parse(const std::string &xml) {
  return Owned<xmlDoc>(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), nullptr, nullptr, XML_PARSE_NONET));
}

struct Facts {
  bool parsed = false;
  std::string response_children;
  std::string assertion_children;
  std::string response_id, assertion_id, version, issue_instant, destination, response_irt;
  std::string issuer, status;
  std::string name_id, name_id_format, method, recipient, scd_irt, scd_not_on_or_after;
  std::string not_before, not_on_or_after, audience;
  std::string authn_instant, session_index, class_ref;
  std::vector<std::string> attr_names;
  std::vector<std::string> role_values;
  std::string tricky_value, tricky_type, tricky_format;
  std::string cert;
  bool has_attribute_statement = false;
};

Facts facts_of(const std::string &xml) {
  Facts f;
  Owned<xmlDoc> doc = parse(xml);
  xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!is(root, kSamlpNs, "Response")) {
    return f;
  }
  f.parsed = true;
  xmlNode *assertion = find(root, kSamlNs, "Assertion");
  f.response_children = child_names(root);
  f.assertion_children = child_names(assertion);
  f.response_id = prop(root, "ID");
  f.assertion_id = prop(assertion, "ID");
  f.version = prop(assertion, "Version") + "/" + prop(root, "Version");
  f.issue_instant = prop(root, "IssueInstant");
  f.destination = prop(root, "Destination");
  f.response_irt = prop(root, "InResponseTo");
  f.issuer = text(find(root, kSamlNs, "Issuer")) + "|" + text(find(assertion, kSamlNs, "Issuer"));
  f.status = prop(find(root, kSamlpNs, "StatusCode"), "Value");
  xmlNode *name_id = find(assertion, kSamlNs, "NameID");
  f.name_id = text(name_id);
  f.name_id_format = prop(name_id, "Format");
  f.method = prop(find(assertion, kSamlNs, "SubjectConfirmation"), "Method");
  xmlNode *scd = find(assertion, kSamlNs, "SubjectConfirmationData");
  f.recipient = prop(scd, "Recipient");
  f.scd_irt = prop(scd, "InResponseTo");
  f.scd_not_on_or_after = prop(scd, "NotOnOrAfter");
  xmlNode *cond = find(assertion, kSamlNs, "Conditions");
  f.not_before = prop(cond, "NotBefore");
  f.not_on_or_after = prop(cond, "NotOnOrAfter");
  f.audience = text(find(cond, kSamlNs, "Audience"));
  xmlNode *authn = find(assertion, kSamlNs, "AuthnStatement");
  f.authn_instant = prop(authn, "AuthnInstant");
  f.session_index = prop(authn, "SessionIndex");
  f.class_ref = text(find(authn, kSamlNs, "AuthnContextClassRef"));
  f.cert = text(find(assertion, kDsNs, "X509Certificate"));
  xmlNode *stmt = find(assertion, kSamlNs, "AttributeStatement");
  f.has_attribute_statement = stmt != nullptr;
  for (xmlNode *a = stmt != nullptr ? stmt->children : nullptr; a != nullptr; a = a->next) {
    const std::string name = prop(a, "Name");
    f.attr_names.push_back(name);
    for (xmlNode *v = a->children; v != nullptr; v = v->next) {
      if (name == "https://aws.amazon.com/SAML/Attributes/Role") {
        f.role_values.push_back(text(v));
      } else if (name == "weird\"name") {
        f.tricky_value = text(v);
        Owned<xmlChar> type(xmlGetNsProp(
            v, reinterpret_cast<const xmlChar *>("type"),
            reinterpret_cast<const xmlChar *>("http://www.w3.org/2001/XMLSchema-instance")));
        f.tricky_type = str(type.get());
        f.tricky_format = prop(a, "NameFormat");
      }
    }
  }
  return f;
}

void response_content(void **) {
  const saml::ResponseInput in = sample_input();
  const BuildOutcome b = build(in);
  assert_true(b.ok);
  assert_true(test::contains(b.xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
  // libxml2 escaped the values; nothing was pasted in raw.
  assert_true(test::contains(b.xml, "a&lt;b &amp; c\"d'e&gt;f"));
  assert_true(test::contains(b.xml, "Name=\"weird&quot;name\""));
  const Facts f = facts_of(b.xml);
  assert_true(f.parsed);
  assert_string_equal(f.response_children.c_str(),
                      "saml:Issuer,ds:Signature,samlp:Status,saml:Assertion");
  assert_string_equal(f.assertion_children.c_str(),
                      "saml:Issuer,ds:Signature,saml:Subject,saml:Conditions,"
                      "saml:AuthnStatement,saml:AttributeStatement");
  assert_string_equal(f.version.c_str(), "2.0/2.0");
  assert_string_equal(f.issue_instant.c_str(), "2026-11-22T12:00:00Z");
  assert_string_equal(f.destination.c_str(), "https://signin.aws.amazon.com/saml");
  assert_string_equal(f.recipient.c_str(), "https://signin.aws.amazon.com/saml");
  assert_string_equal(f.audience.c_str(), "urn:amazon:webservices");
  assert_string_equal(f.response_irt.c_str(), "_req-42");
  assert_string_equal(f.scd_irt.c_str(), "_req-42");
  assert_string_equal(f.issuer.c_str(),
                      "https://idp.example.org/saml|https://idp.example.org/saml");
  assert_string_equal(f.status.c_str(), "urn:oasis:names:tc:SAML:2.0:status:Success");
  assert_string_equal(f.name_id.c_str(), "alice@example.org");
  assert_string_equal(f.name_id_format.c_str(), saml::kNameIdEmail);
  assert_string_equal(f.method.c_str(), "urn:oasis:names:tc:SAML:2.0:cm:bearer");
  assert_string_equal(f.not_before.c_str(), "2026-11-22T11:59:30Z");
  assert_string_equal(f.not_on_or_after.c_str(), "2026-11-22T12:05:00Z");
  assert_string_equal(f.scd_not_on_or_after.c_str(), "2026-11-22T12:05:00Z");
  assert_string_equal(f.authn_instant.c_str(), "2026-11-22T11:59:00Z");
  assert_true(f.session_index.size() > 20);
  assert_string_equal(f.class_ref.c_str(),
                      "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport");
  assert_int_equal(f.attr_names.size(), 3);
  assert_int_equal(f.role_values.size(), 2);
  assert_string_equal(f.role_values[1].c_str(), in.attributes[0].values[1].c_str());
  assert_string_equal(f.tricky_value.c_str(), kTricky);
  assert_string_equal(f.tricky_type.c_str(), "xs:string");
  assert_string_equal(f.tricky_format.c_str(), saml::kNameFormatBasic);
  assert_true(f.response_id != f.assertion_id);
  assert_true(f.response_id[0] == '_');
  assert_string_equal(f.cert.c_str(), good_key()->cert_base64().c_str());
}

void response_variants(void **) {
  // IdP-initiated, no attributes, given session index, response unsigned.
  saml::ResponseInput in = sample_input();
  in.in_response_to.clear();
  in.attributes.clear();
  in.session_index = "sess-1";
  in.name_id_format.clear();
  in.sign_response = false;
  const BuildOutcome b = build(in);
  assert_true(b.ok);
  const Facts f = facts_of(b.xml);
  assert_true(f.parsed);
  assert_string_equal(f.response_children.c_str(), "saml:Issuer,samlp:Status,saml:Assertion");
  assert_false(f.has_attribute_statement);
  assert_false(test::contains(b.xml, "InResponseTo"));
  assert_false(test::contains(b.xml, "xmlns:xs="));
  assert_string_equal(f.session_index.c_str(), "sess-1");
  assert_string_equal(f.name_id_format.c_str(), saml::kNameIdUnspecified);
  // Nothing signed at all.
  in.sign_assertion = false;
  const BuildOutcome unsigned_ = build(in);
  assert_true(unsigned_.ok);
  assert_false(test::contains(unsigned_.xml, "Signature"));
}

void response_rejects_bad_input(void **) {
  saml::ResponseInput in = sample_input();
  in.attributes[1].values[0] = std::string(
      "ali\x01"
      "ce");
  const BuildOutcome ctl = build(in);
  assert_false(ctl.ok);
  assert_int_equal(ctl.code, Errc::invalid);
  assert_true(test::contains(ctl.message, "RoleSessionName"));
  in = sample_input();
  in.name_id = "\xc0\xaf";
  const BuildOutcome utf8 = build(in);
  assert_false(utf8.ok);
  assert_true(test::contains(utf8.message, "name_id"));
  in = sample_input();
  in.issuer.clear();
  const BuildOutcome empty = build(in);
  assert_false(empty.ok);
  assert_true(test::contains(empty.message, "issuer"));
  in = sample_input();
  in.validity = 0;
  assert_false(build(in).ok);
}

// Verifies every ds:Signature with the certificate's public key, the way an
// SP does (ID attributes registered, same-document references only), and
// checks that each signature references its own parent element.
struct VerifyOutcome {
  int signatures = 0;
  int valid = 0;
  int references_parent = 0;
};

bool verify_one(xmlNode *sig, const std::string &cert_pem) {
  Owned<xmlSecDSigCtx> ctx(xmlSecDSigCtxCreate(nullptr));
  if (!ctx) {
    return false;
  }
  ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
  ctx->signKey = xmlSecCryptoAppKeyLoadMemory(  // the context owns the key
      reinterpret_cast<const xmlSecByte *>(cert_pem.data()),
      static_cast<xmlSecSize>(cert_pem.size()), xmlSecKeyDataFormatCertPem, nullptr, nullptr,
      nullptr);
  if (ctx->signKey == nullptr) {
    return false;
  }
  return xmlSecDSigCtxVerify(ctx.get(), sig) == 0 && ctx->status == xmlSecDSigStatusSucceeded;
}

void collect_signatures(xmlNode *node, std::vector<xmlNode *> *out) {
  for (xmlNode *n = node->children; n != nullptr; n = n->next) {
    if (is(n, kDsNs, "Signature")) {
      out->push_back(n);
    } else if (n->type == XML_ELEMENT_NODE) {
      collect_signatures(n, out);
    }
  }
}

VerifyOutcome verify(const std::string &xml, const std::string &cert_pem) {
  VerifyOutcome out;
  Owned<xmlDoc> doc = parse(xml);
  if (!doc) {
    return out;
  }
  xmlNode *root = xmlDocGetRootElement(doc.get());
  const xmlChar *ids[] = {reinterpret_cast<const xmlChar *>("ID"), nullptr};
  xmlSecAddIDs(doc.get(), root, ids);
  std::vector<xmlNode *> sigs;
  collect_signatures(root, &sigs);
  for (xmlNode *sig : sigs) {
    ++out.signatures;
    out.valid += verify_one(sig, cert_pem) ? 1 : 0;
    xmlNode *ref = find(sig, kDsNs, "Reference");
    const std::string uri = prop(ref, "URI");
    out.references_parent +=
        uri.rfind("#", 0) == 0 && uri.substr(1) == prop(sig->parent, "ID") ? 1 : 0;
  }
  return out;
}

// Changes one byte inside the RoleSessionName value "alice".
std::string tamper(std::string xml) {
  const auto pos = xml.find(">alice<");
  if (pos != std::string::npos) {
    xml[pos + 1] = 'b';
  }
  return xml;
}

void signatures_verify(void **) {
  const BuildOutcome b = build(sample_input());
  assert_true(b.ok);
  const VerifyOutcome good = verify(b.xml, g_good.cert_pem);
  assert_int_equal(good.signatures, 2);
  assert_int_equal(good.valid, 2);
  assert_int_equal(good.references_parent, 2);
  const std::string bad_xml = tamper(b.xml);
  assert_true(bad_xml != b.xml);
  const VerifyOutcome bad = verify(bad_xml, g_good.cert_pem);
  assert_int_equal(bad.signatures, 2);
  assert_int_equal(bad.valid, 0);
}

void signatures_with_wrong_certificate(void **) {
  const BuildOutcome b = build(sample_input());
  assert_true(b.ok);
  const VerifyOutcome v = verify(b.xml, g_small.cert_pem);
  assert_int_equal(v.signatures, 2);
  assert_int_equal(v.valid, 0);
}

// A deterministic generator: tests can predict IDs.
class CountingRandom final : public Random {
 public:
  bool fill(unsigned char *out, std::size_t len) override {
    for (std::size_t i = 0; i < len; ++i) {
      out[i] = static_cast<unsigned char>(next_++);
    }
    return true;
  }

 private:
  unsigned next_ = 0;
};

class FailingRandom final : public Random {
 public:
  bool fill(unsigned char *, std::size_t) override { return false; }
};

struct IdOutcome {
  std::string first_response, first_assertion, second_response, second_assertion;
  std::string counted_response;
  bool failing_rng_refused = false;
};

IdOutcome ids_of_two_builds() {
  IdOutcome out;
  const Facts a = facts_of(build(sample_input()).xml);
  const Facts b = facts_of(build(sample_input()).xml);
  out.first_response = a.response_id;
  out.first_assertion = a.assertion_id;
  out.second_response = b.response_id;
  out.second_assertion = b.assertion_id;
  auto key = good_key();
  CountingRandom counting;
  auto xml = saml::build_response(sample_input(), *key, counting);
  out.counted_response = xml ? facts_of(*xml).response_id : "";
  FailingRandom failing;
  auto failed = saml::build_response(sample_input(), *key, failing);
  out.failing_rng_refused = !failed.ok();
  return out;
}

void ids_are_fresh(void **) {
  const IdOutcome o = ids_of_two_builds();
  assert_true(o.first_response.size() == 41);
  assert_true(o.first_response != o.second_response);
  assert_true(o.first_assertion != o.second_assertion);
  assert_true(o.first_response != o.first_assertion);
  assert_string_equal(o.counted_response.c_str(), "_000102030405060708090a0b0c0d0e0f10111213");
  assert_true(o.failing_rng_refused);
}

// Many threads share one SigningKey, as web server worker threads do.
int concurrent_valid_responses() {
  auto key = good_key();
  if (!key) {
    return -1;
  }
  std::atomic<int> valid{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      SystemRandom rng;
      for (int i = 0; i < 10; ++i) {
        auto xml = saml::build_response(sample_input(), *key, rng);
        if (xml && verify(*xml, g_good.cert_pem).valid == 2) {
          ++valid;
        }
      }
    });
  }
  for (auto &t : threads) {
    t.join();
  }
  return valid.load();
}

void concurrent_builds(void **) {
  assert_int_equal(concurrent_valid_responses(), 40);
}

// ---- metadata and library --------------------------------------------------

struct MetadataFacts {
  bool ok = false;
  std::string xml;
  std::string entity_id, valid_until, protocols, want_signed, use, cert;
  std::vector<std::string> formats;
  std::vector<std::string> bindings;
  std::vector<std::string> locations;
  std::string sso_children;
};

MetadataFacts metadata_facts(std::int64_t valid_until) {
  MetadataFacts m;
  auto key = good_key();
  saml::IdpMetadataInput in;
  in.entity_id = "https://idp.example.org/saml";
  in.sso_url = "https://idp.example.org/edgeidp/sso?a=1&b=2";
  in.name_id_formats = {saml::kNameIdPersistent, saml::kNameIdEmail};
  in.valid_until = valid_until;
  auto xml = saml::build_idp_metadata(in, *key);
  if (!xml) {
    return m;
  }
  m.xml = *xml;
  Owned<xmlDoc> doc = parse(m.xml);
  xmlNode *root = doc ? xmlDocGetRootElement(doc.get()) : nullptr;
  if (!is(root, kMdNs, "EntityDescriptor")) {
    return m;
  }
  m.ok = true;
  m.entity_id = prop(root, "entityID");
  m.valid_until = prop(root, "validUntil");
  xmlNode *sso = find(root, kMdNs, "IDPSSODescriptor");
  m.protocols = prop(sso, "protocolSupportEnumeration");
  m.want_signed = prop(sso, "WantAuthnRequestsSigned");
  m.use = prop(find(sso, kMdNs, "KeyDescriptor"), "use");
  m.cert = text(find(sso, kDsNs, "X509Certificate"));
  m.sso_children = child_names(sso);
  for (xmlNode *n = sso != nullptr ? sso->children : nullptr; n != nullptr; n = n->next) {
    if (is(n, kMdNs, "NameIDFormat")) {
      m.formats.push_back(text(n));
    } else if (is(n, kMdNs, "SingleSignOnService")) {
      m.bindings.push_back(prop(n, "Binding"));
      m.locations.push_back(prop(n, "Location"));
    }
  }
  return m;
}

void metadata_content(void **) {
  const MetadataFacts m = metadata_facts(kNow + 30 * kDay);
  assert_true(m.ok);
  assert_true(m.xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0) == 0);  // no BOM
  assert_string_equal(m.entity_id.c_str(), "https://idp.example.org/saml");
  assert_string_equal(m.valid_until.c_str(), "2026-12-22T12:00:00Z");
  assert_string_equal(m.protocols.c_str(), "urn:oasis:names:tc:SAML:2.0:protocol");
  assert_string_equal(m.want_signed.c_str(), "false");
  assert_string_equal(m.use.c_str(), "signing");
  assert_string_equal(m.cert.c_str(), good_key()->cert_base64().c_str());
  assert_string_equal(m.sso_children.c_str(),
                      "md:KeyDescriptor,md:NameIDFormat,md:NameIDFormat,"
                      "md:SingleSignOnService,md:SingleSignOnService");
  assert_int_equal(m.formats.size(), 2);
  assert_string_equal(m.formats[0].c_str(), saml::kNameIdPersistent);
  assert_int_equal(m.bindings.size(), 2);
  assert_string_equal(m.bindings[0].c_str(), "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect");
  assert_string_equal(m.bindings[1].c_str(), "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
  assert_string_equal(m.locations[1].c_str(), "https://idp.example.org/edgeidp/sso?a=1&b=2");
  assert_true(test::contains(m.xml, "sso?a=1&amp;b=2"));
  const MetadataFacts open = metadata_facts(0);
  assert_true(open.ok);
  assert_string_equal(open.valid_until.c_str(), "<missing>");
}

struct BadMetadata {
  bool empty_entity_refused = false;
  bool control_char_refused = false;
  std::string message;
};

BadMetadata bad_metadata() {
  BadMetadata out;
  auto key = good_key();
  saml::IdpMetadataInput in;
  in.sso_url = "https://idp.example.org/sso";
  auto empty = saml::build_idp_metadata(in, *key);
  out.empty_entity_refused = !empty.ok() && empty.error().code == Errc::invalid;
  if (!empty.ok()) {
    out.message = empty.error().message;
  }
  in.entity_id = "https://idp.example.org/saml";
  in.sso_url = "https://idp.example.org/\x02sso";
  auto control = saml::build_idp_metadata(in, *key);
  out.control_char_refused = !control.ok() && control.error().code == Errc::invalid;
  return out;
}

void metadata_rejects_bad_input(void **) {
  const BadMetadata b = bad_metadata();
  assert_true(b.empty_entity_refused);
  assert_true(test::contains(b.message, "entity ID"));
  assert_true(b.control_char_refused);
}

void library_init_is_idempotent(void **) {
  // The group setup already initialised once; a matched pair stays harmless.
  assert_true(saml::library_init().ok());
  saml::library_shutdown();
  const BuildOutcome b = build(sample_input());
  assert_true(b.ok);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(key_load_ok),
      cmocka_unit_test(key_cert_mismatch),
      cmocka_unit_test(cert_expired),
      cmocka_unit_test(cert_not_yet_valid),
      cmocka_unit_test(key_too_small),
      cmocka_unit_test(key_not_rsa),
      cmocka_unit_test(garbage_pem),
      cmocka_unit_test(key_file_permissions),
      cmocka_unit_test(response_content),
      cmocka_unit_test(response_variants),
      cmocka_unit_test(response_rejects_bad_input),
      cmocka_unit_test(signatures_verify),
      cmocka_unit_test(signatures_with_wrong_certificate),
      cmocka_unit_test(ids_are_fresh),
      cmocka_unit_test(concurrent_builds),
      cmocka_unit_test(metadata_content),
      cmocka_unit_test(metadata_rejects_bad_input),
      cmocka_unit_test(library_init_is_idempotent),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
