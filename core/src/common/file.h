#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace edgeidp {

// read_file reads a whole regular file of at most max_bytes.
Result<std::string> read_file(const std::string &path, std::size_t max_bytes = 16u << 20);

// read_secret_file is read_file for keys and tokens: the file must be a
// regular file that neither its group nor others can read or write
// (mode 0600 or 0400), so a secret never sits readable on a shared host.
Result<std::string> read_secret_file(const std::string &path, std::size_t max_bytes = 1u << 20);

// resolve_path makes a relative path relative to the folder of base_file.
std::string resolve_path(const std::string &base_file, const std::string &path);

// write_file_atomic writes data to path through a temporary file and rename,
// creating the file with the given mode.
Status write_file_atomic(const std::string &path, const std::string &data, unsigned mode);

}  // namespace edgeidp
