"""`casewright llm serve`: a real model server on loopback, so model generation can be tried with
no key and no network (connectors/local_model.py runs it)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from connectors.errors import CasewrightError

console = Console()

llm_app = typer.Typer(help="A local language model: serve one on loopback (llama.cpp, no key, no network).",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(llm_app, name="llm")


@llm_app.command("serve")
def serve(
    model: Optional[Path] = typer.Option(None, "--model", help="A GGUF model file (default: the packaged "
                                         "SmolLM2-135M-Instruct from casewright[local-model])"),
    port: int = typer.Option(8000, "--port", help="Port on 127.0.0.1 (0: any free port)"),
    context: int = typer.Option(8192, "--context", help="Context window in tokens"),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: llama.cpp's default)"),
    lora: Optional[Path] = typer.Option(None, "--lora", help="A LoRA adapter GGUF (or a `finetune train --base "
                                        "FILE.gguf` output folder) applied to the model, served as `local-ft`"),
) -> None:
    """Serve a GGUF model OpenAI-compatibly under /v1 as model `local` (with --lora: `local-ft`);
    prints the settings to use."""
    from connectors.local_model import LocalModelServer

    if not 0 <= port <= 65535:
        raise CasewrightError(f"--port {port} is not a port number; use 0-65535")
    if context < 512:
        raise CasewrightError(f"--context {context} is too small; use at least 512 tokens")
    if threads < 0:
        raise CasewrightError(f"--threads {threads} is negative; use 0 for the default or a count")
    server = LocalModelServer(model_path=model, lora_path=lora, port=port, n_ctx=context, threads=threads or None)
    console.print("starting the local model server ...")
    server.start()
    # SIGTERM (a service manager, `kill`) stops the server too, not only Ctrl-C
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with_lora = f" with the adapter {escape(str(server.lora_path))}" if server.lora_path else ""
        console.print(f"[bold]casewright llm serve[/]: {escape(str(server.model_path))}{with_lora} as model "
                      f"'{server.alias}' on {server.base_url}", soft_wrap=True)
        console.print("  point casewright at it (in the environment or .env):")
        for name, value in server.env().items():
            console.print(f"  {name}={value}", soft_wrap=True, highlight=False)
        console.print("  Ctrl-C stops it.")
        code = server.wait()
        if code:
            raise CasewrightError(f"the local model server stopped with exit code {code}: {server.log_tail()}")
    finally:
        server.stop()
