// UncertainValueHead — turns the final-norm hidden state of the last token
// into a Score.
//
//   h    : [hidden]             final-norm hidden state of the last token
//   head = score.weight · h     score.weight [2K, hidden]: interleaved
//                               mean_i = head[2i], log_std_i = head[2i + 1]
//   w    : fixed prior weights [K] (URM-LLaMa-3-8B: [0.3, 0.74, 0.46, 0.47,
//          -0.33] for the HelpSteer2 attributes), or the URM-3.1 gate
//          w = fc4(selu(fc2(selu(fc0(h)))))  (Linear layers with bias, no softmax)
//   reward = Σ_i w_i mean_i,  reward_variance = Σ_i w_i² exp(2 log_std_i)
//
// A scalar head (score.weight [1, hidden], e.g. FsfairX-LLaMA3-RM,
// Skywork-Reward-V2) gives reward = score.weight · h and no attributes (h is
// then the pooled position's state, see model_family.hpp).
//
// The Score it returns carries the distribution: per-attribute mean, log_std,
// variance, reparameterised samples and reward samples (see score.hpp).
// The constants (attribute names, prior weights) are in model_family.hpp.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/kernels/activation.hpp"
#include "urm/kernels/matmul.hpp"
#include "urm/model/linear_layer.hpp"
#include "urm/model/model_family.hpp"
#include "urm/model/score.hpp"

namespace urm {

class UncertainValueHead {
 public:
  // score: score.weight [1, hidden] or [2K, hidden].
  // gate: the URM-3.1 gate fc.0, fc.2, fc.4 (empty for fixed weights).
  // prior_weights: the fixed weights [K]; empty means kUrmPriorWeights (K = 5).
  // names: K attribute names; empty means the HelpSteer2 names (K = 5) or
  //   "attribute_i".
  UncertainValueHead(TensorView score, std::vector<LinearLayer> gate = {}, std::vector<float> prior_weights = {},
                     std::vector<std::string> names = {})
      : score_(std::move(score)), gate_(std::move(gate)) {
    if (score_.rank() != 2 || score_.dim(0) < 1 || score_.dim(1) < 1 || (score_.dim(0) != 1 && score_.dim(0) % 2 != 0))
      throw Error("value head: " + score_.name + " has shape " + shape_string(score_.shape) +
                  ", expected [1, hidden] (scalar reward) or [2K, hidden] (interleaved mean/log-std of K attributes)");
    hidden_ = static_cast<std::size_t>(score_.dim(1));
    const std::size_t k = score_.dim(0) == 1 ? 0 : static_cast<std::size_t>(score_.dim(0)) / 2;

    if (k == 0) {
      if (!gate_.empty() || !prior_weights.empty() || !names.empty())
        throw Error("value head: " + score_.name +
                    " is a scalar head [1, hidden]; it takes no attribute weights, gate or names");
      return;
    }

    if (names.empty()) {
      for (std::size_t i = 0; i < k; ++i)
        names.emplace_back(k == kHelpSteer2Attributes.size() ? std::string(kHelpSteer2Attributes[i])
                                                             : "attribute_" + std::to_string(i));
    }
    if (names.size() != k)
      throw Error("value head: " + std::to_string(names.size()) + " attribute names given, " + score_.name + " has " +
                  std::to_string(k) + " attributes");
    names_ = std::move(names);

    if (!gate_.empty()) {
      if (!prior_weights.empty())
        throw Error("value head: the checkpoint has a gate network (weights.fc.*); fixed prior weights cannot be set");
      check_gate(k);
      return;
    }
    if (prior_weights.empty()) {
      if (k != kUrmPriorWeights.size())
        throw Error("value head: " + score_.name + " has " + std::to_string(k) +
                    " attributes; the default prior weights are for 5, give " + std::to_string(k) + " weights");
      prior_weights.assign(kUrmPriorWeights.begin(), kUrmPriorWeights.end());
    }
    if (prior_weights.size() != k)
      throw Error("value head: " + std::to_string(prior_weights.size()) + " prior weights given, " + score_.name +
                  " has " + std::to_string(k) + " attributes");
    prior_ = std::move(prior_weights);
  }

