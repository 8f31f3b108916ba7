"""Choices that last: kept for the whole session across page switches, and mirrored in the URL.

Streamlit forgets a widget's value when a run does not draw it (another page is shown), and a browser
reload starts a new session. So every widget that should last is drawn through `persistent(...)`:
before the widget is drawn it is seeded with st.session_state (from the URL of a new session, else this
session's kept value, else its default), the widget itself gets no default of its own (a seeded widget with
a default draws Streamlit's duplicate-value warning, and a default in its identity would change its id),
and the value it returns is kept under a non-widget key, which Streamlit never cleans up.

The URL: at the start of a session the query parameters are read once (`read_url`) and wait, by name, for
the widget that claims them; a value a widget cannot take (an unknown method, a layer the model lacks,
a number out of range) is ignored with a one-line notice. At the end of every run `write_url` puts each
drawn widget's value back in the query string (defaults left out) beside the values still waiting.
Nothing here imports torch: app.py calls it before the heavy imports.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from .plain import plain

KEPT = "interpret_kept"  # {widget key: last value}: survives page switches (not a widget key)
ASIDE = "interpret_aside"  # {multiselect key: chosen items its current options lack}: back when they are offered again
PENDING = "interpret_url_pending"  # {url name: text} read from the URL at the session's start, not yet claimed
DRAWN = "interpret_url_drawn"  # {url name: text} written by this run's widgets
NOTICES = "interpret_url_notices"  # one-line notices about URL values that could not be used
READ = "interpret_url_read"
SHOWN = "interpret_shown"  # keys of the persistent widgets this run drew (fragment reruns add theirs)
SHOWN_BEFORE = "interpret_shown_before"  # ... and those the previous full run drew
PAGE = "interpret_page"  # (URL path, title) of the page this run shows (path "" for the start page)
MAX_FIELDS = 64  # query parameters read from one URL; more are ignored (a URL is anyone's input)
MAX_TEXT = 2000  # characters of one query value; a longer one is ignored
LIST_SEP = ","


def _kept() -> dict[str, Any]:
    return st.session_state.setdefault(KEPT, {})


def read_url() -> None:
    """Once per session: take the query parameters as values waiting for their widgets."""
    if st.session_state.get(READ):
        return
    st.session_state[READ] = True
    pending: dict[str, str] = {}
    notices: list[str] = []
    try:
        params = st.query_params.to_dict()
    except Exception:  # a query string Streamlit could not parse: nothing to restore
        params = {}
    for i, (name, text) in enumerate(params.items()):
        if i >= MAX_FIELDS:
            notices.append(f"The link has more than {MAX_FIELDS} settings: the rest are ignored.")
            break
        if not isinstance(text, str) or len(text) > MAX_TEXT or len(name) > 64:
            notices.append(f"The link's setting '{str(name)[:40]}' is too long and is ignored.")
            continue
        pending[name] = text
    st.session_state[PENDING] = pending
    st.session_state[NOTICES] = notices


def pending(name: str) -> str | None:
    """The URL's text for `name`, if it is still waiting for its widget."""
    return st.session_state.get(PENDING, {}).get(name)


def claim(name: str) -> str | None:
    """Take the URL's text for `name` (it is then no longer waiting)."""
    return st.session_state.get(PENDING, {}).pop(name, None)


def carry(values: dict[str, str]) -> None:
    """Values for the next page's widgets, by their URL names, as a link would give them (crossing pages)."""
    st.session_state.setdefault(PENDING, {}).update(values)


def notice(message: str) -> None:
    """A one-line notice shown once, at the top of the page (see `show_notices`)."""
    notices = st.session_state.setdefault(NOTICES, [])
    if message not in notices:
        notices.append(message)


def show_notices(slot: Any = None) -> None:
    """The notices gathered so far, one paragraph each as plain text (in `slot`, a placeholder, if given); then
    they are gone."""
    messages = st.session_state.pop(NOTICES, [])
    if messages:  # notices quote link values, anyone's text: shown as written, never as Markdown
        (slot or st).info("\n\n".join(plain(m) for m in messages), icon="ℹ️")


