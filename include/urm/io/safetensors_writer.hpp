// write_safetensors — stream tensors into a .safetensors file.
//
// File layout (the format urm::SafetensorsFile reads):
//   u64 little-endian N | N bytes of JSON header, space-padded to a multiple
//   of 8 | data area, tensors back to back in the order given.
// The header is known before any data (it holds only names, dtypes, shapes
// and offsets), so data are produced chunk by chunk through a callback and
// never held whole in memory: a 16 GB checkpoint is written with a few MB.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "urm/core/dtype.hpp"
#include "urm/core/error.hpp"

namespace urm {

struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;

  std::size_t nbytes() const {
    std::size_t n = dtype_size(dtype);
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    return n;
  }
};

// fill(tensor_index, byte_offset_in_tensor, chunk) must write chunk.size()
// bytes of tensor `tensor_index` starting at that byte offset.
using TensorFiller = std::function<void(std::size_t, std::size_t, std::span<std::byte>)>;

inline void write_safetensors(const std::string& path, const std::vector<TensorSpec>& tensors, const TensorFiller& fill,
                              const std::map<std::string, std::string>& metadata = {},
                              std::size_t chunk_bytes = std::size_t{8} << 20) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(path + ": cannot create: " + std::strerror(errno));
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((text.size() >> (8 * i)) & 0xffu);
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));

  std::vector<std::byte> chunk;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::size_t total = tensors[i].nbytes();
    for (std::size_t done = 0; done < total;) {
      const std::size_t n = std::min(chunk_bytes, total - done);
      chunk.resize(n);
      fill(i, done, std::span<std::byte>(chunk.data(), n));
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(n));
      done += n;
    }
  }
  out.flush();
  if (!out) throw Error(path + ": write failed: " + std::strerror(errno));
}

}  // namespace urm
