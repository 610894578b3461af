"""The page with steps 1 (the text and its tokens) and 4 (W) only, for
``python bench/newtext.py --page first-steps``: how soon a new text's tokens and W could be
on screen if nothing else were on the page.

It runs ``dashboard.py`` as it is, with every other step taken out of the lists that the
page draws from (``app.sections.READING`` and ``ATTENTION``); the sidebar and its table of
contents stay whole.
"""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import sections  # noqa: E402

sections.READING = (sections.text,)
sections.ATTENTION = (sections.weights,)
runpy.run_path(str(ROOT / "dashboard.py"), run_name="__main__")
