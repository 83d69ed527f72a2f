// Shared by the tests of model files written by the training libraries (native-formats,
// library-versions): every row's Kiln result against the library's own prediction.
import assert from 'node:assert/strict';

/**
 * Asserts results[i] matches expected row i: labels identical; probabilities and decision values
 * (classifiers) or values (regressors) within |kiln - lib| <= tol.absolute + tol.relative * |lib|.
 * `who` names the library in failure messages. Returns the largest absolute difference seen.
 */
export function assertMatchesLibrary(results, expected, tol, who) {
  let worst = 0;
  const near = (what, i, a, b) => {
    assert.equal(a.length, b.length, `${what} width at row ${i}`);
    a.forEach((v, k) => {
      const d = Math.abs(v - b[k]);
      if (!(d <= tol.absolute + tol.relative * Math.abs(b[k]))) assert.fail(`${what}[${k}] at row ${i}: kiln ${v} vs ${who} ${b[k]}`);
      worst = Math.max(worst, d);
    });
  };
  results.forEach((r, i) => {
    if (expected.label) {
      assert.equal(r.label, expected.label[i], `label at row ${i}`);
      near('probabilities', i, r.probabilities, expected.probabilities[i]);
      near('decision', i, r.decision, expected.decision[i]);
    } else {
      near('value', i, [r.value], [expected.value[i]]);
    }
  });
  return worst;
}
