#include "kiln/record_scanner.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

// Floating-point std::from_chars (correctly rounded, locale-free): libstdc++ 11+, MSVC; libc++
// (macOS) only recently. Without it, strtod in the C locale (also correctly rounded on glibc,
// macOS and the UCRT; the grammar is checked here first, so its extensions never apply).
#include <charconv>  // integer from_chars everywhere; floating where __cpp_lib_to_chars says so
#if !defined(KILN_SCAN_FROM_CHARS)  // -DKILN_SCAN_FROM_CHARS=0 tests the fallback
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L
#define KILN_SCAN_FROM_CHARS 1
#else
#define KILN_SCAN_FROM_CHARS 0
#endif
#endif
#if !KILN_SCAN_FROM_CHARS
#include <clocale>
#include <cstdlib>
#include <locale.h>
#include <string>
#if defined(__APPLE__)
#include <xlocale.h>
#endif
#endif

namespace kiln {
namespace {

// Marks a row slot no key has written yet (a NaN payload nothing else writes: a null is the
// canonical quiet NaN), so the row itself tells duplicates and absent keys apart without a
// per-call "seen" array to clear, and Scan stays const and thread-safe.
constexpr uint64_t kUnsetBits = 0x7ff4b1d0c0ffee00ULL;

inline void SetUnset(double* slot) { std::memcpy(slot, &kUnsetBits, sizeof kUnsetBits); }
inline bool IsUnset(const double* slot) {
  uint64_t bits;
  std::memcpy(&bits, slot, sizeof bits);
  return bits == kUnsetBits;
}

// JSON whitespace (RFC 8259): space, tab, line feed, carriage return.
inline const char* SkipWs(const char* p, const char* end) {
  while (p != end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  return p;
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// From just after an opening quote: the closing quote, or nullptr for an escape, a raw control
// character (invalid JSON) or the end of the body. Other bytes pass; UTF-8 is checked only where
// it can change the answer (ValidUtf8).
inline const char* PlainStringEnd(const char* p, const char* end) {
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') return p;
    if (c == '\\' || c < 0x20) return nullptr;
  }
  return nullptr;
}

// Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF): what TextDecoder and
// Buffer.toString decode without a replacement character.
bool ValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p != end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= n) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i <= n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += n + 1;
  }
  return true;
}

// True when the name can appear as a key without escapes (no quote, backslash or control
// character) and decodes to itself (valid UTF-8).
bool PlainKey(const std::string& s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\' || c < 0x20) return false;
  }
  return ValidUtf8(s);
}

#if !KILN_SCAN_FROM_CHARS
double CLocaleStrtod(const char* text, char** stop) {
#if defined(_WIN32)
  static const _locale_t c_locale = _create_locale(LC_ALL, "C");
  return _strtod_l(text, stop, c_locale);
#else
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0));
  return strtod_l(text, stop, c_locale);
#endif
}
#endif

// A JSON number (RFC 8259 grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) at p: writes
// its double and returns the byte after it, or nullptr for anything else. A value beyond the
// double range (JSON.parse: Infinity, which the encoder refuses) or one the converter reports
// out of range is declined.
const char* ScanNumber(const char* p, const char* end, double* value) {
  const char* start = p;
  if (*p == '-') ++p;
  if (p == end) return nullptr;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    do ++p;
    while (p != end && IsDigit(*p));
  } else {
    return nullptr;
  }
  if (p != end && *p == '.') {
    ++p;
    if (p == end || !IsDigit(*p)) return nullptr;
    do ++p;
    while (p != end && IsDigit(*p));
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p != end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !IsDigit(*p)) return nullptr;
    do ++p;
    while (p != end && IsDigit(*p));
  }
  double v;
#if KILN_SCAN_FROM_CHARS
  const auto result = std::from_chars(start, p, v, std::chars_format::general);
  if (result.ec != std::errc() || result.ptr != p) return nullptr;
