"""The page package: everything that draws, and the only code besides ``dashboard.py`` that
imports streamlit.

- ``sections/``: one module per step of the walkthrough, each with the same interface.
- ``data``: every cache (model, network, embeddings, heads, 2-D maps, chart structures).
- ``state``: session state, the address bar and the sidebar.
- ``links``: which settings a link may carry, and how each is read back (no streamlit).
- ``draw``: drawing helpers shared by the sections (charts, downloads, projector sizing).
- ``view``: what one run hands to the sections (the inputs, the results, the exports).
"""
