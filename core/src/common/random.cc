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
  return "_" + hex_encode(raw);
}

}  // namespace edgeidp
