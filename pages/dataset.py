"""Dataset: where the model looks across a whole set, the strategies it uses per class, and the images behind them."""
# ruff: noqa: E402  (the shell check runs before the heavy imports)
from interpret.ui.shell import ensure_shell

ensure_shell()

from interpret.ui import dataset_view as view
from interpret.ui.errors import user_errors
from interpret.ui.page import require_model, start_page

start_page("Dataset", "Where does the model look across a whole set? Open a store made by `interpret explain-set`, "
           "or explain the Mistakes page's labelled set here: the mean maps of each class's hits and mistakes, the "
           "classes and images explained by the background, the strategies per class, any slice of the images, and the "
           "images that excite a channel most.")
lm = require_model()
with user_errors(str(lm.device)):
    opened = view.opened_store(lm)
    if opened is not None:
        view.views(lm, opened)
