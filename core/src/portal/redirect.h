#pragma once

#include <string_view>

namespace edgeidp::portal {

// is_safe_return_path is true only for a same-origin relative path: it
// starts with exactly one '/', and neither it nor its percent-decoded form
// has a backslash, a second leading '/', white space or control bytes.
// Browsers read "//evil", "/\evil" and "/%09/evil" as other hosts; we refuse
// all of them rather than try to normalise (security-lessons.md).
bool is_safe_return_path(std::string_view path);

}  // namespace edgeidp::portal
