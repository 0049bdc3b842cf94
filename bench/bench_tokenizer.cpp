// Tokenizer throughput (single thread) on a multilingual corpus: the texts of the tokenizer
// conformance cases, joined with '\n' and repeated to at least 1 MiB. bench/tokenizer_reference.js
// builds the same corpus for Hugging Face's Rust tokenizer. The WordPiece entries, the byte-level
// BPE entries (roberta-base's tokenizer.json) and the Unigram entries (t5-small's) read the same
// corpus. The `tokens` counter is the number of tokens of one pass, to compare with the reference's
// (docs/performance-tokenizer.md).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

const std::string kData = BERTRT_BENCH_DATA_DIR;

// Distinct texts (text, then text_pair) of every case, files in name order, first occurrence kept.
const std::vector<std::string>& case_texts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(kData + "/tokenizer-cases")) {
      if (e.path().extension() == ".jsonl") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (const auto& f : files) {
      std::ifstream in(f);
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto c = nlohmann::json::parse(line);
        for (const char* key : {"text", "text_pair"}) {
          if (!c.contains(key)) continue;
          std::string t = c[key].get<std::string>();
          if (seen.insert(t).second) out.push_back(t);
        }
      }
    }
    return out;
  }();
  return texts;
}

// The corpus: case texts joined with '\n', whole copies until it has at least 1 MiB.
const std::string& corpus() {
  static const std::string text = [] {
    std::string unit;
    for (const auto& t : case_texts()) {
      unit += t;
      unit += '\n';
    }
    std::string out;
    while (out.size() < (std::size_t{1} << 20)) out += unit;
    return out;
  }();
  return text;
}

// The corpus as lines (one text each), same bytes as corpus().
const std::vector<std::string_view>& corpus_lines() {
  static const std::vector<std::string_view> lines = [] {
    std::vector<std::string_view> out;
    std::string_view c = corpus();
    std::size_t pos = 0;
    while (pos < c.size()) {
      std::size_t nl = c.find('\n', pos);
      if (nl == std::string_view::npos) nl = c.size();
      out.push_back(c.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return out;
  }();
  return lines;
}

const bertrt::core::Tokenizer& tokenizer(const std::string& name, bool lower) {
  static std::unique_ptr<bertrt::core::Tokenizer> cached[2];
  auto& slot = cached[lower ? 1 : 0];
  if (!slot) {
    bertrt::core::TokenizerConfig config;
    config.do_lower_case = lower;
    config.strip_accents = lower ? -1 : 0;
    slot = std::make_unique<bertrt::core::Tokenizer>(
        bertrt::core::Tokenizer::from_vocab_file(kData + "/vocab/" + name + "/vocab.txt", config));
  }
  return *slot;
}

void report(benchmark::State& state, std::size_t bytes, std::size_t tokens) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["MB"] = static_cast<double>(bytes) / 1e6;
}

// The whole corpus as one text.
void encode_corpus(benchmark::State& state, const bertrt::core::Tokenizer& tok) {
  const std::string& text = corpus();
  std::size_t tokens = 0;
  for (auto _ : state) {
    bertrt::core::Encoding e = tok.encode(text);
    tokens = e.ids.size();
    benchmark::DoNotOptimize(e.ids.data());
  }
  report(state, text.size(), tokens);
}

// Every line of the corpus as its own text.
void encode_lines(benchmark::State& state, const bertrt::core::Tokenizer& tok) {
  const auto& lines = corpus_lines();
  std::size_t tokens = 0, bytes = 0;
  for (auto _ : state) {
    tokens = 0;
    bytes = 0;
    for (std::string_view line : lines) {
      bertrt::core::Encoding e = tok.encode(line);
      tokens += e.ids.size();
      bytes += line.size() + 1;
      benchmark::DoNotOptimize(e.ids.data());
    }
  }
  report(state, bytes, tokens);
}

void BM_Corpus_MultilingualCased(benchmark::State& state) {
  encode_corpus(state, tokenizer("bert-base-multilingual-cased", false));
}
void BM_Lines_MultilingualCased(benchmark::State& state) {
  encode_lines(state, tokenizer("bert-base-multilingual-cased", false));
}
void BM_Corpus_Uncased(benchmark::State& state) { encode_corpus(state, tokenizer("bert-base-uncased", true)); }

// Padded batches of 32 lines truncated to 128 tokens, as fed to a model.
void BM_Batch32x128_MultilingualCased(benchmark::State& state) {
  const auto& tok = tokenizer("bert-base-multilingual-cased", false);
  const auto& lines = corpus_lines();
  std::size_t tokens = 0, bytes = 0;
  for (auto _ : state) {
    tokens = 0;
    bytes = 0;
    for (std::size_t i = 0; i + 32 <= lines.size(); i += 32) {
      std::span<const std::string_view> rows(lines.data() + i, 32);
      bertrt::core::BatchEncoding b = tok.encode_batch_padded(rows, {}, 128);
      benchmark::DoNotOptimize(b.ids.data());
      for (int64_t m : b.attention_mask) tokens += static_cast<std::size_t>(m);
      for (auto r : rows) bytes += r.size() + 1;
    }
  }
  report(state, bytes, tokens);
}

// roberta-base's byte-level BPE, from its tokenizer.json.
const bertrt::core::Tokenizer& roberta() {
  static const bertrt::core::Tokenizer t =
      bertrt::core::Tokenizer::from_file(kData + "/vocab/roberta-base/tokenizer.json");
  return t;
}
void BM_Corpus_RobertaBPE(benchmark::State& state) { encode_corpus(state, roberta()); }
void BM_Lines_RobertaBPE(benchmark::State& state) { encode_lines(state, roberta()); }
// t5-small's SentencePiece Unigram, from its tokenizer.json.
const bertrt::core::Tokenizer& t5() {
  static const bertrt::core::Tokenizer t = bertrt::core::Tokenizer::from_file(kData + "/vocab/t5-small/tokenizer.json");
  return t;
}
void BM_Corpus_T5Unigram(benchmark::State& state) { encode_corpus(state, t5()); }
void BM_Lines_T5Unigram(benchmark::State& state) { encode_lines(state, t5()); }

void BM_Load_RobertaTokenizerJson(benchmark::State& state) {
  for (auto _ : state) {
    auto t = bertrt::core::Tokenizer::from_file(kData + "/vocab/roberta-base/tokenizer.json");
    benchmark::DoNotOptimize(t.vocab_size());
  }
}

void BM_Load_T5TokenizerJson(benchmark::State& state) {
  for (auto _ : state) {
    auto t = bertrt::core::Tokenizer::from_file(kData + "/vocab/t5-small/tokenizer.json");
    benchmark::DoNotOptimize(t.vocab_size());
  }
}

void BM_Load_MultilingualVocab(benchmark::State& state) {
  for (auto _ : state) {
    bertrt::core::TokenizerConfig config;
    config.do_lower_case = false;
    auto t = bertrt::core::Tokenizer::from_vocab_file(kData + "/vocab/bert-base-multilingual-cased/vocab.txt", config);
    benchmark::DoNotOptimize(t.vocab_size());
  }
}

}  // namespace

BENCHMARK(BM_Corpus_MultilingualCased)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Lines_MultilingualCased)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Corpus_Uncased)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Batch32x128_MultilingualCased)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Load_MultilingualVocab)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Corpus_RobertaBPE)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Lines_RobertaBPE)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Load_RobertaTokenizerJson)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Corpus_T5Unigram)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Lines_T5Unigram)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Load_T5TokenizerJson)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
