// Names of tensors and metadata keys inside a bertrt model file (docs/format.md lists them).
// Shared by the converter (writer) and the model (reader).
#pragma once

#include <string>

namespace bertrt::names {

inline const char* const kWordEmbeddings = "embeddings.word_embeddings";          // [V, H]
inline const char* const kPositionEmbeddings = "embeddings.position_embeddings";  // [P, H] f32
inline const char* const kTokenTypeEmbeddings = "embeddings.token_type_embeddings";  // [TV, H] f32
inline const char* const kEmbeddingsLnGamma = "embeddings.layer_norm.gamma";      // [H] f32
inline const char* const kEmbeddingsLnBeta = "embeddings.layer_norm.beta";        // [H] f32
inline const char* const kPoolerWeight = "pooler.weight";                         // [H, H] (in, out)
inline const char* const kPoolerBias = "pooler.bias";                             // [H] f32
// ELECTRA (embedding_size E != hidden_size H): embeddings are E wide, projected to H.
inline const char* const kEmbeddingsProjectWeight = "embeddings.project.weight";  // [E, H] (in, out)
inline const char* const kEmbeddingsProjectBias = "embeddings.project.bias";      // [H] f32

// Task head (optional; head.kind says which). Matrices [in, out]; X = the head's inner width.
inline const char* const kHeadDenseWeight = "head.dense.weight";      // [H, X] (absent: no dense layer)
inline const char* const kHeadDenseBias = "head.dense.bias";          // [X] f32
inline const char* const kHeadLnGamma = "head.layer_norm.gamma";      // [X] f32 (masked LM)
inline const char* const kHeadLnBeta = "head.layer_norm.beta";        // [X] f32 (masked LM)
inline const char* const kHeadOutWeight = "head.out.weight";          // [X, L] classifier / out_proj
inline const char* const kHeadOutBias = "head.out.bias";              // [L] f32
inline const char* const kHeadDecoderWeight = "head.decoder.weight";  // [X, V] untied decoder only
inline const char* const kHeadDecoderBias = "head.decoder.bias";      // [V] f32 (masked LM)

// Per layer: "layer.<i>.<suffix>". Linear weights are stored [in, out] so y = x W + b.
inline const char* const kQkvWeight = "attention.qkv.weight";            // [H, 3H]: Q | K | V columns
inline const char* const kQkvBias = "attention.qkv.bias";                // [3H]
inline const char* const kAttnOutWeight = "attention.output.weight";     // [H, H]
inline const char* const kAttnOutBias = "attention.output.bias";         // [H]
inline const char* const kAttnLnGamma = "attention.layer_norm.gamma";    // [H]
inline const char* const kAttnLnBeta = "attention.layer_norm.beta";      // [H]
inline const char* const kFfnUpWeight = "ffn.up.weight";                 // [H, I]
inline const char* const kFfnUpBias = "ffn.up.bias";                     // [I]
inline const char* const kFfnDownWeight = "ffn.down.weight";             // [I, H]
inline const char* const kFfnDownBias = "ffn.down.bias";                 // [H]
inline const char* const kOutLnGamma = "output.layer_norm.gamma";        // [H]
inline const char* const kOutLnBeta = "output.layer_norm.beta";          // [H]

inline std::string layer(int i, const char* suffix) { return "layer." + std::to_string(i) + "." + suffix; }

// Metadata keys.
inline const char* const kMetaFamily = "model.family";  // bert (when absent), roberta, xlm-roberta, ...
inline const char* const kMetaEmbeddingSize = "bert.embedding_size";  // E; absent: hidden_size
inline const char* const kMetaVocabSize = "bert.vocab_size";
inline const char* const kMetaHiddenSize = "bert.hidden_size";
inline const char* const kMetaNumLayers = "bert.num_hidden_layers";
inline const char* const kMetaNumHeads = "bert.num_attention_heads";
inline const char* const kMetaIntermediateSize = "bert.intermediate_size";
inline const char* const kMetaMaxPositions = "bert.max_position_embeddings";
inline const char* const kMetaTypeVocabSize = "bert.type_vocab_size";
inline const char* const kMetaPadTokenId = "bert.pad_token_id";
inline const char* const kMetaLayerNormEps = "bert.layer_norm_eps";
inline const char* const kMetaHiddenAct = "bert.hidden_act";
inline const char* const kMetaWeightDtype = "bert.weight_dtype";
inline const char* const kMetaVocab = "tokenizer.vocab";
inline const char* const kMetaDoLowerCase = "tokenizer.do_lower_case";
inline const char* const kMetaStripAccents = "tokenizer.strip_accents";  // -1 unset, 0, 1
inline const char* const kMetaTokenizeChinese = "tokenizer.tokenize_chinese_chars";
inline const char* const kMetaUnkToken = "tokenizer.unk_token";
inline const char* const kMetaClsToken = "tokenizer.cls_token";
inline const char* const kMetaSepToken = "tokenizer.sep_token";
inline const char* const kMetaPadToken = "tokenizer.pad_token";
inline const char* const kMetaMaskToken = "tokenizer.mask_token";
inline const char* const kMetaModelMaxLength = "tokenizer.model_max_length";
// Raw tokenizer files as the checkpoint holds them (tokenizer.json, vocab.json, merges.txt).
inline const char* const kMetaTokenizerJson = "tokenizer.json";
inline const char* const kMetaTokenizerVocabJson = "tokenizer.vocab_json";
inline const char* const kMetaTokenizerMerges = "tokenizer.merges";
inline const char* const kMetaPoolingMode = "pooling.mode";          // cls | mean | max | pooler
inline const char* const kMetaPoolingNormalize = "pooling.normalize";  // 0 | 1
inline const char* const kMetaSource = "source.description";
// Task head metadata (absent head.kind: no head).
inline const char* const kMetaHeadKind = "head.kind";                  // sequence | token | masked_lm
inline const char* const kMetaHeadArchitecture = "head.architecture";  // config.json architectures[0]
inline const char* const kMetaHeadActivation = "head.activation";      // of the dense layer: tanh, relu, gelu, ...
inline const char* const kMetaHeadPooler = "head.pooler";              // 1: the dense layer is the pooler (BERT)
inline const char* const kMetaHeadLabels = "head.labels";              // id2label in index order
inline const char* const kMetaHeadProblemType = "head.problem_type";   // config.json problem_type
inline const char* const kMetaHeadLayerNormEps = "head.layer_norm_eps";  // masked LM LayerNorm

}  // namespace bertrt::names
