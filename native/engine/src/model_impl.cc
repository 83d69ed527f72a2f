#include "model_impl.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace kiln::internal {

void ModelImpl::Freeze() {
  checks_.clear();
  vocab_lookup_.assign(inputs_.size(), {});
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const InputSpec& in = inputs_[i];
    checks_.push_back({in.type == InputType::kStringCategory, in.nullable, static_cast<double>(in.vocabulary.size())});
    for (size_t k = 0; k < in.vocabulary.size(); ++k) {
      vocab_lookup_[i].emplace(std::string_view(in.vocabulary[k]), static_cast<uint32_t>(k));
    }
  }
  features_contiguous_ = true;
  features_base_ = features_.empty() ? 0 : features_[0];
  for (size_t j = 0; j < features_.size(); ++j) {
    if (features_[j] != features_base_ + j) features_contiguous_ = false;
  }
  raw_size_ = 1;
  est_tmp_size_ = 0;
  if (mode_ == Mode::kLinear) {
    raw_size_ = linear_.k;
  } else if (mode_ == Mode::kNaiveBayes) {
    raw_size_ = nb_.k;
    est_tmp_size_ = nb_.n_features;
  } else if (mode_ == Mode::kMlp) {
    raw_size_ = mlp_.k;
    est_tmp_size_ = 2 * static_cast<size_t>(mlp_.max_hidden);
  } else {
    raw_size_ = trees_.n_targets;
  }
  if (raw_size_ == 0) raw_size_ = 1;
}

double ModelImpl::CategoryCode(size_t input, std::string_view value) const {
  if (input >= vocab_lookup_.size()) return kUnknownCategory;
  const auto& m = vocab_lookup_[input];
  auto it = m.find(value);
  return it == m.end() ? kUnknownCategory : static_cast<double>(it->second);
}

std::unique_ptr<Workspace> ModelImpl::NewWorkspace() const {
  auto ws = std::make_unique<WorkspaceImpl>();
  ws->scratch.assign(program_.n_slots, 0.0);
  ws->feat.assign(features_.size(), 0.0);
  ws->xf.assign(features_.size(), 0.0f);
  ws->raw.assign(raw_size_, 0.0);
  ws->est_tmp.assign(est_tmp_size_, 0.0);
  return ws;
}

void ModelImpl::BadInput(size_t input, double v, size_t row) const {
  const std::string& name = inputs_[input].name;
  const std::string where = " (row " + std::to_string(row) + ")";
  const long long r = static_cast<long long>(row);
  if (std::isnan(v)) throw Error(ErrorCode::kInputMissing, "feature '" + name + "' is required" + where, name, r);
  if (checks_[input].is_string) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", v);
    throw Error(ErrorCode::kInputShape,
                "feature '" + name + "': " + text + " is not a vocabulary code of this input" + where, name, r);
  }
  throw Error(ErrorCode::kInputNotFinite,
              "feature '" + name + "' must be finite, got " + (v > 0 ? "inf" : "-inf") + where, name, r);
}

template <class T>
inline void ModelImpl::LoadRow(const T* row, size_t r, double* s) const {
  const size_t n = checks_.size();
  const InputCheck* checks = checks_.data();
  for (size_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(row[i]);
    s[i] = v;
    const InputCheck& c = checks[i];
    if (c.is_string) {
      if (v == kUnknownCategory || (v >= 0.0 && v < c.vocab_size && v == std::floor(v))) continue;
    } else if (std::isfinite(v)) {
      continue;
    }
    if (v != v && c.nullable) continue;
    BadInput(i, v, r);
  }
}

template <class T, class Eval>
inline void ModelImpl::Loop(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws, const Eval& eval) const {
  double* s = ws.scratch.data();
  const size_t n_in = inputs_.size();
  const size_t width = output_width_;
  for (size_t r = 0; r < n_rows; ++r) {
    LoadRow(rows + r * n_in, r, s);
    program_.Run(s, r, inputs_);
    eval(s, ws, out + r * width);
  }
}