#else
  // strtod needs a terminated string; numbers in records are short, so a stack copy mostly.
  char local[64];
  std::string heap;
  const size_t len = static_cast<size_t>(p - start);
  const char* text = local;
  if (len < sizeof local) {
    std::memcpy(local, start, len);
    local[len] = '\0';
  } else {
    heap.assign(start, len);
    text = heap.c_str();
  }
  char* stop = nullptr;
  v = CLocaleStrtod(text, &stop);
  if (stop != text + len) return nullptr;
#endif
  if (!std::isfinite(v)) return nullptr;
  *value = v;
  return p;
}

}  // namespace

RecordScanner::RecordScanner(const std::vector<InputSpec>& inputs) {
  slots_.reserve(inputs.size());
  for (const InputSpec& input : inputs) {
    Slot slot;
    slot.key = input.name;
    slot.matchable = PlainKey(input.name);
    slot.type = input.type;
    slot.nullable = input.nullable;
    if (input.type == InputType::kStringCategory) {
      slot.vocabulary = input.vocabulary;
      // The JS encoder's Map keeps the last index of a repeated entry: so does this.
      for (size_t i = 0; i < slot.vocabulary.size(); ++i) {
        slot.codes[slot.vocabulary[i]] = static_cast<double>(i);
      }
      // A vocabulary entry that is not valid UTF-8 reaches JS with replacement characters, so
      // a body string may equal it there and not here: such an input declines every string.
      for (const std::string& v : slot.vocabulary) slot.strings_ok = slot.strings_ok && ValidUtf8(v);
    }
    slots_.push_back(std::move(slot));
  }
  // Built once slots_ is final: the views point into the slots' keys.
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].matchable) continue;
    // Two inputs of one name: the JS encoder's index keeps the last; decline every body instead.
    if (!index_.emplace(slots_[i].key, i).second) usable_ = false;
  }
}

bool RecordScanner::Scan(std::string_view body, double* row) const {
  if (!usable_) return false;
  const char* const end = body.data() + body.size();
  const char* p = SkipWs(body.data(), end);
  p = ScanObject(p, end, row);
  return p != nullptr && SkipWs(p, end) == end;  // no trailing bytes
}

bool RecordScanner::ScanRows(std::string_view body, BodyShape shape, size_t max_rows, std::vector<double>* rows) const {
  rows->clear();
  if (!usable_) return false;
  const char* const end = body.data() + body.size();
  const char* p = SkipWs(body.data(), end);
  if (shape == BodyShape::kRecordArray) {
    p = ScanArray(p, end, max_rows, rows);
    return p != nullptr && SkipWs(p, end) == end;
  }
  // {"instances": [...], "signature_name": "..."} in either order, nothing else.
  constexpr std::string_view kInstances = "instances";
  constexpr std::string_view kSignature = "signature_name";
  if (p == end || *p != '{') return false;
  bool have_instances = false;
  bool have_signature = false;
  for (p = SkipWs(p + 1, end);;) {
    if (p == end || *p != '"') return false;
    const char* key_end = PlainStringEnd(p + 1, end);
    if (key_end == nullptr) return false;
    const std::string_view key(p + 1, static_cast<size_t>(key_end - p - 1));
    p = SkipWs(key_end + 1, end);
    if (p == end || *p != ':') return false;
    p = SkipWs(p + 1, end);
    if (key == kInstances && !have_instances) {
      have_instances = true;
      p = ScanArray(p, end, max_rows, rows);
      if (p == nullptr) return false;
    } else if (key == kSignature && !have_signature) {
      // Any string passes the schema; one without escapes is all this takes.
      have_signature = true;
      if (p == end || *p != '"') return false;
      const char* str_end = PlainStringEnd(p + 1, end);
      if (str_end == nullptr) return false;
      p = str_end + 1;
    } else {
      return false;  // another member, or one repeated
    }
    p = SkipWs(p, end);
    if (p == end) return false;
    if (*p == ',') {
      p = SkipWs(p + 1, end);
      continue;
    }
    if (*p != '}') return false;
    ++p;
    break;
  }
  return have_instances && SkipWs(p, end) == end;
}

