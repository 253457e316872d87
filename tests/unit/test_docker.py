"""docker/: the image, the compose cluster (master, two workers, submit) and the helper script.

Most checks read the files as text, so they run without Docker. `docker compose config` runs where the
compose plugin (or a standalone docker-compose) is installed; the full `docker compose up` test runs only
where a Docker daemon answers and the base image is already present.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
WAIT = DOCKER / "wait_for_workers.py"
SERVICES = ["master", "worker-1", "worker-2", "submit"]
INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
                "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"}


# --- reading the files without a YAML library (PyYAML is not a dependency of the project) ---------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comment lines dropped."""
    out, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = f"{current} {line}" if current else line
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        keyword, _, rest = current.partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    assert not current, "the Dockerfile ends inside a continued line"
    return out


def base_image() -> str:
    """The FROM image, with ${ARG} references resolved to the ARG defaults."""
    args, image = {}, None
    for keyword, rest in dockerfile_instructions():
        if keyword == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            args[key.strip()] = value.strip().strip('"')
        if keyword == "FROM":
            image = rest.split()[0]
            break
    assert image, "no FROM"
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def top_level_block(name: str) -> list[str]:
    lines = COMPOSE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line == f"{name}:" or line.startswith(f"{name}: "))
    block = []
    for line in lines[start + 1:]:
        if line.strip() and _indent(line) == 0 and not line.startswith("#"):
            break
        block.append(line)
    return block


def service_names() -> list[str]:
    return [m.group(1) for line in top_level_block("services")
            if (m := re.match(r"^  ([A-Za-z0-9_.-]+):\s*$", line))]


def service_block(name: str) -> list[str]:
    block, inside = [], False
    for line in top_level_block("services"):
        if re.match(r"^  [A-Za-z0-9_.-]+:\s*$", line):
            inside = line.strip() == f"{name}:"
            continue
        if inside:
            block.append(line)
    assert block, f"no service {name}"
    return block


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def service_list(name: str, key: str) -> list[str]:
    """A service key written as a block sequence (`key:` then `- item` lines), as strings."""
    block = service_block(name)
    header = next(i for i, line in enumerate(block) if re.match(rf"^    {re.escape(key)}:\s*$", line))
    items = []
    for line in block[header + 1:]:
        if not line.strip() or line.strip().startswith("#"):
            continue
        if _indent(line) <= 4:
            break
        assert line.strip().startswith("- "), f"{name}.{key}: not a block sequence: {line!r}"
        items.append(_scalar(line.strip()[2:]))
    return items


def after(args: list[str], flag: str) -> list[str]:
    """Every value that follows `flag` in an argument list."""
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]


def submit_parts() -> tuple[list[str], list[str], list[str]]:
    """The submit service's spark-submit options, the application file and the job's own arguments."""
    command = service_list("submit", "command")
    assert command[0] == "spark-submit"
    app = next(i for i, arg in enumerate(command) if arg.endswith(".py"))
    return command[1:app], [command[app]], command[app + 1:]


# --- the files --------------------------------------------------------------------------------------------

def test_docker_files_exist():
    for path in (DOCKERFILE, COMPOSE, DOCKER / "README.md", WAIT):
        assert path.is_file(), path


def test_dockerfile_parses_and_installs_java17_and_the_package():
    instructions = dockerfile_instructions()
    keywords = [k for k, _ in instructions]
    assert set(keywords) <= INSTRUCTIONS, set(keywords) - INSTRUCTIONS
    assert keywords.count("FROM") == 1
    assert all(k == "ARG" for k in keywords[:keywords.index("FROM")])
    runs = " ".join(rest for k, rest in instructions if k == "RUN")
    copies = [rest.split() for k, rest in instructions if k == "COPY"]

    assert re.match(r"python:3\.(1[0-9])", base_image()), base_image()
    assert "bookworm" in base_image()  # the Debian release that ships openjdk-17
    assert "openjdk-17-jre-headless" in runs
    # The package from the repository's own pyproject.toml, not editable (venv-pack refuses editable).
    assert ["pyproject.toml", "/tmp/src/"] in copies and ["sparkw2v", "/tmp/src/sparkw2v"] in copies
    assert re.search(r"python -m venv /opt/venv\b", runs)
    assert re.search(r"/opt/venv/bin/python -m pip install [^&]*/tmp/src\b", runs)
    assert " -e " not in runs and "--editable" not in runs
    # Every file the image copies exists in the build context (the repository root).
    for parts in copies:
        for source in parts[:-1]:
            if not source.startswith("--"):
                assert (REPO / source).exists(), source


