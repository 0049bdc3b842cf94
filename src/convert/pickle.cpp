// Restricted unpickler for torch.save state dicts (see pickle.h). Objects live in an arena and refer
// to each other by index, so self-referencing pickles cannot leak or recurse.
#include "convert/pickle.h"

#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <unordered_map>

#include "common/error.h"

namespace bertrt::convert::torch_pickle {
namespace {

constexpr size_t kMaxRank = 64;

enum class Kind { none, boolean, integer, floating, string, bytes, tuple, list, dict, global, storage, tensor };

enum class GlobalId { ordered_dict, rebuild_tensor_v2, rebuild_parameter, rebuild_parameter_with_state, storage_type };

struct Obj {
  Kind kind = Kind::none;
  int64_t i = 0;                // integer, boolean; storage index; tensor index
  double f = 0.0;
  std::string s;                // string, bytes; global's qualified name
  std::vector<size_t> items;    // tuple, list; dict as key, value, key, value, ...
  GlobalId global = GlobalId::ordered_dict;
  SourceDType storage_dtype = SourceDType::f32;  // for storage_type globals
};

struct TensorObj {
  size_t storage = 0;
  uint64_t offset = 0;
  std::vector<int64_t> size, stride;
};

const char* kind_name(Kind k) {
  // In the order of Kind.
  static const char* const kNames[] = {"None", "bool",  "int",  "float",  "str",     "bytes",
                                       "tuple", "list", "dict", "global", "storage", "tensor"};
  const auto i = static_cast<size_t>(k);
  return i < std::size(kNames) ? kNames[i] : "?";
}

bool lookup_global(const std::string& module, const std::string& name, Obj* out) {
  out->kind = Kind::global;
  out->s = module + "." + name;
  if (module == "collections" && name == "OrderedDict") {
    out->global = GlobalId::ordered_dict;
    return true;
  }
  if (module == "torch._utils") {
    if (name == "_rebuild_tensor_v2") { out->global = GlobalId::rebuild_tensor_v2; return true; }
    if (name == "_rebuild_parameter") { out->global = GlobalId::rebuild_parameter; return true; }
    if (name == "_rebuild_parameter_with_state") { out->global = GlobalId::rebuild_parameter_with_state; return true; }
    return false;
  }
  if (module == "torch") {
    static const struct { const char* name; SourceDType dtype; } kStorages[] = {
        {"FloatStorage", SourceDType::f32},   {"HalfStorage", SourceDType::f16},  {"BFloat16Storage", SourceDType::bf16},
        {"DoubleStorage", SourceDType::f64},  {"LongStorage", SourceDType::i64},  {"IntStorage", SourceDType::i32},
        {"ShortStorage", SourceDType::i16},   {"CharStorage", SourceDType::i8},   {"ByteStorage", SourceDType::u8},
        {"BoolStorage", SourceDType::boolean},
    };
    for (const auto& s : kStorages) {
      if (name == s.name) {
        out->global = GlobalId::storage_type;
        out->storage_dtype = s.dtype;
        return true;
      }
    }
  }
  return false;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& label) : p_(data), end_(data + size), begin_(data), label_(label) {}

  StateDict run() {
    size_t result = run_ops();
    return to_state_dict(result);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(BERTRT_ERROR_FORMAT, label_ + ": pickle at byte " + std::to_string(op_pos_) + ": " + what);
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw Error(BERTRT_ERROR_UNSUPPORTED, label_ + ": pickle at byte " + std::to_string(op_pos_) + ": " + what);
  }

