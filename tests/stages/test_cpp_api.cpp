// The C++ layer (bertrt.hpp): RAII handles, span size checks (mismatched shapes are
// BERTRT_ERROR_SHAPE before anything runs), exceptions carrying the status, and the same results
// as the C API.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bertrt/bertrt.hpp"
#include "bertrt/convert.h"
#include "common/fixtures.h"
#include "common/status.h"
#include "convert/convert.h"
#include "kernels/kernels.h"
#include "model/model.h"

using bertrt::testing::converted_model;
using bertrt::testing::status_of;

TEST_CASE("mismatched buffer sizes are shape errors") {
  bertrt::Model model(converted_model("tiny"));
  bertrt::Session session(model);
  const size_t H = model.hidden_size();
  std::vector<int64_t> ids = {101, 7, 8, 102};
  std::vector<float> out(4 * H), short_out(4 * H - 1);
  CHECK(status_of([&] { session.lookup(ids, 1, 4, out); }) == BERTRT_OK);
  CHECK(status_of([&] { session.lookup(ids, 1, 4, short_out); }) == BERTRT_ERROR_SHAPE);
  CHECK(status_of([&] { session.lookup(ids, 2, 4, out); }) == BERTRT_ERROR_SHAPE);
  std::vector<int64_t> short_mask = {1, 1, 1};
  CHECK(status_of([&] { session.encode(out, short_mask, 1, 4, out); }) == BERTRT_ERROR_SHAPE);
  std::vector<float> hidden_states(2 * 4 * H);  // needs (L + 1) * B * T * H
  CHECK(status_of([&] { session.encode(out, {}, 1, 4, out, hidden_states); }) == BERTRT_ERROR_SHAPE);
  // Errors from the C layer carry their status and message.
  ids[1] = 1 << 20;
  try {
    session.lookup(ids, 1, 4, out);
    FAIL("no exception");
  } catch (const bertrt::Error& e) {
    CHECK(e.status() == BERTRT_ERROR_TOKEN_ID);
    CHECK(std::string(e.what()).find("input_ids[0, 1]") != std::string::npos);
  }
  CHECK_THROWS_AS(bertrt::Model("/nonexistent.bertrt"), bertrt::Error);
}

TEST_CASE("the C++ seed workflow equals the C forward from the same embeddings") {
  bertrt::Model model(converted_model("small"));
  bertrt::Session session(model);
  bertrt::Tokenizer tokenizer(model);
  const bertrt::Encoding enc = tokenizer.encode("Hello, my dog is cute");
  const size_t T = enc.ids.size(), H = model.hidden_size();
  std::vector<float> embeds(T * H), hidden(T * H), last(T * H, NAN), via_forward(T * H, NAN);
  session.lookup(enc.ids, 1, T, embeds);
  for (float& x : embeds) x *= 1.5f;
  session.embed(embeds, enc.token_type_ids, {}, 1, T, hidden);
  session.encode(hidden, enc.attention_mask, 1, T, last);
  bertrt_forward_inputs in{};
  in.inputs_embeds = embeds.data();
  in.token_type_ids = enc.token_type_ids.data();
  in.attention_mask = enc.attention_mask.data();
  in.batch = 1;
  in.seq_len = T;
  bertrt_forward_outputs o{};
  o.last_hidden_state = via_forward.data();
  session.forward(in, o);
  CHECK(last == via_forward);
  CHECK(tokenizer.id_to_token(enc.ids.front()) == "[CLS]");
}

// ------------------------------------------------------------------ public calls the tools use

namespace {

// Random texts of 0..max_words words drawn from a small mixed-script list; seed printed on failure.
std::vector<std::string> random_texts(std::mt19937& rng, size_t n, int max_words) {
  static const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "hello", "world", "dog", "is", "cute",
                                "über", "naïve", "東京", "tokyo", "runs", "quickly", ",", "!", "42"};
  std::uniform_int_distribution<int> count(0, max_words);
  std::uniform_int_distribution<size_t> pick(0, std::size(words) - 1);
  std::vector<std::string> texts(n);
  for (std::string& t : texts) {
    const int k = count(rng);
    for (int i = 0; i < k; ++i) t += std::string(i ? " " : "") + words[pick(rng)];
  }
  return texts;
}

