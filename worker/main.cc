// edgeidp: the companion program. Checks a configuration, makes keys and
// password hashes, prints metadata and SAML responses (and, later, pushes
// the directory to AWS over SCIM).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "saml/library.h"

// Declared here rather than in commands.h to keep the SCIM work in its own
// files (worker/cmd_scim.cc).
namespace edgeidp::worker {
int cmd_scim(const std::vector<std::string> &argv);
}

namespace {

constexpr const char *kUsage =
    "usage: edgeidp COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  check          -c FILE   validate config, directory, keys and every mapping\n"
    "  metadata       -c FILE   print the IdP SAML metadata\n"
    "  saml-response  -c FILE --app NAME --user NAME\n"
    "                           print a signed SAMLResponse (base64) as the modules POST it\n"
    "  keygen         --key FILE --cert FILE [--cn NAME] [--bits N] [--days N] [--force]\n"
    "                           make an RSA signing key (mode 0600) and self-signed certificate\n"
    "  keygen         --session-key FILE [--force]\n"
    "                           make a session cookie key (mode 0600)\n"
    "  keygen         --identity-key FILE [--force]\n"
    "                           make a key for the signed identity header (EC P-256, 0600)\n"
    "  render         -c FILE --user NAME --template TEXT\n"
    "                           print what a mapping template gives for a user\n"
    "  revoke         -c FILE --user NAME\n"
    "                           end every session of a user (sessions begun before now)\n"
    "  hash-password  [--method yescrypt|bcrypt|sha512crypt] [--cost N]\n"
    "                           read a password from stdin or a prompt, print its hash\n"
    "  scim           plan|sync|watch|status -c FILE [--target NAME] [--force]\n"
    "                           push users and groups to AWS IAM Identity Center (SCIM)\n"
    "\n"
    "-c/--config defaults to $EDGEIDP_CONFIG, then /etc/edgeidp/edgeidp.toml.\n";

struct Command {
  const char *name;
  int (*run)(const std::vector<std::string> &);
};

constexpr Command kCommands[] = {
    {"check", edgeidp::worker::cmd_check},
    {"metadata", edgeidp::worker::cmd_metadata},
    {"saml-response", edgeidp::worker::cmd_saml_response},
    {"keygen", edgeidp::worker::cmd_keygen},
    {"hash-password", edgeidp::worker::cmd_hash_password},
    {"revoke", edgeidp::worker::cmd_revoke},
    {"render", edgeidp::worker::cmd_render},
    {"scim", edgeidp::worker::cmd_scim},
};

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::vector<std::string> rest(argv + 2, argv + argc);
  for (const auto &c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) {
      if (auto st = edgeidp::saml::library_init(); !st) {
        std::fprintf(stderr, "edgeidp: %s\n", st.error().describe().c_str());
        return 1;
      }
      const int rc = c.run(rest);
      edgeidp::saml::library_shutdown();
      return rc;
    }
  }
  std::fprintf(stderr, "edgeidp: unknown command \"%s\"\n\n%s", argv[1], kUsage);
  return 2;
}
