// LinearLayer — y = W x + b for one hidden state: the small layers of value
// heads (score MLPs, gate networks). The weight is used in place in its
// stored dtype; the bias, a few floats, is converted once.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/activation.hpp"
#include "urm/kernels/matmul.hpp"

namespace urm {

struct LinearLayer {
  TensorView weight;        // [out, in]
  std::vector<float> bias;  // [out]; empty: no bias

  // A layer of checkpoint tensors (bias may be null: none).
  static LinearLayer of(const TensorView& weight, const TensorView* bias) {
    LinearLayer l{weight, {}};
    if (bias) {
      l.bias.resize(static_cast<std::size_t>(bias->numel()));
      for (std::size_t i = 0; i < l.bias.size(); ++i) l.bias[i] = bias->get_f32(i);
    }
    return l;
  }

  std::size_t in() const { return static_cast<std::size_t>(weight.dim(1)); }
  std::size_t out() const { return static_cast<std::size_t>(weight.dim(0)); }

  std::vector<float> operator()(std::span<const float> x, ThreadPool& pool) const {
    std::vector<float> y(out());
    kernels::matmul(x.data(), 1, x.size(), weight, y.data(), pool);
    if (!bias.empty()) kernels::add_inplace(y.data(), bias.data(), y.size());
    return y;
  }
};

}  // namespace urm
