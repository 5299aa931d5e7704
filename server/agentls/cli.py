"""Command line: ``agentls`` serves LSP (stdio by default); nothing but JSON-RPC on stdout."""

from __future__ import annotations

import argparse
import logging
import sys

from agentls import __version__


def _logging(verbose: int, log_file: str | None) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="agentls",
        description=(
            "A coding agent as a language server. The terminal: 'agentls exec --help',"
            " 'agentls context --help'."
        ),
    )
    p.add_argument("--version", action="version", version=f"agentls {__version__}")
    p.add_argument("--stdio", action="store_true", help="serve over stdin/stdout (the default)")
    p.add_argument(
        "--tcp",
        type=int,
        metavar="PORT",
        help="serve over TCP on 127.0.0.1:PORT to the client that sends the token "
        "(AGENTLS_TOKEN, or the file named on stderr) as initializationOptions.token",
    )
    p.add_argument("--host", default="127.0.0.1", help="address for --tcp (default 127.0.0.1)")
    p.add_argument(
        "--socket",
        metavar="PATH",
        help="serve on a unix socket at PATH (made 0600; its folder must be yours and 0700)",
    )
    p.add_argument("--log-file", metavar="PATH", help="write the log here instead of stderr")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log (-vv: debug)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["exec"]:
        from agentls import cli_agent, cli_exec

        exec_parser = argparse.ArgumentParser(
            prog="agentls exec",
            description="A task from the terminal: a focused rewrite at PATH:LINE, or the "
            "agent with its tools (no target).",
        )
        cli_exec.add_arguments(exec_parser)
        exec_parser.add_argument("-v", "--verbose", action="count", default=0)
        exec_args = exec_parser.parse_args(argv[1:])
        _logging(exec_args.verbose, None)
        if exec_args.target is None:  # the agent with its tools
            return cli_agent.main(exec_args)
        return cli_exec.main(exec_args)  # a focused rewrite at the target
    if argv[:1] == ["context"]:
        from agentls import cli_context

        context_parser = argparse.ArgumentParser(
            prog="agentls context",
            description="Show the code the context engine would send for a task at a position.",
        )
        cli_context.add_arguments(context_parser)
        context_args = context_parser.parse_args(argv[1:])
        _logging(0, None)
        return cli_context.main(context_args)
    args = parser().parse_args(argv)
    _logging(args.verbose, args.log_file)
    from agentls.lsp.handlers import create_server

    # Worker threads (parsing, prompts) hand the GIL back to the event loop every 2 ms
    # instead of 5: keeps code actions quick while a task gets ready.
    sys.setswitchinterval(0.002)

    server = create_server()
    if args.tcp is not None:
        from agentls.lsp.tcp import serve_tcp

        serve_tcp(server, args.host, args.tcp)  # only the client holding the token
    elif args.socket is not None:
        from pathlib import Path

        from agentls.lsp.tcp import serve_socket

        serve_socket(server, Path(args.socket))
    else:
        server.start_io()
    return 0
