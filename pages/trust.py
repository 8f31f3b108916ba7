"""Trust: how far can a map be believed? Faithfulness against reference maps, and sanity checks."""
# ruff: noqa: E402  (the shell check runs before the heavy imports)
from interpret.ui.shell import ensure_shell

ensure_shell()

from interpret.ui.errors import user_errors
from interpret.ui.page import require_image, require_model, start_page
from interpret.ui.trust_view import trust_view

start_page("Trust", "Does a map show what the model uses? Deletion and insertion (RISE) and ROAD scores beside trivial "
           "reference maps, and the model-randomisation sanity check (Adebayo et al. 2018): a map that survives "
           "random weights does not explain what the model learned.")
lm = require_model()
image = require_image()
with user_errors(str(lm.device)):
    trust_view(lm, image)
