"""The Dagster UI in a real browser: `dagster dev` on 127.0.0.1 (a free port) over a run of the graph on small data,
driven by headless Chromium (Debian's `chromium`, through Playwright). Screenshots go to tests/browser/screenshots/
(look at them). Select with `pytest -m browser`."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from favorita_assets.core.report import PLAN_SHOWN
from favorita_assets.topology import free_port

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).parent / "screenshots"
ASSETS = [
    "raw_sales",
    "raw_stores",
    "raw_oil",
    "raw_holidays_events",
    "raw_transactions",
    "raw_test",
    "cleaned_series",
    "deepar_training_data",
    "deepar_model",
    "forecast_evaluation",
    "forecasts",
    "forecast_plots",
    "kaggle_submission",
    "inventory_snapshot",
    "replenishment_plan",
    "planner_report",
]


def chromium_binary() -> str | None:
    configured = os.environ.get("FAVORITA_CHROMIUM")
    if configured:
        return configured
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.fixture(scope="module")
def ui_work(small_data_dir, tmp_path_factory):
    """A run of the graph on the small data, recorded in its own DAGSTER_HOME: the folder holding both."""
    work = tmp_path_factory.mktemp("ui")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "FAVORITA_DATA_DIR": str(small_data_dir),
        "FAVORITA_STORAGE_DIR": str(work / "storage"),
        "FAVORITA_DEPLOYMENT": "local",
    }
    Path(env["DAGSTER_HOME"]).mkdir()
    # The run is recorded in this DAGSTER_HOME, so the UI shows its materializations, checks and plots.
    script = (
        "from favorita_assets.pipeline import run_config, run_pipeline; from favorita_assets.settings import Settings; "
        "import sys; r = run_pipeline(Settings.from_env(), config=run_config(epochs=2, num_cells=8)); "
        "sys.exit(0 if r.success else 1)"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=600, capture_output=True)
    return work


@pytest.fixture(scope="module")
def dagster_ui(ui_work, small_data_dir):
    work = ui_work
    env = {
        **os.environ,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "FAVORITA_DATA_DIR": str(small_data_dir),
        "FAVORITA_STORAGE_DIR": str(work / "storage"),
        "FAVORITA_DEPLOYMENT": "local",
    }
    port = free_port()
    with open(work / "dagster_dev.log", "w") as log:  # the server holds its own copy of the file
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"dagster dev did not start:\n{(work / 'dagster_dev.log').read_text()[-3000:]}")
            time.sleep(1)
        # A new DAGSTER_HOME greets the first page with Dagster's community dialog, a second after load, over whatever
        # a test clicks. Mark it seen on the instance (the UI's own mutation), so no test races it.
        graphql = f"{url}/graphql"
        requests.post(graphql, json={"query": "mutation { setNuxSeen }"}, timeout=30).raise_for_status()
        shows = requests.post(graphql, json={"query": "{ shouldShowNux }"}, timeout=30).json()
        assert shows == {"data": {"shouldShowNux": False}}, f"the community dialog is still due: {shows}"
        yield url
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a busy machine: dagster dev's own shutdown can take longer
            os.killpg(server.pid, 9)
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def page():
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium (apt-get install chromium, or set FAVORITA_CHROMIUM): the browser check needs one")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=binary, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        yield page
        browser.close()


def shown(name: str, labels: list[str]) -> bool:
    """Whether a node label is ``name``; zoomed out, Dagster shortens long names in the middle (raw_holida…_events)."""
    for label in labels:
        head, ellipsis, tail = label.partition("…")
        if label == name or (ellipsis and name.startswith(head) and name.endswith(tail) and len(name) > len(label)):
            return True
    return False


def dismiss_dialogs(page) -> None:
    """dagster dev greets a new DAGSTER_HOME with a newsletter dialog."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()


