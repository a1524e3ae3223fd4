"""Retake the screenshots in docs/ from a running demo (`make run`):

    .venv/bin/python docs/screenshots/take.py [http://127.0.0.1:8000]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

SHOTS = [
    # (file, path, login or None, viewport width[, a link to follow first])
    ("portal-home.png", "/", None, 1280),
    ("portal-home-phone.png", "/", None, 390),
    ("my-data.png", "/my/", ("citizen", "citizen-demo-2019"), 1280),
    ("directory.png", "/directory/TYC-L1-26/", None, 1280),
    ("staff-console.png", "/staff/core/person/", ("clerk", "clerk-demo-2019"), 1280),
    ("api-docs.png", "/api/docs", None, 1280),
    ("my-payments.png", "/payments/", ("citizen", "citizen-demo-2019"), 1280),
    ("payment-order.png", "/payments/", ("citizen", "citizen-demo-2019"), 1280, "td a.mono"),
    ("reconciliation.png", "/payments/staff/settlements/", ("cityadmin", "cityadmin-demo-2019"), 1280),
    ("fines-lookup.png", "/fines/lookup/", None, 1280),
    ("fines-staff-cases.png", "/fines/staff/cases/", ("cityadmin", "cityadmin-demo-2019"), 1280),
    ("fines-staff-case.png", "/fines/staff/cases/", ("cityadmin", "cityadmin-demo-2019"), 1280, "tbody a"),
    ("card-my-cards.png", "/card/", ("citizen", "citizen-demo-2019"), 1280),
    ("card-statistics.png", "/card/staff/statistics/", ("cityadmin", "cityadmin-demo-2019"), 1280),
    ("card-wallet.png", "/card/", ("citizen", "citizen-demo-2019"), 1280, "a.wallet-link"),
    ("opendata-search.png", "/opendata/?q=停車", None, 1280),
    ("opendata-dataset.png", "/opendata/dataset/tyc-01-1/", None, 1280),
    ("opendata-quality.png", "/opendata/quality/", None, 1280),
    ("eservices-catalog.png", "/eservices/?q=低收入戶", None, 1280),
    ("eservices-apply.png", "/eservices/items/SW-CHILD/apply/?prefill=1", ("citizen", "citizen-demo-2019"), 1280),
    ("eservices-my-application.png", "/eservices/my/", ("citizen", "citizen-demo-2019"), 1280, "tbody a.mono"),
    ("eservices-staff-inbox.png", "/eservices/staff/", ("clerk", "clerk-demo-2019"), 1280),
    ("eservices-supervisor.png", "/eservices/staff/supervisor/", ("supervisor", "supervisor-demo-2019"), 1280),
]


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for filename, path, login, width, *follow in SHOTS:
            context = browser.new_context(base_url=BASE, viewport={"width": width, "height": 900}, locale="zh-TW")
            page = context.new_page()
            if login:
                page.goto(f"/login/?next={path}")
                page.fill("#id_username", login[0])
                page.fill("#id_password", login[1])
                page.click("main button[type=submit]")
                page.wait_for_load_state()
            page.goto(path)
            if follow:
                page.click(follow[0])
            page.wait_for_load_state("networkidle")
            page.screenshot(path=OUT / filename, full_page=width < 600)
            context.close()
            print(f"saved {filename}")
        browser.close()


if __name__ == "__main__":
    main()
