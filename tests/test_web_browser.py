"""The web page in a real browser (issue 12, item 5): Playwright driving Debian's Chromium against a real uvicorn
server on 127.0.0.1, with a temporary SQLite register.

A case is checked end to end through the form (with the htmx autocomplete) and the right citation is seen in both
languages; the share link reproduces it; the what-if tree shows the branches; axe-core (vendored from the npm
registry into ``tests/vendor``) finds no serious or critical violation on any page. A screenshot of each page is
saved under ``test-artifacts/screenshots/`` (git-ignored) and the paths printed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT

AXE = ROOT / "tests" / "vendor" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "screenshots"

# A defendant on trial signs a contract and the command petitions: suspended under УПК 238 ч. 1 п. 5.
TRIAL = (
    "/?charge=158:3:в&stage=trial&event=2024-10-20:contract_signed&event=2024-11-01:command_petition&as_of=2025-06-01"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('web') / 'register.db'}"


@pytest.fixture(scope="module")
def token(db_url: str) -> str:
    """An editor's register token (``people.add_user``), as an administrator hands it out."""
    from warexempt.register import people
    from warexempt.register.store import Register

    reg = Register.open(db_url)
    people.create_org(reg, "firm")
    secret = people.add_user(reg, reg.local("firm"), "anna", "editor").secret
    reg.close()
    return secret


@pytest.fixture(scope="module")
def numbers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The population estimates, started at once so that they are ready when ``/numbers`` is looked at."""
    from warexempt.web.numbers import Numbers

    found = Numbers(draws=1000, sections=("coverage", "intervals"), cache_dir=tmp_path_factory.mktemp("numbers"))
    found.start("en")
    return found


@pytest.fixture(scope="module")
def server(db_url: str, token: str, numbers: Any) -> Iterator[str]:
    """The whole site (``create_site``) under uvicorn in a thread, on a free port."""
    import uvicorn

    from warexempt.web.app import create_site

    port = _free_port()
    site = create_site(db_url, numbers=numbers)
    srv = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"  # loopback is a secure context: Chromium keeps Secure cookies over http
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """One Chromium for the module (``--no-sandbox``: the tests may run as root in a container)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.console_errors = errors
    yield pg
    context.close()


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page (WCAG 2.1 A and AA rules). axe is evaluated
    through the DevTools protocol, which the page's Content-Security-Policy does not govern (the page's own
    scripts still run under it)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa', 'best-practice']}})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def test_check_a_case_end_to_end_in_both_languages(server: str, page: Any) -> None:
    page.goto(server + "/?lang=en")
    field = page.locator("#charge-1")
    field.press_sequentially("158:3")
    # the htmx call fills the suggestions with the catalogue's number and title
    page.locator("#code-list option").first.wait_for(state="attached", timeout=5000)
    assert "Theft" in page.locator("#code-list").inner_html()
    field.fill("158:3:в")
    page.select_option("#stage", "trial")
    page.fill("#ev-date-1", "2024-10-20")
    page.select_option("#ev-kind-1", "contract_signed")
    page.fill("#ev-date-2", "2024-11-01")
    page.select_option("#ev-kind-2", "command_petition")
    page.fill("#as_of", "2025-06-01")
    page.get_by_role("button", name="Check", exact=True).click()
    page.wait_for_selector("#answer")
    assert page.locator(".verdict .outcome").get_attribute("data-outcome") == "suspended"
    cite = page.locator('.verdict a.cite[data-id="upk:238:1:5"]')
    assert "Art. 238(1)(5)" in cite.inner_text()
    assert cite.get_attribute("href", timeout=1000)
    assert "1 November 2024" in page.locator("ol.steps").inner_text()
    shot(page, "check-en")
    # the language switch: the same check in Russian, and remembered on the next page
    page.get_by_role("link", name="Русский").click()
    page.wait_for_selector("#answer")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator('.verdict .cite[data-id="upk:238:1:5"]').inner_text() == "п. 5 ч. 1 ст. 238 УПК РФ"
    assert "производство по делу приостановлено" in page.locator(".verdict .outcome").inner_text()
    shot(page, "check-ru")
    page.goto(server + "/law")
    assert page.locator("h1").inner_text() == "Закон во времени"
    assert page.console_errors == []


def test_the_share_link_reproduces_the_check(server: str, page: Any) -> None:
    page.goto(server + TRIAL + "&lang=en")
    link = page.locator("#share-url").input_value()
    assert "law=" in link and "event=2024-11-01%3Acommand_petition" in link
    first = page.locator("ol.steps").inner_text()
    page.goto(link)
    assert page.locator(".verdict .outcome").get_attribute("data-outcome") == "suspended"
    assert page.locator("ol.steps").inner_text() == first
    assert "--event 2024-11-01:command_petition" in page.locator("#cli-snippet").text_content()
    # a link made under another law: the page says so and offers to re-run under today's law
    page.goto(link.replace("law=", "law=0000").replace("&lang", "&x=1&lang"))
    assert page.locator("#answer").count() == 0
    page.get_by_role("link", name="Re-run under today's law").click()
    assert page.locator(".verdict .outcome").get_attribute("data-outcome") == "suspended"


