// Helpers shared by the cmocka unit tests.
//
// cmocka reports a failed assertion by longjmp-ing out of the test, which
// would skip C++ destructors; so tests build RAII objects inside helpers that
// return plain values, and assert in the test body on those values.
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

extern "C" {
#include <cmocka.h>
}

namespace edgeidp::test {

// A fresh private folder under $TMPDIR, removed by the test's teardown.
inline std::string make_temp_dir() {
  const char *base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/edgeidp-unit-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return {};
  }
  return tmpl;
}

inline void remove_tree(const std::string &dir) {
  if (!dir.empty() && dir.find("edgeidp-unit-") != std::string::npos) {
    const std::string cmd = "rm -rf '" + dir + "'";
    (void)std::system(cmd.c_str());
  }
}

inline bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace edgeidp::test
