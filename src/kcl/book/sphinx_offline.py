"""Sphinx extension of the book: no page refers to a CDN (listed in ``_config.yml``).

Jupyter Book 1 always loads sphinx-thebe, which puts a ``const THEBE_JS_URL`` pointing at a CDN on
every page (twice, hence a console error) although launching code on the page is switched off
(``launch_buttons.thebe: false``). This extension drops thebe's scripts from the pages, and warns
about and drops any other script loaded from a remote address.
"""

from __future__ import annotations

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _is_thebe(script) -> bool:
    body = (getattr(script, "attributes", None) or {}).get("body", "")
    return "THEBE_JS_URL" in body or str(getattr(script, "filename", script) or "").endswith("sphinx-thebe.js")


def _is_remote(script) -> bool:
    return str(getattr(script, "filename", None) or "").startswith(("http://", "https://", "//"))


def drop_remote_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    kept = []
    for script in scripts:
        if _is_thebe(script):
            continue
        if _is_remote(script):
            logger.warning(f"{pagename}: dropped a script loaded from {script.filename} (the book is offline)")
            continue
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", drop_remote_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
