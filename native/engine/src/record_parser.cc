#include "kiln/record_parser.h"

#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

namespace kiln {

using Json = nlohmann::json;

RecordParser::RecordParser(const std::vector<InputSpec>& inputs) {
  slots_.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputSpec& spec = inputs[i];
    Slot slot{spec.name, spec.type, spec.nullable, {}};
    if (spec.type == InputType::kStringCategory) {
      // The first occurrence wins, like the JS encoder's Map built from the same list.
      for (size_t c = 0; c < spec.vocabulary.size(); ++c) slot.codes.emplace(spec.vocabulary[c], static_cast<double>(c));
    }
    slots_.push_back(std::move(slot));
    index_.emplace(spec.name, i);
  }
}

size_t RecordParser::Find(const std::string& key, size_t hint) const {
  if (hint < slots_.size() && slots_[hint].name == key) return hint;
  auto it = index_.find(key);
  return it == index_.end() ? slots_.size() : it->second;
}

// nlohmann's SAX events, as a state machine over the few shapes accepted. Every callback that
// meets something else returns false, which stops the parse: the body is declined.
class RecordSax {
 public:
  RecordSax(const RecordParser& parser, BodyShape shape, size_t max_rows, std::vector<double>* rows)
      : p_(parser), shape_(shape), max_rows_(max_rows), rows_(rows), seen_(parser.width(), 0) {}

  bool is_array() const { return is_array_; }
  bool complete() const { return state_ == State::kDone && n_rows_ > 0; }

  bool null() {
    if (state_ == State::kRecordValue) {
      if (!p_.slots_[slot_].nullable) return false;
      return Set(std::numeric_limits<double>::quiet_NaN());
    }
    return false;
  }
  bool boolean(bool) { return false; }
  bool number_integer(Json::number_integer_t v) { return Number(static_cast<double>(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Number(static_cast<double>(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t&) { return Number(v); }
  bool binary(Json::binary_t&) { return false; }

  bool string(Json::string_t& v) {
    if (state_ == State::kRecordValue) {
      const RecordParser::Slot& slot = p_.slots_[slot_];
      if (slot.type != InputType::kStringCategory) return false;
      auto it = slot.codes.find(v);
      return Set(it == slot.codes.end() ? kUnknownCategory : it->second);
    }
    if (state_ == State::kEnvelopeSignature) {  // TF Serving's signature_name: accepted, ignored
      state_ = State::kEnvelopeKey;
      return true;
    }
    return false;
  }

  bool start_object(std::size_t) {
    switch (state_) {
      case State::kStart:
        if (shape_ == BodyShape::kInstances) {
          state_ = State::kEnvelopeKey;
          return true;
        }
        after_record_ = State::kDone;
        return StartRecord();
      case State::kArrayItem:
        after_record_ = State::kArrayItem;
        return StartRecord();
      default:
        return false;
    }
  }

  bool key(Json::string_t& k) {
    if (state_ == State::kRecordKey) {
      const size_t i = p_.Find(k, hint_);
      if (i == p_.width() || seen_[i] != 0) return false;  // unknown or repeated feature
      seen_[i] = 1;
      slot_ = i;
      hint_ = i + 1;
      state_ = State::kRecordValue;
      return true;
    }
    if (state_ == State::kEnvelopeKey) {
      if (k == "instances" && !saw_instances_) {
        saw_instances_ = true;
        state_ = State::kEnvelopeInstances;
        return true;
      }
      if (k == "signature_name" && !saw_signature_) {
        saw_signature_ = true;
        state_ = State::kEnvelopeSignature;
        return true;
      }
    }
    return false;
  }

  bool end_object() {
    if (state_ == State::kRecordKey) return EndRecord();
    if (state_ == State::kEnvelopeKey && saw_instances_) {
      state_ = State::kDone;
      return true;
    }
    return false;
  }

  bool start_array(std::size_t) {
    if ((state_ == State::kStart && shape_ == BodyShape::kRecordOrArray) || state_ == State::kEnvelopeInstances) {
      is_array_ = true;
      array_end_ = state_ == State::kStart ? State::kDone : State::kEnvelopeKey;
      state_ = State::kArrayItem;
      return true;
    }
    return false;
  }

  bool end_array() {
    if (state_ != State::kArrayItem) return false;
    state_ = array_end_;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  enum class State : uint8_t {
    kStart,
    kArrayItem,           // in the records' array: a record or its end
    kRecordKey,           // in a record: a key or its end
    kRecordValue,         // the value of feature slot_
    kEnvelopeKey,         // in the V1 envelope: a key or its end
    kEnvelopeInstances,   // the value of "instances"
    kEnvelopeSignature,   // the value of "signature_name"
    kDone,
  };

  bool StartRecord() {
    if (n_rows_ == max_rows_) return false;
    ++n_rows_;
    base_ = rows_->size();
    rows_->resize(base_ + p_.width());
    std::memset(seen_.data(), 0, seen_.size());
    hint_ = 0;
    state_ = State::kRecordKey;
    return true;
  }

  bool EndRecord() {
    double* row = rows_->data() + base_;
    for (size_t i = 0; i < seen_.size(); ++i) {
      if (seen_[i] != 0) continue;
      if (!p_.slots_[i].nullable) return false;  // a required feature is absent
      row[i] = std::numeric_limits<double>::quiet_NaN();
    }
    state_ = after_record_;
    return true;
  }

  bool Number(double v) {
    if (state_ != State::kRecordValue || p_.slots_[slot_].type == InputType::kStringCategory || !std::isfinite(v)) {
      return false;
    }
    return Set(v);
  }

  bool Set(double v) {
    (*rows_)[base_ + slot_] = v;
    state_ = State::kRecordKey;
    return true;
  }

  const RecordParser& p_;
  const BodyShape shape_;
  const size_t max_rows_;
  std::vector<double>* rows_;
  std::vector<uint8_t> seen_;
  State state_ = State::kStart;
  State after_record_ = State::kDone;
  State array_end_ = State::kDone;
  size_t n_rows_ = 0;
  size_t base_ = 0;
  size_t slot_ = 0;
  size_t hint_ = 0;
  bool is_array_ = false;
  bool saw_instances_ = false;
  bool saw_signature_ = false;
};

namespace {

// True when the body holds the integer token -0 (nlohmann reports it as the integer 0, JSON.parse
// as -0.0). A match inside a string also declines: only speed is lost.
bool HasNegativeZeroInteger(std::string_view body) {
  for (size_t at = body.find("-0"); at != std::string_view::npos; at = body.find("-0", at + 2)) {
    const size_t next = at + 2;
    if (next == body.size()) return true;
    const char c = body[next];
    if (c != '.' && c != 'e' && c != 'E' && (c < '0' || c > '9')) return true;
  }
  return false;
}

}  // namespace

bool RecordParser::Parse(std::string_view body, BodyShape shape, size_t max_rows, std::vector<double>* rows,
                         bool* is_array) const {
  // nlohmann skips a UTF-8 byte order mark that JSON.parse refuses.
  if (body.size() >= 3 && static_cast<unsigned char>(body[0]) == 0xEF) return false;
  if (HasNegativeZeroInteger(body)) return false;
  rows->clear();
  RecordSax sax(*this, shape, max_rows, rows);
  bool ok = false;
  try {
    ok = Json::sax_parse(body.data(), body.data() + body.size(), &sax);
  } catch (const std::exception&) {  // nlohmann reports through parse_error; this is belt and braces
    return false;
  }
  if (!ok || !sax.complete()) return false;
  *is_array = sax.is_array();
  return true;
}

}  // namespace kiln
