// Bounds on what a template may cost, so that no template (a chat template
// comes with a downloaded model and is untrusted input) can exhaust the stack,
// memory or time. The defaults are far above what real chat templates need:
// Llama-3's template nests 3 deep and does a few steps per message.
#pragma once

#include <cstddef>
#include <cstdint>

namespace urm::detail::jinja {

struct Limits {
  // Nesting of statements and height of expression trees. Parsing and
  // evaluation recurse once per level, so this bounds stack use.
  std::uint32_t max_depth = 128;
  // Expressions evaluated plus statements executed in one render.
  std::uint64_t max_steps = 10'000'000;
  // Bytes of strings built in one render (output and intermediate values):
  // bounds memory and the time spent copying, e.g. a loop doubling a string.
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
};

}  // namespace urm::detail::jinja
