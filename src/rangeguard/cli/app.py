"""The ``rangeguard`` typer application and its entry point.

Each subcommand is a thin shell: it parses arguments, calls the library and
prints. Errors a user can fix (``RangeguardError``) are printed as plain lines
and exit with status 2, never as a traceback; so is anything unexpected (one
line naming the error). Exit 1 is only ever a FAIL verdict.
"""

from __future__ import annotations

import sys

import typer

from rangeguard import __version__  # the installed distribution's, i.e. pyproject.toml's [project] version
from rangeguard.errors import RangeguardError

app = typer.Typer(
    name="rangeguard",
    help="rangeguard: an autonomous flight safety system (AFSS) for launch vehicles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"rangeguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print rangeguard's version and exit."
    ),
) -> None:
    """rangeguard: an autonomous flight safety system (AFSS) for launch vehicles."""


EXIT_USER_ERROR = 2
"""Bad input or an infrastructure error (exit 1 is kept for a FAIL verdict)."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (128 + SIGINT, the shell convention)."""


def _register() -> None:
    # Imported for their side effect: each module adds its command to ``app``.
    from rangeguard.cli import (  # noqa: F401 - imported to register
        check,
        console,
        demo,
        export,
        import_,
        replay,
        report,
        risk,
        run,
        seal,
        simulate,
        stream,
        validate,
    )


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit status."""
    _register()
    try:
        app(args=argv)  # standalone: click handles usage errors and --help
    except RangeguardError as exc:
        for line in str(exc).splitlines():
            typer.echo(line, err=True)  # plain lines: never wrapped, never a traceback
        return EXIT_USER_ERROR
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - an infrastructure error is exit 2 with one line, never a traceback
        typer.echo(
            f"rangeguard: internal error ({type(exc).__name__}: {exc}); this is a bug in rangeguard or its "
            "environment; please report it with the command line",
            err=True,
        )
        return EXIT_USER_ERROR
    return 0


def entry() -> None:
    """Entry point used by the ``rangeguard`` console script."""
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