def test_dockerfile_packs_the_virtualenv_with_a_pinned_venv_pack():
    instructions = dockerfile_instructions()
    args = dict(rest.split("=", 1) for k, rest in instructions if k == "ARG" and "=" in rest)
    assert re.fullmatch(r"\d+\.\d+\.\d+", args["VENV_PACK_VERSION"])
    runs = " ".join(rest for k, rest in instructions if k == "RUN")
    assert '"venv-pack==${VENV_PACK_VERSION}"' in runs
    assert re.search(r"venv-pack [^&]*-p /opt/venv -o /opt/sparkw2v/env\.tar\.gz", runs)
    assert "chmod 644 /opt/sparkw2v/env.tar.gz" in runs  # venv-pack writes it mode 600; USER is not root
    env = " ".join(rest for k, rest in instructions if k == "ENV")
    assert "SPARK_HOME=/opt/spark" in env and "JAVA_HOME=" in env
    assert "ln -s" in runs and "pyspark.__file__" in runs and "/opt/spark" in runs
    assert "sys.path" not in DOCKERFILE.read_text() + COMPOSE.read_text()


def test_compose_has_master_two_workers_and_submit():
    assert service_names() == SERVICES
    assert "  output:" in top_level_block("volumes")
    anchor = top_level_block("x-sparkw2v")
    assert "  image: sparkw2v:latest" in anchor
    for name in SERVICES:  # one image for all: master builds it from the repository root
        assert "    <<: *sparkw2v" in service_block(name)
    master = service_block("master")
    assert "      context: .." in master and "      dockerfile: docker/Dockerfile" in master
    assert not any(line.startswith("    build:") for name in SERVICES[1:] for line in service_block(name))


def test_compose_daemons_run_in_the_foreground_with_spark_class():
    master = service_list("master", "command")
    assert master[:2] == ["spark-class", "org.apache.spark.deploy.master.Master"]
    assert after(master, "--host") == ["master"] and after(master, "--port") == ["7077"]
    assert any(line.strip().endswith(":8080\"") for line in service_block("master"))
    for worker in ("worker-1", "worker-2"):
        command = service_list(worker, "command")
        assert command[:2] == ["spark-class", "org.apache.spark.deploy.worker.Worker"]
        assert command[-1] == "spark://master:7077"
        assert after(command, "--host") == [worker]


def test_submit_ships_the_packed_env_with_archives():
    options, app, job = submit_parts()
    assert after(options, "--master") == ["spark://master:7077"]
    assert after(options, "--archives") == ["/opt/sparkw2v/env.tar.gz#environment"]
    confs = after(options, "--conf")
    assert "spark.pyspark.python=./environment/bin/python" in confs
    # spark.pyspark.python outranks PYSPARK_DRIVER_PYTHON for a client-mode driver, which has no ./environment.
    assert "spark.pyspark.driver.python=/opt/venv/bin/python" in confs
    assert app == ["/opt/sparkw2v/jobs/train_word2vec.py"]
    assert after(job, "--input") == ["/opt/sparkw2v/data/wiki-demo.txt.gz"]
    output = after(job, "--output")
    assert len(output) == 1 and output[0].startswith("/output/")
    assert any(line.strip() == "- output:/output" for line in service_block("submit"))
    entrypoint = service_list("submit", "entrypoint")
    assert entrypoint[:2] == ["python", "/opt/sparkw2v/docker/wait_for_workers.py"] and entrypoint[-1] == "--"
    assert after(entrypoint, "--workers") == ["2"]


def test_compose_paths_are_the_ones_the_image_provides():
    text = DOCKERFILE.read_text()
    for path in ("/opt/sparkw2v/env.tar.gz", "/opt/sparkw2v/jobs", "/opt/sparkw2v/data/wiki-demo.txt.gz",
                 "/opt/sparkw2v/docker/wait_for_workers.py", "/opt/venv", "/output"):
        assert path in text, path


