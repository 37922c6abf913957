// Float channels of an int8 Linear: the few input channels (columns of W)
// and output channels (rows of W) that stay in float32 because they carry
// "massive activations".
//
// Real Llama checkpoints have a few hidden channels of the residual stream
// 100-1000x larger than the rest (Sun et al. 2024, "Massive activations in
// large language models"; LLM.int8(), Dettmers et al. 2022). In int8 they
// cost three times:
//   - as an input (after RMSNorm channel c is still ~10-50x the others):
//     per-token activation scales follow max |x|, i.e. channel c, so every
//     ordinary channel rounds with a step set by c; and the rounding error
//     of weight column c (up to half a step of each row's scale) is
//     multiplied by x_c and swamps the ordinary channels' part of y;
//   - as an output (the rows of o_proj and down_proj that write channel c):
//     the row's relative rounding error (~0.5%) applies to a value 1000x the
//     others, and it reaches every later layer through RMSNorm, whose scale
//     channel c sets. Measured on a random model with massive channels
//     (tests/model/test_int8_mode.cpp): int8 o_proj alone, with float input
//     channels everywhere, puts the score off by 125% of the scores' std;
//     q/k/v alone by 2.4%, gate/up alone by 1.3%.
// So int8 mode splits y = x · Wᵀ (LLM.int8()'s decomposition by input
// channel, with static sets instead of per-batch ones, and the same by
// output channel):
//   y[m, o] = Σ_{j ∉ I} x[m, j] W[o, j]   (int8, scales from the channels ∉ I)
//           + Σ_{c ∈ I} x[m, c] W[o, c]   (float32, W[:, c] unquantized)     o ∉ O
//   y[m, o] = Σ_j x[m, j] W[o, j]          (float32, W[o, :] unquantized)     o ∈ O
// The sets I (inputs) and O (outputs) are fixed at load (static sets keep a
// row's arithmetic independent of the batch it is in: batch invariance),
// from a short exact calibration pass (model/llama_model.hpp:
// pack_projections): a channel is in the set when its largest |value| over
// the calibration tokens is more than kFloatChannelRatio times the median
// channel's, at most max(8, k / 64) of them (the largest first). Their float
// products cost |I| / k (|O| / n) of the int8 ones at about a quarter of the
// rate: at most ~6% more time where k, n >= 512 (real models: a handful of
// channels, well below the cap).
//
// The ratio: over 64 tokens the largest |x| of an ordinary channel is about
// 2.5 of its std, and the largest channel's of a random Gaussian layer about
// 4.4 std (the max of 64 · k samples): max / median ≈ 1.8 with no outlier,
// more for the heavier-tailed MLP products silu(g) · u; massive channels are
// 10x and more. 6 keeps ordinary layers at I = O = ∅ (plain int8) and takes
// every massive channel.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "urm/core/error.hpp"

namespace urm::kernels {

inline constexpr float kFloatChannelRatio = 6.0f;
inline constexpr std::size_t kFloatChannelsPerK = 64;  // at most max(8, k / 64) float channels
inline constexpr std::size_t kFloatChannelsMin = 8;

// The float channels of one int8 weight (both ascending).
struct Int8FloatChannels {
  std::vector<std::uint32_t> inputs;   // I: columns of W kept in float32
  std::vector<std::uint32_t> outputs;  // O: rows of W computed wholly in float32

  bool empty() const { return inputs.empty() && outputs.empty(); }
  friend bool operator==(const Int8FloatChannels&, const Int8FloatChannels&) = default;
};

// A set (ascending) from channel_max[j] = max |x[t, j]| over calibration tokens.
// Empty when the median channel is 0 (no scale to compare with) or nothing
// stands out. A NaN or infinite maximum is an error: the calibration pass
// must have been finite.
inline std::vector<std::uint32_t> select_float_channels(std::span<const float> channel_max, const std::string& who) {
  const std::size_t k = channel_max.size();
  for (std::size_t j = 0; j < k; ++j)
    if (!std::isfinite(channel_max[j]) || channel_max[j] < 0.0f)
      throw Error("select_float_channels: " + who + ": channel " + std::to_string(j) + " has maximum " +
                  std::to_string(channel_max[j]) + ", expected a finite value >= 0");
  if (k == 0) return {};
  std::vector<float> sorted(channel_max.begin(), channel_max.end());
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k / 2), sorted.end());
  const float median = sorted[k / 2];
  if (median == 0.0f) return {};
  std::vector<std::uint32_t> f;
  for (std::size_t j = 0; j < k; ++j)
    if (channel_max[j] > kFloatChannelRatio * median) f.push_back(static_cast<std::uint32_t>(j));
  const std::size_t cap = std::max(kFloatChannelsMin, k / kFloatChannelsPerK);
  if (f.size() > cap) {
    // The largest first (ties: the lower channel), then back to ascending order.
    std::stable_sort(f.begin(), f.end(), [&](std::uint32_t a, std::uint32_t b) { return channel_max[a] > channel_max[b]; });
    f.resize(cap);
    std::sort(f.begin(), f.end());
  }
  return f;
}

// Throws unless f is strictly ascending and below k (the form pack_int8 and
// quantize_activations take); what = "float channel" or "float output".
inline void check_float_channels(std::span<const std::uint32_t> f, std::size_t k, const std::string& who,
                                 const std::string& what = "float channel", const char* bound = "k") {
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] >= k)
      throw Error(who + ": " + what + " " + std::to_string(f[i]) + " is out of range for " + bound + " = " +
                  std::to_string(k));
    if (i > 0 && f[i] <= f[i - 1])
      throw Error(who + ": " + what + "s must be strictly ascending, but " + std::to_string(f[i]) + " follows " +
                  std::to_string(f[i - 1]));
  }
}

}  // namespace urm::kernels
