"""Vega-Lite charts that draw offline, both in the built book and in JupyterLab.

``kcl.book.plots.setup()`` makes Altair emit a chart as the Vega-Lite mime type alone
(``application/vnd.vegalite.v5+json``), with no HTML that points at a CDN:

* JupyterLab draws that mime type with its own bundled Vega (no network);
* in the book, ``VegaLiteMimeRenderer`` (a myst-nb mime renderer, registered as an entry point in
  ``pyproject.toml``) turns it into a ``<div>`` and a short script that calls ``vegaEmbed`` from
  ``_static/vega-offline.js`` (``kcl.book.assets``).

This module imports nothing heavy: Sphinx loads it through the entry point.
"""

from __future__ import annotations

import json
import uuid

MIME = "application/vnd.vegalite.v5+json"
EMBED_OPTIONS = {"renderer": "svg", "actions": False}


def embed_html(spec: dict, options: dict | None = None) -> str:
    """A ``<div>`` and the script that draws ``spec`` into it with the page's global ``vegaEmbed``;
    an error (for example a missing vega-offline.js) is written into the div in red."""
    div = f"kcl-vega-{uuid.uuid4().hex}"
    payload = json.dumps(spec, sort_keys=True).replace("</", "<\\/")
    opts = json.dumps({**EMBED_OPTIONS, **(options or {})})
    return (f'<div id="{div}" class="kcl-vega"></div>\n<script type="text/javascript">\n(function () {{\n'
            f'  var el = document.getElementById("{div}");\n'
            f"  function fail(e) {{ el.innerHTML = '<pre class=\"kcl-vega-error\" style=\"color:red\">' + e + '</pre>'; }}\n"
            f"  function draw() {{\n"
            f"    if (typeof vegaEmbed !== 'function') return fail('vegaEmbed is not loaded (_static/vega-offline.js)');\n"
            f"    vegaEmbed(el, {payload}, {opts}).catch(fail);\n"
            f"  }}\n"
            f"  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw); else draw();\n"
            f"}})();\n</script>")


class VegaLiteMimeRenderer:
    """myst-nb plugin: render the Vega-Lite mime type as offline HTML in HTML builders."""

    mime_priority_overrides = [(builder, MIME, 5) for builder in ("html", "dirhtml", "singlehtml")]

    @staticmethod
    def handle_mime(renderer, data, inline):
        if data.mime_type != MIME:
            return None
        from docutils import nodes

        spec = data.content if isinstance(data.content, dict) else json.loads(data.string)
        options = (data.output_metadata or {}).get(MIME, {}).get("embed_options")
        return [nodes.raw(text=embed_html(spec, options), format="html", classes=["output", "text_html"])]


def mimebundle(spec: dict, **kwargs) -> tuple[dict, dict]:
    """Altair renderer: the spec under the Vega-Lite mime type, plus a text fallback."""
    return ({MIME: spec, "text/plain": "<Vega-Lite chart: open in JupyterLab or the built book>"},
            {MIME: {"embed_options": EMBED_OPTIONS}})
