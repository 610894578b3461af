"""Helpers for the page's AppTest tests: open the page, read what it shows."""

from __future__ import annotations

import json

import pyarrow as pa
from streamlit.testing.v1 import AppTest

TIMEOUT = 180
SCRIPT = "../dashboard.py"  # AppTest resolves it against this file
SECTION_TITLES = [
    "1 · Text and tokens",
    "2 · Embeddings X",
    "3 · Unnormalised W′",
    "4 · Normalised W",
    "5 · Output Y = W X",
    "6 · Geometry",
    "7 · Context awareness",
    "8 · Learnable projections",
    "9 · Every head at once",
]


def new_app() -> AppTest:
    return AppTest.from_file(SCRIPT, default_timeout=TIMEOUT)


def open_link(params: dict[str, str | list[str]]) -> AppTest:
    at = new_app()
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def weights_table(at: AppTest):
    """The per-query table of section 4 (row sum, largest weight, entropy)."""
    return next(df.value for df in at.dataframe if "row sum" in df.value.columns)


def chart_specs(at: AppTest) -> list[dict]:
    """Each chart's Vega-Lite spec, with its data sets back under ``datasets`` as records."""
    specs = []
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        spec.setdefault("datasets", {})  # inline data, or moved by Streamlit into Arrow
        spec["datasets"].update(
            {
                ds.name: pa.ipc.open_stream(ds.data.data).read_all().to_pylist()
                for ds in el.proto.datasets
            }
        )
        specs.append(spec)
    return specs


def tokens_shown(at: AppTest) -> list[str]:
    return at.get("code")[0].value.split("  ·  ")


def value_title(spec: dict) -> str | None:
    """The title of a heatmap's colour legend ("w_ij", "x"...): which matrix it shows."""
    for layer in spec.get("layer", []):
        colour = layer.get("encoding", {}).get("color", {})
        if colour.get("field") == "shade":
            return colour.get("title")
    return None


def colour_range(spec: dict) -> list[float]:
    """A heatmap's colour range: the two ends it sends as data (``charts.heatmap``)."""
    return [row["shade"] for row in spec["datasets"]["ends"]]


def rows(spec: dict) -> list[dict]:
    """A heatmap's cells, one record each."""
    return next(rows for rows in spec["datasets"].values() if rows and "value" in rows[0])


def points(spec: dict) -> list[dict]:
    """A geometry map's points, before and after."""
    return [r for rows in spec["datasets"].values() for r in rows if "stage" in r]


def output_sum(at) -> str:
    """The LaTeX of step 5's written-out sum y_i = Σ_j w_ij v_j."""
    return next(el.value for el in at.latex if "y_{" in el.value)