  // The head of a checkpoint validate_checkpoint accepted as a urm-prior,
  // urm-gated or scalar family: score.weight, and the gate weights.fc.* of
  // urm-gated. prior_weights overrides the fixed weights of a URM head
  // without a gate.
  static UncertainValueHead from_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg, const ModelFamily& family,
                                            std::vector<float> prior_weights = {}) {
    const ModelTensors tensors = head_tensors(family, cfg);
    std::vector<LinearLayer> gate;
    for (std::size_t i = 0; const ModelTensor* w = find_tensor(tensors, TensorRole::GateWeight, i); ++i) {
      const ModelTensor* b = find_tensor(tensors, TensorRole::GateBias, i);
      gate.push_back(LinearLayer::of(ckpt.tensor(w->name), &ckpt.tensor(b->name)));
    }
    return UncertainValueHead(ckpt.tensor(find_tensor(tensors, TensorRole::HeadWeight)->name), std::move(gate),
                              std::move(prior_weights));
  }

  std::size_t hidden_size() const { return hidden_; }
  std::size_t n_attributes() const { return names_.size(); }
  bool is_scalar() const { return names_.empty(); }
  bool is_gated() const { return !gate_.empty(); }
  const std::vector<std::string>& attribute_names() const { return names_; }
  const std::vector<float>& prior_weights() const { return prior_; }  // empty if gated or scalar

  // h: [hidden] final-norm hidden state of the last token. n_tokens is left 0.
  Score evaluate(std::span<const float> h, ThreadPool& pool) const {
    if (h.size() != hidden_)
      throw Error("value head: hidden state has " + std::to_string(h.size()) + " values, expected " +
                  std::to_string(hidden_));
    const std::size_t rows = static_cast<std::size_t>(score_.dim(0));
    std::vector<float> head(rows);  // [2K] or [1]
    kernels::matmul(h.data(), 1, hidden_, score_, head.data(), pool);

    Score s;
    if (is_scalar()) {
      s.reward = head[0];
      return s;
    }
    s.has_uncertainty = true;
    const std::size_t k = n_attributes();
    s.weights = is_gated() ? gate_weights(h, pool) : prior_;
    s.attributes.resize(k);
    for (std::size_t i = 0; i < k; ++i) {
      s.attributes[i] = {names_[i], head[2 * i], head[2 * i + 1]};
      s.reward += s.weights[i] * s.attributes[i].mean;
      s.reward_variance += s.weights[i] * s.weights[i] * s.attributes[i].variance();
    }
    return s;
  }

 private:
  void check_gate(std::size_t k) const {
    std::size_t in = hidden_;
    for (std::size_t l = 0; l < gate_.size(); ++l) {
      const TensorView& w = gate_[l].weight;
      if (w.rank() != 2 || static_cast<std::size_t>(w.dim(1)) != in || w.dim(0) < 1)
        throw Error("value head: gate weight " + w.name + " has shape " + shape_string(w.shape) + ", expected [n, " +
                    std::to_string(in) + "]");
      in = static_cast<std::size_t>(w.dim(0));
      if (gate_[l].bias.size() != in)
        throw Error("value head: gate bias of " + w.name + " has " + std::to_string(gate_[l].bias.size()) +
                    " values, expected " + std::to_string(in));
    }
    if (in != k)
      throw Error("value head: gate output has " + std::to_string(in) + " values, expected one per attribute (" +
                  std::to_string(k) + ")");
  }

  // Linear, SELU, Linear, SELU, …, Linear (no activation after the last).
  std::vector<float> gate_weights(std::span<const float> h, ThreadPool& pool) const {
    std::vector<float> x(h.begin(), h.end());
    for (std::size_t l = 0; l < gate_.size(); ++l) {
      x = gate_[l](x, pool);
      if (l + 1 < gate_.size()) kernels::selu_inplace(x.data(), x.size());
    }
    return x;
  }

  TensorView score_;
  std::vector<LinearLayer> gate_;
  std::vector<float> prior_;
  std::vector<std::string> names_;
  std::size_t hidden_ = 0;
};

}  // namespace urm
