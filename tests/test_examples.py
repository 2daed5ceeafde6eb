"""Every example runs with ``--quick`` in a fresh interpreter and writes what it promises.

Each run starts TensorFlow and compiles a few small networks: about 10-25 s apiece on two
CPU cores, so the whole file takes one to two minutes.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 300  # seconds; generous for a loaded machine, far above the usual 10-25 s

OUTPUTS = {
    "paper_iris.py": ["paper_iris.md", "paper_iris_curves.png", "paper_iris_raster.png"],
    "paper_images.py": [
        "paper_images.md",
        "paper_images_slopes.png",
        "paper_images_steps.png",
        "paper_images_raster.png",
        "surrogates.png",
    ],
    "grid_search.py": ["grid_search.md", "grid_search.png"],
    "keras_hybrid.py": ["keras_hybrid.md", "keras_hybrid.png"],
}


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        cwd=EXAMPLES.parent,
    )


def check(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"exit code {result.returncode}\n{result.stderr[-4000:]}"


def test_quickstart():
    result = run("quickstart.py")
    check(result)
    assert "best parameters" in result.stdout
    assert "held-out accuracy" in result.stdout


@pytest.mark.parametrize("script", sorted(OUTPUTS))
def test_example_writes_its_outputs(script, tmp_path):
    result = run(script, "--out", str(tmp_path))
    check(result)
    for name in OUTPUTS[script]:
        path = tmp_path / name
        assert path.is_file() and path.stat().st_size > 0, f"{script} did not write {name}"
        if name.endswith(".md"):
            table = path.read_text(encoding="utf-8")
            assert "|---" in table, f"{name} holds no markdown table"
            assert table.split("|---")[0] in result.stdout, f"{script} did not print {name}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(OUTPUTS[script])


def test_every_example_is_tested():
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == {"quickstart.py", *OUTPUTS}
