#include "portal/revocations.h"

#include <cerrno>
#include <charconv>
#include <sys/stat.h>

#include "common/file.h"

namespace edgeidp::portal {

Result<std::shared_ptr<const Revocations>> Revocations::load(const std::string &path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return std::make_shared<const Revocations>();  // nobody revoked yet
  }
  auto text = read_file(path, 16u << 20);
  if (!text) {
    return text.take_error();
  }
  return parse(*text, path);
}

Result<std::shared_ptr<const Revocations>> Revocations::parse(std::string_view text,
                                                              const std::string &origin) {
  auto out = std::make_shared<Revocations>();
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    const std::size_t sp = line.rfind(' ');
    std::int64_t t = 0;
    const char *end = line.data() + line.size();
    if (sp == std::string_view::npos || sp == 0 ||
        std::from_chars(line.data() + sp + 1, end, t).ptr != end) {
      return config_error(origin, line_no, "", "expected \"USERNAME UNIX-TIME\"");
    }
    out->set(std::string(line.substr(0, sp)), t);
  }
  return std::shared_ptr<const Revocations>(std::move(out));
}

bool Revocations::revoked(std::string_view username, std::int64_t auth_time) const {
  const auto it = not_before_.find(username);
  return it != not_before_.end() && auth_time < it->second;
}

std::string Revocations::text() const {
  std::string out = "# edgeidp revocations: sessions begun before the time are void\n";
  for (const auto &[user, t] : not_before_) {
    out += user + " " + std::to_string(t) + "\n";
  }
  return out;
}

}  // namespace edgeidp::portal
