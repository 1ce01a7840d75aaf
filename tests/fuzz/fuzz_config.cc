// edgeidp.toml and the directory file (no key files are read).
#include "config/config.h"
#include "directory/directory.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text = as_text(data, size);
  edgeidp::config::LoadOptions opts;
  opts.load_keys = false;
  (void)edgeidp::config::parse(text, "fuzz.toml", opts);
  (void)edgeidp::directory::Directory::parse(text, "fuzz-directory.toml");
  return 0;
}
