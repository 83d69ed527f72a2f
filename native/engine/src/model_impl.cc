#include "model_impl.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <typeinfo>
#include <cstdio>
#include <exception>
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
  numeric_inputs_ = true;
  for (const InputCheck& c : checks_) numeric_inputs_ = numeric_inputs_ && !c.is_string;
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
  } else if (mode_ == Mode::kNeighbors) {
    raw_size_ = knn_.RawWidth();
    est_tmp_size_ = knn_.TmpSize();
  } else {
    raw_size_ = trees_.n_targets;
  }
  if (raw_size_ == 0) raw_size_ = 1;
  raw_rows_ = mode_ == Mode::kTrees ? trees_.tile_rows : kTreeBlockRows;
  const size_t tree_x = mode_ == Mode::kTrees ? trees_.tile_rows * (features_.empty() ? 1 : features_.size()) : 0;
  tree_xf_size_ = trees_.float64 ? 0 : tree_x;
  tree_xd_size_ = trees_.float64 ? tree_x : 0;
  // The common "standard scaler over every input" program, run by ScaleRow: ops kSub then kDiv,
  // each over all inputs in order, the kDiv reading exactly the kSub's outputs; nothing reads the
  // kSub's outputs otherwise (the estimator reads the kDiv's).
  scaler_ = false;
  if (program_.ops.size() == 2) {
    const Op& sub = program_.ops[0];
    const Op& div = program_.ops[1];
    bool ok = sub.kind == OpKind::kSub && div.kind == OpKind::kDiv && sub.n == inputs_.size() && div.n == sub.n &&
              div.out >= sub.out + sub.n;
    for (uint32_t j = 0; ok && j < sub.n; ++j) {
      ok = program_.in_slots[sub.in + j] == j && program_.in_slots[div.in + j] == sub.out + j;
    }
    for (uint32_t slot : features_) ok = ok && slot >= div.out && slot < div.out + div.n;
    scaler_ = ok;
  }
  // The estimator reads all of the scaler's outputs, in input order: the one-pass ScaleRows paths
  // of PredictLinear and PredictTrees, straight from the caller's rows.
  const bool scaled_in_order = scaler_ && numeric_inputs_ && features_contiguous_ &&
                               features_.size() == inputs_.size() && !features_.empty() &&
                               features_base_ == program_.ops[1].out;
  scaled_linear_ = scaled_in_order && mode_ == Mode::kLinear;
  scaled_trees_ = scaled_in_order && mode_ == Mode::kTrees;
  // No transform and the trees read every input in order: PredictTrees only converts the rows.
  direct_trees_ = mode_ == Mode::kTrees && program_.ops.empty() && numeric_inputs_ && features_contiguous_ &&
                  features_base_ == 0 && features_.size() == inputs_.size() && !features_.empty();
  // Boosted trees write their rows through the linear head (WriteLinearRows), which reads raw
  // scores class-major: with several, est_tmp holds kLinearBlockRows rows of them transposed.
  if (mode_ == Mode::kTrees && trees_.boost && raw_size_ > 1) est_tmp_size_ = kLinearBlockRows * raw_size_;
  folded_ = FoldedScaler{};
  if (scaled_linear_) {
    FoldScaler(linear_, program_.pd.data() + program_.ops[0].p, program_.pd.data() + program_.ops[1].p, folded_);
  }
}

double ModelImpl::CategoryCode(size_t input, std::string_view value) const {
  if (input >= vocab_lookup_.size()) return kUnknownCategory;
  const auto& m = vocab_lookup_[input];
  auto it = m.find(value);
  return it == m.end() ? kUnknownCategory : static_cast<double>(it->second);
}

