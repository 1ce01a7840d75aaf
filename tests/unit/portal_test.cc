// The gateway's building blocks, and one whole login through the C ABI the
// web server modules use (no server: the glue is tested against the real
// nginx and httpd in tests/integration).
#include <cstring>

#include <nlohmann/json.hpp>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "auth/password.h"
#include "common/strings.h"
#include "crypto/jws.h"
#include "crypto/sealer.h"
#include "edgeidp/edgeidp.h"
#include "portal/http.h"
#include "portal/identity_token.h"
#include "portal/redirect.h"
#include "portal/session.h"
#include "portal/session_cache.h"

// Last: cmocka defines macros (fail, ...) that clash with core names.
#include "fixture.h"

using namespace edgeidp;

namespace {

config::SessionSettings settings_with(std::vector<crypto::SealKey> keys) {
  config::SessionSettings s;
  auto sealer = crypto::Sealer::make(std::move(keys));
  if (sealer) {
    s.sealer = std::move(*sealer);
  }
  s.idle_timeout = 600;
  s.lifetime = 3600;
  return s;
}

std::string auth_hash(const char *pw) {
  auto h = auth::hash_password(pw, "bcrypt", 4);
  return h.ok() ? *h : std::string();
}

crypto::SealKey key(unsigned char fill) {
  crypto::SealKey k;
  k.bytes.fill(fill);
  k.id = fill;  // distinct ids for the test ring
  return k;
}

}  // namespace

static void cookie_parsing(void **) {
  auto v = portal::cookie_value("a=1; edgeidp=xyz; b=\"q\"", "edgeidp");
  assert_true(v.has_value() && *v == "xyz");
  v = portal::cookie_value("a=1;b=\"q\"", "b");
  assert_true(v.has_value() && *v == "q");
  assert_false(portal::cookie_value("xedgeidp=1", "edgeidp").has_value());
  assert_false(portal::cookie_value("", "edgeidp").has_value());
}

// What upstreams get instead of Cookie: the client's cookies without ours,
// a view into the header when possible.
static void cookies_for_upstreams(void **) {
  const std::vector<std::string> ours = {"edgeidp", "edgeidp_login"};
  std::string storage;
  auto without = [&](std::string_view header) {
    storage.clear();
    return portal::without_cookies(header, ours, storage);
  };
  assert_false(without("a=1; b=2").has_value());  // nothing of ours: leave it
  assert_false(without("").has_value());
  assert_true(without("edgeidp=SEALED") == std::string_view());
  const std::string h1 = "edgeidp=SEALED; app=1; theme=dark";
  const auto r1 = without(h1);
  assert_true(r1 == "app=1; theme=dark");
  assert_true(r1->data() >= h1.data() && r1->data() < h1.data() + h1.size());  // no copy
  assert_true(without("app=1;edgeidp=S;  edgeidp_login=L ") == "app=1");
  assert_true(without("a=1; edgeidp=S; b=2; edgeidp_login=L; c=3") == "a=1; b=2; c=3");
  assert_false(storage.empty());  // that one had to be built
  // Names compare exactly: a longer or other-case name is the app's own.
  assert_true(without("edgeidp2=x; EDGEIDP=y; edgeidp=z") == "edgeidp2=x; EDGEIDP=y");
  assert_true(without(" ; edgeidp=z ;; x=1") == "x=1");
  // ours before the first kept one and again between two kept ones
  assert_true(without("edgeidp=x; a=1; edgeidp_login=y; b=2") == "a=1; b=2");
}

static void form_parsing(void **) {
  auto f = portal::parse_form("username=al%C3%AFce&password=a+b%26c&csrf=");
  assert_true(f.has_value());
  assert_string_equal(portal::field(*f, "username")->c_str(),
                      "al\xc3\xaf"
                      "ce");
  assert_string_equal(portal::field(*f, "password")->c_str(), "a b&c");
  assert_string_equal(portal::field(*f, "csrf")->c_str(), "");
  assert_false(portal::parse_form("a=%zz").has_value());
  assert_false(portal::parse_form("a=%0").has_value());
  assert_false(portal::parse_form("a=%00").has_value());                  // NUL
  assert_false(portal::parse_form("username=a&username=b").has_value());  // repeated
  assert_false(portal::parse_form("a=1&b=2&c=3", 2).has_value());         // too many
}

