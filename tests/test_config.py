"""The served configuration is fit for a public deployment, and Streamlit knows every key."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit import config

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def flatten(table: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_every_setting_is_one_streamlit_knows():
    settings = flatten(tomllib.loads(CONFIG.read_text(encoding="utf-8")))
    known = config.get_config_options()
    assert set(settings) <= set(known), set(settings) - set(known)


def test_viewers_get_no_stack_traces_and_forms_are_protected():
    settings = flatten(tomllib.loads(CONFIG.read_text(encoding="utf-8")))
    assert settings["client.showErrorDetails"] == "none"
    assert settings["server.enableXsrfProtection"] is True
    assert settings["browser.gatherUsageStats"] is False  # works offline: no telemetry
    assert settings["server.fileWatcherType"] == "none"  # no polling while serving
    assert settings["runner.postScriptGC"] is False  # no full collection after every run
    assert {"theme.light.primaryColor", "theme.dark.primaryColor"} <= set(settings)
