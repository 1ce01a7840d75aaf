#pragma once

#include <string>
#include <vector>

namespace edgeidp::worker {

// Each returns the process exit code: 0 success, 1 the check found
// problems / the operation failed, 2 usage error.
int cmd_check(const std::vector<std::string> &argv);
int cmd_keygen(const std::vector<std::string> &argv);
int cmd_hash_password(const std::vector<std::string> &argv);
int cmd_metadata(const std::vector<std::string> &argv);
int cmd_saml_response(const std::vector<std::string> &argv);
int cmd_revoke(const std::vector<std::string> &argv);
int cmd_render(const std::vector<std::string> &argv);

}  // namespace edgeidp::worker