static void return_paths(void **) {
  for (const char *ok : {"/", "/app/", "/a/b?c=d&e=%2Ff", "/x#y"}) {
    if (!portal::is_safe_return_path(ok)) {
      print_error("refused %s\n", ok);
      fail();
    }
  }
  for (const char *bad :
       {"", "//evil.example", "/\\evil.example", "https://evil.example", "http:evil.example",
        "/%2F/evil.example", "/%5Cevil.example", "/%09/evil.example", "/ /evil", "/a\tb",
        "/%252F%252Fevil", "evil.example", "\\\\evil"}) {
    if (portal::is_safe_return_path(bad)) {
      print_error("accepted %s\n", bad);
      fail();
    }
  }
}

static void identity_header_names(void **) {
  assert_true(portal::header_has_prefix("X-Remote-User", "X-Remote-"));
  assert_true(portal::header_has_prefix("x_remote_user", "X-Remote-"));
  assert_true(portal::header_has_prefix("X-REMOTE-GROUPS", "X-Remote-"));
  assert_false(portal::header_has_prefix("X-Remot", "X-Remote-"));
  assert_false(portal::header_has_prefix("X-Forwarded-For", "X-Remote-"));
}

static void session_seal_and_open(void **) {
  const auto s = settings_with({key(1)});
  const portal::Session in{"alice", 1000, 1000};
  const std::string aad = portal::session_aad("edgeidp", "gw.example");
  const std::string c = portal::seal_session(s, in, aad);
  auto out = portal::open_session(s, c, aad, 1100);
  assert_true(out.has_value() && out->username == "alice" && out->auth_time == 1000);
  // Host names compare case-insensitively; another host does not open it.
  assert_true(
      portal::open_session(s, c, portal::session_aad("edgeidp", "GW.example"), 1100).has_value());
  assert_false(portal::open_session(s, c, portal::session_aad("edgeidp", "other.example"), 1100)
                   .has_value());
  assert_false(
      portal::open_session(s, c, portal::session_aad("other", "gw.example"), 1100).has_value());
  // Idle and absolute limits.
  assert_false(portal::open_session(s, c, aad, 1000 + 600).has_value());
  const std::string fresh = portal::seal_session(s, {"alice", 1000, 4500}, aad);
  assert_true(portal::open_session(s, fresh, aad, 4550).has_value());
  assert_false(portal::open_session(s, fresh, aad, 4600).has_value());  // lifetime 3600
  // Tampered, truncated, garbage.
  std::string t = c;
  t[t.size() / 2] = t[t.size() / 2] == 'A' ? 'B' : 'A';
  assert_false(portal::open_session(s, t, aad, 1100).has_value());
  assert_false(portal::open_session(s, c.substr(0, c.size() - 3), aad, 1100).has_value());
  assert_false(portal::open_session(s, "", aad, 1100).has_value());
  assert_false(portal::open_session(s, "!!!", aad, 1100).has_value());
  assert_false(portal::open_session(s, std::string(100000, 'A'), aad, 1100).has_value());
}