// The text -> vectors steps cmd_embed and Model.encode_texts ran before the library had
// bertrt_session_encode_texts: encode each text (cut to max_length), sort longest first (stable),
// pad each batch with the pad id, forward, pool, and put each vector back at its input position.
std::vector<float> encode_texts_by_hand(bertrt::Session& session, const bertrt::Tokenizer& tok, size_t hidden,
                                        const std::vector<std::string>& texts, size_t max_length, size_t batch_size,
                                        bertrt_pool_mode mode, bool normalize) {
  const size_t n = texts.size();
  std::vector<std::vector<int64_t>> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = tok.encode(texts[i], nullptr, max_length).ids;
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });
  std::vector<float> out(n * hidden);
  for (size_t start = 0; start < n; start += batch_size) {
    const size_t b = std::min(batch_size, n - start);
    size_t width = 0;
    for (size_t k = 0; k < b; ++k) width = std::max(width, ids[order[start + k]].size());
    std::vector<int64_t> batch_ids(b * width, tok.pad_id()), mask(b * width, 0);
    for (size_t k = 0; k < b; ++k) {
      const auto& row = ids[order[start + k]];
      std::copy(row.begin(), row.end(), batch_ids.begin() + static_cast<std::ptrdiff_t>(k * width));
      std::fill_n(mask.begin() + static_cast<std::ptrdiff_t>(k * width), row.size(), 1);
    }
    std::vector<float> last(b * width * hidden), pooled(b * hidden);
    bertrt_forward_inputs in{};
    in.input_ids = batch_ids.data();
    in.attention_mask = mask.data();
    in.batch = b;
    in.seq_len = width;
    bertrt_forward_outputs o{};
    o.last_hidden_state = last.data();
    session.forward(in, o);
    session.pool(last, mask, b, width, mode, normalize, pooled);
    for (size_t k = 0; k < b; ++k) std::copy_n(pooled.data() + k * hidden, hidden, out.data() + order[start + k] * hidden);
  }
  return out;
}

}  // namespace

