// Damaged SentencePiece models are errors (BERTRT_ERROR_FORMAT, or BERTRT_ERROR_UNSUPPORTED for a
// model kind the reader does not convert), never crashes: truncated files, wrong wire types,
// lengths past the end, bad pieces and ids, random bytes and random byte flips.
#include <doctest/doctest.h>

#include <limits>
#include <random>

#include "common/error.h"
#include "convert/sentencepiece.h"
#include "spm_test_util.h"

using namespace spm_test;
namespace spm = bertrt::convert::spm;

namespace {

std::mt19937& rng() {
  static std::mt19937 g = [] {
    const unsigned seed = std::random_device{}();
    MESSAGE("damaged sentencepiece tests: random seed " << seed);
    return std::mt19937(seed);
  }();
  return g;
}

// The status of converting bytes and loading the result (BERTRT_OK when both succeed).
bertrt_status convert_status(const std::string& bytes, spm::Family family = spm::Family::t5) {
  try {
    (void)bertrt::Tokenizer::from_json(spm::tokenizer_json(bytes, {family, 100}));
  } catch (const bertrt::Error& e) {
    return e.status();
  }
  return BERTRT_OK;
}

std::string message_of(const std::string& bytes) {
  try {
    (void)spm::tokenizer_json(bytes, {});
  } catch (const bertrt::Error& e) {
    return e.what();
  }
  return "";
}

ModelSpec small_model() {
  ModelSpec s;
  s.pieces = {{"<pad>", 0, CONTROL}, {"</s>", 0, CONTROL}, {"<unk>", 0, UNKNOWN}, {"\xE2\x96\x81", -2.0f}};
  for (char c = 'a'; c <= 'z'; ++c) s.pieces.push_back({std::string(1, c), -3.0f - static_cast<float>(c - 'a') / 10});
  s.unk_id = 2;
  return s;
}

}  // namespace

TEST_CASE("damaged sentencepiece: the hand-made model itself converts") {
  CHECK(convert_status(model_bytes(small_model())) == BERTRT_OK);
}

TEST_CASE("damaged sentencepiece: truncated files") {
  const std::string full = read_bytes(t5_dir() / "spiece.model");
  // Inside the first piece's message, and inside the charsmap (its length runs past the end).
  CHECK(convert_status(full.substr(0, 7)) == BERTRT_ERROR_FORMAT);
  const size_t name = full.find("nmt_nfkc");
  REQUIRE(name != std::string::npos);
  CHECK(convert_status(full.substr(0, name + 1000)) == BERTRT_ERROR_FORMAT);
  CHECK(message_of(full.substr(0, name + 1000)).find("does not parse") != std::string::npos);
  CHECK(convert_status("") == BERTRT_ERROR_FORMAT);  // no pieces
  // Random cuts: a cut at a message boundary can leave a smaller valid model; anything else is a
  // format error. Never a crash or another exception.
  std::uniform_int_distribution<size_t> cut(1, full.size() - 1);
  int errors = 0;
  for (int i = 0; i < 12; ++i) {
    const size_t n = cut(rng());
    const bertrt_status s = convert_status(full.substr(0, n));
    INFO("cut at " << n);
    CHECK((s == BERTRT_OK || s == BERTRT_ERROR_FORMAT));
    errors += s != BERTRT_OK;
  }
  CHECK(errors > 0);
  // Cut on the small model at every byte.
  const std::string small = model_bytes(small_model());
  for (size_t n = 0; n < small.size(); ++n) {
    const bertrt_status s = convert_status(small.substr(0, n));
    INFO("small model cut at " << n);
    CHECK((s == BERTRT_OK || s == BERTRT_ERROR_FORMAT));
  }
}