// The cache finds a cookie only with the associated data it was opened
// with: the same cookie on another host or under another name misses.
static void session_cache_matches_host_and_name(void **) {
  const std::string aad = portal::session_aad("edgeidp", "GW.example:8443");
  assert_true(portal::session_aad_matches(aad, "edgeidp", "gw.EXAMPLE:8443"));
  assert_false(portal::session_aad_matches(aad, "edgeidp", "gw.example:8444"));
  assert_false(portal::session_aad_matches(aad, "edgeidp", "gw.example"));
  assert_false(portal::session_aad_matches(aad, "__Host-edgeidp", "gw.example:8443"));
  assert_false(portal::session_aad_matches(aad, "edgeid", "pgw.example:8443"));

  portal::SessionCache cache;
  cache.put("cookie-1", aad, {"alice", 10, 20});
  const auto hit = cache.find("cookie-1", "edgeidp", "gw.example:8443");
  assert_true(hit.has_value() && hit->username == "alice" && hit->last_seen == 20);
  assert_false(cache.find("cookie-1", "edgeidp", "other.example:8443").has_value());
  assert_false(cache.find("cookie-1", "__Host-edgeidp", "gw.example:8443").has_value());
  assert_false(cache.find("cookie-2", "edgeidp", "gw.example:8443").has_value());

  // A re-sealed value is handed out again for the cookie it replaces, for a
  // while, and only for the same name and host.
  assert_false(cache.refreshed("cookie-1", "edgeidp", "gw.example:8443", 0).has_value());
  cache.put_refreshed("cookie-1", "resealed", 100);
  cache.put_refreshed("cookie-2", "not-cached", 100);  // no entry for it
  assert_true(cache.refreshed("cookie-1", "edgeidp", "gw.example:8443", 100) == "resealed");
  assert_false(cache.refreshed("cookie-1", "edgeidp", "gw.example:8443", 101).has_value());
  assert_false(cache.refreshed("cookie-1", "edgeidp", "other.example", 50).has_value());
  assert_false(cache.refreshed("cookie-2", "edgeidp", "gw.example:8443", 0).has_value());
  cache.put("cookie-1", aad, {"alice", 10, 20});  // opened anew: forget it
  assert_false(cache.refreshed("cookie-1", "edgeidp", "gw.example:8443", 0).has_value());
}

namespace {

// Verifies an ES256 compact JWS with OpenSSL directly: r || s back to DER.
bool es256_verifies(const std::string &token, const std::string &key_pem) {
  const std::size_t dot2 = token.rfind('.');
  const auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!sig || sig->size() != 64) {
    return false;
  }
  Owned<BIO> bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ECDSA_SIG *es = ECDSA_SIG_new();
  const auto *raw = reinterpret_cast<const unsigned char *>(sig->data());
  ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
  unsigned char *der = nullptr;
  const int der_len = i2d_ECDSA_SIG(es, &der);
  ECDSA_SIG_free(es);
  Owned<EVP_MD_CTX> md(EVP_MD_CTX_new());
  const bool ok =
      der_len > 0 &&
      EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(md.get(), der, static_cast<std::size_t>(der_len),
                       reinterpret_cast<const unsigned char *>(token.data()), dot2) == 1;
  OPENSSL_free(der);
  return ok;
}

nlohmann::json jws_part(const std::string &token, int part) {
  std::size_t start = 0;
  for (int i = 0; i < part; ++i) {
    start = token.find('.', start) + 1;
  }
  const auto text = base64url_decode(token.substr(start, token.find('.', start) - start));
  return nlohmann::json::parse(text.value_or(""), nullptr, false);
}

}  // namespace