def encode(value: Any) -> str:
    """A value as URL text: lists joined by commas, booleans as 1/0."""
    if isinstance(value, (list, tuple)):
        return LIST_SEP.join(encode(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def _decode(text: str, default: Any, options: Sequence | None, bounds: tuple[float, float] | None,
            multi: bool) -> tuple[bool, Any]:
    """(True, value) for URL text the widget can take; (False, None) otherwise."""
    if options is not None:
        by_text = {encode(o): o for o in options}
        if multi:
            parts = [p for p in text.split(LIST_SEP) if p] if text else []
            if not all(p in by_text for p in parts):
                return False, None
            return True, list(dict.fromkeys(by_text[p] for p in parts))
        return (True, by_text[text]) if text in by_text else (False, None)
    try:
        if isinstance(default, bool):
            if text not in ("1", "0", "true", "false"):
                return False, None
            return True, text in ("1", "true")
        if isinstance(default, int):
            value: Any = int(text)
        elif isinstance(default, float):
            value = float(text)
            if not math.isfinite(value):
                return False, None
        else:
            value = text
    except ValueError:
        return False, None
    if bounds is not None and not (bounds[0] <= value <= bounds[1]):
        return False, None
    return True, value


def _valid(value: Any, options: Sequence | None, bounds: tuple[float, float] | None, multi: bool) -> bool:
    """Whether a kept value still fits the widget (the options can change with the model)."""
    try:
        if options is not None:
            allowed = list(options)
            return all(v in allowed for v in value) if multi else value in allowed
        if bounds is not None:
            return bounds[0] <= value <= bounds[1]
    except TypeError:
        return False
    return True


def seed(key: str, default: Any, *, options: Sequence | None = None, bounds: tuple[float, float] | None = None,
         multi: bool = False, url: str | None = None, label: str | None = None) -> None:
    """Give widget `key` its value before it is drawn: the URL's (new session), the kept one, or `default`.

    The kept value is the newest (the widget's on_change keeps it, see `persistent`): a value Streamlit left under
    the key after the widget went stale (a page switch) is older, so the kept one replaces it."""
    kept = _kept()
    if multi and options is not None and key in kept and isinstance(kept[key], list):
        kept[key] = _offered_choice(key, kept[key], list(options))
    if key in kept and _valid(kept[key], options, bounds, multi):
        value = kept[key]
    elif key in st.session_state and _valid(st.session_state[key], options, bounds, multi):
        value = st.session_state[key]
    else:
        value = default
    if url is not None and pending(url) is not None:
        text = claim(url) or ""
        ok, decoded = _decode(text, default, options, bounds, multi)
        if ok:
            value = decoded
        else:
            notice(f"The link's {label or url} '{text[:60]}' does not fit here and is ignored.")
    if key not in st.session_state or st.session_state[key] != value or key not in _shown_before():
        st.session_state[key] = value  # a widget drawn again after a run without it is told its value (see _shown_before)


def _offered_choice(key: str, chosen: list, allowed: list) -> list:
    """A multiselect's kept choice within what is offered now; the items not offered (methods a model refuses) are
    set aside and come back (after the others) once offered again (another model), instead of being lost for good."""
    aside: dict[str, list] = st.session_state.setdefault(ASIDE, {})
    full = list(chosen) + [v for v in aside.get(key, []) if v not in chosen]
    aside[key] = [v for v in full if v not in allowed]
    return [v for v in full if v in allowed]


def _shown_before() -> set[str]:
    """The persistent widgets the previous full run drew. One that comes back after a run without it (Grad-CAM
    removed and chosen again: its CAM layer box) must be given its value through st.session_state even when the
    key still holds it: otherwise Streamlit sends the new box without a value and the browser shows the widget's
    own first option (the model's first layer) while the server reads the kept one."""
    return st.session_state.get(SHOWN_BEFORE, set())


def set_value(key: str, value: Any) -> None:
    """Set a persistent widget's value from code (before it is drawn in this run)."""
    _kept()[key] = value
    st.session_state[key] = value


def _keep_on_change(key: str, then: Callable[..., Any] | None, args: tuple, kwargs: dict) -> None:
    """The widget's on_change: the user's new value is kept at once (before the script reruns)."""
    _kept()[key] = st.session_state.get(key)
    if then is not None:
        then(*args, **kwargs)


def remember(key: str, value: Any, *, default: Any = None, url: str | None = None) -> None:
    """Keep a widget's value for the session, and for the URL if it has a name there (defaults left out)."""
    _kept()[key] = value
    if url is not None:
        drawn = st.session_state.setdefault(DRAWN, {})
        if encode(value) != encode(default):
            drawn[url] = encode(value)
        else:
            drawn.pop(url, None)


def persistent(widget: Callable[..., Any], label: str, *, key: str, default: Any, url: str | None = None,
               bounds: tuple[float, float] | None = None, **kwargs: Any) -> Any:
    """Draw `widget(label, key=key, **kwargs)` so that its value lasts (see the module's docstring).

    `options` (in kwargs) are passed on to the widget and checked against kept and URL values; `bounds`
    are a slider's or number box's (min, max) for the same check. `default` is the value a fresh widget shows.
    """
    options = kwargs.get("options")
    multi = widget is st.multiselect
    seed(key, default, options=options, bounds=bounds, multi=multi, url=url, label=label.lower())
    st.session_state.setdefault(SHOWN, set()).add(key)
    then, args, kw = kwargs.pop("on_change", None), kwargs.pop("args", ()), kwargs.pop("kwargs", {})
    value = widget(label, key=key, on_change=_keep_on_change, args=(key, then, tuple(args or ()), dict(kw or {})),
                   **kwargs)
    remember(key, value, default=default, url=url)
    return value


def start_run() -> None:
    """At the top of every run: forget what the last run drew (each run writes its own)."""
    read_url()
    st.session_state[DRAWN] = {}
    st.session_state[SHOWN_BEFORE] = st.session_state.get(SHOWN, set())
    st.session_state[SHOWN] = set()


def note_page(path: str, title: str) -> None:
    """Remember the page this run shows (app.py: `st.navigation(...)`'s page's `url_path` and `title`)."""
    st.session_state[PAGE] = (path, title)


def page_path() -> str:
    return st.session_state.get(PAGE, ("", ""))[0]


def page_title() -> str:
    return st.session_state.get(PAGE, ("", ""))[1]


def query_reader() -> Callable[[], dict[str, str]]:
    """A reader of the query string this run writes (`write_url`), usable later from any thread (a report made on a
    click): it reads this run's own dictionaries, which its widgets fill as they are drawn."""
    waiting: dict[str, str] = st.session_state.setdefault(PENDING, {})
    drawn: dict[str, str] = st.session_state.setdefault(DRAWN, {})
    return lambda: {**waiting, **drawn}


def write_url(finished: bool) -> None:
    """At the end of every run: the query string holds what this run's widgets show and what still waits.

    `finished`: the page ran to its end; values no widget claimed then are dropped (with a notice).
    """
    waiting: dict[str, str] = st.session_state.get(PENDING, {})
    if finished and waiting:
        for name in list(waiting):
            notice(f"The link's setting '{name[:40]}' is not used on this page and is ignored.")
        waiting.clear()
    wanted = {**waiting, **st.session_state.get(DRAWN, {})}
    current = st.query_params.to_dict()
    if current != wanted:
        st.query_params.from_dict(wanted)