  // ---- input ----
  void need(size_t n) const {
    if (static_cast<size_t>(end_ - p_) < n) fail("truncated (needs " + std::to_string(n) + " more bytes)");
  }
  uint8_t u8() {
    need(1);
    return *p_++;
  }
  uint64_t uint_le(size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | p_[k];
    p_ += n;
    return v;
  }
  std::string bytes(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) fail("string of " + std::to_string(n) + " bytes runs past the end");
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return s;
  }
  std::string line() {
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(p_, '\n', static_cast<size_t>(end_ - p_)));
    if (!nl) fail("unterminated line");
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(nl - p_));
    p_ = nl + 1;
    return s;
  }

  // ---- objects and stack ----
  size_t make(Obj o) {
    objs_.push_back(std::move(o));
    return objs_.size() - 1;
  }
  size_t make_int(int64_t v) {
    Obj o;
    o.kind = Kind::integer;
    o.i = v;
    return make(std::move(o));
  }
  void push(size_t id) { stack_.push_back(id); }
  size_t pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    size_t id = stack_.back();
    stack_.pop_back();
    return id;
  }
  size_t top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<size_t> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  size_t make_seq(Kind kind, std::vector<size_t> items) {
    Obj o;
    o.kind = kind;
    o.items = std::move(items);
    return make(std::move(o));
  }
  Obj& obj(size_t id) { return objs_[id]; }

  void memo_put(uint64_t index) {
    const size_t id = top();
    memo_[index] = id;
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  void push_global(const std::string& module, const std::string& name) {
    Obj o;
    if (!lookup_global(module, name, &o)) fail("pickle global " + module + "." + name + " is not allowed");
    push(make(std::move(o)));
  }

  const Obj& expect(size_t id, Kind kind, const char* what) {
    if (objs_[id].kind != kind)
      fail(std::string(what) + " is a " + kind_name(objs_[id].kind) + ", expected a " + kind_name(kind));
    return objs_[id];
  }

  std::vector<int64_t> int_tuple(size_t id, const char* what) {
    const Obj& t = objs_[id];
    if (t.kind != Kind::tuple && t.kind != Kind::list) fail(std::string(what) + " is not a tuple");
    if (t.items.size() > kMaxRank) fail(std::string(what) + " has more than " + std::to_string(kMaxRank) + " dimensions");
    std::vector<int64_t> v;
    for (size_t item : t.items) {
      const Obj& o = objs_[item];
      if (o.kind != Kind::integer || o.i < 0) fail(std::string(what) + " holds something other than a non-negative int");
      v.push_back(o.i);
    }
    return v;
  }

  void persistent_load() {
    const size_t pid = pop();
    const Obj& t = objs_[pid];
    if (t.kind != Kind::tuple || t.items.size() != 5) fail("persistent id is not a 5-tuple ('storage', type, key, location, numel)");
    const Obj& tag = objs_[t.items[0]];
    if (tag.kind != Kind::string || tag.s != "storage") fail("persistent id does not name a storage");
    const Obj& type = objs_[t.items[1]];
    if (type.kind != Kind::global || type.global != GlobalId::storage_type) fail("persistent id's storage type is not a torch storage class");
    const Obj& key = objs_[t.items[2]];
    if (key.kind != Kind::string) fail("persistent id's storage key is not a string");
    if (key.s.empty() || key.s.find('/') != std::string::npos) fail("persistent id's storage key '" + key.s + "' is not a plain name");
    const Obj& numel = objs_[t.items[4]];
    if (numel.kind != Kind::integer || numel.i < 0) fail("persistent id's element count is not a non-negative int");
    size_t index;
    auto it = storage_by_key_.find(key.s);
    if (it != storage_by_key_.end()) {
      index = it->second;
      const StorageRef& prev = storages_[index];
      if (prev.dtype != type.storage_dtype || prev.numel != static_cast<uint64_t>(numel.i))
        fail("storage '" + key.s + "' is named twice with different types or sizes");
    } else {
      StorageRef s;
      s.dtype = type.storage_dtype;
      s.key = key.s;
      s.numel = static_cast<uint64_t>(numel.i);
      index = storages_.size();
      storages_.push_back(std::move(s));
      storage_by_key_.emplace(key.s, index);
    }
    Obj o;
    o.kind = Kind::storage;
    o.i = static_cast<int64_t>(index);
    push(make(std::move(o)));
  }

  void reduce() {
    const size_t args_id = pop();
    const size_t fn_id = pop();
    const Obj& fn = objs_[fn_id];
    if (fn.kind != Kind::global) fail(std::string("REDUCE on a ") + kind_name(fn.kind) + ", not a callable");
    const Obj& args = objs_[args_id];
    if (args.kind != Kind::tuple) fail("REDUCE arguments are not a tuple");
    switch (fn.global) {
      case GlobalId::ordered_dict: {
        if (!args.items.empty()) fail("collections.OrderedDict called with arguments");
        push(make_seq(Kind::dict, {}));
        return;
      }
      case GlobalId::rebuild_tensor_v2: {
        if (args.items.size() != 6 && args.items.size() != 7) fail("torch._utils._rebuild_tensor_v2 expects 6 or 7 arguments");
        const std::vector<size_t> a = args.items;  // copy: make() may reallocate objs_
        const Obj& st = expect(a[0], Kind::storage, "tensor storage");
        TensorObj t;
        t.storage = static_cast<size_t>(st.i);
        const Obj& off = objs_[a[1]];
        if (off.kind != Kind::integer || off.i < 0) fail("tensor storage offset is not a non-negative int");
        t.offset = static_cast<uint64_t>(off.i);
        t.size = int_tuple(a[2], "tensor size");
        t.stride = int_tuple(a[3], "tensor stride");
        if (t.size.size() != t.stride.size()) fail("tensor size and stride differ in length");
        tensors_.push_back(std::move(t));
        Obj o;
        o.kind = Kind::tensor;
        o.i = static_cast<int64_t>(tensors_.size() - 1);
        push(make(std::move(o)));
        return;
      }
      case GlobalId::rebuild_parameter:
      case GlobalId::rebuild_parameter_with_state: {
        if (args.items.empty()) fail(fn.s + " called without arguments");
        const size_t data = args.items[0];
        expect(data, Kind::tensor, "parameter data");
        push(data);
        return;
      }
      case GlobalId::storage_type:
        break;
    }
    fail("pickle calls " + fn.s + ", which is not allowed");
  }

  void set_items(size_t dict_id, const std::vector<size_t>& kv) {
    Obj& d = objs_[dict_id];
    if (d.kind != Kind::dict) fail(std::string("SETITEM(S) on a ") + kind_name(d.kind));
    if (kv.size() % 2 != 0) fail("SETITEMS with an odd number of items");
    d.items.insert(d.items.end(), kv.begin(), kv.end());
  }

  void append_items(size_t list_id, const std::vector<size_t>& v) {
    Obj& l = objs_[list_id];
    if (l.kind != Kind::list) fail(std::string("APPEND(S) on a ") + kind_name(l.kind));
    l.items.insert(l.items.end(), v.begin(), v.end());
  }

  // PROTO, FRAME, MARK, POP, DUP and the scalar constants (None, bools, ints, floats, strings,
  // bytes). True when op was one of them.
  bool scalar_op(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t v = u8();
        if (v > 5) unsupported("pickle protocol " + std::to_string(v));
        return true;
      }
      case 0x95: uint_le(8); return true;  // FRAME: frames are only a read-ahead hint
      case '(': marks_.push_back(stack_.size()); return true;  // MARK
      case '0': pop(); return true;                            // POP
      case '1': pop_mark(); return true;                       // POP_MARK
      case '2': push(top()); return true;                      // DUP
      case 'N': { Obj o; o.kind = Kind::none; push(make(std::move(o))); return true; }
      case 0x88:
      case 0x89: { Obj o; o.kind = Kind::boolean; o.i = op == 0x88; push(make(std::move(o))); return true; }
      case 'J': push(make_int(static_cast<int32_t>(static_cast<uint32_t>(uint_le(4))))); return true;  // BININT
      case 'K': push(make_int(static_cast<int64_t>(uint_le(1)))); return true;                          // BININT1
      case 'M': push(make_int(static_cast<int64_t>(uint_le(2)))); return true;                          // BININT2
      case 0x8a: {                                                                                       // LONG1
        const uint8_t n = u8();
        if (n > 8) unsupported("integer of " + std::to_string(n) + " bytes");
        uint64_t v = uint_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(make_int(static_cast<int64_t>(v)));
        return true;
      }
      case 'G': {  // BINFLOAT (big-endian double)
        need(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | p_[k];
        p_ += 8;
        Obj o;
        o.kind = Kind::floating;
        std::memcpy(&o.f, &bits, 8);
        push(make(std::move(o)));
        return true;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d:    // BINUNICODE8
      case 'B':     // BINBYTES
      case 'C':     // SHORT_BINBYTES
      case 0x8e: {  // BINBYTES8
        const size_t len_bytes = (op == 0x8c || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
        const uint64_t n = uint_le(len_bytes);
        Obj o;
        o.kind = (op == 'B' || op == 'C' || op == 0x8e) ? Kind::bytes : Kind::string;
        o.s = bytes(n);
        push(make(std::move(o)));
        return true;
      }
      default: return false;
    }
  }

  // Tuples, lists and dicts, and filling them. True when op was one of them.
  bool container_op(uint8_t op) {
    switch (op) {
      case ')': push(make_seq(Kind::tuple, {})); return true;  // EMPTY_TUPLE
      case 't': push(make_seq(Kind::tuple, pop_mark())); return true;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        const size_t n = static_cast<size_t>(op - 0x84);
        std::vector<size_t> items(n);
        for (size_t k = n; k-- > 0;) items[k] = pop();
        push(make_seq(Kind::tuple, std::move(items)));
        return true;
      }
      case ']': push(make_seq(Kind::list, {})); return true;  // EMPTY_LIST
      case 'l': push(make_seq(Kind::list, pop_mark())); return true;
      case '}': push(make_seq(Kind::dict, {})); return true;  // EMPTY_DICT
      case 'd': {                                              // DICT
        std::vector<size_t> kv = pop_mark();
        const size_t id = make_seq(Kind::dict, {});
        set_items(id, kv);
        push(id);
        return true;
      }
      case 'a': {  // APPEND
        const size_t v = pop();
        append_items(top(), {v});
        return true;
      }
      case 'e': {  // APPENDS
        std::vector<size_t> v = pop_mark();
        append_items(top(), v);
        return true;
      }
      case 's': {  // SETITEM
        const size_t v = pop();
        const size_t k = pop();
        set_items(top(), {k, v});
        return true;
      }
      case 'u': {  // SETITEMS
        std::vector<size_t> kv = pop_mark();
        set_items(top(), kv);
        return true;
      }
      default: return false;
    }
  }

  // Memo, globals, persistent ids, REDUCE and BUILD. True when op was one of them.
  bool object_op(uint8_t op) {
    switch (op) {
      case 'q': memo_put(uint_le(1)); return true;     // BINPUT
      case 'r': memo_put(uint_le(4)); return true;     // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); return true;  // MEMOIZE
      case 'h': memo_get(uint_le(1)); return true;     // BINGET
      case 'j': memo_get(uint_le(4)); return true;     // LONG_BINGET
      case 'c': {                                      // GLOBAL
        std::string module = line();
        std::string name = line();
        push_global(module, name);
        return true;
      }
      case 0x93: {  // STACK_GLOBAL
        const size_t name = pop();
        const size_t module = pop();
        if (objs_[name].kind != Kind::string || objs_[module].kind != Kind::string) fail("STACK_GLOBAL operands are not strings");
        push_global(objs_[module].s, objs_[name].s);
        return true;
      }
      case 'Q': persistent_load(); return true;  // BINPERSID
      case 'R': reduce(); return true;
      case 'b': {  // BUILD: object state (e.g. a state dict's _metadata) carries no weights
        pop();
        const size_t target = top();
        const Kind k = objs_[target].kind;
        if (k != Kind::dict && k != Kind::tensor) fail(std::string("BUILD on a ") + kind_name(k));
        return true;
      }
      default: return false;
    }
  }

  // Runs opcodes until STOP; returns the id of the object STOP pops.
  size_t run_ops() {
    while (true) {
      op_pos_ = static_cast<size_t>(p_ - begin_);
      if (p_ >= end_) fail("ends without STOP");
      const uint8_t op = *p_++;
      if (op == '.') {  // STOP
        if (!marks_.empty()) fail("STOP with an open MARK");
        return pop();
      }
      if (scalar_op(op) || container_op(op) || object_op(op)) continue;
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      unsupported(std::string("opcode ") + hex + " is not supported by this reader");
    }
  }

  StateDict to_state_dict(size_t root) {
    const Obj& d = objs_[root];
    if (d.kind != Kind::dict) fail(std::string("the pickled object is a ") + kind_name(d.kind) + ", not a state dict");
    StateDict out;
    out.storages = storages_;
    std::unordered_map<std::string, size_t> index_by_name;
    for (size_t k = 0; k + 1 < d.items.size(); k += 2) {
      const Obj& key = objs_[d.items[k]];
      const Obj& value = objs_[d.items[k + 1]];
      if (key.kind != Kind::string) fail(std::string("state dict key is a ") + kind_name(key.kind) + ", not a str");
      if (value.kind != Kind::tensor) fail("state dict entry '" + key.s + "' is a " + kind_name(value.kind) + ", not a tensor");
      const TensorObj& t = tensors_[static_cast<size_t>(value.i)];
      TensorRecord r;
      r.name = key.s;
      r.storage = t.storage;
      r.offset = t.offset;
      r.size = t.size;
      r.stride = t.stride;
      auto it = index_by_name.find(r.name);
      if (it != index_by_name.end()) {
        out.tensors[it->second] = std::move(r);
      } else {
        index_by_name.emplace(r.name, out.tensors.size());
        out.tensors.push_back(std::move(r));
      }
    }
    return out;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_;
  const std::string& label_;
  size_t op_pos_ = 0;
  std::vector<Obj> objs_;
  std::vector<size_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, size_t> memo_;
  std::vector<StorageRef> storages_;
  std::unordered_map<std::string, size_t> storage_by_key_;
  std::vector<TensorObj> tensors_;
};

}  // namespace

StateDict load_state_dict(const uint8_t* data, size_t size, const std::string& label) {
  Unpickler u(data, size, label);
  return u.run();
}

}  // namespace bertrt::convert::torch_pickle
