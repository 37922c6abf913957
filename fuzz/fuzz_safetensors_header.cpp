// Fuzzes parse_safetensors_header() on arbitrary bytes, and checks that what
// it accepts is safe to use: every tensor inside the data area, with exactly
// numel · dtype_size bytes, numel computable in int64, and no two tensors
// sharing a byte.
//
// Each input is tried twice: as a whole file, and as a header followed by
// data with a correct length prefix (header = the input up to its last '}'),
// so that mutations of the JSON reach the entry checks instead of dying at
// the length field.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "urm/io/safetensors.hpp"

namespace {

void check(std::span<const std::byte> file) {
  urm::SafetensorsHeader h;
  try {
    h = urm::parse_safetensors_header(file, "fuzz.safetensors");
  } catch (const urm::Error&) {
    return;
  }
  const std::uint64_t data_size = file.size() - h.data_start;
  if (h.data_start > file.size()) std::abort();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (const auto& e : h.entries) {
    if (e.data_begin > e.data_end || e.data_end > data_size) std::abort();
    // The byte size, saturated just above data_size (anything larger is a
    // mismatch anyway unless a later dimension is 0).
    std::uint64_t bytes = urm::dtype_size(e.dtype);
    for (auto d : e.shape) {
      if (d < 0) std::abort();
      const auto ud = static_cast<std::uint64_t>(d);
      bytes = ud != 0 && bytes > (data_size + 1) / ud ? data_size + 1 : bytes * ud;
    }
    // TensorView::numel() multiplies left to right in int64: no step may overflow.
    std::int64_t numel = 1;
    for (auto d : e.shape)
      if (__builtin_mul_overflow(numel, d, &numel)) std::abort();
    const bool empty = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
    if ((empty ? 0 : bytes) != e.data_end - e.data_begin) std::abort();
    if (e.data_end > e.data_begin) spans.emplace_back(e.data_begin, e.data_end);
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = std::as_bytes(std::span(data, size));
  check(input);

  std::size_t n = size;  // header length: up to and including the last '}', 0 if none
  while (n > 0 && data[n - 1] != '}') --n;
  std::vector<std::byte> file(8 + size);
  for (int i = 0; i < 8; ++i) file[static_cast<std::size_t>(i)] = static_cast<std::byte>((n >> (8 * i)) & 0xffu);
  std::copy(input.begin(), input.end(), file.begin() + 8);
  check(file);
  return 0;
}
