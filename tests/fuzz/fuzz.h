// Every fuzz target defines LLVMFuzzerTestOneInput. Built with libFuzzer
// (meson -Dfuzzing=true, clang) it fuzzes; built with standalone_main.cc
// (any compiler, the default) it replays the seed corpus as a test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

inline std::string_view as_text(const std::uint8_t *data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char *>(data), size);
}
