"""The hostile-input suite (issue 11): malformed and hostile files and values, built at test time.

`corpus*.py` hold the cases (one small named record each), `files.py` and `zipwriter.py` build their
bytes, `sandbox.py` runs each case in a forked child under a time and memory bound and judges what came out.
"""
