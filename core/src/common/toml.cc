// The parser is compiled here only. Without NDEBUG, toml++'s
// TOML_ASSERT_ASSUME is TOML_ASSERT (a no-op, common/toml.h); with it, it
// would be an optimizer assumption that malformed input can break.
#undef NDEBUG
#define TOML_IMPLEMENTATION
#include "common/toml.h"
