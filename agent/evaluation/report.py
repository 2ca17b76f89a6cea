"""The evaluation report: results.json, a Markdown table of the measures per configuration and a
chart of the ratio measures (report.md, chart.png)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RATIO_METRICS = ("criteria_coverage", "value_recall", "reference_recall", "reference_precision",
                 "gherkin_validity", "template_conformance")
STYLE_LABELS = (("truncated_name", "truncated names"), ("step_case", "capitalised step starts"),
                ("bare_when", "bare-verb When steps"), ("repeated_step", "repeated steps"),
                ("placeholder_data", "placeholder data"), ("count_without_noun", "counts without noun"),
                ("limit_probed_twice", "same limit probed twice"), ("unit_misread", "misread units"),
                ("glued_endpoint", "endpoints glued to a sentence"), ("quantity_condition", "quantities as conditions"),
                ("repeated_word", "repeated words"))
_COLUMNS = [
    ("criteria_coverage", "criteria coverage", "pct"),
    ("value_recall", "value recall", "pct"),
    ("reference_recall", "reference recall", "pct"),
    ("reference_precision", "reference precision", "pct"),
    ("status_code_recall", "status-code recall", "pct"),
    ("mean_best_similarity", "mean best sim.", "num"),
    ("gherkin_validity", "Gherkin valid", "pct"),
    ("template_conformance", "template conf.", "pct"),
    ("unsupported_per_case", "unsupported / case", "num"),
    ("duplicates", "duplicates", "int"),
    ("style_defect_rate", "style defects", "pct"),
    ("boundary_attribution", "boundary attribution", "pct"),
    ("cases", "cases", "int"),
    ("latency_s_mean", "latency s/story", "num"),
    ("cost_usd", "cost USD", "num"),
]


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "num":
        return f"{value:.3f}" if isinstance(value, float) else str(value)
    return str(value)


def markdown_table(results: dict[str, Any]) -> str:
    head = "| configuration | " + " | ".join(label for _, label, _ in _COLUMNS) + " |"
    sep = "|---|" + "---|" * len(_COLUMNS)
    rows = [head, sep]
    skipped = []
    for cfg in results["configs"]:
        if cfg["status"] != "ok":
            skipped.append(f"- **{cfg['name']}** {cfg['status']}: {cfg['reason']}")
            rows.append(f"| {cfg['name']} | " + " | ".join("—" for _ in _COLUMNS) + " |")
            continue
        m = cfg["metrics"]
        rows.append(f"| {cfg['name']} | " + " | ".join(_cell(m.get(k), kind) for k, _, kind in _COLUMNS) + " |")
    lines = [
        f"Dataset `{results['dataset']}` ({results['dataset_kind']}): {len(results['stories'])} stories, "
        f"{results['references']} reference cases. Reference recall: a reference case counts as found when a "
        f"generated case has cosine similarity >= {results['threshold']} with it ({results['similarity_model']}).",
        "",
        *rows,
    ]
    styled = [c for c in results["configs"] if c["status"] == "ok" and c["metrics"].get("scenarios")]
    if styled:
        lines += ["", "Style defects (scenarios of the rendered features with each defect):"]
        for cfg in styled:
            m = cfg["metrics"]
            counts = ", ".join(f"{label} {m.get('style_' + key, 0)}" for key, label in STYLE_LABELS)
            attribution = (f"; boundary attribution {m['limits_attributed']}/{m['limits_labelled']} labelled limits "
                           f"({m['limits_probed']} probed)" if m.get("limits_labelled") else "")
            lines.append(f"- **{cfg['name']}**: {m['scenarios']} scenarios; {counts}{attribution}")
    if results.get("notes"):
        lines += ["", "Reading the references:", *(f"- {note}" for note in results["notes"])]
    if skipped:
        lines += ["", "Not measured:", *skipped]
    return "\n".join(lines) + "\n"


def write_chart(results: dict[str, Any], path: str | Path) -> Path | None:
    """A grouped bar chart of the ratio measures, one group per configuration that ran."""
    try:
        import matplotlib
    except ImportError:
        return None  # the table and JSON still get written; the chart needs casewright[finetune]
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = [c for c in results["configs"] if c["status"] == "ok"]
    out = Path(path)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    labels = [label for key, label, _ in _COLUMNS if key in RATIO_METRICS]
    width = 0.8 / max(1, len(ran))
    for n, cfg in enumerate(ran):
        vals = [(cfg["metrics"].get(k) or 0.0) * 100 for k in RATIO_METRICS]
        xs = [i + n * width for i in range(len(RATIO_METRICS))]
        ax.bar(xs, vals, width=width, label=cfg["name"])
    ax.set_xticks([i + width * (len(ran) - 1) / 2 for i in range(len(RATIO_METRICS))])
    ax.set_xticklabels(labels, rotation=15)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title(f"casewright eval: {results['dataset']} ({len(results['stories'])} stories)")
    if ran:
        ax.legend(fontsize=8)
    ax2.bar([c["name"] for c in ran], [c["metrics"].get("latency_s_mean") or 0 for c in ran], color="grey")
    ax2.set_title("latency (s / story)")
    ax2.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def write_report(results: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "report.md", "chart": out / "chart.png"}
    paths["json"].write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    table = markdown_table(results)
    chart = write_chart(results, paths["chart"])
    if chart is None:
        del paths["chart"]
    tail = "\n![chart](chart.png)\n" if chart else "\n(no chart: pip install 'casewright[finetune]' for matplotlib)\n"
    paths["markdown"].write_text("# casewright evaluation\n\n" + table + tail, encoding="utf-8")
    return paths
