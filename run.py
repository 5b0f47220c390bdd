"""Leadwright's command line: launches the actor system and everything an operator does."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="leadwright",
    help="Leadwright: an autonomous sales-research pipeline built as a supervised actor system.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def contracts() -> None:
    """Print the JSON Schema of every message type."""
    import json

    from messages import registry

    typer.echo(json.dumps(registry.json_schemas(), indent=2, sort_keys=True))


def main() -> None:
    """The console-script entry point."""
    app()


if __name__ == "__main__":
    main()