def test_the_what_if_tree_shows_the_branches(server: str, page: Any) -> None:
    page.goto(server + TRIAL + "&lang=en")
    branches = page.locator("ul.branches").inner_text()
    for words in ("state award", "discharge from service (declared unfit", "death"):
        assert words in branches
    tree = " ".join(page.locator("svg.tree tspan").all_text_contents())  # the lines of the boxes
    assert "Art. 78.1(1)(a)" in tree and "released from criminal liability" in tree and "state award" in tree
    assert page.locator("ul.branches li").count() == page.locator("svg.tree rect.step").count() >= 4
    shot(page, "what-if")
    # an excluded charge: no branch, and the page says why
    page.goto(server + "/?charge=275&stage=trial&event=2024-10-20:contract_signed&as_of=2025-01-15&lang=en")
    assert page.locator("svg.tree rect.step").count() == 0
    assert "not covered" in page.locator(".answer p.note").inner_text()


def test_refused_facts_are_named_at_their_field(server: str, page: Any) -> None:
    page.goto(server + "/?lang=en&charge=158:9&stage=trail&ev_date=2024-13-01&ev_kind=contract_signed")
    assert "article 158 has parts 1, 2, 3, 4" in page.locator("#charge-1-error").inner_text()
    assert page.locator("#stage").get_attribute("aria-invalid") == "true"
    page.locator('.errors a[href="#charge-1"]').click()
    assert page.evaluate("document.activeElement.id") == "charge-1"
    shot(page, "check-errors")


A11Y = ["/?lang=en", TRIAL + "&lang=en", TRIAL + "&lang=ru", "/?lang=en&charge=158:9&stage=trail", "/law?lang=en"]


def test_no_serious_accessibility_violation(server: str, page: Any) -> None:
    """Every page of the site (the register's in ``test_the_register_flow``), in both languages."""
    found = {}
    for path in [*A11Y, "/law?lang=ru"]:
        page.goto(server + path)
        found[path] = axe_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_the_register_flow(server: str, page: Any, token: str) -> None:
    """Sign in, add a case, add events, see the status change and the audit entry; a refused step shows why."""
    page.goto(server + "/cases?lang=en")
    assert axe_violations(page) == []
    shot(page, "register-sign-in")
    page.fill("#token", token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#new-label")
    page.fill("#new-label", "K-7")
    page.fill("#new-charges", "158:3:в")
    page.select_option("#new-stage", "trial")
    page.fill("#new-as-of", "2025-06-01")
    page.fill("#new-notes", "<script>alert(1)</script> met the family")
    page.get_by_role("button", name="Register the case").click()
    page.wait_for_selector("#case-outcome")
    assert page.locator("#case-outcome").get_attribute("data-outcome") == "eligible"
    assert "<script>alert(1)</script>" in page.locator(".notes").inner_text()  # shown as text
    for day, kind in (("2024-10-20", "contract_signed"), ("2024-11-01", "command_petition")):
        page.fill("#event-date", day)
        page.select_option("#event-kind", kind)
        page.get_by_role("button", name="Add the event").click()
        page.wait_for_selector("#step-message")
    assert page.locator("#case-outcome").get_attribute("data-outcome") == "suspended"
    assert "changes the status from" in page.locator("#step-message").inner_text()
    assert "event added: command petition" in page.locator("table.audit").inner_text()
    assert "Art. 238(1)(5)" in page.locator("ol.lifecycle").inner_text()
    assert axe_violations(page) == []
    shot(page, "register-case")
    # a step the law refuses: the reason at the form, the values kept, nothing recorded
    page.fill("#event-date", "2024-09-01")
    page.select_option("#event-kind", "state_award")
    page.get_by_role("button", name="Add the event").click()
    page.wait_for_selector("#errors")
    assert "comes before the entry into service" in page.locator("#errors").inner_text()
    assert page.locator("#event-date").input_value() == "2024-09-01"
    assert page.locator("#case-outcome").get_attribute("data-outcome") == "suspended"
    shot(page, "register-refused")
    page.get_by_role("link", name="Back to the cases").click()
    page.select_option("#outcome", "suspended")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("link", name="K-7").count() == 1
    assert axe_violations(page) == []
    shot(page, "register-cases")
    page.get_by_role("button", name="Sign out").click()
    assert page.locator("#token").count() == 1


def test_screenshots_of_every_page(server: str, page: Any) -> None:
    page.goto(server + "/?lang=en")
    shot(page, "check-empty")
    page.goto(server + "/law?lang=en")
    shot(page, "law-en")
    page.goto(server + "/law?lang=ru")
    shot(page, "law-ru")
    page.emulate_media(media="print")
    page.goto(server + TRIAL + "&lang=ru")
    shot(page, "check-print")
    assert page.locator("form.case").is_hidden()


def test_the_numbers_page(server: str, page: Any, numbers: Any) -> None:
    numbers.wait(240)
    page.goto(server + "/numbers?lang=en")
    assert page.locator("h1").inner_text() == "How many people the law covers"
    img = page.locator("figure.figure img").first
    assert img.evaluate("i => i.complete && i.naturalWidth > 100")
    assert page.locator("section.numbers table").count() >= 1
    assert axe_violations(page) == []
    shot(page, "numbers-en")
    page.goto(server + "/numbers?lang=ru")
    assert page.locator("h1").inner_text() == "На скольких людей распространяется закон"
    shot(page, "numbers-ru")
