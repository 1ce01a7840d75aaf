#include "common/random.h"

#include <openssl/rand.h>

#include "common/strings.h"

namespace edgeidp {

bool SystemRandom::fill(unsigned char *out, std::size_t len) {
  return RAND_bytes(out, static_cast<int>(len)) == 1;
}

std::string random_id(Random &rng, std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (!rng.fill(reinterpret_cast<unsigned char *>(raw.data()), raw.size())) {
    return {};
  }
  // Built in two steps: GCC 12 warns falsely (-Wrestrict) on "_" + string.
  std::string id = "_";
  id += hex_encode(raw);
  return id;
}

}  // namespace edgeidp
