// What the module's files share: the Model wrapper with its pool of sessions, and text helpers.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bertrt/bertrt.hpp"

namespace bertrt_python {

namespace py = pybind11;
using bertrt::Error;

// A str, or a sequence of str, as a list of UTF-8 strings.
inline std::vector<std::string> text_list(const py::handle& obj, const char* name) {
  if (py::isinstance<py::str>(obj)) return {obj.cast<std::string>()};
  if (py::isinstance<py::bytes>(obj)) return {obj.cast<std::string>()};
  std::vector<std::string> out;
  for (const py::handle item : py::iter(obj)) {
    if (!py::isinstance<py::str>(item) && !py::isinstance<py::bytes>(item))
      throw py::type_error(std::string(name) + " must be a str or a sequence of str");
    out.push_back(item.cast<std::string>());
  }
  return out;
}

// ------------------------------------------------------------------------------------ model

class PyModel;

// A session borrowed from a model's pool, returned when the lease ends.
class Lease {
 public:
  Lease(PyModel& model, std::unique_ptr<bertrt::Session> s) : model_(model), session_(std::move(s)) {}
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  bertrt::Session* operator->() { return session_.get(); }
  bertrt::Session& operator*() { return *session_; }

 private:
  PyModel& model_;
  std::unique_ptr<bertrt::Session> session_;
};

class PyModel {
 public:
  PyModel(const std::string& path, std::optional<int> threads, bool verify_weights)
      : path_(path), threads_(threads.value_or(0)) {
    if (threads_ < 0) throw Error(BERTRT_ERROR_INVALID_ARGUMENT, "BERTRT_ERROR_INVALID_ARGUMENT: threads must be >= 0");
    py::gil_scoped_release release;
    model_ = std::make_unique<bertrt::Model>(path, verify_weights);
  }

  const bertrt_config& config() const { return model_->config(); }
  const bertrt::Model& model() const { return *model_; }
  size_t hidden() const { return model_->hidden_size(); }
  // Width of lookup's and embed's vectors (ELECTRA: embedding_size, narrower than hidden_size).
  size_t embedding() const { return static_cast<size_t>(config().embedding_size); }
  size_t layers() const { return static_cast<size_t>(config().num_hidden_layers); }
  size_t heads() const { return static_cast<size_t>(config().num_attention_heads); }
  const std::string& path() const { return path_; }
  int threads() const { return threads_; }

  // Call without the GIL.
  Lease acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        auto s = std::move(free_.back());
        free_.pop_back();
        return Lease(*this, std::move(s));
      }
    }
    auto s = std::make_unique<bertrt::Session>(*model_);
    if (threads_ > 0) s->set_threads(threads_);
    return Lease(*this, std::move(s));
  }
  void release(std::unique_ptr<bertrt::Session> s) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(s));
  }
  size_t pooled_sessions() {
    std::lock_guard<std::mutex> lock(mutex_);
    return free_.size();
  }

  // The model's tokenizer, made on first use (call without the GIL).
  const bertrt::Tokenizer& tokenizer() {
    std::call_once(tokenizer_once_, [this] { tokenizer_ = std::make_unique<bertrt::Tokenizer>(*model_); });
    if (!tokenizer_) throw Error(BERTRT_ERROR_INTERNAL, "BERTRT_ERROR_INTERNAL: tokenizer unavailable");
    return *tokenizer_;
  }

 private:
  std::string path_;
  int threads_;
  std::unique_ptr<bertrt::Model> model_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<bertrt::Session>> free_;
  std::once_flag tokenizer_once_;
  std::unique_ptr<bertrt::Tokenizer> tokenizer_;
};

inline Lease::~Lease() {
  if (session_) model_.release(std::move(session_));
}

// The code-point index of every byte offset 0..size of a valid UTF-8 text: the number of
// characters that start before it; an offset inside a character maps to that character's index.
inline std::vector<int64_t> char_index_table(const std::string& text) {
  std::vector<int64_t> index(text.size() + 1);
  int64_t chars = 0;
  for (size_t b = 0; b <= text.size(); ++b) {
    const bool continuation = b < text.size() && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80;
    index[b] = continuation ? chars - 1 : chars;
    if (b < text.size() && !continuation) ++chars;
  }
  return index;
}

// bertrt.Model.tokenize (text.cpp).
py::object tokenize(PyModel& m, const py::object& texts, const py::object& pairs, std::optional<int64_t> max_length,
                    const py::object& truncation, const py::object& padding);

}  // namespace bertrt_python