std::unique_ptr<Workspace> ModelImpl::NewWorkspace() const {
  auto ws = std::make_unique<WorkspaceImpl>();
  // Rows are prepared a block at a time (kTreeBlockRows >= kLinearBlockRows).
  ws->scratch.assign(kTreeBlockRows * program_.n_slots, 0.0);
  ws->feat.assign(kLinearBlockRows * features_.size(), 0.0);
  // Trees score a tile of rows at once: features (float32 or float64, as the trees compare)
  // and scores for a tile's rows (TreeEnsemble::tile_rows).
  ws->xf.assign(tree_xf_size_, 0.0f);
  ws->xd.assign(tree_xd_size_, 0.0);
  ws->raw.assign(raw_rows_ * raw_size_, 0.0);
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
  if (numeric_inputs_) {  // the common row: all finite numbers, one branch-free pass
    bool finite = true;
    for (size_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(row[i]);
      s[i] = v;
      finite &= v - v == 0.0;  // false for NaN and +-inf
    }
    if (finite) return;
  }
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

// The program's kSub then kDiv, value by value (the same two roundings), over contiguous slots:
// the compiler vectorises it, where the generic kernels go through per-value slot indices.
inline void ModelImpl::ScaleRow(double* s) const {
  const Op& sub = program_.ops[0];
  const Op& div = program_.ops[1];
  const double* mean = program_.pd.data() + sub.p;
  const double* scale = program_.pd.data() + div.p;
  double* out = s + div.out;
  const size_t n = sub.n;
  for (size_t j = 0; j < n; ++j) out[j] = (s[j] - mean[j]) / scale[j];
}

template <class T>
inline size_t ModelImpl::PrepareRows(const T* rows, size_t r0, size_t m, double* scratch,
                                     std::exception_ptr& failure) const {
  const size_t n_in = inputs_.size();
  const size_t ns = program_.n_slots;
  size_t i = 0;
  try {
    for (; i < m; ++i) {
      double* s = scratch + i * ns;
      LoadRow(rows + (r0 + i) * n_in, r0 + i, s);
      if (scaler_) {
        ScaleRow(s);
      } else {
        program_.Run(s, r0 + i, inputs_);
      }
    }
  } catch (...) {
    failure = std::current_exception();
  }
  return i;
}

template <class T, class Eval>
void ModelImpl::PredictRows(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws, const Eval& eval) const {
  double* s = ws.scratch.data();
  const uint32_t* fslots = features_.data();
  const size_t nf = features_.size();
  for (size_t r = 0; r < n_rows; ++r) {
    std::exception_ptr failure;
    if (PrepareRows(rows, r, 1, s, failure) == 0) std::rethrow_exception(failure);
    const double* x = s + features_base_;
    if (!features_contiguous_) {
      double* buf = ws.feat.data();
      for (size_t j = 0; j < nf; ++j) buf[j] = s[fslots[j]];
      x = buf;
    }
    eval(x, ws, out + r * output_width_, r);
  }
}

template <class T>
void ModelImpl::PredictLinear(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws) const {
  constexpr size_t B = kLinearBlockRows;
  const size_t n_in = inputs_.size();
  const size_t ns = program_.n_slots;
  const size_t nf = features_.size();
  const uint32_t* fslots = features_.data();
  const size_t k = linear_.k;
  const size_t width = output_width_;
  double* raw = ws.raw.data();      // a block's raw scores, row-major (RawRows)
  double* raw_t = raw + B * k;      // the same, class-major (WriteLinearRows)
  double* feat = ws.feat.data();
  // The scaler-only pipeline: rows are scored with the scaler folded in, straight from the
  // caller's matrix. A row outside the fold's error bound, or holding a non-finite value, goes
  // alone through the checked path (scaled exactly; a bad value is reported for its row, after
  // the rows before it are written), so no row's answer depends on its neighbours.
  if (!folded_.empty()) {
    bool ok[B];
    for (size_t r0 = 0; r0 < n_rows; r0 += B) {
      r0 = FoldedPredict(linear_, folded_, head_, rows, r0, n_rows, out, width, raw_t, ok);
      if (r0 == n_rows) break;
      const size_t m = n_rows - r0 < B ? n_rows - r0 : B;
      for (size_t i = 0; i < m; ++i) {
        if (ok[i]) continue;
        std::exception_ptr failure;
        if (PrepareRows(rows, r0 + i, 1, ws.scratch.data(), failure) == 0) {
          WriteLinearRows(head_, raw_t, i, out + r0 * width, width);  // the rows before the bad one
          std::rethrow_exception(failure);
        }
        const double* xi = ws.scratch.data() + features_base_;  // scaled_linear_: contiguous
        linear_.RawRows(&xi, 1, raw);
        for (size_t q = 0; q < k; ++q) raw_t[q * B + i] = raw[q];
      }
      WriteLinearRows(head_, raw_t, m, out + r0 * width, width);
    }
    return;
  }
  for (size_t r0 = 0; r0 < n_rows; r0 += B) {
    const size_t want = n_rows - r0 < B ? n_rows - r0 : B;
    std::exception_ptr failure;
    size_t m = want;
    const double* x[B];
    // The scaler-only pipeline scales the block straight from the caller's rows into feat (one
    // pass, no slot copies); a block holding a non-finite value takes the checked path below.
    if (scaled_linear_ && ScaleRows(rows + r0 * n_in, want, n_in, program_.pd.data() + program_.ops[0].p,
                                    program_.pd.data() + program_.ops[1].p, feat)) {
      for (size_t i = 0; i < m; ++i) x[i] = feat + i * nf;
    } else {
      m = PrepareRows(rows, r0, want, ws.scratch.data(), failure);
      for (size_t i = 0; i < m; ++i) {
        const double* s = ws.scratch.data() + i * ns;
        if (features_contiguous_) {
          x[i] = s + features_base_;
        } else {
          double* buf = feat + i * nf;
          for (size_t j = 0; j < nf; ++j) buf[j] = s[fslots[j]];
          x[i] = buf;
        }
      }
    }
    linear_.RawRows(x, m, raw);
    for (size_t i = 0; i < m; ++i) {
      for (size_t q = 0; q < k; ++q) raw_t[q * B + i] = raw[i * k + q];
    }
    WriteLinearRows(head_, raw_t, m, out + r0 * width, width);
    if (failure) std::rethrow_exception(failure);  // after writing the rows before the bad one
  }
}

// The features of a block of prepared rows in the type the trees compare in (T = float or double).
template <class T>
inline bool GatherTreeRows(const double* scratch, size_t ns, const uint32_t* fslots, size_t nf, size_t m, T* x,
                           size_t stride) {
  bool any_nan = false;
  for (size_t i = 0; i < m; ++i) {
    const double* s = scratch + i * ns;
    T* xi = x + i * stride;
    for (size_t j = 0; j < nf; ++j) {
      xi[j] = static_cast<T>(s[fslots[j]]);
      any_nan |= xi[j] != xi[j];
    }
  }
  return any_nan;
}

// Boosted trees' output rows from a block's row-major raw scores (m x n_targets), through the
// linear head's vector links, kLinearBlockRows rows at a time: RawHead::Write's layout, with the
// engine's own exp (ExpNonPositive, within 2 ulp of std::exp, the same bits on every CPU). With
// one raw score, row-major is class-major and the block is read in place.
void ModelImpl::WriteBoostRows(const double* acc, size_t m, double* out, double* raw_t) const {
  constexpr size_t L = kLinearBlockRows;
  const size_t nt = trees_.n_targets;
  const size_t width = output_width_;
  for (size_t i0 = 0; i0 < m; i0 += L) {
    const size_t mi = m - i0 < L ? m - i0 : L;
    const double* raw = acc + i0;  // WriteLinearRows reads L lanes: within the block's kTreeBlockRows
    if (nt != 1) {
      for (size_t i = 0; i < mi; ++i) {
        for (size_t q = 0; q < nt; ++q) raw_t[q * L + i] = acc[(i0 + i) * nt + q];
      }
      raw = raw_t;
    }
    WriteLinearRows(head_, raw, mi, out + i0 * width, width);
  }
}

template <class T>
void ModelImpl::PredictTrees(const T* rows, size_t n_rows, double* out, WorkspaceImpl& ws) const {
  constexpr size_t B = kTreeBlockRows;
  const uint32_t* fslots = features_.data();
  const size_t nf = features_.size();
  const size_t stride = nf == 0 ? 1 : nf;
  const size_t ns = program_.n_slots;
  const size_t nt = trees_.n_targets;
  const size_t width = output_width_;
  double* acc = ws.raw.data();
  const void* x = trees_.float64 ? static_cast<const void*>(ws.xd.data()) : static_cast<const void*>(ws.xf.data());
  const size_t n_in = inputs_.size();
  const double* mean = scaled_trees_ ? program_.pd.data() + program_.ops[0].p : nullptr;
  const double* scale = scaled_trees_ ? program_.pd.data() + program_.ops[1].p : nullptr;
  const size_t tile_rows = trees_.tile_rows;
  for (size_t r0 = 0; r0 < n_rows; r0 += tile_rows) {
    // A tile is prepared a block at a time, up to a bad row. Without a transform, or with the
    // scaler-only pipeline, a block goes straight from the caller's rows into the trees' features
    // (one vector pass, the program's roundings); a block holding a value that is not finite (or
    // scales to one) takes the checked path (the scratch holds one block), which reports it or
    // routes the NaN.
    std::exception_ptr failure;
    const size_t tile = n_rows - r0 < tile_rows ? n_rows - r0 : tile_rows;
    size_t m = 0;
    bool any_nan = false;
    while (m < tile && !failure) {
      const size_t want = tile - m < B ? tile - m : B;
      const T* block = rows + (r0 + m) * n_in;
      float* xf = trees_.float64 ? nullptr : ws.xf.data() + m * stride;
      double* xd = trees_.float64 ? ws.xd.data() + m * stride : nullptr;
      bool ready = false;
      if (direct_trees_) {
        ready = xd ? CastRows(block, want, n_in, xd) : CastRows(block, want, n_in, xf);
      } else if (scaled_trees_) {
        ready = xd ? ScaleRows(block, want, n_in, mean, scale, xd) : ScaleRows(block, want, n_in, mean, scale, xf);
      }
      if (ready) {
        m += want;
        continue;
      }
      const size_t got = PrepareRows(rows, r0 + m, want, ws.scratch.data(), failure);
      any_nan |= xd ? GatherTreeRows(ws.scratch.data(), ns, fslots, nf, got, xd, stride)
                    : GatherTreeRows(ws.scratch.data(), ns, fslots, nf, got, xf, stride);
      m += got;
    }
    // NaN routing only matters for tiles that hold a NaN; the plain walk is cheaper.
    trees_.score[any_nan ? 1 : 0](trees_, x, stride, m, acc);
    if (trees_.boost) {
      WriteBoostRows(acc, m, out + r0 * width, ws.est_tmp.data());
      if (failure) std::rethrow_exception(failure);
      continue;
    }
    for (size_t i = 0; i < m; ++i) {
      const double* a = acc + i * nt;
      double* o = out + (r0 + i) * width;
      if (task_ == Task::kRegression) {
        o[0] = a[0];
      } else {
        o[0] = static_cast<double>(ArgMax(a, nt));
        if (probabilities_) std::copy(a, a + nt, o + 1);
      }
    }
    if (failure) std::rethrow_exception(failure);  // after writing the rows before the bad one
  }
}

template <class T>
void ModelImpl::PredictT(const T* rows, size_t n_rows, double* out, Workspace& wsb) const {
  // WorkspaceImpl is final: comparing the dynamic type is the whole check, without dynamic_cast's
  // hierarchy walk (~85 instructions per call, callgrind).
  auto* ws = typeid(wsb) == typeid(WorkspaceImpl) ? static_cast<WorkspaceImpl*>(&wsb) : nullptr;
  if (ws == nullptr || ws->scratch.size() < kTreeBlockRows * program_.n_slots ||
      ws->feat.size() < kLinearBlockRows * features_.size() ||
      ws->xf.size() < tree_xf_size_ || ws->xd.size() < tree_xd_size_ || ws->raw.size() < raw_rows_ * raw_size_ ||
      ws->est_tmp.size() < est_tmp_size_) {
    throw Error(ErrorCode::kInputShape, "the workspace was not made by this model's NewWorkspace()");
  }
  if (n_rows == 0) return;
  if (rows == nullptr || out == nullptr) throw Error(ErrorCode::kInputShape, "null row or output buffer");

  switch (mode_) {
    case Mode::kLinear:
      PredictLinear(rows, n_rows, out, *ws);
      break;
    case Mode::kTrees:
      PredictTrees(rows, n_rows, out, *ws);
      break;
    case Mode::kNaiveBayes:
      PredictRows(rows, n_rows, out, *ws, [&](const double* x, WorkspaceImpl& w, double* o, size_t) {
        nb_.Raw(x, w.raw.data(), w.est_tmp.data());
        head_.Write(w.raw.data(), o);
      });
      break;
    case Mode::kMlp:
      PredictRows(rows, n_rows, out, *ws, [&](const double* x, WorkspaceImpl& w, double* o, size_t) {
        mlp_.Raw(x, w.raw.data(), w.est_tmp.data());
        head_.Write(w.raw.data(), o);
      });
      break;
    case Mode::kNeighbors:  // raw: predict_proba row (classifier) or the prediction
      PredictRows(rows, n_rows, out, *ws, [&](const double* x, WorkspaceImpl& w, double* o, size_t r) {
        const double* raw = w.raw.data();
        knn_.Raw(x, w.raw.data(), w.est_tmp.data(), r);
        if (task_ == Task::kRegression) {
          o[0] = raw[0];
        } else {
          o[0] = static_cast<double>(ArgMax(raw, knn_.n_classes));
          if (probabilities_) std::copy(raw, raw + knn_.n_classes, o + 1);
        }
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