TEST_CASE("damaged sentencepiece: wrong wire types and huge lengths") {
  const std::string valid = model_bytes(small_model());
  // pieces (field 1) as a varint: no pieces at all.
  CHECK(convert_status(Pb().uint(1, 5).out) == BERTRT_ERROR_FORMAT);
  // A piece whose string (field 1) is a varint: the piece is empty.
  CHECK(convert_status(Pb().bytes(1, Pb().uint(1, 7).f32(2, -1.0f).out).out + valid) == BERTRT_ERROR_FORMAT);
  // Wire types 6 and 7 do not exist; a group end without a start.
  CHECK(convert_status(Pb().tag(1, 7).out + valid) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(valid + Pb().tag(9, 6).out) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(valid + Pb().tag(2, 4).out) == BERTRT_ERROR_FORMAT);
  // Lengths past the end: of the model's field, of a piece's string, of the charsmap.
  for (uint64_t len : {uint64_t{1} << 20, uint64_t{0x7FFFFFFF}, uint64_t{0xFFFFFFFF}, uint64_t{1} << 40,
                       std::numeric_limits<uint64_t>::max()}) {
    INFO("length " << len);
    CHECK(convert_status(valid + Pb().tag(1, 2).varint(len).out + "abc") == BERTRT_ERROR_FORMAT);
    CHECK(convert_status(Pb().tag(1, 2).varint(len + 2).tag(1, 2).varint(len).out + valid) == BERTRT_ERROR_FORMAT);
    CHECK(convert_status(valid + Pb().tag(3, 2).varint(6).tag(2, 2).varint(len).out) == BERTRT_ERROR_FORMAT);
  }
  // A varint longer than ten bytes.
  CHECK(convert_status(valid + Pb().tag(2, 0).out + std::string(12, '\xFF')) == BERTRT_ERROR_FORMAT);
}

TEST_CASE("damaged sentencepiece: bad pieces, ids and model kinds") {
  auto with = [](auto&& change) {
    ModelSpec s = small_model();
    change(s);
    return model_bytes(s);
  };
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[5].piece = ""; })) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[5].piece = "a\xC3"; })) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[5].piece = "\xED\xA0\x80"; })) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[6].piece = "a"; })) == BERTRT_ERROR_FORMAT);  // twice
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[5].score = std::nanf(""); })) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[5].score = -INFINITY; })) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.unk_id = -1; })) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.unk_id = 30; })) == BERTRT_ERROR_FORMAT);
  CHECK(message_of(with([](ModelSpec& s) { s.unk_id = 30; })).find("unk_id 30") != std::string::npos);
  // T5's template needs </s>; XLM-R's layout needs more than three pieces.
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[1].piece = "<eos>"; })) == BERTRT_ERROR_FORMAT);
  ModelSpec three;
  three.pieces = {{"<unk>", 0, UNKNOWN}, {"<s>", 0, CONTROL}, {"</s>", 0, CONTROL}};
  CHECK(convert_status(model_bytes(three), spm::Family::xlm_roberta) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(model_bytes(three), spm::Family::camembert) == BERTRT_OK);
  // A piece named like a family token it adds: the vocabulary would hold it twice.
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[5].piece = "<mask>"; }), spm::Family::xlm_roberta) ==
        BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.pieces[5].piece = "<extra_id_3>"; })) == BERTRT_ERROR_FORMAT);
  CHECK(convert_status(with([](ModelSpec& s) { s.model_type = 2; })) == BERTRT_ERROR_UNSUPPORTED);
  CHECK(convert_status(with([](ModelSpec& s) { s.model_type = 4; })) == BERTRT_ERROR_UNSUPPORTED);
  CHECK(convert_status(with([](ModelSpec& s) { s.byte_fallback = true; })) == BERTRT_ERROR_UNSUPPORTED);
  CHECK(convert_status(with([](ModelSpec& s) { s.charsmap = std::string("\x08\x00\x00\x00junk", 8); })) ==
        BERTRT_ERROR_FORMAT);
  CHECK_THROWS_AS(spm::tokenizer_json(model_bytes(small_model()), {spm::Family::t5, -1}), bertrt::Error);
}

TEST_CASE("damaged sentencepiece: random bytes and random byte flips") {
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> size(1, 400);
  for (int i = 0; i < 300; ++i) {
    std::string junk(size(rng()), '\0');
    for (char& c : junk) c = static_cast<char>(byte(rng()));
    const bertrt_status s = convert_status(junk);
    CHECK((s == BERTRT_OK || s == BERTRT_ERROR_FORMAT || s == BERTRT_ERROR_UNSUPPORTED));
  }
  const std::string valid = model_bytes(small_model());
  std::uniform_int_distribution<size_t> at(0, valid.size() - 1);
  for (int i = 0; i < 300; ++i) {
    std::string flipped = valid;
    for (int k = 0; k < 3; ++k) flipped[at(rng())] = static_cast<char>(byte(rng()));
    const bertrt_status s = convert_status(flipped);
    CHECK((s == BERTRT_OK || s == BERTRT_ERROR_FORMAT || s == BERTRT_ERROR_UNSUPPORTED));
  }
}