template <class T>
void ModelImpl::PredictT(const T* rows, size_t n_rows, double* out, Workspace& wsb) const {
  auto* ws = dynamic_cast<WorkspaceImpl*>(&wsb);
  if (ws == nullptr || ws->scratch.size() < program_.n_slots || ws->feat.size() < features_.size() ||
      ws->xf.size() < features_.size() || ws->raw.size() < raw_size_ || ws->est_tmp.size() < est_tmp_size_) {
    throw Error(ErrorCode::kInputShape, "the workspace was not made by this model's NewWorkspace()");
  }
  if (n_rows == 0) return;
  if (rows == nullptr || out == nullptr) throw Error(ErrorCode::kInputShape, "null row or output buffer");

  const uint32_t* fslots = features_.data();
  const size_t nf = features_.size();
  auto gather_f = [fslots, nf](const double* s, float* xf) {
    for (size_t j = 0; j < nf; ++j) xf[j] = static_cast<float>(s[fslots[j]]);
  };
  // Estimator features as one contiguous double row (the scratch itself when already contiguous).
  auto gather_d = [this, fslots, nf](const double* s, double* buf) -> const double* {
    if (features_contiguous_) return s + features_base_;
    for (size_t j = 0; j < nf; ++j) buf[j] = s[fslots[j]];
    return buf;
  };
  auto average_out = [this](const double* acc, double* o) {
    if (task_ == Task::kRegression) {
      o[0] = acc[0];
      return;
    }
    o[0] = static_cast<double>(ArgMax(acc, trees_.n_targets));
    if (probabilities_) {
      for (uint32_t k = 0; k < trees_.n_targets; ++k) o[1 + k] = acc[k];
    }
  };

  switch (mode_) {
    case Mode::kLinear:
      Loop(rows, n_rows, out, *ws, [this, fslots, nf](const double* s, WorkspaceImpl& w, double* o) {
        const double* x = s + features_base_;
        if (!features_contiguous_) {
          double* buf = w.feat.data();
          for (size_t j = 0; j < nf; ++j) buf[j] = s[fslots[j]];
          x = buf;
        }
        linear_.Raw(x, w.raw.data());
        head_.Write(w.raw.data(), o);
      });
      break;
    case Mode::kAverage:
      Loop(rows, n_rows, out, *ws, [&](const double* s, WorkspaceImpl& w, double* o) {
        gather_f(s, w.xf.data());
        PredictAverage<false>(trees_, w.xf.data(), w.raw.data());
        average_out(w.raw.data(), o);
      });
      break;
    case Mode::kAverageMissing:
      Loop(rows, n_rows, out, *ws, [&](const double* s, WorkspaceImpl& w, double* o) {
        gather_f(s, w.xf.data());
        PredictAverage<true>(trees_, w.xf.data(), w.raw.data());
        average_out(w.raw.data(), o);
      });
      break;
    case Mode::kBoost:
      Loop(rows, n_rows, out, *ws, [&](const double* s, WorkspaceImpl& w, double* o) {
        gather_f(s, w.xf.data());
        PredictBoost<false>(trees_, w.xf.data(), w.raw.data());
        head_.Write(w.raw.data(), o);
      });
      break;
    case Mode::kBoostMissing:
      Loop(rows, n_rows, out, *ws, [&](const double* s, WorkspaceImpl& w, double* o) {
        gather_f(s, w.xf.data());
        PredictBoost<true>(trees_, w.xf.data(), w.raw.data());
        head_.Write(w.raw.data(), o);
      });
      break;
    case Mode::kTreeKernel:  // float64 / `<` / categorical trees: the kernel picked at load
      Loop(rows, n_rows, out, *ws, [&](const double* s, WorkspaceImpl& w, double* o) {
        trees_.row_fn(trees_, s, fslots, nf, w.xf.data(), w.feat.data(), w.raw.data());
        if (trees_.boost) {
          head_.Write(w.raw.data(), o);
        } else {
          average_out(w.raw.data(), o);
        }
      });
      break;
    case Mode::kNaiveBayes:
      Loop(rows, n_rows, out, *ws, [&](const double* s, WorkspaceImpl& w, double* o) {
        nb_.Raw(gather_d(s, w.feat.data()), w.raw.data(), w.est_tmp.data());
        head_.Write(w.raw.data(), o);
      });
      break;
    case Mode::kMlp:
      Loop(rows, n_rows, out, *ws, [&](const double* s, WorkspaceImpl& w, double* o) {
        mlp_.Raw(gather_d(s, w.feat.data()), w.raw.data(), w.est_tmp.data());
        head_.Write(w.raw.data(), o);
      });
      break;
  }
}

void ModelImpl::Predict(const double* rows, size_t n_rows, double* out, Workspace& ws) const {
  PredictT(rows, n_rows, out, ws);
}

void ModelImpl::Predict(const float* rows, size_t n_rows, double* out, Workspace& ws) const {
  PredictT(rows, n_rows, out, ws);
}

}  // namespace kiln::internal
