// Template parse and render against a small fixed directory.
#include "directory/directory.h"
#include "fuzz.h"
#include "mapping/template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  static const auto dir = edgeidp::directory::Directory::parse(
      "[[group]]\nname = \"g1\"\nattributes = { r = \"Admin\", a = \"1\" }\n"
      "[[group]]\nname = \"g2\"\nattributes = { r = \"Read\" }\n"
      "[[user]]\nusername = \"u\"\nname = \"A B C\"\nemail = \"u@x\"\ngroups = [\"g1\", \"g2\"]\n"
      "attributes = { k = \"v\" }\n",
      "fuzz");
  auto t = edgeidp::mapping::Template::parse(as_text(data, size));
  if (t && dir) {
    (void)t->render(edgeidp::mapping::Context(**dir, *(*dir)->find_user("u")));
  }
  return 0;
}
