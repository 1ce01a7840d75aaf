// Replays corpus files (or folders of them) through LLVMFuzzerTestOneInput
// and prints TAP, so the seed corpora and past crashers run as ordinary
// tests under gcc and the sanitizers (p11-kit's fuzz/main.c idea).
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "fuzz.h"

namespace {

void collect(const std::string &path, std::vector<std::string> &out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    out.push_back(path);
    return;
  }
  DIR *dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    return;
  }
  while (const dirent *e = ::readdir(dir)) {
    if (e->d_name[0] != '.') {
      collect(path + "/" + e->d_name, out);
    }
  }
  ::closedir(dir);
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    collect(argv[i], files);
  }
  std::sort(files.begin(), files.end());
  std::printf("1..%zu\n", files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::ifstream in(files[i], std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string data = buf.str();
    // A crash or sanitizer report ends the program: meson then reports it.
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t *>(data.data()), data.size());
    std::printf("ok %zu - %s\n", i + 1, files[i].c_str());
    std::fflush(stdout);
  }
  return files.empty() ? 1 : 0;
}
