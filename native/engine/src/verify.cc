// Replays the verification rows: encodes each row like any caller would, predicts, compares.
#include <cmath>
#include <unordered_map>

#include "json_reader.h"
#include "model_impl.h"

namespace kiln::internal {

namespace {

struct Tolerance {
  double absolute;
  double relative;
};

std::string ClassText(const ModelImpl& m, size_t idx) {
  return idx < m.class_json_.size() ? m.class_json_[idx] : "<class " + std::to_string(idx) + ">";
}

class Comparer {
 public:
  Comparer(const Tolerance& tol, VerificationReport& report) : tol_(tol), report_(report) {}

  void Number(const std::string& row_path, const std::string& what, double computed, double expected) {
    const double err = std::fabs(computed - expected);
    if (!(err <= tol_.absolute + tol_.relative * std::fabs(expected))) {
      Throw(ErrorCode::kModelVerification, row_path,
            what + ": computed " + NumberText(computed) + ", expected " + NumberText(expected) +
                " (tolerance " + NumberText(tol_.absolute) + " + " + NumberText(tol_.relative) + " * |expected|)");
    }
    if (err > report_.max_abs_error) report_.max_abs_error = err;
  }

  void Vector(const std::string& row_path, const char* what, const double* computed, const JVal& expected,
              size_t n) {
    std::vector<double> e;
    if (expected.IsNumber() && n == 1) {
      e.push_back(expected.Finite());
    } else {
      expected.Finites(e, n);
    }
    for (size_t k = 0; k < n; ++k) Number(row_path, std::string(what) + "[" + std::to_string(k) + "]", computed[k], e[k]);
  }

 private:
  Tolerance tol_;
  VerificationReport& report_;
};

}  // namespace

void RunVerification(ModelImpl& m, const JVal& block) {
  JObj vo(block, {"tolerance", "rows"});
  JObj tol_obj(vo.Get("tolerance"), {"absolute", "relative"});
  Tolerance tol{};
  for (auto [key, dst] : {std::pair<const char*, double*>{"absolute", &tol.absolute}, {"relative", &tol.relative}}) {
    JVal t = tol_obj.Get(key);
    *dst = t.Finite();
    if (!(*dst >= 0.0 && *dst <= 1e-3)) t.Fail(ErrorCode::kModelInvalid, "tolerance must be in [0, 1e-3]");
  }

  JVal rows = vo.Get("rows");
  const size_t n = rows.ArraySize();
  if (n == 0) rows.Fail(ErrorCode::kModelInvalid, "needs at least one row");

  const auto& inputs = m.inputs_;
  const size_t n_in = inputs.size();
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < n_in; ++i) index.emplace(inputs[i].name, i);

  std::vector<double> x(n * n_in);
  std::vector<uint8_t> seen(n_in);
  for (size_t r = 0; r < n; ++r) {
    JObj row(rows.At(r), {"input", "expected"});
    JVal in = row.Get("input");
    in.RequireObject();
    std::fill(seen.begin(), seen.end(), 0);
    for (auto it = in.json().begin(); it != in.json().end(); ++it) {
      JVal val(it.value(), KeyPath(in.path(), it.key()));
      auto f = index.find(it.key());
      if (f == index.end()) val.Fail(ErrorCode::kModelSchema, "unknown input name");
      const size_t i = f->second;
      seen[i] = 1;
      double& slot = x[r * n_in + i];
      if (val.IsNull()) {
        slot = std::nan("");
      } else if (inputs[i].type == InputType::kStringCategory) {
        if (!val.IsString()) val.Fail(ErrorCode::kModelSchema, std::string("expected a string or null, got ") + val.json().type_name());
        slot = m.CategoryCode(i, val.Str());
      } else {
        if (!val.IsNumber()) val.Fail(ErrorCode::kModelSchema, std::string("expected a number or null, got ") + val.json().type_name());
        slot = val.Number();
      }
    }
    for (size_t i = 0; i < n_in; ++i) {
      if (!seen[i]) in.Fail(ErrorCode::kModelSchema, "missing input '" + inputs[i].name + "'");
    }
  }

  const size_t w = m.output_width();
  std::vector<double> out(n * w);
  auto ws = m.NewWorkspace();
  try {
    m.Predict(x.data(), n, out.data(), *ws);
  } catch (const Error& e) {
    const std::string at = e.row() >= 0 ? IndexPath(rows.path(), static_cast<size_t>(e.row())) : rows.path();
    Throw(ErrorCode::kModelVerification, at, std::string("prediction failed: ") + e.what());
  }

  VerificationReport report;
  Comparer cmp(tol, report);
  const bool classification = m.task_ == Task::kClassification;
  for (size_t r = 0; r < n; ++r) {
    JVal rowv = rows.At(r);
    const std::string& row_path = rowv.path();
    const double* o = out.data() + r * w;
    JObj row(rowv, {"input", "expected"});
    if (!classification) {
      JObj ex(row.Get("expected"), {"value"});
      cmp.Number(row_path, "value", o[0], ex.Get("value").Finite());
      continue;
    }
    // Every output the row states is compared (the schema asks for at least one).
    JVal exv = row.Get("expected");
    JObj ex(exv, {"label", "probabilities", "decision"});
    if (exv.json().empty()) exv.Fail(ErrorCode::kModelSchema, "states no expected output");
    const size_t idx = static_cast<size_t>(o[0]);
    if (auto label = ex.Opt("label")) {
      bool same = false;
      if (label->IsString()) {
        same = m.classes_are_strings_ && idx < m.class_str_.size() && m.class_str_[idx] == label->Str();
      } else if (label->IsNumber()) {
        same = !m.classes_are_strings_ && idx < m.class_num_.size() && m.class_num_[idx] == label->Number();
      } else {
        label->Fail(ErrorCode::kModelSchema,
                    std::string("expected a string or a number, got ") + label->json().type_name());
      }
      if (!same) {
        Throw(ErrorCode::kModelVerification, row_path,
              "label: computed " + ClassText(m, idx) + ", expected " + label->json().dump());
      }
    }
    const double* p = o + 1;
    const size_t n_classes = m.head_.n_classes ? m.head_.n_classes : m.class_json_.size();
    if (auto probs = ex.Opt("probabilities")) {
      if (!m.has_probabilities()) probs->Fail(ErrorCode::kModelInvalid, "the model reports no probabilities");
      cmp.Vector(row_path, "probabilities", p, *probs, n_classes);
    }
    if (m.has_probabilities()) p += n_classes;
    if (auto dec = ex.Opt("decision")) {
      if (m.n_decision() == 0) dec->Fail(ErrorCode::kModelInvalid, "the model reports no decision values");
      cmp.Vector(row_path, "decision", p, *dec, m.n_decision());
    }
  }
  report.rows_checked = n;
  m.report_ = report;
}

}  // namespace kiln::internal
