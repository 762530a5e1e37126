"""Records made by hand for the tests (``as_record``); tests/ is on sys.path."""

from __future__ import annotations

import kcl
from kcl.record import Record
from kcl.store import SEMANTICS_VERSION

#: the fields a record made by hand leaves to ``as_record``, as ``ResultStore.put`` would fill them
FILLED = {"key": "made-up", "semantics_version": SEMANTICS_VERSION, "config_class": "RunConfig", "config": {},
          "result": {}, "created": "", "kcl_version": kcl.__version__, "git_commit": None}


def as_record(d: dict) -> Record:
    """The ``Record`` of a dict with some of a record's fields (``key``, ``config``, ``result``, often
    partial: a book function reads only what it needs), the others filled in (``FILLED``)."""
    return Record.from_dict({**FILLED, **d})
