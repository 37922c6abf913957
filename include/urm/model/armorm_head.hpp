// ArmoRmHead — the head of ArmoRM (LlamaForRewardModelWithGating, ported
// from RLHFlow/ArmoRM-Llama3-8B-v0.1 modeling_custom.py). It reads two final-
// norm hidden states: h_p at the pooled position p (the older "token before
// the first pad" rule, pooling.hpp) and h_g at the gating position g, where
// the last assistant header starts (kArmoRmGatingPattern; none: an error, as
// the remote code raises ValueError). With K objectives:
//
//   r = regression_layer · h_p                                   [K]  objective rewards
//   x = h_g;  x = relu(gating.layers.i(x)) for i < n;  x = gating.layers.n(x)
//   gate = softmax(x / temperature) · logit_scale[0]             [K]
//   t = r · R            (R = reward_transform_matrix [K, K], row vector times matrix)
//   reward = Σ_j gate_j t_j
//   coeffs = gate · Rᵀ   so that reward = Σ_i coeffs_i r_i
//
// The Score's attributes are the K objectives (mean = r_i, a point value:
// no uncertainty) and its weights are coeffs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/model/linear_layer.hpp"
#include "urm/model/model_family.hpp"
#include "urm/model/score.hpp"

namespace urm {

class ArmoRmHead {
 public:
  // Every quantity of the reference's forward, for checking them one by one.
  struct Evaluation {
    std::vector<float> multi_obj_rewards;    // r
    std::vector<float> gating_output;        // gate
    std::vector<float> transformed_rewards;  // t
    std::vector<float> multi_obj_coeffs;     // coeffs
    float reward = 0.0f;
  };

  // regression [K, h]; gating: n + 1 layers ending in K outputs; transform:
  // R row-major [K·K]; names: K objective names.
  ArmoRmHead(LinearLayer regression, std::vector<LinearLayer> gating, float logit_scale, std::vector<float> transform,
             float temperature, std::vector<std::string> names)
      : regression_(std::move(regression)),
        gating_(std::move(gating)),
        logit_scale_(logit_scale),
        transform_(std::move(transform)),
        temperature_(temperature),
        names_(std::move(names)) {}

  static ArmoRmHead from_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg, const ModelFamily& family) {
    const ModelTensors tensors = head_tensors(family, cfg);
    const auto view = [&](TensorRole role, std::size_t i = 0) -> const TensorView& {
      return ckpt.tensor(find_tensor(tensors, role, i)->name);
    };
    std::vector<LinearLayer> gating;
    for (std::size_t i = 0; find_tensor(tensors, TensorRole::GateWeight, i); ++i)
      gating.push_back(LinearLayer::of(view(TensorRole::GateWeight, i), &view(TensorRole::GateBias, i)));
    const TensorView& r = view(TensorRole::TransformMatrix);
    std::vector<float> transform(static_cast<std::size_t>(r.numel()));
    for (std::size_t i = 0; i < transform.size(); ++i) transform[i] = r.get_f32(i);
    const auto k = static_cast<std::size_t>(cfg.gating.num_objectives);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < k; ++i)
      names.emplace_back(k == kArmoRmObjectives.size() ? std::string(kArmoRmObjectives[i])
                                                       : "objective_" + std::to_string(i));
    return ArmoRmHead(LinearLayer::of(view(TensorRole::HeadWeight), nullptr), std::move(gating),
                      view(TensorRole::LogitScale).get_f32(0), std::move(transform),
                      static_cast<float>(cfg.gating.temperature), std::move(names));
  }

  // g: where the last occurrence of kArmoRmGatingPattern starts in ids.
  static std::size_t gating_position(std::span<const std::int32_t> ids) {
    const std::size_t n = kArmoRmGatingPattern.size();
    for (std::size_t j = ids.size() < n ? 0 : ids.size() - n + 1; j-- > 0;)
      if (std::equal(kArmoRmGatingPattern.begin(), kArmoRmGatingPattern.end(), ids.begin() + static_cast<std::ptrdiff_t>(j)))
        return j;
    std::string pattern;
    for (const std::int32_t id : kArmoRmGatingPattern) pattern += (pattern.empty() ? "" : ", ") + std::to_string(id);
    throw Error("ArmoRM: the input does not contain the token pattern [" + pattern +
                "] (<|eot_id|><|start_header_id|>assistant<|end_header_id|>\\n\\n), the assistant header whose last "
                "occurrence the gating network reads (the reference raises \"ValueError: Token pattern not found in the "
                "list.\")");
  }

  std::size_t n_objectives() const { return names_.size(); }
  const std::vector<std::string>& objective_names() const { return names_; }

  // h_pool, h_gate: [hidden] final-norm hidden states at p and g.
  Evaluation evaluate_parts(std::span<const float> h_pool, std::span<const float> h_gate, ThreadPool& pool) const {
    const std::size_t k = n_objectives();
    Evaluation e;
    e.multi_obj_rewards = regression_(h_pool, pool);
    std::vector<float> x(h_gate.begin(), h_gate.end());
    for (std::size_t l = 0; l < gating_.size(); ++l) {
      x = gating_[l](x, pool);
      if (l + 1 < gating_.size())
        for (float& v : x) v = std::max(v, 0.0f);
    }
    // softmax(x / temperature), as torch: exp(y − max y) / Σ exp(y − max y).
    for (float& v : x) v /= temperature_;
    const float top = *std::max_element(x.begin(), x.end());
    float sum = 0.0f;
    for (float& v : x) sum += (v = std::exp(v - top));
    e.gating_output.resize(k);
    for (std::size_t j = 0; j < k; ++j) e.gating_output[j] = x[j] / sum * logit_scale_;
    e.transformed_rewards.assign(k, 0.0f);
    e.multi_obj_coeffs.assign(k, 0.0f);
    for (std::size_t i = 0; i < k; ++i)
      for (std::size_t j = 0; j < k; ++j) {
        e.transformed_rewards[j] += e.multi_obj_rewards[i] * transform_[i * k + j];
        e.multi_obj_coeffs[i] += e.gating_output[j] * transform_[i * k + j];
      }
    for (std::size_t j = 0; j < k; ++j) e.reward += e.gating_output[j] * e.transformed_rewards[j];
    return e;
  }

  Score evaluate(std::span<const float> h_pool, std::span<const float> h_gate, ThreadPool& pool) const {
    Evaluation e = evaluate_parts(h_pool, h_gate, pool);
    Score s;
    s.reward = e.reward;
    s.attributes.resize(n_objectives());
    for (std::size_t i = 0; i < s.attributes.size(); ++i)
      s.attributes[i] = {names_[i], e.multi_obj_rewards[i], -std::numeric_limits<float>::infinity()};
    s.weights = std::move(e.multi_obj_coeffs);
    return s;
  }

 private:
  LinearLayer regression_;
  std::vector<LinearLayer> gating_;
  float logit_scale_ = 1.0f;
  std::vector<float> transform_;  // R [K, K] row-major
  float temperature_ = 10.0f;
  std::vector<std::string> names_;
};

}  // namespace urm