def test_asset_graph_shows_every_asset(dagster_ui, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page.goto(f"{dagster_ui}/asset-groups", wait_until="networkidle")
    time.sleep(2)
    dismiss_dialogs(page)
    nodes = page.locator("[class*='AssetNode_assetName']")
    # Focus the graph, then "Expand all groups" (its shortcut). A press that lands while the graph is still laying
    # out is lost, or finds the groups open and folds them; so press again until the asset nodes show.
    for _ in range(4):
        page.mouse.click(900, 250)
        page.keyboard.press("Alt+e")
        try:
            nodes.first.wait_for(timeout=15_000)
            break
        except PlaywrightTimeoutError:
            continue
    else:
        page.screenshot(path=str(SHOTS / "asset_graph_failed.png"))
        raise AssertionError(
            f"no asset node showed after 4 tries to expand the groups (see {SHOTS / 'asset_graph_failed.png'})"
        )
    time.sleep(2)  # let the layout settle before the screenshot
    page.screenshot(path=str(SHOTS / "asset_graph.png"))
    labels = page.locator("[class*='AssetNode_assetName']").all_inner_texts()
    missing = [name for name in ASSETS if not shown(name, labels)]
    assert missing == [], f"asset nodes not on the graph: {missing} (labels: {labels})"


def test_plot_asset_shows_its_rendered_image(dagster_ui, page):
    page.goto(f"{dagster_ui}/assets/forecast_plots", wait_until="networkidle")
    dismiss_dialogs(page)
    page.get_by_text("forecast_total").first.wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "forecast_plots.png"))
    page.get_by_text("[Show Markdown]").first.click()  # the forecast_total row: the plot opens in a dialog
    image = page.locator("img[src^='data:image/png']").first
    image.wait_for(timeout=30_000)
    time.sleep(1)
    width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 400, "the plot image did not render"
    page.screenshot(path=str(SHOTS / "forecast_plot_image.png"))


def test_the_planner_report_opens_offline_without_errors_and_its_table_is_the_plan(ui_work, page):
    """The report is opened from disk with every non-file request refused and recorded: none is made, the console
    has no error, the charts draw, and the replenishment table holds the plan's rows and numbers, worst first."""
    import pandas as pd

    (report,) = (ui_work / "storage").glob("reports/*/planner_report.html")
    plan = pd.read_parquet(next((ui_work / "storage").glob("replenishment_plan/*/plan.parquet")))
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("file:", "data:"))
            else (outside.append(route.request.url), route.abort())
        ),
    )
    page.goto(report.as_uri(), wait_until="load")
    page.locator("#chart-total .main-svg").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SHOTS / "planner_report.png"), full_page=False)
    assert errors == [] and outside == [], (errors, outside)
    assert page.locator("#chart-store .scatterlayer .trace").count() >= 3  # the band, the sales, the forecast
    rows = page.locator("#replenishment tbody tr")
    assert rows.count() == len(plan)
    cells = page.evaluate("""() => Array.from(document.querySelectorAll('#replenishment tbody tr')).map(
        tr => Object.fromEntries(Array.from(tr.cells).map((td, i) => [
            document.querySelectorAll('#replenishment th')[i].dataset.column, td.dataset.value])))""")
    # The first screen's orders are the plan's first pairs to order, with the plan's numbers.
    today = page.evaluate("""() => Array.from(document.querySelectorAll('#order-today tbody tr')).map(
        tr => Array.from(tr.cells).map(td => td.dataset.value))""")
    ordering = plan[plan["order_quantity"] > 0].head(len(today))
    assert len(today) == min(10, int((plan["order_quantity"] > 0).sum()))
    for shown, (_, row) in zip(today, ordering.iterrows(), strict=True):
        assert shown[1] == row["family"] and float(shown[2]) == row["order_quantity"]
    assert page.locator("#today").is_visible() and page.locator("#wrong").is_visible()
    for shown, (_, row) in zip(cells, plan.iterrows(), strict=True):
        assert int(shown["store_nbr"]) == row["store_nbr"] and shown["family"] == row["family"]
        for column in (
            "stock_position",
            "demand_mean",
            "demand_p90",
            "order_up_to",
            "order_quantity",
            "p_stockout_before_arrival",
        ):
            assert float(shown[column]) == row[column], (column, shown[column], row[column])
    # Sorting by the order quantity puts the largest first on a second click.
    heading = page.locator("#replenishment th[data-column=order_quantity]")
    heading.click()
    heading.click()
    column = [c for c, _, _ in PLAN_SHOWN].index("order_quantity")
    first = float(page.locator("#replenishment tbody tr").first.locator("td").nth(column).get_attribute("data-value"))
    assert first == plan["order_quantity"].max()
