"""The hostile-input suite (issue 11): malformed and hostile files and values, built at test time.

Run it with `python -m pytest -m hostile tests/hostile` (about 3 minutes on 2 cores).

- `corpus_*.py` hold the cases, one small named record each (`cases.Case`: id, category, how to build the
  input, the entry points, the expected outcome); `corpus.py` lists them all by category.
- `files.py`, `zipwriter.py` and `scripted.py` build the bytes (images, checkpoints, zips that lie,
  TorchScript programs) from the sample photos or from nothing: nothing binary lives in the repository.
- `sandbox.py` runs each (case, entry point) in a forked child: time bound per case (`cases.SECONDS`,
  10 s unless the case says more), resident-memory growth bound (`sandbox.MEMORY_BOUND`, 500 MB; a
  watchdog kills a child above `KILL_BOUND`), stdout and stderr captured down to the file descriptors,
  and a check that nothing was written outside the case's folder. `verdict.py` judges what came back:
  a refusal is a non-zero exit with exactly one line on stderr and no traceback (CLI) or an
  `InterpretError` subclass with a one-line message (API), naming what the case says it must name.
- `test_ui_app.py` runs a representative subset through the app (AppTest), `test_ui_memory.py` the
  50-upload memory test.

Linux only (fork, /proc/self/statm, /proc/self/clear_refs), like the CI machine.
"""
