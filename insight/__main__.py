import sys

from insight.cli import main


def _serve(args) -> int:
    # The web app lives in insight.ui, above the CLI's layer: loaded only for this command.
    from insight.ui.server import serve

    return serve(args)


sys.exit(main(extra_commands={"serve": _serve}))