const char* RecordScanner::ScanArray(const char* p, const char* end, size_t max_rows, std::vector<double>* rows) const {
  const size_t width = slots_.size();
  if (p == end || *p != '[') return nullptr;
  p = SkipWs(p + 1, end);
  size_t n = 0;
  for (;;) {
    if (n == max_rows) return nullptr;  // also declines no rows when max_rows is 0
    rows->resize((n + 1) * width);
    p = ScanObject(p, end, rows->data() + n * width);  // "]" (no rows) is declined here
    if (p == nullptr) return nullptr;
    ++n;
    p = SkipWs(p, end);
    if (p == end) return nullptr;
    if (*p == ',') {
      p = SkipWs(p + 1, end);
      continue;
    }
    if (*p != ']') return nullptr;
    return p + 1;
  }
}

const char* RecordScanner::ScanObject(const char* p, const char* const end, double* row) const {
  const size_t n = slots_.size();
  for (size_t i = 0; i < n; ++i) SetUnset(row + i);
  if (p == end || *p != '{') return nullptr;
  p = SkipWs(p + 1, end);
  if (p == end) return nullptr;
  size_t written = 0;
  size_t next = 0;  // the slot expected next: records mostly list the inputs in the model's order
  if (*p == '}') {
    ++p;
  } else {
    for (;;) {
      if (*p != '"') return nullptr;
      ++p;
      size_t at = n;
      if (next < n) {
        const Slot& expected = slots_[next];
        const size_t len = expected.key.size();
        // The key's bytes equal the name's and the quote follows: the key is the name (whose
        // bytes hold no quote, backslash or control character when matchable).
        if (expected.matchable && static_cast<size_t>(end - p) > len && std::memcmp(p, expected.key.data(), len) == 0 &&
            p[len] == '"') {
          at = next;
          p += len + 1;
        }
      }
      if (at == n) {
        const char* key_end = PlainStringEnd(p, end);
        if (key_end == nullptr) return nullptr;
        const auto found = index_.find(std::string_view(p, static_cast<size_t>(key_end - p)));
        if (found == index_.end()) return nullptr;  // unknown feature
        at = found->second;
        p = key_end + 1;
      }
      if (!IsUnset(row + at)) return nullptr;  // repeated key (JSON.parse keeps the last)
      p = SkipWs(p, end);
      if (p == end || *p != ':') return nullptr;
      p = SkipWs(p + 1, end);
      if (p == end) return nullptr;
      const Slot& slot = slots_[at];
      double v;
      if (*p == '"') {
        if (slot.type != InputType::kStringCategory || !slot.strings_ok) return nullptr;
        ++p;
        const char* str_end = PlainStringEnd(p, end);
        if (str_end == nullptr) return nullptr;
        const std::string_view text(p, static_cast<size_t>(str_end - p));
        const auto code = slot.codes.find(text);
        if (code != slot.codes.end()) {
          v = code->second;
        } else {
          if (!ValidUtf8(text)) return nullptr;  // JS would see replacement characters
          v = kUnknownCategory;
        }
        p = str_end + 1;
      } else if (*p == 'n') {
        if (!slot.nullable || end - p < 4 || std::memcmp(p, "null", 4) != 0) return nullptr;
        v = std::numeric_limits<double>::quiet_NaN();
        p += 4;
      } else {
        if (slot.type == InputType::kStringCategory) return nullptr;
        p = ScanNumber(p, end, &v);
        if (p == nullptr) return nullptr;
      }
      row[at] = v;
      ++written;
      next = at + 1;
      p = SkipWs(p, end);
      if (p == end) return nullptr;
      if (*p == ',') {
        p = SkipWs(p + 1, end);
        if (p == end) return nullptr;
        continue;
      }
      if (*p != '}') return nullptr;
      ++p;
      break;
    }
  }
  if (written != n) {
    for (size_t i = 0; i < n; ++i) {
      if (!IsUnset(row + i)) continue;
      if (!slots_[i].nullable) return nullptr;  // required input absent
      row[i] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  return p;
}

}  // namespace kiln
