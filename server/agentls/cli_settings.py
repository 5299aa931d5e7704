"""The settings of a terminal run (``agentls exec``): ``--settings``, then ``--model``
and ``--base-url`` on top, and the model they name."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from agentls.config import Settings, parse_settings
from agentls.model.base import ModelError
from agentls.model.factory import ClosableModel, model_from

INTERRUPTED = 130  # the exit code of a run stopped by Ctrl-C, as shells give it


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings with ``--settings``, ``--model`` and ``--base-url`` applied (a bad
    ``--settings`` is said on stderr, and the defaults are used)."""
    settings = Settings()
    raw = getattr(args, "settings", None)
    if raw:
        try:
            text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
            settings, warnings = parse_settings(json.loads(text))
        except (OSError, ValueError) as error:
            print(f"agentls: --settings: {error}; using the defaults", file=sys.stderr)
        else:
            for warning in warnings:
                print(f"agentls: settings: {warning}", file=sys.stderr)
    model = settings.model
    return replace(
        settings,
        model=replace(
            model, name=args.model or model.name, base_url=args.base_url or model.base_url
        ),
    )


def settings_and_model(args: argparse.Namespace) -> tuple[Settings, ClosableModel | None]:
    """The settings and their model (None, with the reason on stderr, when none is
    configured)."""
    settings = settings_from(args)
    try:
        return settings, model_from(settings.model)
    except ModelError as error:
        print(f"agentls: {error.message}", file=sys.stderr)
        return settings, None
