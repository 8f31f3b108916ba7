"""`interpret COMMAND` / `python -m interpret COMMAND`: the app's computations from a shell, one module per command.

This is the CLI's one catch list. Exit statuses:
- 0: done;
- 1: a user error (`InterpretError`: a file, model, set or value that is refused), or an unexpected error;
- 2: a usage error (argparse's, or `CliError`: a bad combination of arguments);
- 130: interrupted (Ctrl-C);
- 141: stdout was closed early (`--json | head`), as for a process ended by SIGPIPE; nothing is printed.
Every failure is one line on stderr; an unexpected one says to run with `--verbose` for its traceback.

Each command's module imports only light modules at its top and the heavy ones (torch) inside `run`, so
`--help` and usage errors answer without importing torch.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from ..errors import DeviceError, InterpretError, device_advice, exit_call, first_line, is_device_failure
from ..files import printable

# command name -> module (in this package) exposing add_parser(subparsers) and run(args) -> int
COMMANDS = {
    "predict": "predict",
    "layers": "layers",
    "features": "features",
    "mistakes": "mistakes",
    "explain": "explain",
    "methods": "methods",
    "explain-set": "explain_set",
    "report": "report",
}

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head`'s first process


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, like every other failure here
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def program_name() -> str:
    """The name the CLI was invoked by: `python -m interpret`, or the console script's own name."""
    invoked = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if invoked == "__main__.py":
        return "python -m interpret"
    if invoked.lower().startswith("interpret"):
        return invoked.removesuffix(".exe")
    return "interpret"


def _add_verbose(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="on an unexpected error, print its traceback on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=program_name(), description="Explain PyTorch image models from the shell.")
    _add_verbose(parser, False)
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module_name in COMMANDS.values():
        importlib.import_module(f"{__name__}.{module_name}").add_parser(subparsers)
    for sub in subparsers.choices.values():  # --verbose after the command too; SUPPRESS keeps an earlier one
        _add_verbose(sub, argparse.SUPPRESS)
    return parser


def _one_line(text: str) -> str:
    """A message as one printable line: its lines joined, control characters (a file name's ESC) escaped."""
    return printable(" ".join(line.strip() for line in text.splitlines() if line.strip()))


def _quiet_broken_pipe() -> int:
    """stdout's reader has gone: point stdout at devnull so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (a test's capture): nothing to redirect
        pass
    return EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    """Parse `argv` (default sys.argv[1:]), run the command, and turn every failure into one line and a status."""
    verbose = "--verbose" in (sys.argv[1:] if argv is None else argv)
    args: argparse.Namespace | None = None
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a file name of undecodable bytes prints as \x.. escapes, never UnicodeEncodeError
        reconfigure(errors="backslashreplace")
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
            return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
        verbose = bool(args.verbose)
        status = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the catch list, not at the interpreter's exit
        return status
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except SystemExit as exc:  # a model's own code exiting mid-command: without this, status 0 and no word said
        sys.stderr.write(f"error: {_one_line(exit_call(exc))} was called during the command (by a model's own "
                         "code?) and ended it unfinished.\n")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except InterpretError as exc:
        from .common import CliError

        text = device_advice(exc, getattr(args, "device", None), "cli") if isinstance(exc, DeviceError) else str(exc)
        sys.stderr.write(f"error: {_one_line(text)}\n")
        return EXIT_USAGE if isinstance(exc, CliError) else EXIT_USER_ERROR
    except Exception as exc:  # noqa: BLE001 - the edge: anything unexpected is one line (and a traceback with --verbose)
        if verbose:
            traceback.print_exception(exc, file=sys.stderr)
        if is_device_failure(exc):
            device = getattr(args, "device", None)
            sys.stderr.write(f"error: {_one_line(device_advice(exc, device, 'cli'))}\n")
        elif isinstance(exc, MemoryError):
            sys.stderr.write("error: the computation ran out of memory; use a smaller image, model or set.\n")
        else:
            sys.stderr.write(f"error: unexpected error: {type(exc).__name__}: {_one_line(first_line(exc))} "
                             "(run with --verbose for the traceback)\n")
        return EXIT_USER_ERROR