static void identity_tokens(void **) {
  const auto pem = crypto::make_es256_key_pem();
  assert_true(pem.ok());
  const auto signer = crypto::JwsSigner::from_pem(*pem, "test key");
  assert_true(signer.ok());
  const auto dir = directory::Directory::parse(test::kDirectory, "dir.toml");
  assert_true(dir.ok());
  const directory::User &alice = *(*dir)->find_user("alice");
  const portal::IdentityTokens tokens(*signer, "https://sso.example.com/edgeidp", 60);

  const auto t1 = tokens.get(*dir, alice, "App.Example.com", 1000);
  assert_non_null(t1.get());
  assert_true(es256_verifies(*t1, *pem));
  const auto header = jws_part(*t1, 0);
  assert_true(header["alg"] == "ES256" && header["kid"] == (*signer)->kid());
  const auto claims = jws_part(*t1, 1);
  assert_true(claims["sub"] == "alice" && claims["aud"] == "app.example.com");
  assert_true(claims["iss"] == "https://sso.example.com/edgeidp");
  assert_true(claims["email"] == "alice@example.com" && claims["name"] == "Alice Example");
  assert_true(claims["groups"] == nlohmann::json::array({"aws-admins", "aws-readonly", "staff"}));
  assert_true(claims["iat"] == 1000 && claims["exp"] == 1060);

  // Reused for the first half of its lifetime, then made anew.
  assert_ptr_equal(tokens.get(*dir, alice, "app.example.com", 1029).get(), t1.get());
  const auto t2 = tokens.get(*dir, alice, "app.example.com", 1030);
  assert_ptr_not_equal(t2.get(), t1.get());
  assert_true(jws_part(*t2, 1)["iat"] == 1030);
  // Another host, or a reloaded directory, gets its own token at once.
  assert_ptr_not_equal(tokens.get(*dir, alice, "other.example.com", 1031).get(), t2.get());
  const auto dir2 = directory::Directory::parse(test::kDirectory, "dir.toml");
  assert_ptr_not_equal(
      tokens.get(*dir2, *(*dir2)->find_user("alice"), "app.example.com", 1031).get(), t2.get());

  // A changed byte anywhere breaks the signature.
  std::string bad = *t1;
  bad[bad.find('.') + 5] ^= 1;
  assert_false(es256_verifies(bad, *pem));

  // The JWK Set names the same key.
  const auto jwks = nlohmann::json::parse((*signer)->jwks());
  assert_true(jwks["keys"][0]["kid"] == (*signer)->kid() && jwks["keys"][0]["crv"] == "P-256");

  // Only P-256 keys: an RSA key is refused with a hint.
  const auto rsa = crypto::make_self_signed("x", 2048, 1, 0);
  const auto refused = crypto::JwsSigner::from_pem(rsa->key_pem, "rsa.pem");
  assert_false(refused.ok());
  assert_non_null(std::strstr(refused.error().message.c_str(), "keygen --identity-key"));
}

static void key_rotation(void **) {
  const auto old_ring = settings_with({key(1)});
  const auto rotated = settings_with({key(2), key(1)});
  const auto dropped = settings_with({key(2)});
  const std::string aad = portal::session_aad("edgeidp", "h");
  const std::string c = portal::seal_session(old_ring, {"bob", 1000, 1000}, aad);
  assert_true(portal::open_session(rotated, c, aad, 1001).has_value());
  assert_false(portal::open_session(dropped, c, aad, 1001).has_value());
  // New sessions are sealed with the first key of the ring.
  const std::string n = portal::seal_session(rotated, {"bob", 1000, 1000}, aad);
  assert_true(portal::open_session(dropped, n, aad, 1001).has_value());
  assert_false(crypto::Sealer::make({}).ok());
  assert_false(crypto::Sealer::make({key(3), key(3)}).ok());
}

// ---- one login through the C ABI ----

