// edgeidp keygen: an RSA signing key (0600) and a self-signed certificate.
#include <charconv>
#include <cstdio>
#include <ctime>
#include <sys/stat.h>

#include "args.h"
#include "commands.h"
#include "common/file.h"
#include "crypto/jws.h"
#include "crypto/keygen.h"
#include "crypto/sealer.h"

namespace edgeidp::worker {
namespace {

bool parse_int(const std::string &text, int &out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool exists(const std::string &path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

namespace {

// A secret key file (mode 0600) that is not replaced without --force:
// 'why_not' says what replacing it would break.
int write_key(const std::string &path, bool force, const char *why_not,
              const Result<std::string> &text, const char *what) {
  if (!force && exists(path)) {
    std::fprintf(stderr, "edgeidp keygen: %s exists; %s\n", path.c_str(), why_not);
    return 1;
  }
  if (!text) {
    std::fprintf(stderr, "edgeidp keygen: %s\n", text.error().describe().c_str());
    return 1;
  }
  if (auto st = write_file_atomic(path, *text, 0600); !st) {
    std::fprintf(stderr, "edgeidp keygen: %s\n", st.error().describe().c_str());
    return 1;
  }
  std::printf("wrote %s %s (mode 0600)\n", what, path.c_str());
  return 0;
}

// A session key: 32 random bytes, base64.
int make_session_key(const std::string &path, bool force) {
  return write_key(path, force,
                   "replacing it logs everyone out (use --force, or add a new key first in "
                   "[session] keys to rotate)",
                   crypto::make_seal_key_text(), "session key");
}

// An identity header key ([headers] jwt_key): EC P-256, PKCS#8.
int make_identity_key(const std::string &path, bool force) {
  return write_key(path, force, "upstreams may trust its public key (use --force)",
                   crypto::make_es256_key_pem(), "identity key (EC P-256)");
}

}  // namespace

int cmd_keygen(const std::vector<std::string> &argv) {
  std::string err;
  const auto args = Args::parse(
      argv, {"--key", "--cert", "--cn", "--bits", "--days", "--session-key", "--identity-key"},
      {"--force"}, {}, err);
  // The symmetric and identity keys alone, or after the signing key pair.
  const auto more_keys = [&args] {
    if (args->has("--session-key")) {
      if (const int rc = make_session_key(args->get("--session-key"), args->has("--force"))) {
        return rc;
      }
    }
    if (args->has("--identity-key")) {
      return make_identity_key(args->get("--identity-key"), args->has("--force"));
    }
    return 0;
  };
  if (args && !args->has("--key") && !args->has("--cert") &&
      (args->has("--session-key") || args->has("--identity-key"))) {
    return more_keys();
  }
  if (!args || !args->has("--key") || !args->has("--cert")) {
    std::fprintf(stderr, "edgeidp keygen: %s\n",
                 args ? "--key FILE and --cert FILE are required" : err.c_str());
    return 2;
  }
  int bits = 0;
  int days = 0;
  if (!parse_int(args->get("--bits", "2048"), bits) ||
      !parse_int(args->get("--days", "1095"), days)) {
    std::fprintf(stderr, "edgeidp keygen: --bits and --days take whole numbers\n");
    return 2;
  }
  const std::string key_file = args->get("--key");
  const std::string cert_file = args->get("--cert");
  if (!args->has("--force") && (exists(key_file) || exists(cert_file))) {
    std::fprintf(stderr,
                 "edgeidp keygen: %s or %s exists; refusing to replace a signing key that AWS "
                 "may trust (use --force)\n",
                 key_file.c_str(), cert_file.c_str());
    return 1;
  }
  auto pair = crypto::make_self_signed(args->get("--cn", "edgeidp"), bits, days,
                                       static_cast<std::int64_t>(std::time(nullptr)));
  if (!pair) {
    std::fprintf(stderr, "edgeidp keygen: %s\n", pair.error().describe().c_str());
    return 1;
  }
  if (auto st = write_file_atomic(key_file, pair->key_pem, 0600); !st) {
    std::fprintf(stderr, "edgeidp keygen: %s\n", st.error().describe().c_str());
    return 1;
  }
  if (auto st = write_file_atomic(cert_file, pair->cert_pem, 0644); !st) {
    std::fprintf(stderr, "edgeidp keygen: %s\n", st.error().describe().c_str());
    return 1;
  }
  std::printf("wrote %s (mode 0600) and %s\n", key_file.c_str(), cert_file.c_str());
  return more_keys();
}

}  // namespace edgeidp::worker
