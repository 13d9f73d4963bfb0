"""The ``scap`` command: a click group whose commands live one per module.

Commands are imported only when used (fast start-up). Every ``ScapError`` is
turned into one line on stderr and exit code 1, here and nowhere else; a
traceback is shown only with ``--debug``. Warnings (an unknown block skipped)
are one ``Warning:`` line each.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings

import click

from ..errors import ScapError

# command name -> "module:attribute" (module relative to scaptools.cli)
COMMANDS = {
    "info": "info:info_command",
    "print": "print:print_command",
    "convert": "convert:convert_command",
    "record": "record:record_command",
    "replay": "replay:replay_command",
    "validate": "replay:validate_command",
    "list-fields": "replay:list_fields_command",
    "list-plugins": "replay:list_plugins_command",
    "export": "export:export_command",
    "slice": "slice:slice_command",
    "merge": "merge:merge_command",
    "test": "test:test_command",
}


class LazyGroup(click.Group):
    """A group that imports each command module on first use."""

    def list_commands(self, ctx):
        return sorted(name for name, target in COMMANDS.items() if _module_exists(target))

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None or not _module_exists(target):
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), attr)

    def invoke(self, ctx):
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except ScapError as exc:
                if ctx.obj and ctx.obj.get("debug"):
                    raise
                raise click.ClickException(one_line(str(exc))) from None


def one_line(message: str) -> str:
    """An error message on one line (a message from a library may span several)."""
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr, without the source line Python adds."""
    click.echo(f"Warning: {one_line(str(message))}", err=True)


def _module_exists(target: str) -> bool:
    module = target.split(":")[0]
    return importlib.util.find_spec(f"{__package__}.{module}") is not None


def _version(ctx, _param, value) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import version

    from scaptools.core import describe
    click.echo(f"scap, version {version('scaptools')}\n{describe()}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and whether the compiled core runs, then exit.")
@click.pass_context
def cli(ctx, debug):
    """Read, record, replay and export Falco/sysdig .scap captures."""
    ctx.ensure_object(dict)["debug"] = debug


def main() -> None:
    """Console-script entry point."""
    try:
        cli(prog_name="scap")
    except BrokenPipeError:  # `scap print ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