namespace {

struct Flow {
  std::string setup_error;
  int unauth_status = 0;
  std::string unauth_location;
  int api_status = 0;
  int form_status = 0;
  int no_csrf_status = 0;
  bool login_task = false;
  int login_status = 0;
  std::string login_location;
  int protected_status = -1;
  std::string upstream_user, upstream_groups;
  int wrong_pw_status = 0;
  bool strips_spoofed = false;
};

std::string header(const edgeidp_decision &d, const char *name) {
  for (std::size_t i = 0; i < d.nheaders; ++i) {
    if (std::string(d.headers[i].name.data, d.headers[i].name.len) == name) {
      return std::string(d.headers[i].value.data, d.headers[i].value.len);
    }
  }
  return {};
}

edgeidp_str s(const std::string &v) {
  return {v.data(), v.size()};
}

// "name=value" of the first Set-Cookie called name, for a Cookie header.
std::string cookie_pair(const edgeidp_decision &d, const std::string &name) {
  for (std::size_t i = 0; i < d.nheaders; ++i) {
    const std::string v(d.headers[i].value.data, d.headers[i].value.len);
    if (std::string(d.headers[i].name.data, d.headers[i].name.len) == "Set-Cookie" &&
        v.rfind(name + "=", 0) == 0) {
      return v.substr(0, v.find(';'));
    }
  }
  return {};
}

Flow run_flow() {
  Flow f;
  const std::string dir = test::make_temp_dir();
  std::string cfg_text =
      test::base_config() + test::kAwsApp + "[session]\nkeys = [\"session.key\"]\n";
  const std::string path = test::make_setup(dir, cfg_text, test::now());
  auto key_text = crypto::make_seal_key_text();
  (void)write_file_atomic(dir + "/session.key", *key_text, 0600);
  // alice's password: "pw"
  auto hash = auth_hash("pw");
  std::string directory = test::kDirectory;
  directory.replace(directory.find("name = \"Alice Example\""), 0, "password = \"" + hash + "\"\n");
  (void)write_file_atomic(dir + "/directory.toml", directory, 0644);

  char err[512] = "";
  edgeidp_ctx *ctx = nullptr;
  if (edgeidp_ctx_load(path.c_str(), &ctx, err, sizeof err) != EDGEIDP_OK) {
    f.setup_error = err;
    test::remove_tree(dir);
    return f;
  }
  const std::string portal_path = "/sso";
  edgeidp_location_conf pc{};
  pc.kind = EDGEIDP_LOC_PORTAL;
  pc.portal_path = s(portal_path);
  edgeidp_location *portal = nullptr;
  const std::string group = "aws-admins";
  const edgeidp_str groups[] = {s(group)};
  edgeidp_location_conf rc{};
  rc.kind = EDGEIDP_LOC_PROTECT;
  rc.groups = groups;
  rc.ngroups = 1;
  rc.portal_path = s(portal_path);
  edgeidp_location *prot = nullptr;
  if (edgeidp_location_new(ctx, &pc, &portal, err, sizeof err) != EDGEIDP_OK ||
      edgeidp_location_new(ctx, &rc, &prot, err, sizeof err) != EDGEIDP_OK) {
    f.setup_error = err;
  }
  const std::string host = "gw.example", addr = "192.0.2.1";
  auto request = [&](const std::string &method, const std::string &uri, const std::string &args,
                     const std::string &cookie, const std::string &body) {
    edgeidp_request r{};
    r.method = s(method);
    r.uri = s(uri);
    r.args = s(args);
    r.host = s(host);
    r.client_addr = s(addr);
    r.cookie = s(cookie);
    r.body = s(body);
    return r;
  };
  const std::string get = "GET", post = "POST", app = "/app/x", empty;
  edgeidp_decision d{};
  if (f.setup_error.empty()) {
    const std::string query = "a=1";
    auto r = request(get, app, query, empty, empty);
    edgeidp_handle(ctx, prot, &r, &d);
    f.unauth_status = d.status;
    f.unauth_location = header(d, "Location");
    edgeidp_decision_release(&d);

    const std::string json = "application/json";
    r.accept = s(json);
    edgeidp_handle(ctx, prot, &r, &d);
    f.api_status = d.status;
    edgeidp_decision_release(&d);

    const std::string login = "/sso/login", ret = "return_to=%2Fapp%2Fx";
    r = request(get, login, ret, empty, empty);
    edgeidp_handle(ctx, portal, &r, &d);
    f.form_status = d.status;
    const std::string login_cookie = cookie_pair(d, "edgeidp_login");
    const std::string body(d.body.data, d.body.len);
    edgeidp_decision_release(&d);
    const auto at = body.find("name=\"csrf\" value=\"");
    const std::string csrf =
        at == std::string::npos ? "" : body.substr(at + 19, body.find('"', at + 19) - at - 19);

    const std::string no_csrf = "username=alice&password=pw";
    r = request(post, login, empty, login_cookie, no_csrf);
    edgeidp_handle(ctx, portal, &r, &d);
    f.no_csrf_status = d.status;
    edgeidp_decision_release(&d);

    const std::string wrong = "username=alice&password=nope&csrf=" + csrf;
    r = request(post, login, empty, login_cookie, wrong);
    edgeidp_handle(ctx, portal, &r, &d);
    if (d.task != nullptr) {
      edgeidp_task_run(d.task, 0);
      edgeidp_task_finish(ctx, &d);
    }
    f.wrong_pw_status = d.status;
    edgeidp_decision_release(&d);

    const std::string good = "username=alice&password=pw&csrf=" + csrf;
    r = request(post, login, empty, login_cookie, good);
    edgeidp_handle(ctx, portal, &r, &d);
    f.login_task = d.task != nullptr;
    if (d.task != nullptr) {
      edgeidp_task_run(d.task, EDGEIDP_TASK_IDLE_PRIORITY);
      edgeidp_task_finish(ctx, &d);
    }
    f.login_status = d.status;
    f.login_location = header(d, "Location");
    const std::string session = cookie_pair(d, "edgeidp");
    edgeidp_decision_release(&d);

    r = request(get, app, empty, session, empty);
    edgeidp_handle(ctx, prot, &r, &d);
    f.protected_status = d.status;
    for (std::size_t i = 0; i < d.nupstream; ++i) {
      const std::string n(d.upstream[i].name.data, d.upstream[i].name.len);
      const std::string v(d.upstream[i].value.data, d.upstream[i].value.len);
      if (n == "X-Remote-User") {
        f.upstream_user = v;
      } else if (n == "X-Remote-Groups") {
        f.upstream_groups = v;
      }
    }
    edgeidp_decision_release(&d);
    f.strips_spoofed = edgeidp_is_identity_header(ctx, "x_REMOTE_user", 13) == 1 &&
                       edgeidp_is_identity_header(ctx, "Accept", 6) == 0;
  }
  edgeidp_location_free(portal);
  edgeidp_location_free(prot);
  edgeidp_ctx_free(ctx);
  test::remove_tree(dir);
  return f;
}

}  // namespace

