"""docs/interactive/lif_neuron.html, driven in headless Chromium without extra Python packages.

A harness (the page plus a test script, written to tmp_path) moves the controls the way a user
does (set a value, dispatch an ``input`` event), and writes what it saw as JSON into the DOM,
which ``chromium --dump-dom`` prints. The page's model is checked against sklif's own code.
"""

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PAGE = Path(__file__).resolve().parents[1] / "docs" / "interactive" / "lif_neuron.html"
CHROMIUM = next(
    filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium)",
)

# parameters of the page's model checked against sklif (away from threshold ties)
CASES = [
    {"tau": 10, "threshold": 1, "current": 1.5, "steps": 100, "dt": 1},
    {"tau": 3.5, "threshold": 0.7, "current": 2.2, "steps": 50, "dt": 1},
    {"tau": 20, "threshold": 1, "current": 0.9, "steps": 60, "dt": 1},
]
SLOPES = [0.5, 1.0, 4.0]
XS = np.linspace(-3, 3, 25).round(6).tolist()

HARNESS = """
<pre id="results"></pre>
<script>
(function () {
  var out = {};
  function $(id) { return document.getElementById(id); }
  function colours(id) {  // distinct colours on a grid of pixels: more than one = not blank
    var c = $(id), data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    var seen = {};
    for (var i = 0; i < data.length; i += 4 * 97) { seen[data.slice(i, i + 4).join()] = 1; }
    return Object.keys(seen).length;
  }
  function snap() {
    return { count: lifState.spikeCount, attr: $("membrane").dataset.spikeCount,
             text: $("spike-count").textContent, redraws: lifState.redraws,
             params: lifState.params, period: lifState.period,
             membrane: $("membrane").toDataURL(), surrogate: $("surrogate-plot").toDataURL(),
             gradient: $("gradient").toDataURL(), colours: colours("membrane") };
  }
  function move(id, value) {
    var el = $(id);
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    return snap();
  }
  try {
    var steps = [["initial", snap()]];
    steps.push(["tau", move("tau", "3")]);
    steps.push(["current", move("current", "0.5")]);
    steps.push(["current_back", move("current", "2")]);
    steps.push(["surrogate", move("surrogate", "triangle")]);
    steps.push(["slope", move("slope", "4")]);
    steps.push(["threshold", move("threshold", "1.5")]);
    var first = steps[0][1];
    out.steps = steps.map(function (s, i) {
      var prev = i ? steps[i - 1][1] : first, now = s[1];
      return { name: s[0], count: now.count, attr: now.attr, text: now.text,
               redraws: now.redraws, params: now.params, period: now.period,
               colours: now.colours,
               membraneChanged: now.membrane !== prev.membrane,
               surrogateChanged: now.surrogate !== prev.surrogate,
               gradientChanged: now.gradient !== prev.gradient };
    });
    out.spikeTimes = lifState.spikeTimes;
    out.cases = CASES.map(function (p) {
      var sim = lifModel.simulate(p);
      return { v: sim.v, s: sim.s, beta: sim.beta, period: lifModel.period(p) };
    });
    out.surrogates = {};
    lifModel.surrogates.forEach(function (name) {
      out.surrogates[name] = SLOPES.map(function (k) {
        return { g: XS.map(function (x) { return lifModel.surrogate(name, x, k); }),
                 h: XS.map(function (x) { return lifModel.smoothStep(name, x, k); }) };
      });
    });
  } catch (e) {
    out.error = String(e && e.stack || e);
  }
  $("results").textContent = JSON.stringify(out);
})();
</script>
"""


def dump_dom(url: str, tmp_path: Path) -> str:
    """The DOM of ``url`` after its scripts ran, from headless Chromium."""
    profile = tmp_path / "profile"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}",
        "--virtual-time-budget=5000", "--dump-dom", url,
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("headless Chromium did not finish within 60 s")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("page")
    constants = (
        f"<script>var CASES = {json.dumps(CASES)}, SLOPES = {json.dumps(SLOPES)}, "
        f"XS = {json.dumps(XS)};</script>"
    )
    page = PAGE.read_text(encoding="utf-8")
    assert page.count("</body>") == 1
    harness = tmp_path / "harness.html"
    harness.write_text(page.replace("</body>", constants + HARNESS + "</body>"), encoding="utf-8")
    dom = dump_dom(harness.as_uri() + "?tau=5&current=2&surrogate=arctan", tmp_path)
    match = re.search(r'<pre id="results">(.*?)</pre>', dom, re.S)
    assert match and match.group(1), dom[-2000:]
    out = json.loads(html.unescape(match.group(1)))
    assert "error" not in out, out["error"]
    return out


