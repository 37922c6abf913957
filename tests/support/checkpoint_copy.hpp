// A copy of a fixture checkpoint with edits: tensors and config.json passed
// through callbacks on their way into a fresh folder (one model.safetensors),
// for tests of bad weights and bad configs that must give exact errors.
#pragma once

#include <cstddef>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "urm/io/checkpoint.hpp"
#include "urm/io/safetensors_writer.hpp"

namespace urm::test {

using TensorEdit = std::function<void(const std::string& name, DType dtype, std::span<std::byte> bytes)>;
using ConfigEdit = std::function<void(nlohmann::json& config)>;

// Copies the checkpoint folder src (its tensors and config.json) into dst,
// which must exist. edit_tensor sees every tensor's bytes, edit_config the
// parsed config.json.
inline void copy_checkpoint(const std::string& src, const std::string& dst, const TensorEdit& edit_tensor = {},
                            const ConfigEdit& edit_config = {}) {
  const Checkpoint ckpt = Checkpoint::open(src);
  std::vector<urm::TensorSpec> specs;
  std::vector<std::vector<std::byte>> bytes;
  for (const std::string& name : ckpt.names()) {
    const TensorView& t = ckpt.tensor(name);
    specs.push_back({name, t.dtype, t.shape});
    bytes.emplace_back(t.data, t.data + t.nbytes);
    if (edit_tensor) edit_tensor(name, t.dtype, bytes.back());
  }
  write_safetensors(dst + "/model.safetensors", specs, [&](std::size_t i, std::size_t offset, std::span<std::byte> out) {
    std::memcpy(out.data(), bytes[i].data() + offset, out.size());
  });
  std::ifstream in(src + "/config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  if (edit_config) edit_config(config);
  std::ofstream(dst + "/config.json") << config.dump(2);
}

// Element i of a tensor's bytes set to v, in the tensor's dtype (F32, F16 or BF16).
inline void set_element(DType dtype, std::span<std::byte> bytes, std::size_t i, float v) {
  if (dtype == DType::F32) {
    std::memcpy(bytes.data() + 4 * i, &v, 4);
  } else {
    const std::uint16_t h = dtype == DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
    std::memcpy(bytes.data() + 2 * i, &h, 2);
  }
}

}  // namespace urm::test
