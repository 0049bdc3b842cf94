// bertrt.Model.tokenize: texts (and pairs) -> ids, types, mask and code-point offsets, padded or not.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "pymodel.h"

namespace bertrt_python {
namespace {

bertrt_truncation parse_truncation(const std::string& s) {
  if (s == "longest_first") return BERTRT_TRUNCATION_LONGEST_FIRST;
  if (s == "only_first") return BERTRT_TRUNCATION_ONLY_FIRST;
  if (s == "only_second") return BERTRT_TRUNCATION_ONLY_SECOND;
  throw Error(BERTRT_ERROR_INVALID_ARGUMENT,
              "BERTRT_ERROR_INVALID_ARGUMENT: truncation must be longest_first, only_first or only_second, not '" +
                  s + "'");
}

// An encoding's byte offsets [n, 2] as code-point offsets, each pair in the text its sequence id
// names (0: text, 1: pair); template tokens (sequence id -1) stay (0, 0).
std::vector<int64_t> char_offsets(const std::string& text, const std::string* pair, const bertrt::Encoding& e) {
  const std::vector<int64_t> first = char_index_table(text);
  const std::vector<int64_t> second = pair ? char_index_table(*pair) : std::vector<int64_t>{0};
  auto at = [](const std::vector<int64_t>& index, int64_t offset) {
    return index[std::min(static_cast<size_t>(std::max<int64_t>(offset, 0)), index.size() - 1)];
  };
  std::vector<int64_t> out(e.offsets.size(), 0);
  for (size_t i = 0; i < e.sequence_ids.size(); ++i) {
    const int64_t seq = e.sequence_ids[i];
    if (seq != 0 && !(seq == 1 && pair)) continue;
    const std::vector<int64_t>& index = seq == 0 ? first : second;
    out[2 * i] = at(index, e.offsets[2 * i]);
    out[2 * i + 1] = at(index, e.offsets[2 * i + 1]);
  }
  return out;
}

struct TokenizeOptions {
  size_t max_length = 0;  // 0: no truncation
  bertrt_truncation truncation = BERTRT_TRUNCATION_LONGEST_FIRST;
};

// truncation: str, True (longest_first), False/None (none). max_length None: the model's limit.
TokenizeOptions tokenize_options(PyModel& m, const py::object& truncation, std::optional<int64_t> max_length) {
  TokenizeOptions o;
  bool truncate = true;
  if (truncation.is_none()) {
    truncate = false;
  } else if (py::isinstance<py::bool_>(truncation)) {
    truncate = truncation.cast<bool>();
  } else {
    o.truncation = parse_truncation(truncation.cast<std::string>());
  }
  if (max_length && *max_length <= 0)
    throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: max_length must be positive");
  if (truncate) o.max_length = static_cast<size_t>(max_length.value_or(m.config().max_sequence_length));
  return o;
}

}  // namespace

py::object tokenize(PyModel& m, const py::object& texts_obj, const py::object& pairs_obj,
                    std::optional<int64_t> max_length, const py::object& truncation, const py::object& padding) {
  const std::vector<std::string> texts = text_list(texts_obj, "texts");
  std::vector<std::string> pairs;
  if (!pairs_obj.is_none()) {
    pairs = text_list(pairs_obj, "pairs");
    if (pairs.size() != texts.size())
      throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: " + std::to_string(texts.size()) +
                                                     " texts but " + std::to_string(pairs.size()) + " pairs");
  }
  const TokenizeOptions opt = tokenize_options(m, truncation, max_length);
  // padding: True / "longest", "max_length", False / None / "do_not_pad".
  enum { kLongest, kMaxLength, kNone } pad = kLongest;
  if (padding.is_none()) {
    pad = kNone;
  } else if (py::isinstance<py::bool_>(padding)) {
    pad = padding.cast<bool>() ? kLongest : kNone;
  } else {
    const std::string p = padding.cast<std::string>();
    if (p == "longest") pad = kLongest;
    else if (p == "max_length") pad = kMaxLength;
    else if (p == "do_not_pad") pad = kNone;
    else throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: padding must be True, False, "
                                                    "'longest', 'max_length' or 'do_not_pad', not '" + p + "'");
  }

  const size_t n = texts.size();
  std::vector<bertrt::Encoding> encodings(n);
  std::vector<std::vector<int64_t>> offsets(n);
  int64_t pad_id = 0;
  {
    py::gil_scoped_release release;
    const bertrt::Tokenizer& tok = m.tokenizer();
    pad_id = tok.pad_id();
    for (size_t i = 0; i < n; ++i) {
      const std::string* pair = pairs.empty() ? nullptr : &pairs[i];
      encodings[i] = tok.encode(texts[i], pair, opt.max_length, opt.truncation);
      offsets[i] = char_offsets(texts[i], pair, encodings[i]);
    }
  }
  auto vec = [](const std::vector<int64_t>& v, std::vector<py::ssize_t> shape) {
    py::array_t<int64_t> a(shape);
    if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(int64_t));
    return a;
  };
  py::dict d;
  if (pad == kNone) {
    py::list ids, types, mask, offs;
    for (size_t i = 0; i < n; ++i) {
      const py::ssize_t t = py::ssize_t(encodings[i].ids.size());
      ids.append(vec(encodings[i].ids, {t}));
      types.append(vec(encodings[i].token_type_ids, {t}));
      mask.append(vec(encodings[i].attention_mask, {t}));
      offs.append(vec(offsets[i], {t, 2}));
    }
    d["input_ids"] = ids;
    d["token_type_ids"] = types;
    d["attention_mask"] = mask;
    d["offsets"] = offs;
    return d;
  }
  size_t width = 0;
  for (const auto& e : encodings) width = std::max(width, e.ids.size());
  if (pad == kMaxLength) {
    const size_t target = static_cast<size_t>(max_length.value_or(m.config().max_sequence_length));
    if (width > target)
      throw Error(BERTRT_ERROR_SHAPE, "BERTRT_ERROR_SHAPE: a row has " + std::to_string(width) +
                                          " tokens, more than max_length " + std::to_string(target));
    width = target;
  }
  const py::ssize_t B = py::ssize_t(n), T = py::ssize_t(width);
  py::array_t<int64_t> ids({B, T}), types({B, T}), mask({B, T}), offs({B, T, py::ssize_t(2)});
  int64_t* pi = ids.mutable_data();
  int64_t* pt = types.mutable_data();
  int64_t* pm = mask.mutable_data();
  int64_t* po = offs.mutable_data();
  std::fill(pi, pi + n * width, pad_id);
  std::fill(pt, pt + n * width, 0);
  std::fill(pm, pm + n * width, 0);
  std::fill(po, po + n * width * 2, 0);
  for (size_t i = 0; i < n; ++i) {
    const auto& e = encodings[i];
    std::copy(e.ids.begin(), e.ids.end(), pi + i * width);
    std::copy(e.token_type_ids.begin(), e.token_type_ids.end(), pt + i * width);
    std::copy(e.attention_mask.begin(), e.attention_mask.end(), pm + i * width);
    std::copy(offsets[i].begin(), offsets[i].end(), po + i * width * 2);
  }
  d["input_ids"] = ids;
  d["token_type_ids"] = types;
  d["attention_mask"] = mask;
  d["offsets"] = offs;
  return d;
}

}  // namespace bertrt_python
