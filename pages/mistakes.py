"""Mistakes: accuracy on a labelled set, its confusions and calibration, and why one mistake happened."""
# ruff: noqa: E402  (the shell check runs before the heavy imports)
from interpret.ui.shell import ensure_shell

ensure_shell()

from interpret.ui import mistakes_view as view
from interpret.ui.errors import user_errors
from interpret.ui.page import require_model, start_page

start_page("Mistakes", "Why did it get this wrong? Give labelled images: see the accuracy, what is confused with what, "
           "how far the confidence can be trusted, and explain one mistake against the right answer.")
image_set = view.set_picker()
lm = require_model()
if image_set is not None:
    with user_errors(str(lm.device)):
        ev = view.evaluation(lm, image_set, chosen=view.label_choices(lm, image_set))
        if ev is not None:
            view.report(lm, image_set, ev)
