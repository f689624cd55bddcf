"""The search page in a real headless Chromium (Selenium): the clicks a reader makes.

Needs Debian's chromium and chromium-driver and selenium (``.ci/install-browser``); skips
without them. Screenshots go to $NEWSSEARCH_SCREENSHOTS (else the test's tmp folder).
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path

import pytest

from newssearch import NewsSearch
from tests.conftest import write_jsonl
from tests.webserver import running_server, web_config, web_corpus

pytestmark = pytest.mark.slow

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not CHROMEDRIVER.exists() or CHROMIUM is None:
    pytest.skip(
        "chromium and chromium-driver are not installed (run .ci/install-browser)",
        allow_module_level=True,
    )

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PHONE = (390, 844)
WIDE = (1400, 1000)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("browser")
    config = web_config(root / "index")
    corpus = write_jsonl(root / "corpus" / "web.jsonl", web_corpus())
    with NewsSearch(config.index, config) as ns:
        ns.index([corpus])
    with running_server(config) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
        f"--window-size={WIDE[0]},{WIDE[1]}",
    ):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NEWSSEARCH_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def params(driver) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query)


def wait(driver):
    return WebDriverWait(driver, 30)


def console_errors(driver) -> list[str]:
    """Severe console entries: a CSP violation (an inline style or script) would show here."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_search_facet_chip_article_similar_pages_and_dates(browser, base, shots):
    browser.set_window_size(*WIDE)
    browser.get(base + "/")
    # the keyboard alone: "/" focuses the search box, Enter runs the search
    browser.find_element(By.TAG_NAME, "body").send_keys("/")
    box = browser.switch_to.active_element
    assert box.get_attribute("id") == "q"
    box.send_keys("Gipfel", Keys.ENTER)
    wait(browser).until(ec.url_contains("q=Gipfel"))
    assert "Treffer" in browser.find_element(By.ID, "count").text
    browser.save_screenshot(str(shots / "search-wide.png"))

    # Tab reaches the links; Enter on a focused facet value follows it
    first_facet = browser.find_element(By.CSS_SELECTOR, "a.facet-value")
    for _ in range(200):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element == first_facet:
            break
    assert browser.switch_to.active_element == first_facet
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser).until(lambda d: "page" not in params(d) and len(params(d)) > 1)
    browser.back()
    wait(browser).until(lambda d: len(params(d)) == 1)

    # click a person facet: the filter is added and shown as a chip
    facet = browser.find_element(By.CSS_SELECTOR, 'a.facet-value[data-facet="person"]')
    person = facet.text
    facet.click()
    wait(browser).until(ec.url_contains("person="))
    assert params(browser)["person"] == [person]
    chip = browser.find_element(By.CSS_SELECTOR, ".chip")
    assert person in chip.text
    titles = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".hits h2 a")]
    assert titles

    # remove the chip: the filter is gone, the query stays
    chip.find_element(By.CSS_SELECTOR, ".chip-remove").click()
    wait(browser).until(lambda d: "person" not in params(d))
    assert params(browser)["q"] == ["Gipfel"]
    assert not browser.find_elements(By.CSS_SELECTOR, ".chip")

    # page through
    browser.find_element(By.CSS_SELECTOR, 'a[rel="next"]').click()
    wait(browser).until(lambda d: params(d).get("page") == ["2"])
    assert "Seite 2 von" in browser.find_element(By.CSS_SELECTOR, ".pager").text
    browser.find_element(By.CSS_SELECTOR, 'a[rel="prev"]').click()
    wait(browser).until(lambda d: "page" not in params(d))

    # narrow the dates: click the tallest histogram bar
    bars = browser.find_elements(By.CSS_SELECTOR, "a.bar-link rect.bar")
    heights = [float(bar.get_attribute("height")) for bar in bars]
    before = browser.find_element(By.ID, "count").text
    bars[heights.index(max(heights))].click()
    wait(browser).until(lambda d: "from" in params(d) and "to" in params(d))
    assert "Zeitraum" in browser.find_element(By.CSS_SELECTOR, ".chips").text
    assert browser.find_element(By.ID, "count").text != before

    # open an article, then follow a similar article
    browser.get(base + "/?q=Gipfel")
    first = browser.find_element(By.CSS_SELECTOR, ".hits h2 a")
    title = first.text
    first.click()
    wait(browser).until(ec.url_contains("/articles/"))
    assert browser.find_element(By.TAG_NAME, "h1").text == title
    assert browser.find_elements(By.CSS_SELECTOR, "a.ent-person")
    browser.save_screenshot(str(shots / "article-wide.png"))
    here = browser.current_url
    similar = browser.find_element(By.CSS_SELECTOR, "a.similar-link")
    similar_title = similar.text
    similar.click()
    wait(browser).until(lambda d: d.current_url != here)
    assert browser.find_element(By.TAG_NAME, "h1").text == similar_title

    # an entity in the text leads to its view over time
    browser.find_element(By.CSS_SELECTOR, "a.ent-person").click()
    wait(browser).until(ec.url_contains("/entities/person/"))
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart svg a")
    browser.save_screenshot(str(shots / "entity-wide.png"))
    assert console_errors(browser) == []


def test_phone_width_layout_and_escaped_title(browser, base, shots):
    browser.set_window_size(*PHONE)
    browser.get(base + "/?q=Merkel+Artikel")
    # the page fits the phone's width: nothing scrolls sideways
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1"
    )
    # the script folds the filters on a narrow screen; the hits come first into view
    box = browser.find_element(By.CSS_SELECTOR, ".facet-box")
    assert box.get_attribute("open") is None
    browser.save_screenshot(str(shots / "search-phone.png"))
    browser.get(base + "/articles/xss")
    assert browser.find_element(By.TAG_NAME, "h1").text == "<script>alert(1)</script>"
    with pytest.raises(NoAlertPresentException):  # the title's script did not run
        browser.switch_to.alert  # noqa: B018
    browser.save_screenshot(str(shots / "article-phone.png"))
    assert console_errors(browser) == []


def test_works_without_javascript(base, tmp_path_factory):
    """The same search, facet and paging with JavaScript switched off."""
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-nojs')}",
    ):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(base + "/")
        driver.find_element(By.ID, "q").send_keys("Gipfel", Keys.ENTER)
        WebDriverWait(driver, 30).until(ec.url_contains("q=Gipfel"))
        driver.find_element(By.CSS_SELECTOR, 'a.facet-value[data-facet="place"]').click()
        WebDriverWait(driver, 30).until(ec.url_contains("place="))
        assert driver.find_elements(By.CSS_SELECTOR, ".chip")
        assert driver.find_elements(By.CSS_SELECTOR, ".hits h2 a")
    finally:
        driver.quit()
