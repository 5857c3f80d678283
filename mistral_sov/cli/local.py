"""``mistral-sov local …``: an approved open-weight model, served on this machine only.

models list|show|import|remove (``local_models``), quota show|reset (``local_quota``), serve,
run (``local_serve``), doctor, bench (``local_doctor``); shared options and helpers in
``local_common``. Heavy modules (llama_cpp,
starlette, uvicorn, numpy, psutil) are imported inside the commands. Exit 5 = model refused
(unapproved, altered, truncated, not GGUF); 4 = the engine or the ``local`` extra is missing or
cannot run here; 2 = usage (e.g. non-loopback bind without an API key).
"""

from __future__ import annotations

import typer

from mistral_sov.cli import local_doctor, local_enterprise, local_serve
from mistral_sov.cli.local_models import models_app
from mistral_sov.cli.local_quota import quota_app

app = typer.Typer(
    help="Serve an approved open-weight model on this machine only (OpenAI-compatible).", no_args_is_help=True
)
local_enterprise.register_models(models_app)  # local models seal
app.add_typer(models_app, name="models")
app.add_typer(quota_app, name="quota")
local_serve.register(app)
local_doctor.register(app)
