#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace edgeidp {

// Random is where IDs, nonces and salts come from. Production code uses
// SystemRandom (OpenSSL's DRBG); tests inject a deterministic one.
class Random {
 public:
  virtual ~Random() = default;
  // fill writes len random bytes to out; false if the generator failed.
  virtual bool fill(unsigned char *out, std::size_t len) = 0;
};

class SystemRandom final : public Random {
 public:
  bool fill(unsigned char *out, std::size_t len) override;
};

// random_id returns "_" followed by 2*bytes lower-case hex digits: a valid
// xsd:ID (cannot start with a digit). Empty if the generator failed.
std::string random_id(Random &rng, std::size_t bytes = 20);

}  // namespace edgeidp
