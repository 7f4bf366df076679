"""How ``--help`` prints: flags as flags, and prose reflowed to the terminal.

Boolean options shown as flags in ``--help`` (``--overwrite``, not ``--overwrite <bool>``).

typer's rich help (0.2x) prints every option's type, flags included, so that ``--json``,
``--overwrite`` or even ``--help`` read as if they took a value (issue 15). :class:`FlagHelpGroup`
is the class of the ``medsr`` application (:mod:`medsr.cli.app`): when typer builds the command
tree it gives every flag of every command (sub-groups such as ``medsr recipes`` included) an empty
metavar, which the help prints instead of the type. Parsing is unchanged: a flag takes no value.

typer 0.29's rich help keeps the single line breaks of a command's docstring after its first
paragraph, so a docstring wrapped at the source's 100 columns printed ragged in an 80-column
terminal. :func:`reflow` joins them (the terminal then wraps the prose), keeping lines indented by
two spaces (examples) as lines of their own; :class:`FlagHelpGroup` applies it to every command.
"""

from __future__ import annotations

import inspect
from typing import Any

from typer.core import TyperGroup

__all__ = ["FlagHelpGroup", "bare_flags", "reflow"]


def reflow(text: str | None) -> str | None:
    """``text`` (a docstring) dedented, each paragraph on one line, except lines indented by two
    or more spaces (examples, commands), which stay lines of their own."""
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            if line.startswith("  ") or not lines or lines[-1].startswith("  "):
                lines.append(line.rstrip())
            else:
                lines[-1] = f"{lines[-1]} {line.strip()}"
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def bare_flags(params: list[Any]) -> None:
    """Give each flag among ``params`` (click options with ``is_flag``) an empty metavar."""
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", "") is None:
            param.metavar = ""


def _mark_tree(command: Any, ctx: Any) -> None:
    """Flags of ``command`` (its help option too) and of every command below it; their help
    texts reflowed (:func:`reflow`)."""
    bare_flags(list(command.get_params(ctx)))
    if not getattr(command, "_medsr_reflowed", False):  # once: a reflowed text is dedented
        command.help = reflow(command.help)
        command._medsr_reflowed = True
    for sub in getattr(command, "commands", {}).values():
        _mark_tree(sub, ctx)


class FlagHelpGroup(TyperGroup):
    """The ``medsr`` group: its own flags and those of every sub-command print without a type."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        bare_flags(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _mark_tree(command, ctx)
        return command
