"""The book layer: the chapters, their verdicts, charts and pages, built on the engine (``kcl``).

The engine never imports this package. ``chapters`` walks a chapter (pilot → main sweep →
reruns) over the engine's sweeps and store; ``chapter_list`` names every chapter; ``stats`` holds
the verdict rule; ``plots`` the charts; the other modules hold one chapter's or one page's logic.
``kcl chapter`` (``kcl.book.commands``) is the command line of this layer.
"""
