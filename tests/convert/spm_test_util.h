// Helpers of the SentencePiece reader tests: a protobuf writer for hand-made .model files, the
// t5-small conformance cases, and comparison of an encoding with a case.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"

namespace spm_test {

inline std::filesystem::path data_dir() { return BERTRT_TEST_DATA_DIR; }
inline std::filesystem::path t5_dir() { return data_dir() / "vocab" / "t5-small"; }

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot read " << p);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Protocol-buffer wire format, enough to write ModelProto messages (and damaged ones).
struct Pb {
  std::string out;
  Pb& varint(uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
    return *this;
  }
  Pb& tag(int field, int wire) { return varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire)); }
  Pb& uint(int field, uint64_t v) { return tag(field, 0).varint(v); }
  Pb& sint32(int field, int32_t v) { return uint(field, static_cast<uint64_t>(static_cast<int64_t>(v))); }
  Pb& bytes(int field, std::string_view s) {
    tag(field, 2).varint(s.size());
    out.append(s);
    return *this;
  }
  Pb& f32(int field, float f) {
    tag(field, 5);
    char b[4];
    std::memcpy(b, &f, 4);  // little-endian hosts
    out.append(b, 4);
    return *this;
  }
};

enum PieceType { NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6 };

struct PieceSpec {
  std::string piece;
  float score = 0.0f;
  int type = NORMAL;
};

struct ModelSpec {
  std::vector<PieceSpec> pieces;
  int model_type = 1;  // UNIGRAM
  int32_t unk_id = 0;
  bool byte_fallback = false;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  std::string charsmap;  // raw bytes; empty: none
};

inline std::string piece_message(const PieceSpec& p) {
  Pb m;
  m.bytes(1, p.piece).f32(2, p.score);
  if (p.type != NORMAL) m.uint(3, static_cast<uint64_t>(p.type));
  return m.out;
}

inline std::string model_bytes(const ModelSpec& s) {
  Pb trainer, normalizer, model;
  trainer.uint(3, static_cast<uint64_t>(s.model_type)).uint(4, s.pieces.size()).sint32(40, s.unk_id);
  if (s.byte_fallback) trainer.uint(35, 1);
  normalizer.bytes(1, s.charsmap.empty() ? "identity" : "nmt_nfkc");
  if (!s.charsmap.empty()) normalizer.bytes(2, s.charsmap);
  normalizer.uint(3, s.add_dummy_prefix ? 1 : 0).uint(4, s.remove_extra_whitespaces ? 1 : 0);
  for (const PieceSpec& p : s.pieces) model.bytes(1, piece_message(p));
  model.bytes(2, trainer.out).bytes(3, normalizer.out);
  return model.out;
}

struct Case {
  nlohmann::json j;
  std::string text, pair;
  bool has_pair = false;
  size_t max_length = 0;
  bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST;
};

inline std::vector<Case> t5_cases() {
  std::ifstream in(data_dir() / "tokenizer-cases" / "unigram" / "t5-small.jsonl");
  REQUIRE(in.good());
  std::vector<Case> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    Case c;
    c.j = nlohmann::json::parse(line);
    c.text = c.j.at("text").get<std::string>();
    c.has_pair = c.j.contains("text_pair");
    if (c.has_pair) c.pair = c.j.at("text_pair").get<std::string>();
    c.max_length = c.j.value("max_length", size_t{0});
    const std::string t = c.j.value("truncation", std::string("longest_first"));
    c.truncation = t == "only_first"    ? BERTRT_TRUNCATION_ONLY_FIRST
                   : t == "only_second" ? BERTRT_TRUNCATION_ONLY_SECOND
                                        : BERTRT_TRUNCATION_LONGEST_FIRST;
    out.push_back(std::move(c));
  }
  return out;
}

// The case's offsets as a flat [start, end, start, end, ...] list.
inline std::vector<int64_t> flat_offsets(const nlohmann::json& offsets) {
  std::vector<int64_t> out;
  for (const auto& o : offsets) {
    out.push_back(o.at(0).get<int64_t>());
    out.push_back(o.at(1).get<int64_t>());
  }
  return out;
}

// ids, tokens, type ids and byte offsets of one case; where names the tokenizer in failures.
// c_strings: the tokens came through the C API, whose token strings end at their first NUL (a
// T5 <unk> token's string is the text it covers, which can hold a NUL).
inline void check_case(const Case& c, const std::vector<int64_t>& ids, const std::vector<std::string>& tokens,
                       const std::vector<int64_t>& types, const std::vector<int64_t>& offsets, const char* where,
                       bool c_strings = true) {
  INFO(where << ": text=" << c.text << (c.has_pair ? " pair=" + c.pair : std::string()));
  CHECK(ids == c.j.at("ids").get<std::vector<int64_t>>());
  std::vector<std::string> want_tokens = c.j.at("tokens").get<std::vector<std::string>>();
  if (c_strings) {
    for (std::string& t : want_tokens) t = t.substr(0, t.find('\0'));
  }
  CHECK(tokens == want_tokens);
  CHECK(types == c.j.at("token_type_ids").get<std::vector<int64_t>>());
  CHECK(offsets == flat_offsets(c.j.at("offsets")));
}

inline void check_case(const Case& c, const bertrt::Tokenizer& tok, const char* where) {
  const bertrt::Encoding e = tok.encode(c.text, c.has_pair ? &c.pair : nullptr, c.max_length, c.truncation);
  check_case(c, e.ids, e.tokens, e.token_type_ids, e.offsets, where);
}

}  // namespace spm_test
