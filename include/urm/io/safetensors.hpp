// safetensors — memory-mapped, zero-copy reading of Hugging Face weight files.
//
// File layout (https://github.com/huggingface/safetensors):
//   [ n : u64 little-endian ][ header : n bytes of JSON ][ data area ]
// The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}
// with offsets relative to the start of the data area, plus an optional
// "__metadata__" object of string → string.
//
// Everything is validated before a single tensor byte is used: a file that
// passes parse_safetensors_header() yields views that stay inside the map,
// whose byte size is exactly numel · dtype_size, and that tile the data area
// exactly (no overlap, no gap, nothing after the last: the reference reader's
// rule).
// All size arithmetic is done in u64 with explicit overflow checks, so no
// header can make a size wrap around.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"
#include "urm/core/json.hpp"
#include "urm/core/mapped_file.hpp"
#include "urm/core/tensor_view.hpp"

namespace urm {

// Largest header accepted: real headers are a few hundred kB (one line per
// tensor); the cap bounds what a hostile length field can make us parse.
inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;
// Largest file mapped: a shard is a few GB, a single-file 70B model 140 GB.
inline constexpr std::uint64_t kSafetensorsMaxFileBytes = std::uint64_t{1} << 40;

// One tensor as described by the header; offsets are relative to the data area.
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t data_begin = 0;
  std::uint64_t data_end = 0;
};

struct SafetensorsHeader {
  std::uint64_t data_start = 0;                 // file offset of the data area: 8 + header length
  std::vector<SafetensorsEntry> entries;        // sorted by name
  std::map<std::string, std::string> metadata;  // "__metadata__", empty if absent
};