def test_submit_job_arguments_are_valid_for_the_job():
    from sparkw2v.job import build_parser, config_from_args

    _, _, job = submit_parts()
    args = build_parser().parse_args(job)
    config = config_from_args(args).validate()
    assert args.input == ["/opt/sparkw2v/data/wiki-demo.txt.gz"] and args.overwrite
    assert config.num_partitions == 2


def test_readme_gives_the_commands():
    text = (DOCKER / "README.md").read_text()
    assert "docker compose -f docker/compose.yaml up --build" in text
    assert "8080" in text and "sparkw2v-output" in text and "--archives" in text and "venv-pack" in text


# --- wait_for_workers.py ----------------------------------------------------------------------------------

class _Master(BaseHTTPRequestHandler):
    alive = 0

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = json.dumps({"aliveworkers": type(self).alive}).encode()
        self.send_response(200 if self.path == "/json/" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_master():
    handler = type("Handler", (_Master,), {"alive": 0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _wait(url: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(WAIT), "--master-ui", url, "--workers", "2", *extra, "--",
                           sys.executable, "-c", "import sys; print('ran', sys.argv[1:]); sys.exit(7)", "x"],
                          capture_output=True, text=True, timeout=60)


def test_wait_for_workers_runs_the_command_once_workers_are_alive(fake_master):
    handler, url = fake_master
    handler.alive = 2
    done = _wait(url, "--timeout", "30")
    assert done.returncode == 7, done.stderr  # the command's own exit status (exec)
    assert "ran ['x']" in done.stdout and "2 workers alive" in done.stderr


def test_wait_for_workers_gives_up_after_the_timeout(fake_master):
    handler, url = fake_master
    handler.alive = 1
    done = _wait(url, "--timeout", "1")
    assert done.returncode == 1 and "ran" not in done.stdout
    assert "1 of 2 workers alive" in done.stderr


# --- with Docker ------------------------------------------------------------------------------------------

def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_config_validates():
    compose = compose_command()
    if compose is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    env = {**os.environ, "COMPOSE_PROJECT_NAME": "sparkw2v"}
    done = subprocess.run([*compose, "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    services = subprocess.run([*compose, "-f", str(COMPOSE), "config", "--services"], capture_output=True,
                              text=True, timeout=120, env=env)
    assert services.returncode == 0, services.stderr
    assert sorted(services.stdout.split()) == sorted(SERVICES)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_compose_up_trains_on_the_demo_corpus(tmp_path):
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        pytest.skip("no Docker daemon answers (docker info failed)")
    compose = compose_command()
    if compose is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    image = base_image()
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=60).returncode != 0:
        pytest.skip(f"the base image {image} is not present locally (images cannot be pulled here)")

    tag = uuid.uuid4().hex[:8]
    project = f"sparkw2v-test-{tag}"
    env = {**os.environ, "SPARKW2V_OUTPUT_VOLUME": f"sparkw2v-test-output-{tag}",
           "SPARK_MASTER_UI_PORT": str(_free_port()), "SPARK_DRIVER_UI_PORT": str(_free_port())}
    base = [*compose, "-p", project, "-f", str(COMPOSE)]
    try:
        up = subprocess.run([*base, "up", "--build", "--exit-code-from", "submit"], capture_output=True,
                            text=True, timeout=3600, env=env)
        assert up.returncode == 0, (up.stdout + up.stderr)[-6000:]
        assert "wrote file:/output/wiki-demo" in up.stdout + up.stderr
        container = subprocess.run([*base, "ps", "-aq", "submit"], capture_output=True, text=True,
                                   timeout=60, env=env).stdout.split()[0]
        subprocess.run(["docker", "cp", f"{container}:/output/wiki-demo", str(tmp_path / "model")],
                       check=True, capture_output=True, timeout=300)
        assert sorted(p.name for p in (tmp_path / "model").iterdir()) == [
            "_SUCCESS", "config.json", "metrics.json", "vectors.bin", "vectors.parquet", "vocab.tsv"]
        metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
        assert metrics["master"] == "spark://master:7077" and metrics["vocab_size"] > 0
    finally:
        subprocess.run([*base, "down", "-v", "--remove-orphans"], capture_output=True, timeout=300, env=env)
