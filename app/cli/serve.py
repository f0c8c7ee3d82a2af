"""`attrib app`: run the Streamlit app (headless, 127.0.0.1, no usage statistics, no browser)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from graph.errors import ConfigError
from graph.settings import Settings
from graph.store.server import LOCALHOST, free_port, port_free

ENTRY = Path(__file__).resolve().parents[1] / "web" / "streamlit_app.py"
DEFAULT_PORT = 8501
DEFAULT_HOST = LOCALHOST


def streamlit_argv(host: str, port: int) -> list[str]:
    """The `streamlit run` command line: every outward-facing default turned off."""
    return [sys.executable, "-m", "streamlit", "run", str(ENTRY),
            "--server.address", host, "--server.port", str(port),
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            "--browser.serverAddress", host, "--browser.serverPort", str(port),
            "--server.fileWatcherType", "none",
            "--server.runOnSave", "false",
            "--global.developmentMode", "false",
            "--client.toolbarMode", "minimal",
            "--client.showErrorDetails", "full",
            "--client.showErrorLinks", "false",  # no "Ask Google / ChatGPT" links with error text
            "--theme.base", "light"]


def choose_port(host: str, port: int | None) -> int:
    if port is not None:
        if not port_free(port, host):
            raise ConfigError(f"port {port} on {host} is already in use",
                              hint="pick another with --port N, or leave --port out to take a free one")
        return port
    return DEFAULT_PORT if port_free(DEFAULT_PORT, host) else free_port(host)


def run_app(settings: Settings, host: str = DEFAULT_HOST, port: int | None = None) -> int:
    """Replace this process with the Streamlit server (so stopping it stops the app)."""
    port = choose_port(host, port)
    url = f"http://{host}:{port}/"
    print(f"attrib app: open {url}  (Ctrl-C stops it)", flush=True)
    env = dict(os.environ)
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    if not settings.external:
        env.setdefault("ATTRIB_INSTANCE", settings.instance)
    argv = streamlit_argv(host, port)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)
    return 0  # not reached


def cmd_app(args, settings: Settings) -> int:
    return run_app(settings, host=args.host, port=args.port)


def register(sub) -> None:
    p = sub.add_parser("app", help="run the Streamlit app (http://127.0.0.1:8501/ by default)")
    p.add_argument("--port", type=int, default=None,
                   help=f"port to serve on (default {DEFAULT_PORT}, or a free one if that is taken)")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="address to bind (default 127.0.0.1: only this machine can connect)")
    p.set_defaults(func=cmd_app)
