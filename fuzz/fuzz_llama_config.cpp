// Fuzzes config.json parsing: any JSON text must give a LlamaConfig whose
// invariants hold, or throw urm::Error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "urm/io/llama_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    const auto c = urm::LlamaConfig::from_json(j, "fuzz/config.json");
    const bool ok = c.hidden_size > 0 && c.num_hidden_layers > 0 && c.num_attention_heads > 0 &&
                    c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0 && c.head_dim > 0 &&
                    c.head_dim % 2 == 0 && c.intermediate_size > 0 && c.vocab_size > 0 &&
                    c.max_position_embeddings > 0 && c.num_labels > 0 && c.rms_norm_eps > 0 && c.rope.theta > 0 &&
                    (c.rope.type == "default" || c.rope.type == "llama3");
    if (!ok) std::abort();
    for (auto id : c.eos_token_ids)
      if (id < 0 || id >= c.vocab_size) std::abort();
  } catch (const urm::Error&) {
  }
  return 0;
}