namespace detail {

inline std::string offsets_string(std::uint64_t begin, std::uint64_t end) {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "[" + std::string.
  std::string s = "[";
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  s += "]";
  return s;
}

inline SafetensorsEntry parse_safetensors_entry(const std::string& name, const nlohmann::json& info,
                                                std::uint64_t data_size, const std::string& where) {
  const std::string at = where + ": tensor " + quote_string(name) + ": ";
  if (!info.is_object()) throw Error(at + "expected an object with dtype, shape and data_offsets");
  SafetensorsEntry e;
  e.name = name;

  const auto dt = info.find("dtype");
  if (dt == info.end() || !dt->is_string()) throw Error(at + "dtype: expected a string");
  const auto parsed = parse_dtype(dt->get_ref<const std::string&>());
  if (!parsed) throw Error(at + "unsupported dtype " + describe_json(*dt) + " (expected F32, F16, BF16, I8 or U8)");
  e.dtype = *parsed;

  const auto sh = info.find("shape");
  if (sh == info.end() || !sh->is_array()) throw Error(at + "shape: expected an array of dimensions");
  // Byte size numel · dtype_size. `extent` leaves out zero dimensions and
  // must fit in int64 even for an empty tensor: then every partial product
  // of the shape does too, and TensorView::numel() cannot overflow.
  std::uint64_t extent = dtype_size(e.dtype);
  bool too_large = false;
  bool empty = false;
  e.shape.reserve(sh->size());
  for (std::size_t i = 0; i < sh->size(); ++i) {
    const auto& d = (*sh)[i];
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      throw Error(at + "shape[" + std::to_string(i) + "] is " + describe_json(d) + ", expected a non-negative integer");
    const std::uint64_t dim = d.get<std::uint64_t>();
    e.shape.push_back(static_cast<std::int64_t>(dim));
    if (dim == 0)
      empty = true;
    else if (__builtin_mul_overflow(extent, dim, &extent))
      too_large = true;
  }
  if (too_large || extent > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
    throw Error(at + "shape " + shape_string(e.shape) + " is too large (2^63 bytes or more)");
  const std::uint64_t nbytes = empty ? 0 : extent;

  const auto off = info.find("data_offsets");
  if (off == info.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    throw Error(at + "data_offsets: expected [begin, end] with non-negative integers");
  e.data_begin = (*off)[0].get<std::uint64_t>();
  e.data_end = (*off)[1].get<std::uint64_t>();
  const std::string offsets = offsets_string(e.data_begin, e.data_end);
  if (e.data_begin > e.data_end) throw Error(at + "data_offsets " + offsets + ": begin is after end");
  if (e.data_end > data_size)
    throw Error(at + "data_offsets " + offsets + " run past the end of the data area (" + std::to_string(data_size) +
                " bytes)");
  const std::uint64_t span = e.data_end - e.data_begin;
  if (nbytes != span)
    throw Error(at + "shape " + shape_string(e.shape) + " of " + std::string(dtype_name(e.dtype)) + " is " +
                std::to_string(nbytes) + " bytes but data_offsets " + offsets + " span " + std::to_string(span) +
                " bytes");
  return e;
}

}  // namespace detail

// Parses and validates the header of a whole safetensors file held in
// `file_bytes` (no file access: the fuzzer feeds arbitrary buffers here).
// `path` only names the file in error messages.
inline SafetensorsHeader parse_safetensors_header(std::span<const std::byte> file_bytes, const std::string& path) {
  const std::uint64_t file_size = file_bytes.size();
  if (file_size < 8)
    throw Error(path + ": file is " + std::to_string(file_size) +
                " bytes, too short for the 8-byte safetensors header length");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(file_bytes[static_cast<std::size_t>(i)]);
  if (n > kSafetensorsMaxHeaderBytes)
    throw Error(path + ": header length " + std::to_string(n) + " exceeds the cap of " +
                std::to_string(kSafetensorsMaxHeaderBytes) + " bytes");
  if (n > file_size - 8)
    throw Error(path + ": header length " + std::to_string(n) + " runs past the end of the file (" +
                std::to_string(file_size) + " bytes)");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  const char* text = reinterpret_cast<const char*>(file_bytes.data()) + 8;
  // nlohmann keeps the last of duplicated keys; a duplicated tensor name is
  // ambiguous, so the parser callback rejects it while the object is read.
  std::set<std::string, std::less<>> top_keys;
  const auto reject_duplicates = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!top_keys.insert(key).second) throw Error(path + ": header: duplicate key " + detail::quote_string(key));
    }
    return true;
  };
  const nlohmann::json j = detail::parse_json(std::string_view(text, n), path + ": header is not valid JSON",
                                              reject_duplicates);
  if (!j.is_object()) throw Error(path + ": header: expected a JSON object");

  const std::uint64_t data_size = file_size - h.data_start;
  for (const auto& [name, info] : j.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error(path + ": __metadata__: expected an object of strings");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string())
          throw Error(path + ": __metadata__[" + detail::quote_string(k) + "]: expected a string, got " +
                      detail::describe_json(v));
        h.metadata.emplace(k, v.get<std::string>());
      }
      continue;
    }
    h.entries.push_back(detail::parse_safetensors_entry(name, info, data_size, path));
  }

  // The tensors tile the data area exactly, as the reference reader demands
  // (safetensors' Metadata::validate): sorted by (begin, end), each begins
  // where the previous one ends, the first at 0, and the last ends at the end
  // of the file. Bytes outside every tensor would be data no one checks.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const auto& e : h.entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return std::pair(a->data_begin, a->data_end) < std::pair(b->data_begin, b->data_end);
  });
  std::uint64_t covered = 0;  // end of the previous tensor
  for (std::size_t i = 0; i < by_offset.size(); ++i) {
    const auto& b = *by_offset[i];
    if (b.data_begin == covered) {
      covered = b.data_end;
      continue;
    }
    if (i == 0)
      throw Error(path + ": the data area begins with " + std::to_string(b.data_begin) +
                  " bytes that belong to no tensor (the first, " + detail::quote_string(b.name) + ", starts at " +
                  std::to_string(b.data_begin) + ")");
    const auto& a = *by_offset[i - 1];
    if (b.data_begin < covered)
      throw Error(path + ": tensors " + detail::quote_string(a.name) + " " +
                  detail::offsets_string(a.data_begin, a.data_end) + " and " + detail::quote_string(b.name) + " " +
                  detail::offsets_string(b.data_begin, b.data_end) + " overlap");
    throw Error(path + ": " + std::to_string(b.data_begin - covered) + " bytes between tensors " +
                detail::quote_string(a.name) + " " + detail::offsets_string(a.data_begin, a.data_end) + " and " +
                detail::quote_string(b.name) + " " +
                detail::offsets_string(b.data_begin, b.data_end) + " belong to no tensor");
  }
  if (covered != data_size)
    throw Error(path + ": " + std::to_string(data_size - covered) + " bytes at the end of the file belong to no tensor" +
                (by_offset.empty() ? std::string(" (the header lists none)")
                                   : " (the last, " + detail::quote_string(by_offset.back()->name) + ", ends at " +
                                         std::to_string(covered) + " of the " + std::to_string(data_size) +
                                         "-byte data area)"));
  return h;
}

// A validated, memory-mapped safetensors file. Move-only: the views point
// into the map, which lives exactly as long as this object.
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path) {
    SafetensorsFile f;
    f.map_ = MappedFile::open(path, kSafetensorsMaxFileBytes, "a safetensors file");
    SafetensorsHeader h = parse_safetensors_header(std::span(f.map_.data(), f.map_.size()), path);
    f.metadata_ = std::move(h.metadata);
    f.tensors_.reserve(h.entries.size());
    for (auto& e : h.entries) {
      TensorView v;
      v.name = std::move(e.name);
      v.dtype = e.dtype;
      v.shape = std::move(e.shape);
      v.data = f.map_.data() + h.data_start + e.data_begin;
      v.nbytes = static_cast<std::size_t>(e.data_end - e.data_begin);
      f.tensors_.push_back(std::move(v));
    }
    return f;
  }

  SafetensorsFile(SafetensorsFile&&) noexcept = default;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept = default;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return map_.path(); }
  const std::vector<TensorView>& tensors() const { return tensors_; }  // sorted by name
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const TensorView* find(std::string_view name) const {
    const auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                                     [](const TensorView& t, std::string_view n) { return t.name < n; });
    return it != tensors_.end() && it->name == name ? &*it : nullptr;
  }

 private:
  SafetensorsFile() = default;

  MappedFile map_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace urm
