#include "common/error.h"
#include "stages/stages.h"

namespace bertrt::core {

void linear(Workspace& ws, const float* x, size_t m, const WeightMatrix& w, const float* bias,
            kernels::Activation act, float* y) {
  const kernels::KernelTable& k = kernels::active();
  const float* weights = static_cast<const float*>(w.data);
  if (w.dtype != kernels::DType::f32) {
    float* wide = grow(ws.weights, w.in * w.out);
    const auto* src = static_cast<const uint16_t*>(w.data);
    if (w.dtype == kernels::DType::f16)
      k.f16_to_f32(src, w.in * w.out, wide);
    else
      k.bf16_to_f32(src, w.in * w.out, wide);
    weights = wide;
  }
  kernels::sgemm(false, false, m, w.out, w.in, 1.0f, x, w.in, weights, w.out, 0.0f, y, w.out);
  if (bias || act != kernels::Activation::none) k.bias_activation(y, m, w.out, w.out, bias, act);
}

void encoder_layer(const Model& model, size_t layer, Workspace& ws, const float* x, size_t batch, size_t seq_len,
                   const uint8_t* key_valid, const KeySpan* spans, float* out, float* attentions) {
  const ModelConfig& c = model.config();
  const LayerWeights& l = model.layers()[layer];
  const kernels::KernelTable& k = kernels::active();
  const size_t n = batch * seq_len, h = c.hidden_size;

  float* qkv = grow(ws.qkv, n * 3 * h);
  linear(ws, x, n, l.qkv, l.qkv_bias, kernels::Activation::none, qkv);

  float* context = grow(ws.context, n * h);
  attention(c, ws, qkv, batch, seq_len, key_valid, spans, context, attentions);

  // attn_norm = LayerNorm(context W_o + b_o + x)
  float* projected = grow(ws.projected, n * h);
  linear(ws, context, n, l.attn_out, nullptr, kernels::Activation::none, projected);
  float* attn_norm = grow(ws.attn_norm, n * h);
  k.add_bias_layernorm(projected, x, l.attn_out_bias, l.attn_ln_gamma, l.attn_ln_beta, c.layer_norm_eps, n, h,
                       attn_norm);

  // out = LayerNorm(act(attn_norm W_i + b_i) W_d + b_d + attn_norm)
  float* ffn = grow(ws.ffn, n * c.intermediate_size);
  linear(ws, attn_norm, n, l.ffn_up, l.ffn_up_bias, c.hidden_act, ffn);
  linear(ws, ffn, n, l.ffn_down, nullptr, kernels::Activation::none, projected);
  k.add_bias_layernorm(projected, attn_norm, l.ffn_down_bias, l.out_ln_gamma, l.out_ln_beta, c.layer_norm_eps, n, h,
                       out);
}

}  // namespace bertrt::core