def test_page_is_self_contained():
    page = PAGE.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "import " not in page and "fetch(" not in page
    for element in ["tau", "threshold", "current", "slope", "surrogate", "membrane"]:
        assert f'id="{element}"' in page


def test_page_runs_standalone(tmp_path):
    dom = dump_dom(PAGE.as_uri(), tmp_path)
    match = re.search(r'<canvas id="membrane"[^>]*data-spike-count="(\d+)"', dom)
    assert match, "the page did not draw (no data-spike-count on #membrane)"
    assert int(match.group(1)) == 9  # defaults: tau 10, threshold 1, I 1.5, 100 steps
    assert re.search(r'<span id="spike-count">9</span>', dom)


def test_query_string_sets_controls(results):
    initial = results["steps"][0]
    assert initial["params"] == {
        "dt": 1, "surrogate": "arctan", "tau": 5, "threshold": 1, "current": 2, "steps": 100,
        "slope": 1,
    }  # fmt: skip
    assert initial["redraws"] == 1
    assert initial["colours"] > 2


def test_moving_sliders_redraws(results):
    steps = {step["name"]: step for step in results["steps"]}
    for i, step in enumerate(results["steps"]):
        assert step["redraws"] == i + 1, step["name"]
        assert step["attr"] == str(step["count"]) == step["text"], step["name"]
        # the membrane depends on the dynamics, not on the surrogate
        moved_dynamics = step["name"] not in ("initial", "surrogate", "slope")
        assert step["membraneChanged"] == moved_dynamics, step["name"]
    # tau 5 -> 3: faster charging, more spikes
    assert steps["tau"]["count"] > steps["initial"]["count"] > 0
    assert steps["tau"]["params"]["tau"] == 3
    # an input below threshold never fires
    assert steps["current"]["count"] == 0 and steps["current"]["period"] is None
    assert steps["current_back"]["count"] > 0
    # the surrogate plots follow the selector and the slope; the membrane does not depend on them
    for name in ["surrogate", "slope"]:
        assert steps[name]["surrogateChanged"] and steps[name]["gradientChanged"]
        assert steps[name]["count"] == steps["current_back"]["count"]
    assert steps["slope"]["params"]["surrogate"] == "triangle"
    assert steps["threshold"]["count"] < steps["slope"]["count"]


def reference(p):
    """sklif's update in float64 NumPy (zero reset, constant current)."""
    beta = np.exp(-p["dt"] / p["tau"])
    v, s, out_v, out_s = 0.0, 0.0, [], []
    for _ in range(p["steps"]):
        v = beta * v * (1 - s) + (1 - beta) * p["current"]
        s = float(v >= p["threshold"])
        out_v.append(v)
        out_s.append(s)
    return np.array(out_v), np.array(out_s)


def test_model_matches_sklif(results):
    from sklif.dynamics import LIFParameters, lif_scan

    for p, got in zip(CASES, results["cases"], strict=True):
        v, s = reference(p)
        np.testing.assert_allclose(got["v"], v, rtol=1e-12)
        np.testing.assert_array_equal(got["s"], s)
        current = np.full((1, 1), p["current"], np.float32)
        params = LIFParameters(tau=p["tau"], threshold=p["threshold"], dt=p["dt"])
        spikes, membrane = lif_scan(current, params, n_steps=p["steps"])
        np.testing.assert_allclose(got["v"], membrane.numpy().ravel(), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got["s"], spikes.numpy().ravel())
        # the page's closed-form period: a spike every `period` steps
        if s.any():
            assert np.all(np.diff(np.flatnonzero(s)) == got["period"])
            assert np.flatnonzero(s)[0] == got["period"] - 1
        else:
            assert got["period"] is None  # Infinity serialises to null


def test_surrogates_match_sklif(results):
    from sklif.surrogates import SURROGATES

    assert sorted(results["surrogates"]) == sorted(SURROGATES)
    x = np.array(XS)
    for name, per_slope in results["surrogates"].items():
        for slope, got in zip(SLOPES, per_slope, strict=True):
            want = np.broadcast_to(np.asarray(SURROGATES[name](x, np.float64(slope))), x.shape)
            np.testing.assert_allclose(got["g"], want, rtol=1e-9, atol=1e-12, err_msg=name)
            # h is the integral of g through h(0) = 1/2
            fine = np.linspace(-3, 3, 60001)
            g = np.broadcast_to(np.asarray(SURROGATES[name](fine, np.float64(slope))), fine.shape)
            area = np.concatenate([[0], np.cumsum((g[1:] + g[:-1]) / 2 * np.diff(fine))])
            h = np.interp(x, fine, 0.5 + area - area[30000])
            np.testing.assert_allclose(got["h"], h, atol=1e-4, err_msg=name)