TEST_CASE("pool-mode names and enum values map both ways") {
  const std::pair<const char*, bertrt_pool_mode> modes[] = {
      {"cls", BERTRT_POOL_CLS}, {"mean", BERTRT_POOL_MEAN}, {"max", BERTRT_POOL_MAX}, {"pooler", BERTRT_POOL_POOLER}};
  for (const auto& [name, mode] : modes) {
    bertrt_pool_mode got = BERTRT_POOL_MODE_MAX_ENUM;
    CHECK(bertrt_pool_mode_from_name(name, &got) == BERTRT_OK);
    CHECK(got == mode);
    CHECK(std::string(bertrt_pool_mode_name(mode)) == name);
    CHECK(bertrt::pool_mode_from_name(name) == mode);
  }
  bertrt_pool_mode got = BERTRT_POOL_MEAN;
  for (const char* bad : {"median", "MEAN", "", "mean "}) {
    CHECK(bertrt_pool_mode_from_name(bad, &got) == BERTRT_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(bertrt_last_error()).find("cls, mean, max or pooler") != std::string::npos);
  }
  CHECK(bertrt_pool_mode_from_name(nullptr, &got) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_pool_mode_from_name("cls", nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_pool_mode_name(static_cast<bertrt_pool_mode>(4)) == nullptr);
  CHECK(bertrt_pool_mode_name(static_cast<bertrt_pool_mode>(-1)) == nullptr);
  CHECK(status_of([] { bertrt::pool_mode_from_name("sum"); }) == BERTRT_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("the tokenizer's special ids are the ones it encodes and pads with") {
  bertrt::Model model(converted_model("small"));
  bertrt::Tokenizer tok(model);
  const bertrt::Encoding enc = tok.encode("hello world");
  CHECK(tok.cls_id() == enc.ids.front());
  CHECK(tok.sep_id() == enc.ids.back());
  CHECK(tok.id_to_token(tok.unk_id()) == model.tokenizer_settings().unk_token);
  CHECK(tok.id_to_token(tok.pad_id()) == model.tokenizer_settings().pad_token);
  // The batch encoder pads with the same id.
  const std::vector<std::string> texts = {"", "hello world"};
  const bertrt::BatchEncoding batch = tok.encode_batch(texts);
  REQUIRE(batch.seq_len > 2);
  CHECK(batch.ids[2] == tok.pad_id());
  CHECK(tok.vocab_size() == static_cast<size_t>(model.config().vocab_size));
  CHECK(bertrt_tokenizer_pad_id(nullptr) == -1);
  CHECK(bertrt_tokenizer_cls_id(nullptr) == -1);
  CHECK(bertrt_tokenizer_sep_id(nullptr) == -1);
  CHECK(bertrt_tokenizer_unk_id(nullptr) == -1);
}

TEST_CASE("Tokenizer::encode_batch equals encode row by row, padded") {
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  bertrt::Model model(converted_model("small"));
  bertrt::Tokenizer tok(model);
  const std::vector<std::string> texts = random_texts(rng, 9, 30);
  for (size_t max_length : {size_t{0}, size_t{12}}) {
    const bertrt::BatchEncoding b = tok.encode_batch(texts, {}, max_length);
    REQUIRE(b.batch == texts.size());
    size_t longest = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      const bertrt::Encoding e = tok.encode(texts[i], nullptr, max_length);
      longest = std::max(longest, e.ids.size());
      for (size_t t = 0; t < b.seq_len; ++t) {
        const size_t k = i * b.seq_len + t;
        const bool real = t < e.ids.size();
        CHECK(b.ids[k] == (real ? e.ids[t] : tok.pad_id()));
        CHECK(b.attention_mask[k] == (real ? 1 : 0));
        CHECK(b.token_type_ids[k] == 0);
      }
    }
    CHECK(b.seq_len == longest);
  }
  CHECK(status_of([&] { tok.encode_batch(texts, std::vector<std::string>{"one pair"}); }) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("model introspection says what the model file holds") {
  const std::string path = converted_model("small");
  bertrt::Model model(path);
  const auto internal = bertrt::core::Model::open(path);
  const bertrt_model_file_info info = model.file_info();
  CHECK(info.format_version == internal->file().version());
  CHECK(info.header_checksum == internal->file().checksum());
  CHECK(info.weights_verified == 0);
  CHECK(std::string(info.hidden_act) == internal->config().hidden_act_name);
  REQUIRE(info.tensor_count == internal->file().tensors().size());
  size_t panels = 0;
  for (size_t i = 0; i < info.tensor_count; ++i) {
    const bertrt_tensor_info t = model.tensor_info(i);
    const bertrt::format::TensorInfo& want = internal->file().tensors()[i];
    CHECK(std::string(t.name) == want.name);
    CHECK(std::string(t.dtype) == bertrt::format::dtype_name(want.dtype));
    CHECK(t.nbytes == want.nbytes);
    REQUIRE(t.ndim == want.shape.size());
    for (size_t d = 0; d < t.ndim; ++d) CHECK(t.shape[d] == want.shape[d]);
    panels += std::string(t.layout) == "panel";
    CHECK((std::string(t.layout) == "panel") == (want.layout == bertrt::format::TensorLayout::panel));
  }
  CHECK(panels > 0);  // f32 matrices are stored pre-packed
  bertrt_tensor_info past{};
  CHECK(bertrt_model_get_tensor_info(model.get(), info.tensor_count, &past) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_model_get_file_info(nullptr, nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  const bertrt_tokenizer_settings s = model.tokenizer_settings();
  const bertrt::core::TokenizerData& td = internal->tokenizer_data();
  CHECK(s.vocab_size == td.vocab->size());
  CHECK(s.do_lower_case == (td.do_lower_case ? 1 : 0));
  CHECK(s.strip_accents == td.strip_accents);
  CHECK(s.model_max_length == td.model_max_length);
  CHECK(std::string(s.cls_token) == td.cls_token);
  CHECK(bertrt::Model(path, true).file_info().weights_verified == 1);
}

TEST_CASE("the kernel names are those of the active table") {
  namespace k = bertrt::kernels;
  REQUIRE(bertrt_kernel_count() == k::kernel_count());
  const std::vector<std::string> names = bertrt::kernel_names();
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(names[i] == k::kernel_name(k::active(), i));
    CHECK(names[i].find(std::string("__") + bertrt_kernel_isa()) != std::string::npos);
  }
  CHECK(bertrt_kernel_name(bertrt_kernel_count()) == nullptr);
  CHECK(std::string(bertrt_kernel_best_isa()) == k::isa_name(k::best_isa()));
}

TEST_CASE("encode_texts equals the hand-written pipeline it replaces, bit for bit") {
  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  bertrt::Model model(converted_model("small"));
  bertrt::Session session(model);
  bertrt::Tokenizer tok(model);
  const size_t H = model.hidden_size();
  const std::vector<std::string> texts = random_texts(rng, 23, 40);
  const size_t max_length = 16;
  size_t cut = 0;
  for (const std::string& t : texts) cut += tok.encode(t).ids.size() > max_length;
  for (size_t batch_size : {size_t{1}, size_t{4}, size_t{32}}) {
    for (bertrt_pool_mode mode : {BERTRT_POOL_CLS, BERTRT_POOL_MEAN, BERTRT_POOL_MAX, BERTRT_POOL_POOLER}) {
      CAPTURE(batch_size);
      CAPTURE(static_cast<int>(mode));
      const bool normalize = mode == BERTRT_POOL_MEAN;
      bertrt_encode_texts_options o{};
      o.max_length = max_length;
      o.batch_size = batch_size;
      o.pool = mode;
      o.normalize = normalize;
      std::vector<float> got(texts.size() * H, NAN);
      CHECK(session.encode_texts(tok, texts, got, &o) == cut);
      for (float x : got) REQUIRE(std::isfinite(x));
      const std::vector<float> want =
          encode_texts_by_hand(session, tok, H, texts, max_length, batch_size, mode, normalize);
      CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
    }
  }
  // NUL-terminated texts (text_lens NULL) and the model's defaults (options NULL).
  std::vector<const char*> ptrs;
  for (const std::string& t : texts) ptrs.push_back(t.c_str());
  std::vector<float> got(texts.size() * H, NAN);
  size_t truncated = 99;
  REQUIRE(bertrt_session_encode_texts(session.get(), tok.get(), ptrs.data(), nullptr, ptrs.size(), nullptr, got.data(),
                                      &truncated) == BERTRT_OK);
  const bertrt_config& c = model.config();
  // Up to 40 words of up to a few word pieces each can pass the model's length now and then.
  size_t over = 0;
  for (const std::string& t : texts) over += tok.encode(t).ids.size() > static_cast<size_t>(c.max_sequence_length);
  CHECK(truncated == over);
  const std::vector<float> want = encode_texts_by_hand(session, tok, H, texts, static_cast<size_t>(c.max_position_embeddings),
                                                       32, c.default_pool, c.default_normalize != 0);
  CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
}

TEST_CASE("encode_texts reports progress, takes (pointer, length) texts and rejects bad input") {
  bertrt::Model model(converted_model("tiny"));
  bertrt::Session session(model);
  bertrt::Tokenizer tok(model);
  const size_t H = model.hidden_size();
  const std::string buffer = "hello worldthe cat";  // two texts cut out of one buffer, no NULs
  const char* ptrs[2] = {buffer.data(), buffer.data() + 11};
  const size_t lens[2] = {11, 7};
  std::vector<std::pair<size_t, size_t>> calls;
  bertrt_encode_texts_options o{};
  o.batch_size = 1;
  o.pool = BERTRT_POOL_MEAN;
  o.progress = [](size_t done, size_t total, void* user) {
    static_cast<std::vector<std::pair<size_t, size_t>>*>(user)->emplace_back(done, total);
  };
  o.progress_user_data = &calls;
  std::vector<float> out(2 * H, NAN), one(H, NAN);
  REQUIRE(bertrt_session_encode_texts(session.get(), tok.get(), ptrs, lens, 2, &o, out.data(), nullptr) == BERTRT_OK);
  CHECK(calls == std::vector<std::pair<size_t, size_t>>{{1, 2}, {2, 2}});
  const std::vector<std::string> second = {"the cat"};
  session.encode_texts(tok, second, one, &o);
  CHECK(std::memcmp(one.data(), out.data() + H, H * sizeof(float)) == 0);
  CHECK(bertrt_session_encode_texts(session.get(), tok.get(), ptrs, lens, 0, &o, nullptr, nullptr) == BERTRT_OK);

  const char* bad_utf8[2] = {"fine", "\xff\xfe"};
  CHECK(bertrt_session_encode_texts(session.get(), tok.get(), bad_utf8, nullptr, 2, &o, out.data(), nullptr) ==
        BERTRT_ERROR_INVALID_UTF8);
  CHECK(std::string(bertrt_last_error()).find("texts[1]") != std::string::npos);
  const char* null_text[1] = {nullptr};
  CHECK(bertrt_session_encode_texts(session.get(), tok.get(), null_text, nullptr, 1, &o, out.data(), nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  o.pool = static_cast<bertrt_pool_mode>(7);
  CHECK(bertrt_session_encode_texts(session.get(), tok.get(), ptrs, lens, 2, &o, out.data(), nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  o.pool = BERTRT_POOL_MEAN;
  o.max_length = 1;  // less than [CLS] + [SEP]
  CHECK(bertrt_session_encode_texts(session.get(), tok.get(), ptrs, lens, 2, &o, out.data(), nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_encode_texts(nullptr, tok.get(), ptrs, lens, 2, &o, out.data(), nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_session_encode_texts(session.get(), nullptr, ptrs, lens, 2, &o, out.data(), nullptr) ==
        BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(status_of([&] { session.encode_texts(tok, second, std::span<float>(one.data(), H - 1)); }) ==
        BERTRT_ERROR_SHAPE);
}

TEST_CASE("bertrt_convert writes the converter's bytes and passes its notes") {
  const std::string dir = (bertrt::testing::fixtures_dir() / "models" / "tiny-prefixed").string();
  const std::string out = (bertrt::testing::temp_dir("c-convert") / "tiny.bertrt").string();
  std::vector<std::string> notes;
  bertrt_convert_options o{};
  o.dtype = "f16";
  o.note = [](const char* message, void* user) { static_cast<std::vector<std::string>*>(user)->push_back(message); };
  o.note_user_data = &notes;
  REQUIRE(bertrt_convert(dir.c_str(), out.c_str(), &o) == BERTRT_OK);
  bertrt::convert::ConvertOptions internal;
  internal.dtype = bertrt::format::TensorDType::f16;
  std::vector<std::string> internal_notes;
  internal.note = [&](const std::string& s) { internal_notes.push_back(s); };
  const std::vector<uint8_t> want = bertrt::convert::build_model_file(dir, internal).serialize();
  std::ifstream f(out, std::ios::binary);
  const std::vector<uint8_t> got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(got == want);
  CHECK(notes == internal_notes);
  CHECK(!notes.empty());
  CHECK(bertrt::Model(out).config().weight_dtype == std::string("f16"));
  o.dtype = "f64";
  CHECK(bertrt_convert(dir.c_str(), out.c_str(), &o) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(bertrt_last_error()).find("f32, f16, bf16 or int8, not 'f64'") != std::string::npos);
  CHECK(bertrt_convert(nullptr, out.c_str(), nullptr) == BERTRT_ERROR_INVALID_ARGUMENT);
  CHECK(bertrt_convert((dir + "/no-such").c_str(), out.c_str(), nullptr) == BERTRT_ERROR_IO);
}

// Run twice by meson: as part of cpp_api (BERTRT_ISA unset: opening works), and as cpp_api-isa-error
// with BERTRT_ISA=no-such-isa, where opening must fail with the kernels' reason.
TEST_CASE("an unusable BERTRT_ISA makes bertrt_model_open fail with BERTRT_ERROR_UNSUPPORTED") {
  const std::string path = converted_model("tiny");
  const char* env = std::getenv("BERTRT_ISA");
  const bool forced_bad = env && std::string(env) == "no-such-isa";
  bertrt_model* m = nullptr;
  const bertrt_status status = bertrt_model_open(path.c_str(), nullptr, &m);
  if (forced_bad) {
    REQUIRE(bertrt_kernel_isa_error() != nullptr);
    CHECK(status == BERTRT_ERROR_UNSUPPORTED);
    CHECK(m == nullptr);
    CHECK(std::string(bertrt_last_error()) == bertrt_kernel_isa_error());
    CHECK(std::string(bertrt_last_error()).find("no-such-isa") != std::string::npos);
    CHECK(status_of([&] { bertrt::Model model(path); }) == BERTRT_ERROR_UNSUPPORTED);
  } else if (bertrt_kernel_isa_error() == nullptr) {
    CHECK(status == BERTRT_OK);
    bertrt_session* s = nullptr;
    CHECK(bertrt_session_create(m, &s) == BERTRT_OK);
    bertrt_session_free(s);
  }
  bertrt_model_free(m);
}
