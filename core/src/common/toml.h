// toml++ for the whole core: built without exceptions (parse errors come
// back as values) and compiled once, in toml.cc, to keep builds fast.
#pragma once

#define TOML_EXCEPTIONS 0
#define TOML_HEADER_ONLY 0
#define TOML_ENABLE_FORMATTERS 0
#include <toml++/toml.h>