static void login_flow_through_the_abi(void **) {
  const Flow f = run_flow();
  if (!f.setup_error.empty()) {
    print_error("%s\n", f.setup_error.c_str());
  }
  assert_true(f.setup_error.empty());
  assert_int_equal(f.unauth_status, 302);
  assert_string_equal(f.unauth_location.c_str(), "/sso/login?return_to=%2Fapp%2Fx%3Fa%3D1");
  assert_int_equal(f.api_status, 401);
  assert_int_equal(f.form_status, 200);
  assert_int_equal(f.no_csrf_status, 403);
  assert_int_equal(f.wrong_pw_status, 401);
  assert_true(f.login_task);
  assert_int_equal(f.login_status, 302);
  assert_string_equal(f.login_location.c_str(), "/app/x");
  assert_int_equal(f.protected_status, 0);
  assert_string_equal(f.upstream_user.c_str(), "alice");
  assert_string_equal(f.upstream_groups.c_str(), "aws-admins,aws-readonly,staff");
  assert_true(f.strips_spoofed);
}

static int setup(void **) {
  return edgeidp_library_init() == EDGEIDP_OK ? 0 : -1;
}

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cookie_parsing),
      cmocka_unit_test(cookies_for_upstreams),
      cmocka_unit_test(form_parsing),
      cmocka_unit_test(return_paths),
      cmocka_unit_test(identity_header_names),
      cmocka_unit_test(session_seal_and_open),
      cmocka_unit_test(key_rotation),
      cmocka_unit_test(session_cache_matches_host_and_name),
      cmocka_unit_test(identity_tokens),
      cmocka_unit_test(login_flow_through_the_abi),
  };
  return cmocka_run_group_tests(tests, setup, nullptr);
}
