"""Draws the PNG of a kiln bench report: one row per call (µs), batch of 10,000 (ns per row), and
HTTP req/s, each runner a bar, log scales (the peers span three orders of magnitude).

    python bench/py/chart.py report.json out.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    with open(sys.argv[1]) as f:
        r = json.load(f)
    runners = ["kiln-engine", "kiln-addon", "onnxruntime-node", "sklearn", "tl2cgen", "xgboost", "lightgbm", "lleaves"]
    models = [m["id"] for m in r["models"]]
    fig, axes = plt.subplots(1, 3, figsize=(18, 6))
    width = 0.8 / len(runners)
    cmap = plt.get_cmap("tab10")
    for ax, title, pick in (
        (axes[0], "one row per call, µs (lower is better)", lambda x: x.get("oneRowUs")),
        (axes[1], "batch of 10,000, ns per row, 1 thread (lower is better)", lambda x: (x.get("batchNsPerRow") or {}).get("10000")),
    ):
        for k, rn in enumerate(runners):
            xs, ys = [], []
            for i, m in enumerate(models):
                row = next((x for x in r["inProcess"] if x["model"] == m and x["runner"] == rn), None)
                v = pick(row) if row and row["status"] == "ok" else None
                if v:
                    xs.append(i + k * width)
                    ys.append(v)
            ax.bar(xs, ys, width, label=rn, color=cmap(k))
        ax.set_yscale("log")
        ax.set_xticks([i + 0.4 for i in range(len(models))])
        ax.set_xticklabels(models, rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    http = r.get("http") or {}
    runs = http.get("runs") or []
    labels = [f"{x['runner']}\n{x['model'].replace('breast_cancer_', '') if not x['runner'].startswith('fastify') else ''}" for x in runs]
    colors = [cmap(1) if x["runner"] == "kiln-serve" else cmap(7) if x["runner"].startswith("fastify") else cmap(3) for x in runs]
    axes[2].bar(range(len(runs)), [x["reqPerSec"] for x in runs], color=colors)
    axes[2].set_xticks(range(len(runs)))
    axes[2].set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
    axes[2].set_yscale("log")
    axes[2].set_title("HTTP req/s, one record per request (higher is better)", fontsize=10)
    axes[2].grid(axis="y", alpha=0.3)
    m = r["machine"]
    fig.suptitle(f"kiln bench {r['date'][:10]} — {m['cpu']}, {m['cores']} cores{' (quick)' if r['quick'] else ''}", fontsize=11)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)


if __name__ == "__main__":
    main()
